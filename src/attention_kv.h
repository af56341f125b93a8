/*
 * attention_kv.h - reading a paged KV cache token by token: where a token's
 * head vector, its scales and zero points live, and their values.  The
 * reference attention computes with these and the SIMD kernels load through
 * the same addresses, so every backend starts from the same numbers.
 */
#ifndef LOWBIT_ATTENTION_KV_H
#define LOWBIT_ATTENTION_KV_H

#include "internal.h"
#include "../formats/codec.h"
#include "../formats/scale.h"

/* One token's head vector in the cache. */
typedef struct lb_kv_token {
    const uint8_t *row;     /* head_dim codes */
    const uint8_t *scales;  /* nblk scales (none for plain and per-head formats) */
    const uint8_t *zps;     /* nblk zero points, packed like the elements */
    float head_scale;       /* the per-head FP8 scale or NVFP4 tensor scale, else 1 */
} lb_kv_token;

/* Token `slot` of logical page `lpage` (position lpage * page_tokens + slot). */
static inline lb_kv_token lb_kv_locate_at(const lb_kv_view *v, const int32_t *table, size_t lpage, size_t slot,
                                          uint32_t head)
{
    size_t page = table ? (size_t)table[lpage] : lpage;
    const uint8_t *base = v->pages + page * v->page_bytes + head * v->head_bytes;
    lb_kv_token t;
    t.row = base + slot * v->row_bytes;
    t.scales = base + v->scale_off + slot * v->scale_bytes;
    t.zps = base + v->zp_off + slot * v->zp_bytes;
    t.head_scale = v->head_scales ? v->head_scales[head] : 1.0f;
    return t;
}

static inline lb_kv_token lb_kv_locate(const lb_kv_view *v, const int32_t *table, size_t pos, uint32_t head)
{
    return lb_kv_locate_at(v, table, pos / v->page_tokens, pos % v->page_tokens, head);
}

/* Walking positions in order without a division per step. */
typedef struct lb_kv_cursor {
    size_t lpage, slot;
} lb_kv_cursor;

static inline lb_kv_cursor lb_kv_cursor_at(const lb_kv_view *v, size_t pos)
{
    lb_kv_cursor c = {pos / v->page_tokens, pos % v->page_tokens};
    return c;
}

static inline void lb_kv_cursor_next(const lb_kv_view *v, lb_kv_cursor *c)
{
    if (++c->slot == v->page_tokens) {
        c->slot = 0;
        c->lpage++;
    }
}

/* The f32 scale of block b of a token (1 for a plain format; for NVFP4
 * the f32 product of the head's tensor scale and the E4M3 block scale, as
 * lowbit_dequantize multiplies by). */
static inline float lb_kv_scale(const lb_kv_view *v, const lb_kv_token *t, uint32_t b)
{
    if (v->per_head)
        return t->head_scale;
    if (v->scheme == LB_SCHEME_PLAIN)
        return 1.0f;
    if (v->nv_head)
        return lb_nv_divisor(lb_load_code(v->scale_type, t->scales, b), t->head_scale);
    return lb_decode(v->scale_type, lb_load_code(v->scale_type, t->scales, b));
}

/* Zero point of block b as an integer (0 without zero points). */
static inline int32_t lb_kv_zero_point(const lb_kv_view *v, const lb_kv_token *t, uint32_t b)
{
    if (v->scheme != LB_SCHEME_ZP)
        return 0;
    return (int32_t)lb_decode(v->elem, lb_load_code(v->elem, t->zps, b));
}

/* Element d's value as f32: the decoded code (times 2^-6 for MXINT8), less
 * the zero point; exact for every format. */
static inline float lb_kv_elem(const lb_kv_view *v, const lb_kv_token *t, uint32_t d)
{
    float x = lb_decode(v->elem, lb_load_code(v->elem, t->row, d)) * v->code_value;
    if (v->scheme == LB_SCHEME_ZP)
        x = (float)((int32_t)x - lb_kv_zero_point(v, t, d / v->blk));
    return x;
}

/* Element d of query token i, head h, as f32 (exact; q_scale is applied to
 * the score, not here). */
static inline float lb_attn_q_elem(const lb_attn_job *j, size_t i, size_t h, uint32_t d)
{
    return lb_decode(j->q_type, lb_load_code(j->q_type, j->q, i * j->q_stride + h * j->D + d));
}

/* Keys visible to query token i: [0, lb_attn_visible(j, i)). */
static inline size_t lb_attn_visible(const lb_attn_job *j, size_t i)
{
    if (!j->causal)
        return j->kv_len;
    size_t last = j->q_pos + i + 1;
    return last < j->kv_len ? last : j->kv_len;
}

/* Store one output element (rounded once, canonical NaN). */
static inline void lb_attn_store(const lb_attn_job *j, size_t i, size_t h, uint32_t d, float x)
{
    size_t idx = i * j->out_stride + h * j->D + d;
    if (j->out_type == LOWBIT_F32) {
        uint32_t c = x != x ? 0x7FC00000u : lb_f32_bits(x);
        memcpy(j->out + 4 * idx, &c, 4);
    } else {
        uint16_t c = (uint16_t)(x != x ? (j->out_type == LOWBIT_F16 ? 0x7E00u : 0x7FC0u)
                                       : lb_encode(j->out_type, x, LB_ROUND_NE, 0, 0));
        memcpy(j->out + 2 * idx, &c, 2);
    }
}

#endif
