/*
 * gemm_amx.c - the exact GEMM on AMX INT8 tiles for the integer pairs
 * (W8A8, W4A8, MXFP4 x MXFP4, NVFP4, MXINT8, E2M3 ... whenever both
 * operands' integers fit a signed byte), with AVX-512 for the block scales.
 *
 * Contract: kernels/cpu/ref/gemm_ref.c.  An integer block sum is exact in
 * any order, so TDPBSSD (signed bytes, int32 accumulation) gives the
 * reference's D whenever L * max|n_a| * max|n_b| < 2^31 (gemm_covers); the
 * block's f32 arithmetic, acc = fma(f32(D) * 2^(ua+ub), s_a * s_b, acc), is
 * done on 16-lane vectors exactly as the other kernels do it.
 *
 * Tiles: C (tile 0) 16 x 16 int32; A (tile 1) 16 rows x kt bytes; B
 * (tile 2) kt/4 rows x 64 bytes, the k4-interleaved layout TDPBSSD reads.
 * kt is the block length rounded up to 4 when it is at most 64, else 64
 * (and the block is padded with zeros to whole tile steps).
 *   A tile of 16 rows: [block][step][16][kt] bytes, then [block][16] f32 scales
 *   B panel of 16 rows: [block][step][kt/4][16][4] bytes, then [block][16] f32 scales
 * AMX needs the Linux permission request (arch_prctl ARCH_REQ_XCOMP_PERM),
 * made by src/cpu_features.c before LOWBIT_CPU_AMX is reported.
 */
#include "../avx512/vec_avx512.h"
#if defined(LOWBIT_SIMD_EMULATION)
#include "amx_emu.h"
#endif
#include <math.h>
#include "../../../src/internal.h"
#include "../../../src/gemm_operand.h"
#include "amx_tiles.h"

#define AT AMX_T /* tile rows of A and C; columns of C */

typedef struct amx_geom {
    size_t nblk, kt, steps;        /* blocks; bytes of k per tile step; steps per block */
    size_t a_tile_bytes, b_panel_bytes;
} amx_geom;

static amx_geom amx_geom_of(const lb_gemm_job *j)
{
    amx_geom g;
    size_t L = j->kblock;
    g.nblk = j->K / L;
    g.kt = L <= 64 ? (L + 3) / 4 * 4 : 64;
    g.steps = (L + g.kt - 1) / g.kt;
    /* saturating: lowbit_gemm_pack_size must see an overflow, not a wrap */
    size_t tiles = lb_mul_sat(lb_mul_sat(g.nblk, g.steps), AT * g.kt);
    g.a_tile_bytes = lb_add_sat(tiles, lb_mul_sat(g.nblk, AT * 4));
    g.b_panel_bytes = g.a_tile_bytes;
    return g;
}

/* Both operands' integers must be signed bytes (not INT8 less a zero point). */
static int gemm_amx_covers(const lb_gemm_job *j)
{
    return j->integer && j->a.max_int <= 128 && j->b.max_int <= 128 &&
           (double)j->kblock * j->a.max_int * j->b.max_int < 2147483648.0;
}

static size_t amx_pack_b_size(const lb_gemm_job *j)
{
    return lb_mul_sat((j->N + AT - 1) / AT, amx_geom_of(j).b_panel_bytes);
}

/* Operand o's rows [r0, r1) into tiles of 16 rows as signed bytes: A's
 * [step][16][kt] or, for B, the k4-interleaved [step][kt/4][16][4]. */
static void amx_pack(const lb_gemm_job *j, const lb_operand *o, size_t rows, void *dst, size_t r0, size_t r1,
                     int k4)
{
    const amx_geom g = amx_geom_of(j);
    const size_t L = j->kblock, tb = k4 ? g.b_panel_bytes : g.a_tile_bytes;
    for (size_t t = r0 / AT; t * AT < r1; t++) {
        uint8_t *tile = (uint8_t *)dst + t * tb;
        memset(tile, 0, tb);
        float *scales = (float *)(tile + g.nblk * g.steps * AT * g.kt);
        for (size_t i = 0; i < AT && t * AT + i < rows; i++) {
            size_t r = t * AT + i;
            for (size_t k = 0; k < j->K; k++) {
                size_t b = k / L, rem = k % L, step = rem / g.kt, kk = rem % g.kt;
                size_t base = (b * g.steps + step) * AT * g.kt;
                size_t at = k4 ? base + (kk / 4) * 64 + i * 4 + kk % 4 : base + i * g.kt + kk;
                tile[at] = (uint8_t)(int8_t)lb_opnd_int(o, r, k);
            }
            for (size_t b = 0; b < g.nblk; b++)
                scales[b * AT + i] = lb_opnd_scale(o, r, b * L);
        }
    }
}

static void amx_pack_b(const lb_gemm_job *j, void *dst, size_t n0, size_t n1)
{
    amx_pack(j, &j->b, j->N, dst, n0, n1, 1);
}

static size_t amx_pack_a_size(const lb_gemm_job *j)
{
    return lb_mul_sat((j->M + AT - 1) / AT, amx_geom_of(j).a_tile_bytes);
}

static void amx_pack_a(const lb_gemm_job *j, void *dst, size_t m0, size_t m1)
{
    amx_pack(j, &j->a, j->M, dst, m0, m1, 0);
}

static void gemm_amx(const lb_gemm_job *j, size_t m0, size_t m1, size_t n0, size_t n1)
{
    const amx_geom g = amx_geom_of(j);
    uint8_t cfg[64] __attribute__((aligned(64)));
    amx_tile_config(cfg, g.kt, g.kt / 4);
    _tile_loadconfig(cfg);
    int32_t dot[AT][AT] __attribute__((aligned(64)));
    const lbv_f32 unit = lbv_splat_f32(ldexpf(1.0f, j->a.unit_log2 + j->b.unit_log2));
    for (size_t t = m0 / AT; t * AT < m1; t++) {
        const uint8_t *at = (const uint8_t *)j->packed_a + t * g.a_tile_bytes;
        const float *as = (const float *)(at + g.nblk * g.steps * AT * g.kt);
        for (size_t p = n0 / AT; p * AT < n1; p++) {
            const uint8_t *bp = (const uint8_t *)j->packed + p * g.b_panel_bytes;
            const float *bs = (const float *)(bp + g.nblk * g.steps * g.kt * AT);
            lbv_f32 acc[AT];
            for (int r = 0; r < AT; r++)
                acc[r] = lbv_splat_f32(0.0f);
            for (size_t b = 0; b < g.nblk; b++) {
                _tile_zero(0);
                for (size_t s = 0; s < g.steps; s++) {
                    _tile_loadd(1, at + (b * g.steps + s) * AT * g.kt, g.kt);
                    _tile_loadd(2, bp + (b * g.steps + s) * g.kt * AT, 64);
                    _tile_dpbssd(0, 1, 2);
                }
                _tile_stored(0, dot, 64);
                lbv_f32 sb = lbv_as_f32(lbv_load(bs + b * AT));
                for (int r = 0; r < AT; r++) {
                    lbv_f32 d = lbv_i32_to_f32((lbv_i32)lbv_load(dot[r])) * unit;
                    acc[r] = lbv_fma(d, amx_bcast(as[b * AT + r]) * sb, acc[r]);
                }
            }
            amx_store(j, acc, t, p, m1, n1);
        }
    }
    _tile_release();
}

const lb_kernel lb_kernel_gemm_amx = {
    .op = LOWBIT_OP_GEMM,
    .backend = LOWBIT_BACKEND_AMX,
    .exact = 1,
    .name = "gemm_int_amx",
    .formats = "integer pairs (int8 tiles)",
    .gemm_covers = gemm_amx_covers,
    .gemm = gemm_amx,
    .gemm_pack_size = amx_pack_b_size,
    .gemm_pack = amx_pack_b,
    .gemm_pack_nr = AT,
    .gemm_pack_a_size = amx_pack_a_size,
    .gemm_pack_a = amx_pack_a,
    .gemm_pack_mr = AT,
};
