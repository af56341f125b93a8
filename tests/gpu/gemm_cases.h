// gemm_cases.h - GEMM test cases shared by the host emulation of the CUDA
// GEMM kernels (gemm_cuda_host_emul.cu) and the device test
// (gemm_device_test.cu): every pair lowbit_gemm offers, shapes, and host
// operands filled from a seed, realistic (quantized Gaussians) or
// adversarial (random codes: NaN, Inf, subnormals, extreme scales).
#ifndef LOWBIT_TESTS_GPU_GEMM_CASES_H
#define LOWBIT_TESTS_GPU_GEMM_CASES_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include "lowbit.h"

namespace gc {

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint64_t next()
    {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    }
    uint32_t below(uint32_t n) { return (uint32_t)(next() % n); }
    double uniform() { return (double)(next() >> 11) * 0x1p-53; }
    float gauss()
    {
        double u = uniform() + 1e-300, v = uniform();
        return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
    }
};

inline bool is_wide(lowbit_dtype t)
{
    return t == LOWBIT_F32 || t == LOWBIT_F16 || t == LOWBIT_BF16;
}

// One pair of operand formats.
struct Pair {
    lowbit_format a, b;
    std::string name;
};

inline std::string fmt_name(const lowbit_format &f)
{
    if (f.scale_type == LOWBIT_DTYPE_COUNT)
        return lowbit_dtype_name(f.elem);
    char buf[96];
    return lowbit_format_name(&f, buf, sizeof buf);
}

inline Pair make_pair(const lowbit_format &a, const lowbit_format &b)
{
    return Pair{a, b, fmt_name(a) + " x " + fmt_name(b)};
}

// Every kind of pair, each format at least once on each side.
inline std::vector<Pair> all_pairs()
{
    std::vector<Pair> v;
    const lowbit_dtype fp8[] = {LOWBIT_E4M3, LOWBIT_E5M2, LOWBIT_E4M3FNUZ, LOWBIT_E5M2FNUZ};
    for (lowbit_dtype e : fp8) {
        v.push_back(make_pair(lowbit_format_fp8_tensor(e), lowbit_format_fp8_tensor(e)));
        v.push_back(make_pair(lowbit_format_fp8_row(e), lowbit_format_fp8_row(e)));
        v.push_back(make_pair(lowbit_format_fp8_block(e, 1, 128), lowbit_format_fp8_block(e, 128, 128)));
    }
    v.push_back(make_pair(lowbit_format_fp8_row(LOWBIT_E4M3), lowbit_format_fp8_tensor(LOWBIT_E5M2)));
    v.push_back(make_pair(lowbit_format_fp8_block(LOWBIT_E5M2, 1, 128), lowbit_format_fp8_row(LOWBIT_E4M3)));
    v.push_back(make_pair(lowbit_format_fp8_tensor(LOWBIT_E4M3FNUZ), lowbit_format_fp8_block(LOWBIT_E4M3, 128, 128)));
    const lowbit_dtype mx[] = {LOWBIT_E4M3, LOWBIT_E5M2, LOWBIT_E3M2, LOWBIT_E2M3, LOWBIT_E2M1, LOWBIT_INT8};
    for (lowbit_dtype x : mx)
        for (lowbit_dtype y : mx)
            v.push_back(make_pair(lowbit_format_mx(x, LOWBIT_SCALE_FLOOR), lowbit_format_mx(y, LOWBIT_SCALE_FLOOR)));
    v.push_back(make_pair(lowbit_format_nvfp4(), lowbit_format_nvfp4()));
    const lowbit_dtype it[] = {LOWBIT_INT8, LOWBIT_INT4, LOWBIT_UINT4};
    const lowbit_dtype st[] = {LOWBIT_F32, LOWBIT_F16, LOWBIT_BF16};
    const uint32_t groups[] = {0, 32, 128};
    int n = 0;
    for (lowbit_dtype x : it)
        for (lowbit_dtype y : it)
            for (int zp = 0; zp < 2; zp++) {
                if (!zp && (x == LOWBIT_UINT4 || y == LOWBIT_UINT4))
                    continue;
                lowbit_format fa = lowbit_format_int_group(x, groups[n % 3], st[n % 3], zp);
                lowbit_format fb = lowbit_format_int_group(y, groups[(n + 1) % 3], st[(n + 2) % 3], zp && (n & 1));
                if (y == LOWBIT_UINT4)
                    fb = lowbit_format_int_group(y, groups[(n + 1) % 3], st[(n + 2) % 3], 1);
                v.push_back(make_pair(fa, fb));
                n++;
            }
    // W8A8 and W4A8 as deployed: per-row activations, per-row/group weights.
    v.push_back(make_pair(lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0),
                          lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0)));
    v.push_back(make_pair(lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0),
                          lowbit_format_int_group(LOWBIT_INT4, 128, LOWBIT_BF16, 0)));
    v.push_back(make_pair(lowbit_format_int_group(LOWBIT_INT8, 128, LOWBIT_F16, 0),
                          lowbit_format_int_group(LOWBIT_UINT4, 32, LOWBIT_F16, 1)));
    // W4A16 / W8A16.
    for (lowbit_dtype w : st) {
        v.push_back(make_pair(lowbit_format_plain(w), lowbit_format_int_group(LOWBIT_INT4, 128, LOWBIT_BF16, 0)));
        v.push_back(make_pair(lowbit_format_plain(w), lowbit_format_int_group(LOWBIT_UINT4, 32, LOWBIT_F16, 1)));
        v.push_back(make_pair(lowbit_format_plain(w), lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0)));
    }
    return v;
}

// The K block of a format (0: the whole row).
inline size_t kblock(const lowbit_format &f)
{
    if (f.scale_type == LOWBIT_DTYPE_COUNT)
        return 0;
    return f.block_cols;
}

// A K that the pair accepts: r times the longer K block (any K >= 1 when
// both scales span the whole row).
inline size_t pick_k(const Pair &p, Rng &rng)
{
    size_t la = kblock(p.a), lb = kblock(p.b);
    size_t l = la > lb ? la : lb;
    if (l == 0) {
        const size_t ks[] = {1, 7, 32, 33, 100, 256};
        return ks[rng.below(6)];
    }
    return l * (1 + rng.below(3));
}

// A host operand and its buffers.
struct Operand {
    lowbit_qtensor q;
    std::vector<uint8_t> data, scales, zps;
};

// Fill q (rows x K of format f).  mode 0: quantized Gaussians (a random
// range per row); 1: as 0 with ~3 % of the data bytes random codes; 2:
// every data, scale and zero-point byte random.
inline bool make_operand(Operand &o, const lowbit_format &f, size_t rows, size_t K, int mode, Rng &rng)
{
    memset(&o.q, 0, sizeof o.q);
    const bool wide = f.scale_type == LOWBIT_DTYPE_COUNT;
    if (wide) {
        o.q.format = f;
        o.q.rows = rows;
        o.q.cols = K;
        o.q.row_stride = K;
        o.q.tensor_scale = 1.0f;
    } else if (lowbit_qtensor_init(&o.q, &f, rows, K) != LOWBIT_OK) {
        return false;
    }
    // A padded row stride for byte-wide elements (packed rows stay tight).
    const bool pad = lowbit_dtype_bits(f.elem) >= 8 && (rng.below(2) == 0);
    if (pad)
        o.q.row_stride = K + 8;
    o.q.data_bytes = lowbit_dtype_bytes(f.elem, rows * o.q.row_stride);
    o.data.assign(o.q.data_bytes + 1, 0);
    o.scales.assign(o.q.scales_bytes + 1, 0);
    o.zps.assign(o.q.zero_points_bytes + 1, 0);
    o.q.data = o.data.data();
    o.q.scales = o.q.scales_bytes ? o.scales.data() : NULL;
    o.q.zero_points = o.q.zero_points_bytes ? o.zps.data() : NULL;

    std::vector<float> src(rows * (K ? K : 1));
    for (size_t r = 0; r < rows; r++) {
        const float range = ldexpf(1.0f, (int)rng.below(12) - 6);
        for (size_t k = 0; k < K; k++)
            src[r * K + k] = rng.gauss() * range + (f.flags & LOWBIT_FMT_ZERO_POINT ? range : 0.0f);
    }
    if (rows && K) {
        if (wide) {
            for (size_t r = 0; r < rows; r++)
                if (lowbit_convert(f.elem, (uint8_t *)o.q.data + lowbit_dtype_bytes(f.elem, r * o.q.row_stride),
                                   LOWBIT_F32, &src[r * K], K, NULL) != LOWBIT_OK)
                    return false;
        } else if (lowbit_quantize(&o.q, LOWBIT_F32, src.data(), K, NULL) != LOWBIT_OK) {
            fprintf(stderr, "quantize %s: %s\n", fmt_name(f).c_str(), lowbit_last_error());
            return false;
        }
    }
    if (mode == 1) {
        for (size_t i = 0; i < o.q.data_bytes; i++)
            if (rng.below(32) == 0)
                o.data[i] = (uint8_t)rng.next();
    } else if (mode == 2) {
        for (size_t i = 0; i < o.q.data_bytes; i++)
            o.data[i] = (uint8_t)rng.next();
        for (size_t i = 0; i < o.q.scales_bytes; i++)
            o.scales[i] = (uint8_t)rng.next();
        for (size_t i = 0; i < o.q.zero_points_bytes; i++)
            o.zps[i] = (uint8_t)rng.next();
        if (f.flags & LOWBIT_FMT_TENSOR_SCALE) {
            uint32_t u = (uint32_t)rng.next();
            memcpy(&o.q.tensor_scale, &u, 4);
        }
    }
    return true;
}

// C's element size.
inline size_t c_size(lowbit_dtype t)
{
    return t == LOWBIT_F32 ? 4 : 2;
}

// One GEMM case: pair, shape, scalars, C's type and initial contents.
struct Case {
    Pair p;
    size_t M, N, K, ldc;
    float alpha, beta;
    lowbit_dtype c_type;
    int mode;
    Operand a, b;
    std::vector<uint8_t> c0;  // C before the call
};

inline bool make_case(Case &c, const Pair &p, size_t M, size_t N, size_t K, int mode, Rng &rng)
{
    c.p = p;
    c.M = M;
    c.N = N;
    c.K = K;
    c.mode = mode;
    const lowbit_dtype ct[] = {LOWBIT_F32, LOWBIT_F16, LOWBIT_BF16};
    c.c_type = ct[rng.below(3)];
    c.ldc = N + (rng.below(2) ? 3 : 0);
    c.alpha = rng.below(4) == 0 ? -0.75f : 1.0f;
    const uint32_t bsel = rng.below(4);
    c.beta = bsel == 0 ? 0.5f : bsel == 1 ? -1.0f : 0.0f;
    if (!make_operand(c.a, p.a, M, K, mode, rng) || !make_operand(c.b, p.b, N, K, mode, rng))
        return false;
    c.c0.assign(c_size(c.c_type) * (M ? M : 1) * c.ldc + 1, 0);
    if (c.beta == 0.0f) {
        // C is never read with beta = 0: fill it with NaN to prove it.
        memset(c.c0.data(), 0xFF, c.c0.size());
    } else {
        std::vector<float> f(M * c.ldc);
        for (auto &x : f)
            x = rng.gauss();
        if (mode == 2 && !f.empty())
            f[0] = NAN;
        if (!f.empty())
            lowbit_convert(c.c_type, c.c0.data(), LOWBIT_F32, f.data(), f.size(), NULL);
    }
    return true;
}

// The host reference result.
inline lowbit_status reference(const Case &c, std::vector<uint8_t> &out, const lowbit_gemm_opts *opts = NULL)
{
    out = c.c0;
    return lowbit_gemm(&c.a.q, &c.b.q, c.alpha, c.beta, c.c_type, out.data(), c.ldc, opts);
}

// Output element (m, n) as float.
inline float c_at(const Case &c, const std::vector<uint8_t> &buf, size_t m, size_t n)
{
    float f;
    lowbit_convert(LOWBIT_F32, &f, c.c_type, buf.data() + c_size(c.c_type) * (m * c.ldc + n), 1, NULL);
    return f;
}

// Index of the first output element whose bits differ (SIZE_MAX: none).
inline size_t first_diff(const Case &c, const std::vector<uint8_t> &x, const std::vector<uint8_t> &y)
{
    const size_t es = c_size(c.c_type);
    for (size_t m = 0; m < c.M; m++)
        for (size_t n = 0; n < c.ldc; n++)
            if (memcmp(x.data() + es * (m * c.ldc + n), y.data() + es * (m * c.ldc + n), es) != 0)
                return m * c.ldc + n;
    return SIZE_MAX;
}

// ---- the fast FP8 kernels against f64 ------------------------------------

// Both operands OCP E4M3 / E5M2 with scales (FP8 scaled or MXFP8).
inline bool ocp_fp8_pair(const Pair &p)
{
    auto ok = [](const lowbit_format &f) {
        return (f.elem == LOWBIT_E4M3 || f.elem == LOWBIT_E5M2) && f.scale_type != LOWBIT_DTYPE_COUNT;
    };
    return ok(p.a) && ok(p.b);
}

inline float decode1(lowbit_dtype t, uint32_t code)
{
    float f;
    uint8_t b[4];
    memcpy(b, &code, 4);
    lowbit_convert(LOWBIT_F32, &f, t, b, 1, NULL);
    return f;
}

// Every element of an operand as f32, row-major rows x K (rows start on a
// byte: packed rows of FP4 / FP6 are tight and K a multiple of 4 here).
inline std::vector<float> values(const Operand &o)
{
    const size_t rows = o.q.rows, K = o.q.cols;
    std::vector<float> v(rows * K);
    for (size_t r = 0; r < rows && K; r++)
        lowbit_convert(LOWBIT_F32, &v[r * K], o.q.format.elem,
                       (const uint8_t *)o.q.data + lowbit_dtype_bytes(o.q.format.elem, r * o.q.row_stride), K, NULL);
    return v;
}

// The scale of the block holding (r, k).
inline float scale_at(const Operand &o, size_t r, size_t k)
{
    size_t gr, gcl;
    lowbit_qtensor_grid(&o.q, &gr, &gcl);
    const size_t br = o.q.format.block_rows ? o.q.format.block_rows : o.q.rows;
    const size_t bc = o.q.format.block_cols ? o.q.format.block_cols : o.q.cols;
    const size_t i = (r / br) * gcl + k / bc;
    const lowbit_dtype st = o.q.format.scale_type;
    const size_t es = lowbit_dtype_bytes(st, 1);
    uint32_t code = 0;
    memcpy(&code, o.scales.data() + i * es, es);
    return decode1(st, code);
}

// What a fast kernel's bound depends on: tc_rel, the tensor core's own
// error relative to the magnitude of one MMA's products (2^-8 for 32
// products, 2^-7 for 64); slice, the K of one MMA; in_mma_scales, whether
// the tensor core applies the block scales itself (then the f64 result
// takes the exact scale products, not their f32 rounding).
struct FastBound {
    double tc_rel = 0x1p-8;
    double slice = 32;
    bool in_mma_scales = false;
};

// The block-scaled kernels (compute capability 12.x: mma.sync; 10.x and
// 11.0: tcgen05): the K of one of their MMAs for pair p at this K, 0 when
// they do not take the pair.  MX x MX with OCP FP8 / FP6 / FP4 elements in
// any mix: 32, or 64 for MXFP4 x MXFP4 with K a multiple of 64; NVFP4 x
// NVFP4: 64 (K a multiple of 64 only).
inline int block_scaled_slice(const Pair &p, size_t K)
{
    auto tc = [](lowbit_dtype e) {
        return e == LOWBIT_E4M3 || e == LOWBIT_E5M2 || e == LOWBIT_E3M2 || e == LOWBIT_E2M3 || e == LOWBIT_E2M1;
    };
    if (K == 0 || K % 32)
        return 0;
    if (p.a.scale_type == LOWBIT_E4M3 && p.b.scale_type == LOWBIT_E4M3 && p.a.elem == LOWBIT_E2M1 &&
        p.b.elem == LOWBIT_E2M1)
        return K % 64 ? 0 : 64;
    if (p.a.scale_type != LOWBIT_E8M0 || p.b.scale_type != LOWBIT_E8M0 || !tc(p.a.elem) || !tc(p.b.elem))
        return 0;
    return p.a.elem == LOWBIT_E2M1 && p.b.elem == LOWBIT_E2M1 && K % 64 == 0 ? 64 : 32;
}

// Its bound: 32 or 64 products per MMA, the scales applied inside.
inline FastBound block_scaled_bound(int slice)
{
    FastBound fb;
    fb.tc_rel = slice == 64 ? 0x1p-7 : 0x1p-8;
    fb.slice = slice;
    fb.in_mma_scales = true;
    return fb;
}

// Is every output of `got` inside the fast bound of docs/semantics.md
// ("GEMM on the GPU") against an f64 GEMM of the same elements and f32
// scale products (exact ones with in_mma_scales)?  NaN must be NaN; an
// infinite f64 result must not come out finite; where the f32 sums may
// overflow anything goes; an Inf is allowed only where the bound's interval
// reaches past C's largest finite value on its side; every other output
// lies within the bound.  On failure, why says where.
inline bool fast_check(const Case &k, const std::vector<uint8_t> &got, char *why, size_t why_len,
                       const FastBound &fb = FastBound())
{
    const size_t la = k.a.q.format.block_cols ? k.a.q.format.block_cols : k.K;
    const size_t lb = k.b.q.format.block_cols ? k.b.q.format.block_cols : k.K;
    const size_t L = la < lb ? la : lb;
    // alpha and the tensor scales (NVFP4) as the reference forms them, in f32.
    float gf = k.alpha;
    if (k.a.q.format.flags & LOWBIT_FMT_TENSOR_SCALE)
        gf *= k.a.q.tensor_scale;
    if (k.b.q.format.flags & LOWBIT_FMT_TENSOR_SCALE)
        gf *= k.b.q.tensor_scale;
    const double g = (double)gf;
    const double rel = fb.tc_rel + ((double)k.K / fb.slice + (double)k.K / L + 4) * 0x1p-23;
    const std::vector<float> va = values(k.a), vb = values(k.b);
    // the smallest magnitude that rounds to Inf in C's type
    const double c_thr = k.c_type == LOWBIT_F16 ? 65520.0 : k.c_type == LOWBIT_BF16 ? 0x1.ffp127 : 0x1.ffffffp127;
    for (size_t m = 0; m < k.M; m++)
        for (size_t n = 0; n < k.N; n++) {
            double sum = 0, mag = 0, smax = 0, dmax = 0;
            for (size_t kb = 0; kb < k.K; kb += L) {
                const float sa = scale_at(k.a, m, kb), sb = scale_at(k.b, n, kb);
                const double s = fb.in_mma_scales ? (double)sa * sb : (double)(sa * sb);
                double bs = 0, bm = 0;
                for (size_t kk = kb; kk < kb + L; kk++) {
                    const double p = (double)va[m * k.K + kk] * vb[n * k.K + kk];
                    bs += p;
                    bm += fabs(p);
                }
                sum += s * bs;
                mag += fabs(s) * bm;
                smax = fmax(smax, fabs(s));
                dmax = fmax(dmax, bm);
            }
            double c64 = g * sum, cold = 0;
            if (k.beta != 0.0f) {
                cold = c_at(k, k.c0, m, n);
                c64 += (double)k.beta * cold;
            }
            const double v = c_at(k, got, m, n);
            if (isnan(c64)) {
                if (!isnan(v)) {
                    snprintf(why, why_len, "C[%zu][%zu] = %g where the f64 result is NaN", m, n, v);
                    return false;
                }
                continue;
            }
            if (isinf(c64) || !isfinite(mag)) {
                if (isinf(c64) && isfinite(v)) {
                    snprintf(why, why_len, "C[%zu][%zu] = %g where the f64 result is %g", m, n, v, c64);
                    return false;
                }
                continue;
            }
            const int ebits = k.c_type == LOWBIT_F32 ? 23 : k.c_type == LOWBIT_F16 ? 10 : 7;
            const double ulp = ldexp(fmax(fabs(c64), k.c_type == LOWBIT_F16 ? 0x1p-14 : 0x1p-126), -ebits) * 2;
            const double bound = rel * fabs(g) * mag + 0x1p-23 * fabs((double)k.beta * cold) + ulp +
                                 0x1p-126 * (double)k.K * fabs(g) * smax + 0x1p-149 * ((double)k.K / L + 1) * fabs(g);
            if (!(fmax(dmax, fmax(mag, fabs(g) * mag + fabs((double)k.beta * cold))) < 0x1p127))
                continue;  // f32 sums may overflow: Inf or NaN allowed
            if (isinf(v) && (v > 0 ? c64 + bound >= c_thr : c64 - bound <= -c_thr))
                continue;  // the bound reaches past C's largest finite value: so may the rounding
            if (!(fabs(v - c64) <= bound)) {
                snprintf(why, why_len, "C[%zu][%zu] = %.9g, f64 %.9g: |error| %.3g > bound %.3g", m, n, v, c64,
                         fabs(v - c64), bound);
                return false;
            }
        }
    return true;
}

}  // namespace gc

#endif
