/*
 * attention_ref.c - the reference attention: the one answer every attention
 * kernel must reproduce bit for bit (docs/semantics.md, "Attention").
 *
 * For query token i and query head h (kv head g = h / group), with q_d the
 * query's elements as f32 (exact) and, per key position j, k_jd / v_jd the
 * cache elements as f32 (exact, zero point applied) and sk_jb / sv_jb the
 * f32 scales of their blocks b along head_dim (1 unscaled, the head's scale
 * for per-head FP8):
 *
 *  1. Score.  Sixteen lane sums: lane l takes the d with d % 16 == l.  For
 *     each K block b in increasing order, part_l = 0, then for d of the
 *     block in increasing order part_l = fmaf(q_d, k_jd, part_l); then
 *     acc_l = fmaf(part_l, sk_jb, acc_l) (acc_l starts at +0).  The lanes
 *     are combined pairwise: for w = 8, 4, 2, 1, acc_l = acc_l + acc_(l+w)
 *     for l < w.  s_j = acc_0 * score_scale (scale * q_scale, rounded once),
 *     then s_j = s_j + mask_ij with a mask.  Keys past the causal limit
 *     (j > q_pos + i) are not visited at all.
 *  2. Online softmax over key tiles [64t, 64t + 64) in increasing t, with
 *     m = -Inf, l = 0, o_d = 0 at the start.  Per tile: mt = the largest
 *     score of the tile (NaN scores do not count: a score is taken when it
 *     is greater than the running value); mn = mt if mt > m, else m.  If
 *     mn is -Inf nothing is visible yet and the tile is skipped.  Else
 *     alpha = lb_expf(m - mn), l = l * alpha, o_d = o_d * alpha; then for
 *     each key j of the tile in increasing order p = lb_expf(s_j - mn); a
 *     key with p == 0 is skipped, else l = l + p and, for each V block b,
 *     w = p * sv_jb and o_d = fmaf(w, v_jd, o_d) for d in the block.
 *  3. out_d = o_d / l (0 when l == 0: no key was visible), rounded once to
 *     the output type; NaN stored as the canonical quiet NaN.
 *
 * lb_expf is formats/exp.h.  Every step is a correctly rounded f32
 * operation on values fixed by the inputs, in an order fixed by the
 * positions, so a row does not depend on the batch, the tiling or threads.
 */
#include <math.h>
#include "../../../src/internal.h"
#include "../../../src/attention_kv.h"
#include "../../../formats/exp.h"

static float score_ref(const lb_attn_job *j, const float *q, const lb_kv_token *t)
{
    const lb_kv_view *kv = &j->k;
    float acc[LB_ATTN_LANES] = {0};
    for (uint32_t b = 0; b < kv->nblk; b++) {
        float part[LB_ATTN_LANES] = {0};
        for (uint32_t d = b * kv->blk; d < (b + 1) * kv->blk; d++)
            part[d % LB_ATTN_LANES] = fmaf(q[d], lb_kv_elem(kv, t, d), part[d % LB_ATTN_LANES]);
        float s = lb_kv_scale(kv, t, b);
        for (int l = 0; l < LB_ATTN_LANES; l++)
            acc[l] = fmaf(part[l], s, acc[l]);
    }
    for (int w = LB_ATTN_LANES / 2; w >= 1; w /= 2)
        for (int l = 0; l < w; l++)
            acc[l] = acc[l] + acc[l + w];
    return acc[0] * j->score_scale;
}

static void attention_row_ref(const lb_attn_job *j, size_t i, size_t h)
{
    const uint32_t D = j->D, g = (uint32_t)(h / j->group);
    float q[LB_ATTN_MAX_D], o[LB_ATTN_MAX_D] = {0}, s[LB_ATTN_KEY_TILE];
    for (uint32_t d = 0; d < D; d++)
        q[d] = lb_attn_q_elem(j, i, h, d);
    const size_t visible = lb_attn_visible(j, i);
    float m = -INFINITY, l = 0.0f;
    for (size_t t0 = 0; t0 < visible; t0 += LB_ATTN_KEY_TILE) {
        size_t t1 = t0 + LB_ATTN_KEY_TILE < visible ? t0 + LB_ATTN_KEY_TILE : visible;
        float mn = m;
        for (size_t jj = t0; jj < t1; jj++) {
            lb_kv_token kt = lb_kv_locate(&j->k, j->table, jj, g);
            float x = score_ref(j, q, &kt);
            if (j->mask)
                x = x + j->mask[i * j->mask_stride + jj];
            s[jj - t0] = x;
            if (x > mn)
                mn = x;
        }
        if (mn == -INFINITY)
            continue;
        float alpha = lb_expf(m - mn);
        l = l * alpha;
        for (uint32_t d = 0; d < D; d++)
            o[d] = o[d] * alpha;
        m = mn;
        for (size_t jj = t0; jj < t1; jj++) {
            float p = lb_expf(s[jj - t0] - mn);
            if (p == 0.0f)
                continue;
            l = l + p;
            lb_kv_token vt = lb_kv_locate(&j->v, j->table, jj, g);
            for (uint32_t b = 0; b < j->v.nblk; b++) {
                float w = p * lb_kv_scale(&j->v, &vt, b);
                for (uint32_t d = b * j->v.blk; d < (b + 1) * j->v.blk; d++)
                    o[d] = fmaf(w, lb_kv_elem(&j->v, &vt, d), o[d]);
            }
        }
    }
    for (uint32_t d = 0; d < D; d++)
        lb_attn_store(j, i, h, d, l == 0.0f ? 0.0f : o[d] / l);
}

static void attention_ref(const lb_attn_job *j, size_t h0, size_t h1, size_t q0, size_t q1, void *scratch)
{
    (void)scratch;
    for (size_t i = q0; i < q1; i++)
        for (size_t h = h0; h < h1; h++)
            attention_row_ref(j, i, h);
}

const lb_kernel lb_kernel_attention_ref = {
    .op = LOWBIT_OP_ATTENTION,
    .backend = LOWBIT_BACKEND_REF,
    .exact = 1,
    .name = "attention_any_ref",
    .formats = "every KV format",
    .attention = attention_ref,
};
