/*
 * test_stochastic.c - stochastic rounding.
 *
 *  - Philox4x32-10 known-answer vectors from the Random123 distribution, for
 *    the library's generator (formats/philox.h) and the test model's own;
 *  - the element -> random-bits stream mapping agrees with the model's;
 *  - reproducibility: same seed and offset give the same bits; another seed
 *    or offset gives different bits;
 *  - chunking invariance: one call over [0, n) equals the same range cut into
 *    pieces, each converted with opts.offset = its start (every target type;
 *    packed types cut at byte-aligned element positions);
 *  - unbiasedness: for x strictly between neighbours lo < hi, the mean of N
 *    stochastic roundings is x and the fraction rounded to hi is
 *    p = (x - lo) / (hi - lo), within a bound derived below.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "model.h"
#include "philox.h"

/* ---- Philox known answers --------------------------------------------- */

typedef struct {
    uint32_t ctr[4], key[2], out[4];
} kat;

/* Random123 kat_vectors, philox4x32_10. */
static const kat kats[] = {
    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
    {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
     {0xffffffffu, 0xffffffffu},
     {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
    {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
     {0xa4093822u, 0x299f31d0u},
     {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
};

Test(stochastic, philox_known_answers)
{
    for (size_t i = 0; i < sizeof kats / sizeof kats[0]; i++) {
        lb_philox4 c = {{kats[i].ctr[0], kats[i].ctr[1], kats[i].ctr[2], kats[i].ctr[3]}};
        lb_philox4 r = lb_philox4x32_10(c, kats[i].key[0], kats[i].key[1]);
        uint32_t m[4];
        mdl_philox(kats[i].ctr, kats[i].key, m);
        for (int w = 0; w < 4; w++) {
            cr_expect_eq(r.v[w], kats[i].out[w], "library philox kat %zu word %d: 0x%08x", i, w,
                         r.v[w]);
            cr_expect_eq(m[w], kats[i].out[w], "model philox kat %zu word %d: 0x%08x", i, w, m[w]);
        }
    }
}

Test(stochastic, stream_mapping)
{
    uint64_t rng = 42;
    for (int i = 0; i < 100000; i++) {
        uint64_t seed = mdl_rand64(&rng), idx = mdl_rand64(&rng);
        if (i < 1000)
            idx = (uint64_t)i; /* small indices too */
        cr_assert_eq(lb_sr_bits(seed, idx), mdl_sr_bits(seed, idx),
                     "seed 0x%llx index %llu", (unsigned long long)seed, (unsigned long long)idx);
    }
}

/* ---- reproducibility ------------------------------------------------- */

static void sr_convert(lowbit_dtype t, void *out, const float *in, size_t n, uint64_t seed,
                       uint64_t offset)
{
    lowbit_convert_opts o = {LOWBIT_ROUND_STOCHASTIC, 0, seed, offset};
    cr_assert_eq(lowbit_convert(t, out, LOWBIT_F32, in, n, &o), LOWBIT_OK, "%s",
                 lowbit_last_error());
}

Test(stochastic, reproducible_and_seed_dependent)
{
    enum { N = 100000 };
    float *in = malloc(N * sizeof *in);
    uint8_t *a = malloc(N), *b = malloc(N);
    cr_assert(in && a && b);
    for (size_t i = 0; i < N; i++)
        in[i] = 1.0625f; /* halfway between E4M3's 1.0 and 1.125: p = 1/2 */
    sr_convert(LOWBIT_E4M3, a, in, N, 12345, 0);
    sr_convert(LOWBIT_E4M3, b, in, N, 12345, 0);
    cr_expect_eq(memcmp(a, b, N), 0, "same seed and offset, different bits");

    /* With p = 1/2 two independent roundings differ with probability 1/2:
     * the fraction that differs over N has sd sqrt(1/4/N) = 0.00158;
     * accept 0.5 +- 6 sd (false failure ~2e-9 over the choice of seeds). */
    const double tol = 6 * sqrt(0.25 / N);
    struct { uint64_t seed, off; } other[] = {{12346, 0}, {12345ull << 32, 0}, {12345, 1}, {12345, 4}};
    for (size_t k = 0; k < sizeof other / sizeof other[0]; k++) {
        sr_convert(LOWBIT_E4M3, b, in, N, other[k].seed, other[k].off);
        size_t diff = 0;
        for (size_t i = 0; i < N; i++)
            diff += a[i] != b[i];
        double f = (double)diff / N;
        cr_expect(fabs(f - 0.5) <= tol, "seed %llu offset %llu: %.4f of outputs differ, expected 0.5",
                  (unsigned long long)other[k].seed, (unsigned long long)other[k].off, f);
    }
    free(in);
    free(a);
    free(b);
}

/* ---- chunking invariance --------------------------------------------- */

Test(stochastic, chunking_invariance)
{
    enum { N = 4099 };
    float *in = malloc(N * sizeof *in);
    uint8_t *whole = malloc(4 * N + 16), *parts = malloc(4 * N + 16);
    cr_assert(in && whole && parts);
    uint64_t rng = 7;
    lowbit_dtype all[14];
    memcpy(all, mdl_targets, sizeof mdl_targets);
    all[13] = LOWBIT_F32;
    size_t checked = 0;
    for (size_t k = 0; k < 14; k++) {
        lowbit_dtype t = all[k];
        const mdl_type *m = mdl_get(t);
        unsigned bits = mdl_bits(t);
        size_t align = bits == 4 ? 2 : bits == 6 ? 4 : 1;
        double top = t == LOWBIT_F32 ? 1e30 : m->maxv;
        for (size_t i = 0; i < N; i++) {
            double u = (double)(mdl_rand64(&rng) >> 11) * 0x1p-53;
            in[i] = (float)((u * 2.2 - 1.1) * top * (i % 3 == 0 ? 1e-3 : 1.0));
        }
        for (int trial = 0; trial < 8; trial++) {
            uint64_t seed = mdl_rand64(&rng), base = mdl_rand64(&rng) >> 8;
            memset(whole, 0x5A, 4 * N + 16);
            memset(parts, 0xA5, 4 * N + 16);
            sr_convert(t, whole, in, N, seed, base);
            size_t start = 0;
            while (start < N) {
                size_t len = 1 + (size_t)(mdl_rand64(&rng) % 700);
                if (start + len < N)
                    len = (len + align - 1) / align * align; /* next piece starts aligned */
                if (start + len > N)
                    len = N - start;
                sr_convert(t, parts + start * bits / 8, in + start, len, seed, base + start);
                start += len;
            }
            size_t bytes = mdl_bytes(bits, N);
            cr_expect_eq(memcmp(whole, parts, bytes), 0, "%s: chunked stochastic conversion differs",
                         m->name);
            checked++;
        }
    }
    cr_log_info("chunking: %zu (type, seed) pairs of %d elements", checked, N);
    free(in);
    free(whole);
    free(parts);
}

/* ---- unbiasedness ----------------------------------------------------- */

typedef struct {
    lowbit_dtype t;
    float x;
} sr_case;

/*
 * Derivation of the bound.  For x strictly between neighbours lo < hi, each
 * stochastic rounding gives hi with probability q and lo with 1 - q, where
 * q = floor(p * 2^32) / 2^32 for p = (x - lo) / (hi - lo) when rounding away
 * from zero means going to hi (for negative x the roles swap, with the same
 * bound): the rounding compares 32 uniform bits r with floor(frac * 2^32).
 * So |q - p| <= 2^-32 and the expected result lo + (hi - lo) q is within
 * (hi - lo) 2^-32 of x.  Over N independent roundings the mean has standard
 * deviation sd = (hi - lo) sqrt(q (1 - q) / N), and the fraction of hi's
 * has sd sqrt(q (1 - q) / N).  We assert
 *      |mean - x|           <= 6 sd + (hi - lo) 2^-32
 *      |fraction_hi - p|    <= 6 sd / (hi - lo) + 2^-32.
 * By the normal approximation (N = 10^6, p not tiny) a 6-sigma excursion
 * has probability about 2e-9 per check, so with ~60 checks the chance of a
 * false failure for a random choice of seeds is about 1e-7.  (The seeds are
 * fixed, so the test is deterministic: it either always passes or always
 * fails for this library.)
 */
Test(stochastic, unbiased, .timeout = 300)
{
    static const sr_case cases[] = {
        {LOWBIT_E4M3, 1.1f},      {LOWBIT_E4M3, 300.0f},   {LOWBIT_E4M3, 0.003f},
        {LOWBIT_E4M3, -0x1p-11f}, {LOWBIT_E4M3, -7.3f},    {LOWBIT_E5M2, 0.3f},
        {LOWBIT_E4M3FNUZ, 3.3f},  {LOWBIT_E5M2FNUZ, -1000.0f},
        {LOWBIT_E3M2, 9.0f},      {LOWBIT_E2M3, 0.3f},     {LOWBIT_E2M1, 2.3f},
        {LOWBIT_E2M1, -4.9f},     {LOWBIT_E2M1, 0.01f},    {LOWBIT_E8M0, 3.0f},
        {LOWBIT_E8M0, 1.01f},     {LOWBIT_INT8, 3.3f},     {LOWBIT_INT8, -100.75f},
        {LOWBIT_INT4, 2.6f},      {LOWBIT_UINT4, 14.2f},   {LOWBIT_BF16, 1.00634765625f},
        {LOWBIT_BF16, -3.14159265f}, {LOWBIT_F16, 1000.3f}, {LOWBIT_F16, 1e-6f},
    };
    /* the exhaustive suite (LOWBIT_UNIT_SCALE = 100) uses 10x more, not 100x: memory */
    const size_t N = (size_t)(1000000 * (chk_scale() > 10 ? 10 : chk_scale()));
    float *in = malloc(N * sizeof *in);
    uint8_t *out = malloc(2 * N + 8);
    cr_assert(in && out);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lowbit_dtype t = cases[c].t;
        const mdl_type *m = mdl_get(t);
        double x = (double)cases[c].x, lo, hi;
        mdl_neighbours(t, x, &lo, &hi);
        cr_assert(lo < x && x < hi, "%s: %g is representable", m->name, x);
        double p = (x - lo) / (hi - lo);
        for (size_t i = 0; i < N; i++)
            in[i] = cases[c].x;
        for (uint64_t seed = 1; seed <= 2; seed++) {
            sr_convert(t, out, in, N, seed * 0xDEADBEEF12345ull, seed * 1000003);
            size_t nhi = 0, nother = 0;
            for (size_t i = 0; i < N; i++) {
                double v = mdl_value(t, mdl_get_code(m->bits, out, i));
                if (v == hi)
                    nhi++;
                else if (v != lo)
                    nother++;
            }
            double frac = (double)nhi / (double)N;
            double mean = lo + (hi - lo) * frac; /* exact mean of the N results */
            double sdf = sqrt(p * (1 - p) / (double)N);
            double tolf = 6 * sdf + 0x1p-32;
            double tolm = 6 * (hi - lo) * sdf + (hi - lo) * 0x1p-32;
            cr_expect_eq(nother, 0, "%s x=%g: %zu results are neither %g nor %g", m->name, x, nother,
                         lo, hi);
            cr_expect(fabs(frac - p) <= tolf, "%s x=%g: fraction at hi %.6f, p %.6f, bound %.2g",
                      m->name, x, frac, p, tolf);
            cr_expect(fabs(mean - x) <= tolm, "%s x=%.9g: mean %.9g, bound %.3g", m->name, x, mean,
                      tolm);
            cr_log_info("%s x=%.9g in (%g, %g): p=%.6f, hi fraction %.6f (|dev| %.2f sd)", m->name,
                        x, lo, hi, p, frac, fabs(frac - p) / sdf);
        }
    }
    free(in);
    free(out);
}

/* A representable value never moves under stochastic rounding. */
Test(stochastic, exact_values_stay)
{
    chk_stats st = {0, 0, 0};
    for (size_t k = 0; k < 13; k++) {
        const mdl_type *m = mdl_get(mdl_targets[k]);
        uint32_t *bits = malloc(m->nsorted * sizeof *bits);
        cr_assert_not_null(bits);
        for (uint32_t i = 0; i < m->nsorted; i++)
            bits[i] = mdl_f32_bits((float)m->sv[i]);
        for (uint64_t seed = 0; seed < 4; seed++) {
            chk_convert_f32(&st, m->t, bits, m->nsorted, MDL_SR, 0, seed, seed << 40);
            /* and the model says they stay: */
            for (uint32_t i = 0; i < m->nsorted; i++)
                cr_assert_eq(mdl_encode(m->t, bits[i], MDL_SR, 0, mdl_sr_bits(seed, i)),
                             m->sv[i] == 0 && m->sp == MDL_SP_FNUZ ? 0u : m->scode[i]);
        }
        free(bits);
    }
    cr_expect_eq(st.mismatches, 0);
}

/* ---- the threshold itself ---------------------------------------------- */

/*
 * Rounding goes away from zero iff r < floor(frac * 2^32).  For x = lo + k u
 * (u the f32 ulp at lo, q = hi - lo = 2^s u), floor(frac * 2^32) = k 2^(32-s).
 * Find element indices whose Philox word r is a multiple of 2^(32-s), and set
 * k = r / 2^(32-s): then r == floor(frac * 2^32) exactly and the result must
 * be lo (toward zero); one f32 ulp more (threshold r + 2^(32-s) > r) must give
 * hi.  Both signs.  This pins "<" against "<=" and any off-by-one in frac.
 */
Test(stochastic, threshold_is_strict)
{
    const uint64_t seed = 0x5151515151ull;
    size_t checked = 0;
    for (size_t k = 0; k < 13; k++) {
        lowbit_dtype t = mdl_targets[k];
        const mdl_type *m = mdl_get(t);
        double lo = 1.0, hi, dummy;
        mdl_neighbours(t, 1.0 + 0x1p-23, &dummy, &hi); /* the value above 1.0 */
        double q = hi - lo, u = 0x1p-23;
        int s = ilogb(q / u), z = 32 - s;
        cr_assert(z > 0 && z < 32);
        uint32_t lo_code = mdl_encode_d(t, lo, MDL_NE, 0, 0), hi_code = mdl_encode_d(t, hi, MDL_NE, 0, 0);
        int found = 0, found_ones = 0;
        for (uint64_t idx = 0; idx < (1u << 24) && (found < 3 || found_ones < 3); idx++) {
            uint32_t r = mdl_sr_bits(seed, idx);
            uint32_t low = r & ((1u << z) - 1u);
            float xs[2];
            uint32_t want[2];
            if (r != 0 && low == 0 && found < 3) {
                /* threshold == r: toward zero; threshold r + 2^z: away */
                found++;
                xs[0] = (float)(lo + (r >> z) * u), want[0] = lo_code;
                xs[1] = (float)(lo + ((r >> z) + 1) * u), want[1] = hi_code;
            } else if (low == (1u << z) - 1u && r != UINT32_MAX && found_ones < 3) {
                /* threshold r + 1 (just above r): away; threshold r + 1 - 2^z: toward zero */
                found_ones++;
                xs[0] = (float)(lo + ((r >> z) + 1) * u), want[0] = hi_code;
                xs[1] = (float)(lo + (r >> z) * u), want[1] = lo_code;
            } else {
                continue;
            }
            for (int sign = 0; sign < 2; sign++) {
                if (sign && (t == LOWBIT_E8M0 || t == LOWBIT_UINT4))
                    continue; /* negative inputs: NaN (E8M0) or clamped to 0 (UINT4) */
                for (int j = 0; j < 2; j++) {
                    cr_assert(xs[j] > lo && xs[j] < hi);
                    float x = sign ? -xs[j] : xs[j];
                    uint32_t w = want[j];
                    if (sign)
                        w = mdl_encode_d(t, -mdl_value(t, w), MDL_NE, 0, 0);
                    uint8_t out[4] = {0, 0, 0, 0};
                    lowbit_convert_opts o = {LOWBIT_ROUND_STOCHASTIC, 0, seed, idx};
                    cr_assert_eq(lowbit_convert(t, out, LOWBIT_F32, &x, 1, &o), LOWBIT_OK);
                    uint32_t got = mdl_get_code(m->bits, out, 0);
                    cr_expect_eq(got, w, "%s x=%.9g index %llu r=0x%08x: got 0x%x, expected 0x%x",
                                 m->name, (double)x, (unsigned long long)idx, r, got, w);
                    cr_expect_eq(mdl_encode(t, mdl_f32_bits(x), MDL_SR, 0, r), w, "model disagrees");
                    checked++;
                }
            }
        }
        cr_expect_eq(found_ones, 3, "%s: no index with the low %d bits of r all ones", m->name, z);
        cr_expect_eq(found, 3, "%s: no index with r a multiple of 2^%d", m->name, z);
    }
    cr_log_info("threshold cases: %zu", checked);
}
