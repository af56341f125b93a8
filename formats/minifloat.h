/*
 * minifloat.h - one parametric codec for every sign/exponent/mantissa format
 * narrower than f32: f16, bf16, the FP8 family (OCP and FNUZ), FP6 and FP4.
 *
 * Encoding works on the f32 bit pattern with integers only, so SIMD and GPU
 * kernels can restate it instruction for instruction.  For a finite nonzero
 * |x| = sig * 2^elsb (sig < 2^24), with target mantissa width M and smallest
 * normal exponent emin:
 *
 *   E    = floor(log2 |x|),  Eeff = max(E, emin)
 *   the target's quantum at |x| is 2^(Eeff - M); `shift` source bits fall
 *   below it; truncating them gives n, and the magnitude code is
 *   code = ((Eeff - emin) << M) + n          (monotone in |x|)
 *
 * Rounding then adds 0 or 1 to the code:
 *   nearest-even  up if the dropped part is above half, or exactly half
 *                 and the truncated code is odd;
 *   toward zero   never;
 *   stochastic    up if r < floor(frac * 2^32), r the element's 32 Philox
 *                 bits and frac the dropped part as a fraction of the quantum.
 *
 * A code above the largest finite one is an overflow: toward-zero rounding
 * and SATFINITE give the largest finite value (IEEE's rule for round toward
 * zero); otherwise the result is Inf where the format has it and NaN where it
 * does not.  Formats with neither (FP6, FP4) always saturate.
 */
#ifndef LOWBIT_FORMATS_MINIFLOAT_H
#define LOWBIT_FORMATS_MINIFLOAT_H

#include "hostdevice.h"

/* What the format does with values it cannot represent. */
enum {
    LB_SPECIALS_IEEE = 0,  /* Inf = all-ones exponent, NaN otherwise (f16, bf16, E5M2) */
    LB_SPECIALS_FN,        /* no Inf, only S.1111.111 is NaN (E4M3) */
    LB_SPECIALS_FNUZ,      /* no Inf, no -0, NaN = sign bit alone (FNUZ) */
    LB_SPECIALS_NONE       /* no Inf, no NaN (FP6, FP4): NaN encodes as +max */
};

enum { LB_ROUND_NE = 0, LB_ROUND_TZ = 1, LB_ROUND_SR = 2 };

typedef struct lb_minifloat {
    int mbits;          /* stored mantissa bits */
    int ebits;          /* exponent bits */
    int bias;
    uint32_t max_code;  /* largest finite magnitude code */
    int specials;       /* LB_SPECIALS_* */
} lb_minifloat;

/* The parameter sets.  Functions rather than globals so device code can use them. */
LB_HD lb_minifloat lb_spec_f16(void)      { lb_minifloat s = {10, 5, 15, 0x7BFFu, LB_SPECIALS_IEEE}; return s; }
LB_HD lb_minifloat lb_spec_bf16(void)     { lb_minifloat s = {7, 8, 127, 0x7F7Fu, LB_SPECIALS_IEEE}; return s; }
LB_HD lb_minifloat lb_spec_e4m3(void)     { lb_minifloat s = {3, 4, 7, 0x7Eu, LB_SPECIALS_FN}; return s; }
LB_HD lb_minifloat lb_spec_e5m2(void)     { lb_minifloat s = {2, 5, 15, 0x7Bu, LB_SPECIALS_IEEE}; return s; }
LB_HD lb_minifloat lb_spec_e4m3fnuz(void) { lb_minifloat s = {3, 4, 8, 0x7Fu, LB_SPECIALS_FNUZ}; return s; }
LB_HD lb_minifloat lb_spec_e5m2fnuz(void) { lb_minifloat s = {2, 5, 16, 0x7Fu, LB_SPECIALS_FNUZ}; return s; }
LB_HD lb_minifloat lb_spec_e3m2(void)     { lb_minifloat s = {2, 3, 3, 0x1Fu, LB_SPECIALS_NONE}; return s; }
LB_HD lb_minifloat lb_spec_e2m3(void)     { lb_minifloat s = {3, 2, 1, 0x1Fu, LB_SPECIALS_NONE}; return s; }
LB_HD lb_minifloat lb_spec_e2m1(void)     { lb_minifloat s = {1, 2, 1, 0x7u, LB_SPECIALS_NONE}; return s; }

/* Code of +Inf (IEEE formats only). */
LB_HD uint32_t lb_mf_inf_code(lb_minifloat s)
{
    return ((1u << s.ebits) - 1u) << s.mbits;
}

/* The NaN an encoder produces for a NaN input or a non-saturated overflow.
 * f32 payload bits are kept (shifted down, quiet bit set) for f16/bf16, as
 * hardware conversions do; FP8 formats use one canonical code, as NVIDIA's
 * conversions do: 0x7F for E4M3 and E5M2, 0x80 for FNUZ. */
LB_HD uint32_t lb_mf_nan_code(lb_minifloat s, uint32_t f32bits)
{
    uint32_t sign_bit = 1u << (s.ebits + s.mbits);
    switch (s.specials) {
    case LB_SPECIALS_IEEE:
        if (s.mbits >= 7) { /* f16, bf16: keep sign and top payload bits */
            uint32_t payload = (f32bits & 0x007FFFFFu) >> (23 - s.mbits);
            uint32_t quiet = 1u << (s.mbits - 1);
            return ((f32bits >> 31) ? sign_bit : 0u) | lb_mf_inf_code(s) | quiet | payload;
        }
        return lb_mf_inf_code(s) | ((1u << s.mbits) - 1u);
    case LB_SPECIALS_FN:
        return (sign_bit - 1u);
    case LB_SPECIALS_FNUZ:
        return sign_bit;
    default:
        return s.max_code; /* no NaN: +max, NVIDIA's choice */
    }
}

/*
 * Encode an f32 into the format.  mode is LB_ROUND_*; rbits are the
 * stochastic-rounding bits (ignored otherwise); saturate is SATFINITE.
 */
LB_HD uint32_t lb_mf_encode(lb_minifloat s, float x, int mode, int saturate, uint32_t rbits)
{
    uint32_t u = lb_f32_bits(x);
    uint32_t sign = u >> 31;
    uint32_t mag = u & 0x7FFFFFFFu;
    uint32_t sign_bit = 1u << (s.ebits + s.mbits);
    uint32_t out_sign = sign ? sign_bit : 0u;

    if (mag > 0x7F800000u) /* NaN */
        return lb_mf_nan_code(s, u);

    uint32_t code;
    int overflow = 0;
    if (mag == 0x7F800000u) { /* Inf: not an overflow of rounding, but out of range */
        code = 0;
        overflow = 1;
    } else if (mag == 0) {
        code = 0;
    } else {
        uint32_t ef = mag >> 23;
        uint32_t sig = ef ? ((mag & 0x007FFFFFu) | 0x00800000u) : mag;
        int elsb = ef ? (int)ef - 150 : -149;       /* exponent of sig's lsb */
        int top = 31 - lb_clz32(sig);           /* index of sig's top bit */
        int E = elsb + top;                          /* floor(log2 |x|) */
        int emin = 1 - s.bias;
        int Eeff = E > emin ? E : emin;
        int shift = (Eeff - s.mbits) - elsb;         /* dropped source bits */
        uint32_t n, up = 0;
        if (shift <= 0) {
            n = sig << -shift;                       /* exact: nothing dropped */
        } else {
            uint64_t sig64 = sig;
            uint64_t rem, half;
            if (shift >= 40) {
                n = 0;
                rem = sig64;
                half = (uint64_t)1 << 39;            /* sig < 2^24: far below half */
            } else {
                n = (uint32_t)(sig64 >> shift);
                rem = sig64 & (((uint64_t)1 << shift) - 1);
                half = (uint64_t)1 << (shift - 1);
            }
            uint32_t trunc = ((uint32_t)(Eeff - emin) << s.mbits) + n;
            if (mode == LB_ROUND_NE) {
                up = (rem > half) || (rem == half && (trunc & 1u));
            } else if (mode == LB_ROUND_SR) {
                /* frac * 2^32 = rem * 2^(32 - shift), truncated */
                uint64_t frac32;
                if (shift <= 32)
                    frac32 = rem << (32 - shift);
                else if (shift - 32 < 64)
                    frac32 = rem >> (shift - 32);
                else
                    frac32 = 0;
                up = (uint64_t)rbits < frac32;
            }
        }
        code = ((uint32_t)(Eeff - emin) << s.mbits) + n + up;
        if (code > s.max_code)
            overflow = 1;
    }

    if (overflow) {
        int is_inf = (mag == 0x7F800000u);
        if (saturate || s.specials == LB_SPECIALS_NONE || (mode == LB_ROUND_TZ && !is_inf))
            code = s.max_code;
        else if (s.specials == LB_SPECIALS_IEEE)
            code = lb_mf_inf_code(s);
        else if (s.specials == LB_SPECIALS_FN)
            code = sign_bit - 1u;
        else
            return sign_bit; /* FNUZ NaN, unsigned */
    }

    if (code == 0 && s.specials == LB_SPECIALS_FNUZ)
        return 0; /* no negative zero */
    return out_sign | code;
}

/* Decode a code to f32, exactly.  NaN codes give sign | 0x7FC00000 for the
 * FP8 formats; f16 NaNs keep their payload and come back quiet. */
LB_HD float lb_mf_decode(lb_minifloat s, uint32_t c)
{
    uint32_t sign_bit = 1u << (s.ebits + s.mbits);
    uint32_t sign32 = (c & sign_bit) ? 0x80000000u : 0u;
    uint32_t mag = c & (sign_bit - 1u);
    uint32_t ex = mag >> s.mbits;
    uint32_t man = mag & ((1u << s.mbits) - 1u);
    uint32_t exp_all_ones = (1u << s.ebits) - 1u;

    switch (s.specials) {
    case LB_SPECIALS_IEEE:
        if (ex == exp_all_ones) {
            if (man == 0)
                return lb_f32_from_bits(sign32 | 0x7F800000u);
            if (s.ebits == 8) /* bf16: widening is a plain 16-bit shift, sNaN included */
                return lb_f32_from_bits(sign32 | 0x7F800000u | (man << (23 - s.mbits)));
            if (s.mbits >= 7)
                return lb_f32_from_bits(sign32 | 0x7FC00000u | (man << (23 - s.mbits)));
            return lb_f32_from_bits(sign32 | 0x7FC00000u);
        }
        break;
    case LB_SPECIALS_FN:
        if (mag == sign_bit - 1u)
            return lb_f32_from_bits(sign32 | 0x7FC00000u);
        break;
    case LB_SPECIALS_FNUZ:
        if (c == sign_bit)
            return lb_f32_from_bits(0x7FC00000u);
        break;
    default:
        break;
    }

    float v;
    if (ex == 0)
        v = (float)man * lb_pow2f(1 - s.bias - s.mbits);
    else
        v = (float)((1u << s.mbits) | man) * lb_pow2f((int)ex - s.bias - s.mbits);
    return sign32 ? -v : v;
}

#endif
