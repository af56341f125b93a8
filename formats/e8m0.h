/*
 * e8m0.h - the E8M0 scale type: code c means 2^(c - 127), 0xFF is NaN; there
 * is no sign and no zero.
 *
 * Encoding a positive finite x with E = floor(log2 x), f = x / 2^E - 1:
 *   toward zero   2^E                     (NVIDIA cudaRoundZero)
 *   nearest       2^(E+1) when f >= 1/2   (ties go up, as ml_dtypes' float8_e8m0fnu)
 *   up            2^(E+1) when f > 0      (NVIDIA cudaRoundPosInf; the RCEIL rule)
 *   stochastic    2^(E+1) when r < floor(f * 2^32)
 * Results below 2^-127 are clipped to 2^-127 (code 0x00).  Results above 2^127
 * are 0xFF (NaN), or 0xFE with SATFINITE.  Zero, negative and NaN inputs give
 * 0xFF, as ml_dtypes does; +Inf gives 0xFF, or 0xFE with SATFINITE.
 */
#ifndef LOWBIT_FORMATS_E8M0_H
#define LOWBIT_FORMATS_E8M0_H

#include "hostdevice.h"

enum { LB_E8M0_ROUND_UP = 3 }; /* internal mode beside LB_ROUND_NE/TZ/SR */

LB_HD uint32_t lb_e8m0_encode(float x, int mode, int saturate, uint32_t rbits)
{
    uint32_t u = lb_f32_bits(x);
    if ((u >> 31) || u == 0 || u > 0x7F800000u)
        return 0xFFu; /* negative, -0, +0, NaN */
    if (u == 0x7F800000u)
        return saturate ? 0xFEu : 0xFFu;

    uint32_t ef = u >> 23;
    uint32_t frac;  /* f as a 23-bit fraction */
    int E;
    if (ef) {
        E = (int)ef - 127;
        frac = u & 0x007FFFFFu;
    } else {
        int top = 31 - lb_clz32(u);
        E = top - 149;
        frac = (u << (23 - top)) & 0x007FFFFFu;
    }
    if (E < -127)
        return 0x00u;

    uint32_t up = 0;
    if (mode == 0 /* LB_ROUND_NE */)
        up = frac >= 0x00400000u;
    else if (mode == 2 /* LB_ROUND_SR */)
        up = rbits < (frac << 9);
    else if (mode == LB_E8M0_ROUND_UP)
        up = frac != 0;

    uint32_t code = (uint32_t)(E + 127) + up;
    if (code > 0xFEu)
        return saturate ? 0xFEu : 0xFFu;
    return code;
}

LB_HD float lb_e8m0_decode(uint32_t c)
{
    c &= 0xFFu;
    if (c == 0xFFu)
        return lb_f32_from_bits(0x7FC00000u);
    return lb_pow2f((int)c - 127);
}

#endif
