/*
 * codec.h - element encode/decode selected by lowbit_dtype.
 *
 * Every value of every type is exactly representable in f32 (E8M0's 2^-127
 * is an f32 subnormal), so any-to-any conversion is decode to f32 (exact)
 * followed by one rounding encode: a conversion rounds once.
 */
#ifndef LOWBIT_FORMATS_CODEC_H
#define LOWBIT_FORMATS_CODEC_H

#include "lowbit.h"
#include "minifloat.h"
#include "e8m0.h"
#include "integer.h"
#include "packing.h"
#include "philox.h"

/* Parameters of a minifloat type; returns 0 for types that are not one. */
LB_HD int lb_minifloat_spec(int t, lb_minifloat *s)
{
    switch (t) {
    case LOWBIT_F16:       *s = lb_spec_f16(); return 1;
    case LOWBIT_BF16:      *s = lb_spec_bf16(); return 1;
    case LOWBIT_E4M3:      *s = lb_spec_e4m3(); return 1;
    case LOWBIT_E5M2:      *s = lb_spec_e5m2(); return 1;
    case LOWBIT_E4M3FNUZ:  *s = lb_spec_e4m3fnuz(); return 1;
    case LOWBIT_E5M2FNUZ:  *s = lb_spec_e5m2fnuz(); return 1;
    case LOWBIT_E3M2:      *s = lb_spec_e3m2(); return 1;
    case LOWBIT_E2M3:      *s = lb_spec_e2m3(); return 1;
    case LOWBIT_E2M1:      *s = lb_spec_e2m1(); return 1;
    default:               return 0;
    }
}

LB_HD float lb_decode(int t, uint32_t code)
{
    lb_minifloat s;
    if (t == LOWBIT_F32)
        return lb_f32_from_bits(code);
    if (lb_minifloat_spec(t, &s))
        return lb_mf_decode(s, code);
    switch (t) {
    case LOWBIT_E8M0:  return lb_e8m0_decode(code);
    case LOWBIT_INT8:  return lb_int8_decode(code);
    case LOWBIT_INT4:  return lb_int4_decode(code);
    case LOWBIT_UINT4: return lb_uint4_decode(code);
    default:           return 0.0f;
    }
}

/* mode: LB_ROUND_NE / LB_ROUND_TZ / LB_ROUND_SR (and LB_E8M0_ROUND_UP for E8M0). */
LB_HD uint32_t lb_encode(int t, float x, int mode, int saturate, uint32_t rbits)
{
    lb_minifloat s;
    if (t == LOWBIT_F32)
        return lb_f32_bits(x);
    if (lb_minifloat_spec(t, &s))
        return lb_mf_encode(s, x, mode, saturate, rbits);
    switch (t) {
    case LOWBIT_E8M0:  return lb_e8m0_encode(x, mode, saturate, rbits);
    case LOWBIT_INT8:  return lb_int8_encode(x, mode, rbits);
    case LOWBIT_INT4:  return lb_int4_encode(x, mode, rbits);
    case LOWBIT_UINT4: return lb_uint4_encode(x, mode, rbits);
    default:           return 0;
    }
}

LB_HD unsigned lb_bits(int t)
{
    switch (t) {
    case LOWBIT_F32: return 32;
    case LOWBIT_F16: case LOWBIT_BF16: return 16;
    case LOWBIT_E3M2: case LOWBIT_E2M3: return 6;
    case LOWBIT_E2M1: case LOWBIT_INT4: case LOWBIT_UINT4: return 4;
    default: return 8;
    }
}

/* Read the code of element i of a buffer of type t. */
LB_HD uint32_t lb_load_code(int t, const void *buf, size_t i)
{
    const uint8_t *p = (const uint8_t *)buf;
    switch (lb_bits(t)) {
    case 32: { uint32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case 16: { uint16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case 6:  return lb_get6(p, i);
    case 4:  return lb_get4(p, i);
    default: return p[i];
    }
}

LB_HD float lb_load_f32(int t, const void *buf, size_t i)
{
    return lb_decode(t, lb_load_code(t, buf, i));
}

#endif
