/* convert.c - lowbit_convert: argument checks, then the dispatched kernel. */
#include "internal.h"

lowbit_status lb_convert_args(lowbit_dtype dst_type, const void *dst, lowbit_dtype src_type,
                              const void *src, size_t n, const lowbit_convert_opts *opts,
                              lb_cvt_params *p)
{
    if ((unsigned)dst_type >= LOWBIT_DTYPE_COUNT)
        return lb_fail(LOWBIT_ERR_INVALID_ENUM, "dst_type: unknown lowbit_dtype %d", (int)dst_type);
    if ((unsigned)src_type >= LOWBIT_DTYPE_COUNT)
        return lb_fail(LOWBIT_ERR_INVALID_ENUM, "src_type: unknown lowbit_dtype %d", (int)src_type);
    lb_cvt_params q = {0, 0, 0, 0};
    if (opts) {
        if ((unsigned)opts->rounding > LOWBIT_ROUND_STOCHASTIC)
            return lb_fail(LOWBIT_ERR_INVALID_ENUM, "opts->rounding: unknown lowbit_rounding %d",
                           (int)opts->rounding);
        q.mode = (int)opts->rounding;
        q.saturate = opts->saturate != 0;
        q.seed = opts->seed;
        q.offset = opts->offset;
    }
    *p = q;
    if (n == 0)
        return LOWBIT_OK;
    if (!dst)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "dst is NULL (n = %zu)", n);
    if (!src)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "src is NULL (n = %zu)", n);

    size_t dst_bytes = lowbit_dtype_bytes(dst_type, n);
    size_t src_bytes = lowbit_dtype_bytes(src_type, n);
    if (dst_bytes == SIZE_MAX || src_bytes == SIZE_MAX ||
        (uintptr_t)dst > UINTPTR_MAX - dst_bytes || (uintptr_t)src > UINTPTR_MAX - src_bytes)
        return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW,
                       "n = %zu: the byte count of src or dst overflows the address space", n);
    if (q.mode == LOWBIT_ROUND_STOCHASTIC && n - 1 > UINT64_MAX - q.offset)
        return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW,
                       "opts->offset + n overflows the 64-bit element index of stochastic rounding");
    if (lb_overlap(dst, dst_bytes, src, src_bytes))
        return lb_fail(LOWBIT_ERR_ALIASING, "dst and src overlap");
    return LOWBIT_OK;
}

/* Elements per task: big enough that a task is ~100 us of memory traffic,
 * a multiple of 8 so that packed 4- and 6-bit ranges start on a byte. */
#define LB_CONVERT_CHUNK ((size_t)1 << 16)

typedef struct lb_convert_job {
    const lb_kernel *k;
    uint8_t *dst;
    const uint8_t *src;
    lowbit_dtype dt, st;
    size_t n;
    lb_cvt_params p;
} lb_convert_job;

static void lb_convert_task(void *ctx, size_t t)
{
    const lb_convert_job *j = ctx;
    size_t i0 = t * LB_CONVERT_CHUNK;
    size_t n = j->n - i0 < LB_CONVERT_CHUNK ? j->n - i0 : LB_CONVERT_CHUNK;
    lb_cvt_params p = j->p;
    p.offset += i0;
    /* i0 * bits is a whole number of bytes: i0 is a multiple of 8 */
    j->k->convert(j->dst + i0 / 8 * lowbit_dtype_bits(j->dt), j->dt,
                  j->src + i0 / 8 * lowbit_dtype_bits(j->st), j->st, n, &p);
}

void lb_run_convert(const lb_kernel *k, void *dst, lowbit_dtype dst_type, const void *src,
                    lowbit_dtype src_type, size_t n, const lb_cvt_params *p)
{
    if (n == 0)
        return;
    lb_convert_job j = {k, dst, src, dst_type, src_type, n, *p};
    lb_parallel_for((n + LB_CONVERT_CHUNK - 1) / LB_CONVERT_CHUNK, lb_convert_task, &j);
}

lowbit_status lowbit_convert(lowbit_dtype dst_type, void *dst, lowbit_dtype src_type,
                             const void *src, size_t n, const lowbit_convert_opts *opts)
{
    lb_cvt_params p;
    lowbit_status s = lb_convert_args(dst_type, dst, src_type, src, n, opts, &p);
    if (s != LOWBIT_OK)
        return s;
    if (n == 0)
        return lb_ok();
    const lb_kernel *k = lb_find_convert(dst_type, src_type, p.mode);
    if (!k)
        return lb_fail(LOWBIT_ERR_INTERNAL, "no kernel registered for %s->%s",
                       lowbit_dtype_name(src_type), lowbit_dtype_name(dst_type));
    lb_run_convert(k, dst, dst_type, src, src_type, n, &p);
    return lb_ok();
}
