// gpu_port.cuh - the one place where the CUDA sources of kernels/cuda/ (and
// the device tests of tests/gpu/ and benchmarks of bench/cuda/) become HIP
// sources.
//
// Every kernel file includes this header instead of <cuda_runtime.h>.  Under
// nvcc it is that include and nothing else, so the CUDA build is unchanged.
// Under hipcc (__HIPCC__) it maps the CUDA names those files use onto HIP:
//
//  - runtime API: the cuda* calls, types and constants below become their
//    hip* twins (same arguments, same meaning);
//  - pointer residency: lbgpu_memory_kind() reads cudaPointerAttributes'
//    .type under CUDA and hipPointerAttribute_t's .memoryType / .isManaged
//    under HIP 5.x;
//  - shared memory: AMD GPUs have no opt-in above a default, so the limit
//    queried is the plain per-block maximum (LBGPU_ATTR_MAX_SMEM) and
//    LBGPU_SMEM_OPT_IN is 0;
//  - warp shuffles: __shfl_xor_sync(mask, v, off) becomes __shfl_xor(v, off,
//    32).  The kernels only ever combine lanes within aligned groups of 32
//    or fewer (offsets 16..1) and index their warps as threadIdx.x / 32, so
//    on a 64-lane wavefront each half behaves as one CUDA warp and every
//    reduction happens in the same order as on NVIDIA hardware;
//  - __ldcs / __stcs (streaming cache hints) are plain loads and stores:
//    same values, only the cache policy differs;
//  - __grid_constant__ is dropped (HIP passes kernel arguments in constant
//    memory anyway).
//
// Entry points.  src/gpu.h declares the backend as lb_cuda_*; a HIP compile
// defines LB_GPU_AS_HIP before gpu.h is read, which renames them lb_hip_*,
// so the same source yields lb_cuda_* from nvcc and lb_hip_* from hipcc
// (the HIP objects go into the separate module liblowbit-hip.so, see
// docs/hip.md).  Include this header before gpu.h.
// LBGPU_NAME ("cuda" / "hip") prefixes error details.
#ifndef LOWBIT_KERNELS_GPU_PORT_CUH
#define LOWBIT_KERNELS_GPU_PORT_CUH

#if defined(__HIPCC__)

#include <hip/hip_runtime.h>
#include <hip/hip_fp16.h>

#define LBGPU_NAME "hip"
#define LBGPU_TITLE "HIP"

// The backend's entry points: src/gpu.h names them lb_hip_*.
#define LB_GPU_AS_HIP 1

// Runtime API: types and constants.
#define cudaError_t hipError_t
#define cudaSuccess hipSuccess
#define cudaErrorInvalidValue hipErrorInvalidValue
#define cudaStream_t hipStream_t
#define cudaStreamNonBlocking hipStreamNonBlocking
#define cudaDeviceProp hipDeviceProp_t
#define cudaPointerAttributes hipPointerAttribute_t
#define cudaMemcpyDefault hipMemcpyDefault
#define cudaMemcpyHostToDevice hipMemcpyHostToDevice
#define cudaMemcpyDeviceToHost hipMemcpyDeviceToHost
#define cudaMemcpyDeviceToDevice hipMemcpyDeviceToDevice
#define cudaEvent_t hipEvent_t
#define cudaDevAttrMemoryClockRate hipDeviceAttributeMemoryClockRate
#define cudaDevAttrGlobalMemoryBusWidth hipDeviceAttributeMemoryBusWidth
#define cudaFuncAttributeMaxDynamicSharedMemorySize hipFuncAttributeMaxDynamicSharedMemorySize
#define cudaDevAttrComputeCapabilityMajor hipDeviceAttributeComputeCapabilityMajor
#define cudaDevAttrComputeCapabilityMinor hipDeviceAttributeComputeCapabilityMinor

// Runtime API: calls with the same arguments.
#define cudaGetErrorString hipGetErrorString
#define cudaGetLastError hipGetLastError
#define cudaGetDeviceCount hipGetDeviceCount
#define cudaGetDevice hipGetDevice
#define cudaGetDeviceProperties hipGetDeviceProperties
#define cudaDeviceGetAttribute hipDeviceGetAttribute
#define cudaDeviceSynchronize hipDeviceSynchronize
#define cudaPointerGetAttributes hipPointerGetAttributes
#define cudaMalloc hipMalloc
#define cudaMallocManaged hipMallocManaged
#define cudaFree hipFree
#define cudaFreeHost hipHostFree
#define cudaMemcpy hipMemcpy
#define cudaMemcpyAsync hipMemcpyAsync
#define cudaMemset hipMemset
#define cudaMemsetAsync hipMemsetAsync
#define cudaStreamCreate hipStreamCreate
#define cudaStreamCreateWithFlags hipStreamCreateWithFlags
#define cudaStreamSynchronize hipStreamSynchronize
#define cudaStreamDestroy hipStreamDestroy
#define cudaMemGetInfo hipMemGetInfo
#define cudaEventCreate hipEventCreate
#define cudaEventRecord hipEventRecord
#define cudaEventSynchronize hipEventSynchronize
#define cudaEventElapsedTime hipEventElapsedTime
#define cudaEventDestroy hipEventDestroy
#define cudaFuncSetAttribute(f, attr, v) hipFuncSetAttribute(reinterpret_cast<const void *>(f), attr, v)

// Pinned host memory (HIP names it hipHostMalloc and takes flags).
template <class T>
static inline hipError_t cudaMallocHost(T **p, size_t bytes)
{
    return hipHostMalloc(reinterpret_cast<void **>(p), bytes, hipHostMallocDefault);
}

#define LBGPU_ATTR_MAX_SMEM hipDeviceAttributeMaxSharedMemoryPerBlock
#define LBGPU_SMEM_OPT_IN 0

// Device side.
#define __grid_constant__

template <class T>
__device__ __forceinline__ T __ldcs(const T *p)
{
    return *p;
}
template <class T>
__device__ __forceinline__ void __stcs(T *p, T v)
{
    *p = v;
}
template <class T>
__device__ __forceinline__ T __shfl_xor_sync(unsigned /* mask: all lanes of the group */, T v, int off)
{
    return __shfl_xor(v, off, 32);
}

#else  // CUDA

#include <cuda_runtime.h>

#define LBGPU_NAME "cuda"
#define LBGPU_TITLE "CUDA"
#define LBGPU_ATTR_MAX_SMEM cudaDevAttrMaxSharedMemoryPerBlockOptin
#define LBGPU_SMEM_OPT_IN 1

#endif

// Where pointer attributes say memory lives.
enum lbgpu_memory { LBGPU_MEM_HOST, LBGPU_MEM_DEVICE, LBGPU_MEM_MANAGED };

static inline lbgpu_memory lbgpu_memory_kind(const cudaPointerAttributes &a)
{
#if defined(__HIPCC__)
    if (a.isManaged)
        return LBGPU_MEM_MANAGED;
    return a.memoryType == hipMemoryTypeDevice ? LBGPU_MEM_DEVICE : LBGPU_MEM_HOST;
#else
    if (a.type == cudaMemoryTypeManaged)
        return LBGPU_MEM_MANAGED;
    return a.type == cudaMemoryTypeDevice ? LBGPU_MEM_DEVICE : LBGPU_MEM_HOST;
#endif
}

#endif
