/*
 * fuzz_common.h - shared helpers of the libFuzzer targets in tests/fuzz.
 *
 * Every target decodes its arguments from the input with fz_* readers that
 * return 0 once the input is used up, so any byte string is a valid input
 * and short inputs mean small, mostly-zero arguments.  Sizes come from
 * fz_size(): usually small, sometimes right at the edge of size_t, so the
 * library's overflow checks see huge values while the buffers we really
 * allocate stay tiny.
 */
#ifndef LOWBIT_FUZZ_COMMON_H
#define LOWBIT_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lowbit.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz_in {
    const uint8_t *p;
    size_t n;
} fz_in;

static inline uint8_t fz_u8(fz_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint32_t fz_u32(fz_in *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)fz_u8(in) << (8 * i);
    return v;
}

static inline uint64_t fz_u64(fz_in *in)
{
    uint64_t v = fz_u32(in);
    return v | (uint64_t)fz_u32(in) << 32;
}

static inline float fz_f32(fz_in *in)
{
    uint32_t u = fz_u32(in);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* A size: one selector byte, then a value.  Mostly 0..small-1; the rarer
 * selectors give values near SIZE_MAX, powers of two and raw 64-bit words. */
static inline size_t fz_size(fz_in *in, size_t small)
{
    uint8_t sel = fz_u8(in);
    switch (sel >> 5) {
    case 6:
        return SIZE_MAX - (fz_u8(in) & 15);
    case 7: {
        uint8_t k = fz_u8(in);
        if (k & 0x80)
            return (size_t)fz_u64(in);
        return ((size_t)1 << (k % 64)) - (size_t)((k >> 6) & 1);
    }
    default:
        return small ? (size_t)(((sel & 0x1f) << 8 | fz_u8(in)) % small) : 0;
    }
}

/* A dtype, sometimes out of range. */
static inline lowbit_dtype fz_dtype(fz_in *in)
{
    uint8_t b = fz_u8(in);
    if (b >= 0xF0)
        return (lowbit_dtype)(int)(b == 0xFF ? -1 : LOWBIT_DTYPE_COUNT + (b & 7));
    return (lowbit_dtype)(b % LOWBIT_DTYPE_COUNT);
}

/* Pick a host backend (the reference or a SIMD level this CPU has). */
static inline void fz_backend(fz_in *in)
{
    static const lowbit_backend order[] = {LOWBIT_BACKEND_AUTO, LOWBIT_BACKEND_REF, LOWBIT_BACKEND_AVX2,
                                           LOWBIT_BACKEND_AVX512, LOWBIT_BACKEND_AMX, LOWBIT_BACKEND_NEON};
    lowbit_backend b = order[fz_u8(in) % (sizeof order / sizeof order[0])];
    if (lowbit_set_backend(b) != LOWBIT_OK)
        lowbit_set_backend(LOWBIT_BACKEND_AUTO);
}

/* One thread: each run stays small and the replay stays deterministic. */
static inline void fz_once(void)
{
    static int done;
    if (!done) {
        lowbit_set_num_threads(1);
        done = 1;
    }
}

#define FZ_CANARY 0xA5

/* A heap buffer of exactly n bytes (ASan sees any overrun), canary-filled. */
static inline uint8_t *fz_alloc(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        abort();
    memset(p, FZ_CANARY, n ? n : 1);
    return p;
}

/* The same, but starting off bytes into a larger block (pointers that
 * break alignment; the end stays exact).  Free *base. */
static inline uint8_t *fz_alloc_at(size_t n, unsigned off, uint8_t **base)
{
    *base = fz_alloc(n + off);
    return *base + off;
}

static inline void fz_fill(fz_in *in, void *buf, size_t n)
{
    uint8_t *b = buf;
    for (size_t i = 0; i < n; i++)
        b[i] = in->n ? fz_u8(in) : (uint8_t)(i * 37u + 11u);
}

static inline int fz_untouched(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != FZ_CANARY)
            return 0;
    return 1;
}

/* A broken contract: say which, then abort so libFuzzer keeps the input. */
#define FZ_FAIL(...)                                                   \
    do {                                                               \
        fprintf(stderr, "fuzz contract violated at %s:%d: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                                  \
        fputc('\n', stderr);                                           \
        abort();                                                       \
    } while (0)

/* A scaled format: one of the ready-made constructors with fuzzed
 * arguments, or (selector bit 0x80) raw fields straight from the input. */
static inline lowbit_format fz_format(fz_in *in)
{
    uint8_t sel = fz_u8(in);
    lowbit_dtype e = fz_dtype(in);
    if (sel & 0x80) {
        lowbit_format f;
        f.elem = e;
        f.scale_type = fz_dtype(in);
        f.block_rows = (uint32_t)fz_size(in, 260);
        f.block_cols = (uint32_t)fz_size(in, 260);
        uint8_t r = fz_u8(in);
        f.rule = (lowbit_scale_rule)(r >= 0xF0 ? (int)r - 0xF8 : r % LOWBIT_SCALE_RULE_COUNT);
        f.flags = fz_u8(in) & 0x7;
        if (f.flags & 4)
            f.flags = fz_u32(in);
        return f;
    }
    static const uint32_t groups[] = {0, 1, 16, 32, 64, 128, 7, 48};
    switch (sel % 8) {
    case 0: {
        uint8_t r = fz_u8(in);
        return lowbit_format_mx(e, (lowbit_scale_rule)(r % (LOWBIT_SCALE_RULE_COUNT + 1)));
    }
    case 1:
        return lowbit_format_nvfp4();
    case 2:
        return lowbit_format_fp8_tensor(e);
    case 3:
        return lowbit_format_fp8_row(e);
    case 4: {
        uint32_t br = groups[fz_u8(in) % 8], bc = groups[fz_u8(in) % 8];
        return lowbit_format_fp8_block(e, br, bc);
    }
    case 5:
    case 6: {
        uint32_t g = groups[fz_u8(in) % 8];
        lowbit_dtype st = fz_dtype(in);
        return lowbit_format_int_group(e, g, st, fz_u8(in) & 1);
    }
    default:
        return lowbit_format_plain(e);
    }
}

/* How the target lays out a qtensor's buffers. */
#define FZ_BUF_CAP (64u * 1024u)

typedef struct fz_qbuf {
    uint8_t *data, *scales, *zp;  /* exactly the declared sizes */
    uint8_t *base[3];             /* the allocations (data etc. may start a few bytes in) */
} fz_qbuf;

/* After lowbit_qtensor_init: perturb row_stride and the declared sizes
 * from the input, then allocate exactly the declared sizes (a declared
 * size above FZ_BUF_CAP is replaced by a small one: the library must then
 * refuse the tensor as too small).  Sometimes a pointer is left NULL. */
static inline void fz_qtensor_buffers(fz_in *in, lowbit_qtensor *q, fz_qbuf *b)
{
    uint8_t m = fz_u8(in);
    if (m & 1)
        q->row_stride += (size_t)(int8_t)fz_u8(in);
    if (m & 2)
        q->row_stride = fz_size(in, 300);
    size_t *sz[3] = {&q->data_bytes, &q->scales_bytes, &q->zero_points_bytes};
    for (int i = 0; i < 3; i++) {
        if (m & (4 << i))
            *sz[i] += (size_t)(int8_t)fz_u8(in);
        if (*sz[i] > FZ_BUF_CAP)
            *sz[i] = fz_u8(in);
    }
    /* now and then a buffer that starts off its natural alignment */
    uint8_t off = fz_u8(in) == 0xA7 ? fz_u8(in) : 0;
    b->data = fz_alloc_at(q->data_bytes, off & 3, &b->base[0]);
    b->scales = fz_alloc_at(q->scales_bytes, (off >> 2) & 3, &b->base[1]);
    b->zp = fz_alloc_at(q->zero_points_bytes, (off >> 4) & 3, &b->base[2]);
    q->data = (m & 0x20) && q->data_bytes == 0 ? NULL : b->data;
    q->scales = q->scales_bytes || (m & 0x40) ? b->scales : NULL;
    q->zero_points = q->zero_points_bytes || (m & 0x80) ? b->zp : NULL;
    if (fz_u8(in) & 1)
        q->tensor_scale = fz_f32(in);
}

static inline void fz_qtensor_fill(fz_in *in, lowbit_qtensor *q, fz_qbuf *b)
{
    fz_fill(in, b->data, q->data_bytes);
    fz_fill(in, b->scales, q->scales_bytes);
    fz_fill(in, b->zp, q->zero_points_bytes);
}

static inline void fz_qbuf_free(fz_qbuf *b)
{
    for (int i = 0; i < 3; i++)
        free(b->base[i]);
}

/* a * b + c with overflow reported as SIZE_MAX */
static inline size_t fz_mad(size_t a, size_t b, size_t c)
{
    if (b && a > (SIZE_MAX - c) / b)
        return SIZE_MAX;
    return a * b + c;
}

/* Bytes of a rows x cols matrix of 2- or 4-byte elements with row stride
 * ld (elements); SIZE_MAX when that overflows. */
static inline size_t fz_matrix_bytes(size_t rows, size_t cols, size_t ld, size_t elem)
{
    if (rows == 0 || cols == 0)
        return 0;
    size_t e = fz_mad(rows - 1, ld, cols);
    return e == SIZE_MAX ? SIZE_MAX : fz_mad(e, elem, 0);
}

static inline size_t fz_wide_bytes(lowbit_dtype t)
{
    return t == LOWBIT_F32 ? 4 : (t == LOWBIT_F16 || t == LOWBIT_BF16) ? 2 : 4;
}

#endif
