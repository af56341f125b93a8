// convert_from_f32.cu - instantiates the compile-time f32 -> every-type kernels.
#include "convert_wide.cuh"

LBCU_WIDE_LAUNCHER(lbcu_launch_from_f32)
{
    return lbcu::launch_wide_from<LOWBIT_F32>(dt, dst, src, n, p, stream);
}
