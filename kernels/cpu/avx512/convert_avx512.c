/* convert_avx512.c - lowbit_convert on AVX-512 (F/BW/VL/DQ), every pair of
 * element types, exact (the shared vector kernel of simd/convert_tmpl.c,
 * 16 lanes). */
#include "vec_avx512.h"
#include "../simd/convert_tmpl.c"

const lb_kernel lb_kernel_convert_any_avx512 = {
    .op = LOWBIT_OP_CONVERT,
    .backend = LOWBIT_BACKEND_AVX512,
    .exact = 1,
    .srcs = LB_ALL_TYPES,
    .dsts = LB_ALL_TYPES,
    .rounding_mask = 0x7,
    .name = "convert_any_avx512",
    .formats = "any->any",
    .convert = convert_any_simd,
};
