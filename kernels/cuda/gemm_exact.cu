// gemm_exact.cu - the generic exact CUDA GEMM (src/gpu_gemm.h): every pair
// lowbit_gemm accepts, bit for bit kernels/cpu/ref/gemm_ref.c.
//
// Grid: x = tiles of kBN columns of C, y = tiles of kBM rows (looping when
// there are more than the grid allows).  A CTA of 256 threads walks K in
// chunks of at most 32 that never cross a K block: all threads decode the
// chunk of A and B into shared memory with the reference's own element
// helpers (src/gemm_operand.h, host-device; codes of up to 8 bits through a
// per-CTA table that lb_decode fills), then each thread advances its
// 4 x 4 outputs through the chunk; at a block's end it folds the block into
// its accumulators.  The arithmetic is in gemm_exact.cuh, which the host
// emulation test runs as well.  Portable CUDA: runtime API, shared memory,
// __syncthreads, no inline PTX, so hipcc compiles it too (through
// gpu_port.cuh: lb_hip_gemm_exact in liblowbit-hip.so, docs/hip.md).
#include "gpu_port.cuh"  // <cuda_runtime.h>, or its HIP twin

#include "gemm_exact.cuh"
#include "gemm_launch.cuh"
#include "gpu_gemm.h"

namespace lbg {

template <bool kInt>
__global__ void __launch_bounds__(kThreads) k_gemm_exact(const lb_gemm_job j)
{
    __shared__ Smem sm;
    const unsigned tid = threadIdx.x;
    const size_t n0 = (size_t)blockIdx.x * kBN;
    const size_t tiles_m = (j.M + kBM - 1) / kBM;
    build_luts<kInt>(j, sm, tid, kThreads);
    __syncthreads();
    for (size_t tm = blockIdx.y; tm < tiles_m; tm += gridDim.y) {
        const size_t m0 = tm * kBM;
        State<kInt> st;
        state_init(st);
        for (size_t k0 = 0; k0 < j.K;) {
            const unsigned kc = chunk_len(j, k0);
            const bool end = chunk_ends_block(j, k0, kc);
            stage<kInt>(j, sm, m0, n0, k0, kc, end, tid, kThreads);
            __syncthreads();
            compute<kInt>(sm, kc, tid, st);
            if (end)
                fold<kInt>(j, sm, tid, st);
            __syncthreads();
            k0 += kc;
        }
        store<kInt>(j, m0, n0, tid, st);
    }
}

}  // namespace lbg

extern "C" int lb_cuda_gemm_arch(void)
{
    int dev = 0, major = 0, minor = 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return major * 10 + minor;
}

extern "C" lowbit_status lb_cuda_gemm_exact(const lb_gemm_job *j, void *stream)
{
    using namespace lbg;
    return lbl::launch_tiles(*j, kBM, kBN, stream, "exact", [&](dim3 grid, cudaStream_t st) {
        const lb_gemm_job w = launch_job(*j);
        if (w.integer)
            k_gemm_exact<true><<<grid, kThreads, 0, st>>>(w);
        else
            k_gemm_exact<false><<<grid, kThreads, 0, st>>>(w);
    });
}
