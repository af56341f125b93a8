/*
 * main.c - lowbit-check's command line, result rows and summary.
 *
 * Every check produces one row: (op, formats, backend, kernel, mode, cases,
 * mismatches).  "cases" counts the element values compared; "mismatches"
 * counts differing elements, plus one for every crash and every guard-byte
 * violation.  The exit status is 0 only if every row has zero mismatches.
 * A row that could not run here at all (a GPU device test without a device)
 * is printed as SKIP and counted apart: never as a pass.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "model.h"

check_config cfg = {0, 0, 0, 0, 0, 0, -1, -1, NULL};

static struct {
    uint64_t rows, cases, mismatches, failed_rows;
    uint64_t unavailable; /* rows that could not run here (SKIP) */
    uint64_t survivors; /* --inject-fault: rows that compared something and still passed */
} totals;

static unsigned char *kernel_done; /* per registry index: 1 checked */

static FILE *info_out(void)
{
    return cfg.json ? stderr : stdout;
}

void note_kernel_checked(const lb_kernel *k)
{
    for (size_t i = 0; i < lb_registry_size; i++)
        if (lb_registry[i] == k)
            kernel_done[i] = 1;
}

void note_kernel_skipped(const lb_kernel *k, const char *why)
{
    fprintf(info_out(), "skip     %-10s %-8s %-28s not runnable here: %s\n", lowbit_op_name(k->op),
            lowbit_backend_name(k->backend), k->name, why);
}

/* ---- rows -------------------------------------------------------------- */

static int table_header_done;

int row_begin(check_row *r, const char *op, const char *formats, const char *backend,
              const char *kernel, int exact)
{
    memset(r, 0, sizeof *r);
    snprintf(r->op, sizeof r->op, "%s", op);
    snprintf(r->formats, sizeof r->formats, "%s", formats);
    snprintf(r->backend, sizeof r->backend, "%s", backend);
    snprintf(r->kernel, sizeof r->kernel, "%s", kernel);
    r->exact = exact;
    if (cfg.op >= 0 && strcmp(op, lowbit_op_name((lowbit_op)cfg.op)) != 0)
        r->skipped = 1;
    if (cfg.backend >= 0 && strcmp(backend, lowbit_backend_name((lowbit_backend)cfg.backend)) != 0)
        r->skipped = 1;
    if (cfg.filter && !strstr(formats, cfg.filter))
        r->skipped = 1;
    return !r->skipped;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void row_print_json(const check_row *r)
{
    printf("{\"op\":");
    json_str(stdout, r->op);
    printf(",\"formats\":");
    json_str(stdout, r->formats);
    printf(",\"backend\":");
    json_str(stdout, r->backend);
    printf(",\"kernel\":");
    json_str(stdout, r->kernel);
    printf(",\"mode\":\"%s\",\"cases\":%llu,\"mismatches\":%llu", r->exact ? "exact" : "fast",
           (unsigned long long)r->cases, (unsigned long long)r->mismatches);
    if (r->unavailable)
        printf(",\"skipped\":true");
    if (r->note[0]) {
        printf(",\"note\":");
        json_str(stdout, r->note);
    }
    printf("}\n");
}

static void row_print_table(const check_row *r)
{
    if (!table_header_done) {
        printf("%-10s %-34s %-7s %-26s %-5s %12s %10s  %s\n", "op", "formats", "backend", "kernel", "mode",
               "cases", "mismatches", "result");
        table_header_done = 1;
    }
    const char *result = r->unavailable ? "SKIP" : r->mismatches ? "FAIL" : "OK";
    printf("%-10s %-34s %-7s %-26s %-5s %12llu %10llu  %s%s%s%s\n", r->op, r->formats, r->backend, r->kernel,
           r->exact ? "exact" : "fast", (unsigned long long)r->cases, (unsigned long long)r->mismatches, result,
           r->crashes ? " (crashed)" : r->guards ? " (guard bytes)" : "", r->note[0] ? "  " : "", r->note);
}

/* Add a row that ran to the totals. */
static void row_count(const check_row *r)
{
    totals.rows++;
    totals.cases += r->cases;
    totals.mismatches += r->mismatches;
    if (r->mismatches)
        totals.failed_rows++;
    if (cfg.inject_fault && r->cases && !r->mismatches) {
        totals.survivors++;
        fprintf(stderr, "lowbit-check: inject-fault: %s %s %s %s passed although every output was corrupted\n",
                r->op, r->formats, r->backend, r->kernel);
    }
}

void row_end(check_row *r)
{
    if (r->skipped)
        return;
    if (r->mismatches)
        r->unavailable = 0; /* a row that found something wrong is a failure, never a skip */
    if (r->unavailable)
        totals.unavailable++;
    else
        row_count(r);
    if (cfg.json)
        row_print_json(r);
    else
        row_print_table(r);
    fflush(stdout);
}

void row_diff(check_row *r, const char *fmt, ...)
{
    r->mismatches++;
    if (!cfg.verbose || r->diffs_printed >= ROW_MAX_DIFFS)
        return;
    if (r->diffs_printed == 0)
        fprintf(stderr, "--- %s %s %s %s: first mismatches\n", r->op, r->formats, r->backend, r->kernel);
    r->diffs_printed++;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "    ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

void row_event(check_row *r, const char *fmt, ...)
{
    r->mismatches++;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "lowbit-check: %s %s %s %s: ", r->op, r->formats, r->backend, r->kernel);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

/* ---- --list ------------------------------------------------------------ */

static void list_kernels(void)
{
    printf("%-10s %-28s %-7s %-28s %-5s %s\n", "op", "formats", "backend", "kernel", "mode", "runs here");
    for (size_t i = 0; i < lb_registry_size; i++) {
        const lb_kernel *k = lb_registry[i];
        const char *why = "";
        int ok = kernel_runnable(k, &why);
        printf("%-10s %-28s %-7s %-28s %-5s %s%s\n", lowbit_op_name(k->op), k->formats,
               lowbit_backend_name(k->backend), k->name, k->exact ? "exact" : "fast",
               ok ? "yes" : "no: ", ok ? "" : why);
    }
    printf("%zu kernels registered; CPU features 0x%x\n", lb_registry_size, lowbit_cpu_features());
}

/* ---- command line ------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lowbit-check [options]\n"
            "Checks every registered lowbit kernel against the reference, bit for bit,\n"
            "and the reference against the harness's own model of every format.\n"
            "\n"
            "  --list              list the registered kernels and whether they run here\n"
            "  --op OP             only convert, quantize, dequantize, gemm or attention\n"
            "  --backend B         only kernels (and rows) of backend B (ref, avx2, avx512, ...)\n"
            "  --backend cuda|hip  instead of the CPU checks, run the GPU device test programs\n"
            "                      (those --op selects; --quick is passed on), one row each:\n"
            "                      cases and mismatches from their \"N passed, M failed\" line,\n"
            "                      SKIP where there is no device.  They are looked for in\n"
            "                      $LOWBIT_GPU_TEST_DIR, else in this build's kernels/cuda or\n"
            "                      kernels/hip (LOWBIT_HIP_MODULE defaults to that build's)\n"
            "  --filter STR        only rows whose formats column contains STR\n"
            "  --seed N            seed of all random data (default: from the clock; always printed)\n"
            "  --quick             fewer random cases (a few seconds)\n"
            "  --json              one JSON object per row on stdout (other output on stderr)\n"
            "  -v, --verbose       print the first mismatches of a failing row (index, input,\n"
            "                      expected, got)\n"
            "  --bench             after all checks pass, time each runnable kernel\n"
            "  --inject-fault      developer check of the harness itself: flip one bit of\n"
            "                      every output under test before comparing it.  Every row\n"
            "                      that compares something must then FAIL: the exit status\n"
            "                      is 1 when they all did, 0 when some row missed the fault\n"
            "                      (the harness is broken; such rows are named on stderr)\n"
            "  -h, --help          this text\n"
            "\n"
            "Exit status: 0 when every check passed, 1 on any mismatch, crash or guard-byte\n"
            "violation, 2 on a usage error (--inject-fault: see above), 77 when nothing could\n"
            "run here (--backend cuda|hip without that backend or device).\n");
}

/* ---- summary ----------------------------------------------------------- */

/* The totals line.  Rows that could not run are named apart, and a run in
 * which nothing could run is a SKIP, not a PASS.  The seed is shown where
 * the random data came from it (not for the GPU programs, which draw their
 * own). */
static void print_totals(FILE *o, double secs, int show_seed)
{
    if (totals.rows == 0)
        fprintf(o, "lowbit-check: %s\n",
                totals.unavailable ? "no check could run here" : "no checks matched the filters");
    char skipped[48] = "", seed[48] = "";
    if (totals.unavailable)
        snprintf(skipped, sizeof skipped, ", %llu skipped", (unsigned long long)totals.unavailable);
    if (show_seed)
        snprintf(seed, sizeof seed, " (seed %llu)", (unsigned long long)cfg.seed);
    const char *verdict = totals.mismatches ? "FAIL" : !totals.rows && totals.unavailable ? "SKIP" : "PASS";
    fprintf(o, "lowbit-check: %llu checks, %llu cases, %llu mismatches, %llu failing checks%s, %.1f s%s - %s\n",
            (unsigned long long)totals.rows, (unsigned long long)totals.cases,
            (unsigned long long)totals.mismatches, (unsigned long long)totals.failed_rows, skipped, secs, seed,
            verdict);
    fflush(o);
}

/* 1 on any failure; 77 (the test-harness skip) when nothing could run. */
static int exit_status(void)
{
    if (totals.mismatches)
        return 1;
    return !totals.rows && totals.unavailable ? 77 : 0;
}

/* --backend cuda / hip: the device test programs instead of the CPU checks
 * (whose rows that backend would all filter out anyway). */
static int run_gpu_checks(void)
{
    const char *name = lowbit_backend_name((lowbit_backend)cfg.backend);
    if (cfg.bench || cfg.inject_fault) {
        fprintf(stderr, "lowbit-check: --backend %s runs the device test programs; %s is for the CPU kernels "
                        "(GPU timings: lowbit-bench --backend %s)\n", name, cfg.bench ? "--bench" : "--inject-fault",
                name);
        return 2;
    }
    double t0 = now_seconds();
    int rc = check_gpu((lowbit_backend)cfg.backend);
    if (rc)
        return rc;
    print_totals(info_out(), now_seconds() - t0, 0);
    return exit_status();
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s)
        return 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (*end)
        return 0;
    *out = v;
    return 1;
}

int main(int argc, char **argv)
{
    int list = 0, have_seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
#define TAKE_VALUE()                                                                    \
    do {                                                                                \
        const char *eq = strchr(a, '=');                                                \
        if (eq) {                                                                       \
            val = eq + 1;                                                               \
        } else if (i + 1 < argc) {                                                      \
            val = argv[++i];                                                            \
        } else {                                                                        \
            fprintf(stderr, "lowbit-check: %s needs a value\n", a);                     \
            return 2;                                                                   \
        }                                                                               \
    } while (0)
#define IS_OPT(name) (strcmp(a, name) == 0 || strncmp(a, name "=", sizeof name) == 0)
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--list") == 0) {
            list = 1;
        } else if (strcmp(a, "--quick") == 0) {
            cfg.quick = 1;
        } else if (strcmp(a, "--json") == 0) {
            cfg.json = 1;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            cfg.verbose = 1;
        } else if (strcmp(a, "--bench") == 0) {
            cfg.bench = 1;
        } else if (strcmp(a, "--inject-fault") == 0) {
            cfg.inject_fault = 1;
        } else if (IS_OPT("--seed")) {
            TAKE_VALUE();
            if (!parse_u64(val, &cfg.seed)) {
                fprintf(stderr, "lowbit-check: --seed %s: not a number\n", val);
                return 2;
            }
            have_seed = 1;
        } else if (IS_OPT("--op")) {
            TAKE_VALUE();
            cfg.op = -1;
            for (int o = 0; o < LOWBIT_OP_COUNT; o++)
                if (strcmp(val, lowbit_op_name((lowbit_op)o)) == 0)
                    cfg.op = o;
            if (cfg.op < 0) {
                fprintf(stderr, "lowbit-check: --op %s: expected convert, quantize, dequantize, gemm or attention\n", val);
                return 2;
            }
        } else if (IS_OPT("--backend")) {
            TAKE_VALUE();
            lowbit_backend b = lowbit_backend_from_name(val);
            if (b == LOWBIT_BACKEND_COUNT || b == LOWBIT_BACKEND_AUTO) {
                fprintf(stderr, "lowbit-check: --backend %s: not a backend name\n", val);
                return 2;
            }
            cfg.backend = (int)b;
        } else if (IS_OPT("--filter")) {
            TAKE_VALUE();
            cfg.filter = val;
        } else {
            fprintf(stderr, "lowbit-check: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
#undef TAKE_VALUE
#undef IS_OPT
    }

    model_init();
    if (list) {
        list_kernels();
        return 0;
    }
    if (cfg.backend == LOWBIT_BACKEND_CUDA || cfg.backend == LOWBIT_BACKEND_HIP)
        return run_gpu_checks();
    if (!have_seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        cfg.seed = ((uint64_t)ts.tv_sec * 1000003u) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16);
        cfg.seed %= 1000000000u; /* short enough to retype */
    }
    fprintf(info_out(), "lowbit-check: seed %llu%s%s\n", (unsigned long long)cfg.seed,
            cfg.quick ? " (quick)" : "", cfg.inject_fault ? " (inject-fault: every compared row must FAIL)" : "");
    fflush(info_out());

    kernel_done = calloc(lb_registry_size ? lb_registry_size : 1, 1);
    crash_install();
    double t0 = now_seconds();

    selfcheck_elements();
    check_convert();
    selfcheck_quantize();
    check_quantize();
    selfcheck_gemm();
    check_gemm();
    check_attention();
    check_threads();

    /* every registered kernel this CPU runs must have been checked: a kernel
     * of an op this harness does not know yet is a failure, not a skip */
    for (size_t i = 0; i < lb_registry_size; i++) {
        const lb_kernel *k = lb_registry[i];
        if (kernel_done[i] || !kernel_selected(k) || !kernel_runnable(k, NULL))
            continue;
        check_row r;
        const char *op = lowbit_op_name(k->op);
        if (row_begin(&r, op ? op : "unknown", k->formats, lowbit_backend_name(k->backend), k->name, k->exact)) {
            row_event(&r, "registered and runnable here, but lowbit-check has no check for it");
            row_end(&r);
        }
    }

    double secs = now_seconds() - t0;
    size_t checked = 0, selected = 0;
    for (size_t i = 0; i < lb_registry_size; i++) {
        if (kernel_selected(lb_registry[i]))
            selected++;
        checked += kernel_done[i];
    }
    FILE *o = info_out();
    fprintf(o, "lowbit-check: kernels: %zu registered, %zu selected by the filters, %zu checked\n",
            lb_registry_size, selected, checked);
    print_totals(o, secs, 1);
    if (cfg.bench) {
        if (totals.mismatches)
            fprintf(o, "bench: skipped, the checks failed\n");
        else
            run_bench();
    }
    free(kernel_done);
    if (cfg.inject_fault) {
        fprintf(o, "lowbit-check: inject-fault: %llu of %llu checks missed the injected fault\n",
                (unsigned long long)totals.survivors, (unsigned long long)totals.rows);
        return totals.survivors || !totals.rows ? 0 : 1;
    }
    return exit_status();
}
