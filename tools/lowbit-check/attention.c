/*
 * attention.c - attention: the reference against an f64 attention over the
 * same cache contents and lb_expf against a correctly rounded exp
 * (self-checks), then every attention kernel against the reference bit for
 * bit over every KV format, Q type, output type, head layout, causal and
 * masked calls, paged caches with shuffled block tables, random bits in
 * codes and scales, and several thread counts.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "run.h"
#include "lowbit.h"
#include "kv_formats.h"
#include "src/attention_kv.h"
#include "formats/exp.h"

static kv_fmt kv_fmts[KV_FORMATS_MAX];
static size_t nkv;

/* Mixed K / V pairs (indices into kv_fmts), after each format with itself. */
static const size_t mixed_pairs[][2] = {{3, 19}, {8, 15}, {13, 11}, {20, 12}, {18, 20}, {21, 4}};

static void kv_fmts_init(void)
{
    if (!nkv)
        nkv = kv_formats_fill(kv_fmts);
}

/* One attention call with its buffers. */
typedef struct attn_case {
    lowbit_kv_cache k, v;
    float head_scales_k[8], head_scales_v[8];
    int32_t *table;
    size_t table_len;
    uint8_t *q;
    float *mask;
    lowbit_attention_args a;
    size_t out_bytes;
    char ctx[200];
} attn_case;

static const lowbit_dtype q_types[] = {LOWBIT_F32, LOWBIT_BF16, LOWBIT_F16, LOWBIT_E4M3, LOWBIT_E5M2};
static const lowbit_dtype out_types[] = {LOWBIT_F32, LOWBIT_BF16, LOWBIT_F16};

static float sample(rng *g, int dist, size_t channel)
{
    double x = rng_normal(g);
    if (dist == 1 && channel % 37 == 5)
        x *= 40.0; /* outlier channels, as real K caches have */
    if (dist == 2)
        x *= ldexp(1.0, (int)rng_below(g, 40) - 20);
    return (float)x;
}

static int cache_make(lowbit_kv_cache *c, float *hs, const lowbit_format *f, uint32_t D, uint32_t H, uint32_t pt,
                      size_t pages, rng *g)
{
    memset(c, 0, sizeof *c);
    c->format = *f;
    c->head_dim = D;
    c->kv_heads = H;
    c->page_tokens = pt;
    for (uint32_t h = 0; h < H; h++)
        hs[h] = (float)(0.01 + rng_unit(g) * 0.05);
    c->head_scales = hs;
    size_t pb;
    if (lowbit_kv_page_bytes(c, &pb) != LOWBIT_OK)
        return -1;
    c->page_count = pages;
    c->pages_bytes = pages * pb;
    c->pages = malloc(c->pages_bytes ? c->pages_bytes : 1);
    /* Unwritten slots hold junk: the block table never points at them for
     * visible positions, and junk there must not matter. */
    for (size_t i = 0; i < c->pages_bytes; i++)
        ((uint8_t *)c->pages)[i] = (uint8_t)rng_u32(g);
    return 0;
}

/* Random bits over a few codes and scales of the visible positions. */
static void cache_poke(lowbit_kv_cache *c, const int32_t *table, size_t kv_len, rng *g, int n)
{
    size_t pb;
    lowbit_kv_page_bytes(c, &pb);
    if (!kv_len)
        return;
    for (int i = 0; i < n; i++) {
        size_t pos = rng_below(g, (uint32_t)kv_len);
        size_t page = (size_t)table[pos / c->page_tokens];
        size_t off = rng_below(g, (uint32_t)pb);
        ((uint8_t *)c->pages)[page * pb + off] = (uint8_t)rng_u32(g);
    }
}

static void case_free(attn_case *c)
{
    free(c->k.pages);
    free(c->v.pages);
    free(c->table);
    free(c->q);
    free(c->mask);
}

/* A case: KV formats fk / fv, shape drawn from g (index idx varies it);
 * clean: normal data only, no random bits. */
static int case_make(attn_case *c, const lowbit_format *fk, const lowbit_format *fv, size_t idx, int clean, rng *g)
{
    static const uint32_t dims[] = {64, 128, 256, 16, 80};
    static const uint32_t heads[][2] = {{1, 1}, {4, 1}, {8, 2}, {3, 3}, {6, 2}};
    static const size_t lens[] = {1, 63, 64, 65, 130, 200, 0, 129};
    static const size_t qts[] = {1, 1, 5, 17, 40};
    static const uint32_t pts[] = {16, 1, 64, 5};
    memset(c, 0, sizeof *c);
    uint32_t D = dims[idx % 5];
    if ((fk->block_cols && D % fk->block_cols) || (fv->block_cols && D % fv->block_cols)) {
        /* the least multiple of both blocks that is at least 64 (g48 x g64: 192) */
        uint32_t bk = fk->block_cols ? fk->block_cols : 16, bv = fv->block_cols ? fv->block_cols : 16, l = bk;
        while (l % bv)
            l += bk;
        for (D = l; D < 64; D += l) {
        }
    }
    uint32_t hq = heads[(idx / 5) % 5][0], hkv = heads[(idx / 5) % 5][1];
    size_t kv_len = lens[(idx * 7 + 3) % 8];
    size_t nq = qts[(idx / 3) % 5];
    if (cfg.quick && kv_len > 65)
        kv_len = 65;
    uint32_t pt = pts[(idx / 2) % 4];
    int causal = (idx & 1) != 0, use_mask = (idx % 3) == 1, dist = clean ? 0 : (int)(idx % 3);
    size_t pages = (kv_len + pt - 1) / pt + 2;
    if (cache_make(&c->k, c->head_scales_k, fk, D, hkv, pt, pages, g) ||
        cache_make(&c->v, c->head_scales_v, fv, D, hkv, pt, pages, g))
        return -1;
    c->table_len = pages;
    c->table = malloc(pages * sizeof *c->table);
    for (size_t i = 0; i < pages; i++)
        c->table[i] = (int32_t)i;
    for (size_t i = pages; i > 1; i--) { /* shuffle: pages in any order */
        size_t k = rng_below(g, (uint32_t)i);
        int32_t t = c->table[i - 1];
        c->table[i - 1] = c->table[k];
        c->table[k] = t;
    }
    if (kv_len) {
        float *x = malloc(kv_len * hkv * D * sizeof *x);
        for (int which = 0; which < 2; which++) {
            for (size_t i = 0; i < kv_len * hkv * D; i++)
                x[i] = sample(g, dist, i % D) * (which ? 1.0f : 0.3f);
            lowbit_kv_cache *kc = which ? &c->v : &c->k;
            /* in two appends, the second starting mid-page */
            size_t first = kv_len / 3;
            if (lowbit_kv_append(kc, c->table, c->table_len, 0, first, LOWBIT_F32, x, hkv * D) != LOWBIT_OK ||
                lowbit_kv_append(kc, c->table, c->table_len, first, kv_len - first, LOWBIT_F32,
                                 x + first * hkv * D, hkv * D) != LOWBIT_OK) {
                free(x);
                return -1;
            }
        }
        free(x);
        if (!clean && idx % 4 == 3) {
            cache_poke(&c->k, c->table, kv_len, g, 6);
            cache_poke(&c->v, c->table, kv_len, g, 6);
        }
    }
    lowbit_dtype qt = q_types[idx % 5];
    size_t q_stride = hq * D + (idx % 2) * 16;
    c->q = malloc(hx_bytes(qt, nq * q_stride));
    for (size_t i = 0; i < nq * q_stride; i++) {
        float x = sample(g, dist, i % D);
        uint32_t code = qt == LOWBIT_F32 ? f32_bits(x) : lb_encode(qt, x, LB_ROUND_NE, 1, 0);
        if (!clean && idx % 11 == 7 && rng_below(g, 500) == 0)
            code = rng_u32(g); /* random bits: NaN, Inf, subnormals */
        hx_put(qt, c->q, i, qt == LOWBIT_F32 ? code : code & (hx_bits(qt) == 16 ? 0xFFFFu : 0xFFu));
    }
    size_t mask_stride = kv_len + (idx % 2) * 3;
    if (use_mask && kv_len) {
        c->mask = malloc(nq * mask_stride * sizeof *c->mask);
        for (size_t i = 0; i < nq * mask_stride; i++) {
            uint32_t u = rng_below(g, 8);
            c->mask[i] = u == 0 ? -INFINITY : u == 1 ? 0.0f : (float)(rng_normal(g) * 2.0);
        }
    }
    lowbit_attention_args *a = &c->a;
    a->q_heads = hq;
    a->q_tokens = nq;
    a->q_type = qt;
    a->q = c->q;
    a->q_stride = q_stride;
    a->q_scale = qt == LOWBIT_E4M3 || qt == LOWBIT_E5M2 ? 0.125f : 1.0f;
    a->k = &c->k;
    a->v = &c->v;
    a->block_table = c->table;
    a->block_table_len = c->table_len;
    a->kv_len = kv_len;
    a->q_pos = kv_len >= nq ? kv_len - nq : 0;
    a->scale = 1.0f / sqrtf((float)D);
    a->mask = c->mask;
    a->mask_stride = mask_stride;
    a->out_type = out_types[(idx / 2) % 3];
    a->out_stride = hq * D + (idx % 3) * 8;
    a->flags = causal ? LOWBIT_ATTN_CAUSAL : 0;
    c->out_bytes = hx_bytes(a->out_type, nq * a->out_stride);
    snprintf(c->ctx, sizeof c->ctx, "D=%u heads=%u/%u q=%zu(%s) kv_len=%zu page=%u %s%s out=%s", D, hq, hkv, nq,
             lowbit_dtype_name(qt), kv_len, pt, causal ? "causal" : "full", use_mask ? " mask" : "",
             lowbit_dtype_name(a->out_type));
    return 0;
}

typedef struct attn_call {
    const lb_kernel *k;
    lb_attn_job j;
    lowbit_status st;
} attn_call;

static void attn_tramp(void *p)
{
    attn_call *c = p;
    c->st = lb_run_attention(c->k, &c->j);
}

/* Run k on the case into a fresh guarded, junk-filled output; 0 if clean. */
static int run_attention(check_row *r, const lb_kernel *k, attn_case *c, gbuf *out, const char *ctx)
{
    gbuf_alloc(out, c->out_bytes, 4);
    gbuf_junk(out, 11);
    uint8_t *before = malloc(c->out_bytes);
    memcpy(before, out->p, c->out_bytes);
    lowbit_attention_args a = c->a;
    a.out = out->p;
    attn_call call = {k, {0}, LOWBIT_OK};
    lowbit_status st = lb_attn_job_init(&call.j, &a, 0);
    if (st != LOWBIT_OK) {
        r->mismatches++;
        row_event(r, "%s: the case was refused: %s (%s)", ctx, lowbit_status_string(st), lowbit_last_error());
        free(before);
        gbuf_free(out);
        return -1;
    }
    int sig = crash_call(attn_tramp, &call);
    int bad = 0;
    if (sig) {
        r->crashes++;
        row_event(r, "%s: %s crashed with %s", ctx, k->name, signal_name(sig));
        bad = 1;
    } else if (call.st != LOWBIT_OK) {
        r->mismatches++;
        row_event(r, "%s: %s returned %s (%s)", ctx, k->name, lowbit_status_string(call.st), lowbit_last_error());
        bad = 1;
    } else {
        bad = gbuf_verify(out, r, "out", ctx);
        /* the gap between q_heads * head_dim and out_stride keeps its bytes */
        size_t row = (size_t)a.q_heads * a.k->head_dim, eb = hx_bytes(a.out_type, 1);
        for (size_t i = 0; i + 1 < a.q_tokens && !bad; i++)
            if (memcmp(out->p + (i * a.out_stride + row) * eb, before + (i * a.out_stride + row) * eb,
                       (a.out_stride - row) * eb)) {
                r->guards++;
                row_event(r, "%s: %s wrote between rows of out (token %zu)", ctx, k->name, i);
                bad = 1;
            }
    }
    free(before);
    if (bad)
        gbuf_free(out);
    return bad ? -1 : 0;
}

static void compare_out(check_row *r, const attn_case *c, const uint8_t *want, const uint8_t *got, const char *ctx)
{
    const lowbit_attention_args *a = &c->a;
    size_t row = (size_t)a->q_heads * a->k->head_dim;
    for (size_t i = 0; i < a->q_tokens; i++)
        for (size_t e = 0; e < row; e++) {
            size_t at = i * a->out_stride + e;
            uint32_t w = hx_get(a->out_type, want, at), g = hx_get(a->out_type, got, at);
            r->cases++;
            if (w != g) {
                char ws[64], gs[64];
                describe_code(a->out_type, w, ws, sizeof ws);
                describe_code(a->out_type, g, gs, sizeof gs);
                row_diff(r, "%s: token %zu head %zu d %zu: want %s got %s", ctx, i, e / a->k->head_dim,
                         e % a->k->head_dim, ws, gs);
            }
        }
}

/* ---- self-checks --------------------------------------------------------- */

/* lb_expf against exp in f64: at most LB_EXP_MAX_ULP (normal
 * results), exactly 0 / Inf / NaN / 1 where those are due. */
static void selfcheck_exp(void)
{
    check_row r;
    if (!row_begin(&r, "attention", "selfcheck:exp vs f64", "ref", "lb_expf", 1))
        return;
    rng g;
    rng_for(&g, "exp");
    size_t n = cfg.quick ? 200000 : 2000000;
    double worst = 0;
    float worst_at = 0;
    /* edge[0] must stay 0 (the injected fault's input); the last is the
     * worst input of the exhaustive measurement (docs/semantics.md). */
    static const float edge[] = {0.0f, -0.0f, -INFINITY, INFINITY, 88.72283f, 88.72284f, -103.97f, -87.33655f,
                                 0x1.2e3aa8p+5f};
    const size_t nedge = sizeof edge / sizeof edge[0];
    for (size_t i = 0; i < n + nedge; i++) {
        float x = i < n ? (float)(rng_unit(&g) * 193.0 - 104.0) : edge[i - n];
        float got = lb_expf(x);
        if (cfg.inject_fault && i == n) /* x = 0: a random x may round to 0 */
            got = got * 1.5f;
        double want = exp((double)x);
        r.cases++;
        if (want > 3.4028234663852886e38) {
            if (!isinf(got))
                row_diff(&r, "exp(%a) = %a, want +Inf", (double)x, (double)got);
            continue;
        }
        double u = ldexp(1.0, ilogb(want > 0x1p-126 ? want : 0x1p-126) - 23);
        double err = fabs((double)got - want) / u;
        if (err > worst) {
            worst = err;
            worst_at = x;
        }
        if (err > LB_EXP_MAX_ULP)
            row_diff(&r, "exp(%a) = %a, f64 %a: %.3f ulp", (double)x, (double)got, want, err);
    }
    if (lb_expf(NAN) == lb_expf(NAN))
        row_diff(&r, "exp(NaN) is not NaN");
    if (lb_expf(0.0f) != 1.0f)
        row_diff(&r, "exp(0) is not 1");
    if (cfg.verbose)
        printf("  lb_expf: worst %.4f ulp at %a over %zu samples\n", worst, (double)worst_at, n);
    row_end(&r);
}

/* The reference against attention in f64 over the dequantized cache: the
 * exact semantics may differ from it only by f32 rounding. */
static void selfcheck_reference(const lb_kernel *ref)
{
    check_row r;
    if (!row_begin(&r, "attention", "selfcheck:ref vs f64", "ref", ref->name, 1))
        return;
    rng g;
    rng_for(&g, "attention-f64");
    for (size_t fi = 0; fi < nkv; fi++) {
        attn_case c;
        if (case_make(&c, &kv_fmts[fi].f, &kv_fmts[fi].f, fi * 10 + 4, 1, &g) != 0) {
            row_event(&r, "%s: case refused", kv_fmts[fi].name);
            continue;
        }
        c.a.out_type = LOWBIT_F32;
        c.a.mask = NULL;
        c.a.q_type = LOWBIT_F32;
        c.a.q_scale = 1.0f;
        free(c.q);
        c.q = malloc(c.a.q_tokens * c.a.q_stride * sizeof(float));
        c.a.q = c.q;
        for (size_t i = 0; i < c.a.q_tokens * c.a.q_stride; i++)
            ((float *)c.q)[i] = (float)rng_normal(&g);
        c.out_bytes = hx_bytes(LOWBIT_F32, c.a.q_tokens * c.a.out_stride);
        gbuf out;
        if (run_attention(&r, ref, &c, &out, kv_fmts[fi].name) == 0) {
            lb_attn_job j;
            lowbit_attention_args a = c.a;
            a.out = out.p;
            lb_attn_job_init(&j, &a, 0);
            const uint32_t D = j.D;
            double *s = malloc((j.kv_len + 1) * sizeof *s);
            for (size_t i = 0; i < j.q_tokens; i++)
                for (size_t h = 0; h < j.q_heads; h++) {
                    size_t vis = lb_attn_visible(&j, i), gk = h / j.group;
                    double m = -INFINITY, l = 0;
                    for (size_t t = 0; t < vis; t++) {
                        lb_kv_token kt = lb_kv_locate(&j.k, j.table, t, (uint32_t)gk);
                        double d = 0;
                        for (uint32_t e = 0; e < D; e++)
                            d += (double)lb_attn_q_elem(&j, i, h, e) * lb_kv_elem(&j.k, &kt, e) *
                                 lb_kv_scale(&j.k, &kt, e / j.k.blk);
                        s[t] = d * j.score_scale;
                        if (s[t] > m)
                            m = s[t];
                    }
                    for (size_t t = 0; t < vis; t++)
                        l += s[t] = exp(s[t] - m);
                    double onorm = 0, err = 0;
                    for (uint32_t e = 0; e < D; e++) {
                        double o = 0;
                        for (size_t t = 0; t < vis; t++) {
                            lb_kv_token vt = lb_kv_locate(&j.v, j.table, t, (uint32_t)gk);
                            o += s[t] * lb_kv_elem(&j.v, &vt, e) * lb_kv_scale(&j.v, &vt, e / j.v.blk);
                        }
                        o = vis ? o / l : 0;
                        float got;
                        memcpy(&got, out.p + 4 * (i * j.out_stride + h * D + e), 4);
                        if (cfg.inject_fault && e == 0)
                            got = got * 1.5f + 1.0f;
                        onorm = fmax(onorm, fabs(o));
                        err = fmax(err, fabs(got - o));
                        r.cases++;
                    }
                    /* f32 accumulation over up to a few hundred keys and 256 elements */
                    if (err > 2e-5 * (onorm + 1e-30) + 1e-37)
                        row_diff(&r, "%s %s: token %zu head %zu: max error %.3g against |o| %.3g", kv_fmts[fi].name,
                                 c.ctx, i, h, err, onorm);
                }
            free(s);
            gbuf_free(&out);
        }
        case_free(&c);
    }
    row_end(&r);
}

/* ---- the kernels ----------------------------------------------------------- */

void check_attention(void)
{
    kv_fmts_init();
    const lb_kernel *ref = find_ref_kernel(LOWBIT_OP_ATTENTION);
    if (!ref)
        return;
    if (kernel_selected(ref)) {
        note_kernel_checked(ref);
        selfcheck_exp();
        selfcheck_reference(ref);
    }
    static const int thread_counts[] = {1, 2, 3, 8};
    for (size_t ki = 0; ki < lb_registry_size; ki++) {
        const lb_kernel *k = lb_registry[ki];
        if (k->op != LOWBIT_OP_ATTENTION || k == ref || !kernel_selected(k))
            continue;
        const char *why;
        if (!kernel_runnable(k, &why)) {
            note_kernel_skipped(k, why);
            continue;
        }
        note_kernel_checked(k);
        /* every format for K and V alike, then a few mixed pairs */
        const size_t nmixed = sizeof mixed_pairs / sizeof mixed_pairs[0];
        for (size_t fi = 0; fi < nkv + nmixed; fi++) {
            size_t a = fi < nkv ? fi : mixed_pairs[fi - nkv][0], b = fi < nkv ? fi : mixed_pairs[fi - nkv][1];
            char formats[64];
            snprintf(formats, sizeof formats, "k=%s v=%s", kv_fmts[a].name, kv_fmts[b].name);
            check_row r;
            if (!row_begin(&r, "attention", formats, lowbit_backend_name(k->backend), k->name, k->exact))
                continue;
            rng g;
            rng_for(&g, formats);
            size_t ncases = cfg.quick ? 6 : 16;
            for (size_t ci = 0; ci < ncases; ci++) {
                attn_case c;
                size_t idx = ci * 7 + fi;
                if (case_make(&c, &kv_fmts[a].f, &kv_fmts[b].f, idx, 0, &g) != 0) {
                    row_event(&r, "%s: the case could not be built: %s", formats, lowbit_last_error());
                    case_free(&c);
                    continue;
                }
                gbuf want, got;
                lowbit_set_num_threads(1);
                if (run_attention(&r, ref, &c, &want, c.ctx) == 0) {
                    int threads = thread_counts[ci % 4];
                    lowbit_set_num_threads(threads);
                    char ctx[260];
                    snprintf(ctx, sizeof ctx, "%s threads=%d", c.ctx, threads);
                    if (run_attention(&r, k, &c, &got, ctx) == 0) {
                        if (cfg.inject_fault)
                            inject_fault(c.a.out_type, got.p, 1);
                        compare_out(&r, &c, want.p, got.p, ctx);
                        gbuf_free(&got);
                    }
                    gbuf_free(&want);
                }
                lowbit_set_num_threads(0);
                case_free(&c);
            }
            row_end(&r);
        }
    }
}
