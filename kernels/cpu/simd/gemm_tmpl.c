/*
 * gemm_tmpl.c - the exact GEMM on SIMD, every pair.  Included once per ISA
 * by kernels/cpu/<isa>/gemm_<isa>.c after that ISA's vec_<isa>.h, which
 * supplies lbv_fma (fused, one rounding) and lbv_madd16 (int16 pair dot
 * into int32).  Contract: kernels/cpu/ref/gemm_ref.c, bit for bit.
 *
 * A is packed per call into "words", one per k step; B (packed once by
 * lowbit_gemm_pack, or per call) keeps its element codes 4 or 8 bits wide
 * (6-bit codes take a byte), rearranged into panels, and each task decodes a chunk of a panel
 * into L1-resident words just before the microtiles use it, so a prepacked
 * B costs about what B does and streams once per task.  Words:
 *  - f32 pairs: the element value as f32 (zero point applied), one k per
 *    word; a microtile keeps GMR x GNR partial sums d and runs
 *    d = fma(a, b, d) in increasing k, lane n being output column n: the
 *    reference's order exactly;
 *  - integer pairs: two neighbouring k of one block as int16 halves of a
 *    word (a block of odd length ends with a zero half); lbv_madd16 adds
 *    both products into int32 lanes.  The integer block sum is exact in
 *    any order while it fits int32, which gemm_covers checks (L * max|a| *
 *    max|b| < 2^31); longer blocks go to the reference.
 * Per K block the microtile then does acc = fma(d, s_a * s_b, acc), the
 * block scales packed beside the words as f32; the store (alpha, beta,
 * rounding to C's type, canonical NaN) is the reference's own scalar code.
 *
 * Layouts:
 *   A tile of GMR rows:  [block][step][GMR] words, then [block][GMR] f32 scales
 *   B panel of GNR rows: [block][group][GNR] 32-bit code words, then
 *                        [block][GNR] f32 scales, then (zero-point formats)
 *                        [block][GNR] zero points as f32.  A code word holds
 *                        kg = 32 / width consecutive k of one row of B (k4
 *                        bytes or k8 nibbles, the layout VNNI-style byte
 *                        dot products want; 6-bit codes take a byte each),
 *                        code j at bits [width * j, width * (j + 1)); each
 *                        block is padded to whole words with code 0.
 * Rows past N or M are zero codes with zero scales and are never stored.
 * Loops (per task, BLIS-style): for each B panel, for each chunk of at most
 * KC_STEPS words of K, decode the chunk; for each A tile, run its microtile
 * over the chunk, carrying the partial block sum d and the accumulator acc
 * in a small per-tile state across chunks.
 */
#include <math.h>
#include <stdlib.h>
#include "../../../src/internal.h"
#include "../../../src/gemm_operand.h"
#include "elem_vec.h"

#ifndef LBV_GEMM_MR
#define LBV_GEMM_MR 4
#endif
#define GMR LBV_GEMM_MR
#define GNV 2
#define GNR (GNV * LBV_N)

typedef struct gemm_geom {
    size_t nblk;   /* K blocks */
    size_t steps;  /* words per row and block */
} gemm_geom;

static gemm_geom geom_of(const lb_gemm_job *j)
{
    gemm_geom g;
    g.nblk = j->K / j->kblock;
    g.steps = j->integer ? (j->kblock + 1) / 2 : j->kblock;
    return g;
}

static size_t panel_words(const gemm_geom *g, size_t rows)
{
    return lb_mul_sat(lb_mul_sat(g->nblk, g->steps + 1), rows);
}

/* ---- packing ---------------------------------------------------------- */

/* f32 values of every code of an operand's element type (narrow types). */
typedef struct elem_lut {
    float v[256];
} elem_lut;

static void lut_init(const lb_operand *o, elem_lut *t)
{
    unsigned bits = lowbit_dtype_bits(o->q.format.elem);
    if (bits > 8)
        return;
    for (uint32_t c = 0; c < (1u << bits); c++)
        t->v[c] = lb_decode(o->q.format.elem, c) * o->code_value;
}

static float elem_value(const lb_operand *o, const elem_lut *t, size_t r, size_t k)
{
    uint32_t c = lb_opnd_code(o, r, k);
    return lowbit_dtype_bits(o->q.format.elem) > 8 ? lb_decode(o->q.format.elem, c) * o->code_value : t->v[c];
}

/* Row r of operand o into `width`-strided words at out (column `lane`). */
static void pack_row(const lb_gemm_job *j, const lb_operand *o, const elem_lut *t, size_t r, uint32_t *out,
                     size_t width, size_t lane)
{
    const gemm_geom g = geom_of(j);
    const size_t L = j->kblock;
    const float up = ldexpf(1.0f, -o->unit_log2);
    uint32_t *scales = out + g.nblk * g.steps * width;
    for (size_t b = 0; b < g.nblk; b++) {
        size_t k0 = b * L;
        /* the operand's own blocks are whole multiples of L: one zero point */
        float z = (float)lb_opnd_zero_point(o, r, k0);
        uint32_t *w = out + b * g.steps * width + lane;
        for (size_t k = k0; k < k0 + L; k++) {
            float v = elem_value(o, t, r, k) - z; /* small integers: exact */
            size_t i = k - k0;
            if (!j->integer) {
                memcpy(&w[i * width], &v, 4);
            } else {
                uint32_t h = (uint32_t)(uint16_t)(int16_t)(int32_t)(v * up);
                w[(i / 2) * width] |= (i & 1) ? h << 16 : h;
            }
        }
        float s = lb_opnd_scale(o, r, k0);
        memcpy(&scales[b * width + lane], &s, 4);
    }
}

/* B panel geometry: bytes of the codes, of the scales (and zero points),
 * of the whole panel (multiples of 64). */
struct panel_geom {
    unsigned width;             /* bits per code in the words: 4 or 8 */
    size_t kg;                  /* codes per word */
    size_t groups;              /* words per row and block */
    size_t code_bytes, scale_off, zp_off, bytes;
};
typedef struct panel_geom panel_geom;

static panel_geom panel_of(const lb_gemm_job *j)
{
    panel_geom p;
    size_t nblk = j->K / j->kblock;
    p.width = lowbit_dtype_bits(j->b.q.format.elem) == 4 ? 4 : 8;
    p.kg = 32 / p.width;
    p.groups = (j->kblock + p.kg - 1) / p.kg;
    /* saturating: lowbit_gemm_pack_size must see an overflow, not a wrap */
    p.code_bytes = lb_mul_sat(lb_mul_sat(nblk, p.groups), GNR * 4);
    p.scale_off = p.code_bytes;
    p.zp_off = lb_add_sat(p.scale_off, lb_mul_sat(nblk, GNR * 4));
    p.bytes = lb_add_sat(lb_add_sat(p.zp_off, j->b.scheme == LB_SCHEME_ZP ? lb_mul_sat(nblk, GNR * 4) : 0), 63);
    if (p.bytes != SIZE_MAX)
        p.bytes &= ~(size_t)63;
    return p;
}

static size_t pack_b_size(const lb_gemm_job *j)
{
    return lb_mul_sat((j->N + GNR - 1) / GNR, panel_of(j).bytes);
}

static void pack_b(const lb_gemm_job *j, void *dst, size_t n0, size_t n1)
{
    const panel_geom pg = panel_of(j);
    const lb_operand *o = &j->b;
    const size_t L = j->kblock, nblk = j->K / L;
    for (size_t p = n0 / GNR; p * GNR < n1; p++) {
        uint8_t *panel = (uint8_t *)dst + p * pg.bytes;
        memset(panel, 0, pg.bytes);
        for (size_t i = 0; i < GNR && p * GNR + i < j->N; i++) {
            size_t n = p * GNR + i;
            uint32_t *words = (uint32_t *)panel;
            for (size_t k = 0; k < j->K; k++) {
                size_t b = k / L, g = (k % L) / pg.kg, at = (k % L) % pg.kg;
                words[(b * pg.groups + g) * GNR + i] |= lb_opnd_code(o, n, k) << (pg.width * at);
            }
            for (size_t b = 0; b < nblk; b++) {
                float s = lb_opnd_scale(o, n, b * L), z = (float)lb_opnd_zero_point(o, n, b * L);
                memcpy(panel + pg.scale_off + (b * GNR + i) * 4, &s, 4);
                if (o->scheme == LB_SCHEME_ZP)
                    memcpy(panel + pg.zp_off + (b * GNR + i) * 4, &z, 4);
            }
        }
    }
}

/* An ISA may add a byte-level path for decode-sized integer calls over the
 * same B panels (kernels/cpu/avx2/gemm_w4_decode_avx2.c); it defines
 * LBV_GEMM_HAVE_BYTE_PATH and these four after including this file. */
#ifdef LBV_GEMM_HAVE_BYTE_PATH
static int byte_path_applies(const lb_gemm_job *j);
static size_t byte_pack_a_size(const lb_gemm_job *j);
static void byte_pack_a(const lb_gemm_job *j, void *dst, size_t m0, size_t m1);
static void byte_gemm(const lb_gemm_job *j, size_t m0, size_t m1, size_t n0, size_t n1);
#else
static int byte_path_applies(const lb_gemm_job *j)
{
    (void)j;
    return 0;
}
#define byte_pack_a_size pack_a_size
#define byte_pack_a pack_a
#define byte_gemm gemm_simd
#endif

static size_t pack_a_size(const lb_gemm_job *j)
{
    if (byte_path_applies(j))
        return byte_pack_a_size(j);
    gemm_geom g = geom_of(j);
    return lb_mul_sat(lb_mul_sat((j->M + GMR - 1) / GMR, panel_words(&g, GMR)), 4);
}

static void pack_a(const lb_gemm_job *j, void *dst, size_t m0, size_t m1)
{
    if (byte_path_applies(j)) {
        byte_pack_a(j, dst, m0, m1);
        return;
    }
    gemm_geom g = geom_of(j);
    elem_lut t;
    lut_init(&j->a, &t);
    for (size_t p = m0 / GMR; p * GMR < m1; p++) {
        uint32_t *tile = (uint32_t *)dst + p * panel_words(&g, GMR);
        memset(tile, 0, panel_words(&g, GMR) * 4);
        for (size_t i = 0; i < GMR && p * GMR + i < j->M; i++)
            pack_row(j, &j->a, &t, p * GMR + i, tile, GMR, i);
    }
}

/* ---- decoding a chunk of a B panel ------------------------------------ */

#define KC_STEPS (4096 / GNR) /* words per row in a chunk: 16 KiB of decoded B */
#define MAX_SEGS 64

/* A run of steps inside one K block; a chunk is a list of them. */
typedef struct seg {
    size_t block, s0, steps;  /* block index, first step within it, count */
    int starts, ends;         /* the run begins / ends its block */
} seg;

/* Next chunk from (block *b, step *s); returns its segment count. */
static int next_chunk(const gemm_geom *g, size_t *b, size_t *s, seg *out)
{
    int n = 0;
    size_t total = 0;
    while (*b < g->nblk && n < MAX_SEGS && total < KC_STEPS) {
        size_t take = g->steps - *s;
        if (take > KC_STEPS - total)
            take = KC_STEPS - total;
        out[n].block = *b;
        out[n].s0 = *s;
        out[n].steps = take;
        out[n].starts = *s == 0;
        out[n].ends = *s + take == g->steps;
        n++;
        total += take;
        *s += take;
        if (*s == g->steps) {
            *s = 0;
            ++*b;
        }
    }
    return n;
}

/*
 * B's codes to values, cheaper than the general decoders (this runs once
 * per weight in decode-sized calls).  A minifloat's magnitude bits placed
 * at the top of an f32 mantissa read as 2^(e-127) * 1.m (or, for e = 0, as
 * the f32 subnormal 2^-126 * 0.m); one multiply by 2^(127-bias) makes that
 * the element's value, exactly, subnormals included (no FTZ/DAZ anywhere).
 * Then the sign, and the type's NaN / Inf codes by select.
 */
LBV_FI lbv_f32 fast_minifloat(lbv_u32 c, const int ebits, const int mbits, const int bias)
{
    const uint32_t magmask = (1u << (ebits + mbits)) - 1u;
    lbv_u32 mag = c & magmask;
    lbv_f32 v = lbv_as_f32(mag << (23 - mbits)) * lbv_as_f32(lbv_splat((uint32_t)(254 - bias) << 23));
    return lbv_as_f32(lbv_as_u32(v) | (c >> (ebits + mbits)) << 31);
}

LBV_FI lbv_f32 with_nan(lbv_i32 is_nan, lbv_f32 v)
{
    return lbv_as_f32(lbv_sel(is_nan, lbv_splat(0x7FC00000u), lbv_as_u32(v)));
}

/* Values of B's codes c (type t, a constant after inlining); es: the
 * value of code 1 for INT8 (2^-6 for MXINT8). */
LBV_FI lbv_f32 b_values(lowbit_dtype t, lbv_u32 c, lbv_f32 es)
{
    switch (t) {
    case LOWBIT_E4M3:     return with_nan((c & 0x7Fu) == 0x7Fu, fast_minifloat(c, 4, 3, 7));
    case LOWBIT_E4M3FNUZ: return with_nan(c == 0x80u, fast_minifloat(c, 4, 3, 8));
    case LOWBIT_E5M2FNUZ: return with_nan(c == 0x80u, fast_minifloat(c, 5, 2, 16));
    case LOWBIT_E5M2: {
        lbv_f32 v = fast_minifloat(c, 5, 2, 15);
        /* exponent 31: Inf (mantissa 0) or NaN, as f32 exponent 255 */
        lbv_u32 special = lbv_as_u32(v) | 0x7F800000u;
        v = lbv_as_f32(lbv_sel((c & 0x7Cu) == 0x7Cu, special, lbv_as_u32(v)));
        return with_nan((c & 0x7Fu) > 0x7Cu, v);
    }
    case LOWBIT_E3M2:     return fast_minifloat(c, 3, 2, 3);
    case LOWBIT_E2M3:     return fast_minifloat(c, 2, 3, 1);
    case LOWBIT_E2M1:     return fast_minifloat(c, 2, 1, 1);
    case LOWBIT_INT8:     return lbv_i32_to_f32((lbv_i32)(c << 24) >> 24) * es;
    case LOWBIT_INT4:     return lbv_i32_to_f32((lbv_i32)(c << 28) >> 28);
    default:              return lbv_i32_to_f32((lbv_i32)c); /* UINT4 */
    }
}

/* Integer B elements n (value = n * 2^u) as int32 lanes (INT8: the code,
 * MXINT8's included). */
LBV_FI lbv_i32 b_ints(lowbit_dtype t, lbv_u32 c, lbv_f32 up)
{
    switch (t) {
    case LOWBIT_INT8:  return (lbv_i32)(c << 24) >> 24;
    case LOWBIT_INT4:  return (lbv_i32)(c << 28) >> 28;
    case LOWBIT_UINT4: return (lbv_i32)c;
    default:           return lbv_f32_to_i32_trunc(b_values(t, c, lbv_splat_f32(1.0f)) * up); /* E2M1, E2M3: exact */
    }
}

/* Decode the chunk's words of one panel into w ([step][GNR]).  t, integer
 * and zp are constants after inlining: one loop per combination. */
LBV_FI void decode_chunk_t(const lb_gemm_job *j, const panel_geom *pg, const uint8_t *panel, const seg *sg,
                           int nseg, uint32_t *w, const lowbit_dtype t, const int integer, const int zp)
{
    const size_t L = j->kblock;
    const lbv_f32 up = lbv_splat_f32(ldexpf(1.0f, -j->b.unit_log2));
    const lbv_f32 es = lbv_splat_f32(j->b.code_value);
    for (int i = 0; i < nseg; i++) {
        lbv_f32 z[GNV];
        lbv_i32 zi[GNV];
        for (int v = 0; v < GNV; v++) {
            z[v] = zp ? lbv_as_f32(lbv_load(panel + pg->zp_off + (sg[i].block * GNR + (size_t)v * LBV_N) * 4))
                      : lbv_splat_f32(0.0f);
            zi[v] = lbv_f32_to_i32_trunc(z[v]);
        }
        const uint32_t *cw = (const uint32_t *)panel + sg[i].block * pg->groups * GNR;
        const uint32_t mask = (1u << pg->width) - 1u;
        size_t s = sg[i].s0, s1 = sg[i].s0 + sg[i].steps;
        if (!integer) {
            for (; s < s1; s++, w += GNR)
                for (int v = 0; v < GNV; v++) {
                    lbv_u32 word = lbv_load(cw + (s / pg->kg) * GNR + (size_t)v * LBV_N);
                    lbv_f32 x = b_values(t, (word >> (pg->width * (s % pg->kg))) & mask, es);
                    if (zp)
                        x = x - z[v]; /* small integers: exact */
                    lbv_store(w + v * LBV_N, lbv_as_u32(x));
                }
            continue;
        }
        /* pair (2s, 2s + 1) lies in one word (kg is even); past the block's
         * end (odd L) its second half is zero */
        for (; s < s1; s++, w += GNR)
            for (int v = 0; v < GNV; v++) {
                size_t k = 2 * s;
                lbv_u32 word = lbv_load(cw + (k / pg->kg) * GNR + (size_t)v * LBV_N);
                unsigned sh = pg->width * (unsigned)(k % pg->kg);
                lbv_i32 lo = b_ints(t, (word >> sh) & mask, up) - zi[v];
                lbv_i32 hi = b_ints(t, (word >> (sh + pg->width)) & mask, up) - zi[v];
                if (k + 1 >= L)
                    hi = (lbv_i32)lbv_splat(0);
                lbv_store(w + v * LBV_N, ((lbv_u32)lo & 0xFFFFu) | (lbv_u32)hi << 16);
            }
    }
}

static void decode_chunk(const lb_gemm_job *j, const panel_geom *pg, const uint8_t *panel, const seg *sg, int nseg,
                         uint32_t *w)
{
    const int zp = j->b.scheme == LB_SCHEME_ZP;
#define DECODE_CASE(T)                                                                                       \
    case T:                                                                                                  \
        if (j->integer)                                                                                      \
            zp ? decode_chunk_t(j, pg, panel, sg, nseg, w, T, 1, 1) : decode_chunk_t(j, pg, panel, sg, nseg, w, T, 1, 0); \
        else                                                                                                 \
            zp ? decode_chunk_t(j, pg, panel, sg, nseg, w, T, 0, 1) : decode_chunk_t(j, pg, panel, sg, nseg, w, T, 0, 0); \
        break
    switch (j->b.q.format.elem) {
        DECODE_CASE(LOWBIT_E4M3);
        DECODE_CASE(LOWBIT_E5M2);
        DECODE_CASE(LOWBIT_E4M3FNUZ);
        DECODE_CASE(LOWBIT_E5M2FNUZ);
        DECODE_CASE(LOWBIT_E3M2);
        DECODE_CASE(LOWBIT_E2M3);
        DECODE_CASE(LOWBIT_E2M1);
        DECODE_CASE(LOWBIT_INT8);
        DECODE_CASE(LOWBIT_INT4);
        DECODE_CASE(LOWBIT_UINT4);
    default: break; /* B is always a quantized type */
    }
#undef DECODE_CASE
}

/* ---- microtiles --------------------------------------------------------- */

/* acc + the int16 pair dot of a and b (VNNI's VPDPWSSD where the ISA
 * header has it; both wrap, and the sums never reach 2^31). */
#ifndef LBV_HAVE_DOT16_ACC
LBV_FI lbv_i32 lbv_dot16_acc(lbv_i32 acc, lbv_u32 a, lbv_u32 b)
{
    return acc + lbv_madd16(a, b);
}
#endif

/* *p in every lane, by its bits: a broadcast, never an arithmetic op. */
static lbv_f32 bcast_f32(const void *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return lbv_as_f32(lbv_splat(w));
}

/* What a microtile carries between chunks: the partial block sums d (f32
 * or int32 bits) and the accumulators, GMR x GNR each. */
typedef struct tile_state {
    uint32_t d[GMR][GNR];
    float acc[GMR][GNR];
} tile_state;

typedef struct tile_args {
    const seg *sg;
    int nseg;
    const uint32_t *at;     /* the A tile */
    const float *as;        /* its scales */
    const uint32_t *w;      /* the decoded chunk of the B panel */
    const float *bs;        /* the panel's scales */
    size_t steps;           /* words per row and block */
    float unit;             /* 2^(ua + ub), integer pairs */
} tile_args;

/* One chunk of a tile of mr (a constant after inlining) rows. */
static inline __attribute__((always_inline)) void tile_chunk(const tile_args *t, tile_state *st, const int mr,
                                                             const int integer)
{
    lbv_f32 c[GMR][GNV];
    lbv_u32 d[GMR][GNV];
    for (int m = 0; m < mr; m++)
        for (int v = 0; v < GNV; v++) {
            memcpy(&c[m][v], &st->acc[m][v * LBV_N], sizeof c[m][v]);
            d[m][v] = lbv_load(&st->d[m][v * LBV_N]);
        }
    const uint32_t *bk = t->w;
    const lbv_f32 vunit = lbv_splat_f32(t->unit);
    for (int i = 0; i < t->nseg; i++) {
        const seg *sg = &t->sg[i];
        if (sg->starts)
            for (int m = 0; m < mr; m++)
                for (int v = 0; v < GNV; v++)
                    d[m][v] = lbv_splat(0);
        const uint32_t *ak = t->at + (sg->block * t->steps + sg->s0) * GMR;
        for (size_t s = 0; s < sg->steps; s++, bk += GNR) {
            lbv_u32 b0 = lbv_load(bk), b1 = lbv_load(bk + LBV_N);
            for (int m = 0; m < mr; m++) {
                if (integer) {
                    lbv_u32 a = lbv_splat(ak[s * GMR + m]);
                    d[m][0] = (lbv_u32)lbv_dot16_acc((lbv_i32)d[m][0], a, b0);
                    d[m][1] = (lbv_u32)lbv_dot16_acc((lbv_i32)d[m][1], a, b1);
                } else {
                    lbv_f32 a = bcast_f32(&ak[s * GMR + m]);
                    d[m][0] = lbv_as_u32(lbv_fma(a, lbv_as_f32(b0), lbv_as_f32(d[m][0])));
                    d[m][1] = lbv_as_u32(lbv_fma(a, lbv_as_f32(b1), lbv_as_f32(d[m][1])));
                }
            }
        }
        if (sg->ends) {
            lbv_f32 sb0 = lbv_as_f32(lbv_load(t->bs + sg->block * GNR));
            lbv_f32 sb1 = lbv_as_f32(lbv_load(t->bs + sg->block * GNR + LBV_N));
            for (int m = 0; m < mr; m++) {
                lbv_f32 sa = bcast_f32(&t->as[sg->block * GMR + m]);
                lbv_f32 d0 = lbv_as_f32(d[m][0]), d1 = lbv_as_f32(d[m][1]);
                if (integer) { /* (float)D * 2^(ua+ub): exact scaling of the rounded sum */
                    d0 = lbv_i32_to_f32((lbv_i32)d[m][0]) * vunit;
                    d1 = lbv_i32_to_f32((lbv_i32)d[m][1]) * vunit;
                }
                c[m][0] = lbv_fma(d0, sa * sb0, c[m][0]);
                c[m][1] = lbv_fma(d1, sa * sb1, c[m][1]);
            }
        }
    }
    for (int m = 0; m < mr; m++)
        for (int v = 0; v < GNV; v++) {
            memcpy(&st->acc[m][v * LBV_N], &c[m][v], sizeof c[m][v]);
            lbv_store(&st->d[m][v * LBV_N], d[m][v]);
        }
}

/* Instances by row count (small ones for decode-sized M) and pair class. */
#define TILE_INSTANCE(MR)                                                                                   \
    static void tile_f32_##MR(const tile_args *t, tile_state *st) { tile_chunk(t, st, MR, 0); }             \
    static void tile_int_##MR(const tile_args *t, tile_state *st) { tile_chunk(t, st, MR, 1); }
TILE_INSTANCE(1)
TILE_INSTANCE(2)
TILE_INSTANCE(4)
TILE_INSTANCE(GMR)

typedef void (*tile_fn)(const tile_args *t, tile_state *st);

static tile_fn tile_for(int integer, size_t rows)
{
    if (rows <= 1)
        return integer ? tile_int_1 : tile_f32_1;
    if (rows <= 2)
        return integer ? tile_int_2 : tile_f32_2;
    if (rows <= 4)
        return integer ? tile_int_4 : tile_f32_4;
    return integer ? tile_int_GMR : tile_f32_GMR;
}

#define MAX_TILES ((LB_GEMM_TILE_M + GMR - 1) / GMR)

static void gemm_simd(const lb_gemm_job *j, size_t m0, size_t m1, size_t n0, size_t n1)
{
    if (byte_path_applies(j)) {
        byte_gemm(j, m0, m1, n0, n1);
        return;
    }
    const gemm_geom g = geom_of(j);
    const panel_geom pg = panel_of(j);
    const size_t aw = panel_words(&g, GMR);
    const size_t t0 = m0 / GMR, nt = (m1 - m0 + GMR - 1) / GMR;
    static _Thread_local uint32_t w[KC_STEPS * GNR] __attribute__((aligned(64)));
    tile_state st[MAX_TILES];
    tile_args ta[MAX_TILES];
    tile_fn fn[MAX_TILES];
    seg sg[MAX_SEGS];
    for (size_t t = 0; t < nt; t++) {
        const uint32_t *at = (const uint32_t *)j->packed_a + (t0 + t) * aw;
        ta[t].at = at;
        ta[t].as = (const float *)(at + g.nblk * g.steps * GMR);
        ta[t].w = w;
        ta[t].sg = sg;
        ta[t].steps = g.steps;
        ta[t].unit = ldexpf(1.0f, j->a.unit_log2 + j->b.unit_log2);
        size_t r0 = (t0 + t) * GMR;
        fn[t] = tile_for(j->integer, (r0 + GMR < m1 ? r0 + GMR : m1) - r0);
    }
    for (size_t p = n0 / GNR; p * GNR < n1; p++) {
        const uint8_t *panel = (const uint8_t *)j->packed + p * pg.bytes;
        memset(st, 0, nt * sizeof st[0]);
        size_t b = 0, s = 0;
        int nseg;
        while ((nseg = next_chunk(&g, &b, &s, sg)) > 0) {
            decode_chunk(j, &pg, panel, sg, nseg, w);
            for (size_t t = 0; t < nt; t++) {
                ta[t].nseg = nseg;
                ta[t].bs = (const float *)(panel + pg.scale_off);
                fn[t](&ta[t], &st[t]);
            }
        }
        for (size_t t = 0; t < nt; t++)
            for (size_t m = (t0 + t) * GMR; m < (t0 + t + 1) * GMR && m < m1; m++)
                for (size_t n = p * GNR; n < (p + 1) * GNR && n < n1; n++)
                    lb_gemm_store(j, m, n, st[t].acc[m - (t0 + t) * GMR][n - p * GNR]);
    }
}

/* Integer block sums must fit int32 lanes; everything else always fits. */
static int gemm_simd_covers(const lb_gemm_job *j)
{
    if (!j->integer)
        return 1;
    return (double)j->kblock * j->a.max_int * j->b.max_int < 2147483648.0;
}

/* The registry entry of this file's kernel (one per ISA build). */
#define GEMM_SIMD_KERNEL(BACKEND, FEATURES, NAME)                                                            \
    {                                                                                                        \
        .op = LOWBIT_OP_GEMM, .backend = (BACKEND), .cpu_features = (FEATURES), .exact = 1, .name = (NAME), \
        .formats = "every pair", .gemm_covers = gemm_simd_covers, .gemm = gemm_simd,                         \
        .gemm_pack_size = pack_b_size, .gemm_pack = pack_b, .gemm_pack_nr = GNR,                             \
        .gemm_pack_a_size = pack_a_size, .gemm_pack_a = pack_a, .gemm_pack_mr = GMR,                         \
    }
