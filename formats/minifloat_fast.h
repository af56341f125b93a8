/*
 * minifloat_fast.h - a cheaper formulation of lb_mf_encode (minifloat.h) for
 * the hot conversion paths, plus exact f16/bf16 -> f32 decoders.
 *
 * EQUIVALENCE.  For every minifloat spec of minifloat.h (f16, bf16, E4M3,
 * E5M2, E4M3FNUZ, E5M2FNUZ, E3M2, E2M3, E2M1), every f32 bit pattern x, every
 * mode (LB_ROUND_NE, LB_ROUND_TZ, LB_ROUND_SR), saturate 0 or 1 and every
 * rbits,
 *
 *     lb_mf_encode_fast(s, x, mode, sat, rbits) == lb_mf_encode(s, x, mode, sat, rbits)
 *
 * and lb_f16_decode_fast / lb_bf16_decode_fast return the same f32 bits as
 * lb_mf_decode(lb_spec_f16() / lb_spec_bf16(), c) for all 65536 codes.
 * How this was proven: exhaustively.  tests/exhaustive/encode_fast_equiv.c
 * runs all 2^32 f32 patterns through both encoders for each of the 9 specs x
 * 3 modes x 2 saturate = 54 combinations (suite 'exhaustive'; a sampled run
 * is in the default suite): 231,928,233,984 inputs, 417,616,987,120 encoder
 * pairs compared, 0 mismatches (x86-64 gcc -O2).  For stochastic rounding,
 * both encoders round away from zero iff rbits < F(x), F(x) = floor(frac *
 * 2^32) of the dropped fraction, and nothing else in either result depends
 * on rbits; the test computes F(x) independently (double arithmetic) and
 * checks rbits = F-1 and F (both sides of the step) plus 0 and 2^32-1, which
 * covers every rbits.  The decoders were checked on all 65536 codes.  The
 * compiled CUDA kernels that use this header were checked the same way on
 * an H100 (tests/exhaustive/kernel_equiv_device.cu: every f32 pattern and
 * every f16/bf16 code to every type, all modes, against the generic codec
 * on the device): 0 mismatches.
 *
 * FORMULATION.  M = mantissa bits, emin = 1 - bias, sh = 23 - M, mag = |x|'s
 * bits.  The magnitude code is the same monotone code as in minifloat.h.
 *   Target-normal range (mag >= bits of 2^emin): the code is the f32 bit
 *     pattern shifted right by sh, minus the exponent rebias (127 - bias) << M.
 *     Rounding is done on the f32 bits before the shift; a carry out of the
 *     mantissa moves into the exponent, which is exactly the next code:
 *       NE: (mag - R + (2^(sh-1) - 1) + lsb) >> sh,   lsb = (mag >> sh) & 1
 *       TZ: (mag - R) >> sh
 *       SR: ((mag - R) >> sh) + (rbits < (mag << (32 - sh)))
 *     with R = (127 - bias) << 23 (subtracted before the shift; it is a
 *     multiple of 2^sh, so this is the rebias).
 *   Target-subnormal range (|x| < 2^emin), quantum q = 2^(emin - M):
 *     NE: f = |x| + 2^(emin - M + 23) in f32.  The sum lies in the binade
 *         [2^(emin-M+23), 2^(emin-M+24)), whose ulp is q, so IEEE addition
 *         (round to nearest even) rounds |x| / q to an integer exactly as
 *         lb_mf_encode does; bits(f) - bits(magic) is that integer (it may
 *         be 2^M: the smallest normal code, correct).  The sum is never
 *         subnormal and f32-subnormal inputs round to code 0 for every spec
 *         that takes this path (all but bf16, whose subnormals are f32's and
 *         which uses the normal-range formula everywhere), so flush-to-zero
 *         or denormals-are-zero modes cannot change the result.  It does
 *         need round-to-nearest (the default) and no excess precision
 *         (FLT_EVAL_METHOD 0, checked below; device code uses __fadd_rn).
 *     TZ, SR: integer.  sig = 1.mantissa (24 bits), t = dropped bits =
 *         sh + (127 + emin) - exponent field; n = sig >> t, and for SR the
 *         dropped fraction scaled to 32 bits is sig << (32 - t) (t <= 32) or
 *         sig >> (t - 32).  Shifts are clamped to 31 (sig < 2^24, so a shift
 *         of 24 or more already gives 0).  For f32-subnormal inputs the
 *         implicit bit is wrong, but there t >= 57 for every spec on this
 *         path, so n and the fraction are 0 either way, as in lb_mf_encode.
 *   Then the same fix-ups as lb_mf_encode: code > max_code is an overflow
 *   (an Inf input lands there too: its bits give a code above every
 *   max_code); NaN inputs give lb_mf_nan_code; FNUZ turns a zero code into
 *   0x00.  With s, mode (and saturate) compile-time constants every format
 *   decision folds away; the remaining work is branch-free selects.
 *
 * Mode must be one of LB_ROUND_NE / TZ / SR; saturate is 0 or 1 (any
 * nonzero value acts as 1).  C11 and CUDA/HIP device code alike.
 */
#ifndef LOWBIT_FORMATS_MINIFLOAT_FAST_H
#define LOWBIT_FORMATS_MINIFLOAT_FAST_H

#include <float.h>

#include "minifloat.h"

#if defined(__CUDACC__) || defined(__HIPCC__)
#define LB_HD_FI static __forceinline__ __host__ __device__
#elif defined(__GNUC__)
#define LB_HD_FI static inline __attribute__((always_inline))
#else
#define LB_HD_FI static inline
#endif

#if !defined(__CUDA_ARCH__) && !defined(__HIP_DEVICE_COMPILE__) && defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0
#error "minifloat_fast.h needs f32 additions rounded to f32 (FLT_EVAL_METHOD 0)"
#endif

/* |x| + magic in f32, round to nearest even. */
LB_HD_FI float lb_fast_add_rn(float a, float b)
{
#if defined(__CUDA_ARCH__)
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}

LB_HD_FI uint32_t lb_mf_encode_fast(lb_minifloat s, float x, int mode, int saturate, uint32_t rbits)
{
    const int M = s.mbits;
    const int emin = 1 - s.bias;
    const int sh = 23 - M;
    const uint32_t sign_bit = 1u << (s.ebits + M);
    const uint32_t norm_min = (uint32_t)(127 + emin) << 23;  /* bits of 2^emin */
    const uint32_t rebias = (uint32_t)(126 + emin) << 23;    /* (127 - bias) << 23 */
    const uint32_t u = lb_f32_bits(x);
    const uint32_t mag = u & 0x7FFFFFFFu;
    const uint32_t out_sign = (u >> (31 - s.ebits - M)) & sign_bit;

    /* Target-normal range (and, for bf16, everything finite). */
    uint32_t code;
    if (mode == LB_ROUND_NE)
        code = (mag - rebias + ((1u << (sh - 1)) - 1u) + ((mag >> sh) & 1u)) >> sh;
    else if (mode == LB_ROUND_TZ)
        code = (mag - rebias) >> sh;
    else
        code = ((mag - rebias) >> sh) + (rbits < (mag << (32 - sh)) ? 1u : 0u);

    /* Target-subnormal range.  Not needed when 2^emin is the smallest f32
     * normal (bf16): there the formula above is already exact for f32
     * subnormals (same quantum, 2^-133). */
    if (127 + emin > 1) {
        uint32_t csub;
        if (mode == LB_ROUND_NE) {
            const uint32_t magic = (uint32_t)(150 + emin - M) << 23; /* 2^(emin - M + 23) */
            csub = lb_f32_bits(lb_fast_add_rn(lb_f32_from_bits(mag), lb_f32_from_bits(magic))) - magic;
        } else {
            const uint32_t sig = (mag & 0x007FFFFFu) | 0x00800000u;
            /* the exponent field, clamped to the range's top so that t >= sh + 1
             * (no shift out of range when the value is in the normal range) */
            const int ef = (int)(mag >> 23) < 126 + emin ? (int)(mag >> 23) : 126 + emin;
            const int t = sh + 127 + emin - ef;
            const uint32_t n = sig >> (t < 31 ? t : 31);
            if (mode == LB_ROUND_TZ) {
                csub = n;
            } else {
                const uint32_t frac32 = t <= 32 ? sig << (32 - t) : sig >> (t - 32 < 31 ? t - 32 : 31);
                csub = n + (rbits < frac32 ? 1u : 0u);
            }
        }
        code = mag < norm_min ? csub : code;
    }

    uint32_t res = out_sign | code;
    if (code > s.max_code) { /* overflow, or an Inf input */
        const int is_inf = mag == 0x7F800000u;
        if (saturate || s.specials == LB_SPECIALS_NONE || (mode == LB_ROUND_TZ && !is_inf))
            res = out_sign | s.max_code;
        else if (s.specials == LB_SPECIALS_IEEE)
            res = out_sign | lb_mf_inf_code(s);
        else if (s.specials == LB_SPECIALS_FN)
            res = out_sign | (sign_bit - 1u);
        else
            res = sign_bit; /* FNUZ NaN, unsigned */
    }
    if (s.specials == LB_SPECIALS_FNUZ && code == 0)
        res = 0; /* no negative zero */
    if (mag > 0x7F800000u)
        res = lb_mf_nan_code(s, u);
    return res;
}

/* bf16 -> f32: the code is the top half of the f32 (NaNs unchanged), which is
 * exactly what lb_mf_decode(lb_spec_bf16(), c) returns. */
LB_HD_FI float lb_bf16_decode_fast(uint32_t c)
{
    return lb_f32_from_bits((c & 0xFFFFu) << 16);
}

/* f16 -> f32, exactly lb_mf_decode(lb_spec_f16(), c): normals rebias the
 * exponent, subnormals are (1.m * 2^-14) - 2^-14 = m * 2^-24 (an exact
 * subtraction), Inf keeps its sign, NaNs keep sign and payload with the
 * quiet bit set. */
LB_HD_FI float lb_f16_decode_fast(uint32_t c)
{
    const uint32_t em = c & 0x7FFFu;
    const uint32_t sign = (c & 0x8000u) << 16;
    uint32_t b = (em << 13) + (112u << 23);                   /* normal */
    if (em >= 0x7C00u)                                        /* Inf, NaN */
        b = ((em << 13) + (224u << 23)) | (em > 0x7C00u ? 0x00400000u : 0u);
    if (em < 0x0400u) {                                       /* zero, subnormal */
        const float t = lb_f32_from_bits((em << 13) + (113u << 23));
        b = lb_f32_bits(t - lb_f32_from_bits(113u << 23));
    }
    return lb_f32_from_bits(sign | b);
}

#endif
