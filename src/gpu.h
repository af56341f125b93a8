/*
 * gpu.h - the C-linkage interface between the library core and the CUDA
 * backend (kernels/cuda/).  Arguments arrive validated (enums, sizes,
 * overlap); the backend checks pointer residency and enqueues work.
 */
#ifndef LOWBIT_GPU_H
#define LOWBIT_GPU_H

#include "internal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Number of usable CUDA devices (0 when the driver or a device is missing). */
int lb_cuda_device_count(void);

/* LOWBIT_OK if p is device (or managed) memory of the current device;
 * LOWBIT_ERR_WRONG_MEMORY naming `arg` otherwise. */
lowbit_status lb_cuda_check_pointer(const void *p, const char *arg);

/* Enqueue the conversion on `stream` (a cudaStream_t); no allocation, no sync. */
lowbit_status lb_cuda_convert(lowbit_dtype dst_type, void *dst, lowbit_dtype src_type, const void *src,
                              size_t n, const lb_cvt_params *p, void *stream);

/* Enqueue quantize / dequantize on `stream`.  Validated by the caller:
 * q's format, shape, strides and buffer sizes; q->data/scales/zero_points,
 * src and dst already checked to be device memory.  Whole-tensor scales
 * (block_rows == 0 with block_cols == 0, and NVFP4 quantize) never arrive
 * here. */
lowbit_status lb_cuda_quantize(lowbit_qtensor *q, lowbit_dtype src_type, const void *src,
                               size_t src_row_stride, const lb_cvt_params *p, void *stream);
lowbit_status lb_cuda_dequantize(lowbit_dtype dst_type, void *dst, size_t dst_row_stride,
                                 const lowbit_qtensor *q, void *stream);

/* Enqueue exact attention (kernels/cuda/attention.cu) on `stream`.  The job
 * is validated by lb_attn_job_init(..., device = 1) and its pointers (q,
 * out, mask, pages, block table, head scales) checked to be device memory;
 * the job itself is host memory and travels to the kernel by value.  No
 * allocation, no sync. */
lowbit_status lb_cuda_attention(const lb_attn_job *j, void *stream);

#ifdef __cplusplus
}
#endif

#endif
