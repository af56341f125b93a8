/*
 * model.c - the independent element model (see model.h).
 *
 * Each type's definition is restated in defs[] below from the format tables
 * of docs/semantics.md; values come from ldexp on those fields, never from
 * the library's codecs.  Rounding searches a sorted value table.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

enum { K_F32, K_MINI, K_E8M0, K_INT };
enum { NAN_IEEE, NAN_FN, NAN_FNUZ, NAN_NONE };

typedef struct mdef {
    int kind;
    int ebits, mbits, bias; /* K_MINI */
    int nan;                /* K_MINI */
    int lo, hi;             /* K_INT */
    int bits;
} mdef;

typedef struct mtab {
    int n;
    double *val;    /* sorted */
    uint32_t *code; /* magnitude code (or full code for integers) of val[i] */
    double max, next, minpos;
    uint32_t max_code;
} mtab;

static mdef defs[LOWBIT_DTYPE_COUNT];
static mtab tabs[LOWBIT_DTYPE_COUNT];

static void set_mini(lowbit_dtype t, int e, int m, int bias, int nan)
{
    defs[t].kind = K_MINI;
    defs[t].ebits = e;
    defs[t].mbits = m;
    defs[t].bias = bias;
    defs[t].nan = nan;
    defs[t].bits = 1 + e + m;
}

static void set_int(lowbit_dtype t, int lo, int hi, int bits)
{
    defs[t].kind = K_INT;
    defs[t].lo = lo;
    defs[t].hi = hi;
    defs[t].bits = bits;
}

/* Magnitude of a minifloat code without its sign bit; NaN/Inf for specials. */
static double mini_mag(const mdef *d, uint32_t mag)
{
    uint32_t emask = (1u << d->ebits) - 1u, mmask = (1u << d->mbits) - 1u;
    uint32_t E = (mag >> d->mbits) & emask, M = mag & mmask;
    if (d->nan == NAN_IEEE && E == emask)
        return M == 0 ? INFINITY : NAN;
    if (d->nan == NAN_FN && E == emask && M == mmask)
        return NAN;
    if (E == 0)
        return ldexp((double)M, 1 - d->bias - d->mbits);
    return ldexp((double)((1u << d->mbits) + M), (int)E - d->bias - d->mbits);
}

static int cmp_pair(const void *a, const void *b)
{
    const double *x = a, *y = b;
    return (*x > *y) - (*x < *y);
}

static void build_table(lowbit_dtype t)
{
    const mdef *d = &defs[t];
    mtab *tb = &tabs[t];
    double (*pairs)[2] = NULL;
    int n = 0;
    if (d->kind == K_MINI) {
        uint32_t nmag = 1u << (d->ebits + d->mbits);
        pairs = calloc(nmag, sizeof *pairs);
        for (uint32_t c = 0; c < nmag; c++) {
            double v = mini_mag(d, c);
            if (isfinite(v)) {
                pairs[n][0] = v;
                pairs[n][1] = (double)c;
                n++;
            }
        }
    } else if (d->kind == K_E8M0) {
        pairs = calloc(255, sizeof *pairs);
        for (uint32_t c = 0; c < 255; c++) {
            pairs[n][0] = ldexp(1.0, (int)c - 127);
            pairs[n][1] = (double)c;
            n++;
        }
    } else if (d->kind == K_INT) {
        pairs = calloc((size_t)(d->hi - d->lo + 1), sizeof *pairs);
        for (int v = d->lo; v <= d->hi; v++) {
            pairs[n][0] = v;
            pairs[n][1] = (double)((uint32_t)v & ((1u << d->bits) - 1u));
            n++;
        }
    } else {
        return;
    }
    qsort(pairs, (size_t)n, sizeof *pairs, cmp_pair);
    tb->n = n;
    tb->val = malloc((size_t)n * sizeof *tb->val);
    tb->code = malloc((size_t)n * sizeof *tb->code);
    for (int i = 0; i < n; i++) {
        tb->val[i] = pairs[i][0];
        tb->code[i] = (uint32_t)pairs[i][1];
        /* every value of every type is exact in f32 (the library's premise) */
        assert((double)(float)tb->val[i] == tb->val[i]);
    }
    free(pairs);
    tb->max = tb->val[n - 1];
    tb->max_code = tb->code[n - 1];
    tb->minpos = tb->val[0] > 0 ? tb->val[0] : tb->val[1];
    if (d->kind == K_INT) {
        tb->minpos = 1;
        tb->next = tb->max + 1;
    } else if (d->kind == K_E8M0) {
        tb->next = ldexp(1.0, 128);
    } else {
        int e;
        frexp(tb->max, &e); /* max = f * 2^e, f in [0.5, 1) */
        tb->next = tb->max + ldexp(1.0, e - 1 - d->mbits);
    }
}

void model_init(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    defs[LOWBIT_F32].kind = K_F32;
    defs[LOWBIT_F32].bits = 32;
    set_mini(LOWBIT_F16, 5, 10, 15, NAN_IEEE);
    set_mini(LOWBIT_BF16, 8, 7, 127, NAN_IEEE);
    set_mini(LOWBIT_E4M3, 4, 3, 7, NAN_FN);
    set_mini(LOWBIT_E5M2, 5, 2, 15, NAN_IEEE);
    set_mini(LOWBIT_E4M3FNUZ, 4, 3, 8, NAN_FNUZ);
    set_mini(LOWBIT_E5M2FNUZ, 5, 2, 16, NAN_FNUZ);
    set_mini(LOWBIT_E3M2, 3, 2, 3, NAN_NONE);
    set_mini(LOWBIT_E2M3, 2, 3, 1, NAN_NONE);
    set_mini(LOWBIT_E2M1, 2, 1, 1, NAN_NONE);
    defs[LOWBIT_E8M0].kind = K_E8M0;
    defs[LOWBIT_E8M0].bits = 8;
    set_int(LOWBIT_INT8, -128, 127, 8);
    set_int(LOWBIT_INT4, -8, 7, 4);
    set_int(LOWBIT_UINT4, 0, 15, 4);
    for (int t = 0; t < LOWBIT_DTYPE_COUNT; t++)
        build_table((lowbit_dtype)t);
}

int mdl_is_int(lowbit_dtype t) { return defs[t].kind == K_INT; }
int mdl_has_sign(lowbit_dtype t) { return defs[t].kind == K_MINI || defs[t].kind == K_F32; }
uint32_t mdl_ncodes(lowbit_dtype t) { return defs[t].bits >= 32 ? 0 : 1u << defs[t].bits; }
int mdl_nvals(lowbit_dtype t) { return tabs[t].n; }
const double *mdl_vals(lowbit_dtype t) { return tabs[t].val; }
double mdl_max(lowbit_dtype t) { return t == LOWBIT_F32 ? (double)3.4028234663852886e38 : tabs[t].max; }
double mdl_next_after_max(lowbit_dtype t) { return tabs[t].next; }
double mdl_min_pos(lowbit_dtype t) { return tabs[t].minpos; }

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

double mdl_value(lowbit_dtype t, uint32_t c)
{
    const mdef *d = &defs[t];
    switch (d->kind) {
    case K_F32:
        return (double)float_of(c);
    case K_E8M0:
        c &= 0xFF;
        return c == 0xFF ? NAN : ldexp(1.0, (int)c - 127);
    case K_INT: {
        c &= (1u << d->bits) - 1u;
        int v = (int)c;
        if (d->lo < 0 && c >= (1u << (d->bits - 1)))
            v -= 1 << d->bits;
        return v;
    }
    default: {
        uint32_t signbit = 1u << (d->ebits + d->mbits);
        c &= (signbit << 1) - 1u;
        if (d->nan == NAN_FNUZ && c == signbit)
            return NAN;
        double m = mini_mag(d, c & (signbit - 1u));
        return (c & signbit) ? -m : m;
    }
    }
}

int mdl_is_nan_code(lowbit_dtype t, uint32_t c)
{
    return isnan(mdl_value(t, c));
}

uint32_t mdl_decode_f32(lowbit_dtype t, uint32_t c)
{
    const mdef *d = &defs[t];
    if (d->kind == K_F32)
        return c;
    double v = mdl_value(t, c);
    if (!isnan(v))
        return bits_of((float)v); /* exact: asserted when the table was built */
    /* NaN codes (docs/semantics.md, "Decoding a NaN code") */
    if (t == LOWBIT_F16) {
        uint32_t sign = (c & 0x8000u) ? 0x80000000u : 0u;
        return sign | 0x7FC00000u | ((c & 0x3FFu) << 13);
    }
    if (t == LOWBIT_BF16)
        return (c & 0xFFFFu) << 16; /* a plain widening shift */
    if (d->kind == K_MINI && d->nan != NAN_FNUZ) {
        uint32_t signbit = 1u << (d->ebits + d->mbits);
        return ((c & signbit) ? 0x80000000u : 0u) | 0x7FC00000u;
    }
    return 0x7FC00000u; /* FNUZ 0x80, E8M0 0xFF */
}

uint32_t mdl_nan_code(lowbit_dtype t, uint32_t xbits)
{
    const mdef *d = &defs[t];
    switch (d->kind) {
    case K_F32:
        return xbits;
    case K_E8M0:
        return 0xFF;
    case K_INT:
        return 0;
    default:
        break;
    }
    uint32_t signbit = 1u << (d->ebits + d->mbits);
    if (t == LOWBIT_F16 || t == LOWBIT_BF16) {
        /* sign, the top payload bits, quiet bit set */
        uint32_t keep = (xbits & 0x007FFFFFu) >> (23 - d->mbits);
        uint32_t infc = ((1u << d->ebits) - 1u) << d->mbits;
        return ((xbits >> 31) ? signbit : 0u) | infc | (1u << (d->mbits - 1)) | keep;
    }
    switch (d->nan) {
    case NAN_FN:
        return signbit - 1u;                        /* 0x7F */
    case NAN_FNUZ:
        return signbit;                             /* 0x80 */
    case NAN_IEEE:
        return signbit - 1u;                        /* e5m2: 0x7F */
    default:
        return tabs[t].max_code;                    /* no NaN: +max */
    }
}

/* Largest index i with val[i] <= a (val[0] <= a assumed). */
static int table_floor(const mtab *tb, double a)
{
    int lo = 0, hi = tb->n - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (tb->val[mid] <= a)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

double mdl_quantum(lowbit_dtype t, double a)
{
    const mtab *tb = &tabs[t];
    a = fabs(a);
    if (defs[t].kind == K_INT)
        return 1.0;
    if (a >= tb->max)
        return tb->next - tb->max;
    if (a < tb->val[0])
        return tb->val[0];
    int i = table_floor(tb, a);
    return tb->val[i + 1] - tb->val[i];
}

/* floor((num / den) * 2^32) for 0 <= num < den, both exact doubles whose
 * quotient is a dyadic fraction (den a power of two here). */
static uint64_t frac32(double num, double den)
{
    double q = ldexp(num / den, 32);
    return (uint64_t)floor(q);
}

int32_t mdl_round_int(double x, int32_t lo, int32_t hi, int mode, uint32_t rbits)
{
    if (isnan(x))
        return 0;
    if (x >= hi)
        return hi;
    if (x <= lo)
        return lo;
    double t = trunc(x);
    double f = fabs(x - t);
    int away = 0;
    if (mode == MDL_NE) {
        double fl = floor(x), d = x - fl;
        double r = d > 0.5 ? fl + 1 : d < 0.5 ? fl : (fmod(fl, 2.0) == 0 ? fl : fl + 1);
        return (int32_t)r;
    } else if (mode == MDL_SR) {
        away = (uint64_t)rbits < frac32(f, 1.0);
    }
    double r = away ? t + (x < 0 ? -1 : 1) : t;
    if (r > hi)
        r = hi;
    if (r < lo)
        r = lo;
    return (int32_t)r;
}

static uint32_t encode_e8m0(uint32_t xbits, int mode, int sat, uint32_t rbits)
{
    const mtab *tb = &tabs[LOWBIT_E8M0];
    float x = float_of(xbits);
    if (isnan(x) || !(x > 0))
        return 0xFF;                        /* NaN, zero (either sign), negative */
    if (isinf(x))
        return sat ? 0xFE : 0xFF;
    double a = x;
    if (a < tb->val[0])
        return 0x00;                        /* below 2^-127: clipped */
    int i = table_floor(tb, a);
    double lo = tb->val[i];
    double hi = i + 1 < tb->n ? tb->val[i + 1] : tb->next;
    int up = 0;
    if (a > lo) {
        if (mode == MDL_NE)
            up = a >= (lo + hi) / 2;        /* ties go up */
        else if (mode == MDL_SR)
            up = (uint64_t)rbits < frac32(a - lo, hi - lo);
    }
    if (up && i + 1 >= tb->n)
        return sat ? 0xFE : 0xFF;           /* 2^128: overflow */
    return tb->code[up ? i + 1 : i];
}

static uint32_t encode_mini(lowbit_dtype t, uint32_t xbits, int mode, int sat, uint32_t rbits)
{
    const mdef *d = &defs[t];
    const mtab *tb = &tabs[t];
    uint32_t signbit = 1u << (d->ebits + d->mbits);
    float x = float_of(xbits);
    if (isnan(x))
        return mdl_nan_code(t, xbits);
    uint32_t sign = (xbits >> 31) ? signbit : 0u;
    double a = fabs((double)x);
    int overflow = 0;
    uint32_t mag = 0;
    if (isinf(x)) {
        overflow = 1;
    } else if (a >= tb->next && mode != MDL_TZ) {
        overflow = 1;
    } else if (a >= tb->max) {
        /* between max and the next value: only rounding up overflows */
        if (mode == MDL_TZ || a == tb->max) {
            mag = tb->max_code;
        } else {
            double lo = tb->max, hi = tb->next;
            int up;
            if (mode == MDL_NE) {
                double mid = (lo + hi) / 2;
                up = a > mid || (a == mid && ((tb->max_code + 1u) & 1u) == 0);
            } else {
                up = (uint64_t)rbits < frac32(a - lo, hi - lo);
            }
            if (up)
                overflow = 1;
            else
                mag = tb->max_code;
        }
    } else {
        int i = table_floor(tb, a);
        double lo = tb->val[i], hi = tb->val[i + 1];
        int up = 0;
        if (a > lo) {
            if (mode == MDL_NE) {
                double mid = (lo + hi) / 2;
                up = a > mid || (a == mid && (tb->code[i + 1] & 1u) == 0);
            } else if (mode == MDL_SR) {
                up = (uint64_t)rbits < frac32(a - lo, hi - lo);
            }
        }
        mag = tb->code[up ? i + 1 : i];
    }
    if (overflow) {
        if (sat || d->nan == NAN_NONE || (mode == MDL_TZ && !isinf(x)))
            mag = tb->max_code;
        else if (d->nan == NAN_IEEE)
            mag = ((1u << d->ebits) - 1u) << d->mbits;
        else if (d->nan == NAN_FN)
            mag = signbit - 1u;
        else
            return signbit;                 /* FNUZ NaN */
    }
    if (d->nan == NAN_FNUZ && mag == 0)
        return 0;                           /* no negative zero */
    return sign | mag;
}

uint32_t mdl_encode(lowbit_dtype t, uint32_t xbits, int mode, int sat, uint32_t rbits)
{
    const mdef *d = &defs[t];
    switch (d->kind) {
    case K_F32:
        return xbits;
    case K_E8M0:
        return encode_e8m0(xbits, mode, sat, rbits);
    case K_INT: {
        int32_t v = mdl_round_int((double)float_of(xbits), d->lo, d->hi, mode, rbits);
        return (uint32_t)v & ((1u << d->bits) - 1u);
    }
    default:
        return encode_mini(t, xbits, mode, sat, rbits);
    }
}

uint32_t mdl_convert(lowbit_dtype dst, lowbit_dtype src, uint32_t code, int mode, int sat,
                     uint32_t rbits)
{
    if (dst == src)
        return defs[src].bits >= 32 ? code : code & ((1u << defs[src].bits) - 1u);
    return mdl_encode(dst, mdl_decode_f32(src, code), mode, sat, rbits);
}

/* ---- Philox4x32-10 (Salmon, Moraes, Dror, Shaw, SC'11) ---------------- */

void mdl_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
    const uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
    uint32_t x0 = ctr[0], x1 = ctr[1], x2 = ctr[2], x3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        if (r > 0) { /* key schedule: bump before every round but the first */
            k0 += W0;
            k1 += W1;
        }
        uint64_t p0 = (uint64_t)M0 * x0, p1 = (uint64_t)M1 * x2;
        uint32_t y0 = (uint32_t)(p1 >> 32) ^ x1 ^ k0;
        uint32_t y1 = (uint32_t)p1;
        uint32_t y2 = (uint32_t)(p0 >> 32) ^ x3 ^ k1;
        uint32_t y3 = (uint32_t)p0;
        x0 = y0; x1 = y1; x2 = y2; x3 = y3;
    }
    out[0] = x0; out[1] = x1; out[2] = x2; out[3] = x3;
}

uint32_t mdl_sr_bits(uint64_t seed, uint64_t index)
{
    uint64_t blk = index / 4;
    uint32_t ctr[4] = {(uint32_t)blk, (uint32_t)(blk >> 32), 0, 0};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t out[4];
    mdl_philox4x32_10(ctr, key, out);
    return out[index % 4];
}
