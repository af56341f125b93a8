/*
 * hostdevice.h - the one macro that lets the element codecs compile for the
 * host (C11), CUDA (nvcc) and HIP (hipcc) alike.  Every codec in formats/ is a
 * LB_HD function: static inline C on the host, __host__ __device__ on GPUs, so
 * the GPU kernels run the same element math the CPU tests exercise.
 */
#ifndef LOWBIT_FORMATS_HOSTDEVICE_H
#define LOWBIT_FORMATS_HOSTDEVICE_H

#include <stdint.h>
#include <string.h>

#if defined(__CUDACC__) || defined(__HIPCC__)
#define LB_HD static inline __host__ __device__
#else
#define LB_HD static inline
#endif

LB_HD uint32_t lb_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

LB_HD float lb_f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Count of leading zero bits of a nonzero 32-bit value. */
LB_HD int lb_clz32(uint32_t v)
{
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    return __clz((int)v);
#else
    return __builtin_clz(v);
#endif
}

/* 2^k as an f32, for k in [-149, 127], built from bits so no library call
 * (and no flush-to-zero question) is involved. */
LB_HD float lb_pow2f(int k)
{
    if (k >= -126)
        return lb_f32_from_bits((uint32_t)(k + 127) << 23);
    return lb_f32_from_bits(1u << (k + 149));
}

#endif
