// device_test.h - what the device tests of tests/gpu/ share: the runtime
// API (CUDA, or HIP through kernels/cuda/gpu_port.cuh when hipcc compiles
// the test), the backend under test, the CK() error check and the one SKIP
// line when there is no device.
//
// The same test source builds twice: nvcc -> LOWBIT_BACKEND_CUDA (suite
// 'cuda', kernels/cuda/meson.build), hipcc -> LOWBIT_BACKEND_HIP (suite
// 'hip', kernels/hip/meson.build).  LBT_OTHER_BACKEND is the other device
// backend, which such a test expects to refuse its memory.  The GPU
// benchmarks (bench/cuda/bench_gpu.h) use this header's CK() and backend
// too.
#ifndef LOWBIT_TESTS_GPU_DEVICE_TEST_H
#define LOWBIT_TESTS_GPU_DEVICE_TEST_H

#include "../../kernels/cuda/gpu_port.cuh"

#include <cstdio>
#include <cstdlib>

#include "lowbit.h"

#if defined(__HIPCC__)
#define LBT_BACKEND LOWBIT_BACKEND_HIP
#define LBT_OTHER_BACKEND LOWBIT_BACKEND_CUDA
#else
#define LBT_BACKEND LOWBIT_BACKEND_CUDA
#define LBT_OTHER_BACKEND LOWBIT_BACKEND_HIP
#endif

// A runtime call that must succeed; exits 2 otherwise.
#define CK(call)                                                                                          \
    do {                                                                                                  \
        cudaError_t e_ = (call);                                                                          \
        if (e_ != cudaSuccess) {                                                                          \
            std::fprintf(stderr, LBGPU_TITLE " error %s at %s:%d: %s\n", cudaGetErrorString(e_), __FILE__, \
                         __LINE__, #call);                                                                \
            std::exit(2);                                                                                 \
        }                                                                                                 \
    } while (0)

// Without a device: prints "SKIP: no CUDA device (...)" (or HIP) and
// returns false; the caller exits 77.  With one: prints its name and
// returns true.
static inline bool lbt_have_device(void)
{
    int ndev = 0;
    cudaError_t e = cudaGetDeviceCount(&ndev);
    if (e != cudaSuccess || ndev == 0) {
        std::printf("SKIP: no " LBGPU_TITLE " device (%s)\n", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
        return false;
    }
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
#if defined(__HIPCC__)
    std::printf("device: %s (%s)\n", prop.name, prop.gcnArchName);
#else
    std::printf("device: %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
#endif
    return true;
}

#endif
