/* The README's example: FP8 conversion and MXFP4 quantization of a small
 * tensor.  CI compiles it against the installed library and runs it. */
#include <lowbit.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    float x[64];
    for (int i = 0; i < 64; i++)
        x[i] = (float)(i - 32) / 7.0f;

    /* 1. Flat conversion f32 -> FP8 E4M3, saturating, and back. */
    uint8_t fp8[64];
    float back[64];
    lowbit_convert_opts opts = {.rounding = LOWBIT_ROUND_NEAREST_EVEN, .saturate = 1};
    if (lowbit_convert(LOWBIT_E4M3, fp8, LOWBIT_F32, x, 64, &opts) != LOWBIT_OK ||
        lowbit_convert(LOWBIT_F32, back, LOWBIT_E4M3, fp8, 64, NULL) != LOWBIT_OK) {
        fprintf(stderr, "convert failed: %s\n", lowbit_last_error());
        return 1;
    }
    printf("e4m3: %g -> 0x%02x -> %g\n", x[40], fp8[40], back[40]);

    /* 2. MXFP4: a 2 x 32 matrix, one E8M0 scale per 32 elements. */
    lowbit_format fmt = lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR);
    lowbit_qtensor q;
    if (lowbit_qtensor_init(&q, &fmt, 2, 32) != LOWBIT_OK)
        return 1;
    q.data = malloc(q.data_bytes);      /* 32 bytes: two 4-bit values per byte */
    q.scales = malloc(q.scales_bytes);  /* 2 bytes: one E8M0 per block */
    float y[64];
    lowbit_status s = lowbit_quantize(&q, LOWBIT_F32, x, 32, NULL);
    if (s == LOWBIT_OK)
        s = lowbit_dequantize(LOWBIT_F32, y, 32, &q);
    if (s != LOWBIT_OK) {
        fprintf(stderr, "%s: %s\n", lowbit_status_string(s), lowbit_last_error());
        return 1;
    }
    printf("mxfp4: scale 0x%02x, %g -> %g\n", ((uint8_t *)q.scales)[1], x[40], y[40]);

    /* 3. Bad input is refused with a reason, and nothing is written. */
    s = lowbit_convert(LOWBIT_E4M3, NULL, LOWBIT_F32, x, 64, NULL);
    printf("%s: %s\n", lowbit_status_string(s), lowbit_last_error());

    free(q.data);
    free(q.scales);
    return 0;
}
