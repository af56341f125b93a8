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

/* Quantize/dequantize work order, filled in by src/quantize.c after
 * validation and handed to every task of one call. */
struct lb_block_stats;
typedef struct lb_qjob {
    lowbit_qtensor *q;        /* quantize writes data, scales, zero points */
    const lowbit_qtensor *cq; /* dequantize reads it */
    lowbit_dtype wide_type;   /* the f32/f16/bf16 side */
    const void *src;          /* quantize source */
    void *dst;                /* dequantize destination */
    size_t stride;            /* row stride of src / dst in elements */
    lb_cvt_params p;
    lb_scheme scheme;
    lb_grid g;
    float s_t;                /* NVFP4 tensor scale (already in q->tensor_scale) */
    int scales_ready;         /* the scales and zero points are already stored */
} lb_qjob;

/* Convert n elements; dst/src point at element 0 of the range and
 * p->offset is the index of src[0] (stochastic rounding).  Ranges given to
 * a kernel start at a multiple of 8 elements of the caller's buffers. */
typedef void (*lb_convert_fn)(void *dst, lowbit_dtype dst_type, const void *src,
                              lowbit_dtype src_type, size_t n, const lb_cvt_params *p);
/* Quantize the rows [r0, r1) x columns [c0, c1) of job->q.  Unless
 * job->scales_ready, the rectangle is a whole number of blocks (edge blocks
 * partial) and the kernel computes and stores their scales first; then it
 * encodes the rectangle's elements against the stored scales.  c0 is a
 * multiple of 8, so packed rows split on byte boundaries. */
typedef void (*lb_quantize_fn)(const lb_qjob *job, size_t r0, size_t r1, size_t c0, size_t c1);
/* Statistics (formats/scale.h) of src over rows [r0, r1) x cols [c0, c1). */
typedef void (*lb_stats_fn)(lowbit_dtype src_type, const void *src, size_t stride, size_t r0, size_t r1,
                            size_t c0, size_t c1, struct lb_block_stats *s);
/* Dequantize rows [r0, r1) x columns [c0, c1) of job->cq into job->dst. */
typedef void (*lb_dequantize_fn)(const lb_qjob *job, size_t r0, size_t r1, size_t c0, size_t c1);

/* ---- GEMM -------------------------------------------------------------- */

/* One validated GEMM operand (A is M x K, B is N x K; K runs along cols). */
typedef struct lb_operand {
    lowbit_qtensor q;       /* the descriptor (for a packed B: pointing into the pack) */
    lb_scheme scheme;
    lb_grid g;
    int int_valued;         /* every element is an integer times 2^unit_log2 */
    int unit_log2;
    int32_t max_int;        /* bound on |that integer| (zero point applied) */
    float code_value;       /* element value = decoded code * this (MXINT8: 2^-6, else 1) */
} lb_operand;

/* A validated GEMM call (src/gemm.c), handed to every task. */
typedef struct lb_gemm_job {
    size_t M, N, K;
    lb_operand a, b;
    int integer;            /* both operands integer-valued: block dot products in integers */
    size_t kblock;          /* L: the K blocks of the computation (divides K) */
    float alpha, beta;
    float g;                /* (alpha * a tensor scale) * b tensor scale */
    lowbit_dtype c_type;
    void *c;
    size_t ldc;
    const void *packed;     /* the kernel's own layout of B, or NULL (read job->b) */
    const void *packed_a;   /* the kernel's own layout of A, or NULL (read job->a) */
} lb_gemm_job;

/* Does the kernel handle this job (it must not look at M: a packed B serves every M)? */
typedef int (*lb_gemm_covers_fn)(const lb_gemm_job *j);
/* Compute C[m0:m1, n0:n1] completely (every K block, alpha/beta, the store). */
typedef void (*lb_gemm_fn)(const lb_gemm_job *j, size_t m0, size_t m1, size_t n0, size_t n1);
/* Bytes of the kernel's packed layout of an operand (B, or A for one
 * call); and the packing of its rows [r0, r1) into it, r0 a multiple of
 * gemm_pack_nr (B) or gemm_pack_mr (A). */
typedef size_t (*lb_gemm_pack_size_fn)(const lb_gemm_job *j);
typedef void (*lb_gemm_pack_fn)(const lb_gemm_job *j, void *dst, size_t r0, size_t r1);

/* ---- Attention --------------------------------------------------------- */

/* A validated KV cache (src/attention.c).  Inside a page, head h's section
 * starts at h * head_bytes and holds page_tokens rows of row_bytes, then
 * page_tokens rows of scale_bytes at scale_off, then page_tokens rows of
 * zp_bytes at zp_off (every section 64-byte aligned). */
typedef struct lb_kv_view {
    lowbit_dtype elem, scale_type;
    lb_scheme scheme;
    lowbit_scale_rule rule;   /* MX: how block scales are chosen (device append) */
    int per_head;             /* FP8 with one fixed scale per head (head_scales) */
    int nv_head;              /* NVFP4: E4M3 block scales times the head's tensor scale (head_scales) */
    uint32_t D;               /* head_dim */
    uint32_t blk, nblk;       /* block length along D and blocks per token (1, D for one scale) */
    uint32_t page_tokens;
    size_t row_bytes, scale_bytes, zp_bytes;
    size_t scale_off, zp_off, head_bytes, page_bytes;
    const uint8_t *pages;
    const float *head_scales;
    float code_value;         /* element value = decoded code * this (MXINT8: 2^-6) */
} lb_kv_view;

/* A validated attention call, handed to every task. */
typedef struct lb_attn_job {
    size_t q_tokens, kv_len, q_pos;
    uint32_t q_heads, kv_heads, group, D;
    lowbit_dtype q_type;
    const uint8_t *q;
    size_t q_stride;
    float score_scale;        /* scale * q_scale, rounded once */
    lb_kv_view k, v;
    const int32_t *table;     /* NULL: identity */
    int causal;
    const float *mask;
    size_t mask_stride;
    lowbit_dtype out_type;
    uint8_t *out;
    size_t out_stride;
} lb_attn_job;

/* A validated lowbit_kv_append: tokens pos .. pos + n_tokens - 1, each
 * kv head's vector of src (token t at element t * src_stride, head h at
 * h * head_dim further) quantized into its slot.  The device backends get it
 * by value (lowbit_kv_append_device). */
typedef struct lb_kv_append_job {
    lb_kv_view v;             /* the cache's layout (v.pages: its pages) */
    uint8_t *pages;           /* the same pages, written */
    const int32_t *table;     /* NULL: identity */
    size_t pos, n_tokens;
    uint32_t kv_heads;
    unsigned elem_bits, src_bits;
    lowbit_dtype src_type;
    const uint8_t *src;
    size_t src_stride;        /* elements from one token to the next */
} lb_kv_append_job;

/* Validation of lowbit_kv_append (device: pointers and table entries are
 * device memory, not read on the host); j->n_tokens == 0 means nothing to do. */
lowbit_status lb_kv_append_job_init(lb_kv_append_job *j, lowbit_kv_cache *cache, const int32_t *block_table,
                                    size_t block_table_len, size_t pos, size_t n_tokens, lowbit_dtype src_type,
                                    const void *src, size_t src_token_stride, int device);

/* Key tile of the online softmax (part of the semantics: the running
 * maximum is updated once per tile of this many key positions). */
#define LB_ATTN_KEY_TILE 64
/* Logical lanes of the score dot product (docs/semantics.md). */
#define LB_ATTN_LANES 16
/* Rows (query heads x query tokens) of one task. */
#define LB_ATTN_TASK_ROWS 32
#define LB_ATTN_MAX_D 256

/* Compute the output rows of query heads [h0, h1) (all reading kv head
 * h0 / group) for query tokens [q0, q1); (h1 - h0) * (q1 - q0) is at most
 * LB_ATTN_TASK_ROWS.  scratch: the kernel's attention_scratch(j) bytes,
 * 64-byte aligned, owned by this task while it runs. */
typedef void (*lb_attention_fn)(const lb_attn_job *j, size_t h0, size_t h1, size_t q0, size_t q1, void *scratch);
typedef size_t (*lb_attention_scratch_fn)(const lb_attn_job *j);


/* Bit masks of dtypes and schemes in registrations. */
#define LB_TYPE(t) (1u << (t))
#define LB_ALL_TYPES ((1u << LOWBIT_DTYPE_COUNT) - 1u)
#define LB_WIDE_TYPES (LB_TYPE(LOWBIT_F32) | LB_TYPE(LOWBIT_F16) | LB_TYPE(LOWBIT_BF16))
#define LB_SCHEME(s) (1u << (s))
#define LB_ALL_SCHEMES ((1u << LB_SCHEME_COUNT) - 1u)

/* One registry entry.  convert: the kernel handles every (src, dst) pair
 * with src in srcs and dst in dsts (a type to itself included).
 * quantize: srcs are the unscaled types it reads, elems the element types
 * and schemes the scaling schemes it writes; dequantize: dsts, elems,
 * schemes likewise. */
typedef struct lb_kernel {
    lowbit_op op;
    lowbit_backend backend;
    uint32_t cpu_features;    /* LOWBIT_CPU_* bits it needs beyond its backend's own */
    int exact;
    uint32_t srcs, dsts;
    uint32_t elems;           /* quantize/dequantize */
    uint32_t schemes;         /* quantize/dequantize: LB_SCHEME() bits */
    uint32_t rounding_mask;   /* bit r set: handles LB_ROUND r */
    const char *name;
    const char *formats;
    lb_convert_fn convert;
    lb_quantize_fn quantize;
    lb_stats_fn stats;        /* quantize: needed for whole-tensor scales */
    lb_dequantize_fn dequantize;
    lb_gemm_covers_fn gemm_covers;
    lb_gemm_fn gemm;
    lb_gemm_pack_size_fn gemm_pack_size;  /* B; NULL: the kernel reads B as it is */
    lb_gemm_pack_fn gemm_pack;
    uint32_t gemm_pack_nr;                /* rows of B per packed panel */
    lb_gemm_pack_size_fn gemm_pack_a_size; /* A, per call; NULL: read A as it is */
    lb_gemm_pack_fn gemm_pack_a;
    uint32_t gemm_pack_mr;                /* rows of A per packed tile */
    lb_attention_fn attention;            /* every KV format and Q type */
    lb_attention_scratch_fn attention_scratch; /* bytes per task; NULL: none */
} lb_kernel;

/* The registry (src/registry.c) and lookups (src/dispatch.c). */
extern const lb_kernel *const lb_registry[];
extern const size_t lb_registry_size;

/* Can kernel k run on this machine (its backend and extra CPU features)? */
int lb_kernel_runs_here(const lb_kernel *k);

/* Does kernel k handle this request? */
int lb_kernel_covers_convert(const lb_kernel *k, lowbit_dtype src, lowbit_dtype dst);
int lb_kernel_covers_quantize(const lb_kernel *k, lb_scheme scheme, lowbit_dtype elem, lowbit_dtype wide);

const lb_kernel *lb_find_convert(lowbit_dtype dst, lowbit_dtype src, int mode);
const lb_kernel *lb_find_quantize(lb_scheme scheme, lowbit_dtype elem, lowbit_dtype src, int mode);
const lb_kernel *lb_find_dequantize(lb_scheme scheme, lowbit_dtype elem, lowbit_dtype dst);

/* Run a validated call on kernel k, cut into tasks for the worker pool
 * (src/convert.c, src/quantize.c).  lowbit-check calls these directly. */
void lb_run_convert(const lb_kernel *k, void *dst, lowbit_dtype dst_type, const void *src,
                    lowbit_dtype src_type, size_t n, const lb_cvt_params *p);
void lb_run_quantize(const lb_kernel *k, lowbit_qtensor *q, lowbit_dtype src_type, const void *src,
                     size_t src_row_stride, const lb_cvt_params *p);
void lb_run_dequantize(const lb_kernel *k, lowbit_dtype dst_type, void *dst, size_t dst_row_stride,
                       const lowbit_qtensor *q);

/* GEMM: the best kernel for a validated job (allow_fast: fast ones too),
 * and the threaded driver lowbit-check calls directly: it packs A (and B,
 * unless j->packed) into temporary buffers when the kernel has its own
 * layouts; LOWBIT_ERR_OUT_OF_MEMORY, with nothing written, if those
 * cannot be allocated. */
const lb_kernel *lb_find_gemm(const lb_gemm_job *j, int allow_fast);
/* Validate lowbit_gemm's arguments into a job (lowbit-check builds its
 * jobs with it); M or N of 0 returns LOWBIT_OK with the job filled. */
lowbit_status lb_gemm_job_init(lb_gemm_job *j, const lowbit_qtensor *a, const lowbit_qtensor *b, float alpha,
                               float beta, lowbit_dtype c_type, void *c, size_t ldc, const lowbit_gemm_opts *opts);
lowbit_status lb_run_gemm(const lb_kernel *k, const lb_gemm_job *j);

/* Attention: validate lowbit_attention's arguments into a job (q_tokens of
 * 0 returns LOWBIT_OK with the job filled; device: the buffers are device
 * memory, so the block table and head scales are not read), the kernel for
 * it, and the threaded driver (lowbit-check calls these directly), which
 * returns LOWBIT_ERR_OUT_OF_MEMORY, nothing written, when the kernel's
 * scratch cannot be had. */
lowbit_status lb_attn_job_init(lb_attn_job *j, const lowbit_attention_args *a, int device);
const lb_kernel *lb_find_attention(const lb_attn_job *j);
lowbit_status lb_run_attention(const lb_kernel *k, const lb_attn_job *j);

/* Output tiles of the fixed GEMM partition (multiples of every kernel's
 * gemm_pack_mr / gemm_pack_nr). */
#define LB_GEMM_TILE_M 96
#define LB_GEMM_TILE_N 256

/* Compute and store the scale (and zero point) of block b of q from its
 * statistics (formats/scale.h rules; s_t: the NVFP4 tensor scale). */
void lb_store_block_scale(lowbit_qtensor *q, lb_scheme scheme, size_t b, const struct lb_block_stats *s,
                          float s_t);

/* The worker pool (src/threads.c): run fn(ctx, t) for t in [0, ntasks) on
 * up to lowbit_get_num_threads() threads, the caller's included; returns
 * when all are done. */
typedef void (*lb_task_fn)(void *ctx, size_t task);
void lb_parallel_for(size_t ntasks, lb_task_fn fn, void *ctx);

/* Size arithmetic that saturates at SIZE_MAX instead of wrapping. */
static inline size_t lb_mul_sat(size_t a, size_t b)
{
    return b && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}

static inline size_t lb_add_sat(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* Rank of a CPU backend (ref 0, avx2/neon 1, avx512 2, amx 3; -1 others). */
int lb_rung_of(lowbit_backend b);

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

/* src/device.c: LOWBIT_OK when backend names a device backend (cuda, hip);
 * else INVALID_ENUM or UNSUPPORTED naming the argument. */
lowbit_status lb_device_backend(lowbit_backend backend);

#ifdef __cplusplus
}
#endif

#endif
