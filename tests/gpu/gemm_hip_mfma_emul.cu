// gemm_hip_mfma_emul.cu - the HIP MFMA GEMM kernels (kernels/cuda/
// gemm_mfma.cu, and gemm_mfma_fp8.cu: see fp8_section) run on the host.  Its own tile functions (gemm_mfma.cuh:
// staging, operand loads, accumulator mapping, fold, store) are executed
// lane by lane, wavefront by wavefront, CTA by CTA, with the instruction
// modelled as an exact s8 x s8 -> s32 16 x 16 product written from AMD's
// documented register layout, for both instruction depths (gfx90a's
// v_mfma_i32_16x16x16i8, gfx940's v_mfma_i32_16x16x32_i8), and every output
// is compared bit for bit with lowbit_gemm over the integer pairs of
// gemm_cases.h.  No hipcc and no GPU needed: nvcc compiles it as host code
// (suite cuda-host).  No AMD GPU has run the kernel; this is what checks its
// arithmetic and layout.
#include <stdio.h>
#include <stdlib.h>

#include <vector>

#include "gemm_cases.h"
#include "gemm_emul.h"
#include "gemm_mfma.cuh"

namespace {

using gc::job_of;

// v_mfma_i32_16x16x{16,32}[_]i8 over one wavefront, from the register layout
// of AMD's Matrix Instruction Calculator (gfx9 / CDNA rules, M = N = 16, one
// block): with E = KI / 4 int8 per lane (one VGPR for KI = 16, a VGPR pair
// for KI = 32), A[i][k] is byte k % E of lane 16 (k / E) + i, B[k][j] byte
// k % E of lane 16 (k / E) + j; D[i][j] is VGPR i % 4 of lane 16 (i / 4) + j.
// D = A B + C, every sum exact (the kernel's jobs keep it inside s32).
template <int KI>
void mfma_model(const uint64_t *a, const uint64_t *b, int32_t (*acc)[4])
{
    constexpr int E = KI / 4;
    int8_t A[16][KI], B[KI][16];
    for (int lane = 0; lane < 64; lane++)
        for (int e = 0; e < E; e++) {
            A[lane % 16][E * (lane / 16) + e] = (int8_t)(a[lane] >> (8 * e));
            B[E * (lane / 16) + e][lane % 16] = (int8_t)(b[lane] >> (8 * e));
        }
    for (int lane = 0; lane < 64; lane++)
        for (int v = 0; v < 4; v++) {
            const int i = 4 * (lane / 16) + v, jj = lane % 16;
            int32_t s = 0;
            for (int k = 0; k < KI; k++)
                s += (int32_t)A[i][k] * B[k][jj];
            acc[lane][v] += s;
        }
}

template <int KS, int KI>
void mfma_cta(const lb_gemm_job &j, size_t m0, size_t n0)
{
    using namespace lbmf;
    static IntSmem<KS> sm;
    static Frag st[kThreads];
    for (unsigned t = 0; t < kThreads; t++) {
        frag_init(st[t]);
        lbm::build_int_luts<KS>(j, sm, t, kThreads);
    }
    for (size_t k0 = 0; k0 < j.K; k0 += KS) {
        const bool end = (k0 + KS) % j.kblock == 0;
        for (unsigned t = 0; t < kThreads; t++)
            lbm::int_stage<KS>(j, sm, m0, n0, k0, end, t, kThreads);
        for (unsigned w = 0; w < kThreads / kWave; w++)
            for (int s = 0; s < Step<KS, KI>::count; s++)
                for (int mi = 0; mi < kWaveTM; mi++)
                    for (int ni = 0; ni < kWaveTN; ni++) {
                        uint64_t a[kWave], b[kWave];
                        int32_t acc[kWave][4];
                        for (unsigned lane = 0; lane < kWave; lane++) {
                            a[lane] = load_a<KS, KI>(sm, w, lane, mi, s);
                            b[lane] = load_b<KS, KI>(sm, w, lane, ni, s);
                            for (int v = 0; v < 4; v++)
                                acc[lane][v] = st[w * kWave + lane].D[mi][ni][v];
                        }
                        mfma_model<KI>(a, b, acc);
                        for (unsigned lane = 0; lane < kWave; lane++)
                            for (int v = 0; v < 4; v++)
                                st[w * kWave + lane].D[mi][ni][v] = acc[lane][v];
                    }
        if (end)
            for (unsigned t = 0; t < kThreads; t++)
                fold<KS>(j, sm, t, st[t]);
    }
    for (unsigned t = 0; t < kThreads; t++)
        frag_store(j, m0, n0, t, st[t]);
}

// The kernel over the whole grid, instruction depth KI (16: gfx90a, 32:
// gfx940).  covered: lb_hip_gemm_mfma_covers would take the case.
template <int KI>
bool emulate_mfma(const gc::Case &c, std::vector<uint8_t> &out, bool *covered, int *ks)
{
    lb_gemm_job j;
    *covered = false;
    if (!job_of(c, out, &j))
        return false;
    if (j.M == 0 || j.N == 0 || !lbm::imma_covers(j))
        return true;
    *covered = true;
    *ks = lbm::imma_kstep(j);
    for (size_t m0 = 0; m0 < j.M; m0 += lbmf::kBM)
        for (size_t n0 = 0; n0 < j.N; n0 += lbmf::kBN) {
            if (*ks == 32)
                mfma_cta<32, KI>(j, m0, n0);
            else
                mfma_cta<16, KI>(j, m0, n0);
        }
    return true;
}

// v_mfma_f32_16x16x32_{fp8,bf8}_{fp8,bf8} (gfx940) over one wavefront as an
// ideal FP8 matrix core, from the same documented layout as the i8 form of
// that depth: A[i][k] byte k % 8 of lane 16 (k / 8) + i, B[k][j] byte k % 8
// of lane 16 (k / 8) + j, D[i][j] VGPR i % 4 of lane 16 (i / 4) + j.  The
// codes decode as FNUZ (fp8 = E4M3FNUZ, bf8 = E5M2FNUZ); each output is the
// 32 products summed in f64 in order k = 0..31 and rounded once to f32,
// from zero (the kernel's accumulator input).
void mfma_fp8_model(lowbit_dtype ta, lowbit_dtype tb, const uint64_t *a, const uint64_t *b, float (*p)[4])
{
    uint8_t A[16][32], B[32][16];
    for (int lane = 0; lane < 64; lane++)
        for (int e = 0; e < 8; e++) {
            A[lane % 16][8 * (lane / 16) + e] = (uint8_t)(a[lane] >> (8 * e));
            B[8 * (lane / 16) + e][lane % 16] = (uint8_t)(b[lane] >> (8 * e));
        }
    for (int lane = 0; lane < 64; lane++)
        for (int v = 0; v < 4; v++) {
            const int i = 4 * (lane / 16) + v, jj = lane % 16;
            double s = 0;
            for (int k = 0; k < 32; k++)
                s += (double)lb_decode(ta, A[i][k]) * lb_decode(tb, B[k][jj]);
            p[lane][v] = (float)s;
        }
}

void mfma_fp8_cta(const lb_gemm_job &j, size_t m0, size_t n0)
{
    using namespace lbmf;
    static IntSmem<32> sm;
    static FragF st[kThreads];
    for (unsigned t = 0; t < kThreads; t++)
        frag_init(st[t]);
    for (size_t k0 = 0; k0 < j.K; k0 += 32) {
        const bool end = (k0 + 32) % j.kblock == 0;
        for (unsigned t = 0; t < kThreads; t++)
            lbm::int_stage<32, true>(j, sm, m0, n0, k0, end, t, kThreads);
        for (unsigned w = 0; w < kThreads / kWave; w++)
            for (int mi = 0; mi < kWaveTM; mi++)
                for (int ni = 0; ni < kWaveTN; ni++) {
                    uint64_t a[kWave], b[kWave];
                    float p[kWave][4];
                    for (unsigned lane = 0; lane < kWave; lane++) {
                        a[lane] = load_a<32, 32>(sm, w, lane, mi, 0);
                        b[lane] = load_b<32, 32>(sm, w, lane, ni, 0);
                    }
                    mfma_fp8_model(j.a.q.format.elem, j.b.q.format.elem, a, b, p);
                    for (unsigned lane = 0; lane < kWave; lane++)
                        slice_add(st[w * kWave + lane], mi, ni, p[lane]);
                }
        if (end)
            for (unsigned t = 0; t < kThreads; t++)
                f32_fold(sm, t, st[t]);
    }
    for (unsigned t = 0; t < kThreads; t++)
        frag_store(j, m0, n0, t, st[t]);
}

// The FP8 MFMA kernel over the whole grid (covered: lbmf::fp8_covers takes it).
bool emulate_mfma_fp8(const gc::Case &c, std::vector<uint8_t> &out, bool *covered)
{
    lb_gemm_job j;
    *covered = false;
    if (!job_of(c, out, &j))
        return false;
    if (j.M == 0 || j.N == 0 || !lbmf::fp8_covers(j))
        return true;
    *covered = true;
    for (size_t m0 = 0; m0 < j.M; m0 += lbmf::kBM)
        for (size_t n0 = 0; n0 < j.N; n0 += lbmf::kBN)
            mfma_fp8_cta(j, m0, n0);
    return true;
}

bool is_fnuz(lowbit_dtype t)
{
    return t == LOWBIT_E4M3FNUZ || t == LOWBIT_E5M2FNUZ;
}

// The FP8 kernel on every FNUZ x FNUZ pair of gemm_cases.h plus two mixes
// (which the list lacks, so that fp8_bf8 and bf8_fp8 run too), against
// gc::fast_check's f64 bound; pairs with one FNUZ and one OCP side must not
// be taken.  Returns the failures; *cases the cases run.
size_t fp8_section(gc::Rng &rng, size_t *cases, size_t *npairs, size_t *skipped)
{
    std::vector<gc::Pair> pairs;
    size_t fails = 0;
    for (const gc::Pair &p : gc::all_pairs()) {
        if (is_fnuz(p.a.elem) && is_fnuz(p.b.elem))
            pairs.push_back(p);
        else if (is_fnuz(p.a.elem) || is_fnuz(p.b.elem)) {
            gc::Case c;
            std::vector<uint8_t> got;
            bool covered = false;
            const size_t K = (gc::pick_k(p, rng) + 127) / 128 * 128;
            if (gc::make_case(c, p, 5, 7, K, 0, rng) && emulate_mfma_fp8(c, got, &covered) && covered) {
                fails++;
                fprintf(stderr, "FAIL fp8 %s: an FNUZ x OCP pair is taken by the FP8 MFMA kernel\n", p.name.c_str());
            }
        }
    }
    pairs.push_back(gc::make_pair(lowbit_format_fp8_row(LOWBIT_E4M3FNUZ), lowbit_format_fp8_tensor(LOWBIT_E5M2FNUZ)));
    pairs.push_back(gc::make_pair(lowbit_format_fp8_block(LOWBIT_E5M2FNUZ, 1, 128),
                                  lowbit_format_fp8_block(LOWBIT_E4M3FNUZ, 128, 128)));
    *npairs = pairs.size();
    const size_t Ms[] = {1, 5, 64, 70, 130};
    const size_t Ns[] = {1, 7, 64, 130};
    for (const gc::Pair &p : pairs)
        for (int v = 0; v < 8; v++) {
            gc::Case c;
            size_t K = (gc::pick_k(p, rng) + 31) / 32 * 32;
            if (K % 128 && (p.a.block_cols == 128 || p.b.block_cols == 128))
                K = 128;
            if (!gc::make_case(c, p, Ms[rng.below(5)], Ns[rng.below(4)], K, v % 4 == 3 ? 1 : 0, rng)) {
                (*skipped)++;
                continue;
            }
            std::vector<uint8_t> got;
            bool covered = false;
            if (!emulate_mfma_fp8(c, got, &covered) || !covered) {
                fails++;
                fprintf(stderr, "FAIL fp8 %s K=%zu: the FP8 MFMA kernel does not take it\n", p.name.c_str(), K);
                continue;
            }
            (*cases)++;
            char why[256];
            if (!gc::fast_check(c, got, why, sizeof why)) {
                fails++;
                fprintf(stderr, "FAIL fp8 mfma %s M=%zu N=%zu K=%zu mode=%d: %s\n", p.name.c_str(), c.M, c.N, K,
                        c.mode, why);
            }
        }
    return fails;
}

}  // namespace

int main(void)
{
    gc::Rng rng(20261203);
    const std::vector<gc::Pair> pairs = gc::all_pairs();
    const size_t Ms[] = {1, 5, 64, 70};
    const size_t Ns[] = {1, 7, 64, 130};
    size_t pairs_covered = 0, cases = 0, fails = 0, skipped = 0;
    size_t by_ks[2] = {0, 0};    // case runs with K chunks of 16, of 32
    size_t by_arch[2] = {0, 0};  // on the gfx90a model, the gfx940 one
    for (const gc::Pair &p : pairs) {
        bool any = false;
        // Blocks of 16 (NVFP4) are the only K chunks of 16: more cases there.
        const int variants = gc::kblock(p.a) == 16 || gc::kblock(p.b) == 16 ? 48 : 16;
        for (int v = 0; v < variants; v++) {
            gc::Case c;
            const size_t M = Ms[rng.below(4)], N = Ns[rng.below(4)];
            const size_t K = gc::pick_k(p, rng);
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
            for (int arch = 0; arch < 2; arch++) {
                bool covered = false;
                int ks = 0;
                const bool ok = arch == 0 ? emulate_mfma<16>(c, got, &covered, &ks)
                                          : emulate_mfma<32>(c, got, &covered, &ks);
                if (!ok) {
                    fails++;
                    continue;
                }
                if (!covered)
                    break;  // the same for both depths
                any = true;
                cases++;
                by_ks[ks == 32]++;
                by_arch[arch]++;
                const size_t d = gc::first_diff(c, ref, got);
                if (d != SIZE_MAX) {
                    fails++;
                    fprintf(stderr, "FAIL mfma %s %s M=%zu N=%zu K=%zu mode=%d c=%s: element (%zu, %zu): %a, "
                            "reference %a\n", arch == 0 ? "gfx90a (16x16x16i8)" : "gfx940 (16x16x32_i8)",
                            p.name.c_str(), M, N, K, c.mode, lowbit_dtype_name(c.c_type), d / c.ldc, d % c.ldc,
                            gc::c_at(c, got, d / c.ldc, d % c.ldc), gc::c_at(c, ref, d / c.ldc, d % c.ldc));
                }
            }
        }
        pairs_covered += any;
    }
    printf("hip mfma host emulation: %zu of %zu pairs taken by the kernel, %zu case runs (%zu gfx90a + %zu gfx940; "
           "%zu with K chunks of 32, %zu of 16), %zu not built, %zu failures\n", pairs_covered, pairs.size(), cases,
           by_arch[0], by_arch[1], by_ks[1], by_ks[0], skipped, fails);
    size_t fp8_cases = 0, fp8_pairs = 0, fp8_skipped = 0;
    const size_t fp8_fails = fp8_section(rng, &fp8_cases, &fp8_pairs, &fp8_skipped);
    printf("hip fp8 mfma host emulation (ideal gfx940 FP8 matrix core, f64 bound): %zu FNUZ pairs, %zu cases, "
           "%zu not built, %zu failures\n", fp8_pairs, fp8_cases, fp8_skipped, fp8_fails);
    return fails || fp8_fails || cases == 0 || fp8_cases == 0 || by_ks[0] == 0 || by_ks[1] == 0 ? 1 : 0;
}
