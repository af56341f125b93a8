/* peak_avx512vnni.c - AVX512-VNNI int8 peak (built with -mavx512f -mavx512vnni only). */
#include <immintrin.h>
#include "peak.h"

#define CHAINS 16

static double int8_run(uint64_t iters)
{
    __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(2), acc[CHAINS];
    for (int k = 0; k < CHAINS; k++)
        acc[k] = _mm512_setzero_si512();
    for (uint64_t i = 0; i < iters; i++)
        for (int k = 0; k < CHAINS; k++)
            acc[k] = _mm512_dpbusd_epi32(acc[k], a, b);
    __m512i s = acc[0];
    for (int k = 1; k < CHAINS; k++)
        s = _mm512_add_epi32(s, acc[k]);
    return (double)_mm512_reduce_add_epi32(s);
}

/* 64 u8 x s8 products (x 2 ops) per vpdpbusd zmm. */
const peak_kernel peak_int8_avx512vnni = {"avx512-vnni", "vpdpbusd zmm", 128.0 * CHAINS, int8_run};
