/* quantize_neon.c - quantize, dequantize and block statistics on AArch64 Advanced SIMD, 4 lanes:
 * every scaled format, exact (the shared kernels of simd/quantize_tmpl.c). */
#include "vec_neon.h"
#include "../simd/quantize_tmpl.c"

const lb_kernel lb_kernel_quantize_neon = {
    .op = LOWBIT_OP_QUANTIZE,
    .backend = LOWBIT_BACKEND_NEON,
    .exact = 1,
    .srcs = LB_WIDE_TYPES,
    .elems = LB_QUANT_ELEMS,
    .schemes = LB_ALL_SCHEMES,
    .rounding_mask = 0x7,
    .name = "quantize_any_neon",
    .formats = "f32|f16|bf16->any scaled",
    .quantize = quantize_simd,
    .stats = stats_simd,
};

const lb_kernel lb_kernel_dequantize_neon = {
    .op = LOWBIT_OP_DEQUANTIZE,
    .backend = LOWBIT_BACKEND_NEON,
    .exact = 1,
    .dsts = LB_WIDE_TYPES,
    .elems = LB_QUANT_ELEMS,
    .schemes = LB_ALL_SCHEMES,
    .rounding_mask = 0x7,
    .name = "dequantize_any_neon",
    .formats = "any scaled->f32|f16|bf16",
    .dequantize = dequantize_simd,
};
