/* peak_neon_dotprod.c - aarch64 sdot int8 peak (built with
 * -march=armv8.2-a+dotprod only). */
#include <arm_neon.h>
#include "peak.h"

#define CHAINS 16

static double int8_run(uint64_t iters)
{
    int8x16_t a = vdupq_n_s8(1), b = vdupq_n_s8(2);
    int32x4_t acc[CHAINS];
    for (int k = 0; k < CHAINS; k++)
        acc[k] = vdupq_n_s32(0);
    for (uint64_t i = 0; i < iters; i++)
        for (int k = 0; k < CHAINS; k++)
            acc[k] = vdotq_s32(acc[k], a, b);
    int32x4_t s = acc[0];
    for (int k = 1; k < CHAINS; k++)
        s = vaddq_s32(s, acc[k]);
    return (double)vaddvq_s32(s);
}

/* 16 s8 x s8 products (x 2 ops) per sdot v.4s. */
const peak_kernel peak_int8_neon_dotprod = {"neon-dotprod", "sdot v.4s", 32.0 * CHAINS, int8_run};
