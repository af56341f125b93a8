/*
 * fuzz_npy.c - lowbit-sweep's .npy reader (tools/lowbit-sweep/reader_npy.c)
 * on arbitrary bytes.  The reader works on an in-memory sw_file, so the
 * input is handed over as it is.  A file it accepts must describe a tensor
 * lying wholly inside the input; small ones are then loaded to f32 (so ASan
 * sees every byte read) and through lowbit_convert.
 */
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"
#include "sweep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sw_file f = {.path = "fuzz/input.npy", .bytes = data, .size = size, .mapped = 0};
    sw_tensor_list l = {0};
    char err[256];
    memset(err, 0, sizeof err);
    int rc = sw_read_npy(&f, &l, err, sizeof err);
    if (rc != 0) {
        if (l.n != 0 || !err[0])
            FZ_FAIL("refused with %zu tensors, message \"%s\"", l.n, err);
    } else {
        if (l.n != 1)
            FZ_FAIL("accepted with %zu tensors", l.n);
        const sw_tensor *t = &l.v[0];
        size_t item = t->kind == SW_SRC_F32 ? 4 : t->kind == SW_SRC_F64 ? 8 : 2;
        size_t n = t->rows * t->cols;
        if (t->bytes < data || (size_t)(t->bytes - data) > size || n > (size - (size_t)(t->bytes - data)) / item)
            FZ_FAIL("tensor %zu x %zu runs outside the file", t->rows, t->cols);
        if (n <= 65536) {
            float *x = malloc(n ? n * sizeof *x : 1);
            sw_tensor_load(t, x);
            free(x);
        }
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].name);
    free(l.v);
    return 0;
}
