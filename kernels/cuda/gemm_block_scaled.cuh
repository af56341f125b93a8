// gemm_block_scaled.cuh - the tiling of the block-scaled tensor-core GEMM
// (gemm_block_scaled_mma.cu: mma.sync ... block_scale on compute capability
// 12.0), as host-device functions: which jobs it takes, the staging of the
// codes into the containers the instruction reads, the scale bytes of each
// row, the scale fragments and the NaN marks.  The PTX stays in the .cu
// file; tests/gpu/gemm_cuda_host_emul.cu runs these functions on a model of
// the instruction written from the PTX ISA.
//
// Three instruction kinds, one per pair family:
//   kMx8    MX x MX, elements E4M3 / E5M2 / E3M2 / E2M3 / E2M1 in any mix:
//           kind::mxf8f6f4 m16n8k32, scale_vec::1X, ue8m0 (one scale per
//           row of A and column of B for the 32 k of the MMA).  Each code
//           sits in a byte: FP8 as is, FP6 in bits 5..0, FP4 in bits 5..2.
//   kMxFp4  MXFP4 x MXFP4 with K a multiple of 64: kind::mxf4nvf4
//           m16n8k64, scale_vec::2X, ue8m0 (bytes 0 and 1 of the scale
//           register: the two 32-blocks of the MMA's 64 k).  Codes packed
//           two per byte as lowbit stores them (even k in the low nibble).
//   kNvFp4  NVFP4 x NVFP4 with K a multiple of 64: kind::mxf4nvf4
//           m16n8k64, scale_vec::4X, ue4m3 (bytes 0..3: the four 16-blocks).
//
// The instruction applies the block scales itself.  What it cannot take is
// fixed while staging, so that the result never depends on how the tensor
// core treats inputs outside its types: a NaN scale (E8M0 0xFF, E4M3
// 0x7F / 0xFF) is replaced by 1 and the row marked, every output of a marked
// row or column is NaN (as the reference's s_a * s_b makes it); a negative
// E4M3 scale (ue4m3 has no sign) is made positive and the block's sixteen
// codes negated instead (an exact sign flip).  Rows past M or N stage zeros
// with scale 1.
//
// Tiling as gemm_mma.cuh: a CTA of 4 warps owns a 64 x 64 tile, warp w the
// 32 x 32 sub-tile (w / 2, w % 2), 2 x 4 MMA tiles; every staged row is 32
// bytes (32 byte-wide codes or 64 packed ones), so the A / B fragments are
// the 8-bit m16n8k32 ones of load_a / load_b for all three kinds.  Each MMA
// starts from a zero accumulator and its f32 result is added to C's
// accumulator in k order (the bound of docs/semantics.md, "GEMM on the GPU").
#ifndef LOWBIT_KERNELS_CUDA_GEMM_BLOCK_SCALED_CUH
#define LOWBIT_KERNELS_CUDA_GEMM_BLOCK_SCALED_CUH

#include <type_traits>

#include "gemm_mma.cuh"

namespace lbs {

using namespace lbm;
using lbg::add_rn;

enum Kind { kMx8 = 0, kMxFp4 = 1, kNvFp4 = 2 };

// K codes of one MMA.
LBG_HD constexpr int kind_codes(int kind)
{
    return kind == kMx8 ? 32 : 64;
}

// The element types kind::mxf8f6f4 takes, as an index 0..4 (-1: not one).
LBG_HD int mx_type_index(int elem)
{
    switch (elem) {
    case LOWBIT_E4M3: return 0;
    case LOWBIT_E5M2: return 1;
    case LOWBIT_E3M2: return 2;
    case LOWBIT_E2M3: return 3;
    case LOWBIT_E2M1: return 4;
    default: return -1;
    }
}

// launch(integral_constant<int, i>) for i = index, 0..4.
template <class F>
void by_mx_type(int index, F &&launch)
{
    switch (index) {
    case 0: launch(std::integral_constant<int, 0>{}); break;
    case 1: launch(std::integral_constant<int, 1>{}); break;
    case 2: launch(std::integral_constant<int, 2>{}); break;
    case 3: launch(std::integral_constant<int, 3>{}); break;
    default: launch(std::integral_constant<int, 4>{}); break;
    }
}

// The kind that takes this job, or -1 (the device must also be cc 12.0 / 12.1).
LBG_HD int bs_kind(const lb_gemm_job &j)
{
    if (j.K == 0 || j.K % 32 != 0)
        return -1;
    // (kblock: the span over which both operands' scales stay constant; a
    // scale byte of the instruction must serve 16 or 32 k.)
    if (j.a.scheme == LB_SCHEME_NVFP4 && j.b.scheme == LB_SCHEME_NVFP4)
        return j.K % 64 == 0 && j.kblock % 16 == 0 ? kNvFp4 : -1;
    if (j.a.scheme != LB_SCHEME_MX || j.b.scheme != LB_SCHEME_MX || j.kblock % 32 != 0)
        return -1;
    const int ta = mx_type_index(j.a.q.format.elem), tb = mx_type_index(j.b.q.format.elem);
    if (ta < 0 || tb < 0)
        return -1;
    return ta == 4 && tb == 4 && j.K % 64 == 0 ? kMxFp4 : kMx8;
}

struct BsSmem {
    alignas(16) uint8_t a[kBM][48];  // 32 staged bytes a row (48: conflict-free fragment loads)
    alignas(16) uint8_t b[kBN][48];
    uint32_t sa[kBM], sb[kBN];       // the scale bytes of each row for this chunk
    uint8_t bad_a[kBM], bad_b[kBN];  // a NaN scale in the row somewhere in K
};

// Row r's chunk [k0, k0 + kind_codes) of operand o as 8 words (32 bytes)
// and its scale word; true when one of its scales is NaN.
template <int kKind>
LBG_HD bool stage_bs_words(const lb_operand &o, size_t rows, size_t r, size_t k0, uint32_t *w, uint32_t *scale)
{
    LBG_UNROLL
    for (int i = 0; i < 8; i++)
        w[i] = 0;
    uint32_t sc = kKind == kNvFp4 ? 0x38383838u : 0x7F7F7F7Fu;  // 1.0 in each byte
    bool nan = false;
    if (r < rows) {
        const int st = o.q.format.scale_type;
        if (kKind == kMx8) {
            gather_codes<32>(o, r, k0, w);
            if (o.q.format.elem == LOWBIT_E2M1) {
                LBG_UNROLL
                for (int i = 0; i < 8; i++)
                    w[i] <<= 2;  // each byte's code to bits 5..2
            }
            uint32_t c = lb_load_code(st, o.q.scales, lb_opnd_block(&o, r, k0));
            nan = c == 0xFFu;
            sc = nan ? 0x7Fu : c;
        } else {
            const size_t idx = r * o.q.row_stride + k0;
            const uint8_t *data = (const uint8_t *)o.q.data;
            if (idx % 2 == 0) {
                load_words<8>(data + idx / 2, w);
            } else {
                LBG_UNROLL
                for (int kk = 0; kk < 64; kk++)
                    w[kk / 8] |= (lb_load_code(LOWBIT_E2M1, data, idx + (size_t)kk) & 0xFu) << (4 * (kk % 8));
            }
            const int nb = kKind == kNvFp4 ? 4 : 2, len = 64 / nb;
            sc = 0;
            LBG_UNROLL
            for (int i = 0; i < nb; i++) {
                uint32_t c = lb_load_code(st, o.q.scales, lb_opnd_block(&o, r, k0 + (size_t)(i * len)));
                if (kKind == kNvFp4) {
                    if ((c & 0x7Fu) == 0x7Fu) {
                        nan = true;
                        c = 0x38u;
                    } else if (c & 0x80u) {
                        c &= 0x7Fu;
                        w[2 * i] ^= 0x88888888u;  // the block's 16 codes, sign bits flipped
                        w[2 * i + 1] ^= 0x88888888u;
                    }
                } else if (c == 0xFFu) {
                    nan = true;
                    c = 0x7Fu;
                }
                sc |= c << (8 * i);
            }
        }
    }
    *scale = sc;
    return nan;
}

// The same into dst (32 bytes, 4-byte aligned).
template <int kKind>
LBG_HD bool stage_bs_row(const lb_operand &o, size_t rows, size_t r, size_t k0, uint8_t *dst, uint32_t *scale)
{
    uint32_t w[8];
    const bool nan = stage_bs_words<kKind>(o, rows, r, k0, w, scale);
    put_words<8>(w, dst);
    return nan;
}

// Thread tid (of kBM + kBN = kThreads) stages row tid of the A tile or row
// tid - kBM of the B tile; true when that row has a NaN scale here.
static_assert(kBM + kBN == kThreads, "one staging thread per tile row");
template <int kKind>
LBG_HD bool stage_bs(const lb_gemm_job &j, BsSmem &sm, size_t m0, size_t n0, size_t k0, unsigned tid)
{
    if (tid < (unsigned)kBM)
        return stage_bs_row<kKind>(j.a, j.M, m0 + tid, k0, sm.a[tid], &sm.sa[tid]);
    const unsigned e = tid - kBM;
    return stage_bs_row<kKind>(j.b, j.N, n0 + e, k0, sm.b[e], &sm.sb[e]);
}

// The scale registers of m16 tile mi and n8 tile ni (thread-id and byte-id
// selectors 0): lane 4g + 0 holds row g's scales, lane 4g + 1 row g + 8's;
// lane 4g holds column g's.  The other lanes' words are not read.
LBG_HD uint32_t scale_frag_a(const BsSmem &sm, unsigned w, unsigned lane, int mi)
{
    return sm.sa[(w / 2) * 32 + (unsigned)mi * 16 + lane / 4 + 8 * (lane & 1)];
}
LBG_HD uint32_t scale_frag_b(const BsSmem &sm, unsigned w, unsigned lane, int ni)
{
    return sm.sb[(w % 2) * 32 + (unsigned)ni * 8 + lane / 4];
}

// One MMA's f32 result p of tile (mi, ni) added to the accumulator.
LBG_HD void add_mma(FragT<float> &f, int mi, int ni, const float *p)
{
    LBG_UNROLL
    for (int i = 0; i < 4; i++)
        f.acc[mi][ni][i] = add_rn(f.acc[mi][ni][i], p[i]);
}

// After the K loop (and a barrier): the staging thread's mark of its row.
LBG_HD void publish_bad(BsSmem &sm, unsigned tid, bool bad)
{
    if (tid < (unsigned)kBM)
        sm.bad_a[tid] = bad;
    else
        sm.bad_b[tid - kBM] = bad;
}

// Outputs in a marked row or column become NaN (after publish_bad and a barrier).
LBG_HD void mark_nan(const BsSmem &sm, unsigned tid, FragT<float> &f)
{
    const uint32_t qnan = 0x7FC00000u;
    float nan;
    memcpy(&nan, &qnan, 4);
    LBG_UNROLL
    for (int mi = 0; mi < kWarpTM; mi++)
        LBG_UNROLL
        for (int ni = 0; ni < kWarpTN; ni++)
            LBG_UNROLL
            for (int i = 0; i < 4; i++)
                if (sm.bad_a[frag_row(tid, mi, i)] | sm.bad_b[frag_col(tid, ni, i)])
                    f.acc[mi][ni][i] = nan;
}

}  // namespace lbs

#endif
