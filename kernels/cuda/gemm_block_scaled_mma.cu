// gemm_block_scaled_mma.cu - the fast block-scaled GEMM on compute
// capability 12.0 / 12.1 (sm_120a: RTX 50xx / RTX PRO Blackwell; sm_121a:
// GB10), run only under
// LOWBIT_GEMM_ALLOW_FAST (src/gpu_gemm.h).
//
// Pairs: MX x MX with OCP FP8 / FP6 / FP4 elements in any mix (MXFP8,
// MXFP6, MXFP4 and their mixes such as MXFP8 x MXFP4), and NVFP4 x NVFP4.
// The tensor core applies the block scales itself: one
//   mma.sync.aligned.m16n8k32.row.col.kind::mxf8f6f4.block_scale.scale_vec::1X ... .ue8m0
// per 32 k of an MX pair, or, for MXFP4 x MXFP4 and NVFP4 x NVFP4 with K a
// multiple of 64, one
//   mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::{2X.ue8m0, 4X.ue4m3}
// per 64 k, each from a zero accumulator, added to C's f32 accumulator in k
// order; the store is the reference's.  Staging, scale fragments and the
// NaN / sign rules: gemm_block_scaled.cuh.  Bound: docs/semantics.md ("GEMM
// on the GPU"); SASS: QMMA.SF.16832 / OMMA.SF.16864 (.ci/sass.sh).
//
// These instructions exist only on sm_120a / sm_121a targets (ptxas refuses
// them on sm_100a, where block scaling is tcgen05's); on every other target
// the kernels compile to a trap and the dispatcher never picks them.
#include <cuda_runtime.h>

#include "gemm_block_scaled.cuh"
#include "gemm_launch.cuh"
#include "gpu_gemm.h"

#if defined(__CUDA_ARCH__) && (defined(__CUDA_ARCH_FEAT_SM120_ALL) || defined(__CUDA_ARCH_FEAT_SM121_ALL))
#define LBS_HAVE_BLOCK_SCALED_MMA 1
#else
#define LBS_HAVE_BLOCK_SCALED_MMA 0
#endif

namespace lbs {

// The MMA of kind kKind for element types TA, TB (mx_type_index; the FP4
// kinds ignore them): d = A * B * scales from zero.
template <int kKind, int TA, int TB>
__device__ __forceinline__ void mma_bs(const uint32_t *a, const uint32_t *b, uint32_t sa, uint32_t sb, float *d)
{
#if LBS_HAVE_BLOCK_SCALED_MMA
#define LBS_MMA(shape_kind, types)                                                                           \
    asm volatile("mma.sync.aligned." shape_kind ".f32." types                                                \
                 " {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3}, %10, {0, 0}, %11, {0, 0};\n" \
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])                                            \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(sa), "r"(sb))
#define LBS_MX8(ta, tb) LBS_MMA("m16n8k32.row.col.kind::mxf8f6f4.block_scale.scale_vec::1X", ta "." tb ".f32.ue8m0")
#define LBS_MX8_B(ta)                                                                                        \
    if constexpr (TB == 0)                                                                                   \
        LBS_MX8(ta, "e4m3");                                                                                 \
    else if constexpr (TB == 1)                                                                              \
        LBS_MX8(ta, "e5m2");                                                                                 \
    else if constexpr (TB == 2)                                                                              \
        LBS_MX8(ta, "e3m2");                                                                                 \
    else if constexpr (TB == 3)                                                                              \
        LBS_MX8(ta, "e2m3");                                                                                 \
    else                                                                                                     \
        LBS_MX8(ta, "e2m1")
    if constexpr (kKind == kMxFp4) {
        LBS_MMA("m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::2X", "e2m1.e2m1.f32.ue8m0");
    } else if constexpr (kKind == kNvFp4) {
        LBS_MMA("m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X", "e2m1.e2m1.f32.ue4m3");
    } else if constexpr (TA == 0) {
        LBS_MX8_B("e4m3");
    } else if constexpr (TA == 1) {
        LBS_MX8_B("e5m2");
    } else if constexpr (TA == 2) {
        LBS_MX8_B("e3m2");
    } else if constexpr (TA == 3) {
        LBS_MX8_B("e2m3");
    } else {
        LBS_MX8_B("e2m1");
    }
#undef LBS_MX8_B
#undef LBS_MX8
#undef LBS_MMA
#else
    (void)a, (void)b, (void)sa, (void)sb, (void)d;
#endif
}

template <int kKind, int TA, int TB>
__global__ void __launch_bounds__(kThreads) k_gemm_bs(const lb_gemm_job j)
{
#if LBS_HAVE_BLOCK_SCALED_MMA
    constexpr int KC = kind_codes(kKind);
    __shared__ BsSmem sm;
    const unsigned tid = threadIdx.x, w = tid / 32, lane = tid % 32;
    const size_t n0 = (size_t)blockIdx.x * kBN;
    const size_t tiles_m = (j.M + kBM - 1) / kBM;
    for (size_t tm = blockIdx.y; tm < tiles_m; tm += gridDim.y) {
        const size_t m0 = tm * kBM;
        FragT<float> f;
        frag_init(f);
        bool bad = false;
        for (size_t k0 = 0; k0 < j.K; k0 += KC) {
            bad |= stage_bs<kKind>(j, sm, m0, n0, k0, tid);
            __syncthreads();
            uint32_t a[kWarpTM][4], b[kWarpTN][2], sa[kWarpTM], sb[kWarpTN];
#pragma unroll
            for (int mi = 0; mi < kWarpTM; mi++) {
                load_a<32>(sm, w, lane, mi, a[mi]);
                sa[mi] = scale_frag_a(sm, w, lane, mi);
            }
#pragma unroll
            for (int ni = 0; ni < kWarpTN; ni++) {
                load_b<32>(sm, w, lane, ni, b[ni]);
                sb[ni] = scale_frag_b(sm, w, lane, ni);
            }
#pragma unroll
            for (int mi = 0; mi < kWarpTM; mi++)
#pragma unroll
                for (int ni = 0; ni < kWarpTN; ni++) {
                    float p[4] = {0.0f, 0.0f, 0.0f, 0.0f};
                    mma_bs<kKind, TA, TB>(a[mi], b[ni], sa[mi], sb[ni], p);
                    add_mma(f, mi, ni, p);
                }
            __syncthreads();
        }
        publish_bad(sm, tid, bad);
        __syncthreads();
        mark_nan(sm, tid, f);
        frag_store(j, m0, n0, tid, f);
    }
#else
    (void)j;
    __trap();
#endif
}

}  // namespace lbs

extern "C" int lb_cuda_gemm_block_scaled_covers(const lb_gemm_job *j, int arch)
{
    // Only where its arch-specific cubin was built (meson.build defines the
    // macros): elsewhere the kernels would be the PTX's traps.
    (void)arch;  // unread when no such cubin was built
    bool built = false;
#if defined(LOWBIT_CUDA_SM120A)
    built |= arch == 120;
#endif
#if defined(LOWBIT_CUDA_SM121A)
    built |= arch == 121;
#endif
    return built && lbs::bs_kind(*j) >= 0;
}

extern "C" lowbit_status lb_cuda_gemm_block_scaled(const lb_gemm_job *j, void *stream)
{
    using namespace lbs;
    return lbl::launch_tiles(*j, kBM, kBN, stream, "block-scaled", [&](dim3 grid, cudaStream_t st) {
        const int kind = bs_kind(*j);
        if (kind == kNvFp4) {
            k_gemm_bs<kNvFp4, 4, 4><<<grid, kThreads, 0, st>>>(*j);
        } else if (kind == kMxFp4) {
            k_gemm_bs<kMxFp4, 4, 4><<<grid, kThreads, 0, st>>>(*j);
        } else {
            by_mx_type(mx_type_index(j->a.q.format.elem), [&](auto ta) {
                by_mx_type(mx_type_index(j->b.q.format.elem), [&](auto tb) {
                    k_gemm_bs<kMx8, decltype(ta)::value, decltype(tb)::value><<<grid, kThreads, 0, st>>>(*j);
                });
            });
        }
    });
}
