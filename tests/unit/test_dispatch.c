/*
 * test_dispatch.c - the kernel registry, backend selection, and the dtype /
 * format / qtensor helper functions (expected values written by hand here).
 */
#include <criterion/criterion.h>
#include <float.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "lowbit.h"
#include "model.h"

Test(dispatch, kernel_registry)
{
    size_t n = lowbit_kernel_count();
    cr_assert_gt(n, 0, "no kernels registered");
    int ref_for_op[LOWBIT_OP_COUNT] = {0};
    for (size_t i = 0; i < n; i++) {
        lowbit_kernel_info k;
        memset(&k, 0xEE, sizeof k);
        cr_assert_eq(lowbit_kernel_get(i, &k), LOWBIT_OK, "kernel %zu: %s", i, lowbit_last_error());
        cr_assert_not_null(k.name, "kernel %zu has no name", i);
        cr_expect(k.name[0] != '\0', "kernel %zu: empty name", i);
        cr_assert_not_null(k.formats, "kernel %s: no formats", k.name);
        cr_expect(k.formats[0] != '\0', "kernel %s: empty formats", k.name);
        cr_expect((unsigned)k.op < LOWBIT_OP_COUNT, "kernel %s: op %d", k.name, (int)k.op);
        cr_expect((unsigned)k.backend < LOWBIT_BACKEND_COUNT && k.backend != LOWBIT_BACKEND_AUTO,
                  "kernel %s: backend %d", k.name, (int)k.backend);
        cr_expect(k.exact == 0 || k.exact == 1, "kernel %s: exact = %d", k.name, k.exact);
        if ((unsigned)k.op < LOWBIT_OP_COUNT && k.backend == LOWBIT_BACKEND_REF && k.exact)
            ref_for_op[k.op] = 1;
        for (size_t j = 0; j < i; j++) {
            lowbit_kernel_info o;
            cr_assert_eq(lowbit_kernel_get(j, &o), LOWBIT_OK);
            cr_expect(strcmp(o.name, k.name) != 0, "two kernels named %s", k.name);
        }
    }
    for (int op = 0; op < LOWBIT_OP_COUNT; op++)
        cr_expect(ref_for_op[op], "no exact reference kernel for op %s", lowbit_op_name((lowbit_op)op));
    lowbit_kernel_info k;
    cr_expect_neq(lowbit_kernel_get(n, &k), LOWBIT_OK);
    cr_expect_neq(lowbit_kernel_get(SIZE_MAX, &k), LOWBIT_OK);
    cr_expect_eq(lowbit_kernel_get(0, NULL), LOWBIT_ERR_NULL_POINTER);
}

Test(dispatch, names)
{
    static const char *const backends[LOWBIT_BACKEND_COUNT] = {"auto", "ref",  "avx2", "avx512",
                                                               "amx",  "neon", "cuda", "hip"};
    for (int b = 0; b < LOWBIT_BACKEND_COUNT; b++) {
        cr_expect_str_eq(lowbit_backend_name((lowbit_backend)b), backends[b]);
        cr_expect_eq(lowbit_backend_from_name(backends[b]), (lowbit_backend)b);
    }
    cr_expect_null(lowbit_backend_name(LOWBIT_BACKEND_COUNT));
    cr_expect_null(lowbit_backend_name((lowbit_backend)-1));
    cr_expect_eq(lowbit_backend_from_name("sse2"), LOWBIT_BACKEND_COUNT);
    cr_expect_eq(lowbit_backend_from_name(""), LOWBIT_BACKEND_COUNT);
    cr_expect_eq(lowbit_backend_from_name(NULL), LOWBIT_BACKEND_COUNT);
    const char *ops[LOWBIT_OP_COUNT];
    for (int op = 0; op < LOWBIT_OP_COUNT; op++) {
        ops[op] = lowbit_op_name((lowbit_op)op);
        cr_assert_not_null(ops[op]);
        for (int j = 0; j < op; j++)
            cr_expect(strcmp(ops[op], ops[j]) != 0);
    }
    cr_expect_str_eq(lowbit_op_name(LOWBIT_OP_CONVERT), "convert");
    cr_expect_null(lowbit_op_name(LOWBIT_OP_COUNT));
}

/* A small conversion check under the backend in force. */
static void converts_correctly(void)
{
    chk_stats st = {0, 0, 0};
    uint32_t codes[256];
    for (uint32_t c = 0; c < 256; c++)
        codes[c] = c;
    for (int mode = MDL_NE; mode <= MDL_SR; mode++) {
        chk_convert(&st, LOWBIT_E2M1, LOWBIT_E4M3, codes, 256, mode, 0, 5, 0);
        chk_convert(&st, LOWBIT_F32, LOWBIT_E5M2, codes, 256, mode, 0, 5, 0);
    }
    cr_expect_eq(st.mismatches, 0, "backend %s: %zu mismatches", lowbit_backend_name(lowbit_get_backend()),
                 st.mismatches);
}

Test(dispatch, set_and_get_backend)
{
    lowbit_backend detected = lowbit_get_backend();
    cr_expect_neq(detected, LOWBIT_BACKEND_AUTO, "get_backend returned AUTO");
    cr_expect((unsigned)detected < LOWBIT_BACKEND_COUNT);
    cr_expect_eq(lowbit_backend_status(detected), LOWBIT_OK);
    cr_expect_eq(lowbit_backend_status(LOWBIT_BACKEND_REF), LOWBIT_OK);
    cr_expect_eq(lowbit_backend_status(LOWBIT_BACKEND_AUTO), LOWBIT_OK);

    cr_assert_eq(lowbit_set_backend(LOWBIT_BACKEND_REF), LOWBIT_OK);
    cr_expect_eq(lowbit_get_backend(), LOWBIT_BACKEND_REF);
    converts_correctly();

    /* every CPU backend this machine runs can be selected and gives the same answers */
    for (lowbit_backend b = LOWBIT_BACKEND_REF; b < LOWBIT_BACKEND_CUDA; b++) {
        if (lowbit_backend_status(b) != LOWBIT_OK)
            continue;
        cr_assert_eq(lowbit_set_backend(b), LOWBIT_OK, "%s", lowbit_last_error());
        cr_expect_eq(lowbit_get_backend(), b);
        converts_correctly();
    }

    cr_assert_eq(lowbit_set_backend(LOWBIT_BACKEND_AUTO), LOWBIT_OK);
    lowbit_backend after = lowbit_get_backend();
    cr_expect_neq(after, LOWBIT_BACKEND_AUTO);
    if (!getenv("LOWBIT_BACKEND"))
        cr_expect_eq(after, detected, "AUTO gave %s, first detection %s", lowbit_backend_name(after),
                     lowbit_backend_name(detected));
    converts_correctly();
}

Test(dispatch, cpu_features)
{
    uint32_t f = lowbit_cpu_features();
    cr_expect_eq(lowbit_cpu_features(), f, "features not stable");
    uint32_t x86 = LOWBIT_CPU_AVX2 | LOWBIT_CPU_AVX512 | LOWBIT_CPU_AVX512_VNNI | LOWBIT_CPU_AVX512_BF16 |
                   LOWBIT_CPU_AVX512_FP16 | LOWBIT_CPU_AVX512_VBMI | LOWBIT_CPU_AMX | LOWBIT_CPU_AVX_VNNI;
    uint32_t arm = LOWBIT_CPU_NEON | LOWBIT_CPU_NEON_DOTPROD | LOWBIT_CPU_NEON_FP16 | LOWBIT_CPU_NEON_BF16;
#if defined(__x86_64__)
    cr_expect_eq(f & arm, 0u, "ARM features reported on x86: 0x%x", f);
#elif defined(__aarch64__)
    cr_expect_eq(f & x86, 0u, "x86 features reported on ARM: 0x%x", f);
    cr_expect(f & LOWBIT_CPU_NEON, "aarch64 always has Advanced SIMD");
#endif
    (void)x86;
    (void)arm;
}

/* ---- dtype helpers ------------------------------------------------------ */

static const struct {
    lowbit_dtype t;
    const char *name;
    unsigned bits;
} dtypes[] = {
    {LOWBIT_F32, "f32", 32},    {LOWBIT_F16, "f16", 16},     {LOWBIT_BF16, "bf16", 16},
    {LOWBIT_E4M3, "e4m3", 8},   {LOWBIT_E5M2, "e5m2", 8},    {LOWBIT_E4M3FNUZ, "e4m3fnuz", 8},
    {LOWBIT_E5M2FNUZ, "e5m2fnuz", 8}, {LOWBIT_E3M2, "e3m2", 6}, {LOWBIT_E2M3, "e2m3", 6},
    {LOWBIT_E2M1, "e2m1", 4},   {LOWBIT_E8M0, "e8m0", 8},    {LOWBIT_INT8, "int8", 8},
    {LOWBIT_INT4, "int4", 4},   {LOWBIT_UINT4, "uint4", 4},
};

Test(dispatch, dtype_helpers)
{
    cr_assert_eq(sizeof dtypes / sizeof dtypes[0], LOWBIT_DTYPE_COUNT);
    for (size_t i = 0; i < LOWBIT_DTYPE_COUNT; i++) {
        lowbit_dtype t = dtypes[i].t;
        cr_expect_eq(lowbit_dtype_bits(t), dtypes[i].bits, "%s bits", dtypes[i].name);
        cr_expect_str_eq(lowbit_dtype_name(t), dtypes[i].name);
        cr_expect_eq(lowbit_dtype_from_name(dtypes[i].name), t);
        double want = t == LOWBIT_F32 ? (double)FLT_MAX : mdl_get(t)->maxv;
        cr_expect_eq(lowbit_dtype_max(t), want, "%s max %g, expected %g", dtypes[i].name,
                     lowbit_dtype_max(t), want);
        /* bytes: ceil(n * bits / 8), computed in 128 bits */
        size_t ns[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 1000, 1001, 1002, 1003, SIZE_MAX / 64,
                       SIZE_MAX / 8, SIZE_MAX / 4, SIZE_MAX / 4 + 1, SIZE_MAX / 2, SIZE_MAX / 2 + 1,
                       SIZE_MAX - 1, SIZE_MAX};
        for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
#if defined(__SIZEOF_INT128__)
            unsigned __int128 b = ((unsigned __int128)ns[k] * dtypes[i].bits + 7) / 8;
            size_t expect = b >= SIZE_MAX ? SIZE_MAX : (size_t)b;
#else
            if (ns[k] > SIZE_MAX / 64)
                continue; /* no 128-bit arithmetic for the expectation */
            size_t expect = (ns[k] * dtypes[i].bits + 7) / 8;
#endif
            cr_expect_eq(lowbit_dtype_bytes(t, ns[k]), expect, "%s bytes(%zu) = %zu, expected %zu",
                         dtypes[i].name, ns[k], lowbit_dtype_bytes(t, ns[k]), expect);
        }
    }
    cr_expect_eq(lowbit_dtype_bits((lowbit_dtype)99), 0u);
    cr_expect_eq(lowbit_dtype_bits((lowbit_dtype)-1), 0u);
    cr_expect_null(lowbit_dtype_name(LOWBIT_DTYPE_COUNT));
    cr_expect_eq(lowbit_dtype_from_name("e4m3fn_typo"), LOWBIT_DTYPE_COUNT);
    cr_expect_eq(lowbit_dtype_from_name(NULL), LOWBIT_DTYPE_COUNT);
    cr_expect_eq(lowbit_dtype_bytes((lowbit_dtype)99, 4), SIZE_MAX);
}

/* ---- formats and qtensor sizes ------------------------------------------ */

Test(dispatch, format_constructors)
{
    const lowbit_dtype mx_elems[] = {LOWBIT_E4M3, LOWBIT_E5M2, LOWBIT_E3M2, LOWBIT_E2M3, LOWBIT_E2M1,
                                     LOWBIT_INT8};
    lowbit_format fs[64];
    size_t nf = 0;
    for (size_t i = 0; i < 6; i++)
        for (int r = 0; r < LOWBIT_SCALE_RULE_COUNT; r++) {
            lowbit_format f = lowbit_format_mx(mx_elems[i], (lowbit_scale_rule)r);
            cr_expect_eq(f.elem, mx_elems[i]);
            cr_expect_eq(f.scale_type, LOWBIT_E8M0);
            cr_expect(f.block_rows == 1 && f.block_cols == 32);
            cr_expect_eq(f.rule, (lowbit_scale_rule)r);
            cr_expect_eq(f.flags, 0u);
            fs[nf++] = f;
        }
    lowbit_format nv = lowbit_format_nvfp4();
    cr_expect(nv.elem == LOWBIT_E2M1 && nv.scale_type == LOWBIT_E4M3 && nv.block_rows == 1 &&
              nv.block_cols == 16 && (nv.flags & LOWBIT_FMT_TENSOR_SCALE));
    fs[nf++] = nv;
    for (lowbit_dtype e = LOWBIT_E4M3; e <= LOWBIT_E5M2; e++) {
        lowbit_format t = lowbit_format_fp8_tensor(e), r = lowbit_format_fp8_row(e);
        lowbit_format b1 = lowbit_format_fp8_block(e, 1, 128), b2 = lowbit_format_fp8_block(e, 128, 128);
        cr_expect(t.elem == e && t.scale_type == LOWBIT_F32 && t.block_rows == 0 && t.block_cols == 0);
        cr_expect(r.elem == e && r.scale_type == LOWBIT_F32 && r.block_rows == 1 && r.block_cols == 0);
        cr_expect(b1.block_rows == 1 && b1.block_cols == 128 && b2.block_rows == 128 && b2.block_cols == 128);
        fs[nf++] = t, fs[nf++] = r, fs[nf++] = b1, fs[nf++] = b2;
    }
    const lowbit_dtype sc[] = {LOWBIT_F16, LOWBIT_BF16, LOWBIT_F32};
    const uint32_t groups[] = {32, 64, 128, 0};
    for (size_t s = 0; s < 3; s++)
        for (size_t g = 0; g < 4; g++) {
            lowbit_format a = lowbit_format_int_group(LOWBIT_INT4, groups[g], sc[s], 0);
            cr_expect(a.elem == LOWBIT_INT4 && a.scale_type == sc[s] && a.block_rows == 1 &&
                      a.block_cols == groups[g] && !(a.flags & LOWBIT_FMT_ZERO_POINT));
            if (nf < 64)
                fs[nf++] = a;
            lowbit_format z = lowbit_format_int_group(LOWBIT_UINT4, groups[g], sc[s], 1);
            cr_expect(z.flags & LOWBIT_FMT_ZERO_POINT);
            if (nf < 64)
                fs[nf++] = z;
        }
    fs[nf++] = lowbit_format_int_group(LOWBIT_INT8, 128, LOWBIT_F32, 0);
    cr_assert_leq(nf, 64);
    char names[64][64];
    for (size_t i = 0; i < nf; i++) {
        cr_expect_eq(lowbit_format_check(&fs[i]), LOWBIT_OK, "format %zu: %s", i, lowbit_last_error());
        cr_expect_eq(lowbit_format_name(&fs[i], names[i], sizeof names[i]), names[i]);
        cr_expect(names[i][0] != '\0');
        for (size_t j = 0; j < i; j++)
            cr_expect(strcmp(names[i], names[j]) != 0, "formats %zu and %zu both named %s", i, j, names[i]);
    }
    char small[5];
    memset(small, 'x', sizeof small);
    lowbit_format_name(&fs[0], small, sizeof small);
    cr_expect(memchr(small, '\0', sizeof small) != NULL, "format_name did not terminate a short buffer");
}

typedef struct {
    const char *what;
    lowbit_format f;
    size_t rows, cols;
    size_t stride, data, scales, zps, grid_r, grid_c;
} shape_case;

Test(dispatch, qtensor_sizes)
{
    lowbit_format plain = lowbit_format_fp8_tensor(LOWBIT_E4M3);
    plain.scale_type = LOWBIT_DTYPE_COUNT; /* no scale */
    const shape_case cases[] = {
        /* MXFP4 3x70: stride 70, 210 nibbles = 105 B; blocks 3 x ceil(70/32)=3 */
        {"mxfp4 3x70", lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR), 3, 70, 70, 105, 9, 0, 3, 3},
        /* MXFP4 2x33: stride rounds up to 34; 34 + 33 = 67 nibbles = 34 B */
        {"mxfp4 2x33", lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR), 2, 33, 34, 34, 4, 0, 2, 2},
        /* MXFP6 2x33: stride 36; 36 + 33 = 69 elements * 6 bits = 414 bits = 52 B */
        {"mxfp6 2x33", lowbit_format_mx(LOWBIT_E3M2, LOWBIT_SCALE_FLOOR), 2, 33, 36, 52, 4, 0, 2, 2},
        /* MXFP8 1x32 exactly one block */
        {"mxfp8 1x32", lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_RCEIL), 1, 32, 32, 32, 1, 0, 1, 1},
        /* NVFP4 4x40: 160 nibbles = 80 B; blocks 4 x 3 E4M3 bytes */
        {"nvfp4 4x40", lowbit_format_nvfp4(), 4, 40, 40, 80, 12, 0, 4, 3},
        /* FP8 per tensor 5x7: one f32 */
        {"fp8 tensor", lowbit_format_fp8_tensor(LOWBIT_E4M3), 5, 7, 7, 35, 4, 0, 1, 1},
        /* FP8 per row 5x7: five f32 */
        {"fp8 row", lowbit_format_fp8_row(LOWBIT_E5M2), 5, 7, 7, 35, 20, 0, 5, 1},
        /* FP8 128x128 blocks over 300x200: grid 3 x 2 */
        {"fp8 block", lowbit_format_fp8_block(LOWBIT_E4M3, 128, 128), 300, 200, 200, 60000, 24, 0, 3, 2},
        /* UINT4 g128 bf16 zero point 3x300: 450 B data, 3 x 3 groups: 18 B scales, 9 nibbles = 5 B zp */
        {"uint4 zp", lowbit_format_int_group(LOWBIT_UINT4, 128, LOWBIT_BF16, 1), 3, 300, 300, 450, 18, 5, 3, 3},
        /* INT8 per row, f32 scales, 3x10 */
        {"int8 row", lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0), 3, 10, 10, 30, 12, 0, 3, 1},
        /* INT4 g32 f16 1x5: stride 6, 5 nibbles = 3 B */
        {"int4 g32", lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 0), 1, 5, 6, 3, 2, 0, 1, 1},
        /* plain E4M3 (no scale) 2x3 */
        {"plain", plain, 2, 3, 3, 6, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const shape_case *c = &cases[i];
        lowbit_qtensor q;
        memset(&q, 0x77, sizeof q);
        cr_assert_eq(lowbit_qtensor_init(&q, &c->f, c->rows, c->cols), LOWBIT_OK, "%s: %s", c->what,
                     lowbit_last_error());
        cr_expect_eq(q.rows, c->rows);
        cr_expect_eq(q.cols, c->cols);
        cr_expect_eq(q.row_stride, c->stride, "%s: stride %zu", c->what, q.row_stride);
        cr_expect_eq(q.data_bytes, c->data, "%s: data_bytes %zu", c->what, q.data_bytes);
        cr_expect_eq(q.scales_bytes, c->scales, "%s: scales_bytes %zu", c->what, q.scales_bytes);
        cr_expect_eq(q.zero_points_bytes, c->zps, "%s: zero_points_bytes %zu", c->what, q.zero_points_bytes);
        cr_expect(q.data == NULL && q.scales == NULL && q.zero_points == NULL, "%s: pointers set", c->what);
        cr_expect_eq(q.tensor_scale, 1.0f);
        cr_expect_eq(memcmp(&q.format, &c->f, sizeof q.format), 0);
        if (c->grid_r || c->grid_c) {
            size_t gr = 0, gc = 0;
            cr_assert_eq(lowbit_qtensor_grid(&q, &gr, &gc), LOWBIT_OK);
            cr_expect(gr == c->grid_r && gc == c->grid_c, "%s: grid %zu x %zu", c->what, gr, gc);
        }
    }
}
