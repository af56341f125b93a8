/* reader_npy.c - NumPy .npy files, versions 1.0, 2.0 and 3.0.
 *
 * Layout: "\x93NUMPY", major, minor, header length (u16 LE for v1, u32 LE
 * for v2/v3), then a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * and the raw C-order data.  Accepted descr values:
 *   '<f4' '>f4'  f32           '<f2' '>f2'  f16
 *   '<f8' '>f8'  f64 (rounded to f32 on load)
 *   '<u2' '<V2' '|V2' 'bfloat16'  bf16 bit patterns (what ml_dtypes'
 *                              bfloat16 arrays, or a uint16 view of them,
 *                              save as)
 * Fortran order is refused.  The data must be exactly product(shape) *
 * itemsize bytes: nothing missing, nothing after it. */
#include <string.h>
#include "sweep.h"

typedef struct {
    const char *p, *end;
} lit_scan;

static void ws(lit_scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* A quoted Python string without escapes (all numpy writes); copied into buf. */
static int py_str(lit_scan *s, char *buf, size_t len)
{
    ws(s);
    if (s->p >= s->end || (*s->p != '\'' && *s->p != '"'))
        return -1;
    char q = *s->p++;
    size_t k = 0;
    while (s->p < s->end && *s->p != q) {
        if (*s->p == '\\' || k + 1 >= len)
            return -1;
        buf[k++] = *s->p++;
    }
    if (s->p >= s->end)
        return -1;
    s->p++;
    buf[k] = '\0';
    return 0;
}

static int py_char(lit_scan *s, char c)
{
    ws(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return 1;
    }
    return 0;
}

static int py_word(lit_scan *s, const char *w)
{
    ws(s);
    size_t n = strlen(w);
    if ((size_t)(s->end - s->p) >= n && memcmp(s->p, w, n) == 0) {
        s->p += n;
        return 1;
    }
    return 0;
}

int sw_read_npy(const sw_file *f, sw_tensor_list *out, char *err, size_t errlen)
{
    const uint8_t *b = f->bytes;
    if (f->size == 0) {
        snprintf(err, errlen, "empty file");
        return -1;
    }
    if (f->size < 10 || memcmp(b, "\x93NUMPY", 6) != 0) {
        snprintf(err, errlen, f->size < 10 ? "too short for a .npy file (%zu bytes)" : "not a .npy file (bad magic)",
                 f->size);
        return -1;
    }
    unsigned major = b[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (f->size < 12) {
            snprintf(err, errlen, "truncated .npy v%u preamble", major);
            return -1;
        }
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hstart = 12;
    } else {
        snprintf(err, errlen, "unsupported .npy version %u.%u", major, b[7]);
        return -1;
    }
    if (hlen > f->size - hstart) {
        snprintf(err, errlen, "header length %zu runs past the end of the file (%zu bytes)", hlen, f->size);
        return -1;
    }
    lit_scan s = {(const char *)b + hstart, (const char *)b + hstart + hlen};
    char descr[32] = "", key[32];
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;
    uint64_t dims[32];
    size_t ndim = 0;
    if (!py_char(&s, '{'))
        goto bad;
    while (!py_char(&s, '}')) {
        if (py_str(&s, key, sizeof key) || !py_char(&s, ':'))
            goto bad;
        if (strcmp(key, "descr") == 0) {
            if (py_str(&s, descr, sizeof descr)) {
                snprintf(err, errlen, "header: 'descr' is not a simple dtype string (structured arrays are not supported)");
                return -1;
            }
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (py_word(&s, "True"))
                fortran = 1;
            else if (!py_word(&s, "False"))
                goto bad;
            have_order = 1;
        } else if (strcmp(key, "shape") == 0) {
            if (!py_char(&s, '('))
                goto bad;
            while (!py_char(&s, ')')) {
                ws(&s);
                uint64_t v = 0;
                int nd = 0;
                while (s.p < s.end && *s.p >= '0' && *s.p <= '9') {
                    unsigned d = (unsigned)(*s.p++ - '0');
                    if (v > (UINT64_MAX - d) / 10) {
                        snprintf(err, errlen, "header: a shape dimension overflows 64 bits");
                        return -1;
                    }
                    v = v * 10 + d;
                    nd++;
                }
                /* numpy may write 3L on Python 2 */
                if (s.p < s.end && *s.p == 'L')
                    s.p++;
                if (!nd || ndim == 32)
                    goto bad;
                dims[ndim++] = v;
                if (!py_char(&s, ',')) {
                    if (!py_char(&s, ')'))
                        goto bad;
                    break;
                }
            }
            have_shape = 1;
        } else {
            goto bad;
        }
        if (!py_char(&s, ',')) {
            if (!py_char(&s, '}'))
                goto bad;
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape) {
        snprintf(err, errlen, "header lacks '%s'", !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
        return -1;
    }
    ws(&s);
    if (s.p != s.end) {
        snprintf(err, errlen, "junk after the header dict");
        return -1;
    }
    if (fortran) {
        snprintf(err, errlen, "fortran_order arrays are not supported (save np.ascontiguousarray(a))");
        return -1;
    }

    sw_src_kind kind;
    size_t item;
    int big = 0;
    if (!strcmp(descr, "<f4") || !strcmp(descr, ">f4")) {
        kind = SW_SRC_F32, item = 4, big = descr[0] == '>';
    } else if (!strcmp(descr, "<f2") || !strcmp(descr, ">f2")) {
        kind = SW_SRC_F16, item = 2, big = descr[0] == '>';
    } else if (!strcmp(descr, "<f8") || !strcmp(descr, ">f8")) {
        kind = SW_SRC_F64, item = 8, big = descr[0] == '>';
    } else if (!strcmp(descr, "<u2") || !strcmp(descr, "<V2") || !strcmp(descr, "|V2") ||
               !strcmp(descr, "bfloat16")) {
        kind = SW_SRC_BF16, item = 2;
    } else {
        snprintf(err, errlen, "dtype '%s' is not supported (f32 '<f4', f16 '<f2', f64 '<f8', bf16 as '<u2'/'|V2')",
                 descr);
        return -1;
    }

    /* rows = product of the leading dims, cols = the last (a scalar is 1x1) */
    uint64_t rows = 1, cols = ndim ? dims[ndim - 1] : 1;
    for (size_t i = 0; i + 1 < ndim; i++) {
        if (dims[i] && rows > UINT64_MAX / dims[i]) {
            snprintf(err, errlen, "shape product overflows");
            return -1;
        }
        rows *= dims[i];
    }
    if ((cols && rows > SIZE_MAX / cols) || (rows * cols) > SIZE_MAX / item) {
        snprintf(err, errlen, "shape product overflows");
        return -1;
    }
    size_t need = (size_t)(rows * cols) * item, have = f->size - hstart - hlen;
    if (need != have) {
        snprintf(err, errlen, "shape needs %zu data bytes but the file holds %zu", need, have);
        return -1;
    }
    const char *base = strrchr(f->path, '/');
    base = base ? base + 1 : f->path;
    size_t bl = strlen(base);
    sw_tensor *t = sw_tensor_push(out);
    t->name = sw_xstrdup(base);
    if (bl > 4 && strcmp(base + bl - 4, ".npy") == 0)
        t->name[bl - 4] = '\0';
    t->rows = (size_t)rows;
    t->cols = (size_t)cols;
    t->kind = kind;
    t->big_endian = big;
    t->bytes = b + hstart + hlen;
    return 0;
bad:
    snprintf(err, errlen, "header is not a valid .npy dict (near byte %zu)",
             hstart + (size_t)(s.p - (const char *)b - hstart));
    return -1;
}
