// attention.cu - the CUDA backend of lowbit_attention_device (src/gpu.h):
// exact attention over a paged, quantized KV cache, bit for bit the
// reference (kernels/cpu/ref/attention_ref.c).
//
// Grid: x = tiles of query tokens, y = (kv head, chunk of its query heads).
// A CTA of 256 threads owns R = nh x nt rows (nh query heads sharing one kv
// head, nt query tokens; R <= 32 and R * D <= 4096) and walks every key the
// rows see, in tiles of 64 positions, from the first to the last:
//   decode  (one token): the rows are the GQA group, so one K/V tile read
//           from the cache serves all query heads of the kv head;
//   prefill (many tokens): nt tokens of the group share each tile.
// Per tile, between barriers:
//   1. locate the 64 keys through the block table; decode their K elements
//      (zero point applied, exact f32) and block scales into shared memory;
//   2. scores: a half-warp per (row, key), lane l the reference's lane l,
//      combined by xor shuffles 8/4/2/1;
//   3. one warp per row finds the tile maximum, alpha and the new maximum;
//      the V keys are located meanwhile;
//   4. p = lb_expf(s - mn) in place of the scores, and the V tile decoded
//      into the buffer K used;
//   5. each thread carries up to 16 (row, d) outputs through the keys in
//      order (o * alpha, then fmaf(p * sv, v, o)); thread r carries row r's l.
// The key range is never split across CTAs or threads: each output's
// operations are the reference's, in the reference's order.  The per-step
// arithmetic lives in attention.cuh (host-device), which the host emulation
// test runs as well.
#include "gpu_port.cuh"  // <cuda_runtime.h>, or its HIP twin

#include "attention.cuh"
#include "gpu.h"

namespace lba {

__global__ void __launch_bounds__(kThreads) k_attention(const lb_attn_job j, const Cfg c)
{
    extern __shared__ __align__(16) unsigned char smem_raw[];
    Smem sm;
    smem_layout(j, c, smem_raw, &sm);
    const size_t tile = blockIdx.x;
    const uint32_t y = blockIdx.y;
    const unsigned tid = threadIdx.x;
    const uint32_t g = y / c.chunks;
    const uint32_t D = j.D;

    load_q(j, c, tile, y, sm, tid, kThreads);
    float o[kItems];
#pragma unroll
    for (int k = 0; k < kItems; k++)
        o[k] = 0.0f;
    float l = 0.0f;
    const size_t kend = cta_keys(j, c, tile, y);
    const unsigned lane = tid % kLanes, hw = tid / kLanes;
    const unsigned wid = tid / 32, wl = tid % 32;
    __syncthreads();

    for (size_t t0 = 0; t0 < kend; t0 += kTile) {
        const uint32_t n = kend - t0 < (size_t)kTile ? (uint32_t)(kend - t0) : (uint32_t)kTile;
        tile_locate(j, j.k, g, t0, n, sm, tid);
        __syncthreads();
        tile_load(j.k, c, g, n, sm, tid, kThreads);
        __syncthreads();

        // Every half-warp runs rows * 4 iterations, so whole warps reach the
        // shuffles together.
        for (uint32_t it = hw; it < c.rows * kTile; it += kThreads / kLanes) {
            const uint32_t r = it / kTile, key = it % kTile;
            float acc = key < n && sees(sm, r, t0 + key) ? score_lane(j, c, sm, r, key, lane) : 0.0f;
#pragma unroll
            for (int w = kLanes / 2; w >= 1; w /= 2)
                acc = add_rn(acc, __shfl_xor_sync(0xFFFFFFFFu, acc, w));
            if (lane == 0)
                score_store(j, c, tile, y, sm, r, key, t0, acc);
        }
        __syncthreads();

        for (uint32_t r = wid; r < c.rows; r += kThreads / 32) {
            float a = sm.s[r * kTile + wl];
            unsigned ia = wl;
            pick(a, ia, sm.s[r * kTile + wl + 32], wl + 32);
#pragma unroll
            for (int off = 16; off >= 1; off /= 2) {
                float b = __shfl_xor_sync(0xFFFFFFFFu, a, off);
                unsigned ib = __shfl_xor_sync(0xFFFFFFFFu, ia, off);
                pick(a, ia, b, ib);
            }
            if (wl == 0)
                row_update(sm, r, t0, a);
        }
        tile_locate(j, j.v, g, t0, n, sm, tid);
        __syncthreads();

        tile_p(c, sm, t0, n, tid, kThreads);
        tile_load(j.v, c, g, n, sm, tid, kThreads);
        __syncthreads();

#pragma unroll
        for (int k = 0; k < kItems; k++) {
            const uint32_t it = tid + (uint32_t)k * kThreads;
            if ((uint32_t)k < c.items && it < c.rows * D)
                pv_item(j, c, sm, it / D, it % D, n, o[k]);
        }
        if (tid < c.rows)
            l_row(sm, tid, n, l);
        __syncthreads();
    }

    if (tid < c.rows)
        sm.l[tid] = l;
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kItems; k++) {
        const uint32_t it = tid + (uint32_t)k * kThreads;
        if ((uint32_t)k < c.items && it < c.rows * D)
            store(j, c, tile, y, it / D, it % D, o[k], sm.l[it / D]);
    }
}

}  // namespace lba

extern "C" lowbit_status lb_cuda_attention(const lb_attn_job *j, void *stream_)
{
    using namespace lba;
    cudaStream_t stream = (cudaStream_t)stream_;
    if (j->q_tokens == 0)
        return LOWBIT_OK;
    const Cfg c = make_cfg(*j);
    const size_t gy = (size_t)j->kv_heads * c.chunks;
    if (c.token_tiles > 0x7FFFFFFFu || gy > 65535u)
        return lb_fail(LOWBIT_ERR_UNSUPPORTED,
                       LBGPU_NAME " attention: %zu token tiles x %zu head CTAs exceed the grid", c.token_tiles, gy);
    int dev = 0, optin = 0;
    cudaError_t e = cudaGetDevice(&dev);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&optin, LBGPU_ATTR_MAX_SMEM, dev);  // CUDA: the opt-in limit
    if (e == cudaSuccess && c.smem > (size_t)optin) {
        return lb_fail(LOWBIT_ERR_UNSUPPORTED,
                       LBGPU_NAME " attention: head_dim %u needs %zu bytes of shared memory per block; the device "
                       "offers %d", j->D, c.smem, optin);
    }
    // Above the default 48 KiB a CUDA kernel must opt in (per device; cheap
    // to repeat).  AMD GPUs offer their whole LDS without one.
    if (LBGPU_SMEM_OPT_IN && e == cudaSuccess && c.smem > 48 * 1024)
        e = cudaFuncSetAttribute(k_attention, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)c.smem);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return lb_fail(LOWBIT_ERR_DEVICE, LBGPU_NAME " attention: setup failed: %s", cudaGetErrorString(e));
    }
    k_attention<<<dim3((unsigned)c.token_tiles, (unsigned)gy), kThreads, c.smem, stream>>>(*j, c);
    e = cudaGetLastError();
    if (e != cudaSuccess)
        return lb_fail(LOWBIT_ERR_DEVICE, LBGPU_NAME ": attention kernel launch failed: %s", cudaGetErrorString(e));
    return LOWBIT_OK;
}
