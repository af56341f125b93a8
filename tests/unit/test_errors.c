/*
 * test_errors.c - bad input gets its own status, writes nothing, and leaves a
 * detail message naming the offending argument; empty calls succeed.
 *
 * Every failing call is made with guard-filled output buffers, and the
 * buffers (and the qtensor descriptor) are checked byte for byte afterwards.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lowbit.h"

#define GUARD 0xCD

static int all_guard(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != GUARD)
            return 0;
    return 1;
}

/* status is `want`, the detail message is non-empty and mentions `needle`. */
static void expect_status(lowbit_status got, lowbit_status want, const char *needle, const char *what)
{
    cr_expect_eq(got, want, "%s: got %s, expected %s (%s)", what, lowbit_status_string(got),
                 lowbit_status_string(want), lowbit_last_error());
    const char *e = lowbit_last_error();
    cr_assert_not_null(e, "%s: lowbit_last_error() is NULL", what);
    if (want != LOWBIT_OK) {
        cr_expect(e[0] != '\0', "%s: empty detail message", what);
        if (needle)
            cr_expect(strstr(e, needle) != NULL, "%s: detail \"%s\" does not name \"%s\"", what, e,
                      needle);
    } else {
        cr_expect(e[0] == '\0', "%s: detail \"%s\" after success", what, e);
    }
}

/* ---- lowbit_convert --------------------------------------------------- */

Test(errors, convert_bad_arguments)
{
    float src[16];
    uint8_t dst[64];
    for (int i = 0; i < 16; i++)
        src[i] = (float)i;
    lowbit_convert_opts o = {LOWBIT_ROUND_NEAREST_EVEN, 0, 0, 0};

#define CONV(want, needle, dt, d, st, s, n, op)                                          \
    do {                                                                                 \
        memset(dst, GUARD, sizeof dst);                                                  \
        expect_status(lowbit_convert(dt, d, st, s, n, op), want, needle, #dt " " #n);     \
        cr_expect(all_guard(dst, sizeof dst), "output written by a failing call");       \
    } while (0)

    CONV(LOWBIT_ERR_NULL_POINTER, "dst", LOWBIT_E4M3, NULL, LOWBIT_F32, src, 4, NULL);
    CONV(LOWBIT_ERR_NULL_POINTER, "src", LOWBIT_E4M3, dst, LOWBIT_F32, NULL, 4, NULL);
    CONV(LOWBIT_ERR_INVALID_ENUM, "dst_type", (lowbit_dtype)99, dst, LOWBIT_F32, src, 4, NULL);
    CONV(LOWBIT_ERR_INVALID_ENUM, "dst_type", (lowbit_dtype)-1, dst, LOWBIT_F32, src, 4, NULL);
    CONV(LOWBIT_ERR_INVALID_ENUM, "dst_type", LOWBIT_DTYPE_COUNT, dst, LOWBIT_F32, src, 4, NULL);
    CONV(LOWBIT_ERR_INVALID_ENUM, "src_type", LOWBIT_E4M3, dst, (lowbit_dtype)99, src, 4, NULL);
    CONV(LOWBIT_ERR_INVALID_ENUM, "src_type", LOWBIT_E4M3, dst, (lowbit_dtype)-1, src, 4, NULL);
    o.rounding = (lowbit_rounding)3;
    CONV(LOWBIT_ERR_INVALID_ENUM, "rounding", LOWBIT_E4M3, dst, LOWBIT_F32, src, 4, &o);
    o.rounding = (lowbit_rounding)-1;
    CONV(LOWBIT_ERR_INVALID_ENUM, "rounding", LOWBIT_E4M3, dst, LOWBIT_F32, src, 4, &o);
    o.rounding = LOWBIT_ROUND_NEAREST_EVEN;
    /* byte counts that overflow size_t */
    CONV(LOWBIT_ERR_SIZE_OVERFLOW, "n", LOWBIT_E4M3, dst, LOWBIT_F32, src, SIZE_MAX / 2, NULL);
    CONV(LOWBIT_ERR_SIZE_OVERFLOW, "n", LOWBIT_F32, dst, LOWBIT_E4M3, src, SIZE_MAX / 4 + 1, NULL);
    CONV(LOWBIT_ERR_SIZE_OVERFLOW, "n", LOWBIT_E2M1, dst, LOWBIT_BF16, src, SIZE_MAX / 2 + 1, NULL);
    /* stochastic element index offset + n - 1 beyond 2^64 - 1 */
    lowbit_convert_opts sr = {LOWBIT_ROUND_STOCHASTIC, 0, 1, UINT64_MAX};
    CONV(LOWBIT_ERR_SIZE_OVERFLOW, "offset", LOWBIT_E4M3, dst, LOWBIT_F32, src, 2, &sr);
    memset(dst, GUARD, sizeof dst);
    expect_status(lowbit_convert(LOWBIT_E4M3, dst, LOWBIT_F32, src, 1, &sr), LOWBIT_OK, NULL,
                  "last index UINT64_MAX");
    /* n == 0: no-op with NULL pointers, but enums are still checked */
    expect_status(lowbit_convert(LOWBIT_E4M3, NULL, LOWBIT_F32, NULL, 0, NULL), LOWBIT_OK, NULL, "n=0");
    expect_status(lowbit_convert(LOWBIT_E2M1, NULL, LOWBIT_E3M2, NULL, 0, &o), LOWBIT_OK, NULL, "n=0");
    CONV(LOWBIT_ERR_INVALID_ENUM, "dst_type", (lowbit_dtype)42, NULL, LOWBIT_F32, NULL, 0, NULL);
#undef CONV
}

Test(errors, convert_aliasing)
{
    uint8_t buf[256];
    float f[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t snap[256];
    struct { size_t dst_off, src_off; lowbit_dtype dt, st; size_t n; } cases[] = {
        {0, 0, LOWBIT_F32, LOWBIT_F16, 8},   /* same pointer */
        {4, 0, LOWBIT_F32, LOWBIT_F32, 8},   /* shifted by one element */
        {0, 4, LOWBIT_F32, LOWBIT_F32, 8},
        {31, 0, LOWBIT_E4M3, LOWBIT_F32, 8}, /* last src byte is the first dst byte */
        {0, 3, LOWBIT_E2M1, LOWBIT_F32, 8},  /* 4-byte dst inside src */
        {10, 0, LOWBIT_F32, LOWBIT_E3M2, 8}, /* 6-bit src: 6 bytes, dst starts in... */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(buf, GUARD, sizeof buf);
        memcpy(buf + cases[i].src_off, f, 32);
        memcpy(snap, buf, sizeof buf);
        size_t sbytes = lowbit_dtype_bytes(cases[i].st, cases[i].n);
        size_t dbytes = lowbit_dtype_bytes(cases[i].dt, cases[i].n);
        int overlap = cases[i].dst_off < cases[i].src_off + sbytes &&
                      cases[i].src_off < cases[i].dst_off + dbytes;
        lowbit_status s = lowbit_convert(cases[i].dt, buf + cases[i].dst_off, cases[i].st,
                                         buf + cases[i].src_off, cases[i].n, NULL);
        if (overlap) {
            expect_status(s, LOWBIT_ERR_ALIASING, "overlap", "overlapping src/dst");
            cr_expect_eq(memcmp(buf, snap, sizeof buf), 0, "case %zu: buffer changed", i);
        } else {
            expect_status(s, LOWBIT_OK, NULL, "adjacent src/dst");
        }
    }
    /* Adjacent but disjoint buffers are fine. */
    memcpy(buf, f, 32);
    expect_status(lowbit_convert(LOWBIT_F32, buf + 32, LOWBIT_F32, buf, 8, NULL), LOWBIT_OK, NULL,
                  "adjacent");
    expect_status(lowbit_convert(LOWBIT_E2M1, buf + 64, LOWBIT_E2M1, buf + 60, 8, NULL), LOWBIT_OK,
                  NULL, "adjacent packed");
}

/* ---- quantize / dequantize -------------------------------------------- */

typedef struct {
    lowbit_qtensor q;
    uint8_t *data, *scales, *zps;
} qbuf;

static void qbuf_make(qbuf *b, lowbit_format f, size_t rows, size_t cols)
{
    cr_assert_eq(lowbit_qtensor_init(&b->q, &f, rows, cols), LOWBIT_OK, "%s", lowbit_last_error());
    b->data = malloc(b->q.data_bytes + 1);
    b->scales = malloc(b->q.scales_bytes + 1);
    b->zps = malloc(b->q.zero_points_bytes + 1);
    cr_assert(b->data && b->scales && b->zps);
    b->q.data = b->data;
    b->q.scales = b->q.scales_bytes ? b->scales : NULL;
    b->q.zero_points = b->q.zero_points_bytes ? b->zps : NULL;
}

static void qbuf_guard(qbuf *b)
{
    memset(b->data, GUARD, b->q.data_bytes + 1);
    memset(b->scales, GUARD, b->q.scales_bytes + 1);
    memset(b->zps, GUARD, b->q.zero_points_bytes + 1);
}

static int qbuf_untouched(const qbuf *b, size_t data_bytes, size_t scales_bytes, size_t zp_bytes)
{
    return all_guard(b->data, data_bytes + 1) && all_guard(b->scales, scales_bytes + 1) &&
           all_guard(b->zps, zp_bytes + 1);
}

static void qbuf_free(qbuf *b)
{
    free(b->data);
    free(b->scales);
    free(b->zps);
}

static float srcbuf[64 * 64];

/* Quantize with a modified descriptor; expect failure and nothing written. */
static void q_fail(const qbuf *base, lowbit_qtensor q, lowbit_dtype st, const void *src, size_t stride,
                   const lowbit_convert_opts *o, lowbit_status want, const char *needle,
                   const char *what)
{
    qbuf b = *base;
    qbuf_guard(&b);
    lowbit_qtensor before = q;
    expect_status(lowbit_quantize(&q, st, src, stride, o), want, needle, what);
    cr_expect(qbuf_untouched(&b, base->q.data_bytes, base->q.scales_bytes, base->q.zero_points_bytes),
              "%s: a buffer was written", what);
    cr_expect_eq(memcmp(&before, &q, sizeof q), 0, "%s: the descriptor was changed", what);
}

/* Dequantize from a modified descriptor into a guard-filled dst; expect failure. */
static void dq_fail(lowbit_qtensor q, lowbit_dtype dt, size_t stride, lowbit_status want,
                    const char *needle, const char *what)
{
    static float out[64 * 64 + 16];
    memset(out, GUARD, sizeof out);
    expect_status(lowbit_dequantize(dt, out, stride, &q), want, needle, what);
    cr_expect(all_guard(out, sizeof out), "%s: dst written", what);
}

Test(errors, quantize_bad_descriptors)
{
    qbuf mx, i4, zp, nv, e3;
    qbuf_make(&mx, lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), 4, 64);
    qbuf_make(&i4, lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 0), 4, 64);
    qbuf_make(&zp, lowbit_format_int_group(LOWBIT_UINT4, 32, LOWBIT_BF16, 1), 4, 64);
    qbuf_make(&nv, lowbit_format_nvfp4(), 4, 64);
    qbuf_make(&e3, lowbit_format_mx(LOWBIT_E3M2, LOWBIT_SCALE_FLOOR), 4, 64);
    for (size_t i = 0; i < 64 * 64; i++)
        srcbuf[i] = (float)i * 0.01f - 3.0f;
    const float *s = srcbuf;
    lowbit_qtensor q;

    /* sanity: the unmodified descriptors are accepted */
    qbuf *all[] = {&mx, &i4, &zp, &nv, &e3};
    for (size_t k = 0; k < 5; k++)
        expect_status(lowbit_quantize(&all[k]->q, LOWBIT_F32, s, 64, NULL), LOWBIT_OK, NULL, "valid");

    cr_expect_eq(lowbit_quantize(NULL, LOWBIT_F32, s, 64, NULL), LOWBIT_ERR_NULL_POINTER);
    cr_expect(strstr(lowbit_last_error(), "q") != NULL);
    cr_expect_eq(lowbit_dequantize(LOWBIT_F32, srcbuf, 64, NULL), LOWBIT_ERR_NULL_POINTER);

    /* invalid enums in the format */
    q = mx.q; q.format.elem = (lowbit_dtype)99;
    q_fail(&mx, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_INVALID_ENUM, "elem", "elem 99");
    dq_fail(q, LOWBIT_F32, 64, LOWBIT_ERR_INVALID_ENUM, "elem", "dq elem 99");
    q = mx.q; q.format.elem = (lowbit_dtype)-1;
    q_fail(&mx, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_INVALID_ENUM, "elem", "elem -1");
    q = mx.q; q.format.scale_type = (lowbit_dtype)77;
    q_fail(&mx, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_INVALID_ENUM, "scale_type", "scale_type 77");
    q = mx.q; q.format.rule = (lowbit_scale_rule)9;
    q_fail(&mx, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_INVALID_ENUM, "rule", "rule 9");
    q = mx.q; q.format.flags = 0x100;
    q_fail(&mx, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_INVALID_ENUM, "flags", "unknown flag");

    /* unsupported combinations */
    q = i4.q; q.format.elem = LOWBIT_UINT4; /* uint4 without a zero point */
    q_fail(&i4, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_UNSUPPORTED, "uint4", "uint4 without zp");
    dq_fail(q, LOWBIT_F32, 64, LOWBIT_ERR_UNSUPPORTED, "uint4", "dq uint4 without zp");
    q = mx.q; q.format.elem = LOWBIT_E4M3FNUZ;
    q_fail(&mx, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_UNSUPPORTED, "elem", "MX with FNUZ");
    q = mx.q; q.format.elem = LOWBIT_E5M2FNUZ;
    q_fail(&mx, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_UNSUPPORTED, "elem", "MX with FNUZ");
    q = mx.q; q.format.elem = LOWBIT_UINT4;
    q_fail(&mx, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_UNSUPPORTED, "elem", "MX with uint4");
    q = nv.q; q.format.flags = 0; /* E4M3 block scales without the tensor scale */
    q_fail(&nv, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_UNSUPPORTED, "TENSOR_SCALE", "E4M3 scale w/o TENSOR_SCALE");
    q = mx.q; q.format.flags = LOWBIT_FMT_ZERO_POINT; /* zero point with a float element */
    q_fail(&mx, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_UNSUPPORTED, "ZERO_POINT", "zp with float elem");
    q = mx.q; q.format.flags = LOWBIT_FMT_TENSOR_SCALE; /* tensor scale on E8M0 scales */
    q_fail(&mx, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_UNSUPPORTED, "TENSOR_SCALE", "TENSOR_SCALE on MX");
    q = nv.q; q.format.flags = LOWBIT_FMT_GIVEN_TENSOR_SCALE; /* a given tensor scale needs the tensor scale */
    q_fail(&nv, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_UNSUPPORTED, "GIVEN_TENSOR_SCALE", "GIVEN w/o TENSOR_SCALE");
    q = i4.q; q.format.flags = LOWBIT_FMT_GIVEN_TENSOR_SCALE;
    q_fail(&i4, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_UNSUPPORTED, "GIVEN_TENSOR_SCALE", "GIVEN on f16 scales");
    /* a given tensor scale that is not a positive normal finite f32 */
    {
        const float bad_ts[] = {0.0f, -0.0f, -1.0f, 0x1p-127f, 0x1p-149f, INFINITY, -INFINITY, NAN};
        for (size_t k = 0; k < sizeof bad_ts / sizeof bad_ts[0]; k++) {
            q = nv.q;
            q.format.flags |= LOWBIT_FMT_GIVEN_TENSOR_SCALE;
            q.tensor_scale = bad_ts[k];
            q_fail(&nv, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_OUT_OF_RANGE, "q->tensor_scale", "bad given tensor scale");
        }
        q = nv.q; /* the smallest and the largest allowed */
        q.format.flags |= LOWBIT_FMT_GIVEN_TENSOR_SCALE;
        q.tensor_scale = 0x1p-126f;
        expect_status(lowbit_quantize(&q, LOWBIT_F32, s, 64, NULL), LOWBIT_OK, NULL, "given tensor scale 2^-126");
        cr_expect_eq(q.tensor_scale, 0x1p-126f, "a given tensor scale is kept");
        q.tensor_scale = FLT_MAX;
        expect_status(lowbit_quantize(&q, LOWBIT_F32, s, 64, NULL), LOWBIT_OK, NULL, "given tensor scale FLT_MAX");
        cr_expect_eq(q.tensor_scale, FLT_MAX, "a given tensor scale is kept");
    }
    q = mx.q; q.format.elem = LOWBIT_F32;
    q_fail(&mx, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_UNSUPPORTED, "elem", "f32 element");
    q = i4.q; q.format.rule = LOWBIT_SCALE_CEIL; /* scale rules are for E8M0 only */
    q_fail(&i4, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_UNSUPPORTED, "rule", "rule on f16 scale");
    q = i4.q; q.format.scale_type = LOWBIT_INT8;
    q_fail(&i4, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_UNSUPPORTED, "scale_type", "int8 scale");

    /* strides */
    q = mx.q; q.row_stride = 63;
    q_fail(&mx, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_BAD_STRIDE, "row_stride", "row_stride < cols");
    dq_fail(q, LOWBIT_F32, 64, LOWBIT_ERR_BAD_STRIDE, "row_stride", "dq row_stride < cols");
    q = i4.q; q.row_stride = 65; q.data_bytes = 4 * 65;
    q_fail(&i4, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_MISALIGNED, "row_stride", "odd 4-bit stride");
    q = e3.q; q.row_stride = 66; q.data_bytes = 4 * 66;
    q_fail(&e3, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_MISALIGNED, "row_stride", "6-bit stride % 4");

    /* buffer sizes */
    q = mx.q; q.data_bytes--;
    q_fail(&mx, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_BUFFER_TOO_SMALL, "data_bytes", "data_bytes");
    dq_fail(q, LOWBIT_F32, 64, LOWBIT_ERR_BUFFER_TOO_SMALL, "data_bytes", "dq data_bytes");
    q = mx.q; q.scales_bytes--;
    q_fail(&mx, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_BUFFER_TOO_SMALL, "scales_bytes", "scales_bytes");
    q = zp.q; q.zero_points_bytes--;
    q_fail(&zp, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_BUFFER_TOO_SMALL, "zero_points_bytes", "zp bytes");
    q = i4.q; q.row_stride = 66; /* legal stride, but data_bytes was sized for 64 */
    q_fail(&i4, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_BUFFER_TOO_SMALL, "data_bytes", "stride needs more");

    /* NULL buffers */
    q = mx.q; q.data = NULL;
    q_fail(&mx, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_NULL_POINTER, "data", "NULL data");
    q = mx.q; q.scales = NULL;
    q_fail(&mx, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_NULL_POINTER, "scales", "NULL scales");
    dq_fail(q, LOWBIT_F32, 64, LOWBIT_ERR_NULL_POINTER, "scales", "dq NULL scales");
    q = zp.q; q.zero_points = NULL;
    q_fail(&zp, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_NULL_POINTER, "zero_points", "NULL zero_points");

    /* the unquantized side */
    q_fail(&mx, mx.q, LOWBIT_E4M3, s, 64, NULL, LOWBIT_ERR_UNSUPPORTED, "src_type", "src e4m3");
    q_fail(&mx, mx.q, LOWBIT_INT8, s, 64, NULL, LOWBIT_ERR_UNSUPPORTED, "src_type", "src int8");
    q_fail(&mx, mx.q, (lowbit_dtype)99, s, 64, NULL, LOWBIT_ERR_INVALID_ENUM, "src_type", "src 99");
    q_fail(&mx, mx.q, LOWBIT_F32, NULL, 64, NULL, LOWBIT_ERR_NULL_POINTER, "src", "NULL src");
    q_fail(&mx, mx.q, LOWBIT_F32, s, 63, NULL, LOWBIT_ERR_BAD_STRIDE, "src_row_stride", "src stride");
    dq_fail(mx.q, LOWBIT_E5M2, 64, LOWBIT_ERR_UNSUPPORTED, "dst_type", "dst e5m2");
    dq_fail(mx.q, (lowbit_dtype)-5, 64, LOWBIT_ERR_INVALID_ENUM, "dst_type", "dst -5");
    dq_fail(mx.q, LOWBIT_BF16, 60, LOWBIT_ERR_BAD_STRIDE, "dst_row_stride", "dst stride");
    {
        qbuf b = mx;
        qbuf_guard(&b);
        expect_status(lowbit_dequantize(LOWBIT_F32, NULL, 64, &mx.q), LOWBIT_ERR_NULL_POINTER, "dst",
                      "NULL dst");
    }

    /* bad options */
    lowbit_convert_opts o = {(lowbit_rounding)7, 0, 0, 0};
    q_fail(&mx, mx.q, LOWBIT_F32, s, 64, &o, LOWBIT_ERR_INVALID_ENUM, "rounding", "rounding 7");
    lowbit_convert_opts so = {LOWBIT_ROUND_STOCHASTIC, 0, 1, UINT64_MAX - 10};
    q_fail(&mx, mx.q, LOWBIT_F32, s, 64, &so, LOWBIT_ERR_SIZE_OVERFLOW, "offset", "offset overflow");

    /* rows * cols overflowing size_t */
    q = mx.q; q.rows = SIZE_MAX / 2;
    q_fail(&mx, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_SIZE_OVERFLOW, "rows", "rows*cols overflow");
    dq_fail(q, LOWBIT_F32, 64, LOWBIT_ERR_SIZE_OVERFLOW, "rows", "dq rows*cols overflow");
    q = i4.q; q.rows = 2; q.cols = SIZE_MAX - 1; q.row_stride = SIZE_MAX - 1;
    q_fail(&i4, q, LOWBIT_F32, s, 64, NULL, LOWBIT_ERR_SIZE_OVERFLOW, NULL, "huge stride");

    /* zero-sized tensors: a valid no-op, even with NULL buffers */
    lowbit_format f = lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR);
    lowbit_qtensor z;
    cr_assert_eq(lowbit_qtensor_init(&z, &f, 0, 64), LOWBIT_OK);
    expect_status(lowbit_quantize(&z, LOWBIT_F32, NULL, 0, NULL), LOWBIT_OK, NULL, "rows = 0");
    expect_status(lowbit_dequantize(LOWBIT_F16, NULL, 0, &z), LOWBIT_OK, NULL, "dq rows = 0");
    cr_assert_eq(lowbit_qtensor_init(&z, &f, 5, 0), LOWBIT_OK);
    expect_status(lowbit_quantize(&z, LOWBIT_BF16, NULL, 0, NULL), LOWBIT_OK, NULL, "cols = 0");
    expect_status(lowbit_dequantize(LOWBIT_F32, NULL, 0, &z), LOWBIT_OK, NULL, "dq cols = 0");

    for (size_t k = 0; k < 5; k++)
        qbuf_free(all[k]);
}

Test(errors, quantize_aliasing)
{
    lowbit_format f = lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR);
    lowbit_qtensor q;
    cr_assert_eq(lowbit_qtensor_init(&q, &f, 2, 64), LOWBIT_OK);
    /* one arena: src floats, then data, then scales */
    static uint8_t arena[4096];
    uint8_t snap[sizeof arena];
    float vals[128];
    for (int i = 0; i < 128; i++)
        vals[i] = (float)i;
    memset(arena, GUARD, sizeof arena);
    memcpy(arena, vals, sizeof vals);
    q.data = arena + 1024;
    q.scales = arena + 2048;
    memcpy(snap, arena, sizeof arena);

    /* src overlapping data: src spans 512 bytes; put data inside it */
    lowbit_qtensor a = q;
    a.data = arena + 100;
    expect_status(lowbit_quantize(&a, LOWBIT_F32, arena, 64, NULL), LOWBIT_ERR_ALIASING, "src",
                  "src overlaps data");
    cr_expect_eq(memcmp(arena, snap, sizeof arena), 0);
    a = q;
    a.scales = arena + 508; /* the last src float overlaps the scales */
    expect_status(lowbit_quantize(&a, LOWBIT_F32, arena, 64, NULL), LOWBIT_ERR_ALIASING, "src",
                  "src overlaps scales");
    cr_expect_eq(memcmp(arena, snap, sizeof arena), 0);
    /* data overlapping scales */
    a = q;
    a.scales = arena + 1024 + 127;
    expect_status(lowbit_quantize(&a, LOWBIT_F32, arena, 64, NULL), LOWBIT_ERR_ALIASING, "overlap",
                  "data overlaps scales");
    cr_expect_eq(memcmp(arena, snap, sizeof arena), 0);
    /* dequantize into the q buffers */
    expect_status(lowbit_dequantize(LOWBIT_F32, arena + 900, 64, &q), LOWBIT_ERR_ALIASING, "dst",
                  "dst overlaps data");
    cr_expect_eq(memcmp(arena, snap, sizeof arena), 0);
    /* and the same layout without overlap works */
    expect_status(lowbit_quantize(&q, LOWBIT_F32, arena, 64, NULL), LOWBIT_OK, NULL, "disjoint");
    expect_status(lowbit_dequantize(LOWBIT_F32, arena + 3000 - 3000 % 4 - 512, 64, &q), LOWBIT_OK,
                  NULL, "disjoint dq");
}

Test(errors, qtensor_helpers)
{
    lowbit_format f = lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR);
    lowbit_qtensor q;
    memset(&q, GUARD, sizeof q);
    lowbit_qtensor snap = q;
    expect_status(lowbit_qtensor_init(NULL, &f, 2, 2), LOWBIT_ERR_NULL_POINTER, "q", "init NULL q");
    expect_status(lowbit_qtensor_init(&q, NULL, 2, 2), LOWBIT_ERR_NULL_POINTER, "format", "init NULL fmt");
    cr_expect_eq(memcmp(&q, &snap, sizeof q), 0);
    lowbit_format bad = f;
    bad.elem = (lowbit_dtype)50;
    expect_status(lowbit_qtensor_init(&q, &bad, 2, 2), LOWBIT_ERR_INVALID_ENUM, "elem", "init bad elem");
    cr_expect_eq(memcmp(&q, &snap, sizeof q), 0);
    expect_status(lowbit_qtensor_init(&q, &f, 3, SIZE_MAX), LOWBIT_ERR_SIZE_OVERFLOW, "cols",
                  "init cols overflow");
    expect_status(lowbit_qtensor_init(&q, &f, SIZE_MAX, SIZE_MAX / 2), LOWBIT_ERR_SIZE_OVERFLOW, NULL,
                  "init rows*cols overflow");
    cr_expect_eq(memcmp(&q, &snap, sizeof q), 0);
    size_t gr = 7, gc = 7;
    expect_status(lowbit_qtensor_grid(NULL, &gr, &gc), LOWBIT_ERR_NULL_POINTER, "q", "grid NULL q");
    cr_assert_eq(lowbit_qtensor_init(&q, &f, 2, 2), LOWBIT_OK);
    expect_status(lowbit_qtensor_grid(&q, NULL, &gc), LOWBIT_ERR_NULL_POINTER, "grid_rows", "grid NULL");
    expect_status(lowbit_qtensor_grid(&q, &gr, NULL), LOWBIT_ERR_NULL_POINTER, "grid_cols", "grid NULL");
    cr_expect(gr == 7 && gc == 7);
    expect_status(lowbit_format_check(NULL), LOWBIT_ERR_NULL_POINTER, "format", "check NULL");
}

/* ---- backends and status strings -------------------------------------- */

Test(errors, set_backend)
{
    lowbit_backend before = lowbit_get_backend();
    lowbit_status s;
    expect_status(lowbit_set_backend((lowbit_backend)99), LOWBIT_ERR_INVALID_ENUM, "backend", "backend 99");
    expect_status(lowbit_set_backend((lowbit_backend)-1), LOWBIT_ERR_INVALID_ENUM, "backend", "backend -1");
    expect_status(lowbit_set_backend(LOWBIT_BACKEND_COUNT), LOWBIT_ERR_INVALID_ENUM, "backend", "COUNT");
    cr_expect_eq(lowbit_get_backend(), before);
    /* Device backends are chosen per call (lowbit_convert_device), never as
     * the host backend: lowbit.h documents UNSUPPORTED for them.  Their own
     * status here is NOT_BUILT or UNAVAILABLE (no GPU on the host). */
    for (lowbit_backend b = LOWBIT_BACKEND_CUDA; b <= LOWBIT_BACKEND_HIP; b++) {
        s = lowbit_set_backend(b);
        expect_status(s, LOWBIT_ERR_UNSUPPORTED, lowbit_backend_name(b), "set_backend(device)");
        cr_expect_eq(lowbit_get_backend(), before);
        s = lowbit_backend_status(b);
        cr_expect(s == LOWBIT_ERR_BACKEND_NOT_BUILT || s == LOWBIT_ERR_BACKEND_UNAVAILABLE ||
                      s == LOWBIT_OK,
                  "backend_status(%s): %s", lowbit_backend_name(b), lowbit_status_string(s));
        if (s != LOWBIT_OK)
            cr_expect(strstr(lowbit_last_error(), lowbit_backend_name(b)) != NULL, "%s",
                      lowbit_last_error());
    }
#if defined(__x86_64__) || defined(__i386__)
    expect_status(lowbit_set_backend(LOWBIT_BACKEND_NEON), LOWBIT_ERR_BACKEND_NOT_BUILT, "neon", "neon on x86");
#elif defined(__aarch64__)
    expect_status(lowbit_set_backend(LOWBIT_BACKEND_AVX2), LOWBIT_ERR_BACKEND_NOT_BUILT, "avx2", "avx2 on arm");
#endif
    cr_expect_eq(lowbit_get_backend(), before);
    /* whatever lowbit_backend_status says, set_backend agrees */
    for (lowbit_backend b = LOWBIT_BACKEND_AUTO; b < LOWBIT_BACKEND_CUDA; b++) {
        lowbit_status want = lowbit_backend_status(b);
        lowbit_backend cur = lowbit_get_backend();
        cr_expect_eq(lowbit_set_backend(b), want, "%s", lowbit_backend_name(b));
        if (want != LOWBIT_OK)
            cr_expect_eq(lowbit_get_backend(), cur);
    }
    cr_expect_eq(lowbit_set_backend(LOWBIT_BACKEND_AUTO), LOWBIT_OK);
}

/* lowbit_convert_device validates like lowbit_convert; host memory (or no
 * GPU, or no GPU backend built) is refused without writing anything. */
Test(errors, convert_device_on_host_memory)
{
    float src[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t dst[16];
    memset(dst, GUARD, sizeof dst);
    expect_status(lowbit_convert_device((lowbit_backend)99, LOWBIT_E4M3, dst, LOWBIT_F32, src, 8, NULL, NULL),
                  LOWBIT_ERR_INVALID_ENUM, "backend", "device backend 99");
    expect_status(lowbit_convert_device(LOWBIT_BACKEND_REF, LOWBIT_E4M3, dst, LOWBIT_F32, src, 8, NULL, NULL),
                  LOWBIT_ERR_UNSUPPORTED, "backend", "device call on ref");
    expect_status(lowbit_convert_device(LOWBIT_BACKEND_CUDA, (lowbit_dtype)99, dst, LOWBIT_F32, src, 8, NULL,
                                        NULL),
                  LOWBIT_ERR_INVALID_ENUM, "dst_type", "device dst_type");
    for (lowbit_backend b = LOWBIT_BACKEND_CUDA; b <= LOWBIT_BACKEND_HIP; b++) {
        lowbit_status s = lowbit_convert_device(b, LOWBIT_E4M3, dst, LOWBIT_F32, src, 8, NULL, NULL);
        cr_expect(s == LOWBIT_ERR_BACKEND_NOT_BUILT || s == LOWBIT_ERR_BACKEND_UNAVAILABLE ||
                      s == LOWBIT_ERR_WRONG_MEMORY,
                  "convert_device(%s) on host memory: %s", lowbit_backend_name(b), lowbit_status_string(s));
        cr_expect(lowbit_last_error()[0] != '\0');
    }
    cr_expect(all_guard(dst, sizeof dst), "device call wrote host memory");
}

Test(errors, status_strings)
{
    const char *seen[LOWBIT_STATUS_COUNT];
    for (int s = 0; s < LOWBIT_STATUS_COUNT; s++) {
        seen[s] = lowbit_status_string((lowbit_status)s);
        cr_assert_not_null(seen[s], "status %d", s);
        cr_expect(seen[s][0] != '\0');
        for (int t = 0; t < s; t++)
            cr_expect(strcmp(seen[s], seen[t]) != 0, "statuses %d and %d share the name %s", s, t,
                      seen[s]);
    }
    cr_expect_str_eq(lowbit_status_string(LOWBIT_OK), "LOWBIT_OK");
    cr_expect_str_eq(lowbit_status_string(LOWBIT_ERR_ALIASING), "LOWBIT_ERR_ALIASING");
    int outside[] = {LOWBIT_STATUS_COUNT, LOWBIT_STATUS_COUNT + 1, 1000, -1};
    for (size_t i = 0; i < 4; i++) {
        const char *n = lowbit_status_string((lowbit_status)outside[i]);
        cr_assert_not_null(n, "status %d", outside[i]);
        for (int s = 0; s < LOWBIT_STATUS_COUNT; s++)
            cr_expect(strcmp(n, seen[s]) != 0, "out-of-range status %d named like a real one", outside[i]);
    }
}

Test(errors, success_clears_detail)
{
    float x = 1.0f;
    uint8_t y;
    cr_expect_neq(lowbit_convert(LOWBIT_E4M3, NULL, LOWBIT_F32, &x, 1, NULL), LOWBIT_OK);
    cr_expect(lowbit_last_error()[0] != '\0');
    cr_expect_eq(lowbit_convert(LOWBIT_E4M3, &y, LOWBIT_F32, &x, 1, NULL), LOWBIT_OK);
    cr_expect_str_eq(lowbit_last_error(), "");
}
