// convert_wide.cuh - the compile-time kernels for sources f32, f16 and bf16
// (to every other type).  With ST and DT template constants the codec's
// switches and format parameters fold away; the element math is still
// lb_decode / lb_encode.  Included by convert_from_{f32,f16,bf16}.cu only.
#ifndef LOWBIT_KERNELS_CUDA_CONVERT_WIDE_CUH
#define LOWBIT_KERNELS_CUDA_CONVERT_WIDE_CUH

#include "convert_common.cuh"

namespace lbcu {

// dst and src must be aligned to unit_align() of their widths (the launcher
// checks before choosing this kernel).  SR: stochastic rounding.  Each
// thread converts U units of V elements per step (8 elements: enough loads
// in flight, and a loop body small enough for the instruction cache).
template <int ST, int DT, bool SR>
__global__ void __launch_bounds__(kThreads)
k_convert_wide(uint8_t *__restrict__ dst, const uint8_t *__restrict__ src, size_t n, Params p)
{
    constexpr int SB = bits_of(ST), DB = bits_of(DT), V = unit_elems(SB, DB);
    constexpr int U = V >= 8 ? 1 : 8 / V;
    const size_t units = n / V;
    const int mode = SR ? (int)LB_ROUND_SR : p.mode;
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
                    c[k][j] = lb_encode(DT, lb_decode(ST, c[k][j]), mode, p.saturate, SR ? r[j] : 0u);
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
        k_convert_wide<ST, DT, true><<<grid, kThreads, 0, stream>>>(dst, src, n, p);
    else
        k_convert_wide<ST, DT, false><<<grid, kThreads, 0, stream>>>(dst, src, n, p);
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
