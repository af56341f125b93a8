/*
 * exp.h - the one exp(x) of the library: softmax in attention uses it on
 * every backend (host C, CUDA, HIP; the SIMD kernels restate it lane-wise
 * with the same operations in the same order), so exact attention gives the
 * same bits everywhere.
 *
 * The algorithm (every step a correctly rounded f32 operation; no library
 * call, no dependence on the rounding of a hardware exp):
 *
 *   1. clamp:  x < -104 -> -104,  x > 89 -> 89  (NaN passes through; the
 *      clamped ends still give exactly 0 and +Inf through steps 2-5)
 *   2. n = rint(x * log2(e)), by the add-and-subtract of 1.5 * 2^23, which
 *      rounds to nearest even for |t| < 2^22; n is read off the same sum's
 *      bits, so no float-to-int conversion (undefined for NaN) is needed
 *   3. r = x - n * ln2 in two fused steps (Cody-Waite): the first is exact
 *      because ln2_hi * n and x share their low bits, the second adds the
 *      tail of ln2
 *   4. p = 1 + r + r^2 * q(r), q a degree-4 polynomial in Horner form with
 *      fmaf (coefficients fitted for relative error on [-ln2/2, ln2/2] by
 *      scripts/exp_coefficients.py)
 *   5. p * 2^n as (p * 2^(n/2)) * 2^(n - n/2): both factors are normal f32
 *      for n in [-150, 128], the first product is exact, and the second
 *      rounds once, also into the subnormal range and to +Inf on overflow
 *
 * Accuracy against a correctly rounded exp, over every f32 in [-104, 89]
 * (scripts/exp_accuracy.c, docs/semantics.md): at most 1.0137 ulp (at
 * x = 0x1.2e3aa8p+5), 99.23 % of results correctly rounded.  lowbit-check
 * holds samples to LB_EXP_MAX_ULP.
 */
#ifndef LOWBIT_FORMATS_EXP_H
#define LOWBIT_FORMATS_EXP_H

#include "hostdevice.h"

#if !defined(__CUDACC__) && !defined(__HIPCC__)
#include <math.h>
#endif

#define LB_EXP_MAX_ULP 1.014 /* the measured worst, 1.0137, rounded up */
#define LB_EXP_LO (-104.0f)
#define LB_EXP_HI 89.0f
#define LB_EXP_LOG2E 0x1.715476p+0f
#define LB_EXP_SHIFTER 0x1.8p+23f
#define LB_EXP_LN2_HI 0x1.62e430p-1f
#define LB_EXP_LN2_LO (-0x1.05c610p-29f)
#define LB_EXP_C2 0x1.fffffcp-2f
#define LB_EXP_C3 0x1.555492p-3f
#define LB_EXP_C4 0x1.5558f2p-5f
#define LB_EXP_C5 0x1.1239d6p-7f
#define LB_EXP_C6 0x1.6a243ep-10f

LB_HD float lb_expf(float x)
{
    if (x < LB_EXP_LO)
        x = LB_EXP_LO;
    if (x > LB_EXP_HI)
        x = LB_EXP_HI;
    float t = x * LB_EXP_LOG2E;
    float big = t + LB_EXP_SHIFTER;
    float nf = big - LB_EXP_SHIFTER;
    int32_t n = (int32_t)(lb_f32_bits(big) - lb_f32_bits(LB_EXP_SHIFTER));
    float r = fmaf(nf, -LB_EXP_LN2_HI, x);
    r = fmaf(nf, -LB_EXP_LN2_LO, r);
    float q = LB_EXP_C6;
    q = fmaf(q, r, LB_EXP_C5);
    q = fmaf(q, r, LB_EXP_C4);
    q = fmaf(q, r, LB_EXP_C3);
    q = fmaf(q, r, LB_EXP_C2);
    float p = fmaf(q, r * r, r) + 1.0f;
    int32_t n1 = n / 2, n2 = n - n1;
    /* For a NaN x, n is garbage but the bit patterns stay well defined and
     * p is NaN, so the product is NaN. */
    float f1 = lb_f32_from_bits((uint32_t)(n1 + 127) << 23);
    float f2 = lb_f32_from_bits((uint32_t)(n2 + 127) << 23);
    return (p * f1) * f2;
}

#endif
