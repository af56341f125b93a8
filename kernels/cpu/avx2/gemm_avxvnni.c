/* gemm_avxvnni.c - the exact GEMM on AVX2 with AVX-VNNI: the kernel of
 * gemm_avx2.c (and its 4-bit decode path) with the integer pair dot
 * products on VPDPWSSD.  Same bits. */
#define LBV_AVX_VNNI 1
#include "vec_avx2.h"
#define LBV_GEMM_MR 6
#define LBV_GEMM_HAVE_BYTE_PATH
#include "../simd/gemm_tmpl.c"
#include "gemm_w4_decode_avx2.c"

const lb_kernel lb_kernel_gemm_avxvnni = {
    .op = LOWBIT_OP_GEMM,
    .backend = LOWBIT_BACKEND_AVX2,
    .cpu_features = LOWBIT_CPU_AVX_VNNI,
    .exact = 1,
    .name = "gemm_any_avxvnni",
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
