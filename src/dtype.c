/* dtype.c - facts about element types. */
#include <string.h>
#include "internal.h"
#include "../formats/codec.h"

static const char *const lb_dtype_names[LOWBIT_DTYPE_COUNT] = {
    [LOWBIT_F32] = "f32",          [LOWBIT_F16] = "f16",
    [LOWBIT_BF16] = "bf16",        [LOWBIT_E4M3] = "e4m3",
    [LOWBIT_E5M2] = "e5m2",        [LOWBIT_E4M3FNUZ] = "e4m3fnuz",
    [LOWBIT_E5M2FNUZ] = "e5m2fnuz", [LOWBIT_E3M2] = "e3m2",
    [LOWBIT_E2M3] = "e2m3",        [LOWBIT_E2M1] = "e2m1",
    [LOWBIT_E8M0] = "e8m0",        [LOWBIT_INT8] = "int8",
    [LOWBIT_INT4] = "int4",        [LOWBIT_UINT4] = "uint4",
};

unsigned lowbit_dtype_bits(lowbit_dtype t)
{
    if ((unsigned)t >= LOWBIT_DTYPE_COUNT)
        return 0;
    return lb_bits(t);
}

const char *lowbit_dtype_name(lowbit_dtype t)
{
    if ((unsigned)t >= LOWBIT_DTYPE_COUNT)
        return NULL;
    return lb_dtype_names[t];
}

lowbit_dtype lowbit_dtype_from_name(const char *name)
{
    if (name)
        for (int t = 0; t < LOWBIT_DTYPE_COUNT; t++)
            if (strcmp(name, lb_dtype_names[t]) == 0)
                return (lowbit_dtype)t;
    return LOWBIT_DTYPE_COUNT;
}

double lowbit_dtype_max(lowbit_dtype t)
{
    lb_minifloat s;
    switch (t) {
    case LOWBIT_F32: return 3.4028234663852886e38;
    case LOWBIT_E8M0: return 1.7014118346046923e38; /* 2^127 */
    case LOWBIT_INT8: return 127.0;
    case LOWBIT_INT4: return 7.0;
    case LOWBIT_UINT4: return 15.0;
    default:
        if ((unsigned)t < LOWBIT_DTYPE_COUNT && lb_minifloat_spec(t, &s))
            return lb_mf_decode(s, s.max_code);
        return 0.0;
    }
}

size_t lowbit_dtype_bytes(lowbit_dtype t, size_t n)
{
    unsigned bits = lowbit_dtype_bits(t);
    if (bits == 0)
        return SIZE_MAX;
    if (bits % 8 == 0) {
        size_t b = bits / 8;
        return n > SIZE_MAX / b ? SIZE_MAX : n * b;
    }
    /* ceil(n * bits / 8) without overflowing the product */
    size_t whole = n / 8, part = n % 8;
    if (whole > (SIZE_MAX - 8) / bits)
        return SIZE_MAX;
    return whole * bits + (part * bits + 7) / 8;
}

size_t lb_matrix_bytes(lowbit_dtype t, size_t rows, size_t cols, size_t stride)
{
    if (rows == 0 || cols == 0)
        return 0;
    if (rows - 1 > 0 && stride > (SIZE_MAX - cols) / (rows - 1))
        return SIZE_MAX;
    size_t elems = (rows - 1) * stride + cols;
    return lowbit_dtype_bytes(t, elems);
}

int lb_overlap(const void *a, size_t na, const void *b, size_t nb)
{
    uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
    if (na == 0 || nb == 0)
        return 0;
    return pa < pb + nb && pb < pa + na;
}
