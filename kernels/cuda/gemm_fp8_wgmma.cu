// gemm_fp8_wgmma.cu - the fast FP8 GEMM on Hopper's warpgroup tensor cores
// (wgmma.mma_async, sm_90a only), run under LOWBIT_GEMM_ALLOW_FAST.
//
// Same pairs, arithmetic and bound as gemm_fp8_mma.cu (OCP E4M3 / E5M2 in any
// mix, FP8-scaled or MXFP8, K and its blocks multiples of 32): every 32-wide
// slice of K is one wgmma m64n64k32 from a zero accumulator, added to the
// block's d in f32; blocks are folded with fmaf in order.  On sm_90 the
// mma.sync of gemm_fp8_mma.cu becomes an FP8 -> f16 unpack and HMMA, at
// half Hopper's FP8 rate; wgmma is the FP8 tensor-core path there.  Both
// operands come from shared memory through descriptors (tiling, layout and
// descriptors: gemm_wgmma.cuh).  For other targets the kernel body is a
// trap, and the dispatcher only picks it on compute capability 9.0.
#include <cuda_runtime.h>

#include "gemm_launch.cuh"
#include "gemm_mma.cuh"
#include "gemm_wgmma.cuh"
#include "gpu_gemm.h"

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ == 900 && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define LBW_HAVE_WGMMA 1
#endif

namespace lbw {

// Make this thread's shared-memory stores visible to the tensor core's
// (async proxy) reads, then the CTA barrier orders them.
__device__ __forceinline__ void fence_smem_for_wgmma()
{
#ifdef LBW_HAVE_WGMMA
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

// Before a batch of wgmma: orders this warpgroup's register accesses
// against the asynchronous MMAs that write p.
__device__ __forceinline__ void wgmma_fence()
{
#ifdef LBW_HAVE_WGMMA
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}

// After a batch: commit it and wait until every result is in its registers.
__device__ __forceinline__ void wgmma_commit_wait()
{
#ifdef LBW_HAVE_WGMMA
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
    asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
#endif
}

// After the wait: ties p's registers to it, so that no read of them is
// scheduled before the results have landed.
__device__ __forceinline__ void wgmma_settle(float *p)
{
#pragma unroll
    for (int i = 0; i < 4 * kTilesN; i++)
        asm volatile("" : "+f"(p[i])::"memory");
}

// Issue p = A(desc a) x B(desc b) for one m64n64k32 slice (scale-d = 0:
// p's old value is not read); TA, TB: 0 = E4M3, 1 = E5M2.  p is valid
// after wgmma_commit_wait and wgmma_settle.
template <int TA, int TB>
__device__ __forceinline__ void wgmma_issue(uint64_t a, uint64_t b, float *p)
{
#ifdef LBW_HAVE_WGMMA
#define LBW_WGMMA(ta, tb)                                                                                         \
    asm volatile("{\n.reg .pred zd;\nsetp.ne.b32 zd, %34, 0;\n"                                                   \
                 "wgmma.mma_async.sync.aligned.m64n64k32.f32." ta "." tb " "                                      \
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "                        \
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "              \
                 "%32, %33, zd, 1, 1;\n}\n"                                                                        \
                 : "=f"(p[0]), "=f"(p[1]), "=f"(p[2]), "=f"(p[3]), "=f"(p[4]), "=f"(p[5]), "=f"(p[6]),          \
                   "=f"(p[7]), "=f"(p[8]), "=f"(p[9]), "=f"(p[10]), "=f"(p[11]), "=f"(p[12]), "=f"(p[13]),      \
                   "=f"(p[14]), "=f"(p[15]), "=f"(p[16]), "=f"(p[17]), "=f"(p[18]), "=f"(p[19]), "=f"(p[20]),   \
                   "=f"(p[21]), "=f"(p[22]), "=f"(p[23]), "=f"(p[24]), "=f"(p[25]), "=f"(p[26]), "=f"(p[27]),   \
                   "=f"(p[28]), "=f"(p[29]), "=f"(p[30]), "=f"(p[31])                                            \
                 : "l"(a), "l"(b), "r"(0))
    if (TA == 0 && TB == 0)
        LBW_WGMMA("e4m3", "e4m3");
    else if (TA == 0)
        LBW_WGMMA("e4m3", "e5m2");
    else if (TB == 0)
        LBW_WGMMA("e5m2", "e4m3");
    else
        LBW_WGMMA("e5m2", "e5m2");
#undef LBW_WGMMA
#else
    (void)a, (void)b, (void)p;
    __trap();
#endif
}

template <int TA, int TB>
__global__ void __launch_bounds__(kThreads) k_gemm_fp8_wgmma(const lb_gemm_job j)
{
    __shared__ Smem sm;
    const unsigned tid = threadIdx.x, wg = tid / 128;
    const uint32_t smem = (uint32_t)__cvta_generic_to_shared(&sm);
    const bool vec_a = vec_ok(j.a), vec_b = vec_ok(j.b);
    const size_t n0 = (size_t)blockIdx.x * kBN;
    const size_t tiles_m = (j.M + kBM - 1) / kBM;
    for (size_t tm = blockIdx.y; tm < tiles_m; tm += gridDim.y) {
        const size_t m0 = tm * kBM;
        Acc f;
        acc_init(f);
        Regs r;
        fetch(j, vec_a, vec_b, m0, n0, 0, tid, r);
        put(j, 0, sm.st[0], tid, r);
        fence_smem_for_wgmma();
        __syncthreads();
        unsigned buf = 0;
        for (size_t k0 = 0; k0 < j.K; k0 += kKC) {
            const size_t k1 = k0 + kKC;
            if (k1 < j.K)  // the next chunk's global reads overlap this chunk's MMAs
                fetch(j, vec_a, vec_b, m0, n0, k1, tid, r);
            // The chunk's slices go to the tensor cores as one batch; their
            // sums are then added (and folded) in slice order.
            // (A last chunk of one slice still runs both: the second's
            // stale bytes give a result that is not used, and the batch
            // stays free of branches, which ptxas would fence.)
            const unsigned ns = slices_at(j, k0);
            float p[kSlices][4 * kTilesN];
            wgmma_fence();
#pragma unroll
            for (unsigned s = 0; s < (unsigned)kSlices; s++)
                wgmma_issue<TA, TB>(desc_a(smem, buf, s, wg), desc_b(smem, buf, s), p[s]);
            wgmma_commit_wait();
#pragma unroll
            for (unsigned s = 0; s < (unsigned)kSlices; s++)
                wgmma_settle(p[s]);
#pragma unroll
            for (unsigned s = 0; s < (unsigned)kSlices; s++) {
                if (s >= ns)
                    break;
                add_slice(f, p[s]);
                if (slice_ends_block(j, k0, s))
                    fold(sm.st[buf], s, tid, f);
            }
            // The other stage was last read before the previous barrier.
            if (k1 < j.K) {
                put(j, k1, sm.st[buf ^ 1], tid, r);
                fence_smem_for_wgmma();
            }
            __syncthreads();
            buf ^= 1;
        }
        store(j, m0, n0, tid, f);
    }
}

}  // namespace lbw

extern "C" int lb_cuda_gemm_fp8_wgmma_covers(const lb_gemm_job *j, int arch)
{
    // wgmma exists on sm_90a only (the sm_90a code runs on 9.0 devices alone),
    // and only where that cubin was built.
#if defined(LOWBIT_CUDA_SM90A)
    return arch == 90 && lbm::fp8_covers(*j);
#else
    (void)j;
    (void)arch;
    return 0;
#endif
}

extern "C" lowbit_status lb_cuda_gemm_fp8_wgmma(const lb_gemm_job *j, void *stream)
{
    using namespace lbw;
    return lbl::launch_tiles(*j, kBM, kBN, stream, "FP8 wgmma", [&](dim3 grid, cudaStream_t st) {
        lbl::by_fp8_pair(*j, [&](auto ta, auto tb) {
            k_gemm_fp8_wgmma<decltype(ta)::value, decltype(tb)::value><<<grid, kThreads, 0, st>>>(*j);
        });
    });
}
