/* gemm_neon.c - the exact GEMM on AArch64 Advanced SIMD, 4 lanes, every pair (the shared kernel of
 * simd/gemm_tmpl.c: 8-row microtiles, two vectors of columns). */
#include "vec_neon.h"
#define LBV_GEMM_MR 8
#include "../simd/gemm_tmpl.c"

const lb_kernel lb_kernel_gemm_neon = {
    .op = LOWBIT_OP_GEMM,
    .backend = LOWBIT_BACKEND_NEON,
    .exact = 1,
    .name = "gemm_any_neon",
    .formats = "every pair",
    .gemm_covers = gemm_simd_covers,
    .gemm = gemm_simd,
    .gemm_pack_size = pack_b_size,
    .gemm_pack = pack_b,
    .gemm_pack_nr = GNR,
    .gemm_pack_a_size = pack_a_size,
    .gemm_pack_a = pack_a,
    .gemm_pack_mr = GMR,
};
