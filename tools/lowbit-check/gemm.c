/*
 * gemm.c - GEMM: the reference against the harness's own model of the
 * semantics, and every registered GEMM kernel against the reference.
 *
 * For every pair family of lowbit_gemm (FP8 with tensor/row/block scales,
 * MX in several element combinations, NVFP4, INT x INT with and without
 * zero points, f32/f16/bf16 x INT), over awkward shapes (M, N of 1, primes,
 * the microtile and task tile +-1; K of one block, of several, and for
 * whole-row scales odd lengths), wide row strides and leading dimensions,
 * and data that is normal, spread over many binades, full of outliers,
 * edge blocks (zero, NaN, Inf, subnormal, saturating), or random bits in
 * the codes, scales and zero points themselves:
 *   selfcheck:model  the reference against model_gemm below, which reads
 *                    the operands with the harness's own unpacking and
 *                    value tables (model.c) and follows docs/semantics.md
 *   kernel rows      each kernel on B as given and on B prepacked by its
 *                    own pack function (split in two calls), C full of junk
 *                    (beta = 0 must not read it), the gap between N and
 *                    ldc untouched, guards intact, on 1, 2, 3 or 8 threads:
 *                    every output bit for bit equal to the reference;
 *                    a fast kernel instead within its stated bound of an
 *                    f64 GEMM (and NaN / Inf exactly where the reference
 *                    has them).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "inputs.h"
#include "model.h"
#include "qcheck.h"

/* ---- the pairs ---------------------------------------------------------- */

typedef struct gemm_pair {
    char name[40];
    lowbit_format a, b;
} gemm_pair;

static gemm_pair pairs[48];
static size_t npairs;

static lowbit_format fmt_raw(lowbit_dtype elem, lowbit_dtype scale, uint32_t br, uint32_t bc, uint32_t flags)
{
    lowbit_format f;
    memset(&f, 0, sizeof f);
    f.elem = elem;
    f.scale_type = scale;
    f.block_rows = br;
    f.block_cols = bc;
    f.flags = flags;
    return f;
}

static void add_pair(const char *name, lowbit_format a, lowbit_format b)
{
    gemm_pair *p = &pairs[npairs++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->a = a;
    p->b = b;
}

static void gemm_pairs_init(void)
{
    if (npairs)
        return;
    const lowbit_dtype E4 = LOWBIT_E4M3, E5 = LOWBIT_E5M2, F32 = LOWBIT_F32, F16 = LOWBIT_F16, BF = LOWBIT_BF16;
    add_pair("fp8 tensor x tensor", lowbit_format_fp8_tensor(E4), lowbit_format_fp8_tensor(E4));
    add_pair("fp8 row x row e5m2", lowbit_format_fp8_row(E5), lowbit_format_fp8_row(E4));
    add_pair("fp8 row x tensor", lowbit_format_fp8_row(E4), lowbit_format_fp8_tensor(E5));
    add_pair("fp8 1x128 x 128x128", lowbit_format_fp8_block(E4, 1, 128), lowbit_format_fp8_block(E4, 128, 128));
    add_pair("fp8 1x128 x 1x128 fnuz", lowbit_format_fp8_block(LOWBIT_E4M3FNUZ, 1, 128),
             lowbit_format_fp8_block(LOWBIT_E5M2FNUZ, 1, 128));
    add_pair("mxfp8 x mxfp8", lowbit_format_mx(E4, LOWBIT_SCALE_FLOOR), lowbit_format_mx(E4, LOWBIT_SCALE_RCEIL));
    add_pair("mxfp8 e5m2 x e4m3", lowbit_format_mx(E5, LOWBIT_SCALE_FLOOR), lowbit_format_mx(E4, LOWBIT_SCALE_FLOOR));
    add_pair("mxfp4 x mxfp4", lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR),
             lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_EVEN));
    add_pair("mxfp4 x mxfp8", lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR), lowbit_format_mx(E4, LOWBIT_SCALE_FLOOR));
    add_pair("mxfp8 x mxfp4", lowbit_format_mx(E4, LOWBIT_SCALE_CEIL), lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR));
    add_pair("mxfp6 e2m3 x e2m3", lowbit_format_mx(LOWBIT_E2M3, LOWBIT_SCALE_FLOOR),
             lowbit_format_mx(LOWBIT_E2M3, LOWBIT_SCALE_FLOOR));
    add_pair("mxfp6 e3m2 x e2m3", lowbit_format_mx(LOWBIT_E3M2, LOWBIT_SCALE_FLOOR),
             lowbit_format_mx(LOWBIT_E2M3, LOWBIT_SCALE_FLOOR));
    add_pair("mxint8 x mxint8", lowbit_format_mx(LOWBIT_INT8, LOWBIT_SCALE_FLOOR),
             lowbit_format_mx(LOWBIT_INT8, LOWBIT_SCALE_FLOOR));
    add_pair("mxint8 x mxfp4", lowbit_format_mx(LOWBIT_INT8, LOWBIT_SCALE_FLOOR),
             lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR));
    add_pair("mx 2-d blocks", fmt_raw(E4, LOWBIT_E8M0, 2, 32, 0), lowbit_format_mx(E4, LOWBIT_SCALE_FLOOR));
    add_pair("nvfp4 x nvfp4", lowbit_format_nvfp4(), lowbit_format_nvfp4());
    add_pair("w8a8 row x row", lowbit_format_int_group(LOWBIT_INT8, 0, F32, 0),
             lowbit_format_int_group(LOWBIT_INT8, 0, F32, 0));
    add_pair("w8a8 g32 f16 x row bf16", lowbit_format_int_group(LOWBIT_INT8, 32, F16, 0),
             lowbit_format_int_group(LOWBIT_INT8, 0, BF, 0));
    add_pair("w8a8 zp g32 x row", lowbit_format_int_group(LOWBIT_INT8, 32, F32, 1),
             lowbit_format_int_group(LOWBIT_INT8, 0, F32, 0));
    add_pair("w4a8 row x int4 g32", lowbit_format_int_group(LOWBIT_INT8, 0, F32, 0),
             lowbit_format_int_group(LOWBIT_INT4, 32, F16, 0));
    add_pair("w4a8 row x uint4 zp g128", lowbit_format_int_group(LOWBIT_INT8, 0, F32, 0),
             lowbit_format_int_group(LOWBIT_UINT4, 128, BF, 1));
    add_pair("w4a8 g64 x int4 zp g64", lowbit_format_int_group(LOWBIT_INT8, 64, F16, 0),
             lowbit_format_int_group(LOWBIT_INT4, 64, F32, 1));
    add_pair("int 2-d blocks", fmt_raw(LOWBIT_INT8, F32, 4, 8, 0), lowbit_format_int_group(LOWBIT_INT4, 32, F16, 0));
    add_pair("w4a16 bf16 x uint4 zp g128", lowbit_format_plain(BF), lowbit_format_int_group(LOWBIT_UINT4, 128, BF, 1));
    add_pair("w4a16 f16 x int4 g32", lowbit_format_plain(F16), lowbit_format_int_group(LOWBIT_INT4, 32, F16, 0));
    add_pair("w4a16 f32 x uint4 zp row", lowbit_format_plain(F32), lowbit_format_int_group(LOWBIT_UINT4, 0, F32, 1));
    add_pair("w8a16 bf16 x int8 g64", lowbit_format_plain(BF), lowbit_format_int_group(LOWBIT_INT8, 64, BF, 0));
}

/* ---- operands ----------------------------------------------------------- */

typedef struct operand {
    lowbit_qtensor q;
    qmatrix src;     /* wide plain operands point into it */
    void *bufs[3];
} operand;

static size_t granule_up(lowbit_dtype t, size_t n)
{
    size_t g = hx_granule(t);
    return (n + g - 1) / g * g;
}

/* rows x cols of format f: quantized by the library from a test matrix,
 * row stride widened by `pad`; junk: random bits in the codes (and, when
 * 2, in the scales and zero points too). */
static void operand_make(operand *o, const lowbit_format *f, size_t rows, size_t cols, size_t pad, int dist,
                         int junk, rng *g)
{
    memset(o, 0, sizeof *o);
    int wide = f->scale_type == LOWBIT_DTYPE_COUNT && hx_bits(f->elem) >= 16;
    lowbit_dtype st = wide ? f->elem : LOWBIT_F32;
    qmatrix_make(&o->src, f, st, rows, cols, cols + pad, dist, g);
    if (wide) {
        lowbit_qtensor *q = &o->q;
        q->format = *f;
        q->rows = rows;
        q->cols = cols;
        q->row_stride = cols + pad;
        q->data = o->src.bytes;
        q->data_bytes = hx_bytes(st, rows ? (rows - 1) * (cols + pad) + cols : 0);
        q->tensor_scale = 1.0f;
        return;
    }
    lowbit_qtensor *q = &o->q;
    lowbit_qtensor_init(q, f, rows, cols);
    q->row_stride = granule_up(f->elem, cols + pad);
    q->data_bytes = hx_bytes(f->elem, rows ? (rows - 1) * q->row_stride + cols : 0);
    o->bufs[0] = q->data = calloc(1, q->data_bytes + 1);
    o->bufs[1] = q->scales = q->scales_bytes ? calloc(1, q->scales_bytes) : NULL;
    o->bufs[2] = q->zero_points = q->zero_points_bytes ? calloc(1, q->zero_points_bytes) : NULL;
    if (lowbit_quantize(q, LOWBIT_F32, o->src.bytes, cols + pad, NULL) != LOWBIT_OK)
        fprintf(stderr, "lowbit-check: internal: gemm operand: %s\n", lowbit_last_error());
    if (junk) {
        uint8_t *d = q->data;
        for (size_t i = 0; i < q->data_bytes; i++)
            d[i] = (uint8_t)rng_u32(g);
    }
    if (junk == 2) {
        for (size_t i = 0; i < q->scales_bytes; i++)
            ((uint8_t *)q->scales)[i] = (uint8_t)rng_u32(g);
        for (size_t i = 0; i < q->zero_points_bytes; i++)
            ((uint8_t *)q->zero_points)[i] = (uint8_t)rng_u32(g);
        if (f->flags & LOWBIT_FMT_TENSOR_SCALE)
            q->tensor_scale = ldexpf((float)rng_normal(g), (int)rng_below(g, 20) - 10);
    }
}

static void operand_free(operand *o)
{
    for (int i = 0; i < 3; i++)
        free(o->bufs[i]);
    qmatrix_free(&o->src);
}

/* ---- the model ---------------------------------------------------------- */

/* Integer-valued element types and the power of two of their unit. */
static int model_int_unit(const lowbit_format *f, int *unit_log2)
{
    switch (f->elem) {
    case LOWBIT_E2M1: *unit_log2 = -1; return 1;
    case LOWBIT_E2M3: *unit_log2 = -3; return 1;
    case LOWBIT_INT8: *unit_log2 = f->scale_type == LOWBIT_E8M0 ? -6 : 0; return 1;
    case LOWBIT_INT4:
    case LOWBIT_UINT4: *unit_log2 = 0; return 1;
    default: return 0;
    }
}

static size_t model_block(const lowbit_qtensor *q, size_t r, size_t k)
{
    size_t br, bc, gr, gc;
    q_grid(q, &br, &bc, &gr, &gc);
    return (r / br) * gc + k / bc;
}

/* Element (r, k) as an exact double, zero point subtracted. */
static double model_elem(const lowbit_qtensor *q, size_t r, size_t k)
{
    double v = mdl_value(q->format.elem, q_elem_code(q, r, k));
    if (q->format.elem == LOWBIT_INT8 && q->format.scale_type == LOWBIT_E8M0)
        v = ldexp(v, -6); /* MXINT8: 1.6 fixed point */
    if (q->format.flags & LOWBIT_FMT_ZERO_POINT)
        v -= mdl_value(q->format.elem, q_zp_code(q, model_block(q, r, k)));
    return v;
}

static float model_scale(const lowbit_qtensor *q, size_t r, size_t k)
{
    if (q->format.scale_type == LOWBIT_DTYPE_COUNT)
        return 1.0f;
    uint32_t c = q_scale_code(q, model_block(q, r, k));
    return q->format.scale_type == LOWBIT_F32 ? f32_from_bits(c) : (float)mdl_value(q->format.scale_type, c);
}

static size_t model_kblock(const lowbit_format *f, size_t K)
{
    return f->scale_type == LOWBIT_DTYPE_COUNT || f->block_cols == 0 ? K : f->block_cols;
}

static uint32_t model_out(lowbit_dtype t, float x)
{
    if (isnan(x))
        return t == LOWBIT_F32 ? 0x7FC00000u : t == LOWBIT_F16 ? 0x7E00u : 0x7FC0u;
    return mdl_encode(t, f32_bits(x), MDL_NE, 0, 0);
}

/* C element (m, n) by docs/semantics.md, from the harness's own readers. */
static uint32_t model_gemm(const lowbit_qtensor *a, const lowbit_qtensor *b, size_t m, size_t n, float alpha,
                           float beta, lowbit_dtype ct, uint32_t c_old)
{
    size_t K = a->cols;
    size_t la = model_kblock(&a->format, K), lb = model_kblock(&b->format, K);
    size_t L = la < lb ? la : lb;
    int ua, ub;
    int integer = model_int_unit(&a->format, &ua) && model_int_unit(&b->format, &ub);
    float acc = 0.0f;
    for (size_t k0 = 0; k0 < K; k0 += L) {
        float d;
        if (integer) {
            int64_t sum = 0;
            for (size_t k = k0; k < k0 + L; k++)
                sum += (int64_t)ldexp(model_elem(a, m, k), -ua) * (int64_t)ldexp(model_elem(b, n, k), -ub);
            d = ldexpf((float)sum, ua + ub);
        } else {
            d = 0.0f;
            for (size_t k = k0; k < k0 + L; k++)
                d = fmaf((float)model_elem(a, m, k), (float)model_elem(b, n, k), d);
        }
        float s = model_scale(a, m, k0) * model_scale(b, n, k0);
        acc = fmaf(d, s, acc);
    }
    float ta = (a->format.flags & LOWBIT_FMT_TENSOR_SCALE) ? a->tensor_scale : 1.0f;
    float tb = (b->format.flags & LOWBIT_FMT_TENSOR_SCALE) ? b->tensor_scale : 1.0f;
    float t = alpha * ta * tb * acc;
    if (beta != 0.0f)
        t = fmaf(beta, ct == LOWBIT_F32 ? f32_from_bits(c_old) : (float)mdl_value(ct, c_old), t);
    return model_out(ct, t);
}

/* ---- running a kernel ---------------------------------------------------- */

typedef struct gemm_call {
    const lb_kernel *k;
    lb_gemm_job *j;
    lowbit_status st;
} gemm_call;

static void gemm_tramp(void *p)
{
    gemm_call *c = p;
    c->st = lb_run_gemm(c->k, c->j);
}

typedef struct pack_call {
    const lb_kernel *k;
    const lb_gemm_job *j;
    void *dst;
    size_t split;
} pack_call;

static void pack_tramp(void *p)
{
    pack_call *c = p;
    c->k->gemm_pack(c->j, c->dst, 0, c->split);
    if (c->split < c->j->N)
        c->k->gemm_pack(c->j, c->dst, c->split, c->j->N);
}

/* Run k on job (C taken from c_init), into a fresh guarded C; 0 on a clean
 * run with the ldc gaps untouched. */
static int run_gemm_kernel(check_row *r, const lb_kernel *k, lb_gemm_job job, const uint8_t *c_init, size_t c_bytes,
                           gbuf *out, int prepack, const char *ctx)
{
    gbuf packed;
    memset(&packed, 0, sizeof packed);
    gbuf_alloc(out, c_bytes, 4);
    memcpy(out->p, c_init, c_bytes);
    job.c = out->p;
    if (prepack && k->gemm_pack) {
        size_t bytes = k->gemm_pack_size(&job);
        gbuf_alloc(&packed, bytes, 0);
        gbuf_junk(&packed, 7);
        size_t nr = k->gemm_pack_nr ? k->gemm_pack_nr : 1;
        size_t split = job.N > nr ? (job.N / 2 + nr - 1) / nr * nr : job.N;
        if (split > job.N)
            split = job.N;
        pack_call pc = {k, &job, packed.p, split};
        int sig = crash_call(pack_tramp, &pc);
        if (sig) {
            r->crashes++;
            row_event(r, "%s: %s packing B crashed with %s", ctx, k->name, signal_name(sig));
            gbuf_free(&packed);
            gbuf_free(out);
            return -1;
        }
        if (gbuf_verify(&packed, r, "packed B", ctx)) {
            gbuf_free(&packed);
            gbuf_free(out);
            return -1;
        }
        job.packed = packed.p;
    }
    gemm_call c = {k, &job, LOWBIT_OK};
    int sig = crash_call(gemm_tramp, &c);
    int bad = 0;
    if (sig) {
        r->crashes++;
        row_event(r, "%s: %s crashed with %s", ctx, k->name, signal_name(sig));
        bad = 1;
    } else if (c.st != LOWBIT_OK) {
        r->mismatches++;
        row_event(r, "%s: %s returned %s (%s)", ctx, k->name, lowbit_status_string(c.st), lowbit_last_error());
        bad = 1;
    } else {
        bad |= gbuf_verify(out, r, "C", ctx);
        /* the gap between N and ldc keeps its old bytes */
        size_t eb = hx_bytes(job.c_type, 1);
        for (size_t m = 0; m < job.M && !bad; m++)
            if (memcmp(out->p + (m * job.ldc + job.N) * eb, c_init + (m * job.ldc + job.N) * eb,
                       m + 1 < job.M ? (job.ldc - job.N) * eb : 0) != 0) {
                r->guards++;
                row_event(r, "%s: %s wrote into C between N and ldc (row %zu)", ctx, k->name, m);
                bad = 1;
            }
    }
    if (packed.base)
        gbuf_free(&packed);
    if (bad)
        gbuf_free(out);
    return bad ? -1 : 0;
}

/* --inject-fault: flip a bit of a C element inside the compared region. */
static void inject_c(const lb_gemm_job *j, void *c)
{
    inject_fault(j->c_type, c, 2 * ((j->M / 2) * j->ldc + j->N / 2) + 1);
}

/* ---- the checks ---------------------------------------------------------- */

typedef struct gemm_shape {
    size_t m, n, kmul;
} gemm_shape;

/* kmul: K in units of the pair's K quantum (0: odd lengths for whole-row pairs). */
static const gemm_shape shapes_all[] = {
    {1, 1, 1}, {5, 17, 2}, {13, 33, 1}, {7, 49, 3}, {6, 16, 1}, {49, 3, 2}, {2, 257, 1}, {50, 40, 2}, {3, 5, 0},
};

static size_t kquantum(const gemm_pair *p)
{
    size_t a = p->a.scale_type != LOWBIT_DTYPE_COUNT ? p->a.block_cols : 0;
    size_t b = p->b.scale_type != LOWBIT_DTYPE_COUNT ? p->b.block_cols : 0;
    size_t q = a > b ? a : b;
    return q ? q : 32;
}

static int whole_row(const gemm_pair *p)
{
    return (p->a.scale_type == LOWBIT_DTYPE_COUNT || p->a.block_cols == 0) &&
           (p->b.scale_type == LOWBIT_DTYPE_COUNT || p->b.block_cols == 0);
}

static int compare_c(check_row *r, const char *ctx, lowbit_dtype ct, size_t M, size_t N, size_t ldc,
                     const uint8_t *want, const uint8_t *got)
{
    int bad = 0;
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            uint32_t w = hx_get(ct, want, m * ldc + n), g = hx_get(ct, got, m * ldc + n);
            r->cases++;
            if (w != g) {
                r->mismatches++;
                bad = 1;
                char ws[64], gs[64];
                describe_code(ct, w, ws, sizeof ws);
                describe_code(ct, g, gs, sizeof gs);
                row_diff(r, "%s: C[%zu][%zu] = %s, reference %s", ctx, m, n, gs, ws);
            }
        }
    return bad;
}

/* --inject-fault for a fast kernel: a low bit would stay inside its bound,
 * so flip an exponent bit of the middle element. */
static void inject_c_gross(const lb_gemm_job *j, void *c)
{
    if (!cfg.inject_fault)
        return;
    size_t i = (j->M / 2) * j->ldc + j->N / 2;
    hx_put(j->c_type, c, i, hx_get(j->c_type, c, i) ^ (j->c_type == LOWBIT_F32 ? 0x40000000u : 0x4000u));
}

static double c_value(lowbit_dtype t, uint32_t bits)
{
    return t == LOWBIT_F32 ? (double)f32_from_bits(bits) : mdl_value(t, bits);
}

/* One unit in the last place of type t at magnitude x. */
static double ulp_of(lowbit_dtype t, double x)
{
    int mbits = t == LOWBIT_F32 ? 23 : t == LOWBIT_F16 ? 10 : 7;
    int emin = t == LOWBIT_F16 ? -14 : -126;
    int e = x > 0 ? ilogb(x) : emin;
    return ldexp(1.0, (e < emin ? emin : e) - mbits);
}

/* A fast kernel's C against the f64 GEMM (with s_a * s_b rounded to f32,
 * as the semantics define it) and its bound (see gemm_bf16_amx.c):
 * (L + K/L + 4) 2^-23 |alpha| sum_b |s_a s_b| sum_k |a b| + 2^-23 |beta C|
 * + 1 ulp of C's type + 2^-126 K |alpha| max |s_a s_b| + 2^-149 (K/L + 1) |alpha|.
 * Where that interval around the f64 result reaches past C's largest finite
 * value, Inf of that side is inside it. */
static void compare_fast(check_row *r, const char *ctx, const lowbit_qtensor *a, const lowbit_qtensor *b,
                         const lb_gemm_job *j, const uint8_t *c_init, const uint8_t *want, const uint8_t *got)
{
    const size_t K = j->K, L = j->kblock, nblk = K / L;
    const double ta = (a->format.flags & LOWBIT_FMT_TENSOR_SCALE) ? a->tensor_scale : 1.0;
    const double tb = (b->format.flags & LOWBIT_FMT_TENSOR_SCALE) ? b->tensor_scale : 1.0;
    const double g = fabs((double)j->alpha * ta * tb);
    /* the smallest magnitude that rounds to Inf in C's type */
    const double thr = j->c_type == LOWBIT_F16 ? 65520.0 : j->c_type == LOWBIT_BF16 ? 0x1.ffp127 : 0x1.ffffffp127;
    for (size_t m = 0; m < j->M; m++)
        for (size_t n = 0; n < j->N; n++) {
            size_t i = m * j->ldc + n;
            uint32_t wb = hx_get(j->c_type, want, i), gb = hx_get(j->c_type, got, i);
            double w = c_value(j->c_type, wb), v = c_value(j->c_type, gb);
            r->cases++;
            double c64 = 0, t = 0, smax = 0, dmax = 0;
            for (size_t kb = 0; kb < nblk; kb++) {
                /* s_a * s_b rounded to f32, as every kernel forms it */
                double s = (double)(model_scale(a, m, kb * L) * model_scale(b, n, kb * L)), d = 0, da = 0;
                for (size_t k = kb * L; k < kb * L + L; k++) {
                    double p = model_elem(a, m, k) * model_elem(b, n, k);
                    d += p;
                    da += fabs(p);
                }
                c64 += s * d;
                t += fabs(s) * da;
                smax = fmax(smax, fabs(s));
                dmax = fmax(dmax, da);
            }
            c64 *= (double)j->alpha * ta * tb;
            double cold = j->beta != 0.0f ? (double)j->beta * c_value(j->c_type, hx_get(j->c_type, c_init, i)) : 0;
            c64 += cold;
            double bound = (double)(L + nblk + 4) * 0x1p-23 * g * t + 0x1p-23 * fabs(cold) +
                           ulp_of(j->c_type, fabs(c64)) + 0x1p-126 * (double)K * g * smax +
                           0x1p-149 * (double)(nblk + 1) * g;
            int bad;
            if (isnan(c64))
                bad = !isnan(v); /* NaN inputs, or Inf - Inf of real infinities */
            else if (!isfinite(c64) || !isfinite(w) || !isfinite(t) ||
                     !(fmax(dmax, fmax(t, g * t + fabs(cold))) < 0x1p127))
                /* an infinity among the inputs, an exact result that
                 * overflowed, or f32 sums that may (a block's dot product
                 * of bf16 activations, the sum over blocks, alpha and beta
                 * applied): another summation order may overflow another
                 * way (Inf of either sign, or NaN), or stay finite */
                bad = isfinite(v) && isfinite(c64) && fabs(v - c64) > bound;
            else if (isinf(v))
                /* the bound's interval reaches past C's largest finite value
                 * on v's side: the rounding to C's type overflows there */
                bad = v > 0 ? !(c64 + bound >= thr) : !(c64 - bound <= -thr);
            else
                bad = isnan(v) || fabs(v - c64) > bound;
            if (bad) {
                r->mismatches++;
                row_diff(r, "%s: C[%zu][%zu] = %.9g (reference %.9g), f64 GEMM %.9g, bound %.3g", ctx, m, n, v, w,
                         c64, bound);
            }
        }
}

typedef struct gemm_case {
    operand a, b;
    lb_gemm_job job;
    uint8_t *c_init;
    size_t c_bytes;
    char ctx[200];
} gemm_case;

static int case_make(gemm_case *c, const gemm_pair *p, const gemm_shape *s, size_t idx, rng *g)
{
    memset(c, 0, sizeof *c);
    size_t K = s->kmul ? kquantum(p) * s->kmul : 1 + 6 * rng_below(g, 3) + (idx & 1) * 26;
    if (!s->kmul && !whole_row(p))
        return -1;
    static const lowbit_dtype cts[] = {LOWBIT_F32, LOWBIT_BF16, LOWBIT_F16};
    static const float alphas[] = {1.0f, -0.75f, 3.0f};
    lowbit_dtype ct = cts[idx % 3];
    float alpha = alphas[(idx / 3) % 3], beta = (idx % 4 == 3) ? 0.5f : 0.0f;
    int dist = (int)(idx % DIST_COUNT), junk = (idx % 7 == 5) ? 1 : (idx % 7 == 6) ? 2 : 0;
    size_t pad_a = (idx & 2) ? 40 : 0, pad_b = (idx & 1) ? 8 : 0, ldc = s->n + ((idx & 4) ? 13 : 0);
    operand_make(&c->a, &p->a, s->m, K, pad_a, dist, junk, g);
    operand_make(&c->b, &p->b, s->n, K, pad_b, (dist + 1) % DIST_COUNT, junk, g);
    c->c_bytes = hx_bytes(ct, (s->m - 1) * ldc + s->n);
    c->c_init = malloc(c->c_bytes + 1);
    for (size_t i = 0; i < c->c_bytes; i++)
        c->c_init[i] = (uint8_t)rng_u32(g);
    if (beta != 0.0f) /* finite values where C is read, so beta * C means something */
        for (size_t m = 0; m < s->m; m++)
            for (size_t n = 0; n < s->n; n++)
                hx_put(ct, c->c_init, m * ldc + n, mdl_encode(ct, f32_bits((float)rng_normal(g)), MDL_NE, 0, 0));
    snprintf(c->ctx, sizeof c->ctx, "%s M=%zu N=%zu K=%zu c=%s alpha=%g beta=%g ldc=%zu dist=%d junk=%d",
             p->name, s->m, s->n, K, lowbit_dtype_name(ct), alpha, beta, ldc, dist, junk);
    lowbit_status st = lb_gemm_job_init(&c->job, &c->a.q, &c->b.q, alpha, beta, ct, c->c_init, ldc, NULL);
    if (st != LOWBIT_OK) {
        fprintf(stderr, "lowbit-check: internal: gemm case %s: %s\n", c->ctx, lowbit_last_error());
        return -1;
    }
    return 0;
}

static void case_free(gemm_case *c)
{
    operand_free(&c->a);
    operand_free(&c->b);
    free(c->c_init);
}

static size_t shapes_for_run(void)
{
    return cfg.quick ? 5 : sizeof shapes_all / sizeof shapes_all[0];
}

/* The reference's C of a case (NULL after a failure, reported on r). */
static gbuf *ref_output(check_row *r, const lb_kernel *ref, gemm_case *c, gbuf *out)
{
    return run_gemm_kernel(r, ref, c->job, c->c_init, c->c_bytes, out, 0, c->ctx) == 0 ? out : NULL;
}

void selfcheck_gemm(void)
{
    gemm_pairs_init();
    const lb_kernel *ref = find_ref_kernel(LOWBIT_OP_GEMM);
    if (!ref || !kernel_selected(ref))
        return;
    note_kernel_checked(ref);
    for (size_t pi = 0; pi < npairs; pi++) {
        const gemm_pair *p = &pairs[pi];
        check_row r;
        if (!row_begin(&r, "gemm", p->name, "ref", "selfcheck:model", 1))
            continue;
        rng g;
        rng_for(&g, p->name);
        size_t idx = 0;
        for (size_t si = 0; si < shapes_for_run(); si++)
            for (int rep = 0; rep < (cfg.quick ? 1 : 2); rep++, idx++) {
                gemm_case c;
                if (case_make(&c, p, &shapes_all[si], idx + pi, &g) != 0)
                    continue;
                gbuf out;
                if (ref_output(&r, ref, &c, &out)) {
                    const lb_gemm_job *j = &c.job;
                    inject_c(j, out.p);
                    for (size_t m = 0; m < j->M; m++)
                        for (size_t n = 0; n < j->N; n++) {
                            uint32_t want = model_gemm(&c.a.q, &c.b.q, m, n, j->alpha, j->beta, j->c_type,
                                                       hx_get(j->c_type, c.c_init, m * j->ldc + n));
                            uint32_t got = hx_get(j->c_type, out.p, m * j->ldc + n);
                            r.cases++;
                            if (want != got) {
                                r.mismatches++;
                                char ws[64], gs[64];
                                describe_code(j->c_type, want, ws, sizeof ws);
                                describe_code(j->c_type, got, gs, sizeof gs);
                                row_diff(&r, "%s: C[%zu][%zu] = %s, model %s", c.ctx, m, n, gs, ws);
                            }
                        }
                    gbuf_free(&out);
                }
                case_free(&c);
            }
        row_end(&r);
    }
}

void check_gemm(void)
{
    gemm_pairs_init();
    const lb_kernel *ref = find_ref_kernel(LOWBIT_OP_GEMM);
    if (!ref)
        return;
    static const int thread_counts[] = {1, 2, 3, 8};
    for (size_t ki = 0; ki < lb_registry_size; ki++) {
        const lb_kernel *k = lb_registry[ki];
        if (k->op != LOWBIT_OP_GEMM || k == ref || !kernel_selected(k))
            continue;
        const char *why;
        if (!kernel_runnable(k, &why)) {
            note_kernel_skipped(k, why);
            continue;
        }
        note_kernel_checked(k);
        for (size_t pi = 0; pi < npairs; pi++) {
            const gemm_pair *p = &pairs[pi];
            check_row r;
            if (!row_begin(&r, "gemm", p->name, lowbit_backend_name(k->backend), k->name, k->exact))
                continue;
            rng g;
            rng_for(&g, p->name);
            size_t idx = 0;
            for (size_t si = 0; si < shapes_for_run(); si++)
                for (int rep = 0; rep < (cfg.quick ? 2 : 4); rep++, idx++) {
                    gemm_case c;
                    if (case_make(&c, p, &shapes_all[si], idx * 3 + pi, &g) != 0)
                        continue;
                    if (!k->gemm_covers(&c.job)) {
                        case_free(&c);
                        continue;
                    }
                    gbuf want;
                    lowbit_set_num_threads(1);
                    if (ref_output(&r, ref, &c, &want)) {
                        for (int prepack = 0; prepack < 2; prepack++) {
                            int threads = thread_counts[(idx + (size_t)prepack) % 4];
                            lowbit_set_num_threads(threads);
                            gbuf got;
                            char ctx[260];
                            snprintf(ctx, sizeof ctx, "%s threads=%d %s", c.ctx, threads,
                                     prepack ? "B prepacked" : "B as given");
                            if (run_gemm_kernel(&r, k, c.job, c.c_init, c.c_bytes, &got, prepack, ctx) == 0) {
                                if (k->exact) {
                                    inject_c(&c.job, got.p);
                                    compare_c(&r, ctx, c.job.c_type, c.job.M, c.job.N, c.job.ldc, want.p, got.p);
                                } else {
                                    inject_c_gross(&c.job, got.p);
                                    compare_fast(&r, ctx, &c.a.q, &c.b.q, &c.job, c.c_init, want.p, got.p);
                                }
                                gbuf_free(&got);
                            }
                        }
                        lowbit_set_num_threads(0);
                        gbuf_free(&want);
                    }
                    case_free(&c);
                }
            /* a pair the kernel never covers (it is left to another kernel)
             * is not a row: nothing was checked */
            if (r.cases == 0 && r.mismatches == 0)
                r.skipped = 1;
            row_end(&r);
        }
    }
}
