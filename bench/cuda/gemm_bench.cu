// gemm_bench.cu - throughput of lowbit_gemm_device against cuBLASLt.
//
// Kernels (C bf16, alpha 1, beta 0):
//   exact-fp8   FP8 E4M3 per-tensor x E4M3 per-tensor, exact (generic kernel)
//   fast-fp8    the same with LOWBIT_GEMM_ALLOW_FAST (FP8 tensor cores, sm_89+)
//   exact-mxfp8 MXFP8 E4M3 x MXFP8 E4M3, exact
//   fast-mxfp8  the same, fast
//   imma-w8a8   INT8 per-row x INT8 per-row, exact (integer tensor cores)
//   imma-w4a8   INT8 per-row activations x INT4 g128 weights, exact
//   cublaslt    cuBLASLt FP8 E4M3 x E4M3 "TN" matmul with f32 scale pointers,
//               f32 compute, bf16 out: the vendor's number for the same math
// Shapes:
//   prefill  M = N = K = 4096, 8192, 16384; TFLOP/s = 2 M N K / seconds.
//   decode   M = 1, 4, 16 with (N, K) = (14336, 4096) and (4096, 14336);
//            also GB/s of weight bytes (B's data and scales) per second and
//            that as a share of device-to-device copy bandwidth (bytes read
//            + written per second of a 1 GiB cudaMemcpy), measured in the
//            same run.
// Timing: CUDA events around --reps calls after a warm-up call (fewer reps
// for the slow exact kernels on the largest shapes); operands are random
// codes generated on the device (no NaN codes), scales 1.  The exact
// kernels' decode results for M <= 4 are compared bit for bit with
// lowbit_gemm on the host first; a mismatch is reported as n/a.
//
// usage: gemm_bench [--json] [--quick] [--reps N]
//   --quick: prefill 4096 only, decode (14336, 4096) only.
// Without a device it prints one SKIP line and exits 77.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include "lowbit.h"

#define CK(call)                                                                                   \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            fprintf(stderr, "CUDA error %s at %s:%d: %s\n", cudaGetErrorString(e_), __FILE__,      \
                    __LINE__, #call);                                                              \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

// Random bytes; `mask` keeps FP8 codes finite (clear bit 6: |code| < 0x40
// plus sign), scales stay as written by fill_f32.
__global__ void k_fill(uint8_t *p, size_t n, uint32_t seed, uint8_t mask)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint32_t h = (uint32_t)i * 2654435761u ^ seed;
        h ^= h >> 15;
        h *= 2246822519u;
        h ^= h >> 13;
        p[i] = (uint8_t)h & mask;
    }
}

__global__ void k_fill_f32(float *p, size_t n, float v)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        p[i] = v;
}

struct DevQ {
    lowbit_qtensor q;
    void *d = NULL, *s = NULL, *z = NULL;
    DevQ(const lowbit_format &f, size_t rows, size_t cols, uint32_t seed)
    {
        if (lowbit_qtensor_init(&q, &f, rows, cols) != LOWBIT_OK) {
            fprintf(stderr, "qtensor_init: %s\n", lowbit_last_error());
            exit(1);
        }
        CK(cudaMalloc(&d, q.data_bytes));
        const bool fp8 = f.elem == LOWBIT_E4M3;
        k_fill<<<1024, 256>>>((uint8_t *)d, q.data_bytes, seed, fp8 ? 0xBF : 0xFF);
        if (q.scales_bytes) {
            CK(cudaMalloc(&s, q.scales_bytes));
            if (f.scale_type == LOWBIT_F32)
                k_fill_f32<<<64, 256>>>((float *)s, q.scales_bytes / 4, 1.0f);
            else if (f.scale_type == LOWBIT_E8M0)
                CK(cudaMemset(s, 127, q.scales_bytes));
            else
                CK(cudaMemset(s, 0x3C, q.scales_bytes));  // f16 ~1 (upper byte); bf16 ~0.01: fine for timing
        }
        if (q.zero_points_bytes) {
            CK(cudaMalloc(&z, q.zero_points_bytes));
            CK(cudaMemset(z, 0, q.zero_points_bytes));
        }
        q.data = d;
        q.scales = s;
        q.zero_points = z;
        CK(cudaGetLastError());
    }
    ~DevQ()
    {
        cudaFree(d);
        cudaFree(s);
        cudaFree(z);
    }
    size_t bytes() const { return q.data_bytes + q.scales_bytes + q.zero_points_bytes; }
};

// The host copy of a device operand (descriptor pointing at host buffers).
struct HostQ {
    lowbit_qtensor q;
    std::vector<uint8_t> d, s, z;
    explicit HostQ(const DevQ &x) : q(x.q), d(x.q.data_bytes), s(x.q.scales_bytes), z(x.q.zero_points_bytes)
    {
        CK(cudaMemcpy(d.data(), x.d, d.size(), cudaMemcpyDeviceToHost));
        if (x.s)
            CK(cudaMemcpy(s.data(), x.s, s.size(), cudaMemcpyDeviceToHost));
        if (x.z)
            CK(cudaMemcpy(z.data(), x.z, z.size(), cudaMemcpyDeviceToHost));
        q.data = d.data();
        q.scales = x.s ? s.data() : NULL;
        q.zero_points = x.z ? z.data() : NULL;
    }
};

// Does the device C (M x N bf16) equal lowbit_gemm on the host, bit for bit?
static bool verify_exact(const DevQ &a, const DevQ &b, const void *c, size_t M, size_t N)
{
    HostQ ha(a), hb(b);
    std::vector<uint16_t> want(M * N), got(M * N);
    if (lowbit_gemm(&ha.q, &hb.q, 1.0f, 0.0f, LOWBIT_BF16, want.data(), N, NULL) != LOWBIT_OK)
        return false;
    CK(cudaMemcpy(got.data(), c, got.size() * 2, cudaMemcpyDeviceToHost));
    return want == got;
}

struct Result {
    std::string shape, kernel;
    size_t M, N, K;
    double ms, tflops, gbs;
    bool ok;
};


// Seconds per call of f (enqueue only), averaged over reps after a warm-up.
template <typename F>
static double time_it(F f, int reps, cudaStream_t st, bool *ok)
{
    *ok = f();
    CK(cudaStreamSynchronize(st));
    if (!*ok)
        return 0;
    cudaEvent_t a, b;
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&b));
    CK(cudaEventRecord(a, st));
    for (int i = 0; i < reps; i++)
        f();
    CK(cudaEventRecord(b, st));
    CK(cudaEventSynchronize(b));
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, a, b));
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return ms / 1e3 / reps;
}

// cuBLASLt FP8 E4M3 x E4M3 -> bf16: C (row-major M x N) = A (M x K) B (N x K)^T
// is, column-major, C^T (N x M) = B^T' A: "TN" with m = N, n = M.
struct Lt {
    cublasLtHandle_t h = NULL;
    void *ws = NULL;
    size_t ws_bytes = 64u << 20;
    float *one = NULL;
    Lt()
    {
        if (cublasLtCreate(&h) != CUBLAS_STATUS_SUCCESS)
            h = NULL;
        CK(cudaMalloc(&ws, ws_bytes));
        CK(cudaMalloc(&one, sizeof(float)));
        k_fill_f32<<<1, 1>>>(one, 1, 1.0f);
    }
    ~Lt()
    {
        if (h)
            cublasLtDestroy(h);
        cudaFree(ws);
        cudaFree(one);
    }
    // What cuBLASLt multiplies: E4M3 with per-tensor f32 scales, or its
    // block-scaled modes (Blackwell): MXFP8 (E4M3, E8M0 per 32) and NVFP4
    // (E2M1, UE4M3 per 16).  The block scales are all 1 (timing only, so
    // their swizzled layout does not matter; the buffers are sized for it).
    enum Mode { kFp8Tensor, kMxFp8, kNvFp4 };
    // Plans the matmul; returns a callable state (false: not supported here).
    struct Plan {
        cublasLtMatmulDesc_t op = NULL;
        cublasLtMatrixLayout_t la = NULL, lb = NULL, lc = NULL;
        cublasLtMatmulAlgo_t algo;
        void *sa = NULL, *sb = NULL;  // block scales (block-scaled modes)
        bool ok = false;
    };
    Plan plan(size_t M, size_t N, size_t K, Mode mode = kFp8Tensor)
    {
        Plan p;
        if (!h)
            return p;
        if (cublasLtMatmulDescCreate(&p.op, CUBLAS_COMPUTE_32F, CUDA_R_32F) != CUBLAS_STATUS_SUCCESS)
            return p;
        cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
        cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta);
        cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb);
        if (mode == kFp8Tensor) {
            cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &one, sizeof one);
            cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &one, sizeof one);
        } else {
            const size_t vec = mode == kNvFp4 ? 16 : 32;
            const size_t rows = ((M > N ? M : N) + 127) / 128 * 128, cols = (K / vec + 3) / 4 * 4;
            CK(cudaMalloc(&p.sa, rows * cols));
            CK(cudaMalloc(&p.sb, rows * cols));
            CK(cudaMemset(p.sa, mode == kNvFp4 ? 0x38 : 127, rows * cols));
            CK(cudaMemset(p.sb, mode == kNvFp4 ? 0x38 : 127, rows * cols));
            const int32_t sm = mode == kNvFp4 ? CUBLASLT_MATMUL_MATRIX_SCALE_VEC16_UE4M3
                                              : CUBLASLT_MATMUL_MATRIX_SCALE_VEC32_UE8M0;
            cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &sm, sizeof sm);
            cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &sm, sizeof sm);
            cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &p.sa, sizeof p.sa);
            cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &p.sb, sizeof p.sb);
        }
        const cudaDataType_t et = mode == kNvFp4 ? CUDA_R_4F_E2M1 : CUDA_R_8F_E4M3;
        cublasLtMatrixLayoutCreate(&p.la, et, K, N, K);
        cublasLtMatrixLayoutCreate(&p.lb, et, K, M, K);
        cublasLtMatrixLayoutCreate(&p.lc, CUDA_R_16BF, N, M, N);
        cublasLtMatmulPreference_t pref;
        cublasLtMatmulPreferenceCreate(&pref);
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_bytes, sizeof ws_bytes);
        cublasLtMatmulHeuristicResult_t res;
        int found = 0;
        if (cublasLtMatmulAlgoGetHeuristic(h, p.op, p.la, p.lb, p.lc, p.lc, pref, 1, &res, &found) ==
                CUBLAS_STATUS_SUCCESS && found > 0) {
            p.algo = res.algo;
            p.ok = true;
        }
        cublasLtMatmulPreferenceDestroy(pref);
        return p;
    }
    bool run(const Plan &p, const void *a, const void *b, void *c, cudaStream_t st)
    {
        const float alpha = 1.0f, beta = 0.0f;
        return cublasLtMatmul(h, p.op, &alpha, b, p.la, a, p.lb, &beta, c, p.lc, c, p.lc, &p.algo, ws, ws_bytes,
                              st) == CUBLAS_STATUS_SUCCESS;
    }
    static void destroy(Plan &p)
    {
        if (p.op)
            cublasLtMatmulDescDestroy(p.op);
        if (p.la)
            cublasLtMatrixLayoutDestroy(p.la);
        if (p.lb)
            cublasLtMatrixLayoutDestroy(p.lb);
        if (p.lc)
            cublasLtMatrixLayoutDestroy(p.lc);
        cudaFree(p.sa);
        cudaFree(p.sb);
    }
};

int main(int argc, char **argv)
{
    bool json = false, quick = false;
    int reps = 20;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--quick"))
            quick = true;
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: gemm_bench [--json] [--quick] [--reps N]\n");
            return 2;
        }
    }
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        printf("SKIP: no CUDA device (%s); gemm_bench not run\n", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
        return 77;
    }
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    cudaStream_t st;
    CK(cudaStreamCreate(&st));

    // Copy bandwidth: 1 GiB device to device, bytes read + written per second.
    double copy_gbs = 0;
    {
        const size_t n = 1u << 30;
        void *x, *y;
        CK(cudaMalloc(&x, n));
        CK(cudaMalloc(&y, n));
        bool ok;
        double s = time_it([&] { return cudaMemcpyAsync(y, x, n, cudaMemcpyDeviceToDevice, st) == cudaSuccess; },
                           10, st, &ok);
        copy_gbs = 2.0 * n / s / 1e9;
        cudaFree(x);
        cudaFree(y);
    }

    Lt lt;
    std::vector<Result> out;
    struct Shape {
        const char *kind;
        size_t M, N, K;
    };
    std::vector<Shape> shapes;
    for (size_t s : {4096, 8192, 16384})
        if (!quick || s == 4096)
            shapes.push_back({"prefill", s, s, s});
    for (size_t m : {1, 4, 16}) {
        shapes.push_back({"decode", m, 14336, 4096});
        if (!quick)
            shapes.push_back({"decode", m, 4096, 14336});
    }
    const lowbit_gemm_opts fast = {LOWBIT_GEMM_ALLOW_FAST};
    for (const Shape &sh : shapes) {
        void *c = NULL;
        CK(cudaMalloc(&c, sh.M * sh.N * 2));
        const double flop = 2.0 * sh.M * sh.N * sh.K;
        const double big = flop / 2e12;  // ~seconds of an exact kernel at 2 TFLOP/s
        const int r = big > 0.5 ? 1 : big > 0.05 ? 3 : reps;
        auto add = [&](const char *name, double s, bool ok, size_t wbytes) {
            Result res{sh.kind, name, sh.M, sh.N, sh.K, s * 1e3, ok ? flop / s / 1e12 : 0,
                       ok ? wbytes / s / 1e9 : 0, ok};
            out.push_back(res);
        };
        struct K {
            const char *name;
            lowbit_format fa, fb;
            bool fast;
        };
        const K ks[] = {
            {"exact-fp8", lowbit_format_fp8_tensor(LOWBIT_E4M3), lowbit_format_fp8_tensor(LOWBIT_E4M3), false},
            {"fast-fp8", lowbit_format_fp8_tensor(LOWBIT_E4M3), lowbit_format_fp8_tensor(LOWBIT_E4M3), true},
            {"exact-mxfp8", lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), false},
            {"fast-mxfp8", lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), true},
            {"imma-w8a8", lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0), lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0), false},
            {"imma-w4a8", lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0), lowbit_format_int_group(LOWBIT_INT4, 128, LOWBIT_F16, 0), false},
            // Exact on the integer tensor cores; fast: block-scaled MMA on cc 12.x (mma.sync) and 10.x / 11.0 (tcgen05);
            // elsewhere the same exact kernel.
            {"imma-mxfp4", lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR), lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR), false},
            {"fast-mxfp4", lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR), lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR), true},
            {"imma-nvfp4", lowbit_format_nvfp4(), lowbit_format_nvfp4(), false},
            {"fast-nvfp4", lowbit_format_nvfp4(), lowbit_format_nvfp4(), true},
        };
        for (const K &k : ks) {
            DevQ a(k.fa, sh.M, sh.K, 1), b(k.fb, sh.N, sh.K, 2);
            const int rr = k.fast || k.name[0] == 'i' ? reps : r;
            bool ok;
            double s = time_it([&] {
                return lowbit_gemm_device(LOWBIT_BACKEND_CUDA, &a.q, &b.q, 1.0f, 0.0f, LOWBIT_BF16, c, sh.N,
                                          k.fast ? &fast : NULL, st) == LOWBIT_OK;
            }, rr, st, &ok);
            if (!ok)
                fprintf(stderr, "%s %zux%zux%zu: %s\n", k.name, sh.M, sh.N, sh.K, lowbit_last_error());
            // Exact kernels on the small decode shapes: the bits must be the host's.
            if (ok && !k.fast && sh.M <= 4 && !verify_exact(a, b, c, sh.M, sh.N)) {
                fprintf(stderr, "%s %zux%zux%zu: differs from lowbit_gemm on the host; not reported\n", k.name, sh.M,
                        sh.N, sh.K);
                ok = false;
            }
            add(k.name, s, ok, b.bytes());
        }
        // cuBLASLt: FP8 per tensor everywhere; MXFP8 and NVFP4 block-scaled
        // where it offers them (Blackwell; "n/a" elsewhere).
        const struct {
            const char *name;
            Lt::Mode mode;
            lowbit_format f;
        } lts[] = {{"cublaslt", Lt::kFp8Tensor, lowbit_format_fp8_tensor(LOWBIT_E4M3)},
                   {"cublaslt-mxfp8", Lt::kMxFp8, lowbit_format_fp8_tensor(LOWBIT_E4M3)},
                   {"cublaslt-nvfp4", Lt::kNvFp4, lowbit_format_nvfp4()}};
        for (const auto &l : lts) {
            DevQ a(l.f, sh.M, sh.K, 1), b(l.f, sh.N, sh.K, 2);
            Lt::Plan p = lt.plan(sh.M, sh.N, sh.K, l.mode);
            bool ok = false;
            double s = 0;
            if (p.ok)
                s = time_it([&] { return lt.run(p, a.d, b.d, c, st); }, reps, st, &ok);
            add(l.name, s, ok, b.q.data_bytes);
            Lt::destroy(p);
        }
        cudaFree(c);
    }

    if (json) {
        printf("{\"device\": \"%s\", \"sm\": %d, \"copy_gbs\": %.1f, \"results\": [\n", prop.name,
               prop.major * 10 + prop.minor, copy_gbs);
        for (size_t i = 0; i < out.size(); i++) {
            const Result &r = out[i];
            printf("  {\"shape\": \"%s\", \"kernel\": \"%s\", \"M\": %zu, \"N\": %zu, \"K\": %zu, \"ok\": %s, "
                   "\"ms\": %.4f, \"tflops\": %.3f, \"weight_gbs\": %.1f}%s\n",
                   r.shape.c_str(), r.kernel.c_str(), r.M, r.N, r.K, r.ok ? "true" : "false", r.ms, r.tflops, r.gbs,
                   i + 1 < out.size() ? "," : "");
        }
        printf("]}\n");
    } else {
        printf("lowbit_gemm_device on %s (sm_%d); device-to-device copy %.0f GB/s (read + write)\n", prop.name,
               prop.major * 10 + prop.minor, copy_gbs);
        printf("%-8s %6s %6s %6s  %-14s %10s %9s %11s %8s\n", "shape", "M", "N", "K", "kernel", "ms", "TFLOP/s",
               "weight GB/s", "of copy");
        for (const Result &r : out) {
            if (!r.ok) {
                printf("%-8s %6zu %6zu %6zu  %-14s %10s\n", r.shape.c_str(), r.M, r.N, r.K, r.kernel.c_str(), "n/a");
                continue;
            }
            if (r.shape == "decode")
                printf("%-8s %6zu %6zu %6zu  %-14s %10.4f %9.2f %11.1f %7.1f%%\n", r.shape.c_str(), r.M, r.N, r.K,
                       r.kernel.c_str(), r.ms, r.tflops, r.gbs, 100.0 * r.gbs / copy_gbs);
            else
                printf("%-8s %6zu %6zu %6zu  %-14s %10.3f %9.2f\n", r.shape.c_str(), r.M, r.N, r.K, r.kernel.c_str(),
                       r.ms, r.tflops);
        }
    }
    CK(cudaStreamDestroy(st));
    return 0;
}
