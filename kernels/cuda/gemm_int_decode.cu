// gemm_int_decode.cu - the exact integer GEMM for decode shapes (M <= 16):
// a warp per 4 columns of C streaming their rows of B, int8 dot products by
// dp4a (IDP4A), block sums exact, blocks folded in the reference's order.
// Takes the integer-MMA kernel's jobs (INT8, INT4 / UINT4 with or without
// zero points, W4A8, MXFP4, NVFP4, MXFP6 E2M3, MXINT8) when M <= 16 and the
// K block divides 512 or is a multiple of it; dispatched for M <= 4.  Registered exact; steps and
// argument in gemm_int_decode.cuh.  sm_80 and newer.
#include <cuda_runtime.h>

#include "gemm_int_decode.cuh"
#include "gemm_launch.cuh"
#include "gpu_gemm.h"

namespace lbd {

__global__ void __launch_bounds__(kThreads) k_gemm_int_decode(const lb_gemm_job j)
{
    __shared__ Smem sm;
    const unsigned tid = threadIdx.x, w = tid / 32, lane = tid % 32;
    const size_t n0 = ((size_t)blockIdx.x * kWarps + w) * kCols;  // the warp's first column
    build_luts(j, sm, tid, kThreads);
    long long D[kPairsPerLane] = {};
    float acc[kPairsPerLane] = {};
    Seg cur[kCols];
#pragma unroll
    for (int c = 0; c < kCols; c++)  // a column past N loads nothing (K = 0)
        load_seg(j.b, n0 + c < j.N ? n0 + c : 0, kSeg * lane, n0 + c < j.N ? j.K : 0, cur[c]);
    for (size_t k0 = 0; k0 < j.K; k0 += kChunk) {
        Seg next[kCols];  // the next chunk's codes, in flight while this one computes
#pragma unroll
        for (int c = 0; c < kCols; c++)
            load_seg(j.b, n0 + c < j.N ? n0 + c : 0, k0 + kChunk + kSeg * lane, n0 + c < j.N ? j.K : 0, next[c]);
        __syncthreads();  // the last chunk's A is no longer read (and the tables are built)
        stage_a(j, sm, k0, tid, kThreads);
        __syncthreads();
        if (n0 < j.N) {
            lane_partials(j, sm, w, lane, n0, k0, cur);
            __syncwarp();
#pragma unroll
            for (int q = 0; q < kPairsPerLane; q++) {
                const unsigned i = lane + 32 * q, m = i / kCols, c = i % kCols;
                if (m < j.M && n0 + c < j.N)
                    pair_fold(j, sm, w, m, c, k0, D[q], acc[q]);
            }
            __syncwarp();
        }
#pragma unroll
        for (int c = 0; c < kCols; c++)
            cur[c] = next[c];
    }
#pragma unroll
    for (int q = 0; q < kPairsPerLane; q++) {
        const unsigned i = lane + 32 * q, m = i / kCols, c = i % kCols;
        if (m < j.M && n0 + c < j.N)
            lb_gemm_store(&j, m, n0 + c, acc[q]);
    }
}

}  // namespace lbd

extern "C" int lb_cuda_gemm_int_decode_covers(const lb_gemm_job *j, int arch)
{
    // It takes up to 16 rows (the emulation checks them all), but on an H200
    // the integer-MMA kernel is as fast at 8 and faster at 16: it is chosen
    // up to kDispatchMaxM.
    return arch >= 80 && lbd::covers(*j) && j->M <= (size_t)lbd::kDispatchMaxM;
}

extern "C" lowbit_status lb_cuda_gemm_int_decode(const lb_gemm_job *j, void *stream)
{
    using namespace lbd;
    const size_t ctas = (j->N + kColsPerCta - 1) / kColsPerCta;
    if (ctas > 0x7FFFFFFFu)
        return lb_fail(LOWBIT_ERR_UNSUPPORTED, "cuda gemm: N = %zu needs more than 2^31 CTAs", j->N);
    k_gemm_int_decode<<<(unsigned)ctas, kThreads, 0, (cudaStream_t)stream>>>(*j);
    return lbl::launch_status("integer decode");
}
