/*
 * test_quantize_basic.c - small quantize/dequantize examples worked out by
 * hand from the scaled-format rules of the design (section 2), one or more
 * per scheme: MX (every scale rule, FP8/FP6/FP4/INT8 elements), NVFP4, FP8
 * per tensor / row / block, INT8/INT4 groups, zero points; NaN, Inf and
 * all-zero blocks; partial blocks; strides; f16/bf16 sources and outputs.
 *
 * The expected codes are derived in the comments next to each example; the
 * model (model.h) is only used to turn an expected code into its value.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "lowbit.h"
#include "model.h"

#define G 0xEE /* guard byte */

typedef struct {
    lowbit_qtensor q;
    uint8_t data[2048];
    uint8_t scales[512];
    uint8_t zps[64];
} qt;

/* Describe a rows x cols tensor of format f (row_stride = 0: the tightest). */
static void qt_init(qt *t, lowbit_format f, size_t rows, size_t cols, size_t stride)
{
    cr_assert_eq(lowbit_qtensor_init(&t->q, &f, rows, cols), LOWBIT_OK, "%s", lowbit_last_error());
    if (stride)
        t->q.row_stride = stride;
    memset(t->data, G, sizeof t->data);
    memset(t->scales, G, sizeof t->scales);
    memset(t->zps, G, sizeof t->zps);
    t->q.data = t->data;
    t->q.data_bytes = sizeof t->data;
    t->q.scales = t->scales;
    t->q.scales_bytes = sizeof t->scales;
    if (f.flags & LOWBIT_FMT_ZERO_POINT) {
        t->q.zero_points = t->zps;
        t->q.zero_points_bytes = sizeof t->zps;
    }
}

static void qt_quantize(qt *t, lowbit_dtype st, const void *src, size_t src_stride)
{
    cr_assert_eq(lowbit_quantize(&t->q, st, src, src_stride, NULL), LOWBIT_OK, "%s", lowbit_last_error());
}

/* Element codes, row-major rows x cols. */
static void expect_codes(const qt *t, const uint32_t *want)
{
    unsigned bits = mdl_bits(t->q.format.elem);
    for (size_t r = 0; r < t->q.rows; r++)
        for (size_t c = 0; c < t->q.cols; c++) {
            uint32_t got = mdl_get_code(bits, t->data, r * t->q.row_stride + c);
            cr_expect_eq(got, want[r * t->q.cols + c], "element (%zu,%zu): code 0x%x, expected 0x%x", r, c,
                         got, want[r * t->q.cols + c]);
        }
}

static void expect_scale_bytes(const qt *t, const uint8_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cr_expect_eq(t->scales[i], want[i], "scale %zu: 0x%02x, expected 0x%02x", i, t->scales[i], want[i]);
    cr_expect_eq(t->scales[n], G, "byte after the scales written");
}

static void expect_scale_f32(const qt *t, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float got;
        memcpy(&got, t->scales + 4 * i, 4);
        cr_expect(got == want[i] || (isnan(got) && isnan(want[i])), "scale %zu: %.9g, expected %.9g", i,
                  (double)got, (double)want[i]);
    }
}

static void expect_scale_u16(const qt *t, const uint16_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t got;
        memcpy(&got, t->scales + 2 * i, 2);
        cr_expect_eq(got, want[i], "scale %zu: 0x%04x, expected 0x%04x", i, got, want[i]);
    }
}

/* Dequantize to f32 and compare (NaN matches NaN; zeros compare signs). */
static void expect_dequant(const qt *t, const float *want)
{
    float out[512];
    size_t n = t->q.rows * t->q.cols;
    cr_assert_leq(n, 512);
    cr_assert_eq(lowbit_dequantize(LOWBIT_F32, out, t->q.cols, &t->q), LOWBIT_OK, "%s", lowbit_last_error());
    for (size_t i = 0; i < n; i++) {
        int ok = isnan(want[i]) ? isnan(out[i]) : out[i] == want[i] && signbit(out[i]) == signbit(want[i]);
        cr_expect(ok, "dequantized [%zu]: %.9g, expected %.9g", i, (double)out[i], (double)want[i]);
    }
}

/* value of an element code times a scale, as the expected dequantization */
static float ev(lowbit_dtype t, uint32_t code, float scale)
{
    return (float)mdl_value(t, code) * scale;
}

/* ---- MX ------------------------------------------------------------------ */

Test(quantize, mxfp8_e4m3_floor)
{
    /* amax = 1000: floor(log2 1000) = 9, e = 9 - emax(E4M3) 8 = 1, scale code 127 + 1 = 0x80 (2.0).
     * Elements x / 2 in E4M3, nearest even, saturating:
     *   1000 -> 500   above 448 (it would round to 512): saturates to 448 = 0x7E
     *   1    -> 0.5   = 2^-1: exponent field 6 -> 0x30
     *   3    -> 1.5   = 1.100b: 0x3C
     *  -4.5  -> -2.25 = 1.001b * 2: exponent field 8, mantissa 1 -> 0xC1
     *   0.1  -> 0.05  in [2^-5, 2^-4), step 2^-8: 12.8 steps -> 13 = 0.05078125: field 2, mantissa 5 -> 0x15
     *   2.6  -> 1.3   step 0.125: 10.4 -> 10 = 1.25: 0x3A
     *   0.0009 -> 0.00045 below half the smallest subnormal 2^-9: 0x00
     *   0.003  -> 0.0015  above half of 2^-9: 0x01
     *   0.75 -> 0.375 = 1.1b * 2^-2: field 5, mantissa 4 -> 0x2C
     *  -0.0  -> -0: 0x80
     *   rest 0 */
    float x[32] = {1000, 1, 3, -4.5f, 0.1f, 2.6f, 0.0009f, 0.003f, 0.75f, -0.0f};
    uint32_t want[32] = {0x7E, 0x30, 0x3C, 0xC1, 0x15, 0x3A, 0x00, 0x01, 0x2C, 0x80};
    qt t;
    qt_init(&t, lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), 1, 32, 0);
    qt_quantize(&t, LOWBIT_F32, x, 32);
    expect_codes(&t, want);
    expect_scale_bytes(&t, (const uint8_t[]){0x80}, 1);
    float dq[32];
    for (int i = 0; i < 32; i++)
        dq[i] = ev(LOWBIT_E4M3, want[i], 2.0f);
    /* spot values by hand: 448 * 2 = 896, -2.25 * 2 = -4.5, 2^-9 * 2 = 2^-8 */
    cr_expect_eq(dq[0], 896.0f);
    cr_expect_eq(dq[3], -4.5f);
    cr_expect_eq(dq[7], 0x1p-8f);
    expect_dequant(&t, dq);
}

Test(quantize, mxfp4_partial_block_and_zero_block)
{
    /* 2 x 40 MXFP4: per row a full block of 32 and a partial block of 8.
     * Row 0, block 0: amax 6, floor(log2 6) = 2, e = 2 - 2 = 0: code 0x7F (1.0).
     *   6 -> 0x7; 5 -> tie 4|6 -> 4 (1.0b*4, even) 0x6; 2.5 -> tie 2|3 -> 2 0x4;
     *   -0.25 -> tie 0|0.5 -> -0 0x8; 0.3 -> 0.5 0x1; -1.75 -> tie 1.5|2 -> -2 0xC.
     * Row 0, block 1: amax 0.7, floor(log2 0.7) = -1, e = -3: code 0x7C (0.125); x * 8:
     *   0.7 -> 5.6 -> 6 0x7; 0.3 -> 2.4 -> 2 0x4; -0.1 -> -0.8 -> -1 0xA.
     * Row 1, block 0: amax 100, floor(log2 100) = 6, e = 4: code 0x83 (16); x / 16:
     *   100 -> 6.25 -> 6 0x7; 40 -> 2.5 -> tie -> 2 0x4; -24 -> -1.5 0xB; 1 -> 0.0625 -> 0.
     * Row 1, block 1: all zero: scale 0x00 (2^-127), elements 0. */
    float x[2][40] = {{0}};
    uint32_t want[2][40] = {{0}};
    float r0[] = {6, 5, 2.5f, -0.25f, 0.3f, -1.75f};
    uint32_t c0[] = {0x7, 0x6, 0x4, 0x8, 0x1, 0xC};
    for (int i = 0; i < 6; i++)
        x[0][i] = r0[i], want[0][i] = c0[i];
    x[0][33] = 0.7f, want[0][33] = 0x7;
    x[0][35] = 0.3f, want[0][35] = 0x4;
    x[0][39] = -0.1f, want[0][39] = 0xA;
    x[1][0] = 100, want[1][0] = 0x7;
    x[1][10] = 40, want[1][10] = 0x4;
    x[1][31] = -24, want[1][31] = 0xB;
    x[1][20] = 1, want[1][20] = 0x0;
    qt t;
    qt_init(&t, lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR), 2, 40, 0);
    qt_quantize(&t, LOWBIT_F32, x, 40);
    expect_codes(&t, &want[0][0]);
    expect_scale_bytes(&t, (const uint8_t[]){0x7F, 0x7C, 0x83, 0x00}, 4);
    cr_expect_eq(t.data[40], G, "byte past 80 nibbles written");
    float dq[80];
    const float sc[4] = {1.0f, 0.125f, 16.0f, 0x1p-127f};
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 40; c++)
            dq[r * 40 + c] = ev(LOWBIT_E2M1, want[r][c], sc[r * 2 + c / 32]);
    cr_expect_eq(dq[39], -0.125f);
    cr_expect_eq(dq[40], 96.0f);
    expect_dequant(&t, dq);
}

/* One 1 x 32 block whose amax is `amax` (at element 0; element 1 = amax / 3
 * in the opposite sign): the scale code of each rule. */
static uint8_t mx_scale_of(lowbit_dtype elem, lowbit_scale_rule rule, float amax)
{
    float x[32] = {amax, -amax / 3};
    qt t;
    qt_init(&t, lowbit_format_mx(elem, rule), 1, 32, 0);
    qt_quantize(&t, LOWBIT_F32, x, 32);
    return t.scales[0];
}

Test(quantize, mx_scale_rules)
{
    /* E2M1 (emax 2, max 6, 1 mantissa bit):
     *  amax 5:   FLOOR 2-2=0 -> 0x7F; CEIL ceil(log2 5)=3 -> e=1 0x80;
     *            RCEIL 5/6 -> up to 1 -> 0x7F; EVEN 5 = 1.01b*4 -> 1.0b or 1.1b*4, floor 2 -> 0x7F
     *  amax 7:   FLOOR 0x7F; CEIL 0x80; RCEIL 7/6 -> 2 -> 0x80; EVEN 1.11b*4 -> 10.0b*4 = 8 -> e=1 0x80
     *  amax 6:   FLOOR 0x7F; CEIL 0x80; RCEIL 6/6 = 1 -> 0x7F; EVEN exact -> 0x7F
     *  amax 4:   FLOOR 0x7F; CEIL log2 4 = 2 exactly -> 0x7F; RCEIL 4/6 -> 1 -> 0x7F; EVEN 0x7F */
    struct { float amax; uint8_t fl, ce, rc, ev; } e2m1[] = {
        {5, 0x7F, 0x80, 0x7F, 0x7F}, {7, 0x7F, 0x80, 0x80, 0x80},
        {6, 0x7F, 0x80, 0x7F, 0x7F}, {4, 0x7F, 0x7F, 0x7F, 0x7F},
    };
    for (size_t i = 0; i < 4; i++) {
        cr_expect_eq(mx_scale_of(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR, e2m1[i].amax), e2m1[i].fl, "floor %g", (double)e2m1[i].amax);
        cr_expect_eq(mx_scale_of(LOWBIT_E2M1, LOWBIT_SCALE_CEIL, e2m1[i].amax), e2m1[i].ce, "ceil %g", (double)e2m1[i].amax);
        cr_expect_eq(mx_scale_of(LOWBIT_E2M1, LOWBIT_SCALE_RCEIL, e2m1[i].amax), e2m1[i].rc, "rceil %g", (double)e2m1[i].amax);
        cr_expect_eq(mx_scale_of(LOWBIT_E2M1, LOWBIT_SCALE_EVEN, e2m1[i].amax), e2m1[i].ev, "even %g", (double)e2m1[i].amax);
    }
    /* E4M3 (emax 8, max 448, 3 mantissa bits):
     *  amax 500: FLOOR floor(log2 500)=8 -> 0x7F; CEIL 9-8=1 -> 0x80; RCEIL 500/448 -> 2 -> 0x80;
     *            EVEN 500 = 1.953b*256 -> 2.0*256 = 512 -> e = 1 -> 0x80
     *  amax 480: EVEN 1.111b*256 exact -> floor 8 -> 0x7F; RCEIL 480/448 -> 2 -> 0x80
     *  amax 448: RCEIL exactly 1 -> 0x7F */
    cr_expect_eq(mx_scale_of(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR, 500), 0x7F);
    cr_expect_eq(mx_scale_of(LOWBIT_E4M3, LOWBIT_SCALE_CEIL, 500), 0x80);
    cr_expect_eq(mx_scale_of(LOWBIT_E4M3, LOWBIT_SCALE_RCEIL, 500), 0x80);
    cr_expect_eq(mx_scale_of(LOWBIT_E4M3, LOWBIT_SCALE_EVEN, 500), 0x80);
    cr_expect_eq(mx_scale_of(LOWBIT_E4M3, LOWBIT_SCALE_EVEN, 480), 0x7F);
    cr_expect_eq(mx_scale_of(LOWBIT_E4M3, LOWBIT_SCALE_RCEIL, 480), 0x80);
    cr_expect_eq(mx_scale_of(LOWBIT_E4M3, LOWBIT_SCALE_RCEIL, 448), 0x7F);
    /* E5M2 emax 15: amax 1 -> FLOOR e = -15 -> 0x70; E3M2 emax 4: amax 1 -> 0x7B; E2M3 emax 2 -> 0x7D */
    cr_expect_eq(mx_scale_of(LOWBIT_E5M2, LOWBIT_SCALE_FLOOR, 1), 0x70);
    cr_expect_eq(mx_scale_of(LOWBIT_E3M2, LOWBIT_SCALE_FLOOR, 1), 0x7B);
    cr_expect_eq(mx_scale_of(LOWBIT_E2M3, LOWBIT_SCALE_FLOOR, 1), 0x7D);
    /* clamping of e to [-127, 127]: amax 2^-140 (an f32 subnormal) with E4M3: -148 -> -127 (0x00);
     * amax 2^127 with E2M1 (FLOOR 125 -> 0xFC), INT8 (emax 0: 127 -> 0xFE) */
    cr_expect_eq(mx_scale_of(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR, 0x1p-140f), 0x00);
    cr_expect_eq(mx_scale_of(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR, 0x1p127f), 0xFC);
    cr_expect_eq(mx_scale_of(LOWBIT_INT8, LOWBIT_SCALE_FLOOR, 0x1p127f), 0xFE);

    /* The elements follow the stored scale: EVEN on amax 500 divides by 2:
     * 500 / 2 = 250 in [128, 256), step 16: 15.6 steps -> 256 = 0x78; -500/3/2 = -83.33,
     * step 8: 10.4 -> -80 = 1.010b * 64: field 13 -> 0xEA */
    float x[32] = {500, -500.0f / 3};
    qt t;
    qt_init(&t, lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_EVEN), 1, 32, 0);
    qt_quantize(&t, LOWBIT_F32, x, 32);
    cr_expect_eq(t.data[0], 0x78);
    cr_expect_eq(t.data[1], 0xEA);
}

Test(quantize, mxint8)
{
    /* MXINT8: elements are 1.6 fixed point (value = code / 64), emax 0.
     * Block 0: amax 1.5, floor(log2 1.5) = 0: scale 0x7F; code = round(64 x):
     *   1.5 -> 96 0x60; -0.3 -> -19.2 -> -19 0xED; 0.5078125 -> 32.5 -> tie -> 32 0x20;
     *   1.4999 -> 95.99 -> 96 0x60
     * Block 1: amax 3.998, floor(log2) = 1: scale 0x80 (2); code = round(32 x), clamped to +-127:
     *   3.998 -> 127.94 -> 128 -> 127 0x7F; -3.998 -> -127 0x81 (symmetric range);
     *   3.9 -> 124.8 -> 125 0x7D; -3 -> -96 0xA0 */
    float x[64] = {1.5f, -0.3f, 0.5078125f, 1.4999f};
    x[32] = 3.998f, x[33] = -3.998f, x[34] = 3.9f, x[35] = -3.0f;
    uint32_t want[64] = {0x60, 0xED, 0x20, 0x60};
    want[32] = 0x7F, want[33] = 0x81, want[34] = 0x7D, want[35] = 0xA0;
    qt t;
    qt_init(&t, lowbit_format_mx(LOWBIT_INT8, LOWBIT_SCALE_FLOOR), 1, 64, 0);
    qt_quantize(&t, LOWBIT_F32, x, 64);
    expect_codes(&t, want);
    expect_scale_bytes(&t, (const uint8_t[]){0x7F, 0x80}, 2);
    float dq[64];
    for (int i = 0; i < 64; i++)
        dq[i] = (float)(int8_t)want[i] / 64.0f * (i < 32 ? 1.0f : 2.0f);
    cr_expect_eq(dq[34], 3.90625f);
    expect_dequant(&t, dq);
}

Test(quantize, mxfp6_strided)
{
    /* MXFP6 E2M3 (emax 2, max 7.5), 2 x 5 in rows of stride 8 (a multiple of 4), src stride 7.
     * Row 0: amax 7.5 -> e = 0, scale 0x7F: 7.5 -> 0x1F; -1.0625 -> step 0.125: 8.5 -> tie -> 1.0
     *        (1.000b even) -> 0x28; 0.0625 -> tie 0|0.125 -> 0 0x00; 3.3 -> step 0.25: 13.2 -> 3.25
     *        (1.101b*2) 0x15; -7.5 -> 0x3F.
     * Row 1: amax 0.5 -> floor(log2 0.5) = -1, e = -3, scale 0x7C, x * 8:
     *        0.5 -> 4 = 1.000b*4 -> 0x18; 0.05 -> 0.4 -> 0.375 (3 * 0.125, subnormal) 0x03; rest 0. */
    float src[2][7] = {{7.5f, -1.0625f, 0.0625f, 3.3f, -7.5f, NAN, NAN}, {0.5f, 0.05f, 0, 0, 0, NAN, INFINITY}};
    uint32_t want[10] = {0x1F, 0x28, 0x00, 0x15, 0x3F, 0x18, 0x03, 0, 0, 0};
    qt t;
    qt_init(&t, lowbit_format_mx(LOWBIT_E2M3, LOWBIT_SCALE_FLOOR), 2, 5, 8);
    qt_quantize(&t, LOWBIT_F32, src, 7);
    expect_codes(&t, want);
    expect_scale_bytes(&t, (const uint8_t[]){0x7F, 0x7C}, 2);
    /* row 0 occupies elements 0..4 (bits 0..29) of the 6-byte first row; bytes 4..5 of it, past
     * the row's 30 bits, are padding between rows and stay untouched */
    cr_expect_eq(t.data[4], G);
    cr_expect_eq(t.data[5], G);
    cr_expect_eq(t.data[6 + 4], G, "byte past row 1 written");
    /* dequantize into a strided f32 buffer: the padding columns stay untouched */
    float out[2][6];
    memset(out, G, sizeof out);
    cr_assert_eq(lowbit_dequantize(LOWBIT_F32, out, 6, &t.q), LOWBIT_OK);
    for (int r = 0; r < 2; r++) {
        for (int c = 0; c < 5; c++)
            cr_expect_eq(out[r][c], ev(LOWBIT_E2M3, want[r * 5 + c], r ? 0.125f : 1.0f), "(%d,%d)", r, c);
        uint8_t pad[4];
        memcpy(pad, &out[r][5], 4);
        cr_expect(pad[0] == G && pad[1] == G && pad[2] == G && pad[3] == G, "dst padding written");
    }
    cr_expect_eq(out[0][1], -1.0f);
    cr_expect_eq(out[1][1], 0.046875f);
}

Test(quantize, mx_nonfinite_blocks)
{
    /* A block with NaN or Inf gets scale 0xFF and dequantizes to NaN; its element codes
     * are the element type's NaN encoding (E4M3 0x7F; E2M1 has no NaN: +max 0x7).
     * An all-zero block gets scale 0x00 and zero elements. */
    float x[96] = {0};
    x[5] = NAN;
    x[6] = 1.0f;
    x[32 + 7] = -INFINITY;
    x[32 + 8] = 2.0f;
    qt t;
    qt_init(&t, lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), 1, 96, 0);
    qt_quantize(&t, LOWBIT_F32, x, 96);
    expect_scale_bytes(&t, (const uint8_t[]){0xFF, 0xFF, 0x00}, 3);
    for (int i = 0; i < 64; i++)
        cr_expect_eq(t.data[i], 0x7F, "element %d of a NaN block: 0x%02x", i, t.data[i]);
    for (int i = 64; i < 96; i++)
        cr_expect_eq(t.data[i], 0x00);
    float dq[96];
    for (int i = 0; i < 96; i++)
        dq[i] = i < 64 ? NAN : 0.0f;
    expect_dequant(&t, dq);

    qt f4;
    qt_init(&f4, lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_RCEIL), 1, 96, 0);
    qt_quantize(&f4, LOWBIT_F32, x, 96);
    expect_scale_bytes(&f4, (const uint8_t[]){0xFF, 0xFF, 0x00}, 3);
    for (int i = 0; i < 32; i++)
        cr_expect_eq(f4.data[i], 0x77, "E2M1 pair %d of a NaN block: 0x%02x", i, f4.data[i]);
    expect_dequant(&f4, dq);
}

/* ---- NVFP4 ------------------------------------------------------------- */

Test(quantize, nvfp4)
{
    /* 2 x 32: tensor amax 2688 = 448 * 6, so s_t = 2688 / (448 * 6) = 1 exactly.
     * Block (0,0): amax 2688: s_b = E4M3(2688 / 6 / 1) = 448 (0x7E); x / 448:
     *   2688 -> 6 0x7; 1000 -> 2.23 -> 2 0x4; -300 -> -0.67 -> -0.5 0x9; 0.5 -> 0.001 -> 0.
     * Block (0,1): amax 10: 10/6 = 1.667 -> E4M3 step 0.125: 13.3 -> 1.625 (0x3D); x / 1.625:
     *   10 -> 6.15 -> 6 0x7; 4 -> 2.46 -> 2 0x4; -2.5 -> -1.54 -> -1.5 0xB; 1 -> 0.615 -> 0.5 0x1.
     * Block (1,0): amax 6: s_b = 1.0 (0x38): 6 -> 0x7; 3 -> 0x5; -0.75 -> tie 0.5|1 -> -1 0xA; 0.2 -> 0.
     * Block (1,1): amax 1e-5: 1e-5 / 6 rounds to E4M3 0, raised to the smallest subnormal 2^-9 (0x01);
     *   1e-5 / 2^-9 = 0.005 -> 0; -1e-5 -> -0 0x8. */
    float x[2][32] = {{0}};
    uint32_t want[2][32] = {{0}};
    x[0][0] = 2688, want[0][0] = 0x7;
    x[0][1] = 1000, want[0][1] = 0x4;
    x[0][2] = -300, want[0][2] = 0x9;
    x[0][3] = 0.5f, want[0][3] = 0x0;
    x[0][16] = 10, want[0][16] = 0x7;
    x[0][17] = 4, want[0][17] = 0x4;
    x[0][18] = -2.5f, want[0][18] = 0xB;
    x[0][31] = 1, want[0][31] = 0x1;
    x[1][0] = 6, want[1][0] = 0x7;
    x[1][1] = 3, want[1][1] = 0x5;
    x[1][2] = -0.75f, want[1][2] = 0xA;
    x[1][3] = 0.2f, want[1][3] = 0x0;
    x[1][16] = 1e-5f, want[1][16] = 0x0;
    x[1][17] = -1e-5f, want[1][17] = 0x8;
    qt t;
    qt_init(&t, lowbit_format_nvfp4(), 2, 32, 0);
    qt_quantize(&t, LOWBIT_F32, x, 32);
    cr_expect_eq(t.q.tensor_scale, 1.0f);
    expect_codes(&t, &want[0][0]);
    expect_scale_bytes(&t, (const uint8_t[]){0x7E, 0x3D, 0x38, 0x01}, 4);
    float dq[64];
    const float sb[4] = {448, 1.625f, 1, 0x1p-9f};
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 32; c++)
            dq[r * 32 + c] = ev(LOWBIT_E2M1, want[r][c], sb[r * 2 + c / 16]);
    cr_expect_eq(dq[1], 896.0f);
    cr_expect_eq(dq[16], 9.75f);
    expect_dequant(&t, dq);

    /* A block holding Inf: its scale is E4M3 NaN (0x7F), elements E2M1(NaN) = +max 0x7,
     * dequantized NaN; the tensor amax ignores it (finite amax 6 -> s_t = 6/2688). */
    float y[32] = {6};
    y[17] = INFINITY;
    qt u;
    qt_init(&u, lowbit_format_nvfp4(), 1, 32, 0);
    qt_quantize(&u, LOWBIT_F32, y, 32);
    cr_expect_eq(u.q.tensor_scale, 6.0f / 2688.0f);
    cr_expect_eq(u.scales[1], 0x7F);
    cr_expect_eq(u.data[0], 0x07);  /* 6 -> 6 (0x7), 0 -> 0 */
    cr_expect_eq(u.data[8], 0x77);  /* block 1: every element 0x7 */
    cr_expect_eq(u.data[15], 0x77);
    cr_expect_eq(u.scales[0], 0x7E); /* 6 / 6 / (6/2688) = 448 (within f32 rounding of s_t) */
}

/* A given (calibrated) tensor scale: kept, and only the block scales come
 * from the data.  s_t = 0.5: block 0 amax 24: s_b = E4M3(24 / 6 / 0.5) = 8
 * (0x50), divisor 4: 24 -> 6 0x7; 5 -> 1.25 -> tie 1|1.5 -> 1 0x2; -9 ->
 * -2.25 -> -2 0xC.  Block 1 amax 30000: 30000 / 6 / 0.5 = 10000 clamps to
 * 448 (0x7E), divisor 224: 30000 -> 133.9 saturates to 6 0x7; 448 -> 2 0x4;
 * -100 -> -0.45 -> -0.5 0x9.  The same data with the derived tensor scale
 * (30000 / 2688) would not saturate. */
Test(quantize, nvfp4_given_tensor_scale)
{
    float x[32] = {0};
    uint32_t want[32] = {0};
    x[0] = 24, want[0] = 0x7;
    x[1] = 5, want[1] = 0x2;
    x[2] = -9, want[2] = 0xC;
    x[16] = 30000, want[16] = 0x7;
    x[17] = 448, want[17] = 0x4;
    x[18] = -100, want[18] = 0x9;
    lowbit_format f = lowbit_format_nvfp4();
    f.flags |= LOWBIT_FMT_GIVEN_TENSOR_SCALE;
    char name[64];
    cr_expect_str_eq(lowbit_format_name(&f, name, sizeof name), "nv_e2m1_g16_given");
    qt t;
    qt_init(&t, f, 1, 32, 0);
    t.q.tensor_scale = 0.5f;
    qt_quantize(&t, LOWBIT_F32, x, 32);
    cr_expect_eq(t.q.tensor_scale, 0.5f);
    expect_codes(&t, want);
    expect_scale_bytes(&t, (const uint8_t[]){0x50, 0x7E}, 2);
    float dq[32];
    for (int c = 0; c < 32; c++)
        dq[c] = ev(LOWBIT_E2M1, want[c], c < 16 ? 4.0f : 224.0f);
    cr_expect_eq(dq[16], 1344.0f);
    expect_dequant(&t, dq);

    /* Given the scale the data would derive, the bits are those of plain NVFP4. */
    qt d, g;
    qt_init(&d, lowbit_format_nvfp4(), 1, 32, 0);
    qt_quantize(&d, LOWBIT_F32, x, 32);
    cr_expect_eq(d.q.tensor_scale, 30000.0f / 2688.0f);
    qt_init(&g, f, 1, 32, 0);
    g.q.tensor_scale = d.q.tensor_scale;
    qt_quantize(&g, LOWBIT_F32, x, 32);
    cr_expect_eq(memcmp(g.data, d.data, 16), 0);
    cr_expect_eq(memcmp(g.scales, d.scales, 2), 0);
    cr_expect_eq(g.q.tensor_scale, d.q.tensor_scale);
}

/* ---- FP8 with f32 scales ------------------------------------------------ */

Test(quantize, fp8_per_tensor)
{
    /* amax 896: s = 896 / 448 = 2. x / 2 in E4M3:
     *   896 -> 448 0x7E; 1 -> 0.5 0x30; -2 -> -1 0xB8; 0.3 -> 0.15, step 2^-6: 9.6 -> 10 = 0.15625 0x22;
     *   100 -> 50, step 4: 12.5 -> tie -> 12 (1.100b, even) = 48 0x64; -896 -> 0xFE */
    float x[6] = {896, 1, -2, 0.3f, 100, -896};
    uint32_t want[6] = {0x7E, 0x30, 0xB8, 0x22, 0x64, 0xFE};
    qt t;
    qt_init(&t, lowbit_format_fp8_tensor(LOWBIT_E4M3), 2, 3, 0);
    qt_quantize(&t, LOWBIT_F32, x, 3);
    expect_codes(&t, want);
    expect_scale_f32(&t, (const float[]){2.0f}, 1);
    float dq[6] = {896, 1, -2, 0.3125f, 96, -896};
    expect_dequant(&t, dq);
}

Test(quantize, fp8_per_row_e5m2)
{
    /* Row 0: amax 229376 = 57344 * 4: s = 4; 229376 -> 57344 0x7B; 6000 -> 1500 in [1024, 2048)
     *   step 256: 5.86 -> 6 = 1536 = 1.10b * 2^10: field 25 -> 0x66.
     * Row 1: all zero: s = 1, elements 0.
     * Row 2: amax 3: s = fl(3 / 57344); -3 / s = -57344 -> 0xFB; 1 / s = 19114.67 in [16384, 32768)
     *   step 4096: 4.67 -> 5 = 20480: field 29, mantissa 1 -> 0x75. */
    float x[9] = {229376, 6000, 0, 0, 0, 0, -3, 1, 0};
    uint32_t want[9] = {0x7B, 0x66, 0, 0, 0, 0, 0xFB, 0x75, 0};
    qt t;
    qt_init(&t, lowbit_format_fp8_row(LOWBIT_E5M2), 3, 3, 0);
    qt_quantize(&t, LOWBIT_F32, x, 3);
    expect_codes(&t, want);
    float s2 = 3.0f / 57344.0f;
    expect_scale_f32(&t, (const float[]){4.0f, 1.0f, s2}, 3);
    float dq[9] = {229376, 6144, 0, 0, 0, 0, -57344 * s2, 20480 * s2, 0};
    expect_dequant(&t, dq);
}

Test(quantize, fp8_block_partial)
{
    /* 3 x 3 in 2 x 2 blocks: grid 2 x 2 with partial edge blocks.
     *  (0,0) rows 0-1 cols 0-1: {448, 1; 3, -0.5} amax 448, s = 1: 0x7E 0x38 0x44 0xB0
     *  (0,1) rows 0-1 col 2:   {896; 5} amax 896, s = 2: 448 0x7E; 2.5 = 1.01b*2 0x42
     *  (1,0) row 2 cols 0-1:   {56, -20} amax 56, s = 0.125: 448 0x7E; -160 = -1.01b*128 0xF2
     *  (1,1) row 2 col 2:      {-7} amax 7, s = 7/448 = 2^-6: -448 0xFE */
    float x[9] = {448, 1, 896, 3, -0.5f, 5, 56, -20, -7};
    uint32_t want[9] = {0x7E, 0x38, 0x7E, 0x44, 0xB0, 0x42, 0x7E, 0xF2, 0xFE};
    qt t;
    qt_init(&t, lowbit_format_fp8_block(LOWBIT_E4M3, 2, 2), 3, 3, 0);
    qt_quantize(&t, LOWBIT_F32, x, 3);
    expect_codes(&t, want);
    expect_scale_f32(&t, (const float[]){1, 2, 0.125f, 0x1p-6f}, 4);
    expect_dequant(&t, x); /* every element is exact */
}

/* ---- integers ----------------------------------------------------------- */

Test(quantize, int8_group_f16)
{
    /* Groups of 4, f16 scales s = amax / 127:
     *  group 0 {127, -63.5, 0.5, 1.5}: s = 1 (0x3C00): 127 0x7F; -63.5 -> tie -> -64 0xC0; 0.5 -> 0; 1.5 -> 2
     *  group 1 {254, -1, 3, 0}:        s = 2 (0x4000): 127 0x7F; -0.5 -> tie -> 0; 1.5 -> 2; 0 */
    float x[8] = {127, -63.5f, 0.5f, 1.5f, 254, -1, 3, 0};
    uint32_t want[8] = {0x7F, 0xC0, 0x00, 0x02, 0x7F, 0x00, 0x02, 0x00};
    qt t;
    qt_init(&t, lowbit_format_int_group(LOWBIT_INT8, 4, LOWBIT_F16, 0), 1, 8, 0);
    qt_quantize(&t, LOWBIT_F32, x, 8);
    expect_codes(&t, want);
    expect_scale_u16(&t, (const uint16_t[]){0x3C00, 0x4000}, 2);
    float dq[8] = {127, -64, 0, 2, 254, 0, 4, 0};
    expect_dequant(&t, dq);
}

Test(quantize, int4_group_bf16)
{
    /* One group per row (8), bf16 scales s = amax / 7:
     *  row 0 amax 7: s = 1 (0x3F80): 7, -7 0x9, 3.5 -> 4, -1.75 -> -2 0xE, 0.875 -> 1, 0, 2.625 -> 3,
     *        -3.5 -> tie -> -4 0xC
     *  row 1 amax 0.7: 0.7/7 = 0.1 -> bf16 0x3DCD = 0.10009765625; x / s: 0.7 -> 6.99 -> 7;
     *        0.35 -> 3.497 -> 3; -0.05 -> -0.4995 -> 0; rest 0 */
    float x[16] = {7, -7, 3.5f, -1.75f, 0.875f, 0, 2.625f, -3.5f, 0.7f, 0.35f, -0.05f};
    uint32_t want[16] = {0x7, 0x9, 0x4, 0xE, 0x1, 0x0, 0x3, 0xC, 0x7, 0x3, 0x0};
    qt t;
    qt_init(&t, lowbit_format_int_group(LOWBIT_INT4, 8, LOWBIT_BF16, 0), 2, 8, 0);
    qt_quantize(&t, LOWBIT_F32, x, 8);
    expect_codes(&t, want);
    expect_scale_u16(&t, (const uint16_t[]){0x3F80, 0x3DCD}, 2);
    const float s1 = 0.10009765625f;
    float dq[16] = {7, -7, 4, -2, 1, 0, 3, -4, 7 * s1, 3 * s1, 0, 0, 0, 0, 0, 0};
    expect_dequant(&t, dq);
}

Test(quantize, zero_points)
{
    /* UINT4, groups of 4, f32 scales: hi = max(vmax, 0), lo = min(vmin, 0), s = (hi - lo) / 15,
     * zp = clamp(round(0 - lo / s), 0, 15), q = clamp(round(x / s) + zp, 0, 15).
     *  group 0 {-1, 14, 3.4, 0}: s = 15/15 = 1, zp = 1: -1 -> 0; 14 -> 15; 3.4 -> 4; 0 -> 1
     *  group 1 {2, 5, 3, 4}:     lo = 0, s = 5/15 = 0.33333334f, zp = 0: 2/s = 5.9999998 -> 6;
     *                            5/s -> 15; 3/s -> 9; 4/s -> 12 */
    float x[8] = {-1, 14, 3.4f, 0, 2, 5, 3, 4};
    uint32_t want[8] = {0, 15, 4, 1, 6, 15, 9, 12};
    qt t;
    qt_init(&t, lowbit_format_int_group(LOWBIT_UINT4, 4, LOWBIT_F32, 1), 1, 8, 0);
    qt_quantize(&t, LOWBIT_F32, x, 8);
    expect_codes(&t, want);
    const float s1 = 5.0f / 15.0f;
    expect_scale_f32(&t, (const float[]){1.0f, s1}, 2);
    cr_expect_eq(t.zps[0], 0x01, "zero points (1, 0) packed: 0x%02x", t.zps[0]);
    cr_expect_eq(t.zps[1], G);
    /* dequantized value: (q - zp) * s */
    float dq[8] = {-1, 14, 3, 0, 6 * s1, 15 * s1, 9 * s1, 12 * s1};
    expect_dequant(&t, dq);

    /* INT4 with a zero point, f16 scale: {0, 30, 10, 15.9}: lo 0, hi 30, s = 30/15 = 2;
     * zp = round(-8 - 0/2) = -8 (0x8); q = round(x/2) - 8: -8 0x8, 7 0x7, -3 0xD, round(7.95) - 8 = 0 */
    float y[4] = {0, 30, 10, 15.9f};
    qt u;
    qt_init(&u, lowbit_format_int_group(LOWBIT_INT4, 4, LOWBIT_F16, 1), 1, 4, 0);
    qt_quantize(&u, LOWBIT_F32, y, 4);
    expect_codes(&u, (const uint32_t[]){0x8, 0x7, 0xD, 0x0});
    expect_scale_u16(&u, (const uint16_t[]){0x4000}, 1);
    cr_expect_eq(u.zps[0] & 0xF, 0x8);
    expect_dequant(&u, (const float[]){0, 30, 10, 16});

    /* A zero point that is not an integer before rounding: {-1.375, 6.125, 0, 1}:
     * lo = -1.375, hi = 6.125, s = 7.5 / 15 = 0.5; zp = round(0 + 1.375 / 0.5) = round(2.75) = 3;
     * q = round(x / 0.5) + 3: -2.75 -> -3 -> 0; 12.25 -> 12 -> 15; 0 -> 3; 2 -> 5;
     * dequantized (q - 3) * 0.5: -1.5, 6, 0, 1 */
    float w[4] = {-1.375f, 6.125f, 0, 1};
    qt m;
    qt_init(&m, lowbit_format_int_group(LOWBIT_UINT4, 4, LOWBIT_F32, 1), 1, 4, 0);
    qt_quantize(&m, LOWBIT_F32, w, 4);
    expect_scale_f32(&m, (const float[]){0.5f}, 1);
    cr_expect_eq(m.zps[0] & 0xF, 3, "zero point %d, expected round(2.75) = 3", m.zps[0] & 0xF);
    expect_codes(&m, (const uint32_t[]){0, 15, 3, 5});
    expect_dequant(&m, (const float[]){-1.5f, 6, 0, 1});

    /* A group holding NaN: NaN scale, zero point 0, elements 0, dequantized NaN */
    float z[4] = {1, NAN, 2, 3};
    qt v;
    qt_init(&v, lowbit_format_int_group(LOWBIT_UINT4, 4, LOWBIT_F32, 1), 1, 4, 0);
    qt_quantize(&v, LOWBIT_F32, z, 4);
    expect_codes(&v, (const uint32_t[]){0, 0, 0, 0});
    cr_expect_eq(v.zps[0] & 0xF, 0);
    expect_dequant(&v, (const float[]){NAN, NAN, NAN, NAN});
}

Test(quantize, int_group_nonfinite_and_zero)
{
    /* symmetric INT8, group 4, f32 scales: {Inf...} -> NaN scale, elements 0, dequant NaN;
     * an all-zero group -> scale 1, elements 0 */
    float x[8] = {1, INFINITY, 2, 3, 0, 0, -0.0f, 0};
    qt t;
    qt_init(&t, lowbit_format_int_group(LOWBIT_INT8, 4, LOWBIT_F32, 0), 1, 8, 0);
    qt_quantize(&t, LOWBIT_F32, x, 8);
    expect_codes(&t, (const uint32_t[]){0, 0, 0, 0, 0, 0, 0, 0});
    expect_scale_f32(&t, (const float[]){NAN, 1.0f}, 2);
    expect_dequant(&t, (const float[]){NAN, NAN, NAN, NAN, 0, 0, 0, 0});
}

/* ---- f16 / bf16 sides ------------------------------------------------------ */

Test(quantize, f16_bf16_sources_and_outputs)
{
    /* The MXFP8 example of mxfp8_e4m3_floor, with values exact in f16 (and bf16):
     * same codes, same scale.  f16: 1000 = 0x63D0, 1 = 0x3C00, 3 = 0x4200, -4.5 = 0xC480,
     * 0.75 = 0x3A00, -0 = 0x8000.  bf16: the top halves of the f32 patterns. */
    float xf[32] = {1000, 1, 3, -4.5f, 0.75f, -0.0f};
    uint16_t h[32] = {0x63D0, 0x3C00, 0x4200, 0xC480, 0x3A00, 0x8000};
    uint16_t b[32];
    for (int i = 0; i < 32; i++) {
        uint32_t u = mdl_f32_bits(xf[i]);
        b[i] = (uint16_t)(u >> 16); /* exact: these f32 values have zero low halves */
        cr_assert_eq(u & 0xFFFF, 0u);
    }
    uint32_t want[32] = {0x7E, 0x30, 0x3C, 0xC1, 0x2C, 0x80};
    qt a, c, d;
    qt_init(&a, lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), 1, 32, 0);
    qt_init(&c, lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), 1, 32, 0);
    qt_init(&d, lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), 1, 32, 0);
    qt_quantize(&a, LOWBIT_F32, xf, 32);
    qt_quantize(&c, LOWBIT_F16, h, 32);
    qt_quantize(&d, LOWBIT_BF16, b, 32);
    expect_codes(&a, want);
    expect_codes(&c, want);
    expect_codes(&d, want);
    cr_expect(a.scales[0] == 0x80 && c.scales[0] == 0x80 && d.scales[0] == 0x80);

    /* dequantize to f16 / bf16: 448*2 = 896 (f16 0x6300, bf16 0x4460), 0.5*2 = 1, 1.5*2 = 3,
     * -2.25*2 = -4.5, 0.375*2 = 0.75, -0 */
    uint16_t oh[32], ob[32];
    cr_assert_eq(lowbit_dequantize(LOWBIT_F16, oh, 32, &a.q), LOWBIT_OK);
    cr_assert_eq(lowbit_dequantize(LOWBIT_BF16, ob, 32, &a.q), LOWBIT_OK);
    const uint16_t wh[6] = {0x6300, 0x3C00, 0x4200, 0xC480, 0x3A00, 0x8000};
    const uint16_t wb[6] = {0x4460, 0x3F80, 0x4040, 0xC090, 0x3F40, 0x8000};
    for (int i = 0; i < 6; i++) {
        cr_expect_eq(oh[i], wh[i], "f16 [%d] 0x%04x", i, oh[i]);
        cr_expect_eq(ob[i], wb[i], "bf16 [%d] 0x%04x", i, ob[i]);
    }

    /* Dequantizing to f16 rounds once and does not saturate: MXFP8 E5M2 with amax 1e6:
     * floor(log2 1e6) = 19, e = 19 - 15 = 4 (x16); 1e6 / 16 = 62500 saturates to 57344 (0x7B);
     * 57344 * 16 = 917504 is beyond f16: +Inf (0x7C00); in bf16 917504 = 0x4960. */
    float big[32] = {1e6f};
    qt e;
    qt_init(&e, lowbit_format_mx(LOWBIT_E5M2, LOWBIT_SCALE_FLOOR), 1, 32, 0);
    qt_quantize(&e, LOWBIT_F32, big, 32);
    cr_expect_eq(e.scales[0], 0x83);
    cr_expect_eq(e.data[0], 0x7B);
    cr_assert_eq(lowbit_dequantize(LOWBIT_F16, oh, 32, &e.q), LOWBIT_OK);
    cr_assert_eq(lowbit_dequantize(LOWBIT_BF16, ob, 32, &e.q), LOWBIT_OK);
    cr_expect_eq(oh[0], 0x7C00);
    cr_expect_eq(ob[0], 0x4960);
}

Test(quantize, src_stride_padding_ignored_and_q_padding_untouched)
{
    /* INT4 per-row symmetric f32, 2 x 3, src stride 5 with NaN in the padding (must not be read),
     * q row_stride 6 (3 nibbles used per 3-byte row, the rest untouched).
     *  row 0 {7, -3.5, 1}: s = 1: 7, -4 (tie -> even) 0xC, 1
     *  row 1 {14, 0, -7}:  s = 2: 7, 0, -3.5 -> -4 0xC */
    float src[10] = {7, -3.5f, 1, NAN, NAN, 14, 0, -7, INFINITY, NAN};
    qt t;
    qt_init(&t, lowbit_format_int_group(LOWBIT_INT4, 0, LOWBIT_F32, 0), 2, 3, 6);
    qt_quantize(&t, LOWBIT_F32, src, 5);
    expect_codes(&t, (const uint32_t[]){0x7, 0xC, 0x1, 0x7, 0x0, 0xC});
    expect_scale_f32(&t, (const float[]){1.0f, 2.0f}, 2);
    /* row 0: byte 0 = elements 0,1; byte 1 low nibble = element 2, high nibble is padding
     * (written as zero, part of the last partial byte); byte 2 untouched */
    cr_expect_eq(t.data[0], 0xC7);
    cr_expect_eq(t.data[1] & 0x0F, 0x1);
    cr_expect_eq(t.data[2], G, "padding byte between rows written");
    cr_expect_eq(t.data[5], G, "padding byte after row 1 written");
    expect_dequant(&t, (const float[]){7, -4, 1, 14, 0, -8});

    /* stochastic rounding keys element (r, c) by offset + r * cols + c (the logical index,
     * whatever the source stride): element (r, c) is the model's stochastic rounding of
     * x / scale with the Philox bits of that index.  Source rows are 40 apart. */
    float y[2 * 40];
    for (int i = 0; i < 80; i++)
        y[i] = (float)i * 0.37f - 11.0f;
    qt s;
    qt_init(&s, lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR), 2, 32, 0);
    lowbit_convert_opts o = {LOWBIT_ROUND_STOCHASTIC, 1, 99, 1000};
    cr_assert_eq(lowbit_quantize(&s.q, LOWBIT_F32, y, 40, &o), LOWBIT_OK);
    for (int r = 0; r < 2; r++) {
        float sc = (float)mdl_value(LOWBIT_E8M0, s.scales[r]);
        for (int c = 0; c < 32; c++) {
            uint32_t rb = mdl_sr_bits(99, 1000 + (uint64_t)(r * 32 + c));
            uint32_t w = mdl_encode_d(LOWBIT_E2M1, (double)(y[r * 40 + c] / sc), MDL_SR, 1, rb);
            cr_expect_eq(mdl_get_code(4, s.data, (size_t)(r * 32 + c)), w, "SR element (%d,%d)", r, c);
        }
    }
}

/* NVFP4 divides by the f32 product s_t * s_b (never multiplies by a reciprocal), and
 * dequantizes as e * (s_t * s_b) with the product formed first (docs/semantics.md). */
Test(quantize, nvfp4_division_and_product_order)
{
    /* s_t = 1 (tensor amax 2688).  Block 1: amax 11.25 -> s_b = E4M3(11.25 / 6) = 1.875 (0x3F).
     *   11.25 / 1.875 = 6 -> 0x7; 4.6875 / 1.875 = 2.5 exactly: tie -> 2 (0x4);
     *   2.34375 / 1.875 = 1.25: tie -> 1 (0x2); 9.375 / 1.875 = 5: tie -> 4 (0x6); -4.6875 -> -2 (0xC).
     * (Multiplying by fl(1/1.875) = 0.53333336 instead lands just above each tie: 3, 1.5, 6.) */
    float x[32] = {2688};
    x[16] = 11.25f, x[17] = 4.6875f, x[18] = 2.34375f, x[19] = 9.375f, x[20] = -4.6875f;
    uint32_t want[32] = {0x7};
    want[16] = 0x7, want[17] = 0x4, want[18] = 0x2, want[19] = 0x6, want[20] = 0xC;
    qt t;
    qt_init(&t, lowbit_format_nvfp4(), 1, 32, 0);
    qt_quantize(&t, LOWBIT_F32, x, 32);
    cr_expect_eq(t.q.tensor_scale, 1.0f);
    expect_scale_bytes(&t, (const uint8_t[]){0x7E, 0x3F}, 2);
    expect_codes(&t, want);

    /* Tensor amax 3: s_t = fl(3 / 2688) = fl(1/896); s_b = E4M3(3 / 6 / s_t) = E4M3(448.00003) = 448.
     * s_t * s_b rounds to exactly 0.5 in f32, so 3 -> 6 (0x7), 1.5 -> 3 (0x5), -0.75 -> -1.5 (0xB)
     * and they dequantize to exactly 3, 1.5, -0.75.  (The other order, (e * s_t) * s_b, gives
     * 3.0000002 for e = 6.) */
    float y[16] = {3, 1.5f, -0.75f};
    qt u;
    qt_init(&u, lowbit_format_nvfp4(), 1, 16, 0);
    qt_quantize(&u, LOWBIT_F32, y, 16);
    cr_expect_eq(u.q.tensor_scale, 3.0f / 2688.0f);
    expect_scale_bytes(&u, (const uint8_t[]){0x7E}, 1);
    uint32_t wy[16] = {0x7, 0x5, 0xB};
    expect_codes(&u, wy);
    float dq[16] = {3, 1.5f, -0.75f};
    expect_dequant(&u, dq);
}
