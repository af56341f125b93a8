/*
 * model.c - the independent value-table model (see model.h).
 *
 * Type definitions below are taken from the format table of the design
 * (bits, bias, specials) and the OCP FP8 / MX specifications; they are not
 * read from the library.  Values are computed with ldexp in double, which
 * holds every value of every type exactly.
 */
#include "model.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const lowbit_dtype mdl_narrow[11] = {
    LOWBIT_E4M3, LOWBIT_E5M2, LOWBIT_E4M3FNUZ, LOWBIT_E5M2FNUZ, LOWBIT_E3M2, LOWBIT_E2M3,
    LOWBIT_E2M1, LOWBIT_E8M0, LOWBIT_INT8,     LOWBIT_INT4,     LOWBIT_UINT4,
};
const lowbit_dtype mdl_targets[13] = {
    LOWBIT_E4M3, LOWBIT_E5M2, LOWBIT_E4M3FNUZ, LOWBIT_E5M2FNUZ, LOWBIT_E3M2,
    LOWBIT_E2M3, LOWBIT_E2M1, LOWBIT_E8M0,     LOWBIT_INT8,     LOWBIT_INT4,
    LOWBIT_UINT4, LOWBIT_F16,  LOWBIT_BF16,
};

/* ---- the definitions ------------------------------------------------- */

typedef struct {
    lowbit_dtype t;
    const char *name;
    mdl_kind kind;
    unsigned bits, ebits, mbits;
    int bias;
    mdl_specials sp;
} mdl_def;

static const mdl_def defs[] = {
    /*  type              name        kind            bits e  m  bias specials */
    {LOWBIT_F32,       "f32",      MDL_KIND_F32,   32, 8, 23, 127, MDL_SP_IEEE},
    {LOWBIT_F16,       "f16",      MDL_KIND_FLOAT, 16, 5, 10, 15,  MDL_SP_IEEE},
    {LOWBIT_BF16,      "bf16",     MDL_KIND_FLOAT, 16, 8, 7,  127, MDL_SP_IEEE},
    {LOWBIT_E4M3,      "e4m3",     MDL_KIND_FLOAT, 8,  4, 3,  7,   MDL_SP_FN},
    {LOWBIT_E5M2,      "e5m2",     MDL_KIND_FLOAT, 8,  5, 2,  15,  MDL_SP_IEEE},
    {LOWBIT_E4M3FNUZ,  "e4m3fnuz", MDL_KIND_FLOAT, 8,  4, 3,  8,   MDL_SP_FNUZ},
    {LOWBIT_E5M2FNUZ,  "e5m2fnuz", MDL_KIND_FLOAT, 8,  5, 2,  16,  MDL_SP_FNUZ},
    {LOWBIT_E3M2,      "e3m2",     MDL_KIND_FLOAT, 6,  3, 2,  3,   MDL_SP_NONE},
    {LOWBIT_E2M3,      "e2m3",     MDL_KIND_FLOAT, 6,  2, 3,  1,   MDL_SP_NONE},
    {LOWBIT_E2M1,      "e2m1",     MDL_KIND_FLOAT, 4,  2, 1,  1,   MDL_SP_NONE},
    {LOWBIT_E8M0,      "e8m0",     MDL_KIND_E8M0,  8,  8, 0,  127, MDL_SP_NONE},
    {LOWBIT_INT8,      "int8",     MDL_KIND_INT,   8,  0, 0,  0,   MDL_SP_NONE},
    {LOWBIT_INT4,      "int4",     MDL_KIND_INT,   4,  0, 0,  0,   MDL_SP_NONE},
    {LOWBIT_UINT4,     "uint4",    MDL_KIND_INT,   4,  0, 0,  0,   MDL_SP_NONE},
};

static mdl_type types[LOWBIT_DTYPE_COUNT];
static int types_ready;

unsigned mdl_bits(lowbit_dtype t)
{
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
        if (defs[i].t == t)
            return defs[i].bits;
    return 0;
}

/* Value of a float-kind code straight from the field definitions. */
static double float_code_value(const mdl_def *d, uint32_t c, unsigned char *even)
{
    uint32_t sign = (c >> (d->ebits + d->mbits)) & 1u;
    uint32_t E = (c >> d->mbits) & ((1u << d->ebits) - 1u);
    uint32_t F = c & ((1u << d->mbits) - 1u);
    uint32_t Emax = (1u << d->ebits) - 1u;
    uint32_t Fmax = (1u << d->mbits) - 1u;
    *even = (F & 1u) == 0;
    switch (d->sp) {
    case MDL_SP_IEEE:
        if (E == Emax)
            return F == 0 ? (sign ? -INFINITY : INFINITY) : NAN;
        break;
    case MDL_SP_FN:
        if (E == Emax && F == Fmax)
            return NAN;
        break;
    case MDL_SP_FNUZ:
        if (sign && E == 0 && F == 0)
            return NAN;
        break;
    case MDL_SP_NONE:
        break;
    }
    double mag;
    if (E == 0) /* subnormal: 0.F * 2^(1 - bias) */
        mag = ldexp((double)F, 1 - d->bias - (int)d->mbits);
    else        /* normal: 1.F * 2^(E - bias) */
        mag = ldexp((double)((1u << d->mbits) + F), (int)E - d->bias - (int)d->mbits);
    return sign ? -mag : mag;
}

static double int_code_value(const mdl_def *d, uint32_t c)
{
    if (d->t == LOWBIT_UINT4)
        return (double)c;
    /* two's complement of width bits */
    int32_t v = (int32_t)c;
    if (c & (1u << (d->bits - 1)))
        v -= (int32_t)(1u << d->bits);
    return (double)v;
}

static const mdl_type *sort_ctx;
static int cmp_idx(const void *a, const void *b)
{
    double x = sort_ctx->value[*(const uint32_t *)a], y = sort_ctx->value[*(const uint32_t *)b];
    return x < y ? -1 : x > y ? 1 : 0;
}

static void build(const mdl_def *d)
{
    mdl_type *m = &types[d->t];
    memset(m, 0, sizeof *m);
    m->t = d->t;
    m->name = d->name;
    m->kind = d->kind;
    m->bits = d->bits;
    m->ebits = d->ebits;
    m->mbits = d->mbits;
    m->bias = d->bias;
    m->sp = d->sp;
    if (d->kind == MDL_KIND_F32)
        return;
    m->ncodes = 1u << d->bits;
    m->value = malloc(sizeof(double) * m->ncodes);
    unsigned char *even = malloc(m->ncodes);
    uint32_t *idx = malloc(sizeof(uint32_t) * m->ncodes);
    assert(m->value && even && idx);
    uint32_t nfin = 0;
    for (uint32_t c = 0; c < m->ncodes; c++) {
        double v;
        even[c] = 0;
        switch (d->kind) {
        case MDL_KIND_FLOAT:
            v = float_code_value(d, c, &even[c]);
            break;
        case MDL_KIND_E8M0:
            v = c == 0xFFu ? NAN : ldexp(1.0, (int)c - 127);
            break;
        default:
            v = int_code_value(d, c);
            even[c] = fmod(fabs(v), 2.0) == 0.0;
            break;
        }
        m->value[c] = v;
        if (!isfinite(v))
            continue;
        if (v == 0.0 && d->kind == MDL_KIND_FLOAT && (c >> (d->bits - 1)))
            continue; /* -0: keep +0 as the code of zero */
        idx[nfin++] = c;
    }
    sort_ctx = m;
    qsort(idx, nfin, sizeof idx[0], cmp_idx);
    m->nsorted = nfin;
    m->sv = malloc(sizeof(double) * nfin);
    m->scode = malloc(sizeof(uint32_t) * nfin);
    m->seven = malloc(nfin);
    for (uint32_t i = 0; i < nfin; i++) {
        m->sv[i] = m->value[idx[i]];
        m->scode[i] = idx[i];
        m->seven[i] = even[idx[i]];
        if (i)
            assert(m->sv[i] > m->sv[i - 1]); /* values are distinct */
    }
    m->minv = m->sv[0];
    m->maxv = m->sv[nfin - 1];
    m->max_code = m->scode[nfin - 1];
    if (d->kind == MDL_KIND_FLOAT) {
        uint32_t E = (m->max_code >> d->mbits) & ((1u << d->ebits) - 1u);
        uint32_t F = m->max_code & ((1u << d->mbits) - 1u);
        assert(F != 0); /* max is not the first value of its binade */
        m->top_ulp = ldexp(1.0, (int)E - d->bias - (int)d->mbits);
        m->max_even = (F & 1u) == 0;
        assert(m->maxv - m->sv[nfin - 2] == m->top_ulp);
    } else if (d->kind == MDL_KIND_E8M0) {
        m->top_ulp = m->maxv; /* next power of two above 2^127 is 2^128 */
    }
    free(even);
    free(idx);
}

static void init_all(void)
{
    if (types_ready)
        return;
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
        build(&defs[i]);
    types_ready = 1;
}

const mdl_type *mdl_get(lowbit_dtype t)
{
    init_all();
    assert((unsigned)t < LOWBIT_DTYPE_COUNT);
    return &types[t];
}

double mdl_value(lowbit_dtype t, uint32_t code)
{
    const mdl_type *m = mdl_get(t);
    if (m->kind == MDL_KIND_F32)
        return (double)mdl_f32(code);
    return m->value[code & (m->ncodes - 1u)];
}

int mdl_is_nan_code(lowbit_dtype t, uint32_t code)
{
    return isnan(mdl_value(t, code));
}

/* ---- f32 helpers ------------------------------------------------------ */

uint32_t mdl_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

float mdl_f32(uint32_t b)
{
    float f;
    memcpy(&f, &b, 4);
    return f;
}

uint32_t mdl_decode_bits(lowbit_dtype t, uint32_t code)
{
    const mdl_type *m = mdl_get(t);
    if (m->kind == MDL_KIND_F32)
        return code;
    if (t == LOWBIT_BF16)
        return code << 16;
    double v = m->value[code];
    if (isnan(v)) {
        if (t == LOWBIT_F16) {
            uint32_t sign = (code >> 15) & 1u, F = code & 0x3FFu;
            return sign << 31 | 0x7F800000u | 0x00400000u | F << 13;
        }
        uint32_t sign = m->kind == MDL_KIND_FLOAT && m->sp != MDL_SP_FNUZ
                            ? (code >> (m->bits - 1)) & 1u
                            : 0u;
        return sign << 31 | 0x7FC00000u;
    }
    float f = (float)v;
    assert((double)f == v || isinf(v)); /* every value is an f32 */
    if (v == 0.0 && m->kind == MDL_KIND_FLOAT && (code >> (m->bits - 1)))
        f = -0.0f;
    return mdl_f32_bits(f);
}

/* ---- rounding ---------------------------------------------------------- */

/* Index j of the largest sorted value <= x (x within [minv, maxv]). */
static uint32_t floor_index(const mdl_type *m, double x)
{
    uint32_t lo = 0, hi = m->nsorted - 1;
    if (m->sv[hi] <= x)
        return hi;
    while (hi - lo > 1) {  /* invariant: sv[lo] <= x < sv[hi] */
        uint32_t mid = lo + (hi - lo) / 2;
        if (m->sv[mid] <= x)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

void mdl_neighbours(lowbit_dtype t, double x, double *lo, double *hi)
{
    const mdl_type *m = mdl_get(t);
    uint32_t j = floor_index(m, x);
    *lo = m->sv[j];
    *hi = m->sv[j] == x || j + 1 == m->nsorted ? m->sv[j] : m->sv[j + 1];
}

/* floor(frac * 2^32) for frac in [0, 1) given as a ratio of exact doubles. */
static uint64_t frac32(double num, double den)
{
    double f = num / den; /* den is a power of two: exact */
    assert(f >= 0.0 && f < 1.0);
    return (uint64_t)floor(ldexp(f, 32));
}

/* Round x (finite, minv <= x <= maxv) to a sorted index. ties_up: E8M0. */
static uint32_t round_in_table(const mdl_type *m, double x, int mode, uint32_t rbits, int ties_up)
{
    uint32_t j = floor_index(m, x);
    if (m->sv[j] == x)
        return j;
    uint32_t lo = j, hi = j + 1;
    assert(hi < m->nsorted);
    double vlo = m->sv[lo], vhi = m->sv[hi];
    uint32_t tz = x > 0 ? lo : hi, az = x > 0 ? hi : lo;
    switch (mode) {
    case MDL_NE: {
        double dlo = x - vlo, dhi = vhi - x;
        if (dlo < dhi)
            return lo;
        if (dhi < dlo)
            return hi;
        if (ties_up)
            return hi;
        assert(m->seven[lo] != m->seven[hi]);
        return m->seven[lo] ? lo : hi;
    }
    case MDL_TZ:
        return tz;
    default:
        return (uint64_t)rbits < frac32(fabs(x - m->sv[tz]), vhi - vlo) ? az : tz;
    }
}

static uint32_t nan_input_code(const mdl_type *m, uint32_t xb)
{
    switch (m->t) {
    case LOWBIT_F16:
        return (xb >> 31) << 15 | 0x7C00u | 0x0200u | (xb & 0x007FFFFFu) >> 13;
    case LOWBIT_BF16:
        return (xb >> 16) | 0x0040u;
    case LOWBIT_E4M3:
    case LOWBIT_E5M2:
        return 0x7Fu;
    case LOWBIT_E4M3FNUZ:
    case LOWBIT_E5M2FNUZ:
        return 0x80u;
    case LOWBIT_E3M2:
    case LOWBIT_E2M3:
        return 0x1Fu; /* +max */
    case LOWBIT_E2M1:
        return 0x7u;  /* +max */
    case LOWBIT_E8M0:
        return 0xFFu;
    default:
        return 0u;    /* integers */
    }
}

/* Result of an overflow that is not saturated. */
static uint32_t overflow_code(const mdl_type *m, int neg)
{
    uint32_t sbit = 1u << (m->bits - 1);
    uint32_t s = neg ? sbit : 0u;
    switch (m->sp) {
    case MDL_SP_IEEE:  return s | ((1u << m->ebits) - 1u) << m->mbits; /* Inf */
    case MDL_SP_FN:    return s | (sbit - 1u);                          /* S.1111.111 */
    case MDL_SP_FNUZ:  return sbit;                                     /* the NaN */
    default:           return s | m->max_code;                          /* saturate */
    }
}

uint32_t mdl_encode(lowbit_dtype t, uint32_t xb, int mode, int sat, uint32_t rbits)
{
    const mdl_type *m = mdl_get(t);
    if (m->kind == MDL_KIND_F32)
        return xb;
    double x = (double)mdl_f32(xb);
    if (isnan(x))
        return nan_input_code(m, xb);

    if (m->kind == MDL_KIND_INT) {
        if (x >= m->maxv)
            x = m->maxv;
        if (x <= m->minv)
            x = m->minv;
        return m->scode[round_in_table(m, x, mode, rbits, 0)];
    }

    if (m->kind == MDL_KIND_E8M0) {
        if (!(x > 0.0))
            return 0xFFu; /* zero, negative */
        if (isinf(x))
            return sat ? 0xFEu : 0xFFu;
        if (x < m->minv)
            return 0x00u; /* below 2^-127: clipped */
        if (x > m->maxv) {
            double lo = m->maxv, hi = 2.0 * m->maxv;
            int ovf;
            if (mode == MDL_NE)
                ovf = x - lo >= hi - x; /* ties up */
            else if (mode == MDL_TZ)
                ovf = 0;
            else
                ovf = x >= hi || (uint64_t)rbits < frac32(x - lo, hi - lo);
            return !ovf ? 0xFEu : sat ? 0xFEu : 0xFFu;
        }
        return m->scode[round_in_table(m, x, mode, rbits, 1)];
    }

    /* float kinds */
    int neg = signbit(x) != 0;
    uint32_t sbit = 1u << (m->bits - 1);
    uint32_t s = neg ? sbit : 0u;
    double a = fabs(x);
    if (isinf(x))
        return (sat || m->sp == MDL_SP_NONE) ? s | m->max_code : overflow_code(m, neg);
    if (a > m->maxv) {
        /* Beyond max: round as if the exponent were unbounded, the next
         * value being maxv + top_ulp, whose mantissa parity is the opposite
         * of maxv's. */
        double hi = m->maxv + m->top_ulp, mid = m->maxv + m->top_ulp / 2;
        int ovf;
        if (mode == MDL_NE)
            ovf = a > mid || (a == mid && m->max_even == 0);
        else if (mode == MDL_TZ)
            ovf = 0;
        else
            ovf = a >= hi || (uint64_t)rbits < frac32(a - m->maxv, m->top_ulp);
        if (!ovf || sat || m->sp == MDL_SP_NONE)
            return s | m->max_code;
        return overflow_code(m, neg);
    }
    uint32_t j = round_in_table(m, x, mode, rbits, 0);
    if (m->sv[j] == 0.0)
        return m->sp == MDL_SP_FNUZ ? 0u : s; /* signed zero, FNUZ has none */
    return m->scode[j];
}

uint32_t mdl_encode_d(lowbit_dtype t, double x, int mode, int sat, uint32_t rbits)
{
    float f = (float)x;
    assert(isnan(x) || (double)f == x);
    return mdl_encode(t, mdl_f32_bits(f), mode, sat, rbits);
}

uint32_t mdl_convert(lowbit_dtype dst, lowbit_dtype src, uint32_t code, int mode, int sat,
                     uint32_t rbits)
{
    if (dst == src)
        return code;
    return mdl_encode(dst, mdl_decode_bits(src, code), mode, sat, rbits);
}

/* ---- Philox4x32-10 ---------------------------------------------------- */

void mdl_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        if (r > 0) { /* key schedule: Weyl sequence bump before rounds 2..10 */
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        uint64_t a = (uint64_t)c0 * 0xD2511F53u;
        uint64_t b = (uint64_t)c2 * 0xCD9E8D57u;
        uint32_t n0 = (uint32_t)(b >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)b;
        uint32_t n2 = (uint32_t)(a >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)a;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

uint32_t mdl_sr_bits(uint64_t seed, uint64_t index)
{
    uint64_t blk = index / 4;
    uint32_t ctr[4] = {(uint32_t)blk, (uint32_t)(blk >> 32), 0, 0};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t out[4];
    mdl_philox(ctr, key, out);
    return out[index % 4];
}

/* ---- packing ------------------------------------------------------------ */

size_t mdl_bytes(unsigned bits, size_t n)
{
    return (n * bits + 7) / 8;
}

uint32_t mdl_get_code(unsigned bits, const void *buf, size_t i)
{
    const uint8_t *p = buf;
    uint32_t v = 0;
    if (bits % 8 == 0) { /* whole bytes, little-endian */
        for (unsigned k = 0; k < bits / 8; k++)
            v |= (uint32_t)p[i * (bits / 8) + k] << (8 * k);
        return v;
    }
    for (unsigned k = 0; k < bits; k++) {
        size_t bit = i * bits + k; /* position in the little-endian bit string */
        v |= (uint32_t)((p[bit / 8] >> (bit % 8)) & 1u) << k;
    }
    return v;
}

void mdl_put_code(unsigned bits, void *buf, size_t i, uint32_t code)
{
    uint8_t *p = buf;
    if (bits % 8 == 0) {
        for (unsigned k = 0; k < bits / 8; k++)
            p[i * (bits / 8) + k] = (uint8_t)(code >> (8 * k));
        return;
    }
    for (unsigned k = 0; k < bits; k++) {
        size_t bit = i * bits + k;
        uint8_t mask = (uint8_t)(1u << (bit % 8));
        if ((code >> k) & 1u)
            p[bit / 8] |= mask;
        else
            p[bit / 8] &= (uint8_t)~mask;
    }
}

uint64_t mdl_rand64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
