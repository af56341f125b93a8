// convert.cu - the CUDA backend of lowbit_convert_device (src/gpu.h).
//
// Which kernel runs (the result never depends on it, nor on the launch shape):
//  - same type: cudaMemcpyAsync of the bytes, the last byte masked when
//    packed elements leave unused bits in it;
//  - f32 / f16 / bf16 sources, both pointers aligned: k_convert_wide<ST, DT>
//    (convert_from_*.cu), the codec specialised at compile time;
//  - sources of at most 8 bits: every source code has one result (or, for
//    stochastic rounding, one result whatever the random bits when the
//    conversion is exact), so the host tabulates lb_encode(lb_decode(c)) for
//    all 2^bits codes and k_convert_lut<src bits, dst bits> looks codes up;
//  - misaligned pointers that become aligned a few elements in: the generic
//    kernel below for those first elements, then the unit kernel;
//  - everything else (other misalignment, stochastic rounding that depends
//    on the random bits from a narrow source): k_convert_generic, element by
//    element with byte loads and stores.
#include "convert_common.cuh"

namespace lbcu {

unsigned grid_for(size_t units)
{
    // One block per kThreads work items, so the work is spread evenly over
    // however many blocks the device keeps resident; only beyond 2^20 blocks
    // (2^28 work items) do threads loop.
    const size_t cap = (size_t)1 << 20;
    size_t blocks = (units + kThreads - 1) / kThreads;
    if (blocks > cap)
        blocks = cap;
    if (blocks == 0)
        blocks = 1;
    return (unsigned)blocks;
}

lowbit_status launch_status(const char *what)
{
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return lb_fail(LOWBIT_ERR_DEVICE, LBGPU_NAME ": launching the %s failed: %s", what, cudaGetErrorString(e));
    return LOWBIT_OK;
}

// ---- table kernels (sources of 4, 6 or 8 bits) ---------------------------

template <int SB, int DB>
__global__ void __launch_bounds__(kThreads)
k_convert_lut(uint8_t *__restrict__ dst, const uint8_t *__restrict__ src, size_t n, const __grid_constant__ Lut lut,
              int dt, int st)
{
    constexpr int V = unit_elems(SB, DB);
    constexpr int U = V >= 16 ? 1 : 16 / V;
    __shared__ uint32_t table[1 << SB];
    for (int i = threadIdx.x; i < (1 << SB); i += blockDim.x)
        table[i] = lut.v[i];
    __syncthreads();
    const size_t units = n / V;
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
#pragma unroll
                for (int j = 0; j < V; j++)
                    c[k][j] = table[c[k][j]];
                store_unit<DB, V>(dst, u, c[k]);
            }
        }
    }
    const unsigned rest = (unsigned)(n % V);
    if (rest && blockIdx.x == 0 && threadIdx.x == 0) {
        Params unused = {0, 0, 0, 0};
        convert_span(dt, dst, st, src, units * V, rest, unused, table);
    }
}

template <int SB, int DB>
static void launch_lut(uint8_t *dst, const uint8_t *src, size_t n, const Lut &lut, int dt, int st,
                       cudaStream_t stream)
{
    constexpr int V = unit_elems(SB, DB);
    constexpr int U = V >= 16 ? 1 : 16 / V;
    k_convert_lut<SB, DB><<<grid_for((n / V + U - 1) / U), kThreads, 0, stream>>>(dst, src, n, lut, dt, st);
}

template <int SB>
static void launch_lut_from(unsigned db, uint8_t *dst, const uint8_t *src, size_t n, const Lut &lut, int dt, int st,
                            cudaStream_t stream)
{
    switch (db) {
    case 32: launch_lut<SB, 32>(dst, src, n, lut, dt, st, stream); break;
    case 16: launch_lut<SB, 16>(dst, src, n, lut, dt, st, stream); break;
    case 8:  launch_lut<SB, 8>(dst, src, n, lut, dt, st, stream); break;
    case 6:  launch_lut<SB, 6>(dst, src, n, lut, dt, st, stream); break;
    default: launch_lut<SB, 4>(dst, src, n, lut, dt, st, stream); break;
    }
}

// ---- the generic kernel: any pair, any alignment -------------------------

// Groups of 8 elements (whole bytes for every width); use_lut: look codes up
// in `lut` (a narrow source whose results do not depend on random bits).
__global__ void __launch_bounds__(kThreads)
k_convert_generic(int dt, uint8_t *__restrict__ dst, int st, const uint8_t *__restrict__ src, size_t n, Params p,
                  const __grid_constant__ Lut lut, int use_lut)
{
    __shared__ uint32_t table[256];
    if (use_lut) {
        for (int i = threadIdx.x; i < 256; i += blockDim.x)
            table[i] = lut.v[i];
        __syncthreads();
    }
    const size_t groups = n / 8 + (n % 8 != 0);
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t g = (size_t)blockIdx.x * blockDim.x + threadIdx.x; g < groups; g += stride) {
        const size_t first = g * 8;
        const unsigned k = n - first < 8 ? (unsigned)(n - first) : 8u;
        convert_span(dt, dst, st, src, first, k, p, use_lut ? table : nullptr);
    }
}

// The last byte of a same-type copy whose final element leaves bits unused.
__global__ void k_masked_byte(uint8_t *dst, const uint8_t *src, unsigned mask)
{
    *dst = (uint8_t)(*src & mask);
}

}  // namespace lbcu

using namespace lbcu;

extern "C" int lb_cuda_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return n;
}

extern "C" lowbit_status lb_cuda_check_pointer(const void *p, const char *arg)
{
    cudaPointerAttributes a;
    cudaError_t e = cudaPointerGetAttributes(&a, p);
    if (e == cudaErrorInvalidValue) {
        // Older runtimes (and HIP 5) report plain host memory this way.
        (void)cudaGetLastError();
        return lb_fail(LOWBIT_ERR_WRONG_MEMORY, "%s is host memory; lowbit_convert_device needs device memory", arg);
    }
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return lb_fail(LOWBIT_ERR_DEVICE, LBGPU_NAME ": " LBGPU_NAME "PointerGetAttributes(%s) failed: %s", arg,
                       cudaGetErrorString(e));
    }
    switch (lbgpu_memory_kind(a)) {
    case LBGPU_MEM_MANAGED:
        return LOWBIT_OK;
    case LBGPU_MEM_DEVICE: {
        int dev = 0;
        if ((e = cudaGetDevice(&dev)) != cudaSuccess) {
            (void)cudaGetLastError();
            return lb_fail(LOWBIT_ERR_DEVICE, LBGPU_NAME ": " LBGPU_NAME "GetDevice failed: %s", cudaGetErrorString(e));
        }
        if (a.device != dev)
            return lb_fail(LOWBIT_ERR_WRONG_MEMORY,
                           "%s is memory of " LBGPU_TITLE " device %d, but the current device is %d", arg, a.device,
                           dev);
        return LOWBIT_OK;
    }
    default:  // pinned or unregistered host memory
        return lb_fail(LOWBIT_ERR_WRONG_MEMORY, "%s is host memory; lowbit_convert_device needs device memory", arg);
    }
}

static int is_wide(int t)
{
    return t == LOWBIT_F32 || t == LOWBIT_F16 || t == LOWBIT_BF16;
}

static lowbit_status copy_same(lowbit_dtype t, void *dst, const void *src, size_t n, cudaStream_t stream)
{
    const size_t bytes = lowbit_dtype_bytes(t, n);
    const unsigned tail_bits = (unsigned)(((n % 8) * lowbit_dtype_bits(t)) % 8);
    const size_t whole = tail_bits ? bytes - 1 : bytes;
    if (whole) {
        cudaError_t e = cudaMemcpyAsync(dst, src, whole, cudaMemcpyDefault, stream);
        if (e != cudaSuccess) {
            (void)cudaGetLastError();
            return lb_fail(LOWBIT_ERR_DEVICE, LBGPU_NAME ": " LBGPU_NAME "MemcpyAsync failed: %s",
                           cudaGetErrorString(e));
        }
    }
    if (tail_bits) {
        k_masked_byte<<<1, 1, 0, stream>>>((uint8_t *)dst + whole, (const uint8_t *)src + whole,
                                          (1u << tail_bits) - 1u);
        return launch_status("tail-byte kernel");
    }
    return LOWBIT_OK;
}

extern "C" lowbit_status lb_cuda_convert(lowbit_dtype dst_type, void *dst, lowbit_dtype src_type, const void *src,
                                         size_t n, const lb_cvt_params *cp, void *stream_)
{
    cudaStream_t stream = (cudaStream_t)stream_;
    if (n == 0)
        return LOWBIT_OK;
    if (dst_type == src_type)
        return copy_same(dst_type, dst, src, n, stream);

    const int dt = (int)dst_type, st = (int)src_type;
    const Params p = {cp->mode, cp->saturate, cp->seed, cp->offset};
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;
    const int db = (int)lb_bits(dt), sb = (int)lb_bits(st);

    Lut lut;
    int use_lut = 0;
    if (!is_wide(st)) {
        // Tabulate the codec on the host.  Stochastic rounding can use the
        // table only when no code's result depends on the random bits:
        // rounding away happens for r < a threshold, so comparing r = 0
        // with r = 2^32-1 decides it.
        use_lut = 1;
        for (uint32_t c = 0; c < 256; c++) {
            if (c < (1u << sb)) {
                const float x = lb_decode(st, c);
                lut.v[c] = lb_encode(dt, x, p.mode, p.saturate, 0u);
                if (p.mode == LB_ROUND_SR && lb_encode(dt, x, p.mode, p.saturate, 0xFFFFFFFFu) != lut.v[c])
                    use_lut = 0;
            } else {
                lut.v[c] = 0;
            }
        }
    } else {
        memset(&lut, 0, sizeof lut);
    }

    if (is_wide(st) || use_lut) {
        // The unit kernels need both pointers aligned for their unit size.
        // When they are not, but become so a few elements in (a tensor sliced
        // at the same element offset on both sides), the generic kernel does
        // that head and the unit kernel the rest.
        const int v = unit_elems(sb, db);
        const unsigned as = unit_align(sb, v), ad = unit_align(db, v);
        const size_t gran = (sb == 6 || db == 6) ? 4 : (sb == 4 || db == 4) ? 2 : 1;  // whole bytes
        size_t head = 0;
        while (head < n && head < 64 &&
               (((uintptr_t)s + head * sb / 8) % as != 0 || ((uintptr_t)d + head * db / 8) % ad != 0))
            head += gran;
        if (head < n && head < 64) {
            if (head) {
                k_convert_generic<<<1, kThreads, 0, stream>>>(dt, d, st, s, head, p, lut, use_lut);
                lowbit_status r = launch_status("conversion kernel (head)");
                if (r != LOWBIT_OK)
                    return r;
            }
            Params rest = p;
            rest.offset = p.offset + head;  // cannot wrap: offset + n - 1 was checked
            uint8_t *d2 = d + head * db / 8;
            const uint8_t *s2 = s + head * sb / 8;
            const size_t n2 = n - head;
            if (is_wide(st)) {
                lowbit_status r = st == LOWBIT_F32 ? lbcu_launch_from_f32(dt, d2, s2, n2, rest, stream)
                                : st == LOWBIT_F16 ? lbcu_launch_from_f16(dt, d2, s2, n2, rest, stream)
                                                   : lbcu_launch_from_bf16(dt, d2, s2, n2, rest, stream);
                if (r == LOWBIT_ERR_UNSUPPORTED)  // cannot happen: every dt != st has a kernel
                    return lb_fail(LOWBIT_ERR_INTERNAL, LBGPU_NAME ": no kernel for %s->%s",
                                   lowbit_dtype_name(src_type), lowbit_dtype_name(dst_type));
                return r;
            }
            switch (sb) {
            case 8: launch_lut_from<8>(db, d2, s2, n2, lut, dt, st, stream); break;
            case 6: launch_lut_from<6>(db, d2, s2, n2, lut, dt, st, stream); break;
            default: launch_lut_from<4>(db, d2, s2, n2, lut, dt, st, stream); break;
            }
            return launch_status("conversion kernel");
        }
    }
    k_convert_generic<<<grid_for(n / 8 + 1), kThreads, 0, stream>>>(dt, d, st, s, n, p, lut, use_lut);
    return launch_status("conversion kernel");
}
