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

#define CHUNK 256 /* elements encoded per packing step; a multiple of 4 */

static void block_stats(const lowbit_qtensor *q, lowbit_dtype st, const void *src, size_t stride,
                        size_t r0, size_t r1, size_t c0, size_t c1, lb_block_stats *s)
{
    lb_stats_init(s);
    for (size_t r = r0; r < r1; r++)
        for (size_t c = c0; c < c1; c++)
            lb_stats_add(s, lb_load_f32(st, src, r * stride + c));
    (void)q;
}

static void quantize_ref(lowbit_qtensor *q, lowbit_dtype st, const void *src, size_t stride,
                         const lb_cvt_params *p)
{
    const int elem = q->format.elem, stype = q->format.scale_type;
    const unsigned bits = lowbit_dtype_bits(q->format.elem);
    const lb_scheme scheme = lb_format_scheme(&q->format);
    lb_grid g;
    lb_grid_of(q, &g);

    /* NVFP4: the tensor scale comes first. */
    float s_t = 1.0f;
    if (scheme == LB_SCHEME_NVFP4) {
        lb_block_stats all;
        block_stats(q, st, src, stride, 0, q->rows, 0, q->cols, &all);
        s_t = lb_nv_tensor_scale(all.amax, elem);
        q->tensor_scale = s_t;
    }

    /* Pass 1: block scales and zero points. */
    if (scheme == LB_SCHEME_ZP)
        memset(q->zero_points, 0, lowbit_dtype_bytes(q->format.elem, g.grid_rows * g.grid_cols));
    for (size_t gr = 0; gr < g.grid_rows; gr++) {
        for (size_t gc = 0; gc < g.grid_cols; gc++) {
            size_t r0 = gr * g.block_rows, c0 = gc * g.block_cols;
            size_t r1 = r0 + g.block_rows < q->rows ? r0 + g.block_rows : q->rows;
            size_t c1 = c0 + g.block_cols < q->cols ? c0 + g.block_cols : q->cols;
            size_t b = gr * g.grid_cols + gc;
            lb_block_stats s;
            block_stats(q, st, src, stride, r0, r1, c0, c1, &s);
            uint32_t code = 0;
            switch (scheme) {
            case LB_SCHEME_MX:    code = lb_mx_scale_code(&s, elem, (int)q->format.rule); break;
            case LB_SCHEME_NVFP4: code = lb_nv_block_scale_code(&s, elem, s_t); break;
            case LB_SCHEME_AMAX:  code = lb_amax_scale_code(&s, elem, stype); break;
            case LB_SCHEME_ZP:    code = lb_zp_scale_code(&s, elem, stype); break;
            default: break;
            }
            switch (lowbit_dtype_bits(q->format.scale_type)) {
            case 32: memcpy((uint8_t *)q->scales + 4 * b, &code, 4); break;
            case 16: { uint16_t h = (uint16_t)code; memcpy((uint8_t *)q->scales + 2 * b, &h, 2); } break;
            default: ((uint8_t *)q->scales)[b] = (uint8_t)code; break;
            }
            if (scheme == LB_SCHEME_ZP) {
                int32_t zp = lb_zp_value(&s, elem, lb_decode(stype, code));
                lb_store_packed(bits, (uint8_t *)q->zero_points, b, (uint32_t)zp);
            }
        }
    }

    /* Pass 2: elements, against the stored scales. */
    uint8_t codes[CHUNK];
    for (size_t r = 0; r < q->rows; r++) {
        size_t gr = g.grid_rows ? r / g.block_rows : 0;
        uint8_t *row = (uint8_t *)q->data + lowbit_dtype_bytes(q->format.elem, r * q->row_stride);
        for (size_t c0 = 0; c0 < q->cols; c0 += CHUNK) {
            size_t k = q->cols - c0 < CHUNK ? q->cols - c0 : CHUNK;
            for (size_t j = 0; j < k; j++) {
                size_t c = c0 + j;
                float x = lb_load_f32(st, src, r * stride + c);
                uint32_t rb = p->mode == LB_ROUND_SR ? lb_sr_bits(p->seed, p->offset + r * q->cols + c) : 0;
                size_t b = g.grid_cols ? gr * g.grid_cols + c / g.block_cols : 0;
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
                codes[j] = (uint8_t)(bits == 8 ? code : code & ((1u << bits) - 1u));
            }
            lb_pack_codes(bits, row + lowbit_dtype_bytes(q->format.elem, c0), codes, k);
        }
    }
}

static void dequantize_ref(lowbit_dtype dt, void *dst, size_t stride, const lowbit_qtensor *q)
{
    const int elem = q->format.elem, stype = q->format.scale_type;
    const lb_scheme scheme = lb_format_scheme(&q->format);
    lb_grid g;
    lb_grid_of(q, &g);
    uint8_t *d = (uint8_t *)dst;
    for (size_t r = 0; r < q->rows; r++) {
        size_t gr = g.grid_rows ? r / g.block_rows : 0;
        for (size_t c = 0; c < q->cols; c++) {
            uint32_t code = lb_load_code(elem, q->data, r * q->row_stride + c);
            size_t b = g.grid_cols ? gr * g.grid_cols + c / g.block_cols : 0;
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
            size_t i = r * stride + c;
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
    .src = LB_ANY,
    .dst = LB_ANY,
    .scheme = LB_ANY,
    .rounding_mask = 0x7,
    .name = "quantize_any_ref",
    .formats = "f32|f16|bf16->any scaled",
    .quantize = quantize_ref,
};

const lb_kernel lb_kernel_dequantize_ref = {
    .op = LOWBIT_OP_DEQUANTIZE,
    .backend = LOWBIT_BACKEND_REF,
    .exact = 1,
    .src = LB_ANY,
    .dst = LB_ANY,
    .scheme = LB_ANY,
    .rounding_mask = 0x7,
    .name = "dequantize_any_ref",
    .formats = "any scaled->f32|f16|bf16",
    .dequantize = dequantize_ref,
};
