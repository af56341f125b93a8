/*
 * gemm_tmpl.c - the exact GEMM on SIMD, every pair.  Included once per ISA
 * by kernels/cpu/<isa>/gemm_<isa>.c after that ISA's vec_<isa>.h, which
 * supplies lbv_fma (fused, one rounding) and lbv_madd16 (int16 pair dot
 * into int32).  Contract: kernels/cpu/ref/gemm_ref.c, bit for bit.
 *
 * Both operands are packed first (src/gemm.c calls the pack functions; a
 * prepacked B is packed once for good), into "words", one per k step:
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
 * Layouts (4-byte words):
 *   B panel of GNR rows: [block][step][GNR] words, then [block][GNR] scales
 *   A tile of GMR rows:  [block][step][GMR] words, then [block][GMR] scales
 * Rows past N or M are zero words with zero scales and are never stored.
 */
#include <math.h>
#include <stdlib.h>
#include "../../../src/internal.h"
#include "../../../src/gemm_operand.h"

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
    return g->nblk * (g->steps + 1) * rows;
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
        t->v[c] = lb_decode(o->q.format.elem, c);
}

static float elem_value(const lb_operand *o, const elem_lut *t, size_t r, size_t k)
{
    uint32_t c = lb_opnd_code(o, r, k);
    return lowbit_dtype_bits(o->q.format.elem) > 8 ? lb_decode(o->q.format.elem, c) : t->v[c];
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

static size_t pack_b_size(const lb_gemm_job *j)
{
    gemm_geom g = geom_of(j);
    return (j->N + GNR - 1) / GNR * panel_words(&g, GNR) * 4;
}

static void pack_b(const lb_gemm_job *j, void *dst, size_t n0, size_t n1)
{
    gemm_geom g = geom_of(j);
    elem_lut t;
    lut_init(&j->b, &t);
    for (size_t p = n0 / GNR; p * GNR < n1; p++) {
        uint32_t *panel = (uint32_t *)dst + p * panel_words(&g, GNR);
        memset(panel, 0, panel_words(&g, GNR) * 4);
        for (size_t i = 0; i < GNR && p * GNR + i < j->N; i++)
            pack_row(j, &j->b, &t, p * GNR + i, panel, GNR, i);
    }
}

static size_t pack_a_size(const lb_gemm_job *j)
{
    gemm_geom g = geom_of(j);
    return (j->M + GMR - 1) / GMR * panel_words(&g, GMR) * 4;
}

static void pack_a(const lb_gemm_job *j, void *dst, size_t m0, size_t m1)
{
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

/* ---- microtiles --------------------------------------------------------- */

static lbv_f32 load_f32v(const uint32_t *p)
{
    return lbv_as_f32(lbv_load(p));
}

/* *p in every lane, by its bits: a broadcast, never an arithmetic op. */
static lbv_f32 bcast_f32(const void *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return lbv_as_f32(lbv_splat(w));
}

/* acc[m][n] of one GMR x GNR tile, f32 pairs. */
static void tile_f32(const gemm_geom *g, const uint32_t *at, const uint32_t *bp, float acc[GMR][GNR])
{
    lbv_f32 c[GMR][GNV];
    for (int m = 0; m < GMR; m++)
        for (int v = 0; v < GNV; v++)
            c[m][v] = lbv_splat_f32(0.0f);
    const float *as = (const float *)(at + g->nblk * g->steps * GMR);
    const uint32_t *bs = bp + g->nblk * g->steps * GNR;
    for (size_t b = 0; b < g->nblk; b++) {
        const float *ak = (const float *)at + b * g->steps * GMR;
        const uint32_t *bk = bp + b * g->steps * GNR;
        lbv_f32 d[GMR][GNV];
        for (int m = 0; m < GMR; m++)
            for (int v = 0; v < GNV; v++)
                d[m][v] = lbv_splat_f32(0.0f);
        for (size_t s = 0; s < g->steps; s++) {
            lbv_f32 b0 = load_f32v(bk + s * GNR), b1 = load_f32v(bk + s * GNR + LBV_N);
            for (int m = 0; m < GMR; m++) {
                lbv_f32 a = bcast_f32(&ak[s * GMR + m]);
                d[m][0] = lbv_fma(a, b0, d[m][0]);
                d[m][1] = lbv_fma(a, b1, d[m][1]);
            }
        }
        lbv_f32 sb0 = load_f32v(bs + b * GNR), sb1 = load_f32v(bs + b * GNR + LBV_N);
        for (int m = 0; m < GMR; m++) {
            lbv_f32 sa = bcast_f32(&as[b * GMR + m]);
            c[m][0] = lbv_fma(d[m][0], sa * sb0, c[m][0]);
            c[m][1] = lbv_fma(d[m][1], sa * sb1, c[m][1]);
        }
    }
    for (int m = 0; m < GMR; m++)
        for (int v = 0; v < GNV; v++)
            memcpy(&acc[m][v * LBV_N], &c[m][v], sizeof c[m][v]);
}

/* acc[m][n] of one GMR x GNR tile, integer pairs. */
static void tile_int(const gemm_geom *g, float unit, const uint32_t *at, const uint32_t *bp,
                     float acc[GMR][GNR])
{
    lbv_f32 c[GMR][GNV];
    for (int m = 0; m < GMR; m++)
        for (int v = 0; v < GNV; v++)
            c[m][v] = lbv_splat_f32(0.0f);
    const float *as = (const float *)(at + g->nblk * g->steps * GMR);
    const uint32_t *bs = bp + g->nblk * g->steps * GNR;
    const lbv_f32 vunit = lbv_splat_f32(unit);
    for (size_t b = 0; b < g->nblk; b++) {
        const uint32_t *ak = at + b * g->steps * GMR;
        const uint32_t *bk = bp + b * g->steps * GNR;
        lbv_i32 d[GMR][GNV];
        for (int m = 0; m < GMR; m++)
            for (int v = 0; v < GNV; v++)
                d[m][v] = (lbv_i32)lbv_splat(0);
        for (size_t s = 0; s < g->steps; s++) {
            lbv_u32 b0 = lbv_load(bk + s * GNR), b1 = lbv_load(bk + s * GNR + LBV_N);
            for (int m = 0; m < GMR; m++) {
                lbv_u32 a = lbv_splat(ak[s * GMR + m]);
                d[m][0] += lbv_madd16(a, b0);
                d[m][1] += lbv_madd16(a, b1);
            }
        }
        lbv_f32 sb0 = load_f32v(bs + b * GNR), sb1 = load_f32v(bs + b * GNR + LBV_N);
        for (int m = 0; m < GMR; m++) {
            lbv_f32 sa = bcast_f32(&as[b * GMR + m]);
            /* (float)D * 2^(ua+ub): exact scaling of the rounded sum */
            c[m][0] = lbv_fma(lbv_i32_to_f32(d[m][0]) * vunit, sa * sb0, c[m][0]);
            c[m][1] = lbv_fma(lbv_i32_to_f32(d[m][1]) * vunit, sa * sb1, c[m][1]);
        }
    }
    for (int m = 0; m < GMR; m++)
        for (int v = 0; v < GNV; v++)
            memcpy(&acc[m][v * LBV_N], &c[m][v], sizeof c[m][v]);
}

static void gemm_simd(const lb_gemm_job *j, size_t m0, size_t m1, size_t n0, size_t n1)
{
    const gemm_geom g = geom_of(j);
    const float unit = ldexpf(1.0f, j->a.unit_log2 + j->b.unit_log2);
    const size_t bw = panel_words(&g, GNR), aw = panel_words(&g, GMR);
    float acc[GMR][GNR];
    for (size_t p = n0 / GNR; p * GNR < n1; p++) {
        const uint32_t *bp = (const uint32_t *)j->packed + p * bw;
        for (size_t t = m0 / GMR; t * GMR < m1; t++) {
            const uint32_t *at = (const uint32_t *)j->packed_a + t * aw;
            if (j->integer)
                tile_int(&g, unit, at, bp, acc);
            else
                tile_f32(&g, at, bp, acc);
            for (size_t m = t * GMR; m < (t + 1) * GMR && m < m1; m++)
                for (size_t n = p * GNR; n < (p + 1) * GNR && n < n1; n++)
                    lb_gemm_store(j, m, n, acc[m - t * GMR][n - p * GNR]);
        }
    }
}

/* Integer block sums must fit int32 lanes; everything else always fits. */
static int gemm_simd_covers(const lb_gemm_job *j)
{
    if (!j->integer)
        return 1;
    return (double)j->kblock * j->a.max_int * j->b.max_int < 2147483648.0;
}
