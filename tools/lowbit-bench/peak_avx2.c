/* peak_avx2.c - AVX2 + FMA peak kernels (built with -mavx2 -mfma only). */
#include <immintrin.h>
#include "peak.h"

/* Two FMA pipes x 4-5 cycles latency: 12 chains keep both busy and leave
 * registers for the operands (16 ymm). */
#define FMA_CHAINS 12
#define INT8_CHAINS 6

static double fma_run(uint64_t iters)
{
    __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-3f), acc[FMA_CHAINS];
    for (int k = 0; k < FMA_CHAINS; k++)
        acc[k] = _mm256_set1_ps((float)k);
    for (uint64_t i = 0; i < iters; i++)
        for (int k = 0; k < FMA_CHAINS; k++)
            acc[k] = _mm256_fmadd_ps(acc[k], a, b);
    __m256 s = acc[0];
    for (int k = 1; k < FMA_CHAINS; k++)
        s = _mm256_add_ps(s, acc[k]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return (double)out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

static double sum_epi32(__m256i v)
{
    int32_t out[8];
    _mm256_storeu_si256((__m256i *)out, v);
    double s = 0;
    for (int i = 0; i < 8; i++)
        s += out[i];
    return s;
}

/* The classic AVX2 int8 dot product: vpmaddubsw (u8 x s8, pairs summed to
 * s16), vpmaddwd with ones (pairs to s32), vpaddd into the accumulator. */
static double int8_run(uint64_t iters)
{
    __m256i a = _mm256_set1_epi8(1), ones = _mm256_set1_epi16(1), b[INT8_CHAINS], acc[INT8_CHAINS];
    for (int k = 0; k < INT8_CHAINS; k++) {
        b[k] = _mm256_set1_epi8((char)(k + 1));
        acc[k] = _mm256_setzero_si256();
    }
    for (uint64_t i = 0; i < iters; i++) {
        PEAK_OPAQUE("x", a);
        for (int k = 0; k < INT8_CHAINS; k++)
            acc[k] = _mm256_add_epi32(acc[k], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b[k]), ones));
    }
    __m256i s = acc[0];
    for (int k = 1; k < INT8_CHAINS; k++)
        s = _mm256_add_epi32(s, acc[k]);
    return sum_epi32(s);
}

/* 8 lanes x (multiply + add) per FMA; 32 byte products (x 2 ops) per vpmaddubsw. */
const peak_kernel peak_fma_avx2 = {"avx2", "vfmadd ymm", 16.0 * FMA_CHAINS, fma_run};
const peak_kernel peak_int8_avx2 = {"avx2", "vpmaddubsw+vpmaddwd+vpaddd ymm", 64.0 * INT8_CHAINS, int8_run};
