/*
 * model.h - an independent value-table model of every lowbit element type,
 * used by the unit tests as the source of expected results.
 *
 * Nothing here includes or calls the library's codecs (the formats/ headers): every
 * type is rebuilt from its definition (sign bit, exponent field, mantissa
 * field, bias, subnormal rule, which codes are NaN/Inf) in double
 * arithmetic, every code is tabulated, and rounding is done by brute force:
 * locate the two representable neighbours of x in the sorted table and pick
 * one by the rounding rule.  Overflow, NaN and Inf handling are written from
 * the project's stated semantics, independently of the implementation.
 */
#ifndef LOWBIT_TEST_MODEL_H
#define LOWBIT_TEST_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "lowbit.h"

enum { MDL_NE = 0, MDL_TZ = 1, MDL_SR = 2 };

typedef enum { MDL_KIND_F32, MDL_KIND_FLOAT, MDL_KIND_E8M0, MDL_KIND_INT } mdl_kind;

/* NaN / Inf convention of a float type. */
typedef enum {
    MDL_SP_IEEE,  /* exponent all ones: Inf (mantissa 0) or NaN */
    MDL_SP_FN,    /* no Inf; only S.1111.111 is NaN (OCP E4M3) */
    MDL_SP_FNUZ,  /* no Inf, no -0: the code 1000...0 is the only NaN */
    MDL_SP_NONE   /* no Inf, no NaN (OCP FP6 / FP4) */
} mdl_specials;

typedef struct mdl_type {
    lowbit_dtype t;
    const char *name;
    mdl_kind kind;
    unsigned bits;            /* storage width */
    unsigned ebits, mbits;    /* float kinds */
    int bias;
    mdl_specials sp;
    uint32_t ncodes;
    double *value;            /* value of every code: NaN, +-Inf, or finite */
    /* Distinct finite values in increasing order, with one code each (+0 for
     * zero) and whether that code counts as "even" for ties-to-even. */
    uint32_t nsorted;
    double *sv;
    uint32_t *scode;
    unsigned char *seven;
    double maxv;              /* largest finite value */
    double minv;              /* smallest (most negative) finite value */
    uint32_t max_code;        /* code of maxv */
    double top_ulp;           /* spacing just below maxv (float kinds): the
                                 value above maxv with an unbounded exponent
                                 would be maxv + top_ulp */
    int max_even;             /* maxv's mantissa lsb is 0 */
} mdl_type;

/* The model of type t (F32 has no table; every other type has one). */
const mdl_type *mdl_get(lowbit_dtype t);

/* Value of a code (NaN for NaN codes). */
double mdl_value(lowbit_dtype t, uint32_t code);
int mdl_is_nan_code(lowbit_dtype t, uint32_t code);

/* The exact f32 bit pattern a code decodes to:
 *  - finite values and Inf: the value itself;
 *  - f16 NaN: sign, payload shifted up, quiet bit set;
 *  - bf16: the 16 bits shifted up (NaNs unchanged);
 *  - NaN codes of the 8/6/4-bit floats and E8M0: the quiet NaN 0x7FC00000
 *    with the code's sign bit (FNUZ's single NaN and E8M0's are positive). */
uint32_t mdl_decode_bits(lowbit_dtype t, uint32_t code);

/* Encode the f32 whose bits are xb into t with rounding mode MDL_*,
 * SATFINITE flag sat, and stochastic bits rbits. */
uint32_t mdl_encode(lowbit_dtype t, uint32_t xb, int mode, int sat, uint32_t rbits);

/* Encode a value given as a double (must be exactly an f32 value, or NaN). */
uint32_t mdl_encode_d(lowbit_dtype t, double x, int mode, int sat, uint32_t rbits);

/* Full conversion of one code of src into dst (same type: bits copied). */
uint32_t mdl_convert(lowbit_dtype dst, lowbit_dtype src, uint32_t code, int mode, int sat,
                     uint32_t rbits);

/* The two representable neighbours of a finite double x inside
 * [minv, maxv] of a table type: lo <= x <= hi (equal when x is exact). */
void mdl_neighbours(lowbit_dtype t, double x, double *lo, double *hi);

/* Philox4x32-10, written from the Random123 definition. */
void mdl_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* The 32 stochastic-rounding bits of element `index` under `seed`. */
uint32_t mdl_sr_bits(uint64_t seed, uint64_t index);

/* Packed buffers, from the layout description: 4-bit elements two per byte
 * (element 2i low nibble), 6-bit elements at bits [6i, 6i+6) of the buffer
 * as a little-endian bit string, 8/16/32-bit elements little-endian. */
uint32_t mdl_get_code(unsigned bits, const void *buf, size_t i);
void mdl_put_code(unsigned bits, void *buf, size_t i, uint32_t code);
size_t mdl_bytes(unsigned bits, size_t n);

/* f32 helpers */
uint32_t mdl_f32_bits(float f);
float mdl_f32(uint32_t b);

/* Storage width of a dtype, written from the type table. */
unsigned mdl_bits(lowbit_dtype t);

/* All 8/6/4-bit types, and those plus f16/bf16 (targets narrower than f32). */
extern const lowbit_dtype mdl_narrow[11];
extern const lowbit_dtype mdl_targets[13];

/* A small, fast, deterministic test RNG (splitmix64). */
uint64_t mdl_rand64(uint64_t *state);

#endif
