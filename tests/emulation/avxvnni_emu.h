/* avxvnni_emu.h - AVX-VNNI's VPDPWSSD (ymm) for the test build
 * -Dsimd_emulation=true, as what it is defined to be: VPMADDWD then
 * VPADDD (both wrap identically; the GEMM's sums never reach 2^31). */
#ifndef LOWBIT_AVXVNNI_EMU_H
#define LOWBIT_AVXVNNI_EMU_H

#include <immintrin.h>

static inline __m256i lbemu_dpwssd_avx_epi32(__m256i acc, __m256i a, __m256i b)
{
    return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
}
#undef _mm256_dpwssd_avx_epi32
#define _mm256_dpwssd_avx_epi32 lbemu_dpwssd_avx_epi32

#endif
