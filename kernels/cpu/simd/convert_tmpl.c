/*
 * convert_tmpl.c - lowbit_convert between any two element types, LBV_N
 * elements at a time.  Included once per ISA by kernels/cpu/<isa>/
 * convert_<isa>.c after that ISA's vec_<isa>.h; defines convert_any_simd.
 *
 * Contract: the reference's (kernels/cpu/ref/convert_ref.c), bit for bit.
 * Each vector is loaded from its storage width, decoded to f32 bits
 * (exact for every type), and encoded once into the destination by the
 * vector twins of the formats/ codecs (simd/codec_vec.h); stochastic bits
 * come from the same Philox stream, keyed by opts->offset + element index.
 * Tails: the last n % LBV_N elements go through the same vector code from
 * zero-padded stack copies, and only their bytes are written back; padding
 * bits of a packed last byte are written as zero.  Ranges start on a byte
 * (the dispatcher cuts at multiples of 8 elements), LBV_N is a multiple of
 * 4, so every vector of packed codes starts on a byte as well.
 */
#include "../../../src/internal.h"
#include "codec_vec.h"

/* Byte offset of element i (i a multiple of 4 for packed types). */
LBV_FI size_t elem_byte(unsigned bits, size_t i)
{
    return i / 8 * bits + (i % 8) * bits / 8;
}

/* LBV_N elements of type t from element i of p, as f32 bits. */
LBV_FI lbv_u32 load_f32bits(lowbit_dtype t, const uint8_t *p, size_t i)
{
    lb_minifloat s;
    switch (t) {
    case LOWBIT_F32:      return lbv_load(p + 4 * i);
    case LOWBIT_F16:      return lbv_load_f16(p + 2 * i);
    case LOWBIT_BF16:     return lbv_load_u16(p + 2 * i) << 16;
    case LOWBIT_E4M3:     s = lb_spec_e4m3(); break;
    case LOWBIT_E5M2:     s = lb_spec_e5m2(); break;
    case LOWBIT_E4M3FNUZ: s = lb_spec_e4m3fnuz(); break;
    case LOWBIT_E5M2FNUZ: s = lb_spec_e5m2fnuz(); break;
    case LOWBIT_E3M2:     return lbv_mf_decode(lb_spec_e3m2(), lbv_load_u6(p + i / 4 * 3));
    case LOWBIT_E2M3:     return lbv_mf_decode(lb_spec_e2m3(), lbv_load_u6(p + i / 4 * 3));
    case LOWBIT_E2M1:     return lbv_mf_decode(lb_spec_e2m1(), lbv_load_u4(p + i / 2));
    case LOWBIT_E8M0:     return lbv_e8m0_decode(lbv_load_u8(p + i));
    case LOWBIT_INT8:     return lbv_int_decode(LOWBIT_INT8, lbv_load_u8(p + i));
    case LOWBIT_INT4:     return lbv_int_decode(LOWBIT_INT4, lbv_load_u4(p + i / 2));
    default:              return lbv_int_decode(LOWBIT_UINT4, lbv_load_u4(p + i / 2));
    }
    return lbv_mf_decode(s, lbv_load_u8(p + i));
}

/* Encode f32 bits u into type t. */
LBV_FI lbv_u32 encode(lowbit_dtype t, lbv_u32 u, int mode, int saturate, lbv_u32 rbits)
{
    lb_minifloat s;
    switch (t) {
    case LOWBIT_F32:   return u;
    case LOWBIT_E8M0:  return lbv_e8m0_encode(u, mode, saturate, rbits);
    case LOWBIT_INT8:
    case LOWBIT_INT4:
    case LOWBIT_UINT4: return lbv_int_encode(t, u, mode, rbits);
    default:           lb_minifloat_spec(t, &s); return lbv_mf_encode(s, u, mode, saturate, rbits);
    }
}

/* Store LBV_N codes of `bits` width at element i of p. */
LBV_FI void store_codes(unsigned bits, uint8_t *p, size_t i, lbv_u32 c)
{
    switch (bits) {
    case 32: lbv_store(p + 4 * i, c); break;
    case 16: lbv_store_u16(p + 2 * i, c); break;
    case 8:  lbv_store_u8(p + i, c); break;
    case 6:  lbv_store_u6(p + i / 4 * 3, c); break;
    default: lbv_store_u4(p + i / 2, c); break;
    }
}

LBV_FI lbv_u32 convert_vec(lowbit_dtype dt, lowbit_dtype st, const uint8_t *s, size_t i, int mode,
                           int saturate, uint64_t offset, lbv_sr_stream *sr)
{
    lbv_u32 u = load_f32bits(st, s, i);
    lbv_u32 rb = mode == LB_ROUND_SR ? lbv_sr_bits(sr, offset + i) : lbv_splat(0);
    return encode(dt, u, mode, saturate, rb);
}

/* n elements; dst type, mode and saturation fixed at compile time after
 * inlining (the parameters are copied to locals: stores through d could
 * otherwise alias *p and force reloads). */
LBV_FI void convert_loop(uint8_t *d, lowbit_dtype dt, const uint8_t *s, lowbit_dtype st, size_t n,
                         int mode, int sat, const lb_cvt_params *p)
{
    const unsigned sbits = lb_bits(st), dbits = lb_bits(dt);
    const uint64_t offset = p->offset;
    lbv_sr_stream sr;
    lbv_sr_init(&sr, p->seed);
    size_t i = 0;
    if (st == LOWBIT_F32) /* the common source, without the per-vector type switch */
        for (; i + LBV_N <= n; i += LBV_N)
            store_codes(dbits, d, i, convert_vec(dt, LOWBIT_F32, s, i, mode, sat, offset, &sr));
    else
        for (; i + LBV_N <= n; i += LBV_N)
            store_codes(dbits, d, i, convert_vec(dt, st, s, i, mode, sat, offset, &sr));
    if (i == n)
        return;

    /* the tail, through zero-padded copies */
    size_t k = n - i;
    uint8_t in[4 * LBV_N], out[4 * LBV_N];
    size_t in_bytes = (k * sbits + 7) / 8, out_bytes = (k * dbits + 7) / 8;
    memset(in, 0, sizeof in);
    memcpy(in, s + elem_byte(sbits, i), in_bytes);
    if ((k * sbits) % 8) /* bits of the next element, which is not ours */
        in[in_bytes - 1] &= (uint8_t)((1u << (k * sbits % 8)) - 1u);
    lbv_sr_init(&sr, p->seed);
    store_codes(dbits, out, 0, convert_vec(dt, st, in, 0, mode, sat, offset + i, &sr));
    if ((k * dbits) % 8)
        out[out_bytes - 1] &= (uint8_t)((1u << (k * dbits % 8)) - 1u);
    memcpy(d + elem_byte(dbits, i), out, out_bytes);
}

LBV_FI void convert_modes(uint8_t *d, lowbit_dtype dt, const uint8_t *s, lowbit_dtype st, size_t n,
                          const lb_cvt_params *p)
{
    const int sat = p->saturate != 0;
    switch (p->mode * 2 + sat) {
    case 2 * LB_ROUND_NE:     convert_loop(d, dt, s, st, n, LB_ROUND_NE, 0, p); break;
    case 2 * LB_ROUND_NE + 1: convert_loop(d, dt, s, st, n, LB_ROUND_NE, 1, p); break;
    case 2 * LB_ROUND_TZ:     convert_loop(d, dt, s, st, n, LB_ROUND_TZ, 0, p); break;
    case 2 * LB_ROUND_TZ + 1: convert_loop(d, dt, s, st, n, LB_ROUND_TZ, 1, p); break;
    case 2 * LB_ROUND_SR:     convert_loop(d, dt, s, st, n, LB_ROUND_SR, 0, p); break;
    default:                  convert_loop(d, dt, s, st, n, LB_ROUND_SR, 1, p); break;
    }
}

static void convert_any_simd(void *dst, lowbit_dtype dt, const void *src, lowbit_dtype st, size_t n,
                             const lb_cvt_params *p)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (dt == st) { /* a copy, padding bits cleared as the reference does */
        unsigned bits = lb_bits(dt);
        size_t bytes = (n * bits + 7) / 8;
        memcpy(d, s, bytes);
        if ((n * bits) % 8)
            d[bytes - 1] &= (uint8_t)((1u << (n * bits % 8)) - 1u);
        return;
    }
    switch (dt) {
    case LOWBIT_F32:      convert_modes(d, LOWBIT_F32, s, st, n, p); break;
    case LOWBIT_F16:      convert_modes(d, LOWBIT_F16, s, st, n, p); break;
    case LOWBIT_BF16:     convert_modes(d, LOWBIT_BF16, s, st, n, p); break;
    case LOWBIT_E4M3:     convert_modes(d, LOWBIT_E4M3, s, st, n, p); break;
    case LOWBIT_E5M2:     convert_modes(d, LOWBIT_E5M2, s, st, n, p); break;
    case LOWBIT_E4M3FNUZ: convert_modes(d, LOWBIT_E4M3FNUZ, s, st, n, p); break;
    case LOWBIT_E5M2FNUZ: convert_modes(d, LOWBIT_E5M2FNUZ, s, st, n, p); break;
    case LOWBIT_E3M2:     convert_modes(d, LOWBIT_E3M2, s, st, n, p); break;
    case LOWBIT_E2M3:     convert_modes(d, LOWBIT_E2M3, s, st, n, p); break;
    case LOWBIT_E2M1:     convert_modes(d, LOWBIT_E2M1, s, st, n, p); break;
    case LOWBIT_E8M0:     convert_modes(d, LOWBIT_E8M0, s, st, n, p); break;
    case LOWBIT_INT8:     convert_modes(d, LOWBIT_INT8, s, st, n, p); break;
    case LOWBIT_INT4:     convert_modes(d, LOWBIT_INT4, s, st, n, p); break;
    default:              convert_modes(d, LOWBIT_UINT4, s, st, n, p); break;
    }
}
