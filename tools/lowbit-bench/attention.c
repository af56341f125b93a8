/*
 * attention.c - attention over a paged, quantized KV cache:
 *
 *   decode   one query token per call against caches of 1k-32k tokens,
 *            reported as GB/s of KV-cache bytes read (elements, scales and
 *            zero points of K and V for every visible token) against the
 *            memcpy bandwidth measured in the same run; each timed call
 *            reads another sequence's cache, so the caches are cold
 *   prefill  a causal prompt of n tokens against itself, GFLOP/s with
 *            4 * head_dim * q_heads * n(n+1)/2 flops, against this library's
 *            exact GEMM on the same per-head shape (Q K^T: n x n x head_dim,
 *            FP8 per-tensor operands) timed in the same run
 *
 * Heads as in Llama-3-8B: 32 query heads over 8 kv heads, head_dim 128
 * (decode is also timed with 8 over 8, where each cache byte is used by one
 * query head only).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

typedef struct kv_choice {
    const char *name;
    lowbit_format f;
} kv_choice;

static size_t kv_choices(kv_choice *c)
{
    kv_choice list[] = {
        {"bf16", lowbit_format_plain(LOWBIT_BF16)},
        {"e4m3/head", lowbit_format_fp8_tensor(LOWBIT_E4M3)},
        {"int8/token", lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0)},
        {"int4 g32 f16 zp", lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 1)},
        {"mxfp8 e4m3", lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR)},
        {"mxfp4", lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR)},
        {"nvfp4 given", lowbit_format_nvfp4()},
    };
    list[6].f.flags |= LOWBIT_FMT_GIVEN_TENSOR_SCALE; /* the head scales below are its tensor scales */
    memcpy(c, list, sizeof list);
    return sizeof list / sizeof list[0];
}

typedef struct kv_seq {
    lowbit_kv_cache k, v;
    float scales[8];
} kv_seq;

enum { D = 128, HKV = 8, PAGE = 16 };

static lowbit_status seq_make(kv_seq *s, const lowbit_format *f, size_t len, const float *x)
{
    memset(s, 0, sizeof *s);
    for (int h = 0; h < HKV; h++)
        s->scales[h] = 4.0f / 448.0f;
    for (int w = 0; w < 2; w++) {
        lowbit_kv_cache *c = w ? &s->v : &s->k;
        c->format = *f;
        c->head_dim = D;
        c->kv_heads = HKV;
        c->page_tokens = PAGE;
        c->head_scales = s->scales;
        size_t pb;
        lowbit_status st = lowbit_kv_page_bytes(c, &pb);
        if (st != LOWBIT_OK)
            return st;
        c->page_count = (len + PAGE - 1) / PAGE;
        c->pages_bytes = c->page_count * pb;
        c->pages = alloc_touched(c->pages_bytes);
        /* the source repeats every 1024 tokens (x holds 2^20 floats) */
        for (size_t t0 = 0; t0 < len && st == LOWBIT_OK; t0 += 1024)
            st = lowbit_kv_append(c, NULL, 0, t0, len - t0 < 1024 ? len - t0 : 1024, LOWBIT_F32, x, HKV * D);
        if (st != LOWBIT_OK)
            return st;
    }
    return LOWBIT_OK;
}

static void seq_free(kv_seq *s)
{
    free(s->k.pages);
    free(s->v.pages);
}

/* Bytes of K and V one call reads: every visible token's elements, scales
 * and zero points (the tight sizes, not the page padding). */
static double kv_bytes(const lowbit_format *f, size_t len)
{
    lowbit_qtensor q;
    double per_token;
    if (f->scale_type == LOWBIT_DTYPE_COUNT) {
        per_token = (double)lowbit_dtype_bytes(f->elem, D);
    } else {
        lowbit_qtensor_init(&q, f, 1, D);
        per_token = (double)(lowbit_dtype_bytes(f->elem, D) +
                             (f->block_rows == 0 && f->block_cols == 0 ? 0 : q.scales_bytes) +
                             q.zero_points_bytes);
    }
    return 2.0 * per_token * HKV * (double)len;
}

/*
 * The paged layout's own read rate: one load per cache line of every kv
 * head's region of every page (rows, scales, zero points), head by head and
 * page by page as the kernel walks them, the heads split over the threads.
 * Pages put a head's tokens in short runs far apart; on some machines that
 * alone caps a thread well below its streaming rate, and this says how far.
 */
typedef struct layout_read {
    const kv_seq *seq;
    int sets;
    int calls[BENCH_MAX_THREADS];
    uint64_t sink[BENCH_MAX_THREADS];
} layout_read;

static void layout_read_work(void *arg, int index, int count)
{
    layout_read *lr = arg;
    const kv_seq *s = &lr->seq[lr->calls[index]++ % lr->sets];
    uint64_t x = 0;
    for (int h = index; h < HKV; h += count)
        for (size_t p = 0; p < s->k.page_count; p++)
            for (int w = 0; w < 2; w++) {
                const lowbit_kv_cache *c = w ? &s->v : &s->k;
                size_t head_bytes = c->pages_bytes / c->page_count / HKV;
                const uint8_t *b = (const uint8_t *)c->pages + (p * HKV + (size_t)h) * head_bytes;
                for (size_t i = 0; i < head_bytes; i += 64) {
                    uint64_t v;
                    memcpy(&v, b + i, sizeof v);
                    x ^= v;
                }
            }
    lr->sink[index] ^= x;
}

/* GB/s of layout_read over sets (each repetition reads another one). */
static double layout_read_gbps(const bench_config *cfg, const kv_seq *seq, int sets, int threads)
{
    layout_read lr = {.seq = seq, .sets = sets};
    int reps = cfg->reps > sets ? cfg->reps : sets;
    double *t = malloc((size_t)reps * sizeof *t);
    if (!t)
        die("out of memory");
    team_run(threads, 1, reps, layout_read_work, &lr, t);
    double med = median_of(t, reps);
    free(t);
    return (double)(seq[0].k.pages_bytes + seq[0].v.pages_bytes) / med / 1e9;
}

static void json_line(const char *kind, const char *formats, const char *shape, int threads, double secs,
                      double gbps, double gflops, double roof, const char *roof_name, const char *peer,
                      double peer_value, double peer_ratio)
{
    printf("{\"op\":\"attention\",\"kind\":\"%s\",\"formats\":\"%s\",\"backend\":\"%s\",\"shape\":\"%s\","
           "\"threads\":%d,\"seconds\":%.9g",
           kind, formats, lowbit_backend_name(lowbit_get_backend()), shape, threads, secs);
    if (gbps > 0)
        printf(",\"gbps\":%.6g", gbps);
    if (gflops > 0)
        printf(",\"gflops\":%.6g,\"tflops\":%.6g", gflops, gflops / 1000);
    printf(",\"roofline\":\"%s\",\"roofline_value\":%.6g,\"roofline_fraction\":%.6g,\"peer\":\"%s\","
           "\"peer_value\":%.6g,\"peer_ratio\":%.6g}\n",
           roof_name, roof, (gbps > 0 ? gbps : gflops) / roof, peer, peer_value, peer_ratio);
}

static int decode_bench(const bench_config *cfg, const roofline *r, const float *x, int *measured)
{
    kv_choice ch[8];
    size_t nch = kv_choices(ch);
    if (cfg->quick)
        nch = 2; /* a smoke run: bf16 and FP8 */
    static const size_t lens_full[] = {1024, 4096, 8192, 32768}, lens_quick[] = {256};
    const size_t *lens = cfg->quick ? lens_quick : lens_full;
    size_t nlens = cfg->quick ? 1 : 4;
    static const uint32_t qheads[] = {32, 8};
    FILE *o = table_out(cfg);
    int failures = 0;
    fprintf(o, "\nattention decode: 1 query token, head_dim %d, %d kv heads, pages of %d; GB/s = K+V cache bytes "
               "read / median call;\n  \"of copy\" = that / memcpy GB/s at the same thread count (cold caches: "
               "every call reads another sequence);\n  \"paged\" = GB/s of a loop that only loads every line of "
               "the same pages in the same order, \"of paged\" = GB/s / that\n",
            D, HKV, PAGE);
    fprintf(o, "%-18s %7s %6s %3s %10s %9s %8s %8s %8s\n", "kv format", "kv_len", "heads", "thr", "us/call", "GB/s",
            "of copy", "paged", "of paged");
    float q[32 * D], out[32 * D];
    for (size_t i = 0; i < 32 * D; i++)
        q[i] = x[i];
    for (size_t ci = 0; ci < nch; ci++) {
        if (cfg->filter && !strstr(ch[ci].name, cfg->filter))
            continue;
        for (size_t li = 0; li < nlens; li++) {
            size_t len = lens[li];
            double bytes = kv_bytes(&ch[ci].f, len);
            int sets = buffer_sets_for(cfg, r, bytes);
            if (sets < 2)
                sets = 2;
            if (cfg->quick && sets > 4)
                sets = 4;
            kv_seq *seq = calloc((size_t)sets, sizeof *seq);
            lowbit_status st = LOWBIT_OK;
            for (int s = 0; s < sets && st == LOWBIT_OK; s++)
                st = seq_make(&seq[s], &ch[ci].f, len, x);
            double paged[8] = {0};
            for (int ti = 0; ti < r->thread_count_n && ti < 8 && st == LOWBIT_OK; ti++)
                paged[ti] = layout_read_gbps(cfg, seq, sets, r->thread_counts[ti]);
            for (size_t hi = 0; hi < 2 && st == LOWBIT_OK; hi++) {
                for (int ti = 0; ti < r->thread_count_n; ti++) {
                    int threads = r->thread_counts[ti];
                    lowbit_set_num_threads(threads);
                    int reps = cfg->reps > sets ? cfg->reps : sets;
                    double *t = malloc((size_t)reps * sizeof *t);
                    for (int rep = -1; rep < reps && st == LOWBIT_OK; rep++) {
                        kv_seq *sq = &seq[(rep + 1) % sets];
                        lowbit_attention_args a = {.q_heads = qheads[hi], .q_tokens = 1, .q_type = LOWBIT_F32,
                                                   .q = q, .q_stride = qheads[hi] * D, .q_scale = 1, .k = &sq->k,
                                                   .v = &sq->v, .kv_len = len, .q_pos = len - 1,
                                                   .scale = 1.0f / sqrtf(D), .out_type = LOWBIT_F32, .out = out,
                                                   .out_stride = qheads[hi] * D};
                        double t0 = now_seconds();
                        st = lowbit_attention(&a);
                        if (rep >= 0)
                            t[rep] = now_seconds() - t0;
                    }
                    if (st != LOWBIT_OK) {
                        free(t);
                        break;
                    }
                    double med = median_of(t, reps);
                    free(t);
                    double gbps = bytes / med / 1e9, copy = roofline_copy_gbps(r, cfg, threads);
                    double pg = ti < 8 ? paged[ti] : 0;
                    fprintf(o, "%-18s %7zu %3u/%-2d %3d %10.1f %9.2f %8.3f %8.2f %8.3f\n", ch[ci].name, len,
                            qheads[hi], HKV, threads, med * 1e6, gbps, gbps / copy, pg, pg > 0 ? gbps / pg : 0);
                    if (cfg->json) {
                        char shape[64];
                        snprintf(shape, sizeof shape, "decode q=1 kv_len=%zu heads=%u/%d d=%d", len, qheads[hi],
                                 HKV, D);
                        json_line("decode", ch[ci].name, shape, threads, med, gbps, 0, copy, "memcpy_gbps",
                                  "paged_read", pg, pg > 0 ? gbps / pg : 0);
                    }
                    (*measured)++;
                }
            }
            if (st != LOWBIT_OK) {
                fprintf(o, "%-18s %7zu FAILED: %s: %s\n", ch[ci].name, len, lowbit_status_string(st),
                        lowbit_last_error());
                failures++;
            }
            for (int s = 0; s < sets; s++)
                seq_free(&seq[s]);
            free(seq);
        }
    }
    lowbit_set_num_threads(0);
    return failures;
}

/* The exact GEMM on the attention's per-head QK^T shape, in GFLOP/s. */
static double gemm_rate(size_t n, const float *x, int threads)
{
    lowbit_format f = lowbit_format_fp8_tensor(LOWBIT_E4M3);
    lowbit_qtensor a, b;
    lowbit_qtensor_init(&a, &f, n, D);
    lowbit_qtensor_init(&b, &f, n, D);
    a.data = malloc(a.data_bytes);
    a.scales = malloc(a.scales_bytes);
    b.data = malloc(b.data_bytes);
    b.scales = malloc(b.scales_bytes);
    float *c = malloc(n * n * sizeof *c);
    double best = 0;
    if (lowbit_quantize(&a, LOWBIT_F32, x, D, NULL) == LOWBIT_OK &&
        lowbit_quantize(&b, LOWBIT_F32, x + D, D, NULL) == LOWBIT_OK) {
        lowbit_set_num_threads(threads);
        double t[5];
        for (int rep = -1; rep < 5; rep++) {
            double t0 = now_seconds();
            lowbit_gemm(&a, &b, 1.0f, 0.0f, LOWBIT_F32, c, n, NULL);
            if (rep >= 0)
                t[rep] = now_seconds() - t0;
        }
        best = 2.0 * n * n * D / median_of(t, 5) / 1e9;
    }
    free(a.data);
    free(a.scales);
    free(b.data);
    free(b.scales);
    free(c);
    return best;
}

static int prefill_bench(const bench_config *cfg, const roofline *r, const float *x, int *measured)
{
    kv_choice ch[8];
    size_t nch = kv_choices(ch);
    if (cfg->quick)
        nch = 1;
    const size_t n = cfg->quick ? 64 : 1024;
    const uint32_t hq = 32;
    FILE *o = table_out(cfg);
    int failures = 0;
    fprintf(o, "\nattention prefill: causal, %zu tokens, heads %u/%d, head_dim %d; GFLOP/s = 4 d Hq n(n+1)/2 / median;\n"
               "  \"vs gemm\" = that / lowbit_gemm (exact, FP8 x FP8 per-tensor) on one head's Q K^T, %zu x %zu x %d\n",
            n, hq, HKV, D, n, n, D);
    fprintf(o, "%-18s %3s %10s %9s %9s %8s\n", "kv format", "thr", "ms/call", "GFLOP/s", "gemm", "vs gemm");
    float *q = malloc(n * hq * D * sizeof *q), *out = malloc(n * hq * D * sizeof *out);
    for (size_t i = 0; i < n * hq * D; i++)
        q[i] = x[i % ((size_t)1 << 20)];
    double gemm[2] = {0, 0};
    for (int ti = 0; ti < r->thread_count_n; ti++)
        gemm[ti] = gemm_rate(n, x, r->thread_counts[ti]);
    double flops = 4.0 * D * hq * (double)n * (double)(n + 1) / 2;
    for (size_t ci = 0; ci < nch; ci++) {
        if (cfg->filter && !strstr(ch[ci].name, cfg->filter))
            continue;
        kv_seq s;
        lowbit_status st = seq_make(&s, &ch[ci].f, n, x);
        for (int ti = 0; ti < r->thread_count_n && st == LOWBIT_OK; ti++) {
            int threads = r->thread_counts[ti];
            lowbit_set_num_threads(threads);
            int reps = cfg->quick ? 1 : 3;
            double t[3];
            for (int rep = -1; rep < reps && st == LOWBIT_OK; rep++) {
                lowbit_attention_args a = {.q_heads = hq, .q_tokens = n, .q_type = LOWBIT_F32, .q = q,
                                           .q_stride = hq * D, .q_scale = 1, .k = &s.k, .v = &s.v, .kv_len = n,
                                           .q_pos = 0, .scale = 1.0f / sqrtf(D), .out_type = LOWBIT_F32,
                                           .out = out, .out_stride = hq * D, .flags = LOWBIT_ATTN_CAUSAL};
                double t0 = now_seconds();
                st = lowbit_attention(&a);
                if (rep >= 0)
                    t[rep] = now_seconds() - t0;
            }
            if (st != LOWBIT_OK)
                break;
            double med = median_of(t, reps), gf = flops / med / 1e9;
            fprintf(o, "%-18s %3d %10.2f %9.2f %9.2f %8.3f\n", ch[ci].name, threads, med * 1e3, gf, gemm[ti],
                    gemm[ti] > 0 ? gf / gemm[ti] : 0);
            if (cfg->json) {
                char shape[64];
                snprintf(shape, sizeof shape, "prefill causal n=%zu heads=%u/%d d=%d", n, hq, HKV, D);
                double peak = r->fma_gflops[ti];
                json_line("prefill", ch[ci].name, shape, threads, med, 0, gf, peak, "fma_gflops",
                          "lowbit_gemm fp8 QK^T", gemm[ti], gemm[ti] > 0 ? gf / gemm[ti] : 0);
            }
            (*measured)++;
        }
        if (st != LOWBIT_OK) {
            fprintf(o, "%-18s FAILED: %s: %s\n", ch[ci].name, lowbit_status_string(st), lowbit_last_error());
            failures++;
        }
        seq_free(&s);
    }
    free(q);
    free(out);
    lowbit_set_num_threads(0);
    return failures;
}

int measure_attention(const bench_config *cfg, const roofline *r, int *measured)
{
    *measured = 0;
    if (cfg->op != -1 && cfg->op != LOWBIT_OP_ATTENTION)
        return 0;
    size_t nx = (size_t)1 << 20;
    float *x = malloc((nx + 32 * D) * sizeof *x);
    fill_normal(x, nx + 32 * D, 77);
    int failures = 0;
    for (int b = 0; b < cfg->backend_count; b++) {
        if (lowbit_set_backend(cfg->backends[b]) != LOWBIT_OK)
            continue;
        failures += decode_bench(cfg, r, x, measured);
        failures += prefill_bench(cfg, r, x, measured);
    }
    lowbit_set_backend(LOWBIT_BACKEND_AUTO);
    free(x);
    return failures;
}
