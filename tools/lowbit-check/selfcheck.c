/*
 * selfcheck.c - the reference convert kernel against the harness's model.
 *
 * These rows run even when the reference is the only kernel, and they can
 * fail: expected values come from model.c (value tables built from the
 * format definitions), never from formats/.
 *
 *   selfcheck:philox     the model's Philox4x32-10 against Random123's
 *                        published known answers
 *   selfcheck:roundtrip  every code of every 4/6/8/16-bit type decodes to the
 *                        model's f32 and comes back unchanged through f32 (and
 *                        f16 / bf16 where they hold every value), in every
 *                        rounding mode; NaN codes come back canonical
 *   selfcheck:model      for every (source, destination) pair, the reference
 *                        convert against the model in every rounding mode,
 *                        saturating and not: sources of at most 16 bits
 *                        exhaustively, f32 sources on specials, every value
 *                        and midpoint of the destination +-1/2 ulps, and
 *                        random data of four distributions
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "inputs.h"
#include "model.h"
#include "run.h"

static const lb_kernel *ref;

static void sr_threshold(check_row *r, lowbit_dtype dt, int sat, rng *g);
static void model_slices(check_row *r, lowbit_dtype st, lowbit_dtype dt, const u32vec *in, const uint8_t *packed,
                         const lb_cvt_params *p0, rng *g);

/* ---- Philox ------------------------------------------------------------ */

static void selfcheck_philox(void)
{
    /* Random123 kat_vectors, "philox4x32 10": counter, key, expected output */
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u},
        {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du,
         0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu},
        {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u,
         0x94fdccebu, 0x5001e420u, 0x24126ea1u},
    };
    check_row r;
    if (!row_begin(&r, "convert", "philox4x32-10", "ref", "selfcheck:philox", 1))
        return;
    for (int i = 0; i < 3; i++) {
        uint32_t out[4];
        mdl_philox4x32_10(kat[i], kat[i] + 4, out);
        if (cfg.inject_fault)
            out[0] ^= 1;
        for (int w = 0; w < 4; w++) {
            r.cases++;
            if (out[w] != kat[i][6 + w])
                row_diff(&r, "vector %d word %d: expected 0x%08x, got 0x%08x", i, w, kat[i][6 + w], out[w]);
        }
    }
    row_end(&r);
}

/* ---- round trips ------------------------------------------------------- */

/* Does every finite value of t survive a trip through w exactly? */
static int holds_all(lowbit_dtype w, lowbit_dtype t)
{
    if (w == LOWBIT_F32)
        return 1;
    uint32_t n = mdl_ncodes(t);
    for (uint32_t c = 0; c < n; c++) {
        double v = mdl_value(t, c);
        if (isnan(v))
            continue;
        uint32_t wc = mdl_encode(w, mdl_decode_f32(t, c), 0, 0, 0);
        if (mdl_value(w, wc) != v)
            return 0;
    }
    return 1;
}

static void roundtrip_type(lowbit_dtype t)
{
    static const lowbit_dtype wides[] = {LOWBIT_F32, LOWBIT_F16, LOWBIT_BF16};
    char formats[64], list[32] = "", ctx[160];
    int used[3] = {0, 0, 0};
    for (int w = 0; w < 3; w++) {
        if (wides[w] == t || !holds_all(wides[w], t))
            continue;
        used[w] = 1;
        if (list[0])
            strcat(list, ",");
        strcat(list, lowbit_dtype_name(wides[w]));
    }
    snprintf(formats, sizeof formats, "%s<->%s", lowbit_dtype_name(t), list);
    check_row r;
    if (!row_begin(&r, "convert", formats, "ref", "selfcheck:roundtrip", 1))
        return;
    rng g;
    rng_for(&g, formats);

    uint32_t n = mdl_ncodes(t);
    uint32_t *codes = malloc(n * sizeof *codes);
    for (uint32_t c = 0; c < n; c++)
        codes[c] = c;
    uint8_t *packed = malloc(hx_bytes(t, n));
    pack_codes(t, codes, n, packed);

    /* decode: t -> f32 gives the model's value (NaN codes: the documented NaN) */
    lb_cvt_params p0 = {0, 0, 0, 0};
    gbuf f32out;
    snprintf(ctx, sizeof ctx, "%s->f32 decode of all %u codes", lowbit_dtype_name(t), n);
    if (run_convert(&r, ref, LOWBIT_F32, t, packed, n, &p0, 0, 0, rng_u64(&g), &f32out, ctx) == 0) {
        inject_fault(LOWBIT_F32, f32out.p, n);
        for (uint32_t c = 0; c < n; c++) {
            uint32_t got = hx_get(LOWBIT_F32, f32out.p, c), want = mdl_decode_f32(t, c);
            r.cases++;
            if (got != want)
                row_diff(&r, "%s: code 0x%x: expected f32 0x%08x (%.9g), got 0x%08x (%.9g)", ctx, c, want,
                         (double)f32_from_bits(want), got, (double)f32_from_bits(got));
        }
        gbuf_free(&f32out);
    }

    for (int w = 0; w < 3; w++) {
        if (!used[w])
            continue;
        lowbit_dtype wt = wides[w];
        for (int mode = 0; mode < 3; mode++) {
            if (!(ref->rounding_mask & (1u << mode)))
                continue;
            lb_cvt_params p = {mode, 0, rng_u64(&g), rng_u64(&g) >> 1};
            gbuf mid, back;
            snprintf(ctx, sizeof ctx, "%s->%s->%s %s", lowbit_dtype_name(t), lowbit_dtype_name(wt),
                     lowbit_dtype_name(t), mode_name(mode));
            if (run_convert(&r, ref, wt, t, packed, n, &p, 0, 0, rng_u64(&g), &mid, ctx))
                continue;
            uint8_t *midcopy = malloc(hx_bytes(wt, n));
            memcpy(midcopy, mid.p, hx_bytes(wt, n));
            gbuf_free(&mid);
            int rc = run_convert(&r, ref, t, wt, midcopy, n, &p, 0, 0, rng_u64(&g), &back, ctx);
            if (rc == 0) {
                inject_fault(t, back.p, n);
                for (uint32_t c = 0; c < n; c++) {
                    uint32_t got = hx_get(t, back.p, c);
                    /* identity, except NaN codes, which come back as the canonical NaN */
                    uint32_t want = c;
                    if (mdl_is_nan_code(t, c))
                        want = mdl_nan_code(t, hx_get(wt, midcopy, c));
                    r.cases++;
                    if (got != want) {
                        char a[64], b[64];
                        describe_code(t, want, a, sizeof a);
                        describe_code(t, got, b, sizeof b);
                        row_diff(&r, "%s: code 0x%x came back as %s, expected %s", ctx, c, b, a);
                    }
                }
                if (!tail_bits_zero(t, back.p, n))
                    row_diff(&r, "%s: padding bits after element %u are not zero", ctx, n - 1);
                gbuf_free(&back);
            }
            free(midcopy);
        }
    }
    free(packed);
    free(codes);
    row_end(&r);
}

/* ---- the reference against the model ---------------------------------- */

static void model_pair(lowbit_dtype st, lowbit_dtype dt)
{
    char formats[64], ctx[200];
    snprintf(formats, sizeof formats, "%s->%s", lowbit_dtype_name(st), lowbit_dtype_name(dt));
    check_row r;
    if (!row_begin(&r, "convert", formats, "ref", "selfcheck:model", 1))
        return;
    rng g;
    rng_for(&g, formats);

    u32vec in = {0};
    if (st != LOWBIT_F32) {
        gen_codes(st, &in);
    } else {
        gen_f32_special(&in);
        int nv = mdl_nvals(dt);
        /* quick runs sample the 16-bit types' tables instead of walking them */
        gen_f32_edges(dt, &in, cfg.quick && nv > 4096 ? 16 : 1);
        gen_f32_random(dt, &g, cfg.quick ? 4096 : 262144, &in);
    }
    size_t n = in.n;
    uint8_t *packed = malloc(hx_bytes(st, n) + 1);
    pack_codes(st, in.v, n, packed);

    for (int mode = 0; mode < 3; mode++) {
        if (!(ref->rounding_mask & (1u << mode)))
            continue;
        for (int sat = 0; sat < 2; sat++) {
            lb_cvt_params p = {mode, sat, rng_u64(&g), 0};
            /* an offset that crosses 2^32 inside the call half of the time */
            p.offset = (rng_u32(&g) & 1) ? 0xFFFFFFFFull - rng_below(&g, 1000) : rng_u64(&g) >> 2;
            snprintf(ctx, sizeof ctx, "%s %s%s seed=%llu offset=%llu n=%zu", formats, mode_name(mode),
                     sat ? " satfinite" : "", (unsigned long long)p.seed, (unsigned long long)p.offset, n);
            gbuf out;
            if (run_convert(&r, ref, dt, st, packed, n, &p, 0, 0, rng_u64(&g), &out, ctx))
                continue;
            inject_fault(dt, out.p, n);
            for (size_t i = 0; i < n; i++) {
                uint32_t rb = mode == MDL_SR ? mdl_sr_bits(p.seed, p.offset + i) : 0;
                uint32_t want = mdl_convert(dt, st, in.v[i], mode, sat, rb);
                uint32_t got = hx_get(dt, out.p, i);
                r.cases++;
                if (got != want) {
                    char a[64], b[64], c[64];
                    describe_code(st, in.v[i], a, sizeof a);
                    describe_code(dt, want, b, sizeof b);
                    describe_code(dt, got, c, sizeof c);
                    row_diff(&r, "%s: i=%zu input %s: expected %s, got %s (r=0x%08x)", ctx, i, a, b, c, rb);
                }
            }
            if (!tail_bits_zero(dt, out.p, n))
                row_diff(&r, "%s: padding bits after element %zu are not zero", ctx, n - 1);
            gbuf_free(&out);
            model_slices(&r, st, dt, &in, packed, &p, &g);
            if (mode == MDL_SR && st == LOWBIT_F32 && dt != LOWBIT_F32)
                sr_threshold(&r, dt, sat, &g);
        }
    }
    free(packed);
    vec_free(&in);
    row_end(&r);
}

/*
 * Stochastic rounding exactly at its threshold.  The result is hi iff
 * r < floor(frac * 2^32); random data almost never lands on r itself, so
 * for intervals [lo, hi) of the destination this searches element indices
 * whose Philox word r makes lo + r/2^32 * (hi - lo) an f32, then converts
 * that value (frac * 2^32 == r: stays lo) and its f32 neighbours (one below:
 * lo, one above: hi), both signs, one element per call at that index.
 */
static void sr_threshold(check_row *r, lowbit_dtype dt, int sat, rng *g)
{
    int nv = mdl_nvals(dt);
    const double *val = mdl_vals(dt);
    int picks[8] = {0, 1, nv / 2, (int)rng_below(g, (uint32_t)nv), (int)rng_below(g, (uint32_t)nv),
                    (int)rng_below(g, (uint32_t)nv), nv - 2, nv - 1};
    uint64_t seed = rng_u64(g);
    char ctx[200];
    for (int k = 0; k < 8; k++) {
        int i = picks[k];
        if (i < 0 || i >= nv || (mdl_is_int(dt) && (val[i] < 0 || i + 1 >= nv)))
            continue;
        double lo = val[i], hi = i + 1 < nv ? val[i + 1] : mdl_next_after_max(dt);
        if (hi > 3.4028234663852886e38)
            hi = 0x1p128; /* e8m0's 2^128: the interval still exists for rounding */
        uint64_t idx = rng_u64(g) >> 8, found = UINT64_MAX;
        double x = 0;
        for (int tries = 0; tries < (1 << 22); tries++, idx++) {
            uint32_t rb = mdl_sr_bits(seed, idx);
            x = lo + ldexp((double)rb, -32) * (hi - lo);
            if (rb != 0 && (double)(float)x == x && (float)x > 0) {
                found = idx;
                break;
            }
        }
        if (found == UINT64_MAX)
            continue;
        float f = (float)x;
        float tri[3] = {nextafterf(f, 0), f, nextafterf(f, INFINITY)};
        for (int j = 0; j < 6; j++) {
            float in = j < 3 ? tri[j] : -tri[j - 3];
            uint32_t bits = f32_bits(in);
            uint8_t src[4];
            memcpy(src, &bits, 4);
            lb_cvt_params p = {MDL_SR, sat, seed, found};
            snprintf(ctx, sizeof ctx, "f32->%s stochastic%s threshold: lo=%.9g hi=%.9g seed=%llu offset=%llu",
                     lowbit_dtype_name(dt), sat ? " satfinite" : "", lo, hi, (unsigned long long)seed,
                     (unsigned long long)found);
            gbuf out;
            if (run_convert(r, ref, dt, LOWBIT_F32, src, 1, &p, 0, 0, rng_u64(g), &out, ctx))
                continue;
            inject_fault(dt, out.p, 1);
            uint32_t rb = mdl_sr_bits(seed, found);
            uint32_t want = mdl_convert(dt, LOWBIT_F32, bits, MDL_SR, sat, rb), got = hx_get(dt, out.p, 0);
            r->cases++;
            if (got != want) {
                char a[64], b[64];
                describe_code(dt, want, a, sizeof a);
                describe_code(dt, got, b, sizeof b);
                row_diff(r, "%s: input %.9g (0x%08x), r=0x%08x: expected %s, got %s", ctx, (double)in, bits, rb, a, b);
            }
            if (!tail_bits_zero(dt, out.p, 1))
                row_diff(r, "%s: padding bits after the element are not zero", ctx);
            gbuf_free(&out);
        }
    }
}

/* The reference on slices of every size of check_sizes at random starts:
 * elements against the model, and the padding bits of a last partial byte. */
static void model_slices(check_row *r, lowbit_dtype st, lowbit_dtype dt, const u32vec *in, const uint8_t *packed,
                         const lb_cvt_params *p0, rng *g)
{
    char ctx[200];
    for (size_t si = 0; si < check_nsizes; si++) {
        size_t n = check_sizes[si];
        if (n > in->n || (cfg.quick && !size_in_quick_set(n)))
            continue;
        size_t j = rng_below(g, (uint32_t)((in->n - n) / 4 + 1)) * 4;
        lb_cvt_params p = *p0;
        p.offset = p0->offset + j;
        snprintf(ctx, sizeof ctx, "%s->%s %s%s n=%zu at %zu src+%zu dst+%zu", lowbit_dtype_name(st),
                 lowbit_dtype_name(dt), mode_name(p.mode), p.saturate ? " satfinite" : "", n, j, si % 4, (si / 4) % 4);
        gbuf out;
        if (run_convert(r, ref, dt, st, packed + hx_bytes(st, j), n, &p, si % 4, (si / 4) % 4, rng_u64(g), &out, ctx))
            continue;
        inject_fault(dt, out.p, n);
        for (size_t i = 0; i < n; i++) {
            uint32_t rb = p.mode == MDL_SR ? mdl_sr_bits(p.seed, p.offset + i) : 0;
            uint32_t want = mdl_convert(dt, st, in->v[j + i], p.mode, p.saturate, rb), got = hx_get(dt, out.p, i);
            r->cases++;
            if (got != want) {
                char a[64], b[64], c[64];
                describe_code(st, in->v[j + i], a, sizeof a);
                describe_code(dt, want, b, sizeof b);
                describe_code(dt, got, c, sizeof c);
                row_diff(r, "%s: i=%zu input %s: expected %s, got %s", ctx, i, a, b, c);
            }
        }
        r->cases++;
        if (!tail_bits_zero(dt, out.p, n))
            row_diff(r, "%s: padding bits after element %zu are not zero", ctx, n - 1);
        gbuf_free(&out);
    }
}

void selfcheck_elements(void)
{
    ref = find_ref_kernel(LOWBIT_OP_CONVERT);
    if (!ref || !ref->convert) {
        check_row r;
        if (row_begin(&r, "convert", "any->any", "ref", "selfcheck:reference", 1)) {
            row_event(&r, "no reference convert kernel (backend ref, any->any, exact) is registered");
            row_end(&r);
        }
        return;
    }
    selfcheck_philox();
    for (int t = 0; t < LOWBIT_DTYPE_COUNT; t++)
        if (t != LOWBIT_F32)
            roundtrip_type((lowbit_dtype)t);
    for (int st = 0; st < LOWBIT_DTYPE_COUNT; st++)
        for (int dt = 0; dt < LOWBIT_DTYPE_COUNT; dt++)
            model_pair((lowbit_dtype)st, (lowbit_dtype)dt);
}
