/*
 * model.h - the harness's own model of every element type.
 *
 * Nothing here comes from formats/: each type is described by its
 * definition (exponent and mantissa widths, bias, which codes are special),
 * every finite value is computed with ldexp in double and kept in a sorted
 * table, and rounding is done by searching that table: the two neighbours
 * lo <= |x| < hi "as if the exponent range were unbounded above" (the value
 * after the largest finite one is max + ulp(max)), then
 *   nearest-even  the nearer; a tie goes to the even code (e8m0: up)
 *   toward zero   lo
 *   stochastic    hi iff r < floor((|x| - lo) / (hi - lo) * 2^32)
 * and a result past the largest finite value is an overflow, handled by the
 * saturation rules of docs/semantics.md.  Philox4x32-10 is written out again
 * here from the paper and checked against Random123's known answers.
 */
#ifndef LOWBIT_CHECK_MODEL_H
#define LOWBIT_CHECK_MODEL_H

#include <stdint.h>
#include "lowbit.h"

enum { MDL_NE = 0, MDL_TZ = 1, MDL_SR = 2 };

void model_init(void);

/* Exact value of a code: +-Inf, NaN, or a finite double. */
double mdl_value(lowbit_dtype t, uint32_t code);
int mdl_is_nan_code(lowbit_dtype t, uint32_t code);
/* f32 bits that decoding the code must give (NaNs included). */
uint32_t mdl_decode_f32(lowbit_dtype t, uint32_t code);
/* Encode an f32 (given as bits) into t.  t == F32 gives the bits back. */
uint32_t mdl_encode(lowbit_dtype t, uint32_t xbits, int mode, int saturate, uint32_t rbits);
/* The whole conversion of one element: decode from src exactly, encode once. */
uint32_t mdl_convert(lowbit_dtype dst, lowbit_dtype src, uint32_t code, int mode, int saturate,
                     uint32_t rbits);
/* The code a NaN input becomes. */
uint32_t mdl_nan_code(lowbit_dtype t, uint32_t xbits);

/* Number of codes of a type with at most 16 bits (2^bits); 0 for f32. */
uint32_t mdl_ncodes(lowbit_dtype t);
/* Sorted table of the finite non-negative magnitudes (floats, e8m0) or of
 * every value (integers). */
int mdl_nvals(lowbit_dtype t);
const double *mdl_vals(lowbit_dtype t);
/* Largest finite value, the "next value" after it, smallest positive value. */
double mdl_max(lowbit_dtype t);
double mdl_next_after_max(lowbit_dtype t);
double mdl_min_pos(lowbit_dtype t);
/* Spacing of the type's values around magnitude a (hi - lo of the interval
 * holding a; for a at or above max, ulp(max)). */
double mdl_quantum(lowbit_dtype t, double a);
int mdl_is_int(lowbit_dtype t);
int mdl_has_sign(lowbit_dtype t);

/* Round a double to an integer of [lo, hi] by mode (NaN -> 0). */
int32_t mdl_round_int(double x, int32_t lo, int32_t hi, int mode, uint32_t rbits);

/* Philox4x32-10 and the stochastic-rounding stream of docs/semantics.md. */
void mdl_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
uint32_t mdl_sr_bits(uint64_t seed, uint64_t index);

#endif
