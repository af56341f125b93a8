// gemm_int_decode.cuh - the exact integer decode GEMM (gemm_int_decode.cu)
// as host-device functions, so that tests/gpu/gemm_cuda_host_emul.cu runs
// the kernel's own steps on the host, warp by warp.
//
// Decode shapes (M <= 16) are bound by reading B once.  The tiled kernels
// spend a 64-row tile on one row of A and give each CTA a 64-column slab of
// B; here a warp owns kCols columns of C (rows of B) and streams them in
// chunks of kChunk k, 16 k a lane and column (one 16-byte load of 8-bit
// codes, 8 bytes of packed 4-bit ones), the next chunk's loads in flight
// while this one computes.  The CTA's warps share the chunk of A, staged
// once as int8 (table and zero point applied), and each A word read from
// shared memory serves the warp's kCols columns.  Exactness is the integer MMA kernel's
// argument: each lane's 16-k partial sum and each block's sum D of the
// partials are exact integers (the jobs are those of imma_covers, whose
// block sums cannot leave s32), so D is the reference's in any order; then
// lane m folds acc = fmaf((float)D * 2^u, s_a * s_b, acc) over the blocks in
// order, as kernels/cpu/ref/gemm_ref.c does, and stores through
// lb_gemm_store.
#ifndef LOWBIT_KERNELS_CUDA_GEMM_INT_DECODE_CUH
#define LOWBIT_KERNELS_CUDA_GEMM_INT_DECODE_CUH

#include "gemm_mma.cuh"

namespace lbd {

using lbg::fma_rn;
using lbg::mul_rn;

constexpr int kMaxM = 16;                 // rows of C the kernel takes
constexpr int kDispatchMaxM = 4;          // rows up to which it beats the integer MMA kernel (H200)
constexpr int kWarps = 4;                 // warps per CTA
constexpr int kCols = 4;                  // columns of C per warp
constexpr int kThreads = 32 * kWarps;
constexpr int kColsPerCta = kWarps * kCols;
constexpr int kPairsPerLane = kMaxM * kCols / 32;  // (row, column) outputs a lane folds
constexpr int kSeg = 16;                  // k per lane and chunk
constexpr int kChunk = 32 * kSeg;         // k per warp and chunk

// A K block either divides the chunk (several blocks a chunk) or is a
// multiple of it (several chunks a block).
LBG_HD bool covers(const lb_gemm_job &j)
{
    return lbm::imma_covers(j) && j.M >= 1 && j.M <= (size_t)kMaxM &&
           (kChunk % j.kblock == 0 || j.kblock % kChunk == 0);
}

struct Smem {
    alignas(16) uint8_t a[kMaxM][kChunk];      // A's n of the chunk, int8
    float sa[kMaxM][kChunk / kSeg];            // A's scale of each block of the chunk
    int32_t part[kWarps][kCols][kMaxM][32];    // each lane's partial sums
    float sb[kWarps][kCols][kChunk / kSeg];    // B's scale of each block
    int32_t lut_a[256], lut_b[256];            // n of every code, before the zero point
};

// Blocks of a chunk (1 when the block spans chunks) and lanes of a block.
LBG_HD unsigned blocks_per_chunk(const lb_gemm_job &j)
{
    return j.kblock < (size_t)kChunk ? (unsigned)(kChunk / j.kblock) : 1u;
}

LBG_HD void build_luts(const lb_gemm_job &j, Smem &sm, unsigned tid, unsigned nthreads)
{
    for (unsigned c = tid; c < 256; c += nthreads) {
        lbg::lut_entry<true>(j.a, c, NULL, &sm.lut_a[c]);
        lbg::lut_entry<true>(j.b, c, NULL, &sm.lut_b[c]);
    }
}

// Stage the chunk [k0, k0 + kChunk) of A's rows and its block scales.
LBG_HD void stage_a(const lb_gemm_job &j, Smem &sm, size_t k0, unsigned tid, unsigned nthreads)
{
    for (unsigned e = tid; e < (unsigned)j.M * 32; e += nthreads) {
        const size_t m = e / 32, k = k0 + (size_t)kSeg * (e % 32);
        uint32_t w[kSeg / 4] = {0, 0, 0, 0};
        if (k < j.K) {
            lbm::gather_codes<kSeg>(j.a, m, k, w);
            lbm::codes_to_int8<kSeg / 4>(sm.lut_a, lb_opnd_zero_point(&j.a, m, k), w);
        }
        lbm::put_words<kSeg / 4>(w, &sm.a[m][kSeg * (e % 32)]);
    }
    const unsigned nb = blocks_per_chunk(j);
    for (unsigned e = tid; e < (unsigned)j.M * nb; e += nthreads) {
        const size_t m = e / nb, kb = k0 + (size_t)(e % nb) * j.kblock;
        sm.sa[m][e % nb] = kb < j.K ? lb_opnd_scale(&j.a, m, kb) : 0.0f;
    }
}

// A lane's 16 codes of row n from k, as loaded: the words themselves for
// 8-bit codes, two words of packed nibbles for aligned 4-bit ones (unpacked
// by seg_codes once they have arrived), else the codes (6-bit ones, code
// by code).  Zeros past K.
struct Seg {
    uint32_t w[kSeg / 4];
    bool packed4;
};

LBG_HD void load_seg(const lb_operand &o, size_t r, size_t k, size_t K, Seg &s)
{
    LBG_UNROLL
    for (int i = 0; i < kSeg / 4; i++)
        s.w[i] = 0;
    s.packed4 = false;
    if (k >= K)
        return;
    const unsigned bits = lb_bits(o.q.format.elem);
    const size_t idx = r * o.q.row_stride + k;
    const uint8_t *data = (const uint8_t *)o.q.data;
    if (bits == 8) {
        lbm::load_words<kSeg / 4>(data + idx, s.w);
    } else if (bits == 4 && idx % 2 == 0) {
        lbm::load_words<kSeg / 8>(data + idx / 2, s.w);
        s.packed4 = true;
    } else {
        lbm::gather_codes<kSeg>(o, r, k, s.w);
    }
}

// The segment's codes, one per byte.
LBG_HD void seg_codes(const Seg &s, uint32_t *w)
{
    if (!s.packed4) {
        LBG_UNROLL
        for (int i = 0; i < kSeg / 4; i++)
            w[i] = s.w[i];
        return;
    }
    LBG_UNROLL
    for (int i = 0; i < kSeg / 4; i++)
        w[i] = 0;
    LBG_UNROLL
    for (int i = 0; i < kSeg / 8; i++)
        LBG_UNROLL
        for (int y = 0; y < 8; y++)
            w[2 * i + y / 4] |= ((s.w[i] >> (4 * y)) & 0xFu) << (8 * (y % 4));
}

// Four signed byte products summed into c (the device's dp4a).
LBG_HD int32_t dot4(uint32_t a, uint32_t b, int32_t c)
{
#if defined(__CUDA_ARCH__)
    return __dp4a((int)a, (int)b, c);
#else
    for (int y = 0; y < 4; y++)
        c += (int32_t)(int8_t)(uint8_t)(a >> (8 * y)) * (int32_t)(int8_t)(uint8_t)(b >> (8 * y));
    return c;
#endif
}

// Lane `lane` of warp w on the chunk from k0, for the warp's columns n0 ..
// n0 + kCols - 1 (those below N): its partial sums of every row into part,
// and, where its segment starts a block, B's scale of that block into sb.
LBG_HD void lane_partials(const lb_gemm_job &j, Smem &sm, unsigned w, unsigned lane, size_t n0, size_t k0,
                          const Seg *seg)
{
    const size_t k = k0 + (size_t)kSeg * lane;
    uint32_t b[kCols][kSeg / 4];
    LBG_UNROLL
    for (int c = 0; c < kCols; c++) {
        seg_codes(seg[c], b[c]);
        if (k < j.K && n0 + c < j.N)
            lbm::codes_to_int8<kSeg / 4>(sm.lut_b, lb_opnd_zero_point(&j.b, n0 + c, k), b[c]);
    }
    for (unsigned m = 0; m < (unsigned)j.M; m++) {
        uint32_t a[kSeg / 4];
        LBG_UNROLL
        for (int i = 0; i < kSeg / 4; i++)
            a[i] = lbm::ld32(&sm.a[m][kSeg * lane + 4 * i]);
        LBG_UNROLL
        for (int c = 0; c < kCols; c++) {
            int32_t p = 0;
            LBG_UNROLL
            for (int i = 0; i < kSeg / 4; i++)
                p = dot4(a[i], b[c][i], p);
            sm.part[w][c][m][lane] = p;
        }
    }
    const bool starts = j.kblock < (size_t)kChunk ? (kSeg * lane) % j.kblock == 0 : lane == 0;
    if (starts && k < j.K) {
        const unsigned bi = j.kblock < (size_t)kChunk ? (unsigned)(kSeg * lane / j.kblock) : 0u;
        LBG_UNROLL
        for (int c = 0; c < kCols; c++)
            if (n0 + c < j.N)
                sm.sb[w][c][bi] = lb_opnd_scale(&j.b, n0 + c, k);
    }
}

// Output (m, c) of warp w after the chunk from k0: the blocks' integer sums
// from the partials, folded in block order.  D carries a block's sum over
// chunks when the block is longer than a chunk.  Lane l folds the outputs
// l + 32 q, q < kPairsPerLane, as (m, c) = (i / kCols, i % kCols).
LBG_HD void pair_fold(const lb_gemm_job &j, const Smem &sm, unsigned w, unsigned m, unsigned c, size_t k0,
                      long long &D, float &acc)
{
    const int u = j.a.unit_log2 + j.b.unit_log2;
    const int32_t *part = sm.part[w][c][m];
    if (j.kblock < (size_t)kChunk) {
        const unsigned g = (unsigned)(j.kblock / kSeg), nb = blocks_per_chunk(j);
        for (unsigned b = 0; b < nb && k0 + (size_t)b * j.kblock < j.K; b++) {
            long long s = 0;
            for (unsigned l = b * g; l < (b + 1) * g; l++)
                s += part[l];
            acc = fma_rn(lbg::int_block_dot(s, u), mul_rn(sm.sa[m][b], sm.sb[w][c][b]), acc);
        }
        return;
    }
    for (unsigned l = 0; l < 32; l++)
        D += part[l];
    if ((k0 + kChunk) % j.kblock == 0) {
        acc = fma_rn(lbg::int_block_dot(D, u), mul_rn(sm.sa[m][0], sm.sb[w][c][0]), acc);
        D = 0;
    }
}

}  // namespace lbd

#endif
