// convert_bench.cu - throughput of lowbit_convert_device on a CUDA device
// (or, built by hipcc, a HIP one: bench_gpu.h).
//
// First the roofline of a conversion: a device-to-device copy of 1 GiB
// (bytes read + written per second).  Then each hot conversion pair
// on 256M elements (fewer if the buffers would pass ~8 GiB or the free
// memory), timed with events over >= 10 iterations after a warm-up:
// GB/s (bytes read + written), Gelem/s, and the fraction of the measured
// copy bandwidth.  A sample of each result is checked against the host
// library first, so a broken kernel cannot post a good number.
//
// usage: convert_bench [--json] [--iters N] [--elems N]
// Without a device it prints one SKIP line and exits 77.
#include <cstring>
#include <string>
#include <vector>

#include "bench_gpu.h"

// f32 values like activations: sign, magnitude 2^-12 .. 2^10, random mantissa,
// a few exact zeros.  kind 0: f32, 1: f16 bits, 2: bf16 bits, 3: random bytes.
__global__ void k_fill(uint8_t *buf, size_t n, int kind, uint64_t seed)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint32_t r = mix32(seed * 0x9E3779B97F4A7C15ull + i);
        uint32_t e = 115 + (r >> 8) % 23;
        uint32_t f = (r & 0x80000000u) | e << 23 | (mix32(i ^ seed) & 0x7FFFFFu);
        if ((r & 0xFF) == 0)
            f = 0;
        if (kind == 0) {
            reinterpret_cast<uint32_t *>(buf)[i] = f;
        } else if (kind == 1) {
            // the same value range as f16 bits: exponent 3..25, random mantissa
            uint16_t h = (uint16_t)((f >> 16) & 0x8000u) | (uint16_t)((3 + (r >> 8) % 23) << 10) |
                         (uint16_t)(mix32(i ^ seed) & 0x3FFu);
            reinterpret_cast<uint16_t *>(buf)[i] = h;
        } else if (kind == 2) {
            reinterpret_cast<uint16_t *>(buf)[i] = (uint16_t)(f >> 16);
        } else {
            buf[i] = (uint8_t)(r >> 3);
        }
    }
}

struct Case {
    lowbit_dtype src, dst;
    lowbit_rounding mode;
    int sat;
    const char *label;
    size_t src_off = 0, dst_off = 0;  // byte offsets (misaligned starts)
};

int main(int argc, char **argv)
{
    bool json = false;
    int iters = 20;
    size_t elems = (size_t)256 << 20;
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--json"))
            json = true;
        else if (!std::strcmp(argv[i], "--iters") && i + 1 < argc)
            iters = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--elems") && i + 1 < argc)
            elems = std::strtoull(argv[++i], nullptr, 0);
        else {
            std::fprintf(stderr, "usage: %s [--json] [--iters N] [--elems N]\n", argv[0]);
            return 2;
        }
    }
    if (iters < 10)
        iters = 10;
    BenchDevice dev;
    if (!bench_open_device(&dev))
        return 77;
    const cudaDeviceProp &prop = dev.prop;
    const double peak_gbps = dev.peak_gbps;

    // Buffers: src up to 4 bytes/element, dst up to 4 bytes/element.
    size_t free_b = 0, total_b = 0;
    CK(cudaMemGetInfo(&free_b, &total_b));
    size_t budget = (size_t)8 << 30;
    if (budget > free_b / 10 * 8)
        budget = free_b / 10 * 8;
    if (elems * 8 > budget)
        elems = budget / 8 / 4096 * 4096;
    uint8_t *d_src, *d_dst;
    CK(cudaMalloc(&d_src, elems * 4 + 64));
    CK(cudaMalloc(&d_dst, elems * 4 + 64));

    // The roofline: a 1 GiB device-to-device copy (or what fits).
    size_t copy_bytes = (size_t)1 << 30;
    if (copy_bytes > elems * 4)
        copy_bytes = elems * 4;
    const double copy_gbps = bench_copy_gbps(d_dst, d_src, copy_bytes, iters);

    bench_print_roofline(dev, copy_bytes, copy_gbps, json);
    if (!json) {
        std::printf("%zu elements per conversion, %d timed iterations\n\n", elems, iters);
        std::printf("%-26s %10s %10s %10s %9s  %s\n", "conversion", "ms", "GB/s", "Gelem/s", "of copy", "check");
    }

    const Case cases[] = {
        {LOWBIT_F32, LOWBIT_E4M3, LOWBIT_ROUND_NEAREST_EVEN, 1, "sat"},
        {LOWBIT_F32, LOWBIT_E5M2, LOWBIT_ROUND_NEAREST_EVEN, 0, ""},
        {LOWBIT_F32, LOWBIT_E2M1, LOWBIT_ROUND_NEAREST_EVEN, 0, ""},
        {LOWBIT_F32, LOWBIT_E3M2, LOWBIT_ROUND_NEAREST_EVEN, 0, ""},
        {LOWBIT_F32, LOWBIT_INT8, LOWBIT_ROUND_NEAREST_EVEN, 0, ""},
        {LOWBIT_F32, LOWBIT_BF16, LOWBIT_ROUND_NEAREST_EVEN, 0, ""},
        {LOWBIT_F16, LOWBIT_E4M3, LOWBIT_ROUND_NEAREST_EVEN, 1, "sat"},
        {LOWBIT_BF16, LOWBIT_E4M3, LOWBIT_ROUND_NEAREST_EVEN, 1, "sat"},
        {LOWBIT_E4M3, LOWBIT_F32, LOWBIT_ROUND_NEAREST_EVEN, 0, ""},
        {LOWBIT_E4M3, LOWBIT_BF16, LOWBIT_ROUND_NEAREST_EVEN, 0, ""},
        {LOWBIT_E2M1, LOWBIT_F32, LOWBIT_ROUND_NEAREST_EVEN, 0, ""},
        {LOWBIT_F32, LOWBIT_E4M3, LOWBIT_ROUND_STOCHASTIC, 1, "sat, stochastic"},
        // Misaligned starts: sliced one element in on both sides (a short
        // head, then the unit kernel), and a source one byte off (no
        // alignment reachable: the element-by-element kernel).
        {LOWBIT_F32, LOWBIT_E4M3, LOWBIT_ROUND_NEAREST_EVEN, 1, "sat, both +1 elem", 4, 1},
        {LOWBIT_F32, LOWBIT_E4M3, LOWBIT_ROUND_NEAREST_EVEN, 1, "sat, src +1 byte", 1, 0},
    };

    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    int bad = 0;
    for (const Case &c : cases) {
        const int kind = c.src == LOWBIT_F32 ? 0 : c.src == LOWBIT_F16 ? 1 : c.src == LOWBIT_BF16 ? 2 : 3;
        const size_t sbytes = lowbit_dtype_bytes(c.src, elems), dbytes = lowbit_dtype_bytes(c.dst, elems);
        uint8_t *src = d_src + c.src_off, *dst = d_dst + c.dst_off;
        k_fill<<<1024, 256>>>(d_src, kind == 3 ? sbytes + 64 : elems + 16, kind, 1234);
        CK(cudaGetLastError());
        lowbit_convert_opts o = {c.mode, c.sat, 0x5EED, 0};

        // Check a prefix against the host library.
        const size_t m = 1 << 16;
        lowbit_status s = lowbit_convert_device(BENCH_LOWBIT_BACKEND, c.dst, dst, c.src, src, m, &o, nullptr);
        std::vector<uint8_t> hs(lowbit_dtype_bytes(c.src, m)), got(lowbit_dtype_bytes(c.dst, m)), want(got.size());
        CK(cudaMemcpy(hs.data(), src, hs.size(), cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(got.data(), dst, got.size(), cudaMemcpyDeviceToHost));
        lowbit_convert(c.dst, want.data(), c.src, hs.data(), m, &o);
        const bool ok = s == LOWBIT_OK && got == want;
        if (!ok)
            bad++;

        for (int i = 0; i < 3; i++)
            lowbit_convert_device(BENCH_LOWBIT_BACKEND, c.dst, dst, c.src, src, elems, &o, nullptr);
        CK(cudaEventRecord(e0));
        for (int i = 0; i < iters; i++)
            s = lowbit_convert_device(BENCH_LOWBIT_BACKEND, c.dst, dst, c.src, src, elems, &o, nullptr);
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        CK(cudaGetLastError());
        if (s != LOWBIT_OK) {
            std::fprintf(stderr, "lowbit_convert_device failed: %s (%s)\n", lowbit_status_string(s), lowbit_last_error());
            bad++;
        }
        float ms = 0;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        const double sec = ms * 1e-3 / iters;
        const double gbps = (double)(sbytes + dbytes) / sec / 1e9;
        const double gelem = (double)elems / sec / 1e9;
        const double frac = gbps / copy_gbps;
        std::string fmt = std::string(lowbit_dtype_name(c.src)) + "->" + lowbit_dtype_name(c.dst);
        std::string name = fmt + (c.label[0] ? std::string(" (") + c.label + ")" : std::string());
        if (json) {
            std::printf("{\"op\":\"convert\",\"formats\":\"%s\",\"backend\":\"" BENCH_BACKEND "\",\"device\":\"%s\","
                        "\"rounding\":\"%s\",\"saturate\":%d,\"src_offset\":%zu,\"dst_offset\":%zu,\"shape\":[%zu],\"threads\":1,\"seconds\":%.6e,"
                        "\"gbps\":%.2f,\"gelems\":%.3f,\"roofline_fraction\":%.4f,\"peer\":\"" BENCH_COPY_PEER "\","
                        "\"peer_ratio\":%.4f,\"peak_fraction\":%.4f,\"checked\":%s}\n",
                        fmt.c_str(), prop.name,
                        c.mode == LOWBIT_ROUND_STOCHASTIC ? "stochastic" : c.mode == LOWBIT_ROUND_TOWARD_ZERO ? "toward_zero" : "nearest_even",
                        c.sat, c.src_off, c.dst_off, elems, sec, gbps, gelem, frac, frac, peak_gbps > 0 ? gbps / peak_gbps : 0.0,
                        ok ? "true" : "false");
        } else {
            std::printf("%-26s %10.3f %10.1f %10.2f %8.1f%%  %s\n", name.c_str(), sec * 1e3, gbps, gelem, 100 * frac,
                        ok ? "ok" : "MISMATCH");
        }
        std::fflush(stdout);
    }
    CK(cudaFree(d_src));
    CK(cudaFree(d_dst));
    if (bad)
        std::fprintf(stderr, "%d conversion(s) did not match the host library\n", bad);
    return bad ? 1 : 0;
}
