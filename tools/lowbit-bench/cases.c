/*
 * cases.c - what is benchmarked: the conversions, quantize and dequantize
 * cases, their byte counts, and their buffers.
 */
#include <stdlib.h>
#include <string.h>
#include "bench.h"

static const lowbit_convert_opts nearest = {LOWBIT_ROUND_NEAREST_EVEN, 0, 0, 0};
static const lowbit_convert_opts saturating = {LOWBIT_ROUND_NEAREST_EVEN, 1, 0, 0};
static const lowbit_convert_opts stochastic = {LOWBIT_ROUND_STOCHASTIC, 1, 0x5EEDu, 0};

static void add_convert(bench_case *c, lowbit_dtype src, lowbit_dtype dst, lowbit_convert_opts opts,
                        const char *suffix)
{
    memset(c, 0, sizeof *c);
    c->op = LOWBIT_OP_CONVERT;
    c->src = src;
    c->dst = dst;
    c->opts = opts;
    snprintf(c->formats, sizeof c->formats, "%s->%s%s", lowbit_dtype_name(src), lowbit_dtype_name(dst), suffix);
}

static void add_scaled(bench_case *c, lowbit_op op, lowbit_format fmt, lowbit_dtype wide)
{
    char name[48];
    memset(c, 0, sizeof *c);
    c->op = op;
    c->fmt = fmt;
    c->opts = nearest;
    lowbit_format_name(&fmt, name, sizeof name);
    if (op == LOWBIT_OP_QUANTIZE) {
        c->src = wide;
        snprintf(c->formats, sizeof c->formats, "%s->%s", lowbit_dtype_name(wide), name);
    } else {
        c->dst = wide;
        snprintf(c->formats, sizeof c->formats, "%s->%s", name, lowbit_dtype_name(wide));
    }
}

size_t cases_build(bench_case *out, size_t max)
{
    static const struct {
        lowbit_dtype src, dst;
        const lowbit_convert_opts *opts;
        const char *suffix;
    } conversions[] = {
        {LOWBIT_F32, LOWBIT_E4M3, &nearest, ""},
        {LOWBIT_F32, LOWBIT_E5M2, &saturating, "/sat"},
        {LOWBIT_F32, LOWBIT_E4M3FNUZ, &nearest, ""},
        {LOWBIT_F32, LOWBIT_E2M1, &nearest, ""},
        {LOWBIT_F32, LOWBIT_E3M2, &nearest, ""},
        {LOWBIT_F32, LOWBIT_INT8, &nearest, ""},
        {LOWBIT_F32, LOWBIT_BF16, &nearest, ""},
        {LOWBIT_F32, LOWBIT_F16, &nearest, ""},
        {LOWBIT_BF16, LOWBIT_E4M3, &nearest, ""},
        {LOWBIT_F16, LOWBIT_E4M3, &nearest, ""},
        {LOWBIT_E4M3, LOWBIT_F32, &nearest, ""},
        {LOWBIT_E4M3, LOWBIT_BF16, &nearest, ""},
        {LOWBIT_E2M1, LOWBIT_F32, &nearest, ""},
        {LOWBIT_INT4, LOWBIT_F32, &nearest, ""},
        {LOWBIT_F32, LOWBIT_E4M3, &stochastic, "/stochastic"},
    };
    const lowbit_format scaled[] = {
        lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR),        /* MXFP8 */
        lowbit_format_mx(LOWBIT_E3M2, LOWBIT_SCALE_FLOOR),        /* MXFP6 */
        lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR),        /* MXFP4 */
        lowbit_format_mx(LOWBIT_INT8, LOWBIT_SCALE_FLOOR),        /* MXINT8 */
        lowbit_format_nvfp4(),
        lowbit_format_fp8_tensor(LOWBIT_E4M3),
        lowbit_format_fp8_row(LOWBIT_E4M3),
        lowbit_format_fp8_block(LOWBIT_E4M3, 1, 128),
        lowbit_format_fp8_block(LOWBIT_E4M3, 128, 128),
        lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0),   /* INT8 per row */
        lowbit_format_int_group(LOWBIT_INT4, 128, LOWBIT_F32, 1), /* INT4 g128 + zero point */
    };
    const size_t nconv = sizeof conversions / sizeof conversions[0];
    const size_t nscaled = sizeof scaled / sizeof scaled[0];
    size_t n = 0;
    for (size_t i = 0; i < nconv && n < max; i++)
        add_convert(&out[n++], conversions[i].src, conversions[i].dst, *conversions[i].opts,
                    conversions[i].suffix);
    for (size_t i = 0; i < nscaled && n < max; i++)
        add_scaled(&out[n++], LOWBIT_OP_QUANTIZE, scaled[i], LOWBIT_F32);
    for (size_t i = 0; i < nscaled && n < max; i++)
        add_scaled(&out[n++], LOWBIT_OP_DEQUANTIZE, scaled[i], LOWBIT_F32);
    if (n < max) /* the dequantize a bf16 model would run */
        add_scaled(&out[n++], LOWBIT_OP_DEQUANTIZE, lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR),
                   LOWBIT_BF16);
    return n;
}

/* A near-square matrix with a power-of-two row length: 16 Mi elements are
 * 4096 x 4096, 64 Ki are 256 x 256.  Flat conversions use rows * cols. */
case_shape shape_for(size_t elements)
{
    size_t cols = 16;
    while (cols < ((size_t)1 << 31) && cols * cols < elements)
        cols *= 2;
    case_shape sh = {elements / cols, cols};
    if (sh.rows == 0)
        sh.rows = 1;
    return sh;
}

static size_t qtensor_bytes(const lowbit_qtensor *q)
{
    return q->data_bytes + q->scales_bytes + q->zero_points_bytes;
}

double case_bytes(const bench_case *c, case_shape sh)
{
    size_t n = sh.rows * sh.cols;
    if (c->op == LOWBIT_OP_CONVERT)
        return (double)lowbit_dtype_bytes(c->src, n) + (double)lowbit_dtype_bytes(c->dst, n);
    lowbit_qtensor q;
    if (lowbit_qtensor_init(&q, &c->fmt, sh.rows, sh.cols) != LOWBIT_OK)
        return 0;
    lowbit_dtype wide = c->op == LOWBIT_OP_QUANTIZE ? c->src : c->dst;
    return (double)lowbit_dtype_bytes(wide, n) + (double)qtensor_bytes(&q);
}

static lowbit_status alloc_qtensor(const bench_case *c, case_shape sh, lowbit_qtensor *q)
{
    lowbit_status s = lowbit_qtensor_init(q, &c->fmt, sh.rows, sh.cols);
    if (s != LOWBIT_OK)
        return s;
    q->data = alloc_touched(q->data_bytes);
    q->scales = q->scales_bytes ? alloc_touched(q->scales_bytes) : NULL;
    q->zero_points = q->zero_points_bytes ? alloc_touched(q->zero_points_bytes) : NULL;
    return LOWBIT_OK;
}

lowbit_status case_setup(const bench_case *c, case_shape sh, const float *master, buffer_set *s)
{
    size_t n = sh.rows * sh.cols;
    memset(s, 0, sizeof *s);
    switch (c->op) {
    case LOWBIT_OP_CONVERT:
        s->in = alloc_touched(lowbit_dtype_bytes(c->src, n));
        s->out = alloc_touched(lowbit_dtype_bytes(c->dst, n));
        if (c->src == LOWBIT_F32) {
            memcpy(s->in, master, n * sizeof(float));
            return LOWBIT_OK;
        }
        return lowbit_convert(c->src, s->in, LOWBIT_F32, master, n, &saturating);
    case LOWBIT_OP_QUANTIZE:
        s->in = alloc_touched(lowbit_dtype_bytes(c->src, n));
        if (c->src == LOWBIT_F32)
            memcpy(s->in, master, n * sizeof(float));
        else {
            lowbit_status st = lowbit_convert(c->src, s->in, LOWBIT_F32, master, n, &nearest);
            if (st != LOWBIT_OK)
                return st;
        }
        return alloc_qtensor(c, sh, &s->q);
    case LOWBIT_OP_DEQUANTIZE: {
        s->out = alloc_touched(lowbit_dtype_bytes(c->dst, n));
        lowbit_status st = alloc_qtensor(c, sh, &s->q);
        if (st != LOWBIT_OK)
            return st;
        return lowbit_quantize(&s->q, LOWBIT_F32, master, sh.cols, &nearest);
    }
    default:
        return LOWBIT_ERR_INVALID_ENUM;
    }
}

void case_free(const bench_case *c, buffer_set *s)
{
    (void)c;
    free(s->in);
    free(s->out);
    free(s->q.data);
    free(s->q.scales);
    free(s->q.zero_points);
    memset(s, 0, sizeof *s);
}

lowbit_status case_run(const bench_case *c, case_shape sh, buffer_set *s)
{
    switch (c->op) {
    case LOWBIT_OP_CONVERT:
        return lowbit_convert(c->dst, s->out, c->src, s->in, sh.rows * sh.cols, &c->opts);
    case LOWBIT_OP_QUANTIZE:
        return lowbit_quantize(&s->q, c->src, s->in, sh.cols, &c->opts);
    case LOWBIT_OP_DEQUANTIZE:
        return lowbit_dequantize(c->dst, s->out, sh.cols, &s->q);
    default:
        return LOWBIT_ERR_INVALID_ENUM;
    }
}
