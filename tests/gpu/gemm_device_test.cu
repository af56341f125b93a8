// gemm_device_test.cu - lowbit_gemm_device (CUDA, or HIP when hipcc builds
// it: tests/gpu/device_test.h) against lowbit_gemm on the host.
//
//   exact    every pair of gemm_cases.h (FP8 incl. FNUZ with tensor / row /
//            1x128 / 128x128 scales, every MX x MX, NVFP4, INT x INT with
//            and without zero points, W8A8, W4A8, W4A16), M in 1, 5, 64, 70,
//            200, N in 1, 7, 64, 130, 257, K from 0 to 3 blocks (odd K for
//            whole-row scales), f32 / f16 / bf16 C with padded ldc, beta 0
//            (C filled with NaN: never read), 0.5 and -1; data quantized
//            Gaussians, with ~3 % random codes, or all-random codes and
//            scales (NaN, Inf, subnormals, max codes, NaN scales).  Each case
//            runs with the default dispatch (integer pairs: the integer MMA
//            / MFMA kernel) and with LOWBIT_CUDA_GEMM=exact (HIP:
//            LOWBIT_HIP_GEMM=exact; the generic kernel), and both must equal
//            the host C byte for byte, padding included.
//   fast     LOWBIT_GEMM_ALLOW_FAST on the FP8 pairs a fast kernel takes,
//            against an f64 GEMM within the bound of docs/semantics.md
//            ("GEMM on the GPU"), NaN where the f64 result is NaN; plus
//            prefill-sized shapes.  CUDA: OCP FP8 / MXFP8 pairs, exact below
//            sm_89.  HIP: FNUZ FP8 pairs (and the two FNUZ mixes the list
//            lacks) on the FP8 MFMA kernel of gfx940 / 941 / 942; exact on
//            other AMD devices and for the OCP pairs, which stay exact there.
//   errors   host pointers for a->data, a->scales, b->data, b->zero_points
//            and c (LOWBIT_ERR_WRONG_MEMORY naming them, C untouched),
//            non-device and unknown backends, and every validation status
//            lowbit_gemm gives (the same status for the same arguments).
//
// Prints a summary line per group; exits 1 on any failure, 77 with one
// SKIP line when there is no device.
#include "device_test.h"  // CUDA or HIP runtime, LBT_BACKEND, CK, SKIP

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include "gemm_cases.h"
#include "lowbit.h"

// Each case runs with the default dispatch and with the generic kernel
// forced by this variable (the HIP module reads its own).
#if defined(__HIPCC__)
static const char *const kForceGeneric = "LOWBIT_HIP_GEMM";
#else
static const char *const kForceGeneric = "LOWBIT_CUDA_GEMM";
#endif

static long g_pass, g_fail;

static void fail(const char *fmt, const std::string &what, const char *detail)
{
    g_fail++;
    if (g_fail <= 40)
        fprintf(stderr, fmt, what.c_str(), detail);
}

// Device copies of a case's operands and C.
struct Dev {
    lowbit_qtensor a, b;
    void *c = NULL;
    std::vector<void *> bufs;
    void *up(const std::vector<uint8_t> &v, size_t n)
    {
        void *p = NULL;
        CK(cudaMalloc(&p, n ? n : 1));
        if (n)
            CK(cudaMemcpy(p, v.data(), n, cudaMemcpyHostToDevice));
        bufs.push_back(p);
        return p;
    }
    lowbit_qtensor upq(const gc::Operand &o)
    {
        lowbit_qtensor q = o.q;
        q.data = up(o.data, o.q.data_bytes);
        q.scales = o.q.scales ? up(o.scales, o.q.scales_bytes) : NULL;
        q.zero_points = o.q.zero_points ? up(o.zps, o.q.zero_points_bytes) : NULL;
        return q;
    }
    explicit Dev(const gc::Case &k)
    {
        a = upq(k.a);
        b = upq(k.b);
        c = up(k.c0, k.c0.size());
    }
    ~Dev()
    {
        for (void *p : bufs)
            (void)cudaFree(p);
    }
    std::vector<uint8_t> down(const gc::Case &k)
    {
        std::vector<uint8_t> v(k.c0.size());
        CK(cudaMemcpy(v.data(), c, v.size(), cudaMemcpyDeviceToHost));
        return v;
    }
    void reset(const gc::Case &k) { CK(cudaMemcpy(c, k.c0.data(), k.c0.size(), cudaMemcpyHostToDevice)); }
};

static std::string describe(const gc::Case &k)
{
    char buf[160];
    snprintf(buf, sizeof buf, " M=%zu N=%zu K=%zu ldc=%zu c=%s alpha=%g beta=%g mode=%d", k.M, k.N, k.K, k.ldc,
             lowbit_dtype_name(k.c_type), k.alpha, k.beta, k.mode);
    return k.p.name + buf;
}

static lowbit_status run_dev(const gc::Case &k, Dev &d, const lowbit_gemm_opts *opts, cudaStream_t st)
{
    lowbit_status s = lowbit_gemm_device(LBT_BACKEND, &d.a, &d.b, k.alpha, k.beta, k.c_type, d.c, k.ldc, opts,
                                         st);
    CK(cudaStreamSynchronize(st));
    return s;
}

// One exact case: default dispatch and the generic kernel, both bit for bit.
static void exact_case(const gc::Case &k, cudaStream_t st)
{
    std::vector<uint8_t> ref;
    if (gc::reference(k, ref) != LOWBIT_OK) {
        fail("FAIL %s: host lowbit_gemm: %s\n", describe(k), lowbit_last_error());
        return;
    }
    Dev d(k);
    for (int generic = 0; generic < 2; generic++) {
        if (generic)
            setenv(kForceGeneric, "exact", 1);
        d.reset(k);
        lowbit_status s = run_dev(k, d, NULL, st);
        unsetenv(kForceGeneric);
        if (s != LOWBIT_OK) {
            fail("FAIL %s: lowbit_gemm_device: %s\n", describe(k), lowbit_last_error());
            continue;
        }
        std::vector<uint8_t> got = d.down(k);
        size_t i = gc::first_diff(k, ref, got);
        if (i != SIZE_MAX) {
            char det[200];
            snprintf(det, sizeof det, "%s kernel: C[%zu][%zu] = %a, host %a", generic ? "generic" : "default",
                     i / k.ldc, i % k.ldc, gc::c_at(k, got, i / k.ldc, i % k.ldc), gc::c_at(k, ref, i / k.ldc, i % k.ldc));
            fail("FAIL %s: %s\n", describe(k), det);
        } else {
            g_pass++;
        }
    }
}

#if defined(__HIPCC__)
// Both operands FNUZ E4M3 / E5M2 with scales: what the FP8 MFMA kernel takes.
static bool fnuz_fp8_pair(const gc::Pair &p)
{
    auto ok = [](const lowbit_format &f) {
        return (f.elem == LOWBIT_E4M3FNUZ || f.elem == LOWBIT_E5M2FNUZ) && f.scale_type != LOWBIT_DTYPE_COUNT;
    };
    return ok(p.a) && ok(p.b);
}
#endif

// One fast case: within the bound of docs/semantics.md ("GEMM on the GPU")
// against f64 (gc::fast_check) when a fast kernel takes it, else exact.
static void fast_case(const gc::Case &k, cudaStream_t st, bool fast_kernel, const gc::FastBound &fb)
{
    Dev d(k);
    lowbit_gemm_opts fast = {LOWBIT_GEMM_ALLOW_FAST};
    if (run_dev(k, d, &fast, st) != LOWBIT_OK) {
        fail("FAIL %s: fast lowbit_gemm_device: %s\n", describe(k), lowbit_last_error());
        return;
    }
    std::vector<uint8_t> got = d.down(k);
    if (!fast_kernel) {  // no FP8 matrix cores for this pair here: the exact kernel must have run
        std::vector<uint8_t> ref;
        gc::reference(k, ref);
        if (gc::first_diff(k, ref, got) != SIZE_MAX)
            fail("FAIL %s: %s\n", describe(k), "fast flag without an FP8 kernel for the pair is not exact");
        else
            g_pass++;
        return;
    }
    char why[256];
    if (!gc::fast_check(k, got, why, sizeof why, fb))
        fail("FAIL fast %s: %s\n", describe(k), why);
    else
        g_pass++;
}

// ---- argument checks --------------------------------------------------------

static void expect(lowbit_status got, lowbit_status want, const char *what, const char *must_name)
{
    const char *msg = lowbit_last_error();
    if (got != want) {
        g_fail++;
        fprintf(stderr, "FAIL errors: %s: status %s, expected %s (%s)\n", what, lowbit_status_string(got),
                lowbit_status_string(want), msg);
    } else if (must_name && !strstr(msg, must_name)) {
        g_fail++;
        fprintf(stderr, "FAIL errors: %s: message \"%s\" does not name %s\n", what, msg, must_name);
    } else {
        g_pass++;
    }
}

static void error_cases(cudaStream_t st)
{
    gc::Rng rng(99);
    gc::Case k;
    const gc::Pair p = gc::make_pair(lowbit_format_int_group(LOWBIT_INT8, 32, LOWBIT_F16, 1),
                                     lowbit_format_int_group(LOWBIT_UINT4, 32, LOWBIT_F32, 1));
    if (!gc::make_case(k, p, 8, 16, 64, 0, rng)) {
        g_fail++;
        fprintf(stderr, "FAIL errors: could not build the case\n");
        return;
    }
    Dev d(k);
    const float a1 = k.alpha, b1 = k.beta;
    const lowbit_dtype ct = k.c_type;
    std::vector<uint8_t> host_c = k.c0;
    auto dev = [&](const lowbit_qtensor *a, const lowbit_qtensor *b, lowbit_dtype t, void *c, size_t ldc,
                   const lowbit_gemm_opts *o) {
        lowbit_status s = lowbit_gemm_device(LBT_BACKEND, a, b, a1, b1, t, c, ldc, o, st);
        (void)cudaStreamSynchronize(st);
        return s;
    };
    // Host pointers, one at a time; C must stay untouched.
    {
        lowbit_qtensor a = d.a;
        a.data = k.a.q.data;
        d.reset(k);
        expect(dev(&a, &d.b, ct, d.c, k.ldc, NULL), LOWBIT_ERR_WRONG_MEMORY, "host a->data", "a->data");
        a = d.a;
        a.scales = k.a.q.scales;
        expect(dev(&a, &d.b, ct, d.c, k.ldc, NULL), LOWBIT_ERR_WRONG_MEMORY, "host a->scales", "a->scales");
        a = d.a;
        a.zero_points = k.a.q.zero_points;
        expect(dev(&a, &d.b, ct, d.c, k.ldc, NULL), LOWBIT_ERR_WRONG_MEMORY, "host a->zero_points",
               "a->zero_points");
        lowbit_qtensor b = d.b;
        b.data = k.b.q.data;
        expect(dev(&d.a, &b, ct, d.c, k.ldc, NULL), LOWBIT_ERR_WRONG_MEMORY, "host b->data", "b->data");
        b = d.b;
        b.zero_points = k.b.q.zero_points;
        expect(dev(&d.a, &b, ct, d.c, k.ldc, NULL), LOWBIT_ERR_WRONG_MEMORY, "host b->zero_points",
               "b->zero_points");
        b = d.b;
        b.scales = k.b.q.scales;
        expect(dev(&d.a, &b, ct, d.c, k.ldc, NULL), LOWBIT_ERR_WRONG_MEMORY, "host b->scales", "b->scales");
        expect(dev(&d.a, &d.b, ct, host_c.data(), k.ldc, NULL), LOWBIT_ERR_WRONG_MEMORY, "host c", "c");
        void *pinned = NULL;
        CK(cudaMallocHost(&pinned, k.c0.size()));
        expect(dev(&d.a, &d.b, ct, pinned, k.ldc, NULL), LOWBIT_ERR_WRONG_MEMORY, "pinned host c", "c");
        CK(cudaFreeHost(pinned));
        std::vector<uint8_t> after = d.down(k);
        if (after != k.c0) {
            g_fail++;
            fprintf(stderr, "FAIL errors: a refused call wrote C\n");
        }
    }
    // Backends.
    expect(lowbit_gemm_device(LOWBIT_BACKEND_REF, &d.a, &d.b, a1, b1, ct, d.c, k.ldc, NULL, st),
           LOWBIT_ERR_UNSUPPORTED, "backend ref", "backend");
    expect(lowbit_gemm_device((lowbit_backend)99, &d.a, &d.b, a1, b1, ct, d.c, k.ldc, NULL, st),
           LOWBIT_ERR_INVALID_ENUM, "backend 99", "backend");
    // The other device backend: its own status (not built, unavailable), or,
    // where it works, this backend's memory is not its device memory.
    {
        const lowbit_status other = lowbit_backend_status(LBT_OTHER_BACKEND);
        expect(lowbit_gemm_device(LBT_OTHER_BACKEND, &d.a, &d.b, a1, b1, ct, d.c, k.ldc, NULL, st),
               other == LOWBIT_OK ? LOWBIT_ERR_WRONG_MEMORY : other, "the other device backend", NULL);
    }
    // Validation: the host call's status on the same arguments (host copies).
    struct V {
        const char *what;
        int which;
    };
    const V vs[] = {{"a NULL", 0}, {"b NULL", 1}, {"K mismatch", 2}, {"pair not offered", 3}, {"c_type e4m3", 4},
                    {"c_type 99", 5}, {"ldc < N", 6}, {"c NULL", 7}, {"unknown flag", 8}, {"c overlaps a", 9},
                    {"data_bytes short", 10}, {"block shape", 11}};
    for (const V &v : vs) {
        lowbit_qtensor ha = k.a.q, hb = k.b.q, da = d.a, db = d.b;
        lowbit_dtype t = ct;
        size_t ldc = k.ldc;
        void *hc = host_c.data(), *dc = d.c;
        lowbit_gemm_opts o = {0}, *op = NULL;
        const lowbit_qtensor *pa = &ha, *pb = &hb, *qa = &da, *qb = &db;
        gc::Operand other;
        switch (v.which) {
        case 0: pa = qa = NULL; break;
        case 1: pb = qb = NULL; break;
        case 2: hb.cols = db.cols = 32; hb.rows = db.rows = 1; break;
        case 3:
            gc::make_operand(other, lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), k.N, k.K, 0, rng);
            hb = db = other.q;
            break;
        case 4: t = LOWBIT_E4M3; break;
        case 5: t = (lowbit_dtype)99; break;
        case 6: ldc = k.N - 1; break;
        case 7: hc = dc = NULL; break;
        case 8: o.flags = 0x80; op = &o; break;
        case 9: hc = ha.data; dc = da.data; break;
        case 10: ha.data_bytes = da.data_bytes = 3; break;
        case 11: ha.cols = hb.cols = da.cols = db.cols = 48; break;
        }
        lowbit_status want = lowbit_gemm(pa, pb, a1, b1, t, hc, ldc, op);
        if (want == LOWBIT_OK) {
            g_fail++;
            fprintf(stderr, "FAIL errors: %s: the host call accepted it\n", v.what);
            continue;
        }
        lowbit_status got = lowbit_gemm_device(LBT_BACKEND, qa, qb, a1, b1, t, dc, ldc, op, st);
        expect(got, want, v.what, NULL);
    }
    // M = 0 is a no-op that touches nothing (C may be NULL).
    {
        lowbit_qtensor a0 = d.a;
        a0.rows = 0;
        expect(lowbit_gemm_device(LBT_BACKEND, &a0, &d.b, a1, b1, ct, NULL, k.ldc, NULL, st), LOWBIT_OK,
               "M = 0", NULL);
    }
    // Managed memory for C on a non-blocking stream.
    {
        void *mc = NULL;
        CK(cudaMallocManaged(&mc, k.c0.size()));
        memcpy(mc, k.c0.data(), k.c0.size());
        cudaStream_t nb;
        CK(cudaStreamCreateWithFlags(&nb, cudaStreamNonBlocking));
        lowbit_status s = lowbit_gemm_device(LBT_BACKEND, &d.a, &d.b, a1, b1, ct, mc, k.ldc, NULL, nb);
        CK(cudaStreamSynchronize(nb));
        std::vector<uint8_t> ref;
        gc::reference(k, ref);
        std::vector<uint8_t> got((uint8_t *)mc, (uint8_t *)mc + k.c0.size());
        expect(s, LOWBIT_OK, "managed C", NULL);
        if (gc::first_diff(k, ref, got) != SIZE_MAX) {
            g_fail++;
            fprintf(stderr, "FAIL errors: managed C differs from the host\n");
        }
        CK(cudaStreamDestroy(nb));
        CK(cudaFree(mc));
    }
}

int main(int argc, char **argv)
{
    if (!lbt_have_device())
        return 77;
    const bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
#if defined(__HIPCC__)
    // The FNUZ FP8 MFMAs: gfx940, gfx941, gfx942 (gcnArchName "gfx942:sramecc+:xnack-" and the like).
    const char *an = prop.gcnArchName;
    const bool fast_hw = strncmp(an, "gfx94", 5) == 0 && an[5] >= '0' && an[5] <= '2' && (an[6] == 0 || an[6] == ':');
#else
    const int arch = prop.major * 10 + prop.minor;
    const bool fast_hw = arch >= 89;
    // The block-scaled kernels' devices (a build without sm_121a, sm_103a or
    // sm_110a runs other kernels there, which are inside the bound as
    // well): cc 12.x mma.sync; cc 10.0, 10.3, 11.0 tcgen05.
    const bool bs_hw = arch == 120 || arch == 121 || arch == 100 || arch == 103 || arch == 110;
#endif
    cudaStream_t st;
    CK(cudaStreamCreate(&st));

    gc::Rng rng(0x6E33D);
    const std::vector<gc::Pair> pairs = gc::all_pairs();
    const size_t Ms[] = {1, 5, 64, 70, 200};
    const size_t Ns[] = {1, 7, 64, 130, 257};
    long before = g_pass;
    size_t exact_cases = 0;
    for (const gc::Pair &p : pairs) {
        const int per = quick ? 3 : 9;
        for (int v = 0; v < per; v++) {
            gc::Case k;
            const size_t K = v == per - 1 && rng.below(2) ? 0 : gc::pick_k(p, rng);
            if (!gc::make_case(k, p, Ms[rng.below(5)], Ns[rng.below(5)], K, v % 3, rng))
                continue;
            exact_case(k, st);
            exact_cases++;
        }
    }
    printf("exact: %zu cases over %zu pairs, %ld comparisons passed\n", exact_cases, pairs.size(), g_pass - before);

    before = g_pass;
    size_t fast_cases = 0, fast_kernel_cases = 0;
    std::vector<gc::Pair> fast_pairs;
    for (const gc::Pair &p : pairs)
        if (gc::ocp_fp8_pair(p))
            fast_pairs.push_back(p);
#if !defined(__HIPCC__)
    // The block-scaled kernels' other pairs (MXFP6, MXFP4, mixes, NVFP4):
    // fast on compute capability 12.0 / 12.1, 10.0, 10.3 and 11.0, exact elsewhere.
    for (const gc::Pair &p : pairs)
        if (!gc::ocp_fp8_pair(p) && gc::block_scaled_slice(p, 64))
            fast_pairs.push_back(p);
#endif
#if defined(__HIPCC__)
    for (const gc::Pair &p : pairs)
        if (fnuz_fp8_pair(p))
            fast_pairs.push_back(p);
    fast_pairs.push_back(gc::make_pair(lowbit_format_fp8_row(LOWBIT_E4M3FNUZ), lowbit_format_fp8_tensor(LOWBIT_E5M2FNUZ)));
    fast_pairs.push_back(gc::make_pair(lowbit_format_fp8_block(LOWBIT_E5M2FNUZ, 1, 128),
                                       lowbit_format_fp8_block(LOWBIT_E4M3FNUZ, 128, 128)));
#endif
    for (const gc::Pair &p : fast_pairs) {
#if defined(__HIPCC__)
        const bool fast_kernel = fast_hw && fnuz_fp8_pair(p);
#else
        const bool block_scaled = !gc::ocp_fp8_pair(p);  // (where it runs fast is decided per K below)
        const bool fast_kernel = fast_hw;
#endif
        for (int v = 0; v < 6; v++) {
            gc::Case k;
            size_t K = gc::pick_k(p, rng);
            K = (K + 31) / 32 * 32;
            if (K % 128 && (p.a.block_cols == 128 || p.b.block_cols == 128))
                K = 128;
            const size_t M = v == 5 ? 256 : Ms[rng.below(5)], N = v == 5 ? 384 : Ns[rng.below(5)];
            if (v == 5)
                K = 1024;
            int mode = v == 4 ? 1 : 0;
            gc::FastBound fb;
            bool on_fast = fast_kernel;
#if !defined(__HIPCC__)
            // On those devices the block-scaled kernels take MX FP8 pairs too.
            const int slice = bs_hw ? gc::block_scaled_slice(p, K) : 0;
            if (slice)
                fb = gc::block_scaled_bound(slice);
            if (block_scaled) {
                on_fast = slice != 0;
                mode = v % 3;
            }
#endif
            if (!gc::make_case(k, p, M, N, K, mode, rng))
                continue;
            fast_case(k, st, on_fast, fb);
            fast_cases++;
            fast_kernel_cases += on_fast;
        }
    }
    printf("fast: %zu cases (%zu on a fast kernel, checked against the bound; the rest must be exact), "
           "%ld passed%s\n", fast_cases, fast_kernel_cases, g_pass - before,
           fast_hw ? "" : " (no FP8 or block-scaled matrix cores: the exact kernels ran)");

    before = g_pass;
    error_cases(st);
    printf("errors: %ld checks passed\n", g_pass - before);

    CK(cudaStreamDestroy(st));
    printf("%ld passed, %ld failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
