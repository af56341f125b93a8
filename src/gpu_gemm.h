/*
 * gpu_gemm.h - the C-linkage interface between src/gemm_device.c and the
 * CUDA GEMM kernels (kernels/cuda/gemm_exact.cu, gemm_imma.cu,
 * gemm_fp8_mma.cu, gemm_fp8_wgmma.cu, gemm_block_scaled_mma.cu).  The job arrives validated by
 * lb_gemm_job_init and its pointers (operand data, scales, zero points, C)
 * checked to be device memory; the job structure itself is host memory and travels to the
 * kernels by value.  Every entry point only enqueues work on `stream` (a
 * cudaStream_t): no allocation, no synchronisation.  M, N >= 1 here.
 */
#ifndef LOWBIT_GPU_GEMM_H
#define LOWBIT_GPU_GEMM_H

#include "internal.h"

/* A HIP build of the portable exact kernel (gemm_exact.cu through
 * kernels/cuda/gpu_port.cuh, LB_GPU_AS_HIP defined) says lb_hip_*; the
 * tensor-core kernels hold NVIDIA PTX and have no HIP twin. */
#ifdef LB_GPU_AS_HIP
#define lb_cuda_gemm_arch lb_hip_gemm_arch
#define lb_cuda_gemm_exact lb_hip_gemm_exact
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Compute capability of the current CUDA device as major * 10 + minor
 * (0 when it cannot be read). */
int lb_cuda_gemm_arch(void);

/* The generic exact kernel: every pair lowbit_gemm accepts, bit-identical
 * to kernels/cpu/ref/gemm_ref.c (K = 0 included). */
lowbit_status lb_cuda_gemm_exact(const lb_gemm_job *j, void *stream);

/* Exact integer tensor-core kernel (mma.sync s8 x s8 -> s32 per K block):
 * covers integer pairs whose integers fit int8 (|n| <= 128 after the zero
 * point), K blocks a multiple of 16 and L * max|n_a| * max|n_b| < 2^31, on
 * sm_80 and newer (arch = lb_cuda_gemm_arch()). */
int lb_cuda_gemm_imma_covers(const lb_gemm_job *j, int arch);
lowbit_status lb_cuda_gemm_imma(const lb_gemm_job *j, void *stream);

/* The same jobs at decode shapes (M <= 4, the K block dividing 512 or a
 * multiple of it; gemm_int_decode.cu): a warp per 4 columns of C, dp4a block
 * sums, the same fold; exact, sm_80 and newer. */
int lb_cuda_gemm_int_decode_covers(const lb_gemm_job *j, int arch);
lowbit_status lb_cuda_gemm_int_decode(const lb_gemm_job *j, void *stream);

/* Fast FP8 tensor-core kernel (mma.sync e4m3/e5m2 -> f32 per 32 k, sm_89
 * and newer): OCP E4M3 / E5M2 operands, FP8 scaled or MXFP8, K blocks a
 * multiple of 32.  Error bound: docs/semantics.md, "GEMM on the GPU". */
int lb_cuda_gemm_fp8_covers(const lb_gemm_job *j, int arch);
lowbit_status lb_cuda_gemm_fp8(const lb_gemm_job *j, void *stream);

/* The same pairs, arithmetic and bound on Hopper's warpgroup FP8 tensor
 * cores (wgmma.mma_async m64n64k32, gemm_fp8_wgmma.cu): compute capability
 * 9.0 only, where it replaces lb_cuda_gemm_fp8. */
int lb_cuda_gemm_fp8_wgmma_covers(const lb_gemm_job *j, int arch);
lowbit_status lb_cuda_gemm_fp8_wgmma(const lb_gemm_job *j, void *stream);

/* Fast block-scaled tensor-core kernel (mma.sync ... block_scale, the
 * scales applied by the tensor core; gemm_block_scaled_mma.cu): MX x MX
 * with E4M3 / E5M2 / E3M2 / E2M3 / E2M1 elements in any mix, NVFP4 x NVFP4
 * with K a multiple of 64; compute capability 12.0 (and 12.1 where nvcc
 * builds sm_121a) only.  Error bound:
 * docs/semantics.md, "GEMM on the GPU". */
int lb_cuda_gemm_block_scaled_covers(const lb_gemm_job *j, int arch);
lowbit_status lb_cuda_gemm_block_scaled(const lb_gemm_job *j, void *stream);

/* The same MX x MX and NVFP4 x NVFP4 pairs on data-centre Blackwell's
 * fifth-generation tensor cores (tcgen05.mma ... block_scale with tensor
 * memory, gemm_block_scaled_tcgen05.cu): compute capability 10.0, and 10.3
 * and 11.0 where nvcc built sm_103a / sm_110a; MXFP4 x MXFP4 there in 32-k
 * MMAs.  Same arithmetic and bound. */
int lb_cuda_gemm_block_scaled_tc5_covers(const lb_gemm_job *j, int arch);
lowbit_status lb_cuda_gemm_block_scaled_tc5(const lb_gemm_job *j, void *stream);

#ifdef __cplusplus
}
#endif

#endif
