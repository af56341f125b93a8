/*
 * attention_accuracy.c - how much each KV-cache format costs in attention
 * output: relative L2 and max abs error of lowbit_attention over a quantized
 * cache against attention in f64 over the f32 K and V it was made from.
 *
 * Activations: Q and V standard normal; K normal with a few outlier
 * channels (every 16th channel x 12, as the K caches of real LLMs have),
 * plus a per-token drift, Llama-like heads (32 query heads over 8 kv heads,
 * head_dim 128), a causal prefill of 256 tokens and a decode step against
 * 2048.  FP8 per-head scales and NVFP4 per-head tensor scales come from each
 * head's amax.  Prints a Markdown table (docs/attention-accuracy.md).
 */
#include <lowbit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { D = 128, HKV = 8, HQ = 32, PT = 16 };

static double gauss(unsigned long long *s)
{
    double u1, u2;
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    u1 = ((*s >> 11) + 0.5) / 9007199254740992.0;
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    u2 = ((*s >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

static void run(const char *name, lowbit_format f, const float *k, const float *v, const float *q, size_t len,
                size_t nq, double *rel, double *maxabs)
{
    float hs[HKV];
    lowbit_kv_cache kc = {.format = f, .head_dim = D, .kv_heads = HKV, .page_tokens = PT, .head_scales = hs}, vc;
    /* Per-head scales from the data's amax, as a calibration would: FP8's
     * maps it to the element's largest value; NVFP4's tensor scale maps it
     * to the largest block scale (448) times the element's largest value. */
    const int nv = f.scale_type == LOWBIT_E4M3;
    for (int h = 0; h < HKV; h++) {
        float amax = 0;
        for (size_t t = 0; t < len; t++)
            for (int d = 0; d < D; d++) {
                float a = fmaxf(fabsf(k[(t * HKV + h) * D + d]), fabsf(v[(t * HKV + h) * D + d]));
                amax = a > amax ? a : amax;
            }
        hs[h] = nv ? amax / (448.0f * (float)lowbit_dtype_max(f.elem))
                   : amax / (float)lowbit_dtype_max(f.elem == LOWBIT_E5M2 ? LOWBIT_E5M2 : LOWBIT_E4M3);
    }
    size_t pb;
    if (lowbit_kv_page_bytes(&kc, &pb) != LOWBIT_OK) {
        fprintf(stderr, "%s: %s\n", name, lowbit_last_error());
        exit(1);
    }
    kc.page_count = (len + PT - 1) / PT;
    kc.pages_bytes = kc.page_count * pb;
    vc = kc;
    kc.pages = malloc(kc.pages_bytes);
    vc.pages = malloc(vc.pages_bytes);
    if (lowbit_kv_append(&kc, NULL, 0, 0, len, LOWBIT_F32, k, HKV * D) ||
        lowbit_kv_append(&vc, NULL, 0, 0, len, LOWBIT_F32, v, HKV * D)) {
        fprintf(stderr, "%s: %s\n", name, lowbit_last_error());
        exit(1);
    }
    float *out = malloc(nq * HQ * D * sizeof *out);
    lowbit_attention_args a = {.q_heads = HQ, .q_tokens = nq, .q_type = LOWBIT_F32, .q = q, .q_stride = HQ * D,
                               .q_scale = 1, .k = &kc, .v = &vc, .kv_len = len, .q_pos = len - nq,
                               .scale = 1.0f / sqrtf(D), .out_type = LOWBIT_F32, .out = out,
                               .out_stride = HQ * D, .flags = LOWBIT_ATTN_CAUSAL};
    if (lowbit_attention(&a) != LOWBIT_OK) {
        fprintf(stderr, "%s: %s\n", name, lowbit_last_error());
        exit(1);
    }
    double e2 = 0, r2 = 0, mx = 0;
    double *s = malloc(len * sizeof *s);
    for (size_t i = 0; i < nq; i++)
        for (int h = 0; h < HQ; h++) {
            int g = h / (HQ / HKV);
            size_t vis = len - nq + i + 1;
            double m = -INFINITY, l = 0;
            for (size_t t = 0; t < vis; t++) {
                double dot = 0;
                for (int d = 0; d < D; d++)
                    dot += (double)q[(i * HQ + h) * D + d] * k[(t * HKV + g) * D + d];
                s[t] = dot / sqrt(D);
                m = s[t] > m ? s[t] : m;
            }
            for (size_t t = 0; t < vis; t++)
                l += s[t] = exp(s[t] - m);
            for (int d = 0; d < D; d++) {
                double o = 0;
                for (size_t t = 0; t < vis; t++)
                    o += s[t] * v[(t * HKV + g) * D + d];
                o /= l;
                double e = out[(i * HQ + h) * D + d] - o;
                e2 += e * e;
                r2 += o * o;
                mx = fabs(e) > mx ? fabs(e) : mx;
            }
        }
    *rel = sqrt(e2 / r2);
    *maxabs = mx;
    free(s);
    free(out);
    free(kc.pages);
    free(vc.pages);
}

static lowbit_format nvfp4_given(void)
{
    lowbit_format f = lowbit_format_nvfp4();
    f.flags |= LOWBIT_FMT_GIVEN_TENSOR_SCALE;
    return f;
}

int main(void)
{
    struct {
        const char *name;
        lowbit_format f;
    } fm[] = {
        {"f32", lowbit_format_plain(LOWBIT_F32)},
        {"bf16", lowbit_format_plain(LOWBIT_BF16)},
        {"f16", lowbit_format_plain(LOWBIT_F16)},
        {"FP8 E4M3, per-head scale", lowbit_format_fp8_tensor(LOWBIT_E4M3)},
        {"FP8 E5M2, per-head scale", lowbit_format_fp8_tensor(LOWBIT_E5M2)},
        {"FP8 E4M3, per-token scale", lowbit_format_fp8_row(LOWBIT_E4M3)},
        {"INT8, per-token f32 scale", lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0)},
        {"INT4 g32, f16 scale + zero point", lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 1)},
        {"INT4 g128, f16 scale", lowbit_format_int_group(LOWBIT_INT4, 128, LOWBIT_F16, 0)},
        {"MXFP8 E4M3", lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR)},
        {"MXFP6 E2M3", lowbit_format_mx(LOWBIT_E2M3, LOWBIT_SCALE_FLOOR)},
        {"MXFP4", lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR)},
        {"NVFP4, per-head tensor scale", nvfp4_given()},
        {"MXINT8", lowbit_format_mx(LOWBIT_INT8, LOWBIT_SCALE_FLOOR)},
    };
    const size_t lens[2] = {256, 2048}, nqs[2] = {256, 1};
    size_t maxlen = 2048;
    float *k = malloc(maxlen * HKV * D * sizeof *k), *v = malloc(maxlen * HKV * D * sizeof *v);
    float *q = malloc(256 * HQ * D * sizeof *q);
    unsigned long long seed = 42;
    for (size_t t = 0; t < maxlen; t++)
        for (int h = 0; h < HKV; h++)
            for (int d = 0; d < D; d++) {
                double x = gauss(&seed) + 0.5 * sin(0.01 * (double)t + d);
                k[(t * HKV + h) * D + d] = (float)(d % 16 == 3 ? 12 * x : x);
                v[(t * HKV + h) * D + d] = (float)gauss(&seed);
            }
    for (size_t i = 0; i < 256 * HQ * D; i++)
        q[i] = (float)gauss(&seed);
    printf("| KV format | bits / element | prefill 256 (causal): rel. L2 | max abs | decode at 2048: rel. L2 | max abs |\n");
    printf("|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof fm / sizeof fm[0]; i++) {
        double r[2], m[2];
        for (int c = 0; c < 2; c++)
            run(fm[i].name, fm[i].f, k, v, q + (c ? 0 : 0), lens[c], nqs[c], &r[c], &m[c]);
        lowbit_qtensor qt;
        double bits = lowbit_dtype_bits(fm[i].f.elem);
        if (fm[i].f.scale_type != LOWBIT_DTYPE_COUNT && (fm[i].f.block_rows || fm[i].f.block_cols)) {
            lowbit_qtensor_init(&qt, &fm[i].f, 1, D);
            bits += 8.0 * (double)(qt.scales_bytes + qt.zero_points_bytes) / D;
        }
        printf("| %s | %.2f | %.3g | %.3g | %.3g | %.3g |\n", fm[i].name, bits, r[0], m[0], r[1], m[1]);
    }
    return 0;
}
