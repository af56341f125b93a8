/* run.h - calling kernels under guard bytes and the crash handler (run.c). */
#ifndef LOWBIT_CHECK_RUN_H
#define LOWBIT_CHECK_RUN_H

#include "check.h"

/* Convert n elements held in src_bytes (hx_bytes(st, n) bytes) with kernel
 * k: the source is copied to a guarded buffer src_mis bytes off alignment,
 * the destination is a guarded buffer dst_mis bytes off alignment filled
 * with junk.  Returns 0 with *out holding the result (caller frees), or -1
 * after reporting a crash or guard violation on r (nothing to free). */
int run_convert(check_row *r, const lb_kernel *k, lowbit_dtype dt, lowbit_dtype st,
                const uint8_t *src_bytes, size_t n, const lb_cvt_params *p, size_t src_mis,
                size_t dst_mis, uint64_t junk, gbuf *out, const char *ctx);

/* --inject-fault: flip the low bit of element n/2 of a candidate output. */
void inject_fault(lowbit_dtype t, void *buf, size_t n);
/* Are the bits after element n-1 in the last byte zero? */
int tail_bits_zero(lowbit_dtype t, const void *buf, size_t n);

/* A quantized tensor whose buffers are guarded and junk-filled. */
typedef struct qbuf {
    lowbit_qtensor q;
    gbuf data, scales, zps;
    uint8_t *initial; /* data bytes as allocated, to check stride gaps */
    size_t nblocks;
} qbuf;

/* Shape rows x cols of format f, row stride = the tightest one plus
 * extra_stride granules, data misaligned by mis bytes. */
void qbuf_alloc(qbuf *b, const lowbit_format *f, size_t rows, size_t cols, size_t extra_stride,
                size_t mis, uint64_t junk);
void qbuf_free(qbuf *b);

/* Quantize src (rows x cols at src_stride elements, type st) into b with k.
 * 0 on success, -1 after reporting a crash or a guard/gap violation. */
int run_quantize(check_row *r, const lb_kernel *k, qbuf *b, lowbit_dtype st, const uint8_t *src_bytes,
                 size_t src_stride, size_t src_mis, const lb_cvt_params *p, const char *ctx);
/* Dequantize q into a guarded junk-filled buffer (caller frees *out on 0). */
int run_dequantize(check_row *r, const lb_kernel *k, const lowbit_qtensor *q, lowbit_dtype dt,
                   size_t dst_stride, size_t dst_mis, uint64_t junk, gbuf *out, const char *ctx);

#endif
