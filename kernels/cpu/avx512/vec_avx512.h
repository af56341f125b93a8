/*
 * vec_avx512.h - the vector layer (kernels/cpu/simd/vec.h) on AVX-512
 * F/BW/VL/DQ: 16 lanes of 32 bits, narrow stores through the down-converting
 * moves (vpmovdb, vpmovdw, vpmovqb).  Compiled only into files built with
 * the AVX-512 flags.
 *
 * With -Dsimd_emulation=true (tests only) the same file is compiled for a
 * machine without AVX-512: tests/emulation/avx512_emu.h then supplies every
 * _mm512_* intrinsic used here, lane by lane, so lowbit-check can hold the
 * AVX-512 kernels to the reference on any x86-64 machine with AVX2.
 *
 * Loads and stores touch exactly the bytes of their LBV_N elements.
 */
#ifndef LOWBIT_VEC_AVX512_H
#define LOWBIT_VEC_AVX512_H

#if defined(LOWBIT_SIMD_EMULATION)
#include "avx512_emu.h"
#else
#include <immintrin.h>
#endif

#define LBV_BYTES 64
#define LBV_ISA_NAME "avx512"
#define LBV_HAVE_MUL_WIDE
#define LBV_HAVE_INTERLEAVE4
#include "../simd/vec.h"

LBV_FI __m512i lbv_m(lbv_u32 v)
{
    __m512i r;
    memcpy(&r, &v, sizeof r);
    return r;
}

LBV_FI lbv_u32 lbv_v(__m512i m)
{
    lbv_u32 r;
    memcpy(&r, &m, sizeof r);
    return r;
}

/* mask ? a : b per lane (mask lanes all-ones or zero). */
LBV_FI lbv_u32 lbv_sel(lbv_i32 mask, lbv_u32 a, lbv_u32 b)
{
    /* vpternlogd 0xCA: bitwise mask ? a : b */
    return lbv_v(_mm512_ternarylogic_epi32(lbv_m((lbv_u32)mask), lbv_m(a), lbv_m(b), 0xCA));
}

LBV_FI lbv_u32 lbv_min(lbv_u32 a, lbv_u32 b)
{
    return lbv_v(_mm512_min_epu32(lbv_m(a), lbv_m(b)));
}

LBV_FI lbv_u32 lbv_max(lbv_u32 a, lbv_u32 b)
{
    return lbv_v(_mm512_max_epu32(lbv_m(a), lbv_m(b)));
}

/* The largest lane (unsigned): fold 512 -> 256 -> 128 bits, then within. */
LBV_FI uint32_t lbv_hmax(lbv_u32 a)
{
    __m512i v = lbv_m(a);
    __m512i m = _mm512_max_epu32(v, _mm512_shuffle_i32x4(v, v, 0x4E));
    m = _mm512_max_epu32(m, _mm512_shuffle_i32x4(m, m, 0xB1));
    __m128i x = _mm512_castsi512_si128(m);
    x = _mm_max_epu32(x, _mm_shuffle_epi32(x, 0x4E));
    x = _mm_max_epu32(x, _mm_shuffle_epi32(x, 0xB1));
    return (uint32_t)_mm_cvtsi128_si32(x);
}

/* High and low halves of a * k: vpmuludq on even and odd lanes. */
LBV_FI void lbv_mul_wide(lbv_u32 a, uint32_t k, lbv_u32 *hi, lbv_u32 *lo)
{
    const __m512i kv = _mm512_set1_epi32((int)k);
    __m512i even = _mm512_mul_epu32(lbv_m(a), kv);
    __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(lbv_m(a), 32), kv);
    *lo = lbv_v(_mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32)));
    *hi = lbv_v(_mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd));
}

/* out[4 * i + w] = c[w][i]: 4 x 4 transposes in each 128-bit lane, then of
 * the 128-bit lanes themselves. */
LBV_FI void lbv_store_interleave4(uint32_t *out, const lbv_u32 c[4])
{
    __m512i t0 = _mm512_unpacklo_epi32(lbv_m(c[0]), lbv_m(c[1]));
    __m512i t1 = _mm512_unpackhi_epi32(lbv_m(c[0]), lbv_m(c[1]));
    __m512i t2 = _mm512_unpacklo_epi32(lbv_m(c[2]), lbv_m(c[3]));
    __m512i t3 = _mm512_unpackhi_epi32(lbv_m(c[2]), lbv_m(c[3]));
    /* lane L of u_j: the four words of element 4L + j */
    __m512i u0 = _mm512_unpacklo_epi64(t0, t2), u1 = _mm512_unpackhi_epi64(t0, t2);
    __m512i u2 = _mm512_unpacklo_epi64(t1, t3), u3 = _mm512_unpackhi_epi64(t1, t3);
    /* output vector L = lanes L of u0, u1, u2, u3 */
    __m512i a01 = _mm512_shuffle_i32x4(u0, u1, 0x44), a23 = _mm512_shuffle_i32x4(u2, u3, 0x44); /* lanes 0,1 */
    __m512i b01 = _mm512_shuffle_i32x4(u0, u1, 0xEE), b23 = _mm512_shuffle_i32x4(u2, u3, 0xEE); /* lanes 2,3 */
    _mm512_storeu_si512(out, _mm512_shuffle_i32x4(a01, a23, 0x88));
    _mm512_storeu_si512(out + 16, _mm512_shuffle_i32x4(a01, a23, 0xDD));
    _mm512_storeu_si512(out + 32, _mm512_shuffle_i32x4(b01, b23, 0x88));
    _mm512_storeu_si512(out + 48, _mm512_shuffle_i32x4(b01, b23, 0xDD));
}

/* f16 -> f32 bits: vcvtph2ps is exact and quiets NaNs, keeping payloads. */
LBV_FI lbv_u32 lbv_load_f16(const void *p)
{
    return lbv_v(_mm512_castps_si512(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p))));
}

/* table[idx] per lane, idx < 16 (vpermd). */
#define LBV_HAVE_LUT16 1
LBV_FI lbv_u32 lbv_lut16(const uint32_t table[16], lbv_u32 idx)
{
    return lbv_v(_mm512_permutexvar_epi32(lbv_m(idx), _mm512_loadu_si512(table)));
}

/* LBV_N FP8 codes as the f16 with the same sign, exponent field and
 * mantissa (E5M2: the code is f16's top byte; E4M3: the 7 magnitude bits
 * one place lower, the sign moved up by adding it to itself), converted
 * to f32 bits: E5M2's value exactly, E4M3's times 2^-8.  The caller fixes
 * NaNs.  vcvtph2ps handles the subnormals, whatever MXCSR says. */
#define LBV_HAVE_FP8_VIA_F16 1
LBV_FI lbv_u32 lbv_load_fp8_via_f16(const void *p, int e5m2)
{
    __m256i w = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)p));
    if (e5m2)
        w = _mm256_slli_epi16(w, 8);
    else
        w = _mm256_slli_epi16(_mm256_add_epi16(w, _mm256_and_si256(w, _mm256_set1_epi16(0x80))), 7);
    return lbv_v(_mm512_castps_si512(_mm512_cvtph_ps(w)));
}

LBV_FI lbv_u32 lbv_load_u16(const void *p)
{
    return lbv_v(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)));
}

LBV_FI lbv_u32 lbv_load_u8(const void *p)
{
    return lbv_v(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p)));
}

/* 8 bytes -> 16 nibbles, element 2i in the low nibble of byte i. */
LBV_FI lbv_u32 lbv_load_u4(const void *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    __m128i b = _mm_shuffle_epi8(_mm_cvtsi64_si128((long long)w),
                                 _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7));
    __m512i v = _mm512_cvtepu8_epi32(b);
    v = _mm512_srlv_epi32(v, _mm512_set4_epi32(4, 0, 4, 0));
    return lbv_v(_mm512_and_si512(v, _mm512_set1_epi32(0xF)));
}

/* 12 bytes -> 16 six-bit codes: 128-bit lane L holds group L (bytes 3L..3L+2). */
LBV_FI lbv_u32 lbv_load_u6(const void *p)
{
    uint8_t buf[16] = {0};
    memcpy(buf, p, 12);
    __m512i b = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)buf));
    const __m512i idx = _mm512_set_epi8(-1, 11, 10, 9, -1, 11, 10, 9, -1, 11, 10, 9, -1, 11, 10, 9,
                                        -1, 8, 7, 6, -1, 8, 7, 6, -1, 8, 7, 6, -1, 8, 7, 6,
                                        -1, 5, 4, 3, -1, 5, 4, 3, -1, 5, 4, 3, -1, 5, 4, 3,
                                        -1, 2, 1, 0, -1, 2, 1, 0, -1, 2, 1, 0, -1, 2, 1, 0);
    __m512i v = _mm512_shuffle_epi8(b, idx);
    v = _mm512_srlv_epi32(v, _mm512_set4_epi32(18, 12, 6, 0));
    return lbv_v(_mm512_and_si512(v, _mm512_set1_epi32(0x3F)));
}

LBV_FI void lbv_store_u16(void *p, lbv_u32 c)
{
    _mm256_storeu_si256((__m256i *)p, _mm512_cvtepi32_epi16(lbv_m(c)));
}

LBV_FI void lbv_store_u8(void *p, lbv_u32 c)
{
    _mm_storeu_si128((__m128i *)p, _mm512_cvtepi32_epi8(lbv_m(c)));
}

/* 16 nibbles -> 8 bytes. */
LBV_FI void lbv_store_u4(void *p, lbv_u32 c)
{
    __m512i v = lbv_m(c);
    v = _mm512_or_si512(v, _mm512_srli_epi64(v, 28)); /* byte 0 of each 64-bit lane: c0 | c1 << 4 */
    uint64_t out = (uint64_t)_mm_cvtsi128_si64(_mm512_cvtepi64_epi8(v));
    memcpy(p, &out, 8);
}

/* 16 six-bit codes -> 12 bytes. */
LBV_FI void lbv_store_u6(void *p, lbv_u32 c)
{
    __m512i v = _mm512_sllv_epi32(lbv_m(c), _mm512_set4_epi32(18, 12, 6, 0));
    /* OR the four fields of each 128-bit lane (they do not overlap) */
    v = _mm512_or_si512(v, _mm512_shuffle_epi32(v, _MM_PERM_CDAB));
    v = _mm512_or_si512(v, _mm512_shuffle_epi32(v, _MM_PERM_BADC));
    __m128i w = _mm512_castsi512_si128(_mm512_permutexvar_epi32(_mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                                                 0, 12, 8, 4, 0), v));
    w = _mm_shuffle_epi8(w, _mm_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1));
    uint8_t buf[16];
    _mm_storeu_si128((__m128i *)buf, w);
    memcpy(p, buf, 12);
}

/* f32 -> int32, round to nearest even (MXCSR default, never changed). */
LBV_FI lbv_i32 lbv_f32_to_i32_rne(lbv_f32 v)
{
    __m512 f;
    memcpy(&f, &v, sizeof f);
    return (lbv_i32)lbv_v(_mm512_cvtps_epi32(f));
}

/* GEMM: a * b + c rounded once (VFMADD231PS), and the int32 sums of
 * pairs of int16 products (VPMADDWD: lo*lo + hi*hi per 32-bit lane). */
LBV_FI lbv_f32 lbv_fma(lbv_f32 a, lbv_f32 b, lbv_f32 c)
{
    __m512 x, y, z;
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    memcpy(&z, &c, sizeof z);
    return lbv_as_f32(lbv_v(_mm512_castps_si512(_mm512_fmadd_ps(x, y, z))));
}

LBV_FI lbv_i32 lbv_madd16(lbv_u32 a, lbv_u32 b)
{
    return (lbv_i32)lbv_v(_mm512_madd_epi16(lbv_m(a), lbv_m(b)));
}

#if defined(LBV_AVX512_VNNI)
/* AVX512-VNNI: VPDPWSSD, acc + lo*lo + hi*hi in one instruction. */
#define LBV_HAVE_DOT16_ACC
LBV_FI lbv_i32 lbv_dot16_acc(lbv_i32 acc, lbv_u32 a, lbv_u32 b)
{
    return (lbv_i32)lbv_v(_mm512_dpwssd_epi32(lbv_m((lbv_u32)acc), lbv_m(a), lbv_m(b)));
}
#endif

#endif
