/*
 * quantize_tmpl.c - quantize, dequantize and block statistics for every
 * scaled format, LBV_N elements at a time.  Included once per ISA by
 * kernels/cpu/<isa>/quantize_<isa>.c after that ISA's vec_<isa>.h.
 *
 * Contract: the reference's (kernels/cpu/ref/quantize_ref.c), bit for bit.
 *  - Block statistics are max/min reductions, exact in any order; a block's
 *    scale (and zero point) is then stored by lb_store_block_scale, the same
 *    scalar code every CPU kernel uses.  Blocks one row high that divide the
 *    chunk (MX, NVFP4, groups of 16-512) are scored from the staged chunk,
 *    just before they are encoded; other one-row blocks row by row before
 *    the row; taller blocks for the whole rectangle first.
 *  - A row is walked in chunks of QCHUNK columns and, within a chunk, block
 *    segment by block segment: each segment's scale is decoded once (a NaN
 *    scale fills the segment with the element type's NaN encoding), then
 *    its elements go through the vector twin of the scheme's scalar encode
 *    (formats/scale.h): MX multiplies by 2^-e, NVFP4 divides by
 *    s_t * s_b (the product rounded first), symmetric and zero-point
 *    scales divide by the stored scale.
 *  - 4- and 6-bit codes are staged one per byte and packed per chunk.
 *  - Dequantize mirrors it: unpack, decode, multiply by the scale in f32,
 *    NaN made canonical, rounded once into f32 / f16 / bf16.
 * Segment tails go through zero-padded stack copies; nothing outside the
 * rectangle is read or written.
 */
#include "../../../src/internal.h"
#include "../../../formats/scale.h"
#include "elem_vec.h"

#define QCHUNK 512 /* columns staged at a time: a multiple of 8 and of LBV_N */

/* ---- statistics ------------------------------------------------------- */

typedef struct vstats {
    lbv_u32 amax;       /* bits of the largest finite magnitude */
    lbv_u32 vmax, vmin; /* f32 bits; zero is always +0 (only with minmax) */
    lbv_u32 nonfinite;  /* all-ones lanes where a NaN or Inf was seen */
} vstats;

LBV_FI void vstats_init(vstats *a)
{
    a->amax = a->vmax = a->vmin = a->nonfinite = lbv_splat(0);
}

/* minmax: also the signed extremes (only zero-point scales use them). */
LBV_FI void vstats_add(vstats *a, lbv_u32 u, int minmax)
{
    const lbv_u32 mag = u & 0x7FFFFFFFu;
    const lbv_i32 nf = lbv_gt31(mag, 0x7F7FFFFFu);
    a->nonfinite |= (lbv_u32)nf;
    /* finite magnitudes only: as integers they order like the floats */
    a->amax = lbv_max(a->amax, lbv_sel(nf, lbv_splat(0), mag));
    if (minmax) {
        /* finite values only, and -0 as +0 (the scalar code never lets -0 in) */
        const lbv_u32 x = lbv_sel(nf | (mag == 0u), lbv_splat(0), u);
        a->vmax = lbv_sel(lbv_as_f32(x) > lbv_as_f32(a->vmax), x, a->vmax);
        a->vmin = lbv_sel(lbv_as_f32(x) < lbv_as_f32(a->vmin), x, a->vmin);
    }
}

/* Fold the lanes into s (which may already hold statistics). */
LBV_FI void vstats_reduce(const vstats *a, lb_block_stats *s, int minmax)
{
    float am = lb_f32_from_bits(lbv_hmax(a->amax));
    if (am > s->amax)
        s->amax = am;
    if (lbv_hmax(a->nonfinite))
        s->nonfinite = 1;
    if (minmax) {
        for (int i = 0; i < LBV_N; i++) {
            float mx = lb_f32_from_bits(a->vmax[i]), mn = lb_f32_from_bits(a->vmin[i]);
            if (mx > s->vmax) s->vmax = mx;
            if (mn < s->vmin) s->vmin = mn;
        }
    }
}

/* n elements of wide type t from element c of row into a; zero padding is
 * neutral (the statistics start from zero). */
LBV_FI void vstats_segment(vstats *a, lowbit_dtype t, const uint8_t *row, size_t c, size_t n, int minmax)
{
    const unsigned w = lb_bits(t) / 8;
    size_t i = 0;
    for (; i + LBV_N <= n; i += LBV_N)
        vstats_add(a, load_wide(t, row, c + i), minmax);
    if (i < n) {
        uint8_t pad[4 * LBV_N] = {0};
        memcpy(pad, row + (c + i) * w, (n - i) * w);
        vstats_add(a, load_wide(t, pad, 0), minmax);
    }
}

/* Statistics of src over rows [r0, r1) x cols [c0, c1). */
LBV_FI void vstats_rect(lowbit_dtype t, const void *src, size_t stride, size_t r0, size_t r1, size_t c0,
                        size_t c1, int minmax, lb_block_stats *s)
{
    const unsigned w = lb_bits(t) / 8;
    vstats a;
    vstats_init(&a);
    for (size_t r = r0; r < r1; r++)
        vstats_segment(&a, t, (const uint8_t *)src + r * stride * w, c0, c1 - c0, minmax);
    lb_stats_init(s);
    vstats_reduce(&a, s, minmax);
}

static void stats_simd(lowbit_dtype t, const void *src, size_t stride, size_t r0, size_t r1, size_t c0,
                       size_t c1, lb_block_stats *s)
{
    vstats_rect(t, src, stride, r0, r1, c0, c1, 1, s);
}

/* Scales of the blocks covering rows [ra, rb) x cols [ca, cb) (whole blocks). */
static void block_scales(const lb_qjob *j, size_t ra, size_t rb, size_t ca, size_t cb)
{
    const lowbit_qtensor *q = j->q;
    const lb_grid *g = &j->g;
    const int minmax = j->scheme == LB_SCHEME_ZP;
    for (size_t gr = ra / g->block_rows; gr * g->block_rows < rb; gr++) {
        size_t br0 = gr * g->block_rows;
        size_t br1 = br0 + g->block_rows < q->rows ? br0 + g->block_rows : q->rows;
        for (size_t gc = ca / g->block_cols; gc * g->block_cols < cb; gc++) {
            size_t bc0 = gc * g->block_cols;
            size_t bc1 = bc0 + g->block_cols < q->cols ? bc0 + g->block_cols : q->cols;
            lb_block_stats s;
            vstats_rect(j->wide_type, j->src, j->stride, br0, br1, bc0, bc1, minmax, &s);
            lb_store_block_scale(j->q, j->scheme, gr * g->grid_cols + gc, &s, j->s_t);
        }
    }
}

/* ---- packing of staged codes ----------------------------------------- */

/* k one-per-byte codes into 4/6-bit storage starting at a byte; padding
 * bits of a partial last byte are zero. */
LBV_FI void pack_staged(unsigned bits, uint8_t *dst, const uint8_t *codes, size_t k)
{
    size_t i = 0;
    for (; i + LBV_N <= k; i += LBV_N)
        store_codes(bits, dst, i, lbv_load_u8(codes + i));
    if (i < k) {
        uint8_t c[4 * LBV_N] = {0}, out[4 * LBV_N];
        memcpy(c, codes + i, k - i);
        store_codes(bits, out, 0, lbv_load_u8(c));
        size_t nbytes = ((k - i) * bits + 7) / 8;
        if (((k - i) * bits) % 8)
            out[nbytes - 1] &= (uint8_t)((1u << ((k - i) * bits % 8)) - 1u);
        memcpy(dst + elem_byte(bits, i), out, nbytes);
    }
}

/* k packed 4/6-bit codes (starting at a byte) out to one per byte. */
LBV_FI void unpack_staged(unsigned bits, uint8_t *codes, const uint8_t *src, size_t k)
{
    size_t i = 0;
    for (; i + LBV_N <= k; i += LBV_N)
        lbv_store_u8(codes + i, load_codes(bits, src, i));
    if (i < k) {
        uint8_t in[4 * LBV_N] = {0};
        memcpy(in, src + elem_byte(bits, i), ((k - i) * bits + 7) / 8);
        uint8_t out[4 * LBV_N];
        lbv_store_u8(out, load_codes(bits, in, 0));
        memcpy(codes + i, out, k - i);
    }
}

/* ---- one block's scale, decoded --------------------------------------- */

typedef struct qparams {
    int nan;     /* NaN scale: the block is NaN throughout */
    float f;     /* MX: the power of two to multiply by; else the divisor / multiplier */
    int32_t zp;  /* zero point */
} qparams;

/* quant = 1: parameters for encoding, 0: for decoding. */
LBV_FI qparams block_params(const lb_qjob *j, const lowbit_qtensor *q, int scheme, size_t b, int quant)
{
    qparams p = {0, 1.0f, 0};
    const int stype = q->format.scale_type, elem = q->format.elem;
    switch (scheme) {
    case LB_SCHEME_MX: {
        uint32_t sc = ((const uint8_t *)q->scales)[b];
        p.nan = sc == 0xFFu;
        p.f = p.nan ? 0.0f : lb_pow2f(quant ? 127 - (int)sc : (int)sc - 127);
        break;
    }
    case LB_SCHEME_NVFP4: {
        uint32_t sb = ((const uint8_t *)q->scales)[b];
        p.nan = (sb & 0x7Fu) == 0x7Fu;
        p.f = lb_nv_divisor(sb, j->s_t);
        break;
    }
    case LB_SCHEME_AMAX:
        p.f = lb_load_f32(stype, q->scales, b);
        p.nan = quant && p.f != p.f; /* decoding just multiplies the NaN in */
        break;
    case LB_SCHEME_ZP:
        p.f = lb_load_f32(stype, q->scales, b);
        p.zp = (int32_t)lb_decode(elem, lb_load_code(elem, q->zero_points, b));
        p.nan = quant && p.f != p.f;
        break;
    default:
        break;
    }
    return p;
}

/* ---- quantize --------------------------------------------------------- */

/* One vector of f32 bits x against block parameters, as formats/scale.h. */
LBV_FI lbv_u32 q_encode(int scheme, lowbit_dtype elem, int mode, lbv_u32 x, const qparams *bp, lbv_u32 rb)
{
    const lbv_f32 xf = lbv_as_f32(x);
    switch (scheme) {
    case LB_SCHEME_MX: {
        const lbv_f32 v = xf * bp->f;
        if (elem == LOWBIT_INT8)
            return (lbv_u32)lbv_int_round(v * 64.0f, -127, 127, mode, rb) & 0xFFu;
        return encode(elem, lbv_as_u32(v), mode, 1, rb);
    }
    case LB_SCHEME_NVFP4:
        return encode(elem, lbv_as_u32(xf / bp->f), mode, 1, rb);
    case LB_SCHEME_AMAX: {
        const lbv_f32 v = xf / bp->f;
        if (elem == LOWBIT_INT8)
            return (lbv_u32)lbv_int_round(v, -127, 127, mode, rb) & 0xFFu;
        if (elem == LOWBIT_INT4)
            return (lbv_u32)lbv_int_round(v, -7, 7, mode, rb) & 0xFu;
        return encode(elem, lbv_as_u32(v), mode, 1, rb);
    }
    case LB_SCHEME_ZP: {
        int32_t qmin, qmax;
        lb_int_range(elem, &qmin, &qmax);
        const lbv_i32 qv = lbv_int_round(xf / bp->f, qmin - bp->zp, qmax - bp->zp, mode, rb) + bp->zp;
        return (lbv_u32)qv & (elem == LOWBIT_INT8 ? 0xFFu : 0xFu);
    }
    default:
        return encode(elem, x, mode, 1, rb);
    }
}

/* nvec vectors of staged f32 bits into staged one-per-byte codes. */
LBV_FI void q_loop(int scheme, lowbit_dtype elem, int mode, const qparams *bp, const uint32_t *xs, size_t nvec,
                   uint8_t *codes, uint64_t index, lbv_sr_stream *sr)
{
    for (size_t v = 0; v < nvec; v++) {
        lbv_u32 rb = mode == LB_ROUND_SR ? lbv_sr_bits(sr, index + v * LBV_N) : lbv_splat(0);
        lbv_store_u8(codes + v * LBV_N, q_encode(scheme, elem, mode, lbv_load(xs + v * LBV_N), bp, rb));
    }
}

LBV_FI void q_loop_modes(int scheme, lowbit_dtype elem, int mode, const qparams *bp, const uint32_t *xs,
                         size_t nvec, uint8_t *codes, uint64_t index, lbv_sr_stream *sr)
{
    switch (mode) {
    case LB_ROUND_NE: q_loop(scheme, elem, LB_ROUND_NE, bp, xs, nvec, codes, index, sr); break;
    case LB_ROUND_TZ: q_loop(scheme, elem, LB_ROUND_TZ, bp, xs, nvec, codes, index, sr); break;
    default:          q_loop(scheme, elem, LB_ROUND_SR, bp, xs, nvec, codes, index, sr); break;
    }
}

/* Every element type a scheme takes (lowbit_format_check decides which). */
LBV_FI void q_loop_elems(int scheme, lowbit_dtype elem, int mode, const qparams *bp, const uint32_t *xs,
                         size_t nvec, uint8_t *codes, uint64_t index, lbv_sr_stream *sr)
{
    const int mx = scheme == LB_SCHEME_MX, nv = scheme == LB_SCHEME_NVFP4, zp = scheme == LB_SCHEME_ZP;
    switch (elem) {
    case LOWBIT_E4M3:     if (!zp) q_loop_modes(scheme, LOWBIT_E4M3, mode, bp, xs, nvec, codes, index, sr); break;
    case LOWBIT_E5M2:     if (!zp) q_loop_modes(scheme, LOWBIT_E5M2, mode, bp, xs, nvec, codes, index, sr); break;
    case LOWBIT_E4M3FNUZ: if (!mx && !zp) q_loop_modes(scheme, LOWBIT_E4M3FNUZ, mode, bp, xs, nvec, codes, index, sr); break;
    case LOWBIT_E5M2FNUZ: if (!mx && !zp) q_loop_modes(scheme, LOWBIT_E5M2FNUZ, mode, bp, xs, nvec, codes, index, sr); break;
    case LOWBIT_E3M2:     if (!zp) q_loop_modes(scheme, LOWBIT_E3M2, mode, bp, xs, nvec, codes, index, sr); break;
    case LOWBIT_E2M3:     if (!zp) q_loop_modes(scheme, LOWBIT_E2M3, mode, bp, xs, nvec, codes, index, sr); break;
    case LOWBIT_E2M1:     if (!zp) q_loop_modes(scheme, LOWBIT_E2M1, mode, bp, xs, nvec, codes, index, sr); break;
    case LOWBIT_INT8:     if (!nv) q_loop_modes(scheme, LOWBIT_INT8, mode, bp, xs, nvec, codes, index, sr); break;
    case LOWBIT_INT4:     if (!mx && !nv) q_loop_modes(scheme, LOWBIT_INT4, mode, bp, xs, nvec, codes, index, sr); break;
    default:              if (zp || scheme == LB_SCHEME_PLAIN)
                              q_loop_modes(scheme, LOWBIT_UINT4, mode, bp, xs, nvec, codes, index, sr);
                          break;
    }
}

static void q_vectors(int scheme, lowbit_dtype elem, int mode, const qparams *bp, const uint32_t *xs, size_t nvec,
                      uint8_t *codes, uint64_t index, lbv_sr_stream *sr)
{
    switch (scheme) {
    case LB_SCHEME_MX:    q_loop_elems(LB_SCHEME_MX, elem, mode, bp, xs, nvec, codes, index, sr); break;
    case LB_SCHEME_NVFP4: q_loop_elems(LB_SCHEME_NVFP4, elem, mode, bp, xs, nvec, codes, index, sr); break;
    case LB_SCHEME_AMAX:  q_loop_elems(LB_SCHEME_AMAX, elem, mode, bp, xs, nvec, codes, index, sr); break;
    case LB_SCHEME_ZP:    q_loop_elems(LB_SCHEME_ZP, elem, mode, bp, xs, nvec, codes, index, sr); break;
    default:              q_loop_elems(LB_SCHEME_PLAIN, elem, mode, bp, xs, nvec, codes, index, sr); break;
    }
}

/* k elements of wide type t from row (at an element) into f32 bits, then
 * LBV_N zeros: vectors that run past the end read zeros. */
static void stage_wide(lowbit_dtype t, const uint8_t *row, size_t k, uint32_t *xs)
{
    if (t == LOWBIT_F32) {
        memcpy(xs, row, 4 * k);
    } else {
        size_t i = 0;
        for (; i + LBV_N <= k; i += LBV_N)
            lbv_store(xs + i, load_wide(t, row, i));
        if (i < k) {
            uint8_t pad[4 * LBV_N] = {0}; /* sized for any wide type */
            memcpy(pad, row + 2 * i, 2 * (k - i));
            lbv_store(xs + i, load_wide(t, pad, 0));
        }
    }
    memset(xs + k, 0, 4 * LBV_N);
}

/* Statistics of n staged f32 values (the tail vector padded with zeros). */
LBV_FI void vstats_staged(vstats *a, const uint32_t *xs, size_t n, int minmax)
{
    size_t i = 0;
    for (; i + LBV_N <= n; i += LBV_N)
        vstats_add(a, lbv_load(xs + i), minmax);
    if (i < n) {
        uint32_t pad[LBV_N] = {0};
        memcpy(pad, xs + i, 4 * (n - i));
        vstats_add(a, lbv_load(pad), minmax);
    }
}

/* score: also compute each block's scale here, from the staged values
 * (blocks one row high that never straddle a chunk), so the source is read
 * from memory once. */
static void q_row(const lb_qjob *j, size_t r, size_t c0, size_t c1, int score, lbv_sr_stream *sr)
{
    lowbit_qtensor *q = j->q;
    const lb_grid *g = &j->g;
    const lowbit_dtype elem = q->format.elem;
    const unsigned bits = lb_bits(elem), w = lb_bits(j->wide_type) / 8;
    const uint8_t *srow = (const uint8_t *)j->src + r * j->stride * w;
    uint8_t *drow = (uint8_t *)q->data + elem_byte(bits, r * q->row_stride);
    const size_t gr = r / g->block_rows;
    const uint64_t index0 = j->p.offset + (uint64_t)r * q->cols;
    const int mode = j->p.mode;
    uint8_t nan_code = 0;
    if (j->scheme != LB_SCHEME_ZP)
        nan_code = (uint8_t)(lb_encode(elem, lb_f32_from_bits(0x7FC00000u), mode, 1, 0) & ((1u << bits) - 1u));
    uint32_t xs[QCHUNK + LBV_N];
    uint8_t codes[QCHUNK + LBV_N];

    for (size_t cc = c0; cc < c1; cc += QCHUNK) {
        size_t ce = c1 - cc < QCHUNK ? c1 : cc + QCHUNK;
        stage_wide(j->wide_type, srow + cc * w, ce - cc, xs);
        size_t gc = cc / g->block_cols, c = cc;
        while (c < ce) {
            size_t se = (gc + 1) * g->block_cols < ce ? (gc + 1) * g->block_cols : ce;
            if (score) {
                const int minmax = j->scheme == LB_SCHEME_ZP;
                vstats a;
                vstats_init(&a);
                vstats_staged(&a, xs + (c - cc), se - c, minmax);
                lb_block_stats st;
                lb_stats_init(&st);
                vstats_reduce(&a, &st, minmax);
                lb_store_block_scale(q, j->scheme, gr * g->grid_cols + gc, &st, j->s_t);
            }
            qparams bp = block_params(j, q, j->scheme, gr * g->grid_cols + gc, 1);
            if (bp.nan) /* a vector of the previous segment may have run into this one */
                memset(codes + (c - cc), nan_code, se - c + LBV_N);
            else
                q_vectors(j->scheme, elem, mode, &bp, xs + (c - cc), (se - c + LBV_N - 1) / LBV_N, codes + (c - cc),
                          index0 + c, sr);
            c = se;
            gc++;
        }
        if (bits == 8)
            memcpy(drow + cc, codes, ce - cc);
        else
            pack_staged(bits, drow + elem_byte(bits, cc), codes, ce - cc);
    }
}

static void quantize_simd(const lb_qjob *j, size_t r0, size_t r1, size_t c0, size_t c1)
{
    const int scored = j->scales_ready || j->scheme == LB_SCHEME_PLAIN;
    lbv_sr_stream sr;
    lbv_sr_init(&sr, j->p.seed);
    const int fused = !scored && j->g.block_rows == 1 && QCHUNK % j->g.block_cols == 0;
    if (!scored && j->g.block_rows > 1)
        block_scales(j, r0, r1, c0, c1);
    for (size_t r = r0; r < r1; r++) {
        if (!scored && j->g.block_rows == 1 && !fused)
            block_scales(j, r, r + 1, c0, c1);
        q_row(j, r, c0, c1, fused, &sr);
    }
}

/* ---- dequantize ------------------------------------------------------- */

/* The f32 value of codes against block parameters (formats/scale.h decoders). */
LBV_FI lbv_u32 dq_value(int scheme, lowbit_dtype elem, lbv_u32 codes, const qparams *bp)
{
    switch (scheme) {
    case LB_SCHEME_MX:
        if (elem == LOWBIT_INT8)
            return lbv_as_u32(lbv_as_f32(decode_codes(elem, codes)) * 0.015625f * bp->f);
        return lbv_as_u32(lbv_as_f32(decode_codes(elem, codes)) * bp->f);
    case LB_SCHEME_NVFP4:
    case LB_SCHEME_AMAX:
        return lbv_as_u32(lbv_as_f32(decode_codes(elem, codes)) * bp->f);
    case LB_SCHEME_ZP: {
        lbv_i32 qv;
        if (elem == LOWBIT_INT8)
            qv = (lbv_i32)(codes << 24) >> 24;
        else if (elem == LOWBIT_INT4)
            qv = (lbv_i32)(codes << 28) >> 28;
        else
            qv = (lbv_i32)codes;
        return lbv_as_u32(lbv_i32_to_f32(qv - bp->zp) * bp->f);
    }
    default:
        return decode_codes(elem, codes);
    }
}

LBV_FI void dq_loop(int scheme, lowbit_dtype elem, const qparams *bp, const uint8_t *codes, size_t nvec,
                    uint32_t *xs)
{
    for (size_t v = 0; v < nvec; v++)
        lbv_store(xs + v * LBV_N, dq_value(scheme, elem, lbv_load_u8(codes + v * LBV_N), bp));
}

LBV_FI void dq_loop_elems(int scheme, lowbit_dtype elem, const qparams *bp, const uint8_t *codes, size_t nvec,
                          uint32_t *xs)
{
    const int mx = scheme == LB_SCHEME_MX, nv = scheme == LB_SCHEME_NVFP4, zp = scheme == LB_SCHEME_ZP;
    switch (elem) {
    case LOWBIT_E4M3:     if (!zp) dq_loop(scheme, LOWBIT_E4M3, bp, codes, nvec, xs); break;
    case LOWBIT_E5M2:     if (!zp) dq_loop(scheme, LOWBIT_E5M2, bp, codes, nvec, xs); break;
    case LOWBIT_E4M3FNUZ: if (!mx && !zp) dq_loop(scheme, LOWBIT_E4M3FNUZ, bp, codes, nvec, xs); break;
    case LOWBIT_E5M2FNUZ: if (!mx && !zp) dq_loop(scheme, LOWBIT_E5M2FNUZ, bp, codes, nvec, xs); break;
    case LOWBIT_E3M2:     if (!zp) dq_loop(scheme, LOWBIT_E3M2, bp, codes, nvec, xs); break;
    case LOWBIT_E2M3:     if (!zp) dq_loop(scheme, LOWBIT_E2M3, bp, codes, nvec, xs); break;
    case LOWBIT_E2M1:     if (!zp) dq_loop(scheme, LOWBIT_E2M1, bp, codes, nvec, xs); break;
    case LOWBIT_INT8:     if (!nv) dq_loop(scheme, LOWBIT_INT8, bp, codes, nvec, xs); break;
    case LOWBIT_INT4:     if (!mx && !nv) dq_loop(scheme, LOWBIT_INT4, bp, codes, nvec, xs); break;
    default:              if (zp || scheme == LB_SCHEME_PLAIN) dq_loop(scheme, LOWBIT_UINT4, bp, codes, nvec, xs); break;
    }
}

static void dq_vectors(int scheme, lowbit_dtype elem, const qparams *bp, const uint8_t *codes, size_t nvec,
                       uint32_t *xs)
{
    switch (scheme) {
    case LB_SCHEME_MX:    dq_loop_elems(LB_SCHEME_MX, elem, bp, codes, nvec, xs); break;
    case LB_SCHEME_NVFP4: dq_loop_elems(LB_SCHEME_NVFP4, elem, bp, codes, nvec, xs); break;
    case LB_SCHEME_AMAX:  dq_loop_elems(LB_SCHEME_AMAX, elem, bp, codes, nvec, xs); break;
    case LB_SCHEME_ZP:    dq_loop_elems(LB_SCHEME_ZP, elem, bp, codes, nvec, xs); break;
    default:              dq_loop_elems(LB_SCHEME_PLAIN, elem, bp, codes, nvec, xs); break;
    }
}

/* k staged f32 values out to wide type dt: NaN made canonical (which
 * payload survives a multiply differs between CPUs), then rounded once. */
LBV_FI lbv_u32 dq_finish(lowbit_dtype dt, lbv_u32 v)
{
    v = lbv_sel(lbv_gt31(v & 0x7FFFFFFFu, 0x7F800000u), lbv_splat(0x7FC00000u), v);
    if (dt == LOWBIT_F16)
        return lbv_mf_encode(lb_spec_f16(), v, LB_ROUND_NE, 0, lbv_splat(0));
    if (dt == LOWBIT_BF16)
        return lbv_mf_encode(lb_spec_bf16(), v, LB_ROUND_NE, 0, lbv_splat(0));
    return v;
}

static void dq_out(lowbit_dtype dt, const uint32_t *xs, size_t k, uint8_t *orow)
{
    const unsigned bits = lb_bits(dt);
    size_t i = 0;
    for (; i + LBV_N <= k; i += LBV_N) {
        lbv_u32 v = lbv_load(xs + i);
        if (dt == LOWBIT_F32)
            store_codes(32, orow, i, dq_finish(LOWBIT_F32, v));
        else if (dt == LOWBIT_F16)
            store_codes(16, orow, i, dq_finish(LOWBIT_F16, v));
        else
            store_codes(16, orow, i, dq_finish(LOWBIT_BF16, v));
    }
    if (i < k) {
        uint8_t out[4 * LBV_N];
        lbv_u32 v = lbv_load(xs + i);
        store_codes(bits, out, 0, dt == LOWBIT_F32 ? dq_finish(LOWBIT_F32, v)
                                  : dt == LOWBIT_F16 ? dq_finish(LOWBIT_F16, v) : dq_finish(LOWBIT_BF16, v));
        memcpy(orow + i * bits / 8, out, (k - i) * bits / 8);
    }
}

static void dq_row(const lb_qjob *j, size_t r, size_t c0, size_t c1)
{
    const lowbit_qtensor *q = j->cq;
    const lb_grid *g = &j->g;
    const lowbit_dtype elem = q->format.elem;
    const unsigned bits = lb_bits(elem), w = lb_bits(j->wide_type) / 8;
    const uint8_t *crow = (const uint8_t *)q->data + elem_byte(bits, r * q->row_stride);
    uint8_t *orow = (uint8_t *)j->dst + r * j->stride * w;
    const size_t gr = r / g->block_rows;
    uint8_t codes[QCHUNK + LBV_N];
    uint32_t xs[QCHUNK + LBV_N];
    for (size_t cc = c0; cc < c1; cc += QCHUNK) {
        size_t ce = c1 - cc < QCHUNK ? c1 : cc + QCHUNK, k = ce - cc;
        if (bits == 8)
            memcpy(codes, crow + cc, k);
        else
            unpack_staged(bits, codes, crow + elem_byte(bits, cc), k);
        memset(codes + k, 0, LBV_N);
        size_t gc = cc / g->block_cols, c = cc;
        while (c < ce) {
            size_t se = (gc + 1) * g->block_cols < ce ? (gc + 1) * g->block_cols : ce;
            qparams bp = block_params(j, q, j->scheme, gr * g->grid_cols + gc, 0);
            if (bp.nan)
                for (size_t i = c - cc; i < se - cc + LBV_N; i++)
                    xs[i] = 0x7FC00000u;
            else
                dq_vectors(j->scheme, elem, &bp, codes + (c - cc), (se - c + LBV_N - 1) / LBV_N, xs + (c - cc));
            c = se;
            gc++;
        }
        dq_out(j->wide_type, xs, k, orow + cc * w);
    }
}

static void dequantize_simd(const lb_qjob *j, size_t r0, size_t r1, size_t c0, size_t c1)
{
    for (size_t r = r0; r < r1; r++)
        dq_row(j, r, c0, c1);
}

/* What the kernels of this template cover: every format lowbit_format_check
 * accepts, from and to f32 / f16 / bf16, every rounding mode. */
#define LB_QUANT_ELEMS                                                                                        \
    (LB_TYPE(LOWBIT_E4M3) | LB_TYPE(LOWBIT_E5M2) | LB_TYPE(LOWBIT_E4M3FNUZ) | LB_TYPE(LOWBIT_E5M2FNUZ) |     \
     LB_TYPE(LOWBIT_E3M2) | LB_TYPE(LOWBIT_E2M3) | LB_TYPE(LOWBIT_E2M1) | LB_TYPE(LOWBIT_INT8) |              \
     LB_TYPE(LOWBIT_INT4) | LB_TYPE(LOWBIT_UINT4))
