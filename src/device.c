/*
 * device.c - entry points on device memory.  Arguments are validated here,
 * exactly as for the host calls (src/convert.c); the GPU backend (CUDA:
 * kernels/cuda/, HIP: the same sources in liblowbit-hip.so), reached through
 * its lb_gpu_ops table, then checks where the pointers live and enqueues the
 * kernel.  Both device backends take the same path through this file.
 */
#include "internal.h"
#include "lowbit_config.h"
#include "gpu.h"

lowbit_status lb_device_backend(lowbit_backend backend)
{
    if ((unsigned)backend >= LOWBIT_BACKEND_COUNT)
        return lb_fail(LOWBIT_ERR_INVALID_ENUM, "backend: unknown lowbit_backend %d", (int)backend);
    if (backend != LOWBIT_BACKEND_CUDA && backend != LOWBIT_BACKEND_HIP)
        return lb_fail(LOWBIT_ERR_UNSUPPORTED, "backend: %s is not a device backend (use cuda or hip)",
                       lowbit_backend_name(backend));
    return LOWBIT_OK;
}

/* Every buffer of q that the shape uses must be device memory. */
static lowbit_status lb_device_check_q(const lb_gpu_ops *ops, const lowbit_qtensor *q)
{
    lowbit_status s = ops->check_pointer(q->data, "q->data");
    if (s == LOWBIT_OK && lb_format_scheme(&q->format) != LB_SCHEME_PLAIN)
        s = ops->check_pointer(q->scales, "q->scales");
    if (s == LOWBIT_OK && (q->format.flags & LOWBIT_FMT_ZERO_POINT))
        s = ops->check_pointer(q->zero_points, "q->zero_points");
    return s;
}

lowbit_status lowbit_convert_device(lowbit_backend backend, lowbit_dtype dst_type, void *dst,
                                    lowbit_dtype src_type, const void *src, size_t n,
                                    const lowbit_convert_opts *opts, void *stream)
{
    lowbit_status s = lb_device_backend(backend);
    if (s != LOWBIT_OK)
        return s;
    lb_cvt_params p;
    s = lb_convert_args(dst_type, dst, src_type, src, n, opts, &p);
    if (s != LOWBIT_OK)
        return s;
    const lb_gpu_ops *ops = lb_gpu_ops_for(backend, &s);
    if (!ops)
        return s;
    if (n == 0)
        return lb_ok();
    if ((s = ops->check_pointer(dst, "dst")) != LOWBIT_OK || (s = ops->check_pointer(src, "src")) != LOWBIT_OK)
        return s;
    s = ops->convert(dst_type, dst, src_type, src, n, &p, stream);
    return s == LOWBIT_OK ? lb_ok() : s;
}

lowbit_status lowbit_quantize_device(lowbit_backend backend, lowbit_qtensor *q, lowbit_dtype src_type,
                                     const void *src, size_t src_row_stride,
                                     const lowbit_convert_opts *opts, void *stream)
{
    lowbit_status s = lb_device_backend(backend);
    if (s != LOWBIT_OK)
        return s;
    lb_cvt_params p;
    if ((s = lb_quantize_args(q, src_type, src, src_row_stride, opts, &p)) != LOWBIT_OK)
        return s;
    const lb_gpu_ops *ops = lb_gpu_ops_for(backend, &s);
    if (!ops)
        return s;
    if (lb_format_scheme(&q->format) == LB_SCHEME_NVFP4 && !(q->format.flags & LOWBIT_FMT_GIVEN_TENSOR_SCALE))
        return lb_fail(LOWBIT_ERR_UNSUPPORTED,
                       "q->format: NVFP4's tensor scale would be derived from the whole tensor into the host-side "
                       "field q->tensor_scale, which a stream-ordered device call cannot fill; give it "
                       "(LOWBIT_FMT_GIVEN_TENSOR_SCALE) or quantize on the host");
    if (q->rows == 0 || q->cols == 0)
        return lb_ok();
    if ((s = lb_device_check_q(ops, q)) != LOWBIT_OK || (s = ops->check_pointer(src, "src")) != LOWBIT_OK)
        return s;
    s = ops->quantize(q, src_type, src, src_row_stride, &p, stream);
    return s == LOWBIT_OK ? lb_ok() : s;
}

lowbit_status lowbit_dequantize_device(lowbit_backend backend, lowbit_dtype dst_type, void *dst,
                                       size_t dst_row_stride, const lowbit_qtensor *q, void *stream)
{
    lowbit_status s = lb_device_backend(backend);
    if (s != LOWBIT_OK)
        return s;
    if ((s = lb_dequantize_args(dst_type, dst, dst_row_stride, q)) != LOWBIT_OK)
        return s;
    const lb_gpu_ops *ops = lb_gpu_ops_for(backend, &s);
    if (!ops)
        return s;
    if (q->rows == 0 || q->cols == 0)
        return lb_ok();
    if ((s = lb_device_check_q(ops, q)) != LOWBIT_OK || (s = ops->check_pointer(dst, "dst")) != LOWBIT_OK)
        return s;
    s = ops->dequantize(dst_type, dst, dst_row_stride, q, stream);
    return s == LOWBIT_OK ? lb_ok() : s;
}

lowbit_status lowbit_attention_device(lowbit_backend backend, const lowbit_attention_args *args, void *stream)
{
    lowbit_status s = lb_device_backend(backend);
    if (s != LOWBIT_OK)
        return s;
    lb_attn_job j;
    if ((s = lb_attn_job_init(&j, args, 1)) != LOWBIT_OK)
        return s;
    const lb_gpu_ops *ops = lb_gpu_ops_for(backend, &s);
    if (!ops)
        return s;
    if (j.q_tokens == 0)
        return lb_ok();
    if ((s = ops->check_pointer(args->q, "args->q")) != LOWBIT_OK ||
        (s = ops->check_pointer(args->out, "args->out")) != LOWBIT_OK)
        return s;
    /* The mask is read only when there are keys (validation ignores it otherwise). */
    if (args->mask && j.kv_len && (s = ops->check_pointer(args->mask, "args->mask")) != LOWBIT_OK)
        return s;
    if (j.kv_len) {
        if ((s = ops->check_pointer(args->k->pages, "args->k->pages")) != LOWBIT_OK ||
            (s = ops->check_pointer(args->v->pages, "args->v->pages")) != LOWBIT_OK)
            return s;
        if (args->block_table && (s = ops->check_pointer(args->block_table, "args->block_table")) != LOWBIT_OK)
            return s;
        if (j.k.head_scales && (s = ops->check_pointer(j.k.head_scales, "args->k->head_scales")) != LOWBIT_OK)
            return s;
        if (j.v.head_scales && (s = ops->check_pointer(j.v.head_scales, "args->v->head_scales")) != LOWBIT_OK)
            return s;
    }
    s = ops->attention(&j, stream);
    return s == LOWBIT_OK ? lb_ok() : s;
}

lowbit_status lowbit_kv_append_device(lowbit_backend backend, lowbit_kv_cache *cache, const int32_t *block_table,
                                      size_t block_table_len, size_t pos, size_t n_tokens, lowbit_dtype src_type,
                                      const void *src, size_t src_token_stride, void *stream)
{
    lowbit_status s = lb_device_backend(backend);
    if (s != LOWBIT_OK)
        return s;
    lb_kv_append_job j;
    if ((s = lb_kv_append_job_init(&j, cache, block_table, block_table_len, pos, n_tokens, src_type, src,
                                   src_token_stride, 1)) != LOWBIT_OK)
        return s;
    const lb_gpu_ops *ops = lb_gpu_ops_for(backend, &s);
    if (!ops)
        return s;
    if (j.n_tokens == 0)
        return lb_ok();
    if ((s = ops->check_pointer(src, "src")) != LOWBIT_OK ||
        (s = ops->check_pointer(cache->pages, "cache->pages")) != LOWBIT_OK)
        return s;
    if (block_table && (s = ops->check_pointer(block_table, "block_table")) != LOWBIT_OK)
        return s;
    if (j.v.head_scales && (s = ops->check_pointer(j.v.head_scales, "cache->head_scales")) != LOWBIT_OK)
        return s;
    s = ops->kv_append(&j, stream);
    return s == LOWBIT_OK ? lb_ok() : s;
}
