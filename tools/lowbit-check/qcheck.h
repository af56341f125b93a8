/* qcheck.h - what quantize.c and qmodel.c share: the formats checked, test
 * matrices, and the harness's model of quantize / dequantize. */
#ifndef LOWBIT_CHECK_QCHECK_H
#define LOWBIT_CHECK_QCHECK_H

#include "check.h"
#include "run.h"

typedef struct check_format {
    lowbit_format f;
    char name[48];
} check_format;

/* Every scaled format the checks walk (MX x rules, NVFP4 variants, FP8
 * tensor/row/block, INT group-wise with and without zero point, plain). */
void check_formats(const check_format **list, size_t *n);

/* Scheme of a format, computed by the harness from its fields. */
int fmt_scheme(const lowbit_format *f);

/* Data distributions of test matrices. */
enum {
    DIST_NORMAL = 0,   /* N(0,1) at a random scale */
    DIST_LOGUNIFORM,   /* magnitudes spread over many binades */
    DIST_OUTLIERS,     /* small values with rare huge ones */
    DIST_BLOCKS,       /* every block a different edge case: zero, NaN, Inf,
                        * subnormal, amax exactly / just below / just above a
                        * power of two or a scale edge, constant, one-signed */
    DIST_COUNT
};

/* A rows x cols source matrix of type st at row stride `stride` (elements),
 * with junk (NaN, huge values) between rows.  bytes: the packed source;
 * vals: the exact f32 value of each element, dense rows x cols. */
typedef struct qmatrix {
    lowbit_dtype st;
    size_t rows, cols, stride;
    uint8_t *bytes;
    float *vals;
    float given_ts; /* LOWBIT_FMT_GIVEN_TENSOR_SCALE: the caller's tensor scale (1 otherwise) */
} qmatrix;

void qmatrix_make(qmatrix *m, const lowbit_format *f, lowbit_dtype st, size_t rows, size_t cols, size_t stride,
                  int dist, rng *g);
void qmatrix_free(qmatrix *m);
/* q->tensor_scale = m->given_ts where q's format gives its tensor scale. */
void qmatrix_give_ts(const qmatrix *m, lowbit_qtensor *q);

/* The harness's model of quantize: scales, zero points, tensor scale and
 * element codes of the matrix (model.c element rounding, f32 arithmetic
 * in the order docs/semantics.md gives). */
typedef struct qexpect {
    size_t grid_rows, grid_cols, block_rows, block_cols;
    uint32_t *scales;   /* per block, codes of the scale type */
    uint32_t *zps;      /* per block, element codes (zero-point formats) */
    uint32_t *codes;    /* rows x cols element codes */
    float tensor_scale;
} qexpect;

void qmodel_quantize(const lowbit_format *f, const qmatrix *m, int mode, uint64_t seed, uint64_t offset,
                     qexpect *e);
void qexpect_free(qexpect *e);
/* f32 bits of dequantizing element (r, c) of q, modelled. */
uint32_t qmodel_dequant_f32(const lowbit_qtensor *q, size_t r, size_t c);

/* Equal dequantized outputs (any NaN matches any NaN; see quantize.c). */
int same_dequant(lowbit_dtype dt, uint32_t want, uint32_t got);

/* Read a scale / zero point / element of a qtensor (harness unpacking). */
uint32_t q_scale_code(const lowbit_qtensor *q, size_t b);
uint32_t q_zp_code(const lowbit_qtensor *q, size_t b);
uint32_t q_elem_code(const lowbit_qtensor *q, size_t r, size_t c);
void q_grid(const lowbit_qtensor *q, size_t *br, size_t *bc, size_t *gr, size_t *gc);

#endif
