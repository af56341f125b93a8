/*
 * fuzz_attention.c - lowbit_kv_page_bytes, lowbit_kv_append and
 * lowbit_attention with cache fields, block tables (entries out of range
 * included), positions, kv_len, q_pos, strides, mask and types decoded
 * from the input.  Page bytes are random, so scales may be NaN or zero.
 *
 * Contract checked: every buffer exactly as large as declared or as the
 * decoded shape needs (ASan); a failed append leaves the pages untouched,
 * a failed attention leaves out untouched; OK results never touch the gap
 * between q_heads x head_dim and out_stride and match the reference
 * backend.  A buffer too large to allocate is passed as NULL: the call
 * must then fail.
 */
#include <math.h>
#include "fuzz_common.h"

static lowbit_format kv_format(fz_in *in)
{
    uint8_t sel = fz_u8(in);
    switch (sel % 16) {
    case 0: return lowbit_format_plain(LOWBIT_F32);
    case 1: return lowbit_format_plain(LOWBIT_BF16);
    case 2: return lowbit_format_fp8_tensor(LOWBIT_E4M3);
    case 3: return lowbit_format_fp8_tensor(LOWBIT_E5M2);
    case 4: return lowbit_format_fp8_row(LOWBIT_E4M3);
    case 5: return lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0);
    case 6: return lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 1);
    case 7: return lowbit_format_int_group(LOWBIT_UINT4, 16, LOWBIT_BF16, 1);
    case 8: return lowbit_format_fp8_block(LOWBIT_E4M3, 1, 32);
    case 9: return lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR);
    case 10: return lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_RCEIL);
    case 11: return lowbit_format_mx(LOWBIT_E3M2, LOWBIT_SCALE_FLOOR);
    case 12: return lowbit_format_mx(LOWBIT_INT8, LOWBIT_SCALE_EVEN);
    case 13: return lowbit_format_int_group(LOWBIT_INT8, 16, LOWBIT_F32, 1);
    case 14: {
        lowbit_format f = lowbit_format_nvfp4(); /* under given per-head tensor scales */
        f.flags |= LOWBIT_FMT_GIVEN_TENSOR_SCALE;
        return f;
    }
    default: return fz_format(in);
    }
}

static size_t elem_bytes(lowbit_dtype t)
{
    unsigned bits = (int)t >= 0 && t < LOWBIT_DTYPE_COUNT ? lowbit_dtype_bits(t) : 0;
    return bits >= 8 ? bits / 8 : 4;
}

typedef struct {
    lowbit_kv_cache c;
    uint8_t *pages, *pbase;
    float *scales;
    size_t alloc;
} cache_buf;

static void make_cache(fz_in *in, cache_buf *cb, const lowbit_kv_cache *like)
{
    static const uint32_t dims[] = {16, 32, 48, 64, 128, 256, 16, 32};
    lowbit_kv_cache *c = &cb->c;
    memset(c, 0, sizeof *c);
    uint8_t m = fz_u8(in);
    if (like && !(m & 0x80)) {
        *c = *like; /* v like k, maybe in another format */
        if (m & 1)
            c->format = kv_format(in);
    } else {
        c->format = kv_format(in);
        c->head_dim = m & 1 ? (uint32_t)fz_size(in, 300) : dims[fz_u8(in) % 8];
        c->kv_heads = m & 2 ? (uint32_t)fz_size(in, 9) : 1u + fz_u8(in) % 3u;
        c->page_tokens = m & 4 ? (uint32_t)fz_size(in, 40) : 1u + fz_u8(in) % 8u;
        c->page_count = fz_u8(in) % 6;
    }
    size_t page = 0;
    lowbit_status s = lowbit_kv_page_bytes(c, &page);
    if (s == LOWBIT_OK && (page % 64))
        FZ_FAIL("page bytes %zu not a multiple of 64", page);
    size_t need = s == LOWBIT_OK ? fz_mad(c->page_count, page, 0) : 0;
    c->pages_bytes = need + (m & 8 ? (size_t)(int8_t)fz_u8(in) : 0);
    if (c->pages_bytes > 4 * FZ_BUF_CAP)
        c->pages_bytes = fz_u8(in);
    cb->alloc = c->pages_bytes;
    cb->pages = fz_alloc_at(cb->alloc, (m & 0x40) ? 1 + fz_u8(in) % 63 : 0, &cb->pbase);
    fz_fill(in, cb->pages, cb->alloc);
    c->pages = (m & 0x10) && !cb->alloc ? NULL : cb->pages;
    cb->scales = NULL;
    c->head_scales = NULL;
    if (c->kv_heads <= 64 && !(m & 0x20)) {
        cb->scales = malloc(c->kv_heads * sizeof(float) + 1);
        for (uint32_t h = 0; h < c->kv_heads; h++)
            cb->scales[h] = fz_u8(in) & 0x80 ? fz_f32(in) : 0.25f + (float)h;
        c->head_scales = cb->scales;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    fz_once();
    fz_backend(&in);
    cache_buf kb, vb;
    make_cache(&in, &kb, NULL);
    make_cache(&in, &vb, &kb.c);
    lowbit_kv_cache *k = &kb.c, *v = &vb.c;
    size_t pc = k->page_count ? k->page_count : 1;

    /* block table */
    uint8_t tm = fz_u8(&in);
    size_t tlen = tm & 0x80 ? fz_size(&in, 12) : tm % 9;
    int32_t *table = NULL;
    size_t talloc = tlen <= 64 ? tlen : 0;
    if (tlen <= 64) {
        table = malloc(talloc * sizeof *table + 1);
        for (size_t i = 0; i < talloc; i++)
            table[i] = (tm & 0x40) ? (int32_t)fz_u32(&in) : (int32_t)((i + fz_u8(&in)) % pc);
    }
    int32_t *tp = (tm & 0x20) ? NULL : table;
    if (!tp)
        tlen = tm & 0x10 ? tlen : 0;
    if (!table && tlen)
        tp = NULL; /* a huge length without entries we could provide */

    /* append to both caches */
    for (int which = 0; which < 2; which++) {
        cache_buf *cb = which ? &vb : &kb;
        size_t row = (size_t)cb->c.kv_heads * cb->c.head_dim;
        uint8_t am = fz_u8(&in);
        size_t pos = am & 1 ? fz_size(&in, 200) : fz_u8(&in) % 40;
        size_t nt = am & 2 ? fz_size(&in, 6) : fz_u8(&in) % 5;
        lowbit_dtype st = am & 4 ? fz_dtype(&in) : (lowbit_dtype)(fz_u8(&in) % 3);
        size_t stride = am & 8 ? fz_size(&in, 1100) : row + (fz_u8(&in) & 3);
        size_t need = fz_matrix_bytes(nt, row, stride, elem_bytes(st));
        int nosrc = need > FZ_BUF_CAP && need != SIZE_MAX;
        size_t alloc = need > FZ_BUF_CAP ? 64 : need;
        uint8_t *srcbase, *src = fz_alloc_at(alloc, (am >> 5) & 3, &srcbase), *snap = malloc(cb->alloc + 1);
        fz_fill(&in, src, alloc);
        memcpy(snap, cb->pages, cb->alloc);
        /* huge tables come without entries: then only a NULL table is honest */
        const int32_t *at = (am & 0x10) ? NULL : tp;
        size_t alen = at ? tlen : 0;
        lowbit_status s = lowbit_kv_append(&cb->c, at, alen, pos, nt, st, nosrc ? NULL : src, stride);
        if (s != LOWBIT_OK && memcmp(snap, cb->pages, cb->alloc) != 0)
            FZ_FAIL("kv_append wrote the pages on %s", lowbit_status_string(s));
        if (s == LOWBIT_OK && nosrc && nt && row)
            FZ_FAIL("kv_append accepted a NULL src of %zu bytes", need);
        free(srcbase);
        free(snap);
    }

    /* attention */
    lowbit_attention_args a;
    memset(&a, 0, sizeof a);
    uint8_t qm = fz_u8(&in);
    a.q_heads = qm & 1 ? (uint32_t)fz_size(&in, 20) : k->kv_heads * (1 + fz_u8(&in) % 3);
    a.q_tokens = qm & 2 ? fz_size(&in, 6) : fz_u8(&in) % 4;
    static const lowbit_dtype qts[] = {LOWBIT_F32, LOWBIT_F16, LOWBIT_BF16, LOWBIT_E4M3, LOWBIT_E5M2,
                                       LOWBIT_F32, LOWBIT_BF16, LOWBIT_INT8};
    a.q_type = qm & 4 ? fz_dtype(&in) : qts[fz_u8(&in) % 8];
    size_t qrow = fz_mad(a.q_heads, k->head_dim, 0);
    a.q_stride = qm & 8 ? fz_size(&in, 1100) : qrow + (fz_u8(&in) & 3);
    a.q_scale = fz_u8(&in) & 1 ? fz_f32(&in) : 0.5f;
    a.k = k;
    a.v = v;
    a.block_table = tp;
    a.block_table_len = tlen;
    size_t span = fz_mad(tlen, k->page_tokens, 0);
    if (span > 255)
        span = 255;
    a.kv_len = qm & 0x10 ? fz_size(&in, 100) : (span ? fz_u8(&in) % (span + 1) : 0);
    a.q_pos = qm & 0x20 ? fz_size(&in, 100) : (a.kv_len ? fz_u8(&in) % a.kv_len : 0);
    a.scale = fz_u8(&in) & 1 ? fz_f32(&in) : 0.125f;
    uint8_t mm = fz_u8(&in);
    a.out_type = mm & 1 ? fz_dtype(&in) : (lowbit_dtype)(fz_u8(&in) % 3);
    a.out_stride = mm & 2 ? fz_size(&in, 1100) : qrow + (fz_u8(&in) & 3);
    a.flags = mm & 4 ? fz_u32(&in) : (mm >> 3) & 1;
    float *mask = NULL;
    size_t mneed = 0;
    if (mm & 0x10) {
        a.mask_stride = mm & 0x20 ? fz_size(&in, 200) : a.kv_len + (fz_u8(&in) & 3);
        mneed = fz_matrix_bytes(a.q_tokens, a.kv_len, a.mask_stride, 4);
        if (mneed <= FZ_BUF_CAP) {
            mask = (float *)fz_alloc(mneed);
            for (size_t i = 0; i < mneed / 4; i++)
                mask[i] = fz_u8(&in) & 0x80 ? fz_f32(&in) : ((i & 7) == 3 ? -INFINITY : 0.0f);
        }
    }
    a.mask = mask;
    size_t qneed = fz_matrix_bytes(a.q_tokens, qrow, a.q_stride, elem_bytes(a.q_type));
    size_t oes = elem_bytes(a.out_type), oneed = fz_matrix_bytes(a.q_tokens, qrow, a.out_stride, oes);
    int noq = qneed > FZ_BUF_CAP, noout = oneed > FZ_BUF_CAP;
    size_t qalloc = noq ? 64 : qneed, oalloc = noout ? 64 : oneed;
    uint8_t qoff = fz_u8(&in) == 0xA7 ? fz_u8(&in) : 0, *qbase, *obase;
    uint8_t *q = fz_alloc_at(qalloc, qoff & 3, &qbase), *out = fz_alloc_at(oalloc, (qoff >> 2) & 3, &obase);
    fz_fill(&in, q, qalloc);
    a.q = noq ? NULL : q;
    a.out = noout ? NULL : out;
    lowbit_status s = lowbit_attention(&a);
    if (s != LOWBIT_OK && !fz_untouched(out, oalloc))
        FZ_FAIL("attention wrote out on %s", lowbit_status_string(s));
    if (s == LOWBIT_OK && (noq || noout) && a.q_tokens && qrow)
        FZ_FAIL("attention accepted a NULL q/out (%zu / %zu bytes)", qneed, oneed);
    if (s == LOWBIT_OK && !noout && oneed && a.out_stride > qrow)
        for (size_t t = 0; t + 1 < a.q_tokens; t++)
            if (!fz_untouched(out + (t * a.out_stride + qrow) * oes, (a.out_stride - qrow) * oes))
                FZ_FAIL("attention wrote token %zu's gap between %zu and out_stride %zu", t, qrow, a.out_stride);
    lowbit_backend was = lowbit_get_backend();
    if (s == LOWBIT_OK && !noout && was != LOWBIT_BACKEND_REF && lowbit_set_backend(LOWBIT_BACKEND_REF) == LOWBIT_OK) {
        uint8_t *o2 = fz_alloc(oalloc);
        a.out = o2;
        if (lowbit_attention(&a) != LOWBIT_OK || memcmp(o2, out, oalloc) != 0)
            FZ_FAIL("attention: %s differs from ref", lowbit_backend_name(was));
        free(o2);
        lowbit_set_backend(was);
    }
    free(qbase);
    free(obase);
    free(mask);
    free(table);
    free(kb.pbase);
    free(vb.pbase);
    free(kb.scales);
    free(vb.scales);
    return 0;
}
