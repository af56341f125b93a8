/*
 * test_exhaustive.c - the long sweep (suite 'exhaustive', only registered
 * with -Dexhaustive=true): every f32 bit pattern whose magnitude lies in the
 * band around each 8/6/4-bit type's range (16x below its smallest positive
 * value to 4x above its max, both signs), converted nearest-even without
 * saturation and toward zero with it, against the model.  E8M0, whose band
 * is all of f32, gets the binades at both ends plus every 61st pattern.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "harness.h"
#include "model.h"

#define BATCH (1u << 20)

static void sweep_range(chk_stats *st, lowbit_dtype t, uint32_t first, uint32_t last, uint32_t step,
                        uint32_t *buf)
{
    uint64_t u = first;
    while (u <= last) {
        size_t n = 0;
        for (; n < BATCH && u <= last; u += step)
            buf[n++] = (uint32_t)u;
        for (int sign = 0; sign < 2; sign++) {
            if (sign)
                for (size_t i = 0; i < n; i++)
                    buf[i] |= 0x80000000u;
            chk_convert_f32(st, t, buf, n, MDL_NE, 0, 0, 0);
            chk_convert_f32(st, t, buf, n, MDL_TZ, 1, 0, 0);
        }
    }
}

static uint32_t bits_of_pow2(int e)
{
    return mdl_f32_bits((float)ldexp(1.0, e));
}

Test(exhaustive, f32_bands, .timeout = 3000)
{
    uint32_t *buf = malloc(BATCH * sizeof *buf);
    cr_assert_not_null(buf);
    for (size_t k = 0; k < 11; k++) {
        lowbit_dtype t = mdl_narrow[k];
        const mdl_type *m = mdl_get(t);
        chk_stats st = {0, 0, 0};
        if (t == LOWBIT_E8M0) {
            sweep_range(&st, t, 0x00000000u, bits_of_pow2(-120), 1, buf);
            sweep_range(&st, t, bits_of_pow2(120), 0x7F800000u, 1, buf);
            sweep_range(&st, t, bits_of_pow2(-120), bits_of_pow2(120), 61, buf);
        } else {
            double minpos = 0;
            for (uint32_t i = 0; i < m->nsorted && minpos == 0; i++)
                if (m->sv[i] > 0)
                    minpos = m->sv[i];
            sweep_range(&st, t, 0x00000000u, 0x00000000u, 1, buf); /* zeros */
            sweep_range(&st, t, bits_of_pow2(ilogb(minpos) - 4), bits_of_pow2(ilogb(m->maxv) + 3) - 1, 1,
                        buf);
            sweep_range(&st, t, 0x7F800000u, 0x7F800000u, 1, buf); /* Inf */
        }
        cr_log_info("exhaustive band f32 -> %s: %zu cases, %zu mismatches", m->name, st.cases,
                    st.mismatches);
        cr_expect_eq(st.mismatches, 0, "f32 -> %s: %zu of %zu differ", m->name, st.mismatches, st.cases);
    }
    free(buf);
}
