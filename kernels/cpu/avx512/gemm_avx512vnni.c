/* gemm_avx512vnni.c - the exact GEMM on AVX-512 with VNNI: the kernel of
 * gemm_avx512.c with the integer pair dot products on VPDPWSSD (one
 * instruction for multiply, pair sum and accumulate).  Same bits. */
#define LBV_AVX512_VNNI 1
#include "vec_avx512.h"
#define LBV_GEMM_MR 8
#include "../simd/gemm_tmpl.c"

const lb_kernel lb_kernel_gemm_avx512vnni = GEMM_SIMD_KERNEL(LOWBIT_BACKEND_AVX512, LOWBIT_CPU_AVX512_VNNI, "gemm_any_avx512vnni");
