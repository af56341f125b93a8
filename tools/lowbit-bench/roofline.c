/*
 * roofline.c - this machine's ceilings, measured in the same run as the ops:
 * memcpy bandwidth over buffers far beyond the last-level cache (and, for
 * --in-cache, over buffers the size of the op input), and the peak f32 FMA
 * and int8 dot-product rates of the best SIMD ISA here.  Each at 1 and N
 * threads; every thread works on its own slice with its own pthread.
 */
#include <stdlib.h>
#include <string.h>
#include "bench.h"

#define MiB ((size_t)1 << 20)

typedef struct copy_job {
    const char *src;
    char *dst;
    size_t bytes;
    int inner;                      /* copies per repetition (small buffers) */
} copy_job;

static void copy_work(void *arg, int index, int count)
{
    copy_job *j = arg;
    size_t slice = j->bytes / (size_t)count / 4096 * 4096;
    size_t begin = (size_t)index * slice;
    size_t len = index == count - 1 ? j->bytes - begin : slice;
    for (int k = 0; k < j->inner; k++)
        memcpy(j->dst + begin, j->src + begin, len);
}

/* Best copy rate in GB/s, counting the bytes read plus the bytes written. */
static double copy_rate(size_t bytes, int threads, int reps, int inner, double *best_s)
{
    copy_job j = {alloc_touched(bytes), alloc_touched(bytes), bytes, inner};
    double *t = malloc((size_t)reps * sizeof *t);
    if (!t)
        die("out of memory");
    team_run(threads, 1, reps, copy_work, &j, t);
    *best_s = min_of(t, reps) / inner;
    free(t);
    free((void *)j.src);
    free(j.dst);
    return 2.0 * (double)bytes / *best_s * 1e-9;
}

typedef struct peak_job {
    const peak_kernel *k;
    uint64_t iters;
    double sink[BENCH_MAX_THREADS];
} peak_job;

static void peak_work(void *arg, int index, int count)
{
    (void)count;
    peak_job *j = arg;
    j->sink[index] += j->k->run(j->iters);
}

/* Iterations that take about `target` seconds on one thread. */
static uint64_t calibrate(const peak_kernel *k, double target)
{
    uint64_t iters = 1024;
    for (;;) {
        double t0 = now_seconds();
        volatile double sink = k->run(iters);
        (void)sink;
        double dt = now_seconds() - t0;
        if (dt > target / 8 || iters > (UINT64_C(1) << 40)) {
            double scale = target / (dt > 1e-9 ? dt : 1e-9);
            return (uint64_t)((double)iters * scale) + 1;
        }
        iters *= 4;
    }
}

/* Peak rate in G(FL)OP/s of kernel k on `threads` threads. */
static double peak_rate(const peak_kernel *k, uint64_t iters, int threads, int reps, double *best_s)
{
    peak_job *j = calloc(1, sizeof *j);
    double *t = malloc((size_t)reps * sizeof *t);
    if (!j || !t)
        die("out of memory");
    j->k = k;
    j->iters = iters;
    team_run(threads, 1, reps, peak_work, j, t);
    *best_s = min_of(t, reps);
    free(t);
    free(j);
    return (double)threads * (double)iters * k->ops_per_iter / *best_s * 1e-9;
}

void roofline_measure(const bench_config *cfg, roofline *r)
{
    memset(r, 0, sizeof *r);
    r->llc = last_level_cache();
    size_t llc = r->llc.bytes ? r->llc.bytes : 32 * MiB; /* sizing guess when unknown */
    r->thread_counts[0] = 1;
    r->thread_count_n = 1;
    if (cfg->threads > 1)
        r->thread_counts[r->thread_count_n++] = cfg->threads;

    /* DRAM: at least 8 x LLC and 256 MiB of source (--quick: 2 x LLC, 16 MiB). */
    size_t copy = cfg->quick ? 2 * llc : 8 * llc;
    size_t floor = cfg->quick ? 16 * MiB : 256 * MiB;
    r->copy_bytes = copy > floor ? copy : floor;
    int reps = cfg->quick ? 2 : (cfg->reps > 5 ? cfg->reps : 5);
    double target = cfg->quick ? 0.02 : 0.2;

    r->fma_isa = peak_fma_kernel()->isa;
    r->int8_isa = peak_int8_kernel()->isa;
    uint64_t fma_iters = calibrate(peak_fma_kernel(), target);
    uint64_t int8_iters = calibrate(peak_int8_kernel(), target);
    for (int i = 0; i < r->thread_count_n; i++) {
        int n = r->thread_counts[i];
        r->copy_gbps[i] = copy_rate(r->copy_bytes, n, reps, 1, &r->copy_seconds[i]);
        if (cfg->in_cache) {
            /* Source + destination as large as the op's f32 input: a
             * source of the full input size fills a 512 KiB L2 exactly and
             * measures conflict misses more than bandwidth.  Repeated
             * inside each repetition so the barrier does not count. */
            r->cache_copy_bytes = cfg->elements * sizeof(float) / 2;
            int inner = (int)(64 * MiB / r->cache_copy_bytes) + 1;
            r->cache_copy_gbps[i] = copy_rate(r->cache_copy_bytes, n, reps, inner, &r->cache_copy_seconds[i]);
        }
        r->fma_gflops[i] = peak_rate(peak_fma_kernel(), fma_iters, n, reps, &r->fma_seconds[i]);
        r->int8_gops[i] = peak_rate(peak_int8_kernel(), int8_iters, n, reps, &r->int8_seconds[i]);
    }
}

double roofline_copy_gbps(const roofline *r, const bench_config *cfg, int threads)
{
    for (int i = 0; i < r->thread_count_n; i++)
        if (r->thread_counts[i] == threads)
            return cfg->in_cache ? r->cache_copy_gbps[i] : r->copy_gbps[i];
    return 0;
}
