/*
 * gemm_operand.h - reading one GEMM operand element by element: its
 * integer or f32 value at (row, k) and the scale of the block holding it.
 * The reference GEMM computes with these, and the SIMD kernels pack with
 * them, so every backend starts from the same numbers.  The helpers are
 * LB_HD (formats/hostdevice.h): the CUDA GEMM kernels (kernels/cuda/gemm_*)
 * decode and store with these very functions, on a job passed by value.
 */
#ifndef LOWBIT_GEMM_OPERAND_H
#define LOWBIT_GEMM_OPERAND_H

#include "internal.h"
#include <math.h>
#include <string.h>
#include "../formats/codec.h"

/* Element code at (r, k). */
LB_HD uint32_t lb_opnd_code(const lb_operand *o, size_t r, size_t k)
{
    return lb_load_code(o->q.format.elem, o->q.data, r * o->q.row_stride + k);
}

/* Index of the block holding (r, k) in the scale grid. */
LB_HD size_t lb_opnd_block(const lb_operand *o, size_t r, size_t k)
{
    return (r / o->g.block_rows) * o->g.grid_cols + k / o->g.block_cols;
}

/* Zero point of the block holding (r, k) as a signed integer (0 without one). */
LB_HD int32_t lb_opnd_zero_point(const lb_operand *o, size_t r, size_t k)
{
    if (o->scheme != LB_SCHEME_ZP)
        return 0;
    uint32_t z = lb_load_code(o->q.format.elem, o->q.zero_points, lb_opnd_block(o, r, k));
    return (int32_t)lb_decode(o->q.format.elem, z);
}

/* The integer n with element value = n * 2^unit_log2 (int_valued operands). */
LB_HD int32_t lb_opnd_int(const lb_operand *o, size_t r, size_t k)
{
    uint32_t c = lb_opnd_code(o, r, k);
    float v = lb_decode(o->q.format.elem, c) * o->code_value;
    /* Every integer-valued element times 2^-unit_log2 is an exact small integer. */
    int32_t n = (int32_t)(v * (float)(1 << -o->unit_log2));
    return n - lb_opnd_zero_point(o, r, k);
}

/* The element's value as f32 (exact for every type; zero point applied). */
LB_HD float lb_opnd_f32(const lb_operand *o, size_t r, size_t k)
{
    float v = lb_decode(o->q.format.elem, lb_opnd_code(o, r, k)) * o->code_value;
    if (o->scheme == LB_SCHEME_ZP)
        v = (float)((int32_t)v - lb_opnd_zero_point(o, r, k));
    return v;
}

/* The block scale at (r, k) as f32 (1 for a plain operand).  NVFP4's
 * tensor scale is not part of it: GEMM folds that into alpha. */
LB_HD float lb_opnd_scale(const lb_operand *o, size_t r, size_t k)
{
    if (o->scheme == LB_SCHEME_PLAIN)
        return 1.0f;
    return lb_decode(o->q.format.scale_type, lb_load_code(o->q.format.scale_type, o->q.scales,
                                                          lb_opnd_block(o, r, k)));
}

/* The f32 written for an accumulated value t: rounded once to c_type,
 * not saturating; every NaN as the canonical quiet NaN of the type. */
LB_HD uint32_t lb_gemm_out_code(lowbit_dtype c_type, float t)
{
    if (t != t)
        return c_type == LOWBIT_F32 ? 0x7FC00000u : c_type == LOWBIT_F16 ? 0x7E00u : 0x7FC0u;
    return lb_encode(c_type, t, LB_ROUND_NE, 0, 0);
}

LB_HD void lb_gemm_store(const lb_gemm_job *j, size_t m, size_t n, float acc)
{
    float t = j->g * acc;
    size_t i = m * j->ldc + n;
    if (j->beta != 0.0f)
        t = fmaf(j->beta, lb_load_f32(j->c_type, j->c, i), t);
    uint32_t code = lb_gemm_out_code(j->c_type, t);
    if (j->c_type == LOWBIT_F32) {
        memcpy((uint8_t *)j->c + 4 * i, &code, 4);
    } else {
        uint16_t h = (uint16_t)code;
        memcpy((uint8_t *)j->c + 2 * i, &h, 2);
    }
}

#endif
