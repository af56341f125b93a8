// attention_cases.h - the attention cases the GPU tests share: KV formats
// (lowbit-check's list), shapes, and a case built on the host (caches filled
// by lowbit_kv_append or random bytes, poked codes and scales, Q, mask,
// strides).  attention_device_test.cu runs each case on the device;
// attention_cuda_host_emul.cu runs the CUDA kernel's steps on the host.
// Both compare with lowbit_attention on the host, bit for bit.
#ifndef LOWBIT_TESTS_GPU_ATTENTION_CASES_H
#define LOWBIT_TESTS_GPU_ATTENTION_CASES_H

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "lowbit.h"
#include "../../tools/lowbit-check/kv_formats.h"

static const size_t kGuard = 256;
static const uint8_t kFill = 0xA5;
static const size_t kAuto = SIZE_MAX;  // q_pos: kv_len - q_tokens (0 if that is negative)

static size_t tbytes(lowbit_dtype t, size_t n) { return lowbit_dtype_bytes(t, n); }
static const char *tname(lowbit_dtype t) { return lowbit_dtype_name(t); }
static size_t al64(size_t x) { return (x + 63) / 64 * 64; }

// ---- formats -------------------------------------------------------------------

using KvFmt = kv_fmt;

// lowbit-check's list (tools/lowbit-check/kv_formats.h).
static std::vector<KvFmt> kv_formats()
{
    kv_fmt list[KV_FORMATS_MAX];
    const size_t n = kv_formats_fill(list);
    return std::vector<KvFmt>(list, list + n);
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
    if ((bk && sh.D % bk) || (bv && sh.D % bv)) {
        // The least multiple of both blocks from 128 on (g48: 144, g48 x g64: 192).
        const uint32_t a = bk ? bk : 16, b = bv ? bv : 16;
        uint32_t l = a;
        while (l % b)
            l += a;
        sh.D = (128 + l - 1) / l * l;
    }
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

// Where byte k of the output region (from the output's start) lies.

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

// The format pairs: each format for K and V alike, then mixed pairs
// (lowbit-check's three, and more).
static std::vector<std::pair<size_t, size_t>> kv_pairs(const std::vector<KvFmt> &fmts)
{
    std::vector<std::pair<size_t, size_t>> pairs;
    for (size_t i = 0; i < fmts.size(); i++)
        pairs.push_back({i, i});
    pairs.push_back({3, 19});   // e4m3 per-head K, mxint8 V
    pairs.push_back({8, 15});   // int8 per token K, mxfp8 e5m2 V
    pairs.push_back({14, 10});  // mxfp8 e4m3 K, int4 zp V
    pairs.push_back({1, 10});   // bf16 K, int4 zp V
    pairs.push_back({18, 3});   // mxfp4 K, e4m3 per-head V
    pairs.push_back({12, 16});  // uint4 g16 K, mxfp6 V (blocks of 16 and 32)
    pairs.push_back({6, 0});    // e4m3 per token K, f32 V
    pairs.push_back({20, 12});  // nvfp4 K, uint4 g16 V
    pairs.push_back({18, 20});  // mxfp4 K, nvfp4 V
    pairs.push_back({21, 4});   // nv e4m3 g32 K, e5m2 per-head V
    pairs.push_back({13, 11});  // int4 g48 K (blocks across PV chunks), int4 g64 V
    return pairs;
}

// A case's verdict: both calls succeeded and the whole guarded output region
// of the implementation under test (got) equals the host's (want).  The first
// `prints` failures of a format pair print what differed.
static bool same_output(const HostCase &hc, uint64_t seed, const char *who, lowbit_status hs, lowbit_status ts,
                        const std::string &terr, const std::vector<uint8_t> &want, const std::vector<uint8_t> &got,
                        int &prints)
{
    if (hs != LOWBIT_OK || ts != LOWBIT_OK) {
        if (prints++ < 5)
            std::printf("  FAIL %s seed=%#" PRIx64 ": status host %s, %s %s (%s)\n", hc.ctx.c_str(), seed,
                        lowbit_status_string(hs), who, lowbit_status_string(ts), terr.c_str());
        return false;
    }
    for (size_t i = 0; i < want.size(); i++)
        if (got[i] != want[i]) {
            if (prints++ < 5) {
                long long k = (long long)i - (long long)(kGuard + hc.out_off);
                std::printf("  FAIL %s seed=%#" PRIx64 ": out differs at byte %lld of %zu%s (got %#04x want %#04x)\n",
                            hc.ctx.c_str(), seed, k, hc.out_bytes, where(hc, k).c_str(), got[i], want[i]);
            }
            return false;
        }
    return true;
}

// Every format pair x every shape (quick: the big shapes left out), each
// case seeded by its index so every program sees the same cases;
// run(kf, vf, sh, idx, seed, prints) says whether one passed.  Prints a line
// per pair and the count of pairs with failures; adds to passed / failed.
template <class Run>
static void run_all_cases(bool quick, long &passed, long &failed, Run run)
{
    const std::vector<KvFmt> fmts = kv_formats();
    const std::vector<std::pair<size_t, size_t>> pairs = kv_pairs(fmts);
    int bad_pairs = 0;
    size_t idx = 0;
    for (const auto &pr : pairs) {
        const KvFmt &kf = fmts[pr.first], &vf = fmts[pr.second];
        long np = 0, nf = 0;
        int prints = 0;
        for (const Shape &sh : kShapes) {
            idx++;
            if (quick && sh.big)
                continue;
            if (run(kf, vf, sh, idx, 0xA77E000ull + idx * 7919, prints))
                np++;
            else
                nf++;
        }
        if (nf)
            bad_pairs++;
        passed += np;
        failed += nf;
        std::string name = std::string("k=") + kf.name + " v=" + vf.name;
        std::printf("%-40s %4ld cases %s\n", name.c_str(), np + nf, nf ? (std::to_string(nf) + " FAILED").c_str() : "ok");
        std::fflush(stdout);
    }
    std::printf("%d of %zu format pairs had failures\n", bad_pairs, pairs.size());
}

// ---- appends ---------------------------------------------------------------------

// One lowbit_kv_append call: junk pages (head scales, shuffled table) and a
// source of n tokens.  The implementation under test starts from the same
// pages as the host; every byte must come out the same.
struct AppendCase {
    lowbit_kv_cache c;
    std::vector<uint8_t> pages;
    std::vector<float> hs;
    std::vector<int32_t> table;
    std::vector<uint8_t> src;
    size_t pos, n, stride;
    lowbit_dtype st;
    std::string ctx;
};

static void make_append_case(AppendCase &ac, const KvFmt &kf, uint32_t D, uint32_t H, uint32_t pt, size_t pos, size_t n,
                             lowbit_dtype st, int bits, uint64_t seed)
{
    std::mt19937_64 g(seed);
    const size_t npages = (pos + n + pt - 1) / pt + 2;
    cache_init(ac.c, ac.pages, ac.hs, kf.f, D, H, pt, npages, g);
    ac.table.resize(npages);
    for (size_t i = 0; i < npages; i++)
        ac.table[i] = (int32_t)i;
    std::shuffle(ac.table.begin(), ac.table.end(), g);
    ac.pos = pos;
    ac.n = n;
    ac.st = st;
    ac.stride = (size_t)H * D + (seed % 3) * 8;
    std::vector<float> xf(n * ac.stride);
    for (size_t i = 0; i < xf.size(); i++)
        xf[i] = sample(g, bits, i % D);
    if (bits == B_POKE)  // specials and extremes in the source
        for (size_t i = 0; i < xf.size(); i++) {
            static const float sp[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-40f, -3e38f, 65504.0f, 1e30f};
            if (g() % 97 == 0)
                xf[i] = sp[g() % (sizeof sp / sizeof sp[0])];
        }
    ac.src.assign(tbytes(st, xf.size()), 0);
    const lowbit_convert_opts cast = {LOWBIT_ROUND_NEAREST_EVEN, 0, 0, 0};
    if (lowbit_convert(st, ac.src.data(), LOWBIT_F32, xf.data(), xf.size(), &cast) != LOWBIT_OK) {
        std::printf("internal: convert src: %s\n", lowbit_last_error());
        std::exit(2);
    }
    char b[200];
    std::snprintf(b, sizeof b, "append %s D=%u heads=%u page=%u pos=%zu n=%zu src=%s%s seed=%#" PRIx64, kf.name, D, H,
                  pt, pos, n, tname(st), bits == B_POKE ? " specials" : "", seed);
    ac.ctx = b;
}

// The verdict of an append: both calls succeeded and the pages are the same.
static bool same_pages(const AppendCase &ac, const char *who, lowbit_status hs, const std::string &herr,
                       lowbit_status ts, const std::string &terr, const std::vector<uint8_t> &want,
                       const std::vector<uint8_t> &got, int &prints)
{
    if (hs != LOWBIT_OK || ts != LOWBIT_OK) {
        if (prints++ < 5)
            std::printf("  FAIL %s: status host %s (%s), %s %s (%s)\n", ac.ctx.c_str(), lowbit_status_string(hs),
                        herr.c_str(), who, lowbit_status_string(ts), terr.c_str());
        return false;
    }
    size_t pb = 0;
    lowbit_kv_page_bytes(&ac.c, &pb);
    for (size_t i = 0; i < want.size(); i++)
        if (want[i] != got[i]) {
            if (prints++ < 5)
                std::printf("  FAIL %s: pages differ at byte %zu (page %zu, offset %zu): got %#04x want %#04x\n",
                            ac.ctx.c_str(), i, i / pb, i % pb, got[i], want[i]);
            return false;
        }
    return true;
}

// Every format x head_dim 16 / 64 / 80 / 128 / 256 (a block's multiple from
// 128 on where it does not divide) x source f32 / f16 / bf16; data clean,
// wide and with specials; 1 to 70 tokens from mid-page; 1 to 3 heads; pages
// of 5 and 16 tokens.  run(case, prints) says whether one passed; a line per
// format.
template <class Run>
static void run_append_cases(long &passed, long &failed, Run run)
{
    static const uint32_t dims[] = {16, 64, 80, 128, 256};
    static const lowbit_dtype srcs[] = {LOWBIT_F32, LOWBIT_F16, LOWBIT_BF16};
    static const size_t lens[] = {1, 3, 17, 70};
    const std::vector<KvFmt> fmts = kv_formats();
    size_t idx = 0;
    for (const KvFmt &kf : fmts) {
        long np = 0, nf = 0;
        int prints = 0;
        for (uint32_t D0 : dims)
            for (lowbit_dtype st : srcs) {
                idx++;
                uint32_t D = D0;
                const uint32_t b = kf.f.block_cols;
                if (b && D % b)
                    D = (128 + b - 1) / b * b;
                const int bits = idx % 3 == 0 ? B_CLEAN : idx % 3 == 1 ? B_WIDE : B_POKE;
                AppendCase ac;
                make_append_case(ac, kf, D, 1 + (uint32_t)(idx % 3), idx % 2 ? 16 : 5, (idx * 13) % 40, lens[idx % 4],
                                 st, bits, 0xA99E000ull + idx * 104729);
                if (run(ac, prints))
                    np++;
                else
                    nf++;
            }
        passed += np;
        failed += nf;
        std::printf("append %-33s %4ld cases %s\n", kf.name, np + nf, nf ? (std::to_string(nf) + " FAILED").c_str() : "ok");
        std::fflush(stdout);
    }
}

#endif
