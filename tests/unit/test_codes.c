/*
 * test_codes.c - every code of every 8/6/4-bit type.
 *
 *  - hand-checked anchor values from the OCP FP8 and MX v1.0 specifications
 *    (these pin the model itself as well as the library);
 *  - every code decodes (lowbit_convert to f32) to the model's value;
 *  - the decoded value encodes back to the same code, with these documented
 *    canonicalisations: every NaN code goes to the one NaN an encoder
 *    produces (E4M3 0x7F, E5M2 0x7F, FNUZ 0x80, E8M0 0xFF); with SATFINITE,
 *    E5M2's +-Inf go to +-max; FNUZ types have no -0 code to round-trip;
 *  - every code converted to every other type, in every rounding mode,
 *    saturating or not, agrees with the model.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "model.h"

/* Decode one code with the library (packing it as the type requires). */
static float lib_decode(lowbit_dtype t, uint32_t code)
{
    uint8_t buf[4] = {0, 0, 0, 0};
    float out = 0.0f;
    mdl_put_code(mdl_bits(t), buf, 0, code);
    cr_assert_eq(lowbit_convert(LOWBIT_F32, &out, t, buf, 1, NULL), LOWBIT_OK);
    return out;
}

static uint32_t lib_encode(lowbit_dtype t, float x, int mode, int sat)
{
    uint8_t buf[4] = {0, 0, 0, 0};
    lowbit_convert_opts o = {(lowbit_rounding)mode, sat, 0, 0};
    cr_assert_eq(lowbit_convert(t, buf, LOWBIT_F32, &x, 1, &o), LOWBIT_OK);
    return mdl_get_code(mdl_bits(t), buf, 0);
}

typedef struct {
    lowbit_dtype t;
    uint32_t code;
    double value; /* NAN for a NaN code */
} anchor;

/* Values read off the OCP specification tables, by hand. */
static const anchor anchors[] = {
    /* OCP FP8 E4M3: bias 7, max 0.1111.110 = 448, NaN S.1111.111 */
    {LOWBIT_E4M3, 0x00, 0.0},
    {LOWBIT_E4M3, 0x01, 0x1p-9},      /* min subnormal 0.001 * 2^-6 */
    {LOWBIT_E4M3, 0x07, 0.875 * 0x1p-6},
    {LOWBIT_E4M3, 0x08, 0x1p-6},      /* min normal */
    {LOWBIT_E4M3, 0x38, 1.0},
    {LOWBIT_E4M3, 0x3C, 1.5},
    {LOWBIT_E4M3, 0x77, 240.0},
    {LOWBIT_E4M3, 0x78, 256.0},
    {LOWBIT_E4M3, 0x7E, 448.0},       /* max */
    {LOWBIT_E4M3, 0x7F, NAN},
    {LOWBIT_E4M3, 0xFE, -448.0},
    {LOWBIT_E4M3, 0xFF, NAN},
    {LOWBIT_E4M3, 0xB8, -1.0},
    /* OCP FP8 E5M2: bias 15, max 0.11110.11 = 57344, IEEE Inf/NaN */
    {LOWBIT_E5M2, 0x01, 0x1p-16},     /* min subnormal */
    {LOWBIT_E5M2, 0x04, 0x1p-14},     /* min normal */
    {LOWBIT_E5M2, 0x3C, 1.0},
    {LOWBIT_E5M2, 0x7B, 57344.0},
    {LOWBIT_E5M2, 0x7C, INFINITY},
    {LOWBIT_E5M2, 0xFC, -INFINITY},
    {LOWBIT_E5M2, 0x7D, NAN},
    {LOWBIT_E5M2, 0x7E, NAN},
    {LOWBIT_E5M2, 0x7F, NAN},
    {LOWBIT_E5M2, 0xFF, NAN},
    /* FNUZ: bias 8 / 16, 0x80 the only NaN, no Inf */
    {LOWBIT_E4M3FNUZ, 0x01, 0x1p-10},
    {LOWBIT_E4M3FNUZ, 0x40, 1.0},
    {LOWBIT_E4M3FNUZ, 0x7F, 240.0},
    {LOWBIT_E4M3FNUZ, 0xFF, -240.0},
    {LOWBIT_E4M3FNUZ, 0x80, NAN},
    {LOWBIT_E5M2FNUZ, 0x01, 0x1p-17},
    {LOWBIT_E5M2FNUZ, 0x40, 1.0},
    {LOWBIT_E5M2FNUZ, 0x7C, 32768.0},
    {LOWBIT_E5M2FNUZ, 0x7F, 57344.0},
    {LOWBIT_E5M2FNUZ, 0x80, NAN},
    /* OCP FP6 E3M2: bias 3, max 0.111.11 = 28; E2M3: bias 1, max 0.11.111 = 7.5 */
    {LOWBIT_E3M2, 0x01, 0.0625},
    {LOWBIT_E3M2, 0x04, 0.25},
    {LOWBIT_E3M2, 0x0C, 1.0},
    {LOWBIT_E3M2, 0x1F, 28.0},
    {LOWBIT_E3M2, 0x3F, -28.0},
    {LOWBIT_E3M2, 0x20, -0.0},
    {LOWBIT_E2M3, 0x01, 0.125},
    {LOWBIT_E2M3, 0x08, 1.0},
    {LOWBIT_E2M3, 0x0F, 1.875},
    {LOWBIT_E2M3, 0x1F, 7.5},
    {LOWBIT_E2M3, 0x3F, -7.5},
    /* OCP FP4 E2M1: {0, 0.5, 1, 1.5, 2, 3, 4, 6} and negatives */
    {LOWBIT_E2M1, 0x0, 0.0}, {LOWBIT_E2M1, 0x1, 0.5}, {LOWBIT_E2M1, 0x2, 1.0},
    {LOWBIT_E2M1, 0x3, 1.5}, {LOWBIT_E2M1, 0x4, 2.0}, {LOWBIT_E2M1, 0x5, 3.0},
    {LOWBIT_E2M1, 0x6, 4.0}, {LOWBIT_E2M1, 0x7, 6.0}, {LOWBIT_E2M1, 0x8, -0.0},
    {LOWBIT_E2M1, 0x9, -0.5}, {LOWBIT_E2M1, 0xD, -3.0}, {LOWBIT_E2M1, 0xF, -6.0},
    /* E8M0: 2^(code - 127), 0xFF NaN */
    {LOWBIT_E8M0, 0x7F, 1.0},
    {LOWBIT_E8M0, 0x80, 2.0},
    {LOWBIT_E8M0, 0x7E, 0.5},
    {LOWBIT_E8M0, 0x00, 0x1p-127},
    {LOWBIT_E8M0, 0xFE, 0x1p127},
    {LOWBIT_E8M0, 0xFF, NAN},
    /* integers */
    {LOWBIT_INT8, 0x7F, 127.0}, {LOWBIT_INT8, 0x80, -128.0}, {LOWBIT_INT8, 0xFF, -1.0},
    {LOWBIT_INT4, 0x7, 7.0},    {LOWBIT_INT4, 0x8, -8.0},    {LOWBIT_INT4, 0xF, -1.0},
    {LOWBIT_UINT4, 0xF, 15.0},  {LOWBIT_UINT4, 0x8, 8.0},
};

static int same_value(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return a == b && signbit(a) == signbit(b);
}

Test(codes, spec_anchors)
{
    for (size_t i = 0; i < sizeof anchors / sizeof anchors[0]; i++) {
        const anchor *a = &anchors[i];
        const char *nm = mdl_get(a->t)->name;
        double model = mdl_value(a->t, a->code);
        cr_expect(same_value(model, a->value), "model %s 0x%x = %g, spec says %g", nm, a->code,
                  model, a->value);
        double lib = (double)lib_decode(a->t, a->code);
        cr_expect(same_value(lib, a->value), "library decodes %s 0x%x to %g, spec says %g", nm,
                  a->code, lib, a->value);
    }
    /* Max finite values of the design table. */
    struct { lowbit_dtype t; double max; } mx[] = {
        {LOWBIT_E4M3, 448}, {LOWBIT_E5M2, 57344}, {LOWBIT_E4M3FNUZ, 240},
        {LOWBIT_E5M2FNUZ, 57344}, {LOWBIT_E3M2, 28}, {LOWBIT_E2M3, 7.5}, {LOWBIT_E2M1, 6},
        {LOWBIT_E8M0, 0x1p127}, {LOWBIT_INT8, 127}, {LOWBIT_INT4, 7}, {LOWBIT_UINT4, 15},
        {LOWBIT_F16, 65504}, {LOWBIT_BF16, 0x1.FEp127},
    };
    for (size_t i = 0; i < sizeof mx / sizeof mx[0]; i++)
        cr_expect_eq(mdl_get(mx[i].t)->maxv, mx[i].max, "model max of %s", mdl_get(mx[i].t)->name);
}

/* Encodings at the overflow edge, derived by hand: E4M3's max 448 = 1.110b * 2^8 has an
 * even mantissa, so the tie 464 rounds down to it and anything above 464 overflows;
 * E5M2's max 57344 = 1.11b * 2^15 is odd, so the tie 61440 overflows. */
Test(codes, overflow_edges_by_hand)
{
    float above464 = nextafterf(464.0f, INFINITY), below61440 = nextafterf(61440.0f, 0.0f);
    cr_expect_eq(lib_encode(LOWBIT_E4M3, 464.0f, MDL_NE, 0), 0x7Eu);
    cr_expect_eq(lib_encode(LOWBIT_E4M3, -464.0f, MDL_NE, 0), 0xFEu);
    cr_expect_eq(lib_encode(LOWBIT_E4M3, above464, MDL_NE, 0), 0x7Fu);
    cr_expect_eq(lib_encode(LOWBIT_E4M3, -above464, MDL_NE, 0), 0xFFu);
    cr_expect_eq(lib_encode(LOWBIT_E4M3, above464, MDL_NE, 1), 0x7Eu);
    cr_expect_eq(lib_encode(LOWBIT_E4M3, 1e30f, MDL_TZ, 0), 0x7Eu);
    cr_expect_eq(lib_encode(LOWBIT_E4M3, 0x1p-10f, MDL_NE, 0), 0x00u); /* tie 0 / 2^-9 -> even 0 */
    cr_expect_eq(lib_encode(LOWBIT_E4M3, 0x1.8p-9f, MDL_NE, 0), 0x02u); /* tie 1 / 2 -> 2 */
    cr_expect_eq(lib_encode(LOWBIT_E4M3, -0x1p-11f, MDL_NE, 0), 0x80u); /* -0 */
    cr_expect_eq(lib_encode(LOWBIT_E4M3FNUZ, -0x1p-12f, MDL_NE, 0), 0x00u); /* no -0 */
    cr_expect_eq(lib_encode(LOWBIT_E4M3FNUZ, 248.0f, MDL_NE, 0), 0x80u); /* 240 odd: tie overflows */
    cr_expect_eq(lib_encode(LOWBIT_E4M3FNUZ, nextafterf(248.0f, 0), MDL_NE, 0), 0x7Fu);
    cr_expect_eq(lib_encode(LOWBIT_E5M2, 61440.0f, MDL_NE, 0), 0x7Cu);
    cr_expect_eq(lib_encode(LOWBIT_E5M2, -61440.0f, MDL_NE, 0), 0xFCu);
    cr_expect_eq(lib_encode(LOWBIT_E5M2, below61440, MDL_NE, 0), 0x7Bu);
    cr_expect_eq(lib_encode(LOWBIT_E5M2, 61440.0f, MDL_NE, 1), 0x7Bu);
    cr_expect_eq(lib_encode(LOWBIT_E5M2, INFINITY, MDL_NE, 1), 0x7Bu);
    cr_expect_eq(lib_encode(LOWBIT_E5M2, -INFINITY, MDL_TZ, 0), 0xFCu);
    cr_expect_eq(lib_encode(LOWBIT_E2M1, 5.0f, MDL_NE, 0), 0x6u);   /* tie 4 / 6 -> 4 (even) */
    cr_expect_eq(lib_encode(LOWBIT_E2M1, 0.25f, MDL_NE, 0), 0x0u);  /* tie 0 / 0.5 -> 0 */
    cr_expect_eq(lib_encode(LOWBIT_E2M1, 0.75f, MDL_NE, 0), 0x2u);  /* tie 0.5 / 1 -> 1 */
    cr_expect_eq(lib_encode(LOWBIT_E2M1, 1000.0f, MDL_NE, 0), 0x7u); /* FP4 saturates */
    cr_expect_eq(lib_encode(LOWBIT_E2M1, -INFINITY, MDL_NE, 0), 0xFu);
    cr_expect_eq(lib_encode(LOWBIT_E2M1, NAN, MDL_NE, 0), 0x7u);
    cr_expect_eq(lib_encode(LOWBIT_E3M2, 30.0f, MDL_NE, 0), 0x1Fu); /* tie 28 / 32 -> saturates */
    cr_expect_eq(lib_encode(LOWBIT_E8M0, 1.5f, MDL_NE, 0), 0x80u);  /* tie goes up: 2 */
    cr_expect_eq(lib_encode(LOWBIT_E8M0, 1.5f, MDL_TZ, 0), 0x7Fu);  /* floor(log2): 1 */
    cr_expect_eq(lib_encode(LOWBIT_E8M0, nextafterf(1.5f, 0), MDL_NE, 0), 0x7Fu);
    cr_expect_eq(lib_encode(LOWBIT_E8M0, 0.0f, MDL_NE, 0), 0xFFu);
    cr_expect_eq(lib_encode(LOWBIT_E8M0, -4.0f, MDL_NE, 0), 0xFFu);
    cr_expect_eq(lib_encode(LOWBIT_E8M0, 0x1p-149f, MDL_NE, 0), 0x00u);
    cr_expect_eq(lib_encode(LOWBIT_E8M0, 0x1.8p127f, MDL_NE, 0), 0xFFu);
    cr_expect_eq(lib_encode(LOWBIT_E8M0, 0x1.8p127f, MDL_NE, 1), 0xFEu);
    cr_expect_eq(lib_encode(LOWBIT_INT8, 2.5f, MDL_NE, 0), 0x02u);
    cr_expect_eq(lib_encode(LOWBIT_INT8, -3.5f, MDL_NE, 0), 0xFCu); /* -4 */
    cr_expect_eq(lib_encode(LOWBIT_INT8, -3.5f, MDL_TZ, 0), 0xFDu); /* -3 */
    cr_expect_eq(lib_encode(LOWBIT_INT8, 300.0f, MDL_NE, 0), 0x7Fu);
    cr_expect_eq(lib_encode(LOWBIT_INT8, -INFINITY, MDL_NE, 0), 0x80u);
    cr_expect_eq(lib_encode(LOWBIT_INT8, NAN, MDL_NE, 0), 0x00u);
    cr_expect_eq(lib_encode(LOWBIT_INT4, 7.5f, MDL_NE, 0), 0x7u);
    cr_expect_eq(lib_encode(LOWBIT_INT4, -8.5f, MDL_NE, 0), 0x8u);
    cr_expect_eq(lib_encode(LOWBIT_UINT4, -1.0f, MDL_NE, 0), 0x0u);
    cr_expect_eq(lib_encode(LOWBIT_UINT4, 14.5f, MDL_NE, 0), 0xEu);
}

/* The model must reproduce the same hand results (it is the oracle elsewhere). */
Test(codes, model_agrees_with_hand_edges)
{
    cr_expect_eq(mdl_encode_d(LOWBIT_E4M3, 464.0, MDL_NE, 0, 0), 0x7Eu);
    cr_expect_eq(mdl_encode_d(LOWBIT_E4M3, (double)nextafterf(464.0f, INFINITY), MDL_NE, 0, 0), 0x7Fu);
    cr_expect_eq(mdl_encode_d(LOWBIT_E5M2, 61440.0, MDL_NE, 0, 0), 0x7Cu);
    cr_expect_eq(mdl_encode_d(LOWBIT_E4M3FNUZ, 248.0, MDL_NE, 0, 0), 0x80u);
    cr_expect_eq(mdl_encode_d(LOWBIT_E2M1, 5.0, MDL_NE, 0, 0), 0x6u);
    cr_expect_eq(mdl_encode_d(LOWBIT_E8M0, 1.5, MDL_NE, 0, 0), 0x80u);
    cr_expect_eq(mdl_encode_d(LOWBIT_F16, 65520.0, MDL_NE, 0, 0), 0x7C00u);
    cr_expect_eq(mdl_encode_d(LOWBIT_F16, 65519.0, MDL_NE, 0, 0), 0x7BFFu);
    cr_expect_eq(mdl_encode_d(LOWBIT_BF16, 1.0 + 0x1p-8, MDL_NE, 0, 0), 0x3F80u);
    cr_expect_eq(mdl_encode_d(LOWBIT_BF16, 1.0 + 0x1p-8 + 0x1p-20, MDL_NE, 0, 0), 0x3F81u);
    cr_expect_eq(mdl_encode_d(LOWBIT_INT4, -3.5, MDL_NE, 0, 0), 0xCu);
}

/* Documented NaN canonicalisation of the encoders (hand table). */
static uint32_t canonical_nan(lowbit_dtype t)
{
    switch (t) {
    case LOWBIT_E4M3: return 0x7F;
    case LOWBIT_E5M2: return 0x7F;
    case LOWBIT_E4M3FNUZ: case LOWBIT_E5M2FNUZ: return 0x80;
    case LOWBIT_E8M0: return 0xFF;
    default: return 0xFFFFFFFFu; /* the type has no NaN code */
    }
}

Test(codes, decode_and_roundtrip_every_code)
{
    size_t cases = 0, bad = 0;
    for (size_t k = 0; k < 11; k++) {
        lowbit_dtype t = mdl_narrow[k];
        const mdl_type *m = mdl_get(t);
        unsigned bits = mdl_bits(t);
        uint32_t n = m->ncodes;
        uint8_t packed[256], back[256];
        float dec[256];
        memset(packed, 0, sizeof packed);
        for (uint32_t c = 0; c < n; c++)
            mdl_put_code(bits, packed, c, c);
        cr_assert_eq(lowbit_convert(LOWBIT_F32, dec, t, packed, n, NULL), LOWBIT_OK);
        for (uint32_t c = 0; c < n; c++, cases++) {
            uint32_t want = mdl_decode_bits(t, c), got = mdl_f32_bits(dec[c]);
            if (got != want) {
                bad++;
                cr_log_error("%s code 0x%x decodes to 0x%08x (%g), model 0x%08x (%g)", m->name, c,
                             got, (double)dec[c], want, (double)mdl_f32(want));
            }
        }
        for (int sat = 0; sat < 2; sat++) {
            for (int mode = MDL_NE; mode <= MDL_TZ; mode++) {
                lowbit_convert_opts o = {(lowbit_rounding)mode, sat, 0, 0};
                memset(back, 0, sizeof back);
                cr_assert_eq(lowbit_convert(t, back, LOWBIT_F32, dec, n, &o), LOWBIT_OK);
                for (uint32_t c = 0; c < n; c++, cases++) {
                    uint32_t want = c;
                    double v = m->value[c];
                    if (isnan(v))
                        want = canonical_nan(t);
                    else if (isinf(v) && sat)
                        want = (c & 0x80u) | m->max_code;
                    uint32_t got = mdl_get_code(bits, back, c);
                    if (got != want) {
                        bad++;
                        cr_log_error("%s code 0x%x (%g) re-encodes (%s, sat=%d) to 0x%x", m->name, c,
                                     v, chk_mode_name(mode), sat, got);
                    }
                    /* The model agrees with the hand canonicalisation, too. */
                    uint32_t mw = mdl_encode(t, mdl_decode_bits(t, c), mode, sat, 0);
                    cr_expect_eq(mw, want, "model re-encodes %s 0x%x to 0x%x", m->name, c, mw);
                }
            }
        }
    }
    cr_log_info("decode/round-trip: %zu cases, %zu mismatches", cases, bad);
    cr_expect_eq(bad, 0, "%zu of %zu decode/round-trip cases wrong", bad, cases);
}

/* Every code of every 8/6/4-bit type to every type, every mode. */
Test(codes, every_code_to_every_type)
{
    chk_stats st = {0, 0, 0};
    uint32_t codes[256];
    const lowbit_dtype all[14] = {LOWBIT_F32, LOWBIT_F16, LOWBIT_BF16, LOWBIT_E4M3, LOWBIT_E5M2,
                                  LOWBIT_E4M3FNUZ, LOWBIT_E5M2FNUZ, LOWBIT_E3M2, LOWBIT_E2M3,
                                  LOWBIT_E2M1, LOWBIT_E8M0, LOWBIT_INT8, LOWBIT_INT4, LOWBIT_UINT4};
    for (size_t k = 0; k < 11; k++) {
        lowbit_dtype src = mdl_narrow[k];
        uint32_t n = mdl_get(src)->ncodes;
        for (uint32_t c = 0; c < n; c++)
            codes[c] = c;
        for (size_t d = 0; d < 14; d++)
            for (int sat = 0; sat < 2; sat++)
                for (int mode = MDL_NE; mode <= MDL_SR; mode++)
                    for (uint64_t seed = 1; seed <= (mode == MDL_SR ? 4u : 1u); seed++)
                        chk_convert(&st, all[d], src, codes, n, mode, sat, seed * 0x9E3779B97F4A7C15ull,
                                    seed * 1000);
    }
    cr_log_info("code -> type: %zu cases, %zu mismatches", st.cases, st.mismatches);
    cr_expect_eq(st.mismatches, 0, "%zu of %zu code conversions wrong", st.mismatches, st.cases);
}

/* Odd element counts: the padding bits of a partial last byte are zero, and
 * nothing past it is written (chk_convert checks both). */
Test(codes, partial_bytes)
{
    chk_stats st = {0, 0, 0};
    uint32_t codes[7] = {1, 2, 3, 4, 5, 6, 7};
    const lowbit_dtype packed[5] = {LOWBIT_E3M2, LOWBIT_E2M3, LOWBIT_E2M1, LOWBIT_INT4, LOWBIT_UINT4};
    for (size_t d = 0; d < 5; d++)
        for (size_t n = 1; n <= 7; n++) {
            chk_convert(&st, packed[d], LOWBIT_E4M3, codes, n, MDL_NE, 0, 0, 0);
            chk_convert(&st, packed[d], packed[(d + 1) % 5], codes, n, MDL_NE, 0, 0, 0);
            chk_convert(&st, packed[d], packed[d], codes, n, MDL_NE, 0, 0, 0); /* copy */
        }
    cr_expect_eq(st.mismatches, 0);

    /* Same-type copies clear the unused bits even when the source has them set. */
    uint8_t src[2] = {0xFF, 0xFF}, dst[3] = {0x11, 0x22, 0x33};
    cr_assert_eq(lowbit_convert(LOWBIT_INT4, dst, LOWBIT_INT4, src, 3, NULL), LOWBIT_OK);
    cr_expect_eq(dst[0], 0xFF);
    cr_expect_eq(dst[1], 0x0F);
    cr_expect_eq(dst[2], 0x33);
    uint8_t s6[3] = {0xFF, 0xFF, 0xFF}, d6[4] = {0x11, 0x22, 0x33, 0x44};
    cr_assert_eq(lowbit_convert(LOWBIT_E2M3, d6, LOWBIT_E2M3, s6, 1, NULL), LOWBIT_OK);
    cr_expect_eq(d6[0], 0x3F);
    cr_expect_eq(d6[1], 0x22);
}
