/*
 * convert_ref.c - the reference conversion between any two element types.
 *
 * Contract (the executable form of docs/semantics.md, "Conversion"):
 *  - every element is decoded to f32 (exact for every type) and encoded once
 *    into the destination with the requested rounding and saturation
 *    (formats/minifloat.h, e8m0.h, integer.h give the rules);
 *  - stochastic rounding draws element i's bits from Philox4x32-10 keyed by
 *    the seed, at index offset + i (formats/philox.h);
 *  - a type converted to itself is copied bit for bit;
 *  - packed destinations are written whole bytes at a time; bits of the last
 *    byte past element n-1 are zero.
 */
#include <string.h>
#include "../../../src/internal.h"
#include "../../../formats/codec.h"

static uint32_t convert_one(lowbit_dtype dt, lowbit_dtype st, const void *src, size_t i,
                            const lb_cvt_params *p)
{
    float x = lb_load_f32(st, src, i);
    uint32_t r = p->mode == LB_ROUND_SR ? lb_sr_bits(p->seed, p->offset + i) : 0;
    return lb_encode(dt, x, p->mode, p->saturate, r);
}

static void copy_same(void *dst, lowbit_dtype t, const void *src, size_t n)
{
    size_t bytes = lowbit_dtype_bytes(t, n);
    memcpy(dst, src, bytes);
    unsigned tail_bits = (unsigned)((n * lowbit_dtype_bits(t)) % 8);
    if (tail_bits)
        ((uint8_t *)dst)[bytes - 1] &= (uint8_t)((1u << tail_bits) - 1u);
}

static void convert_any_any_ref(void *dst, lowbit_dtype dt, const void *src, lowbit_dtype st,
                                size_t n, const lb_cvt_params *p)
{
    if (dt == st) {
        copy_same(dst, dt, src, n);
        return;
    }
    uint8_t *d = (uint8_t *)dst;
    switch (lowbit_dtype_bits(dt)) {
    case 32:
        for (size_t i = 0; i < n; i++) {
            uint32_t c = convert_one(dt, st, src, i, p);
            memcpy(d + 4 * i, &c, 4);
        }
        break;
    case 16:
        for (size_t i = 0; i < n; i++) {
            uint16_t c = (uint16_t)convert_one(dt, st, src, i, p);
            memcpy(d + 2 * i, &c, 2);
        }
        break;
    case 8:
        for (size_t i = 0; i < n; i++)
            d[i] = (uint8_t)convert_one(dt, st, src, i, p);
        break;
    case 4:
        for (size_t i = 0; i < n; i += 2) {
            uint32_t lo = convert_one(dt, st, src, i, p);
            uint32_t hi = i + 1 < n ? convert_one(dt, st, src, i + 1, p) : 0;
            d[i / 2] = (uint8_t)((lo & 0xF) | (hi & 0xF) << 4);
        }
        break;
    case 6:
        for (size_t i = 0; i < n; i += 4) {
            uint8_t c[4] = {0, 0, 0, 0}, bytes[3];
            size_t k = n - i < 4 ? n - i : 4;
            for (size_t j = 0; j < k; j++)
                c[j] = (uint8_t)convert_one(dt, st, src, i + j, p);
            lb_pack6x4(bytes, c);
            memcpy(d + i / 4 * 3, bytes, (k * 6 + 7) / 8);
        }
        break;
    }
}

const lb_kernel lb_kernel_convert_any_any_ref = {
    .op = LOWBIT_OP_CONVERT,
    .backend = LOWBIT_BACKEND_REF,
    .exact = 1,
    .srcs = LB_ALL_TYPES,
    .dsts = LB_ALL_TYPES,
    .rounding_mask = 0x7,
    .name = "convert_any_any_ref",
    .formats = "any->any",
    .convert = convert_any_any_ref,
};
