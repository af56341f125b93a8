/*
 * gemm.c - lowbit_gemm and prepacked weights: validation, the choice of
 * kernel, the fixed partition into tasks, and the packed-buffer header.
 * The arithmetic itself is defined by kernels/cpu/ref/gemm_ref.c.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "gemm_operand.h"

/* ---- operands and pairs ---------------------------------------------- */

enum lb_kind { LB_KIND_WIDE, LB_KIND_FP8S, LB_KIND_MX, LB_KIND_NV, LB_KIND_INT, LB_KIND_OTHER };

static int lb_is_wide_t(lowbit_dtype t)
{
    return t == LOWBIT_F32 || t == LOWBIT_F16 || t == LOWBIT_BF16;
}

static int lb_is_fp8(lowbit_dtype t)
{
    return t >= LOWBIT_E4M3 && t <= LOWBIT_E5M2FNUZ;
}

static int lb_is_int_t(lowbit_dtype t)
{
    return t == LOWBIT_INT8 || t == LOWBIT_INT4 || t == LOWBIT_UINT4;
}

static enum lb_kind lb_kind_of(const lowbit_format *f)
{
    switch (lb_format_scheme(f)) {
    case LB_SCHEME_PLAIN: return lb_is_wide_t(f->elem) ? LB_KIND_WIDE : LB_KIND_OTHER;
    case LB_SCHEME_MX:    return LB_KIND_MX;
    case LB_SCHEME_NVFP4: return LB_KIND_NV;
    default:
        if (lb_is_int_t(f->elem))
            return LB_KIND_INT;
        return lb_is_fp8(f->elem) ? LB_KIND_FP8S : LB_KIND_OTHER;
    }
}

static int lb_pair_offered(enum lb_kind a, enum lb_kind b)
{
    return (a == b && a != LB_KIND_WIDE && a != LB_KIND_OTHER) || (a == LB_KIND_WIDE && b == LB_KIND_INT);
}

lowbit_format lowbit_format_plain(lowbit_dtype elem)
{
    lowbit_format f;
    memset(&f, 0, sizeof f);
    f.elem = elem;
    f.scale_type = LB_NO_SCALE;
    return f;
}

/* lowbit_format_check, plus the unscaled wide types GEMM accepts. */
static lowbit_status lb_gemm_format_check(const lowbit_format *f, const char *arg)
{
    if (!f)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "%s is NULL", arg);
    if (f->scale_type == LB_NO_SCALE && lb_is_wide_t(f->elem)) {
        if (f->flags || f->block_rows || f->block_cols || f->rule != LOWBIT_SCALE_FLOOR)
            return lb_fail(LOWBIT_ERR_UNSUPPORTED, "%s: an unscaled %s operand takes no blocks, rule or flags",
                           arg, lowbit_dtype_name(f->elem));
        return LOWBIT_OK;
    }
    lowbit_status s = lowbit_format_check(f);
    if (s != LOWBIT_OK) {
        /* "format.elem: ..." becomes "b->format.elem: ...": name the operand */
        char detail[400];
        snprintf(detail, sizeof detail, "%s", lowbit_last_error());
        const char *rest = strncmp(detail, "format", 6) == 0 ? detail + 6 : detail;
        return lb_fail(s, "%s%s%s", arg, rest == detail ? ": " : "", rest);
    }
    return LOWBIT_OK;
}

/* lb_check_qtensor for GEMM operands (wide unscaled ones included). */
static lowbit_status lb_gemm_check_tensor(const lowbit_qtensor *q, const char *arg)
{
    if (!q)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "%s is NULL", arg);
    if (q->format.scale_type == LB_NO_SCALE && lb_is_wide_t(q->format.elem)) {
        char farg[32];
        snprintf(farg, sizeof farg, "%s->format", arg);
        lowbit_status s = lb_gemm_format_check(&q->format, farg);
        if (s != LOWBIT_OK || q->rows == 0 || q->cols == 0)
            return s;
        if (q->row_stride < q->cols)
            return lb_fail(LOWBIT_ERR_BAD_STRIDE, "%s->row_stride = %zu is smaller than cols = %zu", arg,
                           q->row_stride, q->cols);
        size_t need = lb_matrix_bytes(q->format.elem, q->rows, q->cols, q->row_stride);
        if (need == SIZE_MAX)
            return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW, "%s: %zu rows x stride %zu overflows size_t bytes", arg,
                           q->rows, q->row_stride);
        if (!q->data)
            return lb_fail(LOWBIT_ERR_NULL_POINTER, "%s->data is NULL", arg);
        if (q->data_bytes < need)
            return lb_fail(LOWBIT_ERR_BUFFER_TOO_SMALL, "%s->data_bytes = %zu, the shape needs %zu", arg,
                           q->data_bytes, need);
        return LOWBIT_OK;
    }
    char farg[32];
    snprintf(farg, sizeof farg, "%s->format", arg);
    lowbit_status s = lb_gemm_format_check(&q->format, farg);
    if (s != LOWBIT_OK)
        return s;
    return lb_check_qtensor(q, arg);
}

static void lb_operand_init(lb_operand *o, const lowbit_qtensor *q)
{
    memset(o, 0, sizeof *o);
    o->q = *q;
    o->scheme = lb_format_scheme(&q->format);
    lb_grid_of(q, &o->g);
    int zp = o->scheme == LB_SCHEME_ZP;
    o->int_valued = 1;
    /* MXINT8 elements are 1.6 fixed point: the code over 64 */
    o->code_value = o->scheme == LB_SCHEME_MX && q->format.elem == LOWBIT_INT8 ? 0x1p-6f : 1.0f;
    switch (q->format.elem) {
    case LOWBIT_E2M1:  o->unit_log2 = -1; o->max_int = 12; break;
    case LOWBIT_E2M3:  o->unit_log2 = -3; o->max_int = 60; break;
    case LOWBIT_INT8:  o->unit_log2 = o->scheme == LB_SCHEME_MX ? -6 : 0; o->max_int = zp ? 255 : 128; break;
    case LOWBIT_INT4:  o->max_int = zp ? 15 : 8; break;
    case LOWBIT_UINT4: o->max_int = 15; break;
    default:           o->int_valued = 0; break;
    }
}

/* The K block of an operand's scales: its block_cols, or all of K. */
static size_t lb_kblock_of(const lowbit_format *f, size_t K)
{
    if (lb_format_scheme(f) == LB_SCHEME_PLAIN || f->block_cols == 0)
        return K;
    return f->block_cols;
}

/*
 * Validate the operands (b may describe a packed B: then data pointers are
 * not checked here) and fill the job up to, not including, C.
 */
static lowbit_status lb_gemm_operands(lb_gemm_job *j, const lowbit_qtensor *a, const lowbit_qtensor *b,
                                      const lowbit_gemm_opts *opts)
{
    memset(j, 0, sizeof *j);
    if (opts && (opts->flags & ~LOWBIT_GEMM_ALLOW_FAST))
        return lb_fail(LOWBIT_ERR_INVALID_ENUM, "opts->flags: unknown bits 0x%x",
                       opts->flags & ~LOWBIT_GEMM_ALLOW_FAST);
    enum lb_kind ka = lb_kind_of(&a->format), kb = lb_kind_of(&b->format);
    if (!lb_pair_offered(ka, kb)) {
        char fa[64], fb[64];
        if (a->format.scale_type == LB_NO_SCALE)
            snprintf(fa, sizeof fa, "%s", lowbit_dtype_name(a->format.elem));
        else
            lowbit_format_name(&a->format, fa, sizeof fa);
        if (b->format.scale_type == LB_NO_SCALE)
            snprintf(fb, sizeof fb, "%s", lowbit_dtype_name(b->format.elem));
        else
            lowbit_format_name(&b->format, fb, sizeof fb);
        return lb_fail(LOWBIT_ERR_UNSUPPORTED,
                       "a x b = %s x %s is not a GEMM pair (FP8xFP8, MXxMX, NVFP4xNVFP4, INTxINT, "
                       "f32/f16/bf16 x INT)", fa, fb);
    }
    if (a->cols != b->cols)
        return lb_fail(LOWBIT_ERR_SHAPE_MISMATCH, "a->cols = %zu and b->cols = %zu: both must be K", a->cols,
                       b->cols);
    size_t K = a->cols;
    size_t la = lb_kblock_of(&a->format, K), lb = lb_kblock_of(&b->format, K);
    if (K && K % la)
        return lb_fail(LOWBIT_ERR_BLOCK_SHAPE, "K = %zu is not a multiple of a's K block %zu", K, la);
    if (K && K % lb)
        return lb_fail(LOWBIT_ERR_BLOCK_SHAPE, "K = %zu is not a multiple of b's K block %zu", K, lb);
    size_t lmin = la < lb ? la : lb, lmax = la < lb ? lb : la;
    if (K && lmax % lmin)
        return lb_fail(LOWBIT_ERR_BLOCK_SHAPE, "a's K block %zu and b's K block %zu do not nest", la, lb);
    j->M = a->rows;
    j->N = b->rows;
    j->K = K;
    j->kblock = K ? lmin : 1;
    lb_operand_init(&j->a, a);
    lb_operand_init(&j->b, b);
    j->integer = j->a.int_valued && j->b.int_valued;
    return LOWBIT_OK;
}

static void lb_gemm_scalars(lb_gemm_job *j, float alpha, float beta)
{
    float ta = j->a.scheme == LB_SCHEME_NVFP4 ? j->a.q.tensor_scale : 1.0f;
    float tb = j->b.scheme == LB_SCHEME_NVFP4 ? j->b.q.tensor_scale : 1.0f;
    j->alpha = alpha;
    j->beta = beta;
    j->g = alpha * ta * tb;
}

static int lb_overlaps_operand(const lowbit_qtensor *q, const void *p, size_t bytes)
{
    return lb_overlap(p, bytes, q->data, q->data ? q->data_bytes : 0) ||
           lb_overlap(p, bytes, q->scales, q->scales ? q->scales_bytes : 0) ||
           lb_overlap(p, bytes, q->zero_points, q->zero_points ? q->zero_points_bytes : 0);
}

/* C's checks; *bytes gets its span. */
static lowbit_status lb_gemm_check_c(const lb_gemm_job *j, lowbit_dtype c_type, const void *c, size_t ldc,
                                     size_t *bytes)
{
    *bytes = 0;
    if ((unsigned)c_type >= LOWBIT_DTYPE_COUNT)
        return lb_fail(LOWBIT_ERR_INVALID_ENUM, "c_type: unknown lowbit_dtype %d", (int)c_type);
    if (!lb_is_wide_t(c_type))
        return lb_fail(LOWBIT_ERR_UNSUPPORTED, "c_type: %s; C must be f32, f16 or bf16",
                       lowbit_dtype_name(c_type));
    if (j->M == 0 || j->N == 0)
        return LOWBIT_OK;
    if (!c)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "c is NULL");
    if (ldc < j->N)
        return lb_fail(LOWBIT_ERR_BAD_STRIDE, "ldc = %zu is smaller than N = %zu", ldc, j->N);
    *bytes = lb_matrix_bytes(c_type, j->M, j->N, ldc);
    if (*bytes == SIZE_MAX || (uintptr_t)c > UINTPTR_MAX - *bytes)
        return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW, "c: %zu rows x ldc %zu overflows the address space", j->M,
                       ldc);
    return LOWBIT_OK;
}

/* ---- kernels and tasks ----------------------------------------------- */

const lb_kernel *lb_find_gemm(const lb_gemm_job *j, int allow_fast)
{
    lowbit_backend cap = lowbit_get_backend();
    const lb_kernel *best = NULL;
    for (size_t i = 0; i < lb_registry_size; i++) {
        const lb_kernel *k = lb_registry[i];
        if (k->op != LOWBIT_OP_GEMM || !lb_backend_allows(cap, k->backend) || (!k->exact && !allow_fast))
            continue;
        if ((lowbit_cpu_features() & k->cpu_features) != k->cpu_features || !k->gemm_covers(j))
            continue;
        /* Higher rung first; on one rung, a fast kernel when one was allowed,
         * then the one needing the most CPU extensions (VNNI over plain). */
        int rk = lb_rung_of(k->backend), rb = best ? lb_rung_of(best->backend) : -1;
        if (!best || rk > rb ||
            (rk == rb && best->exact && !k->exact) ||
            (rk == rb && best->exact == k->exact &&
             __builtin_popcount(k->cpu_features) > __builtin_popcount(best->cpu_features)))
            best = k;
    }
    return best;
}

/* Output tiles of a fixed size (internal.h): each output element is
 * computed whole by one task, so the partition only spreads work; bits
 * never depend on it. */

struct lb_gemm_run {
    const lb_kernel *k;
    const lb_gemm_job *j;
    size_t tiles_n;
};

static void lb_gemm_task(void *ctx, size_t t)
{
    const struct lb_gemm_run *r = ctx;
    size_t tm = t / r->tiles_n, tn = t % r->tiles_n;
    size_t m0 = tm * LB_GEMM_TILE_M, n0 = tn * LB_GEMM_TILE_N;
    size_t m1 = m0 + LB_GEMM_TILE_M < r->j->M ? m0 + LB_GEMM_TILE_M : r->j->M;
    size_t n1 = n0 + LB_GEMM_TILE_N < r->j->N ? n0 + LB_GEMM_TILE_N : r->j->N;
    r->k->gemm(r->j, m0, m1, n0, n1);
}

/* K == 0: C = beta * C, rounded once (nothing to multiply). */
static void lb_gemm_empty_k(const lb_gemm_job *j)
{
    for (size_t m = 0; m < j->M; m++)
        for (size_t n = 0; n < j->N; n++) {
            lb_gemm_job z = *j;
            z.g = 0.0f;
            lb_gemm_store(&z, m, n, 0.0f);
        }
}

struct lb_pack_run {
    lb_gemm_pack_fn pack;
    const lb_gemm_job *j;
    void *dst;
    size_t rows, rows_per_task;
};

static void lb_pack_task(void *ctx, size_t t)
{
    const struct lb_pack_run *r = ctx;
    size_t r0 = t * r->rows_per_task;
    size_t r1 = r0 + r->rows_per_task < r->rows ? r0 + r->rows_per_task : r->rows;
    r->pack(r->j, r->dst, r0, r1);
}

/* Pack `rows` rows with fn in parallel, tasks of `per` rows. */
static void lb_pack_parallel(lb_gemm_pack_fn fn, const lb_gemm_job *j, void *dst, size_t rows, size_t per)
{
    struct lb_pack_run r = {fn, j, dst, rows, per};
    lb_parallel_for((rows + per - 1) / per, lb_pack_task, &r);
}

lowbit_status lb_run_gemm(const lb_kernel *k, const lb_gemm_job *j)
{
    if (j->M == 0 || j->N == 0)
        return LOWBIT_OK;
    if (j->K == 0) {
        lb_gemm_empty_k(j);
        return LOWBIT_OK;
    }
    lb_gemm_job w = *j;
    void *tmp_a = NULL, *tmp_b = NULL;
    if (k->gemm_pack_a) {
        tmp_a = malloc(k->gemm_pack_a_size(j));
        if (!tmp_a)
            return lb_fail(LOWBIT_ERR_OUT_OF_MEMORY, "no memory to pack A (%zu bytes)", k->gemm_pack_a_size(j));
    }
    if (k->gemm_pack && !j->packed) {
        tmp_b = malloc(k->gemm_pack_size(j));
        if (!tmp_b) {
            free(tmp_a);
            return lb_fail(LOWBIT_ERR_OUT_OF_MEMORY, "no memory to pack B (%zu bytes)", k->gemm_pack_size(j));
        }
        lb_pack_parallel(k->gemm_pack, j, tmp_b, j->N, LB_GEMM_TILE_N);
        w.packed = tmp_b;
    }
    if (tmp_a) {
        lb_pack_parallel(k->gemm_pack_a, j, tmp_a, j->M, LB_GEMM_TILE_M);
        w.packed_a = tmp_a;
    }
    struct lb_gemm_run r = {k, &w, (j->N + LB_GEMM_TILE_N - 1) / LB_GEMM_TILE_N};
    size_t tiles_m = (j->M + LB_GEMM_TILE_M - 1) / LB_GEMM_TILE_M;
    lb_parallel_for(tiles_m * r.tiles_n, lb_gemm_task, &r);
    free(tmp_a);
    free(tmp_b);
    return LOWBIT_OK;
}

static lowbit_status lb_no_kernel(const lb_gemm_job *j)
{
    char fa[64], fb[64];
    lowbit_format_name(&j->a.q.format, fa, sizeof fa);
    lowbit_format_name(&j->b.q.format, fb, sizeof fb);
    return lb_fail(LOWBIT_ERR_INTERNAL, "no GEMM kernel for %s x %s under backend %s", fa, fb,
                   lowbit_backend_name(lowbit_get_backend()));
}

lowbit_status lb_gemm_job_init(lb_gemm_job *j, const lowbit_qtensor *a, const lowbit_qtensor *b, float alpha,
                               float beta, lowbit_dtype c_type, void *c, size_t ldc, const lowbit_gemm_opts *opts)
{
    lowbit_status s = lb_gemm_check_tensor(a, "a");
    if (s == LOWBIT_OK)
        s = lb_gemm_check_tensor(b, "b");
    if (s != LOWBIT_OK)
        return s;
    if ((s = lb_gemm_operands(j, a, b, opts)) != LOWBIT_OK)
        return s;
    size_t c_bytes;
    if ((s = lb_gemm_check_c(j, c_type, c, ldc, &c_bytes)) != LOWBIT_OK)
        return s;
    if (j->M && j->N && (lb_overlaps_operand(a, c, c_bytes) || lb_overlaps_operand(b, c, c_bytes)))
        return lb_fail(LOWBIT_ERR_ALIASING, "c overlaps the buffers of %s",
                       lb_overlaps_operand(a, c, c_bytes) ? "a" : "b");
    lb_gemm_scalars(j, alpha, beta);
    j->c_type = c_type;
    j->c = c;
    j->ldc = ldc;
    return LOWBIT_OK;
}

lowbit_status lowbit_gemm(const lowbit_qtensor *a, const lowbit_qtensor *b, float alpha, float beta,
                          lowbit_dtype c_type, void *c, size_t ldc, const lowbit_gemm_opts *opts)
{
    lb_gemm_job j;
    lowbit_status s = lb_gemm_job_init(&j, a, b, alpha, beta, c_type, c, ldc, opts);
    if (s != LOWBIT_OK)
        return s;
    if (j.M == 0 || j.N == 0)
        return lb_ok();
    const lb_kernel *k = lb_find_gemm(&j, opts && (opts->flags & LOWBIT_GEMM_ALLOW_FAST));
    if (!k)
        return lb_no_kernel(&j);
    if ((s = lb_run_gemm(k, &j)) != LOWBIT_OK)
        return s;
    return lb_ok();
}

/* ---- prepacked B ------------------------------------------------------
 * A packed buffer is a header followed, at body_off, either by the
 * kernel's own layout or (kernels without one) by B copied densely: data
 * at its tightest row stride, then scales, then zero points.  Offsets, not
 * pointers, so the buffer may be copied, saved or mapped anywhere. */

#define LB_PACK_MAGIC "lowbitPK"
#define LB_PACK_VERSION 1u
#define LB_PACK_ALIGN 64u

typedef struct lb_pack_header {
    char magic[8];
    uint32_t version, header_bytes;
    uint32_t lib_version;
    uint32_t a_fmt[6], b_fmt[6];  /* elem, scale_type, block_rows, block_cols, rule, flags */
    uint64_t n, k, b_stride;
    float b_tensor_scale;
    uint32_t own_layout;
    uint64_t data_off, scales_off, zps_off, body_off, total;
    char kernel[48];
    uint32_t checksum;            /* FNV-1a of everything above */
} lb_pack_header;

static uint32_t lb_fnv1a(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static void lb_fmt_words(const lowbit_format *f, uint32_t w[6])
{
    w[0] = (uint32_t)f->elem;
    w[1] = (uint32_t)f->scale_type;
    w[2] = f->block_rows;
    w[3] = f->block_cols;
    w[4] = (uint32_t)f->rule;
    w[5] = f->flags;
}

static lowbit_format lb_fmt_from_words(const uint32_t w[6])
{
    lowbit_format f;
    memset(&f, 0, sizeof f);
    f.elem = (lowbit_dtype)w[0];
    f.scale_type = (lowbit_dtype)w[1];
    f.block_rows = w[2];
    f.block_cols = w[3];
    f.rule = (lowbit_scale_rule)w[4];
    f.flags = w[5];
    return f;
}

static size_t lb_align_up(size_t x)
{
    return x > SIZE_MAX - LB_PACK_ALIGN ? SIZE_MAX : (x + LB_PACK_ALIGN - 1) & ~(size_t)(LB_PACK_ALIGN - 1);
}

/* Validate a pack request and plan the buffer: kernel, header, size. */
static lowbit_status lb_pack_plan(const lowbit_format *a_format, const lowbit_qtensor *b,
                                  const lowbit_gemm_opts *opts, lb_gemm_job *j, const lb_kernel **kp,
                                  lb_pack_header *h)
{
    lowbit_status s = lb_gemm_format_check(a_format, "a_format");
    if (s == LOWBIT_OK)
        s = lb_gemm_check_tensor(b, "b");
    if (s != LOWBIT_OK)
        return s;
    lowbit_qtensor a;
    memset(&a, 0, sizeof a);
    a.format = *a_format;
    a.cols = b->cols;
    a.tensor_scale = 1.0f;
    if ((s = lb_gemm_operands(j, &a, b, opts)) != LOWBIT_OK)
        return s;
    lb_gemm_scalars(j, 1.0f, 0.0f);
    const lb_kernel *k = lb_find_gemm(j, opts && (opts->flags & LOWBIT_GEMM_ALLOW_FAST));
    if (!k)
        return lb_no_kernel(j);
    *kp = k;

    lowbit_qtensor dense;
    if ((s = lowbit_qtensor_init(&dense, &b->format, b->rows, b->cols)) != LOWBIT_OK)
        return s;
    memset(h, 0, sizeof *h);
    memcpy(h->magic, LB_PACK_MAGIC, 8);
    h->version = LB_PACK_VERSION;
    h->header_bytes = sizeof *h;
    h->lib_version = LOWBIT_VERSION_MAJOR << 16 | LOWBIT_VERSION_MINOR << 8 | LOWBIT_VERSION_PATCH;
    lb_fmt_words(a_format, h->a_fmt);
    lb_fmt_words(&b->format, h->b_fmt);
    h->n = b->rows;
    h->k = b->cols;
    h->b_tensor_scale = b->tensor_scale;
    snprintf(h->kernel, sizeof h->kernel, "%s", k->name);
    h->body_off = lb_align_up(sizeof *h);
    size_t body;
    if (k->gemm_pack_size) {
        h->own_layout = 1;
        body = k->gemm_pack_size(j);
    } else {
        h->b_stride = dense.row_stride;
        h->data_off = h->body_off;
        h->scales_off = lb_align_up(lb_add_sat(h->data_off, dense.data_bytes));
        h->zps_off = lb_align_up(lb_add_sat(h->scales_off, dense.scales_bytes));
        body = lb_add_sat(h->zps_off - h->body_off, dense.zero_points_bytes);
    }
    h->total = lb_add_sat(h->body_off, body);
    if (h->total == SIZE_MAX)
        return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW, "the packed size of a %zu x %zu B overflows size_t", b->rows,
                       b->cols);
    h->checksum = lb_fnv1a(h, offsetof(lb_pack_header, checksum));
    return LOWBIT_OK;
}

lowbit_status lowbit_gemm_pack_size(const lowbit_format *a_format, const lowbit_qtensor *b,
                                    const lowbit_gemm_opts *opts, size_t *bytes)
{
    if (!bytes)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "bytes is NULL");
    lb_gemm_job j;
    const lb_kernel *k;
    lb_pack_header h;
    lowbit_status s = lb_pack_plan(a_format, b, opts, &j, &k, &h);
    if (s != LOWBIT_OK)
        return s;
    *bytes = (size_t)h.total;
    return lb_ok();
}

lowbit_status lowbit_gemm_pack(const lowbit_format *a_format, const lowbit_qtensor *b,
                               const lowbit_gemm_opts *opts, void *packed, size_t packed_bytes)
{
    lb_gemm_job j;
    const lb_kernel *k;
    lb_pack_header h;
    lowbit_status s = lb_pack_plan(a_format, b, opts, &j, &k, &h);
    if (s != LOWBIT_OK)
        return s;
    if (!packed)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "packed is NULL");
    if (packed_bytes < h.total)
        return lb_fail(LOWBIT_ERR_BUFFER_TOO_SMALL, "packed_bytes = %zu, the pack needs %zu (lowbit_gemm_pack_size)",
                       packed_bytes, (size_t)h.total);
    if (lb_overlaps_operand(b, packed, (size_t)h.total))
        return lb_fail(LOWBIT_ERR_ALIASING, "packed overlaps the buffers of b");
    uint8_t *base = packed;
    memset(base, 0, (size_t)h.body_off);
    memcpy(base, &h, sizeof h);
    if (h.own_layout) {
        if (j.N && j.K)
            lb_pack_parallel(k->gemm_pack, &j, base + h.body_off, j.N, LB_GEMM_TILE_N);
        return lb_ok();
    }
    /* Dense copy: rows at the tightest stride, then scales and zero points. */
    lowbit_qtensor dense;
    lowbit_qtensor_init(&dense, &b->format, b->rows, b->cols);
    size_t row_bytes = lowbit_dtype_bytes(b->format.elem, b->cols);
    for (size_t n = 0; n < b->rows && row_bytes; n++)
        memcpy(base + h.data_off + n * lowbit_dtype_bytes(b->format.elem, dense.row_stride),
               (const uint8_t *)b->data + lowbit_dtype_bytes(b->format.elem, n * b->row_stride), row_bytes);
    if (dense.scales_bytes)
        memcpy(base + h.scales_off, b->scales, dense.scales_bytes);
    if (dense.zero_points_bytes)
        memcpy(base + h.zps_off, b->zero_points, dense.zero_points_bytes);
    return lb_ok();
}

lowbit_status lowbit_gemm_packed(const lowbit_qtensor *a, const void *packed_b, size_t packed_bytes,
                                 float alpha, float beta, lowbit_dtype c_type, void *c, size_t ldc,
                                 const lowbit_gemm_opts *opts)
{
    lowbit_status s = lb_gemm_check_tensor(a, "a");
    if (s != LOWBIT_OK)
        return s;
    if (!packed_b)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "packed_b is NULL");
    lb_pack_header h;
    if (packed_bytes < sizeof h)
        return lb_fail(LOWBIT_ERR_BUFFER_TOO_SMALL, "packed_bytes = %zu is smaller than a pack header (%zu)",
                       packed_bytes, sizeof h);
    memcpy(&h, packed_b, sizeof h);
    if (memcmp(h.magic, LB_PACK_MAGIC, 8) != 0 || h.checksum != lb_fnv1a(&h, offsetof(lb_pack_header, checksum)))
        return lb_fail(LOWBIT_ERR_PACK_MISMATCH, "packed_b is not a buffer written by lowbit_gemm_pack");
    uint32_t lib = LOWBIT_VERSION_MAJOR << 16 | LOWBIT_VERSION_MINOR << 8 | LOWBIT_VERSION_PATCH;
    if (h.version != LB_PACK_VERSION || h.header_bytes != sizeof h || h.lib_version != lib)
        return lb_fail(LOWBIT_ERR_PACK_MISMATCH, "packed_b was written by lowbit %u.%u.%u (pack version %u); "
                       "repack with this library", h.lib_version >> 16, h.lib_version >> 8 & 0xFF,
                       h.lib_version & 0xFF, h.version);
    if (h.total > packed_bytes)
        return lb_fail(LOWBIT_ERR_BUFFER_TOO_SMALL, "packed_bytes = %zu, the pack holds %zu", packed_bytes,
                       (size_t)h.total);
    uint32_t aw[6];
    lb_fmt_words(&a->format, aw);
    if (memcmp(aw, h.a_fmt, sizeof aw) != 0) {
        char want[64], got[64];
        lowbit_format fa = lb_fmt_from_words(h.a_fmt);
        return lb_fail(LOWBIT_ERR_PACK_MISMATCH, "packed_b was packed for A of format %s; a is %s",
                       lowbit_format_name(&fa, want, sizeof want), lowbit_format_name(&a->format, got, sizeof got));
    }
    const uint8_t *base = packed_b;
    lowbit_qtensor b;
    memset(&b, 0, sizeof b);
    b.format = lb_fmt_from_words(h.b_fmt);
    b.rows = (size_t)h.n;
    b.cols = (size_t)h.k;
    b.tensor_scale = h.b_tensor_scale;
    if (!h.own_layout) {
        lowbit_qtensor dense;
        if (lowbit_qtensor_init(&dense, &b.format, b.rows, b.cols) != LOWBIT_OK)
            return lb_fail(LOWBIT_ERR_PACK_MISMATCH, "packed_b holds an invalid B format");
        b.row_stride = dense.row_stride;
        b.data = (void *)(base + h.data_off);
        b.scales = dense.scales_bytes ? (void *)(base + h.scales_off) : NULL;
        b.zero_points = dense.zero_points_bytes ? (void *)(base + h.zps_off) : NULL;
    }
    lb_gemm_job j;
    if ((s = lb_gemm_operands(&j, a, &b, opts)) != LOWBIT_OK)
        return s;
    size_t c_bytes;
    if ((s = lb_gemm_check_c(&j, c_type, c, ldc, &c_bytes)) != LOWBIT_OK)
        return s;
    if (j.M == 0 || j.N == 0)
        return lb_ok();
    if (lb_overlaps_operand(a, c, c_bytes) || lb_overlap(c, c_bytes, packed_b, (size_t)h.total))
        return lb_fail(LOWBIT_ERR_ALIASING, "c overlaps %s", lb_overlap(c, c_bytes, packed_b, (size_t)h.total)
                                                                 ? "packed_b" : "the buffers of a");
    lb_gemm_scalars(&j, alpha, beta);
    j.c_type = c_type;
    j.c = c;
    j.ldc = ldc;
    const lb_kernel *k = lb_find_gemm(&j, opts && (opts->flags & LOWBIT_GEMM_ALLOW_FAST));
    if (!k)
        return lb_no_kernel(&j);
    if (strncmp(k->name, h.kernel, sizeof h.kernel) != 0)
        return lb_fail(LOWBIT_ERR_PACK_MISMATCH, "packed_b was packed for kernel %s; this call runs %s "
                       "(backend %s): repack", h.kernel, k->name, lowbit_backend_name(lowbit_get_backend()));
    if (h.own_layout)
        j.packed = base + h.body_off;
    if ((s = lb_run_gemm(k, &j)) != LOWBIT_OK)
        return s;
    return lb_ok();
}
