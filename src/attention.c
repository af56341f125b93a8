/*
 * attention.c - the paged KV cache (layout, quantize on write) and
 * lowbit_attention: validation, kernel choice, and the fixed partition of
 * the work into tasks.
 */
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "attention_kv.h"
#include "../formats/scale.h"

#define LB_KV_ALIGN 64

static size_t lb_align_up(size_t x)
{
    return x > SIZE_MAX - (LB_KV_ALIGN - 1) ? SIZE_MAX : (x + LB_KV_ALIGN - 1) / LB_KV_ALIGN * LB_KV_ALIGN;
}

static int lb_is_wide(lowbit_dtype t)
{
    return t == LOWBIT_F32 || t == LOWBIT_F16 || t == LOWBIT_BF16;
}

/* The layout of a cache, from its format and shape (no pointers checked). */
static lowbit_status lb_kv_layout(const lowbit_kv_cache *c, const char *arg, lb_kv_view *v)
{
    memset(v, 0, sizeof *v);
    const lowbit_format *f = &c->format;
    if ((unsigned)f->elem >= LOWBIT_DTYPE_COUNT || (unsigned)f->scale_type > LOWBIT_DTYPE_COUNT)
        return lb_fail(LOWBIT_ERR_INVALID_ENUM, "%s->format: unknown element or scale type", arg);
    int plain = f->scale_type == LB_NO_SCALE;
    if (plain) {
        if (!lb_is_wide(f->elem))
            return lb_fail(LOWBIT_ERR_UNSUPPORTED,
                           "%s->format: an unscaled cache holds f32, f16 or bf16, not %s", arg,
                           lowbit_dtype_name(f->elem));
        v->scheme = LB_SCHEME_PLAIN;
    } else {
        lowbit_status s = lowbit_format_check(f);
        if (s != LOWBIT_OK)
            return s;
        v->scheme = lb_format_scheme(f);
        /* A tensor scale derived from the data would change as the cache
         * grows; a given one (a calibrated scale per head) does not. */
        if (v->scheme == LB_SCHEME_NVFP4 && !(f->flags & LOWBIT_FMT_GIVEN_TENSOR_SCALE))
            return lb_fail(LOWBIT_ERR_UNSUPPORTED,
                           "%s->format: NVFP4's derived tensor scale cannot follow a growing cache; set "
                           "LOWBIT_FMT_GIVEN_TENSOR_SCALE and give each head's in head_scales", arg);
        v->nv_head = v->scheme == LB_SCHEME_NVFP4;
    }
    if (c->head_dim == 0 || c->head_dim % 16 || c->head_dim > LB_ATTN_MAX_D)
        return lb_fail(LOWBIT_ERR_UNSUPPORTED, "%s->head_dim = %u: must be a multiple of 16 up to %d", arg,
                       c->head_dim, LB_ATTN_MAX_D);
    if (c->kv_heads == 0)
        return lb_fail(LOWBIT_ERR_SHAPE_MISMATCH, "%s->kv_heads is 0", arg);
    if (c->page_tokens == 0)
        return lb_fail(LOWBIT_ERR_SHAPE_MISMATCH, "%s->page_tokens is 0", arg);
    const uint32_t D = c->head_dim;
    v->elem = f->elem;
    v->scale_type = f->scale_type;
    v->rule = f->rule;
    v->D = D;
    v->page_tokens = c->page_tokens;
    v->code_value = v->scheme == LB_SCHEME_MX && f->elem == LOWBIT_INT8 ? 0x1p-6f : 1.0f;
    v->blk = D;
    v->nblk = 1;
    if (!plain) {
        if (f->block_rows == 0 && f->block_cols == 0) {
            if (v->scheme != LB_SCHEME_AMAX)
                return lb_fail(LOWBIT_ERR_UNSUPPORTED, "%s->format: a whole-tensor block needs an amax scale",
                               arg);
            v->per_head = 1;
        } else if (f->block_rows != 1) {
            return lb_fail(LOWBIT_ERR_UNSUPPORTED,
                           "%s->format: blocks of %u rows span several tokens; a cache needs blocks of one token",
                           arg, f->block_rows);
        } else if (f->block_cols != 0) {
            if (D % f->block_cols || f->block_cols % 16)
                return lb_fail(LOWBIT_ERR_BLOCK_SHAPE,
                               "%s->format: block of %u along head_dim %u; it must divide it and be a multiple of 16",
                               arg, f->block_cols, D);
            v->blk = f->block_cols;
            v->nblk = D / f->block_cols;
        }
    }
    v->row_bytes = lowbit_dtype_bytes(f->elem, D);
    if (!plain && !v->per_head)
        v->scale_bytes = lowbit_dtype_bytes(f->scale_type, v->nblk);
    if (v->scheme == LB_SCHEME_ZP)
        v->zp_bytes = lowbit_dtype_bytes(f->elem, v->nblk);
    size_t pt = c->page_tokens;
    v->scale_off = lb_align_up(lb_mul_sat(pt, v->row_bytes));
    v->zp_off = lb_align_up(lb_add_sat(v->scale_off, lb_mul_sat(pt, v->scale_bytes)));
    v->head_bytes = lb_align_up(lb_add_sat(v->zp_off, lb_mul_sat(pt, v->zp_bytes)));
    v->page_bytes = lb_mul_sat(v->head_bytes, c->kv_heads);
    if (v->page_bytes == SIZE_MAX)
        return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW, "%s: page of %zu tokens x %u heads overflows size_t", arg, pt,
                       c->kv_heads);
    return LOWBIT_OK;
}

lowbit_status lowbit_kv_page_bytes(const lowbit_kv_cache *cache, size_t *bytes)
{
    if (!cache)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "cache is NULL");
    if (!bytes)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "bytes is NULL");
    lb_kv_view v;
    lowbit_status s = lb_kv_layout(cache, "cache", &v);
    if (s != LOWBIT_OK)
        return s;
    *bytes = v.page_bytes;
    return lb_ok();
}

/* Layout plus the buffers: pages, their declared size, head scales. */
static lowbit_status lb_kv_check(const lowbit_kv_cache *c, const char *arg, int device, lb_kv_view *v)
{
    if (!c)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "%s is NULL", arg);
    lowbit_status s = lb_kv_layout(c, arg, v);
    if (s != LOWBIT_OK)
        return s;
    if (c->page_count && !c->pages)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "%s->pages is NULL", arg);
    size_t need = lb_mul_sat(c->page_count, v->page_bytes);
    if (need == SIZE_MAX || (c->pages && (uintptr_t)c->pages > UINTPTR_MAX - need))
        return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW, "%s: %zu pages of %zu bytes overflow the address space", arg,
                       c->page_count, v->page_bytes);
    if (c->pages_bytes < need)
        return lb_fail(LOWBIT_ERR_BUFFER_TOO_SMALL, "%s->pages_bytes = %zu, but %zu pages need %zu", arg,
                       c->pages_bytes, c->page_count, need);
    if ((v->per_head || v->nv_head) && !c->head_scales)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "%s->head_scales is NULL (the format has %s per head)", arg,
                       v->per_head ? "one scale" : "a tensor scale");
    if (v->per_head && !device)
        for (uint32_t h = 0; h < c->kv_heads; h++)
            if (!(c->head_scales[h] > 0.0f) || isinf(c->head_scales[h]))
                return lb_fail(LOWBIT_ERR_UNSUPPORTED, "%s->head_scales[%u] = %g: must be positive and finite", arg,
                               h, (double)c->head_scales[h]);
    /* NVFP4: what lowbit_quantize takes as a given tensor scale */
    if (v->nv_head && !device)
        for (uint32_t h = 0; h < c->kv_heads; h++)
            if (!(c->head_scales[h] >= 0x1p-126f && c->head_scales[h] <= FLT_MAX))
                return lb_fail(LOWBIT_ERR_OUT_OF_RANGE,
                               "%s->head_scales[%u] = %g: NVFP4's tensor scale must be a positive normal finite f32",
                               arg, h, (double)c->head_scales[h]);
    v->pages = c->pages;
    v->head_scales = v->per_head || v->nv_head ? c->head_scales : NULL;
    return LOWBIT_OK;
}

/* Positions [0, end) must map to pages that exist. */
static lowbit_status lb_kv_check_table(const lowbit_kv_cache *c, const int32_t *table, size_t table_len,
                                       size_t first, size_t end, int device)
{
    if (end <= first)
        return LOWBIT_OK;
    size_t p0 = first / c->page_tokens, p1 = (end - 1) / c->page_tokens + 1;
    if (!table) {
        if (p1 > c->page_count)
            return lb_fail(LOWBIT_ERR_BUFFER_TOO_SMALL,
                           "positions up to %zu need %zu pages, the cache has %zu (block_table NULL)", end, p1,
                           c->page_count);
        return LOWBIT_OK;
    }
    if (table_len < p1)
        return lb_fail(LOWBIT_ERR_BUFFER_TOO_SMALL, "block_table_len = %zu, positions up to %zu need %zu entries",
                       table_len, end, p1);
    for (size_t i = p0; i < p1 && !device; i++)
        if (table[i] < 0 || (size_t)table[i] >= c->page_count)
            return lb_fail(LOWBIT_ERR_OUT_OF_RANGE, "block_table[%zu] = %d is not a page of the cache (0..%zu)", i,
                           (int)table[i], c->page_count - 1);
    return LOWBIT_OK;
}

/* ---- quantize on write -------------------------------------------------- */

lowbit_status lb_kv_append_job_init(lb_kv_append_job *j, lowbit_kv_cache *cache, const int32_t *block_table,
                                    size_t block_table_len, size_t pos, size_t n_tokens, lowbit_dtype src_type,
                                    const void *src, size_t src_token_stride, int device)
{
    memset(j, 0, sizeof *j);
    lb_kv_view v;
    lowbit_status s = lb_kv_check(cache, "cache", device, &v);
    if (s != LOWBIT_OK)
        return s;
    if ((unsigned)src_type >= LOWBIT_DTYPE_COUNT)
        return lb_fail(LOWBIT_ERR_INVALID_ENUM, "src_type: unknown lowbit_dtype %d", (int)src_type);
    if (!lb_is_wide(src_type))
        return lb_fail(LOWBIT_ERR_UNSUPPORTED, "src_type: %s; new tokens come as f32, f16 or bf16",
                       lowbit_dtype_name(src_type));
    if (n_tokens == 0)
        return LOWBIT_OK;
    if (!src)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "src is NULL");
    size_t row = (size_t)cache->kv_heads * v.D;
    if (src_token_stride < row)
        return lb_fail(LOWBIT_ERR_BAD_STRIDE, "src_token_stride = %zu is below kv_heads x head_dim = %zu",
                       src_token_stride, row);
    if (pos > SIZE_MAX - n_tokens)
        return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW, "pos + n_tokens overflows size_t");
    size_t src_bytes = lb_matrix_bytes(src_type, n_tokens, row, src_token_stride);
    if (src_bytes == SIZE_MAX || (uintptr_t)src > UINTPTR_MAX - src_bytes)
        return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW, "src: %zu tokens x stride %zu overflows the address space",
                       n_tokens, src_token_stride);
    s = lb_kv_check_table(cache, block_table, block_table_len, pos, pos + n_tokens, device);
    if (s != LOWBIT_OK)
        return s;
    if (lb_overlap(src, src_bytes, cache->pages, cache->pages_bytes))
        return lb_fail(LOWBIT_ERR_ALIASING, "src overlaps cache->pages");
    /* The table entries and head scales are read while the pages are written. */
    if (block_table && lb_overlap(cache->pages, cache->pages_bytes, block_table + pos / v.page_tokens,
                                  sizeof(int32_t) * ((pos + n_tokens - 1) / v.page_tokens - pos / v.page_tokens + 1)))
        return lb_fail(LOWBIT_ERR_ALIASING, "block_table overlaps cache->pages");
    if (v.head_scales && lb_overlap(cache->pages, cache->pages_bytes, cache->head_scales, 4 * (size_t)cache->kv_heads))
        return lb_fail(LOWBIT_ERR_ALIASING, "cache->head_scales overlaps cache->pages");
    j->v = v;
    j->pages = cache->pages;
    j->table = block_table;
    j->pos = pos;
    j->n_tokens = n_tokens;
    j->kv_heads = cache->kv_heads;
    j->elem_bits = lowbit_dtype_bits(v.elem);
    j->src_bits = lowbit_dtype_bits(src_type);
    j->src_type = src_type;
    j->src = src;
    j->src_stride = src_token_stride;
    return LOWBIT_OK;
}

lowbit_status lowbit_kv_append(lowbit_kv_cache *cache, const int32_t *block_table, size_t block_table_len,
                               size_t pos, size_t n_tokens, lowbit_dtype src_type, const void *src,
                               size_t src_token_stride)
{
    lb_kv_append_job job;
    lowbit_status s = lb_kv_append_job_init(&job, cache, block_table, block_table_len, pos, n_tokens, src_type, src,
                                            src_token_stride, 0);
    if (s != LOWBIT_OK)
        return s;
    if (job.n_tokens == 0)
        return lb_ok();
    const lb_kv_view v = job.v;
    const lb_kernel *k = NULL, *cast_k = NULL;
    if (v.scheme == LB_SCHEME_PLAIN)
        cast_k = lb_find_convert(v.elem, src_type, LB_ROUND_NE);
    if (v.scheme != LB_SCHEME_PLAIN && !v.per_head) {
        k = lb_find_quantize(v.scheme, v.elem, src_type, LB_ROUND_NE);
        if (!k)
            return lb_fail(LOWBIT_ERR_INTERNAL, "no quantize kernel registered for the cache format");
    }
    const lb_cvt_params p = {LB_ROUND_NE, 1, 0, 0};
    const lb_cvt_params cast = {LB_ROUND_NE, 0, 0, 0}; /* a plain cache stores a cast: overflow to Inf */
    const unsigned src_bits = lowbit_dtype_bits(src_type), bits = lowbit_dtype_bits(v.elem);
    uint8_t *pages = cache->pages;
    for (size_t t = 0; t < n_tokens; t++) {
        size_t at = pos + t;
        for (uint32_t h = 0; h < cache->kv_heads; h++) {
            lb_kv_token slot = lb_kv_locate(&v, block_table, at, h);
            uint8_t *dst = pages + (slot.row - v.pages);
            const uint8_t *x = (const uint8_t *)src + (t * src_token_stride + (size_t)h * v.D) * src_bits / 8;
            if (v.scheme == LB_SCHEME_PLAIN) {
                lb_run_convert(cast_k, dst, v.elem, x, src_type, v.D, &cast);
            } else if (v.per_head) {
                /* One fixed scale: encode against it, as lowbit_quantize does
                 * once the scale is known. */
                uint8_t codes[LB_ATTN_MAX_D];
                for (uint32_t d = 0; d < v.D; d++) {
                    uint32_t c = lb_amax_encode(v.elem, lb_load_f32(src_type, x, d), slot.head_scale, LB_ROUND_NE, 0);
                    codes[d] = (uint8_t)(bits == 8 ? c : c & ((1u << bits) - 1u));
                }
                lb_pack_codes(bits, dst, codes, v.D);
            } else {
                lowbit_qtensor q;
                memset(&q, 0, sizeof q);
                q.format = cache->format;
                q.data = dst;
                q.scales = pages + (slot.scales - v.pages);
                q.zero_points = v.zp_bytes ? pages + (slot.zps - v.pages) : NULL;
                q.tensor_scale = slot.head_scale; /* NVFP4: the head's given s_t; unused otherwise */
                q.rows = 1;
                q.cols = v.D;
                q.row_stride = v.D;
                q.data_bytes = v.row_bytes;
                q.scales_bytes = v.scale_bytes;
                q.zero_points_bytes = v.zp_bytes;
                lb_run_quantize(k, &q, src_type, x, v.D, &p);
            }
        }
    }
    return lb_ok();
}

/* ---- attention ----------------------------------------------------------- */

static int lb_q_type_ok(lowbit_dtype t)
{
    return lb_is_wide(t) || t == LOWBIT_E4M3 || t == LOWBIT_E5M2 || t == LOWBIT_E4M3FNUZ ||
           t == LOWBIT_E5M2FNUZ;
}

lowbit_status lb_attn_job_init(lb_attn_job *j, const lowbit_attention_args *a, int device)
{
    memset(j, 0, sizeof *j);
    if (!a)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "args is NULL");
    if (a->flags & ~LOWBIT_ATTN_CAUSAL)
        return lb_fail(LOWBIT_ERR_INVALID_ENUM, "args->flags: unknown bits 0x%x", a->flags & ~LOWBIT_ATTN_CAUSAL);
    if ((unsigned)a->q_type >= LOWBIT_DTYPE_COUNT)
        return lb_fail(LOWBIT_ERR_INVALID_ENUM, "args->q_type: unknown lowbit_dtype %d", (int)a->q_type);
    if (!lb_q_type_ok(a->q_type))
        return lb_fail(LOWBIT_ERR_UNSUPPORTED, "args->q_type: %s; Q is f32, f16, bf16 or an FP8 type",
                       lowbit_dtype_name(a->q_type));
    if ((unsigned)a->out_type >= LOWBIT_DTYPE_COUNT)
        return lb_fail(LOWBIT_ERR_INVALID_ENUM, "args->out_type: unknown lowbit_dtype %d", (int)a->out_type);
    if (!lb_is_wide(a->out_type))
        return lb_fail(LOWBIT_ERR_UNSUPPORTED, "args->out_type: %s; the output is f32, f16 or bf16",
                       lowbit_dtype_name(a->out_type));
    lowbit_status s = lb_kv_check(a->k, "args->k", device, &j->k);
    if (s != LOWBIT_OK)
        return s;
    s = lb_kv_check(a->v, "args->v", device, &j->v);
    if (s != LOWBIT_OK)
        return s;
    if (a->k->head_dim != a->v->head_dim || a->k->kv_heads != a->v->kv_heads ||
        a->k->page_tokens != a->v->page_tokens)
        return lb_fail(LOWBIT_ERR_SHAPE_MISMATCH,
                       "args->k and args->v differ in head_dim (%u, %u), kv_heads (%u, %u) or page_tokens (%u, %u)",
                       a->k->head_dim, a->v->head_dim, a->k->kv_heads, a->v->kv_heads, a->k->page_tokens,
                       a->v->page_tokens);
    if (a->q_heads == 0 || a->q_heads % a->k->kv_heads)
        return lb_fail(LOWBIT_ERR_SHAPE_MISMATCH, "args->q_heads = %u is not a positive multiple of kv_heads = %u",
                       a->q_heads, a->k->kv_heads);
    j->q_tokens = a->q_tokens;
    j->kv_len = a->kv_len;
    j->q_pos = a->q_pos;
    j->q_heads = a->q_heads;
    j->kv_heads = a->k->kv_heads;
    j->group = a->q_heads / a->k->kv_heads;
    j->D = a->k->head_dim;
    j->q_type = a->q_type;
    j->q = a->q;
    j->q_stride = a->q_stride;
    j->score_scale = lb_is_wide(a->q_type) ? a->scale : a->scale * a->q_scale;
    j->table = a->block_table;
    j->causal = (a->flags & LOWBIT_ATTN_CAUSAL) != 0;
    j->mask = a->mask;
    j->mask_stride = a->mask_stride;
    j->out_type = a->out_type;
    j->out = a->out;
    j->out_stride = a->out_stride;
    if (a->q_tokens == 0)
        return LOWBIT_OK;

    if (!a->q)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "args->q is NULL");
    if (!a->out)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "args->out is NULL");
    size_t row = (size_t)a->q_heads * j->D;
    if (a->q_stride < row)
        return lb_fail(LOWBIT_ERR_BAD_STRIDE, "args->q_stride = %zu is below q_heads x head_dim = %zu", a->q_stride,
                       row);
    if (a->out_stride < row)
        return lb_fail(LOWBIT_ERR_BAD_STRIDE, "args->out_stride = %zu is below q_heads x head_dim = %zu",
                       a->out_stride, row);
    size_t q_bytes = lb_matrix_bytes(a->q_type, a->q_tokens, row, a->q_stride);
    if (q_bytes == SIZE_MAX || (uintptr_t)a->q > UINTPTR_MAX - q_bytes)
        return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW, "args->q: %zu tokens x stride %zu overflows the address space",
                       a->q_tokens, a->q_stride);
    size_t out_bytes = lb_matrix_bytes(a->out_type, a->q_tokens, row, a->out_stride);
    if (out_bytes == SIZE_MAX || (uintptr_t)a->out > UINTPTR_MAX - out_bytes)
        return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW, "args->out: %zu tokens x stride %zu overflows the address space",
                       a->q_tokens, a->out_stride);
    size_t mask_bytes = 0;
    if (a->mask && a->kv_len) {
        if (a->mask_stride < a->kv_len)
            return lb_fail(LOWBIT_ERR_BAD_STRIDE, "args->mask_stride = %zu is below kv_len = %zu", a->mask_stride,
                           a->kv_len);
        mask_bytes = lb_matrix_bytes(LOWBIT_F32, a->q_tokens, a->kv_len, a->mask_stride);
        if (mask_bytes == SIZE_MAX || (uintptr_t)a->mask > UINTPTR_MAX - mask_bytes)
            return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW, "args->mask: %zu rows x stride %zu overflows the address space",
                           a->q_tokens, a->mask_stride);
    }
    if (a->q_pos > SIZE_MAX - a->q_tokens)
        return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW, "args->q_pos + q_tokens overflows size_t");
    s = lb_kv_check_table(a->k, a->block_table, a->block_table_len, 0, a->kv_len, device);
    if (s != LOWBIT_OK)
        return s;
    s = lb_kv_check_table(a->v, a->block_table, a->block_table_len, 0, a->kv_len, device);
    if (s != LOWBIT_OK)
        return s;
    if (lb_overlap(a->out, out_bytes, a->q, q_bytes) || lb_overlap(a->out, out_bytes, a->mask, mask_bytes) ||
        lb_overlap(a->out, out_bytes, a->k->pages, a->k->pages_bytes) ||
        lb_overlap(a->out, out_bytes, a->v->pages, a->v->pages_bytes) ||
        (a->k->head_scales && lb_overlap(a->out, out_bytes, a->k->head_scales, 4 * (size_t)a->k->kv_heads)) ||
        (a->v->head_scales && lb_overlap(a->out, out_bytes, a->v->head_scales, 4 * (size_t)a->v->kv_heads)))
        return lb_fail(LOWBIT_ERR_ALIASING, "args->out overlaps an input (q, mask, a cache or its scales)");
    /* the entries read for positions 0 .. kv_len - 1 */
    if (a->block_table && a->kv_len &&
        lb_overlap(a->out, out_bytes, a->block_table, sizeof(int32_t) * ((a->kv_len - 1) / a->k->page_tokens + 1)))
        return lb_fail(LOWBIT_ERR_ALIASING, "args->out overlaps args->block_table");
    return LOWBIT_OK;
}

const lb_kernel *lb_find_attention(const lb_attn_job *j)
{
    (void)j;
    lowbit_backend cap = lowbit_get_backend();
    const lb_kernel *best = NULL;
    for (size_t i = 0; i < lb_registry_size; i++) {
        const lb_kernel *k = lb_registry[i];
        if (k->op != LOWBIT_OP_ATTENTION || !lb_backend_allows(cap, k->backend) ||
            (lowbit_cpu_features() & k->cpu_features) != k->cpu_features)
            continue;
        if (!best || lb_rung_of(k->backend) > lb_rung_of(best->backend))
            best = k;
    }
    return best;
}

/* Tasks: (kv head, chunk of its query heads, tile of query tokens), each
 * at most LB_ATTN_TASK_ROWS output rows.  Every output row is computed
 * whole by one task, so the partition spreads work and changes no bits. */
struct lb_attn_run {
    const lb_kernel *k;
    const lb_attn_job *j;
    size_t heads_per_task, chunks_per_kv, tokens_per_task, token_tiles;
    uint8_t *scratch;           /* nslots slots of slot_bytes */
    size_t slot_bytes, nslots;
    atomic_uchar *busy;
};

static void lb_attention_task(void *ctx, size_t task)
{
    struct lb_attn_run *r = ctx;
    const lb_attn_job *j = r->j;
    size_t tile = task % r->token_tiles, rest = task / r->token_tiles;
    size_t chunk = rest % r->chunks_per_kv, kvh = rest / r->chunks_per_kv;
    size_t h0 = kvh * j->group + chunk * r->heads_per_task;
    size_t h1 = h0 + r->heads_per_task < (kvh + 1) * j->group ? h0 + r->heads_per_task : (kvh + 1) * j->group;
    size_t q0 = tile * r->tokens_per_task;
    size_t q1 = q0 + r->tokens_per_task < j->q_tokens ? q0 + r->tokens_per_task : j->q_tokens;
    /* One slot per thread that can run at once, so a free one is always
     * there; the flag keeps two tasks off one slot. */
    size_t slot = 0;
    if (r->nslots)
        while (atomic_exchange_explicit(&r->busy[slot], 1, memory_order_acquire))
            slot = (slot + 1) % r->nslots;
    r->k->attention(j, h0, h1, q0, q1, r->nslots ? r->scratch + slot * r->slot_bytes : NULL);
    if (r->nslots)
        atomic_store_explicit(&r->busy[slot], 0, memory_order_release);
}

lowbit_status lb_run_attention(const lb_kernel *k, const lb_attn_job *j)
{
    struct lb_attn_run r = {.k = k, .j = j};
    r.heads_per_task = j->group < LB_ATTN_TASK_ROWS ? j->group : LB_ATTN_TASK_ROWS;
    r.chunks_per_kv = (j->group + r.heads_per_task - 1) / r.heads_per_task;
    r.tokens_per_task = LB_ATTN_TASK_ROWS / r.heads_per_task;
    r.token_tiles = (j->q_tokens + r.tokens_per_task - 1) / r.tokens_per_task;
    size_t ntasks = j->kv_heads * r.chunks_per_kv * r.token_tiles;
    if (k->attention_scratch) {
        size_t threads = (size_t)lowbit_get_num_threads();
        r.nslots = threads < ntasks ? threads : ntasks;
        r.slot_bytes = (k->attention_scratch(j) + 63) / 64 * 64;
        r.scratch = aligned_alloc(64, r.nslots * r.slot_bytes);
        r.busy = calloc(r.nslots, sizeof *r.busy);
        if (!r.scratch || !r.busy) {
            free(r.scratch);
            free(r.busy);
            return lb_fail(LOWBIT_ERR_OUT_OF_MEMORY, "attention: %zu bytes of scratch", r.nslots * r.slot_bytes);
        }
    }
    lb_parallel_for(ntasks, lb_attention_task, &r);
    free(r.scratch);
    free(r.busy);
    return LOWBIT_OK;
}

lowbit_status lowbit_attention(const lowbit_attention_args *args)
{
    lb_attn_job j;
    lowbit_status s = lb_attn_job_init(&j, args, 0);
    if (s != LOWBIT_OK)
        return s;
    if (j.q_tokens == 0)
        return lb_ok();
    const lb_kernel *k = lb_find_attention(&j);
    if (!k)
        return lb_fail(LOWBIT_ERR_INTERNAL, "no attention kernel registered");
    s = lb_run_attention(k, &j);
    return s == LOWBIT_OK ? lb_ok() : s;
}
