/*
 * bench.h - lowbit-bench, the microbenchmark tool: what the files share.
 *
 *   main.c        options, the order of the run
 *   util.c        clock, statistics, buffers, random data, cache size
 *   team.c        a team of pinned pthreads running timed repetitions
 *   roofline.c    memcpy bandwidth and the peak f32 FMA / int8 dot rates
 *   peak.c        picks the peak kernel for this CPU (peak_<isa>.c hold them)
 *   cases.c       the benchmarked cases and their buffers
 *   measure.c     timing every case on every backend and thread count
 *   report.c      the table and the JSON lines
 *   gemm.c        the GEMM cases, their timing, report, and the OpenBLAS peer
 *   attention.c   attention decode and prefill over quantized KV caches
 */
#ifndef LOWBIT_BENCH_H
#define LOWBIT_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <lowbit.h>
#include "peak.h"

#define BENCH_MAX_BACKENDS 8
#define BENCH_MAX_THREADS 256

typedef struct bench_config {
    int threads;            /* N, the second thread count (1 is always measured) */
    size_t elements;        /* f32 input elements per op call */
    int reps;               /* timed repetitions (in-cache: the minimum) */
    int in_cache;           /* warm buffers, many repetitions */
    int quick;              /* small sizes, few repetitions: a smoke run */
    int json;               /* JSON lines on stdout, the table on stderr */
    int op;                 /* a lowbit_op, or -1 for all */
    lowbit_backend gpu;     /* --backend cuda / hip: run the device benchmarks instead (0: none) */
    const char *filter;     /* substring of the formats string, or NULL */
    int gemm_fast;          /* GEMM with LOWBIT_GEMM_ALLOW_FAST */
    double gemm_max_s;      /* longest GEMM call timed whole (0: the default) */
    const char *gemm_shape; /* substring of "prefill MxNxK" / "decode MxNxK", or NULL */
    lowbit_backend backends[BENCH_MAX_BACKENDS];
    int backend_count;
} bench_config;

/* The stream the readable table goes to (stderr under --json). */
FILE *table_out(const bench_config *cfg);

/* ---- util.c --------------------------------------------------------- */

double now_seconds(void);
double min_of(const double *v, int n);
double median_of(const double *v, int n);       /* sorts v */
void *alloc_touched(size_t bytes);              /* page-aligned, every page written; exits on failure */
size_t cpus_available(void);
typedef struct cache_info {
    size_t bytes;                   /* what buffers are sized by: the larger of the two; 0 if unknown */
    size_t sysconf_bytes;           /* sysconf(_SC_LEVEL3_CACHE_SIZE), 0 if it has no answer */
    size_t sysfs_bytes;             /* /sys/devices/system/cpu/cpu0/cache: the highest level */
} cache_info;
cache_info last_level_cache(void);
void fill_normal(float *x, size_t n, uint64_t seed);
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- gpu.c ---------------------------------------------------------- */

/* --backend cuda: run the bench/cuda programs --op selects; their status
 * (77: no device). */
int gpu_bench_run(const bench_config *cfg, lowbit_backend backend);

/* ---- team.c --------------------------------------------------------- */

/* Work of one thread in one repetition: thread `index` of `count`. */
typedef void (*team_work)(void *arg, int index, int count);

/* Run `work` on `threads` pthreads (pinned to distinct CPUs where there are
 * enough), all started together: `warmups` untimed repetitions, then `reps`
 * timed ones; seconds[r] runs from the first thread's start of repetition r
 * to the last thread's finish of it. */
void team_run(int threads, int warmups, int reps, team_work work, void *arg, double *seconds);

/* ---- roofline.c ----------------------------------------------------- */

typedef struct roofline {
    cache_info llc;
    int thread_counts[2];
    int thread_count_n;             /* 1, or 2 when N > 1 */
    size_t copy_bytes;              /* source size of the DRAM copy */
    double copy_gbps[2];            /* read + written */
    double copy_seconds[2];
    size_t cache_copy_bytes;        /* --in-cache: an in-cache copy of the op's input size */
    double cache_copy_gbps[2];
    double cache_copy_seconds[2];
    const char *fma_isa, *int8_isa;
    double fma_gflops[2], fma_seconds[2];
    double int8_gops[2], int8_seconds[2];
} roofline;

void roofline_measure(const bench_config *cfg, roofline *r);
/* The bandwidth the ops are compared with at `threads` (in-cache copy under
 * --in-cache, else the DRAM copy); 0 if that thread count was not measured. */
double roofline_copy_gbps(const roofline *r, const bench_config *cfg, int threads);

/* ---- peak.c --------------------------------------------------------- */

const peak_kernel *peak_fma_kernel(void);
const peak_kernel *peak_int8_kernel(void);

/* ---- cases.c -------------------------------------------------------- */

typedef struct bench_case {
    lowbit_op op;
    lowbit_dtype src, dst;          /* element types; quantize: src, dequantize: dst */
    lowbit_convert_opts opts;
    lowbit_format fmt;              /* quantize / dequantize */
    char formats[64];               /* "f32->e4m3", "f32->mx_e2m1_g32/floor", ... */
} bench_case;

/* One input/output buffer set of a case. */
typedef struct buffer_set {
    void *in, *out;
    lowbit_qtensor q;               /* quantize: the output; dequantize: the input */
} buffer_set;

typedef struct case_shape {
    size_t rows, cols;              /* elements = rows * cols */
} case_shape;

size_t cases_build(bench_case *out, size_t max);
case_shape shape_for(size_t elements);
/* Bytes one call reads plus writes (the tight sizes of the packed buffers). */
double case_bytes(const bench_case *c, case_shape sh);
/* Allocate and fill a buffer set from the f32 data `master` (rows x cols). */
lowbit_status case_setup(const bench_case *c, case_shape sh, const float *master, buffer_set *s);
void case_free(const bench_case *c, buffer_set *s);
lowbit_status case_run(const bench_case *c, case_shape sh, buffer_set *s);

/* ---- measure.c ------------------------------------------------------ */

/* Times every selected conversion / quantize / dequantize case; returns the
 * number of failed library calls, *measured the number of cases. */
int measure_cases(const bench_config *cfg, const roofline *r, int *measured);
/* Buffer sets of set_bytes each that together are cold (beyond twice the
 * LLC; at most 64, --quick 4); 1 under --in-cache. */
int buffer_sets_for(const bench_config *cfg, const roofline *r, double set_bytes);

/* ---- gemm.c --------------------------------------------------------- */

/* Times every selected GEMM case, and OpenBLAS on the same shapes where it
 * was built in; returns the number of failed library calls. */
int measure_gemm(const bench_config *cfg, const roofline *r, int *measured);

/* ---- attention.c ---------------------------------------------------- */
/* Times attention decode (GB/s of KV cache against memcpy) and prefill
 * (GFLOP/s against the library's own GEMM); returns failed calls. */
int measure_attention(const bench_config *cfg, const roofline *r, int *measured);

/* ---- report.c ------------------------------------------------------- */

typedef struct op_result {
    const bench_case *c;
    case_shape shape;
    lowbit_backend backend;
    int threads;
    int reps;
    int buffer_sets;                /* distinct input/output sets rotated through */
    double best_s, median_s;
    double bytes;
    double copy_gbps;               /* the peer at the same thread count */
    lowbit_status status;
    const char *error;              /* lowbit_last_error() when status != OK */
} op_result;

void report_roofline(const bench_config *cfg, const roofline *r);
void report_op_header(const bench_config *cfg, case_shape sh);
void report_op(const bench_config *cfg, const op_result *res);

#endif
