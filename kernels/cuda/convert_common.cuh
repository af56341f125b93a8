// convert_common.cuh - pieces shared by the CUDA conversion kernels.
//
// Work is cut into units of V consecutive elements, V chosen per pair of
// storage widths so that the wider side of a unit is 16 bytes (V = 4 for a
// 32-bit side, 8 for 16-bit, 16 for 8- or 6-bit, 32 for 4-bit).  A unit
// always starts and ends on a byte boundary on both sides, so each thread
// owns whole output bytes and no two threads write the same byte.  Thread t
// of a block takes units b + k * blockDim + t (k < U), so a warp's loads and
// stores are contiguous (coalesced); when both pointers are aligned for
// their unit size, units move with single 2-, 4-, 8- or 16-byte accesses.
// The last n % V elements are done element by element by one thread,
// writing only the bytes they own (formats/packing.h zeroes unused bits).
//
// Element math is never restated here: every element goes through
// lb_decode / lb_encode (formats/codec.h), or in the wide kernels through
// their proven bit-identical fast forms (formats/minifloat_fast.h, see
// convert_wide.cuh), with the stochastic-rounding bits of formats/philox.h,
// so results are the host reference's bit for bit.
#ifndef LOWBIT_KERNELS_CUDA_CONVERT_COMMON_CUH
#define LOWBIT_KERNELS_CUDA_CONVERT_COMMON_CUH

#include "gpu_port.cuh"  // <cuda_runtime.h>, or its HIP twin
#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "internal.h"
}
#include "gpu.h"
#include "codec.h"

namespace lbcu {

constexpr int kMaxSpan = 32;  // longest element-by-element stretch (a tail: < V <= 32)
constexpr int kThreads = 256;  // threads per block

// Storage width of a dtype, usable in templates (the codec's lb_bits is the
// runtime twin; the device tests compare every pair against the host).
__host__ __device__ constexpr int bits_of(int t)
{
    return t == LOWBIT_F32 ? 32
         : (t == LOWBIT_F16 || t == LOWBIT_BF16) ? 16
         : (t == LOWBIT_E3M2 || t == LOWBIT_E2M3) ? 6
         : (t == LOWBIT_E2M1 || t == LOWBIT_INT4 || t == LOWBIT_UINT4) ? 4
         : 8;
}

// Elements per unit for a pair of widths: the wider side takes 16 bytes.
__host__ __device__ constexpr int unit_elems(int sbits, int dbits)
{
    return (sbits > dbits ? sbits : dbits) == 32 ? 4
         : (sbits > dbits ? sbits : dbits) == 16 ? 8
         : (sbits > dbits ? sbits : dbits) >= 6 ? 16
         : 32;
}

// Alignment a unit of V elements of `bits` bits needs for its accesses:
// the largest power of two dividing its byte size (at most 16).
__host__ __device__ constexpr unsigned unit_align(int bits, int v)
{
    return (unsigned)((v * bits / 8) & -(v * bits / 8)) > 16u ? 16u : (unsigned)((v * bits / 8) & -(v * bits / 8));
}

// Kernel launch parameters that every conversion kernel takes.
struct Params {
    int mode;       // LB_ROUND_*
    int saturate;
    uint64_t seed;
    uint64_t offset;
};

// A code table for sources of at most 8 bits: lut.v[c] is the destination
// code of source code c (built on the host with the same codec).
struct Lut {
    uint32_t v[256];
};

// ---- whole units --------------------------------------------------------

// Codes of the V elements of unit u of a buffer of BITS-bit elements.
template <int BITS, int V>
__device__ __forceinline__ void load_unit(const uint8_t *__restrict__ base, size_t u, uint32_t (&c)[V])
{
    constexpr int B = V * BITS / 8;  // bytes per unit
    static_assert(B * 8 == V * BITS && B <= 16, "unit size");
    const uint8_t *p = base + u * B;
    uint32_t w[4] = {0u, 0u, 0u, 0u};
    if constexpr (B == 16) {
        uint4 v = __ldcs(reinterpret_cast<const uint4 *>(p));
        w[0] = v.x; w[1] = v.y; w[2] = v.z; w[3] = v.w;
    } else if constexpr (B == 8) {
        uint2 v = __ldcs(reinterpret_cast<const uint2 *>(p));
        w[0] = v.x; w[1] = v.y;
    } else if constexpr (B == 4) {
        w[0] = __ldcs(reinterpret_cast<const unsigned int *>(p));
    } else if constexpr (B == 2) {
        w[0] = __ldcs(reinterpret_cast<const unsigned short *>(p));
    } else if constexpr (B == 12) {
        const unsigned int *q = reinterpret_cast<const unsigned int *>(p);
        w[0] = __ldcs(q); w[1] = __ldcs(q + 1); w[2] = __ldcs(q + 2);
    } else if constexpr (B == 6) {
        const unsigned short *q = reinterpret_cast<const unsigned short *>(p);
        w[0] = (uint32_t)__ldcs(q) | (uint32_t)__ldcs(q + 1) << 16;
        w[1] = __ldcs(q + 2);
    } else {
        static_assert(B == 3, "unit size");
        w[0] = (uint32_t)__ldcs(p) | (uint32_t)__ldcs(p + 1) << 8 | (uint32_t)__ldcs(p + 2) << 16;
    }
#pragma unroll
    for (int j = 0; j < V; j++) {
        constexpr uint32_t mask = BITS == 32 ? 0xFFFFFFFFu : (1u << (BITS == 32 ? 0 : BITS)) - 1u;
        const int pos = j * BITS, wi = pos / 32, sh = pos % 32;
        uint32_t v;
        if (sh + BITS <= 32)
            v = w[wi] >> sh;
        else
            v = __funnelshift_r(w[wi], w[wi + 1 < 4 ? wi + 1 : 3], sh);
        c[j] = v & mask;
    }
}

// Store the V codes of unit u (codes are masked to the width).
template <int BITS, int V>
__device__ __forceinline__ void store_unit(uint8_t *__restrict__ base, size_t u, const uint32_t (&c)[V])
{
    constexpr int B = V * BITS / 8;
    static_assert(B * 8 == V * BITS && B <= 16, "unit size");
    uint8_t *p = base + u * B;
    uint32_t w[4] = {0u, 0u, 0u, 0u};
#pragma unroll
    for (int j = 0; j < V; j++) {
        constexpr uint32_t mask = BITS == 32 ? 0xFFFFFFFFu : (1u << (BITS == 32 ? 0 : BITS)) - 1u;
        const int pos = j * BITS, wi = pos / 32, sh = pos % 32;
        const uint32_t v = c[j] & mask;
        w[wi] |= v << sh;
        if (sh + BITS > 32)
            w[wi + 1 < 4 ? wi + 1 : 3] |= v >> (32 - sh);
    }
    if constexpr (B == 16) {
        __stcs(reinterpret_cast<uint4 *>(p), make_uint4(w[0], w[1], w[2], w[3]));
    } else if constexpr (B == 8) {
        __stcs(reinterpret_cast<uint2 *>(p), make_uint2(w[0], w[1]));
    } else if constexpr (B == 4) {
        __stcs(reinterpret_cast<unsigned int *>(p), w[0]);
    } else if constexpr (B == 2) {
        __stcs(reinterpret_cast<unsigned short *>(p), (unsigned short)w[0]);
    } else if constexpr (B == 12) {
        unsigned int *q = reinterpret_cast<unsigned int *>(p);
        __stcs(q, w[0]); __stcs(q + 1, w[1]); __stcs(q + 2, w[2]);
    } else if constexpr (B == 6) {
        unsigned short *q = reinterpret_cast<unsigned short *>(p);
        __stcs(q, (unsigned short)w[0]); __stcs(q + 1, (unsigned short)(w[0] >> 16));
        __stcs(q + 2, (unsigned short)w[1]);
    } else {
        static_assert(B == 3, "unit size");
        p[0] = (uint8_t)w[0]; p[1] = (uint8_t)(w[0] >> 8); p[2] = (uint8_t)(w[0] >> 16);
    }
}

// The stochastic-rounding bits of elements idx .. idx+V-1: lb_sr_bits(seed,
// idx + j) for each j, computing each Philox block once (V/4 blocks, one
// more when idx is not a multiple of 4).  The counter layout is the one
// documented in formats/philox.h; the device test checks it against the host
// reference at offsets that are not multiples of 4 and across the 2^32
// block boundary.
template <int V>
__device__ __forceinline__ void sr_bits_unit(uint64_t seed, uint64_t idx, uint32_t (&r)[V])
{
    static_assert(V % 4 == 0, "unit");
    constexpr int NB = V / 4 + 1;
    const uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    const uint64_t blk = idx >> 2;
    const unsigned s = (unsigned)(idx & 3u);
    uint32_t w[4 * NB];
#pragma unroll
    for (int q = 0; q < NB; q++) {
        if (q == NB - 1 && s == 0) {
            w[4 * q] = w[4 * q + 1] = w[4 * q + 2] = w[4 * q + 3] = 0u;
            break;
        }
        const uint64_t b = blk + (uint64_t)q;
        lb_philox4 ctr = {{(uint32_t)b, (uint32_t)(b >> 32), 0u, 0u}};
        lb_philox4 o = lb_philox4x32_10(ctr, k0, k1);
        w[4 * q + 0] = o.v[0];
        w[4 * q + 1] = o.v[1];
        w[4 * q + 2] = o.v[2];
        w[4 * q + 3] = o.v[3];
    }
#pragma unroll
    for (int j = 0; j < V; j++)
        r[j] = s == 0 ? w[j] : s == 1 ? w[j + 1] : s == 2 ? w[j + 2] : w[j + 3];
}

// ---- element by element (tails, unaligned buffers) ----------------------

// Write codes of elements first .. first+k-1 (k <= kMaxSpan; `first` begins a
// byte: a multiple of 8 elements) with byte stores, exactly the bytes those
// elements own; packed widths zero the bits past the last element.
__device__ __forceinline__ void store_codes_bytewise(unsigned bits, uint8_t *dst, size_t first,
                                                     const uint32_t *codes, unsigned k)
{
    if (bits == 32 || bits == 16) {
        const unsigned nb = bits / 8;
        uint8_t *p = dst + first * nb;
        for (unsigned j = 0; j < k; j++)
            for (unsigned b = 0; b < nb; b++)
                p[j * nb + b] = (uint8_t)(codes[j] >> (8 * b));
    } else {
        uint8_t c8[kMaxSpan];
        for (unsigned j = 0; j < k; j++)
            c8[j] = (uint8_t)codes[j];
        lb_pack_codes(bits, dst + first * bits / 8, c8, k);
    }
}

// Convert elements first .. first+k-1 one at a time (any alignment); with a
// table (lut != NULL) the source code indexes it, otherwise the codec runs.
__device__ __forceinline__ void convert_span(int dt, uint8_t *dst, int st, const uint8_t *src, size_t first,
                                             unsigned k, const Params &p, const uint32_t *lut)
{
    uint32_t codes[kMaxSpan];
    for (unsigned j = 0; j < k; j++) {
        const size_t i = first + j;
        const uint32_t code = lb_load_code(st, src, i);
        if (lut) {
            codes[j] = lut[code];
        } else {
            const uint32_t r = p.mode == LB_ROUND_SR ? lb_sr_bits(p.seed, p.offset + i) : 0u;
            codes[j] = lb_encode(dt, lb_decode(st, code), p.mode, p.saturate, r);
        }
    }
    store_codes_bytewise(lb_bits(dt), dst, first, codes, k);
}

// ---- launching -----------------------------------------------------------

// Blocks for `units` work items of one thread each (at least one block),
// looping only beyond 2^20 blocks.
unsigned grid_for(size_t units);

// Report a failed launch (cudaGetLastError) as LOWBIT_ERR_DEVICE.
lowbit_status launch_status(const char *what);

}  // namespace lbcu

// Launchers for the compile-time (source, destination) kernels, one file per
// wide source so the instantiations compile in parallel.  Return
// LOWBIT_ERR_UNSUPPORTED (without recording it) when dt is not covered.
#define LBCU_WIDE_LAUNCHER(name) \
    __attribute__((visibility("hidden"))) lowbit_status name(int dt, uint8_t *dst, const uint8_t *src, size_t n, \
                                                             const lbcu::Params &p, cudaStream_t stream)
LBCU_WIDE_LAUNCHER(lbcu_launch_from_f32);
LBCU_WIDE_LAUNCHER(lbcu_launch_from_f16);
LBCU_WIDE_LAUNCHER(lbcu_launch_from_bf16);

#endif
