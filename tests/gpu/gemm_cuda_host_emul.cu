// gemm_cuda_host_emul.cu - the CUDA GEMM kernels' arithmetic, run on the
// host.  The generic exact kernel (kernels/cuda/gemm_exact.cuh) and the
// integer-MMA kernel's tiling (kernels/cuda/gemm_mma.cuh, with the tensor
// core modelled as an exact s8 x s8 -> s32 dot product over the PTX
// fragment layout) are executed thread by thread, CTA by CTA, with the same
// host-device functions the kernels call, and every output is compared bit
// for bit with lowbit_gemm over every pair, many shapes and adversarial
// inputs.  The fast FP8 kernel's tiling runs too, on an ideal model of the
// FP8 tensor core, and the block-scaled kernel's (sm_120a) on an ideal
// model of mma.sync ... block_scale, both against the f64 bound of
// docs/semantics.md.  Needs no GPU
// (suite cuda-host); it is what checks the device arithmetic on machines
// without one.
#include <stdio.h>
#include <stdlib.h>

#include <vector>

#include "gemm_cases.h"
#include "gemm_emul.h"
#include "gemm_block_scaled.cuh"
#include "gemm_block_scaled_tcgen05.cuh"
#include "gemm_exact.cuh"
#include "gemm_int_decode.cuh"
#include "gemm_mma.cuh"
#include "gemm_wgmma.cuh"

namespace {

using gc::job_of;

template <bool kInt>
void exact_cta(const lb_gemm_job &j, size_t m0, size_t n0)
{
    using namespace lbg;
    static Smem sm;
    static State<kInt> st[kThreads];
    for (unsigned t = 0; t < kThreads; t++) {
        state_init(st[t]);
        build_luts<kInt>(j, sm, t, kThreads);
    }
    for (size_t k0 = 0; k0 < j.K;) {
        const unsigned kc = chunk_len(j, k0);
        const bool end = chunk_ends_block(j, k0, kc);
        for (unsigned t = 0; t < kThreads; t++)
            stage<kInt>(j, sm, m0, n0, k0, kc, end, t, kThreads);
        for (unsigned t = 0; t < kThreads; t++)
            compute<kInt>(sm, kc, t, st[t]);
        if (end)
            for (unsigned t = 0; t < kThreads; t++)
                fold<kInt>(j, sm, t, st[t]);
        k0 += kc;
    }
    for (unsigned t = 0; t < kThreads; t++)
        store<kInt>(j, m0, n0, t, st[t]);
}

// The generic exact kernel over the whole grid.
bool emulate_exact(const gc::Case &c, std::vector<uint8_t> &out)
{
    lb_gemm_job j;
    if (!job_of(c, out, &j))
        return false;
    if (j.M == 0 || j.N == 0)
        return true;
    const lb_gemm_job w = lbg::launch_job(j);
    for (size_t m0 = 0; m0 < w.M; m0 += lbg::kBM)
        for (size_t n0 = 0; n0 < w.N; n0 += lbg::kBN) {
            if (w.integer)
                exact_cta<true>(w, m0, n0);
            else
                exact_cta<false>(w, m0, n0);
        }
    return true;
}

// The PTX m16n8k{16,32} s8 MMA, lane by lane, from the documented fragment
// layout (groupID = lane / 4, t = lane % 4): A register r holds row
// groupID + 8 (r & 1), columns 16 (r >> 1) + 4 t + byte; B register r holds
// column (n) groupID, rows (k) 16 r + 4 t + byte; accumulator i holds row
// groupID + 8 (i >> 1), column 2 t + (i & 1).
template <int KS>
void mma_model(const uint32_t (*a)[KS / 8], const uint32_t (*b)[KS / 16], int32_t (*acc)[4])
{
    int8_t A[16][KS], B[8][KS];
    for (int lane = 0; lane < 32; lane++) {
        const int g = lane / 4, t = lane % 4;
        for (int r = 0; r < KS / 8; r++)
            for (int y = 0; y < 4; y++)
                A[g + 8 * (r & 1)][16 * (r >> 1) + 4 * t + y] = (int8_t)(a[lane][r] >> (8 * y));
        for (int r = 0; r < KS / 16; r++)
            for (int y = 0; y < 4; y++)
                B[g][16 * r + 4 * t + y] = (int8_t)(b[lane][r] >> (8 * y));
    }
    for (int lane = 0; lane < 32; lane++) {
        const int g = lane / 4, t = lane % 4;
        for (int i = 0; i < 4; i++) {
            const int row = g + 8 * (i >> 1), col = 2 * t + (i & 1);
            int32_t s = 0;
            for (int k = 0; k < KS; k++)
                s += (int32_t)A[row][k] * B[col][k];
            acc[lane][i] += s;
        }
    }
}

template <int KS>
void imma_cta(const lb_gemm_job &j, size_t m0, size_t n0)
{
    using namespace lbm;
    static IntSmem<KS> sm;
    static Frag st[kThreads];
    for (unsigned t = 0; t < kThreads; t++) {
        frag_init(st[t]);
        build_int_luts<KS>(j, sm, t, kThreads);
    }
    for (size_t k0 = 0; k0 < j.K; k0 += KS) {
        const bool end = (k0 + KS) % j.kblock == 0;
        for (unsigned t = 0; t < kThreads; t++)
            int_stage<KS>(j, sm, m0, n0, k0, end, t, kThreads);
        for (unsigned w = 0; w < kThreads / 32; w++) {
            for (int mi = 0; mi < kWarpTM; mi++)
                for (int ni = 0; ni < kWarpTN; ni++) {
                    uint32_t a[32][KS / 8], b[32][KS / 16];
                    int32_t acc[32][4];
                    for (unsigned lane = 0; lane < 32; lane++) {
                        load_a<KS>(sm, w, lane, mi, a[lane]);
                        load_b<KS>(sm, w, lane, ni, b[lane]);
                        for (int i = 0; i < 4; i++)
                            acc[lane][i] = st[w * 32 + lane].D[mi][ni][i];
                    }
                    mma_model<KS>(a, b, acc);
                    for (unsigned lane = 0; lane < 32; lane++)
                        for (int i = 0; i < 4; i++)
                            st[w * 32 + lane].D[mi][ni][i] = acc[lane][i];
                }
        }
        if (end)
            for (unsigned t = 0; t < kThreads; t++)
                int_fold<KS>(j, sm, t, st[t]);
    }
    for (unsigned t = 0; t < kThreads; t++)
        frag_store(j, m0, n0, t, st[t]);
}

// The integer-MMA kernel over the whole grid (false: it does not cover the case).
bool emulate_imma(const gc::Case &c, std::vector<uint8_t> &out, bool *covered)
{
    lb_gemm_job j;
    *covered = false;
    if (!job_of(c, out, &j))
        return false;
    if (j.M == 0 || j.N == 0 || j.K == 0 || !lbm::imma_covers(j))
        return true;
    *covered = true;
    const int ks = lbm::imma_kstep(j);
    for (size_t m0 = 0; m0 < j.M; m0 += lbm::kBM)
        for (size_t n0 = 0; n0 < j.N; n0 += lbm::kBN) {
            if (ks == 32)
                imma_cta<32>(j, m0, n0);
            else
                imma_cta<16>(j, m0, n0);
        }
    return true;
}

// One CTA of the integer decode kernel (columns n0 .. n0 + 15), its steps
// in the kernel's order: stage A, every warp's lanes' partial sums (the
// next chunk's loads are only a prefetch, so they are made here when used),
// then the folding lanes, chunk by chunk.
void decode_cta(const lb_gemm_job &j, size_t n0)
{
    using namespace lbd;
    static Smem sm;
    long long D[kWarps][32][kPairsPerLane] = {};
    float acc[kWarps][32][kPairsPerLane] = {};
    for (unsigned t = 0; t < (unsigned)kThreads; t++)
        build_luts(j, sm, t, kThreads);
    for (size_t k0 = 0; k0 < j.K; k0 += kChunk) {
        for (unsigned t = 0; t < (unsigned)kThreads; t++)
            stage_a(j, sm, k0, t, kThreads);
        for (unsigned w = 0; w < (unsigned)kWarps; w++) {
            const size_t nw = n0 + (size_t)w * kCols;
            if (nw >= j.N)
                continue;
            for (unsigned lane = 0; lane < 32; lane++) {
                Seg seg[kCols];
                for (int c = 0; c < kCols; c++)
                    load_seg(j.b, nw + c < j.N ? nw + c : 0, k0 + (size_t)kSeg * lane, nw + c < j.N ? j.K : 0,
                             seg[c]);
                lane_partials(j, sm, w, lane, nw, k0, seg);
            }
            for (unsigned lane = 0; lane < 32; lane++)
                for (int q = 0; q < kPairsPerLane; q++) {
                    const unsigned i = lane + 32 * q, m = i / kCols, c = i % kCols;
                    if (m < j.M && nw + c < j.N)
                        pair_fold(j, sm, w, m, c, k0, D[w][lane][q], acc[w][lane][q]);
                }
        }
    }
    for (unsigned w = 0; w < (unsigned)kWarps; w++)
        for (unsigned lane = 0; lane < 32; lane++)
            for (int q = 0; q < kPairsPerLane; q++) {
                const unsigned i = lane + 32 * q, m = i / kCols, c = i % kCols;
                const size_t n = n0 + (size_t)w * kCols + c;
                if (m < j.M && n < j.N)
                    lb_gemm_store(&j, m, n, acc[w][lane][q]);
            }
}

// The integer decode kernel over the whole grid (false: it does not cover the case).
bool emulate_decode(const gc::Case &c, std::vector<uint8_t> &out, bool *covered)
{
    lb_gemm_job j;
    *covered = false;
    if (!job_of(c, out, &j))
        return false;
    if (j.M == 0 || j.N == 0 || j.K == 0 || !lbd::covers(j))
        return true;
    *covered = true;
    for (size_t n0 = 0; n0 < j.N; n0 += lbd::kColsPerCta)
        decode_cta(j, n0);
    return true;
}

// The FP8 MMA modelled as an ideal tensor core: the 32 products of each
// output summed exactly (f64 holds them) and rounded once to f32, from the
// same fragment layout as the integer one.  Checks the FP8 kernel's staging
// of raw codes, fragments, slice sums, fold and store against the f64
// bound; the real tensor core's internal rounding only the device test sees.
void mma_fp8_model(int ta, int tb, const uint32_t (*a)[4], const uint32_t (*b)[2], float (*acc)[4])
{
    uint8_t A[16][32], B[8][32];
    for (int lane = 0; lane < 32; lane++) {
        const int g = lane / 4, t = lane % 4;
        for (int r = 0; r < 4; r++)
            for (int y = 0; y < 4; y++)
                A[g + 8 * (r & 1)][16 * (r >> 1) + 4 * t + y] = (uint8_t)(a[lane][r] >> (8 * y));
        for (int r = 0; r < 2; r++)
            for (int y = 0; y < 4; y++)
                B[g][16 * r + 4 * t + y] = (uint8_t)(b[lane][r] >> (8 * y));
    }
    for (int lane = 0; lane < 32; lane++) {
        const int g = lane / 4, t = lane % 4;
        for (int i = 0; i < 4; i++) {
            const int row = g + 8 * (i >> 1), col = 2 * t + (i & 1);
            double s = 0;
            for (int k = 0; k < 32; k++)
                s += (double)lb_decode(ta, A[row][k]) * lb_decode(tb, B[col][k]);
            acc[lane][i] = (float)s;
        }
    }
}

void fp8_cta(const lb_gemm_job &j, size_t m0, size_t n0)
{
    using namespace lbm;
    static IntSmem<32> sm;
    static FragT<float> st[kThreads];
    for (unsigned t = 0; t < kThreads; t++)
        frag_init(st[t]);
    for (size_t k0 = 0; k0 < j.K; k0 += 32) {
        const bool end = (k0 + 32) % j.kblock == 0;
        for (unsigned t = 0; t < kThreads; t++)
            int_stage<32, true>(j, sm, m0, n0, k0, end, t, kThreads);
        for (unsigned w = 0; w < kThreads / 32; w++)
            for (int mi = 0; mi < kWarpTM; mi++)
                for (int ni = 0; ni < kWarpTN; ni++) {
                    uint32_t a[32][4], b[32][2];
                    float p[32][4];
                    for (unsigned lane = 0; lane < 32; lane++) {
                        load_a<32>(sm, w, lane, mi, a[lane]);
                        load_b<32>(sm, w, lane, ni, b[lane]);
                    }
                    mma_fp8_model(j.a.q.format.elem, j.b.q.format.elem, a, b, p);
                    for (unsigned lane = 0; lane < 32; lane++)
                        for (int i = 0; i < 4; i++) {
                            volatile float d = st[w * 32 + lane].D[mi][ni][i] + p[lane][i];
                            st[w * 32 + lane].D[mi][ni][i] = d;
                        }
                }
        if (end)
            for (unsigned t = 0; t < kThreads; t++)
                f32_fold<32>(sm, t, st[t]);
    }
    for (unsigned t = 0; t < kThreads; t++)
        frag_store(j, m0, n0, t, st[t]);
}

// The fast FP8 kernel over the whole grid (covered: it takes the case).
bool emulate_fp8(const gc::Case &c, std::vector<uint8_t> &out, bool *covered)
{
    lb_gemm_job j;
    *covered = false;
    if (!job_of(c, out, &j))
        return false;
    if (j.M == 0 || j.N == 0 || !lbm::fp8_covers(j))
        return true;
    *covered = true;
    for (size_t m0 = 0; m0 < j.M; m0 += lbm::kBM)
        for (size_t n0 = 0; n0 < j.N; n0 += lbm::kBN)
            fp8_cta(j, m0, n0);
    return true;
}

// wgmma m64n64k32 of one warpgroup on the same ideal FP8 tensor core, its
// operands read from the shared-memory bytes the way the PTX ISA defines a
// descriptor without swizzling (element (r, k) of a K-major operand at
// start + (k / 16) * LBO + (r / 8) * SBO + 16 (r % 8) + k % 16), and the
// results placed by the documented D fragment (thread t, register 4 ni + i:
// row 16 (t / 32) + (t % 32) / 4 + 8 (i >> 1), column 8 ni + 2 (t % 4) +
// (i & 1)).  Written from the ISA, not from gemm_wgmma.cuh: the kernel's
// layout, descriptors and register map must agree with it.
void wgmma_model(int ta, int tb, const uint8_t *smem, uint64_t da, uint64_t db, float (*p)[32])
{
    auto field = [](uint64_t d, int lo) { return (uint32_t)((d >> lo) & 0x3FFF) << 4; };
    auto at = [&](uint64_t d, unsigned r, unsigned k) {
        if (d >> 62)
            abort();  // a swizzled layout: not what the kernel stages
        return smem[field(d, 0) + (k / 16) * field(d, 16) + (r / 8) * field(d, 32) + 16 * (r % 8) + k % 16];
    };
    for (unsigned t = 0; t < 128; t++)
        for (int reg = 0; reg < 32; reg++) {
            const unsigned ni = reg / 4, i = reg % 4;
            const unsigned row = 16 * (t / 32) + (t % 32) / 4 + 8 * (i >> 1), col = 8 * ni + 2 * (t % 4) + (i & 1);
            double s = 0;
            for (unsigned k = 0; k < 32; k++)
                s += (double)lb_decode(ta, at(da, row, k)) * lb_decode(tb, at(db, col, k));
            p[t][reg] = (float)s;
        }
}

// The Hopper kernel's CTA, thread by thread in its phase order (both stages,
// the register carry of the next chunk, the fold at block ends).
void wgmma_cta(const lb_gemm_job &j, size_t m0, size_t n0)
{
    using namespace lbw;
    static Smem sm;
    static Regs regs[kThreads];
    static Acc f[kThreads];
    static float p[128][32];
    memset(&sm, 0xA5, sizeof sm);  // stale bytes: only staged ones may be read
    const uint8_t *bytes = reinterpret_cast<const uint8_t *>(&sm);
    const bool va = vec_ok(j.a), vb = vec_ok(j.b);
    for (unsigned t = 0; t < kThreads; t++) {
        acc_init(f[t]);
        fetch(j, va, vb, m0, n0, 0, t, regs[t]);
        put(j, 0, sm.st[0], t, regs[t]);
    }
    unsigned buf = 0;
    for (size_t k0 = 0; k0 < j.K; k0 += kKC) {
        const size_t k1 = k0 + kKC;
        if (k1 < j.K)
            for (unsigned t = 0; t < kThreads; t++)
                fetch(j, va, vb, m0, n0, k1, t, regs[t]);
        for (unsigned s = 0; s < slices_at(j, k0); s++) {
            for (unsigned wg = 0; wg < (unsigned)kWG; wg++) {
                wgmma_model(j.a.q.format.elem, j.b.q.format.elem, bytes, desc_a(0, buf, s, wg), desc_b(0, buf, s), p);
                for (unsigned t = 0; t < 128; t++)
                    add_slice(f[128 * wg + t], p[t]);
            }
            if (slice_ends_block(j, k0, s))
                for (unsigned t = 0; t < kThreads; t++)
                    fold(sm.st[buf], s, t, f[t]);
        }
        if (k1 < j.K)
            for (unsigned t = 0; t < kThreads; t++)
                put(j, k1, sm.st[buf ^ 1], t, regs[t]);
        buf ^= 1;
    }
    for (unsigned t = 0; t < kThreads; t++)
        store(j, m0, n0, t, f[t]);
}

bool emulate_wgmma(const gc::Case &c, std::vector<uint8_t> &out)
{
    lb_gemm_job j;
    if (!job_of(c, out, &j))
        return false;
    if (j.M == 0 || j.N == 0 || !lbm::fp8_covers(j))
        return false;
    for (size_t m0 = 0; m0 < j.M; m0 += lbw::kBM)
        for (size_t n0 = 0; n0 < j.N; n0 += lbw::kBN)
            wgmma_cta(j, m0, n0);
    return true;
}

// A scale byte as the block-scaled MMAs read it: ue4m3, or ue8m0 (2^(c -
// 127)).  A byte those types cannot hold (ue4m3 with its sign bit or the NaN
// code, the ue8m0 NaN) aborts, naming the model: the kernels must never pass one.
double model_scale(bool ue4m3, uint32_t c, const char *model)
{
    const char *bad = ue4m3 ? (c & 0x80u || c == 0x7Fu ? "a ue4m3 scale with its sign bit or the NaN code" : nullptr)
                            : (c == 0xFFu ? "the ue8m0 NaN scale" : nullptr);
    if (bad) {
        fprintf(stderr, "FAIL %s: the kernel passed the MMA %s\n", model, bad);
        abort();
    }
    return ue4m3 ? lb_decode(LOWBIT_E4M3, c) : ldexp(1.0, (int)c - 127);
}

// mma.sync ... block_scale on an ideal tensor core, written from the PTX
// ISA's fragment and scale-factor layouts (groupID g = lane / 4, t = lane %
// 4), not from gemm_block_scaled.cuh:
//   kind::mxf8f6f4 m16n8k32: A register r byte y is row g + 8 (r & 1),
//     k = 16 (r >> 1) + 4 t + y; B register r byte y is column g,
//     k = 16 r + 4 t + y; each byte one element: FP8 as is, FP6 in bits
//     5..0, FP4 in bits 5..2, the other bits zero.
//   kind::mxf4nvf4 m16n8k64: A register r nibble y is row g + 8 (r & 1),
//     k = 32 (r >> 1) + 8 t + y; B register r nibble y is column g,
//     k = 32 r + 8 t + y.
//   Scales (thread-id and byte-id selectors 0): row g's from lane 4g, row
//     g + 8's from lane 4g + 1, column g's from lane 4g; byte i of the word
//     scales k in [i V, (i + 1) V), V = 32 (1X, 2X) or 16 (4X); ue8m0 is
//     2^(c - 127), ue4m3 an unsigned E4M3.
// The products are summed exactly (f64) and rounded once to f32.  A scale
// the types cannot hold (ue8m0 0xFF, a ue4m3 with its sign bit or the NaN
// code) or an FP4 / FP6 container with stray bits aborts: the kernel must
// never pass one.
void mma_bs_model(int kind, int ta, int tb, const uint32_t (*a)[4], const uint32_t (*b)[2], const uint32_t *sa,
                  const uint32_t *sb, float (*acc)[4])
{
    const int KC = kind == lbs::kMx8 ? 32 : 64;
    double A[16][64], B[8][64], SA[16][4], SB[8][4];
    auto reject = [](const char *what) {
        fprintf(stderr, "FAIL block-scaled: the kernel passed the MMA %s\n", what);
        abort();
    };
    auto elem = [&](int type, uint32_t byte) -> double {
        if (type == LOWBIT_E2M1) {
            if (byte & 0xC3u)
                reject("an FP4 container with bits outside 5..2");
            return lb_decode(type, byte >> 2);
        }
        if (lb_bits(type) == 6 && (byte & 0xC0u))
            reject("an FP6 container with bits 7..6 set");
        return lb_decode(type, byte);
    };
    auto scale = [&](uint32_t c) { return model_scale(kind == lbs::kNvFp4, c, "block-scaled"); };
    const int nsc = kind == lbs::kMx8 ? 1 : kind == lbs::kMxFp4 ? 2 : 4, V = KC / nsc;
    for (int lane = 0; lane < 32; lane++) {
        const int g = lane / 4, t = lane % 4;
        for (int r = 0; r < 4; r++) {
            const int row = g + 8 * (r & 1);
            if (kind == lbs::kMx8)
                for (int y = 0; y < 4; y++)
                    A[row][16 * (r >> 1) + 4 * t + y] = elem(ta, (a[lane][r] >> (8 * y)) & 0xFFu);
            else
                for (int y = 0; y < 8; y++)
                    A[row][32 * (r >> 1) + 8 * t + y] = lb_decode(LOWBIT_E2M1, (a[lane][r] >> (4 * y)) & 0xFu);
        }
        for (int r = 0; r < 2; r++) {
            if (kind == lbs::kMx8)
                for (int y = 0; y < 4; y++)
                    B[g][16 * r + 4 * t + y] = elem(tb, (b[lane][r] >> (8 * y)) & 0xFFu);
            else
                for (int y = 0; y < 8; y++)
                    B[g][32 * r + 8 * t + y] = lb_decode(LOWBIT_E2M1, (b[lane][r] >> (4 * y)) & 0xFu);
        }
        for (int i = 0; i < nsc; i++) {
            if (t == 0 || t == 1)
                SA[g + 8 * t][i] = scale((sa[lane] >> (8 * i)) & 0xFFu);
            if (t == 0)
                SB[g][i] = scale((sb[lane] >> (8 * i)) & 0xFFu);
        }
    }
    for (int lane = 0; lane < 32; lane++) {
        const int g = lane / 4, t = lane % 4;
        for (int i = 0; i < 4; i++) {
            const int row = g + 8 * (i >> 1), col = 2 * t + (i & 1);
            double s = 0;
            for (int k = 0; k < KC; k++)
                s += A[row][k] * SA[row][k / V] * B[col][k] * SB[col][k / V];
            acc[lane][i] = (float)s;
        }
    }
}

// The block-scaled kernel's CTA, thread by thread in its phase order.
template <int kKind>
void bs_cta(const lb_gemm_job &j, size_t m0, size_t n0)
{
    using namespace lbs;
    constexpr int KC = kind_codes(kKind);
    static BsSmem sm;
    static FragT<float> st[kThreads];
    bool bad[kThreads] = {};
    memset(&sm, 0xA5, sizeof sm);  // stale bytes: only staged ones may be read
    for (unsigned t = 0; t < kThreads; t++)
        frag_init(st[t]);
    const int ta = j.a.q.format.elem, tb = j.b.q.format.elem;
    for (size_t k0 = 0; k0 < j.K; k0 += KC) {
        for (unsigned t = 0; t < kThreads; t++)
            bad[t] |= stage_bs<kKind>(j, sm, m0, n0, k0, t);
        for (unsigned w = 0; w < kThreads / 32; w++)
            for (int mi = 0; mi < kWarpTM; mi++)
                for (int ni = 0; ni < kWarpTN; ni++) {
                    uint32_t a[32][4], b[32][2], sa[32], sb[32];
                    float p[32][4];
                    for (unsigned lane = 0; lane < 32; lane++) {
                        load_a<32>(sm, w, lane, mi, a[lane]);
                        load_b<32>(sm, w, lane, ni, b[lane]);
                        sa[lane] = scale_frag_a(sm, w, lane, mi);
                        sb[lane] = scale_frag_b(sm, w, lane, ni);
                    }
                    mma_bs_model(kKind, ta, tb, a, b, sa, sb, p);
                    for (unsigned lane = 0; lane < 32; lane++)
                        add_mma(st[w * 32 + lane], mi, ni, p[lane]);
                }
    }
    for (unsigned t = 0; t < kThreads; t++)
        publish_bad(sm, t, bad[t]);
    for (unsigned t = 0; t < kThreads; t++) {
        mark_nan(sm, t, st[t]);
        frag_store(j, m0, n0, t, st[t]);
    }
}

// cta(j, m0, n0, kind) over every bm x bn tile of case c's job, kind being
// what kind_of(j) says the kernel takes (-1: it does not take the job).
template <class KindOf, class Cta>
bool emulate_tiles(const gc::Case &c, std::vector<uint8_t> &out, int *kind, size_t bm, size_t bn, KindOf kind_of,
                   Cta cta)
{
    lb_gemm_job j;
    *kind = -1;
    if (!job_of(c, out, &j))
        return false;
    if (j.M == 0 || j.N == 0)
        return true;
    *kind = kind_of(j);
    if (*kind >= 0)
        for (size_t m0 = 0; m0 < j.M; m0 += bm)
            for (size_t n0 = 0; n0 < j.N; n0 += bn)
                cta(j, m0, n0, *kind);
    return true;
}

// The block-scaled kernel over the whole grid (kind: which MMA it took, -1 none).
bool emulate_bs(const gc::Case &c, std::vector<uint8_t> &out, int *kind)
{
    return emulate_tiles(c, out, kind, lbm::kBM, lbm::kBN, lbs::bs_kind, [](const lb_gemm_job &j, size_t m0,
                                                                             size_t n0, int k) {
        if (k == lbs::kMx8)
            bs_cta<lbs::kMx8>(j, m0, n0);
        else if (k == lbs::kMxFp4)
            bs_cta<lbs::kMxFp4>(j, m0, n0);
        else
            bs_cta<lbs::kNvFp4>(j, m0, n0);
    });
}

// A model of tcgen05 on sm_100a, from the PTX ISA's formats: tensor memory
// (128 lanes x 512 columns of 32 bits), tcgen05.cp .32x128b.warpx4 and
// tcgen05.mma.cta_group::1 ... block_scale with A and B in shared memory.
// Shared memory is read only through the descriptors (K-major, no
// swizzle: the 16-byte unit of row r and K unit c at start + c LBO +
// (r / 8) SBO + (r % 8) 16).  The elements of a unit: kind::mxf8f6f4, 16
// codes (bytes, or FP6 / FP4 packed at bit 6e / 4e with the rest zero);
// kind::mxf4 and kind::mxf4nvf4, 32 FP4 codes (nibble e, low first).  The
// scale of row (or column) r for k: lane r, column base + r / 32, byte
// sf_id + k / 32 (1X: 32 k; 2X: 64 k, sf_id 0 or 2) or k / 16 (4X, sf_id 0).
// Products summed exactly, rounded once to f32, written from zero.
// Anything outside what the kernel may pass (reserved descriptor bits, a
// shape other than 128 x 128, a NaN or signed scale, stray container bits)
// aborts.
struct T5Model {
    uint32_t tmem[128][512];
    const uint8_t *smem;  // the kernel's T5Smem, at shared address kAddr0
    static constexpr uint32_t kAddr0 = 0x400;

    [[noreturn]] static void reject(const char *what)
    {
        fprintf(stderr, "FAIL tcgen05: the kernel passed %s\n", what);
        abort();
    }
    const uint8_t *unit(uint64_t desc, unsigned row, unsigned c) const
    {
        if ((desc >> 14 & 3) || (desc >> 30 & 3) || (desc >> 46 & 7) != 1 || (desc >> 49 & 0x7FF) || (desc >> 61))
            reject("a shared-memory descriptor with reserved, base-offset, mode or swizzle bits");
        const uint32_t start = (uint32_t)(desc & 0x3FFF) << 4, lbo = (uint32_t)(desc >> 16 & 0x3FFF) << 4,
                       sbo = (uint32_t)(desc >> 32 & 0x3FFF) << 4;
        const uint32_t addr = start + c * lbo + (row / 8) * sbo + (row % 8) * 16;
        if (addr < kAddr0 || addr + 16 > kAddr0 + sizeof(lbt::T5Smem))
            reject("a descriptor reaching outside the kernel's shared memory");
        return smem + (addr - kAddr0);
    }
    static unsigned column(uint32_t taddr)
    {
        if (taddr >> 16)
            reject("a tensor-memory address with lane bits");
        return taddr & 0xFFFF;
    }
    void cp(uint32_t taddr, uint64_t desc)
    {
        const unsigned col = column(taddr);
        if (col + 4 > 512)
            reject("a copy past the allocation");
        for (unsigned l = 0; l < 32; l++) {
            const uint8_t *u = unit(desc, l, 0);
            for (unsigned q = 0; q < 4; q++)
                for (unsigned c = 0; c < 4; c++)
                    memcpy(&tmem[32 * q + l][col + c], u + 4 * c, 4);
        }
    }
    // Element e of a 16-byte unit u of type `type` (kind::mxf4 / mxf4nvf4: packed FP4).
    static double element(int kind, int type, const uint8_t *u, unsigned e)
    {
        if (kind != lbs::kMx8)
            return lb_decode(LOWBIT_E2M1, (u[e / 2] >> (4 * (e % 2))) & 0xFu);
        const unsigned bits = lb_bits(type);
        for (unsigned b = 16 * bits; b < 128; b++)  // (16 elements use 16 * bits of the 128)
            if (u[b / 8] >> (b % 8) & 1)
                reject("a sub-byte unit with bits set in its padding");
        uint32_t code = 0;
        for (unsigned b = 0; b < bits; b++)
            code |= (uint32_t)(u[(bits * e + b) / 8] >> ((bits * e + b) % 8) & 1) << b;
        return lb_decode(type, code);
    }
    double scale(int kind, uint32_t taddr, unsigned r, unsigned byte) const
    {
        const unsigned col = column(taddr) + r / 32;
        if (byte > 3)
            reject("scales past the four bytes of a column");
        return model_scale(kind == lbs::kNvFp4, tmem[r][col] >> (8 * byte) & 0xFFu, "tcgen05");
    }
    void mma(int kind, uint32_t d, uint64_t adesc, uint64_t bdesc, uint32_t idesc, uint32_t sfa, uint32_t sfb)
    {
        static const int mx_types[8] = {LOWBIT_E4M3, LOWBIT_E5M2, -1, LOWBIT_E2M3, LOWBIT_E3M2, LOWBIT_E2M1, -1, -1};
        if ((idesc & 0xF) || (idesc >> 6 & 1) || (idesc >> 13 & 0xF) || (idesc >> 31))
            reject("an instruction descriptor with sparsity, negation, MN-major or K-size bits");
        if ((idesc >> 17 & 0x3F) * 8 != 128 || (idesc >> 24 & 0x1F) * 16 != 128)
            reject("an instruction descriptor whose shape is not 128 x 128");
        const unsigned fa = idesc >> 7 & 7, fb = idesc >> 10 & 7, sfa_id = idesc >> 29 & 3, sfb_id = idesc >> 4 & 3;
        const bool e8m0 = idesc >> 23 & 1;
        int ta = LOWBIT_E2M1, tb = LOWBIT_E2M1;
        if (kind == lbs::kNvFp4) {
            if (fa != 1 || fb != 1 || e8m0 || sfa_id || sfb_id)
                reject("a kind::mxf4nvf4 .4X descriptor other than E2M1 x E2M1, ue4m3, scale ids 0");
        } else if (kind == lbs::kMxFp4) {
            if (fa != 1 || fb != 1 || !e8m0 || sfa_id % 2 || sfa_id != sfb_id)
                reject("a kind::mxf4 .2X descriptor other than E2M1 x E2M1, ue8m0, equal scale ids 0 or 2");
        } else {
            ta = mx_types[fa], tb = mx_types[fb];
            if (ta < 0 || tb < 0 || !e8m0 || sfa_id != sfb_id)
                reject("a kind::mxf8f6f4 descriptor with an unknown type, a ue4m3 scale or unequal scale ids");
        }
        const unsigned KC = kind == lbs::kMx8 ? 32 : 64, per_unit = kind == lbs::kMx8 ? 16 : 32;
        const unsigned vec = kind == lbs::kNvFp4 ? 16 : 32;  // k a scale byte serves
        static double A[128][64], B[128][64];
        for (unsigned r = 0; r < 128; r++)
            for (unsigned k = 0; k < KC; k++) {
                A[r][k] = element(kind, ta, unit(adesc, r, k / per_unit), k % per_unit) *
                          scale(kind, sfa, r, sfa_id + k / vec);
                B[r][k] = element(kind, tb, unit(bdesc, r, k / per_unit), k % per_unit) *
                          scale(kind, sfb, r, sfb_id + k / vec);
            }
        const unsigned col = column(d);
        if (col + 128 > 512)
            reject("an accumulator past the allocation");
        for (unsigned m = 0; m < 128; m++)
            for (unsigned n = 0; n < 128; n++) {
                double s = 0;
                for (unsigned k = 0; k < KC; k++)
                    s += A[m][k] * B[n][k];
                const float f = (float)s;
                memcpy(&tmem[m][col + n], &f, 4);
            }
    }
};

// The tcgen05 kernel's CTA in its phase order: every thread stages, thread
// 0's copies and MMAs, every thread's tcgen05.ld of its lane.
template <int kKind>
void t5_cta(const lb_gemm_job &j, size_t m0, size_t n0)
{
    using namespace lbt;
    constexpr int KC = lbs::kind_codes(kKind);
    constexpr uint32_t base = T5Model::kAddr0;
    static T5Smem sm;
    static T5Model tc;
    static float acc[kThreads][kTN];
    bool bad_a[kThreads] = {}, bad_b[kThreads] = {};
    memset(&sm, 0xA5, sizeof sm);  // stale bytes: only staged ones may be read
    memset(tc.tmem, 0xA5, sizeof tc.tmem);
    memset(acc, 0, sizeof acc);
    tc.smem = (const uint8_t *)&sm;
    const int ta = lbs::mx_type_index(j.a.q.format.elem), tb = lbs::mx_type_index(j.b.q.format.elem);
    const uint32_t tmem = 0;  // the allocation's base
    for (size_t k0 = 0; k0 < j.K; k0 += (size_t)(kStepMmas * KC)) {
        const int nmma = step_mmas<kKind>(j, k0);
        for (unsigned t = 0; t < kThreads; t++)
            stage_t5<kKind>(j, sm, m0, n0, k0, nmma, t, &bad_a[t], &bad_b[t]);
        for (int g = 0; g < nmma; g += kGroup) {
            const int ng = nmma - g < kGroup ? nmma - g : kGroup;
            if (g == 0)
                for (int x = 0; x < step_atoms(kKind, nmma); x++) {
                    tc.cp(tmem + sfa_col((unsigned)x), desc_sf(base + (uint32_t)(offsetof(T5Smem, sfa) + 512 * x)));
                    tc.cp(tmem + sfb_col((unsigned)x), desc_sf(base + (uint32_t)(offsetof(T5Smem, sfb) + 512 * x)));
                }
            for (int i = g; i < g + ng; i++)
                tc.mma(kKind, tmem + (uint32_t)(i - g) * kTN, desc_op(base + (uint32_t)offsetof(T5Smem, a), i),
                       desc_op(base + (uint32_t)offsetof(T5Smem, b), i), t5_idesc(kKind, ta, tb, i),
                       tmem + sfa_col(atom_of(kKind, i)), tmem + sfb_col(atom_of(kKind, i)));
            for (unsigned t = 0; t < kThreads; t++)
                for (int i = 0; i < ng; i++)
                    for (int n = 0; n < kTN; n++) {
                        float v;
                        memcpy(&v, &tc.tmem[t][(unsigned)(i * kTN + n)], 4);
                        acc[t][n] = lbg::add_rn(acc[t][n], v);
                    }
        }
    }
    for (unsigned t = 0; t < kThreads; t++)
        sm.bad_a[t] = bad_a[t], sm.bad_b[t] = bad_b[t];
    for (int c = 0; c < kTN; c += 32) {
        for (unsigned t = 0; t < kThreads; t++)
            put_chunk(sm, t, acc[t], c);
        for (unsigned t = 0; t < kThreads; t++)
            store_chunk(j, sm, m0, n0, c, t);
    }
}

// The tcgen05 kernel over the whole grid (kind: which MMA it took, -1 none).
bool emulate_t5(const gc::Case &c, std::vector<uint8_t> &out, int *kind)
{
    return emulate_tiles(c, out, kind, lbt::kTM, lbt::kTN, lbs::bs_kind, [](const lb_gemm_job &j, size_t m0,
                                                                          size_t n0, int k) {
        if (k == lbs::kMx8)
            t5_cta<lbs::kMx8>(j, m0, n0);
        else if (k == lbs::kMxFp4)
            t5_cta<lbs::kMxFp4>(j, m0, n0);
        else
            t5_cta<lbs::kNvFp4>(j, m0, n0);
    });
}

}  // namespace

int main(void)
{
    gc::Rng rng(20261202);
    const std::vector<gc::Pair> pairs = gc::all_pairs();
    const size_t Ms[] = {1, 5, 64, 70};
    const size_t Ns[] = {1, 7, 64, 130};
    size_t cases = 0, imma_cases = 0, decode_cases = 0, fails = 0, skipped = 0;
    for (const gc::Pair &p : pairs) {
        for (int v = 0; v < 6; v++) {
            gc::Case c;
            const size_t M = Ms[rng.below(4)], N = Ns[rng.below(4)];
            size_t K = v == 5 && rng.below(3) == 0 ? 0 : gc::pick_k(p, rng);
            if (!gc::make_case(c, p, M, N, K, v % 3, rng)) {
                skipped++;
                continue;
            }
            std::vector<uint8_t> ref, got;
            if (gc::reference(c, ref) != LOWBIT_OK) {
                fprintf(stderr, "FAIL %s: lowbit_gemm: %s\n", p.name.c_str(), lowbit_last_error());
                fails++;
                continue;
            }
            cases++;
            if (!emulate_exact(c, got)) {
                fails++;
                continue;
            }
            size_t d = gc::first_diff(c, ref, got);
            if (d != SIZE_MAX) {
                fails++;
                fprintf(stderr, "FAIL exact %s M=%zu N=%zu K=%zu mode=%d c=%s: element (%zu, %zu): %a, reference %a\n",
                        p.name.c_str(), M, N, K, c.mode, lowbit_dtype_name(c.c_type), d / c.ldc, d % c.ldc,
                        gc::c_at(c, got, d / c.ldc, d % c.ldc), gc::c_at(c, ref, d / c.ldc, d % c.ldc));
            }
            // The exact kernels for their share of the jobs: bit for bit.
            const struct {
                const char *name;
                bool (*emulate)(const gc::Case &, std::vector<uint8_t> &, bool *);
                size_t *count;
            } kernels[] = {{"imma", emulate_imma, &imma_cases}, {"decode", emulate_decode, &decode_cases}};
            for (const auto &k : kernels) {
                bool covered;
                if (!k.emulate(c, got, &covered)) {
                    fails++;
                    continue;
                }
                if (!covered)
                    continue;
                (*k.count)++;
                d = gc::first_diff(c, ref, got);
                if (d != SIZE_MAX) {
                    fails++;
                    fprintf(stderr, "FAIL %s %s M=%zu N=%zu K=%zu mode=%d: element (%zu, %zu): %a, reference %a\n",
                            k.name, p.name.c_str(), M, N, K, c.mode, d / c.ldc, d % c.ldc,
                            gc::c_at(c, got, d / c.ldc, d % c.ldc), gc::c_at(c, ref, d / c.ldc, d % c.ldc));
                }
            }
        }
    }
    // The FP8 kernel (ideal tensor core) against the f64 bound.
    size_t fp8_cases = 0, wgmma_cases = 0;
    const size_t fp8_Ms[] = {1, 5, 70, 130};  // 130: past the wgmma kernel's 128-row tile
    for (const gc::Pair &p : pairs) {
        if (!gc::ocp_fp8_pair(p))
            continue;
        for (int v = 0; v < 6; v++) {
            gc::Case c;
            size_t K = (gc::pick_k(p, rng) + 31) / 32 * 32;
            if (K % 128 && (p.a.block_cols == 128 || p.b.block_cols == 128))
                K = 128;
            if (!gc::make_case(c, p, fp8_Ms[rng.below(4)], Ns[rng.below(4)], K, v == 4 ? 1 : 0, rng)) {
                skipped++;
                continue;
            }
            std::vector<uint8_t> got;
            bool covered;
            if (!emulate_fp8(c, got, &covered) || !covered) {
                fails++;
                fprintf(stderr, "FAIL fp8 %s K=%zu: the FP8 kernel does not take it\n", p.name.c_str(), K);
                continue;
            }
            fp8_cases++;
            char why[256];
            if (!gc::fast_check(c, got, why, sizeof why)) {
                fails++;
                fprintf(stderr, "FAIL fp8 %s M=%zu N=%zu K=%zu mode=%d: %s\n", p.name.c_str(), c.M, c.N, K, c.mode,
                        why);
            }
            // The Hopper kernel: same model tensor core, same order, so the
            // same bits as the mma.sync kernel.
            std::vector<uint8_t> wg;
            if (!emulate_wgmma(c, wg)) {
                fails++;
                fprintf(stderr, "FAIL wgmma %s K=%zu: the kernel does not take it\n", p.name.c_str(), K);
                continue;
            }
            wgmma_cases++;
            const size_t d = gc::first_diff(c, got, wg);
            if (d != SIZE_MAX) {
                fails++;
                fprintf(stderr, "FAIL wgmma %s M=%zu N=%zu K=%zu mode=%d: element (%zu, %zu): %a, mma.sync kernel %a\n",
                        p.name.c_str(), c.M, c.N, K, c.mode, d / c.ldc, d % c.ldc, gc::c_at(c, wg, d / c.ldc, d % c.ldc),
                        gc::c_at(c, got, d / c.ldc, d % c.ldc));
            }
        }
    }
    // The block-scaled kernel (sm_120a; model block-scaled MMA) against the
    // f64 bound with exact scale products, over every MX pair of tensor-core
    // element types and NVFP4 x NVFP4, random scale bytes (NaN, negative
    // E4M3 scales) included in mode 2.
    size_t bs_cases[3] = {0, 0, 0}, t5_cases[3] = {0, 0, 0};
    for (const gc::Pair &p : pairs) {
        if (!gc::block_scaled_slice(p, 64))
            continue;
        const bool fp4 = p.a.elem == LOWBIT_E2M1 && p.b.elem == LOWBIT_E2M1;  // two kinds each: more cases
        for (int v = 0; v < (fp4 ? 24 : 6); v++) {
            gc::Case c;
            const size_t K = fp4 && v % 4 ? 64 * (1 + rng.below(5)) : 32 * (1 + rng.below(10));
            if (!gc::make_case(c, p, fp8_Ms[rng.below(4)], Ns[rng.below(4)], K, v % 3, rng)) {
                skipped++;
                continue;
            }
            std::vector<uint8_t> got;
            int kind;
            if (!emulate_bs(c, got, &kind)) {
                fails++;
                continue;
            }
            const int slice = gc::block_scaled_slice(p, K);
            if ((kind < 0 ? 0 : lbs::kind_codes(kind)) != slice) {
                fails++;
                fprintf(stderr, "FAIL block-scaled %s K=%zu: kind %d, expected MMAs of %d k\n", p.name.c_str(), K,
                        kind, slice);
                continue;
            }
            if (kind < 0)
                continue;
            bs_cases[kind]++;
            char why[256];
            if (!gc::fast_check(c, got, why, sizeof why, gc::block_scaled_bound(slice))) {
                fails++;
                fprintf(stderr, "FAIL block-scaled %s M=%zu N=%zu K=%zu mode=%d: %s\n", p.name.c_str(), c.M, c.N, K,
                        c.mode, why);
            }
            // The tcgen05 kernel (sm_100a): the same MMAs in the same order
            // give the same bits.
            std::vector<uint8_t> t5;
            int t5_kind;
            if (!emulate_t5(c, t5, &t5_kind) || t5_kind != kind) {
                fails++;
                fprintf(stderr, "FAIL tcgen05 %s K=%zu: kind %d, the block-scaled kernel's %d\n", p.name.c_str(), K,
                        t5_kind, kind);
                continue;
            }
            t5_cases[kind]++;
            const size_t d = gc::first_diff(c, got, t5);
            if (d != SIZE_MAX) {
                fails++;
                fprintf(stderr, "FAIL tcgen05 %s M=%zu N=%zu K=%zu mode=%d: element (%zu, %zu): %a, mma.sync kernel %a\n",
                        p.name.c_str(), c.M, c.N, K, c.mode, d / c.ldc, d % c.ldc,
                        gc::c_at(c, t5, d / c.ldc, d % c.ldc), gc::c_at(c, got, d / c.ldc, d % c.ldc));
            }
        }
    }
    printf("gemm host emulation: %zu pairs, %zu cases on the exact kernel, %zu on the integer-MMA kernel, "
           "%zu on the integer decode kernel, "
           "%zu on the FP8 kernel (model tensor core, f64 bound), %zu on the wgmma kernel (same bits), "
           "%zu / %zu / %zu on the block-scaled kernel (mxf8f6f4 / MXFP4 / NVFP4, model MMA, f64 bound) and "
           "%zu / %zu / %zu on the tcgen05 kernel (model tcgen05, bit-identical to the block-scaled kernel), "
           "%zu not built, %zu failures\n", pairs.size(), cases, imma_cases, decode_cases, fp8_cases, wgmma_cases, bs_cases[0],
           bs_cases[1], bs_cases[2], t5_cases[0], t5_cases[1], t5_cases[2], skipped, fails);
    bool every_kind = true;
    for (int k = 0; k < 3; k++)
        every_kind &= bs_cases[k] > 0 && t5_cases[k] > 0;
    return fails || cases == 0 || decode_cases == 0 || !every_kind ? 1 : 0;
}
