/*
 * test_attention_api.c - the contract of lowbit_kv_append / lowbit_attention:
 * every bad input gets its own status, a detail naming the argument, and
 * leaves the output untouched; zero sizes succeed; hand-computed cases;
 * results independent of backend, thread count and batch (a query row is
 * the same bits computed alone or in a prefill).
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lowbit.h"

enum { D = 64, HKV = 2, HQ = 4, PT = 4, LEN = 10, PAGES = 4 };

typedef struct fixture {
    lowbit_kv_cache k, v;
    float hs[HKV];
    int32_t table[PAGES];
    float q[3 * HQ * D];
    float out[3 * HQ * D];
    lowbit_attention_args a;
} fixture;

static void cache_init(lowbit_kv_cache *c, lowbit_format f, float *hs)
{
    memset(c, 0, sizeof *c);
    c->format = f;
    c->head_dim = D;
    c->kv_heads = HKV;
    c->page_tokens = PT;
    c->head_scales = hs;
    size_t pb;
    cr_assert_eq(lowbit_kv_page_bytes(c, &pb), LOWBIT_OK, "%s", lowbit_last_error());
    c->page_count = PAGES;
    c->pages_bytes = PAGES * pb;
    c->pages = calloc(1, c->pages_bytes);
}

static void fixture_init(fixture *x, lowbit_format f)
{
    memset(x, 0, sizeof *x);
    x->hs[0] = 0.01f;
    x->hs[1] = 0.02f;
    cache_init(&x->k, f, x->hs);
    cache_init(&x->v, f, x->hs);
    static const int32_t order[PAGES] = {2, 0, 3, 1};
    memcpy(x->table, order, sizeof order);
    float src[LEN * HKV * D];
    for (int i = 0; i < LEN * HKV * D; i++)
        src[i] = sinf((float)i * 0.37f);
    cr_assert_eq(lowbit_kv_append(&x->k, x->table, PAGES, 0, LEN, LOWBIT_F32, src, HKV * D), LOWBIT_OK, "%s",
                 lowbit_last_error());
    for (int i = 0; i < LEN * HKV * D; i++)
        src[i] = cosf((float)i * 0.11f);
    cr_assert_eq(lowbit_kv_append(&x->v, x->table, PAGES, 0, LEN, LOWBIT_F32, src, HKV * D), LOWBIT_OK, "%s",
                 lowbit_last_error());
    for (int i = 0; i < 3 * HQ * D; i++)
        x->q[i] = sinf((float)i * 0.05f);
    for (int i = 0; i < 3 * HQ * D; i++)
        x->out[i] = 12345.0f;
    lowbit_attention_args a = {.q_heads = HQ, .q_tokens = 3, .q_type = LOWBIT_F32, .q = x->q, .q_stride = HQ * D,
                               .q_scale = 1, .k = &x->k, .v = &x->v, .block_table = x->table,
                               .block_table_len = PAGES, .kv_len = LEN, .q_pos = LEN - 3, .scale = 0.125f,
                               .out_type = LOWBIT_F32, .out = x->out, .out_stride = HQ * D,
                               .flags = LOWBIT_ATTN_CAUSAL};
    x->a = a;
}

static void fixture_free(fixture *x)
{
    free(x->k.pages);
    free(x->v.pages);
}

static void expect_refused(fixture *x, lowbit_status want, const char *needle, const char *what)
{
    lowbit_status s = lowbit_attention(&x->a);
    cr_assert_eq(s, want, "%s: got %s (%s), want %s", what, lowbit_status_string(s), lowbit_last_error(),
                 lowbit_status_string(want));
    cr_assert(strstr(lowbit_last_error(), needle), "%s: detail '%s' does not name '%s'", what, lowbit_last_error(),
              needle);
    for (int i = 0; i < 3 * HQ * D; i++)
        cr_assert_eq(x->out[i], 12345.0f, "%s: out[%d] was written", what, i);
}

Test(attention_api, bad_inputs_each_have_a_status)
{
    fixture x;
    fixture_init(&x, lowbit_format_fp8_tensor(LOWBIT_E4M3));
    lowbit_attention_args good = x.a;
    cr_assert_eq(lowbit_attention(NULL), LOWBIT_ERR_NULL_POINTER);
    x.a.q = NULL; expect_refused(&x, LOWBIT_ERR_NULL_POINTER, "args->q", "q NULL"); x.a = good;
    x.a.out = NULL; expect_refused(&x, LOWBIT_ERR_NULL_POINTER, "args->out", "out NULL"); x.a = good;
    x.a.k = NULL; expect_refused(&x, LOWBIT_ERR_NULL_POINTER, "args->k", "k NULL"); x.a = good;
    x.a.q_type = (lowbit_dtype)99; expect_refused(&x, LOWBIT_ERR_INVALID_ENUM, "q_type", "q_type"); x.a = good;
    x.a.q_type = LOWBIT_E2M1; expect_refused(&x, LOWBIT_ERR_UNSUPPORTED, "q_type", "FP4 q"); x.a = good;
    x.a.out_type = LOWBIT_INT8; expect_refused(&x, LOWBIT_ERR_UNSUPPORTED, "out_type", "int8 out"); x.a = good;
    x.a.flags = 0x80; expect_refused(&x, LOWBIT_ERR_INVALID_ENUM, "flags", "flags"); x.a = good;
    x.a.q_heads = 3; expect_refused(&x, LOWBIT_ERR_SHAPE_MISMATCH, "q_heads", "q_heads"); x.a = good;
    x.a.q_stride = HQ * D - 1; expect_refused(&x, LOWBIT_ERR_BAD_STRIDE, "q_stride", "q_stride"); x.a = good;
    x.a.out_stride = 1; expect_refused(&x, LOWBIT_ERR_BAD_STRIDE, "out_stride", "out_stride"); x.a = good;
    x.a.block_table_len = 2; expect_refused(&x, LOWBIT_ERR_BUFFER_TOO_SMALL, "block_table_len", "table len");
    x.a = good;
    x.table[1] = 7; expect_refused(&x, LOWBIT_ERR_OUT_OF_RANGE, "block_table[1]", "table entry");
    x.table[1] = -1; expect_refused(&x, LOWBIT_ERR_OUT_OF_RANGE, "block_table[1]", "negative entry");
    x.table[1] = 0;
    x.a.block_table = NULL; x.a.kv_len = PAGES * PT + 1;
    expect_refused(&x, LOWBIT_ERR_BUFFER_TOO_SMALL, "pages", "past the pages"); x.a = good;
    float mask[3 * LEN];
    x.a.mask = mask; x.a.mask_stride = LEN - 1;
    expect_refused(&x, LOWBIT_ERR_BAD_STRIDE, "mask_stride", "mask stride"); x.a = good;
    x.a.out = x.q; expect_refused(&x, LOWBIT_ERR_ALIASING, "overlaps", "out over q");
    x.a = good;
    x.k.pages_bytes -= 1; expect_refused(&x, LOWBIT_ERR_BUFFER_TOO_SMALL, "pages_bytes", "pages_bytes");
    x.k.pages_bytes += 1;
    x.k.head_scales = NULL; expect_refused(&x, LOWBIT_ERR_NULL_POINTER, "head_scales", "head scales");
    x.k.head_scales = x.hs;
    x.hs[1] = -1.0f; expect_refused(&x, LOWBIT_ERR_UNSUPPORTED, "head_scales[1]", "negative scale");
    x.hs[1] = 0.02f;
    x.v.head_dim = 128; x.v.page_count = PAGES / 2; /* the pages double: half as many fit */
    expect_refused(&x, LOWBIT_ERR_SHAPE_MISMATCH, "differ", "k/v head_dim");
    x.v.head_dim = D; x.v.page_count = PAGES;
    x.k.head_dim = 40; expect_refused(&x, LOWBIT_ERR_UNSUPPORTED, "head_dim", "head_dim 40");
    x.k.head_dim = D;
    cr_assert_eq(lowbit_attention(&x.a), LOWBIT_OK, "%s", lowbit_last_error());
    fixture_free(&x);
}

Test(attention_api, cache_formats_refused_with_reasons)
{
    lowbit_kv_cache c = {.head_dim = D, .kv_heads = 1, .page_tokens = 4};
    size_t pb;
    c.format = lowbit_format_nvfp4();
    cr_assert_eq(lowbit_kv_page_bytes(&c, &pb), LOWBIT_ERR_UNSUPPORTED);
    cr_assert(strstr(lowbit_last_error(), "NVFP4"));
    c.format = lowbit_format_fp8_block(LOWBIT_E4M3, 128, 128);
    cr_assert_eq(lowbit_kv_page_bytes(&c, &pb), LOWBIT_ERR_UNSUPPORTED);
    c.format = lowbit_format_int_group(LOWBIT_INT4, 48, LOWBIT_F16, 0);
    cr_assert_eq(lowbit_kv_page_bytes(&c, &pb), LOWBIT_ERR_BLOCK_SHAPE);
    c.format = lowbit_format_plain(LOWBIT_E4M3);
    cr_assert_eq(lowbit_kv_page_bytes(&c, &pb), LOWBIT_ERR_UNSUPPORTED);
    c.format = lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR);
    c.page_tokens = 0;
    cr_assert_eq(lowbit_kv_page_bytes(&c, &pb), LOWBIT_ERR_SHAPE_MISMATCH);
    c.page_tokens = 4;
    cr_assert_eq(lowbit_kv_page_bytes(&c, &pb), LOWBIT_OK);
    cr_assert_eq(pb % 64, 0);
    cr_assert_eq(lowbit_kv_page_bytes(NULL, &pb), LOWBIT_ERR_NULL_POINTER);
}

static lowbit_format nvfp4_given(void)
{
    lowbit_format f = lowbit_format_nvfp4();
    f.flags |= LOWBIT_FMT_GIVEN_TENSOR_SCALE;
    return f;
}

/* An NVFP4 cache (given per-head tensor scales): each token's head vector
 * is what lowbit_quantize makes of a 1 x D tensor under that head's scale,
 * byte for byte, and one visible key gives out = its V row dequantized. */
Test(attention_api, nvfp4_cache_is_quantize_under_the_head_scale)
{
    fixture x;
    fixture_init(&x, nvfp4_given());
    size_t pb;
    cr_assert_eq(lowbit_kv_page_bytes(&x.k, &pb), LOWBIT_OK);
    const size_t row_bytes = D / 2, scale_off = (PT * row_bytes + 63) / 64 * 64;
    const size_t head_bytes = (scale_off + PT * (D / 16) + 63) / 64 * 64;
    cr_assert_eq(pb, HKV * head_bytes, "page of %zu bytes, want %zu", pb, HKV * head_bytes);
    for (int which = 0; which < 2; which++) {
        const lowbit_kv_cache *c = which ? &x.v : &x.k;
        for (int t = 0; t < LEN; t++)
            for (int h = 0; h < HKV; h++) {
                float src[D];
                for (int d = 0; d < D; d++) {
                    int i = (t * HKV + h) * D + d;
                    src[d] = which ? cosf((float)i * 0.11f) : sinf((float)i * 0.37f);
                }
                uint8_t data[D / 2], scales[D / 16];
                const lowbit_format f = nvfp4_given();
                lowbit_qtensor q;
                cr_assert_eq(lowbit_qtensor_init(&q, &f, 1, D), LOWBIT_OK);
                cr_assert_eq(q.data_bytes, sizeof data);
                cr_assert_eq(q.scales_bytes, sizeof scales);
                q.data = data;
                q.scales = scales;
                q.tensor_scale = x.hs[h];
                cr_assert_eq(lowbit_quantize(&q, LOWBIT_F32, src, D, NULL), LOWBIT_OK, "%s", lowbit_last_error());
                cr_assert_eq(q.tensor_scale, x.hs[h], "the given scale was changed");
                const uint8_t *head =
                    (const uint8_t *)c->pages + (size_t)x.table[t / PT] * pb + (size_t)h * head_bytes;
                cr_assert_eq(memcmp(head + (t % PT) * row_bytes, data, sizeof data), 0, "token %d head %d codes", t, h);
                cr_assert_eq(memcmp(head + scale_off + (t % PT) * (D / 16), scales, sizeof scales), 0,
                             "token %d head %d scales", t, h);
                if (which == 1 && t == 0 && h == 0) {
                    float deq[D];
                    cr_assert_eq(lowbit_dequantize(LOWBIT_F32, deq, D, &q), LOWBIT_OK);
                    x.a.q_tokens = 1;
                    x.a.q_pos = 0; /* causal: key 0 alone; softmax weight 1 */
                    cr_assert_eq(lowbit_attention(&x.a), LOWBIT_OK, "%s", lowbit_last_error());
                    for (int d = 0; d < D; d++)
                        cr_assert_eq(x.out[d], deq[d], "d %d: %a, want %a", d, (double)x.out[d], (double)deq[d]);
                }
            }
    }
    cr_assert_eq(lowbit_attention(&x.a), LOWBIT_OK, "%s", lowbit_last_error());
    fixture_free(&x);
}

/* NVFP4 needs a given tensor scale per head, positive, normal and finite:
 * each refusal names it and writes nothing. */
Test(attention_api, nvfp4_cache_refusals)
{
    lowbit_kv_cache c = {.format = lowbit_format_nvfp4(), .head_dim = D, .kv_heads = HKV, .page_tokens = PT};
    size_t pb;
    cr_assert_eq(lowbit_kv_page_bytes(&c, &pb), LOWBIT_ERR_UNSUPPORTED);
    cr_assert(strstr(lowbit_last_error(), "LOWBIT_FMT_GIVEN_TENSOR_SCALE"), "%s", lowbit_last_error());
    fixture x;
    fixture_init(&x, nvfp4_given());
    uint8_t *before = malloc(x.k.pages_bytes);
    memcpy(before, x.k.pages, x.k.pages_bytes);
    float src[HKV * D] = {1.0f, -2.0f, 3.0f};
    x.k.head_scales = NULL;
    cr_assert_eq(lowbit_kv_append(&x.k, x.table, PAGES, 0, 1, LOWBIT_F32, src, HKV * D), LOWBIT_ERR_NULL_POINTER);
    cr_assert(strstr(lowbit_last_error(), "head_scales"), "%s", lowbit_last_error());
    expect_refused(&x, LOWBIT_ERR_NULL_POINTER, "args->k->head_scales", "NULL tensor scales");
    x.k.head_scales = x.hs;
    const float bad[] = {0.0f, -0.0f, -1.0f, 0x1p-127f, 0x1p-149f, INFINITY, -INFINITY, NAN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        x.hs[1] = bad[i];
        cr_assert_eq(lowbit_kv_append(&x.k, x.table, PAGES, 0, 1, LOWBIT_F32, src, HKV * D),
                     LOWBIT_ERR_OUT_OF_RANGE, "tensor scale %a", (double)bad[i]);
        cr_assert(strstr(lowbit_last_error(), "head_scales[1]"), "%s", lowbit_last_error());
        expect_refused(&x, LOWBIT_ERR_OUT_OF_RANGE, "args->k->head_scales[1]", "bad tensor scale");
    }
    cr_assert_eq(memcmp(before, x.k.pages, x.k.pages_bytes), 0, "a refused append wrote into the pages");
    /* the smallest normal and the largest finite scale are taken */
    x.hs[1] = 0x1p-126f;
    cr_assert_eq(lowbit_kv_append(&x.k, x.table, PAGES, 0, 1, LOWBIT_F32, src, HKV * D), LOWBIT_OK, "%s",
                 lowbit_last_error());
    x.hs[1] = FLT_MAX;
    cr_assert_eq(lowbit_attention(&x.a), LOWBIT_OK, "%s", lowbit_last_error());
    free(before);
    fixture_free(&x);
}

Test(attention_api, append_checks_and_writes_nothing_on_error)
{
    fixture x;
    fixture_init(&x, lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR));
    uint8_t *before = malloc(x.k.pages_bytes);
    memcpy(before, x.k.pages, x.k.pages_bytes);
    float src[2 * HKV * D] = {0};
    cr_assert_eq(lowbit_kv_append(&x.k, x.table, PAGES, 0, 2, LOWBIT_E4M3, src, HKV * D), LOWBIT_ERR_UNSUPPORTED);
    cr_assert_eq(lowbit_kv_append(&x.k, x.table, PAGES, 0, 2, LOWBIT_F32, NULL, HKV * D), LOWBIT_ERR_NULL_POINTER);
    cr_assert_eq(lowbit_kv_append(&x.k, x.table, PAGES, 0, 2, LOWBIT_F32, src, D), LOWBIT_ERR_BAD_STRIDE);
    cr_assert_eq(lowbit_kv_append(&x.k, x.table, PAGES, PAGES * PT - 1, 2, LOWBIT_F32, src, HKV * D),
                 LOWBIT_ERR_BUFFER_TOO_SMALL);
    cr_assert_eq(lowbit_kv_append(&x.k, x.table, PAGES, SIZE_MAX, 2, LOWBIT_F32, src, HKV * D),
                 LOWBIT_ERR_SIZE_OVERFLOW);
    cr_assert_eq(lowbit_kv_append(&x.k, x.table, PAGES, 0, 2, LOWBIT_F32, x.k.pages, HKV * D), LOWBIT_ERR_ALIASING);
    cr_assert_eq(memcmp(before, x.k.pages, x.k.pages_bytes), 0, "a refused append wrote into the pages");
    cr_assert_eq(lowbit_kv_append(&x.k, x.table, PAGES, 0, 0, LOWBIT_F32, NULL, 0), LOWBIT_OK);
    free(before);
    fixture_free(&x);
}

Test(attention_api, zero_sizes_and_empty_caches)
{
    fixture x;
    fixture_init(&x, lowbit_format_plain(LOWBIT_F32));
    x.a.q_tokens = 0;
    x.a.q = NULL;
    x.a.out = NULL;
    cr_assert_eq(lowbit_attention(&x.a), LOWBIT_OK, "%s", lowbit_last_error());
    fixture_free(&x);
    fixture_init(&x, lowbit_format_plain(LOWBIT_F32));
    x.a.kv_len = 0; /* nothing to see: zeros */
    x.a.q_pos = 0;
    x.a.flags = 0;
    cr_assert_eq(lowbit_attention(&x.a), LOWBIT_OK, "%s", lowbit_last_error());
    for (int i = 0; i < 3 * HQ * D; i++)
        cr_assert_eq(x.out[i], 0.0f);
    fixture_free(&x);
}

/* One visible key: softmax weight 1, so out = v exactly (f32 cache). */
Test(attention_api, hand_computed)
{
    fixture x;
    fixture_init(&x, lowbit_format_plain(LOWBIT_F32));
    x.a.q_tokens = 1;
    x.a.q_pos = 0;
    cr_assert_eq(lowbit_attention(&x.a), LOWBIT_OK, "%s", lowbit_last_error());
    for (int h = 0; h < HQ; h++)
        for (int d = 0; d < D; d++) {
            float v = cosf((float)((h / 2) * D + d) * 0.11f);
            cr_assert_eq(x.out[h * D + d], v, "head %d d %d: %a, want %a", h, d, (double)x.out[h * D + d], (double)v);
        }
    /* two keys with equal scores (q = 0): the mean of two rows */
    memset(x.q, 0, sizeof x.q);
    x.a.q_pos = 1;
    cr_assert_eq(lowbit_attention(&x.a), LOWBIT_OK, "%s", lowbit_last_error());
    for (int d = 0; d < D; d++) {
        float v0 = cosf((float)d * 0.11f), v1 = cosf((float)(HKV * D + d) * 0.11f);
        float want = (v0 + v1) / 2.0f; /* o = fmaf(1, v1, v0) = v0 + v1, l = 2 */
        cr_assert_eq(x.out[d], want, "d %d: %a, want %a", d, (double)x.out[d], (double)want);
    }
    /* a -Inf mask hides every key: zeros */
    float mask[LEN];
    for (int i = 0; i < LEN; i++)
        mask[i] = -INFINITY;
    x.a.mask = mask;
    x.a.mask_stride = LEN;
    cr_assert_eq(lowbit_attention(&x.a), LOWBIT_OK, "%s", lowbit_last_error());
    for (int d = 0; d < D; d++)
        cr_assert_eq(x.out[d], 0.0f);
    fixture_free(&x);
}

/* Backends, thread counts and batching give the same bits. */
Test(attention_api, invariance)
{
    fixture x;
    fixture_init(&x, lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 1));
    float want[3 * HQ * D], got[3 * HQ * D];
    cr_assert_eq(lowbit_set_backend(LOWBIT_BACKEND_REF), LOWBIT_OK);
    lowbit_set_num_threads(1);
    cr_assert_eq(lowbit_attention(&x.a), LOWBIT_OK);
    memcpy(want, x.out, sizeof want);
    for (int b = LOWBIT_BACKEND_AUTO; b < LOWBIT_BACKEND_CUDA; b++) {
        if (lowbit_backend_status((lowbit_backend)b) != LOWBIT_OK)
            continue;
        lowbit_set_backend((lowbit_backend)b);
        for (int t = 1; t <= 4; t++) {
            lowbit_set_num_threads(t);
            cr_assert_eq(lowbit_attention(&x.a), LOWBIT_OK);
            cr_assert_eq(memcmp(want, x.out, sizeof want), 0, "backend %s threads %d differ",
                         lowbit_backend_name((lowbit_backend)b), t);
        }
        /* the last query alone (decode) equals its row of the prefill */
        lowbit_attention_args one = x.a;
        one.q = x.q + 2 * HQ * D;
        one.q_tokens = 1;
        one.q_pos = x.a.q_pos + 2;
        one.out = got;
        cr_assert_eq(lowbit_attention(&one), LOWBIT_OK);
        cr_assert_eq(memcmp(want + 2 * HQ * D, got, HQ * D * sizeof(float)), 0, "decode row differs (backend %s)",
                     lowbit_backend_name((lowbit_backend)b));
    }
    lowbit_set_backend(LOWBIT_BACKEND_AUTO);
    lowbit_set_num_threads(0);
    fixture_free(&x);
}
