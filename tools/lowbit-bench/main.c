/*
 * lowbit-bench - microbenchmarks of lowbit's host ops against this
 * machine's roofline, measured in the same run.  See README.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

/* The CPU backends, lowest first; a run covers each that runs here. */
static const lowbit_backend cpu_backends[] = {LOWBIT_BACKEND_REF, LOWBIT_BACKEND_AVX2, LOWBIT_BACKEND_AVX512,
                                              LOWBIT_BACKEND_AMX, LOWBIT_BACKEND_NEON};
#define CPU_BACKEND_COUNT (sizeof cpu_backends / sizeof cpu_backends[0])

static void usage(FILE *o)
{
    fprintf(o,
            "usage: lowbit-bench [options]\n"
            "  Times lowbit's convert / quantize / dequantize and GEMM on every CPU backend\n"
            "  that runs here, at 1 and N threads, against memcpy bandwidth and the peak FMA\n"
            "  and int8 rates measured in the same run, and OpenBLAS sgemm/sgemv for GEMM.\n"
            "options:\n"
            "  --backend NAME   only this backend (ref, avx2, avx512, amx, neon); cuda / hip run the\n"
            "                   device benchmarks of bench/cuda/ (--op, --json and --quick pass on)\n"
            "  --op OP          only convert, quantize, dequantize, gemm or attention\n"
            "  --filter TEXT    only cases whose formats string (GEMM: also the pair name) contains TEXT\n"
            "  --threads N      the second thread count (default: lowbit_get_num_threads())\n"
            "  --size-mib M     f32 input size per call in MiB (default 64; --in-cache 0.25)\n"
            "  --reps R         timed repetitions (default 5; --in-cache: at least R, default 20)\n"
            "  --in-cache       warm buffers of 256 KiB input, many repetitions\n"
            "  --quick          small sizes and few repetitions (a smoke run for CI)\n"
            "  --gemm-shape S   only GEMM shapes whose \"prefill MxNxK\" / \"decode MxNxK\" contains S\n"
            "  --gemm-fast      GEMM with LOWBIT_GEMM_ALLOW_FAST (default: exact)\n"
            "  --gemm-max-s S   longest GEMM call timed at full shape; longer ones are timed on a\n"
            "                   cut shape (default 10, --quick 0.1; reference-only backends 0.25 / 0.05)\n"
            "  --json           one JSON object per line on stdout (the table goes to stderr)\n"
            "  --help           this text\n");
}

static void usage_error(const char *fmt, const char *arg)
{
    fputs("lowbit-bench: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    usage(stderr);
    exit(2);
}

static long parse_long(const char *s, const char *opt, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        usage_error("bad value for %s", opt);
    return v;
}

static double parse_positive(const char *s, const char *opt)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0) || v > 1 << 20)
        usage_error("bad value for %s", opt);
    return v;
}

static int parse_op(const char *s)
{
    for (int op = 0; op < LOWBIT_OP_COUNT; op++)
        if (strcmp(s, lowbit_op_name((lowbit_op)op)) == 0)
            return op;
    usage_error("unknown --op '%s' (convert, quantize, dequantize, gemm or attention)", s);
    return -1;
}

static lowbit_backend parse_backend(const char *s)
{
    lowbit_backend b = lowbit_backend_from_name(s);
    for (size_t i = 0; i < CPU_BACKEND_COUNT; i++)
        if (cpu_backends[i] == b)
            return b;
    if (b == LOWBIT_BACKEND_CUDA || b == LOWBIT_BACKEND_HIP)
        return b;
    usage_error("unknown --backend '%s' (ref, avx2, avx512, amx, neon, cuda or hip)", s);
    return LOWBIT_BACKEND_COUNT;
}

static void parse_options(int argc, char **argv, bench_config *cfg)
{
    enum { OPT_BACKEND = 256, OPT_OP, OPT_FILTER, OPT_THREADS, OPT_SIZE, OPT_REPS, OPT_IN_CACHE, OPT_QUICK,
           OPT_JSON, OPT_HELP, OPT_GEMM_FAST, OPT_GEMM_MAX_S, OPT_GEMM_SHAPE };
    static const struct option options[] = {
        {"backend", required_argument, NULL, OPT_BACKEND}, {"op", required_argument, NULL, OPT_OP},
        {"filter", required_argument, NULL, OPT_FILTER},   {"threads", required_argument, NULL, OPT_THREADS},
        {"size-mib", required_argument, NULL, OPT_SIZE},   {"reps", required_argument, NULL, OPT_REPS},
        {"in-cache", no_argument, NULL, OPT_IN_CACHE},     {"quick", no_argument, NULL, OPT_QUICK},
        {"json", no_argument, NULL, OPT_JSON},             {"help", no_argument, NULL, OPT_HELP},
        {"gemm-fast", no_argument, NULL, OPT_GEMM_FAST},   {"gemm-max-s", required_argument, NULL, OPT_GEMM_MAX_S},
        {"gemm-shape", required_argument, NULL, OPT_GEMM_SHAPE},
        {NULL, 0, NULL, 0}};
    double size_mib = 0;
    lowbit_backend only = LOWBIT_BACKEND_COUNT;
    memset(cfg, 0, sizeof *cfg);
    cfg->op = -1;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case OPT_BACKEND: only = parse_backend(optarg); break;
        case OPT_OP: cfg->op = parse_op(optarg); break;
        case OPT_FILTER: cfg->filter = optarg; break;
        case OPT_THREADS: cfg->threads = (int)parse_long(optarg, "--threads", 1, BENCH_MAX_THREADS); break;
        case OPT_SIZE: size_mib = parse_positive(optarg, "--size-mib"); break;
        case OPT_REPS: cfg->reps = (int)parse_long(optarg, "--reps", 1, 10000); break;
        case OPT_IN_CACHE: cfg->in_cache = 1; break;
        case OPT_QUICK: cfg->quick = 1; break;
        case OPT_JSON: cfg->json = 1; break;
        case OPT_GEMM_FAST: cfg->gemm_fast = 1; break;
        case OPT_GEMM_MAX_S: cfg->gemm_max_s = parse_positive(optarg, "--gemm-max-s"); break;
        case OPT_GEMM_SHAPE: cfg->gemm_shape = optarg; break;
        case OPT_HELP: usage(stdout); exit(0);
        default: usage(stderr); exit(2); /* getopt already named the option */
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);

    if (!cfg->threads) {
        cfg->threads = lowbit_get_num_threads();
        if (cfg->threads < 1)
            cfg->threads = 1;
        if (cfg->threads > BENCH_MAX_THREADS)
            cfg->threads = BENCH_MAX_THREADS;
    }
    if (!size_mib)
        size_mib = cfg->in_cache ? 0.25 : cfg->quick ? 1 : 64;
    cfg->elements = (size_t)(size_mib * (1 << 20) / sizeof(float));
    if (cfg->elements < 256)
        cfg->elements = 256;
    case_shape sh = shape_for(cfg->elements);
    cfg->elements = sh.rows * sh.cols;
    if (!cfg->reps)
        cfg->reps = cfg->quick ? (cfg->in_cache ? 3 : 2) : (cfg->in_cache ? 20 : 5);

    if (only == LOWBIT_BACKEND_CUDA || only == LOWBIT_BACKEND_HIP) {
        cfg->gpu = only; /* gpu.c runs the device benchmarks */
    } else if (only != LOWBIT_BACKEND_COUNT) {
        if (lowbit_backend_status(only) != LOWBIT_OK)
            die("cannot use --backend %s: %s", lowbit_backend_name(only), lowbit_last_error());
        cfg->backends[cfg->backend_count++] = only;
    } else {
        for (size_t i = 0; i < CPU_BACKEND_COUNT; i++)
            if (lowbit_backend_status(cpu_backends[i]) == LOWBIT_OK)
                cfg->backends[cfg->backend_count++] = cpu_backends[i];
    }
}

static void print_header(const bench_config *cfg)
{
    FILE *o = table_out(cfg);
    fprintf(o, "lowbit-bench (lowbit %d.%d.%d): %zu CPUs available; thread counts 1", LOWBIT_VERSION_MAJOR,
            LOWBIT_VERSION_MINOR, LOWBIT_VERSION_PATCH, cpus_available());
    if (cfg->threads > 1)
        fprintf(o, " and %d", cfg->threads);
    fprintf(o, "%s\nbackends:", cfg->quick ? " (--quick: small sizes, figures are only a smoke test)" : "");
    for (int i = 0; i < cfg->backend_count; i++)
        fprintf(o, " %s", lowbit_backend_name(cfg->backends[i]));
    int skipped = 0;
    for (size_t i = 0; i < CPU_BACKEND_COUNT; i++) {
        lowbit_backend b = cpu_backends[i];
        if (lowbit_backend_status(b) != LOWBIT_OK)
            fprintf(o, "%s %s", skipped++ ? "," : "  (not here:", lowbit_backend_name(b));
    }
    fprintf(o, "%s\n", skipped ? ")" : "");
}

int main(int argc, char **argv)
{
    bench_config cfg;
    parse_options(argc, argv, &cfg);
    if (cfg.gpu)
        return gpu_bench_run(&cfg, cfg.gpu);
    print_header(&cfg);
    roofline r;
    roofline_measure(&cfg, &r);
    report_roofline(&cfg, &r);
    int measured, gemm_measured, attn_measured;
    int failures = measure_cases(&cfg, &r, &measured);
    failures += measure_gemm(&cfg, &r, &gemm_measured);
    failures += measure_attention(&cfg, &r, &attn_measured);
    if (!measured && !gemm_measured && !attn_measured)
        fprintf(table_out(&cfg), "(no case matches --op / --filter)\n");
    if (failures)
        fprintf(stderr, "lowbit-bench: %d measurement(s) failed\n", failures);
    return failures ? 1 : 0;
}
