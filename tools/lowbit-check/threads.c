/*
 * threads.c - results must not depend on the thread count.
 *
 * For every kernel this CPU runs (the reference included), inputs large
 * enough to be cut into many tasks (src/convert.c, src/quantize.c) go
 * through the same driver the public API uses, with 1, 2, 3 and 8 worker
 * threads, and every output byte (codes, padding, scales, zero points, the
 * NVFP4 tensor scale, dequantized values) must equal the reference kernel
 * run on one thread.  The shapes reach each way a call is cut: many rows
 * per task, one row split into column tiles, a whole-tensor scale reduced
 * across tasks, and 4-bit zero points with an odd number of groups per row.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "run.h"
#include "../../formats/minifloat.h"

static const int thread_counts[] = {1, 2, 3, 8};
#define NTHREADS (sizeof thread_counts / sizeof thread_counts[0])

/* Normal data with a sprinkling of subnormals and (if specials) NaN / Inf. */
static void fill_f32(rng *g, float *x, size_t n, int specials)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t pick = rng_below(g, 1000);
        if (!specials && pick < 2)
            pick = 2;
        if (pick == 0)
            x[i] = f32_from_bits(0x7FC00000u | rng_below(g, 1u << 22));
        else if (pick == 1)
            x[i] = rng_below(g, 2) ? INFINITY : -INFINITY;
        else if (pick < 4)
            x[i] = f32_from_bits(rng_below(g, 0x00800000u));
        else
            x[i] = (float)(rng_normal(g) * 3.0);
    }
}

static void count_diff(check_row *r, const char *what, int threads, const uint8_t *want, const uint8_t *got,
                       size_t bytes)
{
    for (size_t i = 0; i < bytes; i++) {
        r->cases++;
        if (want[i] != got[i])
            row_diff(r, "%s with %d threads: byte %zu is 0x%02x, one thread gives 0x%02x", what, threads, i, got[i],
                     want[i]);
    }
}

/* ---- convert ---------------------------------------------------------- */

typedef struct cvt_case {
    lowbit_dtype st, dt;
    int mode, sat;
} cvt_case;

static const cvt_case cvt_cases[] = {
    {LOWBIT_F32, LOWBIT_E4M3, LB_ROUND_NE, 1}, {LOWBIT_F32, LOWBIT_E2M1, LB_ROUND_SR, 0},
    {LOWBIT_BF16, LOWBIT_E3M2, LB_ROUND_TZ, 0}, {LOWBIT_E4M3, LOWBIT_F32, LB_ROUND_NE, 0},
    {LOWBIT_F16, LOWBIT_INT4, LB_ROUND_SR, 1},
};

static void threads_convert(const lb_kernel *k, const lb_kernel *ref)
{
    const size_t n = 3 * 65536 + 13; /* four tasks, the last one ragged */
    for (size_t ci = 0; ci < sizeof cvt_cases / sizeof cvt_cases[0]; ci++) {
        const cvt_case *c = &cvt_cases[ci];
        if (!lb_kernel_covers_convert(k, c->st, c->dt) || !(k->rounding_mask & (1u << c->mode)))
            continue;
        char formats[64];
        snprintf(formats, sizeof formats, "threads:%s->%s", lowbit_dtype_name(c->st), lowbit_dtype_name(c->dt));
        check_row r;
        if (!row_begin(&r, "convert", formats, lowbit_backend_name(k->backend), k->name, k->exact))
            continue;
        rng g;
        rng_for(&g, formats);
        float *x = malloc(n * sizeof *x);
        fill_f32(&g, x, n, 1);
        uint8_t *src = malloc(hx_bytes(c->st, n)), *want = malloc(hx_bytes(c->dt, n)),
                *got = malloc(hx_bytes(c->dt, n));
        lb_cvt_params p0 = {LB_ROUND_NE, 1, 0, 0}, p = {c->mode, c->sat, rng_u64(&g), rng_u64(&g) >> 2};
        lowbit_set_num_threads(1);
        lb_run_convert(ref, src, c->st, x, LOWBIT_F32, n, &p0);
        lb_run_convert(ref, want, c->dt, src, c->st, n, &p);
        for (size_t t = 0; t < NTHREADS; t++) {
            lowbit_set_num_threads(thread_counts[t]);
            memset(got, 0xA5, hx_bytes(c->dt, n));
            lb_run_convert(k, got, c->dt, src, c->st, n, &p);
            inject_fault(c->dt, got, n);
            count_diff(&r, formats, thread_counts[t], want, got, hx_bytes(c->dt, n));
        }
        free(x);
        free(src);
        free(want);
        free(got);
        row_end(&r);
    }
}

/* ---- quantize / dequantize ------------------------------------------- */

typedef struct q_case {
    const char *what;
    lowbit_format f;
    size_t rows, cols;
    lowbit_dtype wide;
    int mode;
} q_case;

static int qt_alloc(lowbit_qtensor *q, const lowbit_format *f, size_t rows, size_t cols)
{
    if (lowbit_qtensor_init(q, f, rows, cols) != LOWBIT_OK)
        return -1;
    q->data = calloc(q->data_bytes ? q->data_bytes : 1, 1);
    q->scales = calloc(q->scales_bytes ? q->scales_bytes : 1, 1);
    q->zero_points = q->zero_points_bytes ? calloc(q->zero_points_bytes, 1) : NULL;
    return 0;
}

static void qt_free(lowbit_qtensor *q)
{
    free(q->data);
    free(q->scales);
    free(q->zero_points);
}

static void threads_quantize(const lb_kernel *k, const lb_kernel *qref, const lb_kernel *dqref)
{
    q_case cases[] = {
        {"mxfp4 300x1000", lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR), 300, 1000, LOWBIT_F32, LB_ROUND_NE},
        {"mxfp8 3x140003 sr", lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_RCEIL), 3, 140003, LOWBIT_BF16, LB_ROUND_SR},
        {"nvfp4 257x900", lowbit_format_nvfp4(), 257, 900, LOWBIT_F16, LB_ROUND_NE},
        {"fp8 per-tensor 1x300001", lowbit_format_fp8_tensor(LOWBIT_E4M3), 1, 300001, LOWBIT_F32, LB_ROUND_TZ},
        {"fp8 per-tensor 700x701", lowbit_format_fp8_tensor(LOWBIT_E5M2), 700, 701, LOWBIT_F32, LB_ROUND_NE},
        {"fp8 128x128 300x520", lowbit_format_fp8_block(LOWBIT_E4M3, 128, 128), 300, 520, LOWBIT_F32, LB_ROUND_NE},
        {"uint4 g32 zp 3x70016", lowbit_format_int_group(LOWBIT_UINT4, 32, LOWBIT_BF16, 1), 3, 70016, LOWBIT_F32,
         LB_ROUND_SR},
        {"int4 g32 zp 640x224", lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 1), 640, 224, LOWBIT_F32,
         LB_ROUND_NE},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        q_case *c = &cases[ci];
        lb_scheme scheme = lb_format_scheme(&c->f);
        if (!lb_kernel_covers_quantize(k, scheme, c->f.elem, c->wide))
            continue;
        if (k->op == LOWBIT_OP_QUANTIZE && !(k->rounding_mask & (1u << c->mode)))
            continue;
        char formats[64];
        snprintf(formats, sizeof formats, "threads:%s", c->what);
        check_row r;
        if (!row_begin(&r, lowbit_op_name(k->op), formats, lowbit_backend_name(k->backend), k->name, k->exact))
            continue;
        rng g;
        rng_for(&g, formats);
        size_t n = c->rows * c->cols;
        float *x = malloc(n * sizeof *x);
        fill_f32(&g, x, n, c->f.block_rows != 0 || c->f.block_cols != 0);
        uint8_t *src = malloc(hx_bytes(c->wide, n));
        lb_cvt_params p0 = {LB_ROUND_NE, 1, 0, 0}, p = {c->mode, 1, rng_u64(&g), rng_u64(&g) >> 2};
        lowbit_set_num_threads(1);
        lb_run_convert(find_ref_kernel(LOWBIT_OP_CONVERT), src, c->wide, x, LOWBIT_F32, n, &p0);
        lowbit_qtensor want, got;
        if (qt_alloc(&want, &c->f, c->rows, c->cols) || qt_alloc(&got, &c->f, c->rows, c->cols)) {
            row_event(&r, "%s: the format is refused by lowbit_qtensor_init", formats);
            row_end(&r);
            free(x);
            free(src);
            continue;
        }
        lb_run_quantize(qref, &want, c->wide, src, c->cols, &p);
        if (k->op == LOWBIT_OP_QUANTIZE) {
            for (size_t t = 0; t < NTHREADS; t++) {
                lowbit_set_num_threads(thread_counts[t]);
                memset(got.data, 0x5A, got.data_bytes);
                memset(got.scales, 0x5A, got.scales_bytes);
                if (got.zero_points)
                    memset(got.zero_points, 0x5A, got.zero_points_bytes);
                const int has_ts = (c->f.flags & LOWBIT_FMT_TENSOR_SCALE) != 0;
                if (has_ts)
                    got.tensor_scale = -1.0f;
                lb_run_quantize(k, &got, c->wide, src, c->cols, &p);
                inject_fault(c->f.elem, got.data, n);
                count_diff(&r, "codes", thread_counts[t], want.data, got.data, want.data_bytes);
                count_diff(&r, "scales", thread_counts[t], want.scales, got.scales, want.scales_bytes);
                if (want.zero_points)
                    count_diff(&r, "zero points", thread_counts[t], want.zero_points, got.zero_points,
                               want.zero_points_bytes);
                r.cases += has_ts;
                if (has_ts && f32_bits(want.tensor_scale) != f32_bits(got.tensor_scale))
                    row_diff(&r, "tensor scale with %d threads: %.9g, one thread gives %.9g", thread_counts[t],
                             (double)got.tensor_scale, (double)want.tensor_scale);
            }
        } else {
            size_t ob = hx_bytes(c->wide, n);
            uint8_t *dw = malloc(ob), *dg = malloc(ob);
            lowbit_set_num_threads(1);
            lb_run_dequantize(dqref, c->wide, dw, c->cols, &want);
            for (size_t t = 0; t < NTHREADS; t++) {
                lowbit_set_num_threads(thread_counts[t]);
                memset(dg, 0x5A, ob);
                lb_run_dequantize(k, c->wide, dg, c->cols, &want);
                inject_fault(c->wide, dg, n);
                count_diff(&r, "values", thread_counts[t], dw, dg, ob);
            }
            free(dw);
            free(dg);
        }
        qt_free(&want);
        qt_free(&got);
        free(x);
        free(src);
        row_end(&r);
    }
}

void check_threads(void)
{
    const lb_kernel *cref = find_ref_kernel(LOWBIT_OP_CONVERT);
    const lb_kernel *qref = find_ref_kernel(LOWBIT_OP_QUANTIZE);
    const lb_kernel *dqref = find_ref_kernel(LOWBIT_OP_DEQUANTIZE);
    if (!cref || !qref || !dqref)
        return; /* check_convert / check_quantize report the missing reference */
    int saved = lowbit_get_num_threads();
    for (size_t i = 0; i < lb_registry_size; i++) {
        const lb_kernel *k = lb_registry[i];
        if (!kernel_selected(k) || !kernel_runnable(k, NULL))
            continue;
        if (k->op == LOWBIT_OP_CONVERT)
            threads_convert(k, cref);
        else
            threads_quantize(k, qref, dqref);
    }
    lowbit_set_num_threads(saved);
}
