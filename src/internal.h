/*
 * internal.h - what the library's own files share: the error helpers, the
 * kernel registry types, and the validated-call structures kernels receive.
 * Kernels never re-check arguments: by the time one runs, everything in
 * these structures has been validated by the API layer.
 */
#ifndef LOWBIT_INTERNAL_H
#define LOWBIT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "lowbit.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define LB_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LB_PRINTF(a, b)
#endif

/* Record a failure for lowbit_last_error() and return status. */
lowbit_status lb_fail(lowbit_status status, const char *fmt, ...) LB_PRINTF(2, 3);
/* Clear the detail message and return LOWBIT_OK. */
lowbit_status lb_ok(void);

/* No scale (plain element type) in lowbit_format.scale_type. */
#define LB_NO_SCALE LOWBIT_DTYPE_COUNT

/* Wildcard dtype in kernel registrations. */
#define LB_ANY (-1)

/* Scaling scheme of a format, derived from its scale type and flags. */
typedef enum lb_scheme {
    LB_SCHEME_PLAIN = 0,  /* no scale */
    LB_SCHEME_MX,         /* E8M0 block scales */
    LB_SCHEME_NVFP4,      /* E4M3 block scales + f32 tensor scale */
    LB_SCHEME_AMAX,       /* f32/f16/bf16 scale = amax / max (symmetric) */
    LB_SCHEME_ZP,         /* f32/f16/bf16 scale and integer zero point */
    LB_SCHEME_COUNT
} lb_scheme;

lb_scheme lb_format_scheme(const lowbit_format *fmt);

/* Conversion parameters after validation (rounding as LB_ROUND_*). */
typedef struct lb_cvt_params {
    int mode;
    int saturate;
    uint64_t seed;
    uint64_t offset;
} lb_cvt_params;

/* Block geometry of a validated qtensor. */
typedef struct lb_grid {
    size_t block_rows, block_cols;  /* effective (0 resolved to the extent) */
    size_t grid_rows, grid_cols;    /* number of blocks */
} lb_grid;

void lb_grid_of(const lowbit_qtensor *q, lb_grid *g);

typedef void (*lb_convert_fn)(void *dst, lowbit_dtype dst_type, const void *src,
                              lowbit_dtype src_type, size_t n, const lb_cvt_params *p);
typedef void (*lb_quantize_fn)(lowbit_qtensor *q, lowbit_dtype src_type, const void *src,
                               size_t src_row_stride, const lb_cvt_params *p);
typedef void (*lb_dequantize_fn)(lowbit_dtype dst_type, void *dst, size_t dst_row_stride,
                                 const lowbit_qtensor *q);

/* One registry entry.  For convert, src/dst are dtypes or LB_ANY; for
 * quantize/dequantize, scheme says which scaling scheme the kernel handles
 * and src/dst the unscaled side (f32/f16/bf16) or LB_ANY. */
typedef struct lb_kernel {
    lowbit_op op;
    lowbit_backend backend;
    int exact;
    int src, dst;
    int scheme;               /* quantize/dequantize: lb_scheme */
    uint32_t rounding_mask;   /* bit r set: handles LB_ROUND r */
    const char *name;
    const char *formats;
    lb_convert_fn convert;
    lb_quantize_fn quantize;
    lb_dequantize_fn dequantize;
} lb_kernel;

/* The registry (src/registry.c) and lookups (src/dispatch.c). */
extern const lb_kernel *const lb_registry[];
extern const size_t lb_registry_size;

const lb_kernel *lb_find_convert(lowbit_dtype dst, lowbit_dtype src, int mode);
const lb_kernel *lb_find_quantize(lb_scheme scheme, lowbit_dtype src, int mode);
const lb_kernel *lb_find_dequantize(lb_scheme scheme, lowbit_dtype dst);

/* Does a kernel of backend k run when backend cap is in force? */
int lb_backend_allows(lowbit_backend cap, lowbit_backend k);

/* Bytes spanned by a strided matrix of `rows` rows of `cols` elements of type t
 * (rows-1)*stride + cols elements, rounded up to bytes; SIZE_MAX on overflow. */
size_t lb_matrix_bytes(lowbit_dtype t, size_t rows, size_t cols, size_t stride);

/* Validate lowbit_convert's arguments (shared by the host and device entry
 * points) and fill *p.  n == 0 returns LOWBIT_OK after the enum checks. */
lowbit_status lb_convert_args(lowbit_dtype dst_type, const void *dst, lowbit_dtype src_type,
                              const void *src, size_t n, const lowbit_convert_opts *opts,
                              lb_cvt_params *p);

/* Validate lowbit_quantize's / lowbit_dequantize's arguments (shared by the
 * host and device entry points).  A zero-sized tensor returns LOWBIT_OK. */
lowbit_status lb_quantize_args(const lowbit_qtensor *q, lowbit_dtype src_type, const void *src,
                               size_t src_row_stride, const lowbit_convert_opts *opts, lb_cvt_params *p);
lowbit_status lb_dequantize_args(lowbit_dtype dst_type, const void *dst, size_t dst_row_stride,
                                 const lowbit_qtensor *q);

/* Validate a qtensor descriptor (format, shape, strides, buffer sizes, overlap). */
lowbit_status lb_check_qtensor(const lowbit_qtensor *q, const char *argname);

/* 1 if [a, a+na) and [b, b+nb) overlap. */
int lb_overlap(const void *a, size_t na, const void *b, size_t nb);

#ifdef __cplusplus
}
#endif

#endif
