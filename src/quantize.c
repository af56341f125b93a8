/* quantize.c - lowbit_quantize / lowbit_dequantize: validation, then dispatch. */
#include <float.h>
#include <string.h>
#include "internal.h"
#include "../formats/scale.h"

static int lb_is_wide(lowbit_dtype t)
{
    return t == LOWBIT_F32 || t == LOWBIT_F16 || t == LOWBIT_BF16;
}

static lowbit_status lb_check_dense_side(lowbit_dtype t, const void *p, size_t stride,
                                         const lowbit_qtensor *q, const char *arg,
                                         const char *type_arg, const char *stride_arg, size_t *bytes)
{
    if ((unsigned)t >= LOWBIT_DTYPE_COUNT)
        return lb_fail(LOWBIT_ERR_INVALID_ENUM, "%s: unknown lowbit_dtype %d", type_arg, (int)t);
    if (!lb_is_wide(t))
        return lb_fail(LOWBIT_ERR_UNSUPPORTED, "%s: %s; the unquantized side must be f32, f16 or bf16",
                       type_arg, lowbit_dtype_name(t));
    *bytes = 0;
    if (q->rows == 0 || q->cols == 0)
        return LOWBIT_OK;
    if (!p)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "%s is NULL", arg);
    if (stride < q->cols)
        return lb_fail(LOWBIT_ERR_BAD_STRIDE, "%s = %zu is smaller than cols = %zu", stride_arg, stride,
                       q->cols);
    *bytes = lb_matrix_bytes(t, q->rows, q->cols, stride);
    if (*bytes == SIZE_MAX || (uintptr_t)p > UINTPTR_MAX - *bytes)
        return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW, "%s: %zu rows x stride %zu overflows the address space",
                       arg, q->rows, stride);
    return LOWBIT_OK;
}

static int lb_overlaps_q(const lowbit_qtensor *q, const void *p, size_t bytes)
{
    return lb_overlap(p, bytes, q->data, q->data_bytes) ||
           lb_overlap(p, bytes, q->scales, q->scales ? q->scales_bytes : 0) ||
           lb_overlap(p, bytes, q->zero_points, q->zero_points ? q->zero_points_bytes : 0);
}

lowbit_status lb_quantize_args(const lowbit_qtensor *q, lowbit_dtype src_type, const void *src,
                               size_t src_row_stride, const lowbit_convert_opts *opts, lb_cvt_params *p)
{
    lowbit_status s = lb_check_qtensor(q, "q");
    if (s != LOWBIT_OK)
        return s;
    if ((q->format.flags & LOWBIT_FMT_GIVEN_TENSOR_SCALE) && !(q->tensor_scale >= 0x1p-126f && q->tensor_scale <= FLT_MAX))
        return lb_fail(LOWBIT_ERR_OUT_OF_RANGE,
                       "q->tensor_scale: %g is not a positive normal finite f32 (LOWBIT_FMT_GIVEN_TENSOR_SCALE: "
                       "quantize divides by it)",
                       (double)q->tensor_scale);
    lb_cvt_params r = {0, 1, 0, 0};
    if (opts) {
        if ((unsigned)opts->rounding > LOWBIT_ROUND_STOCHASTIC)
            return lb_fail(LOWBIT_ERR_INVALID_ENUM, "opts->rounding: unknown lowbit_rounding %d",
                           (int)opts->rounding);
        r.mode = (int)opts->rounding;
        r.seed = opts->seed;
        r.offset = opts->offset;
    }
    *p = r;
    size_t src_bytes = 0;
    s = lb_check_dense_side(src_type, src, src_row_stride, q, "src", "src_type", "src_row_stride",
                            &src_bytes);
    if (s != LOWBIT_OK)
        return s;
    if (q->rows == 0 || q->cols == 0)
        return LOWBIT_OK;
    if (q->rows > UINT64_MAX / q->cols ||
        (r.mode == LOWBIT_ROUND_STOCHASTIC && q->rows * q->cols - 1 > UINT64_MAX - r.offset))
        return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW, "rows x cols + opts->offset overflows the 64-bit element index");
    if (lb_overlaps_q(q, src, src_bytes))
        return lb_fail(LOWBIT_ERR_ALIASING, "src overlaps the buffers of q");
    return LOWBIT_OK;
}

lowbit_status lb_dequantize_args(lowbit_dtype dst_type, const void *dst, size_t dst_row_stride,
                                 const lowbit_qtensor *q)
{
    lowbit_status s = lb_check_qtensor(q, "q");
    if (s != LOWBIT_OK)
        return s;
    size_t dst_bytes = 0;
    s = lb_check_dense_side(dst_type, dst, dst_row_stride, q, "dst", "dst_type", "dst_row_stride",
                            &dst_bytes);
    if (s != LOWBIT_OK)
        return s;
    if (q->rows == 0 || q->cols == 0)
        return LOWBIT_OK;
    if (lb_overlaps_q(q, dst, dst_bytes))
        return lb_fail(LOWBIT_ERR_ALIASING, "dst overlaps the buffers of q");
    return LOWBIT_OK;
}

/* ---- the scale of one block (shared by every CPU kernel) ------------- */

void lb_store_block_scale(lowbit_qtensor *q, lb_scheme scheme, size_t b, const lb_block_stats *s, float s_t)
{
    const int elem = q->format.elem, stype = q->format.scale_type;
    uint32_t code = 0;
    switch (scheme) {
    case LB_SCHEME_MX:    code = lb_mx_scale_code(s, elem, (int)q->format.rule); break;
    case LB_SCHEME_NVFP4: code = lb_nv_block_scale_code(s, elem, s_t); break;
    case LB_SCHEME_AMAX:  code = lb_amax_scale_code(s, elem, stype); break;
    case LB_SCHEME_ZP:    code = lb_zp_scale_code(s, elem, stype); break;
    default: return;
    }
    uint8_t *sc = (uint8_t *)q->scales;
    switch (lowbit_dtype_bits(q->format.scale_type)) {
    case 32: memcpy(sc + 4 * b, &code, 4); break;
    case 16: { uint16_t h = (uint16_t)code; memcpy(sc + 2 * b, &h, 2); } break;
    default: sc[b] = (uint8_t)code; break;
    }
    if (scheme == LB_SCHEME_ZP) {
        int32_t zp = lb_zp_value(s, elem, lb_decode(stype, code));
        lb_store_packed(lowbit_dtype_bits(q->format.elem), (uint8_t *)q->zero_points, b, (uint32_t)zp);
    }
}

/* ---- cutting a call into tasks ----------------------------------------
 * A task is a rectangle of rows x columns.  Quantize rectangles are whole
 * blocks (each block's scale is computed by exactly one task, from exactly
 * its elements); column splits fall on multiples of 8 elements so packed
 * rows split on bytes; 4-bit zero points, packed two per byte, are split so
 * that no two tasks write one byte.  Which task or thread handles a block
 * changes nothing in its bits: the cut only decides who does the work. */

#define LB_Q_TASK ((size_t)1 << 16) /* elements per task, roughly */
#define LB_MAX_STATS_TASKS 1024

typedef struct lb_tiling {
    size_t rows, cols;      /* extent */
    size_t tile_r, tile_c;  /* tile size in elements */
    size_t ntr, ntc;        /* tiles along rows and columns */
} lb_tiling;

static void lb_tiling_finish(lb_tiling *t)
{
    t->ntr = (t->rows + t->tile_r - 1) / t->tile_r;
    t->ntc = (t->cols + t->tile_c - 1) / t->tile_c;
}

static void lb_tile_rect(const lb_tiling *t, size_t task, size_t *r0, size_t *r1, size_t *c0, size_t *c1)
{
    size_t tr = task / t->ntc, tc = task % t->ntc;
    *r0 = tr * t->tile_r;
    *r1 = *r0 + t->tile_r < t->rows ? *r0 + t->tile_r : t->rows;
    *c0 = tc * t->tile_c;
    *c1 = *c0 + t->tile_c < t->cols ? *c0 + t->tile_c : t->cols;
}

/* Free tiling (no block constraint): about `per_task` elements each. */
static lb_tiling lb_tiling_free(size_t rows, size_t cols, size_t per_task)
{
    lb_tiling t = {rows, cols, rows, cols, 1, 1};
    if (cols >= per_task) {
        t.tile_r = 1;
        t.tile_c = (per_task + 7) & ~(size_t)7;
    } else {
        t.tile_r = per_task / cols;
    }
    lb_tiling_finish(&t);
    return t;
}

/* Tiling in whole blocks of the grid g. */
static lb_tiling lb_tiling_blocks(const lowbit_qtensor *q, const lb_grid *g, int zp4)
{
    lb_tiling t = {q->rows, q->cols, g->block_rows, q->cols, 1, 1};
    size_t grid_row = g->block_rows * q->cols;
    size_t block = g->block_rows * g->block_cols;
    if (grid_row > LB_Q_TASK && g->grid_cols > 1 && !(zp4 && g->grid_cols % 2)) {
        size_t cpt = LB_Q_TASK / block ? LB_Q_TASK / block : 1;
        while ((cpt * g->block_cols) % 8 || (zp4 && cpt % 2))
            cpt++;
        t.tile_c = cpt * g->block_cols;
    } else {
        size_t gpt = grid_row < LB_Q_TASK ? LB_Q_TASK / grid_row : 1;
        if (zp4 && g->grid_cols % 2 && gpt % 2)
            gpt++;
        t.tile_r = gpt * g->block_rows;
    }
    lb_tiling_finish(&t);
    return t;
}

typedef struct lb_qrun {
    const lb_kernel *k;
    lb_qjob job;
    lb_tiling tiles;
    lb_block_stats *partial; /* stats pass: one per task */
} lb_qrun;

static void lb_stats_task(void *ctx, size_t task)
{
    lb_qrun *r = ctx;
    size_t r0, r1, c0, c1;
    lb_tile_rect(&r->tiles, task, &r0, &r1, &c0, &c1);
    r->k->stats(r->job.wide_type, r->job.src, r->job.stride, r0, r1, c0, c1, &r->partial[task]);
}

static void lb_quantize_task(void *ctx, size_t task)
{
    lb_qrun *r = ctx;
    size_t r0, r1, c0, c1;
    lb_tile_rect(&r->tiles, task, &r0, &r1, &c0, &c1);
    r->k->quantize(&r->job, r0, r1, c0, c1);
}

static void lb_dequantize_task(void *ctx, size_t task)
{
    lb_qrun *r = ctx;
    size_t r0, r1, c0, c1;
    lb_tile_rect(&r->tiles, task, &r0, &r1, &c0, &c1);
    r->k->dequantize(&r->job, r0, r1, c0, c1);
}

/* Statistics of the whole source, in parallel; max and min are exact in
 * any order, so the merge order does not matter. */
static void lb_tensor_stats(lb_qrun *r, lb_block_stats *all)
{
    size_t total = r->job.q->rows * r->job.q->cols;
    size_t per = total / LB_MAX_STATS_TASKS + 1 > LB_Q_TASK ? total / LB_MAX_STATS_TASKS + 1 : LB_Q_TASK;
    lb_block_stats partial[LB_MAX_STATS_TASKS];
    r->tiles = lb_tiling_free(r->job.q->rows, r->job.q->cols, per);
    r->partial = partial;
    size_t n = r->tiles.ntr * r->tiles.ntc;
    lb_parallel_for(n, lb_stats_task, r);
    lb_stats_init(all);
    for (size_t i = 0; i < n; i++) {
        if (partial[i].amax > all->amax) all->amax = partial[i].amax;
        if (partial[i].vmax > all->vmax) all->vmax = partial[i].vmax;
        if (partial[i].vmin < all->vmin) all->vmin = partial[i].vmin;
        all->nonfinite |= partial[i].nonfinite;
    }
}

/* The parts of a run both directions share. */
static void lb_qrun_init(lb_qrun *r, const lb_kernel *k, const lowbit_qtensor *q, lowbit_dtype wide,
                         size_t stride)
{
    memset(r, 0, sizeof *r);
    r->k = k;
    r->job.cq = q;
    r->job.wide_type = wide;
    r->job.stride = stride;
    r->job.scheme = lb_format_scheme(&q->format);
    lb_grid_of(q, &r->job.g);
}

void lb_run_quantize(const lb_kernel *k, lowbit_qtensor *q, lowbit_dtype src_type, const void *src,
                     size_t src_row_stride, const lb_cvt_params *p)
{
    lb_qrun r;
    lb_qrun_init(&r, k, q, src_type, src_row_stride);
    r.job.q = q;
    r.job.src = src;
    r.job.p = *p;
    r.job.s_t = 1.0f;
    const lb_grid *g = &r.job.g;
    int whole = g->grid_rows * g->grid_cols == 1 && q->rows * q->cols > LB_Q_TASK;
    int zp4 = r.job.scheme == LB_SCHEME_ZP && lowbit_dtype_bits(q->format.elem) == 4;

    if (r.job.scheme == LB_SCHEME_ZP)
        memset(q->zero_points, 0, lowbit_dtype_bytes(q->format.elem, g->grid_rows * g->grid_cols));
    /* NVFP4's tensor scale: the caller's, or derived from the tensor's amax */
    int derive_ts = r.job.scheme == LB_SCHEME_NVFP4 && !(q->format.flags & LOWBIT_FMT_GIVEN_TENSOR_SCALE);
    if (r.job.scheme == LB_SCHEME_NVFP4 && !derive_ts)
        r.job.s_t = q->tensor_scale;
    if (derive_ts || whole) {
        lb_block_stats all;
        lb_tensor_stats(&r, &all);
        if (derive_ts) {
            r.job.s_t = lb_nv_tensor_scale(all.amax, q->format.elem);
            q->tensor_scale = r.job.s_t;
        }
        if (whole) {
            lb_store_block_scale(q, r.job.scheme, 0, &all, r.job.s_t);
            r.job.scales_ready = 1;
        }
    }
    r.tiles = whole ? lb_tiling_free(q->rows, q->cols, LB_Q_TASK) : lb_tiling_blocks(q, g, zp4);
    lb_parallel_for(r.tiles.ntr * r.tiles.ntc, lb_quantize_task, &r);
}

void lb_run_dequantize(const lb_kernel *k, lowbit_dtype dst_type, void *dst, size_t dst_row_stride,
                       const lowbit_qtensor *q)
{
    lb_qrun r;
    lb_qrun_init(&r, k, q, dst_type, dst_row_stride);
    r.job.dst = dst;
    r.job.s_t = q->tensor_scale;
    r.tiles = lb_tiling_free(q->rows, q->cols, LB_Q_TASK);
    lb_parallel_for(r.tiles.ntr * r.tiles.ntc, lb_dequantize_task, &r);
}

lowbit_status lowbit_quantize(lowbit_qtensor *q, lowbit_dtype src_type, const void *src,
                              size_t src_row_stride, const lowbit_convert_opts *opts)
{
    lb_cvt_params p;
    lowbit_status s = lb_quantize_args(q, src_type, src, src_row_stride, opts, &p);
    if (s != LOWBIT_OK)
        return s;
    if (q->rows == 0 || q->cols == 0)
        return lb_ok();
    lb_scheme scheme = lb_format_scheme(&q->format);
    const lb_kernel *k = lb_find_quantize(scheme, q->format.elem, src_type, p.mode);
    if (!k)
        return lb_fail(LOWBIT_ERR_INTERNAL, "no quantize kernel registered for this format");
    lb_run_quantize(k, q, src_type, src, src_row_stride, &p);
    return lb_ok();
}

lowbit_status lowbit_dequantize(lowbit_dtype dst_type, void *dst, size_t dst_row_stride,
                                const lowbit_qtensor *q)
{
    lowbit_status s = lb_dequantize_args(dst_type, dst, dst_row_stride, q);
    if (s != LOWBIT_OK)
        return s;
    if (q->rows == 0 || q->cols == 0)
        return lb_ok();
    lb_scheme scheme = lb_format_scheme(&q->format);
    const lb_kernel *k = lb_find_dequantize(scheme, q->format.elem, dst_type);
    if (!k)
        return lb_fail(LOWBIT_ERR_INTERNAL, "no dequantize kernel registered for this format");
    lb_run_dequantize(k, dst_type, dst, dst_row_stride, q);
    return lb_ok();
}
