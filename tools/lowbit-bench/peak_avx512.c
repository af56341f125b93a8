/* peak_avx512.c - AVX-512 peak kernels (built with -mavx512f -mavx512bw only;
 * BW for vpmaddubsw on zmm; lowbit's AVX512 feature bit implies both). */
#include <immintrin.h>
#include "peak.h"

#define FMA_CHAINS 16
#define INT8_CHAINS 8

static double fma_run(uint64_t iters)
{
    __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-3f), acc[FMA_CHAINS];
    for (int k = 0; k < FMA_CHAINS; k++)
        acc[k] = _mm512_set1_ps((float)k);
    for (uint64_t i = 0; i < iters; i++)
        for (int k = 0; k < FMA_CHAINS; k++)
            acc[k] = _mm512_fmadd_ps(acc[k], a, b);
    __m512 s = acc[0];
    for (int k = 1; k < FMA_CHAINS; k++)
        s = _mm512_add_ps(s, acc[k]);
    return _mm512_reduce_add_ps(s);
}

static double int8_run(uint64_t iters)
{
    __m512i a = _mm512_set1_epi8(1), ones = _mm512_set1_epi16(1), b[INT8_CHAINS], acc[INT8_CHAINS];
    for (int k = 0; k < INT8_CHAINS; k++) {
        b[k] = _mm512_set1_epi8((char)(k + 1));
        acc[k] = _mm512_setzero_si512();
    }
    for (uint64_t i = 0; i < iters; i++) {
        PEAK_OPAQUE("v", a);
        for (int k = 0; k < INT8_CHAINS; k++)
            acc[k] = _mm512_add_epi32(acc[k], _mm512_madd_epi16(_mm512_maddubs_epi16(a, b[k]), ones));
    }
    __m512i s = acc[0];
    for (int k = 1; k < INT8_CHAINS; k++)
        s = _mm512_add_epi32(s, acc[k]);
    return (double)_mm512_reduce_add_epi32(s);
}

const peak_kernel peak_fma_avx512 = {"avx512", "vfmadd zmm", 32.0 * FMA_CHAINS, fma_run};
const peak_kernel peak_int8_avx512 = {"avx512", "vpmaddubsw+vpmaddwd+vpaddd zmm", 128.0 * INT8_CHAINS, int8_run};
