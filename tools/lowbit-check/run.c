/*
 * run.c - calling a kernel safely: inputs copied into guarded buffers at a
 * chosen misalignment, outputs in guarded buffers full of junk, the call
 * made under the crash handler, and afterwards the guards and the
 * untouched inputs verified.  Every failure is reported on the row.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "run.h"

typedef struct cvt_call {
    const lb_kernel *k;
    void *dst;
    lowbit_dtype dt;
    const void *src;
    lowbit_dtype st;
    size_t n;
    lb_cvt_params p;
} cvt_call;

static void cvt_tramp(void *a)
{
    cvt_call *c = a;
    lb_run_convert(c->k, c->dst, c->dt, c->src, c->st, c->n, &c->p);
}

int run_convert(check_row *r, const lb_kernel *k, lowbit_dtype dt, lowbit_dtype st,
                const uint8_t *src_bytes, size_t n, const lb_cvt_params *p, size_t src_mis,
                size_t dst_mis, uint64_t junk, gbuf *out, const char *ctx)
{
    size_t sb = hx_bytes(st, n), db = hx_bytes(dt, n);
    /* src_mis 0: the source ends at an inaccessible page (over-reads fault);
     * otherwise it starts src_mis bytes off a 64-byte boundary, guarded */
    gbuf in;
    fbuf fin;
    const uint8_t *src;
    memset(&in, 0, sizeof in);
    if (src_mis == 0) {
        memcpy(fbuf_alloc(&fin, sb), src_bytes, sb);
        src = fin.p;
    } else {
        memcpy(gbuf_alloc(&in, sb, src_mis), src_bytes, sb);
        src = in.p;
    }
    gbuf_alloc(out, db, dst_mis);
    gbuf_junk(out, junk);
    cvt_call c = {k, out->p, dt, src, st, n, *p};
    int sig = crash_call(cvt_tramp, &c);
    int bad = 0;
    if (sig) {
        r->crashes++;
        row_event(r, "%s: %s crashed with %s%s", ctx, k->name, signal_name(sig),
                  src_mis == 0 ? " (its source ends at an unmapped page: a read past the end faults)" : "");
        bad = 1;
    } else {
        bad |= gbuf_verify(out, r, "destination", ctx);
        if (src_mis)
            bad |= gbuf_verify(&in, r, "source", ctx);
        if (memcmp(src, src_bytes, sb) != 0) {
            r->guards++;
            row_event(r, "%s: %s wrote into its source buffer", ctx, k->name);
            bad = 1;
        }
    }
    if (src_mis == 0)
        fbuf_free(&fin);
    else
        gbuf_free(&in);
    if (bad)
        gbuf_free(out);
    return bad ? -1 : 0;
}

void inject_fault(lowbit_dtype t, void *buf, size_t n)
{
    if (!cfg.inject_fault || n == 0)
        return;
    size_t i = n / 2;
    hx_put(t, buf, i, hx_get(t, buf, i) ^ 1u);
}

int tail_bits_zero(lowbit_dtype t, const void *buf, size_t n)
{
    size_t bits = n * hx_bits(t);
    if (bits % 8 == 0)
        return 1;
    uint8_t last = ((const uint8_t *)buf)[bits / 8];
    return (last >> (bits % 8)) == 0;
}

/* ---- quantize / dequantize -------------------------------------------- */

typedef struct q_call {
    const lb_kernel *k;
    lowbit_qtensor *q;
    lowbit_dtype st;
    const void *src;
    size_t stride;
    lb_cvt_params p;
} q_call;

static void q_tramp(void *a)
{
    q_call *c = a;
    lb_run_quantize(c->k, c->q, c->st, c->src, c->stride, &c->p);
}

typedef struct dq_call {
    const lb_kernel *k;
    lowbit_dtype dt;
    void *dst;
    size_t stride;
    const lowbit_qtensor *q;
} dq_call;

static void dq_tramp(void *a)
{
    dq_call *c = a;
    lb_run_dequantize(c->k, c->dt, c->dst, c->stride, c->q);
}

static size_t min_stride(lowbit_dtype t, size_t cols)
{
    size_t g = hx_granule(t);
    return (cols + g - 1) / g * g;
}

void qbuf_alloc(qbuf *b, const lowbit_format *f, size_t rows, size_t cols, size_t extra_stride,
                size_t mis, uint64_t junk)
{
    memset(b, 0, sizeof *b);
    lowbit_qtensor *q = &b->q;
    if (lowbit_qtensor_init(q, f, rows, cols) != LOWBIT_OK) {
        fprintf(stderr, "lowbit-check: internal: qtensor_init failed: %s\n", lowbit_last_error());
        exit(2);
    }
    size_t g = hx_granule(f->elem);
    q->row_stride = min_stride(f->elem, cols) + extra_stride * g;
    /* what the shape needs, computed here rather than taken from the library */
    size_t data = rows && cols ? hx_bytes(f->elem, (rows - 1) * q->row_stride + cols) : 0;
    size_t blocks = 0;
    if (f->scale_type != LOWBIT_DTYPE_COUNT && rows && cols) {
        size_t br = f->block_rows ? f->block_rows : rows, bc = f->block_cols ? f->block_cols : cols;
        blocks = ((rows + br - 1) / br) * ((cols + bc - 1) / bc);
    }
    size_t scales = f->scale_type != LOWBIT_DTYPE_COUNT ? hx_bytes(f->scale_type, blocks) : 0;
    size_t zps = (f->flags & LOWBIT_FMT_ZERO_POINT) ? hx_bytes(f->elem, blocks) : 0;
    b->nblocks = blocks;
    q->data = gbuf_alloc(&b->data, data, mis);
    q->scales = scales ? gbuf_alloc(&b->scales, scales, 0) : NULL;
    q->zero_points = zps ? gbuf_alloc(&b->zps, zps, 0) : NULL;
    q->data_bytes = data;
    q->scales_bytes = scales;
    q->zero_points_bytes = zps;
    gbuf_junk(&b->data, junk);
    if (scales)
        gbuf_junk(&b->scales, junk + 1);
    if (zps)
        gbuf_junk(&b->zps, junk + 2);
    uint32_t ts = (uint32_t)(junk * 0x9E3779B9u) | 0x7F800001u; /* a NaN nobody writes by accident */
    memcpy(&q->tensor_scale, &ts, 4);
    b->initial = malloc(data ? data : 1);
    memcpy(b->initial, b->data.p, data);
}

void qbuf_free(qbuf *b)
{
    gbuf_free(&b->data);
    if (b->scales.base)
        gbuf_free(&b->scales);
    if (b->zps.base)
        gbuf_free(&b->zps);
    free(b->initial);
    memset(b, 0, sizeof *b);
}

int run_quantize(check_row *r, const lb_kernel *k, qbuf *b, lowbit_dtype st, const uint8_t *src_bytes,
                 size_t src_stride, size_t src_mis, const lb_cvt_params *p, const char *ctx)
{
    lowbit_qtensor *q = &b->q;
    size_t sb = q->rows && q->cols ? hx_bytes(st, (q->rows - 1) * src_stride + q->cols) : 0;
    gbuf in;
    fbuf fin;
    const uint8_t *src;
    memset(&in, 0, sizeof in);
    if (src_mis == 0) { /* ends at an inaccessible page, as in run_convert */
        memcpy(fbuf_alloc(&fin, sb), src_bytes, sb);
        src = fin.p;
    } else {
        memcpy(gbuf_alloc(&in, sb, src_mis), src_bytes, sb);
        src = in.p;
    }
    q_call c = {k, q, st, src, src_stride, *p};
    int sig = crash_call(q_tramp, &c);
    int bad = 0;
    if (sig) {
        r->crashes++;
        row_event(r, "%s: %s crashed with %s%s", ctx, k->name, signal_name(sig),
                  src_mis == 0 ? " (its source ends at an unmapped page: a read past the end faults)" : "");
        bad = 1;
    } else {
        bad |= gbuf_verify(&b->data, r, "data", ctx);
        if (q->scales)
            bad |= gbuf_verify(&b->scales, r, "scales", ctx);
        if (q->zero_points)
            bad |= gbuf_verify(&b->zps, r, "zero_points", ctx);
        if (src_mis)
            bad |= gbuf_verify(&in, r, "source", ctx);
        if (memcmp(src, src_bytes, sb) != 0) {
            r->guards++;
            row_event(r, "%s: %s wrote into its source buffer", ctx, k->name);
            bad = 1;
        }
        /* bytes between one row's last element and the next row are not touched */
        lowbit_dtype e = q->format.elem;
        for (size_t row = 0; row + 1 < q->rows && !bad; row++) {
            size_t from = hx_bytes(e, row * q->row_stride + q->cols);
            size_t to = hx_bytes(e, (row + 1) * q->row_stride);
            if (from < to && memcmp(b->data.p + from, b->initial + from, to - from) != 0) {
                r->guards++;
                row_event(r, "%s: %s wrote into the row-stride gap after row %zu", ctx, k->name, row);
                bad = 1;
            }
        }
    }
    if (src_mis == 0)
        fbuf_free(&fin);
    else
        gbuf_free(&in);
    return bad ? -1 : 0;
}

int run_dequantize(check_row *r, const lb_kernel *k, const lowbit_qtensor *q, lowbit_dtype dt,
                   size_t dst_stride, size_t dst_mis, uint64_t junk, gbuf *out, const char *ctx)
{
    size_t db = q->rows && q->cols ? hx_bytes(dt, (q->rows - 1) * dst_stride + q->cols) : 0;
    gbuf_alloc(out, db, dst_mis);
    gbuf_junk(out, junk);
    uint8_t *initial = malloc(db ? db : 1);
    memcpy(initial, out->p, db);
    /* the kernel must not write its input either */
    size_t data_bytes = q->data_bytes, sc_bytes = q->scales ? q->scales_bytes : 0;
    size_t zp_bytes = q->zero_points ? q->zero_points_bytes : 0;
    uint8_t *copy = malloc(data_bytes + sc_bytes + zp_bytes + 1);
    memcpy(copy, q->data, data_bytes);
    if (sc_bytes)
        memcpy(copy + data_bytes, q->scales, sc_bytes);
    if (zp_bytes)
        memcpy(copy + data_bytes + sc_bytes, q->zero_points, zp_bytes);
    dq_call c = {k, dt, out->p, dst_stride, q};
    int sig = crash_call(dq_tramp, &c);
    int bad = 0;
    if (sig) {
        r->crashes++;
        row_event(r, "%s: %s crashed with %s", ctx, k->name, signal_name(sig));
        bad = 1;
    } else {
        bad |= gbuf_verify(out, r, "destination", ctx);
        if (memcmp(copy, q->data, data_bytes) || (sc_bytes && memcmp(copy + data_bytes, q->scales, sc_bytes)) ||
            (zp_bytes && memcmp(copy + data_bytes + sc_bytes, q->zero_points, zp_bytes))) {
            r->guards++;
            row_event(r, "%s: %s wrote into the quantized input", ctx, k->name);
            bad = 1;
        }
        for (size_t row = 0; row + 1 < q->rows && !bad; row++) {
            size_t from = hx_bytes(dt, row * dst_stride + q->cols);
            size_t to = hx_bytes(dt, (row + 1) * dst_stride);
            if (from < to && memcmp(out->p + from, initial + from, to - from) != 0) {
                r->guards++;
                row_event(r, "%s: %s wrote into the row-stride gap after row %zu", ctx, k->name, row);
                bad = 1;
            }
        }
    }
    free(copy);
    free(initial);
    if (bad)
        gbuf_free(out);
    return bad ? -1 : 0;
}
