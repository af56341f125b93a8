/*
 * harness.h - running lowbit_convert over a batch of inputs and holding every
 * output against the model (model.h).  Shared by the unit tests.
 */
#ifndef LOWBIT_TEST_HARNESS_H
#define LOWBIT_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include "lowbit.h"
#include "model.h"

typedef struct chk_stats {
    size_t cases;
    size_t mismatches;
    size_t printed;     /* mismatches printed so far (the first few only) */
} chk_stats;

/*
 * Convert the n source codes in `codes` (one per entry, type src) to dst with
 * the given rounding/saturation/seed/offset through lowbit_convert, and
 * compare every output code with mdl_convert.  Also checks that the packed
 * padding bits of the last byte are zero and that no byte past the output
 * was written.  Returns the number of mismatches added to st.
 */
size_t chk_convert(chk_stats *st, lowbit_dtype dst, lowbit_dtype src, const uint32_t *codes,
                   size_t n, int mode, int sat, uint64_t seed, uint64_t offset);

/* Same, for f32 inputs given as bit patterns. */
size_t chk_convert_f32(chk_stats *st, lowbit_dtype dst, const uint32_t *bits, size_t n, int mode,
                       int sat, uint64_t seed, uint64_t offset);

const char *chk_mode_name(int mode);

/* Scale factor for sweep sizes: the LOWBIT_UNIT_SCALE environment variable
 * (default 1), used by the exhaustive suite to run the same tests longer. */
double chk_scale(void);

#endif
