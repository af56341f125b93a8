/*
 * test_gemm_api.c - the contract of lowbit_gemm, lowbit_gemm_pack_size,
 * lowbit_gemm_pack and lowbit_gemm_packed (include/lowbit.h, "GEMM").
 *
 *  1. errors: every bad input gets its own status and a detail naming the
 *     argument, and writes nothing.  Operands, C and pack buffers all live
 *     in one guard-filled arena that is compared byte for byte after every
 *     failing call.
 *  2. zero-sized calls: M or N of 0 is a no-op, K of 0 gives beta * C.
 *  3. semantics: small exact cases computed by hand from the f32 sources,
 *     beta handling, f16/bf16 rounding, canonical NaNs; and every pair
 *     family against an independent model of the arithmetic written in
 *     kernels/cpu/ref/gemm_ref.c's header comment (elements and scales
 *     decoded with lowbit_convert, nothing taken from the library's GEMM).
 *  4. invariances: thread count, backend, batch (M), prepacked B.
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

static uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static int is_ident(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

/* `tok` occurs in msg with no identifier character glued to either side. */
static int names(const char *msg, const char *tok)
{
    size_t n = strlen(tok);
    for (const char *p = strstr(msg, tok); p; p = strstr(p + 1, tok)) {
        int left = p == msg || !is_ident(p[-1]);
        int right = !is_ident(p[n]);
        if (left && right)
            return 1;
    }
    return 0;
}

/* status is `want`; on failure the detail is non-empty and names every
 * space-separated token of `needles`; on success the detail is empty. */
static void expect_status(lowbit_status got, lowbit_status want, const char *needles, const char *what)
{
    const char *e = lowbit_last_error();
    cr_expect_eq(got, want, "%s: got %s, expected %s (%s)", what, lowbit_status_string(got),
                 lowbit_status_string(want), e ? e : "(null)");
    cr_assert_not_null(e, "%s: lowbit_last_error() is NULL", what);
    if (want == LOWBIT_OK) {
        cr_expect(e[0] == '\0', "%s: detail \"%s\" after success", what, e);
        return;
    }
    cr_expect(e[0] != '\0', "%s: empty detail message", what);
    if (!needles)
        return;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", needles);
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " "))
        cr_expect(names(e, t), "%s: detail \"%s\" does not name \"%s\"", what, e, t);
}

/* ------------------------------------------------------------------------ */
/* Memory: a guard-filled arena (error tests) or the heap                   */
/* ------------------------------------------------------------------------ */

#define ARENA_BYTES (1u << 20)
static _Alignas(64) uint8_t arena[ARENA_BYTES];
static uint8_t arena_snap[ARENA_BYTES];
static size_t arena_top;

static void arena_reset(void)
{
    memset(arena, GUARD, sizeof arena);
    arena_top = 0;
}

/* 64-aligned, with a 64-byte guard gap before every block. */
static void *arena_alloc(size_t n)
{
    size_t at = ((arena_top + 63) & ~(size_t)63) + 64;
    cr_assert(at + n + 64 <= ARENA_BYTES, "arena exhausted");
    arena_top = at + n;
    return arena + at;
}

static void arena_take_snapshot(void)
{
    memcpy(arena_snap, arena, sizeof arena);
}

static void arena_expect_unchanged(const char *what)
{
    if (memcmp(arena, arena_snap, sizeof arena) == 0)
        return;
    size_t i = 0;
    while (arena[i] == arena_snap[i])
        i++;
    cr_expect(0, "%s: the failing call wrote memory (first changed arena byte %zu)", what, i);
    memcpy(arena, arena_snap, sizeof arena);
}

static void *heap_alloc(size_t n)
{
    void *p = aligned_alloc(64, (n + 63) / 64 * 64 + 64);
    cr_assert_not_null(p);
    memset(p, GUARD, (n + 63) / 64 * 64 + 64);
    return p;
}

typedef void *(*alloc_fn)(size_t);

/* The host backends; each test uses those lowbit_backend_status accepts. */
static const lowbit_backend host_backends[] = {LOWBIT_BACKEND_REF, LOWBIT_BACKEND_AVX2, LOWBIT_BACKEND_AVX512,
                                               LOWBIT_BACKEND_AMX, LOWBIT_BACKEND_NEON};
#define NHOST (sizeof host_backends / sizeof host_backends[0])

/* ------------------------------------------------------------------------ */
/* Operands                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct opnd {
    lowbit_qtensor q;
    void *mem[3]; /* heap blocks to free */
} opnd;

static int is_wide(lowbit_dtype t)
{
    return t == LOWBIT_F32 || t == LOWBIT_F16 || t == LOWBIT_BF16;
}

static int is_plain(const lowbit_format *f)
{
    return f->scale_type == LOWBIT_DTYPE_COUNT;
}

/* Build a rows x cols operand of format f from the f32 matrix src (rows x
 * cols, dense), with `pad` extra elements of row stride.  Plain wide
 * operands are converted row by row; the others go through lowbit_quantize. */
static void opnd_make(opnd *o, lowbit_format f, size_t rows, size_t cols, size_t pad, const float *src,
                      alloc_fn alloc)
{
    memset(o, 0, sizeof *o);
    if (is_plain(&f) && is_wide(f.elem)) {
        o->q.format = f;
        o->q.rows = rows;
        o->q.cols = cols;
        o->q.row_stride = cols + pad;
        o->q.tensor_scale = 1.0f;
        o->q.data_bytes = lowbit_dtype_bytes(f.elem, rows * (cols + pad));
        o->q.data = alloc(o->q.data_bytes);
        o->mem[0] = o->q.data;
        for (size_t r = 0; r < rows; r++) {
            uint8_t *row = (uint8_t *)o->q.data + lowbit_dtype_bytes(f.elem, r * o->q.row_stride);
            cr_assert_eq(lowbit_convert(f.elem, row, LOWBIT_F32, src + r * cols, cols, NULL), LOWBIT_OK,
                         "%s", lowbit_last_error());
        }
        return;
    }
    cr_assert_eq(lowbit_qtensor_init(&o->q, &f, rows, cols), LOWBIT_OK, "%s", lowbit_last_error());
    if (pad) {
        o->q.row_stride += pad;
        o->q.data_bytes = lowbit_dtype_bytes(f.elem, rows * o->q.row_stride);
    }
    o->q.data = alloc(o->q.data_bytes ? o->q.data_bytes : 1);
    o->q.scales = o->q.scales_bytes ? alloc(o->q.scales_bytes) : NULL;
    o->q.zero_points = o->q.zero_points_bytes ? alloc(o->q.zero_points_bytes) : NULL;
    o->mem[0] = o->q.data;
    o->mem[1] = o->q.scales;
    o->mem[2] = o->q.zero_points;
    if (rows && cols)
        cr_assert_eq(lowbit_quantize(&o->q, LOWBIT_F32, src, cols, NULL), LOWBIT_OK, "%s",
                     lowbit_last_error());
}

static void opnd_free(opnd *o)
{
    for (int i = 0; i < 3; i++)
        free(o->mem[i]);
    memset(o, 0, sizeof *o);
}

static char *fmt_name(const lowbit_format *f, char *buf, size_t len)
{
    if (is_plain(f) && is_wide(f->elem))
        snprintf(buf, len, "%s", lowbit_dtype_name(f->elem));
    else
        lowbit_format_name(f, buf, len);
    return buf;
}

/* Deterministic test data: magnitudes vary by row (per-row and per-block
 * scales see different values), some exact zeros. */
static uint32_t rng = 1;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static float *gen(size_t rows, size_t cols, uint32_t seed)
{
    float *x = malloc(sizeof(float) * (rows * cols + 1));
    cr_assert_not_null(x);
    rng = seed * 2654435761u + 12345u;
    for (size_t r = 0; r < rows; r++) {
        float mag = ldexpf(1.0f, (int)(r % 7) - 3);
        for (size_t c = 0; c < cols; c++) {
            float v = (float)((int)(rnd() % 2001) - 1000) / 250.0f * mag;
            if (rnd() % 13 == 0)
                v = 0.0f;
            x[r * cols + c] = v;
        }
    }
    return x;
}

/* ------------------------------------------------------------------------ */
/* The model: the documented arithmetic, from decoded elements and scales  */
/* ------------------------------------------------------------------------ */

typedef struct mop {
    size_t rows, cols, br, bc, gcols;
    int intv, u;
    float *val;    /* element value, zero point applied */
    int32_t *n;    /* val = n * 2^u (integer-valued operands) */
    float *scale;  /* per block; NULL: 1 */
    float ts;      /* NVFP4 tensor scale, else 1 */
} mop;

static void mop_make(mop *m, const lowbit_qtensor *q)
{
    const lowbit_format *f = &q->format;
    memset(m, 0, sizeof *m);
    m->rows = q->rows;
    m->cols = q->cols;
    int plain = is_plain(f), mx = f->scale_type == LOWBIT_E8M0, zp = (f->flags & LOWBIT_FMT_ZERO_POINT) != 0;
    m->br = plain || f->block_rows == 0 ? (q->rows ? q->rows : 1) : f->block_rows;
    m->bc = plain || f->block_cols == 0 ? (q->cols ? q->cols : 1) : f->block_cols;
    m->ts = (f->flags & LOWBIT_FMT_TENSOR_SCALE) ? q->tensor_scale : 1.0f;
    size_t gr = 0, gc = 0;
    float *zpv = NULL;
    if (!plain) {
        cr_assert_eq(lowbit_qtensor_grid(q, &gr, &gc), LOWBIT_OK);
        m->gcols = gc;
        m->scale = malloc(sizeof(float) * (gr * gc + 1));
        cr_assert_eq(lowbit_convert(LOWBIT_F32, m->scale, f->scale_type, q->scales, gr * gc, NULL), LOWBIT_OK,
                     "model: scales: %s", lowbit_last_error());
        if (zp) {
            zpv = malloc(sizeof(float) * (gr * gc + 1));
            cr_assert_eq(lowbit_convert(LOWBIT_F32, zpv, f->elem, q->zero_points, gr * gc, NULL), LOWBIT_OK);
        }
    }
    switch (f->elem) {
    case LOWBIT_E2M1: m->intv = 1; m->u = -1; break;
    case LOWBIT_E2M3: m->intv = 1; m->u = -3; break;
    case LOWBIT_INT8: m->intv = 1; m->u = mx ? -6 : 0; break;
    case LOWBIT_INT4:
    case LOWBIT_UINT4: m->intv = 1; m->u = 0; break;
    default: m->intv = 0; break;
    }
    size_t n = q->rows * q->cols;
    m->val = malloc(sizeof(float) * (n + 1));
    m->n = malloc(sizeof(int32_t) * (n + 1));
    for (size_t r = 0; r < q->rows; r++) {
        const uint8_t *row = (const uint8_t *)q->data + lowbit_dtype_bytes(f->elem, r * q->row_stride);
        float *v = m->val + r * q->cols;
        cr_assert_eq(lowbit_convert(LOWBIT_F32, v, f->elem, row, q->cols, NULL), LOWBIT_OK);
        for (size_t k = 0; k < q->cols; k++) {
            size_t i = r * q->cols + k;
            if (!m->intv)
                continue;
            if (f->elem == LOWBIT_INT8 && mx) {
                /* MXINT8: the code is the integer, the value is code * 2^-6 */
                m->n[i] = (int32_t)v[k];
                v[k] = ldexpf(v[k], -6);
            } else if (f->elem == LOWBIT_E2M1 || f->elem == LOWBIT_E2M3) {
                m->n[i] = (int32_t)ldexpf(v[k], -m->u);
            } else {
                int32_t z = zp ? (int32_t)zpv[(r / m->br) * gc + k / m->bc] : 0;
                m->n[i] = (int32_t)v[k] - z;
                v[k] = (float)m->n[i];
            }
        }
    }
    free(zpv);
}

static void mop_free(mop *m)
{
    free(m->val);
    free(m->n);
    free(m->scale);
}

static float mop_scale(const mop *m, size_t r, size_t k)
{
    return m->scale ? m->scale[(r / m->br) * m->gcols + k / m->bc] : 1.0f;
}

static float c_load(lowbit_dtype ct, const void *c, size_t i)
{
    float f;
    if (ct == LOWBIT_F32) {
        memcpy(&f, (const uint8_t *)c + 4 * i, 4);
        return f;
    }
    cr_assert_eq(lowbit_convert(LOWBIT_F32, &f, ct, (const uint8_t *)c + 2 * i, 1, NULL), LOWBIT_OK);
    return f;
}

static void c_store(lowbit_dtype ct, void *c, size_t i, float t)
{
    if (t != t) {
        uint32_t q = ct == LOWBIT_F32 ? 0x7FC00000u : ct == LOWBIT_F16 ? 0x7E00u : 0x7FC0u;
        if (ct == LOWBIT_F32)
            memcpy((uint8_t *)c + 4 * i, &q, 4);
        else {
            uint16_t h = (uint16_t)q;
            memcpy((uint8_t *)c + 2 * i, &h, 2);
        }
        return;
    }
    if (ct == LOWBIT_F32)
        memcpy((uint8_t *)c + 4 * i, &t, 4);
    else
        cr_assert_eq(lowbit_convert(ct, (uint8_t *)c + 2 * i, LOWBIT_F32, &t, 1, NULL), LOWBIT_OK);
}

/* C = alpha * A B^T + beta * C into c (which holds the C input). */
static void model_gemm(const lowbit_qtensor *a, const lowbit_qtensor *b, float alpha, float beta,
                       lowbit_dtype ct, void *c, size_t ldc)
{
    mop A, B;
    mop_make(&A, a);
    mop_make(&B, b);
    size_t K = a->cols;
    size_t la = A.bc < K ? A.bc : K, lb = B.bc < K ? B.bc : K;
    size_t L = la < lb ? la : lb;
    int integer = A.intv && B.intv;
    volatile float g0 = alpha * A.ts;
    float g = g0 * B.ts;
    for (size_t m = 0; m < a->rows; m++)
        for (size_t n = 0; n < b->rows; n++) {
            float acc = 0.0f;
            for (size_t kb = 0; K && kb < K; kb += L) {
                float d;
                if (integer) {
                    int64_t D = 0;
                    for (size_t k = kb; k < kb + L; k++)
                        D += (int64_t)A.n[m * K + k] * B.n[n * K + k];
                    d = ldexpf((float)D, A.u + B.u);
                } else {
                    d = 0.0f;
                    for (size_t k = kb; k < kb + L; k++)
                        d = fmaf(A.val[m * K + k], B.val[n * K + k], d);
                }
                volatile float s = mop_scale(&A, m, kb) * mop_scale(&B, n, kb);
                acc = fmaf(d, s, acc);
            }
            float t = K ? g * acc : 0.0f;
            if (beta != 0.0f)
                t = fmaf(beta, c_load(ct, c, m * ldc + n), t);
            c_store(ct, c, m * ldc + n, t);
        }
    mop_free(&A);
    mop_free(&B);
}

/* ------------------------------------------------------------------------ */
/* Pair families                                                            */
/* ------------------------------------------------------------------------ */

typedef struct family {
    const char *name;
    lowbit_format fa, fb;
    size_t pad_a, pad_b; /* extra row stride */
} family;

#define FK 256 /* K of the family tests: a multiple of every K block used */

static size_t families(family *f)
{
    size_t n = 0;
    lowbit_dtype e4 = LOWBIT_E4M3, e5 = LOWBIT_E5M2;
#define FAM(nm, a, b, pa, pb) (f[n++] = (family){nm, a, b, pa, pb})
    FAM("fp8 tensor e4m3 x tensor e4m3", lowbit_format_fp8_tensor(e4), lowbit_format_fp8_tensor(e4), 0, 0);
    FAM("fp8 row e4m3 x row e5m2", lowbit_format_fp8_row(e4), lowbit_format_fp8_row(e5), 3, 0);
    FAM("fp8 1x128 x 128x128", lowbit_format_fp8_block(e4, 1, 128), lowbit_format_fp8_block(e4, 128, 128), 0,
        0);
    FAM("fp8 tensor e4m3fnuz x row e5m2fnuz", lowbit_format_fp8_tensor(LOWBIT_E4M3FNUZ),
        lowbit_format_fp8_row(LOWBIT_E5M2FNUZ), 0, 0);
    FAM("fp8 128x128 e5m2 x tensor e4m3", lowbit_format_fp8_block(e5, 128, 128), lowbit_format_fp8_tensor(e4), 0,
        0);
    FAM("mxfp8 e4m3 x mxfp8 e5m2", lowbit_format_mx(e4, LOWBIT_SCALE_FLOOR), lowbit_format_mx(e5, LOWBIT_SCALE_RCEIL),
        0, 0);
    FAM("mxfp4 x mxfp4", lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR),
        lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_EVEN), 0, 2);
    FAM("mxfp4 x mxfp8", lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_RCEIL), lowbit_format_mx(e4, LOWBIT_SCALE_FLOOR),
        0, 0);
    FAM("mxfp6 e3m2 x mxfp6 e2m3", lowbit_format_mx(LOWBIT_E3M2, LOWBIT_SCALE_FLOOR),
        lowbit_format_mx(LOWBIT_E2M3, LOWBIT_SCALE_CEIL), 4, 0);
    FAM("mxfp6 e2m3 x mxfp4", lowbit_format_mx(LOWBIT_E2M3, LOWBIT_SCALE_FLOOR),
        lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR), 0, 0);
    FAM("nvfp4 x nvfp4", lowbit_format_nvfp4(), lowbit_format_nvfp4(), 0, 4);
    FAM("int8 row f32 x int8 row f32 (w8a8)", lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0),
        lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0), 1, 0);
    FAM("int8 row x int4 g128 bf16 (w4a8)", lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0),
        lowbit_format_int_group(LOWBIT_INT4, 128, LOWBIT_BF16, 0), 0, 2);
    FAM("uint4 g32 bf16 zp x int8 g64 f32 zp", lowbit_format_int_group(LOWBIT_UINT4, 32, LOWBIT_BF16, 1),
        lowbit_format_int_group(LOWBIT_INT8, 64, LOWBIT_F32, 1), 0, 0);
    FAM("int4 g64 f32 x int8 row f16", lowbit_format_int_group(LOWBIT_INT4, 64, LOWBIT_F32, 0),
        lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F16, 0), 0, 0);
    FAM("f32 x int4 g32 f16 (w4a16)", lowbit_format_plain(LOWBIT_F32),
        lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 0), 5, 0);
    FAM("f16 x uint4 g64 bf16 zp", lowbit_format_plain(LOWBIT_F16),
        lowbit_format_int_group(LOWBIT_UINT4, 64, LOWBIT_BF16, 1), 0, 0);
    FAM("bf16 x int8 row f32", lowbit_format_plain(LOWBIT_BF16),
        lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0), 1, 0);
    FAM("mxint8 x mxint8", lowbit_format_mx(LOWBIT_INT8, LOWBIT_SCALE_FLOOR),
        lowbit_format_mx(LOWBIT_INT8, LOWBIT_SCALE_FLOOR), 0, 0);
    FAM("mxint8 x mxfp4", lowbit_format_mx(LOWBIT_INT8, LOWBIT_SCALE_FLOOR),
        lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR), 0, 0);
    FAM("mxfp8 e4m3 x mxint8", lowbit_format_mx(e4, LOWBIT_SCALE_FLOOR),
        lowbit_format_mx(LOWBIT_INT8, LOWBIT_SCALE_FLOOR), 0, 0);
#undef FAM
    return n;
}

#define MAX_FAMILIES 32

/* One family's operands at M x N x FK. */
typedef struct fcase {
    opnd a, b;
    size_t M, N;
} fcase;

static void fcase_make(fcase *fc, const family *f, size_t M, size_t N, uint32_t seed)
{
    float *xa = gen(M, FK, seed), *xb = gen(N, FK, seed + 1000);
    opnd_make(&fc->a, f->fa, M, FK, f->pad_a, xa, heap_alloc);
    opnd_make(&fc->b, f->fb, N, FK, f->pad_b, xb, heap_alloc);
    fc->M = M;
    fc->N = N;
    free(xa);
    free(xb);
}

static void fcase_free(fcase *fc)
{
    opnd_free(&fc->a);
    opnd_free(&fc->b);
}

/* A C input of rows x ldc in type ct: finite values in the N used columns,
 * guard bytes in the padding. */
static void *c_input(lowbit_dtype ct, size_t rows, size_t N, size_t ldc, uint32_t seed)
{
    size_t es = ct == LOWBIT_F32 ? 4 : 2;
    uint8_t *c = heap_alloc(rows * ldc * es + 64);
    rng = seed * 7919u + 1u;
    for (size_t m = 0; m < rows; m++)
        for (size_t n = 0; n < N; n++)
            c_store(ct, c, m * ldc + n, (float)((int)(rnd() % 401) - 200) / 16.0f);
    return c;
}

static size_t c_bytes(lowbit_dtype ct, size_t rows, size_t ldc)
{
    return rows * ldc * (ct == LOWBIT_F32 ? 4 : 2) + 64;
}

/* First differing element of two C matrices, or -1. */
static long c_diff(lowbit_dtype ct, const void *x, const void *y, size_t M, size_t N, size_t ldc)
{
    size_t es = ct == LOWBIT_F32 ? 4 : 2;
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++)
            if (memcmp((const uint8_t *)x + (m * ldc + n) * es, (const uint8_t *)y + (m * ldc + n) * es, es))
                return (long)(m * ldc + n);
    return -1;
}

static uint32_t c_bits(lowbit_dtype ct, const void *c, size_t i)
{
    if (ct == LOWBIT_F32) {
        uint32_t u;
        memcpy(&u, (const uint8_t *)c + 4 * i, 4);
        return u;
    }
    uint16_t h;
    memcpy(&h, (const uint8_t *)c + 2 * i, 2);
    return h;
}

/* ======================================================================== */
/* 1. Errors                                                                */
/* ======================================================================== */

/* The standard setup of the error tests, all in the arena. */
typedef struct world {
    opnd a, b;       /* MXFP8 e4m3: 4 x 64 and 3 x 64 */
    opnd ai, bz;     /* INT8 per row f32 4 x 64, UINT4 g32 bf16 zp 3 x 64 */
    opnd aw, b4;     /* plain f16 4 x 64, INT4 g32 f16 3 x 64 */
    float *c;        /* 4 x 8 floats */
    void *pack;      /* a valid pack of b for a's format */
    size_t pack_bytes;
} world;

#define WM 4
#define WN 3
#define WK 64
#define WLDC 8

static void world_make(world *w)
{
    arena_reset();
    arena_alloc(256); /* room below the first operand for C placed before it */
    float *xa = gen(WM, WK, 1), *xb = gen(WN, WK, 2);
    opnd_make(&w->a, lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), WM, WK, 0, xa, arena_alloc);
    opnd_make(&w->b, lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), WN, WK, 0, xb, arena_alloc);
    opnd_make(&w->ai, lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0), WM, WK, 0, xa, arena_alloc);
    opnd_make(&w->bz, lowbit_format_int_group(LOWBIT_UINT4, 32, LOWBIT_BF16, 1), WN, WK, 0, xb, arena_alloc);
    opnd_make(&w->aw, lowbit_format_plain(LOWBIT_F16), WM, WK, 0, xa, arena_alloc);
    opnd_make(&w->b4, lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 0), WN, WK, 0, xb, arena_alloc);
    free(xa);
    free(xb);
    w->c = arena_alloc(sizeof(float) * WM * WLDC);
    for (size_t i = 0; i < WM * WLDC; i++)
        w->c[i] = (float)i; /* beta != 0 in the failing calls: C must hold numbers */
    cr_assert_eq(lowbit_gemm_pack_size(&w->a.q.format, &w->b.q, NULL, &w->pack_bytes), LOWBIT_OK, "%s",
                 lowbit_last_error());
    cr_assert(w->pack_bytes > 0);
    w->pack = arena_alloc(w->pack_bytes);
    cr_assert_eq(lowbit_gemm_pack(&w->a.q.format, &w->b.q, NULL, w->pack, w->pack_bytes), LOWBIT_OK, "%s",
                 lowbit_last_error());
    /* sanity: the unmodified setup works */
    expect_status(lowbit_gemm(&w->a.q, &w->b.q, 1.0f, 0.5f, LOWBIT_F32, w->c, WLDC, NULL), LOWBIT_OK, NULL,
                  "valid mx");
    expect_status(lowbit_gemm(&w->ai.q, &w->bz.q, 1.0f, 0.5f, LOWBIT_F32, w->c, WLDC, NULL), LOWBIT_OK, NULL,
                  "valid int");
    expect_status(lowbit_gemm(&w->aw.q, &w->b4.q, 1.0f, 0.5f, LOWBIT_F32, w->c, WLDC, NULL), LOWBIT_OK, NULL,
                  "valid wide");
    expect_status(lowbit_gemm_packed(&w->a.q, w->pack, w->pack_bytes, 1.0f, 0.5f, LOWBIT_F32, w->c, WLDC, NULL),
                  LOWBIT_OK, NULL, "valid packed");
    arena_take_snapshot();
}

static void gemm_fail(const lowbit_qtensor *a, const lowbit_qtensor *b, lowbit_dtype ct, void *c, size_t ldc,
                      const lowbit_gemm_opts *o, lowbit_status want, const char *needles, const char *what)
{
    expect_status(lowbit_gemm(a, b, 1.0f, 0.5f, ct, c, ldc, o), want, needles, what);
    arena_expect_unchanged(what);
}

static void packed_fail(const lowbit_qtensor *a, const void *p, size_t pb, lowbit_dtype ct, void *c, size_t ldc,
                        const lowbit_gemm_opts *o, lowbit_status want, const char *needles, const char *what)
{
    expect_status(lowbit_gemm_packed(a, p, pb, 1.0f, 0.5f, ct, c, ldc, o), want, needles, what);
    arena_expect_unchanged(what);
}

static void pack_fail(const lowbit_format *af, const lowbit_qtensor *b, const lowbit_gemm_opts *o, void *p,
                      size_t pb, lowbit_status want, const char *needles, const char *what)
{
    expect_status(lowbit_gemm_pack(af, b, o, p, pb), want, needles, what);
    arena_expect_unchanged(what);
}

static void pack_size_fail(const lowbit_format *af, const lowbit_qtensor *b, const lowbit_gemm_opts *o,
                           lowbit_status want, const char *needles, const char *what)
{
    size_t bytes = 12345;
    expect_status(lowbit_gemm_pack_size(af, b, o, &bytes), want, needles, what);
    cr_expect_eq(bytes, 12345, "%s: *bytes written by a failing call", what);
}

Test(gemm_errors, null_pointers)
{
    world w;
    world_make(&w);
    lowbit_qtensor q;

    gemm_fail(NULL, &w.b.q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_NULL_POINTER, "a", "NULL a");
    gemm_fail(&w.a.q, NULL, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_NULL_POINTER, "b", "NULL b");
    gemm_fail(&w.a.q, &w.b.q, LOWBIT_F32, NULL, WLDC, NULL, LOWBIT_ERR_NULL_POINTER, "c", "NULL c");
    q = w.a.q; q.data = NULL;
    gemm_fail(&q, &w.b.q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_NULL_POINTER, "a->data", "NULL a->data");
    q = w.a.q; q.scales = NULL;
    gemm_fail(&q, &w.b.q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_NULL_POINTER, "a->scales", "NULL a->scales");
    q = w.b.q; q.data = NULL;
    gemm_fail(&w.a.q, &q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_NULL_POINTER, "b->data", "NULL b->data");
    q = w.b.q; q.scales = NULL;
    gemm_fail(&w.a.q, &q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_NULL_POINTER, "b->scales", "NULL b->scales");
    q = w.bz.q; q.zero_points = NULL;
    gemm_fail(&w.ai.q, &q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_NULL_POINTER, "b->zero_points",
              "NULL b->zero_points");
    q = w.aw.q; q.data = NULL;
    gemm_fail(&q, &w.b4.q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_NULL_POINTER, "a->data", "NULL wide a->data");
    /* NULL c is refused even when beta == 0 and with f16 output */
    expect_status(lowbit_gemm(&w.a.q, &w.b.q, 1.0f, 0.0f, LOWBIT_F16, NULL, WLDC, NULL), LOWBIT_ERR_NULL_POINTER,
                  "c", "NULL c, beta 0");
    arena_expect_unchanged("NULL c, beta 0");

    /* pack_size / pack */
    pack_size_fail(NULL, &w.b.q, NULL, LOWBIT_ERR_NULL_POINTER, "a_format", "pack_size NULL a_format");
    pack_size_fail(&w.a.q.format, NULL, NULL, LOWBIT_ERR_NULL_POINTER, "b", "pack_size NULL b");
    expect_status(lowbit_gemm_pack_size(&w.a.q.format, &w.b.q, NULL, NULL), LOWBIT_ERR_NULL_POINTER, "bytes",
                  "pack_size NULL bytes");
    q = w.b.q; q.scales = NULL;
    pack_size_fail(&w.a.q.format, &q, NULL, LOWBIT_ERR_NULL_POINTER, "b->scales", "pack_size NULL b->scales");
    pack_fail(NULL, &w.b.q, NULL, w.pack, w.pack_bytes, LOWBIT_ERR_NULL_POINTER, "a_format", "pack NULL a_format");
    pack_fail(&w.a.q.format, NULL, NULL, w.pack, w.pack_bytes, LOWBIT_ERR_NULL_POINTER, "b", "pack NULL b");
    pack_fail(&w.a.q.format, &w.b.q, NULL, NULL, w.pack_bytes, LOWBIT_ERR_NULL_POINTER, "packed", "pack NULL packed");
    q = w.b.q; q.data = NULL;
    pack_fail(&w.a.q.format, &q, NULL, w.pack, w.pack_bytes, LOWBIT_ERR_NULL_POINTER, "b->data", "pack NULL b->data");
    q = w.bz.q; q.zero_points = NULL;
    pack_fail(&w.ai.q.format, &q, NULL, w.pack, w.pack_bytes, LOWBIT_ERR_NULL_POINTER, "b->zero_points",
              "pack NULL b->zero_points");

    /* packed */
    packed_fail(NULL, w.pack, w.pack_bytes, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_NULL_POINTER, "a", "packed NULL a");
    packed_fail(&w.a.q, NULL, w.pack_bytes, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_NULL_POINTER, "packed_b",
                "packed NULL packed_b");
    packed_fail(&w.a.q, w.pack, w.pack_bytes, LOWBIT_F32, NULL, WLDC, NULL, LOWBIT_ERR_NULL_POINTER, "c",
                "packed NULL c");
    q = w.a.q; q.data = NULL;
    packed_fail(&q, w.pack, w.pack_bytes, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_NULL_POINTER, "a->data",
                "packed NULL a->data");
    q = w.a.q; q.scales = NULL;
    packed_fail(&q, w.pack, w.pack_bytes, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_NULL_POINTER, "a->scales",
                "packed NULL a->scales");
}

Test(gemm_errors, enums_and_flags)
{
    world w;
    world_make(&w);
    lowbit_qtensor q;
    int bad_types[] = {99, -1, LOWBIT_DTYPE_COUNT, LOWBIT_DTYPE_COUNT + 1};
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "c_type %d", bad_types[i]);
        gemm_fail(&w.a.q, &w.b.q, (lowbit_dtype)bad_types[i], w.c, WLDC, NULL, LOWBIT_ERR_INVALID_ENUM, "c_type",
                  what);
        packed_fail(&w.a.q, w.pack, w.pack_bytes, (lowbit_dtype)bad_types[i], w.c, WLDC, NULL,
                    LOWBIT_ERR_INVALID_ENUM, "c_type", what);
    }
    /* valid dtypes that are not wide: C must be f32 / f16 / bf16 */
    lowbit_dtype narrow[] = {LOWBIT_E4M3, LOWBIT_E5M2, LOWBIT_INT8, LOWBIT_E8M0, LOWBIT_E2M1};
    for (size_t i = 0; i < sizeof narrow / sizeof narrow[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "c_type %s", lowbit_dtype_name(narrow[i]));
        gemm_fail(&w.a.q, &w.b.q, narrow[i], w.c, WLDC, NULL, LOWBIT_ERR_UNSUPPORTED, "c_type", what);
        packed_fail(&w.a.q, w.pack, w.pack_bytes, narrow[i], w.c, WLDC, NULL, LOWBIT_ERR_UNSUPPORTED, "c_type", what);
    }
    /* unknown option bits */
    uint32_t bad_flags[] = {0x2u, 0x80000000u, 0xFFFFFFFFu};
    for (size_t i = 0; i < 3; i++) {
        lowbit_gemm_opts o = {bad_flags[i]};
        char what[64];
        snprintf(what, sizeof what, "opts->flags 0x%x", bad_flags[i]);
        gemm_fail(&w.a.q, &w.b.q, LOWBIT_F32, w.c, WLDC, &o, LOWBIT_ERR_INVALID_ENUM, "flags", what);
        packed_fail(&w.a.q, w.pack, w.pack_bytes, LOWBIT_F32, w.c, WLDC, &o, LOWBIT_ERR_INVALID_ENUM, "flags", what);
        pack_size_fail(&w.a.q.format, &w.b.q, &o, LOWBIT_ERR_INVALID_ENUM, "flags", what);
        pack_fail(&w.a.q.format, &w.b.q, &o, w.pack, w.pack_bytes, LOWBIT_ERR_INVALID_ENUM, "flags", what);
    }
    /* the one known flag, and no flags, are accepted */
    lowbit_gemm_opts fast = {LOWBIT_GEMM_ALLOW_FAST}, none = {0};
    expect_status(lowbit_gemm(&w.a.q, &w.b.q, 1.0f, 0.0f, LOWBIT_F32, w.c, WLDC, &fast), LOWBIT_OK, NULL,
                  "ALLOW_FAST");
    expect_status(lowbit_gemm(&w.a.q, &w.b.q, 1.0f, 0.0f, LOWBIT_F32, w.c, WLDC, &none), LOWBIT_OK, NULL,
                  "flags 0");
    arena_take_snapshot();

    /* an unscaled wide operand takes no blocks, rule or flags */
    q = w.aw.q; q.format.block_cols = 32;
    gemm_fail(&q, &w.b4.q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_UNSUPPORTED, "a->format", "wide a with blocks");
    q = w.aw.q; q.format.flags = LOWBIT_FMT_ZERO_POINT;
    gemm_fail(&q, &w.b4.q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_UNSUPPORTED, "a->format", "wide a with flags");
}

/* Bad formats inside an operand: the status, and a detail that says which
 * operand (a, b or a_format) holds the bad field. */
Test(gemm_errors, operand_format_errors)
{
    world w;
    world_make(&w);
    lowbit_qtensor q;
    q = w.a.q; q.format.elem = (lowbit_dtype)99;
    gemm_fail(&q, &w.b.q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_INVALID_ENUM, "elem", "a elem 99");
    q = w.b.q; q.format.scale_type = (lowbit_dtype)77;
    gemm_fail(&w.a.q, &q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_INVALID_ENUM, "scale_type", "b scale_type 77");
    q = w.b.q; q.format.rule = (lowbit_scale_rule)9;
    gemm_fail(&w.a.q, &q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_INVALID_ENUM, "rule", "b rule 9");
    q = w.b4.q; q.format.elem = LOWBIT_UINT4; /* uint4 without a zero point */
    gemm_fail(&w.aw.q, &q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_UNSUPPORTED, "uint4", "b uint4 without zp");
    lowbit_format af = w.a.q.format;
    af.elem = (lowbit_dtype)-3;
    pack_size_fail(&af, &w.b.q, NULL, LOWBIT_ERR_INVALID_ENUM, "elem", "pack_size a_format elem -3");
}

/* The detail of a bad operand format names the operand, not only the field
 * (with two operands "format.elem" alone does not say which one). */
Test(gemm_errors, operand_format_errors_name_the_operand)
{
    world w;
    world_make(&w);
    lowbit_qtensor q;
    q = w.a.q; q.format.elem = (lowbit_dtype)99;
    gemm_fail(&q, &w.b.q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_INVALID_ENUM, "a", "a elem 99");
    q = w.b.q; q.format.scale_type = (lowbit_dtype)77;
    gemm_fail(&w.a.q, &q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_INVALID_ENUM, "b", "b scale_type 77");
    lowbit_format af = w.a.q.format;
    af.elem = (lowbit_dtype)-3;
    pack_size_fail(&af, &w.b.q, NULL, LOWBIT_ERR_INVALID_ENUM, "a_format", "pack_size a_format elem -3");
}

#define PAIR_PACK (256u << 10) /* a pack buffer large enough for every pair test */

/* Operands of any format for the pair tests (rows x K, tight strides). */
static void pair_fail(lowbit_format fa, lowbit_format fb, size_t K, lowbit_status want, const char *needles,
                      const char *what)
{
    arena_reset();
    float *xa = gen(2, K, 5), *xb = gen(3, K, 6);
    opnd a, b;
    opnd_make(&a, fa, 2, K, 0, xa, arena_alloc);
    opnd_make(&b, fb, 3, K, 0, xb, arena_alloc);
    free(xa);
    free(xb);
    float *c = arena_alloc(sizeof(float) * 2 * 3);
    void *pk = arena_alloc(PAIR_PACK);
    arena_take_snapshot();
    if (want == LOWBIT_OK) {
        size_t pb = 0;
        expect_status(lowbit_gemm(&a.q, &b.q, 1.0f, 0.0f, LOWBIT_F32, c, 3, NULL), LOWBIT_OK, NULL, what);
        expect_status(lowbit_gemm_pack_size(&fa, &b.q, NULL, &pb), LOWBIT_OK, NULL, what);
        cr_assert(pb <= PAIR_PACK, "pack of %zu bytes", pb);
        expect_status(lowbit_gemm_pack(&fa, &b.q, NULL, pk, PAIR_PACK), LOWBIT_OK, NULL, what);
        return;
    }
    gemm_fail(&a.q, &b.q, LOWBIT_F32, c, 3, NULL, want, needles, what);
    if (want == LOWBIT_ERR_UNSUPPORTED) {
        /* the detail names both formats */
        char na[64], nb[64];
        fmt_name(&fa, na, sizeof na);
        fmt_name(&fb, nb, sizeof nb);
        lowbit_gemm(&a.q, &b.q, 1.0f, 0.0f, LOWBIT_F32, c, 3, NULL);
        cr_expect(strstr(lowbit_last_error(), na) && strstr(lowbit_last_error(), nb),
                  "%s: detail \"%s\" does not name %s and %s", what, lowbit_last_error(), na, nb);
    }
    pack_size_fail(&fa, &b.q, NULL, want, needles, what);
    pack_fail(&fa, &b.q, NULL, pk, PAIR_PACK, want, needles, what);
}

Test(gemm_errors, unsupported_pairs)
{
    lowbit_format mx8 = lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR);
    lowbit_format mx4 = lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR);
    lowbit_format i8 = lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0);
    lowbit_format nv = lowbit_format_nvfp4();
    lowbit_format fp8 = lowbit_format_fp8_tensor(LOWBIT_E4M3);
    lowbit_format fp8r = lowbit_format_fp8_row(LOWBIT_E5M2);
    lowbit_format pe4 = lowbit_format_plain(LOWBIT_E4M3); /* narrow, no scale */
    lowbit_format bf = lowbit_format_plain(LOWBIT_BF16), f32 = lowbit_format_plain(LOWBIT_F32);
    const lowbit_status U = LOWBIT_ERR_UNSUPPORTED;
    pair_fail(mx8, i8, 64, U, "a b", "mxfp8 x int8");
    pair_fail(i8, mx8, 64, U, "a b", "int8 x mxfp8");
    pair_fail(fp8, nv, 64, U, "a b", "fp8 x nvfp4");
    pair_fail(nv, mx4, 64, U, "a b", "nvfp4 x mxfp4");
    pair_fail(mx4, nv, 64, U, "a b", "mxfp4 x nvfp4");
    pair_fail(bf, mx4, 64, U, "a b", "bf16 x mxfp4");
    pair_fail(bf, fp8, 64, U, "a b", "bf16 x fp8");
    pair_fail(pe4, fp8r, 64, U, "a b", "plain e4m3 x fp8 row");
    pair_fail(fp8r, pe4, 64, U, "a b", "fp8 row x plain e4m3");
    pair_fail(pe4, pe4, 64, U, "a b", "plain e4m3 x plain e4m3");
    pair_fail(i8, f32, 64, U, "a b", "int8 x f32 (wide B)");
    pair_fail(fp8, i8, 64, U, "a b", "fp8 x int8");
    /* bf16 x bf16: B may never be wide */
    pair_fail(bf, bf, 64, U, "a b", "bf16 x bf16");
    pair_fail(f32, f32, 64, U, "a b", "f32 x f32");
}

Test(gemm_errors, shapes_and_blocks)
{
    lowbit_format mx8 = lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR);
    lowbit_format row = lowbit_format_fp8_row(LOWBIT_E4M3);
    lowbit_format g128 = lowbit_format_fp8_block(LOWBIT_E4M3, 1, 128);
    lowbit_format b128 = lowbit_format_fp8_block(LOWBIT_E4M3, 128, 128);
    lowbit_format g64 = lowbit_format_int_group(LOWBIT_INT8, 64, LOWBIT_F32, 0);
    lowbit_format g96 = lowbit_format_int_group(LOWBIT_INT8, 96, LOWBIT_F32, 0);
    lowbit_format g32 = lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 0);
    lowbit_format g48 = lowbit_format_int_group(LOWBIT_INT4, 48, LOWBIT_F16, 0);
    const lowbit_status BS = LOWBIT_ERR_BLOCK_SHAPE;

    /* K mismatch */
    arena_reset();
    float *x = gen(4, 128, 9);
    opnd a64, b32, a32;
    opnd_make(&a64, mx8, 2, 64, 0, x, arena_alloc);
    opnd_make(&b32, mx8, 3, 32, 0, x, arena_alloc);
    opnd_make(&a32, mx8, 2, 32, 0, x, arena_alloc);
    float *c = arena_alloc(sizeof(float) * 8);
    arena_take_snapshot();
    gemm_fail(&a64.q, &b32.q, LOWBIT_F32, c, 3, NULL, LOWBIT_ERR_SHAPE_MISMATCH, "a->cols b->cols", "K 64 vs 32");
    gemm_fail(&b32.q, &a64.q, LOWBIT_F32, c, 2, NULL, LOWBIT_ERR_SHAPE_MISMATCH, "a->cols b->cols", "K 32 vs 64");
    expect_status(lowbit_gemm(&a32.q, &b32.q, 1.0f, 0.0f, LOWBIT_F32, c, 3, NULL), LOWBIT_OK, NULL, "K 32 vs 32");
    free(x);

    /* K not a multiple of a K block (legal partial-edge qtensors) */
    pair_fail(mx8, mx8, 48, BS, "K a", "mx K 48 (a's block 32)");
    pair_fail(row, g128, 192, BS, "K b", "K 192 vs b's block 128");
    pair_fail(g128, row, 192, BS, "K a", "K 192 vs a's block 128");
    pair_fail(g32, g64, 80, BS, "K a", "int K 80");
    /* blocks that nest, K a multiple of the smaller only: only the K check sees it */
    pair_fail(g64, g32, 96, BS, "K a", "K 96: a's g64");
    pair_fail(g32, g64, 96, BS, "K b", "K 96: b's g64");
    /* blocks that do not nest */
    pair_fail(g64, g96, 192, BS, "a b", "g64 x g96");
    pair_fail(g96, g64, 192, BS, "a b", "g96 x g64");
    pair_fail(g48, g32, 96, BS, "a b", "g48 x g32");
    /* ... and the ones that do */
    pair_fail(g128, b128, 256, LOWBIT_OK, NULL, "1x128 x 128x128");
    pair_fail(g32, g64, 192, LOWBIT_OK, NULL, "g32 x g64");
    pair_fail(g96, lowbit_format_int_group(LOWBIT_INT4, 0, LOWBIT_F16, 0), 192, LOWBIT_OK, NULL, "g96 x row");
}

Test(gemm_errors, strides_and_sizes)
{
    world w;
    world_make(&w);
    lowbit_qtensor q;
    /* row strides */
    q = w.a.q; q.row_stride = WK - 1;
    gemm_fail(&q, &w.b.q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_BAD_STRIDE, "a->row_stride", "a row_stride < cols");
    packed_fail(&q, w.pack, w.pack_bytes, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_BAD_STRIDE, "a->row_stride",
                "packed a row_stride < cols");
    q = w.b.q; q.row_stride = 0;
    gemm_fail(&w.a.q, &q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_BAD_STRIDE, "b->row_stride", "b row_stride 0");
    pack_fail(&w.a.q.format, &q, NULL, w.pack, w.pack_bytes, LOWBIT_ERR_BAD_STRIDE, "b->row_stride",
              "pack b row_stride 0");
    q = w.aw.q; q.row_stride = WK - 1;
    gemm_fail(&q, &w.b4.q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_BAD_STRIDE, "a->row_stride", "wide a row_stride");
    q = w.b4.q; q.row_stride = WK + 1; q.data_bytes = WN * (WK + 1);
    gemm_fail(&w.aw.q, &q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_MISALIGNED, "b->row_stride", "odd int4 stride");
    /* ldc */
    gemm_fail(&w.a.q, &w.b.q, LOWBIT_F32, w.c, WN - 1, NULL, LOWBIT_ERR_BAD_STRIDE, "ldc", "ldc < N");
    gemm_fail(&w.a.q, &w.b.q, LOWBIT_BF16, w.c, 0, NULL, LOWBIT_ERR_BAD_STRIDE, "ldc", "ldc 0");
    packed_fail(&w.a.q, w.pack, w.pack_bytes, LOWBIT_F16, w.c, WN - 1, NULL, LOWBIT_ERR_BAD_STRIDE, "ldc",
                "packed ldc < N");
    expect_status(lowbit_gemm(&w.a.q, &w.b.q, 1.0f, 0.0f, LOWBIT_F32, w.c, WN, NULL), LOWBIT_OK, NULL, "ldc = N");
    arena_take_snapshot();

    /* declared buffer sizes */
    q = w.a.q; q.data_bytes--;
    gemm_fail(&q, &w.b.q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_BUFFER_TOO_SMALL, "a->data_bytes", "a data_bytes");
    packed_fail(&q, w.pack, w.pack_bytes, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_BUFFER_TOO_SMALL, "a->data_bytes",
                "packed a data_bytes");
    q = w.a.q; q.scales_bytes--;
    gemm_fail(&q, &w.b.q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_BUFFER_TOO_SMALL, "a->scales_bytes",
              "a scales_bytes");
    q = w.b.q; q.data_bytes = 0;
    gemm_fail(&w.a.q, &q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_BUFFER_TOO_SMALL, "b->data_bytes", "b data_bytes");
    q = w.b.q; q.scales_bytes--;
    gemm_fail(&w.a.q, &q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_BUFFER_TOO_SMALL, "b->scales_bytes",
              "b scales_bytes");
    pack_fail(&w.a.q.format, &q, NULL, w.pack, w.pack_bytes, LOWBIT_ERR_BUFFER_TOO_SMALL, "b->scales_bytes",
              "pack b scales_bytes");
    pack_size_fail(&w.a.q.format, &q, NULL, LOWBIT_ERR_BUFFER_TOO_SMALL, "b->scales_bytes", "pack_size b scales_bytes");
    q = w.bz.q; q.zero_points_bytes--;
    gemm_fail(&w.ai.q, &q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_BUFFER_TOO_SMALL, "b->zero_points_bytes",
              "b zero_points_bytes");
    q = w.aw.q; q.data_bytes--;
    gemm_fail(&q, &w.b4.q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_BUFFER_TOO_SMALL, "a->data_bytes",
              "wide a data_bytes");
    q = w.aw.q; q.row_stride = WK + 8; /* legal stride, data_bytes sized for WK */
    gemm_fail(&q, &w.b4.q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_BUFFER_TOO_SMALL, "a->data_bytes",
              "wide a stride needs more");

    /* pack buffer too small */
    pack_fail(&w.a.q.format, &w.b.q, NULL, w.pack, w.pack_bytes - 1, LOWBIT_ERR_BUFFER_TOO_SMALL, "packed_bytes",
              "pack packed_bytes - 1");
    pack_fail(&w.a.q.format, &w.b.q, NULL, w.pack, 0, LOWBIT_ERR_BUFFER_TOO_SMALL, "packed_bytes", "pack 0 bytes");
    /* a larger buffer is fine */
    size_t sz = 0;
    cr_assert_eq(lowbit_gemm_pack_size(&w.a.q.format, &w.b.q, NULL, &sz), LOWBIT_OK);
    cr_expect_eq(sz, w.pack_bytes, "pack_size is not deterministic");
}

Test(gemm_errors, size_overflow)
{
    world w;
    world_make(&w);
    lowbit_qtensor q;
    q = w.a.q; q.rows = SIZE_MAX / 2;
    gemm_fail(&q, &w.b.q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_SIZE_OVERFLOW, "a", "a rows overflow");
    q = w.b.q; q.rows = SIZE_MAX / 16; q.row_stride = 64;
    gemm_fail(&w.a.q, &q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_SIZE_OVERFLOW, "b", "b rows overflow");
    pack_size_fail(&w.a.q.format, &q, NULL, LOWBIT_ERR_SIZE_OVERFLOW, "b", "pack_size b rows overflow");
    q = w.aw.q; q.rows = SIZE_MAX / 4;
    gemm_fail(&q, &w.b4.q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_SIZE_OVERFLOW, "a", "wide a rows overflow");
    q = w.aw.q; q.rows = 3; q.row_stride = SIZE_MAX / 2;
    gemm_fail(&q, &w.b4.q, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_SIZE_OVERFLOW, "a", "wide a stride overflow");
    /* C's span: (M - 1) * ldc + N elements */
    gemm_fail(&w.a.q, &w.b.q, LOWBIT_F32, w.c, SIZE_MAX / 2, NULL, LOWBIT_ERR_SIZE_OVERFLOW, "ldc", "ldc overflow");
    gemm_fail(&w.a.q, &w.b.q, LOWBIT_F16, w.c, SIZE_MAX / 4, NULL, LOWBIT_ERR_SIZE_OVERFLOW, "ldc",
              "f16 ldc overflow");
    /* (M - 1) * ldc + N = 2^62 - 1 floats: 2^64 - 4 bytes fit in size_t, but not after c */
    gemm_fail(&w.a.q, &w.b.q, LOWBIT_F32, w.c, (((size_t)1 << 62) - 4) / 3, NULL, LOWBIT_ERR_SIZE_OVERFLOW, "ldc",
              "C span past the address space");
    packed_fail(&w.a.q, w.pack, w.pack_bytes, LOWBIT_BF16, w.c, SIZE_MAX / 3, NULL, LOWBIT_ERR_SIZE_OVERFLOW, "ldc",
                "packed ldc overflow");

    /* A B whose own bytes fit but whose packed copy (header + data + scales)
     * does not: one INT8 row of SIZE_MAX - 300 elements.  pack_size only
     * plans, so the buffers are stand-in addresses that are never read. */
    lowbit_format i8 = lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0);
    lowbit_qtensor big;
    cr_assert_eq(lowbit_qtensor_init(&big, &i8, 1, SIZE_MAX - 300), LOWBIT_OK, "%s", lowbit_last_error());
    big.data = (void *)(uintptr_t)64;
    big.scales = (void *)(uintptr_t)(64 + big.data_bytes);
    size_t bytes = 777;
    expect_status(lowbit_gemm_pack_size(&i8, &big, NULL, &bytes), LOWBIT_ERR_SIZE_OVERFLOW, NULL,
                  "packed size overflow");
    cr_expect_eq(bytes, 777);
}

/* lowbit_gemm_pack_size never wraps: for a B too large to pack it says
 * SIZE_OVERFLOW, and a size it does give holds at least B's codes (the pack
 * is self-contained).  One huge row of B; pack_size only plans, so the
 * buffers are stand-in addresses that are never read.  Every backend: the
 * SIMD kernels lay B out in panels of several rows. */
Test(gemm_errors, pack_size_never_wraps)
{
    struct { lowbit_format f; size_t K; } cases[] = {
        {lowbit_format_fp8_row(LOWBIT_E4M3), SIZE_MAX - 300},
        {lowbit_format_fp8_tensor(LOWBIT_E5M2), SIZE_MAX / 2 + 12345},
        {lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), (SIZE_MAX / 64) * 32},
        {lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 0), (SIZE_MAX / 4) & ~(size_t)63},
        {lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0), SIZE_MAX - 300},
    };
    for (size_t bi = 0; bi <= NHOST; bi++) {
        lowbit_backend be = bi < NHOST ? host_backends[bi] : LOWBIT_BACKEND_AUTO;
        if (lowbit_backend_status(be) != LOWBIT_OK)
            continue;
        cr_assert_eq(lowbit_set_backend(be), LOWBIT_OK);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            lowbit_qtensor b;
            char name[64];
            lowbit_format_name(&cases[i].f, name, sizeof name);
            cr_assert_eq(lowbit_qtensor_init(&b, &cases[i].f, 1, cases[i].K), LOWBIT_OK, "%s", lowbit_last_error());
            b.data = (void *)(uintptr_t)64;
            b.scales = b.scales_bytes ? (void *)(uintptr_t)(64 + b.data_bytes) : NULL;
            size_t pb = 0;
            lowbit_status s = lowbit_gemm_pack_size(&cases[i].f, &b, NULL, &pb);
            cr_expect(s == LOWBIT_ERR_SIZE_OVERFLOW || (s == LOWBIT_OK && pb >= b.data_bytes),
                      "backend %s, %s B of 1 x %zu (%zu data bytes): %s, packed size %zu", lowbit_backend_name(be),
                      name, cases[i].K, b.data_bytes, lowbit_status_string(s), s == LOWBIT_OK ? pb : 0);
        }
    }
    cr_assert_eq(lowbit_set_backend(LOWBIT_BACKEND_AUTO), LOWBIT_OK);
}

Test(gemm_errors, aliasing)
{
    world w;
    world_make(&w);
    const size_t cspan = sizeof(float) * ((WM - 1) * WLDC + WN);
    uint8_t *ad = w.a.q.data, *as = w.a.q.scales, *bd = w.b.q.data, *bs = w.b.q.scales;
    const lowbit_status AL = LOWBIT_ERR_ALIASING;
    gemm_fail(&w.a.q, &w.b.q, LOWBIT_F32, ad, WLDC, NULL, AL, "a", "c = a->data");
    gemm_fail(&w.a.q, &w.b.q, LOWBIT_F32, ad - cspan + 4, WLDC, NULL, AL, "a", "c's last float on a->data");
    gemm_fail(&w.a.q, &w.b.q, LOWBIT_F32, ad + w.a.q.data_bytes - 4, WLDC, NULL, AL, "a", "c from a->data's end");
    gemm_fail(&w.a.q, &w.b.q, LOWBIT_F32, as, WLDC, NULL, AL, "a", "c = a->scales");
    gemm_fail(&w.a.q, &w.b.q, LOWBIT_F32, bd + 12, WLDC, NULL, AL, "b", "c in b->data");
    gemm_fail(&w.a.q, &w.b.q, LOWBIT_F16, bs, WLDC, NULL, AL, "b", "c = b->scales");
    gemm_fail(&w.ai.q, &w.bz.q, LOWBIT_BF16, w.bz.q.zero_points, WLDC, NULL, AL, "b", "c = b->zero_points");
    gemm_fail(&w.aw.q, &w.b4.q, LOWBIT_F32, (uint8_t *)w.aw.q.data + 64, WLDC, NULL, AL, "a", "c in wide a->data");
    /* the declared capacity counts, not just the bytes the shape needs: with
     * ldc = N, C (48 bytes) fits in the 64-byte gap after a->data */
    lowbit_qtensor q = w.a.q;
    q.data_bytes += 64;
    gemm_fail(&q, &w.b.q, LOWBIT_F32, ad + w.a.q.data_bytes, WN, NULL, AL, "a", "c in a's declared capacity");
    /* adjacent is fine: C ending where a->data starts, or starting where it ends */
    expect_status(lowbit_gemm(&w.a.q, &w.b.q, 1.0f, 0.0f, LOWBIT_F32, ad - cspan, WLDC, NULL), LOWBIT_OK, NULL,
                  "c just below a->data");
    expect_status(lowbit_gemm(&w.a.q, &w.b.q, 1.0f, 0.0f, LOWBIT_F32, ad + w.a.q.data_bytes, WN, NULL), LOWBIT_OK,
                  NULL, "c just above a->data");
    world_make(&w);

    /* the pack buffer overlapping B */
    bd = w.b.q.data;
    bs = w.b.q.scales;
    pack_fail(&w.a.q.format, &w.b.q, NULL, bd, w.pack_bytes, AL, "packed b", "packed = b->data");
    pack_fail(&w.a.q.format, &w.b.q, NULL, bs - w.pack_bytes + 1, w.pack_bytes, AL, "packed b",
              "packed ends on b->scales");
    /* C overlapping the pack, or a's buffers, in lowbit_gemm_packed */
    packed_fail(&w.a.q, w.pack, w.pack_bytes, LOWBIT_F32, w.pack, WLDC, NULL, AL, "packed_b", "c = packed_b");
    packed_fail(&w.a.q, w.pack, w.pack_bytes, LOWBIT_F32, (uint8_t *)w.pack + w.pack_bytes - 2, WLDC, NULL, AL,
                "packed_b", "c on packed_b's last bytes");
    packed_fail(&w.a.q, w.pack, w.pack_bytes, LOWBIT_F32, w.a.q.scales, WLDC, NULL, AL, "a", "packed: c = a->scales");
}

Test(gemm_errors, packed_bad_buffers)
{
    world w;
    world_make(&w);
    const lowbit_status PM = LOWBIT_ERR_PACK_MISMATCH;
    /* too small to hold even a header, and smaller than the pack */
    packed_fail(&w.a.q, w.pack, 0, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_BUFFER_TOO_SMALL, "packed_bytes",
                "packed_bytes 0");
    packed_fail(&w.a.q, w.pack, 16, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_BUFFER_TOO_SMALL, "packed_bytes",
                "packed_bytes 16");
    packed_fail(&w.a.q, w.pack, w.pack_bytes - 1, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_BUFFER_TOO_SMALL,
                "packed_bytes", "packed_bytes - 1");
    /* garbage */
    uint8_t *g = arena_alloc(w.pack_bytes);
    rng = 77;
    for (size_t i = 0; i < w.pack_bytes; i++)
        g[i] = (uint8_t)rnd();
    arena_take_snapshot();
    packed_fail(&w.a.q, g, w.pack_bytes, LOWBIT_F32, w.c, WLDC, NULL, PM, "packed_b", "random bytes");
    memset(g, 0, w.pack_bytes);
    arena_take_snapshot();
    packed_fail(&w.a.q, g, w.pack_bytes, LOWBIT_F32, w.c, WLDC, NULL, PM, "packed_b", "zero bytes");
    /* a plain copy works */
    memcpy(g, w.pack, w.pack_bytes);
    arena_take_snapshot();
    expect_status(lowbit_gemm_packed(&w.a.q, g, w.pack_bytes, 1.0f, 0.0f, LOWBIT_F32, w.c, WLDC, NULL), LOWBIT_OK,
                  NULL, "copy of the pack");
    arena_take_snapshot();

    /* a pack made for another A format */
    float *x = gen(WM, WK, 1);
    opnd a5, ar, a4, ak;
    opnd_make(&a5, lowbit_format_mx(LOWBIT_E5M2, LOWBIT_SCALE_FLOOR), WM, WK, 0, x, arena_alloc);
    opnd_make(&ar, lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_RCEIL), WM, WK, 0, x, arena_alloc);
    opnd_make(&a4, lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR), WM, WK, 0, x, arena_alloc);
    opnd_make(&ak, lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), WM, 32, 0, x, arena_alloc);
    free(x);
    arena_take_snapshot();
    /* each is a valid partner of B in lowbit_gemm ... */
    float c2[WM * WLDC];
    expect_status(lowbit_gemm(&a5.q, &w.b.q, 1.0f, 0.0f, LOWBIT_F32, c2, WLDC, NULL), LOWBIT_OK, NULL, "e5m2 x b");
    expect_status(lowbit_gemm(&a4.q, &w.b.q, 1.0f, 0.0f, LOWBIT_F32, c2, WLDC, NULL), LOWBIT_OK, NULL, "fp4 x b");
    /* ... but not of a pack made for e4m3/floor A */
    packed_fail(&a5.q, w.pack, w.pack_bytes, LOWBIT_F32, w.c, WLDC, NULL, PM, "packed_b", "pack for e4m3, a e5m2");
    packed_fail(&ar.q, w.pack, w.pack_bytes, LOWBIT_F32, w.c, WLDC, NULL, PM, "packed_b", "pack for floor, a rceil");
    packed_fail(&a4.q, w.pack, w.pack_bytes, LOWBIT_F32, w.c, WLDC, NULL, PM, "packed_b", "pack for mxfp8, a mxfp4");
    packed_fail(&w.ai.q, w.pack, w.pack_bytes, LOWBIT_F32, w.c, WLDC, NULL, PM, "packed_b", "pack for mx, a int8");
    packed_fail(&w.aw.q, w.pack, w.pack_bytes, LOWBIT_F32, w.c, WLDC, NULL, PM, "packed_b", "pack for mx, a f16");
    /* right format, wrong K */
    packed_fail(&ak.q, w.pack, w.pack_bytes, LOWBIT_F32, w.c, WLDC, NULL, LOWBIT_ERR_SHAPE_MISMATCH, "a->cols",
                "a->cols != packed K");
    /* the original still works */
    expect_status(lowbit_gemm_packed(&w.a.q, w.pack, w.pack_bytes, 1.0f, 0.0f, LOWBIT_F32, w.c, WLDC, NULL),
                  LOWBIT_OK, NULL, "pack still valid");
}

Test(gemm_errors, packed_corrupt_header)
{
    world w;
    world_make(&w);
    uint8_t *p = arena_alloc(w.pack_bytes);
    /* Every byte of the first 128 (inside any header that records formats,
     * shape and kernel) is checked: flipping one is PACK_MISMATCH. */
    size_t refused = 0;
    for (size_t i = 0; i < 128 && i < w.pack_bytes; i++) {
        for (int flip = 0; flip < 2; flip++) {
            memcpy(p, w.pack, w.pack_bytes);
            p[i] ^= flip ? 0x80 : 0x01;
            arena_take_snapshot();
            lowbit_status s = lowbit_gemm_packed(&w.a.q, p, w.pack_bytes, 1.0f, 0.5f, LOWBIT_F32, w.c, WLDC, NULL);
            if (s == LOWBIT_ERR_PACK_MISMATCH && lowbit_last_error()[0])
                refused++;
            else
                cr_expect(0, "header byte %zu ^ 0x%02x: got %s (%s)", i, flip ? 0x80 : 0x01,
                          lowbit_status_string(s), lowbit_last_error());
            arena_expect_unchanged("corrupted header");
        }
    }
    cr_expect_eq(refused, 256);
}

/* ======================================================================== */
/* 2. Zero-sized calls                                                      */
/* ======================================================================== */

Test(gemm_zero, m_or_n_zero_is_a_noop)
{
    lowbit_format mx8 = lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR);
    float *x = gen(4, 64, 3);
    opnd a0, b0, a, b, aw0;
    opnd_make(&a0, mx8, 0, 64, 0, x, heap_alloc);
    opnd_make(&b0, mx8, 0, 64, 0, x, heap_alloc);
    opnd_make(&a, mx8, 4, 64, 0, x, heap_alloc);
    opnd_make(&b, mx8, 3, 64, 0, x, heap_alloc);
    opnd_make(&aw0, lowbit_format_plain(LOWBIT_BF16), 0, 64, 0, x, heap_alloc);
    free(x);
    lowbit_qtensor an = a0.q, bn = b0.q;
    an.data = an.scales = NULL; /* no buffers needed */
    bn.data = bn.scales = NULL;
    uint8_t c[256], snap[256];
    memset(c, GUARD, sizeof c);
    memcpy(snap, c, sizeof c);
    lowbit_dtype cts[] = {LOWBIT_F32, LOWBIT_F16, LOWBIT_BF16};
    for (int t = 0; t < 3; t++) {
        expect_status(lowbit_gemm(&an, &b.q, 1.0f, 1.0f, cts[t], NULL, 0, NULL), LOWBIT_OK, NULL, "M=0, c NULL");
        expect_status(lowbit_gemm(&a.q, &bn, 1.0f, 1.0f, cts[t], NULL, 0, NULL), LOWBIT_OK, NULL, "N=0, c NULL");
        expect_status(lowbit_gemm(&an, &bn, 1.0f, 1.0f, cts[t], NULL, 0, NULL), LOWBIT_OK, NULL, "M=N=0");
        expect_status(lowbit_gemm(&an, &b.q, 1.0f, 1.0f, cts[t], c, 3, NULL), LOWBIT_OK, NULL, "M=0");
        expect_status(lowbit_gemm(&a.q, &bn, 1.0f, 1.0f, cts[t], c, 0, NULL), LOWBIT_OK, NULL, "N=0");
        lowbit_format i4 = lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 0);
        opnd b4;
        float *y = gen(2, 64, 4);
        opnd_make(&b4, i4, 2, 64, 0, y, heap_alloc);
        free(y);
        expect_status(lowbit_gemm(&aw0.q, &b4.q, 2.0f, 0.0f, cts[t], NULL, 0, NULL), LOWBIT_OK, NULL, "wide M=0");
        opnd_free(&b4);
    }
    cr_expect_eq(memcmp(c, snap, sizeof c), 0, "a zero-sized call wrote C");
    /* enums are still checked on empty calls */
    expect_status(lowbit_gemm(&an, &b.q, 1.0f, 0.0f, (lowbit_dtype)42, NULL, 0, NULL), LOWBIT_ERR_INVALID_ENUM,
                  "c_type", "M=0, bad c_type");
    expect_status(lowbit_gemm(&an, &b.q, 1.0f, 0.0f, LOWBIT_E4M3, NULL, 0, NULL), LOWBIT_ERR_UNSUPPORTED, "c_type",
                  "M=0, e4m3 c_type");
    lowbit_gemm_opts bad = {0x10};
    expect_status(lowbit_gemm(&a.q, &bn, 1.0f, 0.0f, LOWBIT_F32, NULL, 0, &bad), LOWBIT_ERR_INVALID_ENUM, "flags",
                  "N=0, bad flags");

    /* packed: M = 0, and a pack of an empty B */
    size_t pb;
    cr_assert_eq(lowbit_gemm_pack_size(&mx8, &b.q, NULL, &pb), LOWBIT_OK);
    void *p = heap_alloc(pb);
    cr_assert_eq(lowbit_gemm_pack(&mx8, &b.q, NULL, p, pb), LOWBIT_OK);
    expect_status(lowbit_gemm_packed(&an, p, pb, 1.0f, 1.0f, LOWBIT_F32, NULL, 0, NULL), LOWBIT_OK, NULL,
                  "packed M=0");
    free(p);
    expect_status(lowbit_gemm_pack_size(&mx8, &bn, NULL, &pb), LOWBIT_OK, NULL, "pack_size N=0");
    p = heap_alloc(pb);
    expect_status(lowbit_gemm_pack(&mx8, &bn, NULL, p, pb), LOWBIT_OK, NULL, "pack N=0");
    expect_status(lowbit_gemm_packed(&a.q, p, pb, 1.0f, 1.0f, LOWBIT_F32, c, 0, NULL), LOWBIT_OK, NULL,
                  "packed N=0");
    expect_status(lowbit_gemm_packed(&a.q, p, pb, 1.0f, 1.0f, LOWBIT_BF16, NULL, 0, NULL), LOWBIT_OK, NULL,
                  "packed N=0, c NULL");
    cr_expect_eq(memcmp(c, snap, sizeof c), 0, "a zero-sized packed call wrote C");
    free(p);
    opnd_free(&a0);
    opnd_free(&b0);
    opnd_free(&a);
    opnd_free(&b);
    opnd_free(&aw0);
}

Test(gemm_zero, k_zero_gives_beta_c)
{
    const size_t M = 3, N = 2, LDC = 4;
    lowbit_format fs[][2] = {
        {lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR)},
        {lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0), lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 0)},
        {lowbit_format_plain(LOWBIT_F32), lowbit_format_int_group(LOWBIT_UINT4, 32, LOWBIT_BF16, 1)},
    };
    for (size_t f = 0; f < 3; f++) {
        opnd a, b;
        opnd_make(&a, fs[f][0], M, 0, 0, NULL, heap_alloc);
        opnd_make(&b, fs[f][1], N, 0, 0, NULL, heap_alloc);
        /* f32: C = 0.5 * C, exactly; NaN in C stays NaN (canonical) */
        float cin[] = {1.0f, -2.0f, 99, 99, 3.5f, 1e30f, 99, 99, INFINITY, u2f(0xFFA00001u), 99, 99};
        float c[12];
        memcpy(c, cin, sizeof c);
        expect_status(lowbit_gemm(&a.q, &b.q, 1.0f, 0.5f, LOWBIT_F32, c, LDC, NULL), LOWBIT_OK, NULL, "K=0 beta .5");
        float want[] = {0.5f, -1.0f, 99, 99, 1.75f, 5e29f, 99, 99, INFINITY, 0, 99, 99};
        for (size_t i = 0; i < 12; i++) {
            if (i == 9)
                cr_expect_eq(f2u(c[i]), 0x7FC00000u, "K=0: NaN in C gave 0x%08x", f2u(c[i]));
            else
                cr_expect_eq(f2u(c[i]), f2u(want[i]), "K=0 beta 0.5, element %zu: %a, expected %a", i, c[i],
                             want[i]);
        }
        /* beta = 0: 0, even where C held NaN or Inf, and even for alpha = Inf */
        float alphas[] = {1.0f, INFINITY};
        for (int al = 0; al < 2; al++) {
            memcpy(c, cin, sizeof c);
            expect_status(lowbit_gemm(&a.q, &b.q, alphas[al], 0.0f, LOWBIT_F32, c, LDC, NULL), LOWBIT_OK, NULL,
                          "K=0 beta 0");
            for (size_t m = 0; m < M; m++)
                for (size_t n = 0; n < LDC; n++)
                    if (n < N)
                        cr_expect_eq(f2u(c[m * LDC + n]), 0u, "K=0 beta 0 alpha %g: C[%zu,%zu] = %a", alphas[al], m,
                                     n, c[m * LDC + n]);
                    else
                        cr_expect_eq(c[m * LDC + n], 99.0f, "K=0 wrote the ldc padding");
        }
        /* f16 / bf16 C: beta * C rounded once */
        uint16_t h[12];
        for (size_t i = 0; i < 12; i++)
            h[i] = 0x3C00 + (uint16_t)i; /* 1 + i/1024 */
        expect_status(lowbit_gemm(&a.q, &b.q, 1.0f, 3.0f, LOWBIT_F16, h, LDC, NULL), LOWBIT_OK, NULL, "K=0 f16");
        for (size_t m = 0; m < M; m++)
            for (size_t n = 0; n < LDC; n++) {
                size_t i = m * LDC + n;
                float v = 3.0f * (1.0f + (float)i / 1024.0f);
                uint16_t e;
                lowbit_convert(LOWBIT_F16, &e, LOWBIT_F32, &v, 1, NULL);
                cr_expect_eq(h[i], n < N ? e : 0x3C00 + (uint16_t)i, "K=0 f16 C[%zu] = 0x%04x", i, h[i]);
            }
        uint16_t bf[12];
        for (size_t i = 0; i < 12; i++)
            bf[i] = 0x7FC0; /* NaN: not read with beta 0 */
        expect_status(lowbit_gemm(&a.q, &b.q, 1.0f, 0.0f, LOWBIT_BF16, bf, LDC, NULL), LOWBIT_OK, NULL, "K=0 bf16");
        for (size_t i = 0; i < 12; i++)
            cr_expect_eq(bf[i], i % LDC < N ? 0x0000 : 0x7FC0, "K=0 bf16 beta 0 C[%zu] = 0x%04x", i, bf[i]);
        /* and through a pack */
        size_t pb;
        cr_assert_eq(lowbit_gemm_pack_size(&a.q.format, &b.q, NULL, &pb), LOWBIT_OK, "%s", lowbit_last_error());
        void *p = heap_alloc(pb);
        cr_assert_eq(lowbit_gemm_pack(&a.q.format, &b.q, NULL, p, pb), LOWBIT_OK);
        memcpy(c, cin, sizeof c);
        expect_status(lowbit_gemm_packed(&a.q, p, pb, 1.0f, 0.5f, LOWBIT_F32, c, LDC, NULL), LOWBIT_OK, NULL,
                      "K=0 packed");
        cr_expect_eq(c[0], 0.5f);
        cr_expect_eq(c[5], 5e29f);
        cr_expect_eq(f2u(c[9]), 0x7FC00000u);
        free(p);
        opnd_free(&a);
        opnd_free(&b);
    }
}

/* ======================================================================== */
/* 3. Semantics                                                             */
/* ======================================================================== */

/* Quantize A (M x K) and B (N x K), require that both quantize exactly
 * (dequantize gives the source back: the hand values below are picked so),
 * and return C = alpha * A B^T in f32 with ldc = N + 1; the padding column
 * must stay untouched. */
static void exact_case(const char *what, lowbit_format fa, lowbit_format fb, const float *xa, const float *xb,
                       size_t M, size_t N, size_t K, float alpha, float *c)
{
    opnd a, b;
    opnd_make(&a, fa, M, K, 0, xa, heap_alloc);
    opnd_make(&b, fb, N, K, 0, xb, heap_alloc);
    const opnd *ops[2] = {&a, &b};
    const float *src[2] = {xa, xb};
    for (int o = 0; o < 2; o++) {
        if (is_plain(&ops[o]->q.format))
            continue;
        size_t rows = ops[o]->q.rows;
        float *d = malloc(sizeof(float) * rows * K);
        cr_assert_eq(lowbit_dequantize(LOWBIT_F32, d, K, &ops[o]->q), LOWBIT_OK, "%s", lowbit_last_error());
        for (size_t i = 0; i < rows * K; i++)
            cr_assert_eq(d[i], src[o][i], "%s: test data does not quantize exactly: %c[%zu] %g -> %g", what,
                         o ? 'B' : 'A', i, src[o][i], d[i]);
        free(d);
    }
    size_t ldc = N + 1;
    for (size_t i = 0; i < M * ldc; i++)
        c[i] = u2f(0x7FC0DEADu);
    expect_status(lowbit_gemm(&a.q, &b.q, alpha, 0.0f, LOWBIT_F32, c, ldc, NULL), LOWBIT_OK, NULL, what);
    for (size_t m = 0; m < M; m++) {
        for (size_t n = 0; n < N; n++) {
            double e = 0;
            for (size_t k = 0; k < K; k++)
                e += (double)xa[m * K + k] * xb[n * K + k];
            e *= alpha;
            cr_assert_eq((double)(float)e, e, "%s: expected value %.17g is not an f32 (bad test data)", what, e);
            cr_expect_eq(c[m * ldc + n], (float)e, "%s: C[%zu,%zu] = %.9g, expected %.9g", what, m, n,
                         c[m * ldc + n], e);
        }
        cr_expect_eq(f2u(c[m * ldc + N]), 0x7FC0DEADu, "%s: the ldc padding of row %zu was written", what, m);
    }
    opnd_free(&a);
    opnd_free(&b);
}

Test(gemm_semantics, exact_int8_w8a8)
{
    /* per-row scales amax / 127: rows with amax 127 (scale 1), 254 (2), 63.5 (0.5) */
    lowbit_format f = lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0);
    float a[3 * 4] = {127, -3, 5, 0, /* s 1 */ -64, 254, 2, -10, /* s 2 */ 1, -0.5f, 63.5f, 20};
    float b[2 * 4] = {127, 1, -1, 2, /* s 1 */ 63.5f, -1, 0.5f, 10 /* s 0.5 */};
    float c[3 * 3];
    exact_case("int8 w8a8", f, f, a, b, 3, 2, 4, 1.0f, c);
    /* by hand: 127*127 - 3 - 5 = 16121; 127*63.5 + 3 + 2.5 = 8070 */
    cr_expect_eq(c[0], 16121.0f);
    cr_expect_eq(c[1], 8070.0f);
    /* -64*127 + 254 - 2 - 20 = -7896 */
    cr_expect_eq(c[3], -7896.0f);
    exact_case("int8 w8a8 alpha -0.25", f, f, a, b, 3, 2, 4, -0.25f, c);
    cr_expect_eq(c[0], -4030.25f);
}

Test(gemm_semantics, exact_int4_x_int8)
{
    /* A INT4 g32 f16: amax 14 -> scale 2, amax 3.5 -> 0.5; B INT8 per row, amax 31.75 -> 0.25 */
    const size_t K = 64;
    float a[2 * 64] = {0}, b[2 * 64] = {0};
    float a0[] = {14, -2, 4, 6, -14};
    float a1[] = {3.5f, -0.5f, 1.5f};
    memcpy(a, a0, sizeof a0);
    memcpy(a + 32, a1, sizeof a1);
    a[64 + 0] = 7; a[64 + 1] = -7; a[64 + 33] = 7; a[64 + 40] = -7; /* scales 1, 1 */
    float b0[] = {31.75f, 1, -0.25f, 2.5f, 1};
    memcpy(b, b0, sizeof b0);
    b[32] = 4; b[33] = -8; b[34] = 2;
    b[64 + 0] = -127; b[64 + 1] = 3; b[64 + 33] = 50; b[64 + 40] = 64; /* scale 1 */
    float c[2 * 3];
    exact_case("int4 x int8", lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 0),
               lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0), a, b, 2, 2, K, 1.0f, c);
    /* 14*31.75 - 2 - 1 + 15 - 14 + 3.5*4 + 4 + 3 = 463.5 */
    cr_expect_eq(c[0], 463.5f);
    /* -889 - 21 + 350 - 448 = -1008 */
    cr_expect_eq(c[4], -1008.0f);
    /* W4A8 with a zero point: UINT4 g32 f32 zp, range [-3, 12] -> scale 1, zp 3 */
    float z[2 * 64] = {0};
    for (size_t k = 0; k < K; k++)
        z[k] = (float)((int)(k % 16) - 3);
    for (size_t k = 0; k < K; k++)
        z[64 + k] = k < 32 ? (float)((int)(k % 16) - 3) * 0.5f : (float)(k % 16); /* s 0.5 zp 3; s 1 zp 0 */
    exact_case("uint4 zp x int8", lowbit_format_int_group(LOWBIT_UINT4, 32, LOWBIT_F32, 1),
               lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0), z, b, 2, 2, K, 2.0f, c);
    /* and as f16 activations against INT4 weights (W4A16) */
    exact_case("f16 x int4", lowbit_format_plain(LOWBIT_F16), lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_BF16, 0),
               b, a, 2, 2, K, 0.5f, c);
    cr_expect_eq(c[0], 463.5f * 0.5f);
}

Test(gemm_semantics, exact_mxfp4)
{
    /* FLOOR: block amax 6 -> scale 1, amax 3 -> 0.5, amax 12 -> 2 */
    const size_t K = 64;
    float a[2 * 64] = {0}, b[2 * 64] = {0};
    float a00[] = {6, -4, 3, 2, 1.5f, 1, 0.5f};
    float a01[] = {0.75f, -3, 0.5f, 0.25f};
    memcpy(a, a00, sizeof a00);
    memcpy(a + 32, a01, sizeof a01);
    float a10[] = {-12, 8, 1, 6};
    memcpy(a + 64, a10, sizeof a10);
    a[64 + 63] = 6;
    float b00[] = {1, 1, -2, 0.5f, 6, -6};
    float b01[] = {4, 1, 12, 6};
    memcpy(b, b00, sizeof b00);
    memcpy(b + 32, b01, sizeof b01);
    b[64 + 0] = 3; b[64 + 3] = -3; b[64 + 63] = -0.5f;
    float c[2 * 3];
    lowbit_format f = lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR);
    exact_case("mxfp4 x mxfp4", f, f, a, b, 2, 2, K, 1.0f, c);
    /* 6 - 4 - 6 + 1 + 9 - 6 = 0; + 3 - 3 + 6 + 1.5 = 7.5 */
    cr_expect_eq(c[0], 7.5f);
    /* -12 + 8 - 2 + 3 = -3 */
    cr_expect_eq(c[3], -3.0f);
    /* -36 - 18 - 3 = -57 */
    cr_expect_eq(c[4], -57.0f);
    exact_case("mxfp4 x mxfp8", f, lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), a, b, 2, 2, K, 4.0f, c);
    cr_expect_eq(c[0], 30.0f);
}

Test(gemm_semantics, exact_fp8)
{
    /* per tensor E4M3 (amax 448 -> scale 1) x per row E5M2 (amax 56 -> 2^-10, 7 -> 2^-13) */
    float a[2 * 4] = {448, 2, -1.5f, 0.125f, 3.25f, -6, 0, 10};
    float b[2 * 4] = {56, -7, 0.5f, 1.5f, 1, 0.25f, -7, 0.5f};
    float c[2 * 3];
    exact_case("fp8 tensor x row", lowbit_format_fp8_tensor(LOWBIT_E4M3), lowbit_format_fp8_row(LOWBIT_E5M2), a, b,
               2, 2, 4, 1.0f, c);
    /* 448*56 - 14 - 0.75 + 0.1875 = 25073.4375 */
    cr_expect_eq(c[0], 25073.4375f);
    /* 3.25 - 1.5 + 0 + 5 = 6.75 */
    cr_expect_eq(c[4], 6.75f);
}

Test(gemm_semantics, exact_nvfp4_tensor_scales)
{
    /* The tensor amax 2688 = 448 * 6 gives tensor scale 1; every block amax
     * is 6 * 2^k so block scales and elements are exact.  The large blocks
     * meet zeros or small values, so every sum is an f32. */
    const size_t K = 32;
    float a[2 * 32] = {0}, b[2 * 32] = {0};
    a[0] = 2688; a[2] = 896;                            /* block scale 448: 6, 2 */
    a[16] = 3; a[17] = -1.5f; a[18] = 0.75f; a[19] = 0.25f; /* 0.5 */
    a[32 + 0] = 0.5f; a[32 + 1] = 1; a[32 + 2] = -2; a[32 + 3] = 6;
    a[32 + 16] = 12; a[32 + 17] = -6; a[32 + 18] = 3;
    b[2] = 448; b[5] = 2688;
    b[16] = 1; b[17] = 1; b[18] = 2; b[19] = -6;
    b[32 + 0] = 6; b[32 + 1] = 0.5f; b[32 + 2] = 1; b[32 + 3] = -1;
    b[32 + 17] = 3; b[32 + 18] = -3; b[32 + 19] = 1.5f;
    lowbit_format f = lowbit_format_nvfp4();
    float c[2 * 3];
    exact_case("nvfp4", f, f, a, b, 2, 2, K, 1.0f, c);
    cr_expect_eq(c[0], 401409.5f);
    cr_expect_eq(c[1], 17017.625f);
    cr_expect_eq(c[3], -884.0f);
    cr_expect_eq(c[4], -31.5f);

    /* The tensor scales of the descriptors are folded into alpha:
     * C = ((alpha * t_a) * t_b) * acc. */
    opnd qa, qb;
    opnd_make(&qa, f, 2, K, 0, a, heap_alloc);
    opnd_make(&qb, f, 2, K, 0, b, heap_alloc);
    cr_expect_eq(qa.q.tensor_scale, 1.0f);
    cr_expect_eq(qb.q.tensor_scale, 1.0f);
    qa.q.tensor_scale = 3.0f;
    qb.q.tensor_scale = 1.25f;
    float out[4];
    cr_assert_eq(lowbit_gemm(&qa.q, &qb.q, 0.5f, 0.0f, LOWBIT_F32, out, 2, NULL), LOWBIT_OK);
    cr_expect_eq(out[0], 401409.5f * 1.875f);
    cr_expect_eq(out[1], 17017.625f * 1.875f);
    cr_expect_eq(out[2], -884.0f * 1.875f);
    cr_expect_eq(out[3], -31.5f * 1.875f);
    /* the order: (alpha * t_a) rounds first.  alpha = t_a = 1 + 2^-12 gives
     * alpha * t_a = 1 + 2^-11 (tie to even), times t_b = 1 + 2^-23 */
    float e12 = 1.0f + ldexpf(1.0f, -12);
    qa.q.tensor_scale = e12;
    qb.q.tensor_scale = 1.0f + ldexpf(1.0f, -23);
    cr_assert_eq(lowbit_gemm(&qa.q, &qb.q, e12, 0.0f, LOWBIT_F32, out, 2, NULL), LOWBIT_OK);
    volatile float g1 = e12 * e12;
    float g = g1 * qb.q.tensor_scale;
    cr_expect_eq(out[3], g * -31.5f, "C = %a, expected %a", out[3], g * -31.5f);
    /* a tensor scale on a format without TENSOR_SCALE is ignored */
    opnd ma, mb;
    lowbit_format i8 = lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0);
    opnd_make(&ma, i8, 2, K, 0, a, heap_alloc);
    opnd_make(&mb, i8, 2, K, 0, b, heap_alloc);
    float r1[4], r2[4];
    cr_assert_eq(lowbit_gemm(&ma.q, &mb.q, 1.0f, 0.0f, LOWBIT_F32, r1, 2, NULL), LOWBIT_OK);
    ma.q.tensor_scale = 8.0f;
    mb.q.tensor_scale = -3.0f;
    cr_assert_eq(lowbit_gemm(&ma.q, &mb.q, 1.0f, 0.0f, LOWBIT_F32, r2, 2, NULL), LOWBIT_OK);
    cr_expect_eq(memcmp(r1, r2, sizeof r1), 0, "tensor_scale used on an int8 operand");
    opnd_free(&qa);
    opnd_free(&qb);
    opnd_free(&ma);
    opnd_free(&mb);
}

/* MXINT8 elements are 1.6 fixed point: code * 2^-6 (OCP MX; lowbit's own
 * quantize and dequantize agree).  A = [1, 0.5] (codes 64, 32, scale 1),
 * B = [1, 1] (codes 64, 64): A.B = 1.5. */
Test(gemm_semantics, exact_mxint8)
{
    const size_t K = 32;
    float a[32] = {1.0f, 0.5f}, b[32] = {1.0f, 1.0f, 0.0f, -1.5f}, b8[32] = {1.0f, 2.0f};
    float c[2];
    lowbit_format mi = lowbit_format_mx(LOWBIT_INT8, LOWBIT_SCALE_FLOOR);
    exact_case("mxint8 x mxint8", mi, mi, a, b, 1, 1, K, 1.0f, c);
    cr_expect_eq(c[0], 1.5f, "mxint8 x mxint8: %g, expected 1.5", c[0]);
    exact_case("mxint8 x mxfp8", mi, lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), a, b8, 1, 1, K, 1.0f, c);
    cr_expect_eq(c[0], 2.0f, "mxint8 x mxfp8: %g, expected 2", c[0]);
    exact_case("mxfp4 x mxint8", lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR), mi, b8, a, 1, 1, K, 1.0f, c);
    cr_expect_eq(c[0], 2.0f, "mxfp4 x mxint8: %g, expected 2", c[0]);
}

/* A pair whose product is exactly 1: INT8 per row, scales 1, A.B = 1. */
typedef struct unit_pair {
    opnd a, b;
} unit_pair;

static void unit_pair_make(unit_pair *u)
{
    float a[4] = {127, 1, 0, 0}, b[4] = {0, 1, 127, 0};
    lowbit_format f = lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0);
    opnd_make(&u->a, f, 1, 4, 0, a, heap_alloc);
    opnd_make(&u->b, f, 1, 4, 0, b, heap_alloc);
    float c;
    cr_assert_eq(lowbit_gemm(&u->a.q, &u->b.q, 1.0f, 0.0f, LOWBIT_F32, &c, 1, NULL), LOWBIT_OK);
    cr_assert_eq(c, 1.0f);
}

static void unit_pair_free(unit_pair *u)
{
    opnd_free(&u->a);
    opnd_free(&u->b);
}

/* C (one element of type ct, bits cin) after alpha * 1 + beta * C. */
static uint32_t unit_gemm(const unit_pair *u, float alpha, float beta, lowbit_dtype ct, uint32_t cin)
{
    uint8_t c[8];
    memset(c, GUARD, sizeof c);
    if (ct == LOWBIT_F32)
        memcpy(c, &cin, 4);
    else {
        uint16_t h = (uint16_t)cin;
        memcpy(c, &h, 2);
    }
    cr_assert_eq(lowbit_gemm(&u->a.q, &u->b.q, alpha, beta, ct, c, 1, NULL), LOWBIT_OK, "%s", lowbit_last_error());
    size_t es = ct == LOWBIT_F32 ? 4 : 2;
    for (size_t i = es; i < 8; i++)
        cr_expect_eq(c[i], GUARD, "wrote past C");
    return c_bits(ct, c, 0);
}

Test(gemm_semantics, beta_zero_never_reads_c)
{
    unit_pair u;
    unit_pair_make(&u);
    uint32_t f32_junk[] = {0x7FC00000u, 0xFFFFFFFFu, 0x7F800001u, 0x7F800000u, 0xFF800000u, 0x7F7FFFFFu};
    uint32_t h_junk[] = {0x7E00u, 0xFFFFu, 0x7C01u, 0x7C00u, 0xFC00u};
    uint32_t bf_junk[] = {0x7FC0u, 0xFFFFu, 0x7F81u, 0x7F80u, 0xFF80u};
    float betas[] = {0.0f, -0.0f};
    for (int bi = 0; bi < 2; bi++) {
        for (size_t i = 0; i < sizeof f32_junk / 4; i++)
            cr_expect_eq(unit_gemm(&u, 2.5f, betas[bi], LOWBIT_F32, f32_junk[i]), f2u(2.5f),
                         "beta %g read C = 0x%08x", betas[bi], f32_junk[i]);
        for (size_t i = 0; i < sizeof h_junk / 4; i++)
            cr_expect_eq(unit_gemm(&u, 2.5f, betas[bi], LOWBIT_F16, h_junk[i]), 0x4100u, "f16 C 0x%04x", h_junk[i]);
        for (size_t i = 0; i < sizeof bf_junk / 4; i++)
            cr_expect_eq(unit_gemm(&u, 2.5f, betas[bi], LOWBIT_BF16, bf_junk[i]), 0x4020u, "bf16 C 0x%04x",
                         bf_junk[i]);
    }
    /* the same on a larger product, every element, through lowbit_gemm_packed too */
    family fam[MAX_FAMILIES];
    size_t nf = families(fam);
    for (size_t f = 0; f < nf; f += 4) {
        fcase fc;
        fcase_make(&fc, &fam[f], 5, 7, (uint32_t)f);
        float *c1 = heap_alloc(5 * 7 * 4), *c2 = heap_alloc(5 * 7 * 4);
        for (size_t i = 0; i < 35; i++) {
            c1[i] = u2f(0x7FC00000u + (uint32_t)i);
            c2[i] = 0.0f;
        }
        cr_assert_eq(lowbit_gemm(&fc.a.q, &fc.b.q, 1.0f, 0.0f, LOWBIT_F32, c1, 7, NULL), LOWBIT_OK);
        cr_assert_eq(lowbit_gemm(&fc.a.q, &fc.b.q, 1.0f, 0.0f, LOWBIT_F32, c2, 7, NULL), LOWBIT_OK);
        cr_expect_eq(memcmp(c1, c2, 35 * 4), 0, "%s: NaN in C leaked with beta 0", fam[f].name);
        for (size_t i = 0; i < 35; i++)
            cr_expect(c1[i] == c1[i], "%s: C[%zu] is NaN", fam[f].name, i);
        free(c1);
        free(c2);
        fcase_free(&fc);
    }
    unit_pair_free(&u);
}

Test(gemm_semantics, beta_is_one_fmaf)
{
    unit_pair u;
    unit_pair_make(&u);
    /* t = alpha * 1 = -(1 + 2^-11); beta * C = (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24
     * exactly.  One fmaf leaves 2^-24; a rounded product first leaves 0. */
    float x = 1.0f + ldexpf(1.0f, -12);
    float alpha = -(1.0f + ldexpf(1.0f, -11));
    cr_expect_eq(unit_gemm(&u, alpha, x, LOWBIT_F32, f2u(x)), f2u(ldexpf(1.0f, -24)), "beta * C not fused");
    /* beta = 1 adds C exactly, beta = -1 subtracts */
    cr_expect_eq(unit_gemm(&u, 3.0f, 1.0f, LOWBIT_F32, f2u(0.25f)), f2u(3.25f));
    cr_expect_eq(unit_gemm(&u, 3.0f, -1.0f, LOWBIT_F32, f2u(0.25f)), f2u(2.75f));
    cr_expect_eq(unit_gemm(&u, 3.0f, 0.5f, LOWBIT_F32, f2u(-6.0f)), f2u(0.0f));
    /* the sum rounds once: 1 + (2^-24 + 2^-24 * 2^-10) is above the tie */
    cr_expect_eq(unit_gemm(&u, 1.0f, ldexpf(1.0f, -24), LOWBIT_F32, f2u(1.0f + ldexpf(1.0f, -10))),
                 f2u(1.0f + ldexpf(1.0f, -23)));
    /* f16 / bf16 C is read in its own type: 1 + 2^-11 then rounds (tie) to 1 */
    cr_expect_eq(unit_gemm(&u, ldexpf(1.0f, -11), 1.0f, LOWBIT_F16, 0x3C00u), 0x3C00u);
    cr_expect_eq(unit_gemm(&u, ldexpf(1.0f, -10), 1.0f, LOWBIT_F16, 0x3C00u), 0x3C01u);
    cr_expect_eq(unit_gemm(&u, 1.0f, 2.0f, LOWBIT_F16, 0xC000u /* -2 */), 0xC200u /* -3 */);
    cr_expect_eq(unit_gemm(&u, 1.0f, 0.5f, LOWBIT_BF16, 0x4040u /* 3 */), 0x4020u /* 2.5 */);
    cr_expect_eq(unit_gemm(&u, ldexpf(1.0f, -8), 1.0f, LOWBIT_BF16, 0x3F80u), 0x3F80u);
    /* Inf in C with beta != 0 is read */
    cr_expect_eq(unit_gemm(&u, 1.0f, 1.0f, LOWBIT_F32, 0xFF800000u), 0xFF800000u);
    /* and on a full family case, against the model: covered in families_match_model */
    unit_pair_free(&u);
}

Test(gemm_semantics, f16_bf16_output_rounding)
{
    unit_pair u;
    unit_pair_make(&u);
    struct { float t; uint32_t h, bf; } cases[] = {
        {1.0f, 0x3C00, 0x3F80},
        {1.0f + 0x1p-11f, 0x3C00, 0x3F80},               /* f16 tie -> even */
        {1.0f + 3 * 0x1p-11f, 0x3C02, 0x3F80},           /* f16 tie -> even (up) */
        {1.0f + 0x1p-11f + 0x1p-20f, 0x3C01, 0x3F80},    /* just above the tie */
        {1.0f + 0x1p-8f, 0x3C04, 0x3F80},                /* bf16 tie -> even */
        {1.0f + 3 * 0x1p-8f, 0x3C0C, 0x3F82},            /* bf16 tie -> even (up) */
        {1.0f + 0x1p-8f + 0x1p-20f, 0x3C04, 0x3F81},     /* bf16 above the tie */
        {-1.5f, 0xBE00, 0xBFC0},
        {65504.0f, 0x7BFF, 0x4780},
        {65519.0f, 0x7BFF, 0x4780},                      /* below the f16 overflow tie */
        {65520.0f, 0x7C00, 0x4780},                      /* the tie rounds to even = Inf */
        {-70000.0f, 0xFC00, 0xC789},
        {1e10f, 0x7C00, 0x5015},
        {0x1p-24f, 0x0001, 0x3380},                      /* f16 subnormals */
        {0x1p-25f, 0x0000, 0x3300},                      /* tie -> even (0) */
        {3 * 0x1p-25f, 0x0002, 0x33C0},
        {-0x1p-26f, 0x8000, 0xB280},                     /* underflow keeps the sign */
        {FLT_MAX, 0x7C00, 0x7F80},                       /* bf16 overflow */
        {-FLT_MAX, 0xFC00, 0xFF80},
        {0x1.fefffep127f, 0x7C00, 0x7F7F},               /* below the bf16 tie */
        {INFINITY, 0x7C00, 0x7F80},
        {-INFINITY, 0xFC00, 0xFF80},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t h = unit_gemm(&u, cases[i].t, 0.0f, LOWBIT_F16, 0);
        uint32_t bf = unit_gemm(&u, cases[i].t, 0.0f, LOWBIT_BF16, 0);
        uint32_t f = unit_gemm(&u, cases[i].t, 0.0f, LOWBIT_F32, 0);
        cr_expect_eq(h, cases[i].h, "f16(%a) = 0x%04x, expected 0x%04x", cases[i].t, h, cases[i].h);
        cr_expect_eq(bf, cases[i].bf, "bf16(%a) = 0x%04x, expected 0x%04x", cases[i].t, bf, cases[i].bf);
        cr_expect_eq(f, f2u(cases[i].t), "f32(%a) = 0x%08x", cases[i].t, f);
    }
    /* -0: alpha = -1 and a zero product */
    float z[4] = {0};
    opnd za;
    opnd_make(&za, lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0), 1, 4, 0, z, heap_alloc);
    uint16_t h = 0x1234;
    cr_assert_eq(lowbit_gemm(&za.q, &u.b.q, -1.0f, 0.0f, LOWBIT_F16, &h, 1, NULL), LOWBIT_OK);
    cr_expect_eq(h, 0x8000, "-1 * (+0) in f16: 0x%04x", h);
    opnd_free(&za);
    unit_pair_free(&u);
}

static void expect_canonical_bits(uint32_t got, lowbit_dtype ct, size_t i, const char *what)
{
    uint32_t want = ct == LOWBIT_F32 ? 0x7FC00000u : ct == LOWBIT_F16 ? 0x7E00u : 0x7FC0u;
    cr_expect_eq(got, want, "%s (%s C[%zu]): 0x%x, expected the canonical NaN 0x%x", what, lowbit_dtype_name(ct), i,
                 got, want);
}

static void expect_canonical_nan(const void *c, lowbit_dtype ct, size_t i, const char *what)
{
    expect_canonical_bits(c_bits(ct, c, i), ct, i, what);
}

Test(gemm_semantics, nan_outputs_are_canonical)
{
    const size_t K = 64;
    lowbit_dtype cts[] = {LOWBIT_F32, LOWBIT_F16, LOWBIT_BF16};
    /* source NaNs of both signs and odd payloads, in one block of row 0 */
    struct { lowbit_format fa, fb; } pairs[] = {
        {lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), lowbit_format_mx(LOWBIT_E5M2, LOWBIT_SCALE_FLOOR)},
        {lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR), lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR)},
        {lowbit_format_nvfp4(), lowbit_format_nvfp4()},
        {lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0), lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 0)},
        {lowbit_format_int_group(LOWBIT_UINT4, 32, LOWBIT_BF16, 1), lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0)},
        {lowbit_format_fp8_row(LOWBIT_E4M3), lowbit_format_fp8_row(LOWBIT_E4M3)},
        {lowbit_format_plain(LOWBIT_F32), lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 0)},
        {lowbit_format_plain(LOWBIT_BF16), lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0)},
    };
    uint32_t nans[] = {0xFFC00000u, 0x7FA00001u, 0xFF800123u};
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
        float *xa = gen(2, K, 11), *xb = gen(3, K, 12);
        char name[128];
        fmt_name(&pairs[p].fa, name, sizeof name);
        for (size_t v = 0; v < 3; v++) {
            xa[5] = u2f(nans[v]);
            opnd a, b;
            opnd_make(&a, pairs[p].fa, 2, K, 0, xa, heap_alloc);
            opnd_make(&b, pairs[p].fb, 3, K, 0, xb, heap_alloc);
            for (int t = 0; t < 3; t++) {
                uint8_t c[2 * 3 * 4];
                memset(c, 0, sizeof c);
                cr_assert_eq(lowbit_gemm(&a.q, &b.q, 1.0f, 0.0f, cts[t], c, 3, NULL), LOWBIT_OK, "%s",
                             lowbit_last_error());
                for (size_t n = 0; n < 3; n++) {
                    expect_canonical_nan(c, cts[t], n, name);
                    uint32_t bits = c_bits(cts[t], c, 3 + n);
                    uint32_t expo = cts[t] == LOWBIT_F32 ? 0x7F800000u : cts[t] == LOWBIT_F16 ? 0x7C00u : 0x7F80u;
                    cr_expect((bits & expo) != expo, "%s: row 1 (no NaN) is not finite: 0x%x", name, bits);
                }
            }
            opnd_free(&a);
            opnd_free(&b);
        }
        free(xa);
        free(xb);
    }
    /* NaN alpha, NaN from Inf * 0, and a signalling NaN read from C */
    unit_pair u;
    unit_pair_make(&u);
    for (int t = 0; t < 3; t++) {
        expect_canonical_bits(unit_gemm(&u, u2f(0xFFC12345u), 0.0f, cts[t], 0), cts[t], 0, "alpha = -NaN, payload");
        expect_canonical_bits(unit_gemm(&u, u2f(0x7F800001u), 0.5f, cts[t], 0), cts[t], 0, "alpha = sNaN");
        uint32_t cin = cts[t] == LOWBIT_F32 ? 0x7F800001u : cts[t] == LOWBIT_F16 ? 0xFC01u : 0xFF81u;
        expect_canonical_bits(unit_gemm(&u, 1.0f, 1.0f, cts[t], cin), cts[t], 0, "beta * signalling NaN from C");
        expect_canonical_bits(unit_gemm(&u, INFINITY, 1.0f, cts[t], cts[t] == LOWBIT_F32 ? 0xFF800000u
                                                                     : cts[t] == LOWBIT_F16 ? 0xFC00u : 0xFF80u),
                              cts[t], 0, "Inf + -Inf");
    }
    float z[4] = {0};
    opnd za;
    opnd_make(&za, lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0), 1, 4, 0, z, heap_alloc);
    float c;
    cr_assert_eq(lowbit_gemm(&za.q, &u.b.q, INFINITY, 0.0f, LOWBIT_F32, &c, 1, NULL), LOWBIT_OK);
    expect_canonical_nan(&c, LOWBIT_F32, 0, "Inf * 0");
    opnd_free(&za);
    unit_pair_free(&u);
}

/* Integer block sums beyond int32: per-row INT8 blocks of 140000 (|n| = 127)
 * and zero-point INT8 rows of 40000 (|n| = 255) with every product at its
 * maximum.  D = K * n^2 > 2^31: an int32 accumulator would wrap. */
Test(gemm_semantics, integer_sums_beyond_int32, .timeout = 60)
{
    struct { lowbit_format f; size_t K; uint32_t n; } cases[] = {
        {lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0), 140000, 127},
        {lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 1), 40000, 255},
    };
    for (size_t i = 0; i < 2; i++) {
        size_t K = cases[i].K;
        float *xa = malloc(sizeof(float) * 2 * K), *xb = malloc(sizeof(float) * 3 * K);
        for (size_t k = 0; k < 2 * K; k++)
            xa[k] = k < K ? 1.0f : -2.0f;
        for (size_t k = 0; k < 3 * K; k++)
            xb[k] = k < K ? 1.0f : k < 2 * K ? -1.0f : 4.0f;
        opnd a, b;
        opnd_make(&a, cases[i].f, 2, K, 0, xa, heap_alloc);
        opnd_make(&b, cases[i].f, 3, K, 0, xb, heap_alloc);
        free(xa);
        free(xb);
        float e[6];
        memset(e, 0, sizeof e);
        model_gemm(&a.q, &b.q, 1.0f, 0.0f, LOWBIT_F32, e, 3);
        /* the model's sums are the exact ones: about K * a * b */
        float approx[6] = {1, -1, 4, -2, 2, -8};
        for (int j = 0; j < 6; j++)
            cr_assert(fabsf(e[j] - approx[j] * (float)K) <= 1e-3f * (float)K, "model: %g vs %g", e[j],
                      approx[j] * (float)K);
        for (size_t bi = 0; bi <= NHOST; bi++) {
            lowbit_backend be = bi < NHOST ? host_backends[bi] : LOWBIT_BACKEND_AUTO;
            if (lowbit_backend_status(be) != LOWBIT_OK)
                continue;
            cr_assert_eq(lowbit_set_backend(be), LOWBIT_OK);
            float c[6];
            cr_assert_eq(lowbit_gemm(&a.q, &b.q, 1.0f, 0.0f, LOWBIT_F32, c, 3, NULL), LOWBIT_OK, "%s",
                         lowbit_last_error());
            for (int j = 0; j < 6; j++)
                cr_expect_eq(f2u(c[j]), f2u(e[j]), "K = %zu, |n| = %u, backend %s: C[%d] = %.9g, expected %.9g", K,
                             cases[i].n, lowbit_backend_name(be), j, c[j], e[j]);
        }
        cr_assert_eq(lowbit_set_backend(LOWBIT_BACKEND_AUTO), LOWBIT_OK);
        opnd_free(&a);
        opnd_free(&b);
    }
}

/* Every family against the model, for f32, f16 and bf16 C, with and without
 * beta, M crossing a 32-row tile, padded C rows. */
static void family_vs_model(const family *f, uint32_t seed)
{
    const size_t M = 37, N = 9, LDC = 12;
    fcase fc;
    fcase_make(&fc, f, M, N, seed);
    struct { lowbit_dtype ct; float alpha, beta; } runs[] = {
        {LOWBIT_F32, 1.25f, 0.0f}, {LOWBIT_F16, 0.5f, -1.5f}, {LOWBIT_BF16, 2.0f, 0.25f}, {LOWBIT_F32, -3.0f, 0.75f},
    };
    for (size_t r = 0; r < 4; r++) {
        lowbit_dtype ct = runs[r].ct;
        uint8_t *c = c_input(ct, M, N, LDC, seed + (uint32_t)r);
        uint8_t *e = heap_alloc(c_bytes(ct, M, LDC));
        memcpy(e, c, c_bytes(ct, M, LDC));
        expect_status(lowbit_gemm(&fc.a.q, &fc.b.q, runs[r].alpha, runs[r].beta, ct, c, LDC, NULL), LOWBIT_OK, NULL,
                      f->name);
        model_gemm(&fc.a.q, &fc.b.q, runs[r].alpha, runs[r].beta, ct, e, LDC);
        long d = c_diff(ct, c, e, M, N, LDC);
        cr_expect(d < 0, "%s (%s, alpha %g, beta %g): C[%ld] = 0x%x, the model says 0x%x", f->name,
                  lowbit_dtype_name(ct), runs[r].alpha, runs[r].beta, d, d < 0 ? 0 : c_bits(ct, c, (size_t)d),
                  d < 0 ? 0 : c_bits(ct, e, (size_t)d));
        /* padding columns untouched (e still holds the guard there) */
        if (d < 0)
            cr_expect_eq(memcmp(c, e, c_bytes(ct, M, LDC)), 0, "%s: the ldc padding was written", f->name);
        free(c);
        free(e);
    }
    fcase_free(&fc);
}


/* Every family on every available host backend, then AUTO. */
Test(gemm_semantics, families_match_model, .timeout = 120)
{
    family fam[MAX_FAMILIES];
    size_t nf = families(fam);
    for (size_t bi = 0; bi <= NHOST; bi++) {
        lowbit_backend be = bi < NHOST ? host_backends[bi] : LOWBIT_BACKEND_AUTO;
        if (lowbit_backend_status(be) != LOWBIT_OK)
            continue;
        cr_assert_eq(lowbit_set_backend(be), LOWBIT_OK);
        for (size_t f = 0; f < nf; f++)
            family_vs_model(&fam[f], 100 + (uint32_t)f);
    }
    cr_assert_eq(lowbit_set_backend(LOWBIT_BACKEND_AUTO), LOWBIT_OK);
}

/* ======================================================================== */
/* 4. Invariances                                                           */
/* ======================================================================== */

static void *run_gemm(const fcase *fc, lowbit_dtype ct, float alpha, float beta, size_t ldc, const void *cin)
{
    uint8_t *c = heap_alloc(c_bytes(ct, fc->M, ldc));
    memcpy(c, cin, c_bytes(ct, fc->M, ldc));
    cr_assert_eq(lowbit_gemm(&fc->a.q, &fc->b.q, alpha, beta, ct, c, ldc, NULL), LOWBIT_OK, "%s", lowbit_last_error());
    return c;
}

Test(gemm_invariance, thread_count, .timeout = 120)
{
    enum { TM = 300 };
    family fam[MAX_FAMILIES];
    size_t nf = families(fam);
    int threads[] = {1, 2, 3, 8};
    for (size_t f = 0; f < nf; f++) {
        /* 300 rows: several row tiles of any size up to 100; the first
         * family also spans more than one 256-column tile */
        size_t N = f == 0 ? 300 : 20;
        fcase fc;
        fcase_make(&fc, &fam[f], TM, N, 300 + (uint32_t)f);
        void *cin = c_input(LOWBIT_F32, TM, N, N, 9);
        void *ref = NULL;
        for (int t = 0; t < 4; t++) {
            cr_assert_eq(lowbit_set_num_threads(threads[t]), LOWBIT_OK);
            cr_assert_eq(lowbit_get_num_threads(), threads[t]);
            void *c = run_gemm(&fc, LOWBIT_F32, 0.75f, 0.5f, N, cin);
            if (!ref) {
                ref = c;
                continue;
            }
            long d = c_diff(LOWBIT_F32, ref, c, TM, N, N);
            cr_expect(d < 0, "%s: %d threads differ from 1 at C[%ld]", fam[f].name, threads[t], d);
            free(c);
        }
        /* and through a pack */
        size_t pb;
        cr_assert_eq(lowbit_gemm_pack_size(&fc.a.q.format, &fc.b.q, NULL, &pb), LOWBIT_OK);
        void *p = heap_alloc(pb);
        void *p1 = heap_alloc(pb);
        cr_assert_eq(lowbit_set_num_threads(1), LOWBIT_OK);
        cr_assert_eq(lowbit_gemm_pack(&fc.a.q.format, &fc.b.q, NULL, p1, pb), LOWBIT_OK);
        cr_assert_eq(lowbit_set_num_threads(3), LOWBIT_OK);
        cr_assert_eq(lowbit_gemm_pack(&fc.a.q.format, &fc.b.q, NULL, p, pb), LOWBIT_OK);
        cr_expect_eq(memcmp(p, p1, pb), 0, "%s: the pack made on 3 threads differs from 1 thread", fam[f].name);
        free(p1);
        for (int t = 0; t < 4; t++) {
            cr_assert_eq(lowbit_set_num_threads(threads[t]), LOWBIT_OK);
            void *c = heap_alloc(c_bytes(LOWBIT_F32, TM, N));
            memcpy(c, cin, c_bytes(LOWBIT_F32, TM, N));
            cr_assert_eq(lowbit_gemm_packed(&fc.a.q, p, pb, 0.75f, 0.5f, LOWBIT_F32, c, N, NULL), LOWBIT_OK);
            long d = c_diff(LOWBIT_F32, ref, c, TM, N, N);
            cr_expect(d < 0, "%s: packed with %d threads differs at C[%ld]", fam[f].name, threads[t], d);
            free(c);
        }
        free(p);
        free(ref);
        free(cin);
        fcase_free(&fc);
    }
    cr_expect_eq(lowbit_set_num_threads(0), LOWBIT_OK);
}

Test(gemm_invariance, backends, .timeout = 120)
{
    lowbit_backend initial = lowbit_get_backend();
    family fam[MAX_FAMILIES];
    size_t nf = families(fam);
    lowbit_dtype cts[] = {LOWBIT_F32, LOWBIT_BF16, LOWBIT_F16};
    size_t available = 0;
    for (size_t f = 0; f < nf; f++) {
        fcase fc;
        fcase_make(&fc, &fam[f], 37, 17, 500 + (uint32_t)f);
        lowbit_dtype ct = cts[f % 3];
        void *cin = c_input(ct, 37, 17, 17, 10);
        cr_assert_eq(lowbit_set_backend(LOWBIT_BACKEND_REF), LOWBIT_OK);
        void *ref = run_gemm(&fc, ct, 1.5f, -0.5f, 17, cin);
        for (size_t bi = 0; bi < NHOST; bi++) {
            lowbit_backend be = host_backends[bi];
            if (lowbit_backend_status(be) != LOWBIT_OK) {
                cr_expect_neq(lowbit_set_backend(be), LOWBIT_OK);
                continue;
            }
            available += f == 0;
            cr_assert_eq(lowbit_set_backend(be), LOWBIT_OK, "%s", lowbit_last_error());
            void *c = run_gemm(&fc, ct, 1.5f, -0.5f, 17, cin);
            long d = c_diff(ct, ref, c, 37, 17, 17);
            cr_expect(d < 0, "%s: backend %s differs from ref at C[%ld]", fam[f].name, lowbit_backend_name(be), d);
            free(c);
        }
        cr_assert_eq(lowbit_set_backend(LOWBIT_BACKEND_AUTO), LOWBIT_OK);
        void *c = run_gemm(&fc, ct, 1.5f, -0.5f, 17, cin);
        cr_expect(c_diff(ct, ref, c, 37, 17, 17) < 0, "%s: AUTO differs from ref", fam[f].name);
        free(c);
        free(ref);
        free(cin);
        fcase_free(&fc);
    }
    cr_expect(available >= 1, "not even the reference backend is available");
    cr_expect_eq(lowbit_get_backend(), initial, "AUTO did not restore the detected backend");
}

/* Row r of A as a one-row operand (same buffers, offset). */
static lowbit_qtensor row_of(const lowbit_qtensor *q, size_t r)
{
    lowbit_qtensor s = *q;
    const lowbit_format *f = &q->format;
    size_t off = lowbit_dtype_bytes(f->elem, r * q->row_stride);
    s.rows = 1;
    s.data = (uint8_t *)q->data + off;
    s.data_bytes = q->data_bytes - off;
    if (!is_plain(f) && f->block_rows == 1) {
        size_t gr, gc;
        cr_assert_eq(lowbit_qtensor_grid(q, &gr, &gc), LOWBIT_OK);
        size_t so = lowbit_dtype_bytes(f->scale_type, r * gc);
        s.scales = (uint8_t *)q->scales + so;
        s.scales_bytes = q->scales_bytes - so;
        if (q->zero_points) {
            cr_assert(lowbit_dtype_bits(f->elem) == 8 || (r * gc) % 2 == 0);
            size_t zo = lowbit_dtype_bytes(f->elem, r * gc);
            s.zero_points = (uint8_t *)q->zero_points + zo;
            s.zero_points_bytes = q->zero_points_bytes - zo;
        }
    } else {
        /* one block row covers all of A (whole tensor, or 128 rows > M) */
        cr_assert(is_plain(f) || f->block_rows == 0 || f->block_rows >= q->rows);
    }
    return s;
}

Test(gemm_invariance, batch_rows, .timeout = 120)
{
    family fam[MAX_FAMILIES];
    size_t nf = families(fam);
    const size_t M = 100, N = 11;
    size_t rows[] = {0, 1, 2, 5, 6, 17, 31, 32, 47, 48, 63, 64, 95, 96, 99};
    for (size_t f = 0; f < nf; f++) {
        fcase fc;
        fcase_make(&fc, &fam[f], M, N, 700 + (uint32_t)f);
        lowbit_dtype ct = f % 2 ? LOWBIT_BF16 : LOWBIT_F32;
        void *cin = c_input(ct, M, N, N, 11);
        void *full = run_gemm(&fc, ct, 0.5f, 2.0f, N, cin);
        size_t pb;
        cr_assert_eq(lowbit_gemm_pack_size(&fc.a.q.format, &fc.b.q, NULL, &pb), LOWBIT_OK);
        void *p = heap_alloc(pb);
        cr_assert_eq(lowbit_gemm_pack(&fc.a.q.format, &fc.b.q, NULL, p, pb), LOWBIT_OK);
        size_t es = ct == LOWBIT_F32 ? 4 : 2;
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            size_t r = rows[i];
            lowbit_qtensor a1 = row_of(&fc.a.q, r);
            uint8_t one[64 * 4], onep[64 * 4];
            memcpy(one, (const uint8_t *)cin + r * N * es, N * es);
            memcpy(onep, one, N * es);
            cr_assert_eq(lowbit_gemm(&a1, &fc.b.q, 0.5f, 2.0f, ct, one, N, NULL), LOWBIT_OK, "%s",
                         lowbit_last_error());
            cr_expect_eq(memcmp(one, (const uint8_t *)full + r * N * es, N * es), 0,
                         "%s: row %zu computed with M = 1 differs from M = %zu", fam[f].name, r, M);
            /* and as the last row of an M = 3 batch starting two rows above */
            if (r >= 2 && (is_plain(&fc.a.q.format) || fc.a.q.format.block_rows <= 1)) {
                lowbit_qtensor a3 = row_of(&fc.a.q, r - 2);
                a3.rows = 3;
                uint8_t three[3 * 64 * 4];
                memcpy(three, (const uint8_t *)cin + (r - 2) * N * es, 3 * N * es);
                cr_assert_eq(lowbit_gemm(&a3, &fc.b.q, 0.5f, 2.0f, ct, three, N, NULL), LOWBIT_OK, "%s",
                             lowbit_last_error());
                cr_expect_eq(memcmp(three, (const uint8_t *)full + (r - 2) * N * es, 3 * N * es), 0,
                             "%s: rows %zu..%zu computed with M = 3 differ from M = %zu", fam[f].name, r - 2, r, M);
            }
            cr_assert_eq(lowbit_gemm_packed(&a1, p, pb, 0.5f, 2.0f, ct, onep, N, NULL), LOWBIT_OK);
            cr_expect_eq(memcmp(onep, (const uint8_t *)full + r * N * es, N * es), 0,
                         "%s: packed row %zu with M = 1 differs", fam[f].name, r);
        }
        /* and the first 5 rows as M = 5 */
        lowbit_qtensor a5 = fc.a.q;
        a5.rows = 5;
        void *c5 = heap_alloc(5 * N * es);
        memcpy(c5, cin, 5 * N * es);
        cr_assert_eq(lowbit_gemm(&a5, &fc.b.q, 0.5f, 2.0f, ct, c5, N, NULL), LOWBIT_OK, "%s", lowbit_last_error());
        cr_expect_eq(memcmp(c5, full, 5 * N * es), 0, "%s: M = 5 differs from the first rows of M = 100", fam[f].name);
        free(c5);
        free(p);
        free(full);
        free(cin);
        fcase_free(&fc);
    }
}

Test(gemm_invariance, packed_matches_gemm, .timeout = 120)
{
    family fam[MAX_FAMILIES];
    size_t nf = families(fam);
    const size_t M = 33, N = 13;
    for (size_t f = 0; f < nf; f++) {
        fcase fc;
        fcase_make(&fc, &fam[f], M, N, 900 + (uint32_t)f);
        lowbit_dtype ct = (lowbit_dtype)(f % 3 == 0 ? LOWBIT_F32 : f % 3 == 1 ? LOWBIT_F16 : LOWBIT_BF16);
        void *cin = c_input(ct, M, N, N + 2, 12);
        void *want = run_gemm(&fc, ct, -0.5f, 1.0f, N + 2, cin);
        size_t pb = 0, pb2 = 0;
        cr_assert_eq(lowbit_gemm_pack_size(&fc.a.q.format, &fc.b.q, NULL, &pb), LOWBIT_OK, "%s", lowbit_last_error());
        cr_assert_eq(lowbit_gemm_pack_size(&fc.a.q.format, &fc.b.q, NULL, &pb2), LOWBIT_OK);
        cr_expect_eq(pb, pb2);
        uint8_t *p = heap_alloc(pb + 64);
        expect_status(lowbit_gemm_pack(&fc.a.q.format, &fc.b.q, NULL, p, pb), LOWBIT_OK, NULL, fam[f].name);
        for (size_t i = pb; i < pb + 64; i++)
            cr_expect_eq(p[i], GUARD, "%s: pack wrote past packed_bytes", fam[f].name);
        /* packing is deterministic: a second pack into a larger buffer is the same */
        uint8_t *p2 = heap_alloc(pb + 100);
        cr_assert_eq(lowbit_gemm_pack(&fc.a.q.format, &fc.b.q, NULL, p2, pb + 100), LOWBIT_OK);
        cr_expect_eq(memcmp(p, p2, pb), 0, "%s: two packs of one B differ", fam[f].name);
        free(p2);

        uint8_t *c = heap_alloc(c_bytes(ct, M, N + 2));
        memcpy(c, cin, c_bytes(ct, M, N + 2));
        expect_status(lowbit_gemm_packed(&fc.a.q, p, pb, -0.5f, 1.0f, ct, c, N + 2, NULL), LOWBIT_OK, NULL,
                      fam[f].name);
        cr_expect(c_diff(ct, want, c, M, N, N + 2) < 0, "%s: packed differs from gemm", fam[f].name);
        /* a larger declared packed_bytes is fine */
        memcpy(c, cin, c_bytes(ct, M, N + 2));
        cr_assert_eq(lowbit_gemm_packed(&fc.a.q, p, pb + 64, -0.5f, 1.0f, ct, c, N + 2, NULL), LOWBIT_OK);
        cr_expect(c_diff(ct, want, c, M, N, N + 2) < 0, "%s: packed (larger packed_bytes) differs", fam[f].name);

        /* self-contained: scribble over B's buffers and free them */
        for (int i = 0; i < 3; i++)
            if (fc.b.mem[i])
                memset(fc.b.mem[i], 0x5A, i == 0 ? fc.b.q.data_bytes : i == 1 ? fc.b.q.scales_bytes
                                                                             : fc.b.q.zero_points_bytes);
        opnd_free(&fc.b);
        memcpy(c, cin, c_bytes(ct, M, N + 2));
        cr_assert_eq(lowbit_gemm_packed(&fc.a.q, p, pb, -0.5f, 1.0f, ct, c, N + 2, NULL), LOWBIT_OK);
        cr_expect(c_diff(ct, want, c, M, N, N + 2) < 0, "%s: packed differs after B was freed", fam[f].name);

        /* position independent: a copy at another address, the original gone */
        uint8_t *q = heap_alloc(pb + 4096);
        memcpy(q + 192, p, pb);
        memset(p, 0xA5, pb);
        free(p);
        memcpy(c, cin, c_bytes(ct, M, N + 2));
        cr_assert_eq(lowbit_gemm_packed(&fc.a.q, q + 192, pb, -0.5f, 1.0f, ct, c, N + 2, NULL), LOWBIT_OK, "%s",
                     lowbit_last_error());
        cr_expect(c_diff(ct, want, c, M, N, N + 2) < 0, "%s: the moved pack differs", fam[f].name);
        free(q);
        free(c);
        free(want);
        free(cin);
        fcase_free(&fc);
    }
}

/* The GEMM kernel a pack records: the longest registered GEMM kernel name
 * found, NUL-terminated, in the pack's first bytes. */
static const char *pack_kernel(const uint8_t *p, size_t pb)
{
    const char *best = NULL;
    size_t scan = pb < 1024 ? pb : 1024;
    for (size_t i = 0; i < lowbit_kernel_count(); i++) {
        lowbit_kernel_info k;
        if (lowbit_kernel_get(i, &k) != LOWBIT_OK || k.op != LOWBIT_OP_GEMM || !k.name)
            continue;
        size_t n = strlen(k.name) + 1;
        for (size_t at = 0; at + n <= scan; at++)
            if (memcmp(p + at, k.name, n) == 0 && (!best || strlen(k.name) > strlen(best)))
                best = k.name;
    }
    return best;
}

Test(gemm_invariance, pack_across_backends, .timeout = 120)
{
    family fam[MAX_FAMILIES];
    size_t nf = families(fam);
    lowbit_backend avail[NHOST];
    size_t na = 0;
    for (size_t i = 0; i < NHOST; i++)
        if (lowbit_backend_status(host_backends[i]) == LOWBIT_OK)
            avail[na++] = host_backends[i];
    cr_assert(na >= 1);
    size_t gemm_kernels = 0;
    for (size_t i = 0; i < lowbit_kernel_count(); i++) {
        lowbit_kernel_info k;
        cr_assert_eq(lowbit_kernel_get(i, &k), LOWBIT_OK);
        gemm_kernels += k.op == LOWBIT_OP_GEMM;
    }
    cr_expect(gemm_kernels >= 1, "no GEMM kernel registered");
    enum { M = 5, N = 7 };
    for (size_t f = 0; f < nf; f++) {
        fcase fc;
        fcase_make(&fc, &fam[f], M, N, 1100 + (uint32_t)f);
        uint8_t *packs[NHOST];
        size_t sizes[NHOST];
        const char *kern[NHOST];
        for (size_t x = 0; x < na; x++) {
            cr_assert_eq(lowbit_set_backend(avail[x]), LOWBIT_OK);
            cr_assert_eq(lowbit_gemm_pack_size(&fc.a.q.format, &fc.b.q, NULL, &sizes[x]), LOWBIT_OK);
            packs[x] = heap_alloc(sizes[x]);
            cr_assert_eq(lowbit_gemm_pack(&fc.a.q.format, &fc.b.q, NULL, packs[x], sizes[x]), LOWBIT_OK);
            kern[x] = pack_kernel(packs[x], sizes[x]);
            cr_expect_not_null(kern[x], "%s: the pack made under %s names no registered GEMM kernel", fam[f].name,
                               lowbit_backend_name(avail[x]));
        }
        for (size_t y = 0; y < na; y++) {
            cr_assert_eq(lowbit_set_backend(avail[y]), LOWBIT_OK);
            float want[M * N];
            cr_assert_eq(lowbit_gemm(&fc.a.q, &fc.b.q, 1.0f, 0.0f, LOWBIT_F32, want, N, NULL), LOWBIT_OK);
            for (size_t x = 0; x < na; x++) {
                if (!kern[x] || !kern[y])
                    continue;
                int same = strcmp(kern[x], kern[y]) == 0;
                if (same)
                    cr_expect(sizes[x] == sizes[y] && memcmp(packs[x], packs[y], sizes[x]) == 0,
                              "%s: packs for kernel %s differ between backends", fam[f].name, kern[x]);
                float c[M * N];
                memset(c, GUARD, sizeof c);
                char what[160];
                snprintf(what, sizeof what, "%s: pack under %s (%s) used under %s (%s)", fam[f].name,
                         lowbit_backend_name(avail[x]), kern[x], lowbit_backend_name(avail[y]), kern[y]);
                lowbit_status s = lowbit_gemm_packed(&fc.a.q, packs[x], sizes[x], 1.0f, 0.0f, LOWBIT_F32, c, N, NULL);
                if (same) {
                    expect_status(s, LOWBIT_OK, NULL, what);
                    cr_expect_eq(memcmp(c, want, sizeof c), 0, "%s: result differs", what);
                } else {
                    expect_status(s, LOWBIT_ERR_PACK_MISMATCH, "packed_b", what);
                    for (size_t i = 0; i < sizeof c; i++)
                        cr_expect_eq(((uint8_t *)c)[i], GUARD, "%s: C written", what);
                }
            }
        }
        cr_assert_eq(lowbit_set_backend(LOWBIT_BACKEND_AUTO), LOWBIT_OK);
        for (size_t x = 0; x < na; x++)
            free(packs[x]);
        fcase_free(&fc);
    }
}
