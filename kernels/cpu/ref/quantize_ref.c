/*
 * quantize_ref.c - reference quantize and dequantize for every scaled format.
 *
 * Contract (docs/semantics.md, "Scaled formats"):
 *  - src/dst: f32, f16 or bf16, row r at element r * row_stride; values are
 *    taken to f32 exactly before anything else;
 *  - the tensor is cut into block_rows x block_cols blocks (edge blocks may
 *    be partial); each block's statistics (amax, min, max over finite
 *    values, and whether NaN/Inf occur) give its scale by the rules of
 *    formats/scale.h, stored row-major over the block grid;
 *  - NVFP4's tensor scale comes from the statistics of the whole tensor,
 *    and so does the scale of a single whole-tensor block when the caller
 *    (src/quantize.c, which cuts the call into rectangles of whole blocks)
 *    has already stored it (job->scales_ready);
 *  - every element is then encoded against the *stored* scale, so
 *    dequantize sees exactly what quantize used; stochastic rounding keys
 *    element (r, c) by opts->offset + r * cols + c;
 *  - dequantize forms element * scale in f32 and rounds once to the output
 *    type (nearest even, not saturating); a NaN result is written as the
 *    canonical quiet NaN (f32 0x7FC00000, f16 0x7E00, bf16 0x7FC0), since
 *    which payload an f32 multiply keeps differs between CPUs and GPUs;
 *  - packed rows are written whole bytes at a time, padding bits zero;
 *    bytes between cols and row_stride are not touched.
 */
#include <string.h>
#include "../../../src/internal.h"
#include "../../../formats/scale.h"

#define CHUNK 256 /* elements encoded per packing step; a multiple of 8 */

static void stats_ref(lowbit_dtype st, const void *src, size_t stride, size_t r0, size_t r1, size_t c0,
                      size_t c1, lb_block_stats *s)
{
    lb_stats_init(s);
    for (size_t r = r0; r < r1; r++)
        for (size_t c = c0; c < c1; c++)
            lb_stats_add(s, lb_load_f32(st, src, r * stride + c));
}

/* Pass 1: the scales (and zero points) of the blocks covering the rectangle. */
static void block_scales_ref(const lb_qjob *j, size_t r0, size_t r1, size_t c0, size_t c1)
{
    lowbit_qtensor *q = j->q;
    const lb_grid *g = &j->g;
    for (size_t gr = r0 / g->block_rows; gr * g->block_rows < r1; gr++) {
        for (size_t gc = c0 / g->block_cols; gc * g->block_cols < c1; gc++) {
            size_t br0 = gr * g->block_rows, bc0 = gc * g->block_cols;
            size_t br1 = br0 + g->block_rows < q->rows ? br0 + g->block_rows : q->rows;
            size_t bc1 = bc0 + g->block_cols < q->cols ? bc0 + g->block_cols : q->cols;
            lb_block_stats s;
            stats_ref(j->wide_type, j->src, j->stride, br0, br1, bc0, bc1, &s);
            lb_store_block_scale(q, j->scheme, gr * g->grid_cols + gc, &s, j->s_t);
        }
    }
}

static void quantize_ref(const lb_qjob *j, size_t r0, size_t r1, size_t c0, size_t c1)
{
    lowbit_qtensor *q = j->q;
    const int elem = q->format.elem, stype = q->format.scale_type;
    const unsigned bits = lowbit_dtype_bits(q->format.elem);
    const lb_scheme scheme = j->scheme;
    const lb_grid *g = &j->g;
    const lb_cvt_params *p = &j->p;
    const float s_t = j->s_t;
    if (!j->scales_ready)
        block_scales_ref(j, r0, r1, c0, c1);

    /* Pass 2: elements, against the stored scales. */
    uint8_t codes[CHUNK];
    for (size_t r = r0; r < r1; r++) {
        size_t gr = r / g->block_rows;
        uint8_t *row = (uint8_t *)q->data + lowbit_dtype_bytes(q->format.elem, r * q->row_stride);
        for (size_t cc = c0; cc < c1; cc += CHUNK) {
            size_t k = c1 - cc < CHUNK ? c1 - cc : CHUNK;
            for (size_t jj = 0; jj < k; jj++) {
                size_t c = cc + jj;
                float x = lb_load_f32(j->wide_type, j->src, r * j->stride + c);
                uint32_t rb = p->mode == LB_ROUND_SR ? lb_sr_bits(p->seed, p->offset + r * q->cols + c) : 0;
                size_t b = gr * g->grid_cols + c / g->block_cols;
                uint32_t code;
                switch (scheme) {
                case LB_SCHEME_MX:
                    code = lb_mx_encode(elem, x, lb_load_code(stype, q->scales, b), p->mode, rb);
                    break;
                case LB_SCHEME_NVFP4:
                    code = lb_nv_encode(elem, x, lb_load_code(stype, q->scales, b), s_t, p->mode, rb);
                    break;
                case LB_SCHEME_AMAX:
                    code = lb_amax_encode(elem, x, lb_load_f32(stype, q->scales, b), p->mode, rb);
                    break;
                case LB_SCHEME_ZP: {
                    int32_t zp = (int32_t)lb_decode(elem, lb_load_code(elem, q->zero_points, b));
                    code = (uint32_t)lb_zp_encode(elem, x, lb_load_f32(stype, q->scales, b), zp, p->mode, rb);
                    break;
                }
                default:
                    code = lb_encode(elem, x, p->mode, 1, rb);
                    break;
                }
                codes[jj] = (uint8_t)(bits == 8 ? code : code & ((1u << bits) - 1u));
            }
            lb_pack_codes(bits, row + lowbit_dtype_bytes(q->format.elem, cc), codes, k);
        }
    }
}

static void dequantize_ref(const lb_qjob *j, size_t r0, size_t r1, size_t c0, size_t c1)
{
    const lowbit_qtensor *q = j->cq;
    const int elem = q->format.elem, stype = q->format.scale_type;
    const lb_scheme scheme = j->scheme;
    const lb_grid *g = &j->g;
    const lowbit_dtype dt = j->wide_type;
    uint8_t *d = (uint8_t *)j->dst;
    for (size_t r = r0; r < r1; r++) {
        size_t gr = r / g->block_rows;
        for (size_t c = c0; c < c1; c++) {
            uint32_t code = lb_load_code(elem, q->data, r * q->row_stride + c);
            size_t b = gr * g->grid_cols + c / g->block_cols;
            float v;
            switch (scheme) {
            case LB_SCHEME_MX:
                v = lb_mx_decode(elem, code, lb_load_code(stype, q->scales, b));
                break;
            case LB_SCHEME_NVFP4:
                v = lb_nv_decode(elem, code, lb_load_code(stype, q->scales, b), q->tensor_scale);
                break;
            case LB_SCHEME_AMAX:
                v = lb_amax_decode(elem, code, lb_load_f32(stype, q->scales, b));
                break;
            case LB_SCHEME_ZP: {
                int32_t zp = (int32_t)lb_decode(elem, lb_load_code(elem, q->zero_points, b));
                v = lb_zp_decode((int32_t)lb_decode(elem, code), zp, lb_load_f32(stype, q->scales, b));
                break;
            }
            default:
                v = lb_decode(elem, code);
                break;
            }
            if (v != v)
                v = lb_f32_from_bits(0x7FC00000u); /* one NaN on every backend */
            size_t i = r * j->stride + c;
            if (dt == LOWBIT_F32) {
                memcpy(d + 4 * i, &v, 4);
            } else {
                uint16_t h = (uint16_t)lb_encode(dt, v, LB_ROUND_NE, 0, 0);
                memcpy(d + 2 * i, &h, 2);
            }
        }
    }
}

const lb_kernel lb_kernel_quantize_ref = {
    .op = LOWBIT_OP_QUANTIZE,
    .backend = LOWBIT_BACKEND_REF,
    .exact = 1,
    .srcs = LB_WIDE_TYPES,
    .elems = LB_ALL_TYPES,
    .schemes = LB_ALL_SCHEMES,
    .rounding_mask = 0x7,
    .name = "quantize_any_ref",
    .formats = "f32|f16|bf16->any scaled",
    .quantize = quantize_ref,
    .stats = stats_ref,
};

const lb_kernel lb_kernel_dequantize_ref = {
    .op = LOWBIT_OP_DEQUANTIZE,
    .backend = LOWBIT_BACKEND_REF,
    .exact = 1,
    .dsts = LB_WIDE_TYPES,
    .elems = LB_ALL_TYPES,
    .schemes = LB_ALL_SCHEMES,
    .rounding_mask = 0x7,
    .name = "dequantize_any_ref",
    .formats = "any scaled->f32|f16|bf16",
    .dequantize = dequantize_ref,
};
