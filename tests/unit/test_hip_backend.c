/*
 * test_hip_backend.c - the HIP backend as the core sees it, on any machine:
 * built or not, module found or not, device or not.
 *
 *  - not built (LOWBIT_BUILT_HIP 0): lowbit_backend_status(HIP) and every
 *    *_device(HIP, ...) call say BACKEND_NOT_BUILT;
 *  - built, module at $LOWBIT_HIP_MODULE (meson sets it to the freshly built
 *    liblowbit-hip.so): without an AMD GPU, BACKEND_UNAVAILABLE "no HIP
 *    device"; with one, OK and host pointers refused with WRONG_MEMORY;
 *  - a module path that does not exist, or a library that is not a lowbit
 *    module: BACKEND_UNAVAILABLE naming the problem;
 *  - argument validation comes first, exactly as for CUDA (src/device.c):
 *    a bad dtype or a NULL pointer gets its own status with or without a
 *    device, and nothing is ever written to host memory (convert, quantize,
 *    dequantize, attention, gemm).
 * Criterion runs each test in a process of its own, so each sees the
 * module loaded (or not) afresh.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "lowbit.h"
#include "lowbit_config.h"

#define GUARD 0xA5

static int all_guard(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != GUARD)
            return 0;
    return 1;
}

/* What lowbit_backend_status(HIP) must say here, and its detail. */
static lowbit_status hip_status_checked(void)
{
    lowbit_status s = lowbit_backend_status(LOWBIT_BACKEND_HIP);
    const char *d = lowbit_last_error();
#if !LOWBIT_BUILT_HIP
    cr_expect_eq(s, LOWBIT_ERR_BACKEND_NOT_BUILT, "%s: %s", lowbit_status_string(s), d);
    cr_expect(strstr(d, "hip") && strstr(d, "not compiled"), "detail: %s", d);
#else
    if (s != LOWBIT_OK) {
        cr_expect_eq(s, LOWBIT_ERR_BACKEND_UNAVAILABLE, "%s: %s", lowbit_status_string(s), d);
        const char *env = getenv("LOWBIT_HIP_MODULE");
        if (env && strstr(env, "liblowbit-hip.so"))  /* the module this build made: only the device is missing */
            cr_expect(strstr(d, "no HIP device") != NULL, "detail: %s", d);
    }
#endif
    return s;
}

Test(hip_backend, status)
{
    lowbit_status s = hip_status_checked();
    /* asking again gives the same answer (the module is opened once) */
    cr_expect_eq(lowbit_backend_status(LOWBIT_BACKEND_HIP), s);
    /* never a host backend */
    cr_expect_eq(lowbit_set_backend(LOWBIT_BACKEND_HIP), LOWBIT_ERR_UNSUPPORTED);
    cr_expect_str_eq(lowbit_backend_name(LOWBIT_BACKEND_HIP), "hip");
}

Test(hip_backend, host_memory_refused)
{
    lowbit_status st = hip_status_checked();
    lowbit_status want = st == LOWBIT_OK ? LOWBIT_ERR_WRONG_MEMORY : st;
    float src[64];
    for (int i = 0; i < 64; i++)
        src[i] = (float)i * 0.25f - 3.0f;
    uint8_t dst[256];
    memset(dst, GUARD, sizeof dst);

    /* validation first: the same statuses as any backend */
    cr_expect_eq(lowbit_convert_device(LOWBIT_BACKEND_HIP, (lowbit_dtype)99, dst, LOWBIT_F32, src, 8, NULL, NULL),
                 LOWBIT_ERR_INVALID_ENUM, "%s", lowbit_last_error());
    cr_expect_eq(lowbit_convert_device(LOWBIT_BACKEND_HIP, LOWBIT_E4M3FNUZ, dst, LOWBIT_F32, NULL, 8, NULL, NULL),
                 LOWBIT_ERR_NULL_POINTER, "%s", lowbit_last_error());

    /* host pointers: refused (no device, or WRONG_MEMORY with one) */
    static const lowbit_dtype fnuz[] = {LOWBIT_E4M3FNUZ, LOWBIT_E5M2FNUZ, LOWBIT_E4M3};
    for (size_t i = 0; i < sizeof fnuz / sizeof fnuz[0]; i++) {
        lowbit_status s = lowbit_convert_device(LOWBIT_BACKEND_HIP, fnuz[i], dst, LOWBIT_F32, src, 64, NULL, NULL);
        cr_expect_eq(s, want, "convert_device(hip, %s): %s (%s)", lowbit_dtype_name(fnuz[i]),
                     lowbit_status_string(s), lowbit_last_error());
        cr_expect(strstr(lowbit_last_error(), want == LOWBIT_ERR_WRONG_MEMORY ? "host memory" : "hip"), "%s",
                  lowbit_last_error());
    }

    lowbit_format f = lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR);
    lowbit_qtensor q;
    cr_assert_eq(lowbit_qtensor_init(&q, &f, 2, 32), LOWBIT_OK, "%s", lowbit_last_error());
    uint8_t data[64], scales[2];
    memset(data, GUARD, sizeof data);
    memset(scales, GUARD, sizeof scales);
    q.data = data;
    q.scales = scales;
    lowbit_status s = lowbit_quantize_device(LOWBIT_BACKEND_HIP, &q, LOWBIT_F32, src, 32, NULL, NULL);
    cr_expect_eq(s, want, "quantize_device(hip): %s (%s)", lowbit_status_string(s), lowbit_last_error());
    cr_expect(all_guard(data, sizeof data) && all_guard(scales, sizeof scales), "quantize_device wrote host memory");

    float out[64];
    memset(out, GUARD, sizeof out);
    s = lowbit_dequantize_device(LOWBIT_BACKEND_HIP, LOWBIT_F32, out, 32, &q, NULL);
    cr_expect_eq(s, want, "dequantize_device(hip): %s (%s)", lowbit_status_string(s), lowbit_last_error());
    cr_expect(all_guard((const uint8_t *)out, sizeof out), "dequantize_device wrote host memory");
    cr_expect(all_guard(dst, sizeof dst), "convert_device wrote host memory");

    /* attention: E4M3FNUZ K/V pages in host memory */
    lowbit_kv_cache c;
    memset(&c, 0, sizeof c);
    c.format = lowbit_format_fp8_row(LOWBIT_E4M3FNUZ);
    c.head_dim = 32;
    c.kv_heads = 1;
    c.page_tokens = 4;
    size_t pb = 0;
    if (lowbit_kv_page_bytes(&c, &pb) != LOWBIT_OK) {
        /* the FNUZ cache format is refused on every backend: nothing HIP-specific to check */
        c.format = lowbit_format_fp8_row(LOWBIT_E4M3);
        cr_assert_eq(lowbit_kv_page_bytes(&c, &pb), LOWBIT_OK, "%s", lowbit_last_error());
    }
    uint8_t *pages = calloc(1, 2 * pb);
    cr_assert_not_null(pages);
    c.page_count = 2;
    c.pages_bytes = 2 * pb;
    c.pages = pages;
    int32_t table[2] = {0, 1};
    float kv[8 * 32];
    for (int i = 0; i < 8 * 32; i++)
        kv[i] = (float)(i % 7) * 0.5f - 1.5f;
    cr_assert_eq(lowbit_kv_append(&c, table, 2, 0, 8, LOWBIT_F32, kv, 32), LOWBIT_OK, "%s", lowbit_last_error());
    float qv[32];
    for (int i = 0; i < 32; i++)
        qv[i] = (float)i / 32.0f;
    float ao[32];
    memset(ao, GUARD, sizeof ao);
    lowbit_attention_args a = {.q_heads = 1, .q_tokens = 1, .q_type = LOWBIT_F32, .q = qv, .q_stride = 32,
                               .q_scale = 1, .k = &c, .v = &c, .block_table = table, .block_table_len = 2,
                               .kv_len = 8, .q_pos = 7, .scale = 0.125f, .out_type = LOWBIT_F32, .out = ao,
                               .out_stride = 32};
    cr_expect_eq(lowbit_attention(&a), LOWBIT_OK, "host attention on the same arguments: %s", lowbit_last_error());
    memset(ao, GUARD, sizeof ao);
    s = lowbit_attention_device(LOWBIT_BACKEND_HIP, &a, NULL);
    cr_expect_eq(s, want, "attention_device(hip): %s (%s)", lowbit_status_string(s), lowbit_last_error());
    cr_expect(all_guard((const uint8_t *)ao, sizeof ao), "attention_device wrote host memory");
    /* the device append: the same refusal, the host pages untouched */
    uint8_t *before = malloc(2 * pb);
    cr_assert_not_null(before);
    memcpy(before, pages, 2 * pb);
    s = lowbit_kv_append_device(LOWBIT_BACKEND_HIP, &c, table, 2, 0, 8, LOWBIT_F32, kv, 32, NULL);
    cr_expect_eq(s, want, "kv_append_device(hip): %s (%s)", lowbit_status_string(s), lowbit_last_error());
    cr_expect(memcmp(before, pages, 2 * pb) == 0, "kv_append_device wrote host pages");
    free(before);
    free(pages);
}

/* GEMM: validation first (the host call's status), then host operands or C
 * refused (no device, or WRONG_MEMORY naming the buffer), C never written;
 * LOWBIT_GEMM_ALLOW_FAST (exact on HIP) takes the same path. */
Test(hip_backend, gemm_host_memory_refused)
{
    lowbit_status st = hip_status_checked();
    lowbit_status want = st == LOWBIT_OK ? LOWBIT_ERR_WRONG_MEMORY : st;
    enum { M = 2, N = 3, K = 64 };
    lowbit_format f = lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR);
    lowbit_qtensor a, b;
    cr_assert_eq(lowbit_qtensor_init(&a, &f, M, K), LOWBIT_OK, "%s", lowbit_last_error());
    cr_assert_eq(lowbit_qtensor_init(&b, &f, N, K), LOWBIT_OK, "%s", lowbit_last_error());
    uint8_t ad[M * K], as[M * K / 32], bd[N * K], bs[N * K / 32];
    cr_assert(a.data_bytes <= sizeof ad && a.scales_bytes <= sizeof as);
    cr_assert(b.data_bytes <= sizeof bd && b.scales_bytes <= sizeof bs);
    a.data = ad;
    a.scales = as;
    b.data = bd;
    b.scales = bs;
    float src[N * K];
    for (int i = 0; i < N * K; i++)
        src[i] = (float)(i % 11) * 0.375f - 2.0f;
    cr_assert_eq(lowbit_quantize(&a, LOWBIT_F32, src, K, NULL), LOWBIT_OK, "%s", lowbit_last_error());
    cr_assert_eq(lowbit_quantize(&b, LOWBIT_F32, src, K, NULL), LOWBIT_OK, "%s", lowbit_last_error());
    float c[M * N];
    cr_expect_eq(lowbit_gemm(&a, &b, 1.0f, 0.0f, LOWBIT_F32, c, N, NULL), LOWBIT_OK,
                 "host gemm on the same arguments: %s", lowbit_last_error());

    /* validation before the backend: the host call's status */
    memset(c, GUARD, sizeof c);
    lowbit_status hs = lowbit_gemm(&a, &b, 1.0f, 0.0f, LOWBIT_F32, c, N - 1, NULL);
    cr_expect_neq(hs, LOWBIT_OK);
    lowbit_status s = lowbit_gemm_device(LOWBIT_BACKEND_HIP, &a, &b, 1.0f, 0.0f, LOWBIT_F32, c, N - 1, NULL, NULL);
    cr_expect_eq(s, hs, "gemm_device(hip, ldc < N): %s, host %s", lowbit_status_string(s), lowbit_status_string(hs));
    s = lowbit_gemm_device(LOWBIT_BACKEND_HIP, &a, &b, 1.0f, 0.0f, (lowbit_dtype)99, c, N, NULL, NULL);
    cr_expect_eq(s, LOWBIT_ERR_INVALID_ENUM, "gemm_device(hip, c_type 99): %s", lowbit_status_string(s));
    cr_expect_eq(lowbit_gemm_device(LOWBIT_BACKEND_HIP, NULL, &b, 1.0f, 0.0f, LOWBIT_F32, c, N, NULL, NULL),
                 LOWBIT_ERR_NULL_POINTER, "%s", lowbit_last_error());

    /* host memory */
    lowbit_gemm_opts fast = {LOWBIT_GEMM_ALLOW_FAST};
    const lowbit_gemm_opts *opts[2] = {NULL, &fast};
    for (int i = 0; i < 2; i++) {
        memset(c, GUARD, sizeof c);
        s = lowbit_gemm_device(LOWBIT_BACKEND_HIP, &a, &b, 1.0f, 0.0f, LOWBIT_F32, c, N, opts[i], NULL);
        cr_expect_eq(s, want, "gemm_device(hip%s): %s (%s)", i ? ", fast" : "", lowbit_status_string(s),
                     lowbit_last_error());
        cr_expect(strstr(lowbit_last_error(), want == LOWBIT_ERR_WRONG_MEMORY ? "a->data" : "hip"), "%s",
                  lowbit_last_error());
        cr_expect(all_guard((const uint8_t *)c, sizeof c), "gemm_device wrote host C");
    }
}

#if LOWBIT_BUILT_HIP
static void expect_unavailable(const char *module, const char *needle)
{
    cr_assert_eq(setenv("LOWBIT_HIP_MODULE", module, 1), 0);
    lowbit_status s = lowbit_backend_status(LOWBIT_BACKEND_HIP);
    cr_expect_eq(s, LOWBIT_ERR_BACKEND_UNAVAILABLE, "%s: %s", lowbit_status_string(s), lowbit_last_error());
    cr_expect(strstr(lowbit_last_error(), needle) != NULL, "detail: %s", lowbit_last_error());
    float src[4] = {1, 2, 3, 4};
    uint8_t dst[4];
    memset(dst, GUARD, sizeof dst);
    cr_expect_eq(lowbit_convert_device(LOWBIT_BACKEND_HIP, LOWBIT_E5M2FNUZ, dst, LOWBIT_F32, src, 4, NULL, NULL),
                 LOWBIT_ERR_BACKEND_UNAVAILABLE);
    cr_expect(strstr(lowbit_last_error(), needle) != NULL, "detail: %s", lowbit_last_error());
    cr_expect(all_guard(dst, sizeof dst));
}

Test(hip_backend, module_missing)
{
    expect_unavailable("/nonexistent/liblowbit-hip.so", "HIP backend module not found");
    cr_expect(strstr(lowbit_last_error(), "/nonexistent/liblowbit-hip.so") != NULL, "%s", lowbit_last_error());
}

Test(hip_backend, not_a_module)
{
    expect_unavailable("libm.so.6", "not a lowbit HIP backend module");
}
#endif
