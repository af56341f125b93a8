// kv_append.cu - lowbit_kv_append_device: quantize-on-write into a paged KV
// cache in device memory, the bytes lowbit_kv_append writes on the host.
// One warp-sized group of 32 threads per item (one token's vector of one kv
// head), lane c on the item's chunk c (kv_append.cuh has the arithmetic and
// why chunks never share a byte); kWarps items per CTA.  No shared state
// between items, so the grid needs no order; the same item is written by
// no other CTA.
#include "gpu_port.cuh"  // <cuda_runtime.h>, or its HIP twin

#include "kv_append.cuh"
#include "gpu.h"

namespace lbk {

__global__ void __launch_bounds__(32 * kWarps) k_kv_append(const lb_kv_append_job j)
{
    __shared__ uint8_t zp_codes[kWarps][kMaxChunks];
    const unsigned w = threadIdx.x / 32, lane = threadIdx.x % 32;
    const size_t i = (size_t)blockIdx.x * kWarps + w;
    const bool live = i < j.n_tokens * j.kv_heads;
    Item it;
    if (live) {
        it = item_of(j, i);
        if (lane < chunks(j.v))
            zp_codes[w][lane] = (uint8_t)quantize_chunk(j, it, lane);
    }
    __syncthreads();
    if (live && lane == 0)
        store_zero_points(j, it, zp_codes[w]);
}

}  // namespace lbk

extern "C" lowbit_status lb_cuda_kv_append(const lb_kv_append_job *j, void *stream_)
{
    using namespace lbk;
    cudaStream_t stream = (cudaStream_t)stream_;
    const size_t items = j->n_tokens * j->kv_heads;  // n_tokens fits the source's size_t bytes
    const size_t ctas = (items + kWarps - 1) / kWarps;
    if (items == 0)
        return LOWBIT_OK;
    if (ctas > 0x7FFFFFFFu)
        return lb_fail(LOWBIT_ERR_UNSUPPORTED, LBGPU_NAME " kv_append: %zu tokens x %u heads exceed the grid",
                       j->n_tokens, j->kv_heads);
    k_kv_append<<<(unsigned)ctas, 32 * kWarps, 0, stream>>>(*j);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return lb_fail(LOWBIT_ERR_DEVICE, LBGPU_NAME ": kv_append kernel launch failed: %s", cudaGetErrorString(e));
    return LOWBIT_OK;
}
