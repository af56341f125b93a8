/* attention_avx2.c - the exact attention (the shared kernel of simd/attention_tmpl.c) on avx2. */
#include "vec_avx2.h"
#include "../simd/attention_tmpl.c"

const lb_kernel lb_kernel_attention_avx2 = ATTENTION_SIMD_KERNEL(LOWBIT_BACKEND_AVX2, "attention_any_avx2");
