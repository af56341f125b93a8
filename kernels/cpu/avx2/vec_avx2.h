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
#define LBV_HAVE_MUL_WIDE
#define LBV_HAVE_INTERLEAVE4
#include "../simd/vec.h"

/* High and low halves of a * k: vpmuludq on the even lanes and on the odd
 * lanes shifted down, recombined. */
LBV_FI void lbv_mul_wide(lbv_u32 a, uint32_t k, lbv_u32 *hi, lbv_u32 *lo)
{
    const __m256i kv = _mm256_set1_epi32((int)k);
    __m256i even = _mm256_mul_epu32((__m256i)a, kv);
    __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64((__m256i)a, 32), kv);
    *lo = (lbv_u32)_mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    *hi = (lbv_u32)_mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

/* out[4 * i + w] = c[w][i]: a 4 x 4 transpose in each 128-bit half. */
LBV_FI void lbv_store_interleave4(uint32_t *out, const lbv_u32 c[4])
{
    __m256i t0 = _mm256_unpacklo_epi32((__m256i)c[0], (__m256i)c[1]);
    __m256i t1 = _mm256_unpackhi_epi32((__m256i)c[0], (__m256i)c[1]);
    __m256i t2 = _mm256_unpacklo_epi32((__m256i)c[2], (__m256i)c[3]);
    __m256i t3 = _mm256_unpackhi_epi32((__m256i)c[2], (__m256i)c[3]);
    __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    /* half h of u_j holds the four words of lane 4h + j */
    _mm256_storeu_si256((__m256i *)out, _mm256_permute2x128_si256(u0, u1, 0x20));
    _mm256_storeu_si256((__m256i *)(out + 8), _mm256_permute2x128_si256(u2, u3, 0x20));
    _mm256_storeu_si256((__m256i *)(out + 16), _mm256_permute2x128_si256(u0, u1, 0x31));
    _mm256_storeu_si256((__m256i *)(out + 24), _mm256_permute2x128_si256(u2, u3, 0x31));
}

/* mask ? a : b per lane (mask lanes all-ones or zero). */
LBV_FI lbv_u32 lbv_sel(lbv_i32 mask, lbv_u32 a, lbv_u32 b)
{
    return (lbv_u32)_mm256_blendv_epi8((__m256i)b, (__m256i)a, (__m256i)mask);
}

LBV_FI lbv_u32 lbv_min(lbv_u32 a, lbv_u32 b)
{
    return (lbv_u32)_mm256_min_epu32((__m256i)a, (__m256i)b);
}

LBV_FI lbv_u32 lbv_max(lbv_u32 a, lbv_u32 b)
{
    return (lbv_u32)_mm256_max_epu32((__m256i)a, (__m256i)b);
}

/* The largest lane (unsigned). */
LBV_FI uint32_t lbv_hmax(lbv_u32 a)
{
    __m128i m = _mm_max_epu32(_mm256_castsi256_si128((__m256i)a), _mm256_extracti128_si256((__m256i)a, 1));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, 0x4E));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, 0xB1));
    return (uint32_t)_mm_cvtsi128_si32(m);
}

/* f16 -> f32 bits.  vcvtph2ps is exact, keeps signs and payloads and sets
 * the quiet bit of a NaN, as lb_f16_decode_fast does. */
LBV_FI lbv_u32 lbv_load_f16(const void *p)
{
    return (lbv_u32)_mm256_castps_si256(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)));
}

/* table[idx] per lane, idx < 16: two vpermd over the halves, picked by
 * bit 3 (moved to the sign bit for vblendvps). */
#define LBV_HAVE_LUT16 1
LBV_FI lbv_u32 lbv_lut16(const uint32_t table[16], lbv_u32 idx)
{
    __m256i i = (__m256i)idx;
    __m256 lo = _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)table), i));
    __m256 hi = _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)(table + 8)), i));
    return (lbv_u32)_mm256_castps_si256(_mm256_blendv_ps(lo, hi, _mm256_castsi256_ps(_mm256_slli_epi32(i, 28))));
}

/* LBV_N FP8 codes as the f16 with the same sign, exponent field and
 * mantissa (E5M2: the code is f16's top byte; E4M3: the 7 magnitude bits
 * one place lower, the sign moved up by adding it to itself), converted
 * to f32 bits: E5M2's value exactly, E4M3's times 2^-8.  The caller fixes
 * NaNs.  vcvtph2ps handles the subnormals, whatever MXCSR says. */
#define LBV_HAVE_FP8_VIA_F16 1
LBV_FI lbv_u32 lbv_load_fp8_via_f16(const void *p, int e5m2)
{
    __m128i w = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)p));
    if (e5m2)
        w = _mm_slli_epi16(w, 8);
    else
        w = _mm_slli_epi16(_mm_add_epi16(w, _mm_and_si128(w, _mm_set1_epi16(0x80))), 7);
    return (lbv_u32)_mm256_castps_si256(_mm256_cvtph_ps(w));
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

/* GEMM: a * b + c rounded once (VFMADD231PS), and the int32 sums of
 * pairs of int16 products (VPMADDWD: lo*lo + hi*hi per 32-bit lane). */
LBV_FI lbv_f32 lbv_fma(lbv_f32 a, lbv_f32 b, lbv_f32 c)
{
    return (lbv_f32)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
}

LBV_FI lbv_i32 lbv_madd16(lbv_u32 a, lbv_u32 b)
{
    return (lbv_i32)_mm256_madd_epi16((__m256i)a, (__m256i)b);
}

#if defined(LBV_AVX_VNNI)
/* AVX-VNNI: VPDPWSSD on ymm, acc + lo*lo + hi*hi in one instruction
 * (emulated by tests/emulation/avxvnni_emu.h in the test build). */
#if defined(LOWBIT_SIMD_EMULATION)
#include "avxvnni_emu.h"
#endif
#define LBV_HAVE_DOT16_ACC
LBV_FI lbv_i32 lbv_dot16_acc(lbv_i32 acc, lbv_u32 a, lbv_u32 b)
{
    return (lbv_i32)_mm256_dpwssd_avx_epi32((__m256i)acc, (__m256i)a, (__m256i)b);
}
#endif

#endif
