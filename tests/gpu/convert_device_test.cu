// convert_device_test.cu - lowbit_convert_device (the CUDA backend; the HIP
// one when hipcc compiles it, see device_test.h) against the host
// reference, bit for bit.
//
// For every (source, destination) pair of the 14 element types, the three
// rounding modes and saturating or not, the device result is copied back
// and compared byte for byte with lowbit_convert on the host (reference
// backend) over the same input bytes:
//   - sizes 0..129 around every group and byte boundary, 1000, 4099, and one
//     large size (2^24 + 13 elements, one mode per pair, cycling);
//   - pointer offsets of 1..16 bytes on either side (misaligned and aligned
//     starts, so both the vector and the byte-wise kernels run), and both
//     sides sliced at the same element offset (head + aligned rest);
//   - stochastic rounding at offsets that are not multiples of 4 and that
//     cross 2^32 Philox blocks;
//   - guard bytes (0xA5) around the output, checked after every call.
// Then the argument checks: host and pinned pointers (LOWBIT_ERR_WRONG_MEMORY,
// nothing written), NULL, n = 0, non-device backends, overlap, bad rounding,
// stochastic offset overflow, managed memory, a non-default stream.
//
// Prints one line per pair and "N passed, M failed"; exits 77 with
// "SKIP: no CUDA device" ("no HIP device" under hipcc) when there is none.
#include "device_test.h"  // CUDA or HIP runtime, LBT_BACKEND, CK, SKIP

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "lowbit.h"

static const int kTypes = LOWBIT_DTYPE_COUNT;
static const size_t kGuard = 256;          // guard bytes on each side of an output
static const size_t kSmallMax = 4099;      // largest small size
static const size_t kLarge = (1u << 24) + 13;
static const size_t kSlack = 64;           // room for pointer offsets

static long g_passed, g_failed;

static const char *tname(int t) { return lowbit_dtype_name((lowbit_dtype)t); }
static size_t tbytes(int t, size_t n) { return lowbit_dtype_bytes((lowbit_dtype)t, n); }

// ---- inputs ---------------------------------------------------------------

static uint32_t f32_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }

// f32 inputs: specials, format edges, random values over the ranges that the
// narrow formats care about, exact ties, f32 subnormals, and raw random bits.
static uint32_t gen_f32(std::mt19937_64 &rng)
{
    static const uint32_t specials[] = {
        0x00000000u, 0x80000000u, 0x7F800000u, 0xFF800000u, 0x7FC00000u, 0xFFC00000u, 0x7F800001u,
        0xFFA5A5A5u, 0x7F7FFFFFu, 0xFF7FFFFFu, 0x00800000u, 0x00000001u, 0x80000001u, 0x007FFFFFu,
        0x00400000u, 0x00600000u, 0x00200000u,
    };
    static const float edges[] = {448.f, 464.f, 480.f, 240.f, 248.f, 57344.f, 61440.f, 65504.f, 65520.f,
                                  6.f, 7.f, 7.5f, 7.75f, 28.f, 30.f, 127.f, 127.5f, 128.f, 128.5f, 15.5f,
                                  7.49f, 0.25f, 0.125f, 0.0625f, 1.5f, 2.5f, 3.5f, 0.75f, -8.5f, -7.5f};
    uint64_t r = rng();
    unsigned kind = (unsigned)(r % 100);
    uint32_t sign = (uint32_t)((r >> 8) & 1) << 31;
    uint32_t m = (uint32_t)(r >> 9) & 0x7FFFFFu;
    int e;
    if (kind < 5)
        return specials[(r >> 16) % (sizeof specials / sizeof specials[0])] ^ (((r >> 40) & 1) ? 0x80000000u : 0u);
    if (kind < 10) {
        float f = edges[(r >> 16) % (sizeof edges / sizeof edges[0])];
        uint32_t u = f32_bits(f) ^ sign;
        int d = (int)((r >> 32) % 5) - 2;  // the value or a few ulps either side
        return u + (uint32_t)d;
    }
    if (kind < 55) {  // random value, 2^-30 .. 2^20
        e = (int)((r >> 40) % 51) - 30;
        return sign | (uint32_t)(e + 127) << 23 | m;
    }
    if (kind < 75) {  // exact ties for 0..9 kept mantissa bits
        unsigned k = (unsigned)((r >> 40) % 10);
        e = (int)((r >> 48) % 51) - 30;
        uint32_t top = k ? (m >> (23 - k)) << (23 - k) : 0u;
        return sign | (uint32_t)(e + 127) << 23 | top | (1u << (22 - k));
    }
    if (kind < 85) {  // around 2^-127 (E8M0's bottom) and the f32 subnormals
        e = (int)((r >> 40) % 30) - 149;
        if (e < -126)
            return sign | (m >> (-126 - e));
        return sign | (uint32_t)(e + 127) << 23 | m;
    }
    return (uint32_t)(r >> 16);  // raw bits
}

// Fill `bytes` bytes with inputs of type t.
static void gen_input(int t, uint8_t *buf, size_t bytes, uint64_t seed)
{
    std::mt19937_64 rng(seed);
    unsigned bits = lowbit_dtype_bits((lowbit_dtype)t);
    if (bits == 32) {
        for (size_t i = 0; i + 4 <= bytes; i += 4) {
            uint32_t u = gen_f32(rng);
            std::memcpy(buf + i, &u, 4);
        }
    } else if (bits == 16) {
        for (size_t i = 0; i + 2 <= bytes; i += 2) {
            uint64_t r = rng();
            uint16_t v;
            if (t == LOWBIT_BF16 && (r & 1))
                v = (uint16_t)(gen_f32(rng) >> 16);
            else if (t == LOWBIT_F16 && (r & 1) && i / 2 < 65536)
                v = (uint16_t)((i / 2) * 0x9E37u + 0x1234u);  // a permutation: every f16 code appears
            else
                v = (uint16_t)(r >> 16);
            std::memcpy(buf + i, &v, 2);
        }
    } else {
        // Narrow types: the first bytes run through every byte value (so every
        // code appears early), the rest is random.
        for (size_t i = 0; i < bytes; i++)
            buf[i] = i < 256 ? (uint8_t)(i * 167u + 13u) : (uint8_t)rng();
    }
    for (size_t i = bytes / 4 * 4; i < bytes; i++)  // odd tail bytes of wide types
        if (bits >= 16) buf[i] = (uint8_t)rng();
}

// ---- the host reference ----------------------------------------------------

// lowbit_convert on the host (reference backend), in parallel chunks for
// big n: chunks start at multiples of 8 elements (whole bytes for every
// width) and carry offset + start as their stochastic-rounding offset.
static lowbit_status host_ref(int dt, uint8_t *dst, int st, const uint8_t *src, size_t n,
                              const lowbit_convert_opts *o)
{
    if (n < (1u << 16))
        return lowbit_convert((lowbit_dtype)dt, dst, (lowbit_dtype)st, src, n, o);
    unsigned nt = std::thread::hardware_concurrency();
    if (nt < 1) nt = 1;
    if (nt > 32) nt = 32;
    size_t chunk = ((n + nt - 1) / nt + 7) / 8 * 8;  // nt chunks cover n
    std::vector<std::thread> th;
    std::vector<lowbit_status> res(nt, LOWBIT_OK);
    for (unsigned k = 0; k < nt; k++) {
        size_t a = k * chunk;
        if (a >= n) break;
        size_t len = n - a < chunk ? n - a : chunk;
        th.emplace_back([=, &res]() {
            lowbit_convert_opts oo = *o;
            oo.offset = o->offset + a;
            res[k] = lowbit_convert((lowbit_dtype)dt, dst + tbytes(dt, a), (lowbit_dtype)st, src + tbytes(st, a), len, &oo);
        });
    }
    for (auto &t : th) t.join();
    for (auto s : res)
        if (s != LOWBIT_OK) return s;
    return LOWBIT_OK;
}

// Code of element i of a buffer (independent of the library: plain bit slicing).
static uint32_t code_at(int t, const uint8_t *p, size_t i)
{
    unsigned bits = lowbit_dtype_bits((lowbit_dtype)t);
    size_t bit = i * bits;
    uint64_t v = 0;
    for (unsigned b = 0; b < (bits + 7) / 8 + 1 && (bit / 8 + b) < (bit + bits + 7) / 8; b++)
        v |= (uint64_t)p[bit / 8 + b] << (8 * b);
    return (uint32_t)((v >> (bit % 8)) & ((1ull << bits) - 1));
}

// ---- one case --------------------------------------------------------------

struct Bufs {
    uint8_t *h_src = nullptr;   // host input (n_alloc elements + slack)
    uint8_t *d_src = nullptr;   // same bytes on the device
    uint8_t *d_dst = nullptr;   // output with guards
    size_t dst_cap = 0;         // bytes of d_dst
    std::vector<uint8_t> got, want;
};

static int g_pair_prints;

static bool run_case(Bufs &b, int st, int dt, size_t n, const lowbit_convert_opts &o, size_t soff, size_t doff,
                     cudaStream_t stream)
{
    const size_t ob = tbytes(dt, n);
    const size_t region = kGuard + doff + ob + kGuard;
    if (region > b.dst_cap) {
        std::fprintf(stderr, "internal: output region too large\n");
        std::exit(2);
    }
    CK(cudaMemsetAsync(b.d_dst, 0xA5, region, stream));
    lowbit_status s = lowbit_convert_device(LBT_BACKEND, (lowbit_dtype)dt, b.d_dst + kGuard + doff,
                                            (lowbit_dtype)st, b.d_src + soff, n, &o, stream);
    b.got.resize(region);
    b.want.assign(region, 0xA5);
    CK(cudaStreamSynchronize(stream));
    CK(cudaMemcpy(b.got.data(), b.d_dst, region, cudaMemcpyDeviceToHost));
    lowbit_status hs = host_ref(dt, b.want.data() + kGuard + doff, st, b.h_src + soff, n, &o);
    bool ok = s == LOWBIT_OK && hs == LOWBIT_OK && std::memcmp(b.got.data(), b.want.data(), region) == 0;
    if (ok) {
        g_passed++;
        return true;
    }
    g_failed++;
    if (g_pair_prints++ < 6) {
        std::printf("  FAIL %s->%s n=%zu mode=%d sat=%d seed=%#" PRIx64 " offset=%" PRIu64 " src+%zu dst+%zu: ",
                    tname(st), tname(dt), n, (int)o.rounding, o.saturate, o.seed, o.offset, soff, doff);
        if (s != LOWBIT_OK || hs != LOWBIT_OK) {
            std::printf("device status %s, host status %s (%s)\n", lowbit_status_string(s),
                        lowbit_status_string(hs), lowbit_last_error());
        } else {
            size_t k = 0;
            while (b.got[k] == b.want[k]) k++;
            if (k < kGuard + doff || k >= kGuard + doff + ob) {
                std::printf("guard byte %ld (relative to the output) changed: %#04x\n",
                            (long)k - (long)(kGuard + doff), b.got[k]);
            } else {
                size_t byte = k - kGuard - doff;
                size_t elem = byte * 8 / lowbit_dtype_bits((lowbit_dtype)dt);
                std::printf("output byte %zu (element ~%zu, source code %#x): got %#04x want %#04x\n", byte, elem,
                            elem < n ? code_at(st, b.h_src + soff, elem) : 0u, b.got[k], b.want[k]);
            }
        }
    }
    return false;
}

// ---- argument checks ---------------------------------------------------------

static void expect(bool cond, const char *what)
{
    if (cond) {
        g_passed++;
    } else {
        g_failed++;
        std::printf("  FAIL %s (last error: %s)\n", what, lowbit_last_error());
    }
}

static bool guard_intact(const uint8_t *d, size_t bytes)
{
    std::vector<uint8_t> h(bytes);
    CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(h.data(), d, bytes, cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < bytes; i++)
        if (h[i] != 0xA5) return false;
    return true;
}

static void api_checks()
{
    long f0 = g_failed, p0 = g_passed;
    const size_t n = 4099;
    lowbit_convert_opts o = {LOWBIT_ROUND_NEAREST_EVEN, 0, 0, 0};
    uint8_t *d_src, *d_dst;
    CK(cudaMalloc(&d_src, 4 * n));
    CK(cudaMalloc(&d_dst, 4 * n));
    std::vector<uint8_t> h_src(4 * n);
    gen_input(LOWBIT_F32, h_src.data(), 4 * n, 99);
    CK(cudaMemcpy(d_src, h_src.data(), 4 * n, cudaMemcpyHostToDevice));
    CK(cudaMemset(d_dst, 0xA5, 4 * n));

    expect(lowbit_backend_status(LBT_BACKEND) == LOWBIT_OK, "lowbit_backend_status(device backend) is OK");

    // Host memory as dst: refused, nothing written.
    std::vector<uint8_t> host(4 * n, 0x5A);
    lowbit_status s = lowbit_convert_device(LBT_BACKEND, LOWBIT_E4M3, host.data(), LOWBIT_F32, d_src, n, &o,
                                            nullptr);
    bool untouched = true;
    for (auto v : host) untouched &= v == 0x5A;
    expect(s == LOWBIT_ERR_WRONG_MEMORY && untouched && std::strstr(lowbit_last_error(), "dst"),
           "host dst -> LOWBIT_ERR_WRONG_MEMORY, nothing written");
    // Host memory as src.
    s = lowbit_convert_device(LBT_BACKEND, LOWBIT_E4M3, d_dst, LOWBIT_F32, h_src.data(), n, &o, nullptr);
    expect(s == LOWBIT_ERR_WRONG_MEMORY && guard_intact(d_dst, 4 * n) && std::strstr(lowbit_last_error(), "src"),
           "host src -> LOWBIT_ERR_WRONG_MEMORY, nothing written");
    // A stack pointer.
    float on_stack[8] = {0};
    s = lowbit_convert_device(LBT_BACKEND, LOWBIT_E4M3, d_dst, LOWBIT_F32, on_stack, 8, &o, nullptr);
    expect(s == LOWBIT_ERR_WRONG_MEMORY && guard_intact(d_dst, 4 * n), "stack src -> LOWBIT_ERR_WRONG_MEMORY");
    // Pinned host memory is still host memory.
    uint8_t *pinned;
    CK(cudaMallocHost(&pinned, 4 * n));
    std::memset(pinned, 0x5A, 4 * n);
    s = lowbit_convert_device(LBT_BACKEND, LOWBIT_E4M3, pinned, LOWBIT_F32, d_src, n, &o, nullptr);
    CK(cudaDeviceSynchronize());
    untouched = true;
    for (size_t i = 0; i < 4 * n; i++) untouched &= pinned[i] == 0x5A;
    expect(s == LOWBIT_ERR_WRONG_MEMORY && untouched, "pinned host dst -> LOWBIT_ERR_WRONG_MEMORY, nothing written");
    CK(cudaFreeHost(pinned));

    // NULL pointers, n = 0.
    expect(lowbit_convert_device(LBT_BACKEND, LOWBIT_E4M3, nullptr, LOWBIT_F32, d_src, n, &o, nullptr) ==
               LOWBIT_ERR_NULL_POINTER, "NULL dst -> LOWBIT_ERR_NULL_POINTER");
    expect(lowbit_convert_device(LBT_BACKEND, LOWBIT_E4M3, d_dst, LOWBIT_F32, nullptr, n, &o, nullptr) ==
               LOWBIT_ERR_NULL_POINTER && guard_intact(d_dst, 4 * n), "NULL src -> LOWBIT_ERR_NULL_POINTER");
    expect(lowbit_convert_device(LBT_BACKEND, LOWBIT_E4M3, nullptr, LOWBIT_F32, nullptr, 0, &o, nullptr) ==
               LOWBIT_OK, "n = 0 with NULL pointers -> LOWBIT_OK");
    expect(lowbit_convert_device(LBT_BACKEND, LOWBIT_E2M1, d_dst, LOWBIT_F32, d_src, 0, &o, nullptr) ==
               LOWBIT_OK && guard_intact(d_dst, 4 * n), "n = 0 -> LOWBIT_OK, nothing written");
    expect(lowbit_convert_device(LBT_BACKEND, LOWBIT_E2M1, d_dst, LOWBIT_F32, d_src, 0, nullptr, nullptr) ==
               LOWBIT_OK, "n = 0, opts NULL -> LOWBIT_OK");

    // Backends that are not the device backend under test.
    const lowbit_backend hostb[] = {LOWBIT_BACKEND_REF, LOWBIT_BACKEND_AUTO, LOWBIT_BACKEND_AVX2,
                                    LOWBIT_BACKEND_AVX512, LOWBIT_BACKEND_NEON};
    for (auto hb : hostb) {
        std::string what = std::string("backend ") + lowbit_backend_name(hb) + " -> LOWBIT_ERR_UNSUPPORTED";
        expect(lowbit_convert_device(hb, LOWBIT_E4M3, d_dst, LOWBIT_F32, d_src, n, &o, nullptr) ==
                   LOWBIT_ERR_UNSUPPORTED && guard_intact(d_dst, 4 * n), what.c_str());
    }
    expect(lowbit_convert_device((lowbit_backend)99, LOWBIT_E4M3, d_dst, LOWBIT_F32, d_src, n, &o, nullptr) ==
               LOWBIT_ERR_INVALID_ENUM, "backend 99 -> LOWBIT_ERR_INVALID_ENUM");
    expect(lowbit_convert_device(LBT_OTHER_BACKEND, LOWBIT_E4M3, d_dst, LOWBIT_F32, d_src, n, &o, nullptr) !=
               LOWBIT_OK && guard_intact(d_dst, 4 * n), "the other device backend fails, nothing written");

    // Bad enums and overflow, overlap.
    expect(lowbit_convert_device(LBT_BACKEND, (lowbit_dtype)77, d_dst, LOWBIT_F32, d_src, n, &o, nullptr) ==
               LOWBIT_ERR_INVALID_ENUM, "dst_type 77 -> LOWBIT_ERR_INVALID_ENUM");
    lowbit_convert_opts bad = o;
    bad.rounding = (lowbit_rounding)7;
    expect(lowbit_convert_device(LBT_BACKEND, LOWBIT_E4M3, d_dst, LOWBIT_F32, d_src, n, &bad, nullptr) ==
               LOWBIT_ERR_INVALID_ENUM && guard_intact(d_dst, 4 * n), "rounding 7 -> LOWBIT_ERR_INVALID_ENUM");
    lowbit_convert_opts ovf = {LOWBIT_ROUND_STOCHASTIC, 0, 1, UINT64_MAX};
    expect(lowbit_convert_device(LBT_BACKEND, LOWBIT_E4M3, d_dst, LOWBIT_F32, d_src, 2, &ovf, nullptr) ==
               LOWBIT_ERR_SIZE_OVERFLOW && guard_intact(d_dst, 4 * n),
           "stochastic offset + n overflow -> LOWBIT_ERR_SIZE_OVERFLOW");
    expect(lowbit_convert_device(LBT_BACKEND, LOWBIT_F16, d_src + 4, LOWBIT_F32, d_src, 64, &o, nullptr) ==
               LOWBIT_ERR_ALIASING, "overlapping dst and src -> LOWBIT_ERR_ALIASING");

    // Managed memory works and matches the host.
    {
        uint8_t *m_src, *m_dst;
        CK(cudaMallocManaged(&m_src, 4 * n));
        CK(cudaMallocManaged(&m_dst, n));
        std::memcpy(m_src, h_src.data(), 4 * n);
        std::memset(m_dst, 0xA5, n);
        lowbit_convert_opts so = {LOWBIT_ROUND_STOCHASTIC, 1, 77, 3};
        s = lowbit_convert_device(LBT_BACKEND, LOWBIT_E4M3, m_dst, LOWBIT_F32, m_src, n, &so, nullptr);
        CK(cudaDeviceSynchronize());
        std::vector<uint8_t> want(n);
        lowbit_convert(LOWBIT_E4M3, want.data(), LOWBIT_F32, h_src.data(), n, &so);
        expect(s == LOWBIT_OK && std::memcmp(want.data(), m_dst, n) == 0, "managed memory f32->e4m3 matches the host");
        CK(cudaFree(m_src));
        CK(cudaFree(m_dst));
    }

    // A non-default, non-blocking stream.
    {
        cudaStream_t st;
        CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
        const size_t m = (1u << 20) + 3;
        uint8_t *s2, *d2;
        CK(cudaMalloc(&s2, 4 * m));
        CK(cudaMalloc(&d2, m));
        std::vector<uint8_t> hs(4 * m), got(m), want(m);
        gen_input(LOWBIT_F32, hs.data(), 4 * m, 5);
        CK(cudaMemcpy(s2, hs.data(), 4 * m, cudaMemcpyHostToDevice));
        s = lowbit_convert_device(LBT_BACKEND, LOWBIT_E2M1, d2, LOWBIT_F32, s2, m, &o, st);
        CK(cudaStreamSynchronize(st));
        CK(cudaMemcpy(got.data(), d2, tbytes(LOWBIT_E2M1, m), cudaMemcpyDeviceToHost));
        lowbit_convert(LOWBIT_E2M1, want.data(), LOWBIT_F32, hs.data(), m, &o);
        expect(s == LOWBIT_OK && std::memcmp(got.data(), want.data(), tbytes(LOWBIT_E2M1, m)) == 0,
               "non-blocking stream f32->e2m1 matches the host");
        CK(cudaFree(s2));
        CK(cudaFree(d2));
        CK(cudaStreamDestroy(st));
    }

    CK(cudaFree(d_src));
    CK(cudaFree(d_dst));
    std::printf("api checks: %ld passed, %ld failed\n", g_passed - p0, g_failed - f0);
}

// ---- main ----------------------------------------------------------------------

int main(int argc, char **argv)
{
    bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;  // small sizes only
    if (!lbt_have_device())
        return 77;
    if (lowbit_set_backend(LOWBIT_BACKEND_REF) != LOWBIT_OK) {
        std::printf("FAIL: cannot select the reference host backend: %s\n", lowbit_last_error());
        return 1;
    }

    api_checks();

    static const size_t sizes[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65,
                                   127, 128, 129, 1000, kSmallMax};
    struct Off { size_t s, d; };
    static const Off offs[] = {{1, 0}, {0, 1}, {2, 3}, {3, 2}, {4, 4}, {8, 8}, {16, 16}, {0, 12}, {12, 0}, {3, 3}};
    static const size_t off_sizes[] = {33, 1000, kSmallMax};
    static const size_t slice_elems[] = {1, 2, 3, 4, 5, 6, 7, 8, 12};
    static const size_t slice_sizes[] = {70, kSmallMax};
    static const uint64_t sr_offsets[] = {1, 2, 3, 5, 0xFFFFFFFFull, (4ull << 32) - 6, (1ull << 62) + 3};

    cudaStream_t stream;
    CK(cudaStreamCreate(&stream));

    Bufs small, large;
    const size_t small_cap = tbytes(LOWBIT_F32, kSmallMax) + kSlack;
    small.h_src = (uint8_t *)std::malloc(small_cap);
    CK(cudaMalloc(&small.d_src, small_cap));
    small.dst_cap = 2 * kGuard + kSlack + tbytes(LOWBIT_F32, kSmallMax);
    CK(cudaMalloc(&small.d_dst, small.dst_cap));
    const size_t large_cap = tbytes(LOWBIT_F32, kLarge) + kSlack;
    if (!quick) {
        large.h_src = (uint8_t *)std::malloc(large_cap);
        CK(cudaMalloc(&large.d_src, large_cap));
        large.dst_cap = 2 * kGuard + kSlack + tbytes(LOWBIT_F32, kLarge);
        CK(cudaMalloc(&large.d_dst, large.dst_cap));
    }

    int bad_pairs = 0;
    for (int st = 0; st < kTypes; st++) {
        gen_input(st, small.h_src, small_cap, 1000 + st);
        CK(cudaMemcpy(small.d_src, small.h_src, small_cap, cudaMemcpyHostToDevice));
        if (!quick) {
            gen_input(st, large.h_src, tbytes(st, kLarge), 2000 + st);
            CK(cudaMemcpy(large.d_src, large.h_src, tbytes(st, kLarge), cudaMemcpyHostToDevice));
        }
        for (int dt = 0; dt < kTypes; dt++) {
            long p0 = g_passed, f0 = g_failed;
            g_pair_prints = 0;
            for (int mode = 0; mode < 3; mode++) {
                for (int sat = 0; sat < 2; sat++) {
                    lowbit_convert_opts o = {(lowbit_rounding)mode, sat,
                                             0x0123456789ABCDEFull ^ (uint64_t)(st * 131 + dt * 7 + mode), 0};
                    for (size_t n : sizes)
                        run_case(small, st, dt, n, o, 0, 0, stream);
                    for (const Off &of : offs)
                        for (size_t n : off_sizes)
                            run_case(small, st, dt, n, o, of.s, of.d, stream);
                    // Both sides sliced at the same element offset k (the
                    // backend converts a short head, then runs aligned).
                    for (size_t k : slice_elems) {
                        const unsigned sbits = lowbit_dtype_bits((lowbit_dtype)st);
                        const unsigned dbits = lowbit_dtype_bits((lowbit_dtype)dt);
                        if ((k * sbits) % 8 || (k * dbits) % 8)
                            continue;
                        for (size_t n : slice_sizes)
                            run_case(small, st, dt, n, o, k * sbits / 8, k * dbits / 8, stream);
                    }
                    if (mode == LOWBIT_ROUND_STOCHASTIC) {
                        for (uint64_t so : sr_offsets) {
                            lowbit_convert_opts o2 = o;
                            o2.offset = so;
                            run_case(small, st, dt, 1000, o2, 0, 0, stream);
                            run_case(small, st, dt, 129, o2, 16, 16, stream);
                            run_case(small, st, dt, 65, o2, 1, 3, stream);
                        }
                    }
                }
            }
            if (!quick) {
                int k = st * kTypes + dt;
                lowbit_convert_opts o = {(lowbit_rounding)(k % 3), (k / 3) % 2, 0xFEEDFACECAFEBEEFull + (uint64_t)k,
                                         (k % 3 == 2) ? (uint64_t)k * 12345 : 0};
                run_case(large, st, dt, kLarge, o, 0, 0, stream);
            }
            long pf = g_failed - f0;
            if (pf) bad_pairs++;
            std::printf("%-6s -> %-6s %5ld cases %s\n", tname(st), tname(dt), g_passed - p0 + pf,
                        pf ? (std::to_string(pf) + " FAILED").c_str() : "ok");
            std::fflush(stdout);
        }
    }
    // The hot pairs at the large size in every mode.
    if (!quick) {
        const int hot[][2] = {{LOWBIT_F32, LOWBIT_E4M3}, {LOWBIT_F32, LOWBIT_E2M1}, {LOWBIT_F32, LOWBIT_E3M2},
                              {LOWBIT_BF16, LOWBIT_E4M3}, {LOWBIT_E4M3, LOWBIT_F32}};
        for (auto &h : hot) {
            gen_input(h[0], large.h_src, tbytes(h[0], kLarge), 3000 + h[0]);
            CK(cudaMemcpy(large.d_src, large.h_src, tbytes(h[0], kLarge), cudaMemcpyHostToDevice));
            long p0 = g_passed, f0 = g_failed;
            g_pair_prints = 0;
            for (int mode = 0; mode < 3; mode++)
                for (int sat = 0; sat < 2; sat++) {
                    lowbit_convert_opts o = {(lowbit_rounding)mode, sat, 42, mode == 2 ? 7u : 0u};
                    run_case(large, h[0], h[1], kLarge, o, 0, 0, stream);
                }
            std::printf("large  %-6s -> %-6s %5ld cases %s\n", tname(h[0]), tname(h[1]), g_passed - p0,
                        g_failed - f0 ? "FAILED" : "ok");
        }
    }

    std::printf("%d of %d pairs had failures\n", bad_pairs, kTypes * kTypes);
    std::printf("%ld passed, %ld failed\n", g_passed, g_failed);
    CK(cudaStreamDestroy(stream));
    return g_failed ? 1 : 0;
}
