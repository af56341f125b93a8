// gemm_block_scaled_tcgen05.cuh - the tiling of the block-scaled GEMM on
// data-centre Blackwell (gemm_block_scaled_tcgen05.cu: tcgen05.mma ...
// block_scale on compute capability 10.0, sm_100a) as host-device
// functions: the jobs it takes, the staging of codes and scale bytes into
// shared memory in the layouts the instruction's descriptors name, the
// descriptors, the instruction descriptor and the accumulator's lanes.  The
// PTX stays in the .cu file; tests/gpu/gemm_cuda_host_emul.cu runs these
// functions on a model of tcgen05.cp + tcgen05.mma that reads shared memory
// only through the descriptors.
//
// Three instruction kinds (the arithmetic of gemm_block_scaled.cuh's, so
// the two kernels give the same bits on the same model tensor core):
//   kMx8    MX x MX, E4M3 / E5M2 / E3M2 / E2M3 / E2M1 in any mix:
//           kind::mxf8f6f4, scale_vec::1X, ue8m0, 32 k an MMA.  In shared
//           memory FP8 codes are bytes; FP6 and FP4 codes are packed
//           sixteen to a 16-byte unit (96 or 64 bits, element e at bit 6e /
//           4e, the rest zero): the b6x16_p32 / b4x16_p64 forms the
//           instruction reads for sub-byte types.
//   kMxFp4  MXFP4 x MXFP4 with K a multiple of 64: kind::mxf4,
//           scale_vec::2X, ue8m0, 64 k an MMA (twice kMx8's rate), codes
//           packed two to a byte as lowbit stores them (even k in the low
//           nibble).
//   kNvFp4  NVFP4 x NVFP4 with K a multiple of 64: kind::mxf4nvf4,
//           scale_vec::4X, ue4m3, 64 k an MMA, codes packed as kMxFp4's.
// The NaN and sign rules for scales are gemm_block_scaled.cuh's (stage_bs_words
// does that part of the staging for both kernels).
//
// The jobs it takes and their kinds are the cc 12.x kernel's (lbs::bs_kind).
//
// Tiling: a CTA of 4 warps owns a 128 x 128 tile of C and holds 512 columns
// of tensor memory.  K goes in steps of up to four MMAs: every thread stages
// row t of A and row t of B (32 bytes an MMA), one thread issues the MMAs,
// two at a time, each from a zero accumulator into its own 128-column
// region; then thread t (lane t of the accumulator, so row t of the tile)
// reads its row of each region in k order and adds it to its f32
// accumulators.  Every row in shared memory is a run of 16-byte units laid
// out as K-major core matrices without swizzling (8 rows x 16 bytes,
// lbw::tile_offset), so each operand's descriptor has leading byte offset
// 128 x 16 (the next 16 bytes of K) and stride byte offset 128 (the next 8
// rows).
//
// Scale factors: 128 rows x 4 bytes make one 512-byte atom, byte j of row r
// at 16 (r % 32) + 4 (r / 32) + j.  tcgen05.cp .32x128b.warpx4 copies an
// atom into 4 columns of tensor memory (its 32 16-byte rows into each
// quarter of the lanes), where the MMA finds row r's byte j at lane r,
// column r / 32, byte j, which is the layout published Blackwell kernels
// use.  An atom holds four consecutive scales of each row; an MMA takes 1
// (1X), 2 (2X) or 4 (4X) of them, so the step's MMA i, whose scales are the
// step's s = i x (scales an MMA) onwards, reads atom s / 4 from byte s % 4
// (the instruction descriptor's scale-factor id).
#ifndef LOWBIT_KERNELS_CUDA_GEMM_BLOCK_SCALED_TCGEN05_CUH
#define LOWBIT_KERNELS_CUDA_GEMM_BLOCK_SCALED_TCGEN05_CUH

#include "gemm_block_scaled.cuh"
#include "gemm_wgmma.cuh"

namespace lbt {

using lbs::kMx8;
using lbs::kMxFp4;
using lbs::kNvFp4;

constexpr int kTM = 128, kTN = 128;
constexpr int kThreads = 128;           // thread t: row t of A, B and of the tile
constexpr int kStepMmas = 4;            // MMAs staged at once
constexpr int kRowBytes = 32 * kStepMmas;
constexpr int kGroup = 2;               // MMAs per commit (accumulator regions)
constexpr uint32_t kTmemCols = 512;     // 2 regions of 128 f32 columns + scales
constexpr uint32_t kSfaCol = 256, kSfbCol = kSfaCol + 4 * kStepMmas;

static_assert(kTM == kThreads && kTN == kThreads, "one staging thread per row of A and B");

struct T5Smem {
    alignas(128) uint8_t a[kTM * kRowBytes];
    alignas(128) uint8_t b[kTN * kRowBytes];
    alignas(128) uint8_t sfa[kStepMmas][512];
    alignas(128) uint8_t sfb[kStepMmas][512];
    uint8_t bad_a[kTM], bad_b[kTN];  // a NaN scale in row / column r of the tile somewhere in K
    alignas(8) uint64_t bar;
    uint32_t tmem;
};

// Byte of row r's scale j in an atom.
LBG_HD unsigned sf_offset(unsigned r)
{
    return 16 * (r % 32) + 4 * (r / 32);
}

// A tcgen05 shared-memory descriptor, K-major, no swizzle: wgmma's fields
// plus the version (bits 46-48 = 1); base offset, LBO mode and swizzle 0.
LBG_HD uint64_t t5_desc(uint32_t addr, uint32_t lbo, uint32_t sbo)
{
    return lbw::smem_desc(addr, lbo, sbo) | (uint64_t)1 << 46;
}
// MMA i of a step over the tile at shared address `tile` (A or B, 128 rows).
LBG_HD uint64_t desc_op(uint32_t tile, int i)
{
    return t5_desc(tile + lbw::tile_offset(kTM, 0, 32 * (unsigned)i), kTM * 16, 128);
}
// A scale atom at shared address `atom`: 32 rows of 16 bytes, 8-row groups 128 apart.
LBG_HD uint64_t desc_sf(uint32_t atom)
{
    return t5_desc(atom, 128, 128);
}

// kind::mxf8f6f4 type codes (E4M3, E5M2, E3M2, E2M3, E2M1 in mx_type_index order).
LBG_HD uint32_t mx_type_code(int index)
{
    const uint32_t codes[5] = {0, 1, 4, 3, 5};
    return codes[index];
}

// Scale bytes an MMA of this kind reads for each row, and the first of
// them for the step's MMA i, counted over the step's atoms (4 to an atom).
LBG_HD unsigned mma_scales(int kind)
{
    return kind == kMx8 ? 1u : kind == kMxFp4 ? 2u : 4u;
}
LBG_HD unsigned first_scale(int kind, int i)
{
    return mma_scales(kind) * (unsigned)i;
}

// The instruction descriptor of MMA i of a step (ta, tb: mx_type_index):
// dense, K-major A and B, M = 128, N = 128, f32 result; the scale-factor
// ids (bits 29-30 for A, 4-5 for B) pick the MMA's first byte in its atom.
LBG_HD uint32_t t5_idesc(int kind, int ta, int tb, int i)
{
    const uint32_t sf_id = first_scale(kind, i) % 4;
    uint32_t d = (uint32_t)(kTN >> 3) << 17 | (uint32_t)(kTM >> 4) << 24 | sf_id << 29 | sf_id << 4;
    if (kind == kMx8)
        return d | mx_type_code(ta) << 7 | mx_type_code(tb) << 10 | 1u << 23 /* ue8m0 */;
    // kind::mxf4 / mxf4nvf4: E2M1 is type 1; the scale format ue8m0 (1) or ue4m3 (0)
    return d | 1u << 7 | 1u << 10 | (kind == kMxFp4 ? 1u << 23 : 0u);
}
// The atom of the step's MMA i, and the tensor-memory columns of a step's
// atom of A or B scales (the allocation's base added by the caller).
LBG_HD unsigned atom_of(int kind, int i)
{
    return first_scale(kind, i) / 4;
}
LBG_HD uint32_t sfa_col(unsigned atom)
{
    return kSfaCol + 4 * atom;
}
LBG_HD uint32_t sfb_col(unsigned atom)
{
    return kSfbCol + 4 * atom;
}
// Atoms a step of nmma MMAs copies into tensor memory.
LBG_HD int step_atoms(int kind, int nmma)
{
    return (int)atom_of(kind, nmma - 1) + 1;
}

// 32 staged codes of kind::mxf8f6f4 (one a byte, as stage_bs_words leaves
// them: FP6 in bits 5..0, FP4 in bits 5..2) in the instruction's form, for
// codes of kBits bits.
template <unsigned kBits>
LBG_HD void pack_mx8_bits(const uint32_t *w, uint32_t *out)
{
    LBG_UNROLL
    for (int i = 0; i < 8; i++)
        out[i] = kBits == 8 ? w[i] : 0;
    if constexpr (kBits != 8) {
        LBG_UNROLL
        for (int k = 0; k < 32; k++) {
            uint32_t code = (w[k / 4] >> (8 * (k % 4))) & 0xFFu;
            if (kBits == 4)
                code >>= 2;
            const unsigned bit = kBits * (unsigned)(k % 16), word = 4 * (unsigned)(k / 16) + bit / 32;
            out[word] |= code << (bit % 32);
            if (bit % 32 + kBits > 32)
                out[word + 1] |= code >> (32 - bit % 32);
        }
    }
}
LBG_HD void pack_mx8(int elem, const uint32_t *w, uint32_t *out)
{
    const unsigned bits = lb_bits(elem);  // (a constant in the kernel's instance: one word index per code)
    if (bits == 8)
        pack_mx8_bits<8>(w, out);
    else if (bits == 6)
        pack_mx8_bits<6>(w, out);
    else
        pack_mx8_bits<4>(w, out);
}

// Row r of operand o (rows of them) for the step at k0 (nmma MMAs) into
// `tile` and the scale atoms; true when a scale on the way is NaN.
template <int kKind>
LBG_HD bool stage_t5_row(const lb_operand &o, size_t rows, unsigned r, size_t row0, size_t k0, int nmma, uint8_t *tile,
                         uint8_t (*atoms)[512])
{
    constexpr int KC = lbs::kind_codes(kKind);
    bool nan = false;
    for (int i = 0; i < nmma; i++) {
        uint32_t sc, w[8], out[8];
        nan |= lbs::stage_bs_words<kKind>(o, rows, row0 + r, k0 + (size_t)(i * KC), w, &sc);
        if (kKind == kMx8)
            pack_mx8(o.q.format.elem, w, out);
        else
            LBG_UNROLL
            for (int x = 0; x < 8; x++)
                out[x] = w[x];
        lbm::put_words<4>(out, tile + lbw::tile_offset(kTM, r, 32 * (unsigned)i));
        lbm::put_words<4>(out + 4, tile + lbw::tile_offset(kTM, r, 32 * (unsigned)i + 16));
        LBG_UNROLL
        for (unsigned y = 0; y < mma_scales(kKind); y++)
            atoms[atom_of(kKind, i)][sf_offset(r) + first_scale(kKind, i) % 4 + y] = (uint8_t)(sc >> (8 * y));
    }
    return nan;
}

// Thread tid's part of a step: row tid of the A tile and of the B tile.
template <int kKind>
LBG_HD void stage_t5(const lb_gemm_job &j, T5Smem &sm, size_t m0, size_t n0, size_t k0, int nmma, unsigned tid,
                     bool *bad_a, bool *bad_b)
{
    *bad_a |= stage_t5_row<kKind>(j.a, j.M, tid, m0, k0, nmma, sm.a, sm.sfa);
    *bad_b |= stage_t5_row<kKind>(j.b, j.N, tid, n0, k0, nmma, sm.b, sm.sfb);
}

// MMAs in the step at k0.
template <int kKind>
LBG_HD int step_mmas(const lb_gemm_job &j, size_t k0)
{
    const size_t left = (j.K - k0) / (size_t)lbs::kind_codes(kKind);
    return left < (size_t)kStepMmas ? (int)left : kStepMmas;
}

// The store, 32 columns at a time through shared memory (the A tile is free
// by then: 128 x 32 f32 fill it): thread t puts chunk c of its row, then
// every thread stores 32 of the chunk's outputs, consecutive threads along
// a row of C.  A row's slots are rotated by the row, so that the 32 puts of
// a warp fall in 32 banks.
LBG_HD unsigned out_slot(unsigned row, unsigned col)
{
    return row * 32 + (col + row) % 32;
}
LBG_HD void put_out(T5Smem &sm, unsigned slot, float v)
{
#if defined(__CUDA_ARCH__)
    reinterpret_cast<float *>(sm.a)[slot] = v;
#else
    memcpy(sm.a + 4 * slot, &v, 4);
#endif
}
LBG_HD float get_out(const T5Smem &sm, unsigned slot)
{
#if defined(__CUDA_ARCH__)
    return reinterpret_cast<const float *>(sm.a)[slot];
#else
    float v;
    memcpy(&v, sm.a + 4 * slot, 4);
    return v;
#endif
}
static_assert(sizeof(T5Smem::a) == kTM * 32 * sizeof(float), "the A tile holds one chunk of outputs");

// Thread tid's acc[c .. c + 31] into the chunk (acc indexed by constants
// only, so that it stays in registers).
LBG_HD void put_chunk(T5Smem &sm, unsigned tid, const float *acc, int c)
{
    LBG_UNROLL
    for (int cc = 0; cc < kTN; cc += 32)
        if (cc == c)
            LBG_UNROLL
            for (int x = 0; x < 32; x++)
                put_out(sm, out_slot(tid, (unsigned)x), acc[cc + x]);
}

// Thread tid's share of chunk c, marked (bad_a, bad_b published) and stored.
LBG_HD void store_chunk(const lb_gemm_job &j, const T5Smem &sm, size_t m0, size_t n0, int c, unsigned tid)
{
    const uint32_t qnan = 0x7FC00000u;
    float nan;
    memcpy(&nan, &qnan, 4);
    for (unsigned i = 0; i < 32; i++) {
        const unsigned idx = tid + kThreads * i, row = idx / 32, col = idx % 32;
        const size_t m = m0 + row, n = n0 + (size_t)c + col;
        if (m < j.M && n < j.N)
            lb_gemm_store(&j, m, n, sm.bad_a[row] | sm.bad_b[c + (int)col] ? nan : get_out(sm, out_slot(row, col)));
    }
}

}  // namespace lbt

#endif
