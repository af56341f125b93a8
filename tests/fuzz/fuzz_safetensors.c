/*
 * fuzz_safetensors.c - lowbit-sweep's .safetensors reader and its JSON
 * parser (tools/lowbit-sweep/reader_safetensors.c, json.c) on arbitrary
 * bytes, in memory.  The first input byte picks a tensor-name pattern list
 * (none, "*", a literal, a bracket glob); the rest is the file.  Accepted
 * tensors must lie inside the data section and not overlap; small ones are
 * loaded to f32 so ASan sees every byte read.
 */
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"
#include "sweep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char p_all[] = "*", p_lit[] = "w", p_glob[] = "[a-m]*.weight", p_q[] = "?";
    static char *const none[] = {NULL}, *const all[] = {p_all, NULL}, *const lit[] = {p_lit, p_q, NULL},
                       *const glob[] = {p_glob, NULL};
    char *const *pats[] = {NULL, none, all, lit, glob};
    if (size == 0)
        return 0;
    char *const *pat = pats[data[0] % 5];
    data++, size--;
    /* the file itself, in an allocation of exactly its size */
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    sw_file f = {.path = "fuzz/input.safetensors", .bytes = copy, .size = size, .mapped = 0};
    sw_tensor_list l = {0};
    char err[256];
    memset(err, 0, sizeof err);
    int rc = sw_read_safetensors(&f, pat, &l, err, sizeof err);
    if (rc != 0 && (l.n != 0 || !err[0]))
        FZ_FAIL("refused with %zu tensors, message \"%s\"", l.n, err);
    size_t hlen = 0;
    for (int i = 7; rc == 0 && i >= 0; i--)
        hlen = hlen << 8 | copy[i];
    for (size_t i = 0; i < l.n; i++) {
        const sw_tensor *t = &l.v[i];
        size_t item = t->kind == SW_SRC_F32 ? 4 : t->kind == SW_SRC_F64 ? 8 : 2;
        size_t n = t->rows * t->cols, off = (size_t)(t->bytes - copy);
        if (t->bytes < copy + 8 + hlen || off > size || n > (size - off) / item)
            FZ_FAIL("tensor \"%s\" (%zu x %zu) runs outside the data section", t->name, t->rows, t->cols);
        for (size_t j = 0; j < i; j++) {
            const sw_tensor *u = &l.v[j];
            size_t un = u->rows * u->cols * (u->kind == SW_SRC_F32 ? 4 : u->kind == SW_SRC_F64 ? 8 : 2);
            if (t->bytes < u->bytes + un && u->bytes < t->bytes + n * item)
                FZ_FAIL("tensors %zu and %zu overlap", j, i);
        }
        if (n <= 65536) {
            float *x = malloc(n ? n * sizeof *x : 1);
            sw_tensor_load(t, x);
            free(x);
        }
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].name);
    free(l.v);
    free(copy);
    return 0;
}
