/*
 * packing.h - where sub-byte elements live.
 *
 * 4-bit: element i is in byte i/2, low nibble for even i, high nibble for odd.
 * 6-bit: element i occupies bits [6i, 6i+6) of the buffer read as one
 * little-endian bit string, so four elements fill three bytes exactly:
 *   b0 = e0 | e1 << 6,  b1 = e1 >> 2 | e2 << 4,  b2 = e2 >> 4 | e3 << 2.
 */
#ifndef LOWBIT_FORMATS_PACKING_H
#define LOWBIT_FORMATS_PACKING_H

#include <stddef.h>
#include "hostdevice.h"

LB_HD uint32_t lb_get4(const uint8_t *p, size_t i)
{
    return (p[i >> 1] >> ((i & 1) * 4)) & 0xFu;
}

LB_HD uint32_t lb_get6(const uint8_t *p, size_t i)
{
    size_t bit = i * 6;
    size_t byte = bit >> 3;
    unsigned off = (unsigned)(bit & 7);
    uint32_t v = p[byte] >> off;
    if (off > 2)
        v |= (uint32_t)p[byte + 1] << (8 - off);
    return v & 0x3Fu;
}

/* Pack four 6-bit codes into three bytes. */
LB_HD void lb_pack6x4(uint8_t *out, const uint8_t c[4])
{
    uint32_t v = (uint32_t)(c[0] & 0x3F) | (uint32_t)(c[1] & 0x3F) << 6 |
                 (uint32_t)(c[2] & 0x3F) << 12 | (uint32_t)(c[3] & 0x3F) << 18;
    out[0] = (uint8_t)v;
    out[1] = (uint8_t)(v >> 8);
    out[2] = (uint8_t)(v >> 16);
}

/* Pack k one-per-byte codes of `bits` (8, 6 or 4) bits into dst, starting
 * at a position where element 0 begins a byte (a multiple of 4 elements for
 * 6-bit).  Writes ceil(k * bits / 8) bytes; bits past the last code are zero. */
LB_HD void lb_pack_codes(unsigned bits, uint8_t *dst, const uint8_t *codes, size_t k)
{
    if (bits == 8) {
        for (size_t i = 0; i < k; i++)
            dst[i] = codes[i];
    } else if (bits == 4) {
        for (size_t i = 0; i < k; i += 2)
            dst[i / 2] = (uint8_t)((codes[i] & 0xF) | (i + 1 < k ? (codes[i + 1] & 0xF) << 4 : 0));
    } else {
        for (size_t i = 0; i < k; i += 4) {
            uint8_t c[4] = {0, 0, 0, 0}, b[3];
            size_t m = k - i < 4 ? k - i : 4;
            for (size_t j = 0; j < m; j++)
                c[j] = codes[i + j];
            lb_pack6x4(b, c);
            for (size_t j = 0; j < (m * 6 + 7) / 8; j++)
                dst[i / 4 * 3 + j] = b[j];
        }
    }
}

/* Overwrite element i of a packed buffer, leaving its neighbours alone. */
LB_HD void lb_store_packed(unsigned bits, uint8_t *p, size_t i, uint32_t code)
{
    if (bits == 8) {
        p[i] = (uint8_t)code;
    } else if (bits == 4) {
        unsigned sh = (unsigned)(i & 1) * 4;
        p[i >> 1] = (uint8_t)((p[i >> 1] & ~(0xFu << sh)) | (code & 0xFu) << sh);
    } else {
        size_t bit = i * 6;
        unsigned off = (unsigned)(bit & 7);
        uint32_t v = (uint32_t)p[bit >> 3] | (off > 2 ? (uint32_t)p[(bit >> 3) + 1] << 8 : 0u);
        v = (v & ~(0x3Fu << off)) | (code & 0x3Fu) << off;
        p[bit >> 3] = (uint8_t)v;
        if (off > 2)
            p[(bit >> 3) + 1] = (uint8_t)(v >> 8);
    }
}

#endif
