// gemm_mma.cuh - the tiling shared by the tensor-core GEMM kernels
// (gemm_imma.cu: exact, integer pairs; gemm_fp8_mma.cu: fast, FP8), as
// host-device functions: staging of 8-bit operands into shared memory, the
// mma.sync fragment loads, the per-block fold and the store.  The PTX
// itself stays in the .cu files; tests/gpu/gemm_cuda_host_emul.cu runs
// these functions with a model of the integer MMA and compares with
// lowbit_gemm.
//
// A CTA of 4 warps owns a 64 x 64 tile of C; warp w owns the 32 x 32
// sub-tile (w / 2, w % 2): 2 x 4 MMA tiles of m16 x n8.  K advances KS (32,
// or 16 when the K block is 16) at a time; a chunk never crosses a K block.
// Integer pairs: the s32 fragment holds the block's exact integer sum D
// (the kernel covers only L * max|n_a| * max|n_b| < 2^31), and at the block
// end acc = fmaf((float)D * 2^u, s_a * s_b, acc): the reference's
// arithmetic, so the result is exact.
#ifndef LOWBIT_KERNELS_CUDA_GEMM_MMA_CUH
#define LOWBIT_KERNELS_CUDA_GEMM_MMA_CUH

#include "gemm_exact.cuh"

namespace lbm {

using lbg::fma_rn;
using lbg::mul_rn;

constexpr int kBM = 64, kBN = 64;
constexpr int kThreads = 128;     // 4 warps
constexpr int kWarpTM = 2;        // m16 tiles per warp
constexpr int kWarpTN = 4;        // n8 tiles per warp

// Bytes per staged row: conflict-free 32-bit fragment loads (8 rows x 4
// words of a fragment land in 32 distinct banks).
template <int KS>
struct Ld {
    static constexpr int value = KS == 32 ? 48 : 16;
};

// One CTA's 8-bit operand tile (integers n, or raw FP8 codes) and the block
// scales of its rows.
template <int KS>
struct IntSmem {
    alignas(16) uint8_t a[kBM][Ld<KS>::value];
    alignas(16) uint8_t b[kBN][Ld<KS>::value];
    float sa[kBM], sb[kBN];
    int32_t lut_a[256], lut_b[256];  // integer pairs: n of every code, before the zero point
};

// Thread tid of nthreads fills its share of the integer tables (integer
// pairs only; every integer operand has codes of at most 8 bits).
template <int KS>
LBG_HD void build_int_luts(const lb_gemm_job &j, IntSmem<KS> &sm, unsigned tid, unsigned nthreads)
{
    for (unsigned c = tid; c < 256; c += nthreads) {
        lbg::lut_entry<true>(j.a, c, NULL, &sm.lut_a[c]);
        lbg::lut_entry<true>(j.b, c, NULL, &sm.lut_b[c]);
    }
}

// One thread's accumulator fragments: T is int32_t (integer MMA) or float.
template <typename T>
struct FragT {
    T D[kWarpTM][kWarpTN][4];
    float acc[kWarpTM][kWarpTN][4];
};
using Frag = FragT<int32_t>;

template <typename T>
LBG_HD void frag_init(FragT<T> &f)
{
    LBG_UNROLL
    for (int mi = 0; mi < kWarpTM; mi++)
        LBG_UNROLL
        for (int ni = 0; ni < kWarpTN; ni++)
            LBG_UNROLL
            for (int i = 0; i < 4; i++) {
                f.D[mi][ni][i] = 0;
                f.acc[mi][ni][i] = 0.0f;
            }
}

// Does the exact integer MMA kernel reproduce the reference for this job?
// Integers that fit int8 (INT8 without zero point, MXINT8, INT4/UINT4 with
// or without one, E2M1, E2M3), K blocks a multiple of 16 and the block sum
// bounded so that s32 partial sums cannot wrap.
LBG_HD bool imma_covers(const lb_gemm_job &j)
{
    if (!j.integer || j.K == 0 || j.kblock % 16 != 0)
        return false;
    if (j.a.max_int > 128 || j.b.max_int > 128)
        return false;
    return (unsigned long long)j.kblock * (unsigned)j.a.max_int * (unsigned)j.b.max_int < (1ull << 31);
}

LBG_HD int imma_kstep(const lb_gemm_job &j)
{
    return j.kblock % 32 == 0 ? 32 : 16;
}

// Does the fast FP8 kernel take this job (the device must also be sm_89+)?
// OCP E4M3 / E5M2 operands, FP8 scaled or MX, K and its blocks multiples
// of 32.
LBG_HD bool ocp_fp8(const lb_operand &o)
{
    return (o.scheme == LB_SCHEME_AMAX || o.scheme == LB_SCHEME_MX) &&
           (o.q.format.elem == LOWBIT_E4M3 || o.q.format.elem == LOWBIT_E5M2);
}
LBG_HD bool fp8_covers(const lb_gemm_job &j)
{
    return j.K > 0 && j.K % 32 == 0 && j.kblock % 32 == 0 && ocp_fp8(j.a) && ocp_fp8(j.b);
}

// NW 32-bit words (little-endian bytes) from global memory at p: 16, 8 or 4
// bytes at a time where p's alignment allows, else byte by byte.  Words,
// not a byte array, so that the values stay in registers on every GPU.
template <int NW>
LBG_HD void load_words(const uint8_t *p, uint32_t *w)
{
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    if (NW % 4 == 0 && (uintptr_t)p % 16 == 0) {
        LBG_UNROLL
        for (int i = 0; i < NW; i += 4) {
            const uint4 v = *reinterpret_cast<const uint4 *>(p + 4 * i);
            w[i] = v.x, w[i + 1] = v.y, w[i + 2] = v.z, w[i + 3] = v.w;
        }
        return;
    }
    if (NW % 2 == 0 && (uintptr_t)p % 8 == 0) {
        LBG_UNROLL
        for (int i = 0; i < NW; i += 2) {
            const uint2 v = *reinterpret_cast<const uint2 *>(p + 4 * i);
            w[i] = v.x, w[i + 1] = v.y;
        }
        return;
    }
    if ((uintptr_t)p % 4 == 0) {
        LBG_UNROLL
        for (int i = 0; i < NW; i++)
            w[i] = *reinterpret_cast<const uint32_t *>(p + 4 * i);
        return;
    }
#endif
    LBG_UNROLL
    for (int i = 0; i < NW; i++)
        w[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
               (uint32_t)p[4 * i + 3] << 24;
}

// The KS codes of row r of an operand from element k0, one per byte (four
// per word, little-endian): 8- and 4-bit codes read as whole words (vector
// loads where aligned), other widths (6-bit) code by code.  r < rows.
template <int KS>
LBG_HD void gather_codes(const lb_operand &o, size_t r, size_t k0, uint32_t *w)
{
    LBG_UNROLL
    for (int i = 0; i < KS / 4; i++)
        w[i] = 0;
    const int elem = o.q.format.elem;
    const unsigned bits = lb_bits(elem);
    const size_t idx = r * o.q.row_stride + k0;
    const uint8_t *data = (const uint8_t *)o.q.data;
    if (bits == 8) {
        load_words<KS / 4>(data + idx, w);
    } else if (bits == 4 && idx % 2 == 0) {
        uint32_t pk[KS / 8];  // 8 codes per word, the even element in the low nibble (lb_get4)
        load_words<KS / 8>(data + idx / 2, pk);
        LBG_UNROLL
        for (int i = 0; i < KS / 8; i++)
            LBG_UNROLL
            for (int y = 0; y < 8; y++)
                w[2 * i + y / 4] |= ((pk[i] >> (4 * y)) & 0xFu) << (8 * (y % 4));
    } else {
        LBG_UNROLL
        for (int kk = 0; kk < KS; kk++)
            w[kk / 4] |= (lb_load_code(elem, data, idx + (size_t)kk) & 0xFFu) << (8 * (kk % 4));
    }
}

// NW words of codes (one per byte) as their n - zp through the table, int8.
template <int NW>
LBG_HD void codes_to_int8(const int32_t *lut, int32_t zp, uint32_t *w)
{
    LBG_UNROLL
    for (int i = 0; i < NW; i++) {
        uint32_t n = 0;
        LBG_UNROLL
        for (int y = 0; y < 4; y++)
            n |= (uint32_t)(uint8_t)(int8_t)(lut[(w[i] >> (8 * y)) & 0xFFu] - zp) << (8 * y);
        w[i] = n;
    }
}

// Store NW staged words at dst (16-byte aligned on the device).
template <int NW>
LBG_HD void put_words(const uint32_t *w, uint8_t *dst)
{
    LBG_UNROLL
    for (int i = 0; i < NW; i++) {
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
        *reinterpret_cast<uint32_t *>(dst + 4 * i) = w[i];
#else
        memcpy(dst + 4 * i, &w[i], 4);
#endif
    }
}

// The KS staged bytes of row r of an operand from element k0 (a chunk lies
// in one K block of each operand, so one zero point serves it): integers n
// through the table with the zero point applied, or, with kRaw, the codes.
// A row past the tensor is zeros.
template <int KS, bool kRaw>
LBG_HD void stage_row(const lb_operand &o, const int32_t *lut, size_t rows, size_t r, size_t k0, uint8_t *dst)
{
    uint32_t w[KS / 4];  // the staged bytes, four per word
    LBG_UNROLL
    for (int i = 0; i < KS / 4; i++)
        w[i] = 0;
    if (r < rows) {
        gather_codes<KS>(o, r, k0, w);
        if (!kRaw)
            codes_to_int8<KS / 4>(lut, lb_opnd_zero_point(&o, r, k0), w);
    }
    put_words<KS / 4>(w, dst);
}

// Stage the chunk [k0, k0 + KS) a row per thread: integer pairs store n
// (zero point applied; through the tables of build_int_luts) as int8; with
// `raw`, the element codes themselves (FP8).  Rows past M or N are zeros.
// With `scales`, the block scales too.
template <int KS, bool kRaw = false>
LBG_HD void int_stage(const lb_gemm_job &j, IntSmem<KS> &sm, size_t m0, size_t n0, size_t k0, bool scales,
                      unsigned tid, unsigned nthreads)
{
    for (unsigned e = tid; e < (unsigned)(kBM + kBN); e += nthreads) {
        if (e < (unsigned)kBM)
            stage_row<KS, kRaw>(j.a, sm.lut_a, j.M, m0 + e, k0, sm.a[e]);
        else
            stage_row<KS, kRaw>(j.b, sm.lut_b, j.N, n0 + e - kBM, k0, sm.b[e - kBM]);
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

// Four bytes of a staged row (4-byte aligned: row strides and fragment
// columns are multiples of 4): one 32-bit shared load on the device.
LBG_HD uint32_t ld32(const uint8_t *p)
{
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    return *reinterpret_cast<const uint32_t *>(p);
#else
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
#endif
}

// A fragment of m16 tile mi of warp w (KS / 8 registers): register r holds
// row groupID + 8 (r & 1), columns 16 (r >> 1) + 4 t .. + 3.
// (S: IntSmem<KS>, or any tile with the same a / b rows.)
template <int KS, class S>
LBG_HD void load_a(const S &sm, unsigned w, unsigned lane, int mi, uint32_t *a)
{
    const unsigned g = lane / 4, t = lane % 4;
    const unsigned row0 = (w / 2) * 32 + (unsigned)mi * 16 + g;
    LBG_UNROLL
    for (int r = 0; r < KS / 8; r++)
        a[r] = ld32(&sm.a[row0 + 8 * (r & 1)][16 * (r >> 1) + 4 * t]);
}

// B fragment of n8 tile ni (KS / 16 registers): register r holds column
// (row of B) groupID, k = 16 r + 4 t .. + 3.
template <int KS, class S>
LBG_HD void load_b(const S &sm, unsigned w, unsigned lane, int ni, uint32_t *b)
{
    const unsigned g = lane / 4, t = lane % 4;
    const unsigned n = (w % 2) * 32 + (unsigned)ni * 8 + g;
    LBG_UNROLL
    for (int r = 0; r < KS / 16; r++)
        b[r] = ld32(&sm.b[n][16 * r + 4 * t]);
}

// Tile coordinates of accumulator element i of fragment (mi, ni).
LBG_HD unsigned frag_row(unsigned tid, int mi, int i)
{
    const unsigned w = tid / 32, lane = tid % 32;
    return (w / 2) * 32 + (unsigned)mi * 16 + lane / 4 + 8 * (unsigned)(i >> 1);
}
LBG_HD unsigned frag_col(unsigned tid, int ni, int i)
{
    const unsigned w = tid / 32, lane = tid % 32;
    return (w % 2) * 32 + (unsigned)ni * 8 + 2 * (lane % 4) + (unsigned)(i & 1);
}

// Block end, integer MMA: d = (float)D * 2^u, acc = fmaf(d, s_a * s_b, acc).
template <int KS>
LBG_HD void int_fold(const lb_gemm_job &j, const IntSmem<KS> &sm, unsigned tid, Frag &f)
{
    const int u = j.a.unit_log2 + j.b.unit_log2;
    LBG_UNROLL
    for (int mi = 0; mi < kWarpTM; mi++)
        LBG_UNROLL
        for (int ni = 0; ni < kWarpTN; ni++)
            LBG_UNROLL
            for (int i = 0; i < 4; i++) {
                const float s = mul_rn(sm.sa[frag_row(tid, mi, i)], sm.sb[frag_col(tid, ni, i)]);
                f.acc[mi][ni][i] = fma_rn(lbg::int_block_dot(f.D[mi][ni][i], u), s, f.acc[mi][ni][i]);
                f.D[mi][ni][i] = 0;
            }
}

// Block end, FP8: d is the f32 block sum, acc = fmaf(d, s_a * s_b, acc).
template <int KS>
LBG_HD void f32_fold(const IntSmem<KS> &sm, unsigned tid, FragT<float> &f)
{
    LBG_UNROLL
    for (int mi = 0; mi < kWarpTM; mi++)
        LBG_UNROLL
        for (int ni = 0; ni < kWarpTN; ni++)
            LBG_UNROLL
            for (int i = 0; i < 4; i++) {
                const float s = mul_rn(sm.sa[frag_row(tid, mi, i)], sm.sb[frag_col(tid, ni, i)]);
                f.acc[mi][ni][i] = fma_rn(f.D[mi][ni][i], s, f.acc[mi][ni][i]);
                f.D[mi][ni][i] = 0.0f;
            }
}

template <typename T>
LBG_HD void frag_store(const lb_gemm_job &j, size_t m0, size_t n0, unsigned tid, const FragT<T> &f)
{
    LBG_UNROLL
    for (int mi = 0; mi < kWarpTM; mi++)
        LBG_UNROLL
        for (int ni = 0; ni < kWarpTN; ni++)
            LBG_UNROLL
            for (int i = 0; i < 4; i++) {
                const size_t m = m0 + frag_row(tid, mi, i), n = n0 + frag_col(tid, ni, i);
                if (m < j.M && n < j.N)
                    lb_gemm_store(&j, m, n, f.acc[mi][ni][i]);
            }
}

}  // namespace lbm

#endif
