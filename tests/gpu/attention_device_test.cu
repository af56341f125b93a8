// attention_device_test.cu - lowbit_attention_device (the CUDA backend; the
// HIP one when hipcc compiles it, see device_test.h) against
// lowbit_attention on the host (reference backend), bit for bit.
//
// Each case builds its K and V caches on the host with lowbit_kv_append
// (or fills them with random bytes), copies pages, head scales, block
// table, Q and mask to the device, runs lowbit_attention_device on a stream
// and compares the whole output region byte for byte with the host's: the
// rows, the gaps between q_heads * head_dim and out_stride, and 256 guard
// bytes (0xA5) on each side.
//   - KV formats: every one lowbit-check's attention covers (f32, f16, bf16;
//     FP8 e4m3 / e5m2 / e4m3fnuz per head; FP8 per token and 1x32; INT8 per
//     token with f32 and bf16 + zp scales; INT4 g32 f16 zp; INT4 g64 f32;
//     UINT4 g16 bf16 zp; INT4 g48 f16 zp; MXFP8 e4m3 / e5m2; MXFP6 e3m2 / e2m3; MXFP4;
//     MXINT8; NVFP4 and E4M3 g32 under given per-head tensor scales), the
//     same format for K and V, then mixed K / V pairs (attention_cases.h);
//   - decode (one query token) and prefill (up to 300 tokens), causal and
//     not, with and without an additive mask (-Inf keys, fully masked rows,
//     and NaN / +Inf entries in the random-bits cases), q_pos inside, at
//     the end of and before the keys;
//   - head_dim 64, 128, 256, 16, 80 (where the format's blocks do not divide
//     it, their least common multiple from 128 on: 144 for g48); GQA ratios 1, 3, 4, 8, 24 and 32 (one and several CTAs
//     per kv head);
//   - Q f32 / f16 / bf16 / e4m3 / e5m2 / e4m3fnuz / e5m2fnuz (FP8 with a
//     q_scale); out f32 / f16 / bf16; odd strides and output offsets;
//   - kv_len 0, 1, 63, 64, 65, 100, 129, 130, 200, 300, 1000, 4100; pages of 16 and 64
//     tokens, block tables shuffled over a pool with spare pages, junk in
//     unwritten slots;
//   - data: normal, outlier channels and wide exponents; random bytes poked
//     into visible codes and scales, special scale codes (NaN, +-Inf, 0,
//     negative, subnormal, max; E8M0 and E4M3 0xFF / 0x00 / 0xFE / 0x7F ...);
//     whole pages of random bytes; random bits in Q.  (Per-head FP8 scales
//     and NVFP4 tensor scales stay positive, normal and finite: the host
//     refuses any other.)
// Then argument checks: host / pinned pointers for q, out, mask, pages,
// block table and head scales (LOWBIT_ERR_WRONG_MEMORY, nothing written),
// non-device backends, zero query tokens, an empty cache, validation shared
// with the host call, managed memory on a non-blocking stream.
//
// Prints one line per format pair and "N passed, M failed"; exits 1 on any
// failure, 77 with "SKIP: no CUDA device" ("no HIP device" under hipcc) when there is none.
// usage: attention_device_test [--quick]   (--quick: no case above ~1000 keys)
#include "device_test.h"  // CUDA or HIP runtime, LBT_BACKEND, CK, SKIP

#include "attention_cases.h"

static long g_passed, g_failed;

static void tally(bool ok)
{
    if (ok) g_passed++;
    else g_failed++;
}

// ---- device copies ---------------------------------------------------------------

template <class T>
static T *to_device(const std::vector<T> &v)
{
    if (v.empty())
        return nullptr;
    T *d = nullptr;
    CK(cudaMalloc(&d, v.size() * sizeof(T)));
    CK(cudaMemcpy(d, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
    return d;
}

struct DevCase {
    lowbit_kv_cache k, v;
    uint8_t *kp = nullptr, *vp = nullptr, *q = nullptr, *out = nullptr;  // out: the whole guarded region
    float *ks = nullptr, *vs = nullptr, *mask = nullptr;
    int32_t *table = nullptr;
    lowbit_attention_args a;

    void upload(const HostCase &hc, size_t region)
    {
        kp = to_device(hc.kp);
        vp = to_device(hc.vp);
        ks = to_device(hc.ks);
        vs = to_device(hc.vs);
        q = to_device(hc.q);
        mask = to_device(hc.mask);
        table = to_device(hc.table);
        CK(cudaMalloc(&out, region));
        k = hc.k;
        v = hc.v;
        k.pages = kp;
        v.pages = vp;
        k.head_scales = ks;
        v.head_scales = vs;
        a = hc.a;
        a.k = &k;
        a.v = &v;
        a.q = q;
        a.mask = hc.a.mask ? mask : nullptr;
        a.block_table = table;
        a.out = out + kGuard + hc.out_off;
    }
    void release()
    {
        for (void *p : {(void *)kp, (void *)vp, (void *)q, (void *)out, (void *)ks, (void *)vs, (void *)mask,
                        (void *)table})
            if (p) CK(cudaFree(p));
    }
};

// ---- one case ----------------------------------------------------------------------


static bool run_case(const KvFmt &kf, const KvFmt &vf, const Shape &sh, size_t idx, uint64_t seed, int &prints,
                     cudaStream_t s)
{
    std::mt19937_64 g(seed);
    HostCase hc;
    make_case(hc, kf, vf, sh, idx, g);
    const size_t region = kGuard + hc.out_off + hc.out_bytes + kGuard;

    std::vector<uint8_t> want(region, kFill), got(region);
    lowbit_attention_args ha = hc.a;
    ha.out = want.data() + kGuard + hc.out_off;
    lowbit_status hs = lowbit_attention(&ha);

    DevCase dc;
    dc.upload(hc, region);
    CK(cudaMemsetAsync(dc.out, kFill, region, s));
    lowbit_status ds = lowbit_attention_device(LBT_BACKEND, &dc.a, s);
    std::string derr = lowbit_last_error();
    CK(cudaMemcpyAsync(got.data(), dc.out, region, cudaMemcpyDeviceToHost, s));
    CK(cudaStreamSynchronize(s));
    dc.release();
    return same_output(hc, seed, "device", hs, ds, derr, want, got, prints);
}

// ---- argument checks ------------------------------------------------------------------

static void expect(bool cond, const char *what)
{
    tally(cond);
    if (!cond)
        std::printf("  FAIL %s (last error: %s)\n", what, lowbit_last_error());
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v, bool device)
{
    std::vector<uint8_t> h(n);
    if (device) {
        CK(cudaDeviceSynchronize());
        CK(cudaMemcpy(h.data(), p, n, cudaMemcpyDeviceToHost));
    } else {
        std::memcpy(h.data(), p, n);
    }
    for (size_t i = 0; i < n; i++)
        if (h[i] != v) return false;
    return true;
}

static void api_checks()
{
    long p0 = g_passed, f0 = g_failed;
    std::mt19937_64 g(4242);
    const KvFmt kf = {"e4m3/head", lowbit_format_fp8_tensor(LOWBIT_E4M3)};
    const KvFmt vf = {"mxfp4", lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR)};
    const Shape sh = {64, 8, 2, 3, 70, kAuto, 16, true, true, BF16, F32, B_CLEAN, false};
    HostCase hc;
    make_case(hc, kf, vf, sh, 0, g);
    const size_t region = kGuard + hc.out_off + hc.out_bytes + kGuard;
    DevCase dc;
    dc.upload(hc, region);
    auto reset = [&]() { CK(cudaMemset(dc.out, kFill, region)); };
    auto untouched = [&]() { return all_bytes(dc.out, region, kFill, true); };
    reset();

    expect(lowbit_backend_status(LBT_BACKEND) == LOWBIT_OK, "lowbit_backend_status(device backend) is OK");
    {
        lowbit_status s = lowbit_attention_device(LBT_BACKEND, &dc.a, nullptr);
        CK(cudaDeviceSynchronize());
        std::vector<uint8_t> want(region, kFill), got(region);
        lowbit_attention_args ha = hc.a;
        ha.out = want.data() + kGuard + hc.out_off;
        lowbit_status hs = lowbit_attention(&ha);
        CK(cudaMemcpy(got.data(), dc.out, region, cudaMemcpyDeviceToHost));
        expect(s == LOWBIT_OK && hs == LOWBIT_OK && got == want, "default stream: the fixture matches the host");
        reset();
    }

    // Host memory in each role the device reads or writes: refused, nothing written.
    std::vector<uint8_t> host(region, 0x5A);
    std::vector<float> host_f(4096, 0.5f);
    std::vector<int32_t> host_table(hc.table);
    struct Role {
        const char *what, *arg;
        void (*put)(lowbit_attention_args &, lowbit_kv_cache &, lowbit_kv_cache &, void *);
        void *ptr;
    };
    const Role roles[] = {
        {"host q", "args->q", [](lowbit_attention_args &a, lowbit_kv_cache &, lowbit_kv_cache &, void *p) { a.q = p; },
         hc.q.data()},
        {"host mask", "args->mask",
         [](lowbit_attention_args &a, lowbit_kv_cache &, lowbit_kv_cache &, void *p) { a.mask = (const float *)p; },
         hc.mask.data()},
        {"host k->pages", "args->k->pages",
         [](lowbit_attention_args &, lowbit_kv_cache &k, lowbit_kv_cache &, void *p) { k.pages = p; }, hc.kp.data()},
        {"host v->pages", "args->v->pages",
         [](lowbit_attention_args &, lowbit_kv_cache &, lowbit_kv_cache &v, void *p) { v.pages = p; }, hc.vp.data()},
        {"host block_table", "args->block_table",
         [](lowbit_attention_args &a, lowbit_kv_cache &, lowbit_kv_cache &, void *p) {
             a.block_table = (const int32_t *)p;
         },
         host_table.data()},
        {"host k->head_scales", "args->k->head_scales",
         [](lowbit_attention_args &, lowbit_kv_cache &k, lowbit_kv_cache &, void *p) {
             k.head_scales = (const float *)p;
         },
         host_f.data()},
    };
    for (const Role &r : roles) {
        lowbit_kv_cache k = dc.k, v = dc.v;
        lowbit_attention_args a = dc.a;
        a.k = &k;
        a.v = &v;
        r.put(a, k, v, r.ptr);
        lowbit_status s = lowbit_attention_device(LBT_BACKEND, &a, nullptr);
        std::string w = std::string(r.what) + " -> LOWBIT_ERR_WRONG_MEMORY naming " + r.arg + ", nothing written";
        expect(s == LOWBIT_ERR_WRONG_MEMORY && std::strstr(lowbit_last_error(), r.arg) && untouched(), w.c_str());
    }
    {
        lowbit_attention_args a = dc.a;
        a.out = host.data() + kGuard;
        lowbit_status s = lowbit_attention_device(LBT_BACKEND, &a, nullptr);
        expect(s == LOWBIT_ERR_WRONG_MEMORY && std::strstr(lowbit_last_error(), "args->out") &&
                   all_bytes(host.data(), region, 0x5A, false),
               "host out -> LOWBIT_ERR_WRONG_MEMORY, nothing written");
        uint8_t *pinned;
        CK(cudaMallocHost(&pinned, region));
        std::memset(pinned, 0x5A, region);
        a.out = pinned + kGuard;
        s = lowbit_attention_device(LBT_BACKEND, &a, nullptr);
        CK(cudaDeviceSynchronize());
        expect(s == LOWBIT_ERR_WRONG_MEMORY && all_bytes(pinned, region, 0x5A, false),
               "pinned host out -> LOWBIT_ERR_WRONG_MEMORY, nothing written");
        uint8_t *pinned_q;
        CK(cudaMallocHost(&pinned_q, hc.q.size()));
        std::memcpy(pinned_q, hc.q.data(), hc.q.size());
        a = dc.a;
        a.q = pinned_q;
        s = lowbit_attention_device(LBT_BACKEND, &a, nullptr);
        expect(s == LOWBIT_ERR_WRONG_MEMORY && untouched(), "pinned host q -> LOWBIT_ERR_WRONG_MEMORY");
        CK(cudaFreeHost(pinned_q));
        CK(cudaFreeHost(pinned));
        float on_stack[64];
        for (float &x : on_stack)
            x = 0.25f;
        lowbit_kv_cache k = dc.k;
        k.head_scales = on_stack;
        a = dc.a;
        a.k = &k;
        s = lowbit_attention_device(LBT_BACKEND, &a, nullptr);
        expect(s == LOWBIT_ERR_WRONG_MEMORY && std::strstr(lowbit_last_error(), "args->k->head_scales") && untouched(),
               "stack k->head_scales -> LOWBIT_ERR_WRONG_MEMORY");
    }

    // Backends that are not the device backend under test.
    for (lowbit_backend hb : {LOWBIT_BACKEND_REF, LOWBIT_BACKEND_AUTO, LOWBIT_BACKEND_AVX2, LOWBIT_BACKEND_AVX512,
                              LOWBIT_BACKEND_NEON}) {
        std::string w = std::string("backend ") + lowbit_backend_name(hb) + " -> LOWBIT_ERR_UNSUPPORTED, nothing written";
        expect(lowbit_attention_device(hb, &dc.a, nullptr) == LOWBIT_ERR_UNSUPPORTED && untouched(), w.c_str());
    }
    expect(lowbit_attention_device((lowbit_backend)99, &dc.a, nullptr) == LOWBIT_ERR_INVALID_ENUM && untouched(),
           "backend 99 -> LOWBIT_ERR_INVALID_ENUM");
    expect(lowbit_attention_device(LBT_OTHER_BACKEND, &dc.a, nullptr) != LOWBIT_OK && untouched(),
           "the other device backend fails, nothing written");

    // Zero query tokens: a no-op, whatever the pointers.
    {
        lowbit_attention_args a = dc.a;
        a.q_tokens = 0;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_OK && untouched(),
               "q_tokens = 0 -> LOWBIT_OK, nothing written");
        a.q = nullptr;
        a.out = nullptr;
        a.mask = nullptr;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_OK,
               "q_tokens = 0, q and out NULL -> LOWBIT_OK");
        a = dc.a;
        a.q_tokens = 0;
        a.out = host.data() + kGuard;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_OK &&
                   all_bytes(host.data(), region, 0x5A, false),
               "q_tokens = 0, host out -> LOWBIT_OK, nothing written");
        expect(lowbit_attention_device(LBT_BACKEND, nullptr, nullptr) == LOWBIT_ERR_NULL_POINTER,
               "args NULL -> LOWBIT_ERR_NULL_POINTER");
    }

    // An empty cache (no pages at all): zeros, as on the host.
    {
        lowbit_kv_cache k = dc.k, v = dc.v;
        k.pages = v.pages = nullptr;
        k.page_count = v.page_count = 0;
        k.pages_bytes = v.pages_bytes = 0;
        lowbit_attention_args a = dc.a;
        a.k = &k;
        a.v = &v;
        a.kv_len = 0;
        a.block_table = nullptr;
        a.block_table_len = 0;
        lowbit_status s = lowbit_attention_device(LBT_BACKEND, &a, nullptr);
        std::vector<uint8_t> got(hc.out_bytes);
        CK(cudaDeviceSynchronize());
        CK(cudaMemcpy(got.data(), (uint8_t *)a.out, hc.out_bytes, cudaMemcpyDeviceToHost));
        bool zeros = true;
        const size_t row = (size_t)a.q_heads * k.head_dim, eb = 4;  // out f32
        for (size_t t = 0; t < a.q_tokens; t++)
            for (size_t e = 0; e < a.out_stride && (t + 1 < a.q_tokens || e < row); e++) {
                const uint8_t *p = got.data() + (t * a.out_stride + e) * eb;
                const uint8_t w = e < row ? 0 : kFill;
                zeros &= p[0] == w && p[1] == w && p[2] == w && p[3] == w;
            }
        expect(s == LOWBIT_OK && zeros, "kv_len = 0, no pages, no block table -> zeros, gaps untouched");
        reset();
    }

    // Validation is the host call's.
    {
        lowbit_attention_args a = dc.a;
        a.q_heads = 7;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_ERR_SHAPE_MISMATCH && untouched(),
               "q_heads not a multiple of kv_heads -> LOWBIT_ERR_SHAPE_MISMATCH");
        a = dc.a;
        a.out_stride = (size_t)a.q_heads * dc.k.head_dim - 1;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_ERR_BAD_STRIDE && untouched(),
               "out_stride below q_heads x head_dim -> LOWBIT_ERR_BAD_STRIDE");
        a = dc.a;
        a.flags = 0x4;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_ERR_INVALID_ENUM && untouched(),
               "unknown flag -> LOWBIT_ERR_INVALID_ENUM");
        a = dc.a;
        a.block_table_len = (a.kv_len - 1) / dc.k.page_tokens;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_ERR_BUFFER_TOO_SMALL && untouched(),
               "block_table_len too short -> LOWBIT_ERR_BUFFER_TOO_SMALL");
        a = dc.a;
        a.out = (void *)a.q;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_ERR_ALIASING,
               "out overlapping q -> LOWBIT_ERR_ALIASING");
        a = dc.a;
        a.out_type = LOWBIT_E4M3;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_ERR_UNSUPPORTED && untouched(),
               "out_type e4m3 -> LOWBIT_ERR_UNSUPPORTED");
        lowbit_kv_cache k = dc.k;
        k.pages_bytes -= 1;
        a = dc.a;
        a.k = &k;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_ERR_BUFFER_TOO_SMALL && untouched(),
               "k->pages_bytes too small -> LOWBIT_ERR_BUFFER_TOO_SMALL");
    }
    dc.release();

    // Managed memory for every buffer, a non-blocking stream.
    {
        HostCase mc;
        std::mt19937_64 gm(77);
        const Shape ms = {128, 8, 2, 20, 150, kAuto, 16, true, true, F16, BF16, B_WIDE, false};
        const KvFmt mk = {"int8/token bf16 zp", lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_BF16, 1)};
        make_case(mc, mk, kf, ms, 1, gm);
        auto managed = [](const void *src, size_t n) {
            void *p = nullptr;
            CK(cudaMallocManaged(&p, n ? n : 1));
            if (n) std::memcpy(p, src, n);
            return p;
        };
        lowbit_kv_cache k = mc.k, v = mc.v;
        k.pages = managed(mc.kp.data(), mc.kp.size());
        v.pages = managed(mc.vp.data(), mc.vp.size());
        k.head_scales = (const float *)managed(mc.ks.data(), mc.ks.size() * 4);
        v.head_scales = (const float *)managed(mc.vs.data(), mc.vs.size() * 4);
        lowbit_attention_args a = mc.a;
        a.k = &k;
        a.v = &v;
        a.q = managed(mc.q.data(), mc.q.size());
        a.mask = (const float *)managed(mc.mask.data(), mc.mask.size() * 4);
        a.block_table = (const int32_t *)managed(mc.table.data(), mc.table.size() * 4);
        uint8_t *mo = nullptr;
        CK(cudaMallocManaged(&mo, mc.out_bytes));
        std::memset(mo, kFill, mc.out_bytes);
        a.out = mo;
        std::vector<uint8_t> want(mc.out_bytes, kFill);
        lowbit_attention_args ha = mc.a;
        ha.out = want.data();
        cudaStream_t st;
        CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
        lowbit_status s = lowbit_attention_device(LBT_BACKEND, &a, st);
        CK(cudaStreamSynchronize(st));
        lowbit_status hs = lowbit_attention(&ha);
        expect(s == LOWBIT_OK && hs == LOWBIT_OK && !std::memcmp(want.data(), mo, mc.out_bytes),
               "managed memory, non-blocking stream: matches the host");
        CK(cudaStreamDestroy(st));
        for (const void *p : {(const void *)k.pages, (const void *)v.pages, (const void *)k.head_scales,
                              (const void *)v.head_scales, a.q, (const void *)a.mask, (const void *)a.block_table,
                              (const void *)mo})
            CK(cudaFree((void *)p));
    }
    std::printf("api checks: %ld passed, %ld failed\n", g_passed - p0, g_failed - f0);
}

// ---- lowbit_kv_append_device ---------------------------------------------------------

// An append case's pages, source, table and head scales on the device.
struct DevAppend {
    uint8_t *pages = nullptr, *src = nullptr;
    float *hs = nullptr;
    int32_t *table = nullptr;
    lowbit_kv_cache c;

    explicit DevAppend(const AppendCase &ac)
    {
        pages = to_device(ac.pages);
        src = to_device(ac.src);
        hs = to_device(ac.hs);
        table = to_device(ac.table);
        c = ac.c;
        c.pages = pages;
        c.head_scales = hs;
    }
    DevAppend(const DevAppend &) = delete;
    DevAppend &operator=(const DevAppend &) = delete;
    ~DevAppend()
    {
        for (void *p : {(void *)pages, (void *)src, (void *)hs, (void *)table})
            if (p) CK(cudaFree(p));
    }
};

// The append on the device; the pages back: the host's bytes, every one.
static bool append_case(AppendCase &ac, int &prints, cudaStream_t s)
{
    std::vector<uint8_t> want = ac.pages, got(ac.pages.size());
    lowbit_kv_cache hc = ac.c;
    hc.pages = want.data();
    lowbit_status hs = lowbit_kv_append(&hc, ac.table.data(), ac.table.size(), ac.pos, ac.n, ac.st, ac.src.data(),
                                        ac.stride);
    std::string herr = hs == LOWBIT_OK ? "" : lowbit_last_error();
    DevAppend d(ac);
    lowbit_status ds =
        lowbit_kv_append_device(LBT_BACKEND, &d.c, d.table, ac.table.size(), ac.pos, ac.n, ac.st, d.src, ac.stride, s);
    std::string derr = lowbit_last_error();
    CK(cudaMemcpyAsync(got.data(), d.pages, got.size(), cudaMemcpyDeviceToHost, s));
    CK(cudaStreamSynchronize(s));
    return same_pages(ac, "device", hs, herr, ds, derr, want, got, prints);
}

// Argument checks: validation as the host's, host memory in each role the
// device reads or writes refused by name with the pages untouched, other
// backends refused, zero tokens a no-op.
static void append_api_checks()
{
    long p0 = g_passed, f0 = g_failed;
    AppendCase ac;
    const KvFmt kf = {"nvfp4 given", kv_nv_given(LOWBIT_E2M1, 16)};
    make_append_case(ac, kf, 64, 2, 16, 5, 20, LOWBIT_BF16, B_CLEAN, 77);
    DevAppend d(ac);
    lowbit_kv_cache &dc = d.c;
    uint8_t *dp = d.pages, *dsrc = d.src;
    int32_t *dt = d.table;
    const size_t tl = ac.table.size();
    auto untouched = [&]() {
        std::vector<uint8_t> h(ac.pages.size());
        CK(cudaDeviceSynchronize());
        CK(cudaMemcpy(h.data(), dp, h.size(), cudaMemcpyDeviceToHost));
        return h == ac.pages;
    };
    auto expect_call = [&](lowbit_status st, lowbit_status want, const char *needle, const char *what) {
        bool ok = st == want && std::strstr(lowbit_last_error(), needle) && untouched();
        expect(ok, what);
    };
    lowbit_kv_cache hostc = dc;
    hostc.pages = ac.pages.data();
    expect_call(lowbit_kv_append_device(LBT_BACKEND, &hostc, dt, tl, ac.pos, ac.n, ac.st, dsrc, ac.stride, nullptr),
            LOWBIT_ERR_WRONG_MEMORY, "cache->pages", "host cache->pages -> LOWBIT_ERR_WRONG_MEMORY");
    expect_call(lowbit_kv_append_device(LBT_BACKEND, &dc, dt, tl, ac.pos, ac.n, ac.st, ac.src.data(), ac.stride, nullptr),
            LOWBIT_ERR_WRONG_MEMORY, "src", "host src -> LOWBIT_ERR_WRONG_MEMORY");
    expect_call(lowbit_kv_append_device(LBT_BACKEND, &dc, ac.table.data(), tl, ac.pos, ac.n, ac.st, dsrc, ac.stride,
                                    nullptr),
            LOWBIT_ERR_WRONG_MEMORY, "block_table", "host block_table -> LOWBIT_ERR_WRONG_MEMORY");
    lowbit_kv_cache hosths = dc;
    hosths.head_scales = ac.hs.data();
    expect_call(lowbit_kv_append_device(LBT_BACKEND, &hosths, dt, tl, ac.pos, ac.n, ac.st, dsrc, ac.stride, nullptr),
            LOWBIT_ERR_WRONG_MEMORY, "cache->head_scales", "host head_scales -> LOWBIT_ERR_WRONG_MEMORY");
    expect_call(lowbit_kv_append_device(LBT_BACKEND, &dc, dt, tl, ac.pos, ac.n, ac.st, dsrc, 3, nullptr),
            LOWBIT_ERR_BAD_STRIDE, "src_token_stride", "short stride -> LOWBIT_ERR_BAD_STRIDE");
    expect_call(lowbit_kv_append_device(LBT_BACKEND, &dc, dt, 1, ac.pos, ac.n, ac.st, dsrc, ac.stride, nullptr),
            LOWBIT_ERR_BUFFER_TOO_SMALL, "block_table_len", "short table -> LOWBIT_ERR_BUFFER_TOO_SMALL");
    expect_call(lowbit_kv_append_device(LBT_BACKEND, &dc, dt, tl, ac.pos, ac.n, LOWBIT_E4M3, dsrc, ac.stride, nullptr),
            LOWBIT_ERR_UNSUPPORTED, "src_type", "FP8 source -> LOWBIT_ERR_UNSUPPORTED");
    lowbit_kv_cache noscale = dc;
    noscale.head_scales = nullptr;
    expect_call(lowbit_kv_append_device(LBT_BACKEND, &noscale, dt, tl, ac.pos, ac.n, ac.st, dsrc, ac.stride, nullptr),
            LOWBIT_ERR_NULL_POINTER, "head_scales", "NULL head_scales -> LOWBIT_ERR_NULL_POINTER");
    expect_call(lowbit_kv_append_device(LOWBIT_BACKEND_REF, &dc, dt, tl, ac.pos, ac.n, ac.st, dsrc, ac.stride, nullptr),
            LOWBIT_ERR_UNSUPPORTED, "backend", "a CPU backend -> LOWBIT_ERR_UNSUPPORTED");
    expect(lowbit_kv_append_device(LBT_OTHER_BACKEND, &dc, dt, tl, ac.pos, ac.n, ac.st, dsrc, ac.stride, nullptr) !=
                   LOWBIT_OK && untouched(),
           "the other GPU backend: refused, nothing written");
    expect_call(lowbit_kv_append_device(LBT_BACKEND, &dc, nullptr, 0, ac.pos, 0, ac.st, nullptr, 0, nullptr), LOWBIT_OK, "",
            "zero tokens: a no-op");
    // The default stream and the whole call: the host's pages.
    {
        lowbit_status st =
            lowbit_kv_append_device(LBT_BACKEND, &dc, dt, tl, ac.pos, ac.n, ac.st, dsrc, ac.stride, nullptr);
        std::vector<uint8_t> want = ac.pages, got(ac.pages.size());
        lowbit_kv_cache hc = ac.c;
        hc.pages = want.data();
        lowbit_status hs = lowbit_kv_append(&hc, ac.table.data(), tl, ac.pos, ac.n, ac.st, ac.src.data(), ac.stride);
        CK(cudaDeviceSynchronize());
        CK(cudaMemcpy(got.data(), dp, got.size(), cudaMemcpyDeviceToHost));
        expect(st == LOWBIT_OK && hs == LOWBIT_OK && got == want, "default stream: the host's pages");
    }
    std::printf("append api checks: %ld passed, %ld failed\n", g_passed - p0, g_failed - f0);
}

// ---- main ----------------------------------------------------------------------------

int main(int argc, char **argv)
{
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    if (!lbt_have_device())
        return 77;
    if (lowbit_set_backend(LOWBIT_BACKEND_REF) != LOWBIT_OK) {
        std::printf("FAIL: cannot select the reference host backend: %s\n", lowbit_last_error());
        return 1;
    }

    api_checks();

    append_api_checks();

    cudaStream_t stream;
    CK(cudaStreamCreate(&stream));
    run_append_cases(g_passed, g_failed,
                     [&](AppendCase &ac, int &prints) { return append_case(ac, prints, stream); });
    run_all_cases(quick, g_passed, g_failed,
                  [&](const KvFmt &kf, const KvFmt &vf, const Shape &sh, size_t idx, uint64_t seed, int &prints) {
                      return run_case(kf, vf, sh, idx, seed, prints, stream);
                  });
    std::printf("%ld passed, %ld failed\n", g_passed, g_failed);
    CK(cudaStreamDestroy(stream));
    return g_failed ? 1 : 0;
}