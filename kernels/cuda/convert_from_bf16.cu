// convert_from_bf16.cu - instantiates the compile-time bf16 -> every-type kernels.
#include "convert_wide.cuh"

LBCU_WIDE_LAUNCHER(lbcu_launch_from_bf16)
{
    return lbcu::launch_wide_from<LOWBIT_BF16>(dt, dst, src, n, p, stream);
}
