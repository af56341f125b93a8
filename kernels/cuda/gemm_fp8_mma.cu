// gemm_fp8_mma.cu - the fast FP8 tensor-core GEMM (src/gpu_gemm.h), run only
// under LOWBIT_GEMM_ALLOW_FAST.
//
// Pairs: FP8 x FP8 (f32/f16/bf16-scaled OCP E4M3 / E5M2, per tensor, row,
// 1x128 or 128x128) and MXFP8 x MXFP8, any mix of E4M3 and E5M2; K and the
// K blocks multiples of 32; sm_89 and newer (the code for older targets
// compiles to a trap and the dispatcher never picks it there).  FNUZ codes
// are not tensor-core types and stay on the exact kernel.
//
// Each 32-wide slice of K is one mma.sync m16n8k32 f32.e4m3/e5m2 with a zero
// accumulator (the tensor core's own order and internal precision), added
// to the block's d in f32; at the block end acc = fmaf(d, s_a * s_b, acc)
// in block order and the store is the reference's.  The bound this keeps
// against an f64 GEMM is stated in docs/semantics.md ("GEMM on the GPU")
// and checked by tests/gpu/gemm_device_test.cu.  Tiling: gemm_mma.cuh.
#include <cuda_runtime.h>

#include "gemm_launch.cuh"
#include "gemm_mma.cuh"
#include "gpu_gemm.h"

namespace lbm {

// The MMA of one (A type, B type) pair: 0 = E4M3, 1 = E5M2.
template <int TA, int TB>
__device__ __forceinline__ void mma_fp8(const uint32_t *a, const uint32_t *b, float *d)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
#define LBM_FP8_MMA(ta, tb)                                                                                  \
    asm volatile("mma.sync.aligned.m16n8k32.row.col.f32." ta "." tb ".f32 "                                 \
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"                         \
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])                                            \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]))
    if (TA == 0 && TB == 0)
        LBM_FP8_MMA("e4m3", "e4m3");
    else if (TA == 0)
        LBM_FP8_MMA("e4m3", "e5m2");
    else if (TB == 0)
        LBM_FP8_MMA("e5m2", "e4m3");
    else
        LBM_FP8_MMA("e5m2", "e5m2");
#undef LBM_FP8_MMA
#else
    (void)a, (void)b, (void)d;
    __trap();
#endif
}

template <int TA, int TB>
__global__ void __launch_bounds__(kThreads) k_gemm_fp8(const lb_gemm_job j)
{
    constexpr int KS = 32;
    __shared__ IntSmem<KS> sm;
    const unsigned tid = threadIdx.x, w = tid / 32, lane = tid % 32;
    const size_t n0 = (size_t)blockIdx.x * kBN;
    const size_t tiles_m = (j.M + kBM - 1) / kBM;
    for (size_t tm = blockIdx.y; tm < tiles_m; tm += gridDim.y) {
        const size_t m0 = tm * kBM;
        FragT<float> f;
        frag_init(f);
        for (size_t k0 = 0; k0 < j.K; k0 += KS) {
            const bool end = (k0 + KS) % j.kblock == 0;
            int_stage<KS, true>(j, sm, m0, n0, k0, end, tid, kThreads);
            __syncthreads();
            uint32_t a[kWarpTM][KS / 8], b[kWarpTN][KS / 16];
#pragma unroll
            for (int mi = 0; mi < kWarpTM; mi++)
                load_a<KS>(sm, w, lane, mi, a[mi]);
#pragma unroll
            for (int ni = 0; ni < kWarpTN; ni++)
                load_b<KS>(sm, w, lane, ni, b[ni]);
#pragma unroll
            for (int mi = 0; mi < kWarpTM; mi++)
#pragma unroll
                for (int ni = 0; ni < kWarpTN; ni++) {
                    float p[4] = {0.0f, 0.0f, 0.0f, 0.0f};
                    mma_fp8<TA, TB>(a[mi], b[ni], p);
#pragma unroll
                    for (int i = 0; i < 4; i++)
                        f.D[mi][ni][i] = __fadd_rn(f.D[mi][ni][i], p[i]);
                }
            if (end)
                f32_fold<KS>(sm, tid, f);
            __syncthreads();
        }
        frag_store(j, m0, n0, tid, f);
    }
}

}  // namespace lbm

extern "C" int lb_cuda_gemm_fp8_covers(const lb_gemm_job *j, int arch)
{
    return arch >= 89 && lbm::fp8_covers(*j);
}

extern "C" lowbit_status lb_cuda_gemm_fp8(const lb_gemm_job *j, void *stream)
{
    using namespace lbm;
    return lbl::launch_tiles(*j, kBM, kBN, stream, "FP8", [&](dim3 grid, cudaStream_t st) {
        lbl::by_fp8_pair(*j, [&](auto ta, auto tb) {
            k_gemm_fp8<decltype(ta)::value, decltype(tb)::value><<<grid, kThreads, 0, st>>>(*j);
        });
    });
}
