/* peak.c - choose the peak kernels for this CPU from lowbit_cpu_features();
 * a kernel is only a candidate if meson could build its ISA file. */
#include "bench.h"

const peak_kernel *peak_fma_kernel(void)
{
    uint32_t f = lowbit_cpu_features();
    (void)f;
#ifdef BENCH_HAVE_AVX512
    if (f & LOWBIT_CPU_AVX512)
        return &peak_fma_avx512;
#endif
#ifdef BENCH_HAVE_AVX2
    if (f & LOWBIT_CPU_AVX2)
        return &peak_fma_avx2;
#endif
#ifdef BENCH_HAVE_NEON
    if (f & LOWBIT_CPU_NEON)
        return &peak_fma_neon;
#endif
    return &peak_fma_c;
}

const peak_kernel *peak_int8_kernel(void)
{
    uint32_t f = lowbit_cpu_features();
    (void)f;
#ifdef BENCH_HAVE_AVX512VNNI
    if (f & LOWBIT_CPU_AVX512_VNNI)
        return &peak_int8_avx512vnni;
#endif
#ifdef BENCH_HAVE_AVXVNNI
    if (f & LOWBIT_CPU_AVX_VNNI)
        return &peak_int8_avxvnni;
#endif
#ifdef BENCH_HAVE_AVX512
    if (f & LOWBIT_CPU_AVX512)
        return &peak_int8_avx512;
#endif
#ifdef BENCH_HAVE_AVX2
    if (f & LOWBIT_CPU_AVX2)
        return &peak_int8_avx2;
#endif
#ifdef BENCH_HAVE_NEON_DOTPROD
    if (f & LOWBIT_CPU_NEON_DOTPROD)
        return &peak_int8_neon_dotprod;
#endif
#ifdef BENCH_HAVE_NEON
    if (f & LOWBIT_CPU_NEON)
        return &peak_int8_neon;
#endif
    return &peak_int8_c;
}
