/*
 * qmodel.c - the quantize self-checks: the reference quantize / dequantize
 * kernels against the harness's own model of every scaled format.
 *
 *   selfcheck:qmodel  bit-exact: scales, zero points, tensor scale, element
 *                     codes and dequantized f32/f16/bf16 outputs against the
 *                     model below (docs/semantics.md restated: block
 *                     statistics, the scale rules with exponents taken by
 *                     frexp in double, f32 arithmetic in the documented
 *                     order, element rounding by model.c); dequantization of
 *                     tensors of random bits too
 *   selfcheck:qbound  dequantize(quantize(x)) against x: every element
 *                     within the rounding error of its element type at its
 *                     block's scale (half a step for nearest, a step for
 *                     toward-zero and stochastic), or saturated to the
 *                     element range with an overshoot the format's scale
 *                     rule allows (none for MX CEIL / RCEIL; under
 *                     2^(emax+1) for FLOOR / EVEN; the scale's own rounding
 *                     for NVFP4, f32/f16/bf16 scales and zero points)
 *   selfcheck:qedge   blocks at the documented edges: all zero, NaN, +-Inf,
 *                     amax exactly / just below / just above a power of two
 *                     and a multiple of the element's max, FLT_MAX, the
 *                     smallest subnormal; expected scales written from the
 *                     rules' formulas (e.g. FLOOR at amax = 2^k gives
 *                     127 + k - emax)
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "inputs.h"
#include "model.h"
#include "qcheck.h"

/* ---- the model ----------------------------------------------------------- */

static int floor_log2(double a)
{
    int ex;
    frexp(a, &ex);
    return ex - 1;
}

static int is_pow2(double a)
{
    int ex;
    return frexp(a, &ex) == 0.5;
}

static float decodef(lowbit_dtype t, uint32_t c)
{
    return f32_from_bits(mdl_decode_f32(t, c));
}

/* MX: the element's max finite as the scale rules see it (MXINT8: 127/64). */
static float mx_elem_max(lowbit_dtype e)
{
    return e == LOWBIT_INT8 ? 127.0f / 64.0f : (float)mdl_max(e);
}

/* Mantissa bits of an MX element (OCP MX v1.0 tables; INT8 as 1.6 fixed point). */
static int mx_mbits(lowbit_dtype e)
{
    switch (e) {
    case LOWBIT_E4M3: return 3;
    case LOWBIT_E5M2: return 2;
    case LOWBIT_E3M2: return 2;
    case LOWBIT_E2M3: return 3;
    case LOWBIT_E2M1: return 1;
    default: return 6;
    }
}

static int mx_emax(lowbit_dtype e)
{
    return floor_log2(mx_elem_max(e));
}

typedef struct stats {
    float amax, vmax, vmin;
    int nonfinite;
} stats;

static void block_stats(const qmatrix *m, size_t r0, size_t r1, size_t c0, size_t c1, stats *s)
{
    s->amax = s->vmax = s->vmin = 0.0f;
    s->nonfinite = 0;
    for (size_t r = r0; r < r1; r++)
        for (size_t c = c0; c < c1; c++) {
            float x = m->vals[r * m->cols + c];
            if (!isfinite(x)) {
                s->nonfinite = 1;
                continue;
            }
            if (fabsf(x) > s->amax)
                s->amax = fabsf(x);
            if (x > s->vmax)
                s->vmax = x;
            if (x < s->vmin)
                s->vmin = x;
        }
}

static uint32_t mx_scale(const stats *s, lowbit_dtype e, int rule)
{
    if (s->nonfinite)
        return 0xFF;
    if (s->amax == 0.0f)
        return 0x00;
    double a = s->amax;
    int E;
    switch (rule) {
    case LOWBIT_SCALE_CEIL:
        E = floor_log2(a) + (is_pow2(a) ? 0 : 1);
        break;
    case LOWBIT_SCALE_EVEN: {
        /* amax rounded half-up at mbits mantissa bits (the f32 bit positions,
         * so subnormals round at the 2^-126 binade's positions) */
        int Eb = floor_log2(a) < -126 ? -126 : floor_log2(a);
        double q = ldexp(1.0, Eb - mx_mbits(e));
        double rr = floor(a / q + 0.5) * q;
        if (rr < 0x1p-126)
            return 0x00;
        E = floor_log2(rr);
        break;
    }
    case LOWBIT_SCALE_RCEIL: {
        float qf = s->amax / mx_elem_max(e); /* the documented f32 division */
        if (qf == 0.0f)
            return 0x00;
        int ee = floor_log2(qf) + (is_pow2(qf) ? 0 : 1);
        if (ee < -127)
            ee = -127;
        if (ee > 127)
            ee = 127;
        return (uint32_t)(ee + 127);
    }
    default:
        E = floor_log2(a);
        break;
    }
    int ee = E - mx_emax(e);
    if (ee < -127)
        ee = -127;
    if (ee > 127)
        ee = 127;
    return (uint32_t)(ee + 127);
}

static float nv_elem_max(lowbit_dtype e)
{
    return (float)mdl_max(e);
}

static void zp_range(lowbit_dtype e, int32_t *qmin, int32_t *qmax)
{
    *qmin = e == LOWBIT_INT8 ? -128 : e == LOWBIT_INT4 ? -8 : 0;
    *qmax = e == LOWBIT_INT8 ? 127 : e == LOWBIT_INT4 ? 7 : 15;
}

static float sym_max(lowbit_dtype e)
{
    return e == LOWBIT_INT8 ? 127.0f : e == LOWBIT_INT4 ? 7.0f : (float)mdl_max(e);
}

/* Store a scale: nearest even with saturation (for an f32 scale that means
 * an overflowed Inf becomes FLT_MAX), and a positive scale never rounds to 0. */
static uint32_t store_scale(lowbit_dtype st, float s)
{
    if (st == LOWBIT_F32 && s == INFINITY)
        s = FLT_MAX;
    uint32_t c = mdl_encode(st, f32_bits(s), MDL_NE, 1, 0);
    if (s > 0 && decodef(st, c) == 0.0f)
        c = 1;
    return c;
}

static uint32_t int_code(lowbit_dtype e, int32_t v)
{
    return (uint32_t)v & (e == LOWBIT_INT8 ? 0xFFu : 0xFu);
}

void qmodel_quantize(const lowbit_format *f, const qmatrix *m, int mode, uint64_t seed, uint64_t offset,
                     qexpect *x)
{
    lowbit_dtype e = f->elem, stype = f->scale_type;
    int scheme = fmt_scheme(f);
    size_t rows = m->rows, cols = m->cols;
    memset(x, 0, sizeof *x);
    x->block_rows = f->block_rows ? f->block_rows : rows;
    x->block_cols = f->block_cols ? f->block_cols : cols;
    if (scheme != LB_SCHEME_PLAIN) {
        x->grid_rows = (rows + x->block_rows - 1) / x->block_rows;
        x->grid_cols = (cols + x->block_cols - 1) / x->block_cols;
    }
    size_t nb = x->grid_rows * x->grid_cols;
    x->scales = calloc(nb + 1, sizeof *x->scales);
    x->zps = calloc(nb + 1, sizeof *x->zps);
    x->codes = calloc(rows * cols + 1, sizeof *x->codes);
    x->tensor_scale = 1.0f;

    float s_t = 1.0f;
    if (f->flags & LOWBIT_FMT_GIVEN_TENSOR_SCALE) {
        s_t = m->given_ts; /* the caller's, kept as given */
        x->tensor_scale = s_t;
    } else if (scheme == LB_SCHEME_NVFP4) {
        stats all;
        block_stats(m, 0, rows, 0, cols, &all);
        s_t = all.amax == 0.0f ? 1.0f : all.amax / (448.0f * nv_elem_max(e));
        if (s_t < 0x1p-126f)
            s_t = 0x1p-126f; /* never below 2^-126 */
        x->tensor_scale = s_t;
    }
    int32_t qmin, qmax;
    zp_range(e, &qmin, &qmax);
    for (size_t gr = 0; gr < x->grid_rows; gr++)
        for (size_t gc = 0; gc < x->grid_cols; gc++) {
            size_t b = gr * x->grid_cols + gc;
            size_t r0 = gr * x->block_rows, c0 = gc * x->block_cols;
            size_t r1 = r0 + x->block_rows < rows ? r0 + x->block_rows : rows;
            size_t c1 = c0 + x->block_cols < cols ? c0 + x->block_cols : cols;
            stats s;
            block_stats(m, r0, r1, c0, c1, &s);
            uint32_t code = 0;
            if (scheme == LB_SCHEME_MX) {
                code = mx_scale(&s, e, (int)f->rule);
            } else if (scheme == LB_SCHEME_NVFP4) {
                if (s.nonfinite) {
                    code = 0x7F;
                } else {
                    float v = s.amax / nv_elem_max(e) / s_t;
                    code = mdl_encode(LOWBIT_E4M3, f32_bits(v), MDL_NE, 1, 0);
                    if (code == 0)
                        code = 1;
                }
            } else if (s.nonfinite) {
                code = mdl_encode(stype, 0x7FC00000u, MDL_NE, 0, 0);
            } else if (scheme == LB_SCHEME_AMAX) {
                float sv = s.amax == 0.0f ? 1.0f : s.amax / sym_max(e);
                code = store_scale(stype, sv == 0.0f ? f32_from_bits(1) : sv); /* an underflow stays positive */
            } else { /* zero point */
                float range = s.vmax - s.vmin;
                float sv = range == 0.0f ? 1.0f : range / (float)(qmax - qmin);
                code = store_scale(stype, sv == 0.0f ? f32_from_bits(1) : sv);
            }
            x->scales[b] = code;
            if (scheme == LB_SCHEME_ZP) {
                float sv = decodef(stype, code);
                int32_t zp = 0;
                if (!isnan(sv)) {
                    float t = (float)qmin - s.vmin / sv;
                    zp = mdl_round_int((double)t, qmin, qmax, MDL_NE, 0);
                }
                x->zps[b] = int_code(e, zp);
            }
        }
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            float v = m->vals[r * cols + c];
            uint32_t rb = mode == MDL_SR ? mdl_sr_bits(seed, offset + r * cols + c) : 0;
            size_t b = nb ? (r / x->block_rows) * x->grid_cols + c / x->block_cols : 0;
            uint32_t sc = nb ? x->scales[b] : 0, out;
            switch (scheme) {
            case LB_SCHEME_MX:
                if (sc == 0xFF) {
                    out = mdl_encode(e, 0x7FC00000u, mode, 1, rb);
                } else {
                    float y = v * ldexpf(1.0f, 127 - (int)sc);
                    if (e == LOWBIT_INT8)
                        out = int_code(e, mdl_round_int((double)(y * 64.0f), -127, 127, mode, rb));
                    else
                        out = mdl_encode(e, f32_bits(y), mode, 1, rb);
                }
                break;
            case LB_SCHEME_NVFP4:
                if (mdl_is_nan_code(LOWBIT_E4M3, sc)) {
                    out = mdl_encode(e, 0x7FC00000u, mode, 1, rb);
                } else {
                    float denom = s_t * decodef(LOWBIT_E4M3, sc);
                    out = mdl_encode(e, f32_bits(v / denom), mode, 1, rb);
                }
                break;
            case LB_SCHEME_AMAX: {
                float s = decodef(stype, sc);
                if (isnan(s)) {
                    out = mdl_encode(e, f32_bits(s), mode, 1, rb);
                } else if (e == LOWBIT_INT8 || e == LOWBIT_INT4) {
                    int32_t mm = (int32_t)sym_max(e);
                    out = int_code(e, mdl_round_int((double)(v / s), -mm, mm, mode, rb));
                } else {
                    out = mdl_encode(e, f32_bits(v / s), mode, 1, rb);
                }
                break;
            }
            case LB_SCHEME_ZP: {
                float s = decodef(stype, sc);
                int32_t zp = (int32_t)mdl_value(e, x->zps[b]);
                int32_t q = isnan(s) ? 0 : mdl_round_int((double)(v / s), qmin - zp, qmax - zp, mode, rb) + zp;
                out = int_code(e, q);
                break;
            }
            default:
                out = mdl_encode(e, f32_bits(v), mode, 1, rb);
                break;
            }
            x->codes[r * cols + c] = out;
        }
}

void qexpect_free(qexpect *x)
{
    free(x->scales);
    free(x->zps);
    free(x->codes);
    memset(x, 0, sizeof *x);
}

uint32_t qmodel_dequant_f32(const lowbit_qtensor *q, size_t r, size_t c)
{
    lowbit_dtype e = q->format.elem, stype = q->format.scale_type;
    int scheme = fmt_scheme(&q->format);
    size_t br, bc, gr, gc;
    q_grid(q, &br, &bc, &gr, &gc);
    size_t b = gc ? (r / br) * gc + c / bc : 0;
    uint32_t code = q_elem_code(q, r, c);
    float v;
    switch (scheme) {
    case LB_SCHEME_MX: {
        uint32_t sc = q_scale_code(q, b);
        if (sc == 0xFF)
            return 0x7FC00000u;
        float ev = e == LOWBIT_INT8 ? (float)mdl_value(e, code) * 0.015625f : decodef(e, code);
        v = ev * ldexpf(1.0f, (int)sc - 127);
        break;
    }
    case LB_SCHEME_NVFP4: {
        uint32_t sc = q_scale_code(q, b);
        if (mdl_is_nan_code(LOWBIT_E4M3, sc))
            return 0x7FC00000u;
        v = decodef(e, code) * (q->tensor_scale * decodef(LOWBIT_E4M3, sc));
        break;
    }
    case LB_SCHEME_AMAX:
        v = decodef(e, code) * decodef(stype, q_scale_code(q, b));
        break;
    case LB_SCHEME_ZP: {
        int32_t qv = (int32_t)mdl_value(e, code), zp = (int32_t)mdl_value(e, q_zp_code(q, b));
        v = (float)(qv - zp) * decodef(stype, q_scale_code(q, b));
        break;
    }
    default:
        v = decodef(e, code);
        break;
    }
    return f32_bits(v);
}

/* ---- selfcheck:qmodel ----------------------------------------------------- */

static const lb_kernel *qref, *dqref;

static const size_t mshapes[][2] = {{1, 1}, {1, 7}, {1, 32}, {2, 33}, {3, 64}, {2, 129}, {5, 130}, {1, 1000}, {131, 140}};
static const size_t nmshapes = sizeof mshapes / sizeof mshapes[0];

static int mshape_wanted(const lowbit_format *f, size_t si)
{
    if (mshapes[si][0] > 64)
        return f->block_rows != 1 && !cfg.quick;
    return !cfg.quick || si % 2 == 1;
}

static void compare_expect(check_row *r, const char *ctx, const qmatrix *m, const qexpect *x, const lowbit_qtensor *q)
{
    int scheme = fmt_scheme(&q->format);
    lowbit_dtype e = q->format.elem;
    size_t nb = x->grid_rows * x->grid_cols;
    for (size_t b = 0; b < nb; b++) {
        uint32_t g = q_scale_code(q, b);
        r->cases++;
        if (g != x->scales[b])
            row_diff(r, "%s: scale of block %zu: expected 0x%x (%.9g), got 0x%x (%.9g)", ctx, b, x->scales[b],
                     mdl_value(q->format.scale_type, x->scales[b]), g, mdl_value(q->format.scale_type, g));
        if (scheme == LB_SCHEME_ZP) {
            g = q_zp_code(q, b);
            r->cases++;
            if (g != x->zps[b])
                row_diff(r, "%s: zero point of block %zu: expected 0x%x, got 0x%x", ctx, b, x->zps[b], g);
        }
    }
    if (scheme == LB_SCHEME_NVFP4) {
        r->cases++;
        if (f32_bits(q->tensor_scale) != f32_bits(x->tensor_scale))
            row_diff(r, "%s: tensor scale: expected %.9g, got %.9g", ctx, (double)x->tensor_scale,
                     (double)q->tensor_scale);
    }
    for (size_t row = 0; row < m->rows; row++)
        for (size_t c = 0; c < m->cols; c++) {
            uint32_t g = q_elem_code(q, row, c), w = x->codes[row * m->cols + c];
            r->cases++;
            if (g != w) {
                char a[64], b[64];
                describe_code(e, w, a, sizeof a);
                describe_code(e, g, b, sizeof b);
                row_diff(r, "%s: element (%zu,%zu) input %.9g (0x%08x): expected %s, got %s", ctx, row, c,
                         (double)m->vals[row * m->cols + c], f32_bits(m->vals[row * m->cols + c]), a, b);
            }
        }
}

static void check_dequant_model(check_row *r, const char *what, const lowbit_qtensor *q, lowbit_dtype dt, rng *g)
{
    char ctx[256];
    snprintf(ctx, sizeof ctx, "%s %zux%zu dequantize ->%s", what, q->rows, q->cols, lowbit_dtype_name(dt));
    gbuf out;
    if (run_dequantize(r, dqref, q, dt, q->cols, 0, rng_u64(g), &out, ctx))
        return;
    inject_fault(dt, out.p, q->cols);
    for (size_t row = 0; row < q->rows; row++)
        for (size_t c = 0; c < q->cols; c++) {
            uint32_t f = qmodel_dequant_f32(q, row, c);
            if ((f & 0x7FFFFFFFu) > 0x7F800000u)
                f = 0x7FC00000u; /* the documented canonical NaN */
            uint32_t w = dt == LOWBIT_F32 ? f : mdl_encode(dt, f, MDL_NE, 0, 0);
            uint32_t got = hx_get(dt, out.p, row * q->cols + c);
            r->cases++;
            if (!same_dequant(dt, w, got)) {
                char a[64], b[64];
                describe_code(dt, w, a, sizeof a);
                describe_code(dt, got, b, sizeof b);
                row_diff(r, "%s: element (%zu,%zu) code 0x%x: expected %s, got %s", ctx, row, c, q_elem_code(q, row, c),
                         a, b);
            }
        }
    gbuf_free(&out);
}

static void qmodel_format(const check_format *cf)
{
    static const lowbit_dtype wides[] = {LOWBIT_F32, LOWBIT_F16, LOWBIT_BF16};
    const lowbit_format *f = &cf->f;
    char formats[64], ctx[256];
    snprintf(formats, sizeof formats, "f32|f16|bf16<->%s", cf->name);
    check_row r;
    if (!row_begin(&r, "quantize", formats, "ref", "selfcheck:qmodel", 1))
        return;
    rng g;
    rng_for(&g, formats);
    int dist = 0, k = 0;
    for (int w = 0; w < 3 && !r.crashes; w++)
        for (size_t si = 0; si < nmshapes && !r.crashes; si++) {
            if (!mshape_wanted(f, si))
                continue;
            for (int mode = 0; mode < 3 && !r.crashes; mode++, k++) {
                if (!(qref->rounding_mask & (1u << mode)))
                    continue;
                size_t rows = mshapes[si][0], cols = mshapes[si][1];
                lb_cvt_params p = {mode, 1, rng_u64(&g), rng_u64(&g) >> 2};
                qmatrix m;
                qmatrix_make(&m, f, wides[w], rows, cols, cols + (size_t)(k % 3), dist++ % DIST_COUNT, &g);
                snprintf(ctx, sizeof ctx, "%s %zux%zu from %s %s seed=%llu offset=%llu", cf->name, rows, cols,
                         lowbit_dtype_name(wides[w]), mode_name(mode), (unsigned long long)p.seed,
                         (unsigned long long)p.offset);
                qbuf q;
                qbuf_alloc(&q, f, rows, cols, (size_t)(k % 2), 0, rng_u64(&g));
                qmatrix_give_ts(&m, &q.q);
                if (run_quantize(&r, qref, &q, wides[w], m.bytes, m.stride, 0, &p, ctx) == 0) {
                    qexpect x;
                    qmodel_quantize(f, &m, mode, p.seed, p.offset, &x);
                    inject_fault(f->elem, q.q.data, cols);
                    compare_expect(&r, ctx, &m, &x, &q.q);
                    qexpect_free(&x);
                    if (dqref)
                        check_dequant_model(&r, "ref-quantized", &q.q, wides[((size_t)w + (size_t)mode) % 3], &g);
                }
                qbuf_free(&q);
                qmatrix_free(&m);
                if (dqref && mode == 0) {
                    qbuf rnd; /* random bits in every buffer */
                    qbuf_alloc(&rnd, f, rows, cols, (size_t)(k % 2), 0, rng_u64(&g));
                    rnd.q.tensor_scale = (float)ldexp(rng_normal(&g), (int)rng_below(&g, 60) - 30);
                    check_dequant_model(&r, "random-bits", &rnd.q, wides[((size_t)w + si) % 3], &g);
                    qbuf_free(&rnd);
                }
            }
        }
    row_end(&r);
}

/* ---- selfcheck:qbound ----------------------------------------------------- */

/* Relative half-step of a scale type's rounding (2^-p). */
static double scale_rel(lowbit_dtype st)
{
    return st == LOWBIT_F32 ? 0x1p-24 : st == LOWBIT_F16 ? 0x1p-11 : 0x1p-8;
}

static double scale_min_normal(lowbit_dtype st)
{
    return st == LOWBIT_F32 ? 0x1p-126 : st == LOWBIT_F16 ? 0x1p-14 : 0x1p-126;
}

static void bound_tensor(check_row *r, const char *ctx, const lowbit_format *f, const qmatrix *m,
                         const lowbit_qtensor *q, const uint8_t *deq, int mode)
{
    lowbit_dtype e = f->elem, stype = f->scale_type;
    int scheme = fmt_scheme(f);
    size_t br, bc, gr, gc;
    q_grid(q, &br, &bc, &gr, &gc);
    int32_t qmin, qmax;
    zp_range(e, &qmin, &qmax);
    int isint = mdl_is_int(e);
    double step_mul = mode == MDL_NE ? 0.5 : 1.0;
    stats *bst = calloc(gr * gc + 1, sizeof *bst);
    for (size_t i = 0; i < gr * gc; i++) {
        size_t r0 = (i / gc) * br, c0 = (i % gc) * bc;
        block_stats(m, r0, r0 + br < m->rows ? r0 + br : m->rows, c0, c0 + bc < m->cols ? c0 + bc : m->cols, &bst[i]);
    }
    for (size_t row = 0; row < m->rows; row++)
        for (size_t c = 0; c < m->cols; c++) {
            float xv = m->vals[row * m->cols + c];
            float dv = f32_from_bits(hx_get(LOWBIT_F32, deq, row * m->cols + c));
            double x = xv, dq = dv;
            size_t b = gc ? (row / br) * gc + c / bc : 0;
            stats s;
            if (scheme != LB_SCHEME_PLAIN) {
                s = bst[b];
            } else {
                s.nonfinite = !isfinite(xv);
                s.amax = fabsf(xv);
            }
            r->cases++;
            if (s.nonfinite) {
                /* documented: a block holding NaN or Inf dequantizes to NaN (plain: NaN stays NaN) */
                if (scheme != LB_SCHEME_PLAIN && !isnan(dv))
                    row_diff(r, "%s: (%zu,%zu) in a non-finite block dequantized to %.9g, not NaN", ctx, row, c, dq);
                continue;
            }
            /* the step d and the element-domain value y = x / d (+ zp) */
            double d = 1, y, lo_e, hi_e, zp = 0;
            switch (scheme) {
            case LB_SCHEME_MX:
                d = ldexp(1.0, (int)q_scale_code(q, b) - 127);
                break;
            case LB_SCHEME_NVFP4:
                d = (double)(q->tensor_scale * decodef(LOWBIT_E4M3, q_scale_code(q, b)));
                break;
            case LB_SCHEME_AMAX:
            case LB_SCHEME_ZP:
                d = decodef(stype, q_scale_code(q, b));
                break;
            default:
                break;
            }
            if (scheme == LB_SCHEME_ZP) {
                zp = mdl_value(e, q_zp_code(q, b));
                lo_e = qmin;
                hi_e = qmax;
            } else if (scheme == LB_SCHEME_MX && e == LOWBIT_INT8) {
                lo_e = -127.0 / 64;
                hi_e = 127.0 / 64;
            } else if (scheme == LB_SCHEME_AMAX && isint) {
                hi_e = sym_max(e);
                lo_e = -hi_e;
            } else if (isint) {
                lo_e = e == LOWBIT_INT8 ? -128 : e == LOWBIT_INT4 ? -8 : 0;
                hi_e = e == LOWBIT_INT8 ? 127 : e == LOWBIT_INT4 ? 7 : 15;
            } else {
                hi_e = mdl_max(e);
                lo_e = -hi_e;
            }
            y = x / d + zp;
            double step = (scheme == LB_SCHEME_MX && e == LOWBIT_INT8) ? 1.0 / 64 : isint ? 1.0 : mdl_quantum(e, y);
            double slack = (fabs(x) + fabs(dq)) * 0x1p-21 + 0x1p-146;
            if (y >= lo_e && y <= hi_e) {
                double err = fabs(dq - x), lim = step_mul * step * d + slack;
                if (!(err <= lim))
                    row_diff(r, "%s: (%zu,%zu) x=%.9g came back as %.9g: error %.3g > bound %.3g (step %.3g at scale %.3g)",
                             ctx, row, c, x, dq, err, lim, step, d);
                continue;
            }
            /* saturated: must sit on the range edge ... */
            double edge = (y > hi_e ? hi_e : lo_e) - zp;
            double want = edge * d;
            if (!(fabs(dq - want) <= fabs(want) * 0x1p-22 + 0x1p-146) && !(fabs(dq - x) <= step_mul * step * d + slack)) {
                row_diff(r, "%s: (%zu,%zu) x=%.9g beyond the element range (%.9g at scale %.3g) came back as %.9g, not %.9g",
                         ctx, row, c, x, y, d, dq, want);
                continue;
            }
            /* ... and overshoot no more than the scale rule allows */
            double ay = fabs(y - zp), cap = INFINITY;
            switch (scheme) {
            case LB_SCHEME_MX:
                if (f->rule == LOWBIT_SCALE_CEIL || f->rule == LOWBIT_SCALE_RCEIL)
                    cap = hi_e * (1 + 0x1p-22);
                else
                    cap = ldexp(1.0, mx_emax(e) + 1);
                if (q_scale_code(q, b) == 0 || q_scale_code(q, b) == 0xFE)
                    cap = INFINITY; /* the exponent was clamped */
                break;
            case LB_SCHEME_NVFP4: {
                double v = (double)s.amax / hi_e / (double)q->tensor_scale;
                double sb = mdl_value(LOWBIT_E4M3, q_scale_code(q, b));
                if (sb > 0 && sb < 448 && v >= 0x1p-9)
                    cap = hi_e * v / (v - 0.5 * mdl_quantum(LOWBIT_E4M3, v)) * (1 + 0x1p-20);
                break;
            }
            case LB_SCHEME_AMAX:
                /* (a scale clamped at its type's max cannot cover the block) */
                if (d >= scale_min_normal(stype) && d < mdl_max(stype))
                    cap = hi_e * (1 + scale_rel(stype)) * (1 + 0x1p-20) + (isint ? 0.5 : 0);
                break;
            case LB_SCHEME_ZP:
                if (d >= scale_min_normal(stype) && d < mdl_max(stype)) {
                    double over = 0.5 + (qmax - qmin) * 2 * scale_rel(stype) + 0x1p-10;
                    if (y > hi_e + over || y < lo_e - over)
                        row_diff(r, "%s: (%zu,%zu) x=%.9g lies %.3g steps outside [qmin, qmax] (zero point %g, scale %.3g)",
                                 ctx, row, c, x, y > hi_e ? y - hi_e : lo_e - y, zp, d);
                }
                continue;
            default:
                break;
            }
            if (ay > cap)
                row_diff(r, "%s: (%zu,%zu) x=%.9g saturated at %.9g times the element max (allowed %.9g)", ctx, row, c,
                         x, ay / hi_e, cap / hi_e);
        }
    free(bst);
}

static void qbound_format(const check_format *cf)
{
    const lowbit_format *f = &cf->f;
    char formats[64], ctx[256];
    snprintf(formats, sizeof formats, "f32->%s->f32", cf->name);
    check_row r;
    if (!row_begin(&r, "quantize", formats, "ref", "selfcheck:qbound", 1))
        return;
    rng g;
    rng_for(&g, formats);
    int reps = cfg.quick ? 2 : 9;
    for (int dist = 0; dist < DIST_COUNT && !r.crashes; dist++)
        for (int rep = 0; rep < reps && !r.crashes; rep++) {
            int mode = rep % 3;
            if (!(qref->rounding_mask & (1u << mode)))
                continue;
            size_t rows = f->block_rows > 1 && !cfg.quick ? 130 : 3, cols = rep & 1 ? 257 : 64;
            qmatrix m;
            qmatrix_make(&m, f, LOWBIT_F32, rows, cols, cols, dist, &g);
            lb_cvt_params p = {mode, 1, rng_u64(&g), 0};
            snprintf(ctx, sizeof ctx, "%s %zux%zu %s dist %d", cf->name, rows, cols, mode_name(mode), dist);
            qbuf q;
            qbuf_alloc(&q, f, rows, cols, 0, 0, rng_u64(&g));
            qmatrix_give_ts(&m, &q.q);
            if (run_quantize(&r, qref, &q, LOWBIT_F32, m.bytes, cols, 0, &p, ctx) == 0) {
                inject_fault(f->elem, q.q.data, cols);
                gbuf out;
                if (run_dequantize(&r, dqref, &q.q, LOWBIT_F32, cols, 0, rng_u64(&g), &out, ctx) == 0) {
                    bound_tensor(&r, ctx, f, &m, &q.q, out.p, mode);
                    gbuf_free(&out);
                }
            }
            qbuf_free(&q);
            qmatrix_free(&m);
        }
    row_end(&r);
}

/* ---- selfcheck:qedge ------------------------------------------------------ */

/* Quantize one block (1 x n) made of `vals` with the reference, dequantize
 * it to f32; 0 on success. */
static int edge_run(check_row *r, const lowbit_format *f, const float *vals, size_t n, qbuf *q, float *deq,
                    const char *ctx)
{
    uint32_t *codes = malloc(n * sizeof *codes);
    for (size_t i = 0; i < n; i++)
        codes[i] = f32_bits(vals[i]);
    uint8_t *bytes = malloc(4 * n);
    pack_codes(LOWBIT_F32, codes, n, bytes);
    free(codes);
    lb_cvt_params p = {0, 1, 0, 0};
    qbuf_alloc(q, f, 1, n, 0, 0, 0x5EED);
    int rc = run_quantize(r, qref, q, LOWBIT_F32, bytes, n, 0, &p, ctx);
    free(bytes);
    if (rc)
        return rc;
    if (cfg.inject_fault) {
        if (q->q.scales)
            hx_put(f->scale_type, q->q.scales, 0, q_scale_code(&q->q, 0) ^ 1u);
        else
            inject_fault(f->elem, q->q.data, n);
    }
    gbuf out;
    rc = run_dequantize(r, dqref, &q->q, LOWBIT_F32, n, 0, 1, &out, ctx);
    if (rc)
        return rc;
    memcpy(deq, out.p, 4 * n);
    gbuf_free(&out);
    return 0;
}

#define EXPECT(cond, ...)                  \
    do {                                   \
        r->cases++;                        \
        if (!(cond))                       \
            row_diff(r, __VA_ARGS__);      \
    } while (0)

/* Fill n values with |x| < amax (small), and put +-amax at position `at`. */
static void edge_fill(float *v, size_t n, float amax, size_t at, rng *g)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)((2 * rng_unit(g) - 1) * 0.75) * amax;
    v[at] = (rng_u32(g) & 1) ? amax : -amax;
}

static void mx_edges(check_row *r, const check_format *cf, rng *g)
{
    const lowbit_format *f = &cf->f;
    lowbit_dtype e = f->elem;
    int rule = (int)f->rule, emax = mx_emax(e);
    size_t n = 32;
    float v[32], dq[32];
    char ctx[160];
    qbuf q;
    for (int kase = 0; kase < 12; kase++) {
        int k = (int)rng_below(g, 160) - 80;
        float p2 = ldexpf(1.0f, k), mx = mx_elem_max(e);
        size_t at = rng_below(g, 32);
        long want = -1; /* expected scale code, -1: none */
        float amax = 0;
        switch (kase) {
        case 0: /* all zero */
            for (size_t i = 0; i < n; i++)
                v[i] = (i & 1) ? -0.0f : 0.0f;
            want = 0x00;
            break;
        case 1: /* a NaN */
        case 2: /* +Inf */
        case 3: /* -Inf */
            edge_fill(v, n, p2, at, g);
            v[(at + 7) % n] = kase == 1 ? NAN : kase == 2 ? INFINITY : -INFINITY;
            want = 0xFF;
            break;
        case 4: /* amax exactly 2^k: every rule gives k - emax */
            amax = p2;
            want = 127 + k - emax;
            break;
        case 5: /* just below 2^k */
            amax = nextafterf(p2, 0);
            want = 127 + k - emax - (rule == LOWBIT_SCALE_FLOOR ? 1 : 0);
            break;
        case 6: /* just above 2^k */
            amax = nextafterf(p2, INFINITY);
            want = 127 + k - emax + (rule == LOWBIT_SCALE_CEIL ? 1 : 0);
            break;
        case 7: /* exactly max * 2^k: FLOOR/EVEN/RCEIL k, CEIL k + 1 */
            amax = mx * p2;
            want = 127 + k + (rule == LOWBIT_SCALE_CEIL ? 1 : 0);
            break;
        case 8: /* just above max * 2^k: CEIL and RCEIL k + 1 */
            amax = nextafterf(mx * p2, INFINITY);
            want = 127 + k + (rule == LOWBIT_SCALE_CEIL || rule == LOWBIT_SCALE_RCEIL ? 1 : 0);
            break;
        case 9: /* FLT_MAX: FLOOR 127 - emax; the others 128 - emax, clamped to 127 */
            amax = FLT_MAX;
            want = 127 + (rule == LOWBIT_SCALE_FLOOR ? 127 - emax : (128 - emax > 127 ? 127 : 128 - emax));
            break;
        case 10: /* the smallest subnormal: every exponent clamps to -127 */
            amax = f32_from_bits(1);
            want = 0x00;
            break;
        default:
            /* just above max * 2^-127.  FLOOR: -127.  CEIL: -126.  RCEIL's f32
             * quotient is a subnormal near 2^-127 whose rounding decides: the
             * excess is 2^(emax-1)/max of its ulp, below one half (down to
             * 2^-127, code 0) for every element but MXINT8, whose max*2^-127 is
             * itself subnormal (excess 64/127 of an ulp: up, code 1).  EVEN
             * rounds the f32 bits: for MXINT8 the subnormal amax carries into
             * 2^-126 (code 1), for the others nothing carries (code 0). */
            amax = nextafterf(mx * 0x1p-127f, INFINITY);
            if (rule == LOWBIT_SCALE_CEIL)
                want = 0x01;
            else if (rule == LOWBIT_SCALE_FLOOR)
                want = 0x00;
            else
                want = e == LOWBIT_INT8 ? 0x01 : 0x00;
            break;
        }
        if (kase >= 4)
            edge_fill(v, n, amax, at, g);
        snprintf(ctx, sizeof ctx, "%s edge case %d (amax %.9g = 0x%08x)", cf->name, kase, (double)amax, f32_bits(amax));
        if (edge_run(r, f, v, n, &q, dq, ctx) == 0) {
            uint32_t sc = q_scale_code(&q.q, 0);
            EXPECT((long)sc == want, "%s: scale 0x%02x, expected 0x%02lx", ctx, sc, want);
            for (size_t i = 0; i < n; i++) {
                if (kase == 0)
                    EXPECT(dq[i] == 0.0f, "%s: element %zu of an all-zero block dequantized to %.9g", ctx, i, (double)dq[i]);
                else if (kase <= 3)
                    EXPECT(isnan(dq[i]), "%s: element %zu of a non-finite block dequantized to %.9g, not NaN", ctx, i,
                           (double)dq[i]);
            }
            /* the amax element is exact there (MXINT8 under CEIL holds 127/128: not a code) */
            if (kase == 4 || (kase == 7 && !(e == LOWBIT_INT8 && rule == LOWBIT_SCALE_CEIL)))
                EXPECT(dq[at] == v[at], "%s: the amax element %.9g came back as %.9g", ctx, (double)v[at], (double)dq[at]);
        }
        qbuf_free(&q);
    }
}

static void nv_edges(check_row *r, const check_format *cf, rng *g)
{
    const lowbit_format *f = &cf->f;
    float emaxv = nv_elem_max(f->elem);
    size_t bc = f->block_cols, n = 2 * bc;
    float *v = calloc(n, sizeof *v), *dq = calloc(n, sizeof *dq);
    char ctx[160];
    qbuf q;
    /* an all-zero tensor: tensor scale 1, block scales the smallest E4M3 (0x01), zeros */
    snprintf(ctx, sizeof ctx, "%s all-zero tensor", cf->name);
    if (edge_run(r, f, v, n, &q, dq, ctx) == 0) {
        EXPECT(q.q.tensor_scale == 1.0f, "%s: tensor scale %.9g, expected 1", ctx, (double)q.q.tensor_scale);
        for (size_t b = 0; b < 2; b++)
            EXPECT(q_scale_code(&q.q, b) == 0x01, "%s: block %zu scale 0x%02x, expected 0x01", ctx, b, q_scale_code(&q.q, b));
        for (size_t i = 0; i < n; i++)
            EXPECT(dq[i] == 0.0f, "%s: element %zu dequantized to %.9g", ctx, i, (double)dq[i]);
    }
    qbuf_free(&q);
    /* block 0 holds the tensor amax, block 1 a NaN */
    float amax = ldexpf(1.0f + (float)rng_unit(g), (int)rng_below(g, 40) - 20);
    size_t at = rng_below(g, (uint32_t)bc);
    edge_fill(v, bc, amax, at, g);
    for (size_t i = bc; i < n; i++)
        v[i] = (float)(rng_unit(g) - 0.5) * amax; /* below amax: finite values count for the tensor amax */
    v[bc + 3] = NAN;
    snprintf(ctx, sizeof ctx, "%s amax block + NaN block (amax %.9g)", cf->name, (double)amax);
    if (edge_run(r, f, v, n, &q, dq, ctx) == 0) {
        float st = amax / (448.0f * emaxv);
        EXPECT(q.q.tensor_scale == st, "%s: tensor scale %.9g, expected amax/(448*%g) = %.9g", ctx,
               (double)q.q.tensor_scale, (double)emaxv, (double)st);
        EXPECT(q_scale_code(&q.q, 0) == 0x7E, "%s: the amax block's scale is 0x%02x, expected 448 (0x7e)", ctx,
               q_scale_code(&q.q, 0));
        EXPECT(mdl_is_nan_code(LOWBIT_E4M3, q_scale_code(&q.q, 1)), "%s: the NaN block's scale 0x%02x is not NaN", ctx,
               q_scale_code(&q.q, 1));
        EXPECT(fabs((double)dq[at] - (double)v[at]) <= fabs((double)v[at]) * 0x1p-20, "%s: amax %.9g came back as %.9g",
               ctx, (double)v[at], (double)dq[at]);
        for (size_t i = bc; i < n; i++)
            EXPECT(isnan(dq[i]), "%s: element %zu of the NaN block dequantized to %.9g", ctx, i, (double)dq[i]);
    }
    qbuf_free(&q);
    /* a block far below the tensor amax: its scale clamps to the smallest E4M3 */
    edge_fill(v, bc, amax, at, g);
    edge_fill(v + bc, bc, ldexpf(amax, -24), at, g);
    snprintf(ctx, sizeof ctx, "%s tiny block (amax %.9g)", cf->name, (double)amax);
    if (edge_run(r, f, v, n, &q, dq, ctx) == 0)
        EXPECT(q_scale_code(&q.q, 1) == 0x01, "%s: the tiny block's scale is 0x%02x, expected 0x01", ctx,
               q_scale_code(&q.q, 1));
    qbuf_free(&q);
    free(v);
    free(dq);
}

static void amax_edges(check_row *r, const check_format *cf, rng *g)
{
    const lowbit_format *f = &cf->f;
    size_t n = f->block_cols ? f->block_cols : 32;
    float *v = calloc(n, sizeof *v), *dq = calloc(n, sizeof *dq);
    char ctx[160];
    qbuf q;
    lowbit_dtype st = f->scale_type;
    for (int kase = 0; kase < 4; kase++) {
        int k = (int)rng_below(g, 20) - 10;
        size_t at = rng_below(g, (uint32_t)n);
        float m = sym_max(f->elem), amax = m * ldexpf(1.0f, k);
        if (kase == 0)
            memset(v, 0, n * sizeof *v);
        else
            edge_fill(v, n, amax, at, g);
        if (kase == 1)
            v[(at + 1) % n] = NAN;
        if (kase == 2)
            v[(at + 1) % n] = -INFINITY;
        snprintf(ctx, sizeof ctx, "%s edge case %d (amax %.9g)", cf->name, kase, (double)amax);
        if (edge_run(r, f, v, n, &q, dq, ctx) == 0) {
            float s = decodef(st, q_scale_code(&q.q, 0));
            if (kase == 0) { /* documented: scale 1 when amax is 0 */
                EXPECT(s == 1.0f, "%s: scale %.9g, expected 1", ctx, (double)s);
                for (size_t i = 0; i < n; i++)
                    EXPECT(dq[i] == 0.0f, "%s: element %zu dequantized to %.9g", ctx, i, (double)dq[i]);
            } else if (kase <= 2) {
                EXPECT(isnan(s), "%s: scale %.9g, expected NaN", ctx, (double)s);
                for (size_t i = 0; i < n; i++)
                    EXPECT(isnan(dq[i]), "%s: element %zu dequantized to %.9g, not NaN", ctx, i, (double)dq[i]);
            } else { /* amax = max * 2^k: scale 2^k exactly, amax exact */
                EXPECT(s == ldexpf(1.0f, k), "%s: scale %.9g, expected 2^%d", ctx, (double)s, k);
                EXPECT(dq[at] == v[at], "%s: amax %.9g came back as %.9g", ctx, (double)v[at], (double)dq[at]);
            }
        }
        qbuf_free(&q);
    }
    free(v);
    free(dq);
}

static void zp_edges(check_row *r, const check_format *cf, rng *g)
{
    const lowbit_format *f = &cf->f;
    lowbit_dtype e = f->elem, st = f->scale_type;
    size_t n = f->block_cols ? f->block_cols : 32;
    float *v = calloc(n, sizeof *v), *dq = calloc(n, sizeof *dq);
    char ctx[160];
    qbuf q;
    int32_t qmin, qmax;
    zp_range(e, &qmin, &qmax);
    for (int kase = 0; kase < 4; kase++) {
        int k = (int)rng_below(g, 16) - 8;
        float span = (float)(qmax - qmin) * ldexpf(1.0f, k);
        size_t at = rng_below(g, (uint32_t)n);
        for (size_t i = 0; i < n; i++)
            v[i] = kase == 0 ? 0.0f : (float)rng_unit(g) * span * (kase == 3 ? -1.0f : 1.0f);
        if (kase == 1)
            v[at] = NAN;
        if (kase >= 2)
            v[at] = kase == 3 ? -span : span;
        snprintf(ctx, sizeof ctx, "%s edge case %d", cf->name, kase);
        if (edge_run(r, f, v, n, &q, dq, ctx) == 0) {
            float s = decodef(st, q_scale_code(&q.q, 0));
            int32_t zp = (int32_t)mdl_value(e, q_zp_code(&q.q, 0));
            if (kase == 0) { /* scale 1, zero point qmin, zeros back */
                EXPECT(s == 1.0f && zp == qmin, "%s: scale %.9g zero point %d, expected 1 and %d", ctx, (double)s, zp, qmin);
                for (size_t i = 0; i < n; i++)
                    EXPECT(dq[i] == 0.0f, "%s: element %zu dequantized to %.9g", ctx, i, (double)dq[i]);
            } else if (kase == 1) { /* NaN scale, zero point 0, NaN back */
                EXPECT(isnan(s) && zp == 0, "%s: scale %.9g zero point %d, expected NaN and 0", ctx, (double)s, zp);
                for (size_t i = 0; i < n; i++)
                    EXPECT(isnan(dq[i]), "%s: element %zu dequantized to %.9g, not NaN", ctx, i, (double)dq[i]);
            } else { /* [0, span] or [-span, 0]: scale 2^k, zero point qmin or qmax, edge exact */
                int32_t wzp = kase == 2 ? qmin : qmax;
                EXPECT(s == ldexpf(1.0f, k) && zp == wzp, "%s: scale %.9g zero point %d, expected 2^%d and %d", ctx,
                       (double)s, zp, k, wzp);
                EXPECT(dq[at] == v[at], "%s: the range edge %.9g came back as %.9g", ctx, (double)v[at], (double)dq[at]);
            }
        }
        qbuf_free(&q);
    }
    free(v);
    free(dq);
}

static void qedges(void)
{
    static const char *names[] = {"mx", "nvfp4", "amax", "zero-point"};
    static const int schemes[] = {LB_SCHEME_MX, LB_SCHEME_NVFP4, LB_SCHEME_AMAX, LB_SCHEME_ZP};
    const check_format *list;
    size_t nf;
    check_formats(&list, &nf);
    for (int s = 0; s < 4; s++) {
        char formats[64];
        snprintf(formats, sizeof formats, "f32->%s:edges->f32", names[s]);
        check_row row, *r = &row;
        if (!row_begin(r, "quantize", formats, "ref", "selfcheck:qedge", 1))
            continue;
        rng g;
        rng_for(&g, formats);
        for (size_t i = 0; i < nf && !r->crashes; i++) {
            const lowbit_format *f = &list[i].f;
            if (fmt_scheme(f) != schemes[s])
                continue;
            if (s == 0 && f->block_rows == 1)
                mx_edges(r, &list[i], &g);
            else if (s == 1 && f->block_rows == 1 && !(f->flags & LOWBIT_FMT_GIVEN_TENSOR_SCALE))
                nv_edges(r, &list[i], &g); /* (given tensor scales: the qmodel rows) */
            else if (s == 2)
                amax_edges(r, &list[i], &g);
            else if (s == 3)
                zp_edges(r, &list[i], &g);
        }
        row_end(r);
    }
}

void selfcheck_quantize(void)
{
    qref = find_ref_kernel(LOWBIT_OP_QUANTIZE);
    dqref = find_ref_kernel(LOWBIT_OP_DEQUANTIZE);
    if (!qref || !qref->quantize || !dqref || !dqref->dequantize) {
        check_row r;
        if (row_begin(&r, "quantize", "any", "ref", "selfcheck:reference", 1)) {
            row_event(&r, "the reference quantize / dequantize kernels are not registered");
            row_end(&r);
        }
        return;
    }
    const check_format *list;
    size_t n;
    check_formats(&list, &n);
    for (size_t i = 0; i < n; i++)
        qmodel_format(&list[i]);
    for (size_t i = 0; i < n; i++)
        qbound_format(&list[i]);
    qedges();
}
