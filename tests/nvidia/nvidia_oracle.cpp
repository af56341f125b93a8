/*
 * nvidia_oracle.cpp - lowbit_convert checked against the CUDA Toolkit's own
 * host-side conversion routines (cuda_fp8.h, cuda_fp6.h, cuda_fp4.h, and
 * cuda_fp16.h / cuda_bf16.h for the f16 and bf16 encoders).
 *
 * Compared: FP8 E4M3/E5M2 encode (nearest, SATFINITE and NOSAT), FP6
 * E2M3/E3M2 and FP4 E2M1 encode (cudaRoundNearest and cudaRoundZero; NVIDIA
 * always saturates, so lowbit must match with saturate off and on), E8M0
 * encode (cudaRoundZero vs toward-zero, SATFINITE and NOSAT), f16/bf16
 * encode (__float2half_rn/_rz, __float2bfloat16_rn/_rz), each from f32, f16
 * and bf16 sources; and the decode of every code of E4M3, E5M2, E2M3, E3M2,
 * E2M1 (to half) and E8M0 (to bf16) against lowbit's decode to f16/f32/bf16.
 * cudaRoundPosInf for E8M0 has no lowbit_rounding counterpart: not compared.
 *
 * The toolkit headers compile with a plain C++ compiler: without __CUDACC__
 * every __nv_cvt_* function is an ordinary static host function, so this file
 * is built by the host C++ compiler (no nvcc, no GPU).  Whatever NVIDIA's
 * function returns is the expected value; lowbit must agree bit for bit,
 * apart from one documented difference (E8M0 of zero/negative inputs, see
 * the E8M0 cases in build_cases).
 *
 * Inputs:
 *   - every f16 and every bf16 bit pattern (65,536 each);
 *   - f32 "boundary" values: for every target format (E4M3, E5M2, E2M3,
 *     E3M2, E2M1, f16, bf16) each representable value, each midpoint between
 *     neighbours, max + ulp/2, max + ulp and 2*max; for E8M0 (and f32 itself)
 *     every power of two 2^-149..2^127 and every 1.5 * 2^e; each of them
 *     together with its f32 neighbours
 *     (+-1 ulp) and with both signs, plus f32 specials (zeros, subnormal
 *     edges, FLT_MAX, Inf, quiet/signalling NaNs of both signs);
 *   - random f32 bit patterns from a fixed-seed splitmix64 generator
 *     (--random N, default 10,485,760; the same patterns feed every target).
 *
 * NaN results of f16/bf16 outputs are compared by class only (NVIDIA gives
 * the canonical 0x7FFF, lowbit keeps the payload); every other result,
 * including the FP8/FP6/FP4/E8M0 code for a NaN input, must match exactly.
 *
 * Output: one line per comparison (oracle, source type, rounding/saturation,
 * case count, mismatches, the first few mismatching inputs).  Exit status 1
 * on any mismatch, 0 when everything agrees.
 */
#include <cuda_fp8.h>
#include <cuda_fp6.h>
#include <cuda_fp4.h>
#include <cuda_fp16.h>

#include "lowbit.h"

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace {

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

uint32_t f32_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
float f32_from(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

/* f16 bits -> f32 value, exact (own code, so NVIDIA's helper is not trusted
 * to produce its own inputs). NaNs become a quiet NaN of the same sign. */
float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
    if (e == 0x1F)
        return f32_from(sign | 0x7F800000u | (m ? 0x00400000u | (m << 13) : 0u));
    float mag = e ? std::ldexp((float)(0x400u | m), (int)e - 25) : std::ldexp((float)m, -24);
    return sign ? -mag : mag;
}

bool f16_is_nan(uint16_t h) { return (h & 0x7FFFu) > 0x7C00u; }
bool bf16_is_nan(uint16_t h) { return (h & 0x7FFFu) > 0x7F80u; }
bool f32_is_nan(uint32_t u) { return (u & 0x7FFFFFFFu) > 0x7F800000u; }

/* f32 bits -> bf16 bits for values that bf16 holds exactly (or NaN). */
uint16_t f32_to_bf16_exact(uint32_t u)
{
    if (f32_is_nan(u))
        return (uint16_t)((u >> 16) | 0x0040u);
    return (uint16_t)(u >> 16);
}

uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Unpack element i of a lowbit buffer of the given storage width, following
 * the documented packing: 4-bit elements two per byte (element 2i in the low
 * nibble); 6-bit elements at bits [6i, 6i+6) of the little-endian bit string. */
unsigned unpack(const std::vector<uint8_t> &buf, unsigned bits, size_t i)
{
    if (bits == 16)
        return (unsigned)buf[2 * i] | ((unsigned)buf[2 * i + 1] << 8);
    if (bits == 8)
        return buf[i];
    if (bits == 4)
        return (buf[i / 2] >> (4 * (i & 1))) & 0xFu;
    size_t g = (i / 4) * 3;
    uint32_t w = (uint32_t)buf[g] | ((uint32_t)buf[g + 1] << 8) | ((uint32_t)buf[g + 2] << 16);
    return (w >> (6 * (i % 4))) & 0x3Fu;
}

/* Pack codes the same way (the inverse of unpack). */
std::vector<uint8_t> pack(const std::vector<unsigned> &codes, unsigned bits)
{
    std::vector<uint8_t> buf((codes.size() * bits + 7) / 8, 0);
    for (size_t i = 0; i < codes.size(); i++) {
        size_t bit = i * bits;
        uint32_t v = codes[i] & ((1u << bits) - 1u);
        for (unsigned b = 0; b < bits; b++)
            if (v & (1u << b))
                buf[(bit + b) / 8] |= (uint8_t)(1u << ((bit + b) % 8));
    }
    return buf;
}

void lb_convert(lowbit_dtype dt, void *dst, lowbit_dtype st, const void *src, size_t n,
                lowbit_rounding rnd, int sat)
{
    lowbit_convert_opts o;
    std::memset(&o, 0, sizeof o);
    o.rounding = rnd;
    o.saturate = sat;
    lowbit_status s = lowbit_convert(dt, dst, st, src, n, &o);
    if (s != LOWBIT_OK) {
        std::fprintf(stderr, "FATAL: lowbit_convert(%s <- %s) failed: %s: %s\n",
                     lowbit_dtype_name(dt), lowbit_dtype_name(st), lowbit_status_string(s),
                     lowbit_last_error());
        std::exit(2);
    }
}

/* ------------------------------------------------------------------------ */
/* Result accounting                                                        */
/* ------------------------------------------------------------------------ */

int g_max_examples = 5;
int g_failures = 0;

struct Report {
    std::string title;
    uint64_t cases = 0, mismatches = 0, documented = 0;
    std::string documented_note;
    std::vector<std::string> examples;

    void mismatch(const char *fmt, ...) __attribute__((format(printf, 2, 3)))
    {
        mismatches++;
        if ((int)examples.size() < g_max_examples) {
            char line[256];
            va_list ap;
            va_start(ap, fmt);
            std::vsnprintf(line, sizeof line, fmt, ap);
            va_end(ap);
            examples.push_back(line);
        }
    }

    void print()
    {
        std::printf("%-4s %s: cases=%llu mismatches=%llu", mismatches ? "FAIL" : "ok", title.c_str(),
                    (unsigned long long)cases, (unsigned long long)mismatches);
        if (documented)
            std::printf(" (documented difference applied to %llu of them: %s)",
                        (unsigned long long)documented, documented_note.c_str());
        std::printf("\n");
        for (auto &e : examples)
            std::printf("       %s\n", e.c_str());
        if (mismatches)
            g_failures++;
    }
};

/* ------------------------------------------------------------------------ */
/* Encoding comparisons                                                     */
/* ------------------------------------------------------------------------ */

enum SrcKind { SRC_F32, SRC_F16, SRC_BF16 };

const char *src_name(SrcKind s) { return s == SRC_F32 ? "f32" : s == SRC_F16 ? "f16" : "bf16"; }
lowbit_dtype src_dtype(SrcKind s) { return s == SRC_F32 ? LOWBIT_F32 : s == SRC_F16 ? LOWBIT_F16 : LOWBIT_BF16; }

/* One oracle configuration: NVIDIA function + the lowbit options that must
 * reproduce it. */
struct EncCase {
    std::string oracle;      /* NVIDIA function and its arguments */
    SrcKind src;
    lowbit_dtype dst;
    lowbit_rounding rnd;
    int sat;                 /* lowbit saturate flag */
    std::function<unsigned(uint32_t)> nv;          /* input bits -> NVIDIA code */
    /* documented lowbit code for this input, or -1 when NVIDIA is the expectation */
    std::function<int(uint32_t)> documented;
    std::string documented_note;
    /* f16/bf16 targets: when NVIDIA returns a NaN, lowbit must return a NaN,
     * payload and sign free (NVIDIA gives the canonical 0x7FFF, lowbit keeps
     * the source payload). */
    bool nan_by_class = false;
    Report rep[2];           /* [0]: exhaustive/boundary set, [1]: random f32 */
};

/* Run one case over one batch of inputs (raw bits; 16-bit types use the
 * low half).  `which` selects the report. */
void run_enc(EncCase &c, const std::vector<uint32_t> &in, int which)
{
    size_t n = in.size();
    std::vector<uint8_t> srcbuf;
    if (c.src == SRC_F32) {
        srcbuf.resize(n * 4);
        std::memcpy(srcbuf.data(), in.data(), n * 4);
    } else {
        srcbuf.resize(n * 2);
        for (size_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)in[i];
            std::memcpy(&srcbuf[2 * i], &h, 2);
        }
    }
    unsigned bits = lowbit_dtype_bits(c.dst);
    std::vector<uint8_t> out(lowbit_dtype_bytes(c.dst, n) + 1, 0xAB);
    lb_convert(c.dst, out.data(), src_dtype(c.src), srcbuf.data(), n, c.rnd, c.sat);
    if (out.back() != 0xAB) {
        std::fprintf(stderr, "FATAL: lowbit_convert wrote past lowbit_dtype_bytes(%s, %zu)\n",
                     lowbit_dtype_name(c.dst), n);
        std::exit(2);
    }
    auto dst_nan = [&](unsigned v) { return c.dst == LOWBIT_F16 ? f16_is_nan((uint16_t)v) : bf16_is_nan((uint16_t)v); };
    const int cw = bits == 16 ? 4 : 2;

    Report &r = c.rep[which];
    const int hexw = c.src == SRC_F32 ? 8 : 4;
    for (size_t i = 0; i < n; i++) {
        unsigned got = unpack(out, bits, i);
        unsigned nvc = c.nv(in[i]) & ((1u << bits) - 1u);
        if (c.nan_by_class && dst_nan(nvc)) {
            r.cases++;
            if (!dst_nan(got))
                r.mismatch("in=0x%0*x nvidia=0x%04x (NaN) lowbit=0x%04x (not NaN)", hexw, in[i], nvc, got);
            continue;
        }
        int doc = c.documented ? c.documented(in[i]) : -1;
        unsigned want = nvc;
        if (doc >= 0) {
            want = (unsigned)doc;
            r.documented++;
        }
        r.cases++;
        if (got != want) {
            if (doc >= 0)
                r.mismatch("in=0x%0*x nvidia=0x%0*x documented-lowbit=0x%0*x lowbit=0x%0*x", hexw,
                           in[i], cw, nvc, cw, want, cw, got);
            else
                r.mismatch("in=0x%0*x (%.9g) nvidia=0x%0*x lowbit=0x%0*x", hexw, in[i],
                           c.src == SRC_F32 ? (double)f32_from(in[i])
                                            : c.src == SRC_F16 ? (double)f16_to_f32((uint16_t)in[i])
                                                               : (double)f32_from(in[i] << 16),
                           cw, nvc, cw, got);
        }
    }
    r.documented_note = c.documented_note;
}

const char *rnd_name(lowbit_rounding r)
{
    return r == LOWBIT_ROUND_NEAREST_EVEN ? "nearest-even" : r == LOWBIT_ROUND_TOWARD_ZERO ? "toward-zero" : "stochastic";
}

std::vector<EncCase> build_cases()
{
    std::vector<EncCase> cases;
    const SrcKind srcs[3] = {SRC_F32, SRC_F16, SRC_BF16};

    auto title = [](EncCase &c, const char *setname) {
        char t[256];
        std::snprintf(t, sizeof t, "%s src=%s [%s] vs lowbit %s->%s %s sat=%d", c.oracle.c_str(),
                      src_name(c.src), setname, src_name(c.src), lowbit_dtype_name(c.dst), rnd_name(c.rnd),
                      c.sat);
        return std::string(t);
    };

    /* FP8: NVIDIA rounds to nearest-even only; SATFINITE or NOSAT. */
    for (int fmt = 0; fmt < 2; fmt++) {
        __nv_fp8_interpretation_t interp = fmt ? __NV_E5M2 : __NV_E4M3;
        for (int sat = 0; sat < 2; sat++) {
            __nv_saturation_t nvsat = sat ? __NV_SATFINITE : __NV_NOSAT;
            for (SrcKind s : srcs) {
                EncCase c;
                c.src = s;
                c.dst = fmt ? LOWBIT_E5M2 : LOWBIT_E4M3;
                c.rnd = LOWBIT_ROUND_NEAREST_EVEN;
                c.sat = sat;
                const char *fn = s == SRC_F32 ? "__nv_cvt_float_to_fp8"
                                 : s == SRC_F16 ? "__nv_cvt_halfraw_to_fp8"
                                                : "__nv_cvt_bfloat16raw_to_fp8";
                c.oracle = std::string(fn) + "(" + (sat ? "__NV_SATFINITE" : "__NV_NOSAT") + ", " +
                           (fmt ? "__NV_E5M2" : "__NV_E4M3") + ")";
                if (s == SRC_F32)
                    c.nv = [=](uint32_t u) { return (unsigned)__nv_cvt_float_to_fp8(f32_from(u), nvsat, interp); };
                else if (s == SRC_F16)
                    c.nv = [=](uint32_t u) {
                        __half_raw h;
                        h.x = (unsigned short)u;
                        return (unsigned)__nv_cvt_halfraw_to_fp8(h, nvsat, interp);
                    };
                else
                    c.nv = [=](uint32_t u) {
                        __nv_bfloat16_raw h;
                        h.x = (unsigned short)u;
                        return (unsigned)__nv_cvt_bfloat16raw_to_fp8(h, nvsat, interp);
                    };
                c.rep[0].title = title(c, s == SRC_F32 ? "boundary" : "all codes");
                c.rep[1].title = title(c, "random");
                cases.push_back(c);
            }
        }
    }

    /* FP6 / FP4: NVIDIA accepts cudaRoundNearest and cudaRoundZero (asserted
     * in the headers) and always saturates; lowbit must give the same codes
     * with saturate off and on. */
    struct Sub { const char *name; lowbit_dtype dt; int kind; /* 0 e2m3 1 e3m2 2 e2m1 */ };
    const Sub subs[3] = {{"__NV_E2M3", LOWBIT_E2M3, 0}, {"__NV_E3M2", LOWBIT_E3M2, 1}, {"__NV_E2M1", LOWBIT_E2M1, 2}};
    for (const Sub &sub : subs) {
        for (int rz = 0; rz < 2; rz++) {
            cudaRoundMode mode = rz ? cudaRoundZero : cudaRoundNearest;
            for (int sat = 0; sat < 2; sat++) {
                for (SrcKind s : srcs) {
                    EncCase c;
                    c.src = s;
                    c.dst = sub.dt;
                    c.rnd = rz ? LOWBIT_ROUND_TOWARD_ZERO : LOWBIT_ROUND_NEAREST_EVEN;
                    c.sat = sat;
                    bool fp4 = sub.kind == 2;
                    const char *fn = fp4 ? (s == SRC_F32 ? "__nv_cvt_float_to_fp4"
                                            : s == SRC_F16 ? "__nv_cvt_halfraw_to_fp4"
                                                           : "__nv_cvt_bfloat16raw_to_fp4")
                                         : (s == SRC_F32 ? "__nv_cvt_float_to_fp6"
                                            : s == SRC_F16 ? "__nv_cvt_halfraw_to_fp6"
                                                           : "__nv_cvt_bfloat16raw_to_fp6");
                    c.oracle = std::string(fn) + "(" + sub.name + ", " + (rz ? "cudaRoundZero" : "cudaRoundNearest") + ")";
                    if (fp4) {
                        if (s == SRC_F32)
                            c.nv = [=](uint32_t u) { return (unsigned)__nv_cvt_float_to_fp4(f32_from(u), __NV_E2M1, mode); };
                        else if (s == SRC_F16)
                            c.nv = [=](uint32_t u) {
                                __half_raw h;
                                h.x = (unsigned short)u;
                                return (unsigned)__nv_cvt_halfraw_to_fp4(h, __NV_E2M1, mode);
                            };
                        else
                            c.nv = [=](uint32_t u) {
                                __nv_bfloat16_raw h;
                                h.x = (unsigned short)u;
                                return (unsigned)__nv_cvt_bfloat16raw_to_fp4(h, __NV_E2M1, mode);
                            };
                    } else {
                        __nv_fp6_interpretation_t interp = sub.kind == 0 ? __NV_E2M3 : __NV_E3M2;
                        if (s == SRC_F32)
                            c.nv = [=](uint32_t u) { return (unsigned)__nv_cvt_float_to_fp6(f32_from(u), interp, mode); };
                        else if (s == SRC_F16)
                            c.nv = [=](uint32_t u) {
                                __half_raw h;
                                h.x = (unsigned short)u;
                                return (unsigned)__nv_cvt_halfraw_to_fp6(h, interp, mode);
                            };
                        else
                            c.nv = [=](uint32_t u) {
                                __nv_bfloat16_raw h;
                                h.x = (unsigned short)u;
                                return (unsigned)__nv_cvt_bfloat16raw_to_fp6(h, interp, mode);
                            };
                    }
                    c.rep[0].title = title(c, s == SRC_F32 ? "boundary" : "all codes");
                    c.rep[1].title = title(c, "random");
                    cases.push_back(c);
                }
            }
        }
    }

    /* E8M0: cudaRoundZero against lowbit toward-zero, SATFINITE and NOSAT.
     * NVIDIA has no half -> e8m0 entry point; for f16 sources the oracle is
     * __nv_cvt_float_to_e8m0 of the (exact) f32 value of the half.
     * cudaRoundPosInf has no lowbit_rounding counterpart and is not compared.
     *
     * Documented difference: lowbit maps +-0 and negative inputs to 0xFF
     * (NaN), as ml_dtypes does; NVIDIA ignores the sign (and gives 0x00 for
     * zero).  Only positive nonzero inputs and NaNs are compared with NVIDIA;
     * for the others the test demands lowbit's documented 0xFF. */
    for (int sat = 0; sat < 2; sat++) {
        __nv_saturation_t nvsat = sat ? __NV_SATFINITE : __NV_NOSAT;
        for (SrcKind s : srcs) {
            EncCase c;
            c.src = s;
            c.dst = LOWBIT_E8M0;
            c.rnd = LOWBIT_ROUND_TOWARD_ZERO;
            c.sat = sat;
            const char *fn = s == SRC_F32 ? "__nv_cvt_float_to_e8m0"
                             : s == SRC_F16 ? "__nv_cvt_float_to_e8m0(f16 value)"
                                            : "__nv_cvt_bfloat16raw_to_e8m0";
            c.oracle = std::string(fn) + "(" + (sat ? "__NV_SATFINITE" : "__NV_NOSAT") + ", cudaRoundZero)";
            if (s == SRC_F32) {
                c.nv = [=](uint32_t u) { return (unsigned)__nv_cvt_float_to_e8m0(f32_from(u), nvsat, cudaRoundZero); };
                c.documented = [](uint32_t u) {
                    return (!f32_is_nan(u) && ((u >> 31) || u == 0)) ? 0xFF : -1;
                };
            } else if (s == SRC_F16) {
                c.nv = [=](uint32_t u) {
                    return (unsigned)__nv_cvt_float_to_e8m0(f16_to_f32((uint16_t)u), nvsat, cudaRoundZero);
                };
                c.documented = [](uint32_t u) {
                    uint16_t h = (uint16_t)u;
                    return (!f16_is_nan(h) && ((h >> 15) || h == 0)) ? 0xFF : -1;
                };
            } else {
                c.nv = [=](uint32_t u) {
                    __nv_bfloat16_raw h;
                    h.x = (unsigned short)u;
                    return (unsigned)__nv_cvt_bfloat16raw_to_e8m0(h, nvsat, cudaRoundZero);
                };
                c.documented = [](uint32_t u) {
                    uint16_t h = (uint16_t)u;
                    return (!bf16_is_nan(h) && ((h >> 15) || h == 0)) ? 0xFF : -1;
                };
            }
            c.documented_note = "+-0 and negative inputs -> 0xFF in lowbit (ml_dtypes rule), NVIDIA ignores the sign";
            c.rep[0].title = title(c, s == SRC_F32 ? "boundary" : "all codes");
            c.rep[1].title = title(c, "random");
            cases.push_back(c);
        }
    }

    /* f16 and bf16 encoders: cuda_fp16.h / cuda_bf16.h host conversions
     * __float2half_rn/_rz and __float2bfloat16_rn/_rz.  f16 -> bf16 and
     * bf16 -> f16 go through the exact f32 value of the source (one rounding). */
    for (int tb = 0; tb < 2; tb++) {
        for (int rz = 0; rz < 2; rz++) {
            for (SrcKind s : srcs) {
                if ((tb == 0 && s == SRC_F16) || (tb == 1 && s == SRC_BF16))
                    continue; /* same-type copy: not a conversion */
                EncCase c;
                c.src = s;
                c.dst = tb ? LOWBIT_BF16 : LOWBIT_F16;
                c.rnd = rz ? LOWBIT_ROUND_TOWARD_ZERO : LOWBIT_ROUND_NEAREST_EVEN;
                c.sat = 0;
                c.nan_by_class = true;
                std::string fn = tb ? (rz ? "__float2bfloat16_rz" : "__float2bfloat16_rn")
                                    : (rz ? "__float2half_rz" : "__float2half_rn");
                c.oracle = s == SRC_F32 ? fn : fn + "(exact f32 of " + src_name(s) + ")";
                auto tof32 = [s](uint32_t u) {
                    return s == SRC_F32 ? f32_from(u) : s == SRC_F16 ? f16_to_f32((uint16_t)u) : f32_from(u << 16);
                };
                if (tb)
                    c.nv = [=](uint32_t u) {
                        float f = tof32(u);
                        __nv_bfloat16_raw r = rz ? (__nv_bfloat16_raw)__float2bfloat16_rz(f)
                                                 : (__nv_bfloat16_raw)__float2bfloat16_rn(f);
                        return (unsigned)r.x;
                    };
                else
                    c.nv = [=](uint32_t u) {
                        float f = tof32(u);
                        __half_raw r = rz ? (__half_raw)__float2half_rz(f) : (__half_raw)__float2half_rn(f);
                        return (unsigned)r.x;
                    };
                c.rep[0].title = title(c, s == SRC_F32 ? "boundary" : "all codes");
                c.rep[1].title = title(c, "random");
                cases.push_back(c);
            }
        }
    }
    return cases;
}

/* ------------------------------------------------------------------------ */
/* f32 boundary inputs                                                      */
/* ------------------------------------------------------------------------ */

struct FmtDef { int ebits, mbits, bias; unsigned max_code; };

/* Magnitude of a code of a sign/exponent/mantissa format, from its definition. */
double mf_value(const FmtDef &f, unsigned code)
{
    unsigned e = code >> f.mbits, m = code & ((1u << f.mbits) - 1u);
    if (e == 0)
        return std::ldexp((double)m, 1 - f.bias - f.mbits);
    return std::ldexp((double)((1u << f.mbits) | m), (int)e - f.bias - f.mbits);
}

void add_around(std::vector<uint32_t> &v, double x)
{
    if (x > (double)FLT_MAX)
        return; /* beyond f32 (bf16's max + ulp): nothing to probe */
    float f = (float)x;
    if ((double)f != x) {
        std::fprintf(stderr, "FATAL: boundary %.17g is not an f32\n", x);
        std::exit(2);
    }
    uint32_t b = f32_bits(f) & 0x7FFFFFFFu;
    for (int d = -1; d <= 1; d++) {
        if (b == 0 && d < 0)
            continue;
        uint32_t m = b + (uint32_t)d;
        if (m > 0x7F800000u)
            continue;
        v.push_back(m);
        v.push_back(m | 0x80000000u);
    }
}

std::vector<uint32_t> boundary_inputs()
{
    std::vector<uint32_t> v;
    const FmtDef defs[] = {
        {4, 3, 7, 0x7E},   /* E4M3 */
        {5, 2, 15, 0x7B},  /* E5M2 */
        {2, 3, 1, 0x1F},   /* E2M3 */
        {3, 2, 3, 0x1F},   /* E3M2 */
        {2, 1, 1, 0x7},    /* E2M1 */
        {5, 10, 15, 0x7BFF}, /* f16 */
        {8, 7, 127, 0x7F7F}, /* bf16 */
    };
    for (const FmtDef &f : defs) {
        for (unsigned c = 0; c <= f.max_code; c++) {
            double a = mf_value(f, c);
            add_around(v, a);
            if (c < f.max_code)
                add_around(v, 0.5 * (a + mf_value(f, c + 1)));
        }
        double mx = mf_value(f, f.max_code);
        double ulp = mx - mf_value(f, f.max_code - 1);
        add_around(v, mx + 0.5 * ulp); /* overflow threshold of round-to-nearest */
        add_around(v, mx + ulp);
        add_around(v, 2 * mx);
    }
    /* E8M0: every power of two 2^-127..2^127 and the midpoints 1.5 * 2^e;
     * also every f32 power of two (2^-149..2^127) with its neighbours. */
    for (int e = -149; e <= 127; e++) {
        add_around(v, std::ldexp(1.0, e));
        if (e >= -148 && e < 127)
            add_around(v, std::ldexp(1.5, e));
    }
    /* f32 specials */
    const uint32_t sp[] = {0x00000000u, 0x00000001u, 0x00000002u, 0x003FFFFFu, 0x00400000u, 0x007FFFFFu,
                           0x00800000u, 0x00800001u, 0x7F7FFFFFu, 0x7F7FFFFEu, 0x7F800000u, 0x7F800001u,
                           0x7FA00000u, 0x7FBFFFFFu, 0x7FC00000u, 0x7FC00001u, 0x7FE00000u, 0x7FFFFFFFu};
    for (uint32_t s : sp) {
        v.push_back(s);
        v.push_back(s | 0x80000000u);
    }
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
}

/* ------------------------------------------------------------------------ */
/* Decoding comparisons                                                     */
/* ------------------------------------------------------------------------ */

/* Compare lowbit's decode of every code of `dt` into f16, f32 and bf16 with
 * NVIDIA's decode to half (nv gives the half bits of a code).  f32 and bf16
 * expectations are the exact f32/bf16 forms of NVIDIA's half. NaN results
 * are compared for NaN-ness only. */
void decode_to_half(const char *oracle, lowbit_dtype dt, unsigned ncodes,
                    const std::function<uint16_t(unsigned)> &nv)
{
    unsigned bits = lowbit_dtype_bits(dt);
    std::vector<unsigned> codes(ncodes);
    for (unsigned c = 0; c < ncodes; c++)
        codes[c] = c;
    std::vector<uint8_t> src = pack(codes, bits);

    std::vector<uint16_t> h(ncodes), b(ncodes);
    std::vector<uint32_t> f(ncodes);
    lb_convert(LOWBIT_F16, h.data(), dt, src.data(), ncodes, LOWBIT_ROUND_NEAREST_EVEN, 0);
    lb_convert(LOWBIT_F32, f.data(), dt, src.data(), ncodes, LOWBIT_ROUND_NEAREST_EVEN, 0);
    lb_convert(LOWBIT_BF16, b.data(), dt, src.data(), ncodes, LOWBIT_ROUND_NEAREST_EVEN, 0);

    Report rh, rf, rb;
    rh.title = std::string(oracle) + " all " + std::to_string(ncodes) + " codes vs lowbit " + lowbit_dtype_name(dt) + "->f16";
    rf.title = std::string(oracle) + " all " + std::to_string(ncodes) + " codes vs lowbit " + lowbit_dtype_name(dt) + "->f32 (via the half's exact f32 value)";
    rb.title = std::string(oracle) + " all " + std::to_string(ncodes) + " codes vs lowbit " + lowbit_dtype_name(dt) + "->bf16 (via the half's exact value)";
    for (unsigned c = 0; c < ncodes; c++) {
        uint16_t want = nv(c);
        bool nan = f16_is_nan(want);
        rh.cases++;
        if (nan ? !f16_is_nan(h[c]) : h[c] != want)
            rh.mismatch("code=0x%02x nvidia=0x%04x lowbit=0x%04x", c, want, h[c]);
        uint32_t wf = f32_bits(f16_to_f32(want));
        rf.cases++;
        if (nan ? !f32_is_nan(f[c]) : f[c] != wf)
            rf.mismatch("code=0x%02x nvidia(half)=0x%04x -> f32 0x%08x lowbit=0x%08x", c, want, wf, f[c]);
        uint16_t wb = f32_to_bf16_exact(wf);
        rb.cases++;
        if (nan ? !bf16_is_nan(b[c]) : b[c] != wb)
            rb.mismatch("code=0x%02x nvidia(half)=0x%04x -> bf16 0x%04x lowbit=0x%04x", c, want, wb, b[c]);
    }
    rh.print();
    rf.print();
    rb.print();
}

void decode_e8m0()
{
    std::vector<uint8_t> src(256);
    for (unsigned c = 0; c < 256; c++)
        src[c] = (uint8_t)c;
    std::vector<uint16_t> b(256), h(256);
    std::vector<uint32_t> f(256);
    lb_convert(LOWBIT_BF16, b.data(), LOWBIT_E8M0, src.data(), 256, LOWBIT_ROUND_NEAREST_EVEN, 0);
    lb_convert(LOWBIT_F32, f.data(), LOWBIT_E8M0, src.data(), 256, LOWBIT_ROUND_NEAREST_EVEN, 0);
    lb_convert(LOWBIT_F16, h.data(), LOWBIT_E8M0, src.data(), 256, LOWBIT_ROUND_NEAREST_EVEN, 0);

    Report rb, rf, rh;
    rb.title = "__nv_cvt_e8m0_to_bf16raw all 256 codes vs lowbit e8m0->bf16";
    rf.title = "__nv_cvt_e8m0_to_bf16raw all 256 codes vs lowbit e8m0->f32 (via the bf16's exact value)";
    rh.title = "__float2half_rn(__nv_cvt_e8m0_to_bf16raw) all 256 codes vs lowbit e8m0->f16 (one rounding)";
    for (unsigned c = 0; c < 256; c++) {
        uint16_t want = __nv_cvt_e8m0_to_bf16raw((__nv_fp8_storage_t)c).x;
        bool nan = bf16_is_nan(want);
        rb.cases++;
        if (nan ? !bf16_is_nan(b[c]) : b[c] != want)
            rb.mismatch("code=0x%02x nvidia=0x%04x lowbit=0x%04x", c, want, b[c]);
        uint32_t wf = (uint32_t)want << 16;
        rf.cases++;
        if (nan ? !f32_is_nan(f[c]) : f[c] != wf)
            rf.mismatch("code=0x%02x nvidia(bf16)=0x%04x lowbit=0x%08x", c, want, f[c]);
        __half_raw hr = (__half_raw)__float2half_rn(f32_from(wf));
        uint16_t wh = hr.x;
        rh.cases++;
        if (nan ? !f16_is_nan(h[c]) : h[c] != wh)
            rh.mismatch("code=0x%02x nvidia(bf16)=0x%04x -> half 0x%04x lowbit=0x%04x", c, want, wh, h[c]);
    }
    rb.print();
    rf.print();
    rh.print();
}

} // namespace

int main(int argc, char **argv)
{
    uint64_t nrandom = 10u << 20; /* 10,485,760 */
    uint64_t seed = 0x6C6F77626974ull; /* "lowbit" */
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--random") && i + 1 < argc)
            nrandom = std::strtoull(argv[++i], nullptr, 0);
        else if (!std::strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = std::strtoull(argv[++i], nullptr, 0);
        else if (!std::strcmp(argv[i], "--examples") && i + 1 < argc)
            g_max_examples = std::atoi(argv[++i]);
        else {
            std::fprintf(stderr, "usage: %s [--random N] [--seed S] [--examples K]\n", argv[0]);
            return 2;
        }
    }
    auto t0 = std::chrono::steady_clock::now();
#ifdef CUDART_VERSION
    std::printf("NVIDIA oracle: CUDA %d.%d host conversions (cuda_fp8.h/cuda_fp6.h/cuda_fp4.h) vs lowbit %d.%d.%d\n",
                CUDART_VERSION / 1000, (CUDART_VERSION % 1000) / 10, LOWBIT_VERSION_MAJOR, LOWBIT_VERSION_MINOR,
                LOWBIT_VERSION_PATCH);
#else
    std::printf("NVIDIA oracle: CUDA host conversions (cuda_fp8.h/cuda_fp6.h/cuda_fp4.h) vs lowbit %d.%d.%d\n",
                LOWBIT_VERSION_MAJOR, LOWBIT_VERSION_MINOR, LOWBIT_VERSION_PATCH);
#endif
    std::printf("note: __nv_cvt_*_to_e8m0 with cudaRoundPosInf is not compared (no lowbit_rounding counterpart)\n");

    /* ---- decoding ---- */
    decode_to_half("__nv_cvt_fp8_to_halfraw(__NV_E4M3)", LOWBIT_E4M3, 256,
                   [](unsigned c) { return (uint16_t)__nv_cvt_fp8_to_halfraw((__nv_fp8_storage_t)c, __NV_E4M3).x; });
    decode_to_half("__nv_cvt_fp8_to_halfraw(__NV_E5M2)", LOWBIT_E5M2, 256,
                   [](unsigned c) { return (uint16_t)__nv_cvt_fp8_to_halfraw((__nv_fp8_storage_t)c, __NV_E5M2).x; });
    decode_to_half("__nv_cvt_fp6_to_halfraw(__NV_E2M3)", LOWBIT_E2M3, 64,
                   [](unsigned c) { return (uint16_t)__nv_cvt_fp6_to_halfraw((__nv_fp6_storage_t)c, __NV_E2M3).x; });
    decode_to_half("__nv_cvt_fp6_to_halfraw(__NV_E3M2)", LOWBIT_E3M2, 64,
                   [](unsigned c) { return (uint16_t)__nv_cvt_fp6_to_halfraw((__nv_fp6_storage_t)c, __NV_E3M2).x; });
    decode_to_half("__nv_cvt_fp4_to_halfraw(__NV_E2M1)", LOWBIT_E2M1, 16,
                   [](unsigned c) { return (uint16_t)__nv_cvt_fp4_to_halfraw((__nv_fp4_storage_t)c, __NV_E2M1).x; });
    decode_e8m0();

    /* ---- encoding ---- */
    std::vector<EncCase> cases = build_cases();

    std::vector<uint32_t> all16(65536);
    for (uint32_t i = 0; i < 65536; i++)
        all16[i] = i;
    std::vector<uint32_t> bnd = boundary_inputs();
    std::printf("inputs: f16 65536 (all), bf16 65536 (all), f32 boundary %zu, f32 random %llu (seed 0x%llx)\n",
                bnd.size(), (unsigned long long)nrandom, (unsigned long long)seed);

    for (EncCase &c : cases)
        run_enc(c, c.src == SRC_F32 ? bnd : all16, 0);

    uint64_t state = seed;
    const uint64_t chunk = 1u << 20;
    std::vector<uint32_t> rnd;
    for (uint64_t done = 0; done < nrandom; done += chunk) {
        uint64_t n = nrandom - done < chunk ? nrandom - done : chunk;
        rnd.resize(n);
        for (uint64_t i = 0; i < n; i += 2) {
            uint64_t r = splitmix64(&state);
            rnd[i] = (uint32_t)r;
            if (i + 1 < n)
                rnd[i + 1] = (uint32_t)(r >> 32);
        }
        for (EncCase &c : cases)
            if (c.src == SRC_F32)
                run_enc(c, rnd, 1);
    }

    uint64_t total = 0;
    for (EncCase &c : cases) {
        c.rep[0].print();
        total += c.rep[0].cases;
        if (c.src == SRC_F32 && nrandom) {
            c.rep[1].print();
            total += c.rep[1].cases;
        }
    }

    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s: %d comparison(s) failed; %llu encode cases in %zu configurations, %.1f s\n",
                g_failures ? "FAIL" : "PASS", g_failures, (unsigned long long)total, cases.size(), secs);
    return g_failures ? 1 : 0;
}
