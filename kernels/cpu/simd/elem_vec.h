/*
 * elem_vec.h - whole vectors of elements of any type: load as f32 bits,
 * encode f32 bits into a type, store codes at their storage width.  Shared
 * by the SIMD conversion and quantization kernels.  Element positions of
 * packed types are multiples of 4 (so every vector starts on a byte).
 */
#ifndef LOWBIT_SIMD_ELEM_VEC_H
#define LOWBIT_SIMD_ELEM_VEC_H

#include "codec_vec.h"

/* Byte offset of element i (i a multiple of 4 for packed types). */
LBV_FI size_t elem_byte(unsigned bits, size_t i)
{
    return i / 8 * bits + (i % 8) * bits / 8;
}

/* LBV_N codes of `bits` width from element i of p, one per lane. */
LBV_FI lbv_u32 load_codes(unsigned bits, const uint8_t *p, size_t i)
{
    switch (bits) {
    case 32: return lbv_load(p + 4 * i);
    case 16: return lbv_load_u16(p + 2 * i);
    case 8:  return lbv_load_u8(p + i);
    case 6:  return lbv_load_u6(p + i / 4 * 3);
    default: return lbv_load_u4(p + i / 2);
    }
}

/* Decode codes (one per lane) of a narrow type t to f32 bits. */
LBV_FI lbv_u32 decode_codes(lowbit_dtype t, lbv_u32 c)
{
    lb_minifloat s;
    switch (t) {
    case LOWBIT_E8M0:  return lbv_e8m0_decode(c);
    case LOWBIT_INT8:
    case LOWBIT_INT4:
    case LOWBIT_UINT4: return lbv_int_decode(t, c);
    default:           lb_minifloat_spec(t, &s); return lbv_mf_decode(s, c);
    }
}

/* LBV_N elements of a wide type t (f32, f16, bf16) from element i of p,
 * as f32 bits. */
LBV_FI lbv_u32 load_wide(lowbit_dtype t, const uint8_t *p, size_t i)
{
    switch (t) {
    case LOWBIT_F16:  return lbv_load_f16(p + 2 * i);
    case LOWBIT_BF16: return lbv_load_u16(p + 2 * i) << 16;
    default:          return lbv_load(p + 4 * i);
    }
}

#ifdef LBV_HAVE_LUT16
/* The f32 bits of the sixteen E2M1 codes (0, 0.5, 1, 1.5, 2, 3, 4, 6 and
 * their negatives; lowbit-check holds them to lb_decode). */
static const uint32_t lb_e2m1_f32_bits[16] = {
    0x00000000u, 0x3F000000u, 0x3F800000u, 0x3FC00000u, 0x40000000u, 0x40400000u, 0x40800000u, 0x40C00000u,
    0x80000000u, 0xBF000000u, 0xBF800000u, 0xBFC00000u, 0xC0000000u, 0xC0400000u, 0xC0800000u, 0xC0C00000u,
};
#endif

/* A pseudo type for load_f32bits: E4M3 codes that are known to hold no
 * NaN (the caller has looked), which saves the NaN fix-up. */
#define LB_E4M3_NO_NAN ((lowbit_dtype)(LOWBIT_DTYPE_COUNT + 1))

/* LBV_N elements of any type t from element i of p, as f32 bits. */
LBV_FI lbv_u32 load_f32bits(lowbit_dtype t, const uint8_t *p, size_t i)
{
    if (t == LOWBIT_F32 || t == LOWBIT_F16 || t == LOWBIT_BF16)
        return load_wide(t, p, i);
#ifdef LBV_HAVE_FP8_VIA_F16
    /* OCP FP8 through the f16 converter; its NaN codes (E4M3 S.1111.111,
     * landing on +-480; E5M2's, NaN already) become the canonical quiet
     * NaN with their sign, as lbv_mf_decode gives. */
    if (t == LOWBIT_E4M3) {
        lbv_u32 u = lbv_as_u32(lbv_as_f32(lbv_load_fp8_via_f16(p + i, 0)) * 0x1p8f);
        return lbv_sel((u & 0x7FFFFFFFu) == lb_f32_bits(480.0f), (u & 0x80000000u) | 0x7FC00000u, u);
    }
    if (t == LB_E4M3_NO_NAN) /* codes known to hold no NaN */
        return lbv_as_u32(lbv_as_f32(lbv_load_fp8_via_f16(p + i, 0)) * 0x1p8f);
    if (t == LOWBIT_E5M2) {
        lbv_u32 u = lbv_load_fp8_via_f16(p + i, 1);
        return lbv_sel((u & 0x7FFFFFFFu) > 0x7F800000u, (u & 0x80000000u) | 0x7FC00000u, u);
    }
#else
    if (t == LB_E4M3_NO_NAN)
        t = LOWBIT_E4M3;
#endif
#ifdef LBV_HAVE_LUT16
    if (t == LOWBIT_E2M1) /* sixteen codes: the values themselves, looked up */
        return lbv_lut16(lb_e2m1_f32_bits, lbv_load_u4(p + i / 2));
#endif
    return decode_codes(t, load_codes(lb_bits(t), p, i));
}

/* Encode f32 bits u into type t (rbits: the stochastic bits). */
LBV_FI lbv_u32 encode(lowbit_dtype t, lbv_u32 u, int mode, int saturate, lbv_u32 rbits)
{
    lb_minifloat s;
    switch (t) {
    case LOWBIT_F32:   return u;
    case LOWBIT_E8M0:  return lbv_e8m0_encode(u, mode, saturate, rbits);
    case LOWBIT_INT8:
    case LOWBIT_INT4:
    case LOWBIT_UINT4: return lbv_int_encode(t, u, mode, rbits);
    default:           lb_minifloat_spec(t, &s); return lbv_mf_encode(s, u, mode, saturate, rbits);
    }
}

/* Store LBV_N codes of `bits` width at element i of p. */
LBV_FI void store_codes(unsigned bits, uint8_t *p, size_t i, lbv_u32 c)
{
    switch (bits) {
    case 32: lbv_store(p + 4 * i, c); break;
    case 16: lbv_store_u16(p + 2 * i, c); break;
    case 8:  lbv_store_u8(p + i, c); break;
    case 6:  lbv_store_u6(p + i / 4 * 3, c); break;
    default: lbv_store_u4(p + i / 2, c); break;
    }
}

#endif
