/*
 * amx_tiles.h - what the two AMX GEMM kernels share: the tile
 * configuration (C in tile 0, A in tile 1, B in tile 2), a lane broadcast,
 * and the store of a 16 x 16 block of accumulators through the reference's
 * scalar output code.  Include after vec_avx512.h and src/gemm_operand.h.
 */
#ifndef LOWBIT_AMX_TILES_H
#define LOWBIT_AMX_TILES_H

#define AMX_T 16 /* rows of the A and C tiles; columns of C */

/* LDTILECFG image, palette 1: C 16 x 64 bytes, A 16 x a_colsb, B b_rows x 64. */
static inline void amx_tile_config(uint8_t cfg[64], size_t a_colsb, size_t b_rows)
{
    memset(cfg, 0, 64);
    cfg[0] = 1;
    const uint16_t colsb[3] = {64, (uint16_t)a_colsb, 64};
    const uint8_t rows[3] = {AMX_T, AMX_T, (uint8_t)b_rows};
    for (int t = 0; t < 3; t++) {
        memcpy(cfg + 16 + 2 * t, &colsb[t], 2);
        cfg[48 + t] = rows[t];
    }
}

/* x in every lane, by its bits (a broadcast; -0 stays -0). */
static inline lbv_f32 amx_bcast(float x)
{
    uint32_t w;
    memcpy(&w, &x, 4);
    return lbv_as_f32(lbv_splat(w));
}

/* Rows [16 t, 16 t + 16) x columns [16 p, 16 p + 16) of C from acc, clipped
 * to m1 x n1. */
static inline void amx_store(const lb_gemm_job *j, const lbv_f32 acc[AMX_T], size_t t, size_t p, size_t m1,
                             size_t n1)
{
    float out[AMX_T][AMX_T];
    for (int r = 0; r < AMX_T; r++)
        memcpy(out[r], &acc[r], sizeof acc[r]);
    for (size_t m = t * AMX_T; m < (t + 1) * AMX_T && m < m1; m++)
        for (size_t n = p * AMX_T; n < (p + 1) * AMX_T && n < n1; n++)
            lb_gemm_store(j, m, n, out[m - t * AMX_T][n - p * AMX_T]);
}

#endif
