// quantize_bench.cu - throughput of lowbit_quantize_device and
// lowbit_dequantize_device on a CUDA device (or, built by hipcc, a HIP one:
// bench_gpu.h).
//
// First the roofline: a device-to-device copy of 1 GiB (bytes read +
// written per second).  Then each case on a rows x cols tensor
// (16384 x 16384 by default, fewer rows if memory is short), timed with
// events over >= 10 iterations after a warm-up: GB/s counting every byte read
// and written (source or destination, packed data, scales, zero points),
// Gelem/s, and the fraction of the measured copy bandwidth.  Before timing,
// the first and the last 128 rows of each result (all of it for the
// per-tensor format, whose scale depends on every element) are compared bit
// for bit with the host library (lowbit_quantize / lowbit_dequantize on the
// same bytes), so a broken kernel cannot post a good number.  GB/s counts
// the bytes a one-pass kernel would move; the per-tensor quantize reads its
// source twice (amax, then encode), so its ceiling is about 5/9 of the copy
// rate for f32 -> FP8.
//
// usage: quantize_bench [--json] [--iters N] [--rows N] [--cols N]
// Without a device it prints one SKIP line and exits 77.
#include <cstring>
#include <string>
#include <vector>

#include "bench_gpu.h"

// Activation-like values: sign, magnitude 2^-12 .. 2^10 varying by 128-element
// region, random mantissa, a few exact zeros.  kind 0: f32, 2: bf16 bits.
__global__ void k_fill(uint8_t *buf, size_t n, int kind, uint64_t seed)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint32_t r = mix32(seed * 0x9E3779B97F4A7C15ull + i);
        uint32_t reg = mix32(seed ^ (i >> 7));
        uint32_t e = 115 + (reg >> 8) % 18 + (r >> 8) % 5;
        uint32_t f = (r & 0x80000000u) | e << 23 | (mix32(i ^ seed) & 0x7FFFFFu);
        if ((r & 0xFF) == 0)
            f = 0;
        if (kind == 0)
            reinterpret_cast<uint32_t *>(buf)[i] = f;
        else
            reinterpret_cast<uint16_t *>(buf)[i] = (uint16_t)(f >> 16);
    }
}

// Random bytes, each masked with `mask` and or-ed with `set` (for E4M3
// scales in a sane range).
__global__ void k_fill_bytes(uint8_t *buf, size_t n, uint64_t seed, uint8_t mask, uint8_t set)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        buf[i] = (uint8_t)((mix32(seed + i) & mask) | set);
}

struct Case {
    bool quantize;
    lowbit_format fmt;
    lowbit_dtype wide;  // source (quantize) or destination (dequantize)
    lowbit_rounding mode;
    const char *label;
    int input;          // dequantize: index of the quantize case whose output it reads, or -1: random bytes
};

// Device buffers of one quantized tensor.
struct QBuf {
    lowbit_qtensor q;
    uint8_t *data = nullptr, *scales = nullptr, *zps = nullptr;
};

static QBuf alloc_q(const lowbit_format &f, size_t rows, size_t cols)
{
    QBuf b;
    if (lowbit_qtensor_init(&b.q, &f, rows, cols) != LOWBIT_OK) {
        std::fprintf(stderr, "qtensor_init: %s\n", lowbit_last_error());
        std::exit(2);
    }
    CK(cudaMalloc(&b.data, b.q.data_bytes));
    if (b.q.scales_bytes) CK(cudaMalloc(&b.scales, b.q.scales_bytes));
    if (b.q.zero_points_bytes) CK(cudaMalloc(&b.zps, b.q.zero_points_bytes));
    b.q.data = b.data;
    b.q.scales = b.scales;
    b.q.zero_points = b.zps;
    return b;
}

static void free_q(QBuf &b)
{
    CK(cudaFree(b.data));
    if (b.scales) CK(cudaFree(b.scales));
    if (b.zps) CK(cudaFree(b.zps));
    b.data = b.scales = b.zps = nullptr;
}

// Rows [r0, r0 + n) of q as a qtensor of their own (r0, n multiples of the
// block rows), with host copies of their bytes when `host` is set.
struct Slice {
    lowbit_qtensor q;
    std::vector<uint8_t> data, scales, zps;
};

static Slice slice(const lowbit_qtensor &q, size_t r0, size_t n, bool fetch)
{
    Slice s;
    s.q = q;
    s.q.rows = n;
    size_t gr = 0, gc = 0;
    lowbit_qtensor_grid(&q, &gr, &gc);
    const size_t br = q.format.block_rows ? q.format.block_rows : q.rows;
    const size_t d0 = lowbit_dtype_bytes(q.format.elem, r0 * q.row_stride);
    const size_t b0 = (q.format.scale_type == LOWBIT_DTYPE_COUNT || q.format.block_rows == 0) ? 0 : r0 / br * gc;
    lowbit_qtensor t;
    lowbit_qtensor_init(&t, &q.format, n, q.cols);
    s.q.data_bytes = t.data_bytes;
    s.q.scales_bytes = t.scales_bytes;
    s.q.zero_points_bytes = t.zero_points_bytes;
    s.data.resize(t.data_bytes);
    s.scales.resize(t.scales_bytes);
    s.zps.resize(t.zero_points_bytes);
    if (fetch) {
        CK(cudaMemcpy(s.data.data(), (uint8_t *)q.data + d0, t.data_bytes, cudaMemcpyDeviceToHost));
        if (t.scales_bytes)
            CK(cudaMemcpy(s.scales.data(), (uint8_t *)q.scales + lowbit_dtype_bytes(q.format.scale_type, b0),
                          t.scales_bytes, cudaMemcpyDeviceToHost));
        if (t.zero_points_bytes)
            CK(cudaMemcpy(s.zps.data(), (uint8_t *)q.zero_points + lowbit_dtype_bytes(q.format.elem, b0),
                          t.zero_points_bytes, cudaMemcpyDeviceToHost));
    }
    s.q.data = s.data.data();
    s.q.scales = t.scales_bytes ? s.scales.data() : nullptr;
    s.q.zero_points = t.zero_points_bytes ? s.zps.data() : nullptr;
    return s;
}

static const size_t kCheckRows = 128;

// Quantize rows [r0, r0+n) on the host and compare with the device's bytes.
static bool check_quantize(const lowbit_qtensor &dq, lowbit_dtype st, const uint8_t *d_src, size_t r0, size_t n,
                           const lowbit_convert_opts &o)
{
    const size_t eb = lowbit_dtype_bits(st) / 8, cols = dq.cols;
    std::vector<uint8_t> src(n * cols * eb);
    CK(cudaMemcpy(src.data(), d_src + r0 * cols * eb, src.size(), cudaMemcpyDeviceToHost));
    Slice got = slice(dq, r0, n, true), want = slice(dq, r0, n, false);
    lowbit_convert_opts oo = o;
    oo.offset = o.offset + r0 * cols;
    if (lowbit_quantize(&want.q, st, src.data(), cols, &oo) != LOWBIT_OK) {
        std::fprintf(stderr, "host quantize: %s\n", lowbit_last_error());
        return false;
    }
    return got.data == want.data && got.scales == want.scales && got.zps == want.zps;
}

static bool check_dequantize(const lowbit_qtensor &dq, lowbit_dtype dt, const uint8_t *d_dst, size_t r0, size_t n)
{
    const size_t eb = lowbit_dtype_bits(dt) / 8, cols = dq.cols;
    Slice in = slice(dq, r0, n, true);
    std::vector<uint8_t> got(n * cols * eb), want(n * cols * eb);
    CK(cudaMemcpy(got.data(), d_dst + r0 * cols * eb, got.size(), cudaMemcpyDeviceToHost));
    if (lowbit_dequantize(dt, want.data(), cols, &in.q) != LOWBIT_OK) {
        std::fprintf(stderr, "host dequantize: %s\n", lowbit_last_error());
        return false;
    }
    return got == want;
}

int main(int argc, char **argv)
{
    bool json = false;
    int iters = 20;
    size_t rows = 16384, cols = 16384;
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--json"))
            json = true;
        else if (!std::strcmp(argv[i], "--iters") && i + 1 < argc)
            iters = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--rows") && i + 1 < argc)
            rows = std::strtoull(argv[++i], nullptr, 0);
        else if (!std::strcmp(argv[i], "--cols") && i + 1 < argc)
            cols = std::strtoull(argv[++i], nullptr, 0);
        else {
            std::fprintf(stderr, "usage: %s [--json] [--iters N] [--rows N] [--cols N]\n", argv[0]);
            return 2;
        }
    }
    if (iters < 10)
        iters = 10;
    rows = rows < 256 ? 256 : rows / 128 * 128;  // whole 128-row blocks; room for two checked slices
    cols = cols < 128 ? 128 : cols / 128 * 128;
    BenchDevice dev;
    if (!bench_open_device(&dev))
        return 77;
    if (lowbit_set_backend(LOWBIT_BACKEND_REF) != LOWBIT_OK) {
        std::fprintf(stderr, "cannot select the reference host backend: %s\n", lowbit_last_error());
        return 1;
    }
    const cudaDeviceProp &prop = dev.prop;
    const double peak_gbps = dev.peak_gbps;

    // Memory: an f32 source / destination, a bf16 one, and the quantized
    // tensors (at most ~1.3 bytes per element); shrink rows to fit.
    size_t free_b = 0, total_b = 0;
    CK(cudaMemGetInfo(&free_b, &total_b));
    while (rows > 256 && (double)rows * cols * 20.0 > 0.8 * (double)free_b)
        rows = rows / 2 / 128 * 128;
    const size_t n = rows * cols;

    uint8_t *d_f32, *d_bf16, *d_out;
    CK(cudaMalloc(&d_f32, n * 4));
    CK(cudaMalloc(&d_bf16, n * 2));
    CK(cudaMalloc(&d_out, n * 4));
    k_fill<<<4096, 256>>>(d_f32, n, 0, 1234);
    k_fill<<<4096, 256>>>(d_bf16, n, 2, 1234);
    CK(cudaGetLastError());

    size_t copy_bytes = (size_t)1 << 30;
    if (copy_bytes > n * 4)
        copy_bytes = n * 4;
    const double copy = bench_copy_gbps(d_out, d_f32, copy_bytes, iters);

    bench_print_roofline(dev, copy_bytes, copy, json);
    if (!json) {
        std::printf("tensor %zu x %zu, %d timed iterations; GB/s counts every byte read and written\n\n", rows, cols,
                    iters);
        std::printf("%-46s %9s %9s %9s %8s  %s\n", "operation", "ms", "GB/s", "Gelem/s", "of copy", "check");
    }

    const lowbit_format mxfp8 = lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR);
    const lowbit_format mxfp4 = lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR);
    const lowbit_format mxfp6 = lowbit_format_mx(LOWBIT_E3M2, LOWBIT_SCALE_FLOOR);
    const lowbit_format fp8_1x128 = lowbit_format_fp8_block(LOWBIT_E4M3, 1, 128);
    const lowbit_format fp8_128x128 = lowbit_format_fp8_block(LOWBIT_E4M3, 128, 128);
    const lowbit_format int4_zp = lowbit_format_int_group(LOWBIT_INT4, 128, LOWBIT_BF16, 1);
    const lowbit_format nvfp4 = lowbit_format_nvfp4();
    const lowbit_format fp8_tensor = lowbit_format_fp8_tensor(LOWBIT_E4M3);
    lowbit_format nvfp4_given = nvfp4;
    nvfp4_given.flags |= LOWBIT_FMT_GIVEN_TENSOR_SCALE;
    const lowbit_rounding NE = LOWBIT_ROUND_NEAREST_EVEN, SR = LOWBIT_ROUND_STOCHASTIC;
    const Case cases[] = {
        {true, mxfp8, LOWBIT_F32, NE, "", -1},                  // 0
        {true, mxfp4, LOWBIT_F32, NE, "", -1},                  // 1
        {true, mxfp6, LOWBIT_F32, NE, "", -1},                  // 2
        {true, fp8_1x128, LOWBIT_F32, NE, "", -1},              // 3
        {true, int4_zp, LOWBIT_F32, NE, "", -1},                // 4
        {true, mxfp8, LOWBIT_BF16, NE, "", -1},                 // 5
        {true, fp8_128x128, LOWBIT_F32, NE, "", -1},            // 6
        {true, mxfp4, LOWBIT_F32, SR, "stochastic", -1},        // 7
        {true, fp8_tensor, LOWBIT_F32, NE, "2 reads", -1},       // 8: amax pass, then encode
        {true, nvfp4_given, LOWBIT_F32, NE, "given tensor scale", -1},  // 9
        {false, mxfp8, LOWBIT_BF16, NE, "", 0},
        {false, mxfp4, LOWBIT_BF16, NE, "", 1},
        {false, nvfp4, LOWBIT_BF16, NE, "random codes", -1},
        {false, int4_zp, LOWBIT_BF16, NE, "", 4},
        {false, mxfp8, LOWBIT_F32, NE, "", 0},
    };
    const int ncases = (int)(sizeof cases / sizeof cases[0]);
    std::vector<QBuf> outs(ncases);

    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    int bad = 0;
    for (int ci = 0; ci < ncases; ci++) {
        const Case &c = cases[ci];
        const lowbit_convert_opts o = {c.mode, 0, 0x5EED, 0};
        const uint8_t *wide_src = c.wide == LOWBIT_F32 ? d_f32 : d_bf16;
        lowbit_qtensor q;
        QBuf own;
        if (c.quantize) {
            own = alloc_q(c.fmt, rows, cols);
            q = own.q;
            if (c.fmt.flags & LOWBIT_FMT_GIVEN_TENSOR_SCALE)
                q.tensor_scale = 0.01f;  // a calibrated scale, as a runtime keeps one
        } else if (c.input >= 0) {
            q = outs[c.input].q;
        } else {
            own = alloc_q(c.fmt, rows, cols);
            q = own.q;
            k_fill_bytes<<<4096, 256>>>(own.data, q.data_bytes, 99, 0xFF, 0);
            k_fill_bytes<<<4096, 256>>>(own.scales, q.scales_bytes, 98, 0x1F, 0x28);  // e4m3 2^-2 .. 2^2
            CK(cudaGetLastError());
            q.tensor_scale = 0.0123f;
        }
        auto run = [&]() {
            return c.quantize
                       ? lowbit_quantize_device(BENCH_LOWBIT_BACKEND, &q, c.wide, wide_src, cols, &o, nullptr)
                       : lowbit_dequantize_device(BENCH_LOWBIT_BACKEND, c.wide, d_out, cols, &q, nullptr);
        };
        lowbit_status s = run();
        CK(cudaDeviceSynchronize());
        bool ok = s == LOWBIT_OK;
        if (!ok)
            std::fprintf(stderr, "device call failed: %s (%s)\n", lowbit_status_string(s), lowbit_last_error());
        // (one scale for the whole tensor: the whole tensor is checked)
        const bool whole = c.fmt.scale_type != LOWBIT_DTYPE_COUNT && c.fmt.block_rows == 0 && c.fmt.block_cols == 0;
        if (c.quantize && whole)
            ok = ok && check_quantize(q, c.wide, wide_src, 0, rows, o);
        else
            for (size_t r0 : {(size_t)0, rows - kCheckRows})
                ok = ok && (c.quantize ? check_quantize(q, c.wide, wide_src, r0, kCheckRows, o)
                                       : check_dequantize(q, c.wide, d_out, r0, kCheckRows));
        if (!ok)
            bad++;

        for (int i = 0; i < 2; i++)
            run();
        CK(cudaEventRecord(e0));
        for (int i = 0; i < iters; i++)
            s = run();
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        CK(cudaGetLastError());
        if (s != LOWBIT_OK)
            bad++;
        float ms = 0;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        const double sec = ms * 1e-3 / iters;
        const double qbytes = (double)q.data_bytes + (double)q.scales_bytes + (double)q.zero_points_bytes;
        const double bytes = qbytes + (double)n * (lowbit_dtype_bits(c.wide) / 8);
        const double gbps = bytes / sec / 1e9, frac = gbps / copy;
        char fname[96];
        lowbit_format_name(&c.fmt, fname, sizeof fname);
        std::string formats = c.quantize ? std::string(lowbit_dtype_name(c.wide)) + "->" + fname
                                         : std::string(fname) + "->" + lowbit_dtype_name(c.wide);
        std::string name = std::string(c.quantize ? "quantize " : "dequantize ") + formats +
                           (c.label[0] ? std::string(" (") + c.label + ")" : std::string());
        if (json) {
            std::printf("{\"op\":\"%s\",\"formats\":\"%s\",\"backend\":\"" BENCH_BACKEND "\",\"device\":\"%s\",\"rounding\":\"%s\","
                        "\"shape\":[%zu,%zu],\"threads\":1,\"bytes\":%.0f,\"seconds\":%.6e,\"gbps\":%.2f,\"gelems\":%.3f,"
                        "\"roofline_fraction\":%.4f,\"peer\":\"" BENCH_COPY_PEER "\",\"peer_ratio\":%.4f,"
                        "\"peak_fraction\":%.4f,\"checked\":%s}\n",
                        c.quantize ? "quantize" : "dequantize", formats.c_str(), prop.name,
                        c.mode == SR ? "stochastic" : "nearest_even", rows, cols, bytes, sec, gbps, n / sec / 1e9, frac,
                        frac, peak_gbps > 0 ? gbps / peak_gbps : 0.0, ok ? "true" : "false");
        } else {
            std::printf("%-46s %9.3f %9.1f %9.2f %7.1f%%  %s\n", name.c_str(), sec * 1e3, gbps, n / sec / 1e9,
                        100 * frac, ok ? "ok" : "MISMATCH");
        }
        std::fflush(stdout);
        if (c.quantize)
            outs[ci] = own;
        else if (c.input < 0)
            free_q(own);
    }
    for (auto &b : outs)
        if (b.data) free_q(b);
    CK(cudaFree(d_f32));
    CK(cudaFree(d_bf16));
    CK(cudaFree(d_out));
    if (bad)
        std::fprintf(stderr, "%d case(s) did not match the host library or failed\n", bad);
    return bad ? 1 : 0;
}
