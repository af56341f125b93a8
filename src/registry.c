/*
 * registry.c - every kernel built into the library, one line each.
 * Reference kernels come first; lookups prefer the highest ISA that the
 * backend cap allows (src/dispatch.c).  tests/test_registry.c checks that
 * each kernel named here is exercised by lowbit-check.
 */
#include "internal.h"
#include "lowbit_config.h"

extern const lb_kernel lb_kernel_convert_any_any_ref;
extern const lb_kernel lb_kernel_quantize_ref;
extern const lb_kernel lb_kernel_dequantize_ref;
extern const lb_kernel lb_kernel_gemm_ref;
extern const lb_kernel lb_kernel_attention_ref;
#if LOWBIT_BUILT_AVX2
extern const lb_kernel lb_kernel_convert_any_avx2;
extern const lb_kernel lb_kernel_quantize_avx2;
extern const lb_kernel lb_kernel_dequantize_avx2;
extern const lb_kernel lb_kernel_gemm_avx2;
extern const lb_kernel lb_kernel_attention_avx2;
#endif
#if LOWBIT_BUILT_AVX512
extern const lb_kernel lb_kernel_convert_any_avx512;
extern const lb_kernel lb_kernel_quantize_avx512;
extern const lb_kernel lb_kernel_dequantize_avx512;
extern const lb_kernel lb_kernel_gemm_avx512;
extern const lb_kernel lb_kernel_attention_avx512;
#endif
#if LOWBIT_BUILT_AVXVNNI
extern const lb_kernel lb_kernel_gemm_avxvnni;
#endif
#if LOWBIT_BUILT_AVX512VNNI
extern const lb_kernel lb_kernel_gemm_avx512vnni;
#endif
#if LOWBIT_BUILT_AMX
extern const lb_kernel lb_kernel_gemm_amx;
extern const lb_kernel lb_kernel_gemm_bf16_amx;
#endif
#if LOWBIT_BUILT_NEON
extern const lb_kernel lb_kernel_convert_any_neon;
extern const lb_kernel lb_kernel_quantize_neon;
extern const lb_kernel lb_kernel_dequantize_neon;
extern const lb_kernel lb_kernel_gemm_neon;
extern const lb_kernel lb_kernel_attention_neon;
#endif

const lb_kernel *const lb_registry[] = {
    &lb_kernel_convert_any_any_ref,
    &lb_kernel_quantize_ref,
    &lb_kernel_dequantize_ref,
    &lb_kernel_gemm_ref,
    &lb_kernel_attention_ref,
#if LOWBIT_BUILT_AVX2
    &lb_kernel_convert_any_avx2,
    &lb_kernel_quantize_avx2,
    &lb_kernel_dequantize_avx2,
    &lb_kernel_gemm_avx2,
    &lb_kernel_attention_avx2,
#endif
#if LOWBIT_BUILT_AVX512
    &lb_kernel_convert_any_avx512,
    &lb_kernel_quantize_avx512,
    &lb_kernel_dequantize_avx512,
    &lb_kernel_gemm_avx512,
    &lb_kernel_attention_avx512,
#endif
#if LOWBIT_BUILT_AVXVNNI
    &lb_kernel_gemm_avxvnni,
#endif
#if LOWBIT_BUILT_AVX512VNNI
    &lb_kernel_gemm_avx512vnni,
#endif
#if LOWBIT_BUILT_AMX
    &lb_kernel_gemm_amx,
    &lb_kernel_gemm_bf16_amx,
#endif
#if LOWBIT_BUILT_NEON
    &lb_kernel_convert_any_neon,
    &lb_kernel_quantize_neon,
    &lb_kernel_dequantize_neon,
    &lb_kernel_gemm_neon,
    &lb_kernel_attention_neon,
#endif
};

const size_t lb_registry_size = sizeof lb_registry / sizeof lb_registry[0];
