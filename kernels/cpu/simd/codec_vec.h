/*
 * codec_vec.h - the element codecs of formats/ restated lane-wise, for the
 * SIMD kernels.  Each function is the vector twin of one scalar function
 * and must agree with it bit for bit on every input (lowbit-check holds
 * every kernel built on these to the reference):
 *
 *   lbv_mf_encode     lb_mf_encode_fast (formats/minifloat_fast.h), which is
 *                     itself proven equal to lb_mf_encode on all 2^32 inputs
 *   lbv_e8m0_encode   lb_e8m0_encode   (formats/e8m0.h)
 *   lbv_int_round     lb_int_round     (formats/integer.h)
 *   lbv_mf_decode ... lb_decode        (formats/codec.h)
 *   lbv_sr_bits       lb_sr_bits       (formats/philox.h)
 *
 * Format parameters and rounding modes are arguments that the callers pass
 * as constants; with always_inline every format decision folds away.
 */
#ifndef LOWBIT_SIMD_CODEC_VEC_H
#define LOWBIT_SIMD_CODEC_VEC_H

#include "vec.h"
#include "../../../formats/codec.h"

/* ---- minifloat encode -------------------------------------------------- */

/* The NaN code for f32 bits u (lb_mf_nan_code). */
LBV_FI lbv_u32 lbv_mf_nan_code(lb_minifloat s, lbv_u32 u)
{
    const uint32_t sign_bit = 1u << (s.ebits + s.mbits);
    if (s.specials == LB_SPECIALS_IEEE && s.mbits >= 7) {
        lbv_u32 payload = (u & 0x007FFFFFu) >> (23 - s.mbits);
        lbv_u32 sign = (u >> (31 - s.ebits - s.mbits)) & sign_bit;
        return sign | (lb_mf_inf_code(s) | (1u << (s.mbits - 1))) | payload;
    }
    return lbv_splat(lb_mf_nan_code(s, 0x7FC00000u));
}

/*
 * lb_mf_encode_fast, lane-wise: u are f32 bits, rbits the stochastic bits.
 *
 * One change of formulation makes the overflow rules cheap: the magnitude
 * is first clamped to a limit L at which every rule's answer is already
 * reached.  Saturating (and FP6/FP4, which always saturate) and toward-zero
 * clamp to the largest finite value, whose code every larger finite input
 * gets; nearest-even and stochastic clamp to the value that code
 * max_code + 1 would have, which every input at or above the overflow
 * threshold reaches by rounding.  That code, ORed with the sign, is exactly
 * the overflow result: Inf for E5M2/f16/bf16, S.1111.111 (NaN) for E4M3,
 * and 0x80 (NaN) for FNUZ, whose max_code + 1 is the sign bit itself.  The
 * only leftovers are an Inf input under toward-zero (not saturated), the
 * FNUZ zero, and NaN inputs.
 */
LBV_FI lbv_u32 lbv_mf_encode(lb_minifloat s, lbv_u32 u, int mode, int saturate, lbv_u32 rbits)
{
    const int M = s.mbits;
    const int emin = 1 - s.bias;
    const int sh = 23 - M;
    const uint32_t sign_bit = 1u << (s.ebits + M);
    const uint32_t norm_min = (uint32_t)(127 + emin) << 23;
    const uint32_t rebias = (uint32_t)(126 + emin) << 23;
    const int clamp_max = saturate || s.specials == LB_SPECIALS_NONE || mode == LB_ROUND_TZ;
    const uint32_t limit = ((s.max_code + (clamp_max ? 0u : 1u)) << sh) + rebias;
    const lbv_u32 mag = u & 0x7FFFFFFFu;
    const lbv_u32 out_sign = (u >> (31 - s.ebits - M)) & sign_bit;
    const lbv_u32 m = lbv_min(mag, lbv_splat(limit));

    lbv_u32 code;
    if (mode == LB_ROUND_NE)
        code = (m + (((1u << (sh - 1)) - 1u) - rebias) + ((m >> sh) & 1u)) >> sh;
    else if (mode == LB_ROUND_TZ)
        code = (m - rebias) >> sh;
    else
        code = ((m - rebias) >> sh) + lbv_bit(rbits < (m << (32 - sh)));

    /* Target subnormals (not for bf16, whose 2^emin is f32's). */
    if (127 + emin > 1) {
        lbv_u32 csub;
        if (mode == LB_ROUND_NE) {
            const uint32_t magic = (uint32_t)(150 + emin - M) << 23;
            csub = lbv_as_u32(lbv_as_f32(m) + lbv_as_f32(lbv_splat(magic))) - magic;
        } else {
            const lbv_u32 sig = (m & 0x007FFFFFu) | 0x00800000u;
            const lbv_u32 ef = lbv_min(m >> 23, lbv_splat((uint32_t)(126 + emin)));
            const lbv_u32 t = (uint32_t)(sh + 127 + emin) - ef; /* >= sh + 1 */
            const lbv_u32 n = sig >> lbv_min(t, lbv_splat(31));
            if (mode == LB_ROUND_TZ) {
                csub = n;
            } else {
                lbv_u32 left = sig << lbv_min(32u - t, lbv_splat(31));  /* used where t <= 32 */
                lbv_u32 right = sig >> lbv_min(t - 32u, lbv_splat(31)); /* used where t > 32 */
                lbv_u32 frac32 = lbv_sel(lbv_gt31(t, 32), right, left);
                csub = n + lbv_bit(rbits < frac32);
            }
        }
        code = lbv_sel(lbv_lt31(m, lbv_splat(norm_min)), csub, code);
    }

    /* toward zero, not saturated: an Inf input overflows like a rounded one */
    if (mode == LB_ROUND_TZ && !saturate && s.specials != LB_SPECIALS_NONE)
        code = lbv_sel(mag == 0x7F800000u, lbv_splat(s.max_code + 1u), code);
    lbv_u32 res = out_sign | code;
    if (s.specials == LB_SPECIALS_FNUZ)
        res = lbv_sel(code == 0u, lbv_splat(0), res);
    return lbv_sel(lbv_gt31(mag, 0x7F800000u), lbv_mf_nan_code(s, u), res);
}

/* ---- E8M0 encode ------------------------------------------------------- */

LBV_FI lbv_u32 lbv_e8m0_encode(lbv_u32 u, int mode, int saturate, lbv_u32 rbits)
{
    /* f32 subnormals: scale by 2^64 (exact) to read exponent and fraction */
    const lbv_i32 sub = (u & 0x7F800000u) == 0u;
    const lbv_u32 un = lbv_sel(sub, lbv_as_u32(lbv_as_f32(u) * 18446744073709551616.0f), u);
    const lbv_u32 efield = (un >> 23) & 0xFFu;
    const lbv_u32 frac = un & 0x007FFFFFu;
    /* code = E + 127 (+ up); for subnormal inputs E + 127 = efield - 64 */
    lbv_u32 up;
    if (mode == LB_ROUND_NE)
        up = lbv_bit(frac >= 0x00400000u);
    else if (mode == LB_ROUND_SR)
        up = lbv_bit(rbits < (frac << 9));
    else if (mode == LB_E8M0_ROUND_UP)
        up = lbv_bit(frac != 0u);
    else
        up = lbv_splat(0);
    const lbv_u32 biased = lbv_sel(sub, efield - 64u, efield); /* wraps below zero for E < -127 */
    const lbv_i32 below = sub & (efield < 64u);                 /* E < -127 */
    lbv_u32 code = biased + up;
    const uint32_t over = saturate ? 0xFEu : 0xFFu;
    code = lbv_sel(code > 0xFEu, lbv_splat(over), code);
    code = lbv_sel(below, lbv_splat(0), code);
    code = lbv_sel(u == 0x7F800000u, lbv_splat(over), code);
    /* negative, zero and NaN inputs */
    const lbv_i32 bad = ((u >> 31) != 0u) | (u == 0u) | (u > 0x7F800000u);
    return lbv_sel(bad, lbv_splat(0xFF), code);
}

/* ---- integers ------------------------------------------------------------ */

/* f32 in [0, 2^32) to uint32, truncating. */
LBV_FI lbv_u32 lbv_f32_to_u32_trunc(lbv_f32 f)
{
    const lbv_i32 big = f >= 2147483648.0f;
    const lbv_f32 low = lbv_as_f32(lbv_sel(big, lbv_as_u32(f - 2147483648.0f), lbv_as_u32(f))); /* exact */
    return (lbv_u32)lbv_f32_to_i32_trunc(low) + ((lbv_u32)big & 0x80000000u);
}

LBV_FI lbv_i32 lbv_sel_i32(lbv_i32 mask, lbv_i32 a, lbv_i32 b)
{
    return (lbv_i32)lbv_sel(mask, (lbv_u32)a, (lbv_u32)b);
}

/* lb_int_round: NaN -> 0; at or beyond the range, its end; otherwise round
 * by mode and clamp. */
LBV_FI lbv_i32 lbv_int_round(lbv_f32 x, int32_t lo, int32_t hi, int mode, lbv_u32 rbits)
{
    const lbv_i32 nan = x != x;
    const lbv_i32 at_hi = x >= (float)hi;
    const lbv_i32 at_lo = x <= (float)lo;
    /* inside (lo, hi): |x| < 2^8, so the conversions below are exact */
    const lbv_f32 xin = lbv_as_f32(lbv_sel(nan | at_hi | at_lo, lbv_splat(0), lbv_as_u32(x)));
    lbv_i32 t;
    if (mode == LB_ROUND_NE) {
        t = lbv_f32_to_i32_rne(xin);
    } else {
        t = lbv_f32_to_i32_trunc(xin);
        if (mode == LB_ROUND_SR) {
            const lbv_f32 frac = xin - lbv_i32_to_f32(t); /* exact */
            const lbv_f32 afrac = lbv_as_f32(lbv_as_u32(frac) & 0x7FFFFFFFu);
            const lbv_u32 frac32 = lbv_f32_to_u32_trunc(afrac * 4294967296.0f); /* exact scaling */
            const lbv_i32 away = rbits < frac32;
            const lbv_i32 step = lbv_sel_i32(frac < 0.0f, (lbv_i32){0} - 1, (lbv_i32){0} + 1) & away;
            t = t + step;
        }
    }
    t = lbv_sel_i32(t > hi, (lbv_i32){0} + hi, t);
    t = lbv_sel_i32(t < lo, (lbv_i32){0} + lo, t);
    t = lbv_sel_i32(at_hi, (lbv_i32){0} + hi, t);
    t = lbv_sel_i32(at_lo, (lbv_i32){0} + lo, t);
    return lbv_sel_i32(nan, (lbv_i32){0}, t);
}

/* lb_int8/int4/uint4_encode: codes (4-bit ones in the low nibble). */
LBV_FI lbv_u32 lbv_int_encode(int t, lbv_u32 u, int mode, lbv_u32 rbits)
{
    const lbv_f32 x = lbv_as_f32(u);
    if (t == LOWBIT_INT8)
        return (lbv_u32)lbv_int_round(x, -128, 127, mode, rbits) & 0xFFu;
    if (t == LOWBIT_INT4)
        return (lbv_u32)lbv_int_round(x, -8, 7, mode, rbits) & 0xFu;
    return (lbv_u32)lbv_int_round(x, 0, 15, mode, rbits);
}

/* ---- decode (codes to f32 bits) -------------------------------------- */

/* Minifloats of at most 8 bits.  Normal codes: move exponent and mantissa
 * into place and add the exponent rebias (integer work).  Subnormal codes
 * m * 2^(emin - M): read them as the normal 2^emin * (1 + m / 2^M) and
 * subtract 2^emin, exact, as lb_f16_decode_fast does; no operand is ever
 * an f32 subnormal, which x86 multipliers handle far more slowly. */
LBV_FI lbv_u32 lbv_mf_decode(lb_minifloat s, lbv_u32 c)
{
    const uint32_t sign_bit = 1u << (s.ebits + s.mbits);
    const lbv_u32 sign32 = (c & sign_bit) << (31 - s.ebits - s.mbits);
    const lbv_u32 mag = c & (sign_bit - 1u);
    const lbv_u32 placed = mag << (23 - s.mbits);
    const lbv_u32 normal = placed + ((uint32_t)(127 - s.bias) << 23);
    const lbv_f32 emin = lbv_splat_f32(lb_pow2f(1 - s.bias));
    const lbv_u32 sub = lbv_as_u32(lbv_as_f32(placed + ((uint32_t)(128 - s.bias) << 23)) - emin);
    lbv_u32 r = sign32 | lbv_sel(lbv_lt31(mag, lbv_splat(1u << s.mbits)), sub, normal);
    if (s.specials == LB_SPECIALS_IEEE) {
        const uint32_t inf = lb_mf_inf_code(s);
        r = lbv_sel((mag & inf) == inf, sign32 | lbv_sel(mag == inf, lbv_splat(0x7F800000u), lbv_splat(0x7FC00000u)),
                    r);
    } else if (s.specials == LB_SPECIALS_FN) {
        r = lbv_sel(mag == sign_bit - 1u, sign32 | 0x7FC00000u, r);
    } else if (s.specials == LB_SPECIALS_FNUZ) {
        r = lbv_sel(c == sign_bit, lbv_splat(0x7FC00000u), r);
    }
    return r;
}

LBV_FI lbv_u32 lbv_e8m0_decode(lbv_u32 c)
{
    lbv_u32 r = c << 23;
    r = lbv_sel(c == 0u, lbv_splat(0x00400000u), r); /* 2^-127 is an f32 subnormal */
    return lbv_sel(c == 0xFFu, lbv_splat(0x7FC00000u), r);
}

LBV_FI lbv_u32 lbv_int_decode(int t, lbv_u32 c)
{
    lbv_i32 v;
    if (t == LOWBIT_INT8)
        v = (lbv_i32)(c << 24) >> 24;
    else if (t == LOWBIT_INT4)
        v = (lbv_i32)(c << 28) >> 28;
    else
        v = (lbv_i32)c;
    return lbv_as_u32(lbv_i32_to_f32(v));
}

/* ---- stochastic rounding bits --------------------------------------- */

/* Philox4x32-10 on LBV_N counters at once (formats/philox.h). */
LBV_FI void lbv_philox(lbv_u32 ctr[4], uint32_t k0, uint32_t k1)
{
    for (int round = 0; round < 10; round++) {
        lbv_u32 hi0, lo0, hi1, lo1;
        lbv_mul_wide(ctr[0], 0xD2511F53u, &hi0, &lo0);
        lbv_mul_wide(ctr[2], 0xCD9E8D57u, &hi1, &lo1);
        lbv_u32 n0 = hi1 ^ ctr[1] ^ k0;
        lbv_u32 n2 = hi0 ^ ctr[3] ^ k1;
        ctr[0] = n0;
        ctr[1] = lo1;
        ctr[2] = n2;
        ctr[3] = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
}

/* A buffer of consecutive elements' stochastic bits: the words of LBV_N
 * Philox blocks, refilled as the element index moves on. */
typedef struct lbv_sr_stream {
    uint64_t seed;
    uint64_t first;   /* element index of buf[0] (a multiple of 4) */
    size_t have;      /* valid words in buf */
    uint32_t buf[4 * LBV_N];
} lbv_sr_stream;

LBV_FI void lbv_sr_init(lbv_sr_stream *s, uint64_t seed)
{
    s->seed = seed;
    s->first = 0;
    s->have = 0;
}

static __attribute__((noinline)) void lbv_sr_refill(lbv_sr_stream *s, uint64_t index)
{
    uint64_t block = index >> 2;
    lbv_u32 ctr[4];
    lbv_u32 lanes = lbv_iota();
    lbv_u32 lo = (uint32_t)block + lanes;
    ctr[0] = lo;
    ctr[1] = (uint32_t)(block >> 32) + lbv_bit(lo < (uint32_t)block); /* carry into the high word */
    ctr[2] = lbv_splat(0);
    ctr[3] = lbv_splat(0);
    lbv_philox(ctr, (uint32_t)s->seed, (uint32_t)(s->seed >> 32));
    lbv_store_interleave4(s->buf, ctr);
    s->first = block << 2;
    s->have = 4 * LBV_N;
}

/* The stochastic bits of elements index .. index + LBV_N - 1. */
LBV_FI lbv_u32 lbv_sr_bits(lbv_sr_stream *s, uint64_t index)
{
    if (index < s->first || index + LBV_N > s->first + s->have)
        lbv_sr_refill(s, index);
    return lbv_load(s->buf + (index - s->first));
}

#endif
