// quantize_common.cuh - pieces shared by the CUDA quantize and dequantize
// kernels (quantize.cu, dequantize.cu).
//
// Work unit: a "group" of 8 consecutive elements of one row.  Rows start on a
// byte (row_stride is even for 4-bit and a multiple of 4 for 6-bit elements)
// and 8 elements are whole bytes at every width (8, 6 and 4 bytes), so a
// group whose first column is a multiple of 8 from the row start -- or from a
// block start that is itself on a byte -- owns exactly the bytes it writes:
// no two threads ever write the same byte of packed data.  A short last
// group (k < 8 elements) writes ceil(k * bits / 8) bytes with the unused bits
// zero (lb_pack_codes), as the host reference does; bytes between cols and
// row_stride are never written.
//
// Element and scale math is never restated: block statistics go through
// lb_stats_add, scales through lb_mx_scale_code / lb_amax_scale_code /
// lb_zp_scale_code / lb_zp_value, elements through lb_mx_encode /
// lb_amax_encode / lb_zp_encode / lb_encode and back through the matching
// decoders, codes are read with lb_load_code and packed with lb_pack_codes,
// and stochastic rounding draws lb_philox4x32_10 with the counter layout of
// formats/philox.h (lb_sr_bits).  So results are the host reference's
// (kernels/cpu/ref/quantize_ref.c) bit for bit.
//
// Fast forms.  Where the element type is a compile-time constant, three
// calls take their proven bit-identical fast forms from
// formats/minifloat_fast.h (equal to the generic codec on every input:
// tests/exhaustive/encode_fast_equiv.c, kernel_equiv_device.cu):
//  - f16 / bf16 sources decode with lb_f16_decode_fast / lb_bf16_decode_fast
//    (= lb_decode(F16 / BF16, c));
//  - f16 / bf16 outputs of dequantize encode with lb_mf_encode_fast
//    (= lb_encode(F16 / BF16, v, NE, 0, 0));
//  - minifloat elements encode with lb_mf_encode_fast: mx_encode_fast and
//    amax_encode_fast below are lb_mx_encode and lb_amax_encode with their
//    final lb_encode(elem, v, mode, 1, r) -- which for a minifloat elem is
//    lb_mf_encode(spec, v, mode, 1, r) -- replaced by that fast form; their
//    NaN-scale branches call the scale.h functions themselves.  If scale.h
//    changes how v is formed, these must follow (the device test compares
//    every scheme and element with the host reference bit for bit).
#ifndef LOWBIT_KERNELS_CUDA_QUANTIZE_COMMON_CUH
#define LOWBIT_KERNELS_CUDA_QUANTIZE_COMMON_CUH

#include "gpu_port.cuh"  // <cuda_runtime.h>, or its HIP twin
#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "internal.h"
}
#include "gpu.h"
#include "scale.h"
#include "minifloat_fast.h"

namespace lbq {

constexpr int kAny = -1;        // template argument: decided at run time
constexpr int kGroup = 8;       // elements per group
constexpr int kThreads = 256;   // threads per block of the element-wise kernels
constexpr int kMaxSeg = 256;    // most threads that share one scale block (= kThreads)
constexpr int kGPT = 2;         // groups a thread of k_quant_blocks keeps in registers

// Storage width of a dtype in bits, usable in templates (lb_bits' twin).
__host__ __device__ constexpr int bits_of(int t)
{
    return t == LOWBIT_F32 ? 32
         : (t == LOWBIT_F16 || t == LOWBIT_BF16) ? 16
         : (t == LOWBIT_E3M2 || t == LOWBIT_E2M3) ? 6
         : (t == LOWBIT_E2M1 || t == LOWBIT_INT4 || t == LOWBIT_UINT4) ? 4
         : 8;
}

// a / b for the sizes of a launch: 32-bit division when both fit (most
// tensors), which is several times cheaper on the GPU than 64-bit.
__device__ __forceinline__ size_t udiv(size_t a, size_t b)
{
    if (((a | b) >> 32) == 0)
        return (size_t)((uint32_t)a / (uint32_t)b);
    return a / b;
}

// The minifloat types of lb_minifloat_spec (lb_encode of these is lb_mf_encode).
__host__ __device__ constexpr bool is_minifloat(int t)
{
    return t == LOWBIT_F16 || t == LOWBIT_BF16 || t == LOWBIT_E4M3 || t == LOWBIT_E5M2 || t == LOWBIT_E4M3FNUZ ||
           t == LOWBIT_E5M2FNUZ || t == LOWBIT_E3M2 || t == LOWBIT_E2M3 || t == LOWBIT_E2M1;
}

// Byte alignment that a whole group of packed `bits`-bit codes (8 elements:
// `bits` bytes) needs for its one vector access: 8 bytes as one 8-byte word,
// 6 bytes as three 2-byte words, 4 bytes as one 4-byte word.
__host__ __device__ constexpr unsigned group_align(unsigned bits)
{
    return bits == 8 ? 8u : bits == 6 ? 2u : 4u;
}

// ---- quantize ------------------------------------------------------------

struct QArgs {
    uint8_t *data;
    uint8_t *scales;
    uint8_t *zps;
    const uint8_t *src;
    size_t rows, cols;
    size_t src_stride;   // elements
    size_t row_stride;   // elements of q
    size_t br, bc;       // effective block shape
    size_t grid_cols, nblocks;
    int elem, stype, rule, mode;
    uint64_t seed, offset;
    unsigned seg;        // threads per scale block (a power of two, <= kMaxSeg)
    unsigned segs;       // scale blocks per thread block (blockDim / seg)
    unsigned rounds;     // consecutive block slots per thread block (1, or 2 for paired 4-bit zero points)
    size_t nctas;        // thread-block work items (rounds * segs scale blocks each)
    int vec;             // whole groups may use vector loads / stores
    int write_elems;     // 0: scales (and zero points) only
    float s_t;           // NVFP4: the tensor scale the caller gives
};

// The scale of one block as the element encoders use it: exactly what the
// reference reads back from the stored scale (and zero point).
struct BScale {
    uint32_t sc;   // MX: the E8M0 code; NVFP4: the E4M3 code
    float s;       // AMAX / ZP: the stored scale as f32; NVFP4 (quantize): the divisor s_t * s_b
    int32_t zp;    // ZP: the stored zero point, decoded
};

// Merge partial block statistics.  Every partial starts from lb_stats_init
// (amax = vmax = vmin = +0) and lb_stats_add only replaces a value by a
// strictly larger (smaller) one, so amax and vmax are +0 or positive, vmin is
// +0 or negative, and max / min over the partials give the same bits as one
// sequential pass in any order: the reduction is exact.
__device__ __forceinline__ void stats_merge(lb_block_stats &a, const lb_block_stats &b)
{
    if (b.amax > a.amax) a.amax = b.amax;
    if (b.vmax > a.vmax) a.vmax = b.vmax;
    if (b.vmin < a.vmin) a.vmin = b.vmin;
    a.nonfinite |= b.nonfinite;
}

__device__ __forceinline__ lb_block_stats stats_shfl_xor(const lb_block_stats &s, int off)
{
    lb_block_stats o;
    o.amax = __shfl_xor_sync(0xFFFFFFFFu, s.amax, off);
    o.vmax = __shfl_xor_sync(0xFFFFFFFFu, s.vmax, off);
    o.vmin = __shfl_xor_sync(0xFFFFFFFFu, s.vmin, off);
    o.nonfinite = __shfl_xor_sync(0xFFFFFFFFu, s.nonfinite, off);
    return o;
}

// The stochastic-rounding bits of elements idx .. idx+7: lb_sr_bits(seed,
// idx + j), each Philox block computed once (three blocks at most).
__device__ __forceinline__ void sr_bits8(uint64_t seed, uint64_t idx, uint32_t (&r)[kGroup])
{
    const uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    const uint64_t blk = idx >> 2;
    const unsigned s = (unsigned)(idx & 3u);
    uint32_t w[12];
#pragma unroll
    for (int q = 0; q < 3; q++) {
        if (q == 2 && s == 0) {
            w[8] = w[9] = w[10] = w[11] = 0u;
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
    for (int j = 0; j < kGroup; j++)
        r[j] = s == 0 ? w[j] : s == 1 ? w[j + 1] : s == 2 ? w[j + 2] : w[j + 3];
}

// lb_decode(ST, c) for the wide types, in the fast forms of minifloat_fast.h.
template <int ST>
__device__ __forceinline__ float wide_decode(uint32_t c)
{
    if constexpr (ST == LOWBIT_F32)
        return __uint_as_float(c);
    else if constexpr (ST == LOWBIT_BF16)
        return lb_bf16_decode_fast(c);
    else
        return lb_f16_decode_fast(c);
}

// lb_encode(DT, v, LB_ROUND_NE, 0, 0) for the wide types (fast form).
template <int DT>
__device__ __forceinline__ uint32_t wide_encode(float v)
{
    if constexpr (DT == LOWBIT_F32) {
        return lb_f32_bits(v);
    } else {
        lb_minifloat s;
        lb_minifloat_spec(DT, &s);
        return lb_mf_encode_fast(s, v, LB_ROUND_NE, 0, 0u);
    }
}

// Elements c .. c+k-1 of a source row (f32 / f16 / bf16) as f32, exactly
// lb_load_f32; a whole group with vec set is one or two 16-byte loads (the
// launcher checked the alignment).
template <int ST>
__device__ __forceinline__ void load_group(const uint8_t *row, size_t c, unsigned k, bool vec, float (&x)[kGroup])
{
    constexpr int SB = bits_of(ST) / 8;
    if (vec && k == kGroup) {
        const uint8_t *p = row + c * SB;
        uint32_t w[8];
        if constexpr (SB == 4) {
            const uint4 a = reinterpret_cast<const uint4 *>(p)[0];
            const uint4 b = reinterpret_cast<const uint4 *>(p)[1];
            w[0] = a.x; w[1] = a.y; w[2] = a.z; w[3] = a.w;
            w[4] = b.x; w[5] = b.y; w[6] = b.z; w[7] = b.w;
        } else {
            const uint4 a = reinterpret_cast<const uint4 *>(p)[0];
            w[0] = a.x & 0xFFFFu; w[1] = a.x >> 16; w[2] = a.y & 0xFFFFu; w[3] = a.y >> 16;
            w[4] = a.z & 0xFFFFu; w[5] = a.z >> 16; w[6] = a.w & 0xFFFFu; w[7] = a.w >> 16;
        }
#pragma unroll
        for (int j = 0; j < kGroup; j++)
            x[j] = wide_decode<ST>(w[j]);
    } else {
#pragma unroll
        for (int j = 0; j < kGroup; j++)
            x[j] = (unsigned)j < k ? wide_decode<ST>(lb_load_code(ST, row, c + j)) : 0.0f;
    }
}

// Store codes of elements c .. c+k-1 of a packed row (c begins a byte):
// lb_pack_codes into registers, then one vector store for a whole group
// with vec set, else byte stores of exactly the bytes those elements own.
__device__ __forceinline__ void store_group(uint8_t *row, size_t c, unsigned k, bool vec, unsigned bits,
                                            const uint32_t (&code)[kGroup])
{
    uint8_t c8[kGroup], b[kGroup];
#pragma unroll
    for (int j = 0; j < kGroup; j++)
        c8[j] = (uint8_t)(bits == 8 ? code[j] : code[j] & ((1u << bits) - 1u));
    uint8_t *p = row + c * bits / 8;
    if (vec && k == kGroup) {
        lb_pack_codes(bits, b, c8, kGroup);
        if (bits == 8) {
            uint2 v;
            v.x = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            v.y = (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24;
            *reinterpret_cast<uint2 *>(p) = v;
        } else if (bits == 6) {
            unsigned short *q = reinterpret_cast<unsigned short *>(p);
            q[0] = (unsigned short)(b[0] | b[1] << 8);
            q[1] = (unsigned short)(b[2] | b[3] << 8);
            q[2] = (unsigned short)(b[4] | b[5] << 8);
        } else {
            *reinterpret_cast<uint32_t *>(p) =
                (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        }
    } else {
        lb_pack_codes(bits, p, c8, k);
    }
}

// Store a scale code in its scale type's width, as the reference does.
__device__ __forceinline__ void store_scale(int stype, uint8_t *scales, size_t b, uint32_t code)
{
    switch (lb_bits(stype)) {
    case 32: memcpy(scales + 4 * b, &code, 4); break;
    case 16: { uint16_t h = (uint16_t)code; memcpy(scales + 2 * b, &h, 2); } break;
    default: scales[b] = (uint8_t)code; break;
    }
}

// The scale of block b as the reference reads it back from the stored scale
// and zero point: the E8M0 / E4M3 code (MX, NVFP4), the f32 value of an
// f32/f16/bf16 scale (AMAX, ZP), and the decoded zero point (ZP).
__device__ __forceinline__ BScale read_scale(int scheme, int elem, int stype, const uint8_t *scales,
                                             const uint8_t *zps, size_t b)
{
    BScale bs = {0u, 0.0f, 0};
    if (scheme == LB_SCHEME_MX || scheme == LB_SCHEME_NVFP4) {
        bs.sc = lb_load_code(stype, scales, b);
    } else if (scheme == LB_SCHEME_AMAX) {
        bs.s = lb_load_f32(stype, scales, b);
    } else if (scheme == LB_SCHEME_ZP) {
        bs.s = lb_load_f32(stype, scales, b);
        bs.zp = (int32_t)lb_decode(elem, lb_load_code(elem, zps, b));
    }
    return bs;
}

// lb_encode(ELEM, v, mode, 1, r) with the fast form for a minifloat ELEM.
template <int ELEM>
__device__ __forceinline__ uint32_t elem_encode(int elem, float v, int mode, uint32_t rb)
{
    if constexpr (ELEM != kAny && is_minifloat(ELEM)) {
        lb_minifloat s;
        lb_minifloat_spec(ELEM, &s);
        return lb_mf_encode_fast(s, v, mode, 1, rb);
    } else {
        return lb_encode(elem, v, mode, 1, rb);
    }
}

// lb_mx_encode(elem, x, sc, mode, rb), fast form for minifloat elements (see top).
template <int ELEM>
__device__ __forceinline__ uint32_t mx_encode_fast(int elem, float x, uint32_t sc, int mode, uint32_t rb)
{
    if constexpr (ELEM != kAny && is_minifloat(ELEM)) {
        if (sc != 0xFFu)
            return elem_encode<ELEM>(elem, x * lb_pow2f(127 - (int)sc), mode, rb);
    }
    return lb_mx_encode(elem, x, sc, mode, rb);
}

// lb_amax_encode(elem, x, s, mode, rb), fast form for minifloat elements (see top).
template <int ELEM>
__device__ __forceinline__ uint32_t amax_encode_fast(int elem, float x, float s, int mode, uint32_t rb)
{
    if constexpr (ELEM != kAny && is_minifloat(ELEM)) {
        if (s == s)
            return elem_encode<ELEM>(elem, x / s, mode, rb);
    }
    return lb_amax_encode(elem, x, s, mode, rb);
}

// lb_nv_encode(elem, x, bs.sc, s_t, mode, rb) with its f32 divisor s_t * s_b
// formed once per block (bs.s), and the fast form for a minifloat ELEM.
template <int ELEM>
__device__ __forceinline__ uint32_t nv_encode_fast(int elem, float x, const BScale &bs, int mode, uint32_t rb)
{
    if ((bs.sc & 0x7Fu) == 0x7Fu)
        return lb_encode(elem, lb_f32_from_bits(0x7FC00000u), mode, 1, rb);
    return elem_encode<ELEM>(elem, x / bs.s, mode, rb);
}

// One element's code against its block's scale (not yet masked to the width).
template <int ELEM, int SCHEME>
__device__ __forceinline__ uint32_t encode_one(int scheme, int elem, float x, const BScale &bs, int mode, uint32_t rb)
{
    const int sch = SCHEME == kAny ? scheme : SCHEME;
    if (sch == LB_SCHEME_MX)
        return mx_encode_fast<ELEM>(elem, x, bs.sc, mode, rb);
    if (sch == LB_SCHEME_AMAX)
        return amax_encode_fast<ELEM>(elem, x, bs.s, mode, rb);
    if (sch == LB_SCHEME_NVFP4)
        return nv_encode_fast<ELEM>(elem, x, bs, mode, rb);
    if (sch == LB_SCHEME_ZP)
        return (uint32_t)lb_zp_encode(elem, x, bs.s, bs.zp, mode, rb);
    return elem_encode<ELEM>(elem, x, mode, rb);  // plain: a saturating conversion
}

// ---- dequantize ----------------------------------------------------------

struct DArgs {
    uint8_t *dst;
    const uint8_t *data;
    const uint8_t *scales;
    const uint8_t *zps;
    size_t rows, cols;
    size_t row_stride;   // elements of q
    size_t dst_stride;   // elements
    size_t br, bc, grid_cols;
    int elem, stype, scheme;
    float tensor_scale;
    int vec;
};

// ---- launching -------------------------------------------------------------

// Report a failed launch (cudaGetLastError) as LOWBIT_ERR_DEVICE.
lowbit_status q_launch_status(const char *what);

// Blocks for `items` work items of one thread each, capped (threads loop).
unsigned q_grid_for(size_t items, unsigned threads);

}  // namespace lbq

#endif
