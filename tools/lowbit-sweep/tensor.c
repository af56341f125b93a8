/* tensor.c - turn a tensor source into f32.  File bytes may sit at any
 * offset in the mapping, so elements are read with memcpy (no unaligned
 * loads); f16 and bf16 widen through lowbit_convert (exact). */
#include <stdlib.h>
#include <string.h>
#include "sweep.h"

sw_tensor *sw_tensor_push(sw_tensor_list *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = sw_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    sw_tensor *t = &l->v[l->n++];
    memset(t, 0, sizeof *t);
    return t;
}

static void swap_bytes(uint8_t *p, size_t n, size_t width)
{
    for (size_t i = 0; i < n; i++, p += width)
        for (size_t a = 0, b = width - 1; a < b; a++, b--) {
            uint8_t t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

void sw_tensor_load(const sw_tensor *t, float *out)
{
    size_t n = t->rows * t->cols;
    switch (t->kind) {
    case SW_SRC_GEN:
        sw_gen_fill(t->gen, t->seed, out, n);
        return;
    case SW_SRC_F32:
        memcpy(out, t->bytes, n * 4);
        if (t->big_endian)
            swap_bytes((uint8_t *)out, n, 4);
        return;
    case SW_SRC_F64: {
        /* chunked, so a huge tensor needs no second full-size buffer */
        double buf[1024];
        for (size_t i = 0; i < n; i += 1024) {
            size_t k = n - i < 1024 ? n - i : 1024;
            memcpy(buf, t->bytes + i * 8, k * 8);
            if (t->big_endian)
                swap_bytes((uint8_t *)buf, k, 8);
            for (size_t j = 0; j < k; j++)
                out[i + j] = (float)buf[j];
        }
        return;
    }
    case SW_SRC_F16:
    case SW_SRC_BF16: {
        uint16_t *tmp = sw_xmalloc(n * 2);
        memcpy(tmp, t->bytes, n * 2);
        if (t->big_endian)
            swap_bytes((uint8_t *)tmp, n, 2);
        lowbit_status s = lowbit_convert(LOWBIT_F32, out, t->kind == SW_SRC_F16 ? LOWBIT_F16 : LOWBIT_BF16,
                                         tmp, n, NULL);
        free(tmp);
        if (s != LOWBIT_OK)
            sw_die("%s: widening to f32 failed: %s", t->name, lowbit_last_error());
        return;
    }
    }
}
