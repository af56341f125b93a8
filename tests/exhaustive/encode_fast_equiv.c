/*
 * encode_fast_equiv.c - formats/minifloat_fast.h against formats/minifloat.h.
 *
 * lb_mf_encode_fast must return the same code as lb_mf_encode for every f32
 * bit pattern, every minifloat spec, every rounding mode (nearest-even,
 * toward-zero, stochastic), saturating or not; lb_f16_decode_fast and
 * lb_bf16_decode_fast must match lb_mf_decode on all 65536 codes.
 *
 * Stochastic rounding: both encoders round away from zero iff
 * rbits < F(x) = floor(frac * 2^32), frac the dropped part of |x| as a
 * fraction of the target quantum, and nothing else depends on rbits.  F(x)
 * is computed here independently (double arithmetic, all steps exact) and
 * each input is checked at rbits = F-1 and F (both sides of the step), 0
 * and 2^32-1 (the results with and without rounding away), which pins the
 * result for every rbits.  As a check on F itself, the reference must
 * change its result between F-1 and F whenever F > 0, except where
 * |x| >= max finite (both results may then be the same overflow).
 *
 *   encode_fast_equiv --full  [--threads N] [--spec NAME] [--mode ne|tz|sr]
 *       all 2^32 patterns (suite 'exhaustive')
 *   encode_fast_equiv --quick [--threads N] [--stride K]
 *       every K-th pattern (default 97) plus, per spec, every code's value,
 *       the midpoints between neighbouring codes and the overflow threshold,
 *       each +-3 ulps, both signs, and the f32 specials (default suite)
 *
 * Prints one line per spec x mode x saturate with its count of inputs and
 * mismatches; exits 1 on any mismatch.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#endif
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "minifloat_fast.h"

/* ---- one spec x mode x saturate, over a list of inputs or a range ------ */

typedef struct {
    uint64_t inputs;      /* f32 patterns checked */
    uint64_t evals;       /* (pattern, rbits) pairs checked */
    uint64_t mismatches;
    uint64_t sr_steps;    /* SR inputs with F > 0 whose reference result steps at F */
    uint64_t sr_flat;     /* SR inputs with F > 0 and no step (saturated overflow) */
    uint64_t sr_bad_f;    /* SR inputs where F looks wrong (no step, not saturated) */
    uint32_t first_bad_u, first_bad_r, first_ref, first_fast;
} stats;

/* Independent F(x) = floor(frac * 2^32) for stochastic rounding, in double
 * arithmetic (every step exact: x and all scalings by powers of two are
 * exact in double, and the fraction has at most 24 significant bits). */
static uint32_t sr_threshold(float x, int mbits, int emin)
{
    if (!isfinite(x) || x == 0.0f)
        return 0;
    double ax = fabs((double)x);
    uint64_t db;
    memcpy(&db, &ax, sizeof db);
    int e = (int)(db >> 52) - 1023;          /* floor(log2 |x|): f32 values are double normals */
    int q = (e > emin ? e : emin) - mbits;   /* the target quantum is 2^q */
    uint64_t pb = (uint64_t)(1023 - q) << 52;
    double inv_quantum;
    memcpy(&inv_quantum, &pb, sizeof inv_quantum);
    double scaled = ax * inv_quantum;        /* |x| / 2^q, exact, < 2^(M+2) */
    double frac = scaled - (double)(uint64_t)scaled;
    return (uint32_t)(frac * 4294967296.0);  /* < 2^32; truncation = floor */
}

static void note_bad(stats *st, uint32_t u, uint32_t r, uint32_t ref, uint32_t fast)
{
    if (st->mismatches++ == 0) {
        st->first_bad_u = u;
        st->first_bad_r = r;
        st->first_ref = ref;
        st->first_fast = fast;
    }
}

/* Check pattern u; s, mode and sat are constants after inlining. */
static inline __attribute__((always_inline)) void check_one(lb_minifloat s, int mode, int sat, uint32_t u,
                                                            stats *st)
{
    const float x = lb_f32_from_bits(u);
    st->inputs++;
    if (mode != LB_ROUND_SR) {
        uint32_t ref = lb_mf_encode(s, x, mode, sat, 0u);
        uint32_t fast = lb_mf_encode_fast(s, x, mode, sat, 0u);
        st->evals++;
        if (ref != fast)
            note_bad(st, u, 0u, ref, fast);
        return;
    }
    const uint32_t f = sr_threshold(x, s.mbits, 1 - s.bias);
    /* r = 0 and 2^32-1: the rounded-away and the truncated result (when
     * F > 0); r = F-1 and F: the step is where the reference has it. */
    uint32_t rs[4], refs[4];
    int k = 0;
    rs[k++] = f;
    if (f > 0)
        rs[k++] = f - 1u;
    if (f != 0xFFFFFFFFu)
        rs[k++] = 0xFFFFFFFFu;
    if (f > 1)
        rs[k++] = 0u;
    for (int i = 0; i < k; i++) {
        uint32_t ref = lb_mf_encode(s, x, mode, sat, rs[i]);
        uint32_t fast = lb_mf_encode_fast(s, x, mode, sat, rs[i]);
        refs[i] = ref;
        st->evals++;
        if (ref != fast)
            note_bad(st, u, rs[i], ref, fast);
    }
    if (f > 0) {
        uint32_t at = refs[0], below = refs[1]; /* truncates; rounds away */
        if (below != at) {
            st->sr_steps++;
        } else {
            /* no step: only when both results are overflow results, which
             * needs |x| >= the largest finite value */
            if (fabsf(x) >= lb_mf_decode(s, s.max_code))
                st->sr_flat++;
            else
                st->sr_bad_f++;
        }
    }
}

/* Specialised range checkers: one per spec x mode x saturate. */
typedef void (*range_fn)(uint64_t begin, uint64_t end, uint64_t stride, stats *st);
typedef void (*list_fn)(const uint32_t *us, size_t n, stats *st);

#define LB_DEF_CHECKERS(NAME, MODE, SAT)                                                         \
    static void range_##NAME##_##MODE##_##SAT(uint64_t begin, uint64_t end, uint64_t stride,     \
                                              stats *st)                                         \
    {                                                                                            \
        for (uint64_t v = begin; v < end; v += stride)                                           \
            check_one(lb_spec_##NAME(), MODE, SAT, (uint32_t)v, st);                             \
    }                                                                                            \
    static void list_##NAME##_##MODE##_##SAT(const uint32_t *us, size_t n, stats *st)            \
    {                                                                                            \
        for (size_t i = 0; i < n; i++)                                                           \
            check_one(lb_spec_##NAME(), MODE, SAT, us[i], st);                                   \
    }

#define LB_DEF_SPEC(NAME)               \
    LB_DEF_CHECKERS(NAME, LB_ROUND_NE, 0) \
    LB_DEF_CHECKERS(NAME, LB_ROUND_NE, 1) \
    LB_DEF_CHECKERS(NAME, LB_ROUND_TZ, 0) \
    LB_DEF_CHECKERS(NAME, LB_ROUND_TZ, 1) \
    LB_DEF_CHECKERS(NAME, LB_ROUND_SR, 0) \
    LB_DEF_CHECKERS(NAME, LB_ROUND_SR, 1)

LB_DEF_SPEC(f16)
LB_DEF_SPEC(bf16)
LB_DEF_SPEC(e4m3)
LB_DEF_SPEC(e5m2)
LB_DEF_SPEC(e4m3fnuz)
LB_DEF_SPEC(e5m2fnuz)
LB_DEF_SPEC(e3m2)
LB_DEF_SPEC(e2m3)
LB_DEF_SPEC(e2m1)

typedef struct {
    const char *name;
    lb_minifloat (*spec)(void);
    range_fn range[3][2];
    list_fn list[3][2];
} spec_entry;

#define LB_ENTRY(NAME)                                                                              \
    {#NAME, lb_spec_##NAME,                                                                         \
     {{range_##NAME##_LB_ROUND_NE_0, range_##NAME##_LB_ROUND_NE_1},                                \
      {range_##NAME##_LB_ROUND_TZ_0, range_##NAME##_LB_ROUND_TZ_1},                                \
      {range_##NAME##_LB_ROUND_SR_0, range_##NAME##_LB_ROUND_SR_1}},                               \
     {{list_##NAME##_LB_ROUND_NE_0, list_##NAME##_LB_ROUND_NE_1},                                  \
      {list_##NAME##_LB_ROUND_TZ_0, list_##NAME##_LB_ROUND_TZ_1},                                  \
      {list_##NAME##_LB_ROUND_SR_0, list_##NAME##_LB_ROUND_SR_1}}}

static const spec_entry kSpecs[] = {
    LB_ENTRY(f16), LB_ENTRY(bf16), LB_ENTRY(e4m3), LB_ENTRY(e5m2), LB_ENTRY(e4m3fnuz),
    LB_ENTRY(e5m2fnuz), LB_ENTRY(e3m2), LB_ENTRY(e2m3), LB_ENTRY(e2m1),
};
static const int kNumSpecs = (int)(sizeof kSpecs / sizeof kSpecs[0]);
static const char *const kModeNames[3] = {"ne", "tz", "sr"};

/* ---- threads: the 2^32 range in chunks, taken dynamically --------------- */

#define CHUNK_BITS 22

typedef struct {
    range_fn fn;
    uint64_t stride;
    uint64_t chunks;
    uint64_t next; /* protected by mu */
    pthread_mutex_t mu;
    stats total;
} job;

static void stats_add(stats *a, const stats *b)
{
    if (b->mismatches && !a->mismatches) {
        a->first_bad_u = b->first_bad_u;
        a->first_bad_r = b->first_bad_r;
        a->first_ref = b->first_ref;
        a->first_fast = b->first_fast;
    }
    a->inputs += b->inputs;
    a->evals += b->evals;
    a->mismatches += b->mismatches;
    a->sr_steps += b->sr_steps;
    a->sr_flat += b->sr_flat;
    a->sr_bad_f += b->sr_bad_f;
}

static void *worker(void *arg)
{
    job *j = arg;
    stats local;
    memset(&local, 0, sizeof local);
    for (;;) {
        pthread_mutex_lock(&j->mu);
        uint64_t c = j->next++;
        pthread_mutex_unlock(&j->mu);
        if (c >= j->chunks)
            break;
        uint64_t lo = c << CHUNK_BITS, hi = (c + 1) << CHUNK_BITS;
        /* first multiple of stride at or above lo */
        uint64_t first = (lo + j->stride - 1) / j->stride * j->stride;
        j->fn(first, hi, j->stride, &local);
    }
    pthread_mutex_lock(&j->mu);
    stats_add(&j->total, &local);
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

static stats run_range(range_fn fn, uint64_t stride, int threads)
{
    job j;
    memset(&j, 0, sizeof j);
    j.fn = fn;
    j.stride = stride;
    j.chunks = ((uint64_t)1 << 32) >> CHUNK_BITS;
    pthread_mutex_init(&j.mu, NULL);
    pthread_t tid[64];
    if (threads < 1)
        threads = 1;
    if (threads > 64)
        threads = 64;
    for (int i = 0; i < threads; i++)
        if (pthread_create(&tid[i], NULL, worker, &j) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            exit(2);
        }
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    pthread_mutex_destroy(&j.mu);
    return j.total;
}

/* ---- boundary inputs of one spec (quick mode) ----------------------------- */

static void push(uint32_t **v, size_t *n, size_t *cap, uint32_t u)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4096;
        *v = realloc(*v, *cap * sizeof **v);
        if (!*v) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
    }
    (*v)[(*n)++] = u;
}

/* Each code's value, the midpoint to the next code (the overflow threshold
 * after max_code), +-3 ulps around each, both signs; the f32 specials. */
static uint32_t *boundary_inputs(lb_minifloat s, size_t *count)
{
    uint32_t *v = NULL;
    size_t n = 0, cap = 0;
    for (uint32_t c = 0; c <= s.max_code; c++) {
        double lo = lb_mf_decode(s, c);
        double hi = c < s.max_code ? (double)lb_mf_decode(s, c + 1)
                                   : 2.0 * lo - (double)lb_mf_decode(s, c - 1);  /* one quantum above max */
        float pts[3] = {(float)lo, (float)((lo + hi) / 2.0), (float)hi};  /* exact in f32 */
        for (int p = 0; p < 3; p++) {
            uint32_t b = lb_f32_bits(pts[p]);
            for (int d = -3; d <= 3; d++) {
                uint32_t w = b + (uint32_t)d;
                if ((int64_t)b + d < 0 || w > 0x7F800000u)
                    continue;
                push(&v, &n, &cap, w);
                push(&v, &n, &cap, w | 0x80000000u);
            }
        }
    }
    static const uint32_t specials[] = {
        0x00000000u, 0x00000001u, 0x00000002u, 0x003FFFFFu, 0x00400000u, 0x00400001u, 0x007FFFFFu,
        0x00800000u, 0x00800001u, 0x3F800000u, 0x7F7FFFFFu, 0x7F7FFFFEu, 0x7F800000u, 0x7F800001u,
        0x7F800002u, 0x7FBFFFFFu, 0x7FC00000u, 0x7FC00001u, 0x7FDFFFFFu, 0x7FE00000u, 0x7FFFE000u,
        0x7FFFFFFFu, 0x7F802000u, 0x7F810000u, 0x7FA5A5A5u,
    };
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) {
        push(&v, &n, &cap, specials[i]);
        push(&v, &n, &cap, specials[i] | 0x80000000u);
    }
    *count = n;
    return v;
}

/* ---- decoders ------------------------------------------------------------- */

static uint64_t check_decoders(void)
{
    uint64_t bad = 0;
    lb_minifloat f16 = lb_spec_f16(), bf16 = lb_spec_bf16();
    for (uint32_t c = 0; c < 65536u; c++) {
        uint32_t r1 = lb_f32_bits(lb_mf_decode(f16, c)), f1 = lb_f32_bits(lb_f16_decode_fast(c));
        uint32_t r2 = lb_f32_bits(lb_mf_decode(bf16, c)), f2 = lb_f32_bits(lb_bf16_decode_fast(c));
        if (r1 != f1) {
            if (bad < 5)
                printf("  f16 decode 0x%04X: ref 0x%08X fast 0x%08X\n", c, r1, f1);
            bad++;
        }
        if (r2 != f2) {
            if (bad < 5)
                printf("  bf16 decode 0x%04X: ref 0x%08X fast 0x%08X\n", c, r2, f2);
            bad++;
        }
    }
    printf("decode f16, bf16: 2 x 65536 codes, %llu mismatches\n", (unsigned long long)bad);
    return bad;
}

/* ---- main ----------------------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void report(const char *spec, int mode, int sat, const char *what, const stats *st, double secs)
{
    printf("%-9s %s sat=%d %-9s inputs %11llu evals %11llu mismatches %llu", spec, kModeNames[mode], sat, what,
           (unsigned long long)st->inputs, (unsigned long long)st->evals, (unsigned long long)st->mismatches);
    if (mode == LB_ROUND_SR)
        printf(" (F steps %llu, saturated %llu, bad F %llu)", (unsigned long long)st->sr_steps,
               (unsigned long long)st->sr_flat, (unsigned long long)st->sr_bad_f);
    printf("  %.1fs\n", secs);
    if (st->mismatches)
        printf("  first: x=0x%08X rbits=0x%08X ref 0x%X fast 0x%X\n", st->first_bad_u, st->first_bad_r,
               st->first_ref, st->first_fast);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int full = 0, threads = 2;
    uint64_t stride = 97;
    const char *only_spec = NULL;
    int only_mode = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--full"))
            full = 1;
        else if (!strcmp(argv[i], "--quick"))
            full = 0;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--stride") && i + 1 < argc)
            stride = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--spec") && i + 1 < argc)
            only_spec = argv[++i];
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
            const char *m = argv[++i];
            only_mode = !strcmp(m, "ne") ? 0 : !strcmp(m, "tz") ? 1 : !strcmp(m, "sr") ? 2 : -2;
            if (only_mode == -2) {
                fprintf(stderr, "unknown mode %s\n", m);
                return 2;
            }
        } else {
            fprintf(stderr,
                    "usage: %s [--full|--quick] [--threads N] [--stride K] [--spec NAME] [--mode ne|tz|sr]\n",
                    argv[0]);
            return 2;
        }
    }
    if (full)
        stride = 1;
    if (stride < 1)
        stride = 1;

    uint64_t bad = check_decoders();
    uint64_t total_inputs = 0, total_evals = 0, combos = 0;
    const double t0 = now();
    for (int si = 0; si < kNumSpecs; si++) {
        const spec_entry *e = &kSpecs[si];
        if (only_spec && strcmp(only_spec, e->name))
            continue;
        size_t nb = 0;
        uint32_t *bnd = full ? NULL : boundary_inputs(e->spec(), &nb);
        for (int mode = 0; mode < 3; mode++) {
            if (only_mode >= 0 && mode != only_mode)
                continue;
            for (int sat = 0; sat < 2; sat++) {
                double t = now();
                stats st = run_range(e->range[mode][sat], stride, threads);
                report(e->name, mode, sat, full ? "all" : "sampled", &st, now() - t);
                if (!full) {
                    stats sb;
                    memset(&sb, 0, sizeof sb);
                    e->list[mode][sat](bnd, nb, &sb);
                    report(e->name, mode, sat, "boundary", &sb, 0.0);
                    stats_add(&st, &sb);
                }
                bad += st.mismatches + st.sr_bad_f;
                total_inputs += st.inputs;
                total_evals += st.evals;
                combos++;
            }
        }
        free(bnd);
    }
    printf("%s: %llu spec x mode x saturate combinations, %llu inputs, %llu encoder pairs compared, "
           "%llu failures, %.1fs\n",
           bad ? "FAIL" : "PASS", (unsigned long long)combos, (unsigned long long)total_inputs,
           (unsigned long long)total_evals, (unsigned long long)bad, now() - t0);
    if (combos == 0) {
        printf("FAIL: nothing selected\n");
        return 1;
    }
    return bad ? 1 : 0;
}
