// gemm_mfma.cuh - the tile functions of the HIP backend's MFMA GEMMs: the
// exact integer one (gemm_mfma.cu, AMD gfx90a / gfx940) and the fast FNUZ
// FP8 one (gemm_mfma_fp8.cu, gfx940; FragF, slice_add, f32_fold,
// fp8_covers), host-device so that tests/gpu/gemm_hip_mfma_emul.cu runs them
// on the host against a model of the instructions.  The FP8 kernel stages
// raw codes with KS = KI = 32; v_mfma_f32_16x16x32_{fp8,bf8}_{fp8,bf8}
// place their operands and results as v_mfma_i32_16x16x32_i8 below.
//
// Staging, the integer tables, which jobs qualify and the block arithmetic
// are gemm_mma.cuh's (IntSmem, int_stage, build_int_luts, imma_covers,
// imma_kstep, int_block_dot): the same 64 x 64 C tile and the same K chunks
// of KS = 32 (16 when the K block is 16), so a chunk never crosses a block
// and the s32 sum of a block is the reference's D.  Only the wavefront side
// differs: a CTA is 4 wavefronts of 64 lanes (256 threads), wavefront w
// owns the 32 x 32 sub-tile (w / 2, w % 2) as 2 x 2 MFMA tiles of 16 x 16.
//
// Instruction depth KI (the k of one MFMA):
//   gfx90a (CDNA2)  v_mfma_i32_16x16x16i8   KI = 16, 4 bytes of A/B per lane
//   gfx940 (CDNA3)  v_mfma_i32_16x16x32_i8  KI = 32, 8 bytes of A/B per lane
// (clang 15 selects only the first on gfx90a and only the second on gfx940.)
//
// Register layout, from AMD's Matrix Instruction Calculator (the gfx9 /
// CDNA rules of ROCm/amd_matrix_instruction_calculator, InstCalcGfx9: with
// M = 16 and one block, an input element (i, k) sits in lane
// 16 * (k / E) + i, element k % E of the lane's operand, E = KI / 4; a 32-bit
// output (i, j) in register i % 4 of lane 16 * (i / 4) + j), and LLVM's
// AMDGPU intrinsics (llvm.amdgcn.mfma.i32.16x16x16i8 takes i32 operands,
// llvm.amdgcn.mfma.i32.16x16x32.i8 i64 ones):
//   A (src0): lane l holds row l % 16, k = E (l / 16) + byte;
//   B (src1): lane l holds column (row of our B tile) l % 16, same k;
//   D: register v of lane l is row 4 (l / 16) + v, column l % 16.
// Since D sums over all k of the instruction, only two things matter for
// the result: A and B put every staged k at the same (lane group, byte),
// and every staged k appears once.  A chunk of KS takes KS / KI
// instructions; a 16-wide chunk on gfx940 fills bytes 0..3 of each lane and
// zeroes bytes 4..7 of both operands.
#ifndef LOWBIT_KERNELS_CUDA_GEMM_MFMA_CUH
#define LOWBIT_KERNELS_CUDA_GEMM_MFMA_CUH

#include "gemm_mma.cuh"

namespace lbmf {

using lbm::IntSmem;
using lbm::kBM;
using lbm::kBN;
using lbm::Ld;

constexpr int kWave = 64;
constexpr int kThreads = 256;  // 4 wavefronts
constexpr int kWaveTM = 2;     // 16 x 16 tiles per wavefront along M
constexpr int kWaveTN = 2;     // and along N
static_assert(kThreads / kWave == (kBM / (16 * kWaveTM)) * (kBN / (16 * kWaveTN)), "wavefronts tile the CTA");

// k covered by one instruction of depth KI in a chunk of KS, and the
// instructions per chunk.
template <int KS, int KI>
struct Step {
    static constexpr int span = KS < KI ? KS : KI;
    static constexpr int count = KS / span;
};

// One lane's accumulators: D the block's sums (exact s32 for the integer
// kernel, f32 for the FP8 one), acc the folded f32.
template <typename T>
struct FragT {
    T D[kWaveTM][kWaveTN][4];
    float acc[kWaveTM][kWaveTN][4];
};
using Frag = FragT<int32_t>;
using FragF = FragT<float>;

template <typename T>
LBG_HD void frag_init(FragT<T> &f)
{
    LBG_UNROLL
    for (int mi = 0; mi < kWaveTM; mi++)
        LBG_UNROLL
        for (int ni = 0; ni < kWaveTN; ni++)
            LBG_UNROLL
            for (int v = 0; v < 4; v++) {
                f.D[mi][ni][v] = 0;
                f.acc[mi][ni][v] = 0.0f;
            }
}

// The operand of one lane for instruction `step` of a chunk: staged row
// `row`, k = span * step + (span / 4) * (lane / 16) + byte (bytes past
// span / 4 are zero).  Bits 0..31 are the gfx90a operand; gfx940 uses all 64.
template <int KS, int KI>
LBG_HD uint64_t frag_operand(const uint8_t (*rows)[Ld<KS>::value], unsigned row, unsigned lane, int step)
{
    constexpr int span = Step<KS, KI>::span, per_lane = span / 4;
    const uint8_t *p = &rows[row][span * step + per_lane * (lane / 16)];
    uint64_t v = lbm::ld32(p);
    if (per_lane == 8)
        v |= (uint64_t)lbm::ld32(p + 4) << 32;
    return v;
}

// A operand of tile mi of wavefront w: row (w / 2) * 32 + 16 mi + lane % 16.
template <int KS, int KI>
LBG_HD uint64_t load_a(const IntSmem<KS> &sm, unsigned w, unsigned lane, int mi, int step)
{
    return frag_operand<KS, KI>(sm.a, (w / 2) * 32 + (unsigned)mi * 16 + lane % 16, lane, step);
}

// B operand of tile ni: row of the staged B (column of C) (w % 2) * 32 + 16 ni + lane % 16.
template <int KS, int KI>
LBG_HD uint64_t load_b(const IntSmem<KS> &sm, unsigned w, unsigned lane, int ni, int step)
{
    return frag_operand<KS, KI>(sm.b, (w % 2) * 32 + (unsigned)ni * 16 + lane % 16, lane, step);
}

// Tile coordinates of accumulator register v of tile (mi, ni), thread tid.
LBG_HD unsigned frag_row(unsigned tid, int mi, int v)
{
    const unsigned w = tid / kWave, lane = tid % kWave;
    return (w / 2) * 32 + (unsigned)mi * 16 + 4 * (lane / 16) + (unsigned)v;
}
LBG_HD unsigned frag_col(unsigned tid, int ni, int /* v */)
{
    const unsigned w = tid / kWave, lane = tid % kWave;
    return (w % 2) * 32 + (unsigned)ni * 16 + lane % 16;
}

// Block end: d = (float)D * 2^u, acc = fmaf(d, s_a * s_b, acc), as
// lbm::int_fold and the reference.
template <int KS>
LBG_HD void fold(const lb_gemm_job &j, const IntSmem<KS> &sm, unsigned tid, Frag &f)
{
    const int u = j.a.unit_log2 + j.b.unit_log2;
    LBG_UNROLL
    for (int mi = 0; mi < kWaveTM; mi++)
        LBG_UNROLL
        for (int ni = 0; ni < kWaveTN; ni++)
            LBG_UNROLL
            for (int v = 0; v < 4; v++) {
                const float s = lbm::mul_rn(sm.sa[frag_row(tid, mi, v)], sm.sb[frag_col(tid, ni, v)]);
                f.acc[mi][ni][v] = lbm::fma_rn(lbg::int_block_dot(f.D[mi][ni][v], u), s, f.acc[mi][ni][v]);
                f.D[mi][ni][v] = 0;
            }
}

// FP8 kernel: the f32 sums p of one 32-k slice (an MFMA from zero) added
// to the block's d in slice order, as gemm_fp8_mma.cu.
LBG_HD void slice_add(FragF &f, int mi, int ni, const float *p)
{
    LBG_UNROLL
    for (int v = 0; v < 4; v++)
        f.D[mi][ni][v] = lbg::add_rn(f.D[mi][ni][v], p[v]);
}

// FP8 block end: acc = fmaf(d, s_a * s_b, acc), as lbm::f32_fold.
LBG_HD void f32_fold(const IntSmem<32> &sm, unsigned tid, FragF &f)
{
    LBG_UNROLL
    for (int mi = 0; mi < kWaveTM; mi++)
        LBG_UNROLL
        for (int ni = 0; ni < kWaveTN; ni++)
            LBG_UNROLL
            for (int v = 0; v < 4; v++) {
                const float s = lbm::mul_rn(sm.sa[frag_row(tid, mi, v)], sm.sb[frag_col(tid, ni, v)]);
                f.acc[mi][ni][v] = lbm::fma_rn(f.D[mi][ni][v], s, f.acc[mi][ni][v]);
                f.D[mi][ni][v] = 0.0f;
            }
}

// Does the FP8 MFMA kernel take this job (the device must also be gfx94x)?
// FNUZ E4M3 / E5M2 operands, any mix, FP8-scaled (MX elements are OCP
// only), K and its blocks multiples of 32.
LBG_HD bool fnuz_fp8(const lb_operand &o)
{
    return o.scheme == LB_SCHEME_AMAX && (o.q.format.elem == LOWBIT_E4M3FNUZ || o.q.format.elem == LOWBIT_E5M2FNUZ);
}
LBG_HD bool fp8_covers(const lb_gemm_job &j)
{
    return j.K > 0 && j.K % 32 == 0 && j.kblock % 32 == 0 && fnuz_fp8(j.a) && fnuz_fp8(j.b);
}

template <typename T>
LBG_HD void frag_store(const lb_gemm_job &j, size_t m0, size_t n0, unsigned tid, const FragT<T> &f)
{
    LBG_UNROLL
    for (int mi = 0; mi < kWaveTM; mi++)
        LBG_UNROLL
        for (int ni = 0; ni < kWaveTN; ni++)
            LBG_UNROLL
            for (int v = 0; v < 4; v++) {
                const size_t m = m0 + frag_row(tid, mi, v), n = n0 + frag_col(tid, ni, v);
                if (m < j.M && n < j.N)
                    lb_gemm_store(&j, m, n, f.acc[mi][ni][v]);
            }
}

}  // namespace lbmf

#endif
