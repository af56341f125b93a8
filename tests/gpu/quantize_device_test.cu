// quantize_device_test.cu - lowbit_quantize_device / lowbit_dequantize_device
// (the CUDA backend; the HIP one when hipcc compiles it, see device_test.h)
// against the host reference, bit for bit.
//
// For every format below, the device output is copied back and compared
// byte for byte with lowbit_quantize / lowbit_dequantize on the host
// (reference backend) run on the same input bytes: the packed data
// (padding bits, and the bytes between cols and row_stride, which must stay
// untouched), the scales, the zero points, and 256 guard bytes (0xA5) on
// each side of every output buffer.
//   - formats: MX with every element (E4M3, E5M2, E3M2, E2M3, E2M1, INT8)
//     and every scale rule; FP8 E4M3/E5M2 per row, 1x128 and 128x128 with
//     f32 scales; INT8/INT4 groups of 32/64/128 and per row with f32, f16
//     and bf16 scales, symmetric and with zero point; UINT4 with zero point;
//     every plain (unscaled) element type; odd block shapes (2-D MX blocks,
//     column strips, row bands, and blocks whose columns do not start on a
//     byte, which take the two-kernel path); per-tensor FP8 / INT8 / INT4 /
//     UINT4 / FP4 (one scale: the grid-wide reduction on the larger shapes);
//     NVFP4 (and NVFP4-style E4M3 / E3M2 elements, 2-D blocks, blocks that
//     share bytes, one block) under a given tensor scale; dequantize-only
//     NVFP4 with the tensor scale derived from the data, quantized on the
//     host;
//   - shapes 1x1, 3x33, 7x100, 130x257, 5x2100 (every source type, rounding
//     mode and two stride layouts each; 5x2100 gives an odd number of
//     one-thread-block blocks, e.g. int4 zero points per row), 256x4096
//     (three combinations per format) and 4096x4096 (the hot formats);
//   - source f32 / f16 / bf16; strides tight, odd (with misaligned
//     pointers: every vector path off) and wide aligned (vector paths on);
//   - rounding nearest-even, toward zero and stochastic, at offsets that are
//     not multiples of 4 and that cross 2^32 Philox blocks;
//   - adversarial data by region (fine regions that mix kinds inside a
//     block, and coarse ones that fill whole blocks): normal values over
//     wide exponent ranges, outliers, f32/f16 subnormals, NaN/Inf, all-zero
//     (signed zeros), exact powers of two, exact rounding ties, values near
//     f32 max (zero-point ranges that overflow), one-sided and constant;
//   - dequantize of the host-quantized tensor to f32 / f16 / bf16, and of
//     random bytes in data, scales and zero points (NaN / Inf / negative
//     scale codes, padding bits) with several tensor scales.
// Then argument checks: host / pinned / stack pointers for every buffer
// (LOWBIT_ERR_WRONG_MEMORY, nothing written), NVFP4 quantize without a
// given tensor scale (LOWBIT_ERR_UNSUPPORTED) and with a bad one
// (LOWBIT_ERR_OUT_OF_RANGE), non-device backends, zero sizes, NULL, enums,
// aliasing, stochastic offset overflow, managed memory, a non-blocking
// stream.
//
// Prints one line per format and "N passed, M failed"; exits 1 on any
// failure, 77 with "SKIP: no CUDA device" ("no HIP device" under hipcc) when there is none.
// usage: quantize_device_test [--quick]   (--quick: shapes up to 5x2100)
#include "device_test.h"  // CUDA or HIP runtime, LBT_BACKEND, CK, SKIP

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "lowbit.h"

static const size_t kGuard = 256;
static const uint8_t kFill = 0xA5;
static const lowbit_dtype kNoScale = LOWBIT_DTYPE_COUNT;

static long g_passed, g_failed;
static int g_prints;  // failure details printed for the current format

static size_t tbytes(lowbit_dtype t, size_t n) { return lowbit_dtype_bytes(t, n); }
static const char *tname(lowbit_dtype t) { return lowbit_dtype_name(t); }
static size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }

// ---- formats -----------------------------------------------------------------

struct Fmt {
    lowbit_format f;
    bool dq_only;  // quantized on the host (device quantize refuses it)
    bool hot;      // also run at 4096 x 4096
};

static lowbit_format mk(lowbit_dtype elem, lowbit_dtype st, uint32_t br, uint32_t bc, lowbit_scale_rule rule = LOWBIT_SCALE_FLOOR,
                        uint32_t flags = 0)
{
    lowbit_format f;
    std::memset(&f, 0, sizeof f);
    f.elem = elem;
    f.scale_type = st;
    f.block_rows = br;
    f.block_cols = bc;
    f.rule = rule;
    f.flags = flags;
    return f;
}

static std::vector<Fmt> make_formats()
{
    std::vector<Fmt> v;
    auto add = [&](lowbit_format f, bool dq_only = false, bool hot = false) {
        if (lowbit_format_check(&f) != LOWBIT_OK) {
            std::printf("internal: format rejected: %s\n", lowbit_last_error());
            std::exit(2);
        }
        v.push_back({f, dq_only, hot});
    };
    const lowbit_dtype mx_elems[] = {LOWBIT_E4M3, LOWBIT_E5M2, LOWBIT_E3M2, LOWBIT_E2M3, LOWBIT_E2M1, LOWBIT_INT8};
    for (lowbit_dtype e : mx_elems)
        for (int rule = 0; rule < LOWBIT_SCALE_RULE_COUNT; rule++)
            add(lowbit_format_mx(e, (lowbit_scale_rule)rule), false,
                rule == 0 && (e == LOWBIT_E4M3 || e == LOWBIT_E2M1 || e == LOWBIT_E3M2));
    for (lowbit_dtype e : {LOWBIT_E4M3, LOWBIT_E5M2}) {
        add(lowbit_format_fp8_row(e), false, e == LOWBIT_E4M3);
        add(lowbit_format_fp8_block(e, 1, 128), false, e == LOWBIT_E4M3);
        add(lowbit_format_fp8_block(e, 128, 128), false, e == LOWBIT_E4M3);
    }
    for (lowbit_dtype e : {LOWBIT_INT8, LOWBIT_INT4})
        for (uint32_t gsz : {32u, 64u, 128u, 0u})
            for (lowbit_dtype st : {LOWBIT_F32, LOWBIT_F16, LOWBIT_BF16})
                for (int zp = 0; zp < 2; zp++)
                    add(lowbit_format_int_group(e, gsz, st, zp), false,
                        e == LOWBIT_INT4 && gsz == 128 && st == LOWBIT_BF16);
    for (uint32_t gsz : {32u, 64u, 128u, 0u})
        for (lowbit_dtype st : {LOWBIT_F32, LOWBIT_F16, LOWBIT_BF16})
            add(lowbit_format_int_group(LOWBIT_UINT4, gsz, st, 1));
    const lowbit_dtype plain[] = {LOWBIT_E4M3, LOWBIT_E5M2, LOWBIT_E4M3FNUZ, LOWBIT_E5M2FNUZ, LOWBIT_E3M2,
                                  LOWBIT_E2M3, LOWBIT_E2M1, LOWBIT_INT8, LOWBIT_INT4, LOWBIT_UINT4};
    for (lowbit_dtype e : plain)
        add(mk(e, kNoScale, 0, 0), false, e == LOWBIT_E4M3 || e == LOWBIT_E2M1);
    // Odd block shapes.
    add(mk(LOWBIT_E2M3, LOWBIT_E8M0, 4, 16));                           // 2-D MX, 6-bit
    add(mk(LOWBIT_E2M1, LOWBIT_E8M0, 2, 32, LOWBIT_SCALE_RCEIL));       // 2-D MX, 4-bit
    add(mk(LOWBIT_INT8, LOWBIT_E8M0, 32, 32, LOWBIT_SCALE_EVEN));       // 2-D MXINT8
    add(mk(LOWBIT_E4M3, LOWBIT_E8M0, 0, 32, LOWBIT_SCALE_CEIL));        // column strips
    add(mk(LOWBIT_E3M2, LOWBIT_E8M0, 1, 6));                            // blocks share bytes
    add(mk(LOWBIT_E2M1, LOWBIT_E8M0, 1, 7, LOWBIT_SCALE_RCEIL));        // blocks share bytes
    add(mk(LOWBIT_E2M1, LOWBIT_E8M0, 3, 12));                           // 4-bit, 12 = 1.5 groups
    add(mk(LOWBIT_E4M3FNUZ, LOWBIT_F32, 1, 0));                         // FNUZ per row
    add(mk(LOWBIT_E5M2FNUZ, LOWBIT_BF16, 1, 128));
    add(mk(LOWBIT_E2M1, LOWBIT_F16, 1, 16));                            // FP4 with f16 scales
    add(mk(LOWBIT_E3M2, LOWBIT_BF16, 1, 3));                            // blocks share bytes
    add(mk(LOWBIT_E2M1, LOWBIT_F32, 1, 3));                             // blocks share bytes
    add(mk(LOWBIT_E5M2, LOWBIT_F32, 7, 0));                             // bands of 7 rows
    add(mk(LOWBIT_E4M3, LOWBIT_F16, 0, 64));                            // column strips
    add(mk(LOWBIT_E2M3, LOWBIT_F32, 5, 20));                            // 2-D, 6-bit, partial groups
    add(mk(LOWBIT_INT4, LOWBIT_F16, 128, 128, LOWBIT_SCALE_FLOOR, LOWBIT_FMT_ZERO_POINT));  // 4-bit zp, big blocks
    add(mk(LOWBIT_INT4, LOWBIT_BF16, 2, 5, LOWBIT_SCALE_FLOOR, LOWBIT_FMT_ZERO_POINT));     // zp, shared bytes
    add(mk(LOWBIT_UINT4, LOWBIT_F32, 1, 33, LOWBIT_SCALE_FLOOR, LOWBIT_FMT_ZERO_POINT));
    add(mk(LOWBIT_INT8, LOWBIT_F32, 16, 16, LOWBIT_SCALE_FLOOR, LOWBIT_FMT_ZERO_POINT));
    add(mk(LOWBIT_UINT4, LOWBIT_F16, 1, 16, LOWBIT_SCALE_FLOOR, LOWBIT_FMT_ZERO_POINT));
    add(mk(LOWBIT_INT4, LOWBIT_F32, 3, 8));                             // symmetric 2-D int4
    // One scale for the whole tensor (a grid-wide reduction past 64K
    // elements, one thread block below).
    add(lowbit_format_fp8_tensor(LOWBIT_E4M3), false, true);
    add(lowbit_format_fp8_tensor(LOWBIT_E5M2));
    add(mk(LOWBIT_INT8, LOWBIT_F32, 0, 0));
    add(mk(LOWBIT_INT4, LOWBIT_BF16, 0, 0, LOWBIT_SCALE_FLOOR, LOWBIT_FMT_ZERO_POINT));
    add(mk(LOWBIT_UINT4, LOWBIT_F16, 0, 0, LOWBIT_SCALE_FLOOR, LOWBIT_FMT_ZERO_POINT));
    add(mk(LOWBIT_E2M1, LOWBIT_F32, 0, 0));  // 4-bit elements: partials in half-byte rows
    // NVFP4 under a given tensor scale (see given_ts): the one way it quantizes
    // on the device; one-row blocks, blocks sharing bytes (the two-kernel
    // path), 2-D blocks, and one block for the whole tensor (the grid-wide
    // reduction).
    const uint32_t kGiven = LOWBIT_FMT_TENSOR_SCALE | LOWBIT_FMT_GIVEN_TENSOR_SCALE;
    add(mk(LOWBIT_E2M1, LOWBIT_E4M3, 1, 16, LOWBIT_SCALE_FLOOR, kGiven), false, true);
    add(mk(LOWBIT_E4M3, LOWBIT_E4M3, 1, 16, LOWBIT_SCALE_FLOOR, kGiven));
    add(mk(LOWBIT_E2M1, LOWBIT_E4M3, 4, 16, LOWBIT_SCALE_FLOOR, kGiven));
    add(mk(LOWBIT_E2M1, LOWBIT_E4M3, 1, 5, LOWBIT_SCALE_FLOOR, kGiven));
    add(mk(LOWBIT_E3M2, LOWBIT_E4M3, 0, 0, LOWBIT_SCALE_FLOOR, kGiven));
    // Dequantize only (quantized on the host: the tensor scale derived from the data).
    add(lowbit_format_nvfp4(), true, true);
    add(mk(LOWBIT_E4M3, LOWBIT_E4M3, 1, 16, LOWBIT_SCALE_FLOOR, LOWBIT_FMT_TENSOR_SCALE), true);
    add(mk(LOWBIT_E3M2, LOWBIT_E4M3, 1, 32, LOWBIT_SCALE_FLOOR, LOWBIT_FMT_TENSOR_SCALE), true);
    return v;
}

static std::string fmt_name(const lowbit_format &f)
{
    char buf[96];
    lowbit_format_name(&f, buf, sizeof buf);
    return buf;
}

// ---- inputs ------------------------------------------------------------------

static unsigned host_threads()
{
    unsigned n = std::thread::hardware_concurrency();
    return n < 1 ? 1 : n > 32 ? 32 : n;
}


static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    x ^= x >> 33;
    return x;
}

static float from_bits(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

enum Kind { K_NORMAL, K_OUTLIER, K_TINY, K_NONFINITE, K_ZERO, K_POW2, K_TIES, K_HUGE, K_POS, K_NEG, K_CONST, K_COUNT };

// One f32 input value of a region of `kind` with exponent `rexp`.
static float gen_value(std::mt19937_64 &rng, int kind, int rexp, float cval)
{
    std::normal_distribution<float> nd(0.0f, 1.0f);
    uint64_t r = rng();
    float sign = (r & 1) ? -1.0f : 1.0f;
    switch (kind) {
    case K_OUTLIER:
        if (r % 50 == 0)
            return nd(rng) * std::ldexp(1.0f, rexp + 10 + (int)((r >> 8) % 11));
        return nd(rng) * std::ldexp(1.0f, rexp);
    case K_TINY:
        if ((r >> 1) & 1)  // f32 subnormals and just above
            return sign * from_bits((uint32_t)((r >> 8) % 0x01000000u));
        return sign * std::ldexp(1.0f + (float)((r >> 16) % 1024) / 1024.0f, -25 + (int)((r >> 32) % 12));  // f16 subnormal range
    case K_NONFINITE: {
        unsigned k = (unsigned)((r >> 8) % 40);
        if (k == 0) return from_bits(0x7FC00000u | (uint32_t)((r >> 16) & 0x3FFFFFu));
        if (k == 1) return from_bits(0xFF800001u | (uint32_t)((r >> 16) & 0x3FFFFFu));  // signalling, negative
        if (k == 2) return sign * INFINITY;
        return nd(rng) * std::ldexp(1.0f, rexp);
    }
    case K_ZERO:
        return (r >> 1) & 1 ? -0.0f : 0.0f;
    case K_POW2:
        return sign * std::ldexp(1.0f, rexp - (int)((r >> 8) % 7));
    case K_TIES:
        return sign * ((float)((r >> 8) % 64) + 0.5f) * std::ldexp(1.0f, rexp - 6);
    case K_HUGE:
        if ((r >> 1) % 3 == 0)
            return sign * from_bits(0x7F7FFFFFu - (uint32_t)((r >> 8) % 4096));
        return sign * std::ldexp(1.0f + (float)((r >> 16) % 4096) / 4096.0f, 100 + (int)((r >> 32) % 27));
    case K_POS:
        return std::fabs(nd(rng)) * std::ldexp(1.0f, rexp) + std::ldexp(1.0f, rexp - 3);
    case K_NEG:
        return -std::fabs(nd(rng)) * std::ldexp(1.0f, rexp) - std::ldexp(1.0f, rexp - 3);
    case K_CONST:
        return cval;
    default:
        return nd(rng) * std::ldexp(1.0f, rexp);
    }
}

// rows x cols f32 values (dense).  pattern 0: regions of 1 x 8 (kinds mix
// inside blocks), 1: 1 x 32, 2: 128 x 128 (whole blocks of one kind).
static std::vector<float> gen_master(size_t rows, size_t cols, int pattern, uint64_t seed)
{
    std::vector<float> v(rows * cols);
    const size_t rh = pattern == 2 ? 128 : 1, rw = pattern == 0 ? 8 : pattern == 1 ? 32 : 128;
    auto gen_rows = [&](size_t ra, size_t rb) {
        for (size_t r = ra; r < rb; r++) {
            std::mt19937_64 rng(mix64(seed * 0x2545F4914F6CDD1Dull + r));
            for (size_t c = 0; c < cols; c++) {
                uint64_t h = mix64(seed ^ ((r / rh) * 0x9E3779B97F4A7C15ull) ^ ((c / rw) * 0xC2B2AE3D27D4EB4Full));
                int kind = (int)(h % 20);
                if (kind >= K_COUNT) kind = K_NORMAL;  // about half the regions are plain normal data
                int rexp = (int)((h >> 8) % 61) - 30;
                if ((h >> 20) % 16 == 0) rexp = (int)((h >> 24) % 220) - 120;  // extreme exponents
                float cval = (h >> 40) & 1 ? 0.0f : std::ldexp(1.0f + (float)((h >> 41) % 8) / 8.0f, rexp);
                v[r * cols + c] = gen_value(rng, kind, rexp, cval);
            }
        }
    };
    if (rows * cols < (1u << 16) || rows < 2) {
        gen_rows(0, rows);
        return v;
    }
    const size_t nt = host_threads(), per = (rows + nt - 1) / nt;
    std::vector<std::thread> th;
    for (size_t r0 = 0; r0 < rows; r0 += per)
        th.emplace_back(gen_rows, r0, std::min(rows, r0 + per));
    for (auto &t : th) t.join();
    return v;
}

// Source bytes of type st: rows of `stride` elements, the values at the
// first cols, NaN / Inf / huge garbage in the gaps (any read of them
// changes a result).
static void make_src(lowbit_dtype st, const std::vector<float> &m, size_t rows, size_t cols, size_t stride,
                     uint8_t *out)
{
    const size_t eb = lowbit_dtype_bits(st) / 8;
    std::vector<uint8_t> row(cols * 4);
    for (size_t r = 0; r < rows; r++) {
        lowbit_convert_opts o = {LOWBIT_ROUND_NEAREST_EVEN, 0, 0, 0};
        if (lowbit_convert(st, out + r * stride * eb, LOWBIT_F32, &m[r * cols], cols, &o) != LOWBIT_OK) {
            std::printf("internal: convert failed: %s\n", lowbit_last_error());
            std::exit(2);
        }
        for (size_t c = cols; c < stride && r + 1 < rows; c++) {
            const uint32_t junk[] = {0x7FC00000u, 0x7F800000u, 0xFF800000u, 0x7F7FFFFFu, 0xFFFFFFFFu};
            uint32_t u = junk[(r + c) % 5];
            if (eb == 4) std::memcpy(out + (r * stride + c) * 4, &u, 4);
            else { uint16_t h = (uint16_t)(u >> 16); std::memcpy(out + (r * stride + c) * 2, &h, 2); }
        }
    }
}

// ---- host reference, in parallel row chunks ----------------------------------

// Rows per chunk so that chunks cut only between block rows (and, for 4-bit
// zero points, after an even number of blocks); 0 when the tensor cannot be
// cut (whole-extent rows, or a whole-tensor scale).
static size_t chunk_rows(const lowbit_qtensor &q, bool for_quantize)
{
    const lowbit_format &f = q.format;
    size_t unit = 1;
    if (f.scale_type != kNoScale) {
        if (f.block_rows == 0)
            return for_quantize ? 0 : q.rows;  // dequantize: one block row, any cut keeps scale row 0
        unit = f.block_rows;
        size_t gr, gc;
        lowbit_qtensor_grid(&q, &gr, &gc);
        if ((f.flags & LOWBIT_FMT_ZERO_POINT) && lowbit_dtype_bits(f.elem) == 4 && gc % 2)
            unit *= 2;
    }
    if ((f.flags & LOWBIT_FMT_TENSOR_SCALE) && for_quantize)
        return 0;
    size_t nt = host_threads();
    size_t per = (q.rows + nt - 1) / nt;
    return round_up(per < unit ? unit : per, unit);
}

// The part of q holding rows [r0, r0 + n).
static lowbit_qtensor slice_q(const lowbit_qtensor &q, size_t r0, size_t n)
{
    lowbit_qtensor s = q;
    s.rows = n;
    const size_t db = tbytes(q.format.elem, r0 * q.row_stride);
    s.data = (uint8_t *)q.data + db;
    s.data_bytes = q.data_bytes - db;
    if (q.format.scale_type != kNoScale && q.format.block_rows != 0) {
        size_t gr, gc;
        lowbit_qtensor_grid(&q, &gr, &gc);
        const size_t b0 = r0 / q.format.block_rows * gc;
        const size_t sb = tbytes(q.format.scale_type, b0);
        s.scales = (uint8_t *)q.scales + sb;
        s.scales_bytes = q.scales_bytes - sb;
        if (q.zero_points) {
            const size_t zb = tbytes(q.format.elem, b0);
            s.zero_points = (uint8_t *)q.zero_points + zb;
            s.zero_points_bytes = q.zero_points_bytes - zb;
        }
    }
    return s;
}

static lowbit_status host_quantize(lowbit_qtensor &q, lowbit_dtype st, const uint8_t *src, size_t stride,
                                   const lowbit_convert_opts &o)
{
    const size_t cr = chunk_rows(q, true);
    if (q.rows * q.cols < (1u << 17) || cr == 0 || cr >= q.rows)
        return lowbit_quantize(&q, st, src, stride, &o);
    std::vector<std::thread> th;
    std::vector<lowbit_status> res((q.rows + cr - 1) / cr, LOWBIT_OK);
    for (size_t i = 0, r0 = 0; r0 < q.rows; i++, r0 += cr) {
        const size_t n = q.rows - r0 < cr ? q.rows - r0 : cr;
        th.emplace_back([&, i, r0, n]() {
            lowbit_qtensor s = slice_q(q, r0, n);
            lowbit_convert_opts oo = o;
            oo.offset = o.offset + r0 * q.cols;
            res[i] = lowbit_quantize(&s, st, src + r0 * stride * (lowbit_dtype_bits(st) / 8), stride, &oo);
        });
    }
    for (auto &t : th) t.join();
    for (auto s : res)
        if (s != LOWBIT_OK) return s;
    return LOWBIT_OK;
}

static lowbit_status host_dequantize(lowbit_dtype dt, uint8_t *dst, size_t stride, const lowbit_qtensor &q)
{
    const size_t cr = chunk_rows(q, false);
    if (q.rows * q.cols < (1u << 17) || cr == 0 || cr >= q.rows)
        return lowbit_dequantize(dt, dst, stride, &q);
    std::vector<std::thread> th;
    std::vector<lowbit_status> res((q.rows + cr - 1) / cr, LOWBIT_OK);
    for (size_t i = 0, r0 = 0; r0 < q.rows; i++, r0 += cr) {
        const size_t n = q.rows - r0 < cr ? q.rows - r0 : cr;
        th.emplace_back([&, i, r0, n]() {
            lowbit_qtensor s = slice_q(q, r0, n);
            res[i] = lowbit_dequantize(dt, dst + r0 * stride * (lowbit_dtype_bits(dt) / 8), stride, &s);
        });
    }
    for (auto &t : th) t.join();
    for (auto s : res)
        if (s != LOWBIT_OK) return s;
    return LOWBIT_OK;
}

// ---- buffers -------------------------------------------------------------------

// A device buffer and its host mirror; a "region" is guard + off + bytes + guard.
struct Buf {
    uint8_t *d = nullptr;
    size_t cap = 0;
    std::vector<uint8_t> want, got;
    size_t off = 0, bytes = 0;
    size_t region() const { return kGuard + off + bytes + kGuard; }
    void layout(size_t o, size_t b)
    {
        off = o;
        bytes = b;
        if (region() > cap) {
            if (d) CK(cudaFree(d));
            cap = region() + region() / 4;
            CK(cudaMalloc(&d, cap));
        }
    }
    uint8_t *dptr() const { return d + kGuard + off; }
    uint8_t *hptr() { return want.data() + kGuard + off; }
    void fill(cudaStream_t s)  // both sides to the guard pattern
    {
        want.assign(region(), kFill);
        CK(cudaMemsetAsync(d, kFill, region(), s));
    }
    void upload_want(cudaStream_t s) { CK(cudaMemcpyAsync(d, want.data(), region(), cudaMemcpyHostToDevice, s)); }
    void fetch(cudaStream_t s)
    {
        got.resize(region());
        CK(cudaMemcpyAsync(got.data(), d, region(), cudaMemcpyDeviceToHost, s));
        CK(cudaStreamSynchronize(s));
    }
    // First differing byte relative to the payload start, or INT64_MIN if equal.
    long long diff() const
    {
        for (size_t i = 0; i < region(); i++)
            if (got[i] != want[i]) return (long long)i - (long long)(kGuard + off);
        return INT64_MIN;
    }
};

struct Bufs {
    Buf src, data, scales, zps, dst;
};

// Stride layouts: 0 tight; 1 odd strides and misaligned pointers; 2 wide
// strides with every row 16-byte aligned.
struct Layout {
    size_t src_stride, q_stride, dst_stride;
    size_t src_off, data_off, scales_off, zps_off, dst_off;
};

static Layout make_layout(int v, size_t cols, size_t min_q_stride)
{
    if (v == 1)
        return {cols + 3, min_q_stride + 4, cols + 1, 2, 1, 1, 1, 2};
    if (v == 2)
        return {round_up(cols, 16) + 16, round_up(min_q_stride, 64) + 64, round_up(cols, 16) + 16, 0, 0, 0, 0, 0};
    return {cols, min_q_stride, cols, 0, 0, 0, 0, 0};
}

static const char *mode_name(int m) { return m == 0 ? "ne" : m == 1 ? "tz" : "sr"; }

// ---- one case -----------------------------------------------------------------

struct Case {
    size_t rows, cols;
    lowbit_dtype st, dt;
    int mode, lay, pattern;
    uint64_t seed, offset;
};

static std::string case_str(const Fmt &F, const Case &c)
{
    char b[256];
    std::snprintf(b, sizeof b, "%s %zux%zu src=%s mode=%s layout=%d pattern=%d seed=%#" PRIx64 " offset=%" PRIu64 " dq->%s",
                  fmt_name(F.f).c_str(), c.rows, c.cols, tname(c.st), mode_name(c.mode), c.lay, c.pattern, c.seed,
                  c.offset, tname(c.dt));
    return b;
}

static bool report(const char *what, const Buf &b, const Fmt &F, const Case &c, const std::string &extra = "")
{
    long long k = b.diff();
    if (k == INT64_MIN)
        return true;
    if (g_prints++ < 5) {
        std::printf("  FAIL %s: %s differs at byte %lld of %zu%s (got %#04x want %#04x)%s\n", case_str(F, c).c_str(),
                    what, k, b.bytes, k < 0 || k >= (long long)b.bytes ? " [GUARD / outside the payload]" : "",
                    b.got[(size_t)(k + (long long)(kGuard + b.off))], b.want[(size_t)(k + (long long)(kGuard + b.off))],
                    extra.c_str());
    }
    return false;
}

static void tally(bool ok)
{
    if (ok) g_passed++;
    else g_failed++;
}

// Row / column of a data byte (for messages).
static std::string where_data(const lowbit_qtensor &q, long long k)
{
    if (k < 0) return "";
    const unsigned bits = lowbit_dtype_bits(q.format.elem);
    const size_t row_bytes = q.row_stride * bits / 8;
    char b[96];
    std::snprintf(b, sizeof b, " [row %zu, element ~%zu]", (size_t)k / row_bytes, ((size_t)k % row_bytes) * 8 / bits);
    return b;
}

// Dequantize q (whose buffers' host and device contents are equal) both
// ways into dst type c.dt and compare.
static bool check_dequant(Bufs &B, const lowbit_qtensor &hq, const lowbit_qtensor &dq, const Layout &L, const Fmt &F,
                          const Case &c, cudaStream_t s)
{
    B.dst.layout(L.dst_off, tbytes(c.dt, (c.rows - 1) * L.dst_stride + c.cols));
    B.dst.fill(s);
    lowbit_status ds = lowbit_dequantize_device(LBT_BACKEND, c.dt, B.dst.dptr(), L.dst_stride, &dq, s);
    lowbit_status hs = host_dequantize(c.dt, B.dst.hptr(), L.dst_stride, hq);
    B.dst.fetch(s);
    if (ds != LOWBIT_OK || hs != LOWBIT_OK) {
        if (g_prints++ < 5)
            std::printf("  FAIL %s: dequantize status device %s host %s (%s)\n", case_str(F, c).c_str(),
                        lowbit_status_string(ds), lowbit_status_string(hs), lowbit_last_error());
        return false;
    }
    long long k = B.dst.diff();
    char extra[96] = "";
    if (k != INT64_MIN && k >= 0) {
        const size_t eb = lowbit_dtype_bits(c.dt) / 8, e = (size_t)k / eb;
        std::snprintf(extra, sizeof extra, " [dst row %zu col %zu]", e / L.dst_stride, e % L.dst_stride);
    }
    return report("dequantized output", B.dst, F, c, extra);
}

// A given tensor scale for master data m: the one its amax would derive,
// the smallest allowed (block scales clamp at 448, elements saturate), or
// that one scaled by 2^-3 or 5.5 (some blocks saturate, some lose codes).
static float given_ts(const std::vector<float> &m, lowbit_dtype elem, uint64_t seed)
{
    float amax = 0.0f;
    for (float v : m)
        if (std::isfinite(v) && std::fabs(v) > amax)
            amax = std::fabs(v);
    const double derived = amax > 0.0f ? (double)amax / (448.0 * lowbit_dtype_max(elem)) : 1.0;
    const double pick[] = {derived, 0x1p-126, derived * 0x1p-3, derived * 5.5};
    return (float)std::fmin(std::fmax(pick[mix64(seed) % 4], 0x1p-126), 0x1p127);
}

static void run_case(Bufs &B, const Fmt &F, const Case &c, cudaStream_t s)
{
    lowbit_qtensor q;
    if (lowbit_qtensor_init(&q, &F.f, c.rows, c.cols) != LOWBIT_OK) {
        std::printf("internal: qtensor_init: %s\n", lowbit_last_error());
        std::exit(2);
    }
    const Layout L = make_layout(c.lay, c.cols, q.row_stride);
    q.row_stride = L.q_stride;
    const size_t data_bytes = tbytes(F.f.elem, (c.rows - 1) * L.q_stride + c.cols);
    // Capacities: exactly what the shape needs (so a write past it hits the guard).
    B.data.layout(L.data_off, data_bytes);
    B.scales.layout(L.scales_off, q.scales_bytes);
    B.zps.layout(L.zps_off, q.zero_points_bytes);
    const size_t sb = lowbit_dtype_bits(c.st) / 8;
    B.src.layout(L.src_off, ((c.rows - 1) * L.src_stride + c.cols) * sb);

    // Inputs.
    std::vector<float> m = gen_master(c.rows, c.cols, c.pattern, c.seed);
    B.src.want.assign(B.src.region(), kFill);
    make_src(c.st, m, c.rows, c.cols, L.src_stride, B.src.hptr());
    B.src.upload_want(s);
    for (Buf *b : {&B.data, &B.scales, &B.zps})
        b->fill(s);

    lowbit_qtensor hq = q, dq = q;
    hq.data = B.data.hptr();
    hq.scales = q.scales_bytes ? B.scales.hptr() : nullptr;
    hq.zero_points = q.zero_points_bytes ? B.zps.hptr() : nullptr;
    hq.data_bytes = dq.data_bytes = data_bytes;
    dq.data = B.data.dptr();
    dq.scales = q.scales_bytes ? B.scales.dptr() : nullptr;
    dq.zero_points = q.zero_points_bytes ? B.zps.dptr() : nullptr;
    if (F.f.flags & LOWBIT_FMT_GIVEN_TENSOR_SCALE)
        hq.tensor_scale = dq.tensor_scale = given_ts(m, F.f.elem, c.seed);
    lowbit_convert_opts o = {(lowbit_rounding)c.mode, 0, c.seed * 0x9E3779B97F4A7C15ull + 1, c.offset};

    bool ok = true;
    lowbit_status hs = host_quantize(hq, c.st, B.src.hptr(), L.src_stride, o);
    if (hs != LOWBIT_OK) {
        std::printf("internal: host quantize failed: %s (%s)\n", lowbit_status_string(hs), lowbit_last_error());
        std::exit(2);
    }
    if (!F.dq_only) {
        lowbit_status ds = lowbit_quantize_device(LBT_BACKEND, &dq, c.st, B.src.dptr(), L.src_stride, &o, s);
        for (Buf *b : {&B.data, &B.scales, &B.zps})
            b->fetch(s);
        if (ds != LOWBIT_OK) {
            if (g_prints++ < 5)
                std::printf("  FAIL %s: device quantize returned %s (%s)\n", case_str(F, c).c_str(),
                            lowbit_status_string(ds), lowbit_last_error());
            ok = false;
        } else {
            ok &= report("data", B.data, F, c, where_data(q, B.data.diff()));
            ok &= report("scales", B.scales, F, c);
            ok &= report("zero points", B.zps, F, c);
        }
        tally(ok);
    } else {
        dq.tensor_scale = hq.tensor_scale;
    }
    // Dequantize the host-quantized tensor on both sides.
    for (Buf *b : {&B.data, &B.scales, &B.zps})
        b->upload_want(s);
    tally(check_dequant(B, hq, dq, L, F, c, s));
}

// Dequantize of random bytes in data, scales and zero points.
static void run_random_dequant(Bufs &B, const Fmt &F, size_t rows, size_t cols, lowbit_dtype dt, int lay, uint64_t seed,
                               cudaStream_t s)
{
    lowbit_qtensor q;
    lowbit_qtensor_init(&q, &F.f, rows, cols);
    const Layout L = make_layout(lay, cols, q.row_stride);
    q.row_stride = L.q_stride;
    q.data_bytes = tbytes(F.f.elem, (rows - 1) * L.q_stride + cols);
    B.data.layout(L.data_off, q.data_bytes);
    B.scales.layout(L.scales_off, q.scales_bytes);
    B.zps.layout(L.zps_off, q.zero_points_bytes);
    std::mt19937_64 rng(seed);
    for (Buf *b : {&B.data, &B.scales, &B.zps}) {
        b->want.assign(b->region(), kFill);
        for (size_t i = 0; i < b->bytes; i++)
            b->hptr()[i] = (uint8_t)rng();
        b->upload_want(s);
    }
    const float ts[] = {1.0f, 0.3712f, std::ldexp(1.0f, -126), 3.0e38f, 1.0e-20f};
    lowbit_qtensor hq = q, dq = q;
    hq.data = B.data.hptr();
    hq.scales = q.scales_bytes ? B.scales.hptr() : nullptr;
    hq.zero_points = q.zero_points_bytes ? B.zps.hptr() : nullptr;
    dq.data = B.data.dptr();
    dq.scales = q.scales_bytes ? B.scales.dptr() : nullptr;
    dq.zero_points = q.zero_points_bytes ? B.zps.dptr() : nullptr;
    hq.tensor_scale = dq.tensor_scale = ts[seed % 5];
    Case c = {rows, cols, LOWBIT_F32, dt, 0, lay, -1, seed, 0};
    tally(check_dequant(B, hq, dq, L, F, c, s));
}

// ---- argument checks -------------------------------------------------------------

static void expect(bool cond, const char *what)
{
    tally(cond);
    if (!cond)
        std::printf("  FAIL %s (last error: %s)\n", what, lowbit_last_error());
}

static bool all_bytes(const uint8_t *d, size_t n, uint8_t v, bool device)
{
    std::vector<uint8_t> h(n);
    if (device) {
        CK(cudaDeviceSynchronize());
        CK(cudaMemcpy(h.data(), d, n, cudaMemcpyDeviceToHost));
    } else {
        std::memcpy(h.data(), d, n);
    }
    for (size_t i = 0; i < n; i++)
        if (h[i] != v) return false;
    return true;
}

static void api_checks()
{
    long p0 = g_passed, f0 = g_failed;
    const size_t rows = 64, cols = 256, n = rows * cols;
    lowbit_format mx = lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR);
    lowbit_format zp = lowbit_format_int_group(LOWBIT_INT4, 64, LOWBIT_BF16, 1);
    lowbit_convert_opts o = {LOWBIT_ROUND_NEAREST_EVEN, 0, 0, 0};

    std::vector<float> hsrc = gen_master(rows, cols, 0, 7);
    float *d_src;
    uint8_t *d_data, *d_scales, *d_zps, *d_dst;
    const size_t cap = 4 * n;
    CK(cudaMalloc(&d_src, 4 * n));
    CK(cudaMalloc(&d_data, cap));
    CK(cudaMalloc(&d_scales, cap));
    CK(cudaMalloc(&d_zps, cap));
    CK(cudaMalloc(&d_dst, cap));
    CK(cudaMemcpy(d_src, hsrc.data(), 4 * n, cudaMemcpyHostToDevice));
    auto reset = [&]() {
        for (uint8_t *p : {d_data, d_scales, d_zps, d_dst})
            CK(cudaMemset(p, kFill, cap));
    };
    auto untouched = [&]() {
        bool u = true;
        for (uint8_t *p : {d_data, d_scales, d_zps, d_dst})
            u &= all_bytes(p, cap, kFill, true);
        return u;
    };
    auto qt = [&](const lowbit_format &f) {
        lowbit_qtensor q;
        lowbit_qtensor_init(&q, &f, rows, cols);
        q.data = d_data;
        q.scales = d_scales;
        q.zero_points = (f.flags & LOWBIT_FMT_ZERO_POINT) ? d_zps : nullptr;
        return q;
    };
    reset();

    expect(lowbit_backend_status(LBT_BACKEND) == LOWBIT_OK, "lowbit_backend_status(device backend) is OK");

    // Host memory in each role: refused, nothing written on either side.
    std::vector<uint8_t> host(cap, 0x5A);
    {
        lowbit_qtensor q = qt(zp);
        q.data = host.data();
        lowbit_status s = lowbit_quantize_device(LBT_BACKEND, &q, LOWBIT_F32, d_src, cols, &o, nullptr);
        expect(s == LOWBIT_ERR_WRONG_MEMORY && all_bytes(host.data(), cap, 0x5A, false) && untouched() &&
                   std::strstr(lowbit_last_error(), "data"),
               "quantize: host q->data -> LOWBIT_ERR_WRONG_MEMORY, nothing written");
        q = qt(zp);
        q.scales = host.data();
        s = lowbit_quantize_device(LBT_BACKEND, &q, LOWBIT_F32, d_src, cols, &o, nullptr);
        expect(s == LOWBIT_ERR_WRONG_MEMORY && all_bytes(host.data(), cap, 0x5A, false) && untouched() &&
                   std::strstr(lowbit_last_error(), "scales"),
               "quantize: host q->scales -> LOWBIT_ERR_WRONG_MEMORY, nothing written");
        q = qt(zp);
        q.zero_points = host.data();
        s = lowbit_quantize_device(LBT_BACKEND, &q, LOWBIT_F32, d_src, cols, &o, nullptr);
        expect(s == LOWBIT_ERR_WRONG_MEMORY && all_bytes(host.data(), cap, 0x5A, false) && untouched() &&
                   std::strstr(lowbit_last_error(), "zero_points"),
               "quantize: host q->zero_points -> LOWBIT_ERR_WRONG_MEMORY, nothing written");
        q = qt(zp);
        s = lowbit_quantize_device(LBT_BACKEND, &q, LOWBIT_F32, hsrc.data(), cols, &o, nullptr);
        expect(s == LOWBIT_ERR_WRONG_MEMORY && untouched() && std::strstr(lowbit_last_error(), "src"),
               "quantize: host src -> LOWBIT_ERR_WRONG_MEMORY, nothing written");
        float on_stack[16] = {0};
        lowbit_qtensor q1;
        lowbit_qtensor_init(&q1, &mx, 1, 16);
        q1.data = d_data;
        q1.scales = d_scales;
        s = lowbit_quantize_device(LBT_BACKEND, &q1, LOWBIT_F32, on_stack, 16, &o, nullptr);
        expect(s == LOWBIT_ERR_WRONG_MEMORY && untouched(), "quantize: stack src -> LOWBIT_ERR_WRONG_MEMORY");
        uint8_t *pinned;
        CK(cudaMallocHost(&pinned, cap));
        std::memset(pinned, 0x5A, cap);
        q = qt(mx);
        q.data = pinned;
        s = lowbit_quantize_device(LBT_BACKEND, &q, LOWBIT_F32, d_src, cols, &o, nullptr);
        CK(cudaDeviceSynchronize());
        expect(s == LOWBIT_ERR_WRONG_MEMORY && all_bytes(pinned, cap, 0x5A, false) && untouched(),
               "quantize: pinned host q->data -> LOWBIT_ERR_WRONG_MEMORY, nothing written");
        // Dequantize: host dst, host data.
        q = qt(mx);
        s = lowbit_dequantize_device(LBT_BACKEND, LOWBIT_BF16, host.data(), cols, &q, nullptr);
        expect(s == LOWBIT_ERR_WRONG_MEMORY && all_bytes(host.data(), cap, 0x5A, false) &&
                   std::strstr(lowbit_last_error(), "dst"),
               "dequantize: host dst -> LOWBIT_ERR_WRONG_MEMORY, nothing written");
        s = lowbit_dequantize_device(LBT_BACKEND, LOWBIT_BF16, pinned, cols, &q, nullptr);
        CK(cudaDeviceSynchronize());
        expect(s == LOWBIT_ERR_WRONG_MEMORY && all_bytes(pinned, cap, 0x5A, false),
               "dequantize: pinned host dst -> LOWBIT_ERR_WRONG_MEMORY, nothing written");
        q.data = host.data();
        s = lowbit_dequantize_device(LBT_BACKEND, LOWBIT_BF16, d_dst, cols, &q, nullptr);
        expect(s == LOWBIT_ERR_WRONG_MEMORY && untouched(), "dequantize: host q->data -> LOWBIT_ERR_WRONG_MEMORY");
        q = qt(zp);
        q.scales = host.data();
        s = lowbit_dequantize_device(LBT_BACKEND, LOWBIT_F32, d_dst, cols, &q, nullptr);
        expect(s == LOWBIT_ERR_WRONG_MEMORY && untouched(), "dequantize: host q->scales -> LOWBIT_ERR_WRONG_MEMORY");
        CK(cudaFreeHost(pinned));
    }

    // NVFP4 without a given tensor scale is refused for quantize (a derived one
    // would go to a host field), whatever the pointers; a given one that is not
    // a positive normal finite f32 is refused as on the host.
    {
        lowbit_format nv = lowbit_format_nvfp4();
        lowbit_qtensor q = qt(nv);
        lowbit_status s = lowbit_quantize_device(LBT_BACKEND, &q, LOWBIT_F32, d_src, cols, &o, nullptr);
        expect(s == LOWBIT_ERR_UNSUPPORTED && untouched(), "quantize NVFP4 -> LOWBIT_ERR_UNSUPPORTED, nothing written");
        nv.flags |= LOWBIT_FMT_GIVEN_TENSOR_SCALE;
        for (float ts : {0.0f, -1.0f, 0x1p-127f, INFINITY, NAN}) {
            q = qt(nv);
            q.tensor_scale = ts;
            s = lowbit_quantize_device(LBT_BACKEND, &q, LOWBIT_F32, d_src, cols, &o, nullptr);
            expect(s == LOWBIT_ERR_OUT_OF_RANGE && untouched(),
                   "quantize NVFP4 with a bad given tensor scale -> LOWBIT_ERR_OUT_OF_RANGE, nothing written");
        }
    }

    // Backends that are not the device backend under test.
    for (lowbit_backend hb : {LOWBIT_BACKEND_REF, LOWBIT_BACKEND_AUTO, LOWBIT_BACKEND_AVX2, LOWBIT_BACKEND_NEON}) {
        lowbit_qtensor q = qt(mx);
        std::string w = std::string("backend ") + lowbit_backend_name(hb) + " -> LOWBIT_ERR_UNSUPPORTED";
        expect(lowbit_quantize_device(hb, &q, LOWBIT_F32, d_src, cols, &o, nullptr) == LOWBIT_ERR_UNSUPPORTED &&
                   lowbit_dequantize_device(hb, LOWBIT_F32, d_dst, cols, &q, nullptr) == LOWBIT_ERR_UNSUPPORTED &&
                   untouched(),
               w.c_str());
    }
    {
        lowbit_qtensor q = qt(mx);
        expect(lowbit_quantize_device((lowbit_backend)99, &q, LOWBIT_F32, d_src, cols, &o, nullptr) ==
                   LOWBIT_ERR_INVALID_ENUM, "backend 99 -> LOWBIT_ERR_INVALID_ENUM");
        expect(lowbit_quantize_device(LBT_OTHER_BACKEND, &q, LOWBIT_F32, d_src, cols, &o, nullptr) != LOWBIT_OK &&
                   untouched(), "the other device backend fails, nothing written");
    }

    // Zero sizes, NULL, enums, aliasing, overflow.
    {
        lowbit_qtensor q;
        lowbit_qtensor_init(&q, &mx, 0, cols);
        expect(lowbit_quantize_device(LBT_BACKEND, &q, LOWBIT_F32, nullptr, cols, &o, nullptr) == LOWBIT_OK,
               "quantize rows = 0, NULL pointers -> LOWBIT_OK");
        lowbit_qtensor_init(&q, &zp, rows, 0);
        q.data = d_data;
        q.scales = d_scales;
        q.zero_points = d_zps;
        expect(lowbit_quantize_device(LBT_BACKEND, &q, LOWBIT_F32, d_src, 0, nullptr, nullptr) == LOWBIT_OK &&
                   lowbit_dequantize_device(LBT_BACKEND, LOWBIT_F16, d_dst, 0, &q, nullptr) == LOWBIT_OK &&
                   untouched(),
               "cols = 0 -> LOWBIT_OK, nothing written");
        expect(lowbit_quantize_device(LBT_BACKEND, nullptr, LOWBIT_F32, d_src, cols, &o, nullptr) ==
                   LOWBIT_ERR_NULL_POINTER, "q NULL -> LOWBIT_ERR_NULL_POINTER");
        q = qt(mx);
        expect(lowbit_quantize_device(LBT_BACKEND, &q, LOWBIT_F32, nullptr, cols, &o, nullptr) ==
                   LOWBIT_ERR_NULL_POINTER && untouched(), "src NULL -> LOWBIT_ERR_NULL_POINTER");
        expect(lowbit_dequantize_device(LBT_BACKEND, LOWBIT_F32, nullptr, cols, &q, nullptr) ==
                   LOWBIT_ERR_NULL_POINTER, "dst NULL -> LOWBIT_ERR_NULL_POINTER");
        expect(lowbit_quantize_device(LBT_BACKEND, &q, LOWBIT_E4M3, d_src, cols, &o, nullptr) ==
                   LOWBIT_ERR_UNSUPPORTED && untouched(), "src_type e4m3 -> LOWBIT_ERR_UNSUPPORTED");
        lowbit_convert_opts bad = o;
        bad.rounding = (lowbit_rounding)9;
        expect(lowbit_quantize_device(LBT_BACKEND, &q, LOWBIT_F32, d_src, cols, &bad, nullptr) ==
                   LOWBIT_ERR_INVALID_ENUM && untouched(), "rounding 9 -> LOWBIT_ERR_INVALID_ENUM");
        expect(lowbit_quantize_device(LBT_BACKEND, &q, LOWBIT_F32, d_src, cols - 1, &o, nullptr) ==
                   LOWBIT_ERR_BAD_STRIDE && untouched(), "src_row_stride < cols -> LOWBIT_ERR_BAD_STRIDE");
        lowbit_convert_opts ovf = {LOWBIT_ROUND_STOCHASTIC, 0, 1, UINT64_MAX - 5};
        expect(lowbit_quantize_device(LBT_BACKEND, &q, LOWBIT_F32, d_src, cols, &ovf, nullptr) ==
                   LOWBIT_ERR_SIZE_OVERFLOW && untouched(), "stochastic offset overflow -> LOWBIT_ERR_SIZE_OVERFLOW");
        lowbit_qtensor qa = q;
        qa.data = (uint8_t *)d_src + 64;  // inside src
        expect(lowbit_quantize_device(LBT_BACKEND, &qa, LOWBIT_F32, d_src, cols, &o, nullptr) ==
                   LOWBIT_ERR_ALIASING && untouched(), "q->data overlapping src -> LOWBIT_ERR_ALIASING");
        q.data_bytes -= 1;
        expect(lowbit_quantize_device(LBT_BACKEND, &q, LOWBIT_F32, d_src, cols, &o, nullptr) ==
                   LOWBIT_ERR_BUFFER_TOO_SMALL && untouched(), "data_bytes too small -> LOWBIT_ERR_BUFFER_TOO_SMALL");
    }

    // Managed memory and a non-blocking stream give the host's bytes.
    {
        lowbit_qtensor q;
        lowbit_qtensor_init(&q, &zp, rows, cols);
        uint8_t *m_src, *m_data, *m_sc, *m_zp;
        CK(cudaMallocManaged(&m_src, 4 * n));
        CK(cudaMallocManaged(&m_data, q.data_bytes));
        CK(cudaMallocManaged(&m_sc, q.scales_bytes));
        CK(cudaMallocManaged(&m_zp, q.zero_points_bytes));
        std::memcpy(m_src, hsrc.data(), 4 * n);
        std::vector<uint8_t> hd(q.data_bytes), hs(q.scales_bytes), hz(q.zero_points_bytes);
        lowbit_qtensor h = q;
        h.data = hd.data();
        h.scales = hs.data();
        h.zero_points = hz.data();
        q.data = m_data;
        q.scales = m_sc;
        q.zero_points = m_zp;
        lowbit_convert_opts so = {LOWBIT_ROUND_STOCHASTIC, 0, 77, 3};
        cudaStream_t st;
        CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
        lowbit_status s = lowbit_quantize_device(LBT_BACKEND, &q, LOWBIT_F32, m_src, cols, &so, st);
        CK(cudaStreamSynchronize(st));
        lowbit_quantize(&h, LOWBIT_F32, hsrc.data(), cols, &so);
        expect(s == LOWBIT_OK && !std::memcmp(hd.data(), m_data, hd.size()) && !std::memcmp(hs.data(), m_sc, hs.size()) &&
                   !std::memcmp(hz.data(), m_zp, hz.size()),
               "managed memory, non-blocking stream: int4 g64 zp quantize matches the host");
        uint8_t *m_dst;
        CK(cudaMallocManaged(&m_dst, 2 * n));
        std::vector<uint8_t> want(2 * n);
        s = lowbit_dequantize_device(LBT_BACKEND, LOWBIT_BF16, m_dst, cols, &q, st);
        CK(cudaStreamSynchronize(st));
        lowbit_dequantize(LOWBIT_BF16, want.data(), cols, &h);
        expect(s == LOWBIT_OK && !std::memcmp(want.data(), m_dst, 2 * n),
               "managed memory, non-blocking stream: dequantize matches the host");
        CK(cudaStreamDestroy(st));
        for (uint8_t *p : {m_src, m_data, m_sc, m_zp, m_dst})
            CK(cudaFree(p));
    }

    for (void *p : {(void *)d_src, (void *)d_data, (void *)d_scales, (void *)d_zps, (void *)d_dst})
        CK(cudaFree(p));
    std::printf("api checks: %ld passed, %ld failed\n", g_passed - p0, g_failed - f0);
}

// ---- main ------------------------------------------------------------------------

int main(int argc, char **argv)
{
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    if (!lbt_have_device())
        return 77;
    if (lowbit_set_backend(LOWBIT_BACKEND_REF) != LOWBIT_OK) {
        std::printf("FAIL: cannot select the reference host backend: %s\n", lowbit_last_error());
        return 1;
    }

    api_checks();

    struct Shape { size_t r, c; };
    static const Shape small[] = {{1, 1}, {3, 33}, {7, 100}, {130, 257}, {5, 2100}};
    static const lowbit_dtype srcs[] = {LOWBIT_F32, LOWBIT_F16, LOWBIT_BF16};
    static const uint64_t sr_offsets[] = {0, 1, 3, 0xFFFFFFFFull - 5, (1ull << 62) + 1, 6};

    cudaStream_t stream;
    CK(cudaStreamCreate(&stream));
    Bufs B;
    const std::vector<Fmt> fmts = make_formats();
    int bad_formats = 0;
    uint64_t k = 0;
    for (const Fmt &F : fmts) {
        long p0 = g_passed, f0 = g_failed;
        g_prints = 0;
        for (const Shape &sh : small) {
            for (int si = 0; si < 3; si++) {
                for (int mode = 0; mode < 3; mode++) {
                    for (int lv = 0; lv < 2; lv++, k++) {
                        const int lay = lv == 0 ? 0 : 1 + (si + mode) % 2;
                        Case c = {sh.r, sh.c, srcs[si], srcs[(si + mode + lv) % 3], mode, lay,
                                  (int)((si + 2 * mode + lv) % 3), 1000 + k, sr_offsets[k % 6]};
                        run_case(B, F, c, stream);
                    }
                }
            }
        }
        for (const Shape &sh : {Shape{3, 33}, Shape{130, 257}})
            for (int dt = 0; dt < 3; dt++)
                for (int lay = 0; lay < 3; lay++, k++)
                    run_random_dequant(B, F, sh.r, sh.c, srcs[dt], lay, 5000 + k, stream);
        if (!quick) {
            const Case mids[] = {
                {256, 4096, LOWBIT_F32, LOWBIT_BF16, 0, 0, 2, 7001 + k, 0},
                {256, 4096, LOWBIT_BF16, LOWBIT_F32, 2, 2, 0, 7002 + k, 0xFFFFFFFFull - 100},
                {256, 4096, LOWBIT_F16, LOWBIT_F16, 1, 1, 1, 7003 + k, 5},
            };
            for (const Case &c : mids)
                run_case(B, F, c, stream);
            if (F.hot) {
                const Case bigs[] = {
                    {4096, 4096, LOWBIT_F32, LOWBIT_BF16, 0, 0, 1, 9001 + k, 0},
                    {4096, 4096, LOWBIT_BF16, LOWBIT_F16, 2, 2, 0, 9002 + k, 12345},
                };
                for (const Case &c : bigs)
                    run_case(B, F, c, stream);
            }
        }
        const long pf = g_failed - f0;
        if (pf) bad_formats++;
        std::printf("%-30s %s %5ld cases %s\n", fmt_name(F.f).c_str(), F.dq_only ? "(dequantize only)" : "                 ",
                    g_passed - p0 + pf, pf ? (std::to_string(pf) + " FAILED").c_str() : "ok");
        std::fflush(stdout);
    }
    std::printf("%d of %zu formats had failures\n", bad_formats, fmts.size());
    std::printf("%ld passed, %ld failed\n", g_passed, g_failed);
    CK(cudaStreamDestroy(stream));
    return g_failed ? 1 : 0;
}
