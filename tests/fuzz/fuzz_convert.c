/*
 * fuzz_convert.c - lowbit_convert with dtypes, options, n and buffer
 * placement decoded from the input.
 *
 * Contract checked: buffers are exactly as large as n needs (ASan catches
 * any access past them); a non-OK status leaves dst untouched; an OK call
 * zeroes the unused high bits of a packed last byte, matches the reference
 * backend bit for bit and, for byte-wide types, matches converting the
 * elements one at a time (stochastic rounding keyed by offset + i).
 * A huge n is only passed where its byte count overflows or the arguments
 * are otherwise invalid: then the call must fail without touching memory.
 */
#include "fuzz_common.h"

#define CAP 4096

static int valid_dtype(lowbit_dtype t)
{
    return (int)t >= 0 && t < LOWBIT_DTYPE_COUNT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    fz_once();
    fz_backend(&in);
    lowbit_dtype dt = fz_dtype(&in), st = fz_dtype(&in);
    uint8_t om = fz_u8(&in);
    lowbit_convert_opts o = {0}, *opts = NULL;
    if (om & 1) {
        opts = &o;
        o.rounding = (lowbit_rounding)((om >> 1) % 4 == 3 ? (int)(om >> 3) - 8 : (om >> 1) % 4);
        o.saturate = (om >> 6) & 1;
        if (om & 0x80) {
            o.seed = fz_u64(&in);
            o.offset = fz_u64(&in);
        }
    }
    size_t n = fz_size(&in, CAP + 1);
    uint8_t flags = fz_u8(&in);
    int types_ok = valid_dtype(st) && valid_dtype(dt);
    int rounding_ok = !opts || ((int)o.rounding >= 0 && o.rounding <= LOWBIT_ROUND_STOCHASTIC);
    size_t sb = types_ok ? lowbit_dtype_bytes(st, n) : 0, db = types_ok ? lowbit_dtype_bytes(dt, n) : 0;
    int overflow = types_ok && (sb == SIZE_MAX || db == SIZE_MAX);

    if (n > CAP) {
        if (types_ok && rounding_ok && !overflow)
            return 0; /* a legal call on buffers we cannot provide */
        uint8_t *s = fz_alloc(64), *d = fz_alloc(64);
        lowbit_status r = lowbit_convert(dt, d, st, s, n, opts);
        if (r == LOWBIT_OK)
            FZ_FAIL("n = %zu (%s -> %s) accepted", n, lowbit_dtype_name(st), lowbit_dtype_name(dt));
        if (!fz_untouched(d, 64))
            FZ_FAIL("dst written on %s", lowbit_status_string(r));
        free(s);
        free(d);
        return 0;
    }
    if (!types_ok)
        sb = db = 4 * n; /* whatever the library might wrongly assume */

    if (flags & 1) {
        /* src and dst inside one buffer, dst shifted by a few bytes */
        size_t shift = (flags >> 1) & 7, len = (sb > db ? sb : db) + shift;
        uint8_t *buf = fz_alloc(len), *snap = malloc(len ? len : 1);
        int dst_first = (flags >> 4) & 1;
        uint8_t *d = dst_first ? buf : buf + shift, *s = dst_first ? buf + shift : buf;
        fz_fill(&in, buf, len);
        memcpy(snap, buf, len);
        lowbit_status r = lowbit_convert(dt, d, st, s, n, opts);
        int overlap = sb && db && (dst_first ? shift < db : shift < sb);
        if (r == LOWBIT_OK && overlap)
            FZ_FAIL("overlapping src/dst accepted (n = %zu, shift %zu)", n, shift);
        if (r != LOWBIT_OK && memcmp(buf, snap, len) != 0)
            FZ_FAIL("buffer changed on %s", lowbit_status_string(r));
        free(buf);
        free(snap);
        return 0;
    }

    /* flags bits 3-6: src and dst a few bytes off their natural alignment */
    uint8_t *sbase, *dbase;
    uint8_t *s = fz_alloc_at(sb, (flags >> 3) & 3, &sbase), *d = fz_alloc_at(db, (flags >> 5) & 3, &dbase);
    fz_fill(&in, s, sb);
    void *sp = (flags & 2) ? NULL : s, *dp = (flags & 4) ? NULL : d;
    lowbit_status r = lowbit_convert(dt, dp, st, sp, n, opts);
    if (r != LOWBIT_OK || n == 0) {
        if (!fz_untouched(d, db))
            FZ_FAIL("dst written on %s (n = %zu)", lowbit_status_string(r), n);
        goto out;
    }
    if (!types_ok || !rounding_ok || !sp || !dp)
        FZ_FAIL("bad arguments accepted (types %d %d, rounding ok %d, src %p dst %p)", (int)st, (int)dt,
                rounding_ok, sp, dp);
    /* unused high bits of the last packed byte are zero */
    unsigned bits = lowbit_dtype_bits(dt);
    for (size_t b = n * bits; b < db * 8; b++)
        if ((d[b / 8] >> (b % 8)) & 1)
            FZ_FAIL("padding bit %zu set (%s, n = %zu)", b, lowbit_dtype_name(dt), n);
    /* the reference backend agrees bit for bit */
    lowbit_backend was = lowbit_get_backend();
    if (was != LOWBIT_BACKEND_REF && lowbit_set_backend(LOWBIT_BACKEND_REF) == LOWBIT_OK) {
        uint8_t *d2 = fz_alloc(db);
        if (lowbit_convert(dt, d2, st, s, n, opts) != LOWBIT_OK || memcmp(d, d2, db) != 0)
            FZ_FAIL("%s differs from ref (%s -> %s, n = %zu)", lowbit_backend_name(was), lowbit_dtype_name(st),
                    lowbit_dtype_name(dt), n);
        free(d2);
        lowbit_set_backend(was);
    }
    /* byte-wide types: one element at a time gives the same bytes */
    unsigned sbits = lowbit_dtype_bits(st);
    if (bits >= 8 && sbits >= 8) {
        lowbit_convert_opts o1 = o;
        for (size_t i = 0; i < n && i < 32; i++) {
            uint8_t one[4];
            o1.offset = o.offset + i;
            if (lowbit_convert(dt, one, st, s + i * (sbits / 8), 1, opts ? &o1 : NULL) != LOWBIT_OK ||
                memcmp(one, d + i * (bits / 8), bits / 8) != 0)
                FZ_FAIL("element %zu differs when converted alone (%s -> %s)", i, lowbit_dtype_name(st),
                        lowbit_dtype_name(dt));
        }
    }
out:
    free(sbase);
    free(dbase);
    return 0;
}
