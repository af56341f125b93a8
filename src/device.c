/*
 * device.c - entry points on device memory.  Arguments are validated here,
 * exactly as for the host calls; the GPU side (kernels/cuda/, kernels/hip/)
 * then checks where the pointers live and enqueues the kernel.
 */
#include "internal.h"
#include "lowbit_config.h"

#if LOWBIT_BUILT_CUDA
#include "gpu.h"
#endif

lowbit_status lowbit_convert_device(lowbit_backend backend, lowbit_dtype dst_type, void *dst,
                                    lowbit_dtype src_type, const void *src, size_t n,
                                    const lowbit_convert_opts *opts, void *stream)
{
    if ((unsigned)backend >= LOWBIT_BACKEND_COUNT)
        return lb_fail(LOWBIT_ERR_INVALID_ENUM, "backend: unknown lowbit_backend %d", (int)backend);
    if (backend != LOWBIT_BACKEND_CUDA && backend != LOWBIT_BACKEND_HIP)
        return lb_fail(LOWBIT_ERR_UNSUPPORTED, "backend: %s is not a device backend (use cuda or hip)",
                       lowbit_backend_name(backend));
    if ((unsigned)dst_type >= LOWBIT_DTYPE_COUNT)
        return lb_fail(LOWBIT_ERR_INVALID_ENUM, "dst_type: unknown lowbit_dtype %d", (int)dst_type);
    if ((unsigned)src_type >= LOWBIT_DTYPE_COUNT)
        return lb_fail(LOWBIT_ERR_INVALID_ENUM, "src_type: unknown lowbit_dtype %d", (int)src_type);
    lb_cvt_params p = {0, 0, 0, 0};
    if (opts) {
        if ((unsigned)opts->rounding > LOWBIT_ROUND_STOCHASTIC)
            return lb_fail(LOWBIT_ERR_INVALID_ENUM, "opts->rounding: unknown lowbit_rounding %d",
                           (int)opts->rounding);
        p.mode = (int)opts->rounding;
        p.saturate = opts->saturate != 0;
        p.seed = opts->seed;
        p.offset = opts->offset;
    }
    lowbit_status s = lowbit_backend_status(backend);
    if (s != LOWBIT_OK)
        return s;
    if (n == 0)
        return lb_ok();
    if (!dst)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "dst is NULL (n = %zu)", n);
    if (!src)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "src is NULL (n = %zu)", n);
    size_t dst_bytes = lowbit_dtype_bytes(dst_type, n);
    size_t src_bytes = lowbit_dtype_bytes(src_type, n);
    if (dst_bytes == SIZE_MAX || src_bytes == SIZE_MAX ||
        (uintptr_t)dst > UINTPTR_MAX - dst_bytes || (uintptr_t)src > UINTPTR_MAX - src_bytes)
        return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW,
                       "n = %zu: the byte count of src or dst overflows the address space", n);
    if (p.mode == LOWBIT_ROUND_STOCHASTIC && n - 1 > UINT64_MAX - p.offset)
        return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW,
                       "opts->offset + n overflows the 64-bit element index of stochastic rounding");
    if (lb_overlap(dst, dst_bytes, src, src_bytes))
        return lb_fail(LOWBIT_ERR_ALIASING, "dst and src overlap");
#if LOWBIT_BUILT_CUDA
    if (backend == LOWBIT_BACKEND_CUDA) {
        if ((s = lb_cuda_check_pointer(dst, "dst")) != LOWBIT_OK ||
            (s = lb_cuda_check_pointer(src, "src")) != LOWBIT_OK)
            return s;
        s = lb_cuda_convert(dst_type, dst, src_type, src, n, &p, stream);
        return s == LOWBIT_OK ? lb_ok() : s;
    }
#endif
    (void)stream;
    return lb_fail(LOWBIT_ERR_BACKEND_NOT_BUILT, "backend %s: not compiled into this library",
                   lowbit_backend_name(backend));
}
