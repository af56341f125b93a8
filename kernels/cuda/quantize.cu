// quantize.cu - the CUDA backend of lowbit_quantize_device (src/gpu.h).
//
// Every scheme: MX, NVFP4 with a given tensor scale (one derived from the
// data would belong in the host-side field q->tensor_scale),
// f32/f16/bf16-scaled symmetric and zero point, with blocks of any shape
// up to the whole tensor, and plain (no scale).  Which kernel runs never
// changes the result:
//
//  - k_quant_blocks: one "segment" of `seg` threads per scale block (seg a
//    power of two from 1 to 256; a thread block holds blockDim / seg
//    segments).  Each thread loads groups of 8 elements of the block,
//    gathers their statistics with lb_stats_add, the segment reduces them
//    (warp shuffles, and shared memory across warps when seg > 32; max / min
//    are exact in any order, see stats_merge), every thread derives the
//    block's scale code, the segment's first thread stores it, and every
//    thread encodes its elements against the value the *stored* code
//    decodes to, packs them and writes whole bytes.  A block of at most
//    kGPT * seg groups stays in registers (kGPT = 2 groups per thread; one
//    read of the source); larger blocks (over 4096 elements) are read a
//    second time for the encode (an L2 hit in practice).
//    Zero points of 4-bit elements share bytes between block pairs (2j, 2j+1):
//    both blocks of a pair always run in the same thread block (adjacent
//    segments, or two consecutive rounds of a one-segment thread block) and
//    one thread writes the byte; 8-bit zero points are one byte per block.
//    Every byte of the zero-point array is written, so the reference's
//    memset to 0 comes out the same (the high nibble of an odd last block's
//    byte is 0).
//    It writes the elements when block columns begin on a byte (block_cols
//    * bits a multiple of 8, or one block per row); otherwise two blocks
//    could share a data byte, so k_quant_blocks writes only the scales (and
//    zero points) and k_quant_elems then encodes groups of 8 elements from
//    each row start, reading every element's stored scale back, as the
//    reference's second pass does.
//  - k_quant_elems alone does plain (unscaled) formats: a saturating
//    conversion per element, groups of 8 from each row start.
//  - One scale for a whole tensor (per-tensor formats; any format whose
//    grid is one block): past 64K elements, k_tensor_stats reduces the
//    statistics over the grid into partials kept in the data buffer,
//    k_tensor_scale merges them and stores the scale, and k_quant_elems
//    encodes; below that, k_quant_blocks with its one block.
// Element math: the scale.h / codec.h functions, with the proven fast forms
// listed in quantize_common.cuh for compile-time element types.
//
// Stream-ordered, no allocation, no synchronisation.
#include "quantize_common.cuh"

namespace lbq {

lowbit_status q_launch_status(const char *what)
{
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return lb_fail(LOWBIT_ERR_DEVICE, LBGPU_NAME ": launching the %s failed: %s", what, cudaGetErrorString(e));
    return LOWBIT_OK;
}

unsigned q_grid_for(size_t items, unsigned threads)
{
    const size_t cap = (size_t)1 << 20;
    size_t blocks = (items + threads - 1) / threads;
    if (blocks > cap)
        blocks = cap;
    if (blocks == 0)
        blocks = 1;
    return (unsigned)blocks;
}

// ---- scale blocks --------------------------------------------------------

// Where group g (0 .. G-1) of a block lies: gw groups per block row.
struct GroupPos {
    size_t rr, cc;
    unsigned k;
};

__device__ __forceinline__ GroupPos group_pos(size_t g, size_t G, size_t gw, size_t r0, size_t c0, size_t w)
{
    const size_t gi = gw >= G ? 0 : udiv(g, gw);  // one-row blocks need no division
    GroupPos p;
    p.rr = r0 + gi;
    p.cc = c0 + (g - gi * gw) * kGroup;
    p.k = c0 + w - p.cc < (size_t)kGroup ? (unsigned)(c0 + w - p.cc) : (unsigned)kGroup;
    return p;
}

template <int ST, int ELEM, int SCHEME>
__device__ __forceinline__ void encode_store_group(const QArgs &a, int elem, unsigned bits, bool vec, const GroupPos &p,
                                                   const float (&x)[kGroup], const BScale &bs)
{
    uint32_t rb[kGroup];
    if (a.mode == LB_ROUND_SR) {
        sr_bits8(a.seed, a.offset + p.rr * a.cols + p.cc, rb);
    } else {
#pragma unroll
        for (int j = 0; j < kGroup; j++)
            rb[j] = 0u;
    }
    uint32_t code[kGroup];
#pragma unroll
    for (int j = 0; j < kGroup; j++)
        code[j] = (unsigned)j < p.k ? encode_one<ELEM, SCHEME>(SCHEME, elem, x[j], bs, a.mode, rb[j]) : 0u;
    store_group(a.data + p.rr * a.row_stride * bits / 8, p.cc, p.k, vec, bits, code);
}

// The scale code of a block with statistics st, what the encoders read
// back from it (bs) and, for SCHEME_ZP, the zero-point code.
template <int SCHEME>
__device__ __forceinline__ uint32_t block_scale(const QArgs &a, int elem, unsigned bits, const lb_block_stats &st,
                                                BScale *bs, uint32_t *zp_code)
{
    uint32_t code;
    if constexpr (SCHEME == LB_SCHEME_MX) {
        code = lb_mx_scale_code(&st, elem, a.rule);
        bs->sc = code & 0xFFu;
    } else if constexpr (SCHEME == LB_SCHEME_NVFP4) {
        code = lb_nv_block_scale_code(&st, elem, a.s_t);
        bs->sc = code;
        bs->s = lb_nv_divisor(code, a.s_t);
    } else {
        code = SCHEME == LB_SCHEME_AMAX ? lb_amax_scale_code(&st, elem, a.stype)
                                        : lb_zp_scale_code(&st, elem, a.stype);
        if (lb_bits(a.stype) == 16)
            code &= 0xFFFFu;
        bs->s = lb_decode(a.stype, code);
        if constexpr (SCHEME == LB_SCHEME_ZP) {
            const int32_t zp = lb_zp_value(&st, elem, bs->s);
            *zp_code = bits == 8 ? (uint32_t)(uint8_t)zp : (uint32_t)zp & 0xFu;
            bs->zp = (int32_t)lb_decode(elem, *zp_code);
        }
    }
    return code;
}

// Three thread blocks per SM for MX (80 registers hold it without spills),
// two for the division-based schemes, whose encoders need more.
template <int ST, int ELEM, int SCHEME>
__global__ void __launch_bounds__(kThreads, SCHEME == LB_SCHEME_MX ? 3 : 2) k_quant_blocks(const QArgs a)
{
    static_assert(SCHEME == LB_SCHEME_MX || SCHEME == LB_SCHEME_NVFP4 || SCHEME == LB_SCHEME_AMAX ||
                      SCHEME == LB_SCHEME_ZP,
                  "scheme");
    constexpr int SB = bits_of(ST) / 8;
    __shared__ lb_block_stats warp_stats[kMaxSeg / 32];
    __shared__ uint32_t zp_pair[kThreads];

    const int elem = ELEM == kAny ? a.elem : ELEM;
    const unsigned bits = ELEM == kAny ? lb_bits(a.elem) : (unsigned)bits_of(ELEM);
    const bool zp4 = SCHEME == LB_SCHEME_ZP && bits == 4;
    const unsigned P = a.seg;
    const unsigned lane = threadIdx.x & (P - 1), seg = threadIdx.x / P;
    const bool vec = a.vec != 0;

    for (size_t cta = blockIdx.x; cta < a.nctas; cta += gridDim.x) {
        uint32_t zp_even = 0;
        size_t b_even = 0;
        bool even_valid = false;
        for (unsigned round = 0; round < a.rounds; round++) {
            const size_t b = (cta * a.rounds + round) * a.segs + seg;
            const bool valid = b < a.nblocks;
            size_t r0 = 0, c0 = 0, w = 0, gw = 1, G = 0;
            if (valid) {
                const size_t gr = udiv(b, a.grid_cols), gc = b - gr * a.grid_cols;
                r0 = gr * a.br;
                c0 = gc * a.bc;
                const size_t h = a.rows - r0 < a.br ? a.rows - r0 : a.br;
                w = a.cols - c0 < a.bc ? a.cols - c0 : a.bc;
                gw = (w + kGroup - 1) / kGroup;
                G = h * gw;
            }
            // Groups lane, lane + P stay in registers when the block has at
            // most kGPT * P groups; larger blocks are read twice.
            const bool resident = G <= (size_t)kGPT * P;

            // Pass 1: statistics.
            lb_block_stats st;
            lb_stats_init(&st);
            float x[kGPT][kGroup];
            if (resident) {
#pragma unroll
                for (int i = 0; i < kGPT; i++) {
                    const size_t g = lane + (size_t)i * P;
                    if (g < G) {
                        const GroupPos p = group_pos(g, G, gw, r0, c0, w);
                        load_group<ST>(a.src + p.rr * a.src_stride * SB, p.cc, p.k, vec, x[i]);
#pragma unroll
                        for (int j = 0; j < kGroup; j++)
                            if ((unsigned)j < p.k)
                                lb_stats_add(&st, x[i][j]);
                    }
                }
            } else {
                for (size_t g = lane; g < G; g += P) {
                    const GroupPos p = group_pos(g, G, gw, r0, c0, w);
                    load_group<ST>(a.src + p.rr * a.src_stride * SB, p.cc, p.k, vec, x[0]);
#pragma unroll
                    for (int j = 0; j < kGroup; j++)
                        if ((unsigned)j < p.k)
                            lb_stats_add(&st, x[0][j]);
                }
            }

            // Reduce over the segment; every thread ends with the same stats.
            if (P <= 32) {
                for (unsigned off = P >> 1; off > 0; off >>= 1)
                    stats_merge(st, stats_shfl_xor(st, (int)off));
            } else {
                for (int off = 16; off > 0; off >>= 1)
                    stats_merge(st, stats_shfl_xor(st, off));
                if ((threadIdx.x & 31u) == 0)
                    warp_stats[threadIdx.x >> 5] = st;
                __syncthreads();
                lb_block_stats t;
                lb_stats_init(&t);
                for (unsigned i = seg * (P / 32); i < (seg + 1) * (P / 32); i++)  // this segment's warps
                    stats_merge(t, warp_stats[i]);
                st = t;
                __syncthreads();  // warp_stats is reused by the next round
            }

            // The block's scale, as stored and read back by the reference.
            BScale bs = {0u, 0.0f, 0};
            uint32_t zp_code = 0;
            if (valid) {
                const uint32_t code = block_scale<SCHEME>(a, elem, bits, st, &bs, &zp_code);
                if (lane == 0)
                    store_scale(a.stype, a.scales, b, code);
            }
            if constexpr (SCHEME == LB_SCHEME_ZP) {
                if (!zp4) {
                    if (valid && lane == 0)
                        a.zps[b] = (uint8_t)zp_code;
                } else if (a.segs >= 2) {
                    // Pair (b, b+1) = segments (seg, seg+1), seg even.
                    if (lane == 0)
                        zp_pair[seg] = valid ? zp_code : 0u;
                    __syncthreads();
                    if (valid && lane == 0 && (seg & 1u) == 0)
                        a.zps[b >> 1] = (uint8_t)((zp_pair[seg] & 0xFu) | (zp_pair[seg + 1] & 0xFu) << 4);
                    __syncthreads();  // zp_pair is reused by the next round
                } else if (round == 0) {
                    zp_even = zp_code;
                    b_even = b;
                    even_valid = valid;
                } else if (threadIdx.x == 0 && even_valid) {
                    a.zps[b_even >> 1] = (uint8_t)((zp_even & 0xFu) | ((valid ? zp_code : 0u) & 0xFu) << 4);
                }
            }

            // Pass 2: elements against the stored scale.
            if (a.write_elems && valid) {
                if (resident) {
#pragma unroll
                    for (int i = 0; i < kGPT; i++) {
                        const size_t g = lane + (size_t)i * P;
                        if (g < G)
                            encode_store_group<ST, ELEM, SCHEME>(a, elem, bits, vec, group_pos(g, G, gw, r0, c0, w),
                                                                 x[i], bs);
                    }
                } else {
                    for (size_t g = lane; g < G; g += P) {
                        const GroupPos p = group_pos(g, G, gw, r0, c0, w);
                        load_group<ST>(a.src + p.rr * a.src_stride * SB, p.cc, p.k, vec, x[0]);
                        encode_store_group<ST, ELEM, SCHEME>(a, elem, bits, vec, p, x[0], bs);
                    }
                }
            }
        }
    }
}

// ---- element by element (plain formats; scales already stored) ----------

// Block b's stored scale as the encoders use it (read_scale, and NVFP4's
// divisor s_t * s_b, the reference's f32 product).
__device__ __forceinline__ BScale read_enc_scale(const QArgs &a, int sch, int elem, size_t b)
{
    BScale bs = read_scale(sch, elem, a.stype, a.scales, a.zps, b);
    if (sch == LB_SCHEME_NVFP4)
        bs.s = lb_nv_divisor(bs.sc, a.s_t);
    return bs;
}

template <int ST, int ELEM, int SCHEME>
__global__ void __launch_bounds__(kThreads) k_quant_elems(const QArgs a, int scheme)
{
    constexpr int SB = bits_of(ST) / 8;
    const int elem = ELEM == kAny ? a.elem : ELEM;
    const unsigned bits = ELEM == kAny ? lb_bits(a.elem) : (unsigned)bits_of(ELEM);
    const int sch = SCHEME == kAny ? scheme : SCHEME;
    const bool vec = a.vec != 0;
    const int mode = a.mode;
    const size_t gpr = (a.cols + kGroup - 1) / kGroup;
    const size_t total = a.rows * gpr;
    const size_t step = (size_t)gridDim.x * blockDim.x;
    for (size_t g = (size_t)blockIdx.x * blockDim.x + threadIdx.x; g < total; g += step) {
        const size_t r = udiv(g, gpr), c = (g - r * gpr) * kGroup;
        const unsigned k = a.cols - c < (size_t)kGroup ? (unsigned)(a.cols - c) : (unsigned)kGroup;
        float x[kGroup];
        load_group<ST>(a.src + r * a.src_stride * SB, c, k, vec, x);
        uint32_t rb[kGroup];
        if (mode == LB_ROUND_SR) {
            sr_bits8(a.seed, a.offset + r * a.cols + c, rb);
        } else {
#pragma unroll
            for (int j = 0; j < kGroup; j++)
                rb[j] = 0u;
        }
        // Block of each element: the group's first, then one more whenever
        // a column reaches the next block boundary.
        uint32_t code[kGroup];
        BScale bs = {0u, 0.0f, 0};
        size_t b = 0, next = ~(size_t)0;
        if (sch != LB_SCHEME_PLAIN) {
            const size_t gcol = udiv(c, a.bc);
            b = udiv(r, a.br) * a.grid_cols + gcol;
            next = (gcol + 1) * a.bc;
            bs = read_enc_scale(a, sch, elem, b);
        }
#pragma unroll
        for (int j = 0; j < kGroup; j++) {
            if ((unsigned)j < k) {
                if (c + j >= next) {
                    b++;
                    next += a.bc;
                    bs = read_enc_scale(a, sch, elem, b);
                }
                code[j] = encode_one<ELEM, SCHEME>(sch, elem, x[j], bs, mode, rb[j]);
            } else {
                code[j] = 0u;
            }
        }
        store_group(a.data + r * a.row_stride * bits / 8, c, k, vec, bits, code);
    }
}

// ---- one scale for the whole tensor -----------------------------------------
// A grid-wide reduction in three stream-ordered kernels, with no workspace:
// the partial statistics of each thread block go into the data buffer
// itself (bytes that the encode overwrites afterwards: whole bytes of the
// rows' elements, never the padding between rows), one thread block merges
// them and stores the scale (and zero point), and k_quant_elems encodes
// every element against the stored scale, as for blocks that share bytes.
// Max and min are exact in any order, so the scale is the reference's.

constexpr size_t kTensorMinElems = (size_t)1 << 16;  // smaller: one thread block does it all
constexpr size_t kTensorMaxParts = 1024;              // partials (thread blocks of k_tensor_stats)

// Where partial i lives: slot i % per_row of row i / per_row.
__device__ __forceinline__ uint8_t *partial_at(const QArgs &a, unsigned bits, size_t per_row, size_t i)
{
    const size_t r = i / per_row;
    return a.data + r * a.row_stride * bits / 8 + (i - r * per_row) * sizeof(lb_block_stats);
}

// Every thread's st merged over the thread block (kThreads threads); the
// result is thread 0's.
__device__ __forceinline__ lb_block_stats merge_over_block(lb_block_stats st)
{
    __shared__ lb_block_stats warp_stats[kThreads / 32];
    for (int off = 16; off > 0; off >>= 1)
        stats_merge(st, stats_shfl_xor(st, off));
    if ((threadIdx.x & 31u) == 0)
        warp_stats[threadIdx.x >> 5] = st;
    __syncthreads();
    if (threadIdx.x == 0)
        for (unsigned w = 1; w < kThreads / 32; w++)
            stats_merge(st, warp_stats[w]);
    return st;
}

// The thread block's statistics over a grid-stride share of the tensor's
// groups, into partial blockIdx.x.
template <int ST>
__global__ void __launch_bounds__(kThreads) k_tensor_stats(const QArgs a, size_t per_row)
{
    constexpr int SB = bits_of(ST) / 8;
    const bool vec = a.vec != 0;
    const size_t gpr = (a.cols + kGroup - 1) / kGroup, total = a.rows * gpr;
    lb_block_stats st;
    lb_stats_init(&st);
    for (size_t g = (size_t)blockIdx.x * blockDim.x + threadIdx.x; g < total; g += (size_t)gridDim.x * blockDim.x) {
        const size_t r = udiv(g, gpr), c = (g - r * gpr) * kGroup;
        const unsigned k = a.cols - c < (size_t)kGroup ? (unsigned)(a.cols - c) : (unsigned)kGroup;
        float x[kGroup];
        load_group<ST>(a.src + r * a.src_stride * SB, c, k, vec, x);
#pragma unroll
        for (int j = 0; j < kGroup; j++)
            if ((unsigned)j < k)
                lb_stats_add(&st, x[j]);
    }
    st = merge_over_block(st);
    if (threadIdx.x == 0)
        memcpy(partial_at(a, lb_bits(a.elem), per_row, blockIdx.x), &st, sizeof st);
}

// One thread block: the merged partials, the scale (and zero point) of block 0.
template <int SCHEME>
__global__ void __launch_bounds__(kThreads) k_tensor_scale(const QArgs a, size_t per_row, unsigned nparts)
{
    const unsigned bits = lb_bits(a.elem);
    lb_block_stats st;
    lb_stats_init(&st);
    for (unsigned i = threadIdx.x; i < nparts; i += blockDim.x) {
        lb_block_stats p;
        memcpy(&p, partial_at(a, bits, per_row, i), sizeof p);
        stats_merge(st, p);
    }
    st = merge_over_block(st);
    if (threadIdx.x == 0) {
        BScale bs;
        uint32_t zp_code = 0;
        store_scale(a.stype, a.scales, 0, block_scale<SCHEME>(a, a.elem, bits, st, &bs, &zp_code));
        if (SCHEME == LB_SCHEME_ZP)
            a.zps[0] = (uint8_t)zp_code;  // (4-bit: the high nibble, block 1's, is 0 as in the reference)
    }
}

// ---- dispatch --------------------------------------------------------------

// Element types with their own compiled kernels (the codec folds to the
// type); every other element runs the kAny kernels (the same math, with the
// type decided at run time).
#define LBQ_MX_ELEMS(X) X(LOWBIT_E4M3) X(LOWBIT_E5M2) X(LOWBIT_E3M2) X(LOWBIT_E2M3) X(LOWBIT_E2M1) X(LOWBIT_INT8)
#define LBQ_AMAX_ELEMS(X) X(LOWBIT_E4M3) X(LOWBIT_E5M2) X(LOWBIT_INT8) X(LOWBIT_INT4)
#define LBQ_ZP_ELEMS(X) X(LOWBIT_INT8) X(LOWBIT_INT4) X(LOWBIT_UINT4)
#define LBQ_NV_ELEMS(X) X(LOWBIT_E2M1)
#define LBQ_PLAIN_ELEMS(X) X(LOWBIT_E4M3) X(LOWBIT_E5M2) X(LOWBIT_E2M1) X(LOWBIT_INT8)

template <int ST>
static void launch_blocks(int scheme, int elem, const QArgs &a, unsigned grid, unsigned threads, cudaStream_t s)
{
#define LBQ_CASE(SCH, T) \
    case T: k_quant_blocks<ST, T, SCH><<<grid, threads, 0, s>>>(a); return;
#define LBQ_MX(T) LBQ_CASE(LB_SCHEME_MX, T)
#define LBQ_AMAX(T) LBQ_CASE(LB_SCHEME_AMAX, T)
#define LBQ_ZP(T) LBQ_CASE(LB_SCHEME_ZP, T)
#define LBQ_NV(T) LBQ_CASE(LB_SCHEME_NVFP4, T)
    if (scheme == LB_SCHEME_MX) {
        switch (a.write_elems ? elem : kAny) {
            LBQ_MX_ELEMS(LBQ_MX)
        default: k_quant_blocks<ST, kAny, LB_SCHEME_MX><<<grid, threads, 0, s>>>(a); return;
        }
    } else if (scheme == LB_SCHEME_NVFP4) {
        switch (a.write_elems ? elem : kAny) {
            LBQ_NV_ELEMS(LBQ_NV)
        default: k_quant_blocks<ST, kAny, LB_SCHEME_NVFP4><<<grid, threads, 0, s>>>(a); return;
        }
    } else if (scheme == LB_SCHEME_AMAX) {
        switch (a.write_elems ? elem : kAny) {
            LBQ_AMAX_ELEMS(LBQ_AMAX)
        default: k_quant_blocks<ST, kAny, LB_SCHEME_AMAX><<<grid, threads, 0, s>>>(a); return;
        }
    } else {
        switch (a.write_elems ? elem : kAny) {
            LBQ_ZP_ELEMS(LBQ_ZP)
        default: k_quant_blocks<ST, kAny, LB_SCHEME_ZP><<<grid, threads, 0, s>>>(a); return;
        }
    }
#undef LBQ_MX
#undef LBQ_AMAX
#undef LBQ_ZP
#undef LBQ_NV
#undef LBQ_CASE
}

template <int ST>
static void launch_elems(int scheme, int elem, const QArgs &a, cudaStream_t s)
{
    const size_t groups = a.rows * ((a.cols + kGroup - 1) / kGroup);
    const unsigned grid = q_grid_for(groups, kThreads);
    if (scheme != LB_SCHEME_PLAIN) {
        k_quant_elems<ST, kAny, kAny><<<grid, kThreads, 0, s>>>(a, scheme);
        return;
    }
#define LBQ_PLAIN(T) \
    case T: k_quant_elems<ST, T, LB_SCHEME_PLAIN><<<grid, kThreads, 0, s>>>(a, scheme); return;
    switch (elem) {
        LBQ_PLAIN_ELEMS(LBQ_PLAIN)
    default: k_quant_elems<ST, kAny, LB_SCHEME_PLAIN><<<grid, kThreads, 0, s>>>(a, scheme); return;
    }
#undef LBQ_PLAIN
}

// launch_elems for source type st (f32, f16 or bf16).
static void launch_elems_from(int st, int scheme, int elem, const QArgs &a, cudaStream_t s)
{
    switch (st) {
    case LOWBIT_F32: launch_elems<LOWBIT_F32>(scheme, elem, a, s); break;
    case LOWBIT_F16: launch_elems<LOWBIT_F16>(scheme, elem, a, s); break;
    default: launch_elems<LOWBIT_BF16>(scheme, elem, a, s); break;
    }
}

static size_t pow2_ceil(size_t v)
{
    size_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

}  // namespace lbq

using namespace lbq;

extern "C" lowbit_status lb_cuda_quantize(lowbit_qtensor *q, lowbit_dtype src_type, const void *src,
                                          size_t src_row_stride, const lb_cvt_params *p, void *stream_)
{
    cudaStream_t stream = (cudaStream_t)stream_;
    if (q->rows == 0 || q->cols == 0)
        return LOWBIT_OK;
    lb_grid g;
    lb_grid_of(q, &g);
    const lb_scheme scheme = lb_format_scheme(&q->format);
    const int elem = (int)q->format.elem, st = (int)src_type;
    const unsigned bits = lowbit_dtype_bits(q->format.elem);
    const unsigned sbytes = lowbit_dtype_bits(src_type) / 8;

    QArgs a;
    memset(&a, 0, sizeof a);
    a.data = (uint8_t *)q->data;
    a.scales = (uint8_t *)q->scales;
    a.zps = (uint8_t *)q->zero_points;
    a.src = (const uint8_t *)src;
    a.rows = q->rows;
    a.cols = q->cols;
    a.src_stride = src_row_stride;
    a.row_stride = q->row_stride;
    a.br = g.block_rows;
    a.bc = g.block_cols;
    a.grid_cols = g.grid_cols;
    a.nblocks = g.grid_rows * g.grid_cols;
    a.elem = elem;
    a.stype = (int)q->format.scale_type;
    a.rule = (int)q->format.rule;
    a.mode = p->mode;
    a.seed = p->seed;
    a.offset = p->offset;
    a.s_t = q->tensor_scale;  // NVFP4: given (src/device.c refuses one to derive)

    // Whole groups may move with vector accesses when every group start is
    // aligned on both sides: the pointers, the row pitches, and (for groups
    // counted from block starts) the block starts.
    const unsigned ga = group_align(bits);
    const size_t src_pitch = src_row_stride * sbytes, dst_pitch = q->row_stride * bits / 8;
    const bool aligned = (uintptr_t)src % 16 == 0 && src_pitch % 16 == 0 && (uintptr_t)q->data % ga == 0 &&
                         dst_pitch % ga == 0;

    if (scheme == LB_SCHEME_PLAIN) {
        a.vec = aligned;
        a.write_elems = 1;
        launch_elems_from(st, scheme, elem, a, stream);
        return q_launch_status("quantize kernel");
    }

    // One scale over a large tensor: the grid-wide reduction (k_tensor_stats,
    // k_tensor_scale), when its partials fit in the rows' element bytes;
    // otherwise (small tensors) the one-block path below, a single thread block.
    if (a.nblocks == 1 && scheme != LB_SCHEME_MX && q->rows * q->cols > kTensorMinElems) {
        const size_t per_row = q->cols * bits / 8 / sizeof(lb_block_stats);
        const size_t room = per_row * q->rows;
        size_t nparts = q_grid_for(q->rows * ((q->cols + kGroup - 1) / kGroup), kThreads);
        if (nparts > kTensorMaxParts)
            nparts = kTensorMaxParts;
        if (nparts > room)
            nparts = room;
        if (nparts >= 2) {
            a.vec = aligned;
            a.write_elems = 1;
            switch (st) {
            case LOWBIT_F32: k_tensor_stats<LOWBIT_F32><<<(unsigned)nparts, kThreads, 0, stream>>>(a, per_row); break;
            case LOWBIT_F16: k_tensor_stats<LOWBIT_F16><<<(unsigned)nparts, kThreads, 0, stream>>>(a, per_row); break;
            default: k_tensor_stats<LOWBIT_BF16><<<(unsigned)nparts, kThreads, 0, stream>>>(a, per_row); break;
            }
            lowbit_status r = q_launch_status("quantize kernel (tensor statistics)");
            if (r != LOWBIT_OK)
                return r;
            switch (scheme) {
            case LB_SCHEME_AMAX: k_tensor_scale<LB_SCHEME_AMAX><<<1, kThreads, 0, stream>>>(a, per_row, (unsigned)nparts); break;
            case LB_SCHEME_ZP: k_tensor_scale<LB_SCHEME_ZP><<<1, kThreads, 0, stream>>>(a, per_row, (unsigned)nparts); break;
            default: k_tensor_scale<LB_SCHEME_NVFP4><<<1, kThreads, 0, stream>>>(a, per_row, (unsigned)nparts); break;
            }
            if ((r = q_launch_status("quantize kernel (tensor scale)")) != LOWBIT_OK)
                return r;
            launch_elems_from(st, scheme, elem, a, stream);
            return q_launch_status("quantize kernel (elements)");
        }
    }

    // Blocks own whole bytes of the data when their columns start on a byte.
    const bool byte_blocks = g.grid_cols == 1 || (g.block_cols * bits) % 8 == 0;
    a.vec = aligned && (g.grid_cols == 1 || g.block_cols % kGroup == 0);
    a.write_elems = byte_blocks;

    // Segment size: enough threads for kGPT groups each, up to kMaxSeg.
    const size_t h = g.block_rows < q->rows ? g.block_rows : q->rows;
    const size_t w = g.block_cols < q->cols ? g.block_cols : q->cols;
    const size_t groups = h * ((w + kGroup - 1) / kGroup);
    const size_t want = (groups + kGPT - 1) / kGPT;
    const size_t seg = pow2_ceil(want < (size_t)kMaxSeg ? want : (size_t)kMaxSeg);
    const unsigned threads = seg > (size_t)kThreads ? (unsigned)seg : (unsigned)kThreads;
    a.seg = (unsigned)seg;
    a.segs = threads / a.seg;
    a.rounds = (a.segs == 1 && scheme == LB_SCHEME_ZP && bits == 4) ? 2u : 1u;
    const size_t per_cta = (size_t)a.segs * a.rounds;
    a.nctas = (a.nblocks + per_cta - 1) / per_cta;
    const unsigned grid = a.nctas > ((size_t)1 << 20) ? (1u << 20) : (unsigned)a.nctas;

    switch (st) {
    case LOWBIT_F32: launch_blocks<LOWBIT_F32>(scheme, elem, a, grid, threads, stream); break;
    case LOWBIT_F16: launch_blocks<LOWBIT_F16>(scheme, elem, a, grid, threads, stream); break;
    default: launch_blocks<LOWBIT_BF16>(scheme, elem, a, grid, threads, stream); break;
    }
    lowbit_status r = q_launch_status("quantize kernel (scales)");
    if (r != LOWBIT_OK || byte_blocks)
        return r;

    // Blocks that share bytes: the elements row by row, against the stored scales.
    a.vec = aligned;
    a.write_elems = 1;
    launch_elems_from(st, scheme, elem, a, stream);
    return q_launch_status("quantize kernel (elements)");
}
