/*
 * avx512_emu.h - the AVX-512 intrinsics that kernels/cpu/avx512/ uses,
 * written out lane by lane from Intel's pseudo-code, for the test build
 * -Dsimd_emulation=true.  It lets a machine without AVX-512 (such as an
 * AVX2-only CI runner) run the AVX-512 kernels' own code under
 * lowbit-check: the lane layout, shuffles and narrowing stores are all
 * exercised; only the instruction encoding is not.  (SIMDe 0.7, Debian's
 * version, lacks several of these, e.g. vpmovdb and vcvtph2ps.)
 *
 * Never part of a shipped library: meson refuses the option unless asked.
 */
#ifndef LOWBIT_AVX512_EMU_H
#define LOWBIT_AVX512_EMU_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

typedef union lbemu_512 {
    __m512i v;
    int32_t i32[16];
    uint32_t u32[16];
    uint64_t u64[8];
    uint16_t u16[32];
    uint8_t u8[64];
    int8_t i8[64];
    float f32[16];
} lbemu_512;

#define LBEMU static __attribute__((noinline, unused)) /* keeps the emulation build quick to compile */

LBEMU lbemu_512 lbemu_in(__m512i v)
{
    lbemu_512 r;
    memcpy(&r, &v, 64);
    return r;
}

LBEMU __m512i lbemu_out(lbemu_512 r)
{
    __m512i v;
    memcpy(&v, &r, 64);
    return v;
}

LBEMU __m512i lbemu_set1_epi32(int a)
{
    lbemu_512 r;
    for (int i = 0; i < 16; i++) r.i32[i] = a;
    return lbemu_out(r);
}

LBEMU __m512i lbemu_set4_epi32(int d, int c, int b, int a)
{
    lbemu_512 r;
    for (int i = 0; i < 16; i += 4) { r.i32[i] = a; r.i32[i + 1] = b; r.i32[i + 2] = c; r.i32[i + 3] = d; }
    return lbemu_out(r);
}

LBEMU __m512i lbemu_set_epi32(int e15, int e14, int e13, int e12, int e11, int e10, int e9, int e8, int e7, int e6,
                              int e5, int e4, int e3, int e2, int e1, int e0)
{
    int e[16] = {e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14, e15};
    lbemu_512 r;
    memcpy(r.i32, e, 64);
    return lbemu_out(r);
}

/* Arguments from byte 63 down to byte 0, as _mm512_set_epi8. */
#define lbemu_set_epi8(...) lbemu_set_epi8_arr((const int8_t[64]){__VA_ARGS__})
LBEMU __m512i lbemu_set_epi8_arr(const int8_t *hi_to_lo)
{
    lbemu_512 r;
    for (int i = 0; i < 64; i++) r.i8[i] = hi_to_lo[63 - i];
    return lbemu_out(r);
}

LBEMU __m512i lbemu_ternarylogic_epi32(__m512i a, __m512i b, __m512i c, int imm)
{
    lbemu_512 A = lbemu_in(a), B = lbemu_in(b), C = lbemu_in(c), r;
    /* result bit = imm bit (a << 2 | b << 1 | c): an OR of the selected minterms */
    for (int i = 0; i < 16; i++) {
        uint32_t o = 0;
        for (int m = 0; m < 8; m++)
            if ((imm >> m) & 1)
                o |= ((m & 4) ? A.u32[i] : ~A.u32[i]) & ((m & 2) ? B.u32[i] : ~B.u32[i]) &
                     ((m & 1) ? C.u32[i] : ~C.u32[i]);
        r.u32[i] = o;
    }
    return lbemu_out(r);
}

LBEMU __m512i lbemu_min_epu32(__m512i a, __m512i b)
{
    lbemu_512 A = lbemu_in(a), B = lbemu_in(b), r;
    for (int i = 0; i < 16; i++) r.u32[i] = A.u32[i] < B.u32[i] ? A.u32[i] : B.u32[i];
    return lbemu_out(r);
}

LBEMU __m512i lbemu_and_si512(__m512i a, __m512i b)
{
    lbemu_512 A = lbemu_in(a), B = lbemu_in(b), r;
    for (int i = 0; i < 16; i++) r.u32[i] = A.u32[i] & B.u32[i];
    return lbemu_out(r);
}

LBEMU __m512i lbemu_or_si512(__m512i a, __m512i b)
{
    lbemu_512 A = lbemu_in(a), B = lbemu_in(b), r;
    for (int i = 0; i < 16; i++) r.u32[i] = A.u32[i] | B.u32[i];
    return lbemu_out(r);
}

LBEMU __m512i lbemu_srlv_epi32(__m512i a, __m512i n)
{
    lbemu_512 A = lbemu_in(a), N = lbemu_in(n), r;
    for (int i = 0; i < 16; i++) r.u32[i] = N.u32[i] > 31 ? 0 : A.u32[i] >> N.u32[i];
    return lbemu_out(r);
}

LBEMU __m512i lbemu_sllv_epi32(__m512i a, __m512i n)
{
    lbemu_512 A = lbemu_in(a), N = lbemu_in(n), r;
    for (int i = 0; i < 16; i++) r.u32[i] = N.u32[i] > 31 ? 0 : A.u32[i] << N.u32[i];
    return lbemu_out(r);
}

LBEMU __m512i lbemu_srli_epi64(__m512i a, unsigned n)
{
    lbemu_512 A = lbemu_in(a), r;
    for (int i = 0; i < 8; i++) r.u64[i] = n > 63 ? 0 : A.u64[i] >> n;
    return lbemu_out(r);
}

/* vpshufb: within each 128-bit lane, byte i = lane[idx & 15], or 0 if idx bit 7. */
LBEMU __m512i lbemu_shuffle_epi8(__m512i a, __m512i idx)
{
    lbemu_512 A = lbemu_in(a), I = lbemu_in(idx), r;
    for (int i = 0; i < 64; i++) {
        int lane = i & ~15;
        r.u8[i] = (I.u8[i] & 0x80) ? 0 : A.u8[lane + (I.u8[i] & 15)];
    }
    return lbemu_out(r);
}

/* vpshufd with an immediate: within each 128-bit lane. */
LBEMU __m512i lbemu_shuffle_epi32(__m512i a, int imm)
{
    lbemu_512 A = lbemu_in(a), r;
    for (int i = 0; i < 16; i++) r.u32[i] = A.u32[(i & ~3) + ((imm >> (2 * (i & 3))) & 3)];
    return lbemu_out(r);
}

LBEMU __m512i lbemu_permutexvar_epi32(__m512i idx, __m512i a)
{
    lbemu_512 A = lbemu_in(a), I = lbemu_in(idx), r;
    for (int i = 0; i < 16; i++) r.u32[i] = A.u32[I.u32[i] & 15];
    return lbemu_out(r);
}

LBEMU __m512i lbemu_broadcast_i32x4(__m128i a)
{
    lbemu_512 r;
    for (int i = 0; i < 4; i++) memcpy(r.u8 + 16 * i, &a, 16);
    return lbemu_out(r);
}

LBEMU __m512i lbemu_cvtepu8_epi32(__m128i a)
{
    uint8_t b[16];
    memcpy(b, &a, 16);
    lbemu_512 r;
    for (int i = 0; i < 16; i++) r.u32[i] = b[i];
    return lbemu_out(r);
}

LBEMU __m512i lbemu_cvtepu16_epi32(__m256i a)
{
    uint16_t h[16];
    memcpy(h, &a, 32);
    lbemu_512 r;
    for (int i = 0; i < 16; i++) r.u32[i] = h[i];
    return lbemu_out(r);
}

/* vpmovdb / vpmovdw / vpmovqb: truncate each lane. */
LBEMU __m128i lbemu_cvtepi32_epi8(__m512i a)
{
    lbemu_512 A = lbemu_in(a);
    uint8_t b[16];
    for (int i = 0; i < 16; i++) b[i] = (uint8_t)A.u32[i];
    __m128i r;
    memcpy(&r, b, 16);
    return r;
}

LBEMU __m256i lbemu_cvtepi32_epi16(__m512i a)
{
    lbemu_512 A = lbemu_in(a);
    uint16_t h[16];
    for (int i = 0; i < 16; i++) h[i] = (uint16_t)A.u32[i];
    __m256i r;
    memcpy(&r, h, 32);
    return r;
}

LBEMU __m128i lbemu_cvtepi64_epi8(__m512i a)
{
    lbemu_512 A = lbemu_in(a);
    uint8_t b[16] = {0};
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)A.u64[i];
    __m128i r;
    memcpy(&r, b, 16);
    return r;
}

/* vcvtph2ps: two 8-lane F16C conversions (the AVX2 instruction, same rules). */
LBEMU __m512 lbemu_cvtph_ps(__m256i a)
{
    __m256 lo = _mm256_cvtph_ps(_mm256_castsi256_si128(a));
    __m256 hi = _mm256_cvtph_ps(_mm256_extracti128_si256(a, 1));
    __m512 r;
    memcpy(&r, &lo, 32);
    memcpy((char *)&r + 32, &hi, 32);
    return r;
}

/* vcvtps2dq under the default rounding (nearest even): 8 lanes at a time. */
LBEMU __m512i lbemu_cvtps_epi32(__m512 a)
{
    __m256 lo, hi;
    memcpy(&lo, &a, 32);
    memcpy(&hi, (char *)&a + 32, 32);
    __m256i l = _mm256_cvtps_epi32(lo), h = _mm256_cvtps_epi32(hi);
    __m512i r;
    memcpy(&r, &l, 32);
    memcpy((char *)&r + 32, &h, 32);
    return r;
}

LBEMU __m512i lbemu_castps_si512(__m512 a)
{
    __m512i r;
    memcpy(&r, &a, 64);
    return r;
}

LBEMU __m128i lbemu_castsi512_si128(__m512i a)
{
    __m128i r;
    memcpy(&r, &a, 16);
    return r;
}

#define _mm512_set1_epi32 lbemu_set1_epi32
#define _mm512_set4_epi32 lbemu_set4_epi32
#define _mm512_set_epi32 lbemu_set_epi32
#define _mm512_set_epi8 lbemu_set_epi8
#define _mm512_ternarylogic_epi32 lbemu_ternarylogic_epi32
#define _mm512_min_epu32 lbemu_min_epu32
#define _mm512_and_si512 lbemu_and_si512
#define _mm512_or_si512 lbemu_or_si512
#define _mm512_srlv_epi32 lbemu_srlv_epi32
#define _mm512_sllv_epi32 lbemu_sllv_epi32
#define _mm512_srli_epi64 lbemu_srli_epi64
#define _mm512_shuffle_epi8 lbemu_shuffle_epi8
#define _mm512_shuffle_epi32 lbemu_shuffle_epi32
#define _mm512_permutexvar_epi32 lbemu_permutexvar_epi32
#define _mm512_broadcast_i32x4 lbemu_broadcast_i32x4
#define _mm512_cvtepu8_epi32 lbemu_cvtepu8_epi32
#define _mm512_cvtepu16_epi32 lbemu_cvtepu16_epi32
#define _mm512_cvtepi32_epi8 lbemu_cvtepi32_epi8
#define _mm512_cvtepi32_epi16 lbemu_cvtepi32_epi16
#define _mm512_cvtepi64_epi8 lbemu_cvtepi64_epi8
#define _mm512_cvtph_ps lbemu_cvtph_ps
#define _mm512_cvtps_epi32 lbemu_cvtps_epi32
#define _mm512_castps_si512 lbemu_castps_si512
#define _mm512_castsi512_si128 lbemu_castsi512_si128

LBEMU __m512i lbemu_slli_epi64(__m512i a, unsigned n)
{
    lbemu_512 A = lbemu_in(a), r;
    for (int i = 0; i < 8; i++) r.u64[i] = n > 63 ? 0 : A.u64[i] << n;
    return lbemu_out(r);
}

/* vpmuludq: the low 32 bits of each 64-bit lane, multiplied to 64 bits. */
LBEMU __m512i lbemu_mul_epu32(__m512i a, __m512i b)
{
    lbemu_512 A = lbemu_in(a), B = lbemu_in(b), r;
    for (int i = 0; i < 8; i++) r.u64[i] = (uint64_t)(uint32_t)A.u64[i] * (uint32_t)B.u64[i];
    return lbemu_out(r);
}

LBEMU __m512i lbemu_mask_blend_epi32(unsigned k, __m512i a, __m512i b)
{
    lbemu_512 A = lbemu_in(a), B = lbemu_in(b), r;
    for (int i = 0; i < 16; i++) r.u32[i] = ((k >> i) & 1) ? B.u32[i] : A.u32[i];
    return lbemu_out(r);
}

/* vpunpck{l,h}{dq,qdq}: within each 128-bit lane. */
LBEMU __m512i lbemu_unpack32(__m512i a, __m512i b, int hi)
{
    lbemu_512 A = lbemu_in(a), B = lbemu_in(b), r;
    for (int l = 0; l < 4; l++)
        for (int i = 0; i < 2; i++) {
            r.u32[4 * l + 2 * i] = A.u32[4 * l + 2 * hi + i];
            r.u32[4 * l + 2 * i + 1] = B.u32[4 * l + 2 * hi + i];
        }
    return lbemu_out(r);
}

LBEMU __m512i lbemu_unpack64(__m512i a, __m512i b, int hi)
{
    lbemu_512 A = lbemu_in(a), B = lbemu_in(b), r;
    for (int l = 0; l < 4; l++) {
        r.u64[2 * l] = A.u64[2 * l + hi];
        r.u64[2 * l + 1] = B.u64[2 * l + hi];
    }
    return lbemu_out(r);
}

LBEMU __m512i lbemu_unpacklo_epi32(__m512i a, __m512i b) { return lbemu_unpack32(a, b, 0); }
LBEMU __m512i lbemu_unpackhi_epi32(__m512i a, __m512i b) { return lbemu_unpack32(a, b, 1); }
LBEMU __m512i lbemu_unpacklo_epi64(__m512i a, __m512i b) { return lbemu_unpack64(a, b, 0); }
LBEMU __m512i lbemu_unpackhi_epi64(__m512i a, __m512i b) { return lbemu_unpack64(a, b, 1); }

/* vshufi32x4: lanes 0-1 from a, 2-3 from b, chosen by 2-bit fields of imm. */
LBEMU __m512i lbemu_shuffle_i32x4(__m512i a, __m512i b, int imm)
{
    lbemu_512 A = lbemu_in(a), B = lbemu_in(b), r;
    for (int l = 0; l < 4; l++) {
        int sel = (imm >> (2 * l)) & 3;
        memcpy(r.u8 + 16 * l, (l < 2 ? A.u8 : B.u8) + 16 * sel, 16);
    }
    return lbemu_out(r);
}

LBEMU void lbemu_storeu_si512(void *p, __m512i a)
{
    memcpy(p, &a, 64);
}

LBEMU __m512i lbemu_loadu_si512(const void *p)
{
    __m512i a;
    memcpy(&a, p, 64);
    return a;
}

#define _mm512_slli_epi64 lbemu_slli_epi64
#define _mm512_mul_epu32 lbemu_mul_epu32
#define _mm512_mask_blend_epi32 lbemu_mask_blend_epi32
#define _mm512_unpacklo_epi32 lbemu_unpacklo_epi32
#define _mm512_unpackhi_epi32 lbemu_unpackhi_epi32
#define _mm512_unpacklo_epi64 lbemu_unpacklo_epi64
#define _mm512_unpackhi_epi64 lbemu_unpackhi_epi64
#define _mm512_shuffle_i32x4 lbemu_shuffle_i32x4
#define _mm512_storeu_si512 lbemu_storeu_si512
#define _mm512_loadu_si512 lbemu_loadu_si512

LBEMU __m512i lbemu_max_epu32(__m512i a, __m512i b)
{
    lbemu_512 A = lbemu_in(a), B = lbemu_in(b), r;
    for (int i = 0; i < 16; i++) r.u32[i] = A.u32[i] > B.u32[i] ? A.u32[i] : B.u32[i];
    return lbemu_out(r);
}

#define _mm512_max_epu32 lbemu_max_epu32

/* GEMM: fused multiply-add and VPMADDWD, lane by lane. */
LBEMU __m512 lbemu_fmadd_ps(__m512 a, __m512 b, __m512 c)
{
    lbemu_512 x = lbemu_in(_mm512_castps_si512(a)), y = lbemu_in(_mm512_castps_si512(b)),
              z = lbemu_in(_mm512_castps_si512(c)), r;
    for (int i = 0; i < 16; i++)
        r.f32[i] = __builtin_fmaf(x.f32[i], y.f32[i], z.f32[i]);
    __m512 o;
    memcpy(&o, &r, 64);
    return o;
}

LBEMU __m512i lbemu_madd_epi16(__m512i a, __m512i b)
{
    lbemu_512 x = lbemu_in(a), y = lbemu_in(b), r;
    for (int i = 0; i < 16; i++)
        r.i32[i] = (int32_t)(int16_t)x.u16[2 * i] * (int16_t)y.u16[2 * i] +
                   (int32_t)(int16_t)x.u16[2 * i + 1] * (int16_t)y.u16[2 * i + 1];
    return lbemu_out(r);
}
#define _mm512_fmadd_ps lbemu_fmadd_ps
#define _mm512_madd_epi16 lbemu_madd_epi16

LBEMU __m512i lbemu_dpwssd_epi32(__m512i acc, __m512i a, __m512i b)
{
    lbemu_512 c = lbemu_in(acc), x = lbemu_in(a), y = lbemu_in(b);
    for (int i = 0; i < 16; i++)
        c.u32[i] += (uint32_t)((int32_t)(int16_t)x.u16[2 * i] * (int16_t)y.u16[2 * i] +
                               (int32_t)(int16_t)x.u16[2 * i + 1] * (int16_t)y.u16[2 * i + 1]);
    return lbemu_out(c);
}
#define _mm512_dpwssd_epi32 lbemu_dpwssd_epi32

#endif
