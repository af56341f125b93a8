/*
 * peak.h - the peak-rate kernels.  Each ISA's kernels live in their own
 * file, peak_<isa>.c, compiled with only that ISA's flags (meson builds one
 * static library per ISA and defines BENCH_HAVE_<ISA> when it did); peak.c
 * picks one at run time from lowbit_cpu_features().  Every kernel runs many
 * independent accumulator chains so that throughput, not latency, bounds it.
 */
#ifndef LOWBIT_BENCH_PEAK_H
#define LOWBIT_BENCH_PEAK_H

#include <stdint.h>

typedef struct peak_kernel {
    const char *isa;                /* "avx2", "avx512-vnni", "neon-dotprod", "c" ... */
    const char *what;               /* the instructions timed, for the table */
    double ops_per_iter;            /* flops, or int8 ops (multiply + add = 2), per iteration */
    double (*run)(uint64_t iters);  /* returns a value that depends on all the work */
} peak_kernel;

/* An empty asm that claims to change x: the compiler must assume a new
 * value every iteration, so it cannot hoist the products out of the loop.
 * It emits no instruction. */
#define PEAK_OPAQUE(constraint, x) __asm__("" : "+" constraint(x))

extern const peak_kernel peak_fma_c, peak_int8_c;                 /* peak_c.c, any CPU */
extern const peak_kernel peak_fma_avx2, peak_int8_avx2;           /* peak_avx2.c */
extern const peak_kernel peak_int8_avxvnni;                       /* peak_avxvnni.c */
extern const peak_kernel peak_fma_avx512, peak_int8_avx512;       /* peak_avx512.c */
extern const peak_kernel peak_int8_avx512vnni;                    /* peak_avx512vnni.c */
extern const peak_kernel peak_fma_neon, peak_int8_neon;           /* peak_neon.c */
extern const peak_kernel peak_int8_neon_dotprod;                  /* peak_neon_dotprod.c */

#endif
