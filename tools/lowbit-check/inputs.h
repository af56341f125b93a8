/* inputs.h - generators of the inputs the checks use (inputs.c). */
#ifndef LOWBIT_CHECK_INPUTS_H
#define LOWBIT_CHECK_INPUTS_H

#include <stddef.h>
#include <stdint.h>
#include "check.h"

typedef struct u32vec {
    uint32_t *v;
    size_t n, cap;
} u32vec;

void vec_push(u32vec *v, uint32_t x);
void vec_free(u32vec *v);
void vec_shuffle(u32vec *v, rng *g);

/* Every code of a type of at most 16 bits. */
void gen_codes(lowbit_dtype t, u32vec *v);
/* f32 specials, subnormals, powers of two and neighbours (as bit patterns). */
void gen_f32_special(u32vec *v);
/* Every stride-th value of dst and midpoint, exactly and +-1, +-2 ulps, both signs. */
void gen_f32_edges(lowbit_dtype dst, u32vec *v, int stride);
/* count random f32 of four distributions scaled to dst's range. */
void gen_f32_random(lowbit_dtype dst, rng *g, size_t count, u32vec *v);
/* Pack n codes of type t into out (hx_bytes(t, n) bytes, padding zero). */
void pack_codes(lowbit_dtype t, const uint32_t *codes, size_t n, uint8_t *out);

#endif
