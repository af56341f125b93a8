// attention_device_test.cu - lowbit_attention_device (the CUDA backend; the
// HIP one when hipcc compiles it, see device_test.h) against
// lowbit_attention on the host (reference backend), bit for bit.
//
// Each case builds its K and V caches on the host with lowbit_kv_append
// (or fills them with random bytes), copies pages, head scales, block
// table, Q and mask to the device, runs lowbit_attention_device on a stream
// and compares the whole output region byte for byte with the host's: the
// rows, the gaps between q_heads * head_dim and out_stride, and 256 guard
// bytes (0xA5) on each side.
//   - KV formats: every one lowbit-check's attention covers (f32, f16, bf16;
//     FP8 e4m3 / e5m2 / e4m3fnuz per head; FP8 per token and 1x32; INT8 per
//     token with f32 and bf16 + zp scales; INT4 g32 f16 zp; INT4 g64 f32;
//     UINT4 g16 bf16 zp; MXFP8 e4m3 / e5m2; MXFP6 e3m2 / e2m3; MXFP4;
//     MXINT8), the same format for K and V, then mixed K / V pairs;
//   - decode (one query token) and prefill (up to 300 tokens), causal and
//     not, with and without an additive mask (-Inf keys, fully masked rows,
//     and NaN / +Inf entries in the random-bits cases), q_pos inside, at
//     the end of and before the keys;
//   - head_dim 64, 128, 256, 16, 80 (128 where the format's block does not
//     divide it); GQA ratios 1, 3, 4, 8, 24 and 32 (one and several CTAs
//     per kv head);
//   - Q f32 / f16 / bf16 / e4m3 / e5m2 / e4m3fnuz / e5m2fnuz (FP8 with a
//     q_scale); out f32 / f16 / bf16; odd strides and output offsets;
//   - kv_len 0, 1, 63, 64, 65, 100, 129, 130, 200, 300, 1000, 4100; pages of 16 and 64
//     tokens, block tables shuffled over a pool with spare pages, junk in
//     unwritten slots;
//   - data: normal, outlier channels and wide exponents; random bytes poked
//     into visible codes and scales, special scale codes (NaN, +-Inf, 0,
//     negative, subnormal, max; E8M0 0xFF / 0x00 / 0xFE); whole pages of
//     random bytes; random bits in Q.  (Per-head FP8 scales stay positive
//     and finite: the host refuses any other.)
// Then argument checks: host / pinned pointers for q, out, mask, pages,
// block table and head scales (LOWBIT_ERR_WRONG_MEMORY, nothing written),
// non-device backends, zero query tokens, an empty cache, validation shared
// with the host call, managed memory on a non-blocking stream.
//
// Prints one line per format pair and "N passed, M failed"; exits 1 on any
// failure, 77 with "SKIP: no CUDA device" ("no HIP device" under hipcc) when there is none.
// usage: attention_device_test [--quick]   (--quick: no case above ~1000 keys)
#include "device_test.h"  // CUDA or HIP runtime, LBT_BACKEND, CK, SKIP

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "lowbit.h"

static const size_t kGuard = 256;
static const uint8_t kFill = 0xA5;
static const size_t kAuto = SIZE_MAX;  // q_pos: kv_len - q_tokens (0 if that is negative)

static long g_passed, g_failed;
static int g_prints;  // failure details printed for the current format pair

static void tally(bool ok)
{
    if (ok) g_passed++;
    else g_failed++;
}

static size_t tbytes(lowbit_dtype t, size_t n) { return lowbit_dtype_bytes(t, n); }
static const char *tname(lowbit_dtype t) { return lowbit_dtype_name(t); }
static size_t al64(size_t x) { return (x + 63) / 64 * 64; }

// ---- formats -------------------------------------------------------------------

struct KvFmt {
    const char *name;
    lowbit_format f;
};

// lowbit-check's list (tools/lowbit-check/attention.c), same order.
static std::vector<KvFmt> kv_formats()
{
    return {
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
        {"mxfp8 e4m3", lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR)},
        {"mxfp8 e5m2", lowbit_format_mx(LOWBIT_E5M2, LOWBIT_SCALE_RCEIL)},
        {"mxfp6 e3m2", lowbit_format_mx(LOWBIT_E3M2, LOWBIT_SCALE_FLOOR)},
        {"mxfp6 e2m3", lowbit_format_mx(LOWBIT_E2M3, LOWBIT_SCALE_EVEN)},
        {"mxfp4", lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR)},
        {"mxint8", lowbit_format_mx(LOWBIT_INT8, LOWBIT_SCALE_FLOOR)},
    };
}

// Where a token's codes and scales sit in a page (docs/semantics.md,
// "Attention": rows, then scale rows, then zero-point rows, each part on a
// 64-byte boundary); checked against lowbit_kv_page_bytes.
struct KvLayout {
    bool scaled;  // per-token / per-block scales stored in the page
    uint32_t nblk;
    size_t row_bytes, scale_bytes, scale_off, head_bytes, page_bytes;
};

static KvLayout kv_layout(const lowbit_kv_cache &c)
{
    KvLayout L;
    const lowbit_format &f = c.format;
    L.scaled = f.scale_type != LOWBIT_DTYPE_COUNT && !(f.block_rows == 0 && f.block_cols == 0);
    L.nblk = f.block_cols ? c.head_dim / f.block_cols : 1;
    L.row_bytes = tbytes(f.elem, c.head_dim);
    L.scale_bytes = L.scaled ? tbytes(f.scale_type, L.nblk) : 0;
    const size_t zp_bytes = (f.flags & LOWBIT_FMT_ZERO_POINT) ? tbytes(f.elem, L.nblk) : 0;
    L.scale_off = al64(c.page_tokens * L.row_bytes);
    const size_t zp_off = al64(L.scale_off + c.page_tokens * L.scale_bytes);
    L.head_bytes = al64(zp_off + c.page_tokens * zp_bytes);
    if (lowbit_kv_page_bytes(&c, &L.page_bytes) != LOWBIT_OK || L.page_bytes != L.head_bytes * c.kv_heads) {
        std::printf("internal: page layout differs from lowbit_kv_page_bytes (%s)\n", lowbit_last_error());
        std::exit(2);
    }
    return L;
}

// ---- cases -----------------------------------------------------------------------

enum Bits {
    B_CLEAN = 0,  // normal data
    B_WIDE,       // outlier channels and exponents over 2^-20 .. 2^20
    B_POKE,       // B_WIDE, then random bytes and special scale codes in visible tokens, random bits in Q
    B_RANDOM,     // pages of random bytes (no append), random bits in Q
};

struct Shape {
    uint32_t D, hq, hkv;
    size_t q_tokens, kv_len, q_pos;
    uint32_t page;
    bool causal, mask;
    lowbit_dtype qt, ot;
    int bits;
    bool big;  // left out by --quick
};

static const lowbit_dtype F32 = LOWBIT_F32, F16 = LOWBIT_F16, BF16 = LOWBIT_BF16, E4M3 = LOWBIT_E4M3,
                          E5M2 = LOWBIT_E5M2, E4FZ = LOWBIT_E4M3FNUZ, E5FZ = LOWBIT_E5M2FNUZ;

static const Shape kShapes[] = {
    // decode
    {128, 32, 8, 1, 1000, kAuto, 16, false, false, BF16, BF16, B_CLEAN, false},
    {64, 8, 1, 1, 4100, kAuto, 64, false, true, F32, F32, B_WIDE, true},
    {256, 4, 4, 1, 65, kAuto, 16, false, false, E4M3, F16, B_CLEAN, false},
    {16, 8, 2, 1, 1, kAuto, 16, true, false, F16, BF16, B_WIDE, false},
    {80, 6, 2, 1, 63, kAuto, 64, true, true, E5M2, F32, B_CLEAN, false},
    {128, 4, 1, 1, 0, kAuto, 16, false, false, F32, BF16, B_CLEAN, false},
    {128, 16, 2, 1, 64, kAuto, 16, true, true, F32, F16, B_POKE, false},
    {256, 24, 1, 1, 130, kAuto, 16, false, false, BF16, F32, B_CLEAN, false},
    {128, 64, 2, 1, 4100, kAuto, 16, true, false, E5FZ, BF16, B_WIDE, true},
    {64, 4, 4, 1, 200, kAuto, 64, false, false, F16, F16, B_RANDOM, false},
    {80, 4, 1, 1, 1000, kAuto, 64, false, true, E4FZ, F32, B_POKE, false},
    // prefill
    {64, 4, 1, 300, 300, 0, 16, true, true, BF16, BF16, B_CLEAN, false},
    {128, 2, 2, 300, 1000, kAuto, 64, false, true, F16, F32, B_WIDE, true},
    {256, 8, 1, 37, 65, kAuto, 64, true, false, E4FZ, F16, B_CLEAN, false},
    {80, 3, 1, 100, 100, 0, 16, true, false, F32, BF16, B_CLEAN, false},
    {128, 8, 2, 17, 4100, kAuto, 64, true, true, BF16, BF16, B_POKE, true},
    {64, 4, 2, 5, 0, 0, 16, true, true, F32, F32, B_CLEAN, false},
    {128, 4, 1, 70, 63, 0, 16, true, false, F16, F16, B_WIDE, false},
    {16, 8, 8, 9, 64, kAuto, 16, false, true, E4M3, F32, B_POKE, false},
    {128, 32, 8, 33, 1000, kAuto, 16, true, false, BF16, BF16, B_CLEAN, true},
    {256, 16, 2, 65, 65, 0, 64, false, true, F32, BF16, B_RANDOM, false},
    {64, 1, 1, 129, 129, 0, 16, true, true, F16, F32, B_CLEAN, false},
    {64, 8, 2, 40, 65, 10, 16, true, true, E5M2, F16, B_WIDE, false},
    {256, 24, 3, 6, 200, kAuto, 16, true, false, F32, F32, B_POKE, false},
};

// The host side of a case: the caches and every input, on the host.
struct HostCase {
    lowbit_kv_cache k, v;
    std::vector<uint8_t> kp, vp;
    std::vector<float> ks, vs;  // head scales
    std::vector<int32_t> table;
    std::vector<uint8_t> q;
    std::vector<float> mask;
    lowbit_attention_args a;
    size_t out_off, out_bytes;
    std::string ctx;
};

static float sample(std::mt19937_64 &g, int bits, size_t channel)
{
    std::normal_distribution<float> nd(0.0f, 1.0f);
    float x = nd(g);
    if (bits != B_CLEAN) {
        if (channel % 37 == 5)
            x *= 40.0f;  // outlier channels, as real K caches have
        x = std::ldexp(x, (int)(g() % 41) - 20);
    }
    return x;
}

static void cache_init(lowbit_kv_cache &c, std::vector<uint8_t> &pages, std::vector<float> &hs, const lowbit_format &f,
                       uint32_t D, uint32_t H, uint32_t pt, size_t npages, std::mt19937_64 &g)
{
    std::memset(&c, 0, sizeof c);
    c.format = f;
    c.head_dim = D;
    c.kv_heads = H;
    c.page_tokens = pt;
    hs.resize(H);
    for (uint32_t h = 0; h < H; h++)  // positive and finite (the host refuses others), over a wide range
        hs[h] = std::ldexp(1.0f + (float)(g() % 1000) / 1000.0f, (int)(g() % 9) - 8);
    c.head_scales = hs.data();
    size_t pb = 0;
    if (lowbit_kv_page_bytes(&c, &pb) != LOWBIT_OK) {
        std::printf("internal: kv_page_bytes: %s\n", lowbit_last_error());
        std::exit(2);
    }
    pages.resize(npages * pb + 1);
    // Junk everywhere: unwritten slots and spare pages must not matter.
    for (auto &b : pages)
        b = (uint8_t)g();
    c.pages = pages.data();
    c.page_count = npages;
    c.pages_bytes = npages * pb;
}

// Random bytes and special scale codes over visible tokens.
static void cache_poke(lowbit_kv_cache &c, const std::vector<int32_t> &table, size_t kv_len, std::mt19937_64 &g)
{
    if (!kv_len)
        return;
    const KvLayout L = kv_layout(c);
    uint8_t *pages = (uint8_t *)c.pages;
    for (int i = 0; i < 24; i++) {  // any byte of the page of a visible position
        size_t pos = g() % kv_len;
        pages[(size_t)table[pos / c.page_tokens] * L.page_bytes + g() % L.page_bytes] = (uint8_t)g();
    }
    if (!L.scaled)
        return;
    static const uint32_t f32s[] = {0x7FC00000u, 0x7F800000u, 0xFF800000u, 0u, 0x80000000u, 1u, 0xC0000000u, 0x7F7FFFFFu};
    static const uint32_t f16s[] = {0x7E00u, 0x7C00u, 0xFC00u, 0u, 0x8000u, 1u, 0xC000u, 0x7BFFu};
    static const uint32_t bf16s[] = {0x7FC0u, 0x7F80u, 0xFF80u, 0u, 0x8000u, 1u, 0xC000u, 0x7F7Fu};
    static const uint32_t e8m0s[] = {0xFFu, 0x00u, 0xFEu, 0x7Fu, 0x01u, 0xFFu, 0x90u, 0x60u};
    const lowbit_dtype st = c.format.scale_type;
    const unsigned w = lowbit_dtype_bits(st) / 8;
    for (int i = 0; i < 8; i++) {
        size_t pos = g() % kv_len;
        uint32_t head = (uint32_t)(g() % c.kv_heads), b = (uint32_t)(g() % L.nblk);
        uint32_t code = st == LOWBIT_F32 ? f32s[i] : st == LOWBIT_F16 ? f16s[i] : st == LOWBIT_BF16 ? bf16s[i] : e8m0s[i];
        uint8_t *p = pages + (size_t)table[pos / c.page_tokens] * L.page_bytes + head * L.head_bytes + L.scale_off +
                     (pos % c.page_tokens) * L.scale_bytes + (size_t)b * w;
        std::memcpy(p, &code, w);  // little endian
    }
}

static void make_case(HostCase &hc, const KvFmt &kf, const KvFmt &vf, Shape sh, size_t idx, std::mt19937_64 &g)
{
    const uint32_t bk = kf.f.block_cols, bv = vf.f.block_cols;
    if ((bk && sh.D % bk) || (bv && sh.D % bv))
        sh.D = 128;
    const uint32_t D = sh.D, hq = sh.hq, hkv = sh.hkv, pt = sh.page;
    const size_t nq = sh.q_tokens, kv_len = sh.kv_len;
    const size_t npages = (kv_len + pt - 1) / pt + 3;
    cache_init(hc.k, hc.kp, hc.ks, kf.f, D, hkv, pt, npages, g);
    cache_init(hc.v, hc.vp, hc.vs, vf.f, D, hkv, pt, npages, g);
    hc.table.resize(npages);
    for (size_t i = 0; i < npages; i++)
        hc.table[i] = (int32_t)i;
    std::shuffle(hc.table.begin(), hc.table.end(), g);

    if (kv_len && sh.bits != B_RANDOM) {
        std::vector<float> x(kv_len * hkv * D);
        for (int which = 0; which < 2; which++) {
            for (size_t i = 0; i < x.size(); i++)
                x[i] = sample(g, sh.bits, i % D) * (which ? 1.0f : 0.3f);
            lowbit_kv_cache &c = which ? hc.v : hc.k;
            const size_t first = kv_len / 3;  // two appends, the second starting mid-page
            if (lowbit_kv_append(&c, hc.table.data(), npages, 0, first, LOWBIT_F32, x.data(), hkv * D) != LOWBIT_OK ||
                lowbit_kv_append(&c, hc.table.data(), npages, first, kv_len - first, LOWBIT_F32,
                                 x.data() + first * hkv * D, hkv * D) != LOWBIT_OK) {
                std::printf("internal: kv_append (%s / %s): %s\n", kf.name, vf.name, lowbit_last_error());
                std::exit(2);
            }
        }
        if (sh.bits == B_POKE) {
            cache_poke(hc.k, hc.table, kv_len, g);
            cache_poke(hc.v, hc.table, kv_len, g);
        }
    }

    const lowbit_dtype qt = sh.qt;
    const size_t q_stride = (size_t)hq * D + (idx % 2) * 16;
    std::vector<float> qf(nq * q_stride);
    for (size_t i = 0; i < qf.size(); i++)
        qf[i] = sample(g, sh.bits == B_RANDOM ? B_CLEAN : sh.bits, i % D);
    hc.q.assign(tbytes(qt, qf.size()) + 1, 0);
    const lowbit_convert_opts sat = {LOWBIT_ROUND_NEAREST_EVEN, 1, 0, 0};
    if (lowbit_convert(qt, hc.q.data(), LOWBIT_F32, qf.data(), qf.size(), &sat) != LOWBIT_OK) {
        std::printf("internal: convert Q: %s\n", lowbit_last_error());
        std::exit(2);
    }
    if (sh.bits >= B_POKE) {  // random bits: NaN, Inf, subnormals
        const size_t eb = lowbit_dtype_bits(qt) / 8;
        for (size_t i = 0; i < qf.size(); i++)
            if (g() % 300 == 0)
                for (size_t b = 0; b < eb; b++)
                    hc.q[i * eb + b] = (uint8_t)g();
    }

    const size_t mask_stride = kv_len + (idx % 2) * 3;
    if (sh.mask && kv_len) {
        hc.mask.resize(nq * mask_stride);
        std::normal_distribution<float> nd(0.0f, 2.0f);
        for (size_t i = 0; i < hc.mask.size(); i++) {
            uint64_t u = g() % 64;
            hc.mask[i] = u < 8 ? -INFINITY : u < 16 ? 0.0f : nd(g);
            if (sh.bits >= B_POKE && u == 63)
                hc.mask[i] = (g() & 1) ? NAN : INFINITY;
        }
        if (nq > 2)  // a row that sees no key: zeros
            std::fill(hc.mask.begin() + (nq / 2) * mask_stride, hc.mask.begin() + (nq / 2) * mask_stride + kv_len,
                      -INFINITY);
    }

    lowbit_attention_args &a = hc.a;
    std::memset(&a, 0, sizeof a);
    a.q_heads = hq;
    a.q_tokens = nq;
    a.q_type = qt;
    a.q = hc.q.data();
    a.q_stride = q_stride;
    a.q_scale = lowbit_dtype_bits(qt) == 8 ? 0.0625f * (float)(1 + idx % 5) : 1.0f;
    a.k = &hc.k;
    a.v = &hc.v;
    a.block_table = hc.table.data();
    a.block_table_len = npages;
    a.kv_len = kv_len;
    a.q_pos = sh.q_pos == kAuto ? (kv_len >= nq ? kv_len - nq : 0) : sh.q_pos;
    a.scale = 1.0f / std::sqrt((float)D);
    a.mask = hc.mask.empty() ? nullptr : hc.mask.data();
    a.mask_stride = mask_stride;
    a.out_type = sh.ot;
    a.out_stride = (size_t)hq * D + (idx % 3) * 8;
    a.flags = sh.causal ? LOWBIT_ATTN_CAUSAL : 0;
    hc.out_bytes = tbytes(sh.ot, (nq - 1) * a.out_stride + (size_t)hq * D);
    hc.out_off = (idx % 3) * (lowbit_dtype_bits(sh.ot) / 8);  // 2- and 4-byte aligned starts too
    char b[256];
    std::snprintf(b, sizeof b,
                  "k=%s v=%s D=%u heads=%u/%u q=%zu(%s) q_pos=%zu kv_len=%zu page=%u %s%s out=%s data=%s", kf.name,
                  vf.name, D, hq, hkv, nq, tname(qt), a.q_pos, kv_len, pt, sh.causal ? "causal" : "full",
                  a.mask ? " mask" : "", tname(sh.ot),
                  sh.bits == B_CLEAN ? "clean" : sh.bits == B_WIDE ? "wide" : sh.bits == B_POKE ? "poked" : "random");
    hc.ctx = b;
}

// ---- device copies ---------------------------------------------------------------

template <class T>
static T *to_device(const std::vector<T> &v)
{
    if (v.empty())
        return nullptr;
    T *d = nullptr;
    CK(cudaMalloc(&d, v.size() * sizeof(T)));
    CK(cudaMemcpy(d, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
    return d;
}

struct DevCase {
    lowbit_kv_cache k, v;
    uint8_t *kp = nullptr, *vp = nullptr, *q = nullptr, *out = nullptr;  // out: the whole guarded region
    float *ks = nullptr, *vs = nullptr, *mask = nullptr;
    int32_t *table = nullptr;
    lowbit_attention_args a;

    void upload(const HostCase &hc, size_t region)
    {
        kp = to_device(hc.kp);
        vp = to_device(hc.vp);
        ks = to_device(hc.ks);
        vs = to_device(hc.vs);
        q = to_device(hc.q);
        mask = to_device(hc.mask);
        table = to_device(hc.table);
        CK(cudaMalloc(&out, region));
        k = hc.k;
        v = hc.v;
        k.pages = kp;
        v.pages = vp;
        k.head_scales = ks;
        v.head_scales = vs;
        a = hc.a;
        a.k = &k;
        a.v = &v;
        a.q = q;
        a.mask = hc.a.mask ? mask : nullptr;
        a.block_table = table;
        a.out = out + kGuard + hc.out_off;
    }
    void release()
    {
        for (void *p : {(void *)kp, (void *)vp, (void *)q, (void *)out, (void *)ks, (void *)vs, (void *)mask,
                        (void *)table})
            if (p) CK(cudaFree(p));
    }
};

// ---- one case ----------------------------------------------------------------------

static std::string where(const HostCase &hc, long long k)
{
    const lowbit_attention_args &a = hc.a;
    if (k < 0 || (size_t)k >= hc.out_bytes)
        return " [GUARD: outside the output]";
    const size_t eb = lowbit_dtype_bits(a.out_type) / 8, e = (size_t)k / eb;
    const size_t t = e / a.out_stride, in = e % a.out_stride, row = (size_t)a.q_heads * a.k->head_dim;
    char b[96];
    if (in >= row)
        std::snprintf(b, sizeof b, " [token %zu, gap between rows]", t);
    else
        std::snprintf(b, sizeof b, " [token %zu head %zu d %zu]", t, in / a.k->head_dim, in % a.k->head_dim);
    return b;
}

static void run_case(const KvFmt &kf, const KvFmt &vf, const Shape &sh, size_t idx, uint64_t seed, cudaStream_t s)
{
    std::mt19937_64 g(seed);
    HostCase hc;
    make_case(hc, kf, vf, sh, idx, g);
    const size_t region = kGuard + hc.out_off + hc.out_bytes + kGuard;

    std::vector<uint8_t> want(region, kFill), got(region);
    lowbit_attention_args ha = hc.a;
    ha.out = want.data() + kGuard + hc.out_off;
    lowbit_status hs = lowbit_attention(&ha);

    DevCase dc;
    dc.upload(hc, region);
    CK(cudaMemsetAsync(dc.out, kFill, region, s));
    lowbit_status ds = lowbit_attention_device(LBT_BACKEND, &dc.a, s);
    std::string derr = lowbit_last_error();
    CK(cudaMemcpyAsync(got.data(), dc.out, region, cudaMemcpyDeviceToHost, s));
    CK(cudaStreamSynchronize(s));
    dc.release();

    bool ok = hs == LOWBIT_OK && ds == LOWBIT_OK;
    if (!ok) {
        if (g_prints++ < 5)
            std::printf("  FAIL %s seed=%#" PRIx64 ": status host %s device %s (%s)\n", hc.ctx.c_str(), seed,
                        lowbit_status_string(hs), lowbit_status_string(ds), derr.c_str());
    } else {
        for (size_t i = 0; i < region; i++) {
            if (got[i] != want[i]) {
                ok = false;
                if (g_prints++ < 5) {
                    long long k = (long long)i - (long long)(kGuard + hc.out_off);
                    std::printf("  FAIL %s seed=%#" PRIx64 ": out differs at byte %lld of %zu%s (got %#04x want %#04x)\n",
                                hc.ctx.c_str(), seed, k, hc.out_bytes, where(hc, k).c_str(), got[i], want[i]);
                }
                break;
            }
        }
    }
    tally(ok);
}

// ---- argument checks ------------------------------------------------------------------

static void expect(bool cond, const char *what)
{
    tally(cond);
    if (!cond)
        std::printf("  FAIL %s (last error: %s)\n", what, lowbit_last_error());
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v, bool device)
{
    std::vector<uint8_t> h(n);
    if (device) {
        CK(cudaDeviceSynchronize());
        CK(cudaMemcpy(h.data(), p, n, cudaMemcpyDeviceToHost));
    } else {
        std::memcpy(h.data(), p, n);
    }
    for (size_t i = 0; i < n; i++)
        if (h[i] != v) return false;
    return true;
}

static void api_checks()
{
    long p0 = g_passed, f0 = g_failed;
    std::mt19937_64 g(4242);
    const KvFmt kf = {"e4m3/head", lowbit_format_fp8_tensor(LOWBIT_E4M3)};
    const KvFmt vf = {"mxfp4", lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR)};
    const Shape sh = {64, 8, 2, 3, 70, kAuto, 16, true, true, BF16, F32, B_CLEAN, false};
    HostCase hc;
    make_case(hc, kf, vf, sh, 0, g);
    const size_t region = kGuard + hc.out_off + hc.out_bytes + kGuard;
    DevCase dc;
    dc.upload(hc, region);
    auto reset = [&]() { CK(cudaMemset(dc.out, kFill, region)); };
    auto untouched = [&]() { return all_bytes(dc.out, region, kFill, true); };
    reset();

    expect(lowbit_backend_status(LBT_BACKEND) == LOWBIT_OK, "lowbit_backend_status(device backend) is OK");
    {
        lowbit_status s = lowbit_attention_device(LBT_BACKEND, &dc.a, nullptr);
        CK(cudaDeviceSynchronize());
        std::vector<uint8_t> want(region, kFill), got(region);
        lowbit_attention_args ha = hc.a;
        ha.out = want.data() + kGuard + hc.out_off;
        lowbit_status hs = lowbit_attention(&ha);
        CK(cudaMemcpy(got.data(), dc.out, region, cudaMemcpyDeviceToHost));
        expect(s == LOWBIT_OK && hs == LOWBIT_OK && got == want, "default stream: the fixture matches the host");
        reset();
    }

    // Host memory in each role the device reads or writes: refused, nothing written.
    std::vector<uint8_t> host(region, 0x5A);
    std::vector<float> host_f(4096, 0.5f);
    std::vector<int32_t> host_table(hc.table);
    struct Role {
        const char *what, *arg;
        void (*put)(lowbit_attention_args &, lowbit_kv_cache &, lowbit_kv_cache &, void *);
        void *ptr;
    };
    const Role roles[] = {
        {"host q", "args->q", [](lowbit_attention_args &a, lowbit_kv_cache &, lowbit_kv_cache &, void *p) { a.q = p; },
         hc.q.data()},
        {"host mask", "args->mask",
         [](lowbit_attention_args &a, lowbit_kv_cache &, lowbit_kv_cache &, void *p) { a.mask = (const float *)p; },
         hc.mask.data()},
        {"host k->pages", "args->k->pages",
         [](lowbit_attention_args &, lowbit_kv_cache &k, lowbit_kv_cache &, void *p) { k.pages = p; }, hc.kp.data()},
        {"host v->pages", "args->v->pages",
         [](lowbit_attention_args &, lowbit_kv_cache &, lowbit_kv_cache &v, void *p) { v.pages = p; }, hc.vp.data()},
        {"host block_table", "args->block_table",
         [](lowbit_attention_args &a, lowbit_kv_cache &, lowbit_kv_cache &, void *p) {
             a.block_table = (const int32_t *)p;
         },
         host_table.data()},
        {"host k->head_scales", "args->k->head_scales",
         [](lowbit_attention_args &, lowbit_kv_cache &k, lowbit_kv_cache &, void *p) {
             k.head_scales = (const float *)p;
         },
         host_f.data()},
    };
    for (const Role &r : roles) {
        lowbit_kv_cache k = dc.k, v = dc.v;
        lowbit_attention_args a = dc.a;
        a.k = &k;
        a.v = &v;
        r.put(a, k, v, r.ptr);
        lowbit_status s = lowbit_attention_device(LBT_BACKEND, &a, nullptr);
        std::string w = std::string(r.what) + " -> LOWBIT_ERR_WRONG_MEMORY naming " + r.arg + ", nothing written";
        expect(s == LOWBIT_ERR_WRONG_MEMORY && std::strstr(lowbit_last_error(), r.arg) && untouched(), w.c_str());
    }
    {
        lowbit_attention_args a = dc.a;
        a.out = host.data() + kGuard;
        lowbit_status s = lowbit_attention_device(LBT_BACKEND, &a, nullptr);
        expect(s == LOWBIT_ERR_WRONG_MEMORY && std::strstr(lowbit_last_error(), "args->out") &&
                   all_bytes(host.data(), region, 0x5A, false),
               "host out -> LOWBIT_ERR_WRONG_MEMORY, nothing written");
        uint8_t *pinned;
        CK(cudaMallocHost(&pinned, region));
        std::memset(pinned, 0x5A, region);
        a.out = pinned + kGuard;
        s = lowbit_attention_device(LBT_BACKEND, &a, nullptr);
        CK(cudaDeviceSynchronize());
        expect(s == LOWBIT_ERR_WRONG_MEMORY && all_bytes(pinned, region, 0x5A, false),
               "pinned host out -> LOWBIT_ERR_WRONG_MEMORY, nothing written");
        uint8_t *pinned_q;
        CK(cudaMallocHost(&pinned_q, hc.q.size()));
        std::memcpy(pinned_q, hc.q.data(), hc.q.size());
        a = dc.a;
        a.q = pinned_q;
        s = lowbit_attention_device(LBT_BACKEND, &a, nullptr);
        expect(s == LOWBIT_ERR_WRONG_MEMORY && untouched(), "pinned host q -> LOWBIT_ERR_WRONG_MEMORY");
        CK(cudaFreeHost(pinned_q));
        CK(cudaFreeHost(pinned));
        float on_stack[64];
        for (float &x : on_stack)
            x = 0.25f;
        lowbit_kv_cache k = dc.k;
        k.head_scales = on_stack;
        a = dc.a;
        a.k = &k;
        s = lowbit_attention_device(LBT_BACKEND, &a, nullptr);
        expect(s == LOWBIT_ERR_WRONG_MEMORY && std::strstr(lowbit_last_error(), "args->k->head_scales") && untouched(),
               "stack k->head_scales -> LOWBIT_ERR_WRONG_MEMORY");
    }

    // Backends that are not the device backend under test.
    for (lowbit_backend hb : {LOWBIT_BACKEND_REF, LOWBIT_BACKEND_AUTO, LOWBIT_BACKEND_AVX2, LOWBIT_BACKEND_AVX512,
                              LOWBIT_BACKEND_NEON}) {
        std::string w = std::string("backend ") + lowbit_backend_name(hb) + " -> LOWBIT_ERR_UNSUPPORTED, nothing written";
        expect(lowbit_attention_device(hb, &dc.a, nullptr) == LOWBIT_ERR_UNSUPPORTED && untouched(), w.c_str());
    }
    expect(lowbit_attention_device((lowbit_backend)99, &dc.a, nullptr) == LOWBIT_ERR_INVALID_ENUM && untouched(),
           "backend 99 -> LOWBIT_ERR_INVALID_ENUM");
    expect(lowbit_attention_device(LBT_OTHER_BACKEND, &dc.a, nullptr) != LOWBIT_OK && untouched(),
           "the other device backend fails, nothing written");

    // Zero query tokens: a no-op, whatever the pointers.
    {
        lowbit_attention_args a = dc.a;
        a.q_tokens = 0;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_OK && untouched(),
               "q_tokens = 0 -> LOWBIT_OK, nothing written");
        a.q = nullptr;
        a.out = nullptr;
        a.mask = nullptr;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_OK,
               "q_tokens = 0, q and out NULL -> LOWBIT_OK");
        a = dc.a;
        a.q_tokens = 0;
        a.out = host.data() + kGuard;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_OK &&
                   all_bytes(host.data(), region, 0x5A, false),
               "q_tokens = 0, host out -> LOWBIT_OK, nothing written");
        expect(lowbit_attention_device(LBT_BACKEND, nullptr, nullptr) == LOWBIT_ERR_NULL_POINTER,
               "args NULL -> LOWBIT_ERR_NULL_POINTER");
    }

    // An empty cache (no pages at all): zeros, as on the host.
    {
        lowbit_kv_cache k = dc.k, v = dc.v;
        k.pages = v.pages = nullptr;
        k.page_count = v.page_count = 0;
        k.pages_bytes = v.pages_bytes = 0;
        lowbit_attention_args a = dc.a;
        a.k = &k;
        a.v = &v;
        a.kv_len = 0;
        a.block_table = nullptr;
        a.block_table_len = 0;
        lowbit_status s = lowbit_attention_device(LBT_BACKEND, &a, nullptr);
        std::vector<uint8_t> got(hc.out_bytes);
        CK(cudaDeviceSynchronize());
        CK(cudaMemcpy(got.data(), (uint8_t *)a.out, hc.out_bytes, cudaMemcpyDeviceToHost));
        bool zeros = true;
        const size_t row = (size_t)a.q_heads * k.head_dim, eb = 4;  // out f32
        for (size_t t = 0; t < a.q_tokens; t++)
            for (size_t e = 0; e < a.out_stride && (t + 1 < a.q_tokens || e < row); e++) {
                const uint8_t *p = got.data() + (t * a.out_stride + e) * eb;
                const uint8_t w = e < row ? 0 : kFill;
                zeros &= p[0] == w && p[1] == w && p[2] == w && p[3] == w;
            }
        expect(s == LOWBIT_OK && zeros, "kv_len = 0, no pages, no block table -> zeros, gaps untouched");
        reset();
    }

    // Validation is the host call's.
    {
        lowbit_attention_args a = dc.a;
        a.q_heads = 7;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_ERR_SHAPE_MISMATCH && untouched(),
               "q_heads not a multiple of kv_heads -> LOWBIT_ERR_SHAPE_MISMATCH");
        a = dc.a;
        a.out_stride = (size_t)a.q_heads * dc.k.head_dim - 1;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_ERR_BAD_STRIDE && untouched(),
               "out_stride below q_heads x head_dim -> LOWBIT_ERR_BAD_STRIDE");
        a = dc.a;
        a.flags = 0x4;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_ERR_INVALID_ENUM && untouched(),
               "unknown flag -> LOWBIT_ERR_INVALID_ENUM");
        a = dc.a;
        a.block_table_len = (a.kv_len - 1) / dc.k.page_tokens;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_ERR_BUFFER_TOO_SMALL && untouched(),
               "block_table_len too short -> LOWBIT_ERR_BUFFER_TOO_SMALL");
        a = dc.a;
        a.out = (void *)a.q;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_ERR_ALIASING,
               "out overlapping q -> LOWBIT_ERR_ALIASING");
        a = dc.a;
        a.out_type = LOWBIT_E4M3;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_ERR_UNSUPPORTED && untouched(),
               "out_type e4m3 -> LOWBIT_ERR_UNSUPPORTED");
        lowbit_kv_cache k = dc.k;
        k.pages_bytes -= 1;
        a = dc.a;
        a.k = &k;
        expect(lowbit_attention_device(LBT_BACKEND, &a, nullptr) == LOWBIT_ERR_BUFFER_TOO_SMALL && untouched(),
               "k->pages_bytes too small -> LOWBIT_ERR_BUFFER_TOO_SMALL");
    }
    dc.release();

    // Managed memory for every buffer, a non-blocking stream.
    {
        HostCase mc;
        std::mt19937_64 gm(77);
        const Shape ms = {128, 8, 2, 20, 150, kAuto, 16, true, true, F16, BF16, B_WIDE, false};
        const KvFmt mk = {"int8/token bf16 zp", lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_BF16, 1)};
        make_case(mc, mk, kf, ms, 1, gm);
        auto managed = [](const void *src, size_t n) {
            void *p = nullptr;
            CK(cudaMallocManaged(&p, n ? n : 1));
            if (n) std::memcpy(p, src, n);
            return p;
        };
        lowbit_kv_cache k = mc.k, v = mc.v;
        k.pages = managed(mc.kp.data(), mc.kp.size());
        v.pages = managed(mc.vp.data(), mc.vp.size());
        k.head_scales = (const float *)managed(mc.ks.data(), mc.ks.size() * 4);
        v.head_scales = (const float *)managed(mc.vs.data(), mc.vs.size() * 4);
        lowbit_attention_args a = mc.a;
        a.k = &k;
        a.v = &v;
        a.q = managed(mc.q.data(), mc.q.size());
        a.mask = (const float *)managed(mc.mask.data(), mc.mask.size() * 4);
        a.block_table = (const int32_t *)managed(mc.table.data(), mc.table.size() * 4);
        uint8_t *mo = nullptr;
        CK(cudaMallocManaged(&mo, mc.out_bytes));
        std::memset(mo, kFill, mc.out_bytes);
        a.out = mo;
        std::vector<uint8_t> want(mc.out_bytes, kFill);
        lowbit_attention_args ha = mc.a;
        ha.out = want.data();
        cudaStream_t st;
        CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
        lowbit_status s = lowbit_attention_device(LBT_BACKEND, &a, st);
        CK(cudaStreamSynchronize(st));
        lowbit_status hs = lowbit_attention(&ha);
        expect(s == LOWBIT_OK && hs == LOWBIT_OK && !std::memcmp(want.data(), mo, mc.out_bytes),
               "managed memory, non-blocking stream: matches the host");
        CK(cudaStreamDestroy(st));
        for (const void *p : {(const void *)k.pages, (const void *)v.pages, (const void *)k.head_scales,
                              (const void *)v.head_scales, a.q, (const void *)a.mask, (const void *)a.block_table,
                              (const void *)mo})
            CK(cudaFree((void *)p));
    }
    std::printf("api checks: %ld passed, %ld failed\n", g_passed - p0, g_failed - f0);
}

// ---- main ----------------------------------------------------------------------------

int main(int argc, char **argv)
{
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    if (!lbt_have_device())
        return 77;
    if (lowbit_set_backend(LOWBIT_BACKEND_REF) != LOWBIT_OK) {
        std::printf("FAIL: cannot select the reference host backend: %s\n", lowbit_last_error());
        return 1;
    }

    api_checks();

    const std::vector<KvFmt> fmts = kv_formats();
    // Same format for K and V, then mixed pairs (lowbit-check's three, and more).
    std::vector<std::pair<size_t, size_t>> pairs;
    for (size_t i = 0; i < fmts.size(); i++)
        pairs.push_back({i, i});
    const size_t n = fmts.size();
    for (size_t m = 0; m < 3; m++)
        pairs.push_back({m * 5 + 3, n - 1 - m * 4});
    pairs.push_back({1, 10});   // bf16 K, int4 zp V
    pairs.push_back({17, 3});   // mxfp4 K, e4m3 per-head V
    pairs.push_back({12, 15});  // uint4 g16 K, mxfp6 V (blocks of 16 and 32)
    pairs.push_back({6, 0});    // e4m3 per token K, f32 V

    cudaStream_t stream;
    CK(cudaStreamCreate(&stream));
    int bad_pairs = 0;
    size_t idx = 0;
    for (const auto &pr : pairs) {
        const KvFmt &kf = fmts[pr.first], &vf = fmts[pr.second];
        long p0 = g_passed, f0 = g_failed;
        g_prints = 0;
        for (const Shape &sh : kShapes) {
            idx++;
            if (quick && sh.big)
                continue;
            run_case(kf, vf, sh, idx, 0xA77E000ull + idx * 7919, stream);
        }
        const long pf = g_failed - f0;
        if (pf) bad_pairs++;
        std::string name = std::string("k=") + kf.name + " v=" + vf.name;
        std::printf("%-40s %4ld cases %s\n", name.c_str(), g_passed - p0 + pf,
                    pf ? (std::to_string(pf) + " FAILED").c_str() : "ok");
        std::fflush(stdout);
    }
    std::printf("%d of %zu format pairs had failures\n", bad_pairs, pairs.size());
    std::printf("%ld passed, %ld failed\n", g_passed, g_failed);
    CK(cudaStreamDestroy(stream));
    return g_failed ? 1 : 0;
}
