/* gemm_avx512vnni.c - the exact GEMM on AVX-512 with VNNI: the kernel of
 * gemm_avx512.c with the integer pair dot products on VPDPWSSD (one
 * instruction for multiply, pair sum and accumulate).  Same bits. */
#define LBV_AVX512_VNNI 1
#include "vec_avx512.h"
#define LBV_GEMM_MR 8
#include "../simd/gemm_tmpl.c"

const lb_kernel lb_kernel_gemm_avx512vnni = {
    .op = LOWBIT_OP_GEMM,
    .backend = LOWBIT_BACKEND_AVX512,
    .cpu_features = LOWBIT_CPU_AVX512_VNNI,
    .exact = 1,
    .name = "gemm_any_avx512vnni",
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
