// Instantiates every formats/ codec in device code, so a change that breaks
// "one element codec, everywhere" fails the build check even on machines
// with no GPU.  Compiled by nvcc (and later hipcc); never run.
#include "scale.h"

__global__ void lowbit_formats_device_probe(const float *x, uint32_t *out, int n, int dtype, int mode)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    uint32_t r = lb_sr_bits(0x1234u, (uint64_t)i);
    uint32_t code = lb_encode(dtype, x[i], mode, 1, r);
    float back = lb_decode(dtype, code);
    lb_block_stats st;
    lb_stats_init(&st);
    lb_stats_add(&st, x[i]);
    uint32_t mx = lb_mx_scale_code(&st, LOWBIT_E2M1, LOWBIT_SCALE_RCEIL);
    uint32_t nv = lb_nv_block_scale_code(&st, LOWBIT_E2M1, lb_nv_tensor_scale(st.amax, LOWBIT_E2M1));
    uint32_t zq = (uint32_t)lb_zp_encode(LOWBIT_UINT4, x[i], 0.5f, 3, mode, r);
    out[i] = code ^ lb_f32_bits(back) ^ lb_mx_encode(LOWBIT_E4M3, x[i], mx, mode, r) ^
             lb_nv_encode(LOWBIT_E2M1, x[i], nv, 1.0f, mode, r) ^ zq ^ lb_get6((const uint8_t *)x, i);
}
