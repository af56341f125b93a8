/* gemm_neon.c - the exact GEMM on AArch64 Advanced SIMD, 4 lanes, every pair (the shared kernel of
 * simd/gemm_tmpl.c: 8-row microtiles, two vectors of columns). */
#include "vec_neon.h"
#define LBV_GEMM_MR 8
#include "../simd/gemm_tmpl.c"

const lb_kernel lb_kernel_gemm_neon = GEMM_SIMD_KERNEL(LOWBIT_BACKEND_NEON, 0, "gemm_any_neon");
