// dequantize.cu - the CUDA backend of lowbit_dequantize_device (src/gpu.h).
//
// Every scheme, including NVFP4 (the f32 tensor scale arrives by value) and
// whole-tensor scales, in groups of 8 elements of a row (whole bytes of
// packed data).  Each element's block scale is read back as the
// reference reads it (lb_load_code / lb_load_f32, once per group when the
// group lies in one block), the value is lb_mx_decode / lb_nv_decode /
// lb_amax_decode / lb_zp_decode / lb_decode, a NaN result becomes the
// canonical quiet NaN, and f16 / bf16 outputs round once with lb_encode
// (nearest even, not saturating; the fast form of minifloat_fast.h).  One
// thread per group.  Whole groups with aligned pointers load
// their codes with one access and store with 16-byte stores; anything else
// goes element by element.  Only the cols elements of each output row are
// written.
#include "quantize_common.cuh"

namespace lbq {

// One element's value against its block's scale, as the reference forms it.
__device__ __forceinline__ float decode_one(int scheme, int elem, uint32_t code, const BScale &bs, float s_t)
{
    switch (scheme) {
    case LB_SCHEME_MX:
        return lb_mx_decode(elem, code, bs.sc);
    case LB_SCHEME_NVFP4:
        return lb_nv_decode(elem, code, bs.sc, s_t);
    case LB_SCHEME_AMAX:
        return lb_amax_decode(elem, code, bs.s);
    case LB_SCHEME_ZP:
        return lb_zp_decode((int32_t)lb_decode(elem, code), bs.zp, bs.s);
    default:
        return lb_decode(elem, code);
    }
}

// Codes of elements c .. c+k-1 of a packed row: a whole group in one access
// copied into a local buffer laid out as in memory, else element by element;
// read with lb_load_code either way.
__device__ __forceinline__ void load_codes(int elem, unsigned bits, const uint8_t *row, size_t c, unsigned k, bool vec,
                                           uint32_t (&code)[kGroup])
{
    if (vec && k == kGroup) {
        uint8_t buf[kGroup];
        const uint8_t *p = row + c * bits / 8;
        if (bits == 8) {
            const uint2 v = *reinterpret_cast<const uint2 *>(p);
#pragma unroll
            for (int i = 0; i < 4; i++) {
                buf[i] = (uint8_t)(v.x >> (8 * i));
                buf[4 + i] = (uint8_t)(v.y >> (8 * i));
            }
        } else if (bits == 6) {
            const unsigned short *q = reinterpret_cast<const unsigned short *>(p);
#pragma unroll
            for (int i = 0; i < 3; i++) {
                const unsigned short v = q[i];
                buf[2 * i] = (uint8_t)v;
                buf[2 * i + 1] = (uint8_t)(v >> 8);
            }
            buf[6] = buf[7] = 0;
        } else {
            const uint32_t v = *reinterpret_cast<const uint32_t *>(p);
#pragma unroll
            for (int i = 0; i < 4; i++)
                buf[i] = (uint8_t)(v >> (8 * i));
            buf[4] = buf[5] = buf[6] = buf[7] = 0;
        }
#pragma unroll
        for (int j = 0; j < kGroup; j++)
            code[j] = lb_load_code(elem, buf, (size_t)j);
    } else {
#pragma unroll
        for (int j = 0; j < kGroup; j++)
            code[j] = (unsigned)j < k ? lb_load_code(elem, row, c + j) : 0u;
    }
}

// Values of one group's codes, rounded into DT and stored.
template <int DT>
__device__ __forceinline__ void finish_group(const DArgs &a, int scheme, int elem, size_t r, size_t c, unsigned k,
                                             bool vec, const uint32_t (&code)[kGroup])
{
    constexpr int DB = bits_of(DT) / 8;
    // The block of each element: the group's first, then one more whenever
    // a column reaches the next block boundary.
    BScale bs = {0u, 0.0f, 0};
    size_t b = 0, next = ~(size_t)0;
    if (scheme != LB_SCHEME_PLAIN) {
        const size_t gcol = udiv(c, a.bc);
        b = udiv(r, a.br) * a.grid_cols + gcol;
        next = (gcol + 1) * a.bc;
        bs = read_scale(scheme, elem, a.stype, a.scales, a.zps, b);
    }
    uint32_t out[kGroup];
#pragma unroll
    for (int j = 0; j < kGroup; j++) {
        out[j] = 0u;
        if ((unsigned)j < k) {
            if (c + j >= next) {
                b++;
                next += a.bc;
                bs = read_scale(scheme, elem, a.stype, a.scales, a.zps, b);
            }
            float v = decode_one(scheme, elem, code[j], bs, a.tensor_scale);
            if (v != v)
                v = lb_f32_from_bits(0x7FC00000u);  // one NaN on every backend
            out[j] = wide_encode<DT>(v);
        }
    }

    uint8_t *d = a.dst + (r * a.dst_stride + c) * DB;
    if (vec && k == kGroup) {
        if constexpr (DB == 4) {
            reinterpret_cast<uint4 *>(d)[0] = make_uint4(out[0], out[1], out[2], out[3]);
            reinterpret_cast<uint4 *>(d)[1] = make_uint4(out[4], out[5], out[6], out[7]);
        } else {
            *reinterpret_cast<uint4 *>(d) = make_uint4(out[0] | out[1] << 16, out[2] | out[3] << 16,
                                                       out[4] | out[5] << 16, out[6] | out[7] << 16);
        }
    } else {
#pragma unroll
        for (int j = 0; j < kGroup; j++) {
            if ((unsigned)j < k) {
                if constexpr (DB == 4) {
                    memcpy(d + 4 * j, &out[j], 4);
                } else {
                    const uint16_t h = (uint16_t)out[j];
                    memcpy(d + 2 * j, &h, 2);
                }
            }
        }
    }
}

// One group of 8 elements per thread (a short kernel with many threads
// resident keeps more loads in flight than two groups per thread).
template <int DT, int ELEM, int SCHEME>
__global__ void __launch_bounds__(kThreads) k_dequant(const DArgs a)
{
    const int elem = ELEM == kAny ? a.elem : ELEM;
    const int scheme = SCHEME == kAny ? a.scheme : SCHEME;
    const unsigned bits = ELEM == kAny ? lb_bits(a.elem) : (unsigned)bits_of(ELEM);
    const bool vec = a.vec != 0;
    const size_t gpr = (a.cols + kGroup - 1) / kGroup;
    const size_t total = a.rows * gpr;
    const size_t step = (size_t)gridDim.x * blockDim.x;
    for (size_t g = (size_t)blockIdx.x * blockDim.x + threadIdx.x; g < total; g += step) {
        const size_t r = udiv(g, gpr), c = (g - r * gpr) * kGroup;
        const unsigned k = a.cols - c < (size_t)kGroup ? (unsigned)(a.cols - c) : (unsigned)kGroup;
        uint32_t code[kGroup];
        load_codes(elem, bits, a.data + r * a.row_stride * bits / 8, c, k, vec, code);
        finish_group<DT>(a, scheme, elem, r, c, k, vec, code);
    }
}

#define LBQ_D_MX_ELEMS(X) X(LOWBIT_E4M3) X(LOWBIT_E5M2) X(LOWBIT_E3M2) X(LOWBIT_E2M3) X(LOWBIT_E2M1) X(LOWBIT_INT8)
#define LBQ_D_NV_ELEMS(X) X(LOWBIT_E2M1)
#define LBQ_D_AMAX_ELEMS(X) X(LOWBIT_E4M3) X(LOWBIT_E5M2) X(LOWBIT_INT8) X(LOWBIT_INT4)
#define LBQ_D_ZP_ELEMS(X) X(LOWBIT_INT8) X(LOWBIT_INT4) X(LOWBIT_UINT4)
#define LBQ_D_PLAIN_ELEMS(X) X(LOWBIT_E4M3) X(LOWBIT_E5M2) X(LOWBIT_E2M1) X(LOWBIT_INT8)

template <int DT>
static void launch_dequant(const DArgs &a, unsigned grid, cudaStream_t s)
{
#define LBQ_CASE(SCH, T) \
    case T: k_dequant<DT, T, SCH><<<grid, kThreads, 0, s>>>(a); return;
#define LBQ_MX(T) LBQ_CASE(LB_SCHEME_MX, T)
#define LBQ_NV(T) LBQ_CASE(LB_SCHEME_NVFP4, T)
#define LBQ_AMAX(T) LBQ_CASE(LB_SCHEME_AMAX, T)
#define LBQ_ZP(T) LBQ_CASE(LB_SCHEME_ZP, T)
#define LBQ_PLAIN(T) LBQ_CASE(LB_SCHEME_PLAIN, T)
    switch (a.scheme) {
    case LB_SCHEME_MX:
        switch (a.elem) { LBQ_D_MX_ELEMS(LBQ_MX) default: break; }
        break;
    case LB_SCHEME_NVFP4:
        switch (a.elem) { LBQ_D_NV_ELEMS(LBQ_NV) default: break; }
        break;
    case LB_SCHEME_AMAX:
        switch (a.elem) { LBQ_D_AMAX_ELEMS(LBQ_AMAX) default: break; }
        break;
    case LB_SCHEME_ZP:
        switch (a.elem) { LBQ_D_ZP_ELEMS(LBQ_ZP) default: break; }
        break;
    default:
        switch (a.elem) { LBQ_D_PLAIN_ELEMS(LBQ_PLAIN) default: break; }
        break;
    }
    // Everything else: element type and scheme decided at run time.
    k_dequant<DT, kAny, kAny><<<grid, kThreads, 0, s>>>(a);
#undef LBQ_MX
#undef LBQ_NV
#undef LBQ_AMAX
#undef LBQ_ZP
#undef LBQ_PLAIN
#undef LBQ_CASE
}

}  // namespace lbq

using namespace lbq;

extern "C" lowbit_status lb_cuda_dequantize(lowbit_dtype dst_type, void *dst, size_t dst_row_stride,
                                            const lowbit_qtensor *q, void *stream_)
{
    cudaStream_t stream = (cudaStream_t)stream_;
    if (q->rows == 0 || q->cols == 0)
        return LOWBIT_OK;
    lb_grid g;
    lb_grid_of(q, &g);
    const unsigned bits = lowbit_dtype_bits(q->format.elem);
    const unsigned dbytes = lowbit_dtype_bits(dst_type) / 8;

    DArgs a;
    memset(&a, 0, sizeof a);
    a.dst = (uint8_t *)dst;
    a.data = (const uint8_t *)q->data;
    a.scales = (const uint8_t *)q->scales;
    a.zps = (const uint8_t *)q->zero_points;
    a.rows = q->rows;
    a.cols = q->cols;
    a.row_stride = q->row_stride;
    a.dst_stride = dst_row_stride;
    a.br = g.block_rows;
    a.bc = g.block_cols;
    a.grid_cols = g.grid_cols;
    a.elem = (int)q->format.elem;
    a.stype = (int)q->format.scale_type;
    a.scheme = (int)lb_format_scheme(&q->format);
    a.tensor_scale = q->tensor_scale;
    const unsigned ga = group_align(bits);
    a.vec = (uintptr_t)q->data % ga == 0 && (q->row_stride * bits / 8) % ga == 0 && (uintptr_t)dst % 16 == 0 &&
            (dst_row_stride * dbytes) % 16 == 0;

    const size_t groups = q->rows * ((q->cols + kGroup - 1) / kGroup);
    const unsigned grid = q_grid_for(groups, kThreads);
    switch (dst_type) {
    case LOWBIT_F32: launch_dequant<LOWBIT_F32>(a, grid, stream); break;
    case LOWBIT_F16: launch_dequant<LOWBIT_F16>(a, grid, stream); break;
    default: launch_dequant<LOWBIT_BF16>(a, grid, stream); break;
    }
    return q_launch_status("dequantize kernel");
}
