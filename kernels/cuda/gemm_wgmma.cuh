// gemm_wgmma.cuh - the tiling of the Hopper FP8 GEMM (gemm_fp8_wgmma.cu) as
// host-device functions: staging of raw FP8 codes into shared memory in the
// layout wgmma's matrix descriptors name, the descriptors themselves, the
// accumulator's register-to-(row, col) map, the per-block fold and the
// store.  The PTX stays in the .cu file; tests/gpu/gemm_cuda_host_emul.cu
// runs these functions on the host, reading shared memory through a model of
// the descriptor addressing, and compares with the mma.sync kernel.
//
// A CTA is kWG warpgroups (128 threads each) owning a kBM x kBN tile of C;
// warpgroup g owns rows [64 g, 64 g + 64) and every column: one wgmma
// m64n64k32 per 32-wide slice of K.  K is staged kKC bytes at a time, two
// stages in flight (the next chunk is read into registers while this one
// runs).  The arithmetic is gemm_fp8_mma.cu's: each slice from a zero
// accumulator, added to the block's d in f32, acc = fmaf(d, s_a s_b, acc) at
// each block end; so the bound of docs/semantics.md holds as it is.
#ifndef LOWBIT_KERNELS_CUDA_GEMM_WGMMA_CUH
#define LOWBIT_KERNELS_CUDA_GEMM_WGMMA_CUH

#include "gemm_exact.cuh"

namespace lbw {

using lbg::add_rn;
using lbg::fma_rn;
using lbg::mul_rn;

constexpr int kWG = 2;                 // warpgroups per CTA
constexpr int kThreads = 128 * kWG;
constexpr int kBM = 64 * kWG, kBN = 64;
constexpr int kKC = 64;                // K bytes (FP8 codes) per stage
constexpr int kSlices = kKC / 32;      // wgmma k32 steps per stage
constexpr int kTilesN = kBN / 8;       // n8 column groups of the accumulator

// Shared memory of one stage.  A tile of R rows holds K-major "core
// matrices" of 8 rows x 16 bytes (128 contiguous bytes, row r at 16 r), the
// layout wgmma reads without swizzling: 16-byte column c of the stage at
// c * R * 16, 8-row group at 128 per group.  So the descriptor's leading
// byte offset (K-adjacent core matrices) is R * 16 and its stride byte
// offset (M/N-adjacent ones) 128.
struct Stage {
    alignas(128) uint8_t a[kKC * kBM];
    alignas(128) uint8_t b[kKC * kBN];
    float sa[kSlices][kBM], sb[kSlices][kBN];  // block scales, for slices that end a block
};
struct Smem {
    Stage st[2];
};

LBG_HD unsigned tile_offset(unsigned rows, unsigned r, unsigned k)
{
    return (k / 16) * rows * 16 + (r / 8) * 128 + (r % 8) * 16 + k % 16;
}

// A wgmma shared-memory matrix descriptor without swizzling: start address,
// leading and stride byte offsets, each in 16-byte units (PTX ISA, "Matrix
// Descriptor Format": bits 0-13, 16-29, 32-45; base offset 0, swizzle mode
// 0 in bits 62-63).
LBG_HD uint64_t smem_desc(uint32_t addr, uint32_t lbo, uint32_t sbo)
{
    return (uint64_t)((addr >> 4) & 0x3FFF) | (uint64_t)((lbo >> 4) & 0x3FFF) << 16 |
           (uint64_t)((sbo >> 4) & 0x3FFF) << 32;
}

// Descriptors of slice s of stage `buf` (smem: the shared address of the
// Smem object): A rows [64 wg, 64 wg + 64), B all kBN rows, 32 bytes of K.
LBG_HD uint64_t desc_a(uint32_t smem, unsigned buf, unsigned s, unsigned wg)
{
    const uint32_t off = (uint32_t)(buf * sizeof(Stage) + offsetof(Stage, a)) + tile_offset(kBM, 64 * wg, 32 * s);
    return smem_desc(smem + off, kBM * 16, 128);
}
LBG_HD uint64_t desc_b(uint32_t smem, unsigned buf, unsigned s)
{
    const uint32_t off = (uint32_t)(buf * sizeof(Stage) + offsetof(Stage, b)) + tile_offset(kBN, 0, 32 * s);
    return smem_desc(smem + off, kBN * 16, 128);
}

// What one thread carries from global memory into a stage: 16-byte pieces
// of A and B (piece e: row e / 4, bytes 16 (e % 4) of the chunk) and a few
// block scales.
constexpr int kPiecesA = kBM * kKC / 16 / kThreads, kPiecesB = kBN * kKC / 16 / kThreads;
constexpr int kScalesPer = (kSlices * (kBM + kBN) + kThreads - 1) / kThreads;
struct Piece {
    uint32_t w[4];
};
struct Regs {
    Piece a[kPiecesA], b[kPiecesB];
    float s[kScalesPer];
};

// Can rows be read 16 bytes at a time (data and row stride 16-byte aligned)?
LBG_HD bool vec_ok(const lb_operand &o)
{
    return ((uintptr_t)o.q.data % 16 == 0) && o.q.row_stride % 16 == 0;
}

// Bytes [k, k + 16) of operand row r (zeros for a row past the tensor).
LBG_HD Piece fetch_piece(const lb_operand &o, size_t rows, bool vec, size_t r, size_t k)
{
    Piece p = {{0, 0, 0, 0}};
    if (r >= rows)
        return p;
    const uint8_t *src = (const uint8_t *)o.q.data + r * o.q.row_stride + k;
    if (vec) {
#if defined(__CUDA_ARCH__)
        const uint4 v = __ldg(reinterpret_cast<const uint4 *>(src));
        p.w[0] = v.x, p.w[1] = v.y, p.w[2] = v.z, p.w[3] = v.w;
#else
        memcpy(p.w, src, 16);
#endif
    } else {
        for (int i = 0; i < 16; i++)
            p.w[i / 4] |= (uint32_t)src[i] << (8 * (i % 4));
    }
    return p;
}

// Slices of the chunk at k0 (the last chunk may hold one when K % 64 == 32).
LBG_HD unsigned slices_at(const lb_gemm_job &j, size_t k0)
{
    return j.K - k0 >= (size_t)kKC ? kSlices : (unsigned)((j.K - k0) / 32);
}
LBG_HD bool slice_ends_block(const lb_gemm_job &j, size_t k0, unsigned s)
{
    return (k0 + 32 * s + 32) % j.kblock == 0;
}

// Thread tid's share of the chunk at k0: its pieces and the scales of the
// slices that end a block (scale index e: slice e / (kBM + kBN), then an A
// row, then a B row).
LBG_HD void fetch(const lb_gemm_job &j, bool vec_a, bool vec_b, size_t m0, size_t n0, size_t k0, unsigned tid,
                  Regs &r)
{
    const unsigned ns = slices_at(j, k0);
    LBG_UNROLL
    for (int i = 0; i < kPiecesA; i++) {
        const unsigned e = tid + (unsigned)i * kThreads;
        if ((e % 4) / 2 < ns)
            r.a[i] = fetch_piece(j.a, j.M, vec_a, m0 + e / 4, k0 + 16 * (e % 4));
    }
    LBG_UNROLL
    for (int i = 0; i < kPiecesB; i++) {
        const unsigned e = tid + (unsigned)i * kThreads;
        if ((e % 4) / 2 < ns)
            r.b[i] = fetch_piece(j.b, j.N, vec_b, n0 + e / 4, k0 + 16 * (e % 4));
    }
    LBG_UNROLL
    for (int i = 0; i < kScalesPer; i++) {
        const unsigned e = tid + (unsigned)i * kThreads;
        const unsigned s = e / (kBM + kBN), row = e % (kBM + kBN);
        if (s >= ns || !slice_ends_block(j, k0, s))
            continue;
        const size_t k = k0 + 32 * s;
        if (row < (unsigned)kBM)
            r.s[i] = m0 + row < j.M ? lb_opnd_scale(&j.a, m0 + row, k) : 0.0f;
        else
            r.s[i] = n0 + row - kBM < j.N ? lb_opnd_scale(&j.b, n0 + row - kBM, k) : 0.0f;
    }
}

LBG_HD void put_piece(uint8_t *dst, const Piece &p)
{
#if defined(__CUDA_ARCH__)
    *reinterpret_cast<uint4 *>(dst) = make_uint4(p.w[0], p.w[1], p.w[2], p.w[3]);
#else
    memcpy(dst, p.w, 16);
#endif
}

// Write what fetch read (same j, k0, tid) into stage st.
LBG_HD void put(const lb_gemm_job &j, size_t k0, Stage &st, unsigned tid, const Regs &r)
{
    const unsigned ns = slices_at(j, k0);
    LBG_UNROLL
    for (int i = 0; i < kPiecesA; i++) {
        const unsigned e = tid + (unsigned)i * kThreads;
        if ((e % 4) / 2 < ns)
            put_piece(&st.a[tile_offset(kBM, e / 4, 16 * (e % 4))], r.a[i]);
    }
    LBG_UNROLL
    for (int i = 0; i < kPiecesB; i++) {
        const unsigned e = tid + (unsigned)i * kThreads;
        if ((e % 4) / 2 < ns)
            put_piece(&st.b[tile_offset(kBN, e / 4, 16 * (e % 4))], r.b[i]);
    }
    LBG_UNROLL
    for (int i = 0; i < kScalesPer; i++) {
        const unsigned e = tid + (unsigned)i * kThreads;
        const unsigned s = e / (kBM + kBN), row = e % (kBM + kBN);
        if (s >= ns || !slice_ends_block(j, k0, s))
            continue;
        if (row < (unsigned)kBM)
            st.sa[s][row] = r.s[i];
        else
            st.sb[s][row - kBM] = r.s[i];
    }
}

// The accumulator of one thread: wgmma m64nNk32's f32 D fragment, register
// 4 ni + i holding row 16 warp + lane / 4 + 8 (i >> 1) and column 8 ni +
// 2 (lane % 4) + (i & 1) of its warpgroup's 64 x N (PTX ISA, "Matrix
// fragments for wgmma.mma_async m64nNk32").
struct Acc {
    float D[kTilesN][4];    // the current block's sum
    float acc[kTilesN][4];  // the folded blocks
};

LBG_HD void acc_init(Acc &f)
{
    LBG_UNROLL
    for (int ni = 0; ni < kTilesN; ni++)
        LBG_UNROLL
        for (int i = 0; i < 4; i++)
            f.D[ni][i] = f.acc[ni][i] = 0.0f;
}

LBG_HD unsigned acc_row(unsigned tid, int i)
{
    const unsigned wg = tid / 128, warp = tid % 128 / 32, lane = tid % 32;
    return 64 * wg + 16 * warp + lane / 4 + 8 * (unsigned)(i >> 1);
}
LBG_HD unsigned acc_col(unsigned tid, int ni, int i)
{
    return 8 * (unsigned)ni + 2 * (tid % 4) + (unsigned)(i & 1);
}

// Add one slice's products (p in the fragment order) to the block sums.
LBG_HD void add_slice(Acc &f, const float *p)
{
    LBG_UNROLL
    for (int ni = 0; ni < kTilesN; ni++)
        LBG_UNROLL
        for (int i = 0; i < 4; i++)
            f.D[ni][i] = add_rn(f.D[ni][i], p[4 * ni + i]);
}

// Block end: acc = fmaf(d, s_a * s_b, acc), d = 0.
LBG_HD void fold(const Stage &st, unsigned s, unsigned tid, Acc &f)
{
    LBG_UNROLL
    for (int ni = 0; ni < kTilesN; ni++)
        LBG_UNROLL
        for (int i = 0; i < 4; i++) {
            const float sc = mul_rn(st.sa[s][acc_row(tid, i)], st.sb[s][acc_col(tid, ni, i)]);
            f.acc[ni][i] = fma_rn(f.D[ni][i], sc, f.acc[ni][i]);
            f.D[ni][i] = 0.0f;
        }
}

LBG_HD void store(const lb_gemm_job &j, size_t m0, size_t n0, unsigned tid, const Acc &f)
{
    LBG_UNROLL
    for (int ni = 0; ni < kTilesN; ni++)
        LBG_UNROLL
        for (int i = 0; i < 4; i++) {
            const size_t m = m0 + acc_row(tid, i), n = n0 + acc_col(tid, ni, i);
            if (m < j.M && n < j.N)
                lb_gemm_store(&j, m, n, f.acc[ni][i]);
        }
}

}  // namespace lbw

#endif
