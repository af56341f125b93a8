/*
 * lowbit.h - the one public header of liblowbit.
 *
 * Low-precision number formats (FP8, FP6, FP4, INT8/INT4, OCP MX, NVFP4),
 * their conversions to and from f32/f16/bf16, and the scaled quantization
 * that sits on top of them.  Every entry point returns a lowbit_status; on
 * failure nothing is written to any output and lowbit_last_error() gives a
 * thread-local message naming the offending argument.
 *
 * The semantics of every conversion (rounding, saturation, NaN handling) are
 * written out in docs/semantics.md; the reference code in kernels/cpu/ref is
 * the executable form of that document.
 */
#ifndef LOWBIT_H
#define LOWBIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define LOWBIT_API
#elif defined(__GNUC__)
#define LOWBIT_API __attribute__((visibility("default")))
#else
#define LOWBIT_API
#endif

#define LOWBIT_VERSION_MAJOR 0
#define LOWBIT_VERSION_MINOR 1
#define LOWBIT_VERSION_PATCH 0

/* ------------------------------------------------------------------------ */
/* Status codes                                                             */
/* ------------------------------------------------------------------------ */

typedef enum lowbit_status {
    LOWBIT_OK = 0,
    LOWBIT_ERR_NULL_POINTER,        /* a required pointer argument is NULL */
    LOWBIT_ERR_INVALID_ENUM,        /* dtype, rounding, scale rule... out of range */
    LOWBIT_ERR_UNSUPPORTED,         /* valid enums, but the combination is not offered */
    LOWBIT_ERR_SIZE_OVERFLOW,       /* a byte count or index does not fit in size_t */
    LOWBIT_ERR_BLOCK_SHAPE,         /* a dimension is not a multiple of the block */
    LOWBIT_ERR_BAD_STRIDE,          /* a row stride is smaller than the row */
    LOWBIT_ERR_MISALIGNED,          /* a pointer or stride breaks the layout's alignment */
    LOWBIT_ERR_BUFFER_TOO_SMALL,    /* a declared buffer size is below what is needed */
    LOWBIT_ERR_ALIASING,            /* input and output buffers overlap */
    LOWBIT_ERR_BACKEND_NOT_BUILT,   /* the backend was disabled at build time */
    LOWBIT_ERR_BACKEND_UNAVAILABLE, /* built, but this CPU lacks the ISA or no device exists */
    LOWBIT_ERR_OUT_OF_MEMORY,
    LOWBIT_ERR_INTERNAL,
    LOWBIT_ERR_WRONG_MEMORY,        /* a host pointer where device memory is required, or the reverse */
    LOWBIT_ERR_DEVICE,              /* the GPU runtime reported an error (named in the detail) */
    LOWBIT_ERR_SHAPE_MISMATCH,      /* operands whose shapes do not fit together (GEMM's K) */
    LOWBIT_ERR_PACK_MISMATCH,       /* a packed operand made for another format, shape or kernel */
    LOWBIT_ERR_OUT_OF_RANGE,        /* an index (a block table entry) outside what it indexes, or a
                                       value (a given tensor scale) outside its domain */
    LOWBIT_STATUS_COUNT
} lowbit_status;

/* Static name of a status ("LOWBIT_ERR_NULL_POINTER"); never NULL. */
LOWBIT_API const char *lowbit_status_string(lowbit_status status);

/* Detail of the last failure on the calling thread ("" after success). The
 * pointer stays valid until the next lowbit call on the same thread. */
LOWBIT_API const char *lowbit_last_error(void);

/* ------------------------------------------------------------------------ */
/* Element types                                                            */
/* ------------------------------------------------------------------------ */

typedef enum lowbit_dtype {
    LOWBIT_F32 = 0,
    LOWBIT_F16,
    LOWBIT_BF16,
    LOWBIT_E4M3,      /* OCP E4M3 ("e4m3fn"): bias 7, max 448, NaN S.1111.111, no Inf */
    LOWBIT_E5M2,      /* OCP E5M2: bias 15, max 57344, IEEE Inf/NaN */
    LOWBIT_E4M3FNUZ,  /* bias 8, max 240, NaN = 0x80, no Inf, no -0 */
    LOWBIT_E5M2FNUZ,  /* bias 16, max 57344, NaN = 0x80, no Inf, no -0 */
    LOWBIT_E3M2,      /* OCP FP6: bias 3, max 28, no Inf/NaN (packed 4 per 3 bytes) */
    LOWBIT_E2M3,      /* OCP FP6: bias 1, max 7.5, no Inf/NaN (packed 4 per 3 bytes) */
    LOWBIT_E2M1,      /* OCP FP4: bias 1, max 6, no Inf/NaN (packed 2 per byte) */
    LOWBIT_E8M0,      /* scale: 2^(code-127), no sign, no zero, 0xFF = NaN */
    LOWBIT_INT8,
    LOWBIT_INT4,      /* two's complement, -8..7, packed 2 per byte */
    LOWBIT_UINT4,     /* 0..15, packed 2 per byte */
    LOWBIT_DTYPE_COUNT
} lowbit_dtype;

/* Storage width in bits (32, 16, 8, 6 or 4); 0 for an unknown type. */
LOWBIT_API unsigned lowbit_dtype_bits(lowbit_dtype t);
/* Lower-case name ("e4m3", "bf16", ...), or NULL for an unknown type. */
LOWBIT_API const char *lowbit_dtype_name(lowbit_dtype t);
/* Parse a name as printed by lowbit_dtype_name; returns LOWBIT_DTYPE_COUNT if unknown. */
LOWBIT_API lowbit_dtype lowbit_dtype_from_name(const char *name);
/* Largest finite value of the type (2^127 for E8M0, 127 for INT8 ...). */
LOWBIT_API double lowbit_dtype_max(lowbit_dtype t);
/* Bytes needed to hold n packed elements of type t; SIZE_MAX if that overflows. */
LOWBIT_API size_t lowbit_dtype_bytes(lowbit_dtype t, size_t n);

/* ------------------------------------------------------------------------ */
/* Flat conversion: the signature outside checks link against               */
/* ------------------------------------------------------------------------ */

typedef enum {
    LOWBIT_ROUND_NEAREST_EVEN = 0,
    LOWBIT_ROUND_TOWARD_ZERO,
    LOWBIT_ROUND_STOCHASTIC
} lowbit_rounding;

typedef struct lowbit_convert_opts {
    lowbit_rounding rounding;
    int saturate;        /* nonzero: SATFINITE */
    uint64_t seed;       /* stochastic rounding key */
    uint64_t offset;     /* index of src[0] in the whole tensor (stochastic rounding) */
} lowbit_convert_opts;

/*
 * Convert n elements of src_type at src into dst_type at dst.
 *
 * opts == NULL means nearest-even, not saturating.  Every conversion rounds
 * exactly once from the exact source value.  4-bit types hold two elements
 * per byte (element 2i in the low nibble); 6-bit types hold four elements
 * per three bytes in little-endian bit order.  When n does not fill the last
 * byte, the unused high bits of that byte are written as zero.  Converting a
 * type to itself copies the bits unchanged.  src and dst must not overlap.
 */
LOWBIT_API lowbit_status lowbit_convert(lowbit_dtype dst_type, void *dst,
                                        lowbit_dtype src_type, const void *src,
                                        size_t n, const lowbit_convert_opts *opts);

/* ------------------------------------------------------------------------ */
/* Scaled (block) formats                                                   */
/* ------------------------------------------------------------------------ */

/* How an E8M0 (MX) block scale is derived from the block's amax. */
typedef enum lowbit_scale_rule {
    LOWBIT_SCALE_FLOOR = 0,  /* OCP MX v1.0: 2^(floor(log2 amax) - emax_elem) */
    LOWBIT_SCALE_RCEIL,      /* amax / max_finite rounded up to a power of two */
    LOWBIT_SCALE_CEIL,       /* 2^(ceil(log2 amax) - emax_elem) */
    LOWBIT_SCALE_EVEN,       /* amax rounded to the element's mantissa width, then FLOOR */
    LOWBIT_SCALE_RULE_COUNT
} lowbit_scale_rule;

/* lowbit_format.flags */
#define LOWBIT_FMT_ZERO_POINT   0x1u  /* integer groups carry a zero point */
#define LOWBIT_FMT_TENSOR_SCALE 0x2u  /* NVFP4: an f32 per-tensor scale above the block scales */
/* With TENSOR_SCALE: quantize takes q->tensor_scale as given (a calibrated
 * global scale) instead of deriving it from the tensor's amax, and leaves
 * it unchanged; only the block scales come from the data.  The one way to
 * quantize NVFP4 on a GPU (lowbit_quantize_device). */
#define LOWBIT_FMT_GIVEN_TENSOR_SCALE 0x4u

/*
 * A scaled format.  The tensor is cut into blocks of block_rows x block_cols
 * elements (0 in either means "the whole extent": block_rows = 0 and
 * block_cols = 0 is one scale for the whole tensor; block_rows = 1,
 * block_cols = 0 is one scale per row).  Edge blocks may be partial.
 *
 *   scale E8M0               MX: power-of-two scale chosen by `rule`
 *   scale E4M3 + TENSOR_SCALE NVFP4-style two-level scale
 *   scale F32 / F16 / BF16   amax / max scaling (symmetric), or with
 *                            ZERO_POINT the asymmetric min/max rule
 *   scale_type = LOWBIT_DTYPE_COUNT: no scale at all (plain element type)
 */
typedef struct lowbit_format {
    lowbit_dtype elem;
    lowbit_dtype scale_type;
    uint32_t block_rows;
    uint32_t block_cols;
    lowbit_scale_rule rule;   /* E8M0 scales only; FLOOR otherwise */
    uint32_t flags;
} lowbit_format;

/* The formats of DESIGN section 2, ready made. */
LOWBIT_API lowbit_format lowbit_format_mx(lowbit_dtype elem, lowbit_scale_rule rule); /* block 32 */
LOWBIT_API lowbit_format lowbit_format_nvfp4(void);                         /* E2M1, E4M3 per 16, f32 tensor */
LOWBIT_API lowbit_format lowbit_format_fp8_tensor(lowbit_dtype elem);       /* one f32 scale */
LOWBIT_API lowbit_format lowbit_format_fp8_row(lowbit_dtype elem);          /* f32 per row */
LOWBIT_API lowbit_format lowbit_format_fp8_block(lowbit_dtype elem, uint32_t block_rows, uint32_t block_cols);
LOWBIT_API lowbit_format lowbit_format_int_group(lowbit_dtype elem, uint32_t group, /* 0: per row */
                                                 lowbit_dtype scale_type, int zero_point);

/* LOWBIT_OK if fmt is a combination this library implements, else the
 * status (and detail message) explaining why not. */
LOWBIT_API lowbit_status lowbit_format_check(const lowbit_format *fmt);

/* Short readable name ("mxfp8_e4m3/floor", "nvfp4", "int4_g128_bf16_zp"...)
 * written into buf (always NUL-terminated); returns buf. */
LOWBIT_API char *lowbit_format_name(const lowbit_format *fmt, char *buf, size_t len);

/*
 * A quantized tensor: one descriptor shared by quantize, dequantize and the
 * compute ops.  Buffers belong to the caller; the *_bytes fields declare how
 * large they are and are checked against what the shape needs.
 *
 * data         packed elements, row-major; row r starts at element r*row_stride
 *              (row_stride even for 4-bit types, a multiple of 4 for 6-bit ones,
 *              so every row starts on a byte boundary)
 * scales       one per block, row-major over the block grid, dense, in the
 *              format's scale type
 * zero_points  with LOWBIT_FMT_ZERO_POINT: one per block in the element type
 *              (packed like the data, dense over the block grid); else NULL
 * tensor_scale with LOWBIT_FMT_TENSOR_SCALE, the f32 second-level scale
 *              (written by quantize; read by it too with
 *              LOWBIT_FMT_GIVEN_TENSOR_SCALE, where it must be a positive
 *              normal finite f32); ignored otherwise
 */
typedef struct lowbit_qtensor {
    lowbit_format format;
    void *data;
    void *scales;
    void *zero_points;
    float tensor_scale;
    size_t rows, cols;
    size_t row_stride;          /* in elements */
    size_t data_bytes;          /* capacity of data */
    size_t scales_bytes;        /* capacity of scales */
    size_t zero_points_bytes;   /* capacity of zero_points */
} lowbit_qtensor;

/* Fill in q for a rows x cols tensor of format fmt with the tightest legal
 * row_stride, NULL pointers, tensor_scale 1, and *_bytes set to the sizes
 * the caller must allocate. */
LOWBIT_API lowbit_status lowbit_qtensor_init(lowbit_qtensor *q, const lowbit_format *fmt,
                                             size_t rows, size_t cols);

/* Number of blocks along rows and columns for this shape. */
LOWBIT_API lowbit_status lowbit_qtensor_grid(const lowbit_qtensor *q, size_t *block_grid_rows,
                                             size_t *block_grid_cols);

/*
 * Quantize a rows x cols matrix (f32, f16 or bf16; src_row_stride in
 * elements) into q, computing every scale (and zero point, and the tensor
 * scale unless the format says LOWBIT_FMT_GIVEN_TENSOR_SCALE) from the data.  opts: rounding mode and seed of the element
 * rounding; the element conversion always saturates; opts->offset is added
 * to the element index r*cols + c that keys stochastic rounding.
 */
LOWBIT_API lowbit_status lowbit_quantize(lowbit_qtensor *q, lowbit_dtype src_type, const void *src,
                                         size_t src_row_stride, const lowbit_convert_opts *opts);

/* Expand q into dst (f32, f16 or bf16, dst_row_stride in elements). The
 * product element * scale is formed in f32 and rounded once into dst_type. */
LOWBIT_API lowbit_status lowbit_dequantize(lowbit_dtype dst_type, void *dst, size_t dst_row_stride,
                                           const lowbit_qtensor *q);

/* ------------------------------------------------------------------------ */
/* GEMM                                                                     */
/* ------------------------------------------------------------------------ */

/* An unscaled f32 / f16 / bf16 operand (W4A16's activations) as a qtensor
 * format: scale_type LOWBIT_DTYPE_COUNT, no blocks.  Only lowbit_gemm
 * accepts wide element types; quantize and dequantize do not. */
LOWBIT_API lowbit_format lowbit_format_plain(lowbit_dtype elem);

/* lowbit_gemm_opts.flags */
#define LOWBIT_GEMM_ALLOW_FAST 0x1u  /* a fast (bounded, not bit-exact) kernel may be used */

typedef struct lowbit_gemm_opts {
    uint32_t flags;
} lowbit_gemm_opts;

/*
 * C[M,N] = alpha * A[M,K] * B[N,K]^T + beta * C, with A = *a (rows M,
 * cols K) and B = *b (rows N, cols K): K is contiguous in both operands,
 * the row strides are their leading dimensions, scales run along K.
 * c_type is f32, f16 or bf16; row m of C starts at element m * ldc.
 * beta == 0 never reads C (NaN there does not leak).  M or N of 0 is a
 * no-op; K of 0 gives C = beta * C (0 when beta is 0).
 *
 * Pairs (A x B; docs/semantics.md, "GEMM", has the exact arithmetic):
 *   FP8 x FP8     f32-scaled E4M3/E5M2 (and FNUZ): per tensor, per row,
 *                 1x128, 128x128, in any combination whose K blocks nest
 *   MX x MX       MXFP8, MXFP6, MXFP4, MXINT8 in any combination
 *                 (MXFP8 x MXFP8, MXFP4 x MXFP4, MXFP4 x MXFP8 ...)
 *   NVFP4 x NVFP4
 *   INT x INT     INT8/INT4/UINT4 groups or rows, f32/f16/bf16 scales,
 *                 zero points allowed (W8A8, W4A8)
 *   wide x INT    f32/f16/bf16 activations (lowbit_format_plain) times
 *                 INT4/UINT4/INT8 group weights (W4A16)
 * K must be a multiple of every K block that is not the whole row.
 * opts NULL: exact (bit-identical on every backend and thread count).
 */
LOWBIT_API lowbit_status lowbit_gemm(const lowbit_qtensor *a, const lowbit_qtensor *b, float alpha,
                                     float beta, lowbit_dtype c_type, void *c, size_t ldc,
                                     const lowbit_gemm_opts *opts);

/*
 * Prepacked weights.  Runtimes load B once and multiply by it many times:
 * lowbit_gemm_pack rearranges B (N x K) into the layout the kernel this
 * machine would pick for A's format wants, into a caller buffer of
 * lowbit_gemm_pack_size bytes.  The buffer records the formats, shape and
 * kernel it was made for; lowbit_gemm_packed refuses one made for anything
 * else (another A or B format, another kernel after lowbit_set_backend,
 * another library version) with LOWBIT_ERR_PACK_MISMATCH.  The packed
 * buffer is self-contained (B's buffers may be freed) and position
 * independent (it may be copied or memory-mapped); results are
 * bit-identical to lowbit_gemm with the unpacked B.
 */
LOWBIT_API lowbit_status lowbit_gemm_pack_size(const lowbit_format *a_format, const lowbit_qtensor *b,
                                               const lowbit_gemm_opts *opts, size_t *bytes);
LOWBIT_API lowbit_status lowbit_gemm_pack(const lowbit_format *a_format, const lowbit_qtensor *b,
                                          const lowbit_gemm_opts *opts, void *packed, size_t packed_bytes);
LOWBIT_API lowbit_status lowbit_gemm_packed(const lowbit_qtensor *a, const void *packed_b,
                                            size_t packed_bytes, float alpha, float beta,
                                            lowbit_dtype c_type, void *c, size_t ldc,
                                            const lowbit_gemm_opts *opts);

/* ------------------------------------------------------------------------ */
/* Attention over a quantized, paged KV cache                               */
/* ------------------------------------------------------------------------ */

/*
 * A paged KV cache (one for K, one for V) as runtimes keep it: fixed-size
 * pages of page_tokens tokens, addressed through a per-sequence block table.
 * One page holds, for each of kv_heads heads, page_tokens token vectors of
 * head_dim elements stored in `format`, with their scales (and zero points)
 * beside them; lowbit_kv_page_bytes gives its size.  The formats (each
 * token's head vector is a 1 x head_dim row of that format):
 *
 *   lowbit_format_plain(F32 / F16 / BF16)      unquantized
 *   lowbit_format_fp8_tensor(E4M3 / E5M2 ...)  one f32 scale per head, fixed
 *                                              when the cache is made (head_scales;
 *                                              repeat one value for a per-tensor scale)
 *   lowbit_format_fp8_row / int_group(INT8, 0, ...)  a scale per token and head
 *   lowbit_format_int_group(INT4 / UINT4 / INT8, g, ...)  groups of g along head_dim,
 *                                              with or without zero points
 *   lowbit_format_fp8_block(elem, 1, g)        FP8 with a scale per g elements
 *   lowbit_format_mx(any MX element)           MXFP8, MXFP6, MXFP4, MXINT8
 *   lowbit_format_nvfp4() with flags |= LOWBIT_FMT_GIVEN_TENSOR_SCALE
 *                                              E2M1 with an E4M3 scale per 16 elements
 *                                              of a token, under a tensor scale per head
 *                                              given in head_scales (a positive normal
 *                                              finite f32, else LOWBIT_ERR_OUT_OF_RANGE)
 *
 * head_dim is a multiple of 16 up to 256; block lengths along head_dim must
 * divide it and be multiples of 16.  NVFP4 with a derived tensor scale
 * (which would change as the cache grows) and blocks spanning several
 * tokens are refused (LOWBIT_ERR_UNSUPPORTED).
 */
typedef struct lowbit_kv_cache {
    lowbit_format format;
    uint32_t head_dim;
    uint32_t kv_heads;
    uint32_t page_tokens;
    void *pages;               /* page_count pages, lowbit_kv_page_bytes() each */
    size_t page_count;
    size_t pages_bytes;        /* capacity of pages */
    const float *head_scales;  /* kv_heads FP8 per-head scales or NVFP4 tensor scales, else unused */
} lowbit_kv_cache;

/* Bytes of one page of cache (a multiple of 64; pages are laid out back to back). */
LOWBIT_API lowbit_status lowbit_kv_page_bytes(const lowbit_kv_cache *cache, size_t *bytes);

/*
 * Quantize on write: store n_tokens new tokens at positions pos .. pos +
 * n_tokens - 1 of a sequence.  src holds [n_tokens][kv_heads][head_dim]
 * values of src_type (f32, f16, bf16), token t at element t *
 * src_token_stride.  Position p lands in page block_table[p / page_tokens]
 * (block_table NULL: page p / page_tokens), slot p % page_tokens.  Each
 * token's head vector is quantized exactly as lowbit_quantize quantizes a
 * 1 x head_dim tensor of the cache's format (nearest even, saturating;
 * NVFP4 with head_scales[head] as the given tensor scale), except FP8
 * per-head, whose elements are encoded against head_scales.
 */
LOWBIT_API lowbit_status lowbit_kv_append(lowbit_kv_cache *cache, const int32_t *block_table,
                                          size_t block_table_len, size_t pos, size_t n_tokens,
                                          lowbit_dtype src_type, const void *src, size_t src_token_stride);

/* lowbit_attention_args.flags */
#define LOWBIT_ATTN_CAUSAL 0x1u  /* query i sees keys 0 .. q_pos + i only */

/*
 * out = softmax(scale * Q K^T + mask) V for one sequence, every query head.
 *
 *  q        [q_tokens][q_heads][head_dim] of q_type (f32, f16, bf16, or an
 *           FP8 type with the per-tensor scale q_scale), token t at element
 *           t * q_stride; query token i sits at position q_pos + i
 *  k, v     the caches (same head_dim, kv_heads and page_tokens; formats may
 *           differ), read through block_table for positions 0 .. kv_len - 1
 *  q_heads  a multiple of kv_heads: query head h reads kv head
 *           h / (q_heads / kv_heads) (grouped-query attention)
 *  mask     optional additive f32 mask [q_tokens][kv_len] (row stride
 *           mask_stride), the same for every head; -Inf hides a key
 *  out      [q_tokens][q_heads][head_dim] of out_type (f32, f16, bf16),
 *           token t at element t * out_stride
 *
 * Decode is q_tokens = 1; prefill any q_tokens.  The arithmetic is fixed
 * (docs/semantics.md, "Attention"): results are bit-identical on every
 * backend and thread count.  A query that sees no key gets zeros.
 */
typedef struct lowbit_attention_args {
    uint32_t q_heads;
    size_t q_tokens;
    lowbit_dtype q_type;
    const void *q;
    size_t q_stride;
    float q_scale;
    const lowbit_kv_cache *k, *v;
    const int32_t *block_table;
    size_t block_table_len;
    size_t kv_len;
    size_t q_pos;
    float scale;
    const float *mask;
    size_t mask_stride;
    lowbit_dtype out_type;
    void *out;
    size_t out_stride;
    uint32_t flags;
} lowbit_attention_args;

LOWBIT_API lowbit_status lowbit_attention(const lowbit_attention_args *args);

/* ------------------------------------------------------------------------ */
/* Backends and dispatch                                                    */
/* ------------------------------------------------------------------------ */

typedef enum lowbit_backend {
    LOWBIT_BACKEND_AUTO = 0,  /* best available (the default) */
    LOWBIT_BACKEND_REF,
    LOWBIT_BACKEND_AVX2,
    LOWBIT_BACKEND_AVX512,
    LOWBIT_BACKEND_AMX,
    LOWBIT_BACKEND_NEON,
    LOWBIT_BACKEND_CUDA,
    LOWBIT_BACKEND_HIP,
    LOWBIT_BACKEND_COUNT
} lowbit_backend;

LOWBIT_API const char *lowbit_backend_name(lowbit_backend b);
/* Parse "ref", "avx2", ... ; LOWBIT_BACKEND_COUNT if unknown. */
LOWBIT_API lowbit_backend lowbit_backend_from_name(const char *name);

/* LOWBIT_OK if b can run here; LOWBIT_ERR_BACKEND_NOT_BUILT or
 * LOWBIT_ERR_BACKEND_UNAVAILABLE (with a reason) otherwise. */
LOWBIT_API lowbit_status lowbit_backend_status(lowbit_backend b);

/*
 * Select the backend for host calls, for the whole process.  A CPU ISA
 * caps the level: ops use that ISA's kernel, or the best lower level that
 * has one, down to the reference.  LOWBIT_BACKEND_AUTO restores detection.
 * The environment variable LOWBIT_BACKEND (same names) sets the initial
 * choice.  Fails, changing nothing, if lowbit_backend_status(b) fails.
 * The device backends (CUDA, HIP) are not host backends: they are chosen
 * per call by the *_device entry points, and are refused here with
 * LOWBIT_ERR_UNSUPPORTED.
 */
LOWBIT_API lowbit_status lowbit_set_backend(lowbit_backend b);
/* The backend in force (never AUTO: the level detection picked). */
LOWBIT_API lowbit_backend lowbit_get_backend(void);

/*
 * Threads used by host calls on large inputs, for the whole process.  n = 1
 * keeps every call on the calling thread; n = 0 restores the default: the
 * environment variable LOWBIT_NUM_THREADS, else the CPUs this process may
 * run on.  Results never depend on the thread count: work is cut so that
 * every output element is computed the same way whichever thread runs it.
 * Calls from many threads at once share one pool (at most 256 threads).
 */
LOWBIT_API lowbit_status lowbit_set_num_threads(int n);
LOWBIT_API int lowbit_get_num_threads(void);

/* CPU features the library detected (cpuid + OS support), as a bit mask. */
#define LOWBIT_CPU_AVX2        (1u << 0)  /* with FMA and F16C */
#define LOWBIT_CPU_AVX512      (1u << 1)  /* F, BW, VL, DQ, CD */
#define LOWBIT_CPU_AVX512_VNNI (1u << 2)
#define LOWBIT_CPU_AVX512_BF16 (1u << 3)
#define LOWBIT_CPU_AVX512_FP16 (1u << 4)
#define LOWBIT_CPU_AVX512_VBMI (1u << 5)
#define LOWBIT_CPU_AMX         (1u << 6)  /* AMX-TILE + AMX-INT8 + AMX-BF16 */
#define LOWBIT_CPU_AVX_VNNI    (1u << 7)
#define LOWBIT_CPU_NEON        (1u << 8)
#define LOWBIT_CPU_NEON_DOTPROD (1u << 9)
#define LOWBIT_CPU_NEON_FP16   (1u << 10)
#define LOWBIT_CPU_NEON_BF16   (1u << 11)
LOWBIT_API uint32_t lowbit_cpu_features(void);

/* ------------------------------------------------------------------------ */
/* Device memory (CUDA, HIP)                                                */
/* ------------------------------------------------------------------------ */

/*
 * lowbit_convert on device memory: dst and src are pointers of the GPU
 * backend `backend` (LOWBIT_BACKEND_CUDA or LOWBIT_BACKEND_HIP), stream is a
 * cudaStream_t / hipStream_t cast to void * (NULL: the default stream).  The
 * call only enqueues work: it allocates nothing, never synchronizes, and
 * the result is bit-identical to lowbit_convert on the same input.  Host
 * pointers are refused with LOWBIT_ERR_WRONG_MEMORY.
 */
LOWBIT_API lowbit_status lowbit_convert_device(lowbit_backend backend, lowbit_dtype dst_type, void *dst,
                                               lowbit_dtype src_type, const void *src, size_t n,
                                               const lowbit_convert_opts *opts, void *stream);

/*
 * lowbit_quantize / lowbit_dequantize on device memory: src/dst and q's
 * data, scales and zero_points are device pointers; the results are
 * bit-identical to the host calls.  Asynchronous on `stream`, no allocation.
 * A scale over the whole tensor (FP8 / INT8 per-tensor) is reduced across
 * the grid on the stream, with q->data as the scratch space of the partial
 * results until the elements overwrite it.  NVFP4 (TENSOR_SCALE) is
 * quantized on the device with LOWBIT_FMT_GIVEN_TENSOR_SCALE only: a tensor
 * scale derived from the data would have to come back to the host-side field
 * q->tensor_scale, a synchronisation, so without the flag the call returns
 * LOWBIT_ERR_UNSUPPORTED.  q->tensor_scale is read on the host.
 */
LOWBIT_API lowbit_status lowbit_quantize_device(lowbit_backend backend, lowbit_qtensor *q,
                                                lowbit_dtype src_type, const void *src,
                                                size_t src_row_stride, const lowbit_convert_opts *opts,
                                                void *stream);
LOWBIT_API lowbit_status lowbit_dequantize_device(lowbit_backend backend, lowbit_dtype dst_type, void *dst,
                                                  size_t dst_row_stride, const lowbit_qtensor *q,
                                                  void *stream);

/*
 * lowbit_attention on a GPU backend (LOWBIT_BACKEND_CUDA): q, out, mask,
 * block_table, the caches' pages and head_scales are device pointers;
 * stream is a cudaStream_t cast to void * (NULL: the default stream).  The
 * args structure itself is read on the host.  Enqueues only (no allocation,
 * no synchronisation); bit-identical to lowbit_attention.  Block table
 * entries and head scales live on the device and are not checked: they
 * must be valid, as for lowbit_attention.
 */
LOWBIT_API lowbit_status lowbit_attention_device(lowbit_backend backend, const lowbit_attention_args *args,
                                                 void *stream);

/*
 * lowbit_kv_append on a GPU backend (LOWBIT_BACKEND_CUDA or _HIP): the
 * cache's pages and head_scales, block_table and src are device pointers;
 * the cache descriptor itself is read on the host.  Validated as
 * lowbit_kv_append (status and detail alike), then each pointer it uses is
 * checked to be device memory (LOWBIT_ERR_WRONG_MEMORY names it).  Enqueues
 * only (no allocation, no synchronisation); the pages get exactly the bytes
 * lowbit_kv_append writes.  Block table entries and head scales live on the
 * device and are not checked: they must be valid, as for lowbit_kv_append.
 * n_tokens = 0 is a no-op.
 */
LOWBIT_API lowbit_status lowbit_kv_append_device(lowbit_backend backend, lowbit_kv_cache *cache,
                                                 const int32_t *block_table, size_t block_table_len, size_t pos,
                                                 size_t n_tokens, lowbit_dtype src_type, const void *src,
                                                 size_t src_token_stride, void *stream);

/*
 * lowbit_gemm on a GPU backend (LOWBIT_BACKEND_CUDA or _HIP): the data, scales and
 * zero points of a and b, and c, are device pointers; the descriptors
 * themselves (and alpha, beta, NVFP4 tensor scales) are read on the host.
 * stream is a cudaStream_t cast to void * (NULL: the default stream).
 * Arguments are validated exactly as by lowbit_gemm, then every buffer the
 * call reads or writes is checked to be device memory
 * (LOWBIT_ERR_WRONG_MEMORY names the argument).  Enqueues only: no
 * allocation, no synchronisation.  M = 0 or N = 0 is a no-op.
 * Without LOWBIT_GEMM_ALLOW_FAST the result is bit-identical to
 * lowbit_gemm (integer pairs may run on integer tensor cores, which give
 * the same bits).  With it, FP8 x FP8 and MXFP8 x MXFP8 (OCP E4M3/E5M2) may
 * run on FP8 tensor cores (sm_89 and newer) inside the bound stated in
 * docs/semantics.md ("GEMM on the GPU").  HIP always runs the exact
 * kernel (stream: a hipStream_t); LOWBIT_GEMM_ALLOW_FAST changes nothing there.
 */
LOWBIT_API lowbit_status lowbit_gemm_device(lowbit_backend backend, const lowbit_qtensor *a,
                                            const lowbit_qtensor *b, float alpha, float beta,
                                            lowbit_dtype c_type, void *c, size_t ldc,
                                            const lowbit_gemm_opts *opts, void *stream);

/* Operations known to the kernel registry. */
typedef enum lowbit_op {
    LOWBIT_OP_CONVERT = 0,
    LOWBIT_OP_QUANTIZE,
    LOWBIT_OP_DEQUANTIZE,
    LOWBIT_OP_GEMM,
    LOWBIT_OP_ATTENTION,
    LOWBIT_OP_COUNT
} lowbit_op;

LOWBIT_API const char *lowbit_op_name(lowbit_op op);

/* One registered implementation. */
typedef struct lowbit_kernel_info {
    lowbit_op op;
    lowbit_backend backend;
    const char *name;        /* symbol-like name, e.g. "convert_any_any_ref" */
    const char *formats;     /* e.g. "f32->e4m3", "any->any", "mx" */
    int exact;               /* 1: bit-identical to the reference; 0: fast, bounded */
} lowbit_kernel_info;

/* Number of registered kernels (built into this library, whatever the CPU). */
LOWBIT_API size_t lowbit_kernel_count(void);
LOWBIT_API lowbit_status lowbit_kernel_get(size_t index, lowbit_kernel_info *info);

#ifdef __cplusplus
}
#endif

#endif /* LOWBIT_H */
