/*
 * gpu.h - the C-linkage interface between the library core and the GPU
 * backends.  Arguments arrive validated (enums, sizes, overlap); the backend
 * checks pointer residency and enqueues work.
 *
 * kernels/cuda/ implements the functions below as lb_cuda_*.  The same
 * sources compiled by hipcc become lb_hip_* (kernels/cuda/gpu_port.cuh
 * renames them), and those live in a module of their own, liblowbit-hip.so
 * (kernels/hip/), that the core loads on first use so that liblowbit itself
 * never depends on ROCm.  The core reaches either backend through an
 * lb_gpu_ops table (src/gpu_backend.c); docs/hip.md has the details.
 */
#ifndef LOWBIT_GPU_H
#define LOWBIT_GPU_H

#include "internal.h"

/* A HIP build of the backend (kernels/cuda/gpu_port.cuh under hipcc, and
 * kernels/hip/module.c) defines LB_GPU_AS_HIP first, so that these
 * declarations and the definitions in kernels/cuda/ say lb_hip_*. */
#ifdef LB_GPU_AS_HIP
#define lb_cuda_device_count lb_hip_device_count
#define lb_cuda_check_pointer lb_hip_check_pointer
#define lb_cuda_convert lb_hip_convert
#define lb_cuda_quantize lb_hip_quantize
#define lb_cuda_dequantize lb_hip_dequantize
#define lb_cuda_attention lb_hip_attention
#define lb_cuda_kv_append lb_hip_kv_append
#endif

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
 * src and dst already checked to be device memory.  NVFP4 quantize
 * arrives only with LOWBIT_FMT_GIVEN_TENSOR_SCALE (q->tensor_scale valid). */
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

/* Enqueue a KV-cache append (kernels/cuda/kv_append.cu) on `stream`: the
 * job from lb_kv_append_job_init(..., device = 1), n_tokens >= 1, its pages,
 * source, block table and head scales checked to be device memory.  No
 * allocation, no sync. */
lowbit_status lb_cuda_kv_append(const lb_kv_append_job *j, void *stream);

/* One GPU backend: the functions above, as a table. */
typedef struct lb_gpu_ops {
    int (*device_count)(void);
    lowbit_status (*check_pointer)(const void *p, const char *arg);
    lowbit_status (*convert)(lowbit_dtype dst_type, void *dst, lowbit_dtype src_type, const void *src, size_t n,
                             const lb_cvt_params *p, void *stream);
    lowbit_status (*quantize)(lowbit_qtensor *q, lowbit_dtype src_type, const void *src, size_t src_row_stride,
                              const lb_cvt_params *p, void *stream);
    lowbit_status (*dequantize)(lowbit_dtype dst_type, void *dst, size_t dst_row_stride, const lowbit_qtensor *q,
                                void *stream);
    lowbit_status (*attention)(const lb_attn_job *j, void *stream);
    /* The GEMM, kernel chosen by the backend: the job validated, its
     * pointers checked to be device memory, M, N >= 1.  allow_fast is
     * LOWBIT_GEMM_ALLOW_FAST; without it the result is the reference's. */
    lowbit_status (*gemm)(const lb_gemm_job *j, int allow_fast, void *stream);
    lowbit_status (*kv_append)(const lb_kv_append_job *j, void *stream);
} lb_gpu_ops;

#ifndef LB_GPU_AS_HIP
/* CUDA's GEMM dispatch (src/gemm_device.c), the CUDA table's gemm slot. */
lowbit_status lb_cuda_gemm_run(const lb_gemm_job *j, int allow_fast, void *stream);
#endif

/* The table of device backend b (CUDA or HIP) when it is built and usable
 * here: it has at least one device, and for HIP its module loaded.  NULL
 * otherwise, with the reason recorded (lb_fail) as *why:
 * LOWBIT_ERR_BACKEND_NOT_BUILT or LOWBIT_ERR_BACKEND_UNAVAILABLE. */
const lb_gpu_ops *lb_gpu_ops_for(lowbit_backend b, lowbit_status *why);

/* ---- the HIP module (liblowbit-hip.so) ----------------------------------
 * It exports one function, named LB_HIP_MODULE_ENTRY.  The core passes what
 * the kernels borrow from it (its error state and a few pure helpers; a
 * module cannot link against the core's hidden symbols) and gets the
 * backend's table back, or NULL with a reason in why[] when the module was
 * built from another lowbit version. */
#define LB_HIP_MODULE_ENTRY "lb_hip_module_open"

/* What the core passes as lb_gpu_host.version: the lowbit version and the
 * revision of this interface, which must change whenever a member of
 * lb_gpu_ops or lb_gpu_host changes meaning (a signature change keeps every
 * size, and the lowbit version need not move between two builds).
 * Revision 2: lb_gpu_ops.gemm takes allow_fast.  Revision 3: kv_append. */
#define LB_GPU_INTERFACE "gpu-ops 3"
#define LB_GPU_HOST_VERSION LOWBIT_VERSION_STRING " (" LB_GPU_INTERFACE ")"

typedef struct lb_gpu_host {
    const char *version;  /* the core's LB_GPU_HOST_VERSION; the module must match it exactly */
    size_t sizes[5];      /* sizeof lb_cvt_params, lowbit_qtensor, lb_attn_job, lb_gemm_job,
                           * lb_kv_append_job, as the core sees them */
    lowbit_status (*fail)(lowbit_status status, const char *fmt, ...);
    void (*grid_of)(const lowbit_qtensor *q, lb_grid *g);
    lb_scheme (*format_scheme)(const lowbit_format *f);
    unsigned (*dtype_bits)(lowbit_dtype t);
    size_t (*dtype_bytes)(lowbit_dtype t, size_t n);
    const char *(*dtype_name)(lowbit_dtype t);
} lb_gpu_host;

typedef const lb_gpu_ops *(*lb_hip_module_fn)(const lb_gpu_host *host, char *why, size_t why_len);

#ifdef __cplusplus
}
#endif

#endif
