/*
 * sweep.h - lowbit-sweep's shared types (README.md describes the tool).
 *
 * File map:
 *   main.c               options, the sweep loop, exit status
 *   formats.c            the --formats spec language -> lowbit_format cases
 *   tensor.c             tensor sources (file bytes or a generator) -> f32
 *   reader_npy.c         .npy headers (v1/v2/v3)
 *   reader_safetensors.c .safetensors headers (uses json.c)
 *   json.c / json.h      a small, strict JSON parser for untrusted headers
 *   gen.c                seeded random tensors (normal, laplace, student-t, uniform)
 *   metrics.c            the error metrics, summed in double
 *   report.c             terminal table, CSV, JSON lines, --recommend
 *   plot_svg.c           the SQNR-vs-bits SVG plot
 *   util.c               errors, lists, mmap, number parsing, progress bar
 */
#ifndef LOWBIT_SWEEP_H
#define LOWBIT_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <lowbit.h>

#define SW_EXIT_USAGE 2   /* bad option, bad input file */
#define SW_EXIT_FAIL 1    /* the library refused a case */
/* --recommend: a format fits budget B when bits_per_element <= B + this */
#define SW_BUDGET_SLACK 0.005

/* ---- util.c ---- */
void sw_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void sw_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *sw_xmalloc(size_t n);
void *sw_xcalloc(size_t n, size_t size);
void *sw_xrealloc(void *p, size_t n);
char *sw_xstrdup(const char *s);
/* Split a comma list into a NULL-terminated array of fresh strings. */
char **sw_split(const char *list);
void sw_free_split(char **v);
/* Strict decimal parse of the whole string; 0 on success. */
int sw_parse_u64(const char *s, uint64_t *out);
int sw_parse_double(const char *s, double *out);

/* A read-only view of a whole file (mmap, or an empty buffer for size 0). */
typedef struct sw_file {
    char *path;
    const uint8_t *bytes;
    size_t size;
    int mapped;
} sw_file;
/* 0 on success; on failure err says why (errno text). */
int sw_file_open(sw_file *f, const char *path, char *err, size_t errlen);
void sw_file_close(sw_file *f);

void sw_progress(size_t done, size_t total, const char *what);
void sw_progress_end(void);
extern int sw_progress_enabled;

/* ---- tensors (tensor.c, gen.c, readers) ---- */
typedef enum { SW_SRC_F32, SW_SRC_F16, SW_SRC_BF16, SW_SRC_F64, SW_SRC_GEN } sw_src_kind;
typedef enum { SW_GEN_NORMAL, SW_GEN_LAPLACE, SW_GEN_STUDENT_T, SW_GEN_UNIFORM, SW_GEN_COUNT } sw_gen_kind;

typedef struct sw_tensor {
    char *name;
    size_t rows, cols;         /* rows = product of the leading dims */
    sw_src_kind kind;
    int big_endian;            /* stored bytes are big-endian (.npy '>f4') */
    const uint8_t *bytes;      /* into a mapped file; rows*cols elements */
    sw_gen_kind gen;
    uint64_t seed;
} sw_tensor;

typedef struct sw_tensor_list {
    sw_tensor *v;
    size_t n, cap;
} sw_tensor_list;

sw_tensor *sw_tensor_push(sw_tensor_list *l);
/* Materialize t as rows*cols f32 values into out. */
void sw_tensor_load(const sw_tensor *t, float *out);

const char *sw_gen_name(sw_gen_kind g);
int sw_gen_from_name(const char *s, sw_gen_kind *g);
void sw_gen_fill(sw_gen_kind g, uint64_t seed, float *out, size_t n);

/* Readers: validate the whole file up front; on error return -1 with a
 * one-line reason in err (the caller names the file). Patterns (fnmatch)
 * select tensors; NULL or empty selects all. */
int sw_read_npy(const sw_file *f, sw_tensor_list *out, char *err, size_t errlen);
int sw_read_safetensors(const sw_file *f, char *const *patterns, sw_tensor_list *out,
                        char *err, size_t errlen);
int sw_name_selected(const char *name, char *const *patterns);

/* ---- formats.c ---- */
typedef enum { SW_FAM_PLAIN, SW_FAM_FLOAT, SW_FAM_MX, SW_FAM_NVFP4, SW_FAM_INT, SW_FAM_COUNT } sw_family;

typedef struct sw_format {
    char name[48];          /* canonical spec name: "mxfp4", "int4_g128_f16_zp" */
    char block[24];         /* "32", "row", "tensor", "1x128", "none" */
    sw_family family;
    lowbit_format fmt;      /* rule is set per case for MX */
} sw_format;

typedef struct sw_format_list {
    sw_format *v;
    size_t n, cap;
} sw_format_list;

/* Expand a --formats list; exits 2 with a message on a bad spec. */
void sw_formats_parse(const char *list, const uint32_t *blocks, size_t nblocks, sw_format_list *out);
const char *sw_family_name(sw_family f);
void sw_formats_help(FILE *fp);

/* One configuration of the sweep (applied to every tensor). */
typedef struct sw_case {
    const sw_format *f;
    int has_rule;                 /* MX only */
    lowbit_scale_rule rule;
    lowbit_rounding rounding;
    lowbit_backend backend;
} sw_case;

const char *sw_rule_name(lowbit_scale_rule r);
const char *sw_rounding_name(lowbit_rounding r);

/* ---- metrics.c ---- */
typedef struct sw_sums {
    size_t n;             /* elements in the tensor */
    size_t nonfinite;     /* x or x^ not finite: excluded from everything below */
    size_t saturated, flushed;
    double sig, err;      /* sum x^2, sum (x - x^)^2, compensated */
    double max_abs, max_rel;
    double bits;          /* bits_per_element * n (so aggregates add) */
} sw_sums;

/* Element code extremes that count as saturated. */
typedef struct sw_satcodes {
    double lo, hi;        /* code <= lo or code >= hi */
} sw_satcodes;

sw_satcodes sw_satcodes_of(lowbit_dtype elem);
void sw_metrics(const float *x, const float *xh, const float *codes, size_t n, sw_satcodes sc,
                sw_sums *s);
void sw_sums_add(sw_sums *acc, const sw_sums *s);
double sw_nominal_bits(const lowbit_format *f, size_t rows, size_t cols);

/* Derived values; NAN stands for "null" (no data). */
typedef struct sw_metrics_out {
    double sqnr_db, mse, max_abs_err, max_rel_err, frac_saturated, frac_flushed, bits_per_element;
} sw_metrics_out;
void sw_derive(const sw_sums *s, sw_metrics_out *m);

/* ---- report.c ---- */
typedef struct sw_result {
    size_t tensor;        /* index into the tensor list; SIZE_MAX: aggregate */
    size_t kase;
    size_t rows, cols;
    sw_sums s;
} sw_result;

typedef struct sw_report {
    const sw_tensor_list *tensors;
    const sw_case *cases;
    size_t ncases;
    sw_result *results;   /* per tensor */
    size_t nresults;
    sw_result *agg;       /* one per case, over all tensors */
    int aggregate;
    const double *budgets;
    size_t nbudgets;
} sw_report;

void sw_print_table(FILE *fp, const sw_report *r);
void sw_write_csv(FILE *fp, const sw_report *r);
void sw_write_json(FILE *fp, const sw_report *r, int recommend);
/* Index into r->agg of the best case within each budget (SIZE_MAX: none). */
void sw_recommend(const sw_report *r, size_t *best);
void sw_print_recommend(FILE *fp, const sw_report *r);
/* A short label: "mxfp4", plus " floor" / " sr" when those vary. */
void sw_case_label(const sw_report *r, size_t kase, char *buf, size_t len);

/* ---- plot_svg.c ---- */
int sw_write_svg(FILE *fp, const sw_report *r, const char *title);

#endif
