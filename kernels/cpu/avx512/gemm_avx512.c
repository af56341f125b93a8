/* gemm_avx512.c - the exact GEMM on AVX-512 F/BW, 16 lanes, every pair (the shared kernel of
 * simd/gemm_tmpl.c: 8-row microtiles, two vectors of columns). */
#include "vec_avx512.h"
#define LBV_GEMM_MR 8
#include "../simd/gemm_tmpl.c"

const lb_kernel lb_kernel_gemm_avx512 = GEMM_SIMD_KERNEL(LOWBIT_BACKEND_AVX512, 0, "gemm_any_avx512");
