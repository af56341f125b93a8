/*
 * device.c - entry points on device memory.  Arguments are validated here,
 * exactly as for the host calls (src/convert.c); the GPU side
 * (kernels/cuda/) then checks where the pointers live and enqueues the kernel.
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
    lb_cvt_params p;
    lowbit_status s = lb_convert_args(dst_type, dst, src_type, src, n, opts, &p);
    if (s != LOWBIT_OK)
        return s;
    if ((s = lowbit_backend_status(backend)) != LOWBIT_OK)
        return s;
    if (n == 0)
        return lb_ok();
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
    return lb_fail(LOWBIT_ERR_INTERNAL, "backend %s: reported available but has no kernels",
                   lowbit_backend_name(backend));
}
