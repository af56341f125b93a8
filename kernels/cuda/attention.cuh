// attention.cuh - the pieces of the CUDA attention kernel (attention.cu) that
// do arithmetic, as __host__ __device__ functions on the job structure and
// the shared-memory tiles.  The kernel calls them from its threads between
// barriers; tests/gpu/attention_cuda_host_emul.cu calls the very same
// functions from plain loops on the host and compares with lowbit_attention,
// so the tiling, visibility, skip and store logic is exercised without a GPU.
//
// Semantics: kernels/cpu/ref/attention_ref.c, step for step.  Each CTA owns
// R = nh x nt output rows (nh query heads of one kv head, nt query tokens)
// and walks the key range in tiles of LB_ATTN_KEY_TILE positions, in order;
// the key range is never split, so every row sees exactly the reference's
// sequence of correctly rounded operations:
//   score  lane l of a 16-thread half-warp sums d = l (mod 16) of each K
//          block with fmaf, folds the block scale with fmaf, then the lanes
//          combine 8/4/2/1 (xor shuffles: a + b == b + a in IEEE);
//   max    the first largest non-NaN score of the tile (what the reference's
//          "take if greater" scan keeps, signed zeros included);
//   p, l   lb_expf of the same differences; p == 0 keys are skipped;
//   o      o * alpha, then fmaf(p * sv, v, o) over keys in increasing order,
//          one thread per (row, d);
//   out    o / l (IEEE division), rounded once, canonical NaN.
#ifndef LOWBIT_KERNELS_CUDA_ATTENTION_CUH
#define LOWBIT_KERNELS_CUDA_ATTENTION_CUH

#include <math.h>
#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "internal.h"
}
#include "codec.h"
#include "exp.h"
#include "scale.h"

#if defined(__CUDACC__) || defined(__HIPCC__)
#define LBA_HD __host__ __device__ __forceinline__
#else
#define LBA_HD inline
#endif

namespace lba {

constexpr int kTile = LB_ATTN_KEY_TILE;  // 64 key positions per softmax tile
constexpr int kLanes = LB_ATTN_LANES;    // 16 score lanes
constexpr int kThreads = 256;            // threads per CTA
constexpr int kItems = 16;               // most (row, d) outputs one thread keeps
constexpr int kMaxRows = 32;             // most rows per CTA (and R * D <= kThreads * kItems)

// Correctly rounded single operations, spelled out so that no compiler may
// fuse or reorder them (the flags forbid it too; this is belt and braces).
// HIP's __fadd_rn and friends are the plain operators, so under hipcc it is
// -ffp-contract=off (kernels/hip/meson.build) that keeps them unfused.
LBA_HD float add_rn(float a, float b)
{
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    return __fadd_rn(a, b);
#else
    volatile float r = a + b;
    return r;
#endif
}
LBA_HD float sub_rn(float a, float b)
{
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    return __fsub_rn(a, b);
#else
    volatile float r = a - b;
    return r;
#endif
}
LBA_HD float mul_rn(float a, float b)
{
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    return __fmul_rn(a, b);
#else
    volatile float r = a * b;
    return r;
#endif
}
LBA_HD float fma_rn(float a, float b, float c)
{
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    return __fmaf_rn(a, b, c);
#else
    return fmaf(a, b, c);
#endif
}
LBA_HD float div_rn(float a, float b)
{
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    return __fdiv_rn(a, b);
#else
    volatile float r = a / b;
    return r;
#endif
}

// The CTA's rows and the launch shape (host computes it once per call).
struct Cfg {
    uint32_t nh, nt;      // query heads and query tokens per CTA
    uint32_t rows;        // nh * nt
    uint32_t chunks;      // CTAs per kv head along its query heads
    uint32_t ld;          // floats per row of the Q and K/V tiles (padded)
    uint32_t items;       // (row, d) outputs per thread: ceil(rows * D / kThreads)
    size_t token_tiles;   // CTAs along the query tokens
    size_t smem;          // dynamic shared memory bytes
};

// One token's head vector: row of codes, scales, zero points.
struct Tok {
    const uint8_t *row, *scales, *zps;
};

// The shared-memory tiles of one CTA (pointers into one dynamic buffer).
struct Smem {
    float *q;       // [rows][ld] query elements (exact f32)
    float *kv;      // [kTile][ld] K then V elements of the tile (exact f32, zero point applied)
    float *sc;      // [kTile][nblk] their block scales
    float *s;       // [rows][kTile] scores, then p in place
    Tok *tok;       // [kTile] where each key of the tile lives (K, then V)
    float *m;       // [rows] running maximum
    float *mn;      // [rows] the tile's new maximum
    float *alpha;   // [rows]
    float *l;       // [rows] final sums (written at the end)
    int *upd;       // [rows] the row takes part in this tile
    uint32_t *vis;  // [rows] keys visible to the row (0 for rows past q_tokens)
};

LBA_HD size_t align16(size_t x) { return (x + 15) / 16 * 16; }

// Lay out the dynamic shared memory; returns its size.  base may be NULL
// (size only).
LBA_HD size_t smem_layout(const lb_attn_job &j, const Cfg &c, unsigned char *base, Smem *sm)
{
    size_t off = 0;
    const size_t R = c.rows;
    const uint32_t nblk = j.k.nblk > j.v.nblk ? j.k.nblk : j.v.nblk;
    size_t o_q = off; off = align16(off + R * c.ld * 4);
    size_t o_kv = off; off = align16(off + (size_t)kTile * c.ld * 4);
    size_t o_sc = off; off = align16(off + (size_t)kTile * nblk * 4);
    size_t o_s = off; off = align16(off + R * kTile * 4);
    size_t o_tok = off; off = align16(off + (size_t)kTile * sizeof(Tok));
    size_t o_m = off; off = align16(off + R * 4);
    size_t o_mn = off; off = align16(off + R * 4);
    size_t o_al = off; off = align16(off + R * 4);
    size_t o_l = off; off = align16(off + R * 4);
    size_t o_up = off; off = align16(off + R * 4);
    size_t o_vis = off; off = align16(off + R * 4);
    if (base && sm) {
        sm->q = (float *)(base + o_q);
        sm->kv = (float *)(base + o_kv);
        sm->sc = (float *)(base + o_sc);
        sm->s = (float *)(base + o_s);
        sm->tok = (Tok *)(base + o_tok);
        sm->m = (float *)(base + o_m);
        sm->mn = (float *)(base + o_mn);
        sm->alpha = (float *)(base + o_al);
        sm->l = (float *)(base + o_l);
        sm->upd = (int *)(base + o_up);
        sm->vis = (uint32_t *)(base + o_vis);
    }
    return off;
}

// The launch shape: decode (one token) takes the query heads of one kv head
// (GQA rows share every K/V tile); prefill adds query tokens until the CTA
// holds kMaxRows rows or R * D reaches kThreads * kItems.
inline Cfg make_cfg(const lb_attn_job &j)
{
    Cfg c;
    uint32_t rmax = (uint32_t)(kThreads * kItems) / j.D;
    if (rmax > (uint32_t)kMaxRows)
        rmax = kMaxRows;
    c.nh = j.group < rmax ? j.group : rmax;
    c.chunks = (j.group + c.nh - 1) / c.nh;
    uint32_t nt = rmax / c.nh;
    c.nt = (size_t)nt > j.q_tokens ? (uint32_t)j.q_tokens : nt;
    if (c.nt == 0)
        c.nt = 1;
    c.rows = c.nh * c.nt;
    // A row stride of 16 mod 32 floats puts the two half-warps of a warp
    // (consecutive keys) on different banks.
    c.ld = j.D % 32 == 0 ? j.D + 16 : j.D;
    c.items = (c.rows * j.D + kThreads - 1) / kThreads;
    c.token_tiles = (j.q_tokens + c.nt - 1) / c.nt;
    c.smem = smem_layout(j, c, nullptr, nullptr);
    return c;
}

// Row r of CTA (tile, y): query token and query head.
struct RowId {
    size_t i;
    uint32_t h;
    int valid;
};
LBA_HD RowId row_of(const lb_attn_job &j, const Cfg &c, size_t tile, uint32_t y, uint32_t r)
{
    const uint32_t g = y / c.chunks, chunk = y % c.chunks;
    RowId id;
    id.i = tile * c.nt + r / c.nh;
    uint32_t hk = chunk * c.nh + r % c.nh;  // head within the group
    id.h = g * j.group + hk;
    id.valid = id.i < j.q_tokens && hk < j.group;
    return id;
}

LBA_HD size_t visible(const lb_attn_job &j, size_t i)
{
    if (!j.causal)
        return j.kv_len;
    size_t last = j.q_pos + i + 1;
    return last < j.kv_len ? last : j.kv_len;
}

// attention_kv.h's lb_kv_locate, lb_kv_scale, lb_kv_zero_point, lb_kv_elem.
LBA_HD Tok locate(const lb_kv_view &v, const int32_t *table, size_t pos, uint32_t head)
{
    size_t page = table ? (size_t)table[pos / v.page_tokens] : pos / v.page_tokens;
    size_t slot = pos % v.page_tokens;
    const uint8_t *base = v.pages + page * v.page_bytes + head * v.head_bytes;
    Tok t;
    t.row = base + slot * v.row_bytes;
    t.scales = base + v.scale_off + slot * v.scale_bytes;
    t.zps = base + v.zp_off + slot * v.zp_bytes;
    return t;
}

LBA_HD float kv_scale(const lb_kv_view &v, const Tok &t, uint32_t b, uint32_t head)
{
    if (v.per_head)
        return v.head_scales[head];
    if (v.scheme == LB_SCHEME_PLAIN)
        return 1.0f;
    if (v.nv_head)
        return lb_nv_divisor(lb_load_code(v.scale_type, t.scales, b), v.head_scales[head]);
    return lb_decode(v.scale_type, lb_load_code(v.scale_type, t.scales, b));
}

// E < 0: the element type is read from the view at run time.
template <int E>
LBA_HD float kv_elem(const lb_kv_view &v, const Tok &t, uint32_t d)
{
    const int e = E >= 0 ? E : (int)v.elem;
    float x = mul_rn(lb_decode(e, lb_load_code(e, t.row, d)), v.code_value);
    if (v.scheme == LB_SCHEME_ZP) {
        int32_t zp = (int32_t)lb_decode(e, lb_load_code(e, t.zps, d / v.blk));
        x = (float)((int32_t)x - zp);
    }
    return x;
}

// Locate the keys [t0, t0 + n) of the tile for thread tid.
LBA_HD void tile_locate(const lb_attn_job &j, const lb_kv_view &v, uint32_t g, size_t t0, uint32_t n,
                        const Smem &sm, unsigned tid)
{
    if (tid < n)
        sm.tok[tid] = locate(v, j.table, t0 + tid, g);
}

template <int E>
LBA_HD void tile_load_t(const lb_kv_view &v, const Cfg &c, uint32_t g, uint32_t n, const Smem &sm, unsigned tid,
                        unsigned nthr)
{
    const uint32_t D = v.D;
    for (uint32_t idx = tid; idx < n * D; idx += nthr) {
        uint32_t key = idx / D, d = idx % D;
        sm.kv[key * c.ld + d] = kv_elem<E>(v, sm.tok[key], d);
    }
    for (uint32_t idx = tid; idx < n * v.nblk; idx += nthr) {
        uint32_t key = idx / v.nblk, b = idx % v.nblk;
        sm.sc[key * v.nblk + b] = kv_scale(v, sm.tok[key], b, g);
    }
}

// Decode the tile's elements and scales (the element type picked once, so
// each loader is the codec of one type with its switches folded away).
LBA_HD void tile_load(const lb_kv_view &v, const Cfg &c, uint32_t g, uint32_t n, const Smem &sm, unsigned tid,
                      unsigned nthr)
{
    switch (v.elem) {
    case LOWBIT_F32: tile_load_t<LOWBIT_F32>(v, c, g, n, sm, tid, nthr); break;
    case LOWBIT_F16: tile_load_t<LOWBIT_F16>(v, c, g, n, sm, tid, nthr); break;
    case LOWBIT_BF16: tile_load_t<LOWBIT_BF16>(v, c, g, n, sm, tid, nthr); break;
    case LOWBIT_E4M3: tile_load_t<LOWBIT_E4M3>(v, c, g, n, sm, tid, nthr); break;
    case LOWBIT_E5M2: tile_load_t<LOWBIT_E5M2>(v, c, g, n, sm, tid, nthr); break;
    case LOWBIT_E4M3FNUZ: tile_load_t<LOWBIT_E4M3FNUZ>(v, c, g, n, sm, tid, nthr); break;
    case LOWBIT_E5M2FNUZ: tile_load_t<LOWBIT_E5M2FNUZ>(v, c, g, n, sm, tid, nthr); break;
    case LOWBIT_E3M2: tile_load_t<LOWBIT_E3M2>(v, c, g, n, sm, tid, nthr); break;
    case LOWBIT_E2M3: tile_load_t<LOWBIT_E2M3>(v, c, g, n, sm, tid, nthr); break;
    case LOWBIT_E2M1: tile_load_t<LOWBIT_E2M1>(v, c, g, n, sm, tid, nthr); break;
    case LOWBIT_INT8: tile_load_t<LOWBIT_INT8>(v, c, g, n, sm, tid, nthr); break;
    case LOWBIT_INT4: tile_load_t<LOWBIT_INT4>(v, c, g, n, sm, tid, nthr); break;
    case LOWBIT_UINT4: tile_load_t<LOWBIT_UINT4>(v, c, g, n, sm, tid, nthr); break;
    default: tile_load_t<LB_ANY>(v, c, g, n, sm, tid, nthr); break;
    }
}

// Query rows into shared memory (exact f32), and each row's visibility.
LBA_HD void load_q(const lb_attn_job &j, const Cfg &c, size_t tile, uint32_t y, const Smem &sm, unsigned tid,
                   unsigned nthr)
{
    const uint32_t D = j.D;
    for (uint32_t idx = tid; idx < c.rows * D; idx += nthr) {
        uint32_t r = idx / D, d = idx % D;
        RowId id = row_of(j, c, tile, y, r);
        float x = 0.0f;
        if (id.valid)
            x = lb_decode(j.q_type, lb_load_code(j.q_type, j.q, id.i * j.q_stride + (size_t)id.h * D + d));
        sm.q[r * c.ld + d] = x;
    }
    for (uint32_t r = tid; r < c.rows; r += nthr) {
        RowId id = row_of(j, c, tile, y, r);
        sm.vis[r] = id.valid ? (uint32_t)visible(j, id.i) : 0u;
        sm.m[r] = -INFINITY;
    }
}

// Lane l's sum for (row r, key jj of the tile): the reference's acc[l].
LBA_HD float score_lane(const lb_attn_job &j, const Cfg &c, const Smem &sm, uint32_t r, uint32_t key, unsigned l)
{
    const lb_kv_view &kv = j.k;
    const float *q = sm.q + r * c.ld, *k = sm.kv + key * c.ld, *sc = sm.sc + key * kv.nblk;
    float acc = 0.0f;
    for (uint32_t b = 0; b < kv.nblk; b++) {
        float part = 0.0f;
        for (uint32_t d = b * kv.blk + l; d < (b + 1) * kv.blk; d += kLanes)
            part = fma_rn(q[d], k[d], part);
        acc = fma_rn(part, sc[b], acc);
    }
    return acc;
}

// Does row r see key position pos?
LBA_HD bool sees(const Smem &sm, uint32_t r, size_t pos) { return pos < sm.vis[r]; }

// The score from the combined lanes (acc_0), with the mask; NaN marks a key
// the row does not see (no NaN ever wins the maximum, and p is forced to 0).
LBA_HD void score_store(const lb_attn_job &j, const Cfg &c, size_t tile, uint32_t y, const Smem &sm, uint32_t r,
                        uint32_t key, size_t t0, float acc0)
{
    float x = NAN;
    if (sees(sm, r, t0 + key)) {
        x = mul_rn(acc0, j.score_scale);
        if (j.mask) {
            RowId id = row_of(j, c, tile, y, r);
            x = add_rn(x, j.mask[id.i * j.mask_stride + t0 + key]);
        }
    }
    sm.s[r * kTile + key] = x;
}

// The running choice of the tile maximum: (value, index) b replaces a when
// it is larger, or equal (signed zeros) and earlier; NaN never wins.  This
// is a total order on the candidates, so any reduction tree picks the one
// the reference's in-order scan keeps.
LBA_HD void pick(float &a, unsigned &ia, float b, unsigned ib)
{
    bool take = b == b && (a != a || b > a || (b == a && ib < ia));
    if (take) {
        a = b;
        ia = ib;
    }
}

// With the tile maximum mt (NaN: the row sees no key of the tile): the new
// maximum, alpha, and whether the row updates in this tile.
LBA_HD void row_update(const Smem &sm, uint32_t r, size_t t0, float mt)
{
    int upd = 0;
    if (t0 < sm.vis[r]) {
        float m = sm.m[r];
        float mn = mt > m ? mt : m;
        if (mn != -INFINITY) {
            sm.alpha[r] = lb_expf(sub_rn(m, mn));
            sm.mn[r] = mn;
            sm.m[r] = mn;
            upd = 1;
        }
    }
    sm.upd[r] = upd;
}

// p of (row, key) in place of its score; 0 for keys the row skips.
LBA_HD void tile_p(const Cfg &c, const Smem &sm, size_t t0, uint32_t n, unsigned tid, unsigned nthr)
{
    for (uint32_t idx = tid; idx < c.rows * kTile; idx += nthr) {
        uint32_t r = idx / kTile, key = idx % kTile;
        float p = 0.0f;
        if (sm.upd[r] && key < n && sees(sm, r, t0 + key))
            p = lb_expf(sub_rn(sm.s[idx], sm.mn[r]));
        sm.s[idx] = p;
    }
}

// One output element through the tile: o * alpha, then the keys in order.
LBA_HD void pv_item(const lb_attn_job &j, const Cfg &c, const Smem &sm, uint32_t r, uint32_t d, uint32_t n,
                    float &o)
{
    if (!sm.upd[r])
        return;
    o = mul_rn(o, sm.alpha[r]);
    const lb_kv_view &vv = j.v;
    const uint32_t b = d / vv.blk;
    const float *p = sm.s + r * kTile;
    for (uint32_t key = 0; key < n; key++) {
        float pk = p[key];
        if (pk == 0.0f)
            continue;
        float w = mul_rn(pk, sm.sc[key * vv.nblk + b]);
        o = fma_rn(w, sm.kv[key * c.ld + d], o);
    }
}

// A row's sum l through the tile.
LBA_HD void l_row(const Smem &sm, uint32_t r, uint32_t n, float &l)
{
    if (!sm.upd[r])
        return;
    l = mul_rn(l, sm.alpha[r]);
    const float *p = sm.s + r * kTile;
    for (uint32_t key = 0; key < n; key++) {
        float pk = p[key];
        if (pk == 0.0f)
            continue;
        l = add_rn(l, pk);
    }
}

// out = o / l (0 without a visible key), rounded once, canonical NaN.
LBA_HD void store(const lb_attn_job &j, const Cfg &c, size_t tile, uint32_t y, uint32_t r, uint32_t d, float o,
                  float l)
{
    RowId id = row_of(j, c, tile, y, r);
    if (!id.valid)
        return;
    float x = l == 0.0f ? 0.0f : div_rn(o, l);
    size_t idx = id.i * j.out_stride + (size_t)id.h * j.D + d;
    if (j.out_type == LOWBIT_F32) {
        uint32_t code = x != x ? 0x7FC00000u : lb_f32_bits(x);
        memcpy(j.out + 4 * idx, &code, 4);
    } else {
        uint16_t code = (uint16_t)(x != x ? (j.out_type == LOWBIT_F16 ? 0x7E00u : 0x7FC0u)
                                          : lb_encode(j.out_type, x, LB_ROUND_NE, 0, 0));
        memcpy(j.out + 2 * idx, &code, 2);
    }
}

// Keys any row of the CTA sees: the tile loop runs to here.
LBA_HD size_t cta_keys(const lb_attn_job &j, const Cfg &c, size_t tile, uint32_t y)
{
    size_t end = 0;
    for (uint32_t r = 0; r < c.rows; r++) {
        RowId id = row_of(j, c, tile, y, r);
        if (id.valid) {
            size_t v = visible(j, id.i);
            if (v > end)
                end = v;
        }
    }
    return end;
}

}  // namespace lba

#endif
