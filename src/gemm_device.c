/*
 * gemm_device.c - lowbit_gemm_device: lowbit_gemm on device memory.  The
 * arguments are validated by the very code lowbit_gemm uses
 * (lb_gemm_job_init reads descriptors, never the buffers), then the device
 * backend (its lb_gpu_ops table, src/gpu.h) checks where every pointer
 * lives and this file picks a kernel.  CUDA:
 *
 *   fast block-scaled      only with LOWBIT_GEMM_ALLOW_FAST: MX x MX (FP8 / FP6 /
 *                          FP4 elements) and NVFP4 x NVFP4, the tensor core
 *                          applying the scales; cc 12.0 / 12.1 mma.sync
 *                          (gemm_block_scaled_mma.cu), cc 10.0 tcgen05
 *                          (gemm_block_scaled_tcgen05.cu)
 *   fast FP8 tensor cores  only with LOWBIT_GEMM_ALLOW_FAST, sm_89 and newer,
 *                          OCP FP8 / MXFP8 pairs (kernels/cuda/gemm_fp8_mma.cu;
 *                          wgmma on cc 9.0, gemm_fp8_wgmma.cu)
 *   exact integer decode   the same pairs at M <= 4: a warp per 4 columns of C,
 *                          dp4a block sums (kernels/cuda/gemm_int_decode.cu)
 *   exact integer MMA      integer pairs that fit int8, sm_80 and newer
 *                          (kernels/cuda/gemm_imma.cu)
 *   exact generic          everything else (kernels/cuda/gemm_exact.cu)
 *
 * The environment variable LOWBIT_CUDA_GEMM=exact keeps every call on the
 * generic exact kernel (tests compare the kernels with it).
 *
 * HIP: the module (liblowbit-hip.so, kernels/hip/module.c lb_hip_gemm)
 * chooses among its FP8 MFMA (with LOWBIT_GEMM_ALLOW_FAST, FNUZ FP8 pairs,
 * gfx94x), integer MFMA and generic kernels (docs/hip.md).  Both backends
 * are called through their table's gemm slot; CUDA's is lb_cuda_gemm_run.
 */
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "lowbit_config.h"

#if LOWBIT_BUILT_CUDA || LOWBIT_BUILT_HIP
#include "gpu.h"
#endif
#if LOWBIT_BUILT_CUDA
#include "gpu_gemm.h"
#endif

#if LOWBIT_BUILT_CUDA || LOWBIT_BUILT_HIP
/* The buffers of an operand that the kernels read must be device memory. */
static lowbit_status lb_gpu_check_operand(const lb_gpu_ops *ops, const lb_operand *o, const char *arg)
{
    char name[32];
    strcpy(name, arg);
    strcat(name, "->data");
    lowbit_status s = ops->check_pointer(o->q.data, name);
    if (s == LOWBIT_OK && o->scheme != LB_SCHEME_PLAIN) {
        strcpy(name, arg);
        strcat(name, "->scales");
        s = ops->check_pointer(o->q.scales, name);
    }
    if (s == LOWBIT_OK && o->scheme == LB_SCHEME_ZP) {
        strcpy(name, arg);
        strcat(name, "->zero_points");
        s = ops->check_pointer(o->q.zero_points, name);
    }
    return s;
}
#endif

#if LOWBIT_BUILT_CUDA
lowbit_status lb_cuda_gemm_run(const lb_gemm_job *j, int allow_fast, void *stream)
{
    const char *force = getenv("LOWBIT_CUDA_GEMM");
    int generic_only = force && strcmp(force, "exact") == 0;
    if (j->K > 0 && !generic_only) {
        int arch = lb_cuda_gemm_arch();
        if (allow_fast && lb_cuda_gemm_block_scaled_covers(j, arch))
            return lb_cuda_gemm_block_scaled(j, stream);
        if (allow_fast && lb_cuda_gemm_block_scaled_tc5_covers(j, arch))
            return lb_cuda_gemm_block_scaled_tc5(j, stream);
        if (allow_fast && lb_cuda_gemm_fp8_wgmma_covers(j, arch))
            return lb_cuda_gemm_fp8_wgmma(j, stream);
        if (allow_fast && lb_cuda_gemm_fp8_covers(j, arch))
            return lb_cuda_gemm_fp8(j, stream);
        if (lb_cuda_gemm_int_decode_covers(j, arch))
            return lb_cuda_gemm_int_decode(j, stream);
        if (lb_cuda_gemm_imma_covers(j, arch))
            return lb_cuda_gemm_imma(j, stream);
    }
    return lb_cuda_gemm_exact(j, stream);
}
#endif

lowbit_status lowbit_gemm_device(lowbit_backend backend, const lowbit_qtensor *a, const lowbit_qtensor *b,
                                 float alpha, float beta, lowbit_dtype c_type, void *c, size_t ldc,
                                 const lowbit_gemm_opts *opts, void *stream)
{
    lowbit_status s = lb_device_backend(backend);
    if (s != LOWBIT_OK)
        return s;
    lb_gemm_job j;
    if ((s = lb_gemm_job_init(&j, a, b, alpha, beta, c_type, c, ldc, opts)) != LOWBIT_OK)
        return s;
#if LOWBIT_BUILT_CUDA || LOWBIT_BUILT_HIP
    const lb_gpu_ops *ops = lb_gpu_ops_for(backend, &s);
    if (!ops)
        return s;
    if (j.M == 0 || j.N == 0)
        return lb_ok();
    /* With K = 0 the operands are never read. */
    if (j.K > 0 && ((s = lb_gpu_check_operand(ops, &j.a, "a")) != LOWBIT_OK ||
                    (s = lb_gpu_check_operand(ops, &j.b, "b")) != LOWBIT_OK))
        return s;
    if ((s = ops->check_pointer(c, "c")) != LOWBIT_OK)
        return s;
    s = ops->gemm(&j, opts && (opts->flags & LOWBIT_GEMM_ALLOW_FAST), stream);
    return s == LOWBIT_OK ? lb_ok() : s;
#else
    (void)stream;
    if ((s = lowbit_backend_status(backend)) != LOWBIT_OK)  /* not built: says so */
        return s;
    return lb_fail(LOWBIT_ERR_INTERNAL, "backend %s: reported available but has no GEMM kernels",
                   lowbit_backend_name(backend));
#endif
}
