/* reader_safetensors.c - .safetensors files.
 *
 * Layout: an 8-byte little-endian header length N, N bytes of JSON, then
 * the data section.  The JSON is an object mapping tensor names to
 * {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]} (offsets
 * relative to the data section), plus an optional "__metadata__" object
 * of strings.  Nothing read from the file is trusted: every length, offset
 * and shape product is checked against the file size before any tensor is
 * used, tensors must not overlap, and a malformed file is refused as a
 * whole.  F32, F16, BF16 and F64 are read; the other safetensors dtypes
 * (integers, bool, FP8 ...) are skipped with a note. */
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "sweep.h"

/* The reference implementation refuses headers above 100 MB. */
#define ST_MAX_HEADER (100u * 1024 * 1024)

typedef struct {
    const char *name;
    int bytes;          /* per element; 0: sub-byte (counted in bits) */
    int bits;
    int readable;
    sw_src_kind kind;
} st_dtype;

static const st_dtype st_dtypes[] = {
    {"F32", 4, 32, 1, SW_SRC_F32},      {"F16", 2, 16, 1, SW_SRC_F16},
    {"BF16", 2, 16, 1, SW_SRC_BF16},    {"F64", 8, 64, 1, SW_SRC_F64},
    {"I64", 8, 64, 0, 0},  {"U64", 8, 64, 0, 0},  {"I32", 4, 32, 0, 0}, {"U32", 4, 32, 0, 0},
    {"I16", 2, 16, 0, 0},  {"U16", 2, 16, 0, 0},  {"I8", 1, 8, 0, 0},   {"U8", 1, 8, 0, 0},
    {"BOOL", 1, 8, 0, 0},  {"F8_E4M3", 1, 8, 0, 0}, {"F8_E5M2", 1, 8, 0, 0},
    {"F8_E8M0", 1, 8, 0, 0}, {"C64", 8, 64, 0, 0},
    {"F6_E2M3", 0, 6, 0, 0}, {"F6_E3M2", 0, 6, 0, 0}, {"F4", 0, 4, 0, 0},
};

static const st_dtype *find_dtype(const char *s)
{
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (strcmp(st_dtypes[i].name, s) == 0)
            return &st_dtypes[i];
    return NULL;
}

typedef struct {
    uint64_t begin, end;
    size_t index;   /* position in the header, for the error message */
} st_range;

static int cmp_range(const void *a, const void *b)
{
    const st_range *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

/* Printable, truncated copy of a tensor name for messages. */
static void shown(char *buf, size_t len, const char *name)
{
    size_t k = 0;
    for (const char *p = name; *p && k + 1 < len; p++)
        buf[k++] = (*p >= 0x20 && *p < 0x7F) ? *p : '?';
    buf[k] = '\0';
}

int sw_read_safetensors(const sw_file *f, char *const *patterns, sw_tensor_list *out, char *err, size_t errlen)
{
    if (f->size == 0) {
        snprintf(err, errlen, "empty file");
        return -1;
    }
    if (f->size < 8) {
        snprintf(err, errlen, "truncated: %zu bytes, a .safetensors file starts with an 8-byte header length",
                 f->size);
        return -1;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | f->bytes[i];
    if (hlen > f->size - 8) {
        snprintf(err, errlen, "header length %llu runs past the end of the file (%zu bytes)",
                 (unsigned long long)hlen, f->size);
        return -1;
    }
    if (hlen > ST_MAX_HEADER) {
        snprintf(err, errlen, "header length %llu is above the 100 MB limit", (unsigned long long)hlen);
        return -1;
    }
    if (hlen < 2) {
        snprintf(err, errlen, "header length %llu is too small for a JSON object", (unsigned long long)hlen);
        return -1;
    }
    const char *text = (const char *)f->bytes + 8;
    size_t data_size = f->size - 8 - (size_t)hlen;
    const uint8_t *data = f->bytes + 8 + hlen;

    js_val root;
    char jerr[256];
    if (js_parse(text, (size_t)hlen, &root, jerr, sizeof jerr)) {
        snprintf(err, errlen, "%s", jerr);
        return -1;
    }
    int rc = -1;
    char nm[80];
    st_range *ranges = NULL;
    size_t nranges = 0, first = out->n;
    if (root.type != JS_OBJ) {
        snprintf(err, errlen, "header is a JSON %s, not an object", js_type_name(root.type));
        goto done;
    }
    ranges = sw_xcalloc(root.n, sizeof *ranges);
    for (size_t i = 0; i < root.n; i++) {
        const char *name = root.keys[i];
        const js_val *e = &root.items[i];
        shown(nm, sizeof nm, name);
        if (strcmp(name, "__metadata__") == 0) {
            if (e->type != JS_OBJ) {
                snprintf(err, errlen, "__metadata__ is not an object");
                goto done;
            }
            for (size_t k = 0; k < e->n; k++)
                if (e->items[k].type != JS_STR) {
                    snprintf(err, errlen, "__metadata__ value of \"%.60s\" is not a string", e->keys[k]);
                    goto done;
                }
            continue;
        }
        if (e->type != JS_OBJ) {
            snprintf(err, errlen, "tensor \"%s\": entry is a JSON %s, not an object", nm, js_type_name(e->type));
            goto done;
        }
        const js_val *dt = js_get(e, "dtype"), *sh = js_get(e, "shape"), *off = js_get(e, "data_offsets");
        if (!dt || !sh || !off) {
            snprintf(err, errlen, "tensor \"%s\": missing \"%s\"", nm,
                     !dt ? "dtype" : !sh ? "shape" : "data_offsets");
            goto done;
        }
        if (dt->type != JS_STR) {
            snprintf(err, errlen, "tensor \"%s\": dtype is not a string", nm);
            goto done;
        }
        const st_dtype *d = find_dtype(dt->str);
        if (!d) {
            char ds[40];
            shown(ds, sizeof ds, dt->str);
            snprintf(err, errlen, "tensor \"%s\": unknown dtype \"%s\"", nm, ds);
            goto done;
        }
        if (sh->type != JS_ARR) {
            snprintf(err, errlen, "tensor \"%s\": shape is not an array", nm);
            goto done;
        }
        if (off->type != JS_ARR || off->n != 2 || !off->items[0].is_uint || !off->items[1].is_uint) {
            snprintf(err, errlen, "tensor \"%s\": data_offsets is not [begin, end] of two non-negative integers", nm);
            goto done;
        }
        /* element count, refusing any product that overflows */
        uint64_t count = 1, rows = 1, cols = 1;
        for (size_t k = 0; k < sh->n; k++) {
            const js_val *dv = &sh->items[k];
            if (!dv->is_uint) {
                snprintf(err, errlen, "tensor \"%s\": shape[%zu] is not a non-negative integer", nm, k);
                goto done;
            }
            if (dv->u && count > UINT64_MAX / dv->u) {
                snprintf(err, errlen, "tensor \"%s\": shape product overflows 64 bits", nm);
                goto done;
            }
            count *= dv->u;
            if (k + 1 < sh->n)
                rows *= dv->u;
            else
                cols = dv->u;
        }
        uint64_t begin = off->items[0].u, end = off->items[1].u;
        if (begin > end) {
            snprintf(err, errlen, "tensor \"%s\": data_offsets [%llu, %llu] run backwards", nm,
                     (unsigned long long)begin, (unsigned long long)end);
            goto done;
        }
        if (end > data_size) {
            snprintf(err, errlen,
                     "tensor \"%s\": data_offsets [%llu, %llu] run past the data section (%zu bytes)", nm,
                     (unsigned long long)begin, (unsigned long long)end, data_size);
            goto done;
        }
        uint64_t need;
        if (d->bytes) {
            if (count > UINT64_MAX / (uint64_t)d->bytes) {
                snprintf(err, errlen, "tensor \"%s\": shape product overflows 64 bits", nm);
                goto done;
            }
            need = count * (uint64_t)d->bytes;
        } else {
            need = count / 8 * (uint64_t)d->bits + ((count % 8) * (uint64_t)d->bits + 7) / 8;
        }
        if (need != end - begin) {
            snprintf(err, errlen, "tensor \"%s\": %s x shape needs %llu bytes but data_offsets span %llu", nm,
                     dt->str, (unsigned long long)need, (unsigned long long)(end - begin));
            goto done;
        }
        ranges[nranges].begin = begin;
        ranges[nranges].end = end;
        ranges[nranges].index = i;
        nranges++;
        if (!d->readable) {
            if (sw_name_selected(name, patterns))
                sw_note("%s: tensor \"%s\" has dtype %s; skipped", f->path, nm, d->name);
            continue;
        }
        if (!sw_name_selected(name, patterns))
            continue;
        if (count == 0) {
            sw_note("%s: tensor \"%s\" is empty; skipped", f->path, nm);
            continue;
        }
        sw_tensor *t = sw_tensor_push(out);
        t->name = sw_xstrdup(name);
        t->rows = (size_t)rows;
        t->cols = (size_t)cols;
        t->kind = d->kind;
        t->bytes = data + begin;
    }
    /* no two tensors may share bytes (empty ones share nothing) */
    qsort(ranges, nranges, sizeof *ranges, cmp_range);
    uint64_t reach = 0;
    size_t reach_i = 0;
    for (size_t k = 0; k < nranges; k++) {
        if (ranges[k].begin == ranges[k].end)
            continue;
        if (ranges[k].begin < reach) {
            char a[80], b[80];
            shown(a, sizeof a, root.keys[reach_i]);
            shown(b, sizeof b, root.keys[ranges[k].index]);
            snprintf(err, errlen, "tensors \"%s\" and \"%s\" overlap in the data section", a, b);
            goto done;
        }
        reach = ranges[k].end;
        reach_i = ranges[k].index;
    }
    rc = 0;
done:
    if (rc) {
        /* a bad file contributes nothing */
        for (size_t k = first; k < out->n; k++)
            free(out->v[k].name);
        out->n = first;
    }
    free(ranges);
    js_free(&root);
    return rc;
}
