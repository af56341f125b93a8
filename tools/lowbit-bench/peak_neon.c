/* peak_neon.c - aarch64 Advanced SIMD peak kernels (baseline flags: NEON
 * is mandatory on aarch64). */
#include <arm_neon.h>
#include "peak.h"

/* Up to four FMA pipes x 4 cycles latency on big cores; 32 q registers. */
#define FMA_CHAINS 24
#define INT8_CHAINS 8

static double fma_run(uint64_t iters)
{
    float32x4_t a = vdupq_n_f32(0.999f), b = vdupq_n_f32(1e-3f), acc[FMA_CHAINS];
    for (int k = 0; k < FMA_CHAINS; k++)
        acc[k] = vdupq_n_f32((float)k);
    for (uint64_t i = 0; i < iters; i++)
        for (int k = 0; k < FMA_CHAINS; k++)
            acc[k] = vfmaq_f32(b, acc[k], a); /* b + acc * a */
    float32x4_t s = acc[0];
    for (int k = 1; k < FMA_CHAINS; k++)
        s = vaddq_f32(s, acc[k]);
    return vaddvq_f32(s);
}

/* Without sdot: widening multiplies (smull/smull2) and pairwise
 * accumulation into s32 (sadalp). */
static double int8_run(uint64_t iters)
{
    int8x16_t a = vdupq_n_s8(1), b[INT8_CHAINS];
    int32x4_t acc[INT8_CHAINS];
    for (int k = 0; k < INT8_CHAINS; k++) {
        b[k] = vdupq_n_s8((int8_t)(k + 1));
        acc[k] = vdupq_n_s32(0);
    }
    for (uint64_t i = 0; i < iters; i++) {
        PEAK_OPAQUE("w", a);
        for (int k = 0; k < INT8_CHAINS; k++) {
            acc[k] = vpadalq_s16(acc[k], vmull_s8(vget_low_s8(a), vget_low_s8(b[k])));
            acc[k] = vpadalq_s16(acc[k], vmull_high_s8(a, b[k]));
        }
    }
    int32x4_t s = acc[0];
    for (int k = 1; k < INT8_CHAINS; k++)
        s = vaddq_s32(s, acc[k]);
    return (double)vaddvq_s32(s);
}

/* 4 lanes x 2 flops per FMA; 16 byte products (x 2 ops) per smull+smull2 pair. */
const peak_kernel peak_fma_neon = {"neon", "fmla v.4s", 8.0 * FMA_CHAINS, fma_run};
const peak_kernel peak_int8_neon = {"neon", "smull+smull2+sadalp", 32.0 * INT8_CHAINS, int8_run};
