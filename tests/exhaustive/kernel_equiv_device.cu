// kernel_equiv_device.cu - the CUDA conversion kernels (lowbit_convert_device)
// against the generic element codec (lb_decode / lb_encode of
// formats/codec.h) run on the same device, for EVERY source code of the wide
// types: all 2^32 f32 bit patterns, all 65536 f16 and bf16 codes, to every
// other type, in every rounding mode, saturating or not.
//
// The kernels' wide paths use formats/minifloat_fast.h (proven equal to
// lb_mf_encode on the host by encode_fast_equiv.c) and, for f16 sources to
// FP8/FP6/FP4, the hardware f16 -> f32 conversion; this checks the compiled
// kernels themselves.  The generic codec on the device is the host's bit for
// bit (tests/gpu/device_codec_test.cu).  Stochastic rounding uses one seed;
// each element's random bits come from its global index (opts.offset).
//
// Buffers are cudaMalloc'd (aligned) and n is a multiple of every unit size,
// so every element goes through the unit kernels (k_convert_wide).
//
// A self-check first corrupts one element of a correct result and requires
// the comparison to find exactly it.  Prints one line per (source,
// destination) and "N passed, M failed"; exits 1 on a mismatch, 77 with
// "SKIP: no CUDA device" when there is none.
// Runs in about 4 s on an H100 (4 GiB input chunks, 8 GiB of device memory).
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "lowbit.h"
#include "codec.h"

#define CK(call)                                                                                    \
    do {                                                                                            \
        cudaError_t e_ = (call);                                                                    \
        if (e_ != cudaSuccess) {                                                                    \
            std::fprintf(stderr, "CUDA error %s at %s:%d: %s\n", cudaGetErrorString(e_), __FILE__, \
                         __LINE__, #call);                                                          \
            std::exit(2);                                                                           \
        }                                                                                           \
    } while (0)

__global__ void fill_f32(uint32_t *p, uint64_t n, uint64_t base)
{
    for (uint64_t i = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; i < n; i += (uint64_t)gridDim.x * blockDim.x)
        p[i] = (uint32_t)(base + i);
}

__global__ void fill_16(uint16_t *p, uint64_t n)
{
    for (uint64_t i = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; i < n; i += (uint64_t)gridDim.x * blockDim.x)
        p[i] = (uint16_t)i;
}

struct Bad {
    unsigned long long count;
    unsigned long long first;  // smallest mismatching index
};

// Element i of `out` must be the generic codec's result for element i of src.
__global__ void compare(int dt, int st, const uint8_t *src, const uint8_t *out, uint64_t n, int mode, int sat,
                        uint64_t seed, uint64_t offset, Bad *bad)
{
    for (uint64_t i = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; i < n;
         i += (uint64_t)gridDim.x * blockDim.x) {
        const uint32_t code = lb_load_code(st, src, i);
        const uint32_t r = mode == LB_ROUND_SR ? lb_sr_bits(seed, offset + i) : 0u;
        const uint32_t ref = lb_encode(dt, lb_decode(st, code), mode, sat, r);
        const uint32_t got = lb_load_code(dt, out, i);
        if (got != ref) {
            atomicAdd(&bad->count, 1ull);
            atomicMin(&bad->first, (unsigned long long)i);
        }
    }
}

int main()
{
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
        std::printf("SKIP: no CUDA device\n");
        return 77;
    }
    const uint64_t kChunk = (uint64_t)1 << 30;  // f32 elements per chunk (4 GiB)
    const uint64_t seed = 0x243F6A8885A308D3ull;
    uint8_t *src = nullptr, *dst = nullptr;
    Bad *bad = nullptr;
    CK(cudaMalloc(&src, kChunk * 4));
    CK(cudaMalloc(&dst, kChunk * 4));
    CK(cudaMalloc(&bad, sizeof(Bad)));

    long passed = 0, failed = 0;

    // Self-check: the comparison must see one corrupted element.
    {
        const uint64_t n = (uint64_t)1 << 20;
        fill_f32<<<1024, 256>>>((uint32_t *)src, n, 0x3F000000u);
        CK(cudaGetLastError());
        lowbit_convert_opts o = {LOWBIT_ROUND_NEAREST_EVEN, 0, seed, 0};
        if (lowbit_convert_device(LOWBIT_BACKEND_CUDA, LOWBIT_E4M3, dst, LOWBIT_F32, src, n, &o, nullptr) !=
            LOWBIT_OK) {
            std::printf("self-check: lowbit_convert_device failed: %s\n", lowbit_last_error());
            return 2;
        }
        uint8_t v;
        CK(cudaMemcpy(&v, dst + 12345, 1, cudaMemcpyDeviceToHost));
        v ^= 1u;
        CK(cudaMemcpy(dst + 12345, &v, 1, cudaMemcpyHostToDevice));
        Bad z = {0ull, ~0ull}, b;
        CK(cudaMemcpy(bad, &z, sizeof z, cudaMemcpyHostToDevice));
        compare<<<1024, 256>>>(LOWBIT_E4M3, LOWBIT_F32, src, dst, n, LB_ROUND_NE, 0, seed, 0, bad);
        CK(cudaGetLastError());
        CK(cudaMemcpy(&b, bad, sizeof b, cudaMemcpyDeviceToHost));
        if (b.count != 1 || b.first != 12345) {
            std::printf("FAIL: self-check: a corrupted element gave %llu mismatches (first %llu), expected 1 at 12345\n",
                        b.count, b.first);
            return 1;
        }
        std::printf("self-check: a corrupted element is detected\n");
    }

    const int sources[] = {LOWBIT_F32, LOWBIT_F16, LOWBIT_BF16};
    for (int st : sources) {
        const uint64_t total = st == LOWBIT_F32 ? (uint64_t)1 << 32 : (uint64_t)1 << 16;
        const uint64_t chunk = st == LOWBIT_F32 ? kChunk : total;
        for (int dt = 0; dt < LOWBIT_DTYPE_COUNT; dt++) {
            if (dt == st)
                continue;
            unsigned long long nbad = 0, cases = 0, first = ~0ull;
            int first_mode = -1, first_sat = -1;
            for (uint64_t base = 0; base < total; base += chunk) {
                if (st == LOWBIT_F32)
                    fill_f32<<<4096, 256>>>((uint32_t *)src, chunk, base);
                else
                    fill_16<<<256, 256>>>((uint16_t *)src, chunk);
                CK(cudaGetLastError());
                for (int mode = 0; mode < 3; mode++) {
                    for (int sat = 0; sat < 2; sat++) {
                        lowbit_convert_opts o = {(lowbit_rounding)mode, sat, seed, base};
                        lowbit_status s = lowbit_convert_device(LOWBIT_BACKEND_CUDA, (lowbit_dtype)dt, dst,
                                                                (lowbit_dtype)st, src, chunk, &o, nullptr);
                        if (s != LOWBIT_OK) {
                            std::printf("%s -> %s: lowbit_convert_device failed: %s\n",
                                        lowbit_dtype_name((lowbit_dtype)st), lowbit_dtype_name((lowbit_dtype)dt),
                                        lowbit_last_error());
                            return 2;
                        }
                        Bad z = {0ull, ~0ull};
                        CK(cudaMemcpy(bad, &z, sizeof z, cudaMemcpyHostToDevice));
                        compare<<<4096, 256>>>(dt, st, src, dst, chunk, mode, sat, seed, base, bad);
                        CK(cudaGetLastError());
                        Bad b;
                        CK(cudaMemcpy(&b, bad, sizeof b, cudaMemcpyDeviceToHost));
                        cases += chunk;
                        if (b.count) {
                            nbad += b.count;
                            if (base + b.first < first) {
                                first = base + b.first;
                                first_mode = mode;
                                first_sat = sat;
                            }
                        }
                    }
                }
            }
            std::printf("%-6s -> %-9s %12llu elements (x 3 modes x 2 saturate), %llu mismatches",
                        lowbit_dtype_name((lowbit_dtype)st), lowbit_dtype_name((lowbit_dtype)dt), cases / 6, nbad);
            if (nbad)
                std::printf(" (first: source code 0x%llX, mode %d, saturate %d)", first, first_mode, first_sat);
            std::printf("\n");
            std::fflush(stdout);
            if (nbad)
                failed++;
            else
                passed++;
        }
    }
    std::printf("%ld passed, %ld failed\n", passed, failed);
    CK(cudaFree(src));
    CK(cudaFree(dst));
    CK(cudaFree(bad));
    return failed ? 1 : 0;
}
