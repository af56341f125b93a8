/*
 * vec_avx2.h - the vector layer (kernels/cpu/simd/vec.h) on AVX2 + F16C:
 * 8 lanes of 32 bits, and the loads and stores of narrow codes in
 * intrinsics.  Compiled only into files built with -mavx2 -mfma -mf16c.
 *
 * Loads and stores touch exactly the bytes of their LBV_N elements, never
 * more: kernels rely on that at the ends of buffers.
 */
#ifndef LOWBIT_VEC_AVX2_H
#define LOWBIT_VEC_AVX2_H

#include <immintrin.h>

#define LBV_BYTES 32
#define LBV_ISA_NAME "avx2"
#include "../simd/vec.h"

/* mask ? a : b per lane (mask lanes all-ones or zero). */
LBV_FI lbv_u32 lbv_sel(lbv_i32 mask, lbv_u32 a, lbv_u32 b)
{
    return (lbv_u32)_mm256_blendv_epi8((__m256i)b, (__m256i)a, (__m256i)mask);
}

LBV_FI lbv_u32 lbv_min(lbv_u32 a, lbv_u32 b)
{
    return (lbv_u32)_mm256_min_epu32((__m256i)a, (__m256i)b);
}

/* f16 -> f32 bits.  vcvtph2ps is exact, keeps signs and payloads and sets
 * the quiet bit of a NaN, as lb_f16_decode_fast does. */
LBV_FI lbv_u32 lbv_load_f16(const void *p)
{
    return (lbv_u32)_mm256_castps_si256(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)));
}

LBV_FI lbv_u32 lbv_load_u16(const void *p)
{
    return (lbv_u32)_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
}

LBV_FI lbv_u32 lbv_load_u8(const void *p)
{
    return (lbv_u32)_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
}

/* 4 bytes -> 8 nibbles, element 2i in the low nibble of byte i. */
LBV_FI lbv_u32 lbv_load_u4(const void *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    __m128i b = _mm_shuffle_epi8(_mm_cvtsi32_si128((int)w), _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, -1, -1, -1,
                                                                           -1, -1, -1, -1, -1));
    __m256i v = _mm256_cvtepu8_epi32(b);
    v = _mm256_srlv_epi32(v, _mm256_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4));
    return (lbv_u32)_mm256_and_si256(v, _mm256_set1_epi32(0xF));
}

/* 6 bytes -> 8 six-bit codes (little-endian bit string). */
LBV_FI lbv_u32 lbv_load_u6(const void *p)
{
    uint64_t w = 0;
    memcpy(&w, p, 6);
    __m128i b = _mm_cvtsi64_si128((long long)w);
    __m128i lo = _mm_shuffle_epi8(b, _mm_setr_epi8(0, 1, 2, -1, 0, 1, 2, -1, 0, 1, 2, -1, 0, 1, 2, -1));
    __m128i hi = _mm_shuffle_epi8(b, _mm_setr_epi8(3, 4, 5, -1, 3, 4, 5, -1, 3, 4, 5, -1, 3, 4, 5, -1));
    __m256i v = _mm256_set_m128i(hi, lo);
    v = _mm256_srlv_epi32(v, _mm256_setr_epi32(0, 6, 12, 18, 0, 6, 12, 18));
    return (lbv_u32)_mm256_and_si256(v, _mm256_set1_epi32(0x3F));
}

/* Lanes hold values below 2^16 / 2^8: pack them into 16 / 8 bytes. */
LBV_FI void lbv_store_u16(void *p, lbv_u32 c)
{
    __m256i v = (__m256i)c;
    __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    _mm_storeu_si128((__m128i *)p, w);
}

LBV_FI void lbv_store_u8(void *p, lbv_u32 c)
{
    __m256i v = (__m256i)c;
    __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    _mm_storel_epi64((__m128i *)p, _mm_packus_epi16(w, w));
}

/* 8 nibbles -> 4 bytes. */
LBV_FI void lbv_store_u4(void *p, lbv_u32 c)
{
    __m256i v = (__m256i)c;
    v = _mm256_or_si256(v, _mm256_srli_epi64(v, 28)); /* byte 0 of each 64-bit lane: c0 | c1 << 4 */
    __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    w = _mm_shuffle_epi8(w, _mm_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1));
    uint32_t out = (uint32_t)_mm_cvtsi128_si32(w);
    memcpy(p, &out, 4);
}

/* 8 six-bit codes -> 6 bytes. */
LBV_FI void lbv_store_u6(void *p, lbv_u32 c)
{
    __m256i v = _mm256_sllv_epi32((__m256i)c, _mm256_setr_epi32(0, 6, 12, 18, 0, 6, 12, 18));
    v = _mm256_hadd_epi32(v, v); /* the fields do not overlap: sums are ORs */
    v = _mm256_hadd_epi32(v, v);
    uint64_t lo = (uint32_t)_mm256_extract_epi32(v, 0), hi = (uint32_t)_mm256_extract_epi32(v, 4);
    uint64_t out = lo | hi << 24;
    memcpy(p, &out, 6);
}

/* f32 -> int32, round to nearest even (the MXCSR default; lowbit never
 * changes it). */
LBV_FI lbv_i32 lbv_f32_to_i32_rne(lbv_f32 v)
{
    return (lbv_i32)_mm256_cvtps_epi32((__m256)v);
}

#endif
