// convert_from_f16.cu - instantiates the compile-time f16 -> every-type kernels.
#include "convert_wide.cuh"

LBCU_WIDE_LAUNCHER(lbcu_launch_from_f16)
{
    return lbcu::launch_wide_from<LOWBIT_F16>(dt, dst, src, n, p, stream);
}
