/* peak_avxvnni.c - AVX-VNNI int8 peak (built with -mavx2 -mavxvnni only). */
#include <immintrin.h>
#include "peak.h"

#define CHAINS 12

static double int8_run(uint64_t iters)
{
    __m256i a = _mm256_set1_epi8(1), b = _mm256_set1_epi8(2), acc[CHAINS];
    for (int k = 0; k < CHAINS; k++)
        acc[k] = _mm256_setzero_si256();
    for (uint64_t i = 0; i < iters; i++)
        for (int k = 0; k < CHAINS; k++)
            acc[k] = _mm256_dpbusd_avx_epi32(acc[k], a, b);
    __m256i s = acc[0];
    for (int k = 1; k < CHAINS; k++)
        s = _mm256_add_epi32(s, acc[k]);
    int32_t out[8];
    _mm256_storeu_si256((__m256i *)out, s);
    double r = 0;
    for (int i = 0; i < 8; i++)
        r += out[i];
    return r;
}

/* 32 u8 x s8 products (x 2 ops) per vpdpbusd ymm. */
const peak_kernel peak_int8_avxvnni = {"avx-vnni", "vpdpbusd ymm", 64.0 * CHAINS, int8_run};
