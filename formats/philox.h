/*
 * philox.h - Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy
 * as 1, 2, 3", SC'11), the counter-based generator behind stochastic
 * rounding.  Because the output is a pure function of (key, counter), every
 * backend and every thread partition draws the same bits for an element.
 *
 * Stream used by lowbit: key = the 64-bit seed (low word first); the counter
 * for element index i is (i / 4) as a 64-bit number in words 0-1, words 2-3
 * zero; element i takes output word i % 4.
 */
#ifndef LOWBIT_FORMATS_PHILOX_H
#define LOWBIT_FORMATS_PHILOX_H

#include "hostdevice.h"

typedef struct lb_philox4 {
    uint32_t v[4];
} lb_philox4;

LB_HD lb_philox4 lb_philox4x32_10(lb_philox4 ctr, uint32_t k0, uint32_t k1)
{
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * ctr.v[0];
        uint64_t p1 = (uint64_t)0xCD9E8D57u * ctr.v[2];
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        lb_philox4 next;
        next.v[0] = hi1 ^ ctr.v[1] ^ k0;
        next.v[1] = lo1;
        next.v[2] = hi0 ^ ctr.v[3] ^ k1;
        next.v[3] = lo0;
        ctr = next;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return ctr;
}

/* The 32 random bits that stochastic rounding uses for element `index`. */
LB_HD uint32_t lb_sr_bits(uint64_t seed, uint64_t index)
{
    uint64_t block = index >> 2;
    lb_philox4 ctr = {{(uint32_t)block, (uint32_t)(block >> 32), 0u, 0u}};
    lb_philox4 out = lb_philox4x32_10(ctr, (uint32_t)seed, (uint32_t)(seed >> 32));
    return out.v[index & 3];
}

#endif
