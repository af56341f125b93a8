// device_codec_test.cu - the formats/ codecs on a real GPU.
//
// 1. Runs lb_encode / lb_decode (the very functions the reference uses) in
//    device code for every pair of element types, every rounding mode and
//    both saturation settings, and compares with the host library's
//    lowbit_convert bit for bit: proof that the element math does not change
//    on the device (no flush-to-zero, no contraction, same Philox stream).
// 2. Compares with NVIDIA's device conversions, which on sm_89+ are hardware
//    cvt instructions: f32/f16 -> e4m3/e5m2 (satfinite), e4m3/e5m2 -> f16,
//    f32 -> f16 and bf16 (rn, rz), f16/bf16 -> f32.
// Without a device it prints one SKIP line and exits 77.
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <random>

#include "lowbit.h"
#include "codec.h"

#define CK(call)                                                                     \
    do {                                                                             \
        cudaError_t e_ = (call);                                                     \
        if (e_ != cudaSuccess) {                                                     \
            std::fprintf(stderr, "CUDA error %s at %s:%d\n", cudaGetErrorString(e_), \
                         __FILE__, __LINE__);                                        \
            std::exit(2);                                                            \
        }                                                                            \
    } while (0)

__global__ void k_convert(const uint32_t *src, uint32_t *dst, size_t n, int st, int dt, int mode,
                          int sat, uint64_t seed, uint64_t offset)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    float x = lb_decode(st, src[i]);
    uint32_t r = mode == LB_ROUND_SR ? lb_sr_bits(seed, offset + i) : 0;
    dst[i] = lb_encode(dt, x, mode, sat, r);
}

// NVIDIA device conversions.  op selects which one.
enum {
    HW_F32_E4M3_SAT, HW_F32_E5M2_SAT, HW_F32_E4M3_NOSAT, HW_F32_E5M2_NOSAT,
    HW_F16_E4M3_SAT, HW_F16_E5M2_SAT,
    HW_E4M3_F16, HW_E5M2_F16,
    HW_F32_F16_RN, HW_F32_F16_RZ, HW_F32_BF16_RN, HW_F32_BF16_RZ,
    HW_F16_F32, HW_BF16_F32, HW_COUNT
};
static const char *hw_names[HW_COUNT] = {
    "f32->e4m3 satfinite (cvt.rn.satfinite.e4m3x2.f32)", "f32->e5m2 satfinite (cvt.rn.satfinite.e5m2x2.f32)",
    "f32->e4m3 nosat (__nv_cvt_float_to_fp8)", "f32->e5m2 nosat (__nv_cvt_float_to_fp8)",
    "f16->e4m3 satfinite (cvt.rn.satfinite.e4m3x2.f16x2)", "f16->e5m2 satfinite (cvt.rn.satfinite.e5m2x2.f16x2)",
    "e4m3->f16 (cvt.rn.f16x2.e4m3x2)", "e5m2->f16 (cvt.rn.f16x2.e5m2x2)",
    "f32->f16 rn (__float2half_rn)", "f32->f16 rz (__float2half_rz)",
    "f32->bf16 rn (__float2bfloat16_rn)", "f32->bf16 rz (__float2bfloat16_rz)",
    "f16->f32 (__half2float)", "bf16->f32 (__bfloat162float)"};

__global__ void k_hw(const uint32_t *src, uint32_t *dst, size_t n, int op)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    uint32_t s = src[i];
    float f = __uint_as_float(s);
    __half_raw hr;
    hr.x = (unsigned short)s;
    uint32_t out = 0;
    switch (op) {
    case HW_F32_E4M3_SAT: out = __nv_cvt_float_to_fp8(f, __NV_SATFINITE, __NV_E4M3); break;
    case HW_F32_E5M2_SAT: out = __nv_cvt_float_to_fp8(f, __NV_SATFINITE, __NV_E5M2); break;
    case HW_F32_E4M3_NOSAT: out = __nv_cvt_float_to_fp8(f, __NV_NOSAT, __NV_E4M3); break;
    case HW_F32_E5M2_NOSAT: out = __nv_cvt_float_to_fp8(f, __NV_NOSAT, __NV_E5M2); break;
    case HW_F16_E4M3_SAT: out = __nv_cvt_halfraw_to_fp8(hr, __NV_SATFINITE, __NV_E4M3); break;
    case HW_F16_E5M2_SAT: out = __nv_cvt_halfraw_to_fp8(hr, __NV_SATFINITE, __NV_E5M2); break;
    case HW_E4M3_F16: out = __nv_cvt_fp8_to_halfraw((__nv_fp8_storage_t)s, __NV_E4M3).x; break;
    case HW_E5M2_F16: out = __nv_cvt_fp8_to_halfraw((__nv_fp8_storage_t)s, __NV_E5M2).x; break;
    case HW_F32_F16_RN: out = __half_as_ushort(__float2half_rn(f)); break;
    case HW_F32_F16_RZ: out = __half_as_ushort(__float2half_rz(f)); break;
    case HW_F32_BF16_RN: out = __bfloat16_as_ushort(__float2bfloat16_rn(f)); break;
    case HW_F32_BF16_RZ: out = __bfloat16_as_ushort(__float2bfloat16_rz(f)); break;
    case HW_F16_F32: out = __float_as_uint(__half2float(__ushort_as_half((unsigned short)s))); break;
    case HW_BF16_F32: out = __float_as_uint(__bfloat162float(__ushort_as_bfloat16((unsigned short)s))); break;
    }
    dst[i] = out;
}

// Is code c of type t a NaN?  (NaN results are compared by NaN-ness only
// where the two sides may legitimately differ in payload.)
static bool is_nan_code(int t, uint32_t c)
{
    float v = lb_decode(t, c);
    return v != v;
}

// ---- inputs ------------------------------------------------------------

static std::vector<uint32_t> f32_inputs(size_t n_random, uint64_t seed)
{
    std::vector<uint32_t> v;
    // Boundary-dense: every sign and exponent, top 11 mantissa bits, and
    // low bits on and around a rounding point for any target with <= 10
    // mantissa bits (f16 included).
    static const uint32_t lows[] = {0u, 1u, 2u, 0x7FEu, 0x7FFu, 0x800u, 0x801u, 0xFFFu};
    for (uint32_t sign = 0; sign < 2; sign++)
        for (uint32_t e = 0; e < 256; e++)
            for (uint32_t hi = 0; hi < 2048; hi++)
                for (uint32_t lo : lows)
                    v.push_back(sign << 31 | e << 23 | hi << 12 | lo);
    std::mt19937_64 rng(seed);
    for (size_t i = 0; i < n_random; i++)
        v.push_back((uint32_t)rng());
    return v;
}

static std::vector<uint32_t> all_codes(int t)
{
    unsigned bits = lowbit_dtype_bits((lowbit_dtype)t);
    std::vector<uint32_t> v;
    if (bits == 32)
        return v;
    for (uint32_t c = 0; c < (1u << bits); c++)
        v.push_back(c);
    return v;
}

// Expected codes from the host library: pack as it wants, convert, unpack.
static std::vector<uint32_t> host_convert(const std::vector<uint32_t> &src, int st, int dt,
                                          int mode, int sat, uint64_t seed)
{
    size_t n = src.size();
    std::vector<uint8_t> packed_src(lowbit_dtype_bytes((lowbit_dtype)st, n) + 4, 0);
    for (size_t i = 0; i < n; i++) {
        unsigned bits = lowbit_dtype_bits((lowbit_dtype)st);
        if (bits == 32) std::memcpy(&packed_src[4 * i], &src[i], 4);
        else if (bits == 16) { uint16_t h = (uint16_t)src[i]; std::memcpy(&packed_src[2 * i], &h, 2); }
        else if (bits == 8) packed_src[i] = (uint8_t)src[i];
        else lb_store_packed(bits, packed_src.data(), i, src[i]);
    }
    std::vector<uint8_t> out(lowbit_dtype_bytes((lowbit_dtype)dt, n) + 4, 0);
    // Chunks of 2^16 elements, each a separate call with opts.offset set:
    // stochastic rounding must not notice (chunking invariance).
    const size_t chunk = (size_t)1 << 16;
    long nchunks = (long)((n + chunk - 1) / chunk);
    int failed = 0;
#pragma omp parallel for schedule(dynamic) reduction(| : failed)
    for (long k = 0; k < nchunks; k++) {
        size_t start = (size_t)k * chunk, len = n - start < chunk ? n - start : chunk;
        lowbit_convert_opts o = {(lowbit_rounding)mode, sat, seed, start};
        lowbit_status s = lowbit_convert((lowbit_dtype)dt, out.data() + lowbit_dtype_bytes((lowbit_dtype)dt, start),
                                         (lowbit_dtype)st, packed_src.data() + lowbit_dtype_bytes((lowbit_dtype)st, start),
                                         len, &o);
        failed |= s != LOWBIT_OK;
    }
    if (failed) {
        std::fprintf(stderr, "host convert failed\n");
        std::exit(2);
    }
    std::vector<uint32_t> codes(n);
    for (size_t i = 0; i < n; i++)
        codes[i] = lb_load_code(dt, out.data(), i);
    return codes;
}

struct Dev {
    uint32_t *src = nullptr, *dst = nullptr;
    size_t cap = 0;
    void ensure(size_t n)
    {
        if (n <= cap) return;
        if (src) { cudaFree(src); cudaFree(dst); }
        CK(cudaMalloc(&src, n * 4));
        CK(cudaMalloc(&dst, n * 4));
        cap = n;
    }
};

static size_t g_cases = 0, g_mismatches = 0, g_rows = 0;

static void report(const char *what, size_t n, size_t bad, const std::vector<uint32_t> &src,
                   const std::vector<uint32_t> &want, const std::vector<uint32_t> &got,
                   const std::vector<size_t> &bad_idx)
{
    g_cases += n;
    g_mismatches += bad;
    g_rows++;
    std::printf("%-72s %10zu cases %8zu mismatches%s\n", what, n, bad, bad ? "  FAIL" : "");
    for (size_t k = 0; k < bad_idx.size(); k++) {
        size_t i = bad_idx[k];
        std::printf("    input 0x%08x: expected 0x%x, device 0x%x\n", src[i], want[i], got[i]);
    }
}

int main(int argc, char **argv)
{
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
        std::printf("SKIP: no CUDA device available; the device codec test did not run\n");
        return 77;
    }
    size_t n_random = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 4000000;
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    std::printf("device: %s (sm_%d%d), random f32 inputs per conversion: %zu\n", prop.name,
                prop.major, prop.minor, n_random);

    Dev dev;
    const uint64_t seed = 0x5eed1234abcdull;
    std::vector<uint32_t> f32in = f32_inputs(n_random, seed);
    char what[160];

    // ---- part 1: formats/ on device == host library -------------------
    for (int st = 0; st < LOWBIT_DTYPE_COUNT; st++) {
        std::vector<uint32_t> src = st == LOWBIT_F32 ? f32in : all_codes(st);
        size_t n = src.size();
        dev.ensure(n);
        CK(cudaMemcpy(dev.src, src.data(), n * 4, cudaMemcpyHostToDevice));
        for (int dt = 0; dt < LOWBIT_DTYPE_COUNT; dt++) {
            if (dt == st) continue;
            for (int mode = 0; mode < 3; mode++)
                for (int sat = 0; sat < 2; sat++) {
                    std::vector<uint32_t> want = host_convert(src, st, dt, mode, sat, seed);
                    k_convert<<<(unsigned)((n + 255) / 256), 256>>>(dev.src, dev.dst, n, st, dt, mode, sat, seed, 0);
                    CK(cudaGetLastError());
                    std::vector<uint32_t> got(n);
                    CK(cudaMemcpy(got.data(), dev.dst, n * 4, cudaMemcpyDeviceToHost));
                    size_t bad = 0;
                    std::vector<size_t> idx;
                    for (size_t i = 0; i < n; i++)
                        if (got[i] != want[i]) {
                            if (idx.size() < 4) idx.push_back(i);
                            bad++;
                        }
                    std::snprintf(what, sizeof what, "formats/ device vs host: %s->%s %s%s",
                                  lowbit_dtype_name((lowbit_dtype)st), lowbit_dtype_name((lowbit_dtype)dt),
                                  mode == 0 ? "rne" : mode == 1 ? "rz" : "sr", sat ? " sat" : "");
                    report(what, n, bad, src, want, got, idx);
                }
        }
    }

    // ---- part 2: NVIDIA's device conversions ---------------------------
    std::vector<uint32_t> f16all(65536), e8all(256);
    for (uint32_t i = 0; i < 65536; i++) f16all[i] = i;
    for (uint32_t i = 0; i < 256; i++) e8all[i] = i;
    struct HwCase { int op, st, dt, mode, sat; const std::vector<uint32_t> *src; };
    const HwCase cases[] = {
        {HW_F32_E4M3_SAT, LOWBIT_F32, LOWBIT_E4M3, 0, 1, &f32in},
        {HW_F32_E5M2_SAT, LOWBIT_F32, LOWBIT_E5M2, 0, 1, &f32in},
        {HW_F32_E4M3_NOSAT, LOWBIT_F32, LOWBIT_E4M3, 0, 0, &f32in},
        {HW_F32_E5M2_NOSAT, LOWBIT_F32, LOWBIT_E5M2, 0, 0, &f32in},
        {HW_F16_E4M3_SAT, LOWBIT_F16, LOWBIT_E4M3, 0, 1, &f16all},
        {HW_F16_E5M2_SAT, LOWBIT_F16, LOWBIT_E5M2, 0, 1, &f16all},
        {HW_E4M3_F16, LOWBIT_E4M3, LOWBIT_F16, 0, 0, &e8all},
        {HW_E5M2_F16, LOWBIT_E5M2, LOWBIT_F16, 0, 0, &e8all},
        {HW_F32_F16_RN, LOWBIT_F32, LOWBIT_F16, 0, 0, &f32in},
        {HW_F32_F16_RZ, LOWBIT_F32, LOWBIT_F16, 1, 0, &f32in},
        {HW_F32_BF16_RN, LOWBIT_F32, LOWBIT_BF16, 0, 0, &f32in},
        {HW_F32_BF16_RZ, LOWBIT_F32, LOWBIT_BF16, 1, 0, &f32in},
        {HW_F16_F32, LOWBIT_F16, LOWBIT_F32, 0, 0, &f16all},
        {HW_BF16_F32, LOWBIT_BF16, LOWBIT_F32, 0, 0, &f16all},
    };
    for (const HwCase &c : cases) {
        const std::vector<uint32_t> &src = *c.src;
        size_t n = src.size();
        dev.ensure(n);
        CK(cudaMemcpy(dev.src, src.data(), n * 4, cudaMemcpyHostToDevice));
        k_hw<<<(unsigned)((n + 255) / 256), 256>>>(dev.src, dev.dst, n, c.op);
        CK(cudaGetLastError());
        std::vector<uint32_t> got(n);
        CK(cudaMemcpy(got.data(), dev.dst, n * 4, cudaMemcpyDeviceToHost));
        std::vector<uint32_t> want = host_convert(src, c.st, c.dt, c.mode, c.sat, 0);
        size_t bad = 0;
        std::vector<size_t> idx;
        for (size_t i = 0; i < n; i++) {
            bool same = got[i] == want[i] ||
                        (is_nan_code(c.dt, got[i]) && is_nan_code(c.dt, want[i]) &&
                         // payloads may differ only for NaN inputs into f16/bf16/f32 outputs
                         lowbit_dtype_bits((lowbit_dtype)c.dt) >= 16);
            if (!same) {
                if (idx.size() < 4) idx.push_back(i);
                bad++;
            }
        }
        std::snprintf(what, sizeof what, "NVIDIA device %s", hw_names[c.op]);
        report(what, n, bad, src, want, got, idx);
    }

    std::printf("device codec test: %zu comparisons, %zu cases, %zu mismatches -- %s\n", g_rows,
                g_cases, g_mismatches, g_mismatches ? "FAIL" : "PASS");
    return g_mismatches ? 1 : 0;
}
