/* quantize_avx2.c - quantize, dequantize and block statistics on AVX2 + F16C, 8 lanes:
 * every scaled format, exact (the shared kernels of simd/quantize_tmpl.c). */
#include "vec_avx2.h"
#include "../simd/quantize_tmpl.c"

const lb_kernel lb_kernel_quantize_avx2 = {
    .op = LOWBIT_OP_QUANTIZE,
    .backend = LOWBIT_BACKEND_AVX2,
    .exact = 1,
    .srcs = LB_WIDE_TYPES,
    .elems = LB_QUANT_ELEMS,
    .schemes = LB_ALL_SCHEMES,
    .rounding_mask = 0x7,
    .name = "quantize_any_avx2",
    .formats = "f32|f16|bf16->any scaled",
    .quantize = quantize_simd,
    .stats = stats_simd,
};

const lb_kernel lb_kernel_dequantize_avx2 = {
    .op = LOWBIT_OP_DEQUANTIZE,
    .backend = LOWBIT_BACKEND_AVX2,
    .exact = 1,
    .dsts = LB_WIDE_TYPES,
    .elems = LB_QUANT_ELEMS,
    .schemes = LB_ALL_SCHEMES,
    .rounding_mask = 0x7,
    .name = "dequantize_any_avx2",
    .formats = "any scaled->f32|f16|bf16",
    .dequantize = dequantize_simd,
};
