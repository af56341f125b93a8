// attention_bench.cu - throughput of lowbit_attention_device (the CUDA
// attention over a paged, quantized KV cache; built by hipcc, the HIP one:
// bench_gpu.h).
//
// Rooflines, measured in the same run: a device-to-device copy of 1 GiB
// (bytes read + written per second, as quantize_bench counts it), and an
// f32 FMA loop (the kernel's arithmetic is exact f32 FMAs, so that is its
// compute ceiling).  No cuBLASLt peer: no other benchmark links
// it, and this one adds no dependency.
//
// Shape: 32 query heads, 8 kv heads, head_dim 128, pages of 16 tokens, Q
// and out bf16; KV caches bf16, FP8 e4m3 per head, INT8 per token (f32
// scales), MXFP8 e4m3, INT4 g32 (f16 scales, zero points), MXFP4, built on
// the host with lowbit_kv_append from normal data.
//   decode   one query token against 1k, 4k, 8k, 16k and 32k keys.  Every
//            call reads another sequence of a ~1 GiB page pool (block tables
//            over a shuffled pool), so no cache serves repeats (an H100's
//            L2 is 50 MB, an MI300X's Infinity Cache 256 MB).
//            GB/s = 2 x pages x lowbit_kv_page_bytes (K and V pages read,
//            scales and padding included) / median seconds per call;
//            "of copy" = that / the memcpy GB/s.
//   prefill  1024 and 4096 tokens, causal (q_pos 0).  FLOP = 4 x D x Hq x
//            n(n+1)/2 (QK^T and PV, 2 per multiply-add, over the n(n+1)/2
//            visible (query, key) pairs; the formula lowbit-bench uses),
//            TFLOP/s = that / median seconds; "of fma" = that / the FMA loop.
//   append   lowbit_kv_append_device of the prefill's tokens of K from f32
//            on the device; GB/s = source bytes read + page bytes written /
//            median seconds, against the copy; the pages are compared with
//            the host's first.
// Timing: events, warm-up calls, median of --reps repetitions.  Before
// timing, each decode output (sequence 0) and the first and last 32 tokens
// of each prefill are compared bit for bit with lowbit_attention on the host
// (reference backend), so a broken kernel cannot post a good number.
//
// usage: attention_bench [--json] [--reps N] [--quick]   (--quick: 1k/4k decode, 1024 prefill)
// Without a device it prints one SKIP line and exits 77.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench_gpu.h"

static const uint32_t HQ = 32, HKV = 8, D = 128, PT = 16;
static const size_t kMaxLen = 32768, kHostPages = kMaxLen / PT;
static const size_t kCheckTokens = 32;

static double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// Median seconds of one `run()` over reps repetitions of `calls` calls each.
template <class F>
static double time_median(F run, int warm, int reps, int calls)
{
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    for (int i = 0; i < warm; i++)
        run(i);
    std::vector<double> t;
    for (int r = 0; r < reps; r++) {
        CK(cudaEventRecord(e0));
        for (int c = 0; c < calls; c++)
            run(warm + r * calls + c);
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        float ms = 0;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        t.push_back(ms * 1e-3 / calls);
    }
    CK(cudaEventDestroy(e0));
    CK(cudaEventDestroy(e1));
    return median(t);
}

// Eight independent FMA chains per thread; the result is stored only when
// it hits a value it never does, which keeps the chains alive.
__global__ void k_fma(float *out, int iters, float seed)
{
    float a[8];
#pragma unroll
    for (int k = 0; k < 8; k++)
        a[k] = seed + (float)(threadIdx.x + k);
    for (int i = 0; i < iters; i++) {
#pragma unroll
        for (int k = 0; k < 8; k++)
            a[k] = __fmaf_rn(a[k], 0.99993f, 0.00007f);
    }
    float s = 0;
#pragma unroll
    for (int k = 0; k < 8; k++)
        s += a[k];
    if (s == -1.0f)
        out[blockIdx.x] = s;
}

struct KvChoice {
    const char *name;
    lowbit_format f;
};

static lowbit_format nvfp4_given()
{
    lowbit_format f = lowbit_format_nvfp4();
    f.flags |= LOWBIT_FMT_GIVEN_TENSOR_SCALE;  // per-head tensor scales in head_scales
    return f;
}

// One format's host cache (kHostPages pages, identity layout) and the
// device pool of `copies` copies of it.
struct Pool {
    lowbit_kv_cache hk, hv, dk, dv;
    std::vector<uint8_t> kp, vp;
    std::vector<float> hs = std::vector<float>(2 * HKV, 1.0f);  // K's heads, then V's
    float *d_hs = nullptr;
    uint8_t *d_kp = nullptr, *d_vp = nullptr;
    size_t page_bytes_k = 0, page_bytes_v = 0, copies = 0;
};

static void check_status(lowbit_status s, const char *what)
{
    if (s != LOWBIT_OK) {
        std::fprintf(stderr, "%s: %s (%s)\n", what, lowbit_status_string(s), lowbit_last_error());
        std::exit(2);
    }
}

static void build_pool(Pool &p, const lowbit_format &f, const std::vector<float> &xk, const std::vector<float> &xv,
                       size_t free_bytes)
{
    for (int which = 0; which < 2; which++) {
        lowbit_kv_cache &c = which ? p.hv : p.hk;
        std::vector<uint8_t> &pages = which ? p.vp : p.kp;
        std::memset(&c, 0, sizeof c);
        c.format = f;
        c.head_dim = D;
        c.kv_heads = HKV;
        c.page_tokens = PT;
        size_t pb = 0;
        check_status(lowbit_kv_page_bytes(&c, &pb), "kv_page_bytes");
        (which ? p.page_bytes_v : p.page_bytes_k) = pb;
        pages.assign(kHostPages * pb, 0);
        c.pages = pages.data();
        c.page_count = kHostPages;
        c.pages_bytes = pages.size();
        // Per-head FP8: amax / 448 of each head over the whole sequence;
        // NVFP4's per-head tensor scale: amax / (448 * 6).
        const std::vector<float> &x = which ? xv : xk;
        float *hs = p.hs.data() + (which ? HKV : 0);
        const bool nv = f.scale_type == LOWBIT_E4M3;
        if (nv || (f.block_rows == 0 && f.block_cols == 0 && f.scale_type != LOWBIT_DTYPE_COUNT)) {
            for (uint32_t h = 0; h < HKV; h++) {
                float amax = 0;
                for (size_t t = 0; t < kMaxLen; t++)
                    for (uint32_t d = 0; d < D; d++)
                        amax = std::max(amax, std::fabs(x[(t * HKV + h) * D + d]));
                hs[h] = nv ? amax / (448.0f * 6.0f) : amax / 448.0f;
            }
        }
        c.head_scales = hs;
        check_status(lowbit_kv_append(&c, nullptr, 0, 0, kMaxLen, LOWBIT_F32, x.data(), HKV * D), "kv_append");
    }
    CK(cudaMalloc(&p.d_hs, p.hs.size() * 4));
    CK(cudaMemcpy(p.d_hs, p.hs.data(), p.hs.size() * 4, cudaMemcpyHostToDevice));

    const size_t seq_bytes = p.kp.size() + p.vp.size();
    p.copies = ((size_t)1 << 30) / seq_bytes + 1;
    while (p.copies > 1 && (double)p.copies * seq_bytes > 0.6 * (double)free_bytes)
        p.copies--;
    CK(cudaMalloc(&p.d_kp, p.copies * p.kp.size()));
    CK(cudaMalloc(&p.d_vp, p.copies * p.vp.size()));
    CK(cudaMemcpy(p.d_kp, p.kp.data(), p.kp.size(), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(p.d_vp, p.vp.data(), p.vp.size(), cudaMemcpyHostToDevice));
    for (size_t c = 1; c < p.copies; c++) {
        CK(cudaMemcpy(p.d_kp + c * p.kp.size(), p.d_kp, p.kp.size(), cudaMemcpyDeviceToDevice));
        CK(cudaMemcpy(p.d_vp + c * p.vp.size(), p.d_vp, p.vp.size(), cudaMemcpyDeviceToDevice));
    }
    p.dk = p.hk;
    p.dv = p.hv;
    p.dk.pages = p.d_kp;
    p.dv.pages = p.d_vp;
    p.dk.page_count = p.dv.page_count = p.copies * kHostPages;
    p.dk.pages_bytes = p.copies * p.kp.size();
    p.dv.pages_bytes = p.copies * p.vp.size();
    p.dk.head_scales = p.d_hs;
    p.dv.head_scales = p.d_hs + HKV;
}

static void free_pool(Pool &p)
{
    CK(cudaFree(p.d_kp));
    CK(cudaFree(p.d_vp));
    CK(cudaFree(p.d_hs));
}

static lowbit_attention_args make_args(const lowbit_kv_cache *k, const lowbit_kv_cache *v, const void *q, void *out,
                                       size_t q_tokens, size_t q_pos, size_t kv_len, const int32_t *table,
                                       size_t table_len, bool causal)
{
    lowbit_attention_args a;
    std::memset(&a, 0, sizeof a);
    a.q_heads = HQ;
    a.q_tokens = q_tokens;
    a.q_type = LOWBIT_BF16;
    a.q = q;
    a.q_stride = (size_t)HQ * D;
    a.q_scale = 1.0f;
    a.k = k;
    a.v = v;
    a.block_table = table;
    a.block_table_len = table_len;
    a.kv_len = kv_len;
    a.q_pos = q_pos;
    a.scale = 1.0f / std::sqrt((float)D);
    a.out_type = LOWBIT_BF16;
    a.out = out;
    a.out_stride = (size_t)HQ * D;
    a.flags = causal ? LOWBIT_ATTN_CAUSAL : 0;
    return a;
}

// Host reference for query tokens [t0, t0 + n) of a call, compared with the
// device output's rows.
static bool check_rows(const Pool &p, const std::vector<uint16_t> &hq, const std::vector<int32_t> &htable,
                       const uint16_t *d_out, size_t t0, size_t n, size_t kv_len, bool causal)
{
    const size_t row = (size_t)HQ * D;
    std::vector<uint16_t> want(n * row), got(n * row);
    lowbit_attention_args a = make_args(&p.hk, &p.hv, hq.data() + t0 * row, want.data(), n, causal ? t0 : kv_len - 1,
                                        kv_len, htable.data(), htable.size(), causal);
    lowbit_set_backend(LOWBIT_BACKEND_REF);
    lowbit_status s = lowbit_attention(&a);
    lowbit_set_backend(LOWBIT_BACKEND_AUTO);
    if (s != LOWBIT_OK) {
        std::fprintf(stderr, "host attention: %s (%s)\n", lowbit_status_string(s), lowbit_last_error());
        return false;
    }
    CK(cudaMemcpy(got.data(), d_out + t0 * row, got.size() * 2, cudaMemcpyDeviceToHost));
    return got == want;
}

int main(int argc, char **argv)
{
    bool json = false, quick = false;
    int reps = 7;
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--json"))
            json = true;
        else if (!std::strcmp(argv[i], "--quick"))
            quick = true;
        else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = std::atoi(argv[++i]);
        else {
            std::fprintf(stderr, "usage: %s [--json] [--reps N] [--quick]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 3)
        reps = 3;
    BenchDevice dev;
    if (!bench_open_device(&dev))
        return 77;
    const cudaDeviceProp &prop = dev.prop;
    const double peak_gbps = dev.peak_gbps;

    // Rooflines.
    const size_t copy_bytes = (size_t)1 << 30;
    uint8_t *c0, *c1;
    CK(cudaMalloc(&c0, copy_bytes));
    CK(cudaMalloc(&c1, copy_bytes));
    CK(cudaMemset(c0, 0x3C, copy_bytes));
    const double copy_s = time_median(
        [&](int) { CK(cudaMemcpyAsync(c1, c0, copy_bytes, cudaMemcpyDeviceToDevice)); }, 3, reps, 2);
    const double copy = 2.0 * (double)copy_bytes / copy_s / 1e9;
    CK(cudaFree(c0));
    CK(cudaFree(c1));
    float *d_sink;
    CK(cudaMalloc(&d_sink, 1 << 20));
    const int fma_blocks = prop.multiProcessorCount * 8, fma_iters = 1 << 14;
    const double fma_s = time_median(
        [&](int) { k_fma<<<fma_blocks, 256>>>(d_sink, fma_iters, 0.5f); }, 2, reps, 1);
    CK(cudaGetLastError());
    const double fma_flops = 2.0 * 8 * fma_iters * (double)fma_blocks * 256;
    const double fma_tflops = fma_flops / fma_s / 1e12;
    CK(cudaFree(d_sink));

    char fma_line[96];
    std::snprintf(fma_line, sizeof fma_line, "; f32 FMA loop: %.2f TFLOP/s", fma_tflops);
    bench_print_roofline(dev, copy_bytes, copy, json, fma_line);
    if (!json)
        std::printf("heads %u/%u, head_dim %u, pages of %u, Q and out bf16; median of %d repetitions\n", HQ, HKV, D,
                    PT, reps);
    else
        std::printf("{\"op\":\"fma\",\"formats\":\"f32\",\"backend\":\"" BENCH_BACKEND "\",\"device\":\"%s\","
                    "\"shape\":[%d,256,%d],\"threads\":1,\"seconds\":%.6e,\"gflops\":%.2f,\"tflops\":%.4f,"
                    "\"roofline_fraction\":1.0}\n",
                    prop.name, fma_blocks, fma_iters, fma_s, fma_tflops * 1e3, fma_tflops);

    // Data: the same f32 K and V for every format (normal, V a little wider).
    std::vector<float> xk(kMaxLen * HKV * D), xv(xk.size());
    {
        std::mt19937_64 g(20261202);
        std::normal_distribution<float> nd(0.0f, 1.0f);
        for (size_t i = 0; i < xk.size(); i++) {
            xk[i] = nd(g);
            xv[i] = 1.5f * nd(g);
        }
    }
    const size_t max_prefill = quick ? 1024 : 4096;
    // K's first tokens on the device, f32: the source of the append rows.
    const size_t append_tokens = max_prefill;
    float *d_xk;
    CK(cudaMalloc(&d_xk, append_tokens * HKV * D * 4));
    CK(cudaMemcpy(d_xk, xk.data(), append_tokens * HKV * D * 4, cudaMemcpyHostToDevice));
    std::vector<uint16_t> hq(max_prefill * HQ * D);
    {
        std::vector<float> qf(hq.size());
        std::mt19937_64 g(7);
        std::normal_distribution<float> nd(0.0f, 1.0f);
        for (auto &x : qf)
            x = nd(g);
        check_status(lowbit_convert(LOWBIT_BF16, hq.data(), LOWBIT_F32, qf.data(), qf.size(), nullptr), "convert Q");
    }
    uint16_t *d_q, *d_out;
    CK(cudaMalloc(&d_q, hq.size() * 2));
    CK(cudaMalloc(&d_out, hq.size() * 2));
    CK(cudaMemcpy(d_q, hq.data(), hq.size() * 2, cudaMemcpyHostToDevice));

    const KvChoice choices[] = {
        {"bf16", lowbit_format_plain(LOWBIT_BF16)},
        {"e4m3/head", lowbit_format_fp8_tensor(LOWBIT_E4M3)},
        {"int8/token", lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0)},
        {"mxfp8 e4m3", lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR)},
        {"int4 g32 zp", lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 1)},
        {"mxfp4", lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR)},
        {"nvfp4 given", nvfp4_given()},
    };
    static const size_t lens_full[] = {1024, 4096, 8192, 16384, 32768}, lens_quick[] = {1024, 4096};
    const size_t *lens = quick ? lens_quick : lens_full;
    const size_t nlens = quick ? 2 : 5;
    static const size_t prefills[] = {1024, 4096};
    const size_t nprefill = quick ? 1 : 2;

    struct Row {
        std::string fmt;
        bool decode;
        size_t len, nseq;
        double sec, rate, frac;
        bool ok;
    };
    std::vector<Row> rows;
    int bad = 0;
    for (const KvChoice &ch : choices) {
        size_t free_b = 0, total_b = 0;
        CK(cudaMemGetInfo(&free_b, &total_b));
        lowbit_set_backend(LOWBIT_BACKEND_AUTO);  // building the caches: any backend gives the same bytes
        Pool p;
        build_pool(p, ch.f, xk, xv, free_b);
        const size_t pool_pages = p.copies * kHostPages;
        std::vector<int32_t> perm(pool_pages);
        for (size_t i = 0; i < pool_pages; i++)
            perm[i] = (int32_t)i;
        std::mt19937_64 g(99);
        std::shuffle(perm.begin(), perm.end(), g);
        int32_t *d_perm;
        CK(cudaMalloc(&d_perm, perm.size() * 4));
        CK(cudaMemcpy(d_perm, perm.data(), perm.size() * 4, cudaMemcpyHostToDevice));

        // Decode: sequence s of length L reads logical page i from pool page perm[s * P + i].
        for (size_t li = 0; li < nlens; li++) {
            const size_t L = lens[li], P = L / PT, nseq = std::min<size_t>(pool_pages / P, 256);
            std::vector<int32_t> htable(perm.begin(), perm.begin() + P);
            for (auto &t : htable)
                t = (int32_t)((size_t)t % kHostPages);  // every pool copy holds the host pages
            auto call = [&](size_t s) {
                lowbit_attention_args a =
                    make_args(&p.dk, &p.dv, d_q, d_out, 1, L - 1, L, d_perm + (s % nseq) * P, P, false);
                return lowbit_attention_device(BENCH_LOWBIT_BACKEND, &a, nullptr);
            };
            lowbit_status s = call(0);
            CK(cudaDeviceSynchronize());
            bool ok = s == LOWBIT_OK && check_rows(p, hq, htable, d_out, 0, 1, L, false);
            if (s != LOWBIT_OK)
                std::fprintf(stderr, "device attention: %s (%s)\n", lowbit_status_string(s), lowbit_last_error());
            const int calls = (int)std::min<size_t>(std::max<size_t>(nseq, 4), 32);
            const double sec = time_median([&](int i) { call((size_t)i); }, 3, reps, calls);
            CK(cudaGetLastError());
            const double bytes = (double)P * (double)(p.page_bytes_k + p.page_bytes_v);
            const double gbps = bytes / sec / 1e9;
            if (!ok) bad++;
            rows.push_back({ch.name, true, L, nseq, sec, gbps, gbps / copy, ok});
            if (json)
                std::printf("{\"op\":\"attention\",\"kind\":\"decode\",\"formats\":\"%s\",\"backend\":\"" BENCH_BACKEND "\","
                            "\"device\":\"%s\",\"shape\":\"q=1 kv=%zu hq=%u hkv=%u d=%u page=%u\",\"threads\":1,"
                            "\"bytes\":%.0f,\"seconds\":%.6e,\"gbps\":%.2f,\"roofline\":\"" BENCH_COPY_PEER "\","
                            "\"roofline_value\":%.2f,\"roofline_fraction\":%.4f,\"peer\":\"" BENCH_COPY_PEER "\","
                            "\"peer_value\":%.2f,\"peer_ratio\":%.4f,\"peak_fraction\":%.4f,\"sequences\":%zu,"
                            "\"checked\":%s}\n",
                            ch.name, prop.name, L, HQ, HKV, D, PT, bytes, sec, gbps, copy, gbps / copy, copy,
                            gbps / copy, peak_gbps > 0 ? gbps / peak_gbps : 0.0, nseq, ok ? "true" : "false");
            std::fflush(stdout);
        }

        // Prefill: one sequence (pool pages perm[0 .. n / PT)), causal from position 0.
        for (size_t pi = 0; pi < nprefill; pi++) {
            const size_t n = prefills[pi], P = n / PT;
            std::vector<int32_t> htable(perm.begin(), perm.begin() + P);
            for (auto &t : htable)
                t = (int32_t)((size_t)t % kHostPages);
            auto call = [&]() {
                lowbit_attention_args a = make_args(&p.dk, &p.dv, d_q, d_out, n, 0, n, d_perm, P, true);
                return lowbit_attention_device(BENCH_LOWBIT_BACKEND, &a, nullptr);
            };
            lowbit_status s = call();
            CK(cudaDeviceSynchronize());
            if (s != LOWBIT_OK)
                std::fprintf(stderr, "device attention: %s (%s)\n", lowbit_status_string(s), lowbit_last_error());
            bool ok = s == LOWBIT_OK && check_rows(p, hq, htable, d_out, 0, kCheckTokens, n, true) &&
                      check_rows(p, hq, htable, d_out, n - kCheckTokens, kCheckTokens, n, true);
            const double sec = time_median([&](int) { call(); }, 1, reps, 1);
            CK(cudaGetLastError());
            const double flops = 4.0 * D * HQ * (double)n * (double)(n + 1) / 2;
            const double tflops = flops / sec / 1e12;
            if (!ok) bad++;
            rows.push_back({ch.name, false, n, 1, sec, tflops, tflops / fma_tflops, ok});
            if (json)
                std::printf("{\"op\":\"attention\",\"kind\":\"prefill\",\"formats\":\"%s\",\"backend\":\"" BENCH_BACKEND "\","
                            "\"device\":\"%s\",\"shape\":\"q=%zu kv=%zu causal hq=%u hkv=%u d=%u page=%u\","
                            "\"threads\":1,\"flops\":%.0f,\"flops_formula\":\"4*d*hq*n*(n+1)/2\",\"seconds\":%.6e,"
                            "\"gflops\":%.2f,\"tflops\":%.4f,\"roofline\":\"f32 fma loop\",\"roofline_value\":%.2f,"
                            "\"roofline_fraction\":%.4f,\"peer\":\"none\",\"peer_value\":0,\"peer_ratio\":0,"
                            "\"checked\":%s}\n",
                            ch.name, prop.name, n, n, HQ, HKV, D, PT, flops, sec, tflops * 1e3, tflops,
                            fma_tflops * 1e3, tflops / fma_tflops, ok ? "true" : "false");
            std::fflush(stdout);
        }

        // Append: the first append_tokens tokens of K again, from f32 on the
        // device, into the pool's first pages (block table NULL: pages 0, 1,
        // ...); they must come out as the host wrote them.
        {
            const size_t n = append_tokens, P = n / PT;
            auto call = [&]() {
                return lowbit_kv_append_device(BENCH_LOWBIT_BACKEND, &p.dk, nullptr, 0, 0, n, LOWBIT_F32, d_xk,
                                               HKV * D, nullptr);
            };
            CK(cudaMemset(p.d_kp, 0, P * p.page_bytes_k));  // the host pages' padding is 0 too
            lowbit_status s = call();
            CK(cudaDeviceSynchronize());
            if (s != LOWBIT_OK)
                std::fprintf(stderr, "device kv_append: %s (%s)\n", lowbit_status_string(s), lowbit_last_error());
            std::vector<uint8_t> got(P * p.page_bytes_k);
            CK(cudaMemcpy(got.data(), p.d_kp, got.size(), cudaMemcpyDeviceToHost));
            const bool ok = s == LOWBIT_OK && std::memcmp(got.data(), p.kp.data(), got.size()) == 0;
            const double sec = time_median([&](int) { call(); }, 2, reps, 4);
            CK(cudaGetLastError());
            const double bytes = (double)n * HKV * D * 4 + (double)P * (double)p.page_bytes_k;
            const double gbps = bytes / sec / 1e9;
            if (!ok) bad++;
            rows.push_back({ch.name, true, n, 0, sec, gbps, gbps / copy, ok});
            if (json)
                std::printf("{\"op\":\"kv_append\",\"formats\":\"f32->%s\",\"backend\":\"" BENCH_BACKEND "\","
                            "\"device\":\"%s\",\"shape\":\"tokens=%zu hkv=%u d=%u page=%u\",\"threads\":1,"
                            "\"bytes\":%.0f,\"seconds\":%.6e,\"gbps\":%.2f,\"roofline\":\"" BENCH_COPY_PEER "\","
                            "\"roofline_value\":%.2f,\"roofline_fraction\":%.4f,\"peer\":\"" BENCH_COPY_PEER "\","
                            "\"peer_value\":%.2f,\"peer_ratio\":%.4f,\"checked\":%s}\n",
                            ch.name, prop.name, n, HKV, D, PT, bytes, sec, gbps, copy, gbps / copy, copy, gbps / copy,
                            ok ? "true" : "false");
            std::fflush(stdout);
        }
        CK(cudaFree(d_perm));
        free_pool(p);
    }

    if (!json) {
        std::printf("\ndecode: 1 query token; GB/s = K+V pages read (lowbit_kv_page_bytes each) / median call\n");
        std::printf("%-12s %7s %5s %10s %9s %8s  %s\n", "kv format", "kv_len", "seqs", "ms/call", "GB/s", "of copy",
                    "check");
        for (const Row &r : rows)
            if (r.decode && r.nseq)
                std::printf("%-12s %7zu %5zu %10.4f %9.1f %7.1f%%  %s\n", r.fmt.c_str(), r.len, r.nseq, r.sec * 1e3,
                            r.rate, 100 * r.frac, r.ok ? "ok" : "MISMATCH");
        std::printf("\nkv_append_device: K tokens from f32 into the cache; GB/s = f32 source read + pages written / "
                    "median call\n");
        std::printf("%-12s %7s %10s %9s %8s  %s\n", "kv format", "tokens", "ms/call", "GB/s", "of copy", "check");
        for (const Row &r : rows)
            if (r.decode && !r.nseq)
                std::printf("%-12s %7zu %10.4f %9.1f %7.1f%%  %s\n", r.fmt.c_str(), r.len, r.sec * 1e3, r.rate,
                            100 * r.frac, r.ok ? "ok" : "MISMATCH");
        std::printf("\nprefill: causal; TFLOP/s = 4 d Hq n(n+1)/2 / median call; \"of fma\" = that / the f32 FMA loop\n");
        std::printf("%-12s %7s %10s %9s %8s  %s\n", "kv format", "tokens", "ms/call", "TFLOP/s", "of fma", "check");
        for (const Row &r : rows)
            if (!r.decode)
                std::printf("%-12s %7zu %10.3f %9.3f %7.1f%%  %s\n", r.fmt.c_str(), r.len, r.sec * 1e3, r.rate,
                            100 * r.frac, r.ok ? "ok" : "MISMATCH");
    }
    CK(cudaFree(d_q));
    CK(cudaFree(d_out));
    CK(cudaFree(d_xk));
    if (bad)
        std::fprintf(stderr, "%d case(s) did not match the host library or failed\n", bad);
    return bad ? 1 : 0;
}
