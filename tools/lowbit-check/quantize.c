/*
 * quantize.c - every registered quantize / dequantize kernel against the
 * reference.
 *
 * For each format of check_formats() that a kernel's registration covers
 * (scheme, unquantized type, rounding modes), over shapes with partial
 * blocks and wide strides:
 *   quantize    the reference on a tight layout; the candidate with a wider
 *               row stride, its data 0-3 bytes off alignment and the source
 *               misaligned; element codes, scales, zero points and the
 *               tensor scale compared bit for bit, padding bits of each
 *               row's last byte required zero, stride gaps left untouched;
 *               for formats whose blocks never span rows, the rows split in
 *               two calls with the offset advanced must give the one call;
 *   dequantize  tensors quantized by the reference and tensors of random
 *               bits (every code, NaN scales, negative scales...), the
 *               candidate reading a re-laid-out copy and writing a strided,
 *               misaligned destination.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "inputs.h"
#include "model.h"
#include "qcheck.h"

/* ---- the formats ------------------------------------------------------- */

static check_format fmts[96];
static size_t nfmts;

static void add_fmt(lowbit_format f)
{
    if (lowbit_format_check(&f) != LOWBIT_OK) {
        fprintf(stderr, "lowbit-check: internal: format rejected: %s\n", lowbit_last_error());
        return;
    }
    check_format *c = &fmts[nfmts++];
    c->f = f;
    lowbit_format_name(&f, c->name, sizeof c->name);
}

static lowbit_format raw_fmt(lowbit_dtype elem, lowbit_dtype scale, uint32_t br, uint32_t bc,
                             lowbit_scale_rule rule, uint32_t flags)
{
    lowbit_format f;
    memset(&f, 0, sizeof f);
    f.elem = elem;
    f.scale_type = scale;
    f.block_rows = br;
    f.block_cols = bc;
    f.rule = rule;
    f.flags = flags;
    return f;
}

void check_formats(const check_format **list, size_t *n)
{
    if (!nfmts) {
        static const lowbit_dtype mx[] = {LOWBIT_E4M3, LOWBIT_E5M2, LOWBIT_E3M2, LOWBIT_E2M3, LOWBIT_E2M1, LOWBIT_INT8};
        for (size_t i = 0; i < sizeof mx / sizeof mx[0]; i++)
            for (int rule = 0; rule < LOWBIT_SCALE_RULE_COUNT; rule++)
                add_fmt(lowbit_format_mx(mx[i], (lowbit_scale_rule)rule));
        add_fmt(raw_fmt(LOWBIT_E4M3, LOWBIT_E8M0, 2, 16, LOWBIT_SCALE_FLOOR, 0)); /* 2-D MX blocks */
        add_fmt(lowbit_format_nvfp4());
        add_fmt(raw_fmt(LOWBIT_E4M3, LOWBIT_E4M3, 1, 16, LOWBIT_SCALE_FLOOR, LOWBIT_FMT_TENSOR_SCALE));
        add_fmt(raw_fmt(LOWBIT_E3M2, LOWBIT_E4M3, 1, 32, LOWBIT_SCALE_FLOOR, LOWBIT_FMT_TENSOR_SCALE));
        add_fmt(raw_fmt(LOWBIT_E2M1, LOWBIT_E4M3, 4, 16, LOWBIT_SCALE_FLOOR, LOWBIT_FMT_TENSOR_SCALE));
        /* NVFP4 under a calibrated (given) tensor scale */
        add_fmt(raw_fmt(LOWBIT_E2M1, LOWBIT_E4M3, 1, 16, LOWBIT_SCALE_FLOOR,
                        LOWBIT_FMT_TENSOR_SCALE | LOWBIT_FMT_GIVEN_TENSOR_SCALE));
        add_fmt(raw_fmt(LOWBIT_E4M3, LOWBIT_E4M3, 2, 16, LOWBIT_SCALE_FLOOR,
                        LOWBIT_FMT_TENSOR_SCALE | LOWBIT_FMT_GIVEN_TENSOR_SCALE));
        add_fmt(lowbit_format_fp8_tensor(LOWBIT_E4M3));
        add_fmt(lowbit_format_fp8_tensor(LOWBIT_E5M2));
        add_fmt(lowbit_format_fp8_row(LOWBIT_E4M3));
        add_fmt(lowbit_format_fp8_row(LOWBIT_E4M3FNUZ));
        add_fmt(lowbit_format_fp8_row(LOWBIT_E5M2FNUZ));
        add_fmt(lowbit_format_fp8_block(LOWBIT_E4M3, 1, 128));
        add_fmt(lowbit_format_fp8_block(LOWBIT_E4M3, 128, 128));
        add_fmt(lowbit_format_fp8_block(LOWBIT_E5M2, 128, 128));
        add_fmt(lowbit_format_int_group(LOWBIT_INT8, 32, LOWBIT_F16, 0));
        add_fmt(lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0));
        add_fmt(lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_BF16, 0));
        add_fmt(lowbit_format_int_group(LOWBIT_INT4, 128, LOWBIT_F16, 0));
        add_fmt(lowbit_format_int_group(LOWBIT_INT4, 64, LOWBIT_F32, 0));
        add_fmt(lowbit_format_int_group(LOWBIT_E2M1, 32, LOWBIT_F16, 0));
        add_fmt(raw_fmt(LOWBIT_INT8, LOWBIT_F32, 4, 8, LOWBIT_SCALE_FLOOR, 0));
        add_fmt(lowbit_format_int_group(LOWBIT_UINT4, 32, LOWBIT_F16, 1));
        add_fmt(lowbit_format_int_group(LOWBIT_UINT4, 128, LOWBIT_BF16, 1));
        add_fmt(lowbit_format_int_group(LOWBIT_UINT4, 0, LOWBIT_F32, 1));
        add_fmt(lowbit_format_int_group(LOWBIT_INT4, 64, LOWBIT_F32, 1));
        add_fmt(lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_BF16, 1));
        add_fmt(lowbit_format_int_group(LOWBIT_INT8, 32, LOWBIT_F32, 1));
        add_fmt(raw_fmt(LOWBIT_E4M3, LOWBIT_DTYPE_COUNT, 0, 0, LOWBIT_SCALE_FLOOR, 0)); /* plain */
        add_fmt(raw_fmt(LOWBIT_E3M2, LOWBIT_DTYPE_COUNT, 0, 0, LOWBIT_SCALE_FLOOR, 0));
        add_fmt(raw_fmt(LOWBIT_INT4, LOWBIT_DTYPE_COUNT, 0, 0, LOWBIT_SCALE_FLOOR, 0));
    }
    *list = fmts;
    *n = nfmts;
}

int fmt_scheme(const lowbit_format *f)
{
    if (f->scale_type == LOWBIT_DTYPE_COUNT)
        return LB_SCHEME_PLAIN;
    if (f->scale_type == LOWBIT_E8M0)
        return LB_SCHEME_MX;
    if (f->scale_type == LOWBIT_E4M3)
        return LB_SCHEME_NVFP4;
    return (f->flags & LOWBIT_FMT_ZERO_POINT) ? LB_SCHEME_ZP : LB_SCHEME_AMAX;
}

/* ---- qtensor readers ---------------------------------------------------- */

void q_grid(const lowbit_qtensor *q, size_t *br, size_t *bc, size_t *gr, size_t *gc)
{
    *br = q->format.block_rows ? q->format.block_rows : (q->rows ? q->rows : 1);
    *bc = q->format.block_cols ? q->format.block_cols : (q->cols ? q->cols : 1);
    if (fmt_scheme(&q->format) == LB_SCHEME_PLAIN) {
        *gr = *gc = 0;
        return;
    }
    *gr = (q->rows + *br - 1) / *br;
    *gc = (q->cols + *bc - 1) / *bc;
}

uint32_t q_scale_code(const lowbit_qtensor *q, size_t b)
{
    return hx_get(q->format.scale_type, q->scales, b);
}

uint32_t q_zp_code(const lowbit_qtensor *q, size_t b)
{
    return hx_get(q->format.elem, q->zero_points, b);
}

uint32_t q_elem_code(const lowbit_qtensor *q, size_t r, size_t c)
{
    return hx_get(q->format.elem, q->data, r * q->row_stride + c);
}

/* ---- test matrices ------------------------------------------------------ */

static uint32_t code_of(lowbit_dtype st, float f)
{
    return mdl_encode(st, f32_bits(f), MDL_NE, 0, 0);
}

/* The element type's largest finite value, as the scale rules see it. */
static double elem_range(lowbit_dtype e)
{
    return e == LOWBIT_INT8 ? 127.0 : e == LOWBIT_INT4 ? 7.0 : e == LOWBIT_UINT4 ? 15.0 : mdl_max(e);
}

/* A value of one edge-case kind for block-wise data; `edge` the block's amax. */
static void fill_block(qmatrix *m, uint32_t *codes, const lowbit_format *f, size_t r0, size_t r1, size_t c0,
                       size_t c1, rng *g)
{
    lowbit_dtype st = m->st;
    int kmin = st == LOWBIT_F16 ? -10 : -40, kmax = st == LOWBIT_F16 ? 12 : 40;
    int k = kmin + (int)rng_below(g, (uint32_t)(kmax - kmin + 1));
    int kind = (int)rng_below(g, 13);
    size_t cnt = (r1 - r0) * (c1 - c0);
    size_t pick = rng_below(g, (uint32_t)cnt);
    double scale = ldexp(1.0, k);
    /* the amax edge of this block, as a code of the source type */
    uint32_t edge = code_of(st, (float)scale);
    if (kind == 8) {
        double em = elem_range(f->elem);
        if (f->elem == LOWBIT_INT8 && fmt_scheme(f) == LB_SCHEME_MX)
            em = 127.0 / 64.0;
        edge = code_of(st, (float)(em * scale));
    }
    if (kind == 6 || (kind == 8 && (rng_u32(g) & 1)))
        edge -= 1; /* next value below (positive IEEE codes are monotone) */
    if (kind == 7)
        edge += 1; /* next value above */
    double amax = mdl_value(st, edge);
    size_t idx = 0;
    for (size_t r = r0; r < r1; r++) {
        for (size_t c = c0; c < c1; c++, idx++) {
            double x;
            uint32_t code;
            switch (kind) {
            case 1: /* all zero, both signs */
                code = (rng_u32(g) & 1) ? code_of(st, -0.0f) : 0;
                break;
            case 4: /* tiny: subnormal in the source type, or zero */
                x = ldexp(rng_normal(g), st == LOWBIT_F16 ? -20 : st == LOWBIT_BF16 ? -130 : -140);
                code = code_of(st, (float)x);
                break;
            case 9: /* constant */
                code = code_of(st, (float)scale);
                break;
            case 10: /* one-signed: all negative */
                code = code_of(st, (float)(-fabs(rng_normal(g)) * scale));
                break;
            case 11: /* near the top of the source range */
                x = (st == LOWBIT_F16 ? 65504.0 : 3.4028234663852886e38) * (1.0 - 0.5 * rng_unit(g));
                code = code_of(st, (float)((rng_u32(g) & 1) ? x : -x));
                break;
            case 12: /* one value, the rest zero */
                code = idx == pick ? code_of(st, (float)scale) : 0;
                break;
            default:
                x = (2.0 * rng_unit(g) - 1.0) * amax;
                if (kind == 0)
                    x = rng_normal(g) * scale;
                code = code_of(st, (float)x);
                /* never above the edge, so the edge is the block's amax */
                if (kind >= 5 && kind <= 8 && fabs(mdl_value(st, code)) > amax)
                    code = 0;
                break;
            }
            if (idx == pick) {
                if (kind == 2)
                    code = code_of(st, f32_from_bits((rng_u32(g) & 1) ? 0x7FC00000u : 0xFFC00001u)); /* NaN */
                else if (kind == 3)
                    code = code_of(st, (rng_u32(g) & 1) ? INFINITY : -INFINITY);
                else if (kind >= 5 && kind <= 8)
                    code = (rng_u32(g) & 1) ? edge : (edge | (st == LOWBIT_F32 ? 0x80000000u : 0x8000u));
            }
            codes[r * m->stride + c] = code;
        }
    }
}

void qmatrix_make(qmatrix *m, const lowbit_format *f, lowbit_dtype st, size_t rows, size_t cols, size_t stride,
                  int dist, rng *g)
{
    memset(m, 0, sizeof *m);
    m->st = st;
    m->rows = rows;
    m->cols = cols;
    m->stride = stride;
    size_t total = rows ? (rows - 1) * stride + cols : 0;
    uint32_t *codes = calloc(total + 1, sizeof *codes);
    /* junk between rows: a kernel that reads it gets a NaN or a huge amax */
    for (size_t i = 0; i < total; i++)
        codes[i] = (i & 1) ? code_of(st, NAN) : code_of(st, -3.0e38f);
    int sh = st == LOWBIT_F16 ? (int)rng_below(g, 13) - 6 : (int)rng_below(g, 41) - 20;
    if (dist == DIST_BLOCKS) {
        size_t br = f->block_rows ? f->block_rows : rows, bc = f->block_cols ? f->block_cols : cols;
        if (fmt_scheme(f) == LB_SCHEME_PLAIN)
            br = 1, bc = 16;
        for (size_t r0 = 0; r0 < rows; r0 += br)
            for (size_t c0 = 0; c0 < cols; c0 += bc)
                fill_block(m, codes, f, r0, r0 + br < rows ? r0 + br : rows, c0, c0 + bc < cols ? c0 + bc : cols, g);
    } else {
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < cols; c++) {
                double x;
                if (dist == DIST_NORMAL) {
                    x = ldexp(rng_normal(g), sh);
                } else if (dist == DIST_LOGUNIFORM) {
                    double lo = st == LOWBIT_F16 ? -24 : -60, hi = st == LOWBIT_F16 ? 15 : 60;
                    x = exp2(lo + rng_unit(g) * (hi - lo));
                    if (rng_u32(g) & 1)
                        x = -x;
                } else {
                    x = rng_normal(g);
                    if (rng_below(g, 50) == 0)
                        x = ldexp(x, 8 + (int)rng_below(g, st == LOWBIT_F16 ? 6 : 40));
                }
                codes[r * stride + c] = code_of(st, (float)x);
            }
    }
    m->bytes = malloc(hx_bytes(st, total) + 4);
    pack_codes(st, codes, total, m->bytes);
    m->vals = malloc((rows * cols + 1) * sizeof *m->vals);
    float amax = 0.0f;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            float v = f32_from_bits(mdl_decode_f32(st, codes[r * stride + c]));
            m->vals[r * cols + c] = v;
            if (isfinite(v) && fabsf(v) > amax)
                amax = fabsf(v);
        }
    free(codes);
    /* A given tensor scale: the one amax would give, the smallest allowed
     * (every block scale clamps at 448 and the elements saturate), or that
     * one times 2^-4 .. 2^4 and a random mantissa (some blocks saturate,
     * some lose their low codes). */
    m->given_ts = 1.0f;
    if (f->flags & LOWBIT_FMT_GIVEN_TENSOR_SCALE) {
        double derived = amax > 0.0f ? (double)amax / (448.0 * mdl_max(f->elem)) : 1.0, ts;
        uint32_t pick = rng_below(g, 6);
        if (pick == 0)
            ts = derived;
        else if (pick == 1)
            ts = 0x1p-126;
        else
            ts = ldexp(derived * (1.0 + rng_unit(g)), (int)rng_below(g, 9) - 4);
        m->given_ts = (float)fmin(fmax(ts, 0x1p-126), 0x1p127);
    }
}

void qmatrix_give_ts(const qmatrix *m, lowbit_qtensor *q)
{
    if (q->format.flags & LOWBIT_FMT_GIVEN_TENSOR_SCALE)
        q->tensor_scale = m->given_ts;
}

void qmatrix_free(qmatrix *m)
{
    free(m->bytes);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---- kernel against reference ------------------------------------------ */

static const size_t shapes[][2] = {{1, 1},  {1, 2},   {1, 3},   {1, 5},   {1, 15},  {1, 16},   {1, 17},
                                   {1, 31}, {1, 32},  {1, 33},  {2, 63},  {3, 64},  {2, 65},   {4, 127},
                                   {3, 128}, {2, 129}, {5, 130}, {1, 1000}, {7, 257}, {131, 140}, {129, 33}};
static const size_t nshapes = sizeof shapes / sizeof shapes[0];

static int shape_wanted(const lowbit_format *f, size_t si)
{
    int big = shapes[si][0] > 64;
    if (big) /* many-row shapes matter for blocks that span rows */
        return f->block_rows != 1 && !cfg.quick;
    return !cfg.quick || si % 3 == 0 || si == nshapes - 3;
}

static int covers_q(const lb_kernel *k, const lowbit_format *f, int wide)
{
    return lb_kernel_covers_quantize(k, (lb_scheme)fmt_scheme(f), f->elem, (lowbit_dtype)wide);
}

static void compare_q(check_row *r, const char *ctx, const qmatrix *m, const lowbit_qtensor *want,
                      const lowbit_qtensor *got)
{
    size_t br, bc, gr, gc;
    q_grid(want, &br, &bc, &gr, &gc);
    int scheme = fmt_scheme(&want->format);
    lowbit_dtype e = want->format.elem;
    for (size_t b = 0; b < gr * gc; b++) {
        uint32_t w = q_scale_code(want, b), g = q_scale_code(got, b);
        r->cases++;
        if (w != g)
            row_diff(r, "%s: scale of block %zu (row %zu, col %zu): expected 0x%x, got 0x%x", ctx, b, b / gc,
                     b % gc, w, g);
        if (scheme == LB_SCHEME_ZP) {
            w = q_zp_code(want, b);
            g = q_zp_code(got, b);
            r->cases++;
            if (w != g)
                row_diff(r, "%s: zero point of block %zu: expected 0x%x, got 0x%x", ctx, b, w, g);
        }
    }
    if (scheme == LB_SCHEME_NVFP4) {
        uint32_t w = f32_bits(want->tensor_scale), g = f32_bits(got->tensor_scale);
        r->cases++;
        if (w != g)
            row_diff(r, "%s: tensor scale: expected 0x%08x (%.9g), got 0x%08x (%.9g)", ctx, w,
                     (double)want->tensor_scale, g, (double)got->tensor_scale);
    }
    for (size_t row = 0; row < want->rows; row++) {
        for (size_t c = 0; c < want->cols; c++) {
            uint32_t w = q_elem_code(want, row, c), g = q_elem_code(got, row, c);
            r->cases++;
            if (w != g) {
                char a[64], b[64];
                describe_code(e, w, a, sizeof a);
                describe_code(e, g, b, sizeof b);
                row_diff(r, "%s: element (%zu,%zu) input %.9g: expected %s, got %s", ctx, row, c,
                         (double)m->vals[row * want->cols + c], a, b);
            }
        }
        /* the padding bits of a row's last byte are written as zero */
        size_t bits = (row * got->row_stride + got->cols) * hx_bits(e);
        if (bits % 8) {
            uint8_t pad = ((const uint8_t *)got->data)[bits / 8] >> (bits % 8);
            if (pad)
                row_diff(r, "%s: row %zu: padding bits after the last element are 0x%x, not zero", ctx, row, pad);
        }
    }
}

static void compare_dq(check_row *r, const char *ctx, lowbit_dtype dt, size_t rows, size_t cols,
                       const uint8_t *want, size_t wstride, const uint8_t *got, size_t gstride,
                       const lowbit_qtensor *q)
{
    for (size_t row = 0; row < rows; row++)
        for (size_t c = 0; c < cols; c++) {
            uint32_t w = hx_get(dt, want, row * wstride + c), g = hx_get(dt, got, row * gstride + c);
            r->cases++;
            if (!same_dequant(dt, w, g)) {
                char a[64], b[64];
                describe_code(dt, w, a, sizeof a);
                describe_code(dt, g, b, sizeof b);
                row_diff(r, "%s: element (%zu,%zu) code 0x%x: expected %s, got %s", ctx, row, c,
                         q_elem_code(q, row, c), a, b);
            }
        }
}

/* Dequantized outputs match bit for bit, NaNs included: the reference
 * writes one canonical quiet NaN, and every backend must too. */
int same_dequant(lowbit_dtype dt, uint32_t want, uint32_t got)
{
    (void)dt;
    return want == got;
}

/* Copy q into b (already allocated for the same format and shape, perhaps
 * another row stride and alignment). */
static void relayout(qbuf *b, const lowbit_qtensor *q)
{
    lowbit_dtype e = q->format.elem;
    for (size_t r = 0; r < q->rows; r++)
        for (size_t c = 0; c < q->cols; c++)
            hx_put(e, b->q.data, r * b->q.row_stride + c, q_elem_code(q, r, c));
    if (q->scales)
        memcpy(b->q.scales, q->scales, b->q.scales_bytes);
    if (q->zero_points)
        memcpy(b->q.zero_points, q->zero_points, b->q.zero_points_bytes);
    b->q.tensor_scale = q->tensor_scale;
}

static void dequant_pair(check_row *r, const lb_kernel *k, const lb_kernel *ref, const lowbit_qtensor *q,
                         lowbit_dtype dt, rng *g, const char *what)
{
    char ctx[256];
    size_t extra = rng_below(g, 4), mis = rng_below(g, 4);
    size_t dstride = q->cols + rng_below(g, 4) * (rng_u32(g) & 1 ? 1 : 5);
    snprintf(ctx, sizeof ctx, "%s %zux%zu ->%s dst_stride=%zu dst+%zu, q stride +%zu data+%zu", what, q->rows, q->cols,
             lowbit_dtype_name(dt), dstride, mis, extra, mis);
    gbuf want, got;
    if (run_dequantize(r, ref, q, dt, q->cols, 0, rng_u64(g), &want, ctx))
        return;
    qbuf c;
    qbuf_alloc(&c, &q->format, q->rows, q->cols, extra, mis, rng_u64(g));
    relayout(&c, q);
    if (run_dequantize(r, k, &c.q, dt, dstride, (mis + 1) % 4, rng_u64(g), &got, ctx) == 0) {
        inject_fault(dt, got.p, q->rows * dstride > 0 ? q->cols : 0);
        compare_dq(r, ctx, dt, q->rows, q->cols, want.p, q->cols, got.p, dstride, q);
        gbuf_free(&got);
    }
    qbuf_free(&c);
    gbuf_free(&want);
}

static void check_format_q(const lb_kernel *k, const lb_kernel *ref, const check_format *cf)
{
    static const lowbit_dtype wides[] = {LOWBIT_F32, LOWBIT_F16, LOWBIT_BF16};
    const lowbit_format *f = &cf->f;
    char formats[64], list[24] = "", ctx[256], name[160];
    for (int w = 0; w < 3; w++)
        if (covers_q(k, f, wides[w])) {
            if (list[0])
                strcat(list, "|");
            strcat(list, lowbit_dtype_name(wides[w]));
        }
    if (!list[0])
        return;
    int quant = k->op == LOWBIT_OP_QUANTIZE;
    if (quant)
        snprintf(formats, sizeof formats, "%s->%s", list, cf->name);
    else
        snprintf(formats, sizeof formats, "%s->%s", cf->name, list);
    check_row r;
    if (!row_begin(&r, lowbit_op_name(k->op), formats, lowbit_backend_name(k->backend), k->name, k->exact))
        return;
    snprintf(name, sizeof name, "%s:%s:%s", lowbit_op_name(k->op), k->name, formats);
    rng g;
    rng_for(&g, name);
    const lb_kernel *qref = quant ? ref : find_ref_kernel(LOWBIT_OP_QUANTIZE);
    int dist = 0;
    for (int w = 0; w < 3 && !r.crashes; w++) {
        lowbit_dtype wt = wides[w];
        if (!covers_q(k, f, wt))
            continue;
        for (size_t si = 0; si < nshapes && !r.crashes; si++) {
            if (!shape_wanted(f, si))
                continue;
            size_t rows = shapes[si][0], cols = shapes[si][1];
            for (int mode = 0; mode < 3 && !r.crashes; mode++) {
                uint32_t mask = quant ? k->rounding_mask & ref->rounding_mask : 1u;
                if (!(mask & (1u << mode)))
                    continue;
                if (!quant && mode > 0)
                    break;
                lb_cvt_params p = {mode, 1, rng_u64(&g), rng_u64(&g) >> 2};
                size_t sstride = cols + ((si + (size_t)mode) % 3 == 0 ? 0 : 1 + rng_below(&g, 17));
                qmatrix m;
                lowbit_dtype st = quant ? wt : LOWBIT_F32;
                qmatrix_make(&m, f, st, rows, cols, sstride, dist++ % DIST_COUNT, &g);
                size_t extra = rng_below(&g, 4), mis = rng_below(&g, 4), smis = rng_below(&g, 4);
                snprintf(ctx, sizeof ctx, "%s %zux%zu from %s %s src_stride=%zu src+%zu, q stride +%zu data+%zu seed=%llu offset=%llu",
                         cf->name, rows, cols, lowbit_dtype_name(st), mode_name(mode), sstride, smis, extra, mis,
                         (unsigned long long)p.seed, (unsigned long long)p.offset);
                qbuf want, got;
                qbuf_alloc(&want, f, rows, cols, 0, 0, rng_u64(&g));
                qmatrix_give_ts(&m, &want.q);
                if (run_quantize(&r, qref, &want, st, m.bytes, sstride, 0, &p, ctx) == 0) {
                    if (quant) {
                        qbuf_alloc(&got, f, rows, cols, extra, mis, rng_u64(&g));
                        qmatrix_give_ts(&m, &got.q);
                        if (run_quantize(&r, k, &got, st, m.bytes, sstride, smis, &p, ctx) == 0) {
                            inject_fault(f->elem, got.q.data, cols);
                            compare_q(&r, ctx, &m, &want.q, &got.q);
                        }
                        qbuf_free(&got);
                        /* rows split in two calls, when no block spans rows */
                        if (rows > 1 && fmt_scheme(f) != LB_SCHEME_NVFP4 &&
                            (f->block_rows == 1 || fmt_scheme(f) == LB_SCHEME_PLAIN)) {
                            size_t cut = 1 + rng_below(&g, (uint32_t)(rows - 1));
                            qbuf a, b;
                            qbuf_alloc(&a, f, cut, cols, extra, 0, rng_u64(&g));
                            qbuf_alloc(&b, f, rows - cut, cols, extra, 0, rng_u64(&g));
                            lb_cvt_params p2 = p;
                            p2.offset = p.offset + cut * cols;
                            char c2[300];
                            snprintf(c2, sizeof c2, "%s, rows split at %zu", ctx, cut);
                            const uint8_t *src2 = m.bytes + hx_bytes(st, cut * sstride);
                            if (run_quantize(&r, k, &a, st, m.bytes, sstride, 0, &p, c2) == 0 &&
                                run_quantize(&r, k, &b, st, src2, sstride, 0, &p2, c2) == 0) {
                                /* join the halves into one qtensor of the full shape */
                                qbuf j;
                                qbuf_alloc(&j, f, rows, cols, extra, 0, 0);
                                memcpy(j.q.data, a.q.data, a.q.data_bytes);
                                memcpy((uint8_t *)j.q.data + hx_bytes(f->elem, cut * j.q.row_stride), b.q.data,
                                       b.q.data_bytes);
                                size_t sa = hx_bytes(f->scale_type, a.nblocks);
                                if (j.q.scales) {
                                    memcpy(j.q.scales, a.q.scales, sa);
                                    memcpy((uint8_t *)j.q.scales + sa, b.q.scales, j.q.scales_bytes - sa);
                                }
                                if (j.q.zero_points) {
                                    for (size_t bi = 0; bi < a.nblocks; bi++)
                                        hx_put(f->elem, j.q.zero_points, bi, q_zp_code(&a.q, bi));
                                    for (size_t bi = 0; bi < b.nblocks; bi++)
                                        hx_put(f->elem, j.q.zero_points, a.nblocks + bi, q_zp_code(&b.q, bi));
                                }
                                inject_fault(f->elem, j.q.data, cols);
                                compare_q(&r, c2, &m, &want.q, &j.q);
                                qbuf_free(&j);
                            }
                            qbuf_free(&a);
                            qbuf_free(&b);
                        }
                    } else {
                        dequant_pair(&r, k, ref, &want.q, wt, &g, "ref-quantized");
                        /* and a tensor of random bits: every code, any scale */
                        qbuf rnd;
                        qbuf_alloc(&rnd, f, rows, cols, 0, 0, rng_u64(&g));
                        rnd.q.tensor_scale = (float)ldexp(rng_normal(&g), (int)rng_below(&g, 40) - 20);
                        dequant_pair(&r, k, ref, &rnd.q, wt, &g, "random-bits");
                        qbuf_free(&rnd);
                    }
                }
                qbuf_free(&want);
                qmatrix_free(&m);
            }
        }
    }
    row_end(&r);
}

void check_quantize(void)
{
    const check_format *list;
    size_t n;
    check_formats(&list, &n);
    for (int op = LOWBIT_OP_QUANTIZE; op <= LOWBIT_OP_DEQUANTIZE; op++) {
        const lb_kernel *ref = find_ref_kernel((lowbit_op)op);
        for (size_t i = 0; i < lb_registry_size; i++) {
            const lb_kernel *k = lb_registry[i];
            if ((int)k->op != op || !kernel_selected(k))
                continue;
            const char *why;
            if (!kernel_runnable(k, &why)) {
                note_kernel_skipped(k, why);
                continue;
            }
            if (!ref || (op == LOWBIT_OP_DEQUANTIZE && !find_ref_kernel(LOWBIT_OP_QUANTIZE))) {
                check_row r;
                if (row_begin(&r, lowbit_op_name(k->op), k->formats, lowbit_backend_name(k->backend), k->name,
                              k->exact)) {
                    row_event(&r, "no reference kernel to compare with");
                    row_end(&r);
                }
                continue;
            }
            note_kernel_checked(k);
            for (size_t fi = 0; fi < n; fi++)
                check_format_q(k, ref, &list[fi]);
        }
    }
}
