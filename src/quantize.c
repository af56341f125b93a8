/* quantize.c - lowbit_quantize / lowbit_dequantize: validation, then dispatch. */
#include "internal.h"

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
    const lb_kernel *k = lb_find_quantize(scheme, src_type, p.mode);
    if (!k)
        return lb_fail(LOWBIT_ERR_INTERNAL, "no quantize kernel registered for this format");
    k->quantize(q, src_type, src, src_row_stride, &p);
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
    const lb_kernel *k = lb_find_dequantize(scheme, dst_type);
    if (!k)
        return lb_fail(LOWBIT_ERR_INTERNAL, "no dequantize kernel registered for this format");
    k->dequantize(dst_type, dst, dst_row_stride, q);
    return lb_ok();
}
