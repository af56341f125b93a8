/*
 * module.c - the glue of liblowbit-hip.so, the HIP backend module.
 *
 * The module holds the kernels of kernels/cuda/ compiled by hipcc (their
 * entry points come out as lb_hip_*, see kernels/cuda/gpu_port.cuh) and this
 * file, which exports the module's one symbol, lb_hip_module_open (src/gpu.h).
 * The kernels call a few core functions (lb_fail for error details, the
 * block-grid and dtype helpers).  The core keeps those hidden, and a program
 * linked with liblowbit.a does not export them at all, so the module cannot
 * link against them; instead it defines them here as calls through the table
 * that the core passes in.  Errors so land in the core's own thread-local
 * detail message, exactly as when the CUDA kernels call lb_fail directly.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "lowbit_config.h"
#define LB_GPU_AS_HIP 1  /* the backend's functions are lb_hip_* */
#include "gpu.h"
#include "gpu_gemm.h"

#define LB_EXPORT __attribute__((visibility("default")))

static const lb_gpu_host *lb_host;

lowbit_status lb_fail(lowbit_status status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lb_host->fail(status, "%s", msg);
}

void lb_grid_of(const lowbit_qtensor *q, lb_grid *g)
{
    lb_host->grid_of(q, g);
}

lb_scheme lb_format_scheme(const lowbit_format *f)
{
    return lb_host->format_scheme(f);
}

unsigned lowbit_dtype_bits(lowbit_dtype t)
{
    return lb_host->dtype_bits(t);
}

size_t lowbit_dtype_bytes(lowbit_dtype t, size_t n)
{
    return lb_host->dtype_bytes(t, n);
}

const char *lowbit_dtype_name(lowbit_dtype t)
{
    return lb_host->dtype_name(t);
}

/* The matrix-core kernels, HIP-only (not in src/gpu_gemm.h): integer MFMA
 * (kernels/cuda/gemm_mfma.cu) and FP8 MFMA (gemm_mfma_fp8.cu; its covers
 * also asks whether the current device is gfx940 / gfx941 / gfx942). */
int lb_hip_gemm_mfma_covers(const lb_gemm_job *j);
lowbit_status lb_hip_gemm_mfma(const lb_gemm_job *j, void *stream);
int lb_hip_gemm_mfma_fp8_covers(const lb_gemm_job *j);
lowbit_status lb_hip_gemm_mfma_fp8(const lb_gemm_job *j, void *stream);

/* The table's GEMM: the first kernel that takes the job of
 *   FP8 MFMA      only with allow_fast (LOWBIT_GEMM_ALLOW_FAST): FNUZ FP8
 *                 pairs on gfx94x, within the documented bound;
 *   integer MFMA  integer pairs that fit int8, exact;
 *   generic       everything else, exact.
 * LOWBIT_HIP_GEMM=exact keeps every call on the generic one, as
 * LOWBIT_CUDA_GEMM=exact does on CUDA.  LOWBIT_CUDA_GEMM itself is not read
 * here: the HIP build of tests/gpu/gemm_device_test.cu runs each case once
 * with it set, and that run is the only one that reaches the integer
 * kernel on a device. */
static lowbit_status lb_hip_gemm(const lb_gemm_job *j, int allow_fast, void *stream)
{
    const char *force = getenv("LOWBIT_HIP_GEMM");
    const int generic_only = force && strcmp(force, "exact") == 0;
    if (j->K > 0 && !generic_only) {
        if (allow_fast && lb_hip_gemm_mfma_fp8_covers(j))
            return lb_hip_gemm_mfma_fp8(j, stream);
        if (lb_hip_gemm_mfma_covers(j))
            return lb_hip_gemm_mfma(j, stream);
    }
    return lb_hip_gemm_exact(j, stream);
}

static const lb_gpu_ops lb_hip_ops = {
    lb_hip_device_count, lb_hip_check_pointer, lb_hip_convert,
    lb_hip_quantize,     lb_hip_dequantize,    lb_hip_attention,
    lb_hip_gemm,         lb_hip_kv_append,
};

LB_EXPORT const lb_gpu_ops *lb_hip_module_open(const lb_gpu_host *host, char *why, size_t why_len)
{
    static const size_t sizes[5] = {sizeof(lb_cvt_params), sizeof(lowbit_qtensor), sizeof(lb_attn_job),
                                    sizeof(lb_gemm_job), sizeof(lb_kv_append_job)};
    if (strcmp(host->version, LB_GPU_HOST_VERSION) != 0 || memcmp(host->sizes, sizes, sizeof sizes) != 0) {
        snprintf(why, why_len, "the module is lowbit %s, the library lowbit %s (or their structures differ); "
                 "install matching versions", LB_GPU_HOST_VERSION, host->version);
        return NULL;
    }
    lb_host = host;
    return &lb_hip_ops;
}
