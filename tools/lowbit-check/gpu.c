/*
 * gpu.c - lowbit-check --backend cuda / hip.
 *
 * The GPU kernels cannot be called from here the way the CPU ones are: they
 * run on a device, and their checks are CUDA / HIP programs of their own
 * (tests/gpu/NAME_device_test.cu, built beside the GPU objects), each comparing
 * the device against the reference on the host.  So, as lowbit-bench does
 * for its GPU benchmarks, this runs the programs --op selects, with --quick
 * passed on, and turns each one's outcome into one row:
 *
 *   last line "N passed, M failed", exit 0   cases N + M, mismatches M
 *   exit 77 (no device; it printed a SKIP line)  a SKIP row, not a pass
 *   anything else (missing, crash, other exit status, no such last line,
 *   nothing checked)                          a failing row with a note
 *
 * The programs are looked for in $LOWBIT_GPU_TEST_DIR, else in the build
 * tree this tool was built in.  For HIP the child also needs the backend
 * module; LOWBIT_HIP_MODULE is pointed at the build tree's when unset.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "proc.h"

#ifndef LOWBIT_CHECK_CUDA_DIR
#define LOWBIT_CHECK_CUDA_DIR ""
#endif
#ifndef LOWBIT_CHECK_HIP_DIR
#define LOWBIT_CHECK_HIP_DIR ""
#endif
#ifndef LOWBIT_CHECK_HIP_MODULE
#define LOWBIT_CHECK_HIP_MODULE ""
#endif

/* Lines of a failing program's output echoed to stderr (-v: all of them). */
#define GPU_TAIL_LINES 30

typedef struct gpu_test {
    const char *suffix;  /* program name after the backend's prefix */
    int ops[2];          /* the lowbit_ops it checks (-1: none) */
    const char *formats; /* the formats column */
} gpu_test;

static const gpu_test gpu_tests[] = {
    {"convert_device_test", {LOWBIT_OP_CONVERT, -1}, "device tests"},
    {"quantize_device_test", {LOWBIT_OP_QUANTIZE, LOWBIT_OP_DEQUANTIZE}, "device tests (quantize+dequantize)"},
    {"gemm_device_test", {LOWBIT_OP_GEMM, -1}, "device tests"},
    {"attention_device_test", {LOWBIT_OP_ATTENTION, -1}, "device tests"},
};

/* What a program's captured output says. */
typedef struct gpu_output {
    int have_counts;
    unsigned long long passed, failed;
    char skip[ROW_NOTE_LEN]; /* its first "SKIP:" line, or "" */
    long lines;
} gpu_output;

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = 0;
}

/* The counts come from the last non-empty line only: the programs print
 * per-part "api checks: N passed, M failed" lines before their total. */
static int parse_counts(const char *line, unsigned long long *passed, unsigned long long *failed)
{
    int end = -1;
    if (sscanf(line, "%llu passed, %llu failed%n", passed, failed, &end) != 2 || end < 0)
        return 0;
    return line[end] == 0;
}

static void read_output(FILE *f, gpu_output *o)
{
    char line[1024], last[1024] = "";
    memset(o, 0, sizeof *o);
    rewind(f);
    while (fgets(line, sizeof line, f)) {
        o->lines++;
        chomp(line);
        if (!o->skip[0] && strncmp(line, "SKIP:", 5) == 0)
            snprintf(o->skip, sizeof o->skip, "%s", line);
        if (line[strspn(line, " \t")])
            snprintf(last, sizeof last, "%s", line);
    }
    o->have_counts = parse_counts(last, &o->passed, &o->failed);
}

/* Echo the end of a program's output (all of it with -v) after its row's
 * complaint, so a failure can be read without rerunning the program. */
static void echo_output(FILE *f, const gpu_output *o, const char *name)
{
    long from = cfg.verbose || o->lines <= GPU_TAIL_LINES ? 0 : o->lines - GPU_TAIL_LINES;
    char line[1024];
    fprintf(stderr, "--- output of %s%s\n", name, from ? " (last lines; -v: all)" : "");
    rewind(f);
    for (long i = 0; fgets(line, sizeof line, f); i++)
        if (i >= from)
            fputs(line, stderr);
    fprintf(stderr, "--- end of %s\n", name);
}

/* A failing row: the note goes in the row, the same text to stderr. */
static void row_fail(check_row *r, const char *note)
{
    snprintf(r->note, sizeof r->note, "%s", note);
    row_event(r, "%s", note);
}

/* Fill row r from a program's exit status rc / signal sig and its output. */
static void judge(check_row *r, int rc, int sig, const gpu_output *o)
{
    char note[ROW_NOTE_LEN];
    if (sig) {
        snprintf(note, sizeof note, "killed by signal %d (%s)", sig, strsignal(sig));
        row_fail(r, note);
    } else if (rc == 77) {
        r->unavailable = 1;
        snprintf(r->note, sizeof r->note, "%s", o->skip[0] ? o->skip : "exit status 77 (skipped), no SKIP line");
    } else if (rc == 127) {
        row_fail(r, "could not be executed");
    } else if (!o->have_counts) {
        snprintf(note, sizeof note, "exit status %d, last line is not \"N passed, M failed\"", rc);
        row_fail(r, note);
    } else {
        r->cases = o->passed + o->failed;
        r->mismatches = o->failed;
        if (o->failed)
            snprintf(r->note, sizeof r->note, "%llu of %llu device checks failed", o->failed,
                     (unsigned long long)r->cases);
        if (rc != 0 && !o->failed) {
            snprintf(note, sizeof note, "exit status %d although it reports 0 failed", rc);
            row_fail(r, note);
        } else if (!r->cases) {
            row_fail(r, "it checked nothing (0 passed, 0 failed)");
        }
    }
}

/* Run one program into a temporary file and fill its row. */
static void run_test(check_row *r, const char *path, const char *name)
{
    if (access(path, X_OK) != 0) {
        int err = errno;
        row_fail(r, "program not found (set LOWBIT_GPU_TEST_DIR to the directory of the device tests)");
        fprintf(stderr, "lowbit-check: looked for %s: %s\n", path, strerror(err));
        return;
    }
    FILE *out = tmpfile();
    if (!out) {
        row_fail(r, "cannot create a file for its output");
        return;
    }
    char *argv[3] = {(char *)path, cfg.quick ? "--quick" : NULL, NULL};
    int sig;
    int rc = tool_run(argv, fileno(out), "lowbit-check", &sig);
    if (rc < 0) {
        char note[ROW_NOTE_LEN];
        snprintf(note, sizeof note, "cannot run it: %s", strerror(errno));
        row_fail(r, note);
        fclose(out);
        return;
    }
    gpu_output o;
    read_output(out, &o);
    judge(r, rc, sig, &o);
    if (r->mismatches || cfg.verbose)
        echo_output(out, &o, name);
    fclose(out);
}

/* The op column: the one --op asked for when the program checks several. */
static int test_op(const gpu_test *t)
{
    if (cfg.op < 0)
        return t->ops[0];
    if (cfg.op == t->ops[0] || cfg.op == t->ops[1])
        return cfg.op;
    return -1;
}

/* Is the backend usable?  0 when it is (or the test directory was given,
 * whose programs then say for themselves), else 77 after saying why. */
static int backend_ready(lowbit_backend b, const char *env_dir)
{
    if (b == LOWBIT_BACKEND_HIP && !getenv("LOWBIT_HIP_MODULE") && LOWBIT_CHECK_HIP_MODULE[0])
        setenv("LOWBIT_HIP_MODULE", LOWBIT_CHECK_HIP_MODULE, 1); /* for the status below and the children */
    if (lowbit_backend_status(b) == LOWBIT_OK)
        return 0;
    const char *name = lowbit_backend_name(b);
    if (!env_dir) {
        fprintf(stderr, "lowbit-check: --backend %s: %s\n", name, lowbit_last_error());
        return 77;
    }
    /* The stand-in programs of lowbit-check's own test need no device, and
     * real device tests of another build find out about the device themselves. */
    fprintf(cfg.json ? stderr : stdout,
            "lowbit-check: --backend %s is not available to this library (%s); running the programs in "
            "LOWBIT_GPU_TEST_DIR anyway\n", name, lowbit_last_error());
    return 0;
}

int check_gpu(lowbit_backend b)
{
    const char *env_dir = getenv("LOWBIT_GPU_TEST_DIR");
    if (env_dir && !*env_dir)
        env_dir = NULL;
    int ready = backend_ready(b, env_dir);
    if (ready)
        return ready;
    int hip = b == LOWBIT_BACKEND_HIP;
    const char *dir = env_dir ? env_dir : hip ? LOWBIT_CHECK_HIP_DIR : LOWBIT_CHECK_CUDA_DIR;
    fprintf(cfg.json ? stderr : stdout, "lowbit-check: backend %s: device test programs in %s%s\n",
            lowbit_backend_name(b), dir, cfg.quick ? " (quick)" : "");
    for (size_t i = 0; i < sizeof gpu_tests / sizeof gpu_tests[0]; i++) {
        const gpu_test *t = &gpu_tests[i];
        int op = test_op(t);
        if (op < 0)
            continue;
        char name[64], path[4096];
        snprintf(name, sizeof name, "%s%s", hip ? "hip_" : "", t->suffix);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        check_row r;
        if (!row_begin(&r, lowbit_op_name((lowbit_op)op), t->formats, lowbit_backend_name(b), name, 1))
            continue;
        run_test(&r, path, name);
        row_end(&r);
    }
    return 0;
}
