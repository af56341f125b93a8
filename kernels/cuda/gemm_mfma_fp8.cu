// gemm_mfma_fp8.cu - the fast FP8 MFMA GEMM of the HIP backend (AMD gfx940
// / MI300; hipcc only, never nvcc), run only under LOWBIT_GEMM_ALLOW_FAST.
//
// The HIP twin of gemm_fp8_mma.cu for MI300's own FP8 types: FNUZ E4M3 /
// E5M2 (any mix), scaled per tensor, row, 1x128 or 128x128, K and the K
// blocks multiples of 32 (lbmf::fp8_covers).  Each 32-wide slice of K is one
// v_mfma_f32_16x16x32_{fp8,bf8}_{fp8,bf8} (fp8 = E4M3FNUZ, bf8 = E5M2FNUZ)
// from a zero accumulator, added to the block's d in f32 in slice order; at
// the block end acc = fmaf(d, s_a * s_b, acc) in block order, and the store
// is the reference's.  Same arithmetic as the CUDA kernel, so the same bound
// (docs/semantics.md, "GEMM on the GPU"; docs/hip.md).  Staging of raw codes
// is gemm_mma.cuh's, tiling and fragments gemm_mfma.cuh's (the fp8 operands
// sit in the lanes exactly as the i8 ones of v_mfma_i32_16x16x32_i8).  The
// gfx90a code of this object is a trap: the dispatcher takes the kernel only
// on gfx940 / gfx941 / gfx942 devices.
#include "gpu_port.cuh"  // <hip/hip_runtime.h>

#include <string.h>

#include "gemm_launch.cuh"
#include "gemm_mfma.cuh"
#include "gpu_gemm.h"

namespace lbmf {

typedef float v4f32 __attribute__((ext_vector_type(4)));

// p = A * B of one 16 x 16 x 32 tile from zero; TA / TB: 0 = E4M3FNUZ, 1 = E5M2FNUZ.
template <int TA, int TB>
__device__ __forceinline__ void mfma_fp8(uint64_t a, uint64_t b, float *p)
{
#if defined(__HIP_DEVICE_COMPILE__) && (defined(__gfx940__) || defined(__gfx941__) || defined(__gfx942__))
    const v4f32 z = {0.0f, 0.0f, 0.0f, 0.0f};
    v4f32 c;
    if (TA == 0 && TB == 0)
        c = __builtin_amdgcn_mfma_f32_16x16x32_fp8_fp8((long)a, (long)b, z, 0, 0, 0);
    else if (TA == 0)
        c = __builtin_amdgcn_mfma_f32_16x16x32_fp8_bf8((long)a, (long)b, z, 0, 0, 0);
    else if (TB == 0)
        c = __builtin_amdgcn_mfma_f32_16x16x32_bf8_fp8((long)a, (long)b, z, 0, 0, 0);
    else
        c = __builtin_amdgcn_mfma_f32_16x16x32_bf8_bf8((long)a, (long)b, z, 0, 0, 0);
    p[0] = c[0], p[1] = c[1], p[2] = c[2], p[3] = c[3];
#else
    (void)a, (void)b, (void)p;
    __builtin_trap();  // gfx90a has no FP8 MFMA; never dispatched there
#endif
}

template <int TA, int TB>
__global__ void __launch_bounds__(kThreads) k_gemm_mfma_fp8(const lb_gemm_job j)
{
    constexpr int KS = 32;
    __shared__ IntSmem<KS> sm;
    const unsigned tid = threadIdx.x, w = tid / kWave, lane = tid % kWave;
    const size_t n0 = (size_t)blockIdx.x * kBN;
    const size_t tiles_m = (j.M + kBM - 1) / kBM;
    for (size_t tm = blockIdx.y; tm < tiles_m; tm += gridDim.y) {
        const size_t m0 = tm * kBM;
        FragF f;
        frag_init(f);
        for (size_t k0 = 0; k0 < j.K; k0 += KS) {
            const bool end = (k0 + KS) % j.kblock == 0;
            lbm::int_stage<KS, true>(j, sm, m0, n0, k0, end, tid, kThreads);
            __syncthreads();
            uint64_t a[kWaveTM], b[kWaveTN];
#pragma unroll
            for (int mi = 0; mi < kWaveTM; mi++)
                a[mi] = load_a<KS, 32>(sm, w, lane, mi, 0);
#pragma unroll
            for (int ni = 0; ni < kWaveTN; ni++)
                b[ni] = load_b<KS, 32>(sm, w, lane, ni, 0);
#pragma unroll
            for (int mi = 0; mi < kWaveTM; mi++)
#pragma unroll
                for (int ni = 0; ni < kWaveTN; ni++) {
                    float p[4];
                    mfma_fp8<TA, TB>(a[mi], b[ni], p);
                    slice_add(f, mi, ni, p);
                }
            if (end)
                f32_fold(sm, tid, f);
            __syncthreads();
        }
        frag_store(j, m0, n0, tid, f);
    }
}

// Does the current device have the FNUZ FP8 MFMAs?  gfx940, gfx941 and
// gfx942 do; gfx950's FP8 MFMAs take the OCP types and gfx90a has none.
// Asked once per device ordinal (an ordinal's device does not change).
static bool device_has_fnuz_mfma()
{
    static int known[64];  // 0 not asked, 1 yes, 2 no
    int dev = 0;
    if (hipGetDevice(&dev) != hipSuccess || dev < 0)
        return false;
    if (dev < 64) {
        const int k = __atomic_load_n(&known[dev], __ATOMIC_RELAXED);
        if (k)
            return k == 1;
    }
    hipDeviceProp_t prop;
    bool yes = false;
    if (hipGetDeviceProperties(&prop, dev) == hipSuccess) {
        const char *n = prop.gcnArchName;  // e.g. "gfx942:sramecc+:xnack-"
        yes = strncmp(n, "gfx94", 5) == 0 && n[5] >= '0' && n[5] <= '2' && (n[6] == '\0' || n[6] == ':');
    }
    if (dev < 64)
        __atomic_store_n(&known[dev], yes ? 1 : 2, __ATOMIC_RELAXED);
    return yes;
}

}  // namespace lbmf

extern "C" int lb_hip_gemm_mfma_fp8_covers(const lb_gemm_job *j)
{
    return lbmf::fp8_covers(*j) && lbmf::device_has_fnuz_mfma();
}

extern "C" lowbit_status lb_hip_gemm_mfma_fp8(const lb_gemm_job *j, void *stream)
{
    using namespace lbmf;
    return lbl::launch_tiles(*j, kBM, kBN, stream, "FP8-MFMA", [&](dim3 grid, cudaStream_t st) {
        lbl::by_fp8_pair(*j, [&](auto ta, auto tb) {
            k_gemm_mfma_fp8<decltype(ta)::value, decltype(tb)::value><<<grid, kThreads, 0, st>>>(*j);
        }, LOWBIT_E5M2FNUZ);
    });
}
