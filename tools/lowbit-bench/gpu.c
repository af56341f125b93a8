/*
 * gpu.c - lowbit-bench --backend cuda / hip: the GPU benchmarks are device
 * programs of their own (bench/cuda/, built by nvcc beside the library's
 * CUDA objects and, for the memory-bound ones, by hipcc beside the HIP
 * module; each times lowbit against the device's copy bandwidth or
 * cuBLASLt in the same run); this runs the ones --op selects, passing
 * --json and --quick on, and returns their status.  They are looked for in
 * $LOWBIT_GPU_BENCH_DIR, else in the build tree this tool was built in
 * (kernels/cuda/ or kernels/hip/).  For HIP, an unset LOWBIT_HIP_MODULE is
 * pointed at the liblowbit-hip.so of that directory when there is one, so
 * that a build tree runs as it is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench.h"
#include "proc.h"

#ifndef LOWBIT_BENCH_CUDA_DIR
#define LOWBIT_BENCH_CUDA_DIR ""
#endif
#ifndef LOWBIT_BENCH_HIP_DIR
#define LOWBIT_BENCH_HIP_DIR ""
#endif

typedef struct gpu_prog {
    const char *name;
    int ops[2]; /* the lowbit_ops it times (-1: none) */
    int hip;    /* also built for HIP, as hip_<name> */
} gpu_prog;

static const gpu_prog gpu_progs[] = {
    {"convert_bench", {LOWBIT_OP_CONVERT, -1}, 1},
    {"quantize_bench", {LOWBIT_OP_QUANTIZE, LOWBIT_OP_DEQUANTIZE}, 1},
    /* (its peer is cuBLASLt; Debian's ROCm has no hipBLASLt to match it with) */
    {"gemm_bench", {LOWBIT_OP_GEMM, -1}, 0},
    {"attention_bench", {LOWBIT_OP_ATTENTION, -1}, 1},
};

static int run_prog(const char *path, const bench_config *cfg)
{
    char *argv[4];
    int n = 0;
    argv[n++] = (char *)path;
    if (cfg->json)
        argv[n++] = "--json";
    if (cfg->quick)
        argv[n++] = "--quick";
    argv[n] = NULL;
    int rc = tool_run(argv, -1, "lowbit-bench", NULL);
    if (rc < 0)
        die("running %s: %s", path, strerror(errno));
    return rc;
}

int gpu_bench_run(const bench_config *cfg, lowbit_backend backend)
{
    const int hip = backend == LOWBIT_BACKEND_HIP;
    const char *name = lowbit_backend_name(backend);
    if (backend != LOWBIT_BACKEND_CUDA && !hip) {
        fprintf(stderr, "lowbit-bench: --backend %s: not a GPU backend\n", name);
        return 2;
    }
    const char *dir = getenv("LOWBIT_GPU_BENCH_DIR");
    if (!dir || !*dir)
        dir = hip ? LOWBIT_BENCH_HIP_DIR : LOWBIT_BENCH_CUDA_DIR;
    char path[4096];
    if (hip && !getenv("LOWBIT_HIP_MODULE")) {
        snprintf(path, sizeof path, "%s/liblowbit-hip.so", dir);
        if (access(path, R_OK) == 0)
            setenv("LOWBIT_HIP_MODULE", path, 1);
    }
    if (lowbit_backend_status(backend) != LOWBIT_OK) {
        fprintf(stderr, "lowbit-bench: --backend %s: %s\n", name, lowbit_last_error());
        return 77;
    }
    int ran = 0, failed = 0;
    for (size_t i = 0; i < sizeof gpu_progs / sizeof gpu_progs[0]; i++) {
        const gpu_prog *p = &gpu_progs[i];
        if (cfg->op >= 0 && cfg->op != p->ops[0] && cfg->op != p->ops[1])
            continue;
        if (hip && !p->hip) {
            fprintf(stderr, "lowbit-bench: --backend hip: no HIP %s (its peer, cuBLASLt, has no counterpart in "
                            "this ROCm)\n", p->name);
            if (cfg->op >= 0)
                failed++;
            continue;
        }
        snprintf(path, sizeof path, "%s/%s%s", dir, hip ? "hip_" : "", p->name);
        if (access(path, X_OK) != 0) {
            fprintf(stderr, "lowbit-bench: --backend %s: %s not found (set LOWBIT_GPU_BENCH_DIR to the directory of "
                            "the bench/cuda programs, kernels/%s/ of a build with %s)\n", name, path, name,
                    hip ? "HIP" : "CUDA");
            failed++;
            continue;
        }
        fprintf(table_out(cfg), "\n== %s\n", path);
        int rc = run_prog(path, cfg);
        ran++;
        if (rc != 0) {
            fprintf(stderr, "lowbit-bench: %s exited with %d\n", p->name, rc);
            failed++;
        }
    }
    if (!ran && !failed)
        fprintf(table_out(cfg), "(no GPU benchmark matches --op)\n");
    return failed ? 1 : 0;
}
