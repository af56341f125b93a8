/* format.c - scaled-format descriptors and qtensor validation. */
#include <stdio.h>
#include <string.h>
#include "internal.h"

static int lb_is_int(lowbit_dtype t)
{
    return t == LOWBIT_INT8 || t == LOWBIT_INT4 || t == LOWBIT_UINT4;
}

static int lb_is_narrow_float(lowbit_dtype t)
{
    return t >= LOWBIT_E4M3 && t <= LOWBIT_E2M1;
}

static int lb_is_wide_float(lowbit_dtype t)
{
    return t == LOWBIT_F32 || t == LOWBIT_F16 || t == LOWBIT_BF16;
}

static lowbit_format lb_make(lowbit_dtype elem, lowbit_dtype scale, uint32_t br, uint32_t bc,
                             lowbit_scale_rule rule, uint32_t flags)
{
    lowbit_format f;
    memset(&f, 0, sizeof f);
    f.elem = elem;
    f.scale_type = scale;
    f.block_rows = br;
    f.block_cols = bc;
    f.rule = rule;
    f.flags = flags;
    return f;
}

lowbit_format lowbit_format_mx(lowbit_dtype elem, lowbit_scale_rule rule)
{
    return lb_make(elem, LOWBIT_E8M0, 1, 32, rule, 0);
}

lowbit_format lowbit_format_nvfp4(void)
{
    return lb_make(LOWBIT_E2M1, LOWBIT_E4M3, 1, 16, LOWBIT_SCALE_FLOOR, LOWBIT_FMT_TENSOR_SCALE);
}

lowbit_format lowbit_format_fp8_tensor(lowbit_dtype elem)
{
    return lb_make(elem, LOWBIT_F32, 0, 0, LOWBIT_SCALE_FLOOR, 0);
}

lowbit_format lowbit_format_fp8_row(lowbit_dtype elem)
{
    return lb_make(elem, LOWBIT_F32, 1, 0, LOWBIT_SCALE_FLOOR, 0);
}

lowbit_format lowbit_format_fp8_block(lowbit_dtype elem, uint32_t block_rows, uint32_t block_cols)
{
    return lb_make(elem, LOWBIT_F32, block_rows, block_cols, LOWBIT_SCALE_FLOOR, 0);
}

lowbit_format lowbit_format_int_group(lowbit_dtype elem, uint32_t group, lowbit_dtype scale_type,
                                      int zero_point)
{
    return lb_make(elem, scale_type, 1, group, LOWBIT_SCALE_FLOOR,
                   zero_point ? LOWBIT_FMT_ZERO_POINT : 0);
}

lb_scheme lb_format_scheme(const lowbit_format *f)
{
    if (f->scale_type == LB_NO_SCALE)
        return LB_SCHEME_PLAIN;
    if (f->scale_type == LOWBIT_E8M0)
        return LB_SCHEME_MX;
    if (f->scale_type == LOWBIT_E4M3)
        return LB_SCHEME_NVFP4;
    return (f->flags & LOWBIT_FMT_ZERO_POINT) ? LB_SCHEME_ZP : LB_SCHEME_AMAX;
}

lowbit_status lowbit_format_check(const lowbit_format *f)
{
    if (!f)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "format is NULL");
    if ((unsigned)f->elem >= LOWBIT_DTYPE_COUNT)
        return lb_fail(LOWBIT_ERR_INVALID_ENUM, "format.elem: unknown lowbit_dtype %d", (int)f->elem);
    if ((unsigned)f->scale_type > LOWBIT_DTYPE_COUNT)
        return lb_fail(LOWBIT_ERR_INVALID_ENUM, "format.scale_type: unknown lowbit_dtype %d",
                       (int)f->scale_type);
    if ((unsigned)f->rule >= LOWBIT_SCALE_RULE_COUNT)
        return lb_fail(LOWBIT_ERR_INVALID_ENUM, "format.rule: unknown lowbit_scale_rule %d", (int)f->rule);
    const uint32_t known = LOWBIT_FMT_ZERO_POINT | LOWBIT_FMT_TENSOR_SCALE | LOWBIT_FMT_GIVEN_TENSOR_SCALE;
    if (f->flags & ~known)
        return lb_fail(LOWBIT_ERR_INVALID_ENUM, "format.flags: unknown bits 0x%x", f->flags & ~known);
    const char *en = lowbit_dtype_name(f->elem);
    if (!lb_is_narrow_float(f->elem) && !lb_is_int(f->elem))
        return lb_fail(LOWBIT_ERR_UNSUPPORTED,
                       "format.elem: %s is not a quantized element type (FP8/FP6/FP4/INT8/INT4/UINT4)", en);
    if (f->rule != LOWBIT_SCALE_FLOOR && f->scale_type != LOWBIT_E8M0)
        return lb_fail(LOWBIT_ERR_UNSUPPORTED, "format.rule: scale rules apply to E8M0 (MX) scales only");
    if ((f->flags & LOWBIT_FMT_TENSOR_SCALE) && f->scale_type != LOWBIT_E4M3)
        return lb_fail(LOWBIT_ERR_UNSUPPORTED,
                       "format.flags: TENSOR_SCALE needs E4M3 block scales (NVFP4-style)");
    if ((f->flags & LOWBIT_FMT_GIVEN_TENSOR_SCALE) && !(f->flags & LOWBIT_FMT_TENSOR_SCALE))
        return lb_fail(LOWBIT_ERR_UNSUPPORTED, "format.flags: GIVEN_TENSOR_SCALE needs TENSOR_SCALE (NVFP4-style)");
    if ((f->flags & LOWBIT_FMT_ZERO_POINT) && !lb_is_int(f->elem))
        return lb_fail(LOWBIT_ERR_UNSUPPORTED, "format.flags: ZERO_POINT needs an integer element, not %s", en);
    if ((f->flags & LOWBIT_FMT_ZERO_POINT) && !lb_is_wide_float(f->scale_type))
        return lb_fail(LOWBIT_ERR_UNSUPPORTED, "format.flags: ZERO_POINT needs an f32/f16/bf16 scale");

    switch (lb_format_scheme(f)) {
    case LB_SCHEME_PLAIN:
        if (f->flags)
            return lb_fail(LOWBIT_ERR_UNSUPPORTED, "format.flags: set on a format without scales");
        break;
    case LB_SCHEME_MX:
        if (!lb_is_narrow_float(f->elem) && f->elem != LOWBIT_INT8)
            return lb_fail(LOWBIT_ERR_UNSUPPORTED,
                           "format.elem: E8M0 (MX) scales take E4M3/E5M2/E3M2/E2M3/E2M1/INT8 elements, not %s", en);
        if (f->elem == LOWBIT_E4M3FNUZ || f->elem == LOWBIT_E5M2FNUZ)
            return lb_fail(LOWBIT_ERR_UNSUPPORTED, "format.elem: MX formats do not define %s elements", en);
        break;
    case LB_SCHEME_NVFP4:
        if (!(f->flags & LOWBIT_FMT_TENSOR_SCALE))
            return lb_fail(LOWBIT_ERR_UNSUPPORTED,
                           "format.scale_type: E4M3 block scales need LOWBIT_FMT_TENSOR_SCALE (NVFP4)");
        if (!lb_is_narrow_float(f->elem))
            return lb_fail(LOWBIT_ERR_UNSUPPORTED, "format.elem: NVFP4-style scaling needs a float element, not %s", en);
        break;
    case LB_SCHEME_AMAX:
        if (!lb_is_wide_float(f->scale_type))
            return lb_fail(LOWBIT_ERR_UNSUPPORTED, "format.scale_type: %s is not a scale type",
                           lowbit_dtype_name(f->scale_type));
        if (f->elem == LOWBIT_UINT4)
            return lb_fail(LOWBIT_ERR_UNSUPPORTED, "format.elem: uint4 needs LOWBIT_FMT_ZERO_POINT");
        break;
    case LB_SCHEME_ZP:
    default:
        break;
    }
    return lb_ok();
}

char *lowbit_format_name(const lowbit_format *f, char *buf, size_t len)
{
    static const char *rules[] = {"floor", "rceil", "ceil", "even"};
    if (!buf || len == 0)
        return buf;
    if (!f || lowbit_format_check(f) != LOWBIT_OK) {
        snprintf(buf, len, "invalid");
        return buf;
    }
    const char *en = lowbit_dtype_name(f->elem);
    char block[48];
    if (f->block_rows == 0 && f->block_cols == 0)
        snprintf(block, sizeof block, "tensor");
    else if (f->block_rows == 1 && f->block_cols == 0)
        snprintf(block, sizeof block, "row");
    else if (f->block_rows == 1)
        snprintf(block, sizeof block, "g%u", f->block_cols);
    else
        snprintf(block, sizeof block, "b%ux%u", f->block_rows, f->block_cols);
    switch (lb_format_scheme(f)) {
    case LB_SCHEME_PLAIN:
        snprintf(buf, len, "%s", en);
        break;
    case LB_SCHEME_MX:
        snprintf(buf, len, "mx_%s_%s/%s", en, block, rules[f->rule]);
        break;
    case LB_SCHEME_NVFP4:
        snprintf(buf, len, "nv_%s_%s%s", en, block, (f->flags & LOWBIT_FMT_GIVEN_TENSOR_SCALE) ? "_given" : "");
        break;
    default:
        snprintf(buf, len, "%s_%s_%s%s", en, block, lowbit_dtype_name(f->scale_type),
                 (f->flags & LOWBIT_FMT_ZERO_POINT) ? "_zp" : "");
        break;
    }
    return buf;
}

void lb_grid_of(const lowbit_qtensor *q, lb_grid *g)
{
    g->block_rows = q->format.block_rows ? q->format.block_rows : (q->rows ? q->rows : 1);
    g->block_cols = q->format.block_cols ? q->format.block_cols : (q->cols ? q->cols : 1);
    if (lb_format_scheme(&q->format) == LB_SCHEME_PLAIN) {
        g->grid_rows = g->grid_cols = 0;
        return;
    }
    g->grid_rows = (q->rows + g->block_rows - 1) / g->block_rows;
    g->grid_cols = (q->cols + g->block_cols - 1) / g->block_cols;
}

static size_t lb_min_stride(lowbit_dtype t, size_t cols)
{
    unsigned bits = lowbit_dtype_bits(t);
    if (bits == 4)
        return cols + (cols & 1);
    if (bits == 6)
        return (cols + 3) & ~(size_t)3;
    return cols;
}

/* Sizes a qtensor of this shape needs; SIZE_MAX fields on overflow. */
static void lb_needs(const lowbit_qtensor *q, size_t *data, size_t *scales, size_t *zps)
{
    lb_grid g;
    lb_grid_of(q, &g);
    *data = lb_matrix_bytes(q->format.elem, q->rows, q->cols, q->row_stride);
    size_t blocks = 0;
    if (g.grid_rows && g.grid_cols)
        blocks = g.grid_rows > SIZE_MAX / g.grid_cols ? SIZE_MAX : g.grid_rows * g.grid_cols;
    *scales = lb_format_scheme(&q->format) == LB_SCHEME_PLAIN ? 0
              : blocks == SIZE_MAX ? SIZE_MAX
                                   : lowbit_dtype_bytes(q->format.scale_type, blocks);
    *zps = !(q->format.flags & LOWBIT_FMT_ZERO_POINT) ? 0
           : blocks == SIZE_MAX ? SIZE_MAX
                                : lowbit_dtype_bytes(q->format.elem, blocks);
}

lowbit_status lowbit_qtensor_init(lowbit_qtensor *q, const lowbit_format *fmt, size_t rows, size_t cols)
{
    if (!q)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "q is NULL");
    lowbit_status s = lowbit_format_check(fmt);
    if (s != LOWBIT_OK)
        return s;
    lowbit_qtensor t;
    memset(&t, 0, sizeof t);
    t.format = *fmt;
    t.rows = rows;
    t.cols = cols;
    t.row_stride = lb_min_stride(fmt->elem, cols);
    t.tensor_scale = 1.0f;
    if (t.row_stride < cols)
        return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW, "cols = %zu overflows the row stride", cols);
    lb_needs(&t, &t.data_bytes, &t.scales_bytes, &t.zero_points_bytes);
    if (t.data_bytes == SIZE_MAX || t.scales_bytes == SIZE_MAX || t.zero_points_bytes == SIZE_MAX)
        return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW, "rows x cols = %zu x %zu: the buffers do not fit in size_t bytes",
                       rows, cols);
    *q = t;
    return lb_ok();
}

lowbit_status lowbit_qtensor_grid(const lowbit_qtensor *q, size_t *grid_rows, size_t *grid_cols)
{
    if (!q || !grid_rows || !grid_cols)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "%s is NULL", !q ? "q" : !grid_rows ? "grid_rows" : "grid_cols");
    lowbit_status s = lowbit_format_check(&q->format);
    if (s != LOWBIT_OK)
        return s;
    lb_grid g;
    lb_grid_of(q, &g);
    *grid_rows = g.grid_rows;
    *grid_cols = g.grid_cols;
    return lb_ok();
}

lowbit_status lb_check_qtensor(const lowbit_qtensor *q, const char *arg)
{
    if (!q)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "%s is NULL", arg);
    lowbit_status s = lowbit_format_check(&q->format);
    if (s != LOWBIT_OK)
        return s;
    if (q->rows == 0 || q->cols == 0)
        return LOWBIT_OK;
    if (q->row_stride < q->cols)
        return lb_fail(LOWBIT_ERR_BAD_STRIDE, "%s->row_stride = %zu is smaller than cols = %zu", arg,
                       q->row_stride, q->cols);
    unsigned bits = lowbit_dtype_bits(q->format.elem);
    if ((bits == 4 && q->row_stride % 2) || (bits == 6 && q->row_stride % 4))
        return lb_fail(LOWBIT_ERR_MISALIGNED,
                       "%s->row_stride = %zu does not start every row on a byte (%u-bit elements need a multiple of %d)",
                       arg, q->row_stride, bits, bits == 4 ? 2 : 4);
    size_t data, scales, zps;
    lb_needs(q, &data, &scales, &zps);
    if (data == SIZE_MAX || scales == SIZE_MAX || zps == SIZE_MAX)
        return lb_fail(LOWBIT_ERR_SIZE_OVERFLOW, "%s: %zu rows x stride %zu overflows size_t bytes", arg,
                       q->rows, q->row_stride);
    if (!q->data)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "%s->data is NULL", arg);
    if (scales && !q->scales)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "%s->scales is NULL", arg);
    if (zps && !q->zero_points)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "%s->zero_points is NULL", arg);
    if (q->data_bytes < data)
        return lb_fail(LOWBIT_ERR_BUFFER_TOO_SMALL, "%s->data_bytes = %zu, the shape needs %zu", arg,
                       q->data_bytes, data);
    if (q->scales_bytes < scales)
        return lb_fail(LOWBIT_ERR_BUFFER_TOO_SMALL, "%s->scales_bytes = %zu, the shape needs %zu", arg,
                       q->scales_bytes, scales);
    if (q->zero_points_bytes < zps)
        return lb_fail(LOWBIT_ERR_BUFFER_TOO_SMALL, "%s->zero_points_bytes = %zu, the shape needs %zu",
                       arg, q->zero_points_bytes, zps);
    if (lb_overlap(q->data, data, q->scales, scales) || lb_overlap(q->data, data, q->zero_points, zps) ||
        lb_overlap(q->scales, scales, q->zero_points, zps))
        return lb_fail(LOWBIT_ERR_ALIASING, "%s: data, scales and zero_points overlap", arg);
    return LOWBIT_OK;
}
