/*
 * cpu_features.c - what this CPU can run, asked once.  On x86 the answer
 * needs both cpuid (the core has the instructions) and xgetbv (the OS saves
 * the wider registers); AMX additionally needs Linux's per-process
 * permission for the tile data state.
 */
#include "internal.h"
#include "lowbit_config.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

static uint64_t lb_xgetbv0(void)
{
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static int lb_amx_permitted(void)
{
#if defined(__linux__) && defined(SYS_arch_prctl)
    /* ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 */
    return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#else
    return 0;
#endif
}

uint32_t lb_detect_cpu_features(void)
{
    uint32_t a, b, c, d, f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx)
        return 0;
    uint64_t xcr0 = lb_xgetbv0();
    int os_ymm = (xcr0 & 0x6) == 0x6;
    int os_zmm = (xcr0 & 0xE6) == 0xE6;
    int os_tile = (xcr0 & 0x60000) == 0x60000;
    if (!os_ymm)
        return 0;

    uint32_t b7 = 0, c7 = 0, d7 = 0, a71 = 0;
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, a, b7, c7, d7);
        __cpuid_count(7, 1, a71, b, c, d);
    }
    int avx2 = (b7 >> 5) & 1;
    if (avx2 && fma && f16c)
        f |= LOWBIT_CPU_AVX2;
    if ((a71 >> 4) & 1)
        f |= LOWBIT_CPU_AVX_VNNI;
    int avx512 = ((b7 >> 16) & 1) && ((b7 >> 17) & 1) && ((b7 >> 28) & 1) && ((b7 >> 30) & 1) &&
                 ((b7 >> 31) & 1); /* F, DQ, CD, BW, VL */
    if (os_zmm && avx512 && (f & LOWBIT_CPU_AVX2)) {
        f |= LOWBIT_CPU_AVX512;
        if ((c7 >> 11) & 1) f |= LOWBIT_CPU_AVX512_VNNI;
        if ((c7 >> 1) & 1) f |= LOWBIT_CPU_AVX512_VBMI;
        if ((a71 >> 5) & 1) f |= LOWBIT_CPU_AVX512_BF16;
        if ((d7 >> 23) & 1) f |= LOWBIT_CPU_AVX512_FP16;
    }
    int amx = ((d7 >> 24) & 1) && ((d7 >> 25) & 1) && ((d7 >> 22) & 1); /* TILE, INT8, BF16 */
    if (amx && os_tile && (f & LOWBIT_CPU_AVX512) && lb_amx_permitted())
        f |= LOWBIT_CPU_AMX;
#if LOWBIT_SIMD_EMULATION
    /* test build: the AVX-512 kernels run on emulated intrinsics
     * (tests/emulation/) and need only AVX2; so does the AMX kernel */
    if (f & LOWBIT_CPU_AVX2)
        f |= LOWBIT_CPU_AVX512 | LOWBIT_CPU_AVX512_VNNI | LOWBIT_CPU_AVX_VNNI | LOWBIT_CPU_AMX;
#endif
    return f;
}

#elif defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#ifndef HWCAP_ASIMDHP
#define HWCAP_ASIMDHP (1 << 10)
#endif
#ifndef HWCAP2_BF16
#define HWCAP2_BF16 (1 << 14)
#endif

uint32_t lb_detect_cpu_features(void)
{
    unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    uint32_t f = LOWBIT_CPU_NEON; /* Advanced SIMD is mandatory on aarch64 */
    if (hw & HWCAP_ASIMDDP) f |= LOWBIT_CPU_NEON_DOTPROD;
    if (hw & HWCAP_ASIMDHP) f |= LOWBIT_CPU_NEON_FP16;
    if (hw2 & HWCAP2_BF16) f |= LOWBIT_CPU_NEON_BF16;
    return f;
}

#else
uint32_t lb_detect_cpu_features(void)
{
    return 0;
}
#endif
