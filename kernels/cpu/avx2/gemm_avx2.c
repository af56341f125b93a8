/* gemm_avx2.c - the exact GEMM on AVX2 + FMA, 8 lanes, every pair (the shared kernel of
 * simd/gemm_tmpl.c: 6-row microtiles, two vectors of columns), with a
 * byte-level decode path for 4-bit integer weights (gemm_w4_decode_avx2.c). */
#include "vec_avx2.h"
#define LBV_GEMM_MR 6
#define LBV_GEMM_HAVE_BYTE_PATH
#include "../simd/gemm_tmpl.c"
#include "gemm_w4_decode_avx2.c"

const lb_kernel lb_kernel_gemm_avx2 = GEMM_SIMD_KERNEL(LOWBIT_BACKEND_AVX2, 0, "gemm_any_avx2");
