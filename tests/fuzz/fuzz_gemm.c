/*
 * fuzz_gemm.c - lowbit_gemm, lowbit_gemm_pack_size / _pack / _packed with
 * operand formats, small shapes, strides, declared sizes, C type, ldc and
 * options decoded from the input (operand bytes are random: NaN scales,
 * odd codes and all).
 *
 * Contract checked: buffers exactly as large as declared (ASan); a failed
 * call leaves C (or the pack buffer) untouched; an OK call never writes
 * the gap between N and ldc; exact calls match the reference backend, and
 * the packed path matches the unpacked one bit for bit.
 */
#include "fuzz_common.h"

/* Pairs the library offers, so that most inputs get past the format checks. */
static void pick_pair(fz_in *in, lowbit_format *fa, lowbit_format *fb)
{
    uint8_t sel = fz_u8(in);
    switch (sel % 12) {
    case 0: *fa = lowbit_format_fp8_row(LOWBIT_E4M3); *fb = lowbit_format_fp8_row(LOWBIT_E5M2); break;
    case 1: *fa = lowbit_format_fp8_tensor(LOWBIT_E4M3FNUZ); *fb = lowbit_format_fp8_block(LOWBIT_E4M3, 1, 32); break;
    case 2: *fa = lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR); *fb = lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR); break;
    case 3: *fa = lowbit_format_mx(LOWBIT_E3M2, LOWBIT_SCALE_RCEIL); *fb = lowbit_format_mx(LOWBIT_INT8, LOWBIT_SCALE_FLOOR); break;
    case 4: *fa = lowbit_format_nvfp4(); *fb = lowbit_format_nvfp4(); break;
    case 5: *fa = lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0); *fb = lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 0); break;
    case 6: *fa = lowbit_format_int_group(LOWBIT_INT8, 32, LOWBIT_BF16, 1); *fb = lowbit_format_int_group(LOWBIT_UINT4, 16, LOWBIT_F32, 1); break;
    case 7: *fa = lowbit_format_plain(LOWBIT_F32); *fb = lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 1); break;
    case 8: *fa = lowbit_format_plain(LOWBIT_BF16); *fb = lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0); break;
    case 9: *fa = lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0); *fb = lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0); break;
    case 10: *fa = lowbit_format_mx(LOWBIT_E2M3, LOWBIT_SCALE_EVEN); *fb = lowbit_format_mx(LOWBIT_E5M2, LOWBIT_SCALE_CEIL); break;
    default: *fa = fz_format(in); *fb = fz_format(in); break;
    }
}

static size_t pick_k(fz_in *in)
{
    static const size_t ks[] = {0, 16, 32, 64, 128, 96, 48, 256};
    uint8_t k = fz_u8(in);
    return k < 0xE0 ? ks[k % 8] : fz_size(in, 300);
}

/* C untouched, or (after OK) untouched in the gaps between rows */
static void check_gaps(const uint8_t *c, size_t M, size_t N, size_t ldc, size_t es)
{
    for (size_t m = 0; m + 1 < M; m++)
        if (!fz_untouched(c + (m * ldc + N) * es, (ldc - N) * es))
            FZ_FAIL("C row %zu written between N = %zu and ldc = %zu", m, N, ldc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    fz_once();
    fz_backend(&in);
    lowbit_format fa, fb;
    pick_pair(&in, &fa, &fb);
    size_t M = fz_size(&in, 9), N = fz_size(&in, 9), K = pick_k(&in);
    size_t Kb = fz_u8(&in) == 0xFF ? pick_k(&in) : K; /* now and then a K mismatch */
    lowbit_qtensor a, b;
    if (lowbit_qtensor_init(&a, &fa, M, K) != LOWBIT_OK && fa.scale_type != LOWBIT_DTYPE_COUNT)
        return 0;
    if (lowbit_qtensor_init(&b, &fb, N, Kb) != LOWBIT_OK)
        return 0;
    if (fa.scale_type == LOWBIT_DTYPE_COUNT) {
        /* a wide A: qtensor_init refuses it, so lay it out here */
        memset(&a, 0, sizeof a);
        a.format = fa;
        a.rows = M;
        a.cols = K;
        a.row_stride = K;
        a.data_bytes = fz_matrix_bytes(M, K, K, fz_wide_bytes(fa.elem));
        a.tensor_scale = 1.0f;
    }
    fz_qbuf ab, bb;
    fz_qtensor_buffers(&in, &a, &ab);
    fz_qtensor_buffers(&in, &b, &bb);
    fz_qtensor_fill(&in, &a, &ab);
    fz_qtensor_fill(&in, &b, &bb);

    lowbit_dtype ct = fz_u8(&in) & 0x80 ? fz_dtype(&in) : (lowbit_dtype)(fz_u8(&in) % 3);
    size_t es = fz_wide_bytes(ct);
    size_t ldc = N + (fz_u8(&in) & 3);
    if (fz_u8(&in) & 0x80)
        ldc = fz_size(&in, 20);
    float alpha = fz_u8(&in) & 1 ? fz_f32(&in) : 1.0f;
    float beta = fz_u8(&in) & 1 ? fz_f32(&in) : 0.0f;
    uint8_t om = fz_u8(&in);
    lowbit_gemm_opts o = {om & 2 ? fz_u32(&in) : (om >> 2) & 1}, *opts = om & 1 ? &o : NULL;
    int exact = !opts || !(o.flags & LOWBIT_GEMM_ALLOW_FAST);

    size_t cneed = fz_matrix_bytes(M, N, ldc >= N ? ldc : N, es);
    int noc = cneed > FZ_BUF_CAP; /* only reachable when ldc or N is absurd */
    size_t calloc_ = noc ? 64 : cneed;
    uint8_t *cbase, *c = fz_alloc_at(calloc_, (om >> 3) & 3, &cbase);
    lowbit_status s = lowbit_gemm(&a, &b, alpha, beta, ct, noc ? NULL : c, ldc, opts);
    if (s != LOWBIT_OK && !fz_untouched(c, calloc_))
        FZ_FAIL("gemm wrote C on %s", lowbit_status_string(s));
    if (s == LOWBIT_OK && noc && M && N)
        FZ_FAIL("gemm accepted a NULL C of %zu bytes", cneed);
    if (s == LOWBIT_OK && !noc && cneed && ldc > N)
        check_gaps(c, M, N, ldc, es);
    lowbit_backend was = lowbit_get_backend();
    if (s == LOWBIT_OK && exact && !noc && was != LOWBIT_BACKEND_REF &&
        lowbit_set_backend(LOWBIT_BACKEND_REF) == LOWBIT_OK) {
        uint8_t *c2 = fz_alloc(calloc_);
        if (lowbit_gemm(&a, &b, alpha, beta, ct, c2, ldc, opts) != LOWBIT_OK || memcmp(c, c2, calloc_) != 0)
            FZ_FAIL("gemm: %s differs from ref", lowbit_backend_name(was));
        free(c2);
        lowbit_set_backend(was);
    }

    /* prepacked B */
    size_t pbytes = 0;
    lowbit_status ps = lowbit_gemm_pack_size(&fa, &b, opts, &pbytes);
    if (ps == LOWBIT_OK && pbytes <= 4 * FZ_BUF_CAP) {
        size_t decl = pbytes;
        uint8_t pm = fz_u8(&in);
        if (pm & 1)
            decl = pbytes - (pbytes ? 1 + fz_u8(&in) % pbytes : 0);
        else if (pm & 2)
            decl = pbytes + (fz_u8(&in) & 15);
        uint8_t *p = fz_alloc(decl);
        ps = lowbit_gemm_pack(&fa, &b, opts, p, decl);
        if (ps != LOWBIT_OK && !fz_untouched(p, decl))
            FZ_FAIL("gemm_pack wrote on %s", lowbit_status_string(ps));
        if (ps == LOWBIT_OK && decl < pbytes)
            FZ_FAIL("gemm_pack accepted %zu bytes, pack_size said %zu", decl, pbytes);
        if (ps == LOWBIT_OK) {
            int corrupt = (pm & 4) && decl;
            if (corrupt)
                p[fz_u32(&in) % decl] ^= (uint8_t)(1u << (fz_u8(&in) & 7));
            size_t pdecl = decl - ((pm & 8) && decl ? 1 : 0);
            uint8_t *c3 = fz_alloc(calloc_);
            lowbit_status s3 = lowbit_gemm_packed(&a, p, pdecl, alpha, beta, ct, noc ? NULL : c3, ldc, opts);
            if (s3 != LOWBIT_OK && !fz_untouched(c3, calloc_))
                FZ_FAIL("gemm_packed wrote C on %s", lowbit_status_string(s3));
            if (s3 == LOWBIT_OK && pdecl < pbytes)
                FZ_FAIL("gemm_packed accepted %zu bytes of a %zu-byte pack", pdecl, pbytes);
            if (!corrupt && s == LOWBIT_OK && s3 == LOWBIT_OK && exact && !noc && memcmp(c, c3, calloc_) != 0)
                FZ_FAIL("gemm_packed differs from gemm");
            free(c3);
        }
        free(p);
    }
    free(cbase);
    fz_qbuf_free(&ab);
    fz_qbuf_free(&bb);
    return 0;
}
