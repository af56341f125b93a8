/* attention_avx512.c - the exact attention (the shared kernel of simd/attention_tmpl.c) on avx512. */
#include "vec_avx512.h"
#include "../simd/attention_tmpl.c"

const lb_kernel lb_kernel_attention_avx512 = ATTENTION_SIMD_KERNEL(LOWBIT_BACKEND_AVX512, "attention_any_avx512");
