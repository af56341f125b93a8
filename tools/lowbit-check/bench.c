/*
 * bench.c - --bench: after every check passed, time each runnable kernel on
 * 1M elements (1024 x 1024 for quantize / dequantize), cold-ish data
 * (buffers of several MB), best of repeated runs, and print ns per element
 * and GB/s counting the bytes read plus the bytes written.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "model.h"
#include "qcheck.h"

#define BENCH_N (1u << 20)

static double time_it(void (*fn)(void *), void *arg)
{
    double best = INFINITY, spent = 0;
    int reps = 0;
    while (reps < 3 || (spent < 0.2 && reps < 1000)) {
        double t0 = now_seconds();
        fn(arg);
        double dt = now_seconds() - t0;
        if (dt < best)
            best = dt;
        spent += dt;
        reps++;
    }
    return best;
}

typedef struct cvt_arg {
    const lb_kernel *k;
    lowbit_dtype dt, st;
    void *dst;
    const void *src;
    lb_cvt_params p;
} cvt_arg;

static void cvt_run(void *a)
{
    cvt_arg *c = a;
    lb_run_convert(c->k, c->dst, c->dt, c->src, c->st, BENCH_N, &c->p);
}

typedef struct q_arg {
    const lb_kernel *k;
    lowbit_qtensor *q;
    const float *src;
    float *dst;
    lb_cvt_params p;
} q_arg;

static void q_run(void *a)
{
    q_arg *c = a;
    lb_run_quantize(c->k, c->q, LOWBIT_F32, c->src, c->q->cols, &c->p);
}

static void dq_run(void *a)
{
    q_arg *c = a;
    lb_run_dequantize(c->k, LOWBIT_F32, c->dst, c->q->cols, c->q);
}

static void report(FILE *o, const char *op, const char *formats, const lb_kernel *k, double secs, double bytes)
{
    fprintf(o, "bench: %-10s %-26s %-7s %-26s %8.2f ns/element %8.2f GB/s\n", op, formats,
            lowbit_backend_name(k->backend), k->name, secs * 1e9 / BENCH_N, bytes / secs * 1e-9);
}

void run_bench(void)
{
    FILE *o = cfg.json ? stderr : stdout;
    rng g;
    rng_for(&g, "bench");
    float *f = malloc(BENCH_N * sizeof *f);
    for (size_t i = 0; i < BENCH_N; i++)
        f[i] = (float)rng_normal(&g);
    uint8_t *tmp = malloc(4 * (size_t)BENCH_N);
    uint8_t *dst = malloc(4 * (size_t)BENCH_N);
    static const lowbit_dtype pairs[][2] = {{LOWBIT_F32, LOWBIT_E4M3}, {LOWBIT_F32, LOWBIT_E5M2},
                                            {LOWBIT_F32, LOWBIT_E2M1}, {LOWBIT_F32, LOWBIT_E3M2},
                                            {LOWBIT_F32, LOWBIT_BF16}, {LOWBIT_F32, LOWBIT_INT8},
                                            {LOWBIT_E4M3, LOWBIT_F32}, {LOWBIT_E2M1, LOWBIT_F32},
                                            {LOWBIT_BF16, LOWBIT_F32}};
    for (size_t i = 0; i < lb_registry_size; i++) {
        const lb_kernel *k = lb_registry[i];
        if (!kernel_selected(k) || !kernel_runnable(k, NULL))
            continue;
        if (k->op == LOWBIT_OP_CONVERT) {
            for (size_t pi = 0; pi < sizeof pairs / sizeof pairs[0]; pi++) {
                lowbit_dtype st = pairs[pi][0], dt = pairs[pi][1];
                if (!lb_kernel_covers_convert(k, st, dt))
                    continue;
                const void *src = f;
                if (st != LOWBIT_F32) { /* make the source by converting with the kernel's reference */
                    lb_cvt_params p0 = {0, 1, 0, 0};
                    const lb_kernel *ref = find_ref_kernel(LOWBIT_OP_CONVERT);
                    lb_run_convert(ref, tmp, st, f, LOWBIT_F32, BENCH_N, &p0);
                    src = tmp;
                }
                cvt_arg a = {k, dt, st, dst, src, {0, 0, 0, 0}};
                double t = time_it(cvt_run, &a);
                char formats[48];
                snprintf(formats, sizeof formats, "%s->%s", lowbit_dtype_name(st), lowbit_dtype_name(dt));
                report(o, "convert", formats, k, t, (double)hx_bytes(st, BENCH_N) + (double)hx_bytes(dt, BENCH_N));
            }
        } else {
            lowbit_format fm[4] = {lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR),
                                   lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), lowbit_format_nvfp4(),
                                   lowbit_format_int_group(LOWBIT_UINT4, 128, LOWBIT_BF16, 1)};
            for (int fi = 0; fi < 4; fi++) {
                if (!lb_kernel_covers_quantize(k, (lb_scheme)fmt_scheme(&fm[fi]), fm[fi].elem, LOWBIT_F32))
                    continue;
                lowbit_qtensor q;
                lowbit_qtensor_init(&q, &fm[fi], 1024, BENCH_N / 1024);
                q.data = malloc(q.data_bytes);
                q.scales = malloc(q.scales_bytes);
                q.zero_points = q.zero_points_bytes ? malloc(q.zero_points_bytes) : NULL;
                const lb_kernel *qref = find_ref_kernel(LOWBIT_OP_QUANTIZE);
                lb_cvt_params p0 = {0, 1, 0, 0};
                lb_run_quantize(qref, &q, LOWBIT_F32, f, q.cols, &p0);
                q_arg a = {k, &q, f, (float *)(void *)dst, p0};
                double t = time_it(k->op == LOWBIT_OP_QUANTIZE ? q_run : dq_run, &a);
                char name[48];
                lowbit_format_name(&fm[fi], name, sizeof name);
                double bytes = 4.0 * BENCH_N + (double)q.data_bytes + (double)q.scales_bytes + (double)q.zero_points_bytes;
                report(o, lowbit_op_name(k->op), name, k, t, bytes);
                free(q.data);
                free(q.scales);
                free(q.zero_points);
            }
        }
    }
    free(f);
    free(tmp);
    free(dst);
}
