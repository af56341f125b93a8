/*
 * inputs.c - the input values the checks feed to kernels.
 *
 *  - every code of a type of at most 16 bits;
 *  - f32 specials: zeros, infinities, NaNs (quiet, signalling, payloads,
 *    both signs), subnormals, every power of two and its neighbours;
 *  - f32 edges of a destination type, from the model's value table: every
 *    representable value and every midpoint between neighbours (including
 *    the one above the largest finite value), each exactly and +-1 and +-2
 *    f32 ulps, both signs;
 *  - random f32 of four distributions: uniform bit patterns, normal with a
 *    scale drawn across the type's range, log-uniform magnitudes over the
 *    type's range (and beyond it on both sides), and mostly-small data with
 *    rare huge outliers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "inputs.h"
#include "model.h"

void vec_push(u32vec *v, uint32_t x)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 1024;
        v->v = realloc(v->v, v->cap * sizeof *v->v);
        if (!v->v) {
            fprintf(stderr, "lowbit-check: out of memory\n");
            exit(2);
        }
    }
    v->v[v->n++] = x;
}

void vec_free(u32vec *v)
{
    free(v->v);
    memset(v, 0, sizeof *v);
}

void vec_shuffle(u32vec *v, rng *g)
{
    for (size_t i = v->n; i > 1; i--) {
        size_t j = rng_below(g, (uint32_t)i);
        uint32_t t = v->v[i - 1];
        v->v[i - 1] = v->v[j];
        v->v[j] = t;
    }
}

void gen_codes(lowbit_dtype t, u32vec *v)
{
    uint32_t n = mdl_ncodes(t);
    for (uint32_t c = 0; c < n; c++)
        vec_push(v, c);
}

static void push_f(u32vec *v, float f)
{
    vec_push(v, f32_bits(f));
}

static void push_near(u32vec *v, float f, int ulps)
{
    push_f(v, f);
    float up = f, dn = f;
    for (int k = 0; k < ulps; k++) {
        up = nextafterf(up, INFINITY);
        dn = nextafterf(dn, -INFINITY);
        push_f(v, up);
        push_f(v, dn);
    }
}

void gen_f32_special(u32vec *v)
{
    static const uint32_t bits[] = {
        0x00000000u, 0x80000000u, 0x7F800000u, 0xFF800000u,              /* zeros, Infs */
        0x7FC00000u, 0xFFC00000u, 0x7F800001u, 0xFF800001u, 0x7FBFFFFFu, /* NaNs */
        0x7FFFFFFFu, 0xFFFFFFFFu, 0x7FC12345u, 0xFFA00000u, 0x7F812345u,
        0x00000001u, 0x80000001u, 0x00000002u, 0x00000003u, 0x007FFFFFu, /* subnormals */
        0x807FFFFFu, 0x00400000u, 0x00400001u, 0x003FFFFFu, 0x00200000u,
        0x00800000u, 0x80800000u, 0x7F7FFFFFu, 0xFF7FFFFFu, 0x3F800000u, /* min normal, max */
    };
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
        vec_push(v, bits[i]);
    for (int e = -149; e <= 127; e++) {
        float p = ldexpf(1.0f, e);
        push_near(v, p, 1);
        push_near(v, -p, 1);
        push_f(v, p * 1.5f);
    }
}

void gen_f32_edges(lowbit_dtype dst, u32vec *v, int stride)
{
    if (dst == LOWBIT_F32)
        return;
    int n = mdl_nvals(dst);
    const double *val = mdl_vals(dst);
    if (stride < 1)
        stride = 1;
    for (int i = 0; i < n; i += stride) {
        double lo = val[i];
        double hi = i + 1 < n ? val[i + 1] : mdl_next_after_max(dst);
        double pts[2] = {lo, (lo + hi) / 2};
        for (int k = 0; k < 2; k++) {
            if (fabs(pts[k]) > 3.4028234663852886e38)
                continue;
            float f = (float)pts[k];
            if ((double)f != pts[k])
                continue; /* not an f32 (cannot happen for these types) */
            push_near(v, f, 2);
            push_near(v, -f, 2);
        }
    }
    /* the value after max itself, when it is an f32 */
    double nx = mdl_next_after_max(dst);
    if (nx <= 3.4028234663852886e38) {
        push_near(v, (float)nx, 2);
        push_near(v, -(float)nx, 2);
    }
}

void gen_f32_random(lowbit_dtype dst, rng *g, size_t count, u32vec *v)
{
    double top = dst == LOWBIT_F32 ? 0x1p127 : mdl_next_after_max(dst);
    double bottom = dst == LOWBIT_F32 ? 0x1p-149 : mdl_min_pos(dst);
    if (top > 0x1p127)
        top = 0x1p127;
    int elo = (int)floor(log2(bottom)) - 4, ehi = (int)ceil(log2(top)) + 3;
    if (elo < -149)
        elo = -149;
    if (ehi > 127)
        ehi = 127;
    for (size_t i = 0; i < count; i++) {
        float f;
        switch (i % 4) {
        case 0: /* uniform bit patterns: every class of f32, NaNs included */
            vec_push(v, rng_u32(g));
            continue;
        case 1: { /* normal with a scale anywhere in the type's range */
            int e = elo + (int)rng_below(g, (uint32_t)(ehi - elo + 1));
            f = (float)ldexp(rng_normal(g), e);
            break;
        }
        case 2: { /* log-uniform magnitude across the range, random sign */
            double l = (double)elo + rng_unit(g) * (double)(ehi - elo);
            f = (float)exp2(l);
            if (rng_u32(g) & 1)
                f = -f;
            break;
        }
        default: { /* small data with rare huge outliers */
            double x = rng_normal(g) * ldexp(1.0, (elo + ehi) / 2);
            if (rng_below(g, 64) == 0)
                x = ldexp(x, 20 + (int)rng_below(g, 40));
            f = (float)x;
            break;
        }
        }
        push_f(v, f);
    }
}

void pack_codes(lowbit_dtype t, const uint32_t *codes, size_t n, uint8_t *out)
{
    memset(out, 0, hx_bytes(t, n));
    for (size_t i = 0; i < n; i++)
        hx_put(t, out, i, codes[i]);
}
