/*
 * fuzz_quantize.c - lowbit_format_check / _name, lowbit_qtensor_init /
 * _grid, lowbit_quantize and lowbit_dequantize with formats, shapes,
 * strides and declared buffer sizes decoded from the input.
 *
 * Contract checked: every buffer is exactly as large as declared (ASan);
 * a failed quantize leaves q (struct and buffers) untouched, a failed
 * dequantize leaves dst untouched; a successful call gives the same bytes
 * on the reference backend.  Rows/cols may be huge: then init must refuse
 * them or report sizes we replace by small ones, which the ops must refuse.
 */
#include "fuzz_common.h"

static void check_name(fz_in *in, const lowbit_format *f)
{
    char buf[80];
    size_t len = fz_u8(in) % 72;
    memset(buf, FZ_CANARY, sizeof buf);
    lowbit_format_name(f, buf, len);
    if (len && !memchr(buf, 0, len))
        FZ_FAIL("format name not terminated within %zu bytes", len);
    for (size_t i = len; i < sizeof buf; i++)
        if ((uint8_t)buf[i] != FZ_CANARY)
            FZ_FAIL("format name wrote byte %zu of a %zu-byte buffer", i, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    fz_once();
    fz_backend(&in);
    lowbit_format f = fz_format(&in);
    lowbit_status fs = lowbit_format_check(&f);
    check_name(&in, &f);
    size_t rows = fz_size(&in, 70), cols = fz_size(&in, 300);

    lowbit_qtensor q;
    memset(&q, 0x5A, sizeof q);
    lowbit_status s = lowbit_qtensor_init(&q, &f, rows, cols);
    if (s != LOWBIT_OK)
        return 0;
    if (fs != LOWBIT_OK)
        FZ_FAIL("qtensor_init accepted a format that format_check refuses (%s)", lowbit_status_string(fs));
    size_t gr, gc;
    if (lowbit_qtensor_grid(&q, &gr, &gc) != LOWBIT_OK)
        FZ_FAIL("grid refused a tensor init made");

    fz_qbuf b;
    fz_qtensor_buffers(&in, &q, &b);

    /* the dense side */
    lowbit_dtype st = fz_u8(&in) & 0x80 ? fz_dtype(&in) : (lowbit_dtype)(fz_u8(&in) % 3);
    uint8_t sm = fz_u8(&in);
    size_t ld = cols + (sm & 1 ? (size_t)(int8_t)fz_u8(&in) : 0);
    if (sm & 2)
        ld = fz_size(&in, 400);
    size_t need = fz_matrix_bytes(rows, cols, ld, fz_wide_bytes(st));
    lowbit_convert_opts o = {0}, *opts = NULL;
    if (sm & 4) {
        opts = &o;
        uint8_t r = fz_u8(&in);
        o.rounding = (lowbit_rounding)(r % 4 == 3 ? (int)r - 200 : r % 4);
        o.seed = fz_u64(&in);
        o.offset = fz_u8(&in) & 1 ? fz_u64(&in) : 0;
    }
    /* a src too large to allocate is passed as NULL (or, when its size
     * overflows, as a tiny buffer): either way the call must fail */
    size_t alloc = need > FZ_BUF_CAP ? 64 : need;
    uint8_t *srcbase, *src = fz_alloc_at(alloc, (sm >> 4) & 3, &srcbase);
    fz_fill(&in, src, alloc);
    fz_qtensor_fill(&in, &q, &b);

    /* quantize: on failure, q and its buffers stay as they were */
    lowbit_qtensor before = q;
    uint8_t *snap[3];
    size_t szs[3] = {q.data_bytes, q.scales_bytes, q.zero_points_bytes};
    uint8_t *bufs[3] = {b.data, b.scales, b.zp};
    for (int i = 0; i < 3; i++) {
        snap[i] = malloc(szs[i] ? szs[i] : 1);
        memcpy(snap[i], bufs[i], szs[i]);
    }
    int nosrc = (sm & 8) || (need > FZ_BUF_CAP && need != SIZE_MAX);
    s = lowbit_quantize(&q, st, nosrc ? NULL : src, ld, opts);
    if (s == LOWBIT_OK && (need > FZ_BUF_CAP) && rows && cols)
        FZ_FAIL("quantize accepted a %zu x %zu src of %zu bytes we never allocated", rows, cols, need);
    if (s != LOWBIT_OK) {
        if (memcmp(&before, &q, sizeof q) != 0)
            FZ_FAIL("quantize changed q on %s", lowbit_status_string(s));
        for (int i = 0; i < 3; i++)
            if (memcmp(snap[i], bufs[i], szs[i]) != 0)
                FZ_FAIL("quantize wrote buffer %d on %s", i, lowbit_status_string(s));
    } else {
        /* the reference backend computes the same bytes */
        lowbit_backend was = lowbit_get_backend();
        if (was != LOWBIT_BACKEND_REF && lowbit_set_backend(LOWBIT_BACKEND_REF) == LOWBIT_OK) {
            lowbit_qtensor r = before;
            uint8_t *rb[3];
            for (int i = 0; i < 3; i++) {
                rb[i] = malloc(szs[i] ? szs[i] : 1);
                memcpy(rb[i], snap[i], szs[i]);
            }
            r.data = before.data ? rb[0] : NULL;
            r.scales = before.scales ? rb[1] : NULL;
            r.zero_points = before.zero_points ? rb[2] : NULL;
            if (lowbit_quantize(&r, st, src, ld, opts) != LOWBIT_OK)
                FZ_FAIL("ref refused what %s accepted", lowbit_backend_name(was));
            for (int i = 0; i < 3; i++)
                if (memcmp(rb[i], bufs[i], szs[i]) != 0)
                    FZ_FAIL("quantize buffer %d: %s differs from ref", i, lowbit_backend_name(was));
            if (memcmp(&r.tensor_scale, &q.tensor_scale, sizeof q.tensor_scale) != 0)
                FZ_FAIL("tensor_scale: %s differs from ref", lowbit_backend_name(was));
            for (int i = 0; i < 3; i++)
                free(rb[i]);
            lowbit_set_backend(was);
        }
    }
    for (int i = 0; i < 3; i++)
        free(snap[i]);

    /* dequantize into a dst of its own type and stride */
    lowbit_dtype dt = fz_u8(&in) & 0x80 ? fz_dtype(&in) : (lowbit_dtype)(fz_u8(&in) % 3);
    size_t dld = cols + (fz_u8(&in) & 7);
    if (fz_u8(&in) & 1)
        dld = fz_size(&in, 400);
    size_t dneed = fz_matrix_bytes(rows, cols, dld, fz_wide_bytes(dt));
    {
        size_t dalloc = dneed > FZ_BUF_CAP ? 64 : dneed;
        uint8_t *dstbase, *dst = fz_alloc_at(dalloc, (sm >> 6) & 3, &dstbase);
        int nodst = dneed > FZ_BUF_CAP && dneed != SIZE_MAX;
        s = lowbit_dequantize(dt, nodst ? NULL : dst, dld, &q);
        if (s == LOWBIT_OK && dneed > FZ_BUF_CAP && rows && cols)
            FZ_FAIL("dequantize accepted a dst of %zu bytes we never allocated", dneed);
        if (s != LOWBIT_OK && !fz_untouched(dst, dalloc))
            FZ_FAIL("dequantize wrote dst on %s", lowbit_status_string(s));
        if (s == LOWBIT_OK && dalloc) {
            lowbit_backend was = lowbit_get_backend();
            if (was != LOWBIT_BACKEND_REF && lowbit_set_backend(LOWBIT_BACKEND_REF) == LOWBIT_OK) {
                uint8_t *d2 = fz_alloc(dalloc);
                if (lowbit_dequantize(dt, d2, dld, &q) != LOWBIT_OK || memcmp(d2, dst, dalloc) != 0)
                    FZ_FAIL("dequantize: %s differs from ref", lowbit_backend_name(was));
                free(d2);
                lowbit_set_backend(was);
            }
        }
        free(dstbase);
    }
    free(srcbase);
    fz_qbuf_free(&b);
    return 0;
}
