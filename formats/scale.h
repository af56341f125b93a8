/*
 * scale.h - the per-block math of the scaled formats: how a block's scale
 * follows from its statistics, and how one element is encoded and decoded
 * against a stored scale.  Host-device code, so every backend computes the
 * same bits.  All arithmetic is single f32 operations in the order written.
 *
 * Common rule: a block holding NaN or Inf gets a NaN scale (E8M0 0xFF, E4M3
 * 0x7F, f32/f16/bf16 NaN) and dequantizes to NaN.  Its element codes are the
 * element type's encoding of NaN (the +max code for FP6/FP4, 0 for integers),
 * and its zero point is 0.
 */
#ifndef LOWBIT_FORMATS_SCALE_H
#define LOWBIT_FORMATS_SCALE_H

#include "codec.h"
#include "minifloat_fast.h"

/* Statistics of one block, gathered over its elements in any order (max and
 * min are order-independent). */
typedef struct lb_block_stats {
    float amax;     /* max |x| over finite x */
    float vmax;     /* max x over finite x */
    float vmin;     /* min x over finite x */
    int nonfinite;  /* any NaN or Inf */
} lb_block_stats;

LB_HD void lb_stats_init(lb_block_stats *s)
{
    s->amax = 0.0f;
    s->vmax = 0.0f;
    s->vmin = 0.0f;
    s->nonfinite = 0;
}

LB_HD void lb_stats_add(lb_block_stats *s, float x)
{
    uint32_t mag = lb_f32_bits(x) & 0x7FFFFFFFu;
    if (mag >= 0x7F800000u) {
        s->nonfinite = 1;
        return;
    }
    float a = lb_f32_from_bits(mag);
    if (a > s->amax) s->amax = a;
    if (x > s->vmax) s->vmax = x;
    if (x < s->vmin) s->vmin = x;
}

/* ---- MX: E8M0 block scales ------------------------------------------- */

/* emax of the element type: floor(log2(max finite)); 0 for INT8 (1.6 fixed point). */
LB_HD int lb_mx_emax(int elem)
{
    switch (elem) {
    case LOWBIT_E4M3: return 8;
    case LOWBIT_E5M2: return 15;
    case LOWBIT_E3M2: return 4;
    case LOWBIT_E2M3: return 2;
    case LOWBIT_E2M1: return 2;
    default:          return 0; /* INT8 */
    }
}

LB_HD int lb_mx_mbits(int elem)
{
    switch (elem) {
    case LOWBIT_E4M3: return 3;
    case LOWBIT_E5M2: return 2;
    case LOWBIT_E3M2: return 2;
    case LOWBIT_E2M3: return 3;
    case LOWBIT_E2M1: return 1;
    default:          return 6; /* INT8 as 1.6 fixed point */
    }
}

/* Largest finite element value (MXINT8: 127/64). */
LB_HD float lb_mx_elem_max(int elem)
{
    switch (elem) {
    case LOWBIT_E4M3: return 448.0f;
    case LOWBIT_E5M2: return 57344.0f;
    case LOWBIT_E3M2: return 28.0f;
    case LOWBIT_E2M3: return 7.5f;
    case LOWBIT_E2M1: return 6.0f;
    default:          return 1.984375f;
    }
}

/* floor(log2 a) for a finite positive f32 (subnormals included). */
LB_HD int lb_floor_log2(float a)
{
    uint32_t u = lb_f32_bits(a);
    uint32_t ef = u >> 23;
    if (ef)
        return (int)ef - 127;
    return (31 - lb_clz32(u)) - 149;
}

/*
 * The E8M0 scale code of a block.  rule: LOWBIT_SCALE_*.
 *   FLOOR  e = floor(log2 amax) - emax
 *   CEIL   e = ceil(log2 amax) - emax
 *   EVEN   amax's f32 bits + 2^(22 - mbits), mantissa dropped, then FLOOR
 *          (torchao's ScaleCalculationMode.EVEN, bit for bit)
 *   RCEIL  2^e = (amax / max_finite) rounded up to a power of two
 * e is clamped to [-127, 127].  amax == 0 gives 0x00; a non-finite block 0xFF.
 */
LB_HD uint32_t lb_mx_scale_code(const lb_block_stats *st, int elem, int rule)
{
    if (st->nonfinite)
        return 0xFFu;
    float amax = st->amax;
    if (amax == 0.0f)
        return 0x00u;
    int e;
    if (rule == LOWBIT_SCALE_RCEIL) {
        float v = amax / lb_mx_elem_max(elem);
        if (v == 0.0f)
            return 0x00u; /* underflowed: clip to 2^-127 */
        return lb_e8m0_encode(v, LB_E8M0_ROUND_UP, 1, 0);
    } else if (rule == LOWBIT_SCALE_EVEN) {
        uint32_t bits = lb_f32_bits(amax) + (1u << (22 - lb_mx_mbits(elem)));
        uint32_t ef = (bits >> 23) & 0xFFu;
        if (ef == 0)
            return 0x00u;
        e = (int)ef - 127 - lb_mx_emax(elem);
    } else {
        int E = lb_floor_log2(amax);
        if (rule == LOWBIT_SCALE_CEIL) {
            uint32_t u = lb_f32_bits(amax);
            int pow2 = (u >> 23) ? (u & 0x007FFFFFu) == 0 : (u & (u - 1u)) == 0;
            if (!pow2)
                E += 1;
        }
        e = E - lb_mx_emax(elem);
    }
    if (e < -127) e = -127;
    if (e > 127) e = 127;
    return (uint32_t)(e + 127);
}

/* Encode x against E8M0 scale code sc: elem(x * 2^-e), saturating. */
LB_HD uint32_t lb_mx_encode(int elem, float x, uint32_t sc, int mode, uint32_t rbits)
{
    if (sc == 0xFFu)
        return lb_encode(elem, lb_f32_from_bits(0x7FC00000u), mode, 1, rbits);
    float v = x * lb_pow2f(127 - (int)sc);
    if (elem == LOWBIT_INT8)
        return (uint32_t)(uint8_t)(int8_t)lb_int_round(v * 64.0f, -127, 127, mode, rbits);
    return lb_encode(elem, v, mode, 1, rbits);
}

LB_HD float lb_mx_decode(int elem, uint32_t code, uint32_t sc)
{
    if (sc == 0xFFu)
        return lb_f32_from_bits(0x7FC00000u);
    float v = elem == LOWBIT_INT8 ? lb_int8_decode(code) * 0.015625f : lb_decode(elem, code);
    return v * lb_pow2f((int)sc - 127);
}

/* ---- NVFP4: E4M3 block scales under an f32 tensor scale --------------- */

/* s_t = amax_tensor / (448 * elem_max), 1 when amax is 0, and never below
 * 2^-126 (the smallest normal f32): with a smaller s_t the product s_t * s_b
 * could underflow to zero for a block scale clamped at 2^-9. */
LB_HD float lb_nv_tensor_scale(float amax_tensor, int elem)
{
    if (amax_tensor == 0.0f)
        return 1.0f;
    float s = amax_tensor / (448.0f * lb_mx_elem_max(elem));
    return s < lb_pow2f(-126) ? lb_pow2f(-126) : s;
}

/* s_b = E4M3(amax_block / elem_max / s_t), nearest even, clamped to
 * [2^-9, 448]; NaN (0x7F) for a non-finite block. */
LB_HD uint32_t lb_nv_block_scale_code(const lb_block_stats *st, int elem, float s_t)
{
    if (st->nonfinite)
        return 0x7Fu;
    float v = st->amax / lb_mx_elem_max(elem) / s_t;
    /* the fast encoder: proven equal to lb_mf_encode on every f32 input */
    uint32_t code = lb_mf_encode_fast(lb_spec_e4m3(), v, LB_ROUND_NE, 1, 0);
    return code == 0 ? 0x01u : code;
}

/* The f32 product s_t * s_b of the tensor scale and block scale code sb:
 * what elements are divided by (encode) and multiplied with (decode). */
LB_HD float lb_nv_divisor(uint32_t sb, float s_t)
{
    return s_t * lb_mf_decode(lb_spec_e4m3(), sb);
}

/* Elements are elem(x / (s_t * s_b)): a division, with the product of the
 * two scales rounded to f32 first. */
LB_HD uint32_t lb_nv_encode(int elem, float x, uint32_t sb, float s_t, int mode, uint32_t rbits)
{
    if ((sb & 0x7Fu) == 0x7Fu)
        return lb_encode(elem, lb_f32_from_bits(0x7FC00000u), mode, 1, rbits);
    return lb_encode(elem, x / lb_nv_divisor(sb, s_t), mode, 1, rbits);
}

LB_HD float lb_nv_decode(int elem, uint32_t code, uint32_t sb, float s_t)
{
    if ((sb & 0x7Fu) == 0x7Fu)
        return lb_f32_from_bits(0x7FC00000u);
    return lb_decode(elem, code) * lb_nv_divisor(sb, s_t);
}

/* ---- f32 / f16 / bf16 scales: symmetric amax, or min/max with zero point */

LB_HD void lb_int_range(int elem, int32_t *qmin, int32_t *qmax)
{
    switch (elem) {
    case LOWBIT_INT8:  *qmin = -128; *qmax = 127; break;
    case LOWBIT_INT4:  *qmin = -8; *qmax = 7; break;
    default:           *qmin = 0; *qmax = 15; break; /* UINT4 */
    }
}

/* Largest magnitude a symmetric element uses: 127 / 7 for INT8 / INT4, max
 * finite for floats. */
LB_HD float lb_sym_max(int elem)
{
    switch (elem) {
    case LOWBIT_INT8: return 127.0f;
    case LOWBIT_INT4: return 7.0f;
    default: return lb_decode(elem, lb_encode(elem, 3.0e38f, LB_ROUND_NE, 1, 0));
    }
}

/* Store an f32 scale in its scale type: nearest even, saturating, and never
 * zero for a positive value (raised to the type's smallest subnormal). */
LB_HD uint32_t lb_store_scale(int scale_type, float s)
{
    if (scale_type == LOWBIT_F32 && s > 3.40282347e38f)
        s = 3.40282347e38f; /* f32 has no narrowing to saturate: an overflowed (hi - lo) */
    uint32_t code = lb_encode(scale_type, s, LB_ROUND_NE, 1, 0);
    if (s > 0.0f && lb_decode(scale_type, code) == 0.0f)
        code = 1u;
    return code;
}

/* Symmetric: s = amax / sym_max (1 when amax is 0), stored in scale_type. */
LB_HD uint32_t lb_amax_scale_code(const lb_block_stats *st, int elem, int scale_type)
{
    if (st->nonfinite)
        return lb_encode(scale_type, lb_f32_from_bits(0x7FC00000u), LB_ROUND_NE, 0, 0);
    float s = st->amax == 0.0f ? 1.0f : st->amax / lb_sym_max(elem);
    if (s == 0.0f) /* a positive amax / max underflowed: keep the scale positive */
        s = lb_f32_from_bits(1u);
    return lb_store_scale(scale_type, s);
}

/* Elements: elem(x / s) for floats (saturating); integers round x / s and
 * clamp to [-sym_max, sym_max]. */
LB_HD uint32_t lb_amax_encode(int elem, float x, float s, int mode, uint32_t rbits)
{
    if (s != s)
        return lb_encode(elem, s, mode, 1, rbits);
    float v = x / s;
    if (elem == LOWBIT_INT8 || elem == LOWBIT_INT4) {
        int32_t m = (int32_t)lb_sym_max(elem);
        int32_t q = lb_int_round(v, -m, m, mode, rbits);
        return elem == LOWBIT_INT8 ? (uint32_t)(uint8_t)(int8_t)q : (uint32_t)q & 0xFu;
    }
    return lb_encode(elem, v, mode, 1, rbits);
}

LB_HD float lb_amax_decode(int elem, uint32_t code, float s)
{
    return lb_decode(elem, code) * s;
}

/* Zero point: with hi = max(vmax, 0), lo = min(vmin, 0),
 *   s  = (hi - lo) / (qmax - qmin)   (1 when hi == lo), stored in scale_type
 *   zp = clamp(nearest_even(qmin - lo / s), qmin, qmax)  with the stored s
 * Non-finite blocks: NaN scale, zp 0. */
LB_HD uint32_t lb_zp_scale_code(const lb_block_stats *st, int elem, int scale_type)
{
    if (st->nonfinite)
        return lb_encode(scale_type, lb_f32_from_bits(0x7FC00000u), LB_ROUND_NE, 0, 0);
    int32_t qmin, qmax;
    lb_int_range(elem, &qmin, &qmax);
    float hi = st->vmax, lo = st->vmin;
    float range = hi - lo;
    float s = range == 0.0f ? 1.0f : range / (float)(qmax - qmin);
    if (s == 0.0f) /* a positive range / (qmax - qmin) underflowed */
        s = lb_f32_from_bits(1u);
    return lb_store_scale(scale_type, s);
}

LB_HD int32_t lb_zp_value(const lb_block_stats *st, int elem, float s)
{
    if (s != s)
        return 0;
    int32_t qmin, qmax;
    lb_int_range(elem, &qmin, &qmax);
    return lb_int_round((float)qmin - st->vmin / s, qmin, qmax, LB_ROUND_NE, 0);
}

/* q = clamp(round(x / s) + zp, qmin, qmax); 0 for a NaN scale. */
LB_HD int32_t lb_zp_encode(int elem, float x, float s, int32_t zp, int mode, uint32_t rbits)
{
    if (s != s)
        return 0;
    int32_t qmin, qmax;
    lb_int_range(elem, &qmin, &qmax);
    return lb_int_round(x / s, qmin - zp, qmax - zp, mode, rbits) + zp;
}

LB_HD float lb_zp_decode(int32_t q, int32_t zp, float s)
{
    return (float)(q - zp) * s;
}

#endif
