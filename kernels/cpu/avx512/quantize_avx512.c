/* quantize_avx512.c - quantize, dequantize and block statistics on AVX-512 (F/BW/VL/DQ), 16 lanes:
 * every scaled format, exact (the shared kernels of simd/quantize_tmpl.c). */
#include "vec_avx512.h"
#include "../simd/quantize_tmpl.c"

const lb_kernel lb_kernel_quantize_avx512 = {
    .op = LOWBIT_OP_QUANTIZE,
    .backend = LOWBIT_BACKEND_AVX512,
    .exact = 1,
    .srcs = LB_WIDE_TYPES,
    .elems = LB_QUANT_ELEMS,
    .schemes = LB_ALL_SCHEMES,
    .rounding_mask = 0x7,
    .name = "quantize_any_avx512",
    .formats = "f32|f16|bf16->any scaled",
    .quantize = quantize_simd,
    .stats = stats_simd,
};

const lb_kernel lb_kernel_dequantize_avx512 = {
    .op = LOWBIT_OP_DEQUANTIZE,
    .backend = LOWBIT_BACKEND_AVX512,
    .exact = 1,
    .dsts = LB_WIDE_TYPES,
    .elems = LB_QUANT_ELEMS,
    .schemes = LB_ALL_SCHEMES,
    .rounding_mask = 0x7,
    .name = "dequantize_any_avx512",
    .formats = "any scaled->f32|f16|bf16",
    .dequantize = dequantize_simd,
};
