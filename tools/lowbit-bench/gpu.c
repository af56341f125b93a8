/*
 * gpu.c - lowbit-bench --backend cuda: the GPU benchmarks are CUDA programs
 * of their own (bench/cuda/, built beside the library's CUDA objects, each
 * timing lowbit against the device's copy bandwidth or cuBLASLt in the same
 * run); this runs the ones --op selects, passing --json and --quick on, and
 * returns their status.  They are looked for in $LOWBIT_GPU_BENCH_DIR, else
 * in the build tree this tool was built in.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench.h"
#include "proc.h"

#ifndef LOWBIT_BENCH_GPU_DIR
#define LOWBIT_BENCH_GPU_DIR ""
#endif

typedef struct gpu_prog {
    const char *name;
    int ops[2]; /* the lowbit_ops it times (-1: none) */
} gpu_prog;

static const gpu_prog cuda_progs[] = {
    {"convert_bench", {LOWBIT_OP_CONVERT, -1}},
    {"quantize_bench", {LOWBIT_OP_QUANTIZE, LOWBIT_OP_DEQUANTIZE}},
    {"gemm_bench", {LOWBIT_OP_GEMM, -1}},
    {"attention_bench", {LOWBIT_OP_ATTENTION, -1}},
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
    if (backend != LOWBIT_BACKEND_CUDA) {
        fprintf(stderr, "lowbit-bench: --backend %s: there are no %s benchmarks yet (bench/cuda/ are CUDA "
                        "programs)\n", lowbit_backend_name(backend), lowbit_backend_name(backend));
        return 2;
    }
    if (lowbit_backend_status(backend) != LOWBIT_OK) {
        fprintf(stderr, "lowbit-bench: --backend cuda: %s\n", lowbit_last_error());
        return 77;
    }
    const char *dir = getenv("LOWBIT_GPU_BENCH_DIR");
    if (!dir || !*dir)
        dir = LOWBIT_BENCH_GPU_DIR;
    int ran = 0, failed = 0;
    for (size_t i = 0; i < sizeof cuda_progs / sizeof cuda_progs[0]; i++) {
        const gpu_prog *p = &cuda_progs[i];
        if (cfg->op >= 0 && cfg->op != p->ops[0] && cfg->op != p->ops[1])
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, p->name);
        if (access(path, X_OK) != 0) {
            fprintf(stderr, "lowbit-bench: --backend cuda: %s not found (set LOWBIT_GPU_BENCH_DIR to the "
                            "directory of the bench/cuda programs, kernels/cuda/ of a CUDA build)\n", path);
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
