/*
 * vec.h - the portable vector layer under the SIMD kernels.
 *
 * Like SLEEF's helper headers, one ISA-neutral kernel source is compiled
 * once per ISA: the ISA's header (kernels/cpu/<isa>/vec_<isa>.h) sets
 * LBV_BYTES, includes this file, and then supplies the few operations the
 * compiler cannot express well on its own (loads of f16, packing codes into
 * 8/6/4-bit storage, round-to-nearest conversion).  Everything else is
 * written with GCC/Clang vector extensions, which map lane-wise arithmetic,
 * shifts, compares and selects onto the ISA the file is compiled for.
 *
 * Vectors hold LBV_N 32-bit lanes.  A comparison yields all-ones (-1) or 0
 * per lane; the ISA header's lbv_sel picks by such a mask (and its lbv_min
 * is the unsigned minimum), so that both become one instruction.  Casting between the vector types
 * reinterprets bits, as a C union would.
 */
#ifndef LOWBIT_SIMD_VEC_H
#define LOWBIT_SIMD_VEC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef LBV_BYTES
#error "include the ISA's vec_<isa>.h, not simd/vec.h"
#endif

#define LBV_N (LBV_BYTES / 4)

typedef uint32_t lbv_u32 __attribute__((vector_size(LBV_BYTES)));
typedef int32_t lbv_i32 __attribute__((vector_size(LBV_BYTES)));
typedef float lbv_f32 __attribute__((vector_size(LBV_BYTES)));
typedef uint64_t lbv_u64 __attribute__((vector_size(2 * LBV_BYTES)));

#define LBV_FI static inline __attribute__((always_inline))

LBV_FI lbv_u32 lbv_splat(uint32_t x)
{
    return (lbv_u32){0} + x;
}

LBV_FI lbv_f32 lbv_splat_f32(float x)
{
    return (lbv_f32){0} + x;
}

/* 1 where the mask is set, 0 elsewhere. */
LBV_FI lbv_u32 lbv_bit(lbv_i32 mask)
{
    return (lbv_u32)mask & 1u;
}

/* Compares of lanes known to be below 2^31 (magnitudes, small codes):
 * signed compares, which every ISA has natively. */
LBV_FI lbv_i32 lbv_lt31(lbv_u32 a, lbv_u32 b)
{
    return (lbv_i32)a < (lbv_i32)b;
}

LBV_FI lbv_i32 lbv_gt31(lbv_u32 a, uint32_t b)
{
    return (lbv_i32)a > (int32_t)b;
}

LBV_FI lbv_u32 lbv_load(const void *p)
{
    lbv_u32 v;
    memcpy(&v, p, sizeof v);
    return v;
}

LBV_FI void lbv_store(void *p, lbv_u32 v)
{
    memcpy(p, &v, sizeof v);
}

LBV_FI lbv_f32 lbv_as_f32(lbv_u32 v)
{
    return (lbv_f32)v;
}

LBV_FI lbv_u32 lbv_as_u32(lbv_f32 v)
{
    return (lbv_u32)v;
}

/* Lane index vector 0, 1, ..., LBV_N - 1. */
LBV_FI lbv_u32 lbv_iota(void)
{
    lbv_u32 v;
    for (int i = 0; i < LBV_N; i++)
        v[i] = (uint32_t)i;
    return v;
}

/* Portable forms of two operations the ISA headers may do better; an ISA
 * header that has its own defines LBV_HAVE_MUL_WIDE / LBV_HAVE_INTERLEAVE4
 * and supplies lbv_mul_wide / lbv_store_interleave4 after including this. */
#ifndef LBV_HAVE_MUL_WIDE
/* High and low 32 bits of the 64-bit products a * k. */
LBV_FI void lbv_mul_wide(lbv_u32 a, uint32_t k, lbv_u32 *hi, lbv_u32 *lo)
{
    lbv_u64 p = __builtin_convertvector(a, lbv_u64) * (uint64_t)k;
    *hi = __builtin_convertvector(p >> 32, lbv_u32);
    *lo = __builtin_convertvector(p, lbv_u32);
}
#endif

#ifndef LBV_HAVE_INTERLEAVE4
/* out[4 * i + w] = c[w][i]: four vectors stored interleaved. */
LBV_FI void lbv_store_interleave4(uint32_t *out, const lbv_u32 c[4])
{
    for (int i = 0; i < LBV_N; i++)
        for (int w = 0; w < 4; w++)
            out[4 * i + w] = c[w][i];
}
#endif

/* Signed lanes to f32 (exact below 2^24) and f32 to signed, truncating. */
LBV_FI lbv_f32 lbv_i32_to_f32(lbv_i32 v)
{
    return __builtin_convertvector(v, lbv_f32);
}

LBV_FI lbv_i32 lbv_f32_to_i32_trunc(lbv_f32 v)
{
    return __builtin_convertvector(v, lbv_i32);
}

#endif
