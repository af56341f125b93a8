/* peak_c.c - portable peak kernels, for a CPU without a SIMD ISA the tool
 * knows (built with the default flags; the compiler may vectorize them). */
#include "peak.h"

#define FMA_CHAINS 8
#define INT8_CHAINS 8

static double fma_run(uint64_t iters)
{
    /* acc <- acc * a + b converges to b / (1 - a): no overflow, no subnormals. */
    float a = 0.999f, b = 1e-3f, acc[FMA_CHAINS];
    for (int k = 0; k < FMA_CHAINS; k++)
        acc[k] = (float)k;
    for (uint64_t i = 0; i < iters; i++)
        for (int k = 0; k < FMA_CHAINS; k++)
            acc[k] = acc[k] * a + b;
    double s = 0;
    for (int k = 0; k < FMA_CHAINS; k++)
        s += acc[k];
    return s;
}

static double int8_run(uint64_t iters)
{
    int32_t acc[INT8_CHAINS] = {0}, b[INT8_CHAINS];
    int32_t a = 1;
    for (int k = 0; k < INT8_CHAINS; k++) {
        b[k] = k + 1;
        PEAK_OPAQUE("r", b[k]); /* unknown factors: real multiplies, not shifts */
    }
    for (uint64_t i = 0; i < iters; i++) {
        PEAK_OPAQUE("r", a);
        for (int k = 0; k < INT8_CHAINS; k++)
            acc[k] += (int32_t)(int8_t)a * (int32_t)(int8_t)b[k];
    }
    double s = 0;
    for (int k = 0; k < INT8_CHAINS; k++)
        s += acc[k];
    return s;
}

const peak_kernel peak_fma_c = {"c", "scalar multiply + add", 2.0 * FMA_CHAINS, fma_run};
const peak_kernel peak_int8_c = {"c", "scalar int8 multiply + add", 2.0 * INT8_CHAINS, int8_run};
