/*
 * kv_formats.h - the KV-cache formats the attention checks cover, in one
 * order: lowbit-check's attention rows (attention.c) and the GPU attention
 * tests (tests/gpu/attention_cases.h, C++) read this list, so a format added
 * here is checked on every backend, the device and its host emulation.
 */
#ifndef LOWBIT_CHECK_KV_FORMATS_H
#define LOWBIT_CHECK_KV_FORMATS_H

#include <stddef.h>
#include <string.h>
#include "lowbit.h"

typedef struct kv_fmt {
    const char *name;
    lowbit_format f;
} kv_fmt;

/* NVFP4-style: elem with an E4M3 scale per g elements of a token, under
 * each head's given tensor scale (the cache's head_scales). */
static inline lowbit_format kv_nv_given(lowbit_dtype elem, uint32_t g)
{
    lowbit_format f = lowbit_format_nvfp4();
    f.elem = elem;
    f.block_cols = g;
    f.flags |= LOWBIT_FMT_GIVEN_TENSOR_SCALE;
    return f;
}

#define KV_FORMATS_MAX 24

/* Fills out (room for KV_FORMATS_MAX) and returns the count. */
static inline size_t kv_formats_fill(kv_fmt *out)
{
    const kv_fmt list[] = {
        {"f32", lowbit_format_plain(LOWBIT_F32)},
        {"bf16", lowbit_format_plain(LOWBIT_BF16)},
        {"f16", lowbit_format_plain(LOWBIT_F16)},
        {"e4m3/head", lowbit_format_fp8_tensor(LOWBIT_E4M3)},
        {"e5m2/head", lowbit_format_fp8_tensor(LOWBIT_E5M2)},
        {"e4m3fnuz/head", lowbit_format_fp8_tensor(LOWBIT_E4M3FNUZ)},
        {"e4m3/token", lowbit_format_fp8_row(LOWBIT_E4M3)},
        {"e4m3/1x32", lowbit_format_fp8_block(LOWBIT_E4M3, 1, 32)},
        {"int8/token f32", lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0)},
        {"int8/token bf16 zp", lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_BF16, 1)},
        {"int4 g32 f16 zp", lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 1)},
        {"int4 g64 f32", lowbit_format_int_group(LOWBIT_INT4, 64, LOWBIT_F32, 0)},
        {"uint4 g16 bf16 zp", lowbit_format_int_group(LOWBIT_UINT4, 16, LOWBIT_BF16, 1)},
        {"int4 g48 f16 zp", lowbit_format_int_group(LOWBIT_INT4, 48, LOWBIT_F16, 1)}, /* blocks across PV chunks */
        {"mxfp8 e4m3", lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR)},
        {"mxfp8 e5m2", lowbit_format_mx(LOWBIT_E5M2, LOWBIT_SCALE_RCEIL)},
        {"mxfp6 e3m2", lowbit_format_mx(LOWBIT_E3M2, LOWBIT_SCALE_FLOOR)},
        {"mxfp6 e2m3", lowbit_format_mx(LOWBIT_E2M3, LOWBIT_SCALE_EVEN)},
        {"mxfp4", lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR)},
        {"mxint8", lowbit_format_mx(LOWBIT_INT8, LOWBIT_SCALE_FLOOR)},
        {"nvfp4 given", kv_nv_given(LOWBIT_E2M1, 16)},
        {"nv e4m3 g32 given", kv_nv_given(LOWBIT_E4M3, 32)},
    };
    const size_t n = sizeof list / sizeof list[0];
    memcpy(out, list, sizeof list);
    return n;
}

#endif
