/*
 * vec_neon.h - the vector layer (kernels/cpu/simd/vec.h) on AArch64
 * Advanced SIMD: 4 lanes of 32 bits.  Advanced SIMD is part of every
 * AArch64 CPU, so these files need no extra flags; lowbit-check runs them
 * under qemu-aarch64 on x86 machines (cross/aarch64-linux-gnu.ini).
 *
 * Loads and stores touch exactly the bytes of their LBV_N elements.
 */
#ifndef LOWBIT_VEC_NEON_H
#define LOWBIT_VEC_NEON_H

#include <arm_neon.h>

#define LBV_BYTES 16
#define LBV_ISA_NAME "neon"
#define LBV_HAVE_MUL_WIDE
#define LBV_HAVE_INTERLEAVE4
#include "../simd/vec.h"

/* High and low halves of a * k (UMULL, UMULL2). */
LBV_FI void lbv_mul_wide(lbv_u32 a, uint32_t k, lbv_u32 *hi, lbv_u32 *lo)
{
    uint32x4_t v = (uint32x4_t)a;
    uint64x2_t p0 = vmull_n_u32(vget_low_u32(v), k), p1 = vmull_high_n_u32(v, k);
    uint32x4_t w0 = vreinterpretq_u32_u64(p0), w1 = vreinterpretq_u32_u64(p1);
    *lo = (lbv_u32)vuzp1q_u32(w0, w1);
    *hi = (lbv_u32)vuzp2q_u32(w0, w1);
}

/* out[4 * i + w] = c[w][i] (ST4). */
LBV_FI void lbv_store_interleave4(uint32_t *out, const lbv_u32 c[4])
{
    uint32x4x4_t v = {{(uint32x4_t)c[0], (uint32x4_t)c[1], (uint32x4_t)c[2], (uint32x4_t)c[3]}};
    vst4q_u32(out, v);
}

/* mask ? a : b per lane (BSL). */
LBV_FI lbv_u32 lbv_sel(lbv_i32 mask, lbv_u32 a, lbv_u32 b)
{
    return (lbv_u32)vbslq_u32((uint32x4_t)mask, (uint32x4_t)a, (uint32x4_t)b);
}

LBV_FI lbv_u32 lbv_min(lbv_u32 a, lbv_u32 b)
{
    return (lbv_u32)vminq_u32((uint32x4_t)a, (uint32x4_t)b);
}

LBV_FI lbv_u32 lbv_max(lbv_u32 a, lbv_u32 b)
{
    return (lbv_u32)vmaxq_u32((uint32x4_t)a, (uint32x4_t)b);
}

/* The largest lane (unsigned, UMAXV). */
LBV_FI uint32_t lbv_hmax(lbv_u32 a)
{
    return vmaxvq_u32((uint32x4_t)a);
}

/* f16 -> f32 bits: FCVTL is exact, keeps payloads and quiets NaNs (the
 * default FPCR: no flush-to-zero, which Linux never sets for a process). */
LBV_FI lbv_u32 lbv_load_f16(const void *p)
{
    uint16x4_t h;
    memcpy(&h, p, 8);
    return (lbv_u32)vreinterpretq_u32_f32(vcvt_f32_f16(vreinterpret_f16_u16(h)));
}

LBV_FI lbv_u32 lbv_load_u16(const void *p)
{
    uint16x4_t h;
    memcpy(&h, p, 8);
    return (lbv_u32)vmovl_u16(h);
}

LBV_FI lbv_u32 lbv_load_u8(const void *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    uint8x8_t b = vreinterpret_u8_u32(vdup_n_u32(w));
    return (lbv_u32)vmovl_u16(vget_low_u16(vmovl_u8(b)));
}

/* 2 bytes -> 4 nibbles, element 2i in the low nibble of byte i. */
LBV_FI lbv_u32 lbv_load_u4(const void *p)
{
    uint16_t w;
    memcpy(&w, p, 2);
    const int32x4_t sh = {0, -4, -8, -12};
    return (lbv_u32)vandq_u32(vshlq_u32(vdupq_n_u32(w), sh), vdupq_n_u32(0xF));
}

/* 3 bytes -> 4 six-bit codes. */
LBV_FI lbv_u32 lbv_load_u6(const void *p)
{
    const uint8_t *b = (const uint8_t *)p;
    uint32_t w = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16;
    const int32x4_t sh = {0, -6, -12, -18};
    return (lbv_u32)vandq_u32(vshlq_u32(vdupq_n_u32(w), sh), vdupq_n_u32(0x3F));
}

LBV_FI void lbv_store_u16(void *p, lbv_u32 c)
{
    uint16x4_t h = vmovn_u32((uint32x4_t)c);
    memcpy(p, &h, 8);
}

LBV_FI void lbv_store_u8(void *p, lbv_u32 c)
{
    uint16x4_t h = vmovn_u32((uint32x4_t)c);
    uint8x8_t b = vmovn_u16(vcombine_u16(h, h));
    uint32_t w = vget_lane_u32(vreinterpret_u32_u8(b), 0);
    memcpy(p, &w, 4);
}

/* 4 nibbles -> 2 bytes: the shifted fields do not overlap, so a sum is an OR. */
LBV_FI void lbv_store_u4(void *p, lbv_u32 c)
{
    const int32x4_t sh = {0, 4, 8, 12};
    uint16_t w = (uint16_t)vaddvq_u32(vshlq_u32((uint32x4_t)c, sh));
    memcpy(p, &w, 2);
}

/* 4 six-bit codes -> 3 bytes. */
LBV_FI void lbv_store_u6(void *p, lbv_u32 c)
{
    const int32x4_t sh = {0, 6, 12, 18};
    uint32_t w = vaddvq_u32(vshlq_u32((uint32x4_t)c, sh));
    uint8_t *b = (uint8_t *)p;
    b[0] = (uint8_t)w;
    b[1] = (uint8_t)(w >> 8);
    b[2] = (uint8_t)(w >> 16);
}

/* f32 -> int32, round to nearest, ties to even (FCVTNS). */
LBV_FI lbv_i32 lbv_f32_to_i32_rne(lbv_f32 v)
{
    return (lbv_i32)vcvtnq_s32_f32((float32x4_t)v);
}

/* GEMM: a * b + c rounded once (FMLA), and the int32 sums of pairs of
 * int16 products (SMULL, SMULL2, then ADDP of neighbours). */
LBV_FI lbv_f32 lbv_fma(lbv_f32 a, lbv_f32 b, lbv_f32 c)
{
    return (lbv_f32)vfmaq_f32((float32x4_t)c, (float32x4_t)a, (float32x4_t)b);
}

LBV_FI lbv_i32 lbv_madd16(lbv_u32 a, lbv_u32 b)
{
    int16x8_t x = vreinterpretq_s16_u32((uint32x4_t)a), y = vreinterpretq_s16_u32((uint32x4_t)b);
    int32x4_t lo = vmull_s16(vget_low_s16(x), vget_low_s16(y)), hi = vmull_high_s16(x, y);
    return (lbv_i32)vpaddq_s32(lo, hi);
}

#endif
