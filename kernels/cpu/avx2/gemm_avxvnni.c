/* gemm_avxvnni.c - the exact GEMM on AVX2 with AVX-VNNI: the kernel of
 * gemm_avx2.c (and its 4-bit decode path) with the integer pair dot
 * products on VPDPWSSD.  Same bits. */
#define LBV_AVX_VNNI 1
#include "vec_avx2.h"
#define LBV_GEMM_MR 6
#define LBV_GEMM_HAVE_BYTE_PATH
#include "../simd/gemm_tmpl.c"
#include "gemm_w4_decode_avx2.c"

const lb_kernel lb_kernel_gemm_avxvnni = GEMM_SIMD_KERNEL(LOWBIT_BACKEND_AVX2, LOWBIT_CPU_AVX_VNNI, "gemm_any_avxvnni");
