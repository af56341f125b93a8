// gemm_block_scaled_tcgen05.cu - the fast block-scaled GEMM on compute
// capability 10.0 (sm_100a: B200 / GB200), and 10.3 (sm_103a: B300 / GB300)
// and 11.0 (sm_110a: Thor) where nvcc builds those targets; run only under
// LOWBIT_GEMM_ALLOW_FAST (src/gpu_gemm.h).
//
// Pairs: MX x MX with OCP FP8 / FP6 / FP4 elements in any mix, and NVFP4 x
// NVFP4 with K a multiple of 64.  The fifth-generation tensor core applies
// the block scales itself:
//   tcgen05.mma.cta_group::1.kind::mxf8f6f4.block_scale.scale_vec::1X   (32 k)
//   tcgen05.mma.cta_group::1.kind::mxf4.block_scale.scale_vec::2X       (64 k, MXFP4 x MXFP4, K % 64 = 0)
//   tcgen05.mma.cta_group::1.kind::mxf4nvf4.block_scale.scale_vec::4X   (64 k, ue4m3)
// with A and B in shared memory, the scale factors copied into tensor
// memory by tcgen05.cp and the result in tensor memory.  Each MMA starts
// from zero; its f32 result is read back (tcgen05.ld) and added to C's f32
// accumulator in k order, so the bound and the bits on a model tensor core
// are those of gemm_block_scaled_mma.cu (docs/semantics.md, "GEMM on the
// GPU").  Tiling, layouts, descriptors: gemm_block_scaled_tcgen05.cuh.
// SASS: UTCQMMA, UTCOMMA (.ci/sass.sh names the forms) and UTCCP.
//
// These MMAs exist only on those arch-specific targets; elsewhere the
// kernels compile to a trap and the dispatcher never picks them.
#include <cuda_runtime.h>

#include "gemm_block_scaled_tcgen05.cuh"
#include "gemm_launch.cuh"
#include "gpu_gemm.h"

#if defined(__CUDA_ARCH__) && \
    (defined(__CUDA_ARCH_FEAT_SM100_ALL) || defined(__CUDA_ARCH_FEAT_SM103_ALL) || defined(__CUDA_ARCH_FEAT_SM110_ALL))
#define LBT_HAVE_TCGEN05 1
#else
#define LBT_HAVE_TCGEN05 0
#endif

namespace lbt {

#if LBT_HAVE_TCGEN05
__device__ __forceinline__ uint32_t smem_addr(const void *p)
{
    return (uint32_t)__cvta_generic_to_shared(p);
}

// D (tensor memory) = A * B * scales, from zero.
template <int kKind>
__device__ __forceinline__ void mma_t5(uint32_t d, uint64_t a, uint64_t b, uint32_t idesc, uint32_t sfa, uint32_t sfb)
{
    if constexpr (kKind == kNvFp4)
        asm volatile("tcgen05.mma.cta_group::1.kind::mxf4nvf4.block_scale.scale_vec::4X [%0], %1, %2, %3, [%4], [%5], 0;"
                     :: "r"(d), "l"(a), "l"(b), "r"(idesc), "r"(sfa), "r"(sfb) : "memory");
    else if constexpr (kKind == kMxFp4)
        asm volatile("tcgen05.mma.cta_group::1.kind::mxf4.block_scale.scale_vec::2X [%0], %1, %2, %3, [%4], [%5], 0;"
                     :: "r"(d), "l"(a), "l"(b), "r"(idesc), "r"(sfa), "r"(sfb) : "memory");
    else
        asm volatile("tcgen05.mma.cta_group::1.kind::mxf8f6f4.block_scale.scale_vec::1X [%0], %1, %2, %3, [%4], [%5], 0;"
                     :: "r"(d), "l"(a), "l"(b), "r"(idesc), "r"(sfa), "r"(sfb) : "memory");
}

__device__ __forceinline__ void copy_atom(uint32_t tmem, uint64_t desc)
{
    asm volatile("tcgen05.cp.cta_group::1.32x128b.warpx4 [%0], %1;" :: "r"(tmem), "l"(desc) : "memory");
}

__device__ __forceinline__ void fence_before() { asm volatile("tcgen05.fence::before_thread_sync;" ::: "memory"); }
__device__ __forceinline__ void fence_after() { asm volatile("tcgen05.fence::after_thread_sync;" ::: "memory"); }

// Wait for the phase `parity` of the barrier to complete.
__device__ __forceinline__ void wait_bar(uint32_t bar, uint32_t parity)
{
    asm volatile("{\n\t.reg .pred done;\n"
                 "LBT_WAIT:\n\t"
                 "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n\t"
                 "@!done bra LBT_WAIT;\n}"
                 :: "r"(bar), "r"(parity) : "memory");
}

// 32 consecutive f32 columns of this thread's lane, added to acc[0..31] in order.
__device__ __forceinline__ void add_columns(uint32_t taddr, float *acc)
{
    uint32_t r[32];
    asm volatile("tcgen05.ld.sync.aligned.32x32b.x32.b32 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, "
                 "%13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, [%32];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]), "=r"(r[4]), "=r"(r[5]), "=r"(r[6]), "=r"(r[7]),
                   "=r"(r[8]), "=r"(r[9]), "=r"(r[10]), "=r"(r[11]), "=r"(r[12]), "=r"(r[13]), "=r"(r[14]),
                   "=r"(r[15]), "=r"(r[16]), "=r"(r[17]), "=r"(r[18]), "=r"(r[19]), "=r"(r[20]), "=r"(r[21]),
                   "=r"(r[22]), "=r"(r[23]), "=r"(r[24]), "=r"(r[25]), "=r"(r[26]), "=r"(r[27]), "=r"(r[28]),
                   "=r"(r[29]), "=r"(r[30]), "=r"(r[31])
                 : "r"(taddr));
    asm volatile("tcgen05.wait::ld.sync.aligned;" ::: "memory");
#pragma unroll
    for (int i = 0; i < 32; i++)
        acc[i] = lbg::add_rn(acc[i], __uint_as_float(r[i]));
}
#endif

template <int kKind, int TA, int TB>
__global__ void __launch_bounds__(kThreads, 1) k_gemm_t5(const lb_gemm_job j)
{
#if LBT_HAVE_TCGEN05
    constexpr int KC = lbs::kind_codes(kKind);
    __shared__ T5Smem sm;
    const unsigned tid = threadIdx.x, warp = tid / 32;
    const uint32_t bar = smem_addr(&sm.bar);
    if (warp == 0) {
        asm volatile("tcgen05.alloc.cta_group::1.sync.aligned.shared::cta.b32 [%0], %1;"
                     :: "r"(smem_addr(&sm.tmem)), "n"(kTmemCols) : "memory");
        asm volatile("tcgen05.relinquish_alloc_permit.cta_group::1.sync.aligned;" ::: "memory");
    }
    if (tid == 0) {
        asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" :: "r"(bar) : "memory");
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    }
    fence_before();
    __syncthreads();
    fence_after();
    const uint32_t tmem = sm.tmem;
    const uint32_t lane_base = tmem + ((32u * warp) << 16);  // this warp's quarter of the lanes
    uint32_t parity = 0;
    const size_t n0 = (size_t)blockIdx.x * kTN;
    const size_t tiles_m = (j.M + kTM - 1) / kTM;
    for (size_t tm = blockIdx.y; tm < tiles_m; tm += gridDim.y) {
        const size_t m0 = tm * kTM;
        float acc[kTN];
#pragma unroll
        for (int n = 0; n < kTN; n++)
            acc[n] = 0.0f;
        bool bad_a = false, bad_b = false;
        for (size_t k0 = 0; k0 < j.K; k0 += (size_t)(kStepMmas * KC)) {
            const int nmma = step_mmas<kKind>(j, k0);
            stage_t5<kKind>(j, sm, m0, n0, k0, nmma, tid, &bad_a, &bad_b);
            // The staged bytes, written by the generic proxy, are read by the tensor core's.
            asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
            __syncthreads();
            for (int g = 0; g < nmma; g += kGroup) {
                const int ng = nmma - g < kGroup ? nmma - g : kGroup;
                if (tid == 0) {
                    fence_after();
                    if (g == 0)
                        for (int x = 0; x < step_atoms(kKind, nmma); x++) {
                            copy_atom(tmem + sfa_col((unsigned)x), desc_sf(smem_addr(sm.sfa[x])));
                            copy_atom(tmem + sfb_col((unsigned)x), desc_sf(smem_addr(sm.sfb[x])));
                        }
                    for (int i = g; i < g + ng; i++)
                        mma_t5<kKind>(tmem + (uint32_t)(i - g) * kTN, desc_op(smem_addr(sm.a), i),
                                      desc_op(smem_addr(sm.b), i), t5_idesc(kKind, TA, TB, i),
                                      tmem + sfa_col(atom_of(kKind, i)), tmem + sfb_col(atom_of(kKind, i)));
                    asm volatile("tcgen05.commit.cta_group::1.mbarrier::arrive::one.shared::cluster.b64 [%0];"
                                 :: "r"(bar) : "memory");
                }
                wait_bar(bar, parity);
                parity ^= 1;
                fence_after();
                for (int i = 0; i < ng; i++)
#pragma unroll
                    for (int c = 0; c < kTN; c += 32)
                        add_columns(lane_base + (uint32_t)(i * kTN + c), acc + c);
                // Every lane read before the next MMAs overwrite the regions
                // (and, after the last group, before the next step's staging).
                fence_before();
                __syncthreads();
            }
        }
        sm.bad_a[tid] = bad_a;
        sm.bad_b[tid] = bad_b;
        for (int c = 0; c < kTN; c += 32) {
            put_chunk(sm, tid, acc, c);
            __syncthreads();
            store_chunk(j, sm, m0, n0, c, tid);
            __syncthreads();
        }
    }
    fence_before();
    __syncthreads();
    if (warp == 0) {
        fence_after();
        asm volatile("tcgen05.dealloc.cta_group::1.sync.aligned.b32 %0, %1;" :: "r"(tmem), "n"(kTmemCols) : "memory");
    }
#else
    (void)j;
    __trap();
#endif
}

}  // namespace lbt

extern "C" int lb_cuda_gemm_block_scaled_tc5_covers(const lb_gemm_job *j, int arch)
{
    // (An arch-specific cubin runs on its own compute capability alone;
    // meson.build defines the macro of each one built.)
    (void)arch;  // unread when no such cubin was built
    bool built = false;
#if defined(LOWBIT_CUDA_SM100A)
    built |= arch == 100;
#endif
#if defined(LOWBIT_CUDA_SM103A)
    built |= arch == 103;
#endif
#if defined(LOWBIT_CUDA_SM110A)
    built |= arch == 110;
#endif
    return built && lbs::bs_kind(*j) >= 0;
}

extern "C" lowbit_status lb_cuda_gemm_block_scaled_tc5(const lb_gemm_job *j, void *stream)
{
    using namespace lbt;
    return lbl::launch_tiles(*j, kTM, kTN, stream, "block-scaled (tcgen05)", [&](dim3 grid, cudaStream_t st) {
        const int kind = lbs::bs_kind(*j);
        if (kind == kNvFp4) {
            k_gemm_t5<kNvFp4, 4, 4><<<grid, kThreads, 0, st>>>(*j);
        } else if (kind == kMxFp4) {
            k_gemm_t5<kMxFp4, 4, 4><<<grid, kThreads, 0, st>>>(*j);
        } else {
            lbs::by_mx_type(lbs::mx_type_index(j->a.q.format.elem), [&](auto ta) {
                lbs::by_mx_type(lbs::mx_type_index(j->b.q.format.elem), [&](auto tb) {
                    k_gemm_t5<kMx8, decltype(ta)::value, decltype(tb)::value><<<grid, kThreads, 0, st>>>(*j);
                });
            });
        }
    });
}
