/*
 * util.c - the harness's plumbing: random numbers from the one seed,
 * guarded buffers, crash catching, the harness's own packing helpers.
 */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>
#include "check.h"
#include "model.h"

/* ---- random numbers: xoshiro256** seeded through splitmix64 ---------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void rng_seed(rng *g, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xD1342543DE82EF95ull);
    for (int i = 0; i < 4; i++)
        g->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t rng_u64(rng *g)
{
    uint64_t *s = g->s;
    uint64_t r = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

uint32_t rng_u32(rng *g)
{
    return (uint32_t)(rng_u64(g) >> 32);
}

uint32_t rng_below(rng *g, uint32_t n)
{
    return n ? (uint32_t)(((rng_u64(g) >> 32) * (uint64_t)n) >> 32) : 0;
}

double rng_unit(rng *g)
{
    return (double)(rng_u64(g) >> 11) * 0x1p-53;
}

double rng_normal(rng *g)
{
    double u1 = rng_unit(g), u2 = rng_unit(g);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void rng_for(rng *g, const char *name)
{
    uint64_t h = 0xCBF29CE484222325ull; /* FNV-1a of the name */
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001B3ull;
    rng_seed(g, cfg.seed, h);
}

/* ---- guarded buffers -------------------------------------------------- */

static uint8_t guard_byte(size_t i)
{
    return (uint8_t)(0xA5u ^ (i * 0x3Bu) ^ (i >> 3));
}

uint8_t *gbuf_alloc(gbuf *b, size_t size, size_t misalign)
{
    size_t total = 64 + GUARD_BYTES + misalign + size + GUARD_BYTES + 64;
    b->base = malloc(total);
    if (!b->base) {
        fprintf(stderr, "lowbit-check: out of memory (%zu bytes)\n", total);
        exit(2);
    }
    uintptr_t start = ((uintptr_t)b->base + GUARD_BYTES + 63) & ~(uintptr_t)63;
    b->p = (uint8_t *)start + misalign;
    b->size = size;
    b->misalign = misalign;
    for (size_t i = 0; i < GUARD_BYTES; i++) {
        b->p[-(ptrdiff_t)GUARD_BYTES + (ptrdiff_t)i] = guard_byte(i);
        b->p[size + i] = guard_byte(i + GUARD_BYTES);
    }
    return b->p;
}

void gbuf_free(gbuf *b)
{
    free(b->base);
    b->base = b->p = NULL;
}

void gbuf_junk(gbuf *b, uint64_t salt)
{
    uint64_t x = salt;
    for (size_t i = 0; i < b->size; i += 8) {
        uint64_t v = splitmix64(&x);
        size_t k = b->size - i < 8 ? b->size - i : 8;
        memcpy(b->p + i, &v, k);
    }
}

int gbuf_check(const gbuf *b, long *at)
{
    for (size_t i = 0; i < GUARD_BYTES; i++)
        if (b->p[-(ptrdiff_t)GUARD_BYTES + (ptrdiff_t)i] != guard_byte(i)) {
            *at = (long)i - GUARD_BYTES;
            return -1;
        }
    for (size_t i = 0; i < GUARD_BYTES; i++)
        if (b->p[b->size + i] != guard_byte(i + GUARD_BYTES)) {
            *at = (long)(b->size + i);
            return 1;
        }
    return 0;
}

int gbuf_verify(const gbuf *b, check_row *r, const char *what, const char *ctx)
{
    long at = 0;
    int side = gbuf_check(b, &at);
    if (!side)
        return 0;
    r->guards++;
    row_event(r, "%s: overflow %s the %s buffer (byte %ld of a %zu-byte buffer)", ctx,
              side < 0 ? "below" : "above", what, at, b->size);
    return 1;
}

uint8_t *fbuf_alloc(fbuf *b, size_t size)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (size + pg - 1) / pg + 1;
    b->maplen = pages * pg;
    b->map = mmap(NULL, b->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b->map == MAP_FAILED) {
        fprintf(stderr, "lowbit-check: mmap of %zu bytes failed\n", b->maplen);
        exit(2);
    }
    mprotect(b->map + (pages - 1) * pg, pg, PROT_NONE);
    b->p = b->map + (pages - 1) * pg - size;
    return b->p;
}

void fbuf_free(fbuf *b)
{
    munmap(b->map, b->maplen);
    b->map = b->p = NULL;
}

/* ---- crash catching ---------------------------------------------------- */

static sigjmp_buf crash_jmp;
static volatile sig_atomic_t crash_armed, crash_sig;

static void crash_handler(int sig)
{
    if (crash_armed) {
        crash_armed = 0;
        crash_sig = sig;
        siglongjmp(crash_jmp, 1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void crash_install(void)
{
    static char altstack[1 << 16];
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = altstack;
    ss.ss_size = sizeof altstack;
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = crash_handler;
    sa.sa_flags = SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}

int crash_call(void (*fn)(void *), void *arg)
{
    if (sigsetjmp(crash_jmp, 1))
        return (int)crash_sig;
    crash_sig = 0;
    crash_armed = 1;
    fn(arg);
    crash_armed = 0;
    return 0;
}

const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    default: return "signal";
    }
}

/* ---- misc -------------------------------------------------------------- */

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

float f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

unsigned hx_bits(lowbit_dtype t)
{
    switch (t) {
    case LOWBIT_F32: return 32;
    case LOWBIT_F16: case LOWBIT_BF16: return 16;
    case LOWBIT_E3M2: case LOWBIT_E2M3: return 6;
    case LOWBIT_E2M1: case LOWBIT_INT4: case LOWBIT_UINT4: return 4;
    default: return 8;
    }
}

size_t hx_bytes(lowbit_dtype t, size_t n)
{
    return (n * hx_bits(t) + 7) / 8;
}

size_t hx_granule(lowbit_dtype t)
{
    unsigned b = hx_bits(t);
    return b == 4 ? 2 : b == 6 ? 4 : 1;
}

/* Bits [bit, bit + w) of a little-endian bit string. */
static uint32_t get_bits(const uint8_t *p, size_t bit, unsigned w)
{
    uint32_t v = 0;
    for (unsigned k = 0; k < w; k++) {
        size_t b = bit + k;
        v |= (uint32_t)((p[b / 8] >> (b % 8)) & 1u) << k;
    }
    return v;
}

static void put_bits(uint8_t *p, size_t bit, unsigned w, uint32_t v)
{
    for (unsigned k = 0; k < w; k++) {
        size_t b = bit + k;
        uint8_t m = (uint8_t)(1u << (b % 8));
        p[b / 8] = (uint8_t)(((v >> k) & 1u) ? (p[b / 8] | m) : (p[b / 8] & ~m));
    }
}

uint32_t hx_get(lowbit_dtype t, const void *buf, size_t i)
{
    const uint8_t *p = buf;
    unsigned w = hx_bits(t);
    if (w >= 8) {
        uint32_t v = 0;
        for (unsigned k = 0; k < w / 8; k++)
            v |= (uint32_t)p[i * (w / 8) + k] << (8 * k);
        return v;
    }
    return get_bits(p, i * w, w);
}

void hx_put(lowbit_dtype t, void *buf, size_t i, uint32_t code)
{
    uint8_t *p = buf;
    unsigned w = hx_bits(t);
    if (w >= 8) {
        for (unsigned k = 0; k < w / 8; k++)
            p[i * (w / 8) + k] = (uint8_t)(code >> (8 * k));
        return;
    }
    put_bits(p, i * w, w, code);
}

const char *mode_name(int mode)
{
    switch (mode) {
    case 0: return "nearest";
    case 1: return "toward-zero";
    case 2: return "stochastic";
    default: return "?";
    }
}

void describe_code(lowbit_dtype t, uint32_t c, char *buf, size_t len)
{
    double v = mdl_value(t, c);
    unsigned w = hx_bits(t);
    snprintf(buf, len, "%.9g (%s 0x%0*x)", v, lowbit_dtype_name(t), (int)((w + 3) / 4), c);
}

const lb_kernel *find_ref_kernel(lowbit_op op)
{
    for (size_t i = 0; i < lb_registry_size; i++) {
        const lb_kernel *k = lb_registry[i];
        uint32_t side = op == LOWBIT_OP_CONVERT ? (k->srcs & k->dsts) : op == LOWBIT_OP_QUANTIZE ? k->srcs : k->dsts;
        uint32_t full = op == LOWBIT_OP_CONVERT ? LB_ALL_TYPES : LB_WIDE_TYPES;
        if ((op == LOWBIT_OP_GEMM || op == LOWBIT_OP_ATTENTION) && k->op == op && k->backend == LOWBIT_BACKEND_REF && k->exact)
            return k;
        if (k->op == op && k->backend == LOWBIT_BACKEND_REF && k->exact && side == full &&
            (op == LOWBIT_OP_CONVERT || (k->schemes == LB_ALL_SCHEMES && k->elems == LB_ALL_TYPES)))
            return k;
    }
    return NULL;
}

int kernel_runnable(const lb_kernel *k, const char **why)
{
    lowbit_status s = lowbit_backend_status(k->backend);
    if (why)
        *why = s == LOWBIT_OK ? "" : lowbit_last_error();
    if (s == LOWBIT_OK && !lb_kernel_runs_here(k)) {
        if (why)
            *why = "this CPU lacks an extension the kernel needs";
        return 0;
    }
    return s == LOWBIT_OK;
}

int kernel_selected(const lb_kernel *k)
{
    if (cfg.op >= 0 && (int)k->op != cfg.op)
        return 0;
    if (cfg.backend >= 0 && (int)k->backend != cfg.backend)
        return 0;
    return 1;
}
