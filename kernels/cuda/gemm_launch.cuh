// gemm_launch.cuh - the host side that every GPU GEMM kernel's launch shares
// (each gemm_*.cu of kernels/cuda/, the HIP ones included): the grid, the
// dispatch of an FP8 type pair to a kernel template, and the launch status.
#ifndef LOWBIT_KERNELS_CUDA_GEMM_LAUNCH_CUH
#define LOWBIT_KERNELS_CUDA_GEMM_LAUNCH_CUH

#include <type_traits>

#include "gpu_port.cuh"  // <cuda_runtime.h>, or its HIP twin
#include "internal.h"

namespace lbl {

// Grid of CTA tiles bm x bn: x over the N tiles, y over the M tiles (at
// most 65535; the kernels loop over the rest).
inline lowbit_status gemm_grid(const lb_gemm_job &j, size_t bm, size_t bn, dim3 *grid)
{
    const size_t tiles_n = (j.N + bn - 1) / bn, tiles_m = (j.M + bm - 1) / bm;
    if (tiles_n > 0x7FFFFFFFu)
        return lb_fail(LOWBIT_ERR_UNSUPPORTED, LBGPU_NAME " gemm: N = %zu needs more than 2^31 CTAs", j.N);
    *grid = dim3((unsigned)tiles_n, (unsigned)(tiles_m < 65535 ? tiles_m : 65535));
    return LOWBIT_OK;
}

// launch(ta, tb) with std::integral_constant<int, 0> for E4M3 and <int, 1>
// for E5M2 (e5: the E5M2 type of the kernel's pairs, OCP or FNUZ): one
// template instance per type pair of the operands.
template <class F>
void by_fp8_pair(const lb_gemm_job &j, F &&launch, int e5 = LOWBIT_E5M2)
{
    using E4M3 = std::integral_constant<int, 0>;
    using E5M2 = std::integral_constant<int, 1>;
    const bool a5 = j.a.q.format.elem == e5, b5 = j.b.q.format.elem == e5;
    if (!a5 && !b5)
        launch(E4M3{}, E4M3{});
    else if (!a5)
        launch(E4M3{}, E5M2{});
    else if (!b5)
        launch(E5M2{}, E4M3{});
    else
        launch(E5M2{}, E5M2{});
}

// The status of the launch just made (what names the kernel in the detail).
inline lowbit_status launch_status(const char *what)
{
    const cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return lb_fail(LOWBIT_ERR_DEVICE, LBGPU_NAME ": %s gemm kernel launch failed: %s", what,
                       cudaGetErrorString(e));
    return LOWBIT_OK;
}

// An entry point's launch: the grid of bm x bn tiles for j, then
// launch(grid, stream), which starts the job's kernel instance, then the
// launch status (what names the kernel).
template <class F>
lowbit_status launch_tiles(const lb_gemm_job &j, size_t bm, size_t bn, void *stream, const char *what, F &&launch)
{
    dim3 grid;
    const lowbit_status s = gemm_grid(j, bm, bn, &grid);
    if (s != LOWBIT_OK)
        return s;
    launch(grid, (cudaStream_t)stream);
    return launch_status(what);
}

}  // namespace lbl

#endif
