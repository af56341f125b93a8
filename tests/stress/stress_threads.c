/*
 * stress_threads.c - many caller threads using the library at once, every
 * result held bit for bit to the same call made by one caller on one
 * internal thread.
 *
 * Phases (one process; the first phase also in a few forked children, so
 * the first-use race is run more than once):
 *   0. first use: before anything else touches the library, all callers
 *      leave a barrier together and make their first calls at once, each
 *      starting at a different op, so CPU detection, backend choice, the
 *      kernel lookup caches, the worker pool and the thread-local error all
 *      start up under contention.  Each caller also builds its own GEMM
 *      operands and KV caches.  Only then does the main thread compute the
 *      single-threaded reference (it cannot come first: that would do the
 *      initialisation alone) and every phase-0 byte is compared with it.
 *   1. mixed load: the callers loop over every op on shared read-only
 *      inputs, each writing only its own outputs, while one more thread
 *      keeps changing the process-wide thread count (1..8); the header
 *      allows lowbit_set_num_threads at any time and results must not
 *      depend on it.
 *   2. sweep: for each thread count 1..8 in turn, all callers once more.
 * Every op also checks that lowbit_last_error() is per thread.
 *
 * usage: stress_threads [--callers N] [--iters N] [--first-use-reps N]
 * LOWBIT_STRESS_CORRUPT=1 flips one output bit in phase 1 and checks that
 * exactly that byte is reported (the meson test stress_threads_selfcheck).
 * Exit status: 0 all identical, 1 any mismatch or failed call, 2 usage;
 * with LOWBIT_STRESS_CORRUPT, 0 when the flip and nothing else was caught.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lowbit.h"

/* Sizes: each call is big enough to be cut into several tasks
 * (convert: 2^16 elements a task; quantize about 2^16; GEMM 96 x 256
 * tiles; attention 32 rows), so the internal pool is used too. */
#define NX (3 * 65536 + 1234)      /* convert length */
#define QR 96
#define QC 1024                    /* quantize shape */
#define GM 97
#define GN 300
#define GK 256                     /* GEMM shape */
#define HD 64                      /* head_dim */
#define KVH 2                      /* kv heads */
#define QH 8                       /* query heads */
#define PT 16                      /* tokens per page */
#define NPAGES 16
#define KVLEN 200                  /* shared cache length */
#define OWN_TOKENS 40              /* tokens each caller appends to its own cache */
#define PREFILL 24
#define MAXCALLERS 64
#define MAXB 6

/* ---- shared read-only inputs (made without the library) --------------- */

static float *xf;        /* convert input with NaN, Inf, subnormals */
static uint16_t *xh;     /* finite f16 bits */
static uint16_t *xb;     /* bf16 bits (upper halves of xf) */
static uint8_t *codes;   /* every byte value, for decodes */
static float *qsrc;      /* normal data: quantize, GEMM, KV, queries */
static float *mask;      /* prefill mask, some keys hidden */
static int32_t table[NPAGES];
static const float head_scales[KVH] = {1.0f / 64, 1.0f / 48};

static uint64_t rng_state = 0x243F6A8885A308D3ull;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return rng_state = x;
}
static float rnd_normal(void)
{
    double u1 = ((rnd() >> 11) + 0.5) / 9007199254740992.0, u2 = (rnd() >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
}
static float f32_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static void make_inputs(void)
{
    xf = malloc(sizeof *xf * NX);
    xh = malloc(sizeof *xh * NX);
    xb = malloc(sizeof *xb * NX);
    codes = malloc(NX);
    qsrc = malloc(sizeof *qsrc * QR * QC);
    mask = malloc(sizeof *mask * PREFILL * KVLEN);
    if (!xf || !xh || !xb || !codes || !qsrc || !mask) {
        fprintf(stderr, "stress_threads: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < NX; i++) {
        uint64_t r = rnd();
        switch (r % 500) {
        case 0: xf[i] = f32_bits(0x7FC00000u | (uint32_t)(r >> 40)); break;
        case 1: xf[i] = (r >> 9) & 1 ? INFINITY : -INFINITY; break;
        case 2: xf[i] = f32_bits((uint32_t)(r >> 41)); break; /* subnormal */
        default: xf[i] = rnd_normal() * (float)(1u << ((r >> 12) % 12)) / 64; break;
        }
        uint32_t b;
        memcpy(&b, &xf[i], 4);
        xb[i] = (uint16_t)(b >> 16);
        xh[i] = (uint16_t)(((r >> 20) & 0x8000u) | ((1 + (r >> 24) % 29) << 10) | ((r >> 32) & 0x3FFu));
        codes[i] = (uint8_t)i;
    }
    for (size_t i = 0; i < (size_t)QR * QC; i++)
        qsrc[i] = rnd_normal();
    for (size_t i = 0; i < (size_t)PREFILL * KVLEN; i++)
        mask[i] = rnd() % 7 == 0 ? -INFINITY : (float)(rnd() % 5) * 0.25f;
    for (int i = 0; i < NPAGES; i++)
        table[i] = i;
    for (int i = NPAGES - 1; i > 0; i--) { /* pages in shuffled order */
        int j = (int)(rnd() % (uint64_t)(i + 1)), t = table[i];
        table[i] = table[j];
        table[j] = t;
    }
}

/* ---- outputs ------------------------------------------------------------- */

/* One op's outputs: up to MAXB buffers, written in the same order each run. */
typedef struct opout {
    uint8_t *p[MAXB];
    size_t n[MAXB];
    int cur;
    lowbit_status st;  /* first failure of the run */
    char err[160];
} opout;

static void die(const char *what)
{
    fprintf(stderr, "stress_threads: %s\n", what);
    exit(1);
}

/* The next output buffer of this op, filled with a poison byte so a byte
 * a call fails to write cannot pass with last run's value. */
static void *out(opout *o, size_t n)
{
    int i = o->cur++;
    if (i >= MAXB)
        die("too many outputs in one op");
    if (!o->p[i]) {
        o->p[i] = malloc(n ? n : 1);
        o->n[i] = n;
        if (!o->p[i])
            die("out of memory");
    } else if (o->n[i] != n) {
        die("output size changed between runs");
    }
    memset(o->p[i], 0xA5, n);
    return o->p[i];
}

/* ---- shared operands: quantized tensors, packed weights, KV caches ------ */

#define NQ 7
#define NG 6

typedef struct operands {
    lowbit_qtensor q[NQ];             /* for the dequantize ops */
    lowbit_qtensor ga[NG], gb[NG];    /* GEMM operands */
    void *packed[NG];
    size_t packed_bytes[NG];
    lowbit_kv_cache kc[2], vc[2];     /* two K/V pairs for attention */
} operands;

typedef struct worker {
    int id;
    opout out[40];                    /* one per op (NOPS) */
    operands own;                     /* phase 0: built by this caller */
    int own_built, use_own;
    const operands *shared;
    uint64_t calls;
    unsigned errs;                    /* last_error problems */
    lowbit_status build_status;
} worker;

static operands shared_ops;

/* Record one call's status; the detail is copied at once (it is only
 * valid until this thread's next call). */
static void note(worker *w, opout *o, lowbit_status s)
{
    w->calls++;
    if (s != LOWBIT_OK && o && o->st == LOWBIT_OK) {
        o->st = s;
        snprintf(o->err, sizeof o->err, "%s", lowbit_last_error());
    } else if (s != LOWBIT_OK && !o && w->build_status == LOWBIT_OK) {
        w->build_status = s;
        fprintf(stderr, "stress_threads: caller %d: building operands: %s: %s\n", w->id,
                lowbit_status_string(s), lowbit_last_error());
    }
}

static lowbit_format qformat(int i, lowbit_convert_opts *opts, lowbit_dtype *src)
{
    static const lowbit_convert_opts ne = {LOWBIT_ROUND_NEAREST_EVEN, 1, 0, 0};
    *opts = ne;
    *src = LOWBIT_F32;
    switch (i) {
    case 0: return lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR);
    case 1:
        opts->rounding = LOWBIT_ROUND_STOCHASTIC, opts->seed = 77, opts->offset = 5;
        return lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_RCEIL);
    case 2: return lowbit_format_nvfp4();
    case 3: return lowbit_format_int_group(LOWBIT_INT4, 128, LOWBIT_F16, 1);
    case 4:
        opts->rounding = LOWBIT_ROUND_TOWARD_ZERO;
        return lowbit_format_fp8_block(LOWBIT_E5M2, 1, 128);
    case 5: return lowbit_format_fp8_tensor(LOWBIT_E4M3);
    default:
        *src = LOWBIT_F16;
        return lowbit_format_mx(LOWBIT_E3M2, LOWBIT_SCALE_EVEN);
    }
}

static const void *qinput(lowbit_dtype src)
{
    return src == LOWBIT_F16 ? (const void *)xh : (const void *)qsrc;
}

/* GEMM pair g: formats, C type, packed or not. */
static void gformats(int g, lowbit_format *fa, lowbit_format *fb, lowbit_dtype *ct, int *packed)
{
    *ct = LOWBIT_F32;
    *packed = 0;
    switch (g) {
    case 0: /* W4A8 */
        *fa = lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0);
        *fb = lowbit_format_int_group(LOWBIT_INT4, 128, LOWBIT_F16, 0);
        break;
    case 1: /* W8A8, prepacked, bf16 out */
        *fa = lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0);
        *fb = lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0);
        *ct = LOWBIT_BF16, *packed = 1;
        break;
    case 2:
        *fa = lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR);
        *fb = lowbit_format_mx(LOWBIT_E2M1, LOWBIT_SCALE_FLOOR);
        *ct = LOWBIT_F16;
        break;
    case 3:
        *fa = lowbit_format_nvfp4();
        *fb = lowbit_format_nvfp4();
        *packed = 1;
        break;
    case 4: /* W4A16 */
        *fa = lowbit_format_plain(LOWBIT_BF16);
        *fb = lowbit_format_int_group(LOWBIT_UINT4, 128, LOWBIT_F16, 1);
        break;
    default:
        *fa = lowbit_format_fp8_block(LOWBIT_E4M3, 1, 128);
        *fb = lowbit_format_fp8_block(LOWBIT_E4M3, 128, 128);
        *packed = 1;
        break;
    }
}

static void *zalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

static void qalloc(worker *w, lowbit_qtensor *q, const lowbit_format *f, size_t rows, size_t cols)
{
    if (f->scale_type == LOWBIT_DTYPE_COUNT) {
        /* plain wide activations: qtensor_init takes only quantized types */
        memset(q, 0, sizeof *q);
        q->format = *f;
        q->rows = rows;
        q->cols = q->row_stride = cols;
        q->tensor_scale = 1.0f;
        q->data_bytes = lowbit_dtype_bytes(f->elem, rows * cols);
        q->data = zalloc(q->data_bytes);
        return;
    }
    note(w, NULL, lowbit_qtensor_init(q, f, rows, cols));
    q->data = zalloc(q->data_bytes);
    q->scales = q->scales_bytes ? zalloc(q->scales_bytes) : NULL;
    q->zero_points = q->zero_points_bytes ? zalloc(q->zero_points_bytes) : NULL;
}

static void kv_formats(int pair, lowbit_format *kf, lowbit_format *vf)
{
    if (pair == 0) {
        *kf = lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 1);
        *vf = lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR);
    } else {
        *kf = lowbit_format_fp8_tensor(LOWBIT_E4M3); /* per-head scales */
        *vf = lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0);
    }
}

/* Describe a cache; with alloc, also give it zeroed pages. */
static void kv_init(worker *w, lowbit_kv_cache *c, const lowbit_format *f, int alloc)
{
    memset(c, 0, sizeof *c);
    c->format = *f;
    c->head_dim = HD;
    c->kv_heads = KVH;
    c->page_tokens = PT;
    c->head_scales = f->scale_type == LOWBIT_F32 && f->block_rows == 0 && f->block_cols == 0 ? head_scales : NULL;
    size_t page = 0;
    note(w, NULL, lowbit_kv_page_bytes(c, &page));
    c->page_count = NPAGES;
    c->pages_bytes = page * NPAGES;
    c->pages = alloc ? zalloc(c->pages_bytes) : NULL;
}

/* Append tokens [0, n) in three uneven calls, as a runtime's prefill and
 * decode steps would. */
static void kv_fill(worker *w, opout *o, lowbit_kv_cache *c, size_t n, size_t src_off)
{
    size_t cuts[4] = {0, n / 3, n / 3 + 1, n};
    for (int i = 0; i < 3; i++) {
        lowbit_status s = lowbit_kv_append(c, table, NPAGES, cuts[i], cuts[i + 1] - cuts[i], LOWBIT_F32,
                                           qsrc + src_off + cuts[i] * KVH * HD, KVH * HD);
        note(w, o, s);
    }
}

static void build_operands(worker *w, operands *op)
{
    for (int i = 0; i < NQ; i++) {
        lowbit_convert_opts opts;
        lowbit_dtype src;
        lowbit_format f = qformat(i, &opts, &src);
        qalloc(w, &op->q[i], &f, QR, QC);
        note(w, NULL, lowbit_quantize(&op->q[i], src, qinput(src), QC, &opts));
    }
    for (int g = 0; g < NG; g++) {
        lowbit_format fa, fb;
        lowbit_dtype ct;
        int packed;
        gformats(g, &fa, &fb, &ct, &packed);
        qalloc(w, &op->ga[g], &fa, GM, GK);
        qalloc(w, &op->gb[g], &fb, GN, GK);
        const float *a = qsrc + 1000 + 37 * g, *b = qsrc + 20000 + 53 * g;
        if (fa.scale_type == LOWBIT_DTYPE_COUNT) /* plain activations */
            note(w, NULL, lowbit_convert(fa.elem, op->ga[g].data, LOWBIT_F32, a, (size_t)GM * GK, NULL));
        else
            note(w, NULL, lowbit_quantize(&op->ga[g], LOWBIT_F32, a, GK, NULL));
        note(w, NULL, lowbit_quantize(&op->gb[g], LOWBIT_F32, b, GK, NULL));
        op->packed[g] = NULL;
        op->packed_bytes[g] = 0;
        if (packed) {
            note(w, NULL, lowbit_gemm_pack_size(&fa, &op->gb[g], NULL, &op->packed_bytes[g]));
            op->packed[g] = zalloc(op->packed_bytes[g]);
            note(w, NULL, lowbit_gemm_pack(&fa, &op->gb[g], NULL, op->packed[g], op->packed_bytes[g]));
        }
    }
    for (int p = 0; p < 2; p++) {
        lowbit_format kf, vf;
        kv_formats(p, &kf, &vf);
        kv_init(w, &op->kc[p], &kf, 1);
        kv_init(w, &op->vc[p], &vf, 1);
        kv_fill(w, NULL, &op->kc[p], KVLEN, 0);
        kv_fill(w, NULL, &op->vc[p], KVLEN, KVLEN * KVH * HD);
    }
}

static const operands *opnd(worker *w)
{
    if (!w->use_own)
        return w->shared;
    if (!w->own_built) {
        build_operands(w, &w->own);
        w->own_built = 1;
    }
    return &w->own;
}

/* ---- the ops ---------------------------------------------------------- */

typedef void (*op_fn)(worker *w, opout *o, int arg);
typedef struct op_desc {
    const char *name;
    op_fn fn;
    int arg;
} op_desc;

static void op_convert(worker *w, opout *o, int which)
{
    static const struct {
        lowbit_dtype dst, src;
        lowbit_convert_opts opts;
    } c[] = {
        {LOWBIT_E4M3, LOWBIT_F32, {LOWBIT_ROUND_NEAREST_EVEN, 1, 0, 0}},
        {LOWBIT_E2M1, LOWBIT_F32, {LOWBIT_ROUND_STOCHASTIC, 1, 1234, 99}},
        {LOWBIT_BF16, LOWBIT_F32, {LOWBIT_ROUND_NEAREST_EVEN, 0, 0, 0}},
        {LOWBIT_F32, LOWBIT_E4M3, {LOWBIT_ROUND_NEAREST_EVEN, 0, 0, 0}},
        {LOWBIT_E5M2, LOWBIT_F16, {LOWBIT_ROUND_TOWARD_ZERO, 0, 0, 0}},
        {LOWBIT_E3M2, LOWBIT_F32, {LOWBIT_ROUND_STOCHASTIC, 1, 0xC0FFEEull, 0}},
        {LOWBIT_INT4, LOWBIT_F32, {LOWBIT_ROUND_NEAREST_EVEN, 1, 0, 0}},
        {LOWBIT_E2M3, LOWBIT_BF16, {LOWBIT_ROUND_STOCHASTIC, 0, 42, 1u << 20}},
    };
    const void *src = c[which].src == LOWBIT_F32 ? (const void *)xf
                      : c[which].src == LOWBIT_F16 ? (const void *)xh
                      : c[which].src == LOWBIT_BF16 ? (const void *)xb
                                                    : (const void *)codes;
    void *dst = out(o, lowbit_dtype_bytes(c[which].dst, NX));
    note(w, o, lowbit_convert(c[which].dst, dst, c[which].src, src, NX, &c[which].opts));
}

static void op_quantize(worker *w, opout *o, int i)
{
    lowbit_convert_opts opts;
    lowbit_dtype src;
    lowbit_format f = qformat(i, &opts, &src);
    lowbit_qtensor q;
    note(w, o, lowbit_qtensor_init(&q, &f, QR, QC));
    q.data = out(o, q.data_bytes);
    q.scales = q.scales_bytes ? out(o, q.scales_bytes) : NULL;
    q.zero_points = q.zero_points_bytes ? out(o, q.zero_points_bytes) : NULL;
    note(w, o, lowbit_quantize(&q, src, qinput(src), QC, &opts));
    memcpy(out(o, sizeof q.tensor_scale), &q.tensor_scale, sizeof q.tensor_scale);
}

static void op_dequantize(worker *w, opout *o, int i)
{
    static const lowbit_dtype dst[NQ] = {LOWBIT_F32, LOWBIT_BF16, LOWBIT_F32, LOWBIT_F16,
                                         LOWBIT_F32, LOWBIT_BF16, LOWBIT_F32};
    const lowbit_qtensor *q = &opnd(w)->q[i];
    void *d = out(o, lowbit_dtype_bytes(dst[i], (size_t)QR * QC));
    note(w, o, lowbit_dequantize(dst[i], d, QC, q));
}

static void op_gemm(worker *w, opout *o, int g)
{
    const operands *op = opnd(w);
    lowbit_format fa, fb;
    lowbit_dtype ct;
    int packed;
    gformats(g, &fa, &fb, &ct, &packed);
    void *c = out(o, lowbit_dtype_bytes(ct, (size_t)GM * GN));
    float alpha = g == 3 ? 0.5f : 1.0f;
    if (packed)
        note(w, o, lowbit_gemm_packed(&op->ga[g], op->packed[g], op->packed_bytes[g], alpha, 0.0f, ct, c, GN, NULL));
    else
        note(w, o, lowbit_gemm(&op->ga[g], &op->gb[g], alpha, 0.0f, ct, c, GN, NULL));
}

static void attend(worker *w, opout *o, const lowbit_kv_cache *k, const lowbit_kv_cache *v, size_t kv_len,
                   size_t q_tokens, int masked, lowbit_dtype ot)
{
    lowbit_attention_args a = {0};
    a.q_heads = QH;
    a.q_tokens = q_tokens;
    a.q_type = LOWBIT_F32;
    a.q = qsrc + 5000;
    a.q_stride = QH * HD;
    a.k = k;
    a.v = v;
    a.block_table = table;
    a.block_table_len = NPAGES;
    a.kv_len = kv_len;
    a.q_pos = kv_len - q_tokens;
    a.scale = 0.125f;
    a.mask = masked ? mask : NULL;
    a.mask_stride = KVLEN;
    a.out_type = ot;
    a.out = out(o, lowbit_dtype_bytes(ot, q_tokens * QH * HD));
    a.out_stride = QH * HD;
    a.flags = LOWBIT_ATTN_CAUSAL;
    note(w, o, lowbit_attention(&a));
}

/* Attention over the shared cache: pair 0 decode, pair 1 masked prefill. */
static void op_attention(worker *w, opout *o, int p)
{
    const operands *op = opnd(w);
    if (p == 0)
        attend(w, o, &op->kc[0], &op->vc[0], KVLEN, 1, 0, LOWBIT_F32);
    else
        attend(w, o, &op->kc[1], &op->vc[1], KVLEN, PREFILL, 1, LOWBIT_BF16);
}

/* A cache of this caller's own: append, then attend over it. */
static void op_kv_own(worker *w, opout *o, int p)
{
    lowbit_format kf, vf;
    kv_formats(p, &kf, &vf);
    lowbit_kv_cache k, v;
    kv_init(w, &k, &kf, 0);
    kv_init(w, &v, &vf, 0);
    k.pages = out(o, k.pages_bytes);
    v.pages = out(o, v.pages_bytes);
    memset(k.pages, 0, k.pages_bytes); /* a runtime's fresh pages */
    memset(v.pages, 0, v.pages_bytes);
    kv_fill(w, o, &k, OWN_TOKENS, 777 * HD);
    kv_fill(w, o, &v, OWN_TOKENS, 999 * HD);
    attend(w, o, &k, &v, OWN_TOKENS, p == 0 ? 1 : 5, 0, LOWBIT_F16);
}

/* The error detail is per thread: this caller's own failure must still be
 * there after yielding to others, and gone after its next success. */
static void op_last_error(worker *w, opout *o, int arg)
{
    (void)arg;
    (void)o;
    int bad = 300 + w->id + (w->id < 0 ? 100 : 0);
    char want[32];
    snprintf(want, sizeof want, "n = %d:", bad);
    lowbit_status s = lowbit_set_num_threads(bad);
    w->calls++;
    if (s != LOWBIT_ERR_UNSUPPORTED)
        w->errs++;
    for (int i = 0; i < 3; i++) {
        sched_yield();
        if (!strstr(lowbit_last_error(), want)) {
            fprintf(stderr, "stress_threads: caller %d: last_error is \"%s\", expected it to contain \"%s\"\n",
                    w->id, lowbit_last_error(), want);
            w->errs++;
            break;
        }
    }
    lowbit_format f = lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR);
    s = lowbit_format_check(&f);
    w->calls++;
    if (s != LOWBIT_OK || lowbit_last_error()[0] != '\0') {
        fprintf(stderr, "stress_threads: caller %d: after a success last_error is \"%s\"\n", w->id,
                lowbit_last_error());
        w->errs++;
    }
}

static const op_desc ops[] = {
    {"convert f32->e4m3 sat", op_convert, 0},
    {"convert f32->e2m1 stochastic", op_convert, 1},
    {"convert f32->bf16", op_convert, 2},
    {"convert e4m3->f32", op_convert, 3},
    {"convert f16->e5m2 toward-zero", op_convert, 4},
    {"convert f32->e3m2 stochastic", op_convert, 5},
    {"convert f32->int4", op_convert, 6},
    {"convert bf16->e2m3 stochastic", op_convert, 7},
    {"quantize mxfp8_e4m3", op_quantize, 0},
    {"quantize mxfp4/rceil stochastic", op_quantize, 1},
    {"quantize nvfp4", op_quantize, 2},
    {"quantize int4_g128_f16_zp", op_quantize, 3},
    {"quantize fp8_e5m2 1x128 toward-zero", op_quantize, 4},
    {"quantize fp8_e4m3 tensor", op_quantize, 5},
    {"quantize mxfp6_e3m2/even from f16", op_quantize, 6},
    {"dequantize mxfp8_e4m3", op_dequantize, 0},
    {"dequantize mxfp4", op_dequantize, 1},
    {"dequantize nvfp4", op_dequantize, 2},
    {"dequantize int4_g128_zp", op_dequantize, 3},
    {"dequantize fp8 1x128", op_dequantize, 4},
    {"dequantize fp8 tensor", op_dequantize, 5},
    {"dequantize mxfp6", op_dequantize, 6},
    {"gemm W4A8", op_gemm, 0},
    {"gemm_packed W8A8", op_gemm, 1},
    {"gemm MXFP4", op_gemm, 2},
    {"gemm_packed NVFP4", op_gemm, 3},
    {"gemm W4A16", op_gemm, 4},
    {"gemm_packed FP8 blocks", op_gemm, 5},
    {"attention decode (shared cache)", op_attention, 0},
    {"attention prefill masked (shared cache)", op_attention, 1},
    {"kv_append + attention (own cache)", op_kv_own, 0},
    {"kv_append + attention (own cache, fp8/int8)", op_kv_own, 1},
    {"last_error is per thread", op_last_error, 0},
};
#define NOPS (sizeof ops / sizeof ops[0])
_Static_assert(NOPS <= sizeof ((worker *)0)->out / sizeof ((worker *)0)->out[0], "worker.out too short");

/* One pass over every op, starting at `first` (callers start at different
 * ops, so their first calls differ). */
static void run_all(worker *w, size_t first)
{
    for (size_t k = 0; k < NOPS; k++) {
        size_t i = (first + k) % NOPS;
        opout *o = &w->out[i];
        o->cur = 0;
        o->st = LOWBIT_OK;
        ops[i].fn(w, o, ops[i].arg);
    }
}

/* ---- comparison ---------------------------------------------------------- */

static atomic_ullong bytes_compared, mismatches, calls_total;

static void cmp_bytes(const char *phase, int id, const char *what, int buf, const void *got, const void *want,
                      size_t n)
{
    atomic_fetch_add(&bytes_compared, n);
    if (memcmp(got, want, n) == 0)
        return;
    const uint8_t *g = got, *e = want;
    size_t i = 0, diff = 0;
    while (g[i] == e[i])
        i++;
    for (size_t j = i; j < n; j++)
        diff += g[j] != e[j];
    atomic_fetch_add(&mismatches, diff);
    fprintf(stderr, "stress_threads: MISMATCH %s, caller %d, %s buffer %d: %zu of %zu bytes differ, first at %zu "
                    "(0x%02x, one thread gives 0x%02x)\n", phase, id, what, buf, diff, n, i, g[i], e[i]);
}

static worker ref;

static void compare(worker *w, const char *phase)
{
    for (size_t i = 0; i < NOPS; i++) {
        opout *o = &w->out[i], *r = &ref.out[i];
        if (o->st != LOWBIT_OK) {
            atomic_fetch_add(&mismatches, 1);
            fprintf(stderr, "stress_threads: %s, caller %d, %s: %s: %s\n", phase, w->id, ops[i].name,
                    lowbit_status_string(o->st), o->err);
        }
        if (o->cur != r->cur) {
            atomic_fetch_add(&mismatches, 1);
            fprintf(stderr, "stress_threads: %s, caller %d, %s: %d outputs, reference %d\n", phase, w->id,
                    ops[i].name, o->cur, r->cur);
            continue;
        }
        for (int b = 0; b < o->cur; b++)
            cmp_bytes(phase, w->id, ops[i].name, b, o->p[b], r->p[b], o->n[b] < r->n[b] ? o->n[b] : r->n[b]);
    }
    if (w->errs) {
        atomic_fetch_add(&mismatches, w->errs);
        w->errs = 0;
    }
    if (w->build_status != LOWBIT_OK) {
        atomic_fetch_add(&mismatches, 1);
        w->build_status = LOWBIT_OK;
    }
    atomic_fetch_add(&calls_total, w->calls);
    w->calls = 0;
}

static void cmp_qtensor(const char *what, int id, const lowbit_qtensor *a, const lowbit_qtensor *b)
{
    cmp_bytes("phase 0", id, what, 0, a->data, b->data, a->data_bytes);
    if (a->scales_bytes)
        cmp_bytes("phase 0", id, what, 1, a->scales, b->scales, a->scales_bytes);
    if (a->zero_points_bytes)
        cmp_bytes("phase 0", id, what, 2, a->zero_points, b->zero_points, a->zero_points_bytes);
    cmp_bytes("phase 0", id, what, 3, &a->tensor_scale, &b->tensor_scale, sizeof a->tensor_scale);
}

/* What a caller built for itself in phase 0 against the main thread's. */
static void compare_operands(const worker *w)
{
    const operands *a = &w->own, *b = &shared_ops;
    for (int i = 0; i < NQ; i++)
        cmp_qtensor("own quantized tensor", w->id, &a->q[i], &b->q[i]);
    for (int g = 0; g < NG; g++) {
        cmp_qtensor("own GEMM A", w->id, &a->ga[g], &b->ga[g]);
        cmp_qtensor("own GEMM B", w->id, &a->gb[g], &b->gb[g]);
        if (a->packed_bytes[g] != b->packed_bytes[g]) {
            atomic_fetch_add(&mismatches, 1);
            fprintf(stderr, "stress_threads: caller %d: packed size differs\n", w->id);
        } else if (a->packed[g]) {
            cmp_bytes("phase 0", w->id, "own packed B", g, a->packed[g], b->packed[g], a->packed_bytes[g]);
        }
    }
    for (int p = 0; p < 2; p++) {
        cmp_bytes("phase 0", w->id, "own K cache pages", p, a->kc[p].pages, b->kc[p].pages, a->kc[p].pages_bytes);
        cmp_bytes("phase 0", w->id, "own V cache pages", p, a->vc[p].pages, b->vc[p].pages, a->vc[p].pages_bytes);
    }
}

/* ---- threads ------------------------------------------------------------- */

static int ncallers = 12, iters = 3, first_use_reps = 3, corrupt;
static worker workers[MAXCALLERS];
static pthread_barrier_t barrier;
static int phase;
static atomic_int phase1_left;

static void *caller_main(void *arg)
{
    worker *w = arg;
    pthread_barrier_wait(&barrier);
    if (phase == 0) {
        w->use_own = 1;
        run_all(w, (size_t)w->id * 5);
        return NULL;
    }
    if (phase == 1) {
        for (int it = 0; it < iters; it++) {
            run_all(w, (size_t)w->id * 7 + (size_t)it * 3);
            if (corrupt && w->id == 1 && it == 0)
                w->out[22].p[0][GN + 3] ^= 0x10; /* one bit of one GEMM output */
            compare(w, "phase 1");
        }
        atomic_fetch_sub(&phase1_left, 1);
        return NULL;
    }
    run_all(w, (size_t)w->id * 11);
    return NULL;
}

/* Phase 1's extra thread: keep moving the process-wide thread count. */
static void *cycler_main(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&barrier);
    for (int i = 0; atomic_load(&phase1_left) > 0; i++) {
        if (lowbit_set_num_threads(1 + i % 8) != LOWBIT_OK) {
            atomic_fetch_add(&mismatches, 1);
            fprintf(stderr, "stress_threads: lowbit_set_num_threads(%d) failed: %s\n", 1 + i % 8,
                    lowbit_last_error());
        }
        struct timespec ts = {0, 300 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void run_phase(int p, int with_cycler)
{
    pthread_t t[MAXCALLERS + 1];
    phase = p;
    atomic_store(&phase1_left, ncallers);
    pthread_barrier_init(&barrier, NULL, (unsigned)(ncallers + with_cycler));
    for (int i = 0; i < ncallers; i++)
        if (pthread_create(&t[i], NULL, caller_main, &workers[i]) != 0)
            die("pthread_create failed");
    if (with_cycler && pthread_create(&t[ncallers], NULL, cycler_main, NULL) != 0)
        die("pthread_create failed");
    for (int i = 0; i < ncallers + with_cycler; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&barrier);
}

/* Phase 0, then the single-threaded reference and the comparison. */
static void first_use(void)
{
    /* More than one internal thread from the first call on, unless the
     * caller chose (read lazily by the library: this is no library call). */
    setenv("LOWBIT_NUM_THREADS", "4", 0);
    run_phase(0, 0);
    ref.id = -1;
    ref.shared = &shared_ops;
    note(&ref, NULL, lowbit_set_num_threads(1));
    build_operands(&ref, &shared_ops);
    run_all(&ref, 0);
    for (size_t i = 0; i < NOPS; i++)
        if (ref.out[i].st != LOWBIT_OK) {
            fprintf(stderr, "stress_threads: reference %s: %s: %s\n", ops[i].name,
                    lowbit_status_string(ref.out[i].st), ref.out[i].err);
            exit(1);
        }
    if (ref.errs || ref.build_status != LOWBIT_OK)
        die("the single-threaded reference run failed");
    ref.calls = 0;
    for (int i = 0; i < ncallers; i++) {
        compare(&workers[i], "phase 0 (first use)");
        compare_operands(&workers[i]);
        workers[i].use_own = 0;
        workers[i].shared = &shared_ops;
    }
}

static int parse_int(const char *s, int lo, int hi, int *v)
{
    char *end;
    long x = strtol(s, &end, 10);
    if (!*s || *end || x < lo || x > hi)
        return 0;
    *v = (int)x;
    return 1;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        int ok = i + 1 < argc;
        if (ok && strcmp(argv[i], "--callers") == 0)
            ok = parse_int(argv[++i], 1, MAXCALLERS, &ncallers);
        else if (ok && strcmp(argv[i], "--iters") == 0)
            ok = parse_int(argv[++i], 0, 1000000, &iters);
        else if (ok && strcmp(argv[i], "--first-use-reps") == 0)
            ok = parse_int(argv[++i], 1, 1000, &first_use_reps);
        else
            ok = 0;
        if (!ok) {
            fprintf(stderr, "usage: stress_threads [--callers N] [--iters N] [--first-use-reps N]\n");
            return 2;
        }
    }
    const char *c = getenv("LOWBIT_STRESS_CORRUPT");
    corrupt = c && *c && strcmp(c, "0") != 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    make_inputs();
    for (int i = 0; i < ncallers; i++)
        workers[i].id = i;

    /* Extra first-use rounds in children forked before any library call. */
    int child_failures = 0;
    for (int r = 1; r < first_use_reps; r++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
            die("fork failed");
        if (pid == 0) {
            first_use();
            fflush(NULL);
            _exit(atomic_load(&mismatches) ? 1 : 0);
        }
        int st = 0;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "stress_threads: first-use round %d (child process) failed\n", r);
            child_failures++;
        }
    }
    first_use();

    /* Phase 1: mixed load while the thread count moves. */
    run_phase(1, 1);

    /* Phase 2: every internal thread count in turn. */
    for (int n = 1; n <= 8; n++) {
        note(&ref, NULL, lowbit_set_num_threads(n));
        if (lowbit_get_num_threads() != n)
            die("lowbit_get_num_threads does not return what was set");
        run_phase(2, 0);
        char what[48];
        snprintf(what, sizeof what, "phase 2 (%d internal threads)", n);
        for (int i = 0; i < ncallers; i++)
            compare(&workers[i], what);
    }
    note(&ref, NULL, lowbit_set_num_threads(0));

    clock_gettime(CLOCK_MONOTONIC, &t1);
    unsigned long long mm = atomic_load(&mismatches) + (unsigned long long)child_failures;
    printf("stress_threads: %d callers, %zu ops, %d first-use rounds, %d mixed iterations, thread counts 1-8 "
           "(backend %s): %llu calls, %llu bytes compared, %llu mismatches, %.1f s - %s\n",
           ncallers, NOPS, first_use_reps, iters, lowbit_backend_name(lowbit_get_backend()),
           (unsigned long long)atomic_load(&calls_total), (unsigned long long)atomic_load(&bytes_compared), mm,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9, mm ? "FAIL" : "PASS");
    if (corrupt) {
        /* the one flipped byte, seen once, and nothing else */
        printf("stress_threads: selfcheck: %s\n", mm == 1 ? "the flipped bit was caught" : "NOT as expected");
        return mm == 1 ? 0 : 1;
    }
    return mm ? 1 : 0;
}
