/* convert_avx2.c - lowbit_convert on AVX2 + F16C, every pair of element
 * types, exact (the shared vector kernel of simd/convert_tmpl.c, 8 lanes). */
#include "vec_avx2.h"
#include "../simd/convert_tmpl.c"

const lb_kernel lb_kernel_convert_any_avx2 = {
    .op = LOWBIT_OP_CONVERT,
    .backend = LOWBIT_BACKEND_AVX2,
    .exact = 1,
    .srcs = LB_ALL_TYPES,
    .dsts = LB_ALL_TYPES,
    .rounding_mask = 0x7,
    .name = "convert_any_avx2",
    .formats = "any->any",
    .convert = convert_any_simd,
};
