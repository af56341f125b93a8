/*
 * test_bounds.c - sizes and bounds at the edges, for every entry point:
 *
 *  - byte counts that overflow size_t or run past the end of the address
 *    space (rows x stride, n x bits / 8 for 4- and 6-bit types, scales of
 *    tiny blocks, pages x page bytes);
 *  - strides below the row;
 *  - outputs overlapping an input (in place, partial, by one padding byte);
 *  - 64-bit index arithmetic: views whose rows, tokens or pages lie more
 *    than 4 GiB apart (mapped with MAP_NORESERVE, only the touched pages
 *    cost memory), on every host backend this CPU runs, and one real
 *    conversion of 2^32 + 4096 elements checked around 2^31 and 2^32.
 *
 * Refused calls must give their own status, a detail naming the argument,
 * and leave every output byte as it was.  test_errors.c, test_gemm_api.c
 * and test_attention_api.c hold the ordinary cases; none is repeated here.
 * Pointers near the top of the address space are stand-ins that a correct
 * validation never dereferences: a miss crashes the test, which fails it.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lowbit.h"

#define GUARD 0xCD
#define GIB ((size_t)1 << 30)

static int all_guard(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != GUARD)
            return 0;
    return 1;
}

static void expect_status(lowbit_status got, lowbit_status want, const char *needle, const char *what)
{
    cr_expect_eq(got, want, "%s: got %s, expected %s (%s)", what, lowbit_status_string(got),
                 lowbit_status_string(want), lowbit_last_error());
    const char *e = lowbit_last_error();
    if (want != LOWBIT_OK) {
        cr_expect(e[0] != '\0', "%s: empty detail message", what);
        if (needle)
            cr_expect(strstr(e, needle) != NULL, "%s: detail \"%s\" does not name \"%s\"", what, e, needle);
    }
}

/* A stand-in pointer `below` bytes under the top of the address space. */
static void *top_ptr(uintptr_t below)
{
    return (void *)(UINTPTR_MAX - below);
}

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

static void fill_f32(float *x, size_t n, uint32_t seed)
{
    rng = 88172645463325252ull ^ seed;
    for (size_t i = 0; i < n; i++)
        x[i] = ((float)(rnd() % 20001) - 10000.0f) / 1000.0f;
}

/* ---- mapped views: large virtual spans, few touched pages -------------- */

static void *big_map(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        cr_skip_test("mmap of %zu bytes (MAP_NORESERVE) refused: strict overcommit?", bytes);
    return p;
}

static void big_unmap(void *p, size_t bytes)
{
    munmap(p, bytes);
}

/* Fill [p - 64, p + n + 64) with guards; check that only [p, p + n) changed. */
static void guard_around(uint8_t *p, size_t n)
{
    memset(p - 64, GUARD, n + 128);
}

static int guards_kept(const uint8_t *p, size_t n)
{
    return all_guard(p - 64, 64) && all_guard(p + n, 64);
}

/* ======================================================================== */
/* 1. Byte counts                                                           */
/* ======================================================================== */

/* lowbit_dtype_bytes is exact, or SIZE_MAX when the count does not fit; the
 * naive n * bits / 8 wraps long before that for 4-, 6-, 16- and 32-bit types. */
Test(bounds, dtype_bytes_never_wraps)
{
    const size_t edge[] = {0, 1, 2, 7, 8, 9, SIZE_MAX / 32, SIZE_MAX / 16, SIZE_MAX / 8, SIZE_MAX / 6,
                           SIZE_MAX / 4, SIZE_MAX / 4 + 1, SIZE_MAX / 3, SIZE_MAX / 2, SIZE_MAX / 2 + 1,
                           (SIZE_MAX / 6) * 8, (SIZE_MAX / 6) * 8 + 8, ((SIZE_MAX - 8) / 6) * 8,
                           SIZE_MAX / 3 * 4, SIZE_MAX - 8, SIZE_MAX - 1, SIZE_MAX};
    for (int t = 0; t < LOWBIT_DTYPE_COUNT; t++) {
        unsigned bits = lowbit_dtype_bits((lowbit_dtype)t);
        for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
            size_t n = edge[i];
            unsigned __int128 exact = ((unsigned __int128)n * bits + 7) / 8;
            size_t got = lowbit_dtype_bytes((lowbit_dtype)t, n);
            if (got == SIZE_MAX)
                /* refusing a count that would just fit is allowed near the top */
                cr_expect(exact >= SIZE_MAX - 64, "%s, n = %zu: SIZE_MAX for %llu bytes", lowbit_dtype_name(t), n,
                          (unsigned long long)exact);
            else
                cr_expect(got == exact, "%s, n = %zu: %zu bytes, exact %llu%s", lowbit_dtype_name(t), n, got,
                          (unsigned long long)exact, exact > SIZE_MAX ? " (overflows)" : "");
        }
    }
    cr_expect_eq(lowbit_dtype_bytes((lowbit_dtype)99, 1), SIZE_MAX);
}

Test(bounds, convert_spans)
{
    static float src[64];
    static uint8_t dst[256];
    fill_f32(src, 64, 1);
#define CONV(want, needle, dt, d, st, s, n, what)                                       \
    do {                                                                                \
        memset(dst, GUARD, sizeof dst);                                                 \
        expect_status(lowbit_convert(dt, d, st, s, n, NULL), want, needle, what);       \
        cr_expect(all_guard(dst, sizeof dst), "%s: output written", what);              \
    } while (0)
    /* n x 6 wraps for n = 2^62, n x 6 / 8 = 3 x 2^60 does not: a dst 2^61
     * below the top cannot hold it */
    CONV(LOWBIT_ERR_SIZE_OVERFLOW, "n", LOWBIT_E3M2, top_ptr((uintptr_t)1 << 61), LOWBIT_E2M1, dst,
         SIZE_MAX / 4 + 1, "e3m2 dst of 2^62 elements near the top");
    CONV(LOWBIT_ERR_SIZE_OVERFLOW, "n", LOWBIT_E2M1, dst, LOWBIT_E3M2, top_ptr((uintptr_t)1 << 61),
         SIZE_MAX / 4 + 1, "e3m2 src of 2^62 elements near the top");
    /* 6-bit bytes never overflow (3/4 of n); the f32 side does */
    CONV(LOWBIT_ERR_SIZE_OVERFLOW, "n", LOWBIT_E3M2, dst, LOWBIT_F32, src, SIZE_MAX / 4 + 1, "f32 src of e3m2 dst");
    CONV(LOWBIT_ERR_SIZE_OVERFLOW, "n", LOWBIT_F16, dst, LOWBIT_E2M1, src, SIZE_MAX / 2 + 1, "f16 dst bytes");
    CONV(LOWBIT_ERR_SIZE_OVERFLOW, "n", LOWBIT_BF16, dst, LOWBIT_INT4, src, SIZE_MAX, "n = SIZE_MAX");
    /* spans that fit in size_t but run past the end of the address space */
    CONV(LOWBIT_ERR_SIZE_OVERFLOW, "n", LOWBIT_E4M3, top_ptr(31), LOWBIT_F32, src, 64, "e4m3 dst at the top");
    CONV(LOWBIT_ERR_SIZE_OVERFLOW, "n", LOWBIT_E2M1, top_ptr(30), LOWBIT_F32, src, 64, "e2m1 dst at the top");
    CONV(LOWBIT_ERR_SIZE_OVERFLOW, "n", LOWBIT_E4M3, dst, LOWBIT_F32, top_ptr(255), 64, "f32 src at the top");
    CONV(LOWBIT_ERR_SIZE_OVERFLOW, "n", LOWBIT_F32, dst, LOWBIT_E3M2, top_ptr(46), 64, "e3m2 src at the top");
    /* ending on the last byte is no overflow (this call fails on the overlap, reading nothing) */
    expect_status(lowbit_convert(LOWBIT_E4M3, top_ptr(64), LOWBIT_E4M3, top_ptr(64), 64, NULL),
                  LOWBIT_ERR_ALIASING, "overlap", "ending at the top, in place");
#undef CONV
}

/* Overlaps the element count alone does not show: the padding bits of a
 * packed last byte are written too, so a src starting there overlaps. */
Test(bounds, convert_aliasing_packed_tails)
{
    static uint8_t arena[128], snap[128];
    struct {
        lowbit_dtype dt, st;
        size_t n, dst_off, src_off;
        int overlap;
        const char *what;
    } c[] = {
        {LOWBIT_E2M1, LOWBIT_E4M3, 7, 0, 3, 1, "e2m1 dst's padding byte is src[0]"},
        {LOWBIT_E2M1, LOWBIT_E4M3, 7, 0, 4, 0, "e2m1 dst ends where src starts"},
        {LOWBIT_E3M2, LOWBIT_F16, 5, 9, 0, 1, "e3m2 dst (4 bytes for 30 bits) on f16 src's last byte"},
        {LOWBIT_E3M2, LOWBIT_F16, 5, 10, 0, 0, "e3m2 dst right after f16 src"},
        {LOWBIT_F32, LOWBIT_E2M3, 3, 3, 0, 0, "f32 dst after e2m3 src's 3 bytes"},
        {LOWBIT_F32, LOWBIT_E2M3, 3, 2, 0, 1, "f32 dst on e2m3 src's padding"},
        {LOWBIT_E4M3, LOWBIT_E5M2, 16, 8, 8, 1, "in place, across types"},
        {LOWBIT_E2M1, LOWBIT_E2M1, 16, 8, 8, 1, "in place copy"},
        {LOWBIT_E4M3, LOWBIT_F32, 16, 24, 0, 1, "dst inside src"},
        {LOWBIT_F32, LOWBIT_INT4, 16, 0, 60, 1, "src inside dst"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        for (size_t k = 0; k < sizeof arena; k++)
            arena[k] = (uint8_t)(k * 7 + 1) & 0x3F; /* small codes: every type decodes them */
        memcpy(snap, arena, sizeof arena);
        lowbit_status s = lowbit_convert(c[i].dt, arena + c[i].dst_off, c[i].st, arena + c[i].src_off, c[i].n, NULL);
        if (c[i].overlap) {
            expect_status(s, LOWBIT_ERR_ALIASING, "overlap", c[i].what);
            cr_expect_eq(memcmp(arena, snap, sizeof arena), 0, "%s: arena changed", c[i].what);
        } else {
            expect_status(s, LOWBIT_OK, NULL, c[i].what);
        }
    }
}

/* ======================================================================== */
/* 2. qtensor shapes, quantize / dequantize                                 */
/* ======================================================================== */

Test(bounds, qtensor_init_sizes)
{
    lowbit_qtensor q, snap;
    memset(&q, GUARD, sizeof q);
    snap = q;
    lowbit_format e3 = lowbit_format_mx(LOWBIT_E3M2, LOWBIT_SCALE_FLOOR);
    lowbit_format i4g1 = lowbit_format_int_group(LOWBIT_INT4, 1, LOWBIT_F32, 0);
    lowbit_format zp = lowbit_format_int_group(LOWBIT_UINT4, 1, LOWBIT_F16, 1);
    /* the 6-bit row stride rounds cols up to a multiple of 4 and wraps */
    expect_status(lowbit_qtensor_init(&q, &e3, 1, SIZE_MAX - 1), LOWBIT_ERR_SIZE_OVERFLOW, "cols", "e3m2 cols");
    expect_status(lowbit_qtensor_init(&q, &e3, 2, SIZE_MAX - 2), LOWBIT_ERR_SIZE_OVERFLOW, "cols", "e3m2 cols - 2");
    /* rows x cols = 2^64 elements */
    expect_status(lowbit_qtensor_init(&q, &e3, (size_t)1 << 40, (size_t)1 << 24), LOWBIT_ERR_SIZE_OVERFLOW, "rows",
                  "2^40 x 2^24");
    /* the data fits (2^62 bytes of int4) but one f32 scale per element does not */
    expect_status(lowbit_qtensor_init(&q, &i4g1, 4, (size_t)1 << 61), LOWBIT_ERR_SIZE_OVERFLOW, "rows",
                  "scales of 1-element groups");
    expect_status(lowbit_qtensor_init(&q, &zp, (size_t)1 << 31, (size_t)1 << 32), LOWBIT_ERR_SIZE_OVERFLOW, "rows",
                  "f16 scales of 2^63 groups");
    cr_expect_eq(memcmp(&q, &snap, sizeof q), 0, "a failing init changed q");
    /* the largest shapes that do fit are sized exactly */
    expect_status(lowbit_qtensor_init(&q, &i4g1, 1, (size_t)1 << 61), LOWBIT_OK, NULL, "2^61 groups");
    cr_expect_eq(q.data_bytes, (size_t)1 << 60);
    cr_expect_eq(q.scales_bytes, (size_t)1 << 63);
    expect_status(lowbit_qtensor_init(&q, &e3, (size_t)1 << 31, (size_t)1 << 32), LOWBIT_OK, NULL, "2^63 e3m2");
    cr_expect_eq(q.data_bytes, (size_t)3 << 61);
    cr_expect_eq(q.scales_bytes, (size_t)1 << 58);
}

typedef struct qhold {
    lowbit_qtensor q;
    void *data, *scales, *zps;
} qhold;

static void qhold_make(qhold *h, lowbit_format f, size_t rows, size_t cols, const float *x)
{
    cr_assert_eq(lowbit_qtensor_init(&h->q, &f, rows, cols), LOWBIT_OK, "%s", lowbit_last_error());
    h->data = calloc(1, h->q.data_bytes + 1);
    h->scales = calloc(1, h->q.scales_bytes + 1);
    h->zps = calloc(1, h->q.zero_points_bytes + 1);
    h->q.data = h->data;
    h->q.scales = h->q.scales_bytes ? h->scales : NULL;
    h->q.zero_points = h->q.zero_points_bytes ? h->zps : NULL;
    if (x)
        cr_assert_eq(lowbit_quantize(&h->q, LOWBIT_F32, x, cols, NULL), LOWBIT_OK, "%s", lowbit_last_error());
}

static void qhold_free(qhold *h)
{
    free(h->data);
    free(h->scales);
    free(h->zps);
}

static void qhold_guard(qhold *h)
{
    memset(h->data, GUARD, h->q.data_bytes + 1);
    memset(h->scales, GUARD, h->q.scales_bytes + 1);
    memset(h->zps, GUARD, h->q.zero_points_bytes + 1);
}

static int qhold_untouched(const qhold *h)
{
    return all_guard(h->data, h->q.data_bytes + 1) && all_guard(h->scales, h->q.scales_bytes + 1) &&
           all_guard(h->zps, h->q.zero_points_bytes + 1);
}

static float xsrc[4 * 64];
static float xdst[4 * 64 + 64];

static void quant_fail(qhold *h, lowbit_qtensor q, lowbit_dtype st, const void *src, size_t stride,
                       const lowbit_convert_opts *o, lowbit_status want, const char *needle, const char *what)
{
    qhold_guard(h);
    expect_status(lowbit_quantize(&q, st, src, stride, o), want, needle, what);
    cr_expect(qhold_untouched(h), "%s: q's buffers written", what);
}

static void dequant_fail(lowbit_qtensor q, lowbit_dtype dt, void *dst, size_t stride, lowbit_status want,
                         const char *needle, const char *what)
{
    memset(xdst, GUARD, sizeof xdst);
    expect_status(lowbit_dequantize(dt, dst, stride, &q), want, needle, what);
    cr_expect(all_guard(xdst, sizeof xdst), "%s: dst written", what);
}

Test(bounds, quantize_spans_and_strides)
{
    fill_f32(xsrc, 4 * 64, 2);
    qhold mx, i4, e3;
    qhold_make(&mx, lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), 4, 64, NULL);
    qhold_make(&i4, lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 0), 4, 64, NULL);
    qhold_make(&e3, lowbit_format_mx(LOWBIT_E3M2, LOWBIT_SCALE_FLOOR), 4, 64, NULL);
    const lowbit_status OV = LOWBIT_ERR_SIZE_OVERFLOW, BS = LOWBIT_ERR_BAD_STRIDE;
    lowbit_qtensor q;

    /* the unquantized side: (rows - 1) x stride + cols elements, then bytes */
    quant_fail(&mx, mx.q, LOWBIT_F32, xsrc, SIZE_MAX / 3 + 1, NULL, OV, "src", "src elements overflow");
    quant_fail(&mx, mx.q, LOWBIT_F32, xsrc, SIZE_MAX / 12, NULL, OV, "src", "f32 src bytes overflow");
    quant_fail(&mx, mx.q, LOWBIT_BF16, xsrc, SIZE_MAX / 6 - 20, NULL, OV, "src", "bf16 src bytes overflow");
    quant_fail(&mx, mx.q, LOWBIT_F32, top_ptr(1000), 64, NULL, OV, "src", "src at the top");
    dequant_fail(mx.q, LOWBIT_F32, xdst, SIZE_MAX / 12, OV, "dst", "f32 dst bytes overflow");
    dequant_fail(mx.q, LOWBIT_F16, xdst, SIZE_MAX / 3 + 1, OV, "dst", "dst elements overflow");
    dequant_fail(mx.q, LOWBIT_F32, top_ptr(500), 64, OV, "dst", "dst at the top");
    /* the quantized side */
    q = e3.q; q.rows = 3; q.row_stride = (SIZE_MAX / 2) & ~(size_t)3;
    quant_fail(&e3, q, LOWBIT_F32, xsrc, 64, NULL, OV, "stride", "e3m2 rows x row_stride");
    dequant_fail(q, LOWBIT_F32, xdst, 64, OV, "stride", "dq e3m2 rows x row_stride");
    q = i4.q; q.rows = (size_t)1 << 35; q.row_stride = (size_t)1 << 30;
    quant_fail(&i4, q, LOWBIT_F32, xsrc, 64, NULL, OV, "q", "int4 2^35 rows of 2^30");
    /* the last element index of stochastic rounding may be UINT64_MAX, not more */
    lowbit_convert_opts sr = {LOWBIT_ROUND_STOCHASTIC, 0, 7, UINT64_MAX - 255};
    qhold_guard(&mx);
    expect_status(lowbit_quantize(&mx.q, LOWBIT_F32, xsrc, 64, &sr), LOWBIT_OK, NULL, "last index UINT64_MAX");
    sr.offset++;
    quant_fail(&mx, mx.q, LOWBIT_F32, xsrc, 64, &sr, OV, "offset", "last index past UINT64_MAX");

    /* strides below the row: BAD_STRIDE comes before the packing checks */
    q = i4.q; q.row_stride = 62;
    quant_fail(&i4, q, LOWBIT_F32, xsrc, 64, NULL, BS, "row_stride", "int4 stride cols - 2");
    dequant_fail(q, LOWBIT_F32, xdst, 64, BS, "row_stride", "dq int4 stride cols - 2");
    q = i4.q; q.row_stride = 63;
    quant_fail(&i4, q, LOWBIT_F32, xsrc, 64, NULL, BS, "row_stride", "int4 odd stride below cols");
    q = e3.q; q.row_stride = 60;
    quant_fail(&e3, q, LOWBIT_F32, xsrc, 64, NULL, BS, "row_stride", "e3m2 stride cols - 4");
    q = mx.q; q.rows = 1; q.row_stride = 0;
    quant_fail(&mx, q, LOWBIT_F32, xsrc, 64, NULL, BS, "row_stride", "one row, stride 0");
    quant_fail(&mx, mx.q, LOWBIT_F32, xsrc, 0, NULL, BS, "src_row_stride", "src stride 0");
    dequant_fail(mx.q, LOWBIT_BF16, xdst, 0, BS, "dst_row_stride", "dst stride 0");
    dequant_fail(mx.q, LOWBIT_F16, xdst, 63, BS, "dst_row_stride", "dst stride 63");

    qhold_free(&mx);
    qhold_free(&i4);
    qhold_free(&e3);
}

Test(bounds, quantize_aliasing)
{
    /* one arena holds everything, so any layout can be made */
    static uint8_t arena[8192], snap[8192];
    lowbit_format f = lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 1); /* data, scales, zero points */
    lowbit_qtensor q;
    cr_assert_eq(lowbit_qtensor_init(&q, &f, 2, 64), LOWBIT_OK);
    /* data 64 B, scales 8 B, zero points 2 B; src 512 B */
    float vals[128];
    fill_f32(vals, 128, 3);
    uint8_t *src = arena, *data = arena + 1024, *sc = arena + 2048, *zp = arena + 3072, *out = arena + 4096;
    memset(arena, GUARD, sizeof arena);
    memcpy(src, vals, sizeof vals);
    q.data = data;
    q.scales = sc;
    q.zero_points = zp;
    memcpy(snap, arena, sizeof arena);
    const lowbit_status AL = LOWBIT_ERR_ALIASING;
    struct { void *d, *s, *z, *x; int dq; const char *needle, *what; } c[] = {
        {src, sc, zp, src, 0, "src", "quantize in place (data = src)"},
        {data, sc, src + 511, src, 0, "src", "src's last byte is a zero point"},
        {data, src + 510, zp, src, 0, "src", "src's last bytes are scales"},
        {data, sc, data + 63, src, 0, "overlap", "zero points on data's last byte"},
        {data, zp - 7, zp, src, 0, "overlap", "scales' last byte is a zero point"},
        {data, sc, zp, zp + 1 - 512, 1, "dst", "dq: dst ends on the zero points"},
        {data, sc, zp, sc + 4, 1, "dst", "dq: dst starts inside the scales"},
        {data, sc, zp, data, 1, "dst", "dq in place"},
        {data, sc, zp, data + 60, 1, "dst", "dq: dst on data's tail"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        lowbit_qtensor a = q;
        a.data = c[i].d;
        a.scales = c[i].s;
        a.zero_points = c[i].z;
        lowbit_status s = c[i].dq ? lowbit_dequantize(LOWBIT_F32, c[i].x, 64, &a)
                                  : lowbit_quantize(&a, LOWBIT_F32, c[i].x, 64, NULL);
        expect_status(s, AL, c[i].needle, c[i].what);
        cr_expect_eq(memcmp(arena, snap, sizeof arena), 0, "%s: arena changed", c[i].what);
    }
    /* the same buffers, disjoint, are accepted */
    expect_status(lowbit_quantize(&q, LOWBIT_F32, src, 64, NULL), LOWBIT_OK, NULL, "disjoint");
    expect_status(lowbit_dequantize(LOWBIT_F32, out, 64, &q), LOWBIT_OK, NULL, "disjoint dq");
}

/* ======================================================================== */
/* 3. GEMM                                                                  */
/* ======================================================================== */

Test(bounds, gemm_spans_strides_aliasing)
{
    enum { M = 3, N = 4, K = 64 };
    float xa[M * K], xb[N * K];
    fill_f32(xa, M * K, 4);
    fill_f32(xb, N * K, 5);
    qhold a, b, az;
    qhold_make(&a, lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0), M, K, xa);
    qhold_make(&az, lowbit_format_int_group(LOWBIT_INT8, 32, LOWBIT_F32, 1), M, K, xa);
    qhold_make(&b, lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 1), N, K, xb);
    static float c[M * N + 64];
    size_t pb = 0;
    cr_assert_eq(lowbit_gemm_pack_size(&a.q.format, &b.q, NULL, &pb), LOWBIT_OK, "%s", lowbit_last_error());
    uint8_t *pack = malloc(pb + 64);
    cr_assert_eq(lowbit_gemm_pack(&a.q.format, &b.q, NULL, pack, pb), LOWBIT_OK, "%s", lowbit_last_error());
    const lowbit_status OV = LOWBIT_ERR_SIZE_OVERFLOW, BS = LOWBIT_ERR_BAD_STRIDE, AL = LOWBIT_ERR_ALIASING;
    lowbit_qtensor q;
#define GEMM(want, needle, A, B, ct, cp, ldc, what)                                                   \
    do {                                                                                              \
        memset(c, GUARD, sizeof c);                                                                   \
        expect_status(lowbit_gemm(A, B, 1.0f, 0.0f, ct, cp, ldc, NULL), want, needle, what);         \
        cr_expect(all_guard(c, sizeof c), "%s: c written", what);                                     \
    } while (0)
#define PACKED(want, needle, A, ct, cp, ldc, what)                                                    \
    do {                                                                                              \
        memset(c, GUARD, sizeof c);                                                                   \
        expect_status(lowbit_gemm_packed(A, pack, pb, 1.0f, 0.0f, ct, cp, ldc, NULL), want, needle, what); \
        cr_expect(all_guard(c, sizeof c), "%s: c written", what);                                     \
    } while (0)
    /* C past the end of the address space, and C's element count */
    GEMM(OV, "c", &a.q, &b.q, LOWBIT_F32, top_ptr(40), N, "c at the top");
    GEMM(OV, "ldc", &a.q, &b.q, LOWBIT_BF16, c, SIZE_MAX / 2 - 1, "(M-1) x ldc + N elements");
    PACKED(OV, "c", &a.q, LOWBIT_F16, top_ptr(20), N, "packed: c at the top");
    /* an operand's packed bytes: 4-bit B with 2^62 rows of 8 */
    q = b.q; q.rows = (size_t)1 << 62; q.row_stride = 8; q.cols = 8;
    q.format.block_cols = 8;
    GEMM(OV, "b", &a.q, &q, LOWBIT_F32, c, N, "int4 b of 2^65 elements");
    size_t bytes = 99;
    expect_status(lowbit_gemm_pack_size(&a.q.format, &q, NULL, &bytes), OV, "b", "pack_size of that b");
    cr_expect_eq(bytes, 99, "pack_size wrote *bytes on failure");
    /* strides below the row, 4-bit operands */
    q = b.q; q.row_stride = K - 2;
    GEMM(BS, "b->row_stride", &a.q, &q, LOWBIT_F32, c, N, "int4 b stride K - 2");
    expect_status(lowbit_gemm_pack_size(&a.q.format, &q, NULL, &bytes), BS, "b->row_stride", "pack_size stride");
    memset(pack + pb, GUARD, 64);
    expect_status(lowbit_gemm_pack(&a.q.format, &q, NULL, pack, pb), BS, "b->row_stride", "pack stride");
    cr_expect(all_guard(pack + pb, 64));
    q = a.q; q.rows = 1; q.row_stride = 0;
    PACKED(BS, "a->row_stride", &q, LOWBIT_F32, c, N, "packed: one row of a, stride 0");
    GEMM(BS, "ldc", &a.q, &b.q, LOWBIT_F32, c, N - 1, "ldc N - 1");
    /* C on the zero points of either operand, or on b's declared capacity */
    uint8_t azs[64], bzs[64];
    memcpy(azs, az.q.zero_points, az.q.zero_points_bytes);
    memcpy(bzs, b.q.zero_points, b.q.zero_points_bytes);
    GEMM(AL, "a", &az.q, &b.q, LOWBIT_F32, az.q.zero_points, N, "c = a->zero_points");
    GEMM(AL, "b", &az.q, &b.q, LOWBIT_F32, (uint8_t *)b.q.zero_points + b.q.zero_points_bytes - 1, N,
         "c starts on b's last zero point");
    cr_expect(memcmp(azs, az.q.zero_points, az.q.zero_points_bytes) == 0 &&
              memcmp(bzs, b.q.zero_points, b.q.zero_points_bytes) == 0, "zero points written");
    q = b.q; q.data_bytes += 256;
    GEMM(AL, "b", &a.q, &q, LOWBIT_F32, (uint8_t *)b.q.data + b.q.data_bytes + 16, N, "c in b's spare capacity");
    /* the pack written over b's zero points */
    lowbit_status s = lowbit_gemm_pack(&a.q.format, &b.q, NULL, b.q.zero_points, pb);
    expect_status(s, AL, "b", "pack over b->zero_points");
    /* lowbit_gemm_packed: C over A's zero points needs a pack made for A's format */
    size_t pbz = 0;
    cr_assert_eq(lowbit_gemm_pack_size(&az.q.format, &b.q, NULL, &pbz), LOWBIT_OK, "%s", lowbit_last_error());
    uint8_t *packz = malloc(pbz);
    cr_assert_eq(lowbit_gemm_pack(&az.q.format, &b.q, NULL, packz, pbz), LOWBIT_OK, "%s", lowbit_last_error());
    uint8_t zsnap[64];
    memcpy(zsnap, az.q.zero_points, az.q.zero_points_bytes);
    expect_status(lowbit_gemm_packed(&az.q, packz, pbz, 1.0f, 0.0f, LOWBIT_F32, az.q.zero_points, N, NULL), AL,
                  "a", "packed: c = a->zero_points");
    cr_expect_eq(memcmp(zsnap, az.q.zero_points, az.q.zero_points_bytes), 0);
    free(packz);
#undef GEMM
#undef PACKED
    free(pack);
    qhold_free(&a);
    qhold_free(&az);
    qhold_free(&b);
}

/* ======================================================================== */
/* 4. KV cache and attention                                                */
/* ======================================================================== */

Test(bounds, kv_spans_strides_aliasing)
{
    enum { D = 64, H = 2, PT = 4, NP = 4 };
    lowbit_kv_cache k = {.format = lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0), .head_dim = D,
                         .kv_heads = H, .page_tokens = PT};
    size_t pb = 0;
    cr_assert_eq(lowbit_kv_page_bytes(&k, &pb), LOWBIT_OK, "%s", lowbit_last_error());
    const lowbit_status OV = LOWBIT_ERR_SIZE_OVERFLOW, AL = LOWBIT_ERR_ALIASING;
    /* page size itself: 2^32 heads x 2^32 tokens per page */
    lowbit_kv_cache hu = k;
    hu.kv_heads = UINT32_MAX;
    hu.page_tokens = UINT32_MAX;
    size_t bytes = 5;
    expect_status(lowbit_kv_page_bytes(&hu, &bytes), OV, "cache", "page of 2^32 x 2^32");
    cr_expect_eq(bytes, 5);

    /* pages x page bytes, and pages at the top of the address space */
    uint8_t *pages = malloc(NP * pb + 256);
    memset(pages, GUARD, NP * pb + 256);
    k.pages = pages;
    k.page_count = NP;
    k.pages_bytes = NP * pb;
    float src[2 * H * D];
    fill_f32(src, 2 * H * D, 6);
    int32_t table[NP] = {3, 1, 0, 2};
    lowbit_kv_cache c = k;
    c.page_count = SIZE_MAX / pb + 1;
    expect_status(lowbit_kv_append(&c, table, NP, 0, 2, LOWBIT_F32, src, H * D), OV, "pages", "page_count x page");
    c = k;
    c.pages = top_ptr(NP * pb - 1);
    expect_status(lowbit_kv_append(&c, table, NP, 0, 2, LOWBIT_F32, src, H * D), OV, "pages", "pages at the top");
    /* the source: tokens x stride, and at the top */
    expect_status(lowbit_kv_append(&k, table, NP, 0, 2, LOWBIT_F32, src, SIZE_MAX / 2), OV, "src", "src stride");
    expect_status(lowbit_kv_append(&k, table, NP, 0, 3, LOWBIT_BF16, src, SIZE_MAX / 4), OV, "src", "bf16 stride");
    expect_status(lowbit_kv_append(&k, table, NP, 0, 2, LOWBIT_F32, top_ptr(1000), H * D), OV, "src", "src top");
    expect_status(lowbit_kv_append(&k, table, NP, 0, 2, LOWBIT_F32, src, H * D - 1), LOWBIT_ERR_BAD_STRIDE,
                  "src_token_stride", "src stride below a token");
    /* overlaps with what the append writes (the pages, up to their declared size) */
    memcpy(pages + NP * pb - 64, src, 64);
    uint8_t *snap = malloc(NP * pb + 256);
    memcpy(snap, pages, NP * pb + 256);
    expect_status(lowbit_kv_append(&k, table, NP, 0, 1, LOWBIT_F32, pages + NP * pb - 64, H * D), AL, "src",
                  "src starts on the last page");
    expect_status(lowbit_kv_append(&k, table, NP, 0, 1, LOWBIT_F32, pages - H * D * 4 + 4, H * D), AL, "src",
                  "src ends on the first page");
    cr_expect_eq(memcmp(pages, snap, NP * pb + 256), 0, "a refused append changed the pages");
    /* the block table or the head scales inside the pages: read while written */
    memcpy(pages + pb, table, sizeof table);
    memcpy(snap, pages, NP * pb + 256);
    expect_status(lowbit_kv_append(&k, (int32_t *)(pages + pb), NP, 0, 2, LOWBIT_F32, src, H * D), AL,
                  "block_table", "block table inside the pages");
    lowbit_kv_cache f8 = {.format = lowbit_format_fp8_tensor(LOWBIT_E4M3), .head_dim = D, .kv_heads = H,
                          .page_tokens = PT};
    size_t pb8 = 0;
    cr_assert_eq(lowbit_kv_page_bytes(&f8, &pb8), LOWBIT_OK);
    f8.pages = pages;
    f8.page_count = 2;
    f8.pages_bytes = 2 * pb8;
    float hs[H] = {0.5f, 0.25f};
    memcpy(pages + 8, hs, sizeof hs);
    memcpy(snap, pages, NP * pb + 256);
    f8.head_scales = (const float *)(pages + 8);
    expect_status(lowbit_kv_append(&f8, NULL, 0, 0, 2, LOWBIT_F32, src, H * D), AL, "head_scales",
                  "head scales inside the pages");
    cr_expect_eq(memcmp(pages, snap, NP * pb + 256), 0, "a refused append changed the pages");
    free(snap);
    free(pages);
}

typedef struct attn_fix {
    lowbit_kv_cache k, v;
    int32_t table[4];
    float q[3 * 4 * 64], mask[3 * 16], out[3 * 4 * 64 + 64];
    lowbit_attention_args a;
} attn_fix;

static void attn_fix_init(attn_fix *x)
{
    enum { D = 64, HKV = 2, HQ = 4, PT = 4, NP = 4, LEN = 12 };
    memset(x, 0, sizeof *x);
    lowbit_kv_cache base = {.head_dim = D, .kv_heads = HKV, .page_tokens = PT};
    x->k = base;
    x->k.format = lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0);
    x->v = base;
    x->v.format = lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR);
    lowbit_kv_cache *cs[2] = {&x->k, &x->v};
    float src[LEN * HKV * D];
    int32_t order[NP] = {2, 0, 3, 1};
    memcpy(x->table, order, sizeof order);
    for (int i = 0; i < 2; i++) {
        size_t pb;
        cr_assert_eq(lowbit_kv_page_bytes(cs[i], &pb), LOWBIT_OK, "%s", lowbit_last_error());
        cs[i]->page_count = NP;
        cs[i]->pages_bytes = NP * pb;
        cs[i]->pages = calloc(1, NP * pb);
        fill_f32(src, LEN * HKV * D, 10 + i);
        cr_assert_eq(lowbit_kv_append(cs[i], x->table, NP, 0, LEN, LOWBIT_F32, src, HKV * D), LOWBIT_OK, "%s",
                     lowbit_last_error());
    }
    fill_f32(x->q, 3 * HQ * D, 12);
    lowbit_attention_args a = {.q_heads = HQ, .q_tokens = 3, .q_type = LOWBIT_F32, .q = x->q, .q_stride = HQ * D,
                               .q_scale = 1, .k = &x->k, .v = &x->v, .block_table = x->table,
                               .block_table_len = NP, .kv_len = LEN, .q_pos = LEN - 3, .scale = 0.125f,
                               .mask = x->mask, .mask_stride = 16, .out_type = LOWBIT_F32, .out = x->out,
                               .out_stride = HQ * D, .flags = LOWBIT_ATTN_CAUSAL};
    x->a = a;
}

static void attn_fix_free(attn_fix *x)
{
    free(x->k.pages);
    free(x->v.pages);
}

static void attn_fail(attn_fix *x, lowbit_attention_args a, lowbit_status want, const char *needle,
                      const char *what)
{
    /* out may have been pointed elsewhere: guard what it points at when it is ours */
    memset(x->out, GUARD, sizeof x->out);
    expect_status(lowbit_attention(&a), want, needle, what);
    cr_expect(all_guard(x->out, sizeof x->out), "%s: out written", what);
}

Test(bounds, attention_spans_strides_aliasing)
{
    attn_fix x;
    attn_fix_init(&x);
    const lowbit_status OV = LOWBIT_ERR_SIZE_OVERFLOW, BS = LOWBIT_ERR_BAD_STRIDE, AL = LOWBIT_ERR_ALIASING;
    lowbit_attention_args a;
    /* spans */
    a = x.a; a.q_stride = SIZE_MAX / 4;
    attn_fail(&x, a, OV, "args->q", "q_tokens x q_stride");
    a = x.a; a.q_type = LOWBIT_E4M3; a.q = top_ptr(500);
    attn_fail(&x, a, OV, "args->q", "fp8 q at the top");
    a = x.a; a.out_stride = SIZE_MAX / 2 - 7; a.out_type = LOWBIT_BF16;
    attn_fail(&x, a, OV, "args->out", "bf16 out span");
    a = x.a; a.out = top_ptr(2000);
    expect_status(lowbit_attention(&a), OV, "args->out", "out at the top");
    a = x.a; a.mask_stride = SIZE_MAX / 8;
    attn_fail(&x, a, OV, "args->mask", "mask span");
    a = x.a; a.mask = top_ptr(100);
    attn_fail(&x, a, OV, "args->mask", "mask at the top");
    a = x.a; a.q_pos = SIZE_MAX - 1;
    attn_fail(&x, a, OV, "q_pos", "q_pos + q_tokens");
    lowbit_kv_cache kk = x.k;
    kk.page_count = SIZE_MAX / 64;
    a = x.a; a.k = &kk;
    attn_fail(&x, a, OV, "args->k", "k pages x page bytes");
    /* strides below the row, decode too */
    a = x.a; a.q_tokens = 1; a.q_pos = 11; a.q_stride = 0;
    attn_fail(&x, a, BS, "q_stride", "decode q_stride 0");
    a = x.a; a.q_tokens = 1; a.q_pos = 11; a.out_stride = 4 * 64 - 1;
    attn_fail(&x, a, BS, "out_stride", "decode out_stride");
    a = x.a; a.q_tokens = 1; a.q_pos = 11; a.mask_stride = 0;
    attn_fail(&x, a, BS, "mask_stride", "decode mask_stride 0");
    /* out over an input, partially */
    uint8_t *kp = x.k.pages, *vp = x.v.pages;
    uint8_t *ksnap = malloc(x.k.pages_bytes), *vsnap = malloc(x.v.pages_bytes);
    memcpy(ksnap, kp, x.k.pages_bytes);
    memcpy(vsnap, vp, x.v.pages_bytes);
    a = x.a; a.out = vp + x.v.pages_bytes - 4;
    expect_status(lowbit_attention(&a), AL, "args->out", "out starts on v's last page byte");
    a = x.a; a.out = kp + 64;
    expect_status(lowbit_attention(&a), AL, "args->out", "out inside k's pages");
    a = x.a; a.out = x.mask + 2 * 16 + 12 - 1; /* the span read: (q_tokens - 1) x stride + kv_len */
    expect_status(lowbit_attention(&a), AL, "args->out", "out on the mask's last float");
    a = x.a; a.out = x.q + 3 * 4 * 64 - 1;
    expect_status(lowbit_attention(&a), AL, "args->out", "out on q's last float");
    cr_expect_eq(memcmp(ksnap, kp, x.k.pages_bytes), 0, "k's pages written");
    cr_expect_eq(memcmp(vsnap, vp, x.v.pages_bytes), 0, "v's pages written");
    /* the block table lying in out: read while out is written */
    {
        static float arena[3 * 4 * 64 + 64];
        memset(arena, GUARD, sizeof arena);
        memcpy(arena + 100, x.table, sizeof x.table);
        float asnap[sizeof arena / sizeof arena[0]];
        memcpy(asnap, arena, sizeof arena);
        a = x.a; a.out = arena; a.block_table = (const int32_t *)(arena + 100);
        expect_status(lowbit_attention(&a), AL, "block_table", "block table inside out");
        cr_expect_eq(memcmp(asnap, arena, sizeof arena), 0, "out written");
        /* FP8 per-head scales there too */
        lowbit_kv_cache k8 = {.format = lowbit_format_fp8_tensor(LOWBIT_E4M3), .head_dim = 64, .kv_heads = 2,
                              .page_tokens = 4};
        size_t pb8;
        cr_assert_eq(lowbit_kv_page_bytes(&k8, &pb8), LOWBIT_OK);
        k8.pages = calloc(4, pb8);
        k8.page_count = 4;
        k8.pages_bytes = 4 * pb8;
        float hs[2] = {0.5f, 0.25f};
        memcpy(arena + 300, hs, sizeof hs);
        memcpy(asnap, arena, sizeof arena);
        k8.head_scales = arena + 300;
        a = x.a; a.k = &k8; a.out = arena;
        expect_status(lowbit_attention(&a), AL, "args->out", "k's head scales inside out");
        cr_expect_eq(memcmp(asnap, arena, sizeof arena), 0, "out written");
        free(k8.pages);
    }
    /* and the fixture itself is valid */
    expect_status(lowbit_attention(&x.a), LOWBIT_OK, NULL, "valid");
    free(ksnap);
    free(vsnap);
    attn_fix_free(&x);
}

/* ======================================================================== */
/* 5. 64-bit index arithmetic: views beyond 4 GiB                           */
/* ======================================================================== */

static const lowbit_backend host_backends[] = {LOWBIT_BACKEND_REF, LOWBIT_BACKEND_AVX2, LOWBIT_BACKEND_AVX512,
                                               LOWBIT_BACKEND_AMX, LOWBIT_BACKEND_NEON};
#define NHOST (sizeof host_backends / sizeof host_backends[0])

/* Bytes from element 0 to element i of a packed type (i on a byte boundary). */
static size_t at_bytes(lowbit_dtype t, size_t i)
{
    return lowbit_dtype_bytes(t, i);
}

/* Quantize into and dequantize from rows 4 GiB apart (source, qtensor and
 * destination strides), against the same calls on compact buffers. */
static void views_quantize(lowbit_format f, const char *what)
{
    enum { R = 3, C = 64 };
    float x[R * C], y[R * C];
    fill_f32(x, R * C, 20);
    qhold ref;
    qhold_make(&ref, f, R, C, x);
    cr_assert_eq(lowbit_dequantize(LOWBIT_F32, y, C, &ref.q), LOWBIT_OK);

    lowbit_dtype e = f.elem;
    size_t qs = (4 * GIB / lowbit_dtype_bits(e)) * 8 + 64; /* 4 GiB + a bit per row */
    size_t ss = GIB + 48;                                   /* f32: 4 GiB + 192 bytes */
    size_t qbytes = at_bytes(e, (R - 1) * qs + C) + 4096, sbytes = ((R - 1) * ss + C) * 4 + 4096;
    uint8_t *qd = big_map(qbytes), *sx = big_map(sbytes), *dy = big_map(sbytes);
    lowbit_qtensor q = ref.q;
    q.row_stride = qs;
    q.data = qd + 64;
    q.data_bytes = qbytes - 64;
    uint8_t *sc = malloc(ref.q.scales_bytes + 1), *zp = malloc(ref.q.zero_points_bytes + 1);
    q.scales = ref.q.scales ? sc : NULL;
    q.zero_points = ref.q.zero_points ? zp : NULL;
    size_t rb = at_bytes(e, C);
    for (size_t r = 0; r < R; r++) {
        memcpy(sx + 64 + r * ss * 4, x + r * C, C * 4);
        guard_around(qd + 64 + at_bytes(e, r * qs), rb);
    }
    cr_assert_eq(lowbit_quantize(&q, LOWBIT_F32, sx + 64, ss, NULL), LOWBIT_OK, "%s: %s", what, lowbit_last_error());
    for (size_t r = 0; r < R; r++) {
        const uint8_t *row = qd + 64 + at_bytes(e, r * qs);
        cr_expect_eq(memcmp(row, (uint8_t *)ref.q.data + at_bytes(e, r * ref.q.row_stride), rb), 0,
                     "%s (%s): row %zu, %zu bytes in, differs", what, lowbit_backend_name(lowbit_get_backend()), r,
                     at_bytes(e, r * qs));
        cr_expect(guards_kept(row, rb), "%s: written beside row %zu", what, r);
    }
    cr_expect_eq(memcmp(sc, ref.q.scales, ref.q.scales_bytes), 0, "%s: scales differ", what);
    if (ref.q.zero_points)
        cr_expect_eq(memcmp(zp, ref.q.zero_points, ref.q.zero_points_bytes), 0, "%s: zero points differ", what);
    cr_expect_eq(memcmp(&q.tensor_scale, &ref.q.tensor_scale, 4), 0, "%s: tensor scale differs", what);

    for (size_t r = 0; r < R; r++)
        guard_around(dy + 64 + r * ss * 4, C * 4);
    cr_assert_eq(lowbit_dequantize(LOWBIT_F32, dy + 64, ss, &q), LOWBIT_OK, "%s: %s", what, lowbit_last_error());
    for (size_t r = 0; r < R; r++) {
        cr_expect_eq(memcmp(dy + 64 + r * ss * 4, y + r * C, C * 4), 0, "%s: dequantized row %zu differs", what, r);
        cr_expect(guards_kept(dy + 64 + r * ss * 4, C * 4), "%s: dequantize wrote beside row %zu", what, r);
    }
    free(sc);
    free(zp);
    big_unmap(qd, qbytes);
    big_unmap(sx, sbytes);
    big_unmap(dy, sbytes);
    qhold_free(&ref);
}

/* A qtensor copied row by row into a mapping with rows `stride` elements apart. */
static lowbit_qtensor big_copy(const lowbit_qtensor *src, size_t stride, uint8_t **map, size_t *len)
{
    lowbit_dtype e = src->format.elem;
    *len = at_bytes(e, (src->rows - 1) * stride + src->cols) + 4096;
    *map = big_map(*len);
    lowbit_qtensor q = *src;
    q.row_stride = stride;
    q.data = *map;
    q.data_bytes = *len;
    for (size_t r = 0; r < src->rows; r++)
        memcpy(*map + at_bytes(e, r * stride), (const uint8_t *)src->data + at_bytes(e, r * src->row_stride),
               at_bytes(e, src->cols));
    return q;
}

static void views_gemm(lowbit_format fa, lowbit_format fb, const char *what)
{
    enum { M = 3, N = 5, K = 64 };
    float xa[M * K], xb[N * K], cref[M * N];
    fill_f32(xa, M * K, 30);
    fill_f32(xb, N * K, 31);
    qhold a, b;
    qhold_make(&a, fa, M, K, xa);
    qhold_make(&b, fb, N, K, xb);
    cr_assert_eq(lowbit_gemm(&a.q, &b.q, 1.0f, 0.0f, LOWBIT_F32, cref, N, NULL), LOWBIT_OK, "%s", lowbit_last_error());
    uint8_t *am, *bm;
    size_t al, bl;
    lowbit_qtensor av = big_copy(&a.q, (size_t)1 << 33, &am, &al);  /* 4 GiB (int4) .. 8 GiB rows */
    lowbit_qtensor bv = big_copy(&b.q, ((size_t)1 << 33) + 64, &bm, &bl);
    size_t ldc = GIB + 16, cl = ((M - 1) * ldc + N) * 4 + 128;
    uint8_t *cm = big_map(cl);
    float *c = (float *)(cm + 64);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t m = 0; m < M; m++)
            guard_around((uint8_t *)(c + m * ldc), N * 4);
        if (pass == 0) {
            cr_assert_eq(lowbit_gemm(&av, &bv, 1.0f, 0.0f, LOWBIT_F32, c, ldc, NULL), LOWBIT_OK, "%s: %s", what,
                         lowbit_last_error());
        } else {
            /* packed from the strided B, multiplied by the strided A */
            size_t pb = 0;
            cr_assert_eq(lowbit_gemm_pack_size(&fa, &bv, NULL, &pb), LOWBIT_OK, "%s", lowbit_last_error());
            void *pack = malloc(pb);
            cr_assert_eq(lowbit_gemm_pack(&fa, &bv, NULL, pack, pb), LOWBIT_OK, "%s", lowbit_last_error());
            cr_assert_eq(lowbit_gemm_packed(&av, pack, pb, 1.0f, 0.0f, LOWBIT_F32, c, ldc, NULL), LOWBIT_OK, "%s: %s",
                         what, lowbit_last_error());
            free(pack);
        }
        for (size_t m = 0; m < M; m++) {
            cr_expect_eq(memcmp(c + m * ldc, cref + m * N, N * 4), 0, "%s (%s, %s): row %zu of C differs", what,
                         pass ? "packed" : "gemm", lowbit_backend_name(lowbit_get_backend()), m);
            cr_expect(guards_kept((uint8_t *)(c + m * ldc), N * 4), "%s: written beside C row %zu", what, m);
        }
    }
    big_unmap(am, al);
    big_unmap(bm, bl);
    big_unmap(cm, cl);
    qhold_free(&a);
    qhold_free(&b);
}

/* Pages past 4 GiB (block table entries times page bytes), source tokens,
 * query tokens, output tokens and mask rows 4 GiB apart; against a compact
 * cache and compact buffers holding the same values. */
static void views_attention(void)
{
    enum { D = 64, HKV = 2, HQ = 4, PT = 16, LEN = 40, NP = 3, QT = 3 };
    lowbit_kv_cache base = {.head_dim = D, .kv_heads = HKV, .page_tokens = PT};
    lowbit_kv_cache ck = base, cv = base, bk, bv;
    ck.format = lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0);
    cv.format = lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 1);
    const int32_t table_big[NP] = {1700001, 9, 3400003}; /* past 2^31 and 2^32 bytes for both caches */
    lowbit_kv_cache *compact[2] = {&ck, &cv}, *big[2] = {&bk, &bv};
    size_t pbs[2], maplen[2];
    static float src[LEN * HKV * D];
    size_t sst = GIB + 64; /* token stride of the strided source: 4 GiB + 256 bytes */
    size_t slen = ((3 - 1) * sst + HKV * D) * 4 + 4096;
    uint8_t *smap = big_map(slen);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(lowbit_kv_page_bytes(compact[i], &pbs[i]), LOWBIT_OK, "%s", lowbit_last_error());
        compact[i]->page_count = NP;
        compact[i]->pages_bytes = NP * pbs[i];
        compact[i]->pages = calloc(NP, pbs[i]);
        *big[i] = *compact[i];
        big[i]->page_count = 3400004;
        maplen[i] = big[i]->page_count * pbs[i];
        big[i]->pages = big_map(maplen[i]);
        big[i]->pages_bytes = maplen[i];
        fill_f32(src, LEN * HKV * D, 40 + i);
        cr_assert_eq(lowbit_kv_append(compact[i], NULL, 0, 0, LEN, LOWBIT_F32, src, HKV * D), LOWBIT_OK);
        /* the big cache: all but the last 3 tokens compact, those 3 from the strided source */
        cr_assert_eq(lowbit_kv_append(big[i], table_big, NP, 0, LEN - 3, LOWBIT_F32, src, HKV * D), LOWBIT_OK, "%s",
                     lowbit_last_error());
        for (size_t t = 0; t < 3; t++)
            memcpy(smap + t * sst * 4, src + (LEN - 3 + t) * HKV * D, HKV * D * 4);
        cr_assert_eq(lowbit_kv_append(big[i], table_big, NP, LEN - 3, 3, LOWBIT_F32, smap, sst), LOWBIT_OK, "%s",
                     lowbit_last_error());
        for (size_t p = 0; p < NP; p++) {
            const uint8_t *bp = (const uint8_t *)big[i]->pages + (size_t)table_big[p] * pbs[i];
            cr_expect_eq(memcmp(bp, (const uint8_t *)compact[i]->pages + p * pbs[i], pbs[i]), 0,
                         "%s cache (%s): page %zu (at %zu bytes) differs", i ? "v" : "k",
                         lowbit_backend_name(lowbit_get_backend()), p, (size_t)table_big[p] * pbs[i]);
            /* the pages on either side are untouched (still the zero page) */
            static const uint8_t zero[64];
            cr_expect(memcmp(bp - 64, zero, 64) == 0 && memcmp(bp + pbs[i], zero, 64) == 0,
                      "%s cache: written beside page %zu", i ? "v" : "k", p);
        }
    }

    static float q[QT * HQ * D], mask[QT * LEN], out[QT * HQ * D];
    fill_f32(q, QT * HQ * D, 50);
    for (size_t i = 0; i < QT * LEN; i++)
        mask[i] = (i % 7 == 3) ? -INFINITY : (float)(i % 5) * 0.25f;
    lowbit_attention_args a = {.q_heads = HQ, .q_tokens = QT, .q_type = LOWBIT_F32, .q = q, .q_stride = HQ * D,
                               .q_scale = 1, .k = &ck, .v = &cv, .block_table = NULL, .kv_len = LEN,
                               .q_pos = LEN - QT, .scale = 0.125f, .mask = mask, .mask_stride = LEN,
                               .out_type = LOWBIT_F32, .out = out, .out_stride = HQ * D,
                               .flags = LOWBIT_ATTN_CAUSAL};
    cr_assert_eq(lowbit_attention(&a), LOWBIT_OK, "%s", lowbit_last_error());

    size_t qst = GIB + 32, ost = GIB + 128, mst = GIB + 16;
    size_t qlen = ((QT - 1) * qst + HQ * D) * 4 + 4096, olen = ((QT - 1) * ost + HQ * D) * 4 + 4096,
           mlen = ((QT - 1) * mst + LEN) * 4 + 4096;
    uint8_t *qm = big_map(qlen), *om = big_map(olen), *mm = big_map(mlen);
    float *bo = (float *)(om + 64);
    for (size_t t = 0; t < QT; t++) {
        memcpy(qm + t * qst * 4, q + t * HQ * D, HQ * D * 4);
        memcpy(mm + t * mst * 4, mask + t * LEN, LEN * 4);
        guard_around((uint8_t *)(bo + t * ost), HQ * D * 4);
    }
    lowbit_attention_args b = a;
    b.k = &bk;
    b.v = &bv;
    b.block_table = table_big;
    b.block_table_len = NP;
    b.q = qm;
    b.q_stride = qst;
    b.mask = (const float *)mm;
    b.mask_stride = mst;
    b.out = bo;
    b.out_stride = ost;
    cr_assert_eq(lowbit_attention(&b), LOWBIT_OK, "%s", lowbit_last_error());
    for (size_t t = 0; t < QT; t++) {
        cr_expect_eq(memcmp(bo + t * ost, out + t * HQ * D, HQ * D * 4), 0, "attention (%s): out token %zu differs",
                     lowbit_backend_name(lowbit_get_backend()), t);
        cr_expect(guards_kept((uint8_t *)(bo + t * ost), HQ * D * 4), "attention: written beside out token %zu", t);
    }
    big_unmap(qm, qlen);
    big_unmap(om, olen);
    big_unmap(mm, mlen);
    big_unmap(smap, slen);
    for (int i = 0; i < 2; i++) {
        free(compact[i]->pages);
        big_unmap(big[i]->pages, maplen[i]);
    }
}

Test(bounds, views_beyond_4gib, .timeout = 60)
{
    for (size_t bi = 0; bi < NHOST; bi++) {
        if (lowbit_backend_status(host_backends[bi]) != LOWBIT_OK)
            continue;
        cr_assert_eq(lowbit_set_backend(host_backends[bi]), LOWBIT_OK);
        views_quantize(lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), "mxfp8");
        views_quantize(lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR), "mxfp4");
        views_quantize(lowbit_format_mx(LOWBIT_E3M2, LOWBIT_SCALE_RCEIL), "mxfp6");
        views_quantize(lowbit_format_nvfp4(), "nvfp4");
        views_quantize(lowbit_format_int_group(LOWBIT_UINT4, 32, LOWBIT_BF16, 1), "uint4 zp");
        views_quantize(lowbit_format_fp8_tensor(LOWBIT_E5M2), "fp8 tensor");
        views_gemm(lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0),
                   lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 0), "w4a8");
        views_gemm(lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR),
                   "mxfp8 x mxfp4");
        views_gemm(lowbit_format_fp8_row(LOWBIT_E4M3), lowbit_format_fp8_row(LOWBIT_E5M2), "fp8 rows");
        views_attention();
    }
    cr_assert_eq(lowbit_set_backend(LOWBIT_BACKEND_AUTO), LOWBIT_OK);
}

/* ======================================================================== */
/* 6. One real conversion of more than 2^32 elements                        */
/* ======================================================================== */

static size_t mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    char line[128];
    size_t kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %zu kB", &kb) == 1)
            break;
    fclose(f);
    return kb * 1024;
}

/*
 * E4M3 -> E2M1 over n = 2^32 + 4096 elements: the source is 4 GiB of
 * untouched mapping (every read sees the shared zero page) except three
 * windows of random codes, at 0, around 2^31 and around 2^32; the 2 GiB
 * destination is the only memory really used.  Each window must hold what a
 * small call on the same codes gives, every other byte must be 0 (E2M1 of
 * +0), and nothing may be written past the end.  A truncated 32-bit index
 * would land the windows on each other.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LB_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define LB_SANITIZED 1
#endif
#endif

Test(bounds, convert_past_2_32_elements, .timeout = 110)
{
#ifdef LB_SANITIZED
    cr_skip_test("sanitizer build: 2^32 elements would take minutes there");
#endif
    const char *env = getenv("LOWBIT_TEST_BIG");
    if (env && strcmp(env, "0") == 0)
        cr_skip_test("LOWBIT_TEST_BIG=0");
    const size_t n = ((size_t)1 << 32) + 4096, dbytes = n / 2;
    if (mem_available() < dbytes + GIB)
        cr_skip_test("needs %zu MiB of free memory, %zu available", (dbytes + GIB) >> 20, mem_available() >> 20);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t slen = n, dlen = (dbytes + page) / page * page;
    uint8_t *s = big_map(slen), *d = big_map(dlen);
    struct { size_t at, len; } w[] = {{0, 4096}, {((size_t)1 << 31) - 2048, 4096}, {((size_t)1 << 32) - 2048, 6144}};
    rng = 12345;
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < w[i].len; j++)
            s[w[i].at + j] = (uint8_t)rnd();
    memset(d + dbytes, GUARD, dlen - dbytes);
    cr_assert_eq(lowbit_convert(LOWBIT_E2M1, d, LOWBIT_E4M3, s, n, NULL), LOWBIT_OK, "%s", lowbit_last_error());
    uint8_t expect[3072];
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(lowbit_convert(LOWBIT_E2M1, expect, LOWBIT_E4M3, s + w[i].at, w[i].len, NULL), LOWBIT_OK);
        const uint8_t *got = d + w[i].at / 2;
        size_t bad = 0, first = 0;
        for (size_t j = 0; j < w[i].len / 2; j++)
            if (got[j] != expect[j] && !bad++)
                first = j;
        cr_expect_eq(bad, 0, "window at element %zu: %zu of %zu bytes wrong, first at element %zu (%02x, want %02x)",
                     w[i].at, bad, w[i].len / 2, w[i].at + 2 * first, got[first], expect[first]);
    }
    /* everything outside the windows is E2M1 zero */
    size_t nonzero = 0, where = 0;
    for (size_t i = 0; i < dbytes; i += 8) {
        uint64_t v;
        memcpy(&v, d + i, 8);
        if (!v)
            continue;
        int in_window = 0;
        for (size_t k = 0; k < 3; k++)
            in_window |= 2 * i + 16 > w[k].at && 2 * i < w[k].at + w[k].len;
        if (!in_window && !nonzero++)
            where = 2 * i;
    }
    cr_expect_eq(nonzero, 0, "%zu words outside the windows are not zero, the first at element %zu", nonzero, where);
    cr_expect(all_guard(d + dbytes, dlen - dbytes), "written past the end of the 2 GiB output");
    big_unmap(s, slen);
    big_unmap(d, dlen);
}
