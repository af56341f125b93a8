/*
 * test_f16_bf16.c - every f16 and every bf16 bit pattern (65,536 each)
 * converted to every narrower type and to f32, in every rounding mode,
 * saturating and not, held against the brute-force model.
 *
 * Stochastic rounding is included: the model draws the same Philox bits for
 * each element index (its own Philox, checked against the Random123
 * known-answer vectors in test_stochastic.c), so every output is predictable.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "model.h"

static uint32_t *all_codes(void)
{
    uint32_t *c = malloc(65536 * sizeof *c);
    cr_assert_not_null(c);
    for (uint32_t i = 0; i < 65536; i++)
        c[i] = i;
    return c;
}

static void sweep(lowbit_dtype src)
{
    uint32_t *codes = all_codes();
    const mdl_type *ms = mdl_get(src);
    lowbit_dtype dsts[15];
    size_t nd = 0;
    for (size_t k = 0; k < 13; k++)
        if (mdl_targets[k] != src)
            dsts[nd++] = mdl_targets[k];
    dsts[nd++] = LOWBIT_F32;
    size_t seeds = (size_t)(2 * chk_scale());
    for (size_t d = 0; d < nd; d++) {
        chk_stats st = {0, 0, 0};
        for (int sat = 0; sat < 2; sat++)
            for (int mode = MDL_NE; mode <= MDL_SR; mode++)
                for (size_t s = 0; s < (mode == MDL_SR ? seeds : 1); s++)
                    chk_convert(&st, dsts[d], src, codes, 65536, mode, sat,
                                0x0123456789ABCDEFull * (s + 1), s * 65536);
        cr_log_info("%s -> %s: %zu cases, %zu mismatches", ms->name, mdl_get(dsts[d])->name,
                    st.cases, st.mismatches);
        cr_expect_eq(st.mismatches, 0, "%s -> %s: %zu of %zu conversions differ from the model",
                     ms->name, mdl_get(dsts[d])->name, st.mismatches, st.cases);
    }
    /* Same type: a bit copy (signalling NaNs included). */
    chk_stats st = {0, 0, 0};
    chk_convert(&st, src, src, codes, 65536, MDL_NE, 0, 0, 0);
    cr_expect_eq(st.mismatches, 0, "%s -> %s copy differs", ms->name, ms->name);
    free(codes);
}

Test(f16_bf16, all_f16_patterns, .timeout = 120)
{
    sweep(LOWBIT_F16);
}

Test(f16_bf16, all_bf16_patterns, .timeout = 120)
{
    sweep(LOWBIT_BF16);
}

/* A few hand-derived f16/bf16 facts that pin the model's f16/bf16 tables. */
Test(f16_bf16, hand_anchors)
{
    cr_expect_eq(mdl_value(LOWBIT_F16, 0x3C00), 1.0);
    cr_expect_eq(mdl_value(LOWBIT_F16, 0x7BFF), 65504.0);
    cr_expect_eq(mdl_value(LOWBIT_F16, 0x0001), 0x1p-24);
    cr_expect_eq(mdl_value(LOWBIT_F16, 0x0400), 0x1p-14);
    cr_expect_eq(mdl_value(LOWBIT_BF16, 0x3F80), 1.0);
    cr_expect_eq(mdl_value(LOWBIT_BF16, 0x0001), 0x1p-133);
    cr_expect_eq(mdl_value(LOWBIT_BF16, 0x7F7F), 0x1.FEp127);
    /* f16 NaN decode keeps the payload and sets the quiet bit; bf16 NaN is a shift. */
    cr_expect_eq(mdl_decode_bits(LOWBIT_F16, 0xFC01), 0xFFC02000u);
    cr_expect_eq(mdl_decode_bits(LOWBIT_BF16, 0x7F81), 0x7F810000u);
    /* bf16 -> f16 of a bf16 value just above f16's overflow threshold 65520. */
    cr_expect_eq(mdl_convert(LOWBIT_F16, LOWBIT_BF16, 0x4780, MDL_NE, 0, 0), 0x7C00u); /* 65536 */
    cr_expect_eq(mdl_convert(LOWBIT_F16, LOWBIT_BF16, 0x4780, MDL_NE, 1, 0), 0x7BFFu);
    cr_expect_eq(mdl_convert(LOWBIT_F16, LOWBIT_BF16, 0x477F, MDL_NE, 0, 0), 0x7BF8u); /* 65280 */
    /* f16 -> bf16: 1 + 2^-8 is a tie, rounds to even 1.0; 1 + 3*2^-8 rounds up. */
    cr_expect_eq(mdl_convert(LOWBIT_BF16, LOWBIT_F16, 0x3C04, MDL_NE, 0, 0), 0x3F80u);
    cr_expect_eq(mdl_convert(LOWBIT_BF16, LOWBIT_F16, 0x3C0C, MDL_NE, 0, 0), 0x3F82u);
    cr_expect_eq(mdl_convert(LOWBIT_BF16, LOWBIT_F16, 0x3C0C, MDL_TZ, 0, 0), 0x3F81u);
}
