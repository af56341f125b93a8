// kv_append.cuh - the arithmetic of the device KV-cache append
// (kv_append.cu, lowbit_kv_append_device) as __host__ __device__ functions:
// the kernel calls them from its threads, and
// tests/gpu/attention_cuda_host_emul.cu calls the very same functions on
// the host and compares the pages with lowbit_kv_append's, byte for byte.
//
// Work: an item is one token's vector of one kv head; a warp takes an item
// and its lane c the item's chunk c: a block of the format (its statistics,
// scale and elements are that lane's alone), or 16 elements where the scale
// is fixed (unscaled caches, FP8 per head).  Each lane writes whole bytes of
// the row (chunks hold 16k elements, so packed 4- and 6-bit chunks start on
// bytes) and its own scale; 4-bit zero points, two to a byte, are packed by
// lane 0 once every lane has its own.  Per block, the bits are those of
// kernels/cpu/ref/quantize_ref.c for a 1 x head_dim tensor: statistics, the
// scale by formats/scale.h, then every element encoded against the stored
// scale (nearest even, saturating); unscaled caches hold the plain cast
// (nearest even, overflow to Inf), as lowbit_kv_append writes them.
#ifndef LOWBIT_KERNELS_CUDA_KV_APPEND_CUH
#define LOWBIT_KERNELS_CUDA_KV_APPEND_CUH

#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "internal.h"
}
#include "codec.h"
#include "packing.h"
#include "scale.h"

#if defined(__CUDACC__) || defined(__HIPCC__)
#define LBK_HD __host__ __device__ __forceinline__
#else
#define LBK_HD inline
#endif

namespace lbk {

constexpr unsigned kWarps = 4;                           // items per CTA
constexpr unsigned kMaxChunks = LB_ATTN_MAX_D / 16;      // 16: at most a lane each

// Where item i (token i / kv_heads, head i % kv_heads) comes from and goes.
struct Item {
    uint8_t *row, *scales, *zps;
    const uint8_t *src;
    float head_scale;  // FP8 per head: the scale; NVFP4: the tensor scale
};

LBK_HD uint32_t chunk_len(const lb_kv_view &v)
{
    return v.scheme == LB_SCHEME_PLAIN || v.per_head ? 16u : v.blk;
}

LBK_HD uint32_t chunks(const lb_kv_view &v) { return v.D / chunk_len(v); }

LBK_HD Item item_of(const lb_kv_append_job &j, size_t i)
{
    const lb_kv_view &v = j.v;
    const size_t t = i / j.kv_heads;
    const uint32_t h = (uint32_t)(i % j.kv_heads);
    const size_t at = j.pos + t, lpage = at / v.page_tokens, slot = at % v.page_tokens;
    const size_t page = j.table ? (size_t)j.table[lpage] : lpage;
    uint8_t *base = j.pages + page * v.page_bytes + h * v.head_bytes;
    Item it;
    it.row = base + slot * v.row_bytes;
    it.scales = base + v.scale_off + slot * v.scale_bytes;
    it.zps = base + v.zp_off + slot * v.zp_bytes;
    it.src = j.src + (t * j.src_stride + (size_t)h * v.D) * (j.src_bits / 8);
    it.head_scale = v.head_scales ? v.head_scales[h] : 1.0f;
    return it;
}

LBK_HD void store_scale(int stype, uint8_t *p, uint32_t b, uint32_t code)
{
    switch (stype) {
    case LOWBIT_F32:
        for (int k = 0; k < 4; k++)
            p[4 * b + k] = (uint8_t)(code >> (8 * k));
        break;
    case LOWBIT_F16:
    case LOWBIT_BF16:
        p[2 * b] = (uint8_t)code;
        p[2 * b + 1] = (uint8_t)(code >> 8);
        break;
    default:
        p[b] = (uint8_t)code;
        break;
    }
}

// Chunk c of the item: its scale (and zero point) from its statistics,
// then its elements; returns the zero point's code (0 without).
LBK_HD uint32_t quantize_chunk(const lb_kv_append_job &j, const Item &it, uint32_t c)
{
    const lb_kv_view &v = j.v;
    const int elem = (int)v.elem, stype = (int)v.scale_type, st = (int)j.src_type;
    const unsigned bits = j.elem_bits;
    const uint32_t mask = bits >= 8 ? 0xFFu : (1u << bits) - 1u;
    const uint32_t n = chunk_len(v), d0 = c * n;
    const lb_scheme scheme = v.scheme;
    const bool fixed = scheme == LB_SCHEME_PLAIN || v.per_head;

    uint32_t sc = 0, zp_code = 0;
    float s = 1.0f;
    int32_t zp = 0;
    if (!fixed) {
        lb_block_stats stats;
        lb_stats_init(&stats);
        for (uint32_t d = d0; d < d0 + n; d++)
            lb_stats_add(&stats, lb_load_f32(st, it.src, d));
        switch (scheme) {
        case LB_SCHEME_MX: sc = lb_mx_scale_code(&stats, elem, (int)v.rule); break;
        case LB_SCHEME_NVFP4: sc = lb_nv_block_scale_code(&stats, elem, it.head_scale); break;
        case LB_SCHEME_AMAX: sc = lb_amax_scale_code(&stats, elem, stype); break;
        default: sc = lb_zp_scale_code(&stats, elem, stype); break;  // LB_SCHEME_ZP
        }
        store_scale(stype, it.scales, c, sc);
        s = lb_decode(stype, sc);  // what the elements are encoded against: the stored scale
        if (scheme == LB_SCHEME_ZP) {
            zp_code = (uint32_t)lb_zp_value(&stats, elem, s) & mask;
            zp = (int32_t)lb_decode(elem, zp_code);
        }
    }
    if (bits >= 16) {  // an unscaled f32 / f16 / bf16 cache: the cast, little endian
        for (uint32_t d = d0; d < d0 + n; d++) {
            const uint32_t code = lb_encode(elem, lb_load_f32(st, it.src, d), LB_ROUND_NE, 0, 0);
            for (unsigned k = 0; k < bits / 8; k++)
                it.row[(size_t)d * (bits / 8) + k] = (uint8_t)(code >> (8 * k));
        }
        return 0;
    }
    for (uint32_t d = d0; d < d0 + n; d += 16) {
        uint8_t codes[16];
        for (uint32_t k = 0; k < 16; k++) {
            const float x = lb_load_f32(st, it.src, d + k);
            uint32_t code;
            switch (v.per_head ? -1 : (int)scheme) {  // (unscaled caches are f32 / f16 / bf16: above)
            case -1: code = lb_amax_encode(elem, x, it.head_scale, LB_ROUND_NE, 0); break;
            case LB_SCHEME_MX: code = lb_mx_encode(elem, x, sc, LB_ROUND_NE, 0); break;
            case LB_SCHEME_NVFP4: code = lb_nv_encode(elem, x, sc, it.head_scale, LB_ROUND_NE, 0); break;
            case LB_SCHEME_AMAX: code = lb_amax_encode(elem, x, s, LB_ROUND_NE, 0); break;
            default: code = (uint32_t)lb_zp_encode(elem, x, s, zp, LB_ROUND_NE, 0); break;
            }
            codes[k] = (uint8_t)(code & mask);
        }
        lb_pack_codes(bits, it.row + (size_t)d * bits / 8, codes, 16);
    }
    return zp_code;
}

// Lane 0, after every lane's quantize_chunk: the item's zero points.
LBK_HD void store_zero_points(const lb_kv_append_job &j, const Item &it, const uint8_t *zp_codes)
{
    if (j.v.scheme == LB_SCHEME_ZP)
        lb_pack_codes(j.elem_bits, it.zps, zp_codes, j.v.nblk);
}

}  // namespace lbk

#endif
