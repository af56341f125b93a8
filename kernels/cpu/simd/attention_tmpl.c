/*
 * attention_tmpl.c - the exact attention kernel, written once for every
 * vector ISA (included by kernels/cpu/<isa>/attention_<isa>.c after that
 * ISA's vec_<isa>.h).  It performs the reference's arithmetic
 * (kernels/cpu/ref/attention_ref.c) operation for operation:
 *
 *  - a task's rows (query heads of one kv head x query tokens) share each
 *    key tile: its K and V rows are decoded once into f32 scratch (exact),
 *    with their block scales, and every row reads them from there;
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

/* D elements of type e (a constant in each instance below, so the codec
 * folds to straight-line vector code) from p as f32, times code_value,
 * less the block zero points when zps is set. */
LBV_FI void decode_elems_as(const lowbit_dtype e, const uint8_t *p, uint32_t D, float code_value,
                            const lb_kv_view *zv, const lb_kv_token *zt, float *dst)
{
    if (!zv) {
        for (uint32_t d = 0; d < D; d += LBV_N) {
            lbv_f32 x = lbv_as_f32(load_f32bits(e, p, d));
            if (code_value != 1.0f)
                x = x * code_value;
            st(dst + d, x);
        }
        return;
    }
    for (uint32_t b = 0; b < zv->nblk; b++) {
        int32_t zp = lb_kv_zero_point(zv, zt, b);
        for (uint32_t d = b * zv->blk; d < (b + 1) * zv->blk; d += LBV_N) {
            lbv_f32 x = lbv_as_f32(load_f32bits(e, p, d));
            st(dst + d, lbv_i32_to_f32(lbv_f32_to_i32_trunc(x) - zp));
        }
    }
}

static void decode_elems(lowbit_dtype e, const uint8_t *p, uint32_t D, float code_value, const lb_kv_view *zv,
                         const lb_kv_token *zt, float *dst)
{
    switch (e) {
#define DECODE_CASE(T) case T: decode_elems_as(T, p, D, code_value, zv, zt, dst); break;
    DECODE_CASE(LOWBIT_F32) DECODE_CASE(LOWBIT_F16) DECODE_CASE(LOWBIT_BF16)
    DECODE_CASE(LOWBIT_E4M3) DECODE_CASE(LOWBIT_E5M2) DECODE_CASE(LOWBIT_E4M3FNUZ) DECODE_CASE(LOWBIT_E5M2FNUZ)
    DECODE_CASE(LOWBIT_E3M2) DECODE_CASE(LOWBIT_E2M3) DECODE_CASE(LOWBIT_E2M1)
    DECODE_CASE(LOWBIT_INT8) DECODE_CASE(LOWBIT_INT4) DECODE_CASE(LOWBIT_UINT4)
#undef DECODE_CASE
    default: break; /* validated away */
    }
}

/* One token's head vector as exact f32 values (zero point applied) and
 * its block scales. */
static void decode_token(const lb_kv_view *v, const lb_kv_token *t, float *dst, float *scales)
{
    decode_elems(v->elem, t->row, v->D, v->code_value, v->scheme == LB_SCHEME_ZP ? v : NULL, t, dst);
    for (uint32_t b = 0; b < v->nblk; b++)
        scales[b] = lb_kv_scale(v, t, b);
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

/* Block-scaled lane sums of one key (acc: ANV vectors). */
LBV_FI void key_lanes(const float *q, const float *k0, const float *ks, uint32_t blk, uint32_t nblk, lbv_f32 a0[ANV])
{
    for (int v = 0; v < ANV; v++)
        a0[v] = lbv_splat_f32(0.0f);
    for (uint32_t b = 0; b < nblk; b++) {
        lbv_f32 p0[ANV];
        for (int v = 0; v < ANV; v++)
            p0[v] = lbv_splat_f32(0.0f);
        for (uint32_t d = b * blk; d < (b + 1) * blk; d += LB_ATTN_LANES)
            for (int v = 0; v < ANV; v++)
                p0[v] = lbv_fma(ld(q + d + v * LBV_N), ld(k0 + d + v * LBV_N), p0[v]);
        lbv_f32 s0 = bcast(ks[b]);
        for (int v = 0; v < ANV; v++)
            a0[v] = lbv_fma(p0[v], s0, a0[v]);
    }
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

/* Keys per pass of keys_lanes: each lane sum is a chain of dependent FMAs
 * along d, so KB keys side by side give the 8 independent chains that
 * cover the FMA latency (AVX2 4 keys x 2 vectors, AVX-512 8 x 1, NEON
 * 2 x 4). */
#define KB (ANV >= 8 ? 1 : 8 / ANV)

/* key_lanes for the KB keys k0 .. k0 + KB - 1 (rows D apart). */
LBV_FI void keys_lanes(const float *q, const float *k0, uint32_t D, const float *ks, uint32_t blk, uint32_t nblk,
                       lbv_f32 a[KB][ANV])
{
    for (int k = 0; k < KB; k++)
        for (int v = 0; v < ANV; v++)
            a[k][v] = lbv_splat_f32(0.0f);
    for (uint32_t b = 0; b < nblk; b++) {
        lbv_f32 p[KB][ANV];
        for (int k = 0; k < KB; k++)
            for (int v = 0; v < ANV; v++)
                p[k][v] = lbv_splat_f32(0.0f);
        for (uint32_t d = b * blk; d < (b + 1) * blk; d += LB_ATTN_LANES)
            for (int v = 0; v < ANV; v++) {
                lbv_f32 qv = ld(q + d + v * LBV_N);
                for (int k = 0; k < KB; k++)
                    p[k][v] = lbv_fma(qv, ld(k0 + k * D + d + v * LBV_N), p[k][v]);
            }
        for (int k = 0; k < KB; k++) {
            lbv_f32 sk = bcast(ks[k * MAXB + b]);
            for (int v = 0; v < ANV; v++)
                a[k][v] = lbv_fma(p[k][v], sk, a[k][v]);
        }
    }
}

/* Scores of one query row against keys [0, n) of the decoded tile: LBV_N
 * keys at a time (KB per pass) through lane_tree_keys, the rest one by one. */
static void tile_scores(const lb_attn_job *j, const float *q, const float *kf, const float *ks, size_t n,
                        float *s)
{
    const uint32_t D = j->D, blk = j->k.blk, nblk = j->k.nblk;
    const lbv_f32 scale = bcast(j->score_scale);
    size_t jj = 0;
    for (; jj + LBV_N <= n; jj += LBV_N) {
        lbv_f32 r[LBV_N];
        for (int k0 = 0; k0 < LBV_N; k0 += KB) {
            lbv_f32 a[KB][ANV];
            keys_lanes(q, kf + (jj + k0) * D, D, ks + (jj + k0) * MAXB, blk, nblk, a);
            for (int k = 0; k < KB; k++)
                r[k0 + k] = lane_tree_vectors(a[k]);
        }
        st(s + jj, lane_tree_keys(r) * scale);
    }
    for (; jj < n; jj++) {
        lbv_f32 a0[ANV];
        key_lanes(q, kf + jj * D, ks + jj * MAXB, blk, nblk, a0);
        s[jj] = lane_tree(a0) * j->score_scale;
    }
}

/* o += sum over the tile's keys of (p * sv) * v, keys in order, skipping
 * p == 0; w[jj * MAXB + b] = p_jj * sv_jj,b already formed. */
static void tile_pv(uint32_t D, uint32_t blk, const float *vf, const float *p, const float *w, size_t n,
                    float *o)
{
    uint32_t d0 = 0;
    for (; d0 + CHUNK <= D; d0 += CHUNK) {
        lbv_f32 acc[CHV];
        uint32_t bi[CHV]; /* the V block of each vector: divisions out of the key loop */
        for (int v = 0; v < CHV; v++) {
            acc[v] = ld(o + d0 + v * LBV_N);
            bi[v] = (d0 + v * LBV_N) / blk;
        }
        for (size_t jj = 0; jj < n; jj++) {
            if (p[jj] == 0.0f)
                continue;
            const float *vr = vf + jj * D + d0;
            const float *wj = w + jj * MAXB;
            for (int v = 0; v < CHV; v++)
                acc[v] = lbv_fma(bcast(wj[bi[v]]), ld(vr + v * LBV_N), acc[v]);
        }
        for (int v = 0; v < CHV; v++)
            st(o + d0 + v * LBV_N, acc[v]);
    }
    for (; d0 < D; d0 += LB_ATTN_LANES) {
        lbv_f32 acc[ANV];
        for (int v = 0; v < ANV; v++)
            acc[v] = ld(o + d0 + v * LBV_N);
        lbv_f32 wv;
        for (size_t jj = 0; jj < n; jj++) {
            if (p[jj] == 0.0f)
                continue;
            wv = bcast(w[jj * MAXB + d0 / blk]);
            for (int v = 0; v < ANV; v++)
                acc[v] = lbv_fma(wv, ld(vf + jj * D + d0 + v * LBV_N), acc[v]);
        }
        for (int v = 0; v < ANV; v++)
            st(o + d0 + v * LBV_N, acc[v]);
    }
}

/* Pages put a head's consecutive tokens in short runs (page_tokens rows)
 * far apart, which the hardware prefetchers do not follow: ask for the
 * token PREFETCH_AHEAD positions on while decoding this one. */
#define PREFETCH_AHEAD 12

static inline void prefetch_token(const lb_kv_view *v, const int32_t *table, lb_kv_cursor c, uint32_t g)
{
    lb_kv_token t = lb_kv_locate_at(v, table, c.lpage, c.slot, g);
    for (size_t b = 0; b < v->row_bytes; b += 64)
        __builtin_prefetch(t.row + b);
    if (v->scale_bytes)
        __builtin_prefetch(t.scales);
    if (v->zp_bytes)
        __builtin_prefetch(t.zps);
}

/* The task's scratch, cut to this call's head_dim. */
typedef struct attn_scratch {
    float *kf, *vf;             /* the tile's K and V rows, KT x D */
    float *ks, *vs, *w;         /* their block scales, and p * V scale, KT x MAXB */
    float *q, *o;               /* the task's rows, LB_ATTN_TASK_ROWS x D */
    float *s, *p;               /* one row's scores and weights over the tile */
} attn_scratch;

static size_t attention_scratch_bytes(const lb_attn_job *j)
{
    return sizeof(float) * (2 * (size_t)KT * j->D + 3 * (size_t)KT * MAXB + 2 * (size_t)LB_ATTN_TASK_ROWS * j->D +
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
    s.w = f; f += KT * MAXB;
    s.q = f; f += (size_t)LB_ATTN_TASK_ROWS * j->D;
    s.o = f; f += (size_t)LB_ATTN_TASK_ROWS * j->D;
    s.s = f; f += KT;
    s.p = f;
    return s;
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
        decode_elems(j->q_type, qp, D, 1.0f, NULL, NULL, (sc->q + r * D));
        memset((sc->o + r * D), 0, D * sizeof(float));
        m[r] = -INFINITY;
        l[r] = 0.0f;
        size_t vis = lb_attn_visible(j, i);
        if (vis > vis_max)
            vis_max = vis;
    }
    for (size_t t0 = 0; t0 < vis_max; t0 += KT) {
        size_t t1 = t0 + KT < vis_max ? t0 + KT : vis_max;
        /* K and V share page_tokens, so one cursor walks both */
        lb_kv_cursor cur = lb_kv_cursor_at(&j->k, t0), ahead = lb_kv_cursor_at(&j->k, t0 + PREFETCH_AHEAD);
        for (size_t jj = t0; jj < t1; jj++) {
            if (jj + PREFETCH_AHEAD < vis_max) {
                prefetch_token(&j->k, j->table, ahead, g);
                prefetch_token(&j->v, j->table, ahead, g);
            }
            lb_kv_cursor_next(&j->k, &ahead);
            lb_kv_token kt = lb_kv_locate_at(&j->k, j->table, cur.lpage, cur.slot, g);
            decode_token(&j->k, &kt, sc->kf + (jj - t0) * D, sc->ks + (jj - t0) * MAXB);
            lb_kv_token vt = lb_kv_locate_at(&j->v, j->table, cur.lpage, cur.slot, g);
            decode_token(&j->v, &vt, sc->vf + (jj - t0) * D, sc->vs + (jj - t0) * MAXB);
            lb_kv_cursor_next(&j->k, &cur);
        }
        for (size_t r = 0; r < rows; r++) {
            size_t i = q0 + r / nh, vis = lb_attn_visible(j, i);
            if (vis <= t0)
                continue;
            size_t n = (vis < t1 ? vis : t1) - t0;
            tile_scores(j, (sc->q + r * D), sc->kf, sc->ks, n, sc->s);
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
            float lr = l[r]; /* in a register: the stores to w would keep it in memory */
            for (jj = 0; jj < n; jj++) {
                float p = sc->p[jj];
                if (p == 0.0f)
                    continue;
                lr = lr + p;
                for (uint32_t b = 0; b < j->v.nblk; b++)
                    sc->w[jj * MAXB + b] = p * sc->vs[jj * MAXB + b];
            }
            l[r] = lr;
            tile_pv(D, j->v.blk, sc->vf, sc->p, sc->w, n, (sc->o + r * D));
        }
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
