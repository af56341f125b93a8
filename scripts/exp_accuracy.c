/*
 * exp_accuracy.c - lb_expf (formats/exp.h) against exp in f64 over every f32
 * in [LB_EXP_LO, LB_EXP_HI]: the worst error in ulp of the result (the ulp
 * of normal results; subnormal results count against 2^-149) and the share
 * correctly rounded.  The figures in docs/semantics.md and LB_EXP_MAX_ULP
 * come from this (about 80 s on one core):
 *
 *   cc -O2 -ffp-contract=off -Iformats scripts/exp_accuracy.c -lm -o /tmp/exp_accuracy && /tmp/exp_accuracy
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "exp.h"

int main(void)
{
    double worst = 0;
    float worst_at = 0;
    unsigned long inputs = 0, exact = 0;
    for (int negative = 0; negative < 2; negative++) {
        for (uint32_t u = negative ? 0x80000000u : 0;; u++) {
            float x;
            memcpy(&x, &u, sizeof x);
            if (negative ? x < LB_EXP_LO : x > LB_EXP_HI)
                break;
            double want = exp((double)x);
            float got = lb_expf(x);
            if (want > 0x1.fffffep+127) { /* beyond f32: must round to +Inf */
                inputs++;
                exact += isinf(got) && got > 0;
                if (!(isinf(got) && got > 0))
                    worst = INFINITY, worst_at = x;
                continue;
            }
            double ulp = ldexp(1.0, ilogb(want > 0x1p-126 ? want : 0x1p-126) - 23);
            double err = fabs((double)got - want) / ulp;
            inputs++;
            exact += got == (float)want;
            if (err > worst) {
                worst = err;
                worst_at = x;
            }
        }
    }
    printf("lb_expf over every f32 in [%g, %g]: %lu inputs, worst %.4f ulp at %a, %.2f %% correctly rounded\n",
           (double)LB_EXP_LO, (double)LB_EXP_HI, inputs, worst, (double)worst_at, 100.0 * (double)exact / (double)inputs);
    printf("LB_EXP_MAX_ULP = %.3f: %s\n", LB_EXP_MAX_ULP, worst <= LB_EXP_MAX_ULP ? "holds" : "EXCEEDED");
    return worst <= LB_EXP_MAX_ULP ? 0 : 1;
}
