/*
 * integer.h - INT8, INT4 and UINT4 element codecs.
 *
 * From a float: NaN gives 0; values at or beyond the range clamp to it (so
 * Inf saturates); otherwise the value is rounded by the mode (nearest-even,
 * toward zero, or stochastic: away from zero when r < floor(|frac| * 2^32))
 * and clamped again.  Integer codes are the two's-complement (or unsigned)
 * bit patterns, 4-bit ones in the low nibble.
 */
#ifndef LOWBIT_FORMATS_INTEGER_H
#define LOWBIT_FORMATS_INTEGER_H

#include "hostdevice.h"

LB_HD int32_t lb_int_round(float x, int32_t lo, int32_t hi, int mode, uint32_t rbits)
{
    if (x != x)
        return 0;
    if (x >= (float)hi)
        return hi;
    if (x <= (float)lo)
        return lo;
    int32_t t = (int32_t)x;          /* truncates toward zero, |x| < 2^8 */
    float frac = x - (float)t;       /* exact */
    float afrac = frac < 0 ? -frac : frac;
    int away = 0;
    if (mode == 0) {                 /* nearest-even */
        away = afrac > 0.5f || (afrac == 0.5f && (t & 1));
    } else if (mode == 2) {          /* stochastic */
        /* afrac has at most 24 significant bits and is < 1: exact in double */
        uint64_t frac32 = (uint64_t)((double)afrac * 4294967296.0);
        away = (uint64_t)rbits < frac32;
    }
    if (away)
        t += frac < 0 ? -1 : 1;
    if (t > hi)
        t = hi;
    if (t < lo)
        t = lo;
    return t;
}

LB_HD uint32_t lb_int8_encode(float x, int mode, uint32_t rbits)
{
    return (uint32_t)(uint8_t)(int8_t)lb_int_round(x, -128, 127, mode, rbits);
}

LB_HD uint32_t lb_int4_encode(float x, int mode, uint32_t rbits)
{
    return (uint32_t)lb_int_round(x, -8, 7, mode, rbits) & 0xFu;
}

LB_HD uint32_t lb_uint4_encode(float x, int mode, uint32_t rbits)
{
    return (uint32_t)lb_int_round(x, 0, 15, mode, rbits);
}

LB_HD float lb_int8_decode(uint32_t c) { return (float)(int8_t)(uint8_t)c; }
LB_HD float lb_int4_decode(uint32_t c) { c &= 0xFu; return (float)((int32_t)c - ((c & 8u) ? 16 : 0)); }
LB_HD float lb_uint4_decode(uint32_t c) { return (float)(c & 0xFu); }

#endif
