/* convert_neon.c - lowbit_convert on AArch64 Advanced SIMD, every pair of
 * element types, exact (the shared vector kernel of simd/convert_tmpl.c, 4 lanes). */
#include "vec_neon.h"
#include "../simd/convert_tmpl.c"

const lb_kernel lb_kernel_convert_any_neon = {
    .op = LOWBIT_OP_CONVERT,
    .backend = LOWBIT_BACKEND_NEON,
    .exact = 1,
    .srcs = LB_ALL_TYPES,
    .dsts = LB_ALL_TYPES,
    .rounding_mask = 0x7,
    .name = "convert_any_neon",
    .formats = "any->any",
    .convert = convert_any_simd,
};
