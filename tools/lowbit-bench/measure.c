/*
 * measure.c - time every selected case on every backend that runs here, at
 * 1 and N threads.
 *
 * Cold (the default): the case gets enough distinct buffer sets that their
 * total is at least twice the last-level cache, and consecutive repetitions
 * use different sets, so every repetition reads its input from memory and
 * writes its output to lines that are not cached.  --in-cache: one set,
 * reused, with many repetitions.
 */
#include <stdlib.h>
#include <string.h>
#include "bench.h"

#define MAX_CASES 64
#define MAX_SETS 64
#define MAX_QUICK_SETS 4 /* --quick is a smoke run: keep its setup short */
#define MAX_IN_CACHE_REPS 100000

static int selected(const bench_config *cfg, const bench_case *c)
{
    if (cfg->op >= 0 && (int)c->op != cfg->op)
        return 0;
    return !cfg->filter || strstr(c->formats, cfg->filter) != NULL;
}

int buffer_sets_for(const bench_config *cfg, const roofline *r, double set_bytes)
{
    if (cfg->in_cache || set_bytes <= 0)
        return 1;
    double llc = r->llc.bytes ? (double)r->llc.bytes : 32.0 * (1 << 20);
    int sets = (int)(2.0 * llc / set_bytes) + 1;
    int most = cfg->quick ? MAX_QUICK_SETS : MAX_SETS;
    return sets > most ? most : sets;
}

/* One warm-up call, then the timed repetitions; fills times[], returns the
 * repetition count (0 if a call failed: res->status says why). */
static int time_case(const bench_config *cfg, const bench_case *c, case_shape sh, buffer_set *sets, int nsets,
                     double *times, op_result *res)
{
    res->status = case_run(c, sh, &sets[0]);
    if (res->status != LOWBIT_OK)
        return 0;
    int min_reps = cfg->reps;
    int max_reps = cfg->in_cache ? MAX_IN_CACHE_REPS : cfg->reps;
    double min_time = !cfg->in_cache ? 0 : cfg->quick ? 0.02 : 0.2;
    double spent = 0;
    int r = 0;
    while (r < max_reps && (r < min_reps || spent < min_time)) {
        buffer_set *s = &sets[(r + 1) % nsets];
        double t0 = now_seconds();
        res->status = case_run(c, sh, s);
        double dt = now_seconds() - t0;
        times[r] = dt > 1e-9 ? dt : 1e-9; /* keeps GB/s finite (valid JSON) */
        if (res->status != LOWBIT_OK)
            return 0;
        spent += times[r++];
    }
    return r;
}

static void measure_one_case(const bench_config *cfg, const roofline *r, const bench_case *c, case_shape sh,
                             const float *master, int *failures)
{
    op_result res;
    memset(&res, 0, sizeof res);
    res.c = c;
    res.shape = sh;
    res.bytes = case_bytes(c, sh);
    int nsets = buffer_sets_for(cfg, r, res.bytes);
    res.buffer_sets = nsets;
    buffer_set *sets = calloc((size_t)nsets, sizeof *sets);
    double *times = malloc((size_t)(cfg->in_cache ? MAX_IN_CACHE_REPS : cfg->reps) * sizeof *times);
    if (!sets || !times)
        die("out of memory");
    lowbit_status setup = LOWBIT_OK;
    lowbit_set_backend(LOWBIT_BACKEND_AUTO); /* inputs are bit-identical whichever backend makes them */
    for (int i = 0; i < nsets && setup == LOWBIT_OK; i++)
        setup = case_setup(c, sh, master, &sets[i]);

    for (int b = 0; b < cfg->backend_count; b++) {
        res.backend = cfg->backends[b];
        for (int t = 0; t < r->thread_count_n; t++) {
            res.threads = r->thread_counts[t];
            res.copy_gbps = roofline_copy_gbps(r, cfg, res.threads);
            res.status = setup;
            res.reps = 0;
            if (setup == LOWBIT_OK && (res.status = lowbit_set_backend(res.backend)) == LOWBIT_OK &&
                (res.status = lowbit_set_num_threads(res.threads)) == LOWBIT_OK)
                res.reps = time_case(cfg, c, sh, sets, nsets, times, &res);
            if (res.status != LOWBIT_OK) {
                res.error = lowbit_last_error();
                ++*failures;
            } else {
                res.best_s = min_of(times, res.reps);
                res.median_s = median_of(times, res.reps);
            }
            report_op(cfg, &res);
            if (setup != LOWBIT_OK)
                break;
        }
        if (setup != LOWBIT_OK)
            break;
    }
    for (int i = 0; i < nsets; i++)
        case_free(c, &sets[i]);
    free(sets);
    free(times);
}

int measure_cases(const bench_config *cfg, const roofline *r, int *measured)
{
    *measured = 0;
    if (cfg->op == LOWBIT_OP_GEMM) /* gemm.c */
        return 0;
    bench_case cases[MAX_CASES];
    size_t ncases = cases_build(cases, MAX_CASES);
    case_shape sh = shape_for(cfg->elements);
    float *master = alloc_touched(sh.rows * sh.cols * sizeof *master);
    fill_normal(master, sh.rows * sh.cols, 20261201);
    int failures = 0;
    int header = 0;
    for (size_t i = 0; i < ncases; i++)
        if (selected(cfg, &cases[i])) {
            if (!header++)
                report_op_header(cfg, sh);
            measure_one_case(cfg, r, &cases[i], sh, master, &failures);
            ++*measured;
        }
    lowbit_set_backend(LOWBIT_BACKEND_AUTO);
    lowbit_set_num_threads(0);
    free(master);
    return failures;
}
