/*
 * convert_tmpl.c - lowbit_convert between any two element types, LBV_N
 * elements at a time.  Included once per ISA by kernels/cpu/<isa>/
 * convert_<isa>.c after that ISA's vec_<isa>.h; defines convert_any_simd.
 *
 * Contract: the reference's (kernels/cpu/ref/convert_ref.c), bit for bit.
 * The work goes in chunks of CCHUNK elements and two passes: the source
 * is decoded to f32 bits (exact for every type) into an L1-resident
 * buffer, then encoded once into the destination by the vector twins of
 * the formats/ codecs (simd/codec_vec.h), with stochastic bits from the
 * same Philox stream, keyed by opts->offset + element index.  An f32
 * source skips the first pass.  Splitting the passes keeps one copy of
 * each decoder and of each (destination, mode, saturation) encoder in the
 * binary instead of every product of them.
 * Tails: the last n % LBV_N elements go through the same code from
 * zero-padded stack copies, and only their bytes are written back; padding
 * bits of a packed last byte are written as zero.  Ranges start on a byte
 * (the dispatcher cuts at multiples of 8 elements), CCHUNK and LBV_N are
 * multiples of 8 and 4, so every vector of packed codes starts on a byte.
 */
#include "../../../src/internal.h"
#include "elem_vec.h"

#define CCHUNK 512

/* nvec vectors of type st from s into f32 bits at out. */
static void decode_vectors(lowbit_dtype st, const uint8_t *s, size_t nvec, uint32_t *out)
{
#define LB_DECODE_CASE(T)                                                                                    \
    case T:                                                                                                  \
        for (size_t v = 0; v < nvec; v++)                                                                    \
            lbv_store(out + v * LBV_N, load_f32bits(T, s, v * LBV_N));                                      \
        break
    switch (st) {
        LB_DECODE_CASE(LOWBIT_F32);
        LB_DECODE_CASE(LOWBIT_F16);
        LB_DECODE_CASE(LOWBIT_BF16);
        LB_DECODE_CASE(LOWBIT_E4M3);
        LB_DECODE_CASE(LOWBIT_E5M2);
        LB_DECODE_CASE(LOWBIT_E4M3FNUZ);
        LB_DECODE_CASE(LOWBIT_E5M2FNUZ);
        LB_DECODE_CASE(LOWBIT_E3M2);
        LB_DECODE_CASE(LOWBIT_E2M3);
        LB_DECODE_CASE(LOWBIT_E2M1);
        LB_DECODE_CASE(LOWBIT_E8M0);
        LB_DECODE_CASE(LOWBIT_INT8);
        LB_DECODE_CASE(LOWBIT_INT4);
        LB_DECODE_CASE(LOWBIT_UINT4);
    default:
        break;
    }
#undef LB_DECODE_CASE
}

/* nvec vectors of f32 bits into type dt at d; `index` keys element 0. */
LBV_FI void encode_loop(lowbit_dtype dt, int mode, int sat, const uint8_t *in, size_t nvec, uint8_t *d,
                        uint64_t index, lbv_sr_stream *sr)
{
    const unsigned bits = lb_bits(dt);
    for (size_t v = 0; v < nvec; v++) {
        lbv_u32 rb = mode == LB_ROUND_SR ? lbv_sr_bits(sr, index + v * LBV_N) : lbv_splat(0);
        store_codes(bits, d, v * LBV_N, encode(dt, lbv_load(in + 4 * v * LBV_N), mode, sat, rb));
    }
}

LBV_FI void encode_modes(lowbit_dtype dt, int mode, int sat, const uint8_t *in, size_t nvec, uint8_t *d,
                         uint64_t index, lbv_sr_stream *sr)
{
    switch (mode * 2 + (sat != 0)) {
    case 2 * LB_ROUND_NE:     encode_loop(dt, LB_ROUND_NE, 0, in, nvec, d, index, sr); break;
    case 2 * LB_ROUND_NE + 1: encode_loop(dt, LB_ROUND_NE, 1, in, nvec, d, index, sr); break;
    case 2 * LB_ROUND_TZ:     encode_loop(dt, LB_ROUND_TZ, 0, in, nvec, d, index, sr); break;
    case 2 * LB_ROUND_TZ + 1: encode_loop(dt, LB_ROUND_TZ, 1, in, nvec, d, index, sr); break;
    case 2 * LB_ROUND_SR:     encode_loop(dt, LB_ROUND_SR, 0, in, nvec, d, index, sr); break;
    default:                  encode_loop(dt, LB_ROUND_SR, 1, in, nvec, d, index, sr); break;
    }
}

/* nvec vectors of f32 bits (4-byte elements from in, any alignment) into dt. */
static void encode_vectors(lowbit_dtype dt, int mode, int sat, const uint8_t *in, size_t nvec, uint8_t *d,
                           uint64_t index, lbv_sr_stream *sr)
{
    switch (dt) {
    case LOWBIT_F32:      encode_modes(LOWBIT_F32, mode, sat, in, nvec, d, index, sr); break;
    case LOWBIT_F16:      encode_modes(LOWBIT_F16, mode, sat, in, nvec, d, index, sr); break;
    case LOWBIT_BF16:     encode_modes(LOWBIT_BF16, mode, sat, in, nvec, d, index, sr); break;
    case LOWBIT_E4M3:     encode_modes(LOWBIT_E4M3, mode, sat, in, nvec, d, index, sr); break;
    case LOWBIT_E5M2:     encode_modes(LOWBIT_E5M2, mode, sat, in, nvec, d, index, sr); break;
    case LOWBIT_E4M3FNUZ: encode_modes(LOWBIT_E4M3FNUZ, mode, sat, in, nvec, d, index, sr); break;
    case LOWBIT_E5M2FNUZ: encode_modes(LOWBIT_E5M2FNUZ, mode, sat, in, nvec, d, index, sr); break;
    case LOWBIT_E3M2:     encode_modes(LOWBIT_E3M2, mode, sat, in, nvec, d, index, sr); break;
    case LOWBIT_E2M3:     encode_modes(LOWBIT_E2M3, mode, sat, in, nvec, d, index, sr); break;
    case LOWBIT_E2M1:     encode_modes(LOWBIT_E2M1, mode, sat, in, nvec, d, index, sr); break;
    case LOWBIT_E8M0:     encode_modes(LOWBIT_E8M0, mode, sat, in, nvec, d, index, sr); break;
    case LOWBIT_INT8:     encode_modes(LOWBIT_INT8, mode, sat, in, nvec, d, index, sr); break;
    case LOWBIT_INT4:     encode_modes(LOWBIT_INT4, mode, sat, in, nvec, d, index, sr); break;
    default:              encode_modes(LOWBIT_UINT4, mode, sat, in, nvec, d, index, sr); break;
    }
}

static void convert_any_simd(void *dst, lowbit_dtype dt, const void *src, lowbit_dtype st, size_t n,
                             const lb_cvt_params *p)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    const unsigned sbits = lb_bits(st), dbits = lb_bits(dt);
    if (dt == st) { /* a copy, padding bits cleared as the reference does */
        size_t bytes = (n * sbits + 7) / 8;
        memcpy(d, s, bytes);
        if ((n * sbits) % 8)
            d[bytes - 1] &= (uint8_t)((1u << (n * sbits % 8)) - 1u);
        return;
    }
    uint32_t buf[CCHUNK];
    lbv_sr_stream sr;
    lbv_sr_init(&sr, p->seed);
    const size_t nfull = n / LBV_N * LBV_N;
    for (size_t i = 0; i < nfull; i += CCHUNK) {
        size_t nvec = (nfull - i < CCHUNK ? nfull - i : CCHUNK) / LBV_N;
        const uint8_t *in = s + 4 * i;
        if (st != LOWBIT_F32) {
            decode_vectors(st, s + elem_byte(sbits, i), nvec, buf);
            in = (const uint8_t *)buf;
        }
        encode_vectors(dt, p->mode, p->saturate, in, nvec, d + elem_byte(dbits, i), p->offset + i, &sr);
    }
    if (nfull == n)
        return;

    /* the tail, through zero-padded copies */
    size_t k = n - nfull;
    uint8_t pin[4 * LBV_N], pout[4 * LBV_N];
    uint32_t bits32[LBV_N];
    size_t in_bytes = (k * sbits + 7) / 8, out_bytes = (k * dbits + 7) / 8;
    memset(pin, 0, sizeof pin);
    memcpy(pin, s + elem_byte(sbits, nfull), in_bytes);
    if ((k * sbits) % 8) /* bits of the next element, which is not ours */
        pin[in_bytes - 1] &= (uint8_t)((1u << (k * sbits % 8)) - 1u);
    decode_vectors(st, pin, 1, bits32);
    encode_vectors(dt, p->mode, p->saturate, (const uint8_t *)bits32, 1, pout, p->offset + nfull, &sr);
    if ((k * dbits) % 8)
        pout[out_bytes - 1] &= (uint8_t)((1u << (k * dbits % 8)) - 1u);
    memcpy(d + elem_byte(dbits, nfull), pout, out_bytes);
}
