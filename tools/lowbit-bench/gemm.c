/*
 * gemm.c - lowbit_gemm cases: prefill and decode shapes for the GEMM pairs
 * of DESIGN section 3, B prepacked with lowbit_gemm_pack, against this
 * machine's peak (prefill) or memcpy bandwidth (decode), and OpenBLAS
 * f32 sgemm / sgemv on the same shape timed in the same run.
 *
 * Only the public API is used: the kernel that runs is whatever the library
 * registered (the table names the registry's GEMM kernels a backend may
 * pick).  A call that would take longer than the per-call limit (slow
 * kernels such as the scalar reference) is not timed at its full shape:
 * a few growing sub-shapes estimate the rate first, and the case is timed
 * on the largest sub-shape that fits, said on its line.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench.h"
#if LOWBIT_BENCH_HAVE_OPENBLAS
#include <cblas.h>
#endif

#define GEMM_MAX_PEERS 64
#define GEMM_QUICK_CALL_S 0.1      /* per-call limit, --quick */
#define GEMM_CALL_S 10.0           /* per-call limit */
#define GEMM_REF_QUICK_CALL_S 0.05 /* per-call limit where only reference kernels can run, --quick */
#define GEMM_REF_CALL_S 0.25       /* the same, full runs */

/* ---- what is measured ------------------------------------------------ */

typedef struct gemm_pair {
    const char *name;               /* "w4a8_g32", "mxfp4_mxfp8" ... */
    lowbit_format a, b;             /* A: activations (M x K), B: weights (N x K) */
} gemm_pair;

typedef enum { GEMM_PREFILL, GEMM_DECODE } gemm_kind;

typedef struct gemm_shape {
    gemm_kind kind;
    size_t m, n, k;
    int quick;                      /* also run under --quick */
} gemm_shape;

static size_t build_pairs(gemm_pair *p)
{
    const lowbit_format int8_row = lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0);
    const lowbit_format mxfp8 = lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR);
    const lowbit_format mxfp4 = lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR);
    size_t n = 0;
    p[n++] = (gemm_pair){"w8a8", int8_row, int8_row};
    p[n++] = (gemm_pair){"w4a8_g32", int8_row, lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 0)};
    p[n++] = (gemm_pair){"w4a8_g128", int8_row, lowbit_format_int_group(LOWBIT_INT4, 128, LOWBIT_F16, 0)};
    p[n++] = (gemm_pair){"w4a16", lowbit_format_plain(LOWBIT_BF16),
                         lowbit_format_int_group(LOWBIT_INT4, 128, LOWBIT_BF16, 1)};
    p[n++] = (gemm_pair){"fp8_tensor", lowbit_format_fp8_tensor(LOWBIT_E4M3), lowbit_format_fp8_tensor(LOWBIT_E4M3)};
    p[n++] = (gemm_pair){"fp8_block", lowbit_format_fp8_block(LOWBIT_E4M3, 1, 128),
                         lowbit_format_fp8_block(LOWBIT_E4M3, 128, 128)};
    p[n++] = (gemm_pair){"mxfp8", mxfp8, mxfp8};
    p[n++] = (gemm_pair){"mxfp4", mxfp4, mxfp4};
    p[n++] = (gemm_pair){"mxfp4_mxfp8", mxfp8, mxfp4}; /* MXFP4 weights x MXFP8 activations */
    p[n++] = (gemm_pair){"nvfp4", lowbit_format_nvfp4(), lowbit_format_nvfp4()};
    return n;
}

static const gemm_shape shapes[] = {
    {GEMM_PREFILL, 1024, 1024, 1024, 1},
    {GEMM_PREFILL, 2048, 2048, 2048, 0},
    {GEMM_PREFILL, 4096, 4096, 4096, 0},
    {GEMM_PREFILL, 512, 14336, 4096, 0}, /* an FFN up-projection: 512 tokens, 4096 -> 14336 */
    {GEMM_DECODE, 1, 4096, 4096, 1},
    {GEMM_DECODE, 8, 4096, 4096, 1},
    {GEMM_DECODE, 1, 14336, 4096, 0},
    {GEMM_DECODE, 8, 14336, 4096, 0},
};
#define SHAPE_COUNT (sizeof shapes / sizeof shapes[0])

static const char *kind_name(gemm_kind k)
{
    return k == GEMM_PREFILL ? "prefill" : "decode";
}

static char *format_label(const lowbit_format *f, char *buf, size_t len)
{
    if (f->scale_type == LOWBIT_DTYPE_COUNT) /* lowbit_format_plain */
        snprintf(buf, len, "%s", lowbit_dtype_name(f->elem));
    else
        lowbit_format_name(f, buf, len);
    return buf;
}

/* Both element types integer-valued (INT8/INT4/UINT4, E2M1, E2M3, MXINT8):
 * the reference semantics take exact integer block dot products there, so
 * fast kernels run integer dot instructions and the int8 dot peak is their
 * ceiling; every other pair multiplies in f32 against the FMA peak. */
static int elem_integer(lowbit_dtype t)
{
    return t == LOWBIT_INT8 || t == LOWBIT_INT4 || t == LOWBIT_UINT4 || t == LOWBIT_E2M1 || t == LOWBIT_E2M3;
}

static int pair_integer(const gemm_pair *p)
{
    return elem_integer(p->a.elem) && elem_integer(p->b.elem);
}

/* ---- which kernels a backend may run ---------------------------------- */

static int rung(lowbit_backend b)
{
    switch (b) {
    case LOWBIT_BACKEND_REF: return 0;
    case LOWBIT_BACKEND_AVX2: case LOWBIT_BACKEND_NEON: return 1;
    case LOWBIT_BACKEND_AVX512: return 2;
    case LOWBIT_BACKEND_AMX: return 3;
    default: return -1;
    }
}

static int is_x86(lowbit_backend b)
{
    return b == LOWBIT_BACKEND_AVX2 || b == LOWBIT_BACKEND_AVX512 || b == LOWBIT_BACKEND_AMX;
}

/* The dispatch rule of lowbit_set_backend's documentation: a cap allows the
 * reference and the kernels of its own ISA family at or below its level. */
static int cap_allows(lowbit_backend cap, lowbit_backend k)
{
    if (k == LOWBIT_BACKEND_REF)
        return 1;
    if (rung(k) < 0 || rung(cap) < 0)
        return k == cap;
    return is_x86(k) == is_x86(cap) && rung(k) <= rung(cap);
}

typedef struct gemm_kernels {
    char names[256];                /* "gemm_x_avx2 > gemm_any_ref": best first */
    int count;
    int ref_only;                   /* only reference kernels: slow, scalar */
} gemm_kernels;

/* The registered GEMM kernels that backend cap may pick (exact ones, and
 * fast ones too with --gemm-fast), the highest level first: the library
 * takes the first that handles the pair. */
static gemm_kernels kernels_for(lowbit_backend cap, int fast)
{
    gemm_kernels g;
    memset(&g, 0, sizeof g);
    g.ref_only = 1;
    for (int level = 3; level >= 0; level--) {
        for (int pass = 0; pass < 2; pass++) { /* with --gemm-fast, a level's fast kernels first */
            for (size_t i = 0; i < lowbit_kernel_count(); i++) {
                lowbit_kernel_info k;
                if (lowbit_kernel_get(i, &k) != LOWBIT_OK || k.op != LOWBIT_OP_GEMM || rung(k.backend) != level ||
                    !cap_allows(cap, k.backend) || (!k.exact && !fast) || (pass == 0) != (fast && !k.exact))
                    continue;
                size_t used = strlen(g.names);
                snprintf(g.names + used, sizeof g.names - used, "%s%s", g.count ? " > " : "", k.name);
                g.count++;
                if (k.backend != LOWBIT_BACKEND_REF)
                    g.ref_only = 0;
            }
        }
    }
    if (!g.count)
        snprintf(g.names, sizeof g.names, "(none registered)");
    return g;
}

/* ---- operands --------------------------------------------------------- */

static void free_qtensor(lowbit_qtensor *q)
{
    free(q->data);
    free(q->scales);
    free(q->zero_points);
    memset(q, 0, sizeof *q);
}

/* rows x cols of `src` (f32, row length cols) in format f. */
static lowbit_status make_operand(const lowbit_format *f, size_t rows, size_t cols, const float *src,
                                  lowbit_qtensor *q)
{
    memset(q, 0, sizeof *q);
    if (f->scale_type == LOWBIT_DTYPE_COUNT) { /* plain f32 / f16 / bf16 */
        q->format = *f;
        q->rows = rows;
        q->cols = cols;
        q->row_stride = cols;
        q->tensor_scale = 1.0f;
        q->data_bytes = lowbit_dtype_bytes(f->elem, rows * cols);
        q->data = alloc_touched(q->data_bytes);
        return lowbit_convert(f->elem, q->data, LOWBIT_F32, src, rows * cols, NULL);
    }
    lowbit_status s = lowbit_qtensor_init(q, f, rows, cols);
    if (s != LOWBIT_OK)
        return s;
    q->data = alloc_touched(q->data_bytes);
    q->scales = q->scales_bytes ? alloc_touched(q->scales_bytes) : NULL;
    q->zero_points = q->zero_points_bytes ? alloc_touched(q->zero_points_bytes) : NULL;
    return lowbit_quantize(q, LOWBIT_F32, src, cols, NULL);
}

/* The first `rows` rows of q, sharing its buffers: the block grid is dense
 * and row-major, so its first block rows are a prefix of the scales and
 * zero points.  (A per-tensor scale stays the whole tensor's.) */
static lowbit_qtensor first_rows(const lowbit_qtensor *q, size_t rows)
{
    lowbit_qtensor v = *q;
    if (rows >= q->rows)
        return v;
    v.rows = rows;
    if (q->format.scale_type == LOWBIT_DTYPE_COUNT) {
        v.data_bytes = lowbit_dtype_bytes(q->format.elem, rows * q->row_stride);
        return v;
    }
    lowbit_qtensor t;
    if (lowbit_qtensor_init(&t, &q->format, rows, q->cols) == LOWBIT_OK) {
        v.data_bytes = t.data_bytes;
        v.scales_bytes = t.scales_bytes;
        v.zero_points_bytes = t.zero_points_bytes;
    }
    return v;
}

static size_t operand_bytes(const lowbit_qtensor *q)
{
    return q->data_bytes + q->scales_bytes + q->zero_points_bytes;
}

/* ---- timing ------------------------------------------------------------ */

typedef struct gemm_run {
    const lowbit_qtensor *a;        /* timed shape: a->rows = M */
    void **packed;                  /* packed copies of B, rotated */
    size_t packed_bytes;
    int sets;
    float *c;
    size_t ldc;
    const lowbit_gemm_opts *opts;
} gemm_run;

static lowbit_status gemm_call(const gemm_run *g, int set)
{
    return lowbit_gemm_packed(g->a, g->packed[set % g->sets], g->packed_bytes, 1.0f, 0.0f, LOWBIT_F32, g->c,
                              g->ldc, g->opts);
}

/* Pack b into `sets` fresh buffers (under the backend in force): once,
 * then copies of that (a packed buffer is position independent). */
static lowbit_status pack_copies(const lowbit_format *a_format, const lowbit_qtensor *b,
                                 const lowbit_gemm_opts *opts, int sets, gemm_run *g)
{
    lowbit_status s = lowbit_gemm_pack_size(a_format, b, opts, &g->packed_bytes);
    if (s != LOWBIT_OK)
        return s;
    g->packed = calloc((size_t)sets, sizeof *g->packed);
    if (!g->packed)
        die("out of memory");
    g->sets = sets;
    for (int i = 0; i < sets; i++)
        g->packed[i] = alloc_touched(g->packed_bytes);
    s = lowbit_gemm_pack(a_format, b, opts, g->packed[0], g->packed_bytes);
    for (int i = 1; i < sets && s == LOWBIT_OK; i++)
        memcpy(g->packed[i], g->packed[0], g->packed_bytes);
    return s;
}

static void free_copies(gemm_run *g)
{
    for (int i = 0; g->packed && i < g->sets; i++)
        free(g->packed[i]);
    free(g->packed);
    g->packed = NULL;
    g->sets = 0;
}

typedef struct gemm_estimate {
    double seconds;                 /* one call at the full shape, extrapolated */
    int covered_full;               /* the last probe was the full shape (it warmed up too) */
    lowbit_status status;
} gemm_estimate;

/*
 * Time single calls on growing sub-shapes (N first, then M; full K) until
 * one takes an eighth of the limit or is the whole shape, and extrapolate
 * to the full shape at that rate.  Each step is 4x the work of the last,
 * so the probes together stay under about half the limit.
 */
static gemm_estimate estimate(const gemm_pair *p, const lowbit_qtensor *a, const lowbit_qtensor *b,
                              const lowbit_gemm_opts *opts, float *c, double limit)
{
    gemm_estimate e = {0, 0, LOWBIT_OK};
    size_t M = a->rows, N = b->rows;
    size_t mp = 1, np = N < 16 ? N : 16, packed_np = 0;
    int first = 1;
    gemm_run g = {NULL, NULL, 0, 0, c, 0, opts};
    for (;;) {
        lowbit_qtensor av = first_rows(a, mp), bv = first_rows(b, np);
        if (np != packed_np) { /* M steps reuse the pack of the last N step */
            free_copies(&g);
            if ((e.status = pack_copies(&p->a, &bv, opts, 1, &g)) != LOWBIT_OK)
                break;
            packed_np = np;
        }
        g.a = &av;
        g.ldc = np;
        if (first && (e.status = gemm_call(&g, 0)) != LOWBIT_OK) /* page in, start the pool */
            break;
        first = 0;
        double t0 = now_seconds();
        e.status = gemm_call(&g, 0);
        double dt = now_seconds() - t0;
        if (e.status != LOWBIT_OK)
            break;
        if (dt < 1e-9)
            dt = 1e-9;
        e.covered_full = mp == M && np == N;
        if (e.covered_full || dt >= limit / 8) {
            e.seconds = dt * ((double)M * (double)N) / ((double)mp * (double)np);
            break;
        }
        if (np < N)
            np = np * 4 < N ? np * 4 : N;
        else
            mp = mp * 4 < M ? mp * 4 : M;
    }
    free_copies(&g);
    return e;
}

static size_t pow2_floor(size_t x)
{
    size_t p = 1;
    while (p * 2 <= x)
        p *= 2;
    return p;
}

/* The sub-shape timed when the full one would exceed the limit: prefill
 * keeps N and K and cuts M; decode keeps its M (1 or 8) and cuts N (as
 * does prefill once M is down to 1).  Powers of two, N at least 16. */
static void cap_shape(gemm_kind kind, size_t M, size_t N, double full_s, double limit, size_t *mc, size_t *nc)
{
    *mc = M;
    *nc = N;
    if (full_s <= limit)
        return;
    double per_row = full_s / (double)M; /* seconds per row of A at full N */
    if (kind == GEMM_PREFILL) {
        size_t fit = (size_t)(limit / per_row);
        if (fit >= 1) {
            *mc = pow2_floor(fit);
            return;
        }
        *mc = 1;
        full_s = per_row;
    }
    double per_col = full_s / (double)N;
    size_t fit = (size_t)(limit / per_col);
    *nc = fit < 16 ? (N < 16 ? N : 16) : pow2_floor(fit);
    if (*nc > N)
        *nc = N;
}

/* Warm-up, then `reps` timed calls rotating through the copies. */
static lowbit_status time_calls(const gemm_run *g, int warmup, int reps, double *times)
{
    lowbit_status s = LOWBIT_OK;
    if (warmup && (s = gemm_call(g, 0)) != LOWBIT_OK)
        return s;
    for (int r = 0; r < reps; r++) {
        double t0 = now_seconds();
        s = gemm_call(g, r + 1);
        double dt = now_seconds() - t0;
        times[r] = dt > 1e-9 ? dt : 1e-9;
        if (s != LOWBIT_OK)
            return s;
    }
    return LOWBIT_OK;
}

/* ---- the OpenBLAS peer -------------------------------------------------- */

typedef struct peer_result {
    size_t m, n, k;
    int threads;
    int sets;
    int reported;                   /* its own line was printed */
    double best_s, median_s;
} peer_result;

typedef struct gemm_data {
    const float *a_f32;             /* A master: at least M x K of every shape */
    const float *b_f32;             /* B master: at least N x K */
    float *w_slab;                  /* decode: f32 weights, several N x K copies, for the peer */
    size_t w_slab_floats;
    float *c;                       /* output, M x N of the largest shape */
    peer_result peers[GEMM_MAX_PEERS];
    int peer_count;
} gemm_data;

#if LOWBIT_BENCH_HAVE_OPENBLAS
static void pause_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static void peer_call(gemm_data *d, size_t m, size_t n, size_t k, const float *b)
{
    if (m == 1) /* y = B x: the decode GEMV */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)k, 1.0f, b, (int)k, d->a_f32, 1, 0.0f, d->c, 1);
    else        /* C = A B^T, B stored N x K like lowbit's */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k, 1.0f, d->a_f32, (int)k, b,
                    (int)k, 0.0f, d->c, (int)n);
}
#endif

/* OpenBLAS on an m x n x k f32 problem at `threads` threads, timed once per
 * run and shape (NULL without OpenBLAS).  Decode rotates through as many
 * N x K slices of the weight slab as make a cold set, like lowbit's B. */
static peer_result *peer_time(const bench_config *cfg, const roofline *r, gemm_data *d, gemm_kind kind,
                                    size_t m, size_t n, size_t k, int threads)
{
#if LOWBIT_BENCH_HAVE_OPENBLAS
    for (int i = 0; i < d->peer_count; i++) {
        peer_result *p = &d->peers[i];
        if (p->m == m && p->n == n && p->k == k && p->threads == threads)
            return p;
    }
    if (d->peer_count == GEMM_MAX_PEERS)
        return NULL;
    peer_result *p = &d->peers[d->peer_count++];
    p->m = m;
    p->n = n;
    p->k = k;
    p->threads = threads;
    p->sets = 1;
    const float *slices[64];
    slices[0] = d->b_f32;
    if (kind == GEMM_DECODE && d->w_slab) {
        int want = buffer_sets_for(cfg, r, 4.0 * (double)n * (double)k);
        size_t fit = d->w_slab_floats / (n * k);
        p->sets = want < (int)fit ? want : (int)fit;
        if (p->sets < 1)
            p->sets = 1;
        if (p->sets > 64)
            p->sets = 64;
        for (int i = 0; i < p->sets; i++)
            slices[i] = d->w_slab + (size_t)i * n * k;
    }
    openblas_set_num_threads(threads);
    double *t = malloc((size_t)cfg->reps * sizeof *t);
    if (!t)
        die("out of memory");
    peer_call(d, m, n, k, slices[0]); /* warm-up: OpenBLAS starts its threads on first use */
    for (int i = 0; i < cfg->reps; i++) {
        double t0 = now_seconds();
        peer_call(d, m, n, k, slices[(i + 1) % p->sets]);
        double dt = now_seconds() - t0;
        t[i] = dt > 1e-9 ? dt : 1e-9;
    }
    p->best_s = min_of(t, cfg->reps);
    p->median_s = median_of(t, cfg->reps);
    free(t);
    /* OpenBLAS's idle threads spin a while before they sleep; on a small
     * machine they would take CPU from the lowbit calls that follow. */
    openblas_set_num_threads(1);
    if (threads > 1 && !cfg->quick)
        pause_s(0.2);
    return p;
#else
    (void)cfg, (void)r, (void)d, (void)kind, (void)m, (void)n, (void)k, (void)threads;
    return NULL;
#endif
}

static const char *peer_name(size_t m)
{
    return m == 1 ? "openblas_sgemv" : "openblas_sgemm";
}

/* ---- report --------------------------------------------------------------- */

typedef struct gemm_result {
    const gemm_pair *p;             /* NULL: the OpenBLAS line */
    const gemm_shape *sh;
    size_t m, n;                    /* timed (the full shape unless capped) */
    lowbit_backend backend;
    const char *kernel;             /* the one that can run, or the candidates */
    int kernel_known;
    int threads, reps, sets;
    double best_s, median_s;
    double bytes, weight_bytes;     /* A + B + C; B (packed) alone */
    double roof;                    /* GFLOP/s or GOP/s peak (prefill), memcpy GB/s (decode) */
    const char *roof_name;
    peer_result *peer;
    lowbit_status status;
    char error[256];                /* lowbit_last_error() of a failed call */
} gemm_result;

static void json_str(const char *key, const char *s)
{
    printf(",\"%s\":\"", key);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s >= 0x20)
            putchar(*s);
    }
    putchar('"');
}

static double flops_of(size_t m, size_t n, size_t k)
{
    return 2.0 * (double)m * (double)n * (double)k;
}

static void report_header(const bench_config *cfg, const gemm_shape *sh)
{
    FILE *o = table_out(cfg);
    fprintf(o, "\ngemm %s M=%zu N=%zu K=%zu: C[M,N] = A[M,K] B[N,K]^T in f32, B prepacked%s; GFLOP/s = 2MNK / median;\n",
            kind_name(sh->kind), sh->m, sh->n, sh->k, sh->kind == GEMM_DECODE ? " and rotated beyond the LLC" : "");
    if (sh->kind == GEMM_PREFILL)
        fprintf(o, "  \"of roof\" = GFLOP/s / peak at the same thread count (int8 dot peak for integer pairs, f32 FMA "
                   "peak for the others)\n");
    else
        fprintf(o, "  \"of roof\" = weight GB/s (packed B bytes / median) / memcpy GB/s at the same thread count\n");
    fprintf(o, "%-14s %-38s %-8s %3s %9s %9s %9s %8s %8s %8s %8s  %s\n", "pair", "formats (a x b)", "backend", "thr",
            "median ms", "best ms", "GFLOP/s", "of roof", "wt GB/s", "OpenBLAS", "ratio", "kernel");
    fflush(o);
}

static void report_result(const bench_config *cfg, const gemm_result *g)
{
    FILE *o = table_out(cfg);
    char fa[48], fb[48], formats[100], note[96] = "";
    const gemm_shape *sh = g->sh;
    if (g->p)
        snprintf(formats, sizeof formats, "%s x %s", format_label(&g->p->a, fa, sizeof fa),
                 format_label(&g->p->b, fb, sizeof fb));
    else
        snprintf(formats, sizeof formats, "f32 x f32");
    const char *pair = g->p ? g->p->name : peer_name(g->m);
    const char *backend = g->p ? lowbit_backend_name(g->backend) : "openblas";
    int capped = g->m != sh->m || g->n != sh->n;
    if (capped) {
        double full = g->median_s * (double)sh->m * (double)sh->n / ((double)g->m * (double)g->n);
        snprintf(note, sizeof note, full < 10 ? "  [cut to M=%zu N=%zu: the full shape would take ~%.2g s a call]"
                                              : "  [cut to M=%zu N=%zu: the full shape would take ~%.0f s a call]",
                 g->m, g->n, full);
    }
    double flops = flops_of(g->m, g->n, sh->k);
    double gflops = 0, frac = 0, wgbps = 0, peer_gflops = 0, ratio = 0;
    if (g->status == LOWBIT_OK) {
        gflops = flops / g->median_s * 1e-9;
        wgbps = g->weight_bytes / g->median_s * 1e-9;
        frac = g->roof > 0 ? (sh->kind == GEMM_PREFILL ? gflops : wgbps) / g->roof : 0;
        if (g->peer) {
            peer_gflops = flops_of(g->peer->m, g->peer->n, g->peer->k) / g->peer->median_s * 1e-9;
            ratio = peer_gflops > 0 ? gflops / peer_gflops : 0;
        }
        fprintf(o, "%-14s %-38s %-8s %3d %9.3f %9.3f %9.3f %8.4f %8.3f ", pair, formats, backend, g->threads,
                g->median_s * 1e3, g->best_s * 1e3, gflops, frac, wgbps);
        if (g->peer)
            fprintf(o, "%8.2f %8.4f", peer_gflops, ratio);
        else
            fprintf(o, "%8s %8s", "-", "-");
        fprintf(o, "  %s%s\n", g->kernel, note);
    } else {
        fprintf(o, "%-14s %-38s %-8s %3d FAILED: %s: %s\n", pair, formats, backend, g->threads,
                lowbit_status_string(g->status), g->error);
    }
    fflush(o);
    if (!cfg->json)
        return;
    printf("{\"op\":\"gemm\"");
    json_str("formats", formats);
    json_str("pair", pair);
    json_str("kind", kind_name(sh->kind));
    json_str("backend", backend);
    printf(",\"shape\":[%zu,%zu,%zu],\"full_shape\":[%zu,%zu,%zu],\"capped\":%s,\"threads\":%d", g->m, g->n, sh->k,
           sh->m, sh->n, sh->k, capped ? "true" : "false", g->threads);
    if (g->p) {
        json_str("mode", cfg->gemm_fast ? "fast" : "exact");
        json_str(g->kernel_known ? "kernel" : "kernel_candidates", g->kernel);
    } else {
        json_str("kernel", g->m == 1 ? "cblas_sgemv" : "cblas_sgemm");
    }
    if (g->status != LOWBIT_OK) {
        json_str("error", lowbit_status_string(g->status));
        json_str("detail", g->error);
        printf(",\"seconds\":0}\n");
        fflush(stdout);
        return;
    }
    printf(",\"seconds\":%.9g,\"seconds_best\":%.9g,\"reps\":%d,\"flops\":%.17g,\"gflops\":%.6g,\"tflops\":%.6g,"
           "\"gflops_best\":%.6g",
           g->median_s, g->best_s, g->reps, flops, gflops, gflops * 1e-3, flops / g->best_s * 1e-9);
    printf(",\"bytes\":%.17g,\"gbps\":%.6g,\"weight_bytes\":%.17g,\"weight_gbps\":%.6g", g->bytes,
           g->bytes / g->median_s * 1e-9, g->weight_bytes, wgbps);
    json_str("roofline", g->roof_name);
    printf(",\"roofline_value\":%.6g,\"roofline_fraction\":%.6g", g->roof, frac);
    if (g->p) {
        if (g->peer) {
            json_str("peer", peer_name(g->peer->m));
            printf(",\"peer_gflops\":%.6g,\"peer_seconds\":%.9g,\"peer_ratio\":%.6g", peer_gflops,
                   g->peer->median_s, ratio);
        } else {
            json_str("peer", "none");
        }
    }
    printf(",\"in_cache\":%s,\"buffer_sets\":%d}\n", cfg->in_cache ? "true" : "false", g->sets);
    fflush(stdout);
}

/* ---- the run --------------------------------------------------------------- */

static int thread_index(const roofline *r, int threads)
{
    for (int i = 0; i < r->thread_count_n; i++)
        if (r->thread_counts[i] == threads)
            return i;
    return 0;
}

static void set_roof(const bench_config *cfg, const roofline *r, const gemm_shape *sh, const gemm_pair *p,
                     int threads, gemm_result *g)
{
    int i = thread_index(r, threads);
    if (sh->kind == GEMM_DECODE) {
        g->roof = roofline_copy_gbps(r, cfg, threads);
        g->roof_name = cfg->in_cache ? "memcpy-in-cache" : "memcpy";
    } else if (p && pair_integer(p)) {
        g->roof = r->int8_gops[i];
        g->roof_name = "dot_int8";
    } else {
        g->roof = r->fma_gflops[i];
        g->roof_name = "fma_f32";
    }
}

static void report_peer(const bench_config *cfg, const roofline *r, const gemm_shape *sh, peer_result *pr)
{
    if (pr->reported)
        return;
    pr->reported = 1;
    gemm_result g;
    memset(&g, 0, sizeof g);
    g.sh = sh;
    g.m = pr->m;
    g.n = pr->n;
    g.threads = pr->threads;
    g.reps = cfg->reps;
    g.sets = pr->sets;
    g.best_s = pr->best_s;
    g.median_s = pr->median_s;
    g.weight_bytes = 4.0 * (double)pr->n * (double)pr->k;
    g.bytes = g.weight_bytes + 4.0 * (double)pr->m * (double)pr->k + 4.0 * (double)pr->m * (double)pr->n;
    g.kernel = pr->m == 1 ? "cblas_sgemv" : "cblas_sgemm";
    set_roof(cfg, r, sh, NULL, pr->threads, &g);
    report_result(cfg, &g);
}

static int selected(const bench_config *cfg, const gemm_pair *p, const gemm_shape *sh)
{
    if (cfg->quick && !sh->quick)
        return 0;
    if (cfg->gemm_shape) {
        char label[64];
        snprintf(label, sizeof label, "%s %zux%zux%zu", kind_name(sh->kind), sh->m, sh->n, sh->k);
        if (!strstr(label, cfg->gemm_shape))
            return 0;
    }
    if (!cfg->filter)
        return 1;
    char fa[48], fb[48], text[160];
    snprintf(text, sizeof text, "%s %s x %s %s", p->name, format_label(&p->a, fa, sizeof fa),
             format_label(&p->b, fb, sizeof fb), kind_name(sh->kind));
    return strstr(text, cfg->filter) != NULL;
}

/* One pair on one shape: operands once, then each backend and thread count. */
static void measure_pair(const bench_config *cfg, const roofline *r, gemm_data *d, const gemm_pair *p,
                         const gemm_shape *sh, const lowbit_backend *backends, const gemm_kernels *kern, int nb,
                         int *failures)
{
    const lowbit_gemm_opts fast = {LOWBIT_GEMM_ALLOW_FAST};
    const lowbit_gemm_opts *opts = cfg->gemm_fast ? &fast : NULL;
    gemm_result g;
    memset(&g, 0, sizeof g);
    g.p = p;
    g.sh = sh;
    lowbit_qtensor a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    lowbit_set_backend(LOWBIT_BACKEND_AUTO); /* operands are bit-identical whichever backend makes them */
    lowbit_set_num_threads(0);
    lowbit_status setup = make_operand(&p->a, sh->m, sh->k, d->a_f32, &a);
    if (setup == LOWBIT_OK)
        setup = make_operand(&p->b, sh->n, sh->k, d->b_f32, &b);
    char setup_error[256];
    snprintf(setup_error, sizeof setup_error, "operands: %s", lowbit_last_error());
    double *times = malloc((size_t)cfg->reps * sizeof *times);
    if (!times)
        die("out of memory");

    for (int bi = 0; bi < nb; bi++) {
        g.backend = backends[bi];
        g.kernel = kern[bi].names;
        g.kernel_known = kern[bi].count == 1;
        double limit = cfg->gemm_max_s > 0 ? cfg->gemm_max_s
                       : kern[bi].ref_only ? (cfg->quick ? GEMM_REF_QUICK_CALL_S : GEMM_REF_CALL_S)
                                           : (cfg->quick ? GEMM_QUICK_CALL_S : GEMM_CALL_S);
        for (int t = 0; t < r->thread_count_n; t++) {
            g.threads = r->thread_counts[t];
            g.status = setup;
            g.m = sh->m;
            g.n = sh->n;
            g.peer = NULL;
            set_roof(cfg, r, sh, p, g.threads, &g);
            gemm_run run;
            memset(&run, 0, sizeof run);
            if (g.status == LOWBIT_OK && (g.status = lowbit_set_backend(g.backend)) == LOWBIT_OK &&
                (g.status = lowbit_set_num_threads(g.threads)) == LOWBIT_OK) {
                gemm_estimate e = estimate(p, &a, &b, opts, d->c, limit);
                g.status = e.status;
                if (g.status == LOWBIT_OK) {
                    cap_shape(sh->kind, sh->m, sh->n, e.seconds, limit, &g.m, &g.n);
                    lowbit_qtensor av = first_rows(&a, g.m), bv = first_rows(&b, g.n);
                    size_t pbytes = 0;
                    g.status = lowbit_gemm_pack_size(&p->a, &bv, opts, &pbytes);
                    g.sets = sh->kind == GEMM_DECODE ? buffer_sets_for(cfg, r, (double)pbytes) : 1;
                    if (g.status == LOWBIT_OK)
                        g.status = pack_copies(&p->a, &bv, opts, g.sets, &run);
                    run.a = &av;
                    run.c = d->c;
                    run.ldc = g.n;
                    run.opts = opts;
                    int warm = !(e.covered_full && g.m == sh->m && g.n == sh->n);
                    if (g.status == LOWBIT_OK)
                        g.status = time_calls(&run, warm, cfg->reps, times);
                    if (g.status == LOWBIT_OK) {
                        g.reps = cfg->reps;
                        g.best_s = min_of(times, g.reps);
                        g.median_s = median_of(times, g.reps);
                        g.weight_bytes = (double)run.packed_bytes;
                        g.bytes = (double)operand_bytes(&av) + g.weight_bytes + 4.0 * (double)g.m * (double)g.n;
                    }
                }
                free_copies(&run);
            }
            if (g.status != LOWBIT_OK) {
                snprintf(g.error, sizeof g.error, "%s", setup != LOWBIT_OK ? setup_error : lowbit_last_error());
                ++*failures;
            } else { /* the peer on the same shape (the cut one too, then it has no line of its own) */
                g.peer = peer_time(cfg, r, d, sh->kind, g.m, g.n, sh->k, g.threads);
            }
            report_result(cfg, &g);
            if (setup != LOWBIT_OK)
                break;
        }
        if (setup != LOWBIT_OK)
            break;
    }
    free(times);
    free_qtensor(&a);
    free_qtensor(&b);
}

int measure_gemm(const bench_config *cfg, const roofline *r, int *measured)
{
    if (cfg->op != -1 && cfg->op != LOWBIT_OP_GEMM) {
        *measured = 0;
        return 0;
    }
    gemm_pair pairs[16];
    size_t npairs = build_pairs(pairs);
    FILE *o = table_out(cfg);
    int failures = 0;
    *measured = 0;

    /* What is selected, and how large the masters must be. */
    size_t a_floats = 0, b_floats = 0, c_floats = 0, w_floats = 0;
    int any = 0;
    for (size_t s = 0; s < SHAPE_COUNT; s++) {
        const gemm_shape *sh = &shapes[s];
        for (size_t i = 0; i < npairs; i++)
            if (selected(cfg, &pairs[i], sh)) {
                any = 1;
                if (sh->m * sh->k > a_floats) a_floats = sh->m * sh->k;
                if (sh->n * sh->k > b_floats) b_floats = sh->n * sh->k;
                if (sh->m * sh->n > c_floats) c_floats = sh->m * sh->n;
                if (sh->kind == GEMM_DECODE) {
                    size_t want = (size_t)buffer_sets_for(cfg, r, 4.0 * (double)(sh->n * sh->k)) * sh->n * sh->k;
                    if (want > w_floats) w_floats = want;
                }
            }
    }
    if (!any)
        return 0;

    /* Backends: one whose GEMM kernels are those of a backend already in
     * the list would time the same code again. */
    lowbit_backend backends[BENCH_MAX_BACKENDS];
    gemm_kernels kern[BENCH_MAX_BACKENDS];
    int nb = 0;
    fprintf(o, "\ngemm kernels (lowbit_kernel_get; the library runs the first that handles the pair, %s mode):\n",
            cfg->gemm_fast ? "fast" : "exact");
    for (int i = 0; i < cfg->backend_count; i++) {
        gemm_kernels k = kernels_for(cfg->backends[i], cfg->gemm_fast);
        int same = -1;
        for (int j = 0; j < nb; j++)
            if (strcmp(kern[j].names, k.names) == 0)
                same = j;
        if (same >= 0) {
            fprintf(o, "  %-8s %s: the same kernels as under %s; not timed again\n",
                    lowbit_backend_name(cfg->backends[i]), k.names, lowbit_backend_name(backends[same]));
            continue;
        }
        double limit = cfg->gemm_max_s > 0 ? cfg->gemm_max_s
                       : k.ref_only ? (cfg->quick ? GEMM_REF_QUICK_CALL_S : GEMM_REF_CALL_S)
                                    : (cfg->quick ? GEMM_QUICK_CALL_S : GEMM_CALL_S);
        fprintf(o, "  %-8s %s%s; calls capped at %.3g s (--gemm-max-s)\n", lowbit_backend_name(cfg->backends[i]),
                k.names, k.ref_only ? " (scalar reference only: shapes are cut to fit)" : "", limit);
        backends[nb] = cfg->backends[i];
        kern[nb++] = k;
    }
#if LOWBIT_BENCH_HAVE_OPENBLAS
    fprintf(o, "peer: %s (core %s), f32 cblas_sgemm (M > 1) / cblas_sgemv (M = 1), openblas_set_num_threads\n",
            openblas_get_config(), openblas_get_corename());
#else
    fprintf(o, "peer: OpenBLAS was not found when lowbit-bench was built (libopenblas-dev, then reconfigure): no "
               "sgemm/sgemv peer timing\n");
#endif
    fflush(o);

    gemm_data d;
    memset(&d, 0, sizeof d);
    float *a_master = alloc_touched(a_floats * sizeof(float));
    float *b_master = alloc_touched(b_floats * sizeof(float));
    fill_normal(a_master, a_floats, 20261202);
    fill_normal(b_master, b_floats, 20261203);
    d.a_f32 = a_master;
    d.b_f32 = b_master;
    d.c = alloc_touched(c_floats * sizeof(float));
#if LOWBIT_BENCH_HAVE_OPENBLAS
    if (w_floats) {
        d.w_slab = alloc_touched(w_floats * sizeof(float));
        d.w_slab_floats = w_floats;
        for (size_t off = 0; off < w_floats; off += b_floats) /* the same weights, copied */
            memcpy(d.w_slab + off, b_master, (w_floats - off < b_floats ? w_floats - off : b_floats) * sizeof(float));
    }
#else
    (void)w_floats;
#endif

    for (size_t s = 0; s < SHAPE_COUNT; s++) {
        const gemm_shape *sh = &shapes[s];
        int header = 0;
        for (size_t i = 0; i < npairs; i++) {
            if (!selected(cfg, &pairs[i], sh))
                continue;
            if (!header) {
                report_header(cfg, sh);
                for (int t = 0; t < r->thread_count_n; t++) {
                    peer_result *pr = peer_time(cfg, r, &d, sh->kind, sh->m, sh->n, sh->k, r->thread_counts[t]);
                    if (pr)
                        report_peer(cfg, r, sh, pr);
                }
                header = 1;
            }
            measure_pair(cfg, r, &d, &pairs[i], sh, backends, kern, nb, &failures);
            ++*measured;
        }
    }
    lowbit_set_backend(LOWBIT_BACKEND_AUTO);
    lowbit_set_num_threads(0);
    free(a_master);
    free(b_master);
    free(d.c);
    free(d.w_slab);
    return failures;
}
