/*
 * amx_emu.h - the AMX-TILE / AMX-INT8 intrinsics kernels/cpu/amx/ uses,
 * written out from Intel's pseudo-code over eight thread-local tiles, for
 * the test build -Dsimd_emulation=true (and AMX-BF16's TDPBF16PS).  It lets lowbit-check hold the AMX
 * kernel's packing, tile shapes and accumulation to the reference on a
 * machine without AMX; only the instruction encoding is not exercised.
 */
#ifndef LOWBIT_AMX_EMU_H
#define LOWBIT_AMX_EMU_H

#include <stdint.h>
#include <string.h>

typedef struct lbemu_tile {
    unsigned rows, colsb;
    uint8_t data[16][64];
} lbemu_tile;

static _Thread_local lbemu_tile lbemu_tiles[8];

/* LDTILECFG: palette 1; colsb (u16) at bytes 16 + 2t, rows at byte 48 + t. */
static __attribute__((unused)) void lbemu_tile_loadconfig(const void *cfg)
{
    const uint8_t *c = cfg;
    for (int t = 0; t < 8; t++) {
        uint16_t colsb;
        memcpy(&colsb, c + 16 + 2 * t, 2);
        lbemu_tiles[t].colsb = colsb;
        lbemu_tiles[t].rows = c[48 + t];
        memset(lbemu_tiles[t].data, 0, sizeof lbemu_tiles[t].data);
    }
}

static __attribute__((unused)) void lbemu_tile_load(int t, const void *base, size_t stride)
{
    lbemu_tile *x = &lbemu_tiles[t];
    memset(x->data, 0, sizeof x->data);
    for (unsigned r = 0; r < x->rows; r++)
        memcpy(x->data[r], (const uint8_t *)base + r * stride, x->colsb);
}

static __attribute__((unused)) void lbemu_tile_store(int t, void *base, size_t stride)
{
    const lbemu_tile *x = &lbemu_tiles[t];
    for (unsigned r = 0; r < x->rows; r++)
        memcpy((uint8_t *)base + r * stride, x->data[r], x->colsb);
}

/* TDPBSSD: C[m][n] += sum over k of A[m][k] * B[k/4][4n + k%4], signed
 * bytes, int32 lanes (wrapping, like the hardware). */
static __attribute__((unused)) void lbemu_dpbssd(int c, int a, int b)
{
    lbemu_tile *C = &lbemu_tiles[c];
    const lbemu_tile *A = &lbemu_tiles[a], *B = &lbemu_tiles[b];
    for (unsigned m = 0; m < C->rows; m++)
        for (unsigned n = 0; n < C->colsb / 4; n++) {
            uint32_t acc;
            memcpy(&acc, &C->data[m][4 * n], 4);
            for (unsigned k = 0; k < A->colsb; k++)
                acc += (uint32_t)((int32_t)(int8_t)A->data[m][k] * (int8_t)B->data[k / 4][4 * n + k % 4]);
            memcpy(&C->data[m][4 * n], &acc, 4);
        }
}

/* TDPBF16PS: C[m][n] (f32) += A[m][2p] * B[p][2n] + A[m][2p+1] * B[p][2n+1]
 * over the pairs p, bf16 inputs (any f32 order is allowed: a fast kernel). */
static __attribute__((unused)) float lbemu_bf16(const uint8_t *p)
{
    uint32_t u = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 24;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static __attribute__((unused)) void lbemu_dpbf16ps(int c, int a, int b)
{
    lbemu_tile *C = &lbemu_tiles[c];
    const lbemu_tile *A = &lbemu_tiles[a], *B = &lbemu_tiles[b];
    for (unsigned m = 0; m < C->rows; m++)
        for (unsigned n = 0; n < C->colsb / 4; n++) {
            float acc;
            memcpy(&acc, &C->data[m][4 * n], 4);
            for (unsigned p = 0; p < A->colsb / 4; p++)
                acc += lbemu_bf16(&A->data[m][4 * p]) * lbemu_bf16(&B->data[p][4 * n]) +
                       lbemu_bf16(&A->data[m][4 * p + 2]) * lbemu_bf16(&B->data[p][4 * n + 2]);
            memcpy(&C->data[m][4 * n], &acc, 4);
        }
}

#undef _tile_loadconfig
#undef _tile_release
#undef _tile_zero
#undef _tile_loadd
#undef _tile_stored
#undef _tile_dpbssd
#undef _tile_dpbf16ps
#define _tile_loadconfig(cfg) lbemu_tile_loadconfig(cfg)
#define _tile_release() ((void)0)
#define _tile_zero(t) memset(lbemu_tiles[t].data, 0, sizeof lbemu_tiles[t].data)
#define _tile_loadd(t, base, stride) lbemu_tile_load(t, base, stride)
#define _tile_stored(t, base, stride) lbemu_tile_store(t, base, stride)
#define _tile_dpbssd(c, a, b) lbemu_dpbssd(c, a, b)
#define _tile_dpbf16ps(c, a, b) lbemu_dpbf16ps(c, a, b)

#endif
