/*
 * check.h - what the files of lowbit-check share.
 *
 * lowbit-check is the accuracy harness, in the manner of dav1d's checkasm:
 * it walks the kernel registry (src/internal.h), calls every kernel this CPU
 * can run through its function pointer on inputs the harness builds (kernels
 * never validate, so every input here is valid by construction), and
 * compares the outputs bit for bit with the reference kernel on the same
 * inputs.  Output buffers carry guard bytes on both sides, every call runs
 * under a crash handler, and all random data comes from one printed seed.
 *
 * With only the reference registered it still checks something real: the
 * self-checks hold the reference against an independent model of every
 * format (model.c), built from the format definitions with ldexp and a
 * sorted value table, not from the library's codecs.
 *
 * Files:
 *   main.c      command line, the result table and JSON, the summary
 *   util.c      random numbers, guarded / fenced buffers, crash catching
 *   run.c       calling a kernel under guards and the crash handler
 *   inputs.c    input generators: every code, specials, edges, distributions
 *   model.c     the independent element model (value tables, rounding, Philox)
 *   selfcheck.c element self-checks: code round trips, reference vs model
 *   convert.c   convert kernels against the reference
 *   quantize.c  quantize / dequantize kernels against the reference
 *   qmodel.c    quantize self-checks: scale model, error bounds, edge blocks
 *   gemm.c      GEMM: the reference against a model, every kernel against it
 *   attention.c attention: the reference against f64, every kernel against it
 *   threads.c   every kernel on 1, 2, 3 and 8 threads against one
 *   bench.c     --bench timings
 *   gpu.c       --backend cuda / hip: the device test programs, one row each
 */
#ifndef LOWBIT_CHECK_H
#define LOWBIT_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "lowbit.h"
#include "src/internal.h"

/* ---- configuration (main.c) ------------------------------------------ */

typedef struct check_config {
    uint64_t seed;
    int quick;          /* fewer random cases */
    int verbose;        /* print the first mismatches of a failing row */
    int json;           /* one JSON object per row on stdout */
    int bench;          /* time kernels after all checks passed */
    int inject_fault;   /* developer: flip one bit of every candidate output */
    int op;             /* -1 = all, else lowbit_op */
    int backend;        /* -1 = all, else lowbit_backend */
    const char *filter; /* substring of the formats column, or NULL */
} check_config;

extern check_config cfg;

/* ---- result rows (main.c) -------------------------------------------- */

#define ROW_MAX_DIFFS 8
#define ROW_NOTE_LEN 160

typedef struct check_row {
    char op[16];
    char formats[64];
    char backend[16];
    char kernel[64];
    int exact;
    uint64_t cases;       /* elements (or values) compared */
    uint64_t mismatches;  /* differing elements, plus crashes and guard violations */
    int crashes;
    int guards;
    int diffs_printed;
    int skipped;          /* filtered out: not printed, not counted */
    int unavailable;      /* could not run here (a device test without a device):
                             printed as SKIP, counted apart, never as a pass */
    char note[ROW_NOTE_LEN]; /* why it failed or was skipped, or "" */
} check_row;

/* Start a row; returns 0 when the filters skip it (then do no work). */
int row_begin(check_row *r, const char *op, const char *formats, const char *backend,
              const char *kernel, int exact);
/* Print it (table line or JSON) and add it to the totals. */
void row_end(check_row *r);
/* A mismatch: counted, and with -v described (printf-style) up to ROW_MAX_DIFFS times. */
void row_diff(check_row *r, const char *fmt, ...) LB_PRINTF(2, 3);
/* A crash or a guard violation: always reported on stderr. */
void row_event(check_row *r, const char *fmt, ...) LB_PRINTF(2, 3);

/* ---- random numbers (util.c) ----------------------------------------- */

typedef struct rng {
    uint64_t s[4];
} rng;

void rng_seed(rng *g, uint64_t seed, uint64_t stream);
uint64_t rng_u64(rng *g);
uint32_t rng_u32(rng *g);
uint32_t rng_below(rng *g, uint32_t n); /* uniform in [0, n) */
double rng_unit(rng *g);                 /* uniform in [0, 1) */
double rng_normal(rng *g);
/* A stream for one check, derived from the run seed and a name. */
void rng_for(rng *g, const char *name);

/* ---- guarded buffers (util.c) ---------------------------------------- */

#define GUARD_BYTES 64

/* `size` usable bytes starting `misalign` bytes past a 64-byte boundary,
 * with GUARD_BYTES of a position-dependent pattern on either side. */
typedef struct gbuf {
    uint8_t *base;
    uint8_t *p;
    size_t size;
    size_t misalign;
} gbuf;

uint8_t *gbuf_alloc(gbuf *b, size_t size, size_t misalign);
void gbuf_free(gbuf *b);
/* Fill the usable bytes with pseudo-random junk from `salt`. */
void gbuf_junk(gbuf *b, uint64_t salt);
/* 0 if both guards are intact; else -1 (below) or 1 (above), and *at gets
 * the offset of the first clobbered guard byte relative to p. */
int gbuf_check(const gbuf *b, long *at);
/* Check both guards and report a violation on row r, naming the buffer. */
int gbuf_verify(const gbuf *b, check_row *r, const char *what, const char *ctx);

/* An input buffer whose last byte abuts an inaccessible page, so a kernel
 * that reads past the end of its input faults (and the crash handler
 * reports it).  Loads that stay inside the last aligned vector never cross
 * the page, so only genuine over-reads are caught. */
typedef struct fbuf {
    uint8_t *map;
    size_t maplen;
    uint8_t *p;
} fbuf;

uint8_t *fbuf_alloc(fbuf *b, size_t size);
void fbuf_free(fbuf *b);

/* ---- crash catching (util.c) ----------------------------------------- */

void crash_install(void);
/* Run fn(arg) under SIGSEGV/SIGBUS/SIGILL/SIGFPE catching; returns 0 or
 * the signal number that interrupted it. */
int crash_call(void (*fn)(void *), void *arg);
const char *signal_name(int sig);

/* ---- misc (util.c) ---------------------------------------------------- */

double now_seconds(void);
uint32_t f32_bits(float f);
float f32_from_bits(uint32_t u);
/* Element i of a packed buffer of type t, read with the harness's own
 * unpacking (independent of formats/packing.h). */
uint32_t hx_get(lowbit_dtype t, const void *buf, size_t i);
void hx_put(lowbit_dtype t, void *buf, size_t i, uint32_t code);
unsigned hx_bits(lowbit_dtype t);
size_t hx_bytes(lowbit_dtype t, size_t n);
/* Elements per whole-byte group: 1 (8/16/32-bit), 2 (4-bit), 4 (6-bit). */
size_t hx_granule(lowbit_dtype t);
const char *mode_name(int mode);
/* "1.5 (0x3fc00000)" style description of code c of type t. */
void describe_code(lowbit_dtype t, uint32_t c, char *buf, size_t len);

/* The registered reference kernel of an op (backend ref, exact, any types). */
const lb_kernel *find_ref_kernel(lowbit_op op);
int kernel_runnable(const lb_kernel *k, const char **why);
int kernel_selected(const lb_kernel *k);
/* Bookkeeping for the summary: which registered kernels were exercised. */
void note_kernel_checked(const lb_kernel *k);
void note_kernel_skipped(const lb_kernel *k, const char *why);

/* ---- the checks ------------------------------------------------------- */

void selfcheck_elements(void);   /* selfcheck.c */
void check_convert(void);        /* convert.c */
void check_quantize(void);       /* quantize.c */
void selfcheck_quantize(void);   /* qmodel.c */
void selfcheck_gemm(void);       /* gemm.c */
void check_gemm(void);           /* gemm.c */
void check_attention(void);      /* attention.c */
void check_threads(void);        /* threads.c */
void run_bench(void);            /* bench.c */
/* --backend cuda / hip: one row per device test program (gpu.c).  0 when
 * the rows were made, else the exit status (77: backend not available). */
int check_gpu(lowbit_backend b);

/* The sizes that break kernels (convert.c), shared with quantize.c. */
extern const size_t check_sizes[];
extern const size_t check_nsizes;
/* Is length n among those --quick keeps? */
int size_in_quick_set(size_t n);

#endif
