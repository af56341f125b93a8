// convert_wide.cuh - the compile-time kernels for sources f32, f16 and bf16
// (to every other type).  With ST, DT and the rounding mode template
// constants the codec's switches and format parameters fold away.  Included
// by convert_from_{f32,f16,bf16}.cu only.
//
// Element math (wide_elem): the source decodes with the exact fast decoders
// of formats/minifloat_fast.h (bf16: a shift; f16: integer rebias, or the
// hardware f16 -> f32 conversion where only NaN-ness matters, see
// wide_decode); minifloat destinations encode with lb_mf_encode_fast, which
// is bit-identical to lb_mf_encode (proven over all 2^32 f32 inputs by
// tests/exhaustive/encode_fast_equiv.c); other destinations use lb_encode.
// tests/exhaustive/kernel_equiv_device.cu checks these kernels against the
// generic codec for every f32, f16 and bf16 source code on the device.
#ifndef LOWBIT_KERNELS_CUDA_CONVERT_WIDE_CUH
#define LOWBIT_KERNELS_CUDA_CONVERT_WIDE_CUH

#include "convert_common.cuh"
#if !defined(__HIPCC__)
#include <cuda_fp16.h>  // (under hipcc gpu_port.cuh brings hip_fp16.h)
#endif
#include "minifloat_fast.h"

namespace lbcu {

// MODE template argument of the wide kernels: LB_ROUND_NE / TZ / SR, or
// kModeRuntime (p.mode decides; destinations that are not minifloats).
constexpr int kModeRuntime = -1;

__host__ __device__ constexpr bool is_minifloat(int t)
{
    return t == LOWBIT_F16 || t == LOWBIT_BF16 || t == LOWBIT_E4M3 || t == LOWBIT_E5M2 || t == LOWBIT_E4M3FNUZ ||
           t == LOWBIT_E5M2FNUZ || t == LOWBIT_E3M2 || t == LOWBIT_E2M3 || t == LOWBIT_E2M1;
}

// Source element (code c of ST) as f32, exactly lb_decode(ST, c).  For an
// f16 source and a destination narrower than f16 (FP8/FP6/FP4) the
// hardware conversion is used: it is exact for every non-NaN f16 (f16 -> f32
// never rounds, and f16 subnormals are f32 normals) and gives a NaN for a
// NaN, and those destinations encode every NaN as one constant code
// (lb_mf_nan_code ignores sign and payload for them), so the result is the
// same; everywhere else the integer decoder keeps the payload exactly.
template <int ST, int DT>
__device__ __forceinline__ float wide_decode(uint32_t c)
{
    if constexpr (ST == LOWBIT_F32)
        return __uint_as_float(c);
    else if constexpr (ST == LOWBIT_BF16)
        return lb_bf16_decode_fast(c);
    else if constexpr (is_minifloat(DT) && DT != LOWBIT_F16 && DT != LOWBIT_BF16)
        return __half2float(__ushort_as_half((unsigned short)c));
    else
        return lb_f16_decode_fast(c);
}

// lb_encode(DT, lb_decode(ST, c), mode, saturate, r), bit for bit.
template <int ST, int DT, int MODE>
__device__ __forceinline__ uint32_t wide_elem(uint32_t c, int mode, int saturate, uint32_t r)
{
    const float x = wide_decode<ST, DT>(c);
    if constexpr (is_minifloat(DT) && MODE != kModeRuntime) {
        lb_minifloat s;
        lb_minifloat_spec(DT, &s);
        return lb_mf_encode_fast(s, x, MODE, saturate, r);
    } else {
        return lb_encode(DT, x, mode, saturate, r);
    }
}

// dst and src must be aligned to unit_align() of their widths (the launcher
// checks before choosing this kernel).  MODE: the rounding mode when it is
// a compile-time constant (minifloat destinations, and stochastic rounding
// for all), else kModeRuntime.  Each
// thread converts U units of V elements per step (8 elements: enough loads
// in flight, and a loop body small enough for the instruction cache).
template <int ST, int DT, int MODE>
__global__ void __launch_bounds__(kThreads)
k_convert_wide(uint8_t *__restrict__ dst, const uint8_t *__restrict__ src, size_t n, Params p)
{
    constexpr int SB = bits_of(ST), DB = bits_of(DT), V = unit_elems(SB, DB);
    constexpr int U = V >= 8 ? 1 : 8 / V;
    const size_t units = n / V;
    constexpr bool SR = MODE == LB_ROUND_SR;
    const int mode = MODE == kModeRuntime ? p.mode : MODE;
    const size_t step = (size_t)gridDim.x * blockDim.x * U;
    for (size_t b = (size_t)blockIdx.x * blockDim.x * U + threadIdx.x; b < units; b += step) {
        uint32_t c[U][V];
#pragma unroll
        for (int k = 0; k < U; k++)
            if (b + (size_t)k * blockDim.x < units)
                load_unit<SB, V>(src, b + (size_t)k * blockDim.x, c[k]);
#pragma unroll
        for (int k = 0; k < U; k++) {
            const size_t u = b + (size_t)k * blockDim.x;
            if (u < units) {
                uint32_t r[V];
                if constexpr (SR)
                    sr_bits_unit<V>(p.seed, p.offset + u * V, r);
#pragma unroll
                for (int j = 0; j < V; j++)
                    c[k][j] = wide_elem<ST, DT, MODE>(c[k][j], mode, p.saturate, SR ? r[j] : 0u);
                store_unit<DB, V>(dst, u, c[k]);
            }
        }
    }
    const unsigned rest = (unsigned)(n % V);
    if (rest && blockIdx.x == 0 && threadIdx.x == 0)
        convert_span(DT, dst, ST, src, units * V, rest, p, nullptr);
}

template <int ST, int DT>
static lowbit_status launch_wide(uint8_t *dst, const uint8_t *src, size_t n, const Params &p, cudaStream_t stream)
{
    constexpr int V = unit_elems(bits_of(ST), bits_of(DT));
    constexpr int U = V >= 8 ? 1 : 8 / V;
    const unsigned grid = grid_for((n / V + U - 1) / U);
    if (p.mode == LB_ROUND_SR)
        k_convert_wide<ST, DT, LB_ROUND_SR><<<grid, kThreads, 0, stream>>>(dst, src, n, p);
    else if constexpr (is_minifloat(DT)) {
        if (p.mode == LB_ROUND_TZ)
            k_convert_wide<ST, DT, LB_ROUND_TZ><<<grid, kThreads, 0, stream>>>(dst, src, n, p);
        else  // validated: LB_ROUND_NE
            k_convert_wide<ST, DT, LB_ROUND_NE><<<grid, kThreads, 0, stream>>>(dst, src, n, p);
    } else
        k_convert_wide<ST, DT, kModeRuntime><<<grid, kThreads, 0, stream>>>(dst, src, n, p);
    return launch_status("conversion kernel");
}

// Every destination except ST itself (same-type copies never get here).
template <int ST>
static lowbit_status launch_wide_from(int dt, uint8_t *dst, const uint8_t *src, size_t n, const Params &p,
                                      cudaStream_t stream)
{
#define LBCU_CASE(T)                                                \
    case T:                                                         \
        if constexpr (T != ST)                                      \
            return launch_wide<ST, T>(dst, src, n, p, stream);      \
        break;
    switch (dt) {
        LBCU_CASE(LOWBIT_F32)
        LBCU_CASE(LOWBIT_F16)
        LBCU_CASE(LOWBIT_BF16)
        LBCU_CASE(LOWBIT_E4M3)
        LBCU_CASE(LOWBIT_E5M2)
        LBCU_CASE(LOWBIT_E4M3FNUZ)
        LBCU_CASE(LOWBIT_E5M2FNUZ)
        LBCU_CASE(LOWBIT_E3M2)
        LBCU_CASE(LOWBIT_E2M3)
        LBCU_CASE(LOWBIT_E2M1)
        LBCU_CASE(LOWBIT_E8M0)
        LBCU_CASE(LOWBIT_INT8)
        LBCU_CASE(LOWBIT_INT4)
        LBCU_CASE(LOWBIT_UINT4)
    default:
        break;
    }
#undef LBCU_CASE
    return LOWBIT_ERR_UNSUPPORTED;
}

}  // namespace lbcu

#endif
