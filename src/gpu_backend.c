/*
 * gpu_backend.c - the core's view of the GPU backends: one lb_gpu_ops table
 * per device backend (src/gpu.h).
 *
 * CUDA is linked into liblowbit (kernels/cuda/, cudart static), so its table
 * is a constant.  HIP is not: its kernels are in liblowbit-hip.so, which
 * needs libamdhip64 (ROCm).  The core opens that module with dlopen() the
 * first time anything asks for the HIP backend, so liblowbit loads and runs
 * on machines without ROCm, and a program that never touches HIP never loads
 * the ROCm runtime.  Where the module is looked for, in order:
 *   1. $LOWBIT_HIP_MODULE, a path (only there when it is set);
 *   2. beside the binary that holds this code (liblowbit.so, or a program
 *      linked with liblowbit.a), found with dladdr();
 *   3. the library directory lowbit was configured to install into;
 *   4. the dynamic loader's own search (LD_LIBRARY_PATH, ld.so.cache).
 * The outcome (table or reason) is decided once per process.
 */
#include <stdio.h>
#include <string.h>
#include "internal.h"
#include "lowbit_config.h"
#include "gpu.h"
#if LOWBIT_BUILT_CUDA
#include "gpu_gemm.h"
#endif

#if LOWBIT_BUILT_HIP
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#endif

#if LOWBIT_BUILT_CUDA
static const lb_gpu_ops lb_cuda_ops = {
    lb_cuda_device_count, lb_cuda_check_pointer, lb_cuda_convert,
    lb_cuda_quantize,     lb_cuda_dequantize,    lb_cuda_attention,
    lb_cuda_gemm_run,     lb_cuda_kv_append,
};
#endif

#if LOWBIT_BUILT_HIP
#define LB_HIP_MODULE_NAME "liblowbit-hip.so"

static pthread_once_t lb_hip_once = PTHREAD_ONCE_INIT;
static const lb_gpu_ops *lb_hip_ops;
static char lb_hip_why[1400];  /* why lb_hip_ops is NULL */

static const lb_gpu_host lb_hip_host = {
    LB_GPU_HOST_VERSION,
    {sizeof(lb_cvt_params), sizeof(lowbit_qtensor), sizeof(lb_attn_job), sizeof(lb_gemm_job),
     sizeof(lb_kv_append_job)},
    lb_fail,
    lb_grid_of,
    lb_format_scheme,
    lowbit_dtype_bits,
    lowbit_dtype_bytes,
    lowbit_dtype_name,
};

/* Append as much of text to buf (cap bytes, NUL-terminated) as fits. */
static void lb_append(char *buf, size_t cap, const char *text)
{
    size_t used = strlen(buf);
    while (*text && used + 1 < cap)
        buf[used++] = *text++;
    buf[used] = '\0';
}

/* dlopen() path; on failure appends dlerror()'s text to tried[]. */
static void *lb_hip_try(const char *path, char *tried, size_t cap)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        if (tried[0])
            lb_append(tried, cap, "; ");
        lb_append(tried, cap, e ? e : path);
    }
    return h;
}

static void lb_hip_load(void)
{
    char tried[1024] = "";
    char path[1024];
    void *h = NULL;
    const char *env = getenv("LOWBIT_HIP_MODULE");
    if (env && *env) {
        h = lb_hip_try(env, tried, sizeof tried);
    } else {
        Dl_info info;
        if (dladdr((void *)&lb_gpu_ops_for, &info) && info.dli_fname && strchr(info.dli_fname, '/')) {
            const char *slash = strrchr(info.dli_fname, '/');
            int len = (int)(slash - info.dli_fname);
            if (snprintf(path, sizeof path, "%.*s/%s", len, info.dli_fname, LB_HIP_MODULE_NAME) <
                (int)sizeof path)
                h = lb_hip_try(path, tried, sizeof tried);
        }
        if (!h)
            h = lb_hip_try(LOWBIT_HIP_MODULE_DIR "/" LB_HIP_MODULE_NAME, tried, sizeof tried);
        if (!h)
            h = lb_hip_try(LB_HIP_MODULE_NAME, tried, sizeof tried);
    }
    if (!h) {
        snprintf(lb_hip_why, sizeof lb_hip_why,
                 "backend hip: HIP backend module not found or not loadable (set LOWBIT_HIP_MODULE to its "
                 "path): %s", tried);
        return;
    }
    lb_hip_module_fn open_fn;
    void *sym = dlsym(h, LB_HIP_MODULE_ENTRY);
    memcpy(&open_fn, &sym, sizeof open_fn);  /* object to function pointer, as POSIX allows */
    if (!open_fn) {
        snprintf(lb_hip_why, sizeof lb_hip_why, "backend hip: %s is not a lowbit HIP backend module (no %s)",
                 env && *env ? env : LB_HIP_MODULE_NAME, LB_HIP_MODULE_ENTRY);
        dlclose(h);
        return;
    }
    char why[256] = "";
    const lb_gpu_ops *ops = open_fn(&lb_hip_host, why, sizeof why);
    if (!ops) {
        snprintf(lb_hip_why, sizeof lb_hip_why, "backend hip: the HIP backend module refused to load: %s", why);
        dlclose(h);
        return;
    }
    lb_hip_ops = ops;  /* the module stays loaded for the life of the process */
}
#endif

const lb_gpu_ops *lb_gpu_ops_for(lowbit_backend b, lowbit_status *why)
{
    const lb_gpu_ops *ops = NULL;
    const char *name = b == LOWBIT_BACKEND_CUDA ? "CUDA" : "HIP";
    if (b == LOWBIT_BACKEND_CUDA) {
#if LOWBIT_BUILT_CUDA
        ops = &lb_cuda_ops;
#endif
    } else if (b == LOWBIT_BACKEND_HIP) {
#if LOWBIT_BUILT_HIP
        pthread_once(&lb_hip_once, lb_hip_load);
        if (!lb_hip_ops) {
            *why = lb_fail(LOWBIT_ERR_BACKEND_UNAVAILABLE, "%s", lb_hip_why);
            return NULL;
        }
        ops = lb_hip_ops;
#endif
    } else {
        *why = lb_fail(LOWBIT_ERR_INTERNAL, "backend %s: not a device backend", lowbit_backend_name(b));
        return NULL;
    }
    if (!ops) {
        *why = lb_fail(LOWBIT_ERR_BACKEND_NOT_BUILT,
                       "backend %s: not compiled into this library (architecture or build option)",
                       lowbit_backend_name(b));
        return NULL;
    }
    if (ops->device_count() <= 0) {
        *why = lb_fail(LOWBIT_ERR_BACKEND_UNAVAILABLE, "backend %s: no %s device is available",
                       lowbit_backend_name(b), name);
        return NULL;
    }
    return ops;
}
