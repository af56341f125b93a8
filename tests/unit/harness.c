/* harness.c - see harness.h. */
#include "harness.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD 0xA5u
#define MAX_PRINTED 8

const char *chk_mode_name(int mode)
{
    return mode == MDL_NE ? "nearest-even" : mode == MDL_TZ ? "toward-zero" : "stochastic";
}

double chk_scale(void)
{
    const char *s = getenv("LOWBIT_UNIT_SCALE");
    double v = s ? atof(s) : 1.0;
    return v > 0 ? v : 1.0;
}

size_t chk_convert(chk_stats *st, lowbit_dtype dst, lowbit_dtype src, const uint32_t *codes,
                   size_t n, int mode, int sat, uint64_t seed, uint64_t offset)
{
    unsigned sb = mdl_bits(src), db = mdl_bits(dst);
    size_t sbytes = mdl_bytes(sb, n), dbytes = mdl_bytes(db, n);
    uint8_t *in = calloc(sbytes + 1, 1);
    uint8_t *out = malloc(dbytes + 16);
    if (!in || !out) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
    for (size_t i = 0; i < n; i++)
        mdl_put_code(sb, in, i, codes[i]);
    memset(out, GUARD, dbytes + 16);
    lowbit_convert_opts o;
    memset(&o, 0, sizeof o);
    o.rounding = (lowbit_rounding)mode;
    o.saturate = sat;
    o.seed = seed;
    o.offset = offset;
    lowbit_status s = lowbit_convert(dst, out, src, in, n, &o);
    size_t bad = 0;
    if (s != LOWBIT_OK) {
        fprintf(stderr, "lowbit_convert(%s -> %s) returned %s: %s\n", mdl_get(src)->name,
                mdl_get(dst)->name, lowbit_status_string(s), lowbit_last_error());
        bad = n ? n : 1;
    } else {
        for (size_t i = 0; i < n; i++) {
            uint32_t got = mdl_get_code(db, out, i);
            uint32_t rb = mode == MDL_SR ? mdl_sr_bits(seed, offset + i) : 0;
            uint32_t want = mdl_convert(dst, src, codes[i], mode, sat, rb);
            if (got != want) {
                bad++;
                if (st->printed < MAX_PRINTED) {
                    st->printed++;
                    fprintf(stderr,
                            "MISMATCH %s -> %s (%s, sat=%d, seed=%" PRIu64 ", index=%" PRIu64
                            "): src code 0x%" PRIx32 " (%.17g) -> got 0x%" PRIx32
                            ", model 0x%" PRIx32 " (%.17g)\n",
                            mdl_get(src)->name, mdl_get(dst)->name, chk_mode_name(mode), sat, seed,
                            offset + i, codes[i], (double)mdl_f32(mdl_decode_bits(src, codes[i])),
                            got, want, mdl_value(dst, want));
                }
            }
        }
        /* padding bits of the last byte are written as zero */
        unsigned tail = (unsigned)((n * db) % 8);
        if (tail && (out[dbytes - 1] >> tail) != 0) {
            bad++;
            fprintf(stderr, "%s -> %s: padding bits of the last byte not zero (0x%02x)\n",
                    mdl_get(src)->name, mdl_get(dst)->name, out[dbytes - 1]);
        }
        for (size_t i = dbytes; i < dbytes + 16; i++)
            if (out[i] != GUARD) {
                bad++;
                fprintf(stderr, "%s -> %s: byte %zu past the output was written\n",
                        mdl_get(src)->name, mdl_get(dst)->name, i);
                break;
            }
    }
    st->cases += n;
    st->mismatches += bad;
    free(in);
    free(out);
    return bad;
}

size_t chk_convert_f32(chk_stats *st, lowbit_dtype dst, const uint32_t *bits, size_t n, int mode,
                       int sat, uint64_t seed, uint64_t offset)
{
    return chk_convert(st, dst, LOWBIT_F32, bits, n, mode, sat, seed, offset);
}
