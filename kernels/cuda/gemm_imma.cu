// gemm_imma.cu - the exact integer tensor-core GEMM (src/gpu_gemm.h).
//
// For integer pairs whose integers fit int8 (INT8 x INT8 without zero
// points, INT4/UINT4 with or without them, W4A8, MXFP4, NVFP4, MXFP6 E2M3,
// MXINT8; any mix), each K block's integer sum D = sum n_a * n_b is formed
// by mma.sync s8 x s8 -> s32 (m16n8k32, or m16n8k16 for blocks of 16).
// Integer addition is exact and the kernel only takes jobs where no partial
// sum can leave s32, so D is the reference's D whatever order the tensor
// core adds in; then d = (float)D * 2^u and acc = fmaf(d, s_a * s_b, acc) in
// block order, exactly as kernels/cpu/ref/gemm_ref.c.  Registered exact.
// Tiling and fragment layout: gemm_mma.cuh (run on the host by the
// emulation test).  sm_80 and newer.
#include <cuda_runtime.h>

#include "gemm_launch.cuh"
#include "gemm_mma.cuh"
#include "gpu_gemm.h"

namespace lbm {

template <int KS>
__device__ __forceinline__ void mma_s8(const uint32_t *a, const uint32_t *b, int32_t *d);

template <>
__device__ __forceinline__ void mma_s8<32>(const uint32_t *a, const uint32_t *b, int32_t *d)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                 : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    (void)a, (void)b, (void)d;
    __trap();
#endif
}

template <>
__device__ __forceinline__ void mma_s8<16>(const uint32_t *a, const uint32_t *b, int32_t *d)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k16.row.col.s32.s8.s8.s32 "
                 "{%0, %1, %2, %3}, {%4, %5}, {%6}, {%0, %1, %2, %3};\n"
                 : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(b[0]));
#else
    (void)a, (void)b, (void)d;
    __trap();
#endif
}

template <int KS>
__global__ void __launch_bounds__(kThreads) k_gemm_imma(const lb_gemm_job j)
{
    __shared__ IntSmem<KS> sm;
    const unsigned tid = threadIdx.x, w = tid / 32, lane = tid % 32;
    const size_t n0 = (size_t)blockIdx.x * kBN;
    const size_t tiles_m = (j.M + kBM - 1) / kBM;
    build_int_luts<KS>(j, sm, tid, kThreads);
    __syncthreads();
    for (size_t tm = blockIdx.y; tm < tiles_m; tm += gridDim.y) {
        const size_t m0 = tm * kBM;
        Frag f;
        frag_init(f);
        for (size_t k0 = 0; k0 < j.K; k0 += KS) {
            const bool end = (k0 + KS) % j.kblock == 0;
            int_stage<KS>(j, sm, m0, n0, k0, end, tid, kThreads);
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
                for (int ni = 0; ni < kWarpTN; ni++)
                    mma_s8<KS>(a[mi], b[ni], f.D[mi][ni]);
            if (end)
                int_fold<KS>(j, sm, tid, f);
            __syncthreads();
        }
        frag_store(j, m0, n0, tid, f);
    }
}

}  // namespace lbm

extern "C" int lb_cuda_gemm_imma_covers(const lb_gemm_job *j, int arch)
{
    return arch >= 80 && lbm::imma_covers(*j);
}

extern "C" lowbit_status lb_cuda_gemm_imma(const lb_gemm_job *j, void *stream)
{
    using namespace lbm;
    return lbl::launch_tiles(*j, kBM, kBN, stream, "integer-MMA", [&](dim3 grid, cudaStream_t st) {
        if (imma_kstep(*j) == 32)
            k_gemm_imma<32><<<grid, kThreads, 0, st>>>(*j);
        else
            k_gemm_imma<16><<<grid, kThreads, 0, st>>>(*j);
    });
}
