/*
 * test_isa_cap.c - the backend in force is a cap: no lookup ever returns a
 * kernel above it, nor one this CPU cannot run.  The cap comes from
 * LOWBIT_BACKEND (read once, at first use) or lowbit_set_backend.
 *
 * Which kernel a call picked is observed two ways: LOWBIT_DEBUG=1 makes
 * every convert / quantize / dequantize lookup name its choice on stderr
 * (redirected here to a file), and a GEMM pack records its kernel's name.
 * Criterion runs every test in a process of its own, so each test below
 * starts with the library's choice not yet made.
 * (Criterion re-executes the binary for each test, so under qemu-user the
 * tests would run on the host CPU: .ci/isa.sh checks emulated CPUs with a
 * probe program of its own.)
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lowbit.h"

static const lowbit_backend host[] = {LOWBIT_BACKEND_REF, LOWBIT_BACKEND_AVX2, LOWBIT_BACKEND_AVX512,
                                      LOWBIT_BACKEND_AMX, LOWBIT_BACKEND_NEON};
#define NHOST (sizeof host / sizeof host[0])

static int rung(lowbit_backend b)
{
    switch (b) {
    case LOWBIT_BACKEND_REF: return 0;
    case LOWBIT_BACKEND_AVX2: case LOWBIT_BACKEND_NEON: return 1;
    case LOWBIT_BACKEND_AVX512: return 2;
    case LOWBIT_BACKEND_AMX: return 3;
    default: return -1;
    }
}

/* May a kernel of backend k run under cap? (ref always; else same ISA family, not above.) */
static int allowed(lowbit_backend cap, lowbit_backend k)
{
    if (k == LOWBIT_BACKEND_REF)
        return 1;
    if ((k == LOWBIT_BACKEND_NEON) != (cap == LOWBIT_BACKEND_NEON))
        return 0;
    return rung(k) >= 0 && rung(k) <= rung(cap);
}

/* The best host backend this CPU runs, as detection should find it. */
static lowbit_backend best_here(void)
{
    static const lowbit_backend ladder[] = {LOWBIT_BACKEND_AMX, LOWBIT_BACKEND_AVX512, LOWBIT_BACKEND_AVX2,
                                            LOWBIT_BACKEND_NEON};
    for (size_t i = 0; i < 4; i++)
        if (lowbit_backend_status(ladder[i]) == LOWBIT_OK)
            return ladder[i];
    return LOWBIT_BACKEND_REF;
}

/* ---- observing choices -------------------------------------------------- */

static FILE *debug_log;
static int saved_stderr = -1;

/* Before the library's first lookup: LOWBIT_DEBUG on, stderr into a file. */
static void watch_begin(void)
{
    setenv("LOWBIT_DEBUG", "1", 1);
    debug_log = tmpfile();
    cr_assert_not_null(debug_log);
    fflush(stderr);
    saved_stderr = dup(2);
    dup2(fileno(debug_log), 2);
}

/* Check every "lowbit: ... under cap C -> kernel (backend)" line; returns how many. */
static size_t watch_check(void)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    rewind(debug_log);
    char line[512];
    size_t n = 0;
    while (fgets(line, sizeof line, debug_log)) {
        const char *u = strstr(line, " under cap ");
        if (strncmp(line, "lowbit: ", 8) != 0 || !u)
            continue;
        char cap[16] = "", kernel[96] = "", kb[16] = "";
        if (sscanf(u, " under cap %15s -> %95s (%15[^)])", cap, kernel, kb) != 3) {
            cr_expect(0, "unreadable debug line: %s", line);
            continue;
        }
        n++;
        lowbit_backend c = lowbit_backend_from_name(cap), k = lowbit_backend_from_name(kb);
        cr_expect(k != LOWBIT_BACKEND_COUNT, "no kernel found: %s", line);
        if (k == LOWBIT_BACKEND_COUNT)
            continue;
        cr_expect(allowed(c, k), "kernel above the cap: %s", line);
        cr_expect_eq(lowbit_backend_status(k), LOWBIT_OK, "kernel this CPU cannot run: %s", line);
    }
    fclose(debug_log);
    return n;
}

/* The GEMM kernel a pack was made for: the registered name stored in it. */
static lowbit_backend pack_kernel(const void *pack, size_t bytes, char *name, size_t len)
{
    size_t scan = bytes < 1024 ? bytes : 1024;
    lowbit_backend found = LOWBIT_BACKEND_COUNT;
    size_t best = 0;
    for (size_t i = 0; i < lowbit_kernel_count(); i++) {
        lowbit_kernel_info ki;
        if (lowbit_kernel_get(i, &ki) != LOWBIT_OK || ki.op != LOWBIT_OP_GEMM)
            continue;
        size_t l = strlen(ki.name) + 1; /* with its NUL: no prefix matches */
        if (l > best && memmem(pack, scan, ki.name, l)) {
            best = l;
            found = ki.backend;
            snprintf(name, len, "%s", ki.name);
        }
    }
    return found;
}

/* A few calls of every host op under the cap in force: every lookup is
 * logged (see watch_begin), and GEMM's choice is read from its pack. */
static void exercise(const char *what)
{
    lowbit_backend cap = lowbit_get_backend();
    float x[4 * 128], y[4 * 128];
    for (int i = 0; i < 4 * 128; i++)
        x[i] = (float)((i * 37) % 101 - 50) * 0.07f;
    uint8_t codes[4 * 128 * 2];
    static const lowbit_dtype narrow[] = {LOWBIT_E4M3, LOWBIT_E5M2, LOWBIT_E2M1, LOWBIT_E3M2, LOWBIT_INT8,
                                          LOWBIT_INT4, LOWBIT_E8M0};
    lowbit_convert_opts sr = {LOWBIT_ROUND_STOCHASTIC, 1, 3, 0};
    for (size_t i = 0; i < sizeof narrow / sizeof narrow[0]; i++) {
        cr_expect_eq(lowbit_convert(narrow[i], codes, LOWBIT_F32, x, 512, NULL), LOWBIT_OK, "%s", what);
        cr_expect_eq(lowbit_convert(narrow[i], codes, LOWBIT_BF16, x, 256, &sr), LOWBIT_OK, "%s", what);
        cr_expect_eq(lowbit_convert(LOWBIT_F16, y, narrow[i], codes, 256, NULL), LOWBIT_OK, "%s", what);
    }
    lowbit_format fmts[] = {lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), lowbit_format_nvfp4(),
                            lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 1),
                            lowbit_format_fp8_tensor(LOWBIT_E5M2)};
    uint8_t sc[256], zp[64];
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        lowbit_qtensor q;
        cr_assert_eq(lowbit_qtensor_init(&q, &fmts[i], 4, 128), LOWBIT_OK);
        q.data = codes;
        q.scales = sc;
        q.zero_points = q.zero_points_bytes ? zp : NULL;
        cr_expect_eq(lowbit_quantize(&q, LOWBIT_F32, x, 128, NULL), LOWBIT_OK, "%s: %s", what, lowbit_last_error());
        cr_expect_eq(lowbit_dequantize(LOWBIT_BF16, y, 128, &q), LOWBIT_OK, "%s: %s", what, lowbit_last_error());
    }
    /* GEMM: W8A8 and MXFP8 pairs */
    lowbit_format pa[] = {lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0),
                          lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR)};
    for (size_t i = 0; i < 2; i++) {
        lowbit_qtensor b;
        uint8_t bd[4 * 128], bs[64];
        cr_assert_eq(lowbit_qtensor_init(&b, &pa[i], 4, 128), LOWBIT_OK);
        b.data = bd;
        b.scales = bs;
        cr_assert_eq(lowbit_quantize(&b, LOWBIT_F32, x, 128, NULL), LOWBIT_OK);
        size_t pb = 0;
        cr_assert_eq(lowbit_gemm_pack_size(&pa[i], &b, NULL, &pb), LOWBIT_OK, "%s", lowbit_last_error());
        void *pack = calloc(1, pb);
        cr_assert_eq(lowbit_gemm_pack(&pa[i], &b, NULL, pack, pb), LOWBIT_OK, "%s", lowbit_last_error());
        char name[64] = "?";
        lowbit_backend k = pack_kernel(pack, pb, name, sizeof name);
        cr_expect(k != LOWBIT_BACKEND_COUNT, "%s: no kernel name in the pack", what);
        if (k != LOWBIT_BACKEND_COUNT) {
            cr_expect(allowed(cap, k), "%s: GEMM kernel %s above the cap %s", what, name, lowbit_backend_name(cap));
            cr_expect_eq(lowbit_backend_status(k), LOWBIT_OK, "%s: GEMM kernel %s cannot run here", what, name);
        }
        float c[16];
        cr_expect_eq(lowbit_gemm(&b, &b, 1.0f, 0.0f, LOWBIT_F32, c, 4, NULL), LOWBIT_OK, "%s", what);
        free(pack);
    }
}

/* ---- lowbit_set_backend -------------------------------------------------- */

Test(isa_cap, set_backend_caps_every_lookup)
{
    watch_begin();
    lowbit_backend first = lowbit_get_backend();
    size_t capped = 0;
    for (size_t i = 0; i < NHOST; i++) {
        lowbit_backend before = lowbit_get_backend();
        lowbit_status s = lowbit_set_backend(host[i]);
        if (s != LOWBIT_OK) {
            /* refused: nothing changes, and the reason is one of the two */
            cr_expect(s == LOWBIT_ERR_BACKEND_UNAVAILABLE || s == LOWBIT_ERR_BACKEND_NOT_BUILT, "%s: %s",
                      lowbit_backend_name(host[i]), lowbit_status_string(s));
            cr_expect_eq(lowbit_get_backend(), before, "a refused set_backend(%s) changed the backend",
                         lowbit_backend_name(host[i]));
            continue;
        }
        cr_expect_eq(lowbit_get_backend(), host[i]);
        exercise(lowbit_backend_name(host[i]));
        capped++;
    }
    cr_expect_eq(lowbit_set_backend(LOWBIT_BACKEND_AUTO), LOWBIT_OK);
    cr_expect_eq(lowbit_get_backend(), best_here());
    exercise("auto");
    size_t lines = watch_check();
    cr_expect(capped >= 1, "not even ref could be selected");
    cr_expect(lines >= 10 * capped, "only %zu kernel choices logged under %zu caps", lines, capped);
    (void)first;
}

/* ---- LOWBIT_BACKEND ------------------------------------------------------ */

/* LOWBIT_BACKEND=name before the first call: that backend if it runs here,
 * else (unknown name, or a backend this CPU lacks) what detection finds. */
static void env_cap(const char *name)
{
    setenv("LOWBIT_BACKEND", name, 1);
    watch_begin();
    lowbit_backend want = lowbit_backend_from_name(name);
    lowbit_backend expect = want != LOWBIT_BACKEND_COUNT && want != LOWBIT_BACKEND_AUTO &&
                                    lowbit_backend_status(want) == LOWBIT_OK
                                ? want
                                : best_here();
    lowbit_backend got = lowbit_get_backend();
    exercise(name);
    watch_check();
    cr_expect_eq(got, expect, "LOWBIT_BACKEND=%s: got %s, expected %s", name, lowbit_backend_name(got),
                 lowbit_backend_name(expect));
}

Test(isa_cap, env_ref) { env_cap("ref"); }
Test(isa_cap, env_avx2) { env_cap("avx2"); }
Test(isa_cap, env_avx512) { env_cap("avx512"); }
Test(isa_cap, env_amx) { env_cap("amx"); }
Test(isa_cap, env_neon) { env_cap("neon"); }
Test(isa_cap, env_unknown_name) { env_cap("avx1024"); }
Test(isa_cap, env_auto) { env_cap("auto"); }
