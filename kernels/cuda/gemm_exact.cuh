// gemm_exact.cuh - the pieces of the generic exact CUDA GEMM kernel
// (gemm_exact.cu) that do arithmetic or decide the tiling, as host-device
// functions on the job (passed by value) and one CTA's shared-memory tile.
// The kernel calls them from its threads between barriers;
// tests/gpu/gemm_cuda_host_emul.cu calls the very same functions from plain
// loops on the host, thread by thread, and compares with lowbit_gemm.
//
// Semantics: kernels/cpu/ref/gemm_ref.c, step for step.  A CTA owns a
// kBM x kBN tile of C and walks K from 0 to K in chunks that never straddle a
// K block of L; each thread carries kTM x kTN outputs through every chunk:
//   f32 pairs      d = fmaf(a_k, b_k, d) for k in increasing order;
//   integer pairs  D += n_a * n_b in int64 (exact, so order is free);
//   block end      acc = fmaf(d, s_a * s_b, acc) (d = (float)D * 2^u),
//                  blocks in increasing order;
//   store          lb_gemm_store (src/gemm_operand.h), the reference's own.
// K is never split, so each output is the reference's sequence of correctly
// rounded operations whatever the tile, M or the grid.
#ifndef LOWBIT_KERNELS_CUDA_GEMM_EXACT_CUH
#define LOWBIT_KERNELS_CUDA_GEMM_EXACT_CUH

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "gemm_operand.h"

#if defined(__CUDACC__) || defined(__HIPCC__)
#define LBG_HD __host__ __device__ __forceinline__
#else
#define LBG_HD inline
#endif
// Unrolling hints for the device pass only (the host compiler warns on them).
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
#define LBG_UNROLL _Pragma("unroll")
#else
#define LBG_UNROLL
#endif

namespace lbg {

constexpr int kBM = 64;          // rows of C per CTA
constexpr int kBN = 64;          // columns of C per CTA
constexpr int kKC = 32;          // most k per chunk
constexpr int kThreads = 256;    // threads per CTA, a 16 x 16 grid
constexpr int kTM = kBM / 16;    // outputs per thread along M: rows kTM ty + i
constexpr int kTN = kBN / 16;    // along N: columns kTN tx + j
constexpr int kPad = 4;          // floats of padding per staged k row (keeps 16-byte alignment)
static_assert(kTM == 4 && kTN == 4, "compute() reads 4 rows / columns as one 16-byte vector");

// Correctly rounded single operations, spelled out so that nothing may fuse
// or reorder them (the build flags forbid it as well; HIP's __fadd_rn and
// friends are the plain operators, kept unfused by -ffp-contract=off).  The
// host's volatile is for the emulation tests only: on a GPU it would cost
// scratch memory.
LBG_HD float add_rn(float a, float b)
{
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    return __fadd_rn(a, b);
#else
    volatile float r = a + b;
    return r;
#endif
}
LBG_HD float mul_rn(float a, float b)
{
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    return __fmul_rn(a, b);
#else
    volatile float r = a * b;
    return r;
#endif
}
LBG_HD float fma_rn(float a, float b, float c)
{
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    return __fmaf_rn(a, b, c);
#else
    return fmaf(a, b, c);
#endif
}

// One CTA's staged operands: elements decoded (f32, or the integer n with
// the zero point applied), k-major (a thread reads its 4 rows and 4
// columns of one k as two 16-byte vectors), rows padded against bank
// conflicts when a chunk is written k-fastest; and the block scales of the
// chunk's rows.
struct Smem {
    union alignas(16) {
        float f[kKC][kBM + kPad];
        int32_t i[kKC][kBM + kPad];
    } a;
    union {
        float f[kKC][kBN + kPad];
        int32_t i[kKC][kBN + kPad];
    } b;
    float sa[kBM], sb[kBN];
    // Element value of every code of an operand of at most 8 bits (f32, or
    // the integer n without zero point), built once per CTA by lb_decode.
    union {
        float f[256];
        int32_t i[256];
    } lut_a, lut_b;
};

// Operands of at most 8-bit codes decode through Smem's tables; wider ones
// (the f32 / f16 / bf16 side of W4A16) through lb_opnd_f32.
LBG_HD bool has_lut(const lb_operand &o)
{
    return lb_bits(o.q.format.elem) <= 8;
}

// Entry c of an operand's table: what lb_opnd_f32 / lb_opnd_int give for
// code c before the zero point.
template <bool kInt>
LBG_HD void lut_entry(const lb_operand &o, uint32_t c, float *f, int32_t *i)
{
    const float v = c < (1u << lb_bits(o.q.format.elem)) ? lb_decode(o.q.format.elem, c) * o.code_value : 0.0f;
    if (kInt)
        *i = (int32_t)(v * (float)(1 << -o.unit_log2));
    else
        *f = v;
}

// Thread tid of nthreads fills its share of both tables (before the first
// stage, then a barrier).
template <bool kInt>
LBG_HD void build_luts(const lb_gemm_job &j, Smem &sm, unsigned tid, unsigned nthreads)
{
    for (unsigned c = tid; c < 256; c += nthreads) {
        if (has_lut(j.a))
            lut_entry<kInt>(j.a, c, &sm.lut_a.f[c], &sm.lut_a.i[c]);
        if (has_lut(j.b))
            lut_entry<kInt>(j.b, c, &sm.lut_b.f[c], &sm.lut_b.i[c]);
    }
}

// Element (r, k) of an operand: lb_opnd_int / lb_opnd_f32, through the table
// when there is one (the same values: the table holds lb_decode's).
LBG_HD int32_t elem_int(const lb_operand &o, const int32_t *lut, size_t r, size_t k)
{
    return lut[lb_opnd_code(&o, r, k)] - lb_opnd_zero_point(&o, r, k);
}
LBG_HD float elem_f32(const lb_operand &o, const float *lut, size_t r, size_t k)
{
    if (!has_lut(o))
        return lb_opnd_f32(&o, r, k);
    const float v = lut[lb_opnd_code(&o, r, k)];
    if (o.scheme == LB_SCHEME_ZP)
        return (float)((int32_t)v - lb_opnd_zero_point(&o, r, k));
    return v;
}

// One thread's running values.
template <bool kInt>
struct State {
    float acc[kTM][kTN];
    float d[kTM][kTN];       // f32 pairs: the block's dot product so far
    long long D[kTM][kTN];   // integer pairs: the block's integer sum so far
};

template <bool kInt>
LBG_HD void state_init(State<kInt> &st)
{
LBG_UNROLL
    for (int i = 0; i < kTM; i++)
LBG_UNROLL
        for (int jj = 0; jj < kTN; jj++) {
            st.acc[i][jj] = 0.0f;
            st.d[i][jj] = 0.0f;
            st.D[i][jj] = 0;
        }
}

// Length of the chunk starting at k0: at most kKC and never past the end of
// k0's K block (K is a multiple of L, so never past K either).
LBG_HD unsigned chunk_len(const lb_gemm_job &j, size_t k0)
{
    const size_t left = j.kblock - k0 % j.kblock;
    return left < (size_t)kKC ? (unsigned)left : (unsigned)kKC;
}

// Does the chunk [k0, k0 + kc) end its K block?
LBG_HD bool chunk_ends_block(const lb_gemm_job &j, size_t k0, unsigned kc)
{
    return (k0 + kc) % j.kblock == 0;
}

// Thread tid of nthreads decodes its share of the chunk (after build_luts); rows past M or N
// are zeros (never stored).  With `scales`, also the block scales.
template <bool kInt>
LBG_HD void stage(const lb_gemm_job &j, Smem &sm, size_t m0, size_t n0, size_t k0, unsigned kc, bool scales,
                  unsigned tid, unsigned nthreads)
{
    for (unsigned e = tid; e < (unsigned)kBM * kc; e += nthreads) {
        const unsigned r = e / kc, kk = e % kc;
        const size_t m = m0 + r;
        if (kInt)
            sm.a.i[kk][r] = m < j.M ? elem_int(j.a, sm.lut_a.i, m, k0 + kk) : 0;
        else
            sm.a.f[kk][r] = m < j.M ? elem_f32(j.a, sm.lut_a.f, m, k0 + kk) : 0.0f;
    }
    for (unsigned e = tid; e < (unsigned)kBN * kc; e += nthreads) {
        const unsigned r = e / kc, kk = e % kc;
        const size_t n = n0 + r;
        if (kInt)
            sm.b.i[kk][r] = n < j.N ? elem_int(j.b, sm.lut_b.i, n, k0 + kk) : 0;
        else
            sm.b.f[kk][r] = n < j.N ? elem_f32(j.b, sm.lut_b.f, n, k0 + kk) : 0.0f;
    }
    if (scales) {
        for (unsigned r = tid; r < (unsigned)(kBM + kBN); r += nthreads) {
            if (r < (unsigned)kBM)
                sm.sa[r] = m0 + r < j.M ? lb_opnd_scale(&j.a, m0 + r, k0) : 0.0f;
            else
                sm.sb[r - kBM] = n0 + r - kBM < j.N ? lb_opnd_scale(&j.b, n0 + r - kBM, k0) : 0.0f;
        }
    }
}

// Four consecutive staged values (16-byte aligned): one vector load on the
// device.
template <typename T>
LBG_HD void load4(const T *p, T *v)
{
    static_assert(sizeof(T) == 4, "float or int32_t");
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    const int4 q = *reinterpret_cast<const int4 *>(p);
    memcpy(&v[0], &q.x, 4);
    memcpy(&v[1], &q.y, 4);
    memcpy(&v[2], &q.z, 4);
    memcpy(&v[3], &q.w, 4);
#else
    for (int i = 0; i < 4; i++)
        v[i] = p[i];
#endif
}

// Thread tid's outputs through the chunk's kc columns, in increasing k.
template <bool kInt>
LBG_HD void compute(const Smem &sm, unsigned kc, unsigned tid, State<kInt> &st)
{
    const unsigned tx = tid % 16, ty = tid / 16;
    for (unsigned kk = 0; kk < kc; kk++) {
        if (kInt) {
            int32_t a[kTM], b[kTN];
            load4(&sm.a.i[kk][kTM * ty], a);
            load4(&sm.b.i[kk][kTN * tx], b);
LBG_UNROLL
            for (int i = 0; i < kTM; i++)
LBG_UNROLL
                for (int jj = 0; jj < kTN; jj++)
                    st.D[i][jj] += (long long)a[i] * b[jj];
        } else {
            float a[kTM], b[kTN];
            load4(&sm.a.f[kk][kTM * ty], a);
            load4(&sm.b.f[kk][kTN * tx], b);
LBG_UNROLL
            for (int i = 0; i < kTM; i++)
LBG_UNROLL
                for (int jj = 0; jj < kTN; jj++)
                    st.d[i][jj] = fma_rn(a[i], b[jj], st.d[i][jj]);
        }
    }
}

// The block's dot product d from an exact integer sum D: one rounding, then
// an exact power of two (|D| * 2^u never reaches the subnormals).
LBG_HD float int_block_dot(long long D, int unit_log2)
{
    return ldexpf((float)D, unit_log2);
}

// End of a K block: fold each output's d into acc with the block's scales.
template <bool kInt>
LBG_HD void fold(const lb_gemm_job &j, const Smem &sm, unsigned tid, State<kInt> &st)
{
    const unsigned tx = tid % 16, ty = tid / 16;
    const int u = j.a.unit_log2 + j.b.unit_log2;
LBG_UNROLL
    for (int i = 0; i < kTM; i++)
LBG_UNROLL
        for (int jj = 0; jj < kTN; jj++) {
            const float s = mul_rn(sm.sa[kTM * ty + i], sm.sb[kTN * tx + jj]);
            const float d = kInt ? int_block_dot(st.D[i][jj], u) : st.d[i][jj];
            st.acc[i][jj] = fma_rn(d, s, st.acc[i][jj]);
            st.d[i][jj] = 0.0f;
            st.D[i][jj] = 0;
        }
}

// Thread tid's outputs to C (alpha, beta, rounding: the reference's store).
template <bool kInt>
LBG_HD void store(const lb_gemm_job &j, size_t m0, size_t n0, unsigned tid, const State<kInt> &st)
{
    const unsigned tx = tid % 16, ty = tid / 16;
LBG_UNROLL
    for (int i = 0; i < kTM; i++)
LBG_UNROLL
        for (int jj = 0; jj < kTN; jj++) {
            const size_t m = m0 + kTM * ty + i, n = n0 + kTN * tx + jj;
            if (m < j.M && n < j.N)
                lb_gemm_store(&j, m, n, st.acc[i][jj]);
        }
}

// The job a kernel runs: K = 0 stores fmaf(beta, C, +0), which is the
// reference's store with g = 0 and acc = 0 (lb_gemm_empty_k).
LBG_HD lb_gemm_job launch_job(const lb_gemm_job &j)
{
    lb_gemm_job w = j;
    if (w.K == 0)
        w.g = 0.0f;
    return w;
}

}  // namespace lbg

#endif
