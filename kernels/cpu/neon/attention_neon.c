/* attention_neon.c - the exact attention (the shared kernel of simd/attention_tmpl.c) on neon. */
#include "vec_neon.h"
#include "../simd/attention_tmpl.c"

const lb_kernel lb_kernel_attention_neon = ATTENTION_SIMD_KERNEL(LOWBIT_BACKEND_NEON, "attention_any_neon");
