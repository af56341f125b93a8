/*
 * attention_tmpl.c - the exact attention kernel, written once for every
 * vector ISA (included by kernels/cpu/<isa>/attention_<isa>.c after that
 * ISA's vec_<isa>.h).  It performs the reference's arithmetic
 * (kernels/cpu/ref/attention_ref.c) operation for operation:
 *
 *  - a task's rows (query heads of one kv head x query tokens) share each
 *    key tile, walked in runs of consecutive tokens of one page (contiguous
 *    rows): its block scales are decoded into scratch, and its K and V rows
 *    either decoded once into f32 scratch (exact) for every row to read, or,
 *    when few rows share the tile (decode), read in place and decoded in
 *    registers where they are used (in_place_rows); same values either way;
 *  - the score's sixteen lane sums are LB_ATTN_LANES / LBV_N vectors, so
 *    the per-lane fmaf chains are the vector FMAs; the lane tree adds
 *    vectors first (lanes 8 apart, then 4 ... while they are in different
 *    vectors) and finishes inside one vector in the same pairing;
 *  - exp is lbv_expf, formats/exp.h lane-wise;
 *  - the PV update keeps o in registers over a chunk of 64 elements and
 *    runs the keys in increasing order for each chunk: every o_d sees the
 *    same fmaf sequence as in the reference, only the d are interleaved.
 *
 * Scratch (about 110 KiB at head_dim 128: too much for a caller's thread
 * stack) comes from the driver, one slot per running thread, allocated
 * once per call.
 */
#include <math.h>
#include <stdlib.h>
#include "elem_vec.h"
#include "../../../src/internal.h"
#include "../../../src/attention_kv.h"
#include "../../../formats/exp.h"

#define ANV (LB_ATTN_LANES / LBV_N)          /* vectors per 16 lanes */
#define KT LB_ATTN_KEY_TILE
#define MAXB (LB_ATTN_MAX_D / 16)            /* most blocks a row can have */
#define CHUNK 64                              /* PV elements kept in registers */
#define CHV (CHUNK / LBV_N)

/* formats/exp.h, lane-wise: the same operations in the same order. */
LBV_FI lbv_f32 lbv_expf(lbv_f32 x)
{
    x = lbv_as_f32(lbv_sel(x < LB_EXP_LO, lbv_as_u32(lbv_splat_f32(LB_EXP_LO)), lbv_as_u32(x)));
    x = lbv_as_f32(lbv_sel(x > LB_EXP_HI, lbv_as_u32(lbv_splat_f32(LB_EXP_HI)), lbv_as_u32(x)));
    lbv_f32 t = x * LB_EXP_LOG2E;
    lbv_f32 big = t + LB_EXP_SHIFTER;
    lbv_f32 nf = big - LB_EXP_SHIFTER;
    lbv_i32 n = (lbv_i32)(lbv_as_u32(big) - lb_f32_bits(LB_EXP_SHIFTER));
    lbv_f32 r = lbv_fma(nf, lbv_splat_f32(-LB_EXP_LN2_HI), x);
    r = lbv_fma(nf, lbv_splat_f32(-LB_EXP_LN2_LO), r);
    lbv_f32 q = lbv_splat_f32(LB_EXP_C6);
    q = lbv_fma(q, r, lbv_splat_f32(LB_EXP_C5));
    q = lbv_fma(q, r, lbv_splat_f32(LB_EXP_C4));
    q = lbv_fma(q, r, lbv_splat_f32(LB_EXP_C3));
    q = lbv_fma(q, r, lbv_splat_f32(LB_EXP_C2));
    lbv_f32 p = lbv_fma(q, r * r, r) + 1.0f;
    lbv_i32 n1 = n / 2, n2 = n - n1;
    lbv_f32 f1 = lbv_as_f32((lbv_u32)(n1 + 127) << 23);
    lbv_f32 f2 = lbv_as_f32((lbv_u32)(n2 + 127) << 23);
    return (p * f1) * f2;
}

/* x in every lane, bit for bit.  lbv_splat_f32 computes 0 + x, an add
 * the compiler must keep (it turns -0 into +0), one more dependent
 * instruction on every scale and weight of the hot loops. */
LBV_FI lbv_f32 bcast(float x)
{
    return lbv_as_f32(lbv_splat(lb_f32_bits(x)));
}

LBV_FI lbv_f32 ld(const float *p)
{
    return lbv_as_f32(lbv_load(p));
}

LBV_FI void st(float *p, lbv_f32 v)
{
    lbv_store(p, lbv_as_u32(v));
}

/* LBV_N integer codes (INT8, INT4, UINT4) from element i of row, as
 * integers: zero points are subtracted before the one exact conversion. */
LBV_FI lbv_i32 int_codes(const lowbit_dtype e, const uint8_t *row, uint32_t i)
{
    lbv_u32 c = load_codes(lb_bits(e), row, i);
    return e == LOWBIT_INT8 ? (lbv_i32)(c << 24) >> 24 : e == LOWBIT_INT4 ? (lbv_i32)(c << 28) >> 28 : (lbv_i32)c;
}

/* One zero-pointed token row as exact f32, less its block zero points
 * (lb_kv_zero_point with the type a constant, so the codec folds). */
LBV_FI void decode_zp_row_as(const lowbit_dtype e, const lb_kv_view *v, const lb_kv_token *t, float *dst)
{
    for (uint32_t b = 0; b < v->nblk; b++) {
        const int32_t zp = (int32_t)lb_decode(e, lb_load_code(e, t->zps, b));
        for (uint32_t d = b * v->blk; d < (b + 1) * v->blk; d += LBV_N)
            st(dst + d, lbv_i32_to_f32(int_codes(e, t->row, d) - zp));
    }
}

/* n consecutive elements of type e from p as f32 (times code_value when
 * scaled is set: MXINT8), n a multiple of LB_ATTN_LANES.  The tokens of a
 * page run sit back to back, so a whole run is one span. */
LBV_FI void decode_span_as(const lowbit_dtype e, const uint8_t *p, size_t n, int scaled, float code_value,
                           float *dst)
{
#pragma GCC unroll 4
    for (size_t d = 0; d < n; d += LBV_N) {
        lbv_f32 x = lbv_as_f32(load_f32bits(e, p, d));
        if (scaled)
            x = x * code_value;
        st(dst + d, x);
    }
}

/* n scales of type t from p as f32 (lb_kv_scale's values). */
LBV_FI void decode_scales_as(const lowbit_dtype t, const uint8_t *p, size_t n, float *dst)
{
    size_t i = 0;
    for (; i + LBV_N <= n; i += LBV_N)
        st(dst + i, lbv_as_f32(load_f32bits(t, p, i)));
    for (; i < n; i++)
        dst[i] = lb_decode(t, lb_load_code(t, p, i));
}

static void decode_scales(lowbit_dtype t, const uint8_t *p, size_t n, float *dst)
{
    switch (t) {
    case LOWBIT_E8M0: decode_scales_as(LOWBIT_E8M0, p, n, dst); break;
    case LOWBIT_E4M3: decode_scales_as(LOWBIT_E4M3, p, n, dst); break;
    case LOWBIT_F16:  decode_scales_as(LOWBIT_F16, p, n, dst); break;
    case LOWBIT_BF16: decode_scales_as(LOWBIT_BF16, p, n, dst); break;
    case LOWBIT_F32:  decode_scales_as(LOWBIT_F32, p, n, dst); break;
    default:
        for (size_t i = 0; i < n; i++)
            dst[i] = lb_decode(t, lb_load_code(t, p, i));
        break;
    }
}

/* The block scales of `count` consecutive tokens of one page starting at
 * t, nblk per token, at sc. */
static void decode_run_scales(const lb_kv_view *v, const lb_kv_token *t, size_t count, float *sc)
{
    const size_t ns = count * v->nblk;
    if (v->per_head || v->scheme == LB_SCHEME_PLAIN) {
        const float s = v->per_head ? t->head_scale : 1.0f;
        for (size_t i = 0; i < ns; i++)
            sc[i] = s;
    } else if (v->nv_head) {
        /* E4M3 block scales times the head's tensor scale: lb_nv_divisor's
         * f32 product (s_t is finite and positive, so a NaN scale stays the
         * decoded NaN) */
        decode_scales(LOWBIT_E4M3, t->scales, ns, sc);
        const float s_t = t->head_scale;
        for (size_t i = 0; i < ns; i++)
            sc[i] = s_t * sc[i];
    } else {
        decode_scales(v->scale_type, t->scales, ns, sc);
    }
}

/* The zero points of `count` consecutive tokens of one page starting at
 * t, nblk per token, at z (lb_kv_zero_point's values). */
LBV_FI void decode_run_zero_points_as(const lowbit_dtype e, const lb_kv_view *v, const lb_kv_token *t, size_t count,
                                      int32_t *z)
{
    for (size_t i = 0; i < count; i++)
        for (uint32_t b = 0; b < v->nblk; b++)
            z[i * v->nblk + b] = (int32_t)lb_decode(e, lb_load_code(e, t->zps + i * v->zp_bytes, b));
}

static void decode_run_zero_points(const lb_kv_view *v, const lb_kv_token *t, size_t count, int32_t *z)
{
    switch (v->elem) {
    case LOWBIT_INT8:  decode_run_zero_points_as(LOWBIT_INT8, v, t, count, z); break;
    case LOWBIT_INT4:  decode_run_zero_points_as(LOWBIT_INT4, v, t, count, z); break;
    default:           decode_run_zero_points_as(LOWBIT_UINT4, v, t, count, z); break;
    }
}

/* `count` consecutive tokens of one page starting at t, as exact f32 rows
 * (zero points applied) at dst, D apart. */
LBV_FI void decode_run_as(const lowbit_dtype e, const lb_kv_view *v, const lb_kv_token *t, size_t count, float *dst)
{
    const uint32_t D = v->D;
    if (v->scheme == LB_SCHEME_ZP) {
        for (size_t i = 0; i < count; i++) {
            lb_kv_token ti = *t;
            ti.row += i * v->row_bytes;
            ti.zps += i * v->zp_bytes;
            decode_zp_row_as(e, v, &ti, dst + i * D);
        }
    } else if (v->code_value != 1.0f) {
        decode_span_as(e, t->row, count * D, 1, v->code_value, dst);
    } else {
        decode_span_as(e, t->row, count * D, 0, 1.0f, dst);
    }
}

static void decode_run(const lb_kv_view *v, const lb_kv_token *t, size_t count, float *dst)
{
    switch (v->elem) {
#define DECODE_CASE(T) case T: decode_run_as(T, v, t, count, dst); break;
    DECODE_CASE(LOWBIT_F32) DECODE_CASE(LOWBIT_F16) DECODE_CASE(LOWBIT_BF16)
    DECODE_CASE(LOWBIT_E4M3) DECODE_CASE(LOWBIT_E5M2) DECODE_CASE(LOWBIT_E4M3FNUZ) DECODE_CASE(LOWBIT_E5M2FNUZ)
    DECODE_CASE(LOWBIT_E3M2) DECODE_CASE(LOWBIT_E2M3) DECODE_CASE(LOWBIT_E2M1)
    DECODE_CASE(LOWBIT_INT8) DECODE_CASE(LOWBIT_INT4) DECODE_CASE(LOWBIT_UINT4)
#undef DECODE_CASE
    default: break; /* validated away */
    }
}

/* Query rows: f32, bf16, f16 or FP8, never scaled or zero-pointed. */
static void decode_q(lowbit_dtype e, const uint8_t *p, uint32_t D, float *dst)
{
    switch (e) {
    case LOWBIT_F32:  decode_span_as(LOWBIT_F32, p, D, 0, 1.0f, dst); break;
    case LOWBIT_F16:  decode_span_as(LOWBIT_F16, p, D, 0, 1.0f, dst); break;
    case LOWBIT_BF16: decode_span_as(LOWBIT_BF16, p, D, 0, 1.0f, dst); break;
    case LOWBIT_E4M3: decode_span_as(LOWBIT_E4M3, p, D, 0, 1.0f, dst); break;
    case LOWBIT_E5M2: decode_span_as(LOWBIT_E5M2, p, D, 0, 1.0f, dst); break;
    case LOWBIT_E4M3FNUZ: decode_span_as(LOWBIT_E4M3FNUZ, p, D, 0, 1.0f, dst); break;
    case LOWBIT_E5M2FNUZ: decode_span_as(LOWBIT_E5M2FNUZ, p, D, 0, 1.0f, dst); break;
    default:
        for (uint32_t d = 0; d < D; d++)
            dst[d] = lb_decode(e, lb_load_code(e, p, d));
        break;
    }
}

/* The lane tree on 16 lanes held in ANV vectors: lanes 8, 4, ... apart are
 * added while they sit in different vectors, then inside the last one. */
LBV_FI float lane_tree(lbv_f32 acc[ANV])
{
    for (int n = ANV / 2; n >= 1; n /= 2)
        for (int v = 0; v < n; v++)
            acc[v] = acc[v] + acc[v + n];
    float l[LBV_N];
    st(l, acc[0]);
    for (int w = LBV_N / 2; w >= 1; w /= 2)
        for (int i = 0; i < w; i++)
            l[i] = l[i] + l[i + w];
    return l[0];
}

/* The lane tree for LBV_N keys at once.  Step w (N/2, N/4 ... 1) takes two
 * vectors that each hold some keys' lanes in segments of 2w and gives one
 * with segments of w: lane i of a segment becomes lane i + lane i + w, the
 * pairing of lane_tree.  lo picks the lanes of X:Y (2N of them) whose bit w
 * is clear, hi those with it set; pairing consecutive vectors keeps key k in
 * lane k at the end.  A fixed number of shuffles replaces a scalar tail per
 * key. */
#define TREE_LO(k, w) (((k) / (w)) * 2 * (w) + (k) % (w))
#define TREE_HI(k, w) (TREE_LO(k, w) + (w))
#if LBV_N == 16
#define TREE_STEP(X, Y, w) (__builtin_shufflevector(X, Y, TREE_LO(0, w), TREE_LO(1, w), TREE_LO(2, w),           \
    TREE_LO(3, w), TREE_LO(4, w), TREE_LO(5, w), TREE_LO(6, w), TREE_LO(7, w), TREE_LO(8, w), TREE_LO(9, w),        \
    TREE_LO(10, w), TREE_LO(11, w), TREE_LO(12, w), TREE_LO(13, w), TREE_LO(14, w), TREE_LO(15, w)) +              \
    __builtin_shufflevector(X, Y, TREE_HI(0, w), TREE_HI(1, w), TREE_HI(2, w), TREE_HI(3, w), TREE_HI(4, w),       \
    TREE_HI(5, w), TREE_HI(6, w), TREE_HI(7, w), TREE_HI(8, w), TREE_HI(9, w), TREE_HI(10, w), TREE_HI(11, w),     \
    TREE_HI(12, w), TREE_HI(13, w), TREE_HI(14, w), TREE_HI(15, w)))
#elif LBV_N == 8
#define TREE_STEP(X, Y, w) (__builtin_shufflevector(X, Y, TREE_LO(0, w), TREE_LO(1, w), TREE_LO(2, w),           \
    TREE_LO(3, w), TREE_LO(4, w), TREE_LO(5, w), TREE_LO(6, w), TREE_LO(7, w)) +                                   \
    __builtin_shufflevector(X, Y, TREE_HI(0, w), TREE_HI(1, w), TREE_HI(2, w), TREE_HI(3, w), TREE_HI(4, w),       \
    TREE_HI(5, w), TREE_HI(6, w), TREE_HI(7, w)))
#elif LBV_N == 4
#define TREE_STEP(X, Y, w) (__builtin_shufflevector(X, Y, TREE_LO(0, w), TREE_LO(1, w), TREE_LO(2, w),           \
    TREE_LO(3, w)) + __builtin_shufflevector(X, Y, TREE_HI(0, w), TREE_HI(1, w), TREE_HI(2, w), TREE_HI(3, w)))
#else
#error "attention_tmpl.c: LBV_N must be 4, 8 or 16"
#endif

LBV_FI lbv_f32 lane_tree_keys(lbv_f32 r[LBV_N])
{
    for (int w = LBV_N / 2, n = LBV_N; w >= 1; w /= 2, n /= 2)
        for (int v = 0; v < n / 2; v++) {
            switch (w) { /* the shuffle indices must be constants */
#if LBV_N >= 16 /* steps wider than the vector have no valid indices */
            case 8: r[v] = TREE_STEP(r[2 * v], r[2 * v + 1], 8); break;
#endif
#if LBV_N >= 8
            case 4: r[v] = TREE_STEP(r[2 * v], r[2 * v + 1], 4); break;
#endif
            case 2: r[v] = TREE_STEP(r[2 * v], r[2 * v + 1], 2); break;
            default: r[v] = TREE_STEP(r[2 * v], r[2 * v + 1], 1); break;
            }
        }
    return r[0];
}

/* The lane tree's steps across vectors (lanes 8, 4 ... apart while they
 * sit in different vectors): one vector of LBV_N lanes is left. */
LBV_FI lbv_f32 lane_tree_vectors(lbv_f32 acc[ANV])
{
    for (int n = ANV / 2; n >= 1; n /= 2)
        for (int v = 0; v < n; v++)
            acc[v] = acc[v] + acc[v + n];
    return acc[0];
}

/*
 * Where a tile's K and V rows are read from: rows[jj] points at key jj's
 * row, either exact f32 in the decoded scratch (E = LOWBIT_F32) or the
 * cache's own codes (E = the cache's type; SC: ROW_SCALED times
 * code_value for MXINT8, ROW_ZP less the block zero points, which the
 * caller has decoded), decoded in registers as they are used.  The values are the same either
 * way, so is every result; decoding in place saves the scratch round trip
 * when few rows share the tile, decoding once pays when many do.
 */
enum { ROW_PLAIN, ROW_SCALED, ROW_ZP };

LBV_FI lbv_f32 row_vec(const lowbit_dtype E, const int SC, const uint8_t *row, uint32_t i, float cv, int32_t zp)
{
    if (SC == ROW_ZP) /* integer codes less the block's zero point (decode_zp_row_as) */
        return lbv_i32_to_f32(int_codes(E, row, i) - zp);
    lbv_f32 x = lbv_as_f32(load_f32bits(E, row, i));
    return SC == ROW_SCALED ? x * cv : x;
}

/* Pages put a head's consecutive tokens in short runs (page_tokens rows)
 * far apart, which the hardware prefetchers do not follow.  The next
 * tile's rows are asked for while this tile's scores are computed, a key
 * at a time, so the requests spread over the work instead of filling the
 * miss buffers in one burst; its scales and zero points (a line or two per
 * run) when the tile starts. */
#ifndef LB_PF_HINT
#define LB_PF_HINT 3
#endif

static inline void prefetch_bytes(const uint8_t *p, size_t n)
{
    if (!n)
        return;
    for (uintptr_t a = (uintptr_t)p & ~(uintptr_t)63; a <= (uintptr_t)(p + n - 1); a += 64)
        __builtin_prefetch((const void *)a, 0, LB_PF_HINT);
}

/* The next tile's K and V rows, n of them, and how many were asked for. */
typedef struct pf_rows {
    const uint8_t *k[KT], *v[KT];
    size_t n, done, kbytes, vbytes;
} pf_rows;

static void prefetch_rows(pf_rows *pf, size_t upto)
{
    if (upto > pf->n)
        upto = pf->n;
    for (; pf->done < upto; pf->done++) {
        prefetch_bytes(pf->k[pf->done], pf->kbytes);
        prefetch_bytes(pf->v[pf->done], pf->vbytes);
    }
}

/* Keys per pass of keys_lanes: each lane sum is a chain of dependent FMAs
 * along d, so KB keys side by side give the 8 independent chains that
 * cover the FMA latency (AVX2 4 keys x 2 vectors, AVX-512 8 x 1, NEON
 * 2 x 4). */
#define KB (ANV >= 8 ? 1 : 8 / ANV)

/* Block-scaled lane sums of the NK (<= KB) keys rows[0 .. NK - 1], scales
 * ks (nblk per key). */
LBV_FI void keys_lanes(const lowbit_dtype E, const int SC, const int NK, const float *q, const uint8_t *const *rows,
                       float cv, const float *ks, const int32_t *kz, uint32_t blk, uint32_t nblk,
                       lbv_f32 a[KB][ANV])
{
    for (int k = 0; k < NK; k++)
        for (int v = 0; v < ANV; v++)
            a[k][v] = lbv_splat_f32(0.0f);
    for (uint32_t b = 0; b < nblk; b++) {
        lbv_f32 p[KB][ANV];
        for (int k = 0; k < NK; k++)
            for (int v = 0; v < ANV; v++)
                p[k][v] = lbv_splat_f32(0.0f);
        for (uint32_t d = b * blk; d < (b + 1) * blk; d += LB_ATTN_LANES)
            for (int v = 0; v < ANV; v++) {
                lbv_f32 qv = ld(q + d + v * LBV_N);
                for (int k = 0; k < NK; k++)
                    p[k][v] = lbv_fma(qv, row_vec(E, SC, rows[k], d + v * LBV_N, cv, SC == ROW_ZP ? kz[k * nblk + b] : 0),
                                      p[k][v]);
            }
        for (int k = 0; k < NK; k++) {
            lbv_f32 sk = bcast(ks[k * nblk + b]);
            for (int v = 0; v < ANV; v++)
                a[k][v] = lbv_fma(p[k][v], sk, a[k][v]);
        }
    }
}

/* Scores of one query row against keys [0, n) of the tile: LBV_N keys at a
 * time (KB per pass) through lane_tree_keys, the rest one by one. */
LBV_FI void tile_scores_as(const lowbit_dtype E, const int SC, const lb_attn_job *j, const float *q,
                           const uint8_t *const *rows, const float *ks, const int32_t *kz, size_t n, float *s,
                           pf_rows *pf)
{
    const uint32_t blk = j->k.blk, nblk = j->k.nblk;
    const float cv = j->k.code_value;
    const lbv_f32 scale = bcast(j->score_scale);
    size_t jj = 0;
    for (; jj + LBV_N <= n; jj += LBV_N) {
        if (pf)
            prefetch_rows(pf, jj + LBV_N);
        lbv_f32 r[LBV_N];
        for (int k0 = 0; k0 < LBV_N; k0 += KB) {
            lbv_f32 a[KB][ANV];
            keys_lanes(E, SC, KB, q, rows + jj + k0, cv, ks + (jj + k0) * nblk, kz + (jj + k0) * nblk, blk, nblk, a);
            for (int k = 0; k < KB; k++)
                r[k0 + k] = lane_tree_vectors(a[k]);
        }
        st(s + jj, lane_tree_keys(r) * scale);
    }
    for (; jj < n; jj++) {
        lbv_f32 a[KB][ANV];
        keys_lanes(E, SC, 1, q, rows + jj, cv, ks + jj * nblk, kz + jj * nblk, blk, nblk, a);
        s[jj] = lane_tree(a[0]) * j->score_scale;
    }
}

/* o[d0, d0 + CHUNK) += sum over the tile's keys of (p * sv) * v, keys in
 * order, skipping p == 0.  BPC V blocks cover the chunk (blk = CHUNK / BPC;
 * BPC 1 also serves blocks a multiple of the chunk): one weight p * sv_b
 * per block and key, rounded once as in the reference, broadcast once.
 * BPC 0: blocks that straddle chunks (48, 80 ...), a block per vector. */
LBV_FI void pv_chunk(const lowbit_dtype E, const int SC, const int BPC, const lb_attn_job *j, uint32_t d0,
                     const uint8_t *const *rows, const float *p, const float *vs, const int32_t *vz, size_t n,
                     float *o)
{
    const uint32_t blk = j->v.blk, nblk = j->v.nblk;
    const float cv = j->v.code_value;
    lbv_f32 acc[CHV];
    uint32_t bi[CHV];
    for (int v = 0; v < CHV; v++) {
        acc[v] = ld(o + d0 + v * LBV_N);
        bi[v] = (d0 + v * LBV_N) / blk;
    }
    for (size_t jj = 0; jj < n; jj++) {
        if (p[jj] == 0.0f)
            continue;
        const float *sj = vs + jj * nblk;
        const int32_t *zj = vz + jj * nblk;
        if (BPC == 0) {
            for (int v = 0; v < CHV; v++)
                acc[v] = lbv_fma(bcast(p[jj] * sj[bi[v]]),
                                 row_vec(E, SC, rows[jj], d0 + v * LBV_N, cv, SC == ROW_ZP ? zj[bi[v]] : 0), acc[v]);
            continue;
        }
        for (int c = 0; c < BPC; c++) {
            const lbv_f32 w = bcast(p[jj] * sj[bi[0] + c]);
            const int32_t zp = SC == ROW_ZP ? zj[bi[0] + c] : 0;
            for (int v = c * CHV / BPC; v < (c + 1) * CHV / BPC; v++)
                acc[v] = lbv_fma(w, row_vec(E, SC, rows[jj], d0 + v * LBV_N, cv, zp), acc[v]);
        }
    }
    for (int v = 0; v < CHV; v++)
        st(o + d0 + v * LBV_N, acc[v]);
}

/* o += sum over the tile's keys of (p * sv) * v. */
LBV_FI void tile_pv_as(const lowbit_dtype E, const int SC, const lb_attn_job *j, const uint8_t *const *rows,
                       const float *p, const float *vs, const int32_t *vz, size_t n, float *o)
{
    const uint32_t D = j->D, blk = j->v.blk, nblk = j->v.nblk;
    const float cv = j->v.code_value;
    uint32_t d0 = 0;
    for (; d0 + CHUNK <= D; d0 += CHUNK) {
        if (blk % CHUNK == 0)
            pv_chunk(E, SC, 1, j, d0, rows, p, vs, vz, n, o);
        else if (blk == CHUNK / 2)
            pv_chunk(E, SC, 2, j, d0, rows, p, vs, vz, n, o);
        else if (blk == CHUNK / 4)
            pv_chunk(E, SC, 4, j, d0, rows, p, vs, vz, n, o);
        else
            pv_chunk(E, SC, 0, j, d0, rows, p, vs, vz, n, o);
    }
    for (; d0 < D; d0 += LB_ATTN_LANES) {
        lbv_f32 acc[ANV];
        for (int v = 0; v < ANV; v++)
            acc[v] = ld(o + d0 + v * LBV_N);
        for (size_t jj = 0; jj < n; jj++) {
            if (p[jj] == 0.0f)
                continue;
            lbv_f32 wv = bcast(p[jj] * vs[jj * nblk + d0 / blk]);
            const int32_t zp = SC == ROW_ZP ? vz[jj * nblk + d0 / blk] : 0;
            for (int v = 0; v < ANV; v++)
                acc[v] = lbv_fma(wv, row_vec(E, SC, rows[jj], d0 + v * LBV_N, cv, zp), acc[v]);
        }
        for (int v = 0; v < ANV; v++)
            st(o + d0 + v * LBV_N, acc[v]);
    }
}

/* One instance of each per row type: the f32 scratch, and every cache type
 * read in place (int8s: MXINT8, whose codes count 2^-6; *z: with zero
 * points). */
typedef void (*scores_fn)(const lb_attn_job *j, const float *q, const uint8_t *const *rows, const float *ks,
                          const int32_t *kz, size_t n, float *s, pf_rows *pf);
typedef void (*pv_fn)(const lb_attn_job *j, const uint8_t *const *rows, const float *p, const float *vs,
                      const int32_t *vz, size_t n, float *o);

#define ROW_FNS(T, SC, NAME)                                                                                  \
    static void scores_##NAME(const lb_attn_job *j, const float *q, const uint8_t *const *rows,                \
                              const float *ks, const int32_t *kz, size_t n, float *s, pf_rows *pf)             \
    {                                                                                                          \
        tile_scores_as(T, SC, j, q, rows, ks, kz, n, s, pf);                                                   \
    }                                                                                                          \
    static void pv_##NAME(const lb_attn_job *j, const uint8_t *const *rows, const float *p, const float *vs,   \
                          const int32_t *vz, size_t n, float *o)                                               \
    {                                                                                                          \
        tile_pv_as(T, SC, j, rows, p, vs, vz, n, o);                                                           \
    }
ROW_FNS(LOWBIT_F32, ROW_PLAIN, f32)
ROW_FNS(LOWBIT_F16, ROW_PLAIN, f16)
ROW_FNS(LOWBIT_BF16, ROW_PLAIN, bf16)
ROW_FNS(LOWBIT_E4M3, ROW_PLAIN, e4m3)
ROW_FNS(LB_E4M3_NO_NAN, ROW_PLAIN, e4m3_no_nan)
ROW_FNS(LOWBIT_E5M2, ROW_PLAIN, e5m2)
ROW_FNS(LOWBIT_E4M3FNUZ, ROW_PLAIN, e4m3fnuz)
ROW_FNS(LOWBIT_E5M2FNUZ, ROW_PLAIN, e5m2fnuz)
ROW_FNS(LOWBIT_E3M2, ROW_PLAIN, e3m2)
ROW_FNS(LOWBIT_E2M3, ROW_PLAIN, e2m3)
ROW_FNS(LOWBIT_E2M1, ROW_PLAIN, e2m1)
ROW_FNS(LOWBIT_INT8, ROW_PLAIN, int8)
ROW_FNS(LOWBIT_INT8, ROW_SCALED, int8s)
ROW_FNS(LOWBIT_INT4, ROW_PLAIN, int4)
ROW_FNS(LOWBIT_UINT4, ROW_PLAIN, uint4)
ROW_FNS(LOWBIT_INT8, ROW_ZP, int8z)
ROW_FNS(LOWBIT_INT4, ROW_ZP, int4z)
ROW_FNS(LOWBIT_UINT4, ROW_ZP, uint4z)
#undef ROW_FNS

typedef struct row_fns {
    scores_fn scores;
    pv_fn pv;
} row_fns;

/* The in-place readers for a cache view. */
static row_fns row_fns_for(const lb_kv_view *v)
{
    if (v->scheme == LB_SCHEME_ZP)
        return v->elem == LOWBIT_INT8 ? (row_fns){scores_int8z, pv_int8z}
               : v->elem == LOWBIT_INT4 ? (row_fns){scores_int4z, pv_int4z} : (row_fns){scores_uint4z, pv_uint4z};
#define PICK(T, NAME) case T: return (row_fns){scores_##NAME, pv_##NAME};
    switch (v->elem) {
    PICK(LOWBIT_F16, f16) PICK(LOWBIT_BF16, bf16)
    PICK(LOWBIT_E4M3, e4m3) PICK(LOWBIT_E5M2, e5m2) PICK(LOWBIT_E4M3FNUZ, e4m3fnuz) PICK(LOWBIT_E5M2FNUZ, e5m2fnuz)
    PICK(LOWBIT_E3M2, e3m2) PICK(LOWBIT_E2M3, e2m3) PICK(LOWBIT_E2M1, e2m1)
    PICK(LOWBIT_INT4, int4) PICK(LOWBIT_UINT4, uint4)
    case LOWBIT_INT8: return v->code_value != 1.0f ? (row_fns){scores_int8s, pv_int8s} : (row_fns){scores_int8, pv_int8};
    default: return (row_fns){scores_f32, pv_f32};
    }
#undef PICK
}

#ifndef IN_PLACE_ROWS
#define IN_PLACE_ROWS 1
#endif
#ifndef WIDE_IN_PLACE_ROWS
#define WIDE_IN_PLACE_ROWS 4
#endif

/* Whether n E4M3 codes at p hold a NaN (S.1111.111).  A tile without one,
 * the usual case, is read without the per-element NaN fix-up. */
static int e4m3_has_nan(const uint8_t *p, size_t n)
{
    typedef uint8_t u8x32 __attribute__((vector_size(32)));
    const u8x32 mag = {0}, all = mag + 0x7F;
    u8x32 hit = {0};
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        u8x32 x;
        memcpy(&x, p + i, 32);
        hit |= (u8x32)((x & all) == all);
    }
    int any = 0;
    for (; i < n; i++)
        any |= (p[i] & 0x7F) == 0x7F;
    uint64_t w[4];
    memcpy(w, &hit, 32);
    return any | ((w[0] | w[1] | w[2] | w[3]) != 0);
}

/* Read a view in place when at most this many rows share each tile.  A
 * wide or INT8 row decodes in one or two instructions a vector, cheaper
 * than the scratch's store and reload; the minifloats and packed types
 * cost several, which pays to do once for a group of query heads. */
static size_t in_place_rows(const lb_kv_view *v)
{
    if (v->scheme == LB_SCHEME_ZP)
        return IN_PLACE_ROWS;
    switch (v->elem) {
    case LOWBIT_F32: case LOWBIT_F16: case LOWBIT_BF16: case LOWBIT_INT8:
        return WIDE_IN_PLACE_ROWS;
    default:
        return IN_PLACE_ROWS;
    }
}

/* The task's scratch, cut to this call's head_dim. */
typedef struct attn_scratch {
    float *kf, *vf;             /* the tile's K and V rows, KT x D */
    float *ks, *vs;             /* their block scales, KT x MAXB */
    int32_t *kz, *vz;           /* their zero points when read in place, KT x MAXB */
    float *q, *o;               /* the task's rows, LB_ATTN_TASK_ROWS x D */
    float *s, *p;               /* one row's scores and weights over the tile */
} attn_scratch;

static size_t attention_scratch_bytes(const lb_attn_job *j)
{
    return sizeof(float) * (2 * (size_t)KT * j->D + 4 * (size_t)KT * MAXB + 2 * (size_t)LB_ATTN_TASK_ROWS * j->D +
                            2 * (size_t)KT);
}

static attn_scratch scratch_cut(const lb_attn_job *j, void *mem)
{
    float *f = mem;
    attn_scratch s;
    s.kf = f; f += (size_t)KT * j->D;
    s.vf = f; f += (size_t)KT * j->D;
    s.ks = f; f += KT * MAXB;
    s.vs = f; f += KT * MAXB;
    s.kz = (int32_t *)f; f += KT * MAXB;
    s.vz = (int32_t *)f; f += KT * MAXB;
    s.q = f; f += (size_t)LB_ATTN_TASK_ROWS * j->D;
    s.o = f; f += (size_t)LB_ATTN_TASK_ROWS * j->D;
    s.s = f; f += KT;
    s.p = f;
    return s;
}

/* Point pf at the rows of tokens [t1, min(t1 + KT, end)) and ask for
 * their scales and zero points now. */
static void next_tile_rows(const lb_attn_job *j, size_t t1, size_t end, uint32_t g, pf_rows *pf)
{
    pf->n = pf->done = 0;
    if (t1 >= end)
        return;
    size_t t2 = t1 + KT < end ? t1 + KT : end;
    lb_kv_cursor c = lb_kv_cursor_at(&j->k, t1);
    for (size_t jj = t1; jj < t2;) {
        size_t run = j->k.page_tokens - c.slot;
        if (run > t2 - jj)
            run = t2 - jj;
        for (int w = 0; w < 2; w++) {
            const lb_kv_view *v = w ? &j->v : &j->k;
            lb_kv_token t = lb_kv_locate_at(v, j->table, c.lpage, c.slot, g);
            const uint8_t **rows = w ? pf->v : pf->k;
            for (size_t i = 0; i < run; i++)
                rows[jj - t1 + i] = t.row + i * v->row_bytes;
            prefetch_bytes(t.scales, run * v->scale_bytes);
            prefetch_bytes(t.zps, run * v->zp_bytes);
        }
        jj += run;
        c.lpage++;
        c.slot = 0;
    }
    pf->n = t2 - t1;
}

static void attention_simd(const lb_attn_job *j, size_t h0, size_t h1, size_t q0, size_t q1, void *mem)
{
    attn_scratch scr = scratch_cut(j, mem), *sc = &scr;
    const uint32_t D = j->D, g = (uint32_t)(h0 / j->group);
    const size_t nh = h1 - h0, rows = nh * (q1 - q0);
    float m[LB_ATTN_TASK_ROWS], l[LB_ATTN_TASK_ROWS];
    size_t vis_max = 0;
    for (size_t r = 0; r < rows; r++) {
        size_t i = q0 + r / nh, h = h0 + r % nh;
        const uint8_t *qp = j->q + lowbit_dtype_bytes(j->q_type, i * j->q_stride + h * D);
        decode_q(j->q_type, qp, D, sc->q + r * D);
        memset((sc->o + r * D), 0, D * sizeof(float));
        m[r] = -INFINITY;
        l[r] = 0.0f;
        size_t vis = lb_attn_visible(j, i);
        if (vis > vis_max)
            vis_max = vis;
    }
    const int k_in_place = rows <= in_place_rows(&j->k), v_in_place = rows <= in_place_rows(&j->v);
    const row_fns kfn = k_in_place ? row_fns_for(&j->k) : (row_fns){scores_f32, pv_f32};
    const row_fns vfn = v_in_place ? row_fns_for(&j->v) : (row_fns){scores_f32, pv_f32};
    const uint8_t *krow[KT], *vrow[KT];
    pf_rows pf;
    pf.kbytes = j->k.row_bytes;
    pf.vbytes = j->v.row_bytes;
    for (size_t t0 = 0; t0 < vis_max; t0 += KT) {
        size_t t1 = t0 + KT < vis_max ? t0 + KT : vis_max;
        next_tile_rows(j, t1, vis_max, g, &pf);
        /* K and V share page_tokens: the tile is decoded in runs of
         * consecutive tokens of one page, contiguous in both caches */
        lb_kv_cursor cur = lb_kv_cursor_at(&j->k, t0);
        int k_nan = 0, v_nan = 0;
        for (size_t jj = t0; jj < t1;) {
            size_t run = j->k.page_tokens - cur.slot;
            if (run > t1 - jj)
                run = t1 - jj;
            const size_t i0 = jj - t0;
            lb_kv_token kt = lb_kv_locate_at(&j->k, j->table, cur.lpage, cur.slot, g);
            decode_run_scales(&j->k, &kt, run, sc->ks + i0 * j->k.nblk);
            if (k_in_place) {
                if (j->k.elem == LOWBIT_E4M3 && !k_nan)
                    k_nan = e4m3_has_nan(kt.row, run * j->k.row_bytes);
                for (size_t i = 0; i < run; i++)
                    krow[i0 + i] = kt.row + i * j->k.row_bytes;
                if (j->k.scheme == LB_SCHEME_ZP)
                    decode_run_zero_points(&j->k, &kt, run, sc->kz + i0 * j->k.nblk);
            } else {
                decode_run(&j->k, &kt, run, sc->kf + i0 * D);
                for (size_t i = 0; i < run; i++)
                    krow[i0 + i] = (const uint8_t *)(sc->kf + (i0 + i) * D);
            }
            lb_kv_token vt = lb_kv_locate_at(&j->v, j->table, cur.lpage, cur.slot, g);
            decode_run_scales(&j->v, &vt, run, sc->vs + i0 * j->v.nblk);
            if (v_in_place) {
                if (j->v.elem == LOWBIT_E4M3 && !v_nan)
                    v_nan = e4m3_has_nan(vt.row, run * j->v.row_bytes);
                for (size_t i = 0; i < run; i++)
                    vrow[i0 + i] = vt.row + i * j->v.row_bytes;
                if (j->v.scheme == LB_SCHEME_ZP)
                    decode_run_zero_points(&j->v, &vt, run, sc->vz + i0 * j->v.nblk);
            } else {
                decode_run(&j->v, &vt, run, sc->vf + i0 * D);
                for (size_t i = 0; i < run; i++)
                    vrow[i0 + i] = (const uint8_t *)(sc->vf + (i0 + i) * D);
            }
            jj += run;
            cur.lpage++;
            cur.slot = 0;
        }
        const row_fns no_nan = {scores_e4m3_no_nan, pv_e4m3_no_nan};
        const row_fns tkfn = k_in_place && j->k.elem == LOWBIT_E4M3 && !k_nan ? no_nan : kfn;
        const row_fns tvfn = v_in_place && j->v.elem == LOWBIT_E4M3 && !v_nan ? no_nan : vfn;
        for (size_t r = 0; r < rows; r++) {
            size_t i = q0 + r / nh, vis = lb_attn_visible(j, i);
            if (vis <= t0)
                continue;
            size_t n = (vis < t1 ? vis : t1) - t0;
            tkfn.scores(j, sc->q + r * D, krow, sc->ks, sc->kz, n, sc->s, pf.done < pf.n ? &pf : NULL);
            float mn = m[r];
            for (size_t jj = 0; jj < n; jj++) {
                if (j->mask)
                    sc->s[jj] = sc->s[jj] + j->mask[i * j->mask_stride + t0 + jj];
                if (sc->s[jj] > mn)
                    mn = sc->s[jj];
            }
            if (mn == -INFINITY)
                continue;
            float alpha = lb_expf(m[r] - mn);
            l[r] = l[r] * alpha;
            for (uint32_t d = 0; d < D; d += LBV_N)
                st((sc->o + r * D) + d, ld((sc->o + r * D) + d) * alpha);
            m[r] = mn;
            size_t jj = 0;
            for (; jj + LBV_N <= n; jj += LBV_N)
                st(sc->p + jj, lbv_expf(ld(sc->s + jj) - mn));
            for (; jj < n; jj++)
                sc->p[jj] = lb_expf(sc->s[jj] - mn);
            float lr = l[r];
            for (jj = 0; jj < n; jj++)
                if (sc->p[jj] != 0.0f)
                    lr = lr + sc->p[jj];
            l[r] = lr;
            tvfn.pv(j, vrow, sc->p, sc->vs, sc->vz, n, sc->o + r * D);
        }
        prefetch_rows(&pf, pf.n); /* rows that saw fewer keys than the next tile has */
    }
    for (size_t r = 0; r < rows; r++) {
        size_t i = q0 + r / nh, h = h0 + r % nh;
        for (uint32_t d = 0; d < D; d++)
            lb_attn_store(j, i, h, d, l[r] == 0.0f ? 0.0f : (sc->o + r * D)[d] / l[r]);
    }
}

#define ATTENTION_SIMD_KERNEL(BACKEND, NAME)                                                           \
    {                                                                                                  \
        .op = LOWBIT_OP_ATTENTION, .backend = (BACKEND), .exact = 1, .name = (NAME),                   \
        .formats = "every KV format", .attention = attention_simd,                                     \
        .attention_scratch = attention_scratch_bytes,                                                 \
    }
