// bench_gpu.h - what the memory-bound GPU benchmarks of bench/cuda/
// (convert, quantize, attention) share: the runtime API, the CK() check,
// the device and its theoretical DRAM peak, and the roofline they are
// measured against, a device-to-device copy in the same run.
//
// Each benchmark builds twice from one source: nvcc makes the CUDA program
// (kernels/cuda/meson.build), hipcc the HIP one (kernels/hip/meson.build),
// the CUDA names mapped onto HIP by kernels/cuda/gpu_port.cuh.  BENCH_BACKEND
// ("cuda" / "hip") goes into every JSON row, BENCH_COPY_PEER names the copy,
// BENCH_LOWBIT_BACKEND is the lowbit_backend the benchmark times.
#ifndef LOWBIT_BENCH_CUDA_BENCH_GPU_H
#define LOWBIT_BENCH_CUDA_BENCH_GPU_H

// The runtime API, CK() and the backend (LBT_BACKEND) are the device tests'.
#include "../../tests/gpu/device_test.h"

#include <cstdint>

#define BENCH_LOWBIT_BACKEND LBT_BACKEND
#define BENCH_BACKEND LBGPU_NAME
#define BENCH_COPY_PEER LBGPU_NAME "Memcpy D2D"

// A 64-bit mix to 32 bits, for inputs generated on the device.
__device__ __forceinline__ uint32_t mix32(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    x ^= x >> 33;
    return (uint32_t)x;
}

struct BenchDevice {
    cudaDeviceProp prop;
    char arch[80];     // "sm_90", or the gcnArchName ("gfx942:sramecc+:xnack-")
    double peak_gbps;  // from the memory clock and bus width; 0 when the device does not say
};

// Device 0, or false after the one SKIP line (the caller exits 77).
static inline bool bench_open_device(BenchDevice *d)
{
    int ndev = 0;
    cudaError_t e = cudaGetDeviceCount(&ndev);
    if (e != cudaSuccess || ndev == 0) {
        std::printf("SKIP: no " LBGPU_TITLE " device (%s)\n", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
        return false;
    }
    CK(cudaGetDeviceProperties(&d->prop, 0));
#if defined(__HIPCC__)
    std::snprintf(d->arch, sizeof d->arch, "%s", d->prop.gcnArchName);
#else
    std::snprintf(d->arch, sizeof d->arch, "sm_%d%d", d->prop.major, d->prop.minor);
#endif
    int mem_clock_khz = 0, bus_bits = 0;
    (void)cudaDeviceGetAttribute(&mem_clock_khz, cudaDevAttrMemoryClockRate, 0);
    (void)cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0);
    (void)cudaGetLastError();
    d->peak_gbps = 2.0 * mem_clock_khz * 1e3 * (bus_bits / 8) / 1e9;  // (double data rate)
    return true;
}

// Bytes read + written per second of a device-to-device copy: 3 warm-up
// copies, then `iters` timed with events.
static inline double bench_copy_gbps(void *dst, const void *src, size_t bytes, int iters)
{
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    for (int i = 0; i < 3; i++)
        CK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
    CK(cudaEventRecord(e0));
    for (int i = 0; i < iters; i++)
        CK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice));
    CK(cudaEventRecord(e1));
    CK(cudaEventSynchronize(e1));
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, e0, e1));
    CK(cudaEventDestroy(e0));
    CK(cudaEventDestroy(e1));
    return 2.0 * (double)bytes * iters / (ms * 1e-3) / 1e9;
}

// The device line and the copy roofline: two lines of text, or the JSON
// memcpy row (`extra`: more text after the copy line, e.g. another roofline).
static inline void bench_print_roofline(const BenchDevice &d, size_t copy_bytes, double copy_gbps, bool json,
                                        const char *extra = "")
{
    if (json) {
        std::printf("{\"op\":\"memcpy\",\"formats\":\"d2d\",\"backend\":\"" BENCH_BACKEND "\",\"device\":\"%s\","
                    "\"shape\":[%zu],\"threads\":1,\"seconds\":%.6e,\"gbps\":%.2f,\"roofline_fraction\":1.0,"
                    "\"peak_gbps\":%.1f}\n",
                    d.prop.name, copy_bytes, 2.0 * copy_bytes / (copy_gbps * 1e9), copy_gbps, d.peak_gbps);
        return;
    }
#if defined(__HIPCC__)
    const char *units = "CUs";
#else
    const char *units = "SMs";
#endif
    std::printf("device: %s (%s, %d %s), theoretical DRAM peak %.0f GB/s\n", d.prop.name, d.arch,
                d.prop.multiProcessorCount, units, d.peak_gbps);
    std::printf(BENCH_COPY_PEER ", %zu MiB: %.1f GB/s (read + write)%s\n", copy_bytes >> 20, copy_gbps, extra);
}

#endif
