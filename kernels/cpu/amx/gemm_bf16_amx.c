/*
 * gemm_bf16_amx.c - the fast GEMM on AMX BF16 tiles for the float pairs
 * whose elements are exact in bf16: FP8 x FP8 (tensor, row, block scales),
 * MXFP8 / MXFP6 / MXFP4 mixes, NVFP4-style float elements, and bf16
 * activations times INT4 / UINT4 / INT8 weights (W4A16 with bf16 A).
 * Chosen only with LOWBIT_GEMM_ALLOW_FAST.
 *
 * What is fast about it: TDPBF16PS forms each K block's dot product d in
 * f32 in the hardware's own order (pairs of products, accumulation into
 * the tile, denormal results flushed), not in the reference's k order.
 * Everything else is the reference's arithmetic: elements enter exactly
 * (each is a bf16), and acc = fma(d, s_a * s_b, acc) over blocks, then
 * alpha, beta and the rounding to C's type.
 *
 * Bound (checked by lowbit-check against an f64 GEMM on every case; s_a s_b
 * is the f32 product of the scales, as in the exact semantics):
 *   |C - C_f64| <= (L + K/L + 4) * 2^-23 * |alpha| * sum_b |s_a s_b| sum_k |a_k b_k|
 *                  + 2^-23 * |beta * C_old| + one unit in the last place of C's type
 *                  + 2^-126 * K * |alpha| * max |s_a s_b|   (flushed denormals)
 *                  + 2^-149 * (K/L + 1) * |alpha|           (subnormal accumulators)
 * where L is the K block.  The result is NaN wherever the exact f64
 * product is (NaN inputs, Inf - Inf); where an input is infinite or the
 * exact result or the f32 sums may overflow, another summation order may
 * overflow another way, so Inf of either sign or NaN is allowed there;
 * and where the bound's interval around the exact result reaches past C's
 * largest finite value, so does the rounding to C: Inf of that side.
 *
 * Tiles: C (tile 0) 16 x 16 f32; A (tile 1) 16 rows x kt bf16; B (tile 2)
 * kt/2 rows x 16 pairs of bf16, the pair-interleaved layout TDPBF16PS
 * reads.  kt is the block length rounded up to 2 when at most 32, else 32.
 */
#include "../avx512/vec_avx512.h"
#if defined(LOWBIT_SIMD_EMULATION)
#include "amx_emu.h"
#endif
#include <math.h>
#include "../../../src/internal.h"
#include "../../../src/gemm_operand.h"
#include "amx_tiles.h"

#define BT AMX_T /* tile rows of A and C; columns of C */

typedef struct bf_geom {
    size_t nblk, kt, steps;
    size_t a_tile_bytes, b_panel_bytes;
} bf_geom;

static bf_geom bf_geom_of(const lb_gemm_job *j)
{
    bf_geom g;
    size_t L = j->kblock;
    g.nblk = j->K / L;
    g.kt = L <= 32 ? (L + 1) / 2 * 2 : 32;
    g.steps = (L + g.kt - 1) / g.kt;
    size_t tiles = lb_mul_sat(lb_mul_sat(g.nblk, g.steps), BT * g.kt * 2);
    g.a_tile_bytes = lb_add_sat(tiles, lb_mul_sat(g.nblk, BT * 4));
    g.b_panel_bytes = g.a_tile_bytes;
    return g;
}

/* Every value of the operand's elements is a bf16 (8 significant bits,
 * wide exponent): the narrow floats, integers of magnitude <= 256, bf16. */
static int bf16_exact(const lb_operand *o)
{
    lowbit_dtype t = o->q.format.elem;
    if (t == LOWBIT_BF16)
        return 1;
    if (t == LOWBIT_F32 || t == LOWBIT_F16)
        return 0;
    return o->int_valued ? o->max_int <= 256 : 1;
}

static int gemm_bf16_amx_covers(const lb_gemm_job *j)
{
    return !j->integer && bf16_exact(&j->a) && bf16_exact(&j->b);
}

static uint16_t bf16_of(float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    return (uint16_t)(u >> 16); /* exact: the value is a bf16 */
}

/* Operand o's rows [r0, r1) into tiles of 16 rows; `pairs`: B's layout. */
static void bf_pack(const lb_gemm_job *j, const lb_operand *o, size_t rows, void *dst, size_t r0, size_t r1,
                    int pairs)
{
    const bf_geom g = bf_geom_of(j);
    const size_t L = j->kblock;
    const size_t tb = pairs ? g.b_panel_bytes : g.a_tile_bytes;
    for (size_t t = r0 / BT; t * BT < r1; t++) {
        uint8_t *tile = (uint8_t *)dst + t * tb;
        memset(tile, 0, tb);
        uint16_t *v = (uint16_t *)tile;
        float *scales = (float *)(tile + g.nblk * g.steps * BT * g.kt * 2);
        for (size_t i = 0; i < BT && t * BT + i < rows; i++) {
            size_t r = t * BT + i;
            for (size_t k = 0; k < j->K; k++) {
                size_t b = k / L, rem = k % L, step = rem / g.kt, kk = rem % g.kt;
                size_t base = (b * g.steps + step) * BT * g.kt;
                size_t at = pairs ? base + (kk / 2) * BT * 2 + i * 2 + kk % 2 : base + i * g.kt + kk;
                v[at] = bf16_of(lb_opnd_f32(o, r, k));
            }
            for (size_t b = 0; b < g.nblk; b++)
                scales[b * BT + i] = lb_opnd_scale(o, r, b * L);
        }
    }
}

static size_t bf_pack_b_size(const lb_gemm_job *j)
{
    return lb_mul_sat((j->N + BT - 1) / BT, bf_geom_of(j).b_panel_bytes);
}

static void bf_pack_b(const lb_gemm_job *j, void *dst, size_t n0, size_t n1)
{
    bf_pack(j, &j->b, j->N, dst, n0, n1, 1);
}

static size_t bf_pack_a_size(const lb_gemm_job *j)
{
    return lb_mul_sat((j->M + BT - 1) / BT, bf_geom_of(j).a_tile_bytes);
}

static void bf_pack_a(const lb_gemm_job *j, void *dst, size_t m0, size_t m1)
{
    bf_pack(j, &j->a, j->M, dst, m0, m1, 0);
}

static void gemm_bf16_amx(const lb_gemm_job *j, size_t m0, size_t m1, size_t n0, size_t n1)
{
    const bf_geom g = bf_geom_of(j);
    uint8_t cfg[64] __attribute__((aligned(64)));
    amx_tile_config(cfg, g.kt * 2, g.kt / 2);
    _tile_loadconfig(cfg);
    float dot[BT][BT] __attribute__((aligned(64)));
    const size_t tile_vals = g.nblk * g.steps * BT * g.kt;
    for (size_t t = m0 / BT; t * BT < m1; t++) {
        const uint8_t *at = (const uint8_t *)j->packed_a + t * g.a_tile_bytes;
        const float *as = (const float *)(at + tile_vals * 2);
        for (size_t p = n0 / BT; p * BT < n1; p++) {
            const uint8_t *bp = (const uint8_t *)j->packed + p * g.b_panel_bytes;
            const float *bs = (const float *)(bp + tile_vals * 2);
            lbv_f32 acc[BT];
            for (int r = 0; r < BT; r++)
                acc[r] = lbv_splat_f32(0.0f);
            for (size_t b = 0; b < g.nblk; b++) {
                _tile_zero(0);
                for (size_t s = 0; s < g.steps; s++) {
                    size_t off = (b * g.steps + s) * BT * g.kt * 2;
                    _tile_loadd(1, at + off, g.kt * 2);
                    _tile_loadd(2, bp + off, 64);
                    _tile_dpbf16ps(0, 1, 2);
                }
                _tile_stored(0, dot, 64);
                lbv_f32 sb = lbv_as_f32(lbv_load(bs + b * BT));
                for (int r = 0; r < BT; r++)
                    acc[r] = lbv_fma(lbv_as_f32(lbv_load(dot[r])), amx_bcast(as[b * BT + r]) * sb, acc[r]);
            }
            amx_store(j, acc, t, p, m1, n1);
        }
    }
    _tile_release();
}

const lb_kernel lb_kernel_gemm_bf16_amx = {
    .op = LOWBIT_OP_GEMM,
    .backend = LOWBIT_BACKEND_AMX,
    .exact = 0,
    .name = "gemm_float_bf16_amx",
    .formats = "bf16-exact float pairs (bf16 tiles)",
    .gemm_covers = gemm_bf16_amx_covers,
    .gemm = gemm_bf16_amx,
    .gemm_pack_size = bf_pack_b_size,
    .gemm_pack = bf_pack_b,
    .gemm_pack_nr = BT,
    .gemm_pack_a_size = bf_pack_a_size,
    .gemm_pack_a = bf_pack_a,
    .gemm_pack_mr = BT,
};
