// attention_cuda_host_emul.cu - the CUDA attention kernel (kernels/cuda/
// attention.cu, k_attention), run on the host.  Each CTA of the grid is
// executed phase by phase: between two of the kernel's barriers every one
// of its 256 threads runs in turn, calling the same host-device functions
// of attention.cuh the kernel calls; the two warp reductions (the score
// lanes' xor shuffles 8/4/2/1 within a half-warp, the tile maximum's
// 16/8/4/2/1 within a warp) are carried out lane by lane in the same xor
// pattern.  The output, with 256 guard bytes on each side, is compared byte
// for byte with lowbit_attention on the host (reference backend) over the
// cases of attention_cases.h: every KV format lowbit-check covers and the
// mixed pairs, decode and prefill shapes, GQA ratios 1 to 32, causal and
// masked calls, poked codes and scales, random pages.  Needs no GPU (suite
// cuda-host): it is what checks the device attention's arithmetic, tiling
// and visibility on machines without one.  HIP builds the same kernel
// source, so it checks that backend's arithmetic too.
//
// usage: attention_cuda_host_emul [--quick]   (--quick: no case above ~1000 keys)
#include "attention_cases.h"
#include "attention.cuh"
#include "kv_append.cuh"

namespace {

using namespace lba;

struct Thread {
    float o[kItems];
    float l;
};

// One CTA (tile of query tokens, y = kv head x chunk), as k_attention runs it.
void emulate_cta(const lb_attn_job &j, const Cfg &c, size_t tile, uint32_t y, unsigned char *smem,
                 std::vector<Thread> &th)
{
    Smem sm = {};
    smem_layout(j, c, smem, &sm);
    const uint32_t g = y / c.chunks;
    const uint32_t D = j.D;
    const unsigned nhw = kThreads / kLanes, nwarps = kThreads / 32;

    for (unsigned tid = 0; tid < kThreads; tid++) {
        load_q(j, c, tile, y, sm, tid, kThreads);
        for (int k = 0; k < kItems; k++)
            th[tid].o[k] = 0.0f;
        th[tid].l = 0.0f;
    }
    const size_t kend = cta_keys(j, c, tile, y);

    for (size_t t0 = 0; t0 < kend; t0 += kTile) {
        const uint32_t n = kend - t0 < (size_t)kTile ? (uint32_t)(kend - t0) : (uint32_t)kTile;
        for (unsigned tid = 0; tid < kThreads; tid++)
            tile_locate(j, j.k, g, t0, n, sm, tid);
        for (unsigned tid = 0; tid < kThreads; tid++)
            tile_load(j.k, c, g, n, sm, tid, kThreads);

        // Scores: half-warp hw takes iterations hw, hw + 16, ...
        for (unsigned hw = 0; hw < nhw; hw++)
            for (uint32_t it = hw; it < c.rows * kTile; it += nhw) {
                const uint32_t r = it / kTile, key = it % kTile;
                float acc[kLanes];
                for (unsigned lane = 0; lane < (unsigned)kLanes; lane++)
                    acc[lane] = key < n && sees(sm, r, t0 + key) ? score_lane(j, c, sm, r, key, lane) : 0.0f;
                for (int w = kLanes / 2; w >= 1; w /= 2) {
                    float nx[kLanes];
                    for (unsigned lane = 0; lane < (unsigned)kLanes; lane++)
                        nx[lane] = add_rn(acc[lane], acc[lane ^ (unsigned)w]);
                    std::memcpy(acc, nx, sizeof acc);
                }
                score_store(j, c, tile, y, sm, r, key, t0, acc[0]);
            }

        // The tile maximum: warp wid takes rows wid, wid + 8, ...
        for (unsigned wid = 0; wid < nwarps; wid++)
            for (uint32_t r = wid; r < c.rows; r += nwarps) {
                float a[32];
                unsigned ia[32];
                for (unsigned wl = 0; wl < 32; wl++) {
                    a[wl] = sm.s[r * kTile + wl];
                    ia[wl] = wl;
                    pick(a[wl], ia[wl], sm.s[r * kTile + wl + 32], wl + 32);
                }
                for (unsigned off = 16; off >= 1; off /= 2) {
                    float b[32];
                    unsigned ib[32];
                    for (unsigned wl = 0; wl < 32; wl++) {
                        b[wl] = a[wl ^ off];
                        ib[wl] = ia[wl ^ off];
                    }
                    for (unsigned wl = 0; wl < 32; wl++)
                        pick(a[wl], ia[wl], b[wl], ib[wl]);
                }
                row_update(sm, r, t0, a[0]);
            }
        for (unsigned tid = 0; tid < kThreads; tid++)
            tile_locate(j, j.v, g, t0, n, sm, tid);

        for (unsigned tid = 0; tid < kThreads; tid++)
            tile_p(c, sm, t0, n, tid, kThreads);
        for (unsigned tid = 0; tid < kThreads; tid++)
            tile_load(j.v, c, g, n, sm, tid, kThreads);

        for (unsigned tid = 0; tid < kThreads; tid++) {
            for (int k = 0; k < kItems; k++) {
                const uint32_t it = tid + (uint32_t)k * kThreads;
                if ((uint32_t)k < c.items && it < c.rows * D)
                    pv_item(j, c, sm, it / D, it % D, n, th[tid].o[k]);
            }
            if (tid < c.rows)
                l_row(sm, tid, n, th[tid].l);
        }
    }

    for (unsigned tid = 0; tid < c.rows; tid++)
        sm.l[tid] = th[tid].l;
    for (unsigned tid = 0; tid < kThreads; tid++)
        for (int k = 0; k < kItems; k++) {
            const uint32_t it = tid + (uint32_t)k * kThreads;
            if ((uint32_t)k < c.items && it < c.rows * D)
                store(j, c, tile, y, it / D, it % D, th[tid].o[k], sm.l[it / D]);
        }
}

// The whole grid of lb_cuda_attention for the validated call a.
lowbit_status emulate(const lowbit_attention_args &a, std::string &err)
{
    lb_attn_job j;
    lowbit_status s = lb_attn_job_init(&j, &a, 1);
    if (s != LOWBIT_OK) {
        err = lowbit_last_error();
        return s;
    }
    if (j.q_tokens == 0)
        return LOWBIT_OK;
    const Cfg c = make_cfg(j);
    // What an sm_90 device offers (227 KiB opt-in); the launch refuses more.
    if (c.smem > 227 * 1024) {
        err = "shared memory " + std::to_string(c.smem);
        return LOWBIT_ERR_UNSUPPORTED;
    }
    std::vector<unsigned char> smem(c.smem + 16);
    std::vector<Thread> th(kThreads);
    const uint32_t gy = j.kv_heads * c.chunks;
    for (size_t tile = 0; tile < c.token_tiles; tile++)
        for (uint32_t y = 0; y < gy; y++) {
            // The kernel's shared memory holds junk at the start.
            for (size_t i = 0; i < smem.size(); i++)
                smem[i] = (unsigned char)(i * 131 + tile + y);
            emulate_cta(j, c, tile, y, smem.data(), th);
        }
    return LOWBIT_OK;
}

bool run_case(const KvFmt &kf, const KvFmt &vf, const Shape &sh, size_t idx, uint64_t seed, int &prints)
{
    std::mt19937_64 g(seed);
    HostCase hc;
    make_case(hc, kf, vf, sh, idx, g);
    const size_t region = kGuard + hc.out_off + hc.out_bytes + kGuard;
    std::vector<uint8_t> want(region, kFill), got(region, kFill);
    lowbit_attention_args ha = hc.a;
    ha.out = want.data() + kGuard + hc.out_off;
    lowbit_status hs = lowbit_attention(&ha);
    lowbit_attention_args ea = hc.a;
    ea.out = got.data() + kGuard + hc.out_off;
    std::string eerr;
    lowbit_status es = emulate(ea, eerr);
    return same_output(hc, seed, "emulated", hs, es, eerr, want, got, prints);
}

// ---- lowbit_kv_append_device's kernel (kv_append.cu) ------------------------

// Every CTA of k_kv_append: each warp's item, lane by lane, then lane 0's
// zero points after the barrier.
lowbit_status emulate_append(lowbit_kv_cache &c, const int32_t *table, size_t table_len, size_t pos, size_t n,
                             lowbit_dtype st, const void *src, size_t stride, std::string &err)
{
    lb_kv_append_job j;
    lowbit_status s = lb_kv_append_job_init(&j, &c, table, table_len, pos, n, st, src, stride, 1);
    if (s != LOWBIT_OK) {
        err = lowbit_last_error();
        return s;
    }
    const size_t items = j.n_tokens * j.kv_heads;
    for (size_t cta = 0; cta * lbk::kWarps < items; cta++) {
        uint8_t zp_codes[lbk::kWarps][lbk::kMaxChunks];
        std::memset(zp_codes, 0xEE, sizeof zp_codes);  // junk, as shared memory holds
        for (unsigned w = 0; w < lbk::kWarps; w++) {
            const size_t i = cta * lbk::kWarps + w;
            if (i >= items)
                continue;
            const lbk::Item it = lbk::item_of(j, i);
            for (unsigned lane = 0; lane < 32; lane++)
                if (lane < lbk::chunks(j.v))
                    zp_codes[w][lane] = (uint8_t)lbk::quantize_chunk(j, it, lane);
        }
        for (unsigned w = 0; w < lbk::kWarps; w++) {
            const size_t i = cta * lbk::kWarps + w;
            if (i < items)
                lbk::store_zero_points(j, lbk::item_of(j, i), zp_codes[w]);
        }
    }
    return LOWBIT_OK;
}

bool append_case(AppendCase &ac, int &prints)
{
    std::vector<uint8_t> want = ac.pages, got = ac.pages;
    lowbit_kv_cache hc = ac.c, ec = ac.c;
    hc.pages = want.data();
    ec.pages = got.data();
    lowbit_status hs = lowbit_kv_append(&hc, ac.table.data(), ac.table.size(), ac.pos, ac.n, ac.st, ac.src.data(),
                                        ac.stride);
    std::string herr = hs == LOWBIT_OK ? "" : lowbit_last_error(), eerr;
    lowbit_status es = emulate_append(ec, ac.table.data(), ac.table.size(), ac.pos, ac.n, ac.st, ac.src.data(),
                                      ac.stride, eerr);
    return same_pages(ac, "emulated", hs, herr, es, eerr, want, got, prints);
}

}  // namespace

int main(int argc, char **argv)
{
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    if (lowbit_set_backend(LOWBIT_BACKEND_REF) != LOWBIT_OK) {
        std::printf("FAIL: cannot select the reference backend: %s\n", lowbit_last_error());
        return 1;
    }
    long passed = 0, failed = 0;
    run_append_cases(passed, failed, append_case);
    run_all_cases(quick, passed, failed, run_case);
    std::printf("%ld passed, %ld failed\n", passed, failed);
    return failed ? 1 : 0;
}
