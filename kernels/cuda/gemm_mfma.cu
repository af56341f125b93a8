// gemm_mfma.cu - the exact integer-MFMA GEMM of the HIP backend (AMD gfx90a
// and gfx940; hipcc only, never nvcc: the instructions are AMD's).
//
// The HIP twin of gemm_imma.cu: for the jobs lbm::imma_covers takes
// (integers that fit int8, K blocks a multiple of 16, block sums that cannot
// leave s32), each K block's integer sum D = sum n_a * n_b comes from s8 x s8
// -> s32 matrix instructions, exact in any order, and the block end is the
// reference's d = (float)D * 2^u, acc = fmaf(d, s_a * s_b, acc) in block
// order, so the result is bit-identical to kernels/cpu/ref/gemm_ref.c.
// gfx90a runs v_mfma_i32_16x16x16i8, gfx940 v_mfma_i32_16x16x32_i8 (clang 15
// selects each only on its own target).  Tiling, fragment layout, fold and
// store: gemm_mfma.cuh, which tests/gpu/gemm_hip_mfma_emul.cu runs on the
// host with a model of both instructions.
#include "gpu_port.cuh"  // <hip/hip_runtime.h>

#include "gemm_launch.cuh"
#include "gemm_mfma.cuh"
#include "gpu_gemm.h"

#if defined(__gfx940__) || defined(__gfx941__) || defined(__gfx942__)
#define LB_MFMA_K 32
#else
#define LB_MFMA_K 16  // gfx90a, and the host pass (which never runs the kernel body)
#endif

namespace lbmf {

typedef int v4i32 __attribute__((ext_vector_type(4)));

// d += A * B for one 16 x 16 tile: a and b as gemm_mfma.cuh's frag_operand.
__device__ __forceinline__ void mfma_s8(uint64_t a, uint64_t b, int32_t *d)
{
#if defined(__HIP_DEVICE_COMPILE__) && (defined(__gfx940__) || defined(__gfx941__) || defined(__gfx942__))
    v4i32 c = {d[0], d[1], d[2], d[3]};
    c = __builtin_amdgcn_mfma_i32_16x16x32_i8((long)a, (long)b, c, 0, 0, 0);
    d[0] = c[0], d[1] = c[1], d[2] = c[2], d[3] = c[3];
#elif defined(__HIP_DEVICE_COMPILE__) && defined(__gfx90a__)
    v4i32 c = {d[0], d[1], d[2], d[3]};
    c = __builtin_amdgcn_mfma_i32_16x16x16i8((int)(uint32_t)a, (int)(uint32_t)b, c, 0, 0, 0);
    d[0] = c[0], d[1] = c[1], d[2] = c[2], d[3] = c[3];
#else
    (void)a, (void)b, (void)d;
    __builtin_trap();
#endif
}

template <int KS>
__global__ void __launch_bounds__(kThreads) k_gemm_mfma(const lb_gemm_job j)
{
    constexpr int KI = LB_MFMA_K;
    __shared__ IntSmem<KS> sm;
    const unsigned tid = threadIdx.x, w = tid / kWave, lane = tid % kWave;
    const size_t n0 = (size_t)blockIdx.x * kBN;
    const size_t tiles_m = (j.M + kBM - 1) / kBM;
    lbm::build_int_luts<KS>(j, sm, tid, kThreads);
    __syncthreads();
    for (size_t tm = blockIdx.y; tm < tiles_m; tm += gridDim.y) {
        const size_t m0 = tm * kBM;
        Frag f;
        frag_init(f);
        for (size_t k0 = 0; k0 < j.K; k0 += KS) {
            const bool end = (k0 + KS) % j.kblock == 0;
            lbm::int_stage<KS>(j, sm, m0, n0, k0, end, tid, kThreads);
            __syncthreads();
#pragma unroll
            for (int s = 0; s < Step<KS, KI>::count; s++) {
                uint64_t a[kWaveTM], b[kWaveTN];
#pragma unroll
                for (int mi = 0; mi < kWaveTM; mi++)
                    a[mi] = load_a<KS, KI>(sm, w, lane, mi, s);
#pragma unroll
                for (int ni = 0; ni < kWaveTN; ni++)
                    b[ni] = load_b<KS, KI>(sm, w, lane, ni, s);
#pragma unroll
                for (int mi = 0; mi < kWaveTM; mi++)
#pragma unroll
                    for (int ni = 0; ni < kWaveTN; ni++)
                        mfma_s8(a[mi], b[ni], f.D[mi][ni]);
            }
            if (end)
                fold<KS>(j, sm, tid, f);
            __syncthreads();
        }
        frag_store(j, m0, n0, tid, f);
    }
}

}  // namespace lbmf

// Every HIP object of the module is built for gfx90a and gfx940 only, so a
// device the module can run on at all has one of the two instructions.
extern "C" int lb_hip_gemm_mfma_covers(const lb_gemm_job *j)
{
    return lbm::imma_covers(*j);
}

extern "C" lowbit_status lb_hip_gemm_mfma(const lb_gemm_job *j, void *stream)
{
    using namespace lbmf;
    return lbl::launch_tiles(*j, kBM, kBN, stream, "integer-MFMA", [&](dim3 grid, cudaStream_t st) {
        if (lbm::imma_kstep(*j) == 32)
            k_gemm_mfma<32><<<grid, kThreads, 0, st>>>(*j);
        else
            k_gemm_mfma<16><<<grid, kThreads, 0, st>>>(*j);
    });
}
