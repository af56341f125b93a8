/*
 * gemm_w4_decode_avx2.c - the decode path of the AVX2 GEMM (M <= 8) for
 * 4-bit integer-valued weights: INT4, UINT4 with zero point, E2M1 (MXFP4,
 * NVFP4), against activations whose integers fit a signed byte (INT8,
 * INT4, UINT4 with zero point, E2M1, E2M3, MXINT8); and for INT8 / MXINT8
 * weights against any integer activations, whose k4 code words become two
 * int16 pairs by two shifts (no saturation: VPMADDWD pair sums stay below
 * 2 * 128 * 255).  Included by gemm_avx2.c after simd/gemm_tmpl.c; it reads
 * the same B panels.
 *
 * Why: at M = 1 every weight is used once, so decoding it to an int16 word
 * first costs more than the multiply.  Here the packed nibbles go straight
 * into VPMADDUBSW: one 32-byte load is 8 columns x 8 k; VPSHUFB maps each
 * nibble to an unsigned byte u = n + off (n the element's integer, off a
 * per-column constant: 8 for INT4, 12 for E2M1, plus the zero point), the
 * activations are bytes broadcast 4 at a time in the matching k order, and
 * VPMADDWD against ones finishes each column's 8-k sum in an int32 lane.
 * The block's integer sum is then S - off * sum(a), exactly the D of the
 * reference (no saturation: |u| <= 24 and |a| <= 128 keep every VPMADDUBSW
 * pair sum, and the sum of two, below 2^15), and the rest of the block
 * arithmetic is the generic microtile's, so the bits are the reference's.
 *
 * A layout (per call): for row m and block b, groups of 8 k as two words,
 * the bytes of k = 8g + {0,2,4,6} and of k = 8g + {1,3,5,7} (8-bit B:
 * groups of 4 k, int16 halves k = 4g + {0,2} and 4g + {1,3}; zero past the
 * block's end); then per (m, b) the int32 sum of the block's integers and
 * the f32 block scale.
 */

#define BYTE_MAX_M 8

typedef struct byte_geom {
    int b8;                    /* 8-bit B (INT8 words of k4) rather than nibbles (k8) */
    size_t kg;                 /* k per A group: 8 (4-bit B) or 4 (8-bit B) */
    size_t nblk, groups;       /* K blocks; groups per block */
    size_t row_words;          /* A words per row: nblk * groups * 2 */
    size_t sums_off, scales_off, bytes;
} byte_geom;

static byte_geom byte_geom_of(const lb_gemm_job *j)
{
    byte_geom g;
    g.b8 = lowbit_dtype_bits(j->b.q.format.elem) == 8;
    g.kg = g.b8 ? 4 : 8;
    g.nblk = j->K / j->kblock;
    g.groups = (j->kblock + g.kg - 1) / g.kg;
    g.row_words = lb_mul_sat(lb_mul_sat(g.nblk, g.groups), 2);
    g.sums_off = lb_mul_sat(g.row_words, BYTE_MAX_M * 4);
    g.scales_off = lb_add_sat(g.sums_off, lb_mul_sat(g.nblk, BYTE_MAX_M * 4));
    g.bytes = lb_add_sat(g.scales_off, lb_mul_sat(g.nblk, BYTE_MAX_M * 4));
    return g;
}

static int byte_path_applies(const lb_gemm_job *j)
{
    if (!j->integer || j->M > BYTE_MAX_M)
        return 0;
    unsigned bb = lowbit_dtype_bits(j->b.q.format.elem);
    if (bb == 8)  /* INT8 / MXINT8 weights: int16 pairs, any integer activations */
        return j->b.q.format.elem == LOWBIT_INT8;
    if (bb != 4)
        return 0;
    /* 4-bit weights: activations must be signed bytes, everything
     * integer-valued but an INT8 with a zero point (q - z reaches 255) */
    return !(j->a.q.format.elem == LOWBIT_INT8 && j->a.scheme == LB_SCHEME_ZP);
}

static size_t byte_pack_a_size(const lb_gemm_job *j)
{
    return byte_geom_of(j).bytes;
}

static void byte_pack_a(const lb_gemm_job *j, void *dst, size_t m0, size_t m1)
{
    (void)m0;
    const byte_geom g = byte_geom_of(j);
    const size_t L = j->kblock;
    uint8_t *base = dst;
    memset(base, 0, g.bytes);
    for (size_t m = 0; m < m1; m++) {
        uint8_t *row = base + m * g.row_words * 4;
        for (size_t b = 0; b < g.nblk; b++) {
            int32_t sum = 0;
            for (size_t i = 0; i < L; i++) {
                int32_t n = lb_opnd_int(&j->a, m, b * L + i);
                size_t grp = i / g.kg, at = i % g.kg;
                /* word 0: even k of the group, word 1: odd k; in it byte
                 * (4-bit B) or int16 half (8-bit B) number at / 2 */
                uint8_t *w = row + ((b * g.groups + grp) * 2 + (at & 1)) * 4;
                if (g.b8) {
                    uint16_t h = (uint16_t)(int16_t)n;
                    memcpy(w + (at / 2) * 2, &h, 2);
                } else {
                    w[at / 2] = (uint8_t)(int8_t)n;
                }
                sum += n;
            }
            float s = lb_opnd_scale(&j->a, m, b * L);
            memcpy(base + g.sums_off + (m * g.nblk + b) * 4, &sum, 4);
            memcpy(base + g.scales_off + (m * g.nblk + b) * 4, &s, 4);
        }
    }
}

/* u = n + off for each of B's 16 codes, and off, by B's type. */
static void byte_table(const lb_gemm_job *j, uint8_t table[16], int32_t *off)
{
    const lowbit_dtype t = j->b.q.format.elem;
    for (uint32_t c = 0; c < 16; c++) {
        if (t == LOWBIT_INT8)
            table[c] = 0;                           /* unused: INT8 words are not nibbles */
        else if (t == LOWBIT_INT4)
            table[c] = (uint8_t)(c ^ 8u);           /* q + 8 */
        else if (t == LOWBIT_UINT4)
            table[c] = (uint8_t)c;                  /* q */
        else
            table[c] = (uint8_t)((int32_t)(lb_decode(t, c) * 2.0f) + 12); /* E2M1: 2v + 12 */
    }
    *off = t == LOWBIT_INT4 ? 8 : t == LOWBIT_UINT4 ? 0 : t == LOWBIT_INT8 ? 0 : 12;
}

/* One panel (GNR = 16 columns: two 8-column vectors), rows [0, MR). */
static inline __attribute__((always_inline)) void byte_panel(const lb_gemm_job *j, const byte_geom *ag,
                                                            const panel_geom *pg, const uint8_t *panel,
                                                            const uint8_t *apack, __m256i table, int32_t off0,
                                                            float acc[BYTE_MAX_M][GNR], const int mr,
                                                            const int b8)
{
    const __m256i nib = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    const __m256 unit = _mm256_set1_ps(ldexpf(1.0f, j->a.unit_log2 + j->b.unit_log2));
    const int zp = j->b.scheme == LB_SCHEME_ZP;
    const int32_t *sums = (const int32_t *)(apack + ag->sums_off);
    const float *ascale = (const float *)(apack + ag->scales_off);
    __m256 c[BYTE_MAX_M][2];
    for (int m = 0; m < mr; m++)
        c[m][0] = c[m][1] = _mm256_setzero_ps();
    for (size_t b = 0; b < ag->nblk; b++) {
        const uint32_t *cw = (const uint32_t *)panel + b * pg->groups * GNR;
        __m256i s[BYTE_MAX_M][2];
        for (int m = 0; m < mr; m++)
            s[m][0] = s[m][1] = _mm256_setzero_si256();
        for (size_t g = 0; g < ag->groups; g++) {
            __m256i w0 = _mm256_loadu_si256((const __m256i *)(cw + g * GNR));
            __m256i w1 = _mm256_loadu_si256((const __m256i *)(cw + g * GNR + 8));
            __m256i lo0, hi0, lo1, hi1;
            if (b8) { /* bytes k0..k3 of a column: int16 pairs (k0, k2) and (k1, k3) */
                lo0 = _mm256_srai_epi16(_mm256_slli_epi16(w0, 8), 8);
                hi0 = _mm256_srai_epi16(w0, 8);
                lo1 = _mm256_srai_epi16(_mm256_slli_epi16(w1, 8), 8);
                hi1 = _mm256_srai_epi16(w1, 8);
            } else {
                lo0 = _mm256_shuffle_epi8(table, _mm256_and_si256(w0, nib));
                hi0 = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(w0, 4), nib));
                lo1 = _mm256_shuffle_epi8(table, _mm256_and_si256(w1, nib));
                hi1 = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(w1, 4), nib));
            }
            for (int m = 0; m < mr; m++) {
                const uint32_t *aw = (const uint32_t *)apack + m * ag->row_words + (b * ag->groups + g) * 2;
                __m256i ae = _mm256_set1_epi32((int)aw[0]), ao = _mm256_set1_epi32((int)aw[1]);
                if (b8) {
                    s[m][0] = _mm256_add_epi32(s[m][0], _mm256_add_epi32(_mm256_madd_epi16(lo0, ae),
                                                                         _mm256_madd_epi16(hi0, ao)));
                    s[m][1] = _mm256_add_epi32(s[m][1], _mm256_add_epi32(_mm256_madd_epi16(lo1, ae),
                                                                         _mm256_madd_epi16(hi1, ao)));
                    continue;
                }
                __m256i p0 = _mm256_add_epi16(_mm256_maddubs_epi16(lo0, ae), _mm256_maddubs_epi16(hi0, ao));
                __m256i p1 = _mm256_add_epi16(_mm256_maddubs_epi16(lo1, ae), _mm256_maddubs_epi16(hi1, ao));
                s[m][0] = _mm256_add_epi32(s[m][0], _mm256_madd_epi16(p0, ones));
                s[m][1] = _mm256_add_epi32(s[m][1], _mm256_madd_epi16(p1, ones));
            }
        }
        /* the columns' offsets: off0, plus the zero point when there is one */
        __m256i off[2];
        for (int v = 0; v < 2; v++) {
            off[v] = _mm256_set1_epi32(off0);
            if (zp) {
                __m256 z = _mm256_loadu_ps((const float *)(panel + pg->zp_off) + b * GNR + v * 8);
                off[v] = _mm256_add_epi32(off[v], _mm256_cvttps_epi32(z));
            }
        }
        __m256 sb0 = _mm256_loadu_ps((const float *)(panel + pg->scale_off) + b * GNR);
        __m256 sb1 = _mm256_loadu_ps((const float *)(panel + pg->scale_off) + b * GNR + 8);
        for (int m = 0; m < mr; m++) {
            __m256i sa_sum = _mm256_set1_epi32(sums[m * ag->nblk + b]);
            __m256 sa = _mm256_set1_ps(ascale[m * ag->nblk + b]);
            __m256i d0 = _mm256_sub_epi32(s[m][0], _mm256_mullo_epi32(off[0], sa_sum));
            __m256i d1 = _mm256_sub_epi32(s[m][1], _mm256_mullo_epi32(off[1], sa_sum));
            /* (float)D * 2^(ua+ub), then fma with the scale product, as the reference */
            c[m][0] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(d0), unit), _mm256_mul_ps(sa, sb0), c[m][0]);
            c[m][1] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(d1), unit), _mm256_mul_ps(sa, sb1), c[m][1]);
        }
    }
    for (int m = 0; m < mr; m++) {
        _mm256_storeu_ps(&acc[m][0], c[m][0]);
        _mm256_storeu_ps(&acc[m][8], c[m][1]);
    }
}

#define BYTE_INSTANCE(MR)                                                                                    \
    static void byte_panel_##MR(const lb_gemm_job *j, const byte_geom *ag, const panel_geom *pg,             \
                                const uint8_t *panel, const uint8_t *apack, __m256i table, int32_t off,     \
                                float acc[BYTE_MAX_M][GNR])                                                  \
    {                                                                                                        \
        if (ag->b8)                                                                                          \
            byte_panel(j, ag, pg, panel, apack, table, off, acc, MR, 1);                                     \
        else                                                                                                 \
            byte_panel(j, ag, pg, panel, apack, table, off, acc, MR, 0);                                     \
    }
BYTE_INSTANCE(1)
BYTE_INSTANCE(2)
BYTE_INSTANCE(4)
BYTE_INSTANCE(8)

static void byte_gemm(const lb_gemm_job *j, size_t m0, size_t m1, size_t n0, size_t n1)
{
    const byte_geom ag = byte_geom_of(j);
    const panel_geom pg = panel_of(j);
    uint8_t tb[16];
    int32_t off;
    byte_table(j, tb, &off);
    const __m128i t128 = _mm_loadu_si128((const __m128i *)tb);
    const __m256i table = _mm256_broadcastsi128_si256(t128);
    float acc[BYTE_MAX_M][GNR];
    size_t rows = m1 - m0; /* m0 is 0: M <= 8 is one task row */
    for (size_t p = n0 / GNR; p * GNR < n1; p++) {
        const uint8_t *panel = (const uint8_t *)j->packed + p * pg.bytes;
        if (rows <= 1)
            byte_panel_1(j, &ag, &pg, panel, j->packed_a, table, off, acc);
        else if (rows <= 2)
            byte_panel_2(j, &ag, &pg, panel, j->packed_a, table, off, acc);
        else if (rows <= 4)
            byte_panel_4(j, &ag, &pg, panel, j->packed_a, table, off, acc);
        else
            byte_panel_8(j, &ag, &pg, panel, j->packed_a, table, off, acc);
        for (size_t m = m0; m < m1; m++)
            for (size_t n = p * GNR; n < (p + 1) * GNR && n < n1; n++)
                lb_gemm_store(j, m, n, acc[m][n - p * GNR]);
    }
}
