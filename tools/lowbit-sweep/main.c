/* main.c - lowbit-sweep: options, the sweep loop, outputs (README.md). */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sweep.h"

static void usage(FILE *fp)
{
    fprintf(fp,
        "usage: lowbit-sweep [options] [FILE.npy | FILE.safetensors ...]\n"
        "\n"
        "Quantize every input tensor with every requested format and setting,\n"
        "dequantize it, and report how far the result is from the input.\n"
        "\n"
        "Inputs (files, generated tensors, or both):\n"
        "  FILE.npy               .npy v1/v2/v3, C order, f32/f16/f64, bf16 as '<u2'/'|V2'\n"
        "  FILE.safetensors       every F32/F16/BF16/F64 tensor (other dtypes skipped with a note)\n"
        "  --match PATTERN        only tensors whose name matches this fnmatch glob (repeatable)\n"
        "  --gen LIST             generate tensors: normal, laplace, student-t, uniform\n"
        "  --shape LIST           RxC shapes of generated tensors (default 256x1024)\n"
        "  --seed N               generator seed (default 1)\n"
        "  Any rank: rows = product of the leading dimensions, cols = the last.\n"
        "\n"
        "What to sweep (each option a comma list; every combination is run):\n"
        "  --formats LIST         format specs (default: default); --list-formats explains them\n"
        "  --block LIST           group sizes for formats that leave theirs open (default 32,64,128)\n"
        "  --rule LIST            MX scale rules: floor, rceil, ceil, even (default floor)\n"
        "  --rounding LIST        rne, rtz, sr (default rne)\n"
        "  --sr-seed N            stochastic-rounding seed (default 0)\n"
        "  --backend LIST         ref, avx2, avx512, neon, ... or auto (default: auto)\n"
        "  --threads N            library threads (default: the library's default)\n"
        "\n"
        "Output:\n"
        "  (stdout)               an aligned table, per tensor, sorted by bits then SQNR\n"
        "  --aggregate            table, plot and JSON/CSV extra rows as totals over all tensors\n"
        "  --csv FILE             one row per (tensor, case), plus totals with --aggregate\n"
        "  --json FILE            JSON lines, one object per result ('-': stdout, no table)\n"
        "  --plot FILE.svg        SQNR against bits per element\n"
        "  --title TEXT           plot title\n"
        "  --recommend            best format within each bits-per-element budget\n"
        "  --budgets LIST         the budgets (default 4.25,4.5,5,6.5,8.25,8.5)\n"
        "  --quiet                no table\n"
        "  --list-formats         explain the format specs and exit\n"
        "  --help                 this text\n"
        "\n"
        "Metrics (exact definitions in tools/lowbit-sweep/README.md): sqnr_db, mse,\n"
        "max_abs_err, max_rel_err, frac_saturated, frac_flushed, bits_per_element.\n"
        "Exit status: 0 done, 2 bad option or bad input file, 1 the library refused a case.\n");
}

typedef struct {
    char **files;
    size_t nfiles;
    char **match;
    size_t nmatch;
    const char *gen, *shape, *formats, *block, *rule, *rounding, *backend;
    uint64_t seed, sr_seed;
    int threads;
    const char *csv, *json, *plot, *title, *budgets;
    int aggregate, recommend, quiet;
} sw_opts;

enum {
    O_MATCH = 256, O_GEN, O_SHAPE, O_SEED, O_FORMATS, O_BLOCK, O_RULE, O_ROUNDING, O_SRSEED, O_BACKEND,
    O_THREADS, O_CSV, O_JSON, O_PLOT, O_TITLE, O_AGG, O_REC, O_BUDGETS, O_QUIET, O_LIST, O_HELP
};

static void parse_args(int argc, char **argv, sw_opts *o)
{
    static const struct option lo[] = {
        {"match", required_argument, 0, O_MATCH},     {"gen", required_argument, 0, O_GEN},
        {"shape", required_argument, 0, O_SHAPE},     {"seed", required_argument, 0, O_SEED},
        {"formats", required_argument, 0, O_FORMATS}, {"block", required_argument, 0, O_BLOCK},
        {"rule", required_argument, 0, O_RULE},       {"rounding", required_argument, 0, O_ROUNDING},
        {"sr-seed", required_argument, 0, O_SRSEED},  {"backend", required_argument, 0, O_BACKEND},
        {"threads", required_argument, 0, O_THREADS}, {"csv", required_argument, 0, O_CSV},
        {"json", required_argument, 0, O_JSON},       {"plot", required_argument, 0, O_PLOT},
        {"title", required_argument, 0, O_TITLE},     {"aggregate", no_argument, 0, O_AGG},
        {"recommend", no_argument, 0, O_REC},         {"budgets", required_argument, 0, O_BUDGETS},
        {"quiet", no_argument, 0, O_QUIET},           {"list-formats", no_argument, 0, O_LIST},
        {"help", no_argument, 0, O_HELP},             {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->formats = "default";
    o->block = "32,64,128";
    o->rule = "floor";
    o->rounding = "rne";
    o->backend = "auto";
    o->shape = "256x1024";
    o->seed = 1;
    o->budgets = "4.25,4.5,5,6.5,8.25,8.5";
    o->files = sw_xcalloc((size_t)argc + 1, sizeof *o->files);
    o->match = sw_xcalloc((size_t)argc + 1, sizeof *o->match);
    opterr = 0;
    int c;
    uint64_t u;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case O_MATCH: o->match[o->nmatch++] = optarg; break;
        case O_GEN: o->gen = optarg; break;
        case O_SHAPE: o->shape = optarg; break;
        case O_SEED:
            if (sw_parse_u64(optarg, &o->seed))
                sw_die("--seed: '%s' is not a non-negative integer", optarg);
            break;
        case O_FORMATS: o->formats = optarg; break;
        case O_BLOCK: o->block = optarg; break;
        case O_RULE: o->rule = optarg; break;
        case O_ROUNDING: o->rounding = optarg; break;
        case O_SRSEED:
            if (sw_parse_u64(optarg, &o->sr_seed))
                sw_die("--sr-seed: '%s' is not a non-negative integer", optarg);
            break;
        case O_BACKEND: o->backend = optarg; break;
        case O_THREADS:
            if (sw_parse_u64(optarg, &u) || u > 256)
                sw_die("--threads: '%s' is not an integer in 0..256", optarg);
            o->threads = (int)u;
            break;
        case O_CSV: o->csv = optarg; break;
        case O_JSON: o->json = optarg; break;
        case O_PLOT: o->plot = optarg; break;
        case O_TITLE: o->title = optarg; break;
        case O_AGG: o->aggregate = 1; break;
        case O_REC: o->recommend = 1; break;
        case O_BUDGETS: o->budgets = optarg; break;
        case O_QUIET: o->quiet = 1; break;
        case O_LIST: sw_formats_help(stdout); exit(0);
        case 'h':
        case O_HELP: usage(stdout); exit(0);
        case ':':
        default:
            if (optopt && optopt < 256)
                fprintf(stderr, "lowbit-sweep: bad option '-%c'\n", optopt);
            else
                fprintf(stderr, "lowbit-sweep: bad option '%s' (or it needs a value)\n", argv[optind - 1]);
            fprintf(stderr, "run 'lowbit-sweep --help' for the options\n");
            exit(SW_EXIT_USAGE);
        }
    }
    for (int i = optind; i < argc; i++)
        o->files[o->nfiles++] = argv[i];
}

static int parse_shape(const char *s, size_t *r, size_t *c)
{
    const char *x = strchr(s, 'x');
    uint64_t a, b;
    char buf[32];
    if (!x || (size_t)(x - s) >= sizeof buf)
        return -1;
    memcpy(buf, s, (size_t)(x - s));
    buf[x - s] = '\0';
    if (sw_parse_u64(buf, &a) || sw_parse_u64(x + 1, &b) || !a || !b || a > (1u << 30) || b > (1u << 30) ||
        a * b > ((uint64_t)1 << 31))
        return -1;
    *r = (size_t)a;
    *c = (size_t)b;
    return 0;
}

static void read_inputs(const sw_opts *o, sw_file **files, sw_tensor_list *tl)
{
    *files = sw_xcalloc(o->nfiles + 1, sizeof **files);
    char err[320];
    for (size_t i = 0; i < o->nfiles; i++) {
        sw_file *f = &(*files)[i];
        const char *path = o->files[i];
        if (sw_file_open(f, path, err, sizeof err))
            sw_die("%s: %s", path, err);
        size_t pl = strlen(path);
        int npy = (f->size >= 6 && memcmp(f->bytes, "\x93NUMPY", 6) == 0) ||
                  (pl > 4 && strcmp(path + pl - 4, ".npy") == 0);
        size_t before = tl->n;
        int rc = npy ? sw_read_npy(f, tl, err, sizeof err) : sw_read_safetensors(f, o->match, tl, err, sizeof err);
        if (rc)
            sw_die("%s: %s", path, err);
        if (npy && tl->n > before) {
            sw_tensor *t = &tl->v[tl->n - 1];
            if (t->rows * t->cols == 0) {
                sw_note("%s: the array is empty; skipped", path);
                free(t->name);
                tl->n--;
            } else if (!sw_name_selected(t->name, o->match)) {
                free(t->name);
                tl->n--;
            }
        }
    }
    if (o->gen) {
        char **g = sw_split(o->gen), **s = sw_split(o->shape);
        if (!g[0])
            sw_die("--gen: empty list");
        if (!s[0])
            sw_die("--shape: empty list");
        for (char **gi = g; *gi; gi++) {
            sw_gen_kind k;
            if (sw_gen_from_name(*gi, &k))
                sw_die("--gen: unknown distribution '%s' (normal, laplace, student-t, uniform)", *gi);
            for (char **si = s; *si; si++) {
                size_t r, c;
                if (parse_shape(*si, &r, &c))
                    sw_die("--shape: '%s' is not RxC with R, C >= 1 and at most 2^31 elements", *si);
                char name[96];
                snprintf(name, sizeof name, "%s_%zux%zu", sw_gen_name(k), r, c);
                if (!sw_name_selected(name, o->match))
                    continue;
                sw_tensor *t = sw_tensor_push(tl);
                t->name = sw_xstrdup(name);
                t->rows = r;
                t->cols = c;
                t->kind = SW_SRC_GEN;
                t->gen = k;
                t->seed = o->seed;
            }
        }
        sw_free_split(g);
        sw_free_split(s);
    }
    if (o->nfiles == 0 && !o->gen)
        sw_die("nothing to sweep: give .npy / .safetensors files or --gen (see --help)");
    if (tl->n == 0)
        sw_die("no tensors to sweep%s", o->nmatch ? " (no tensor name matches --match)" : "");
}

/* Element codes as f32 values (saturation is judged on the code). */
static void decode_codes(const lowbit_qtensor *q, float *codes)
{
    lowbit_dtype e = q->format.elem;
    for (size_t r = 0; r < q->rows; r++) {
        size_t off = lowbit_dtype_bytes(e, r * q->row_stride);
        lowbit_status s = lowbit_convert(LOWBIT_F32, codes + r * q->cols, e, (const uint8_t *)q->data + off,
                                         q->cols, NULL);
        if (s != LOWBIT_OK) {
            fprintf(stderr, "lowbit-sweep: decoding %s codes failed: %s\n", lowbit_dtype_name(e), lowbit_last_error());
            exit(SW_EXIT_FAIL);
        }
    }
}

static void run_case(const sw_tensor *t, const sw_case *c, uint64_t sr_seed, const float *x, float *xh,
                     float *codes, sw_result *out)
{
    lowbit_format f = c->f->fmt;
    if (c->has_rule)
        f.rule = c->rule;
    lowbit_qtensor q;
    char fname[64];
    lowbit_status s = lowbit_qtensor_init(&q, &f, t->rows, t->cols);
    if (s == LOWBIT_OK) {
        q.data = sw_xmalloc(q.data_bytes);
        q.scales = q.scales_bytes ? sw_xmalloc(q.scales_bytes) : NULL;
        q.zero_points = q.zero_points_bytes ? sw_xmalloc(q.zero_points_bytes) : NULL;
        lowbit_convert_opts opts = {c->rounding, 1, sr_seed, 0};
        s = lowbit_quantize(&q, LOWBIT_F32, x, t->cols, &opts);
        if (s == LOWBIT_OK)
            s = lowbit_dequantize(LOWBIT_F32, xh, t->cols, &q);
    }
    if (s != LOWBIT_OK) {
        fprintf(stderr, "lowbit-sweep: %s on %s (%zux%zu): %s: %s\n", lowbit_format_name(&f, fname, sizeof fname),
                t->name, t->rows, t->cols, lowbit_status_string(s), lowbit_last_error());
        exit(SW_EXIT_FAIL);
    }
    decode_codes(&q, codes);
    size_t n = t->rows * t->cols;
    sw_metrics(x, xh, codes, n, sw_satcodes_of(f.elem), &out->s);
    out->s.bits = sw_nominal_bits(&f, t->rows, t->cols);
    out->rows = t->rows;
    out->cols = t->cols;
    free(q.data);
    free(q.scales);
    free(q.zero_points);
}

static FILE *open_out(const char *path, const char *what)
{
    if (strcmp(path, "-") == 0)
        return stdout;
    FILE *fp = fopen(path, "w");
    if (!fp)
        sw_die("%s: cannot write %s: %m", path, what);
    return fp;
}

static void close_out(FILE *fp, const char *path)
{
    if (fp == stdout) {
        if (fflush(fp))
            sw_die("writing stdout failed");
        return;
    }
    if (ferror(fp) | fclose(fp))
        sw_die("%s: write failed", path);
}

int main(int argc, char **argv)
{
    sw_opts o;
    parse_args(argc, argv, &o);

    /* ---- settings lists ---- */
    char **bl = sw_split(o.block);
    size_t nblocks = 0;
    uint32_t blocks[64];
    for (char **p = bl; *p; p++) {
        uint64_t v;
        if (sw_parse_u64(*p, &v) || v == 0 || v > (1u << 20))
            sw_die("--block: '%s' is not a block size (1 .. 1048576)", *p);
        if (nblocks == 64)
            sw_die("--block: at most 64 sizes");
        blocks[nblocks++] = (uint32_t)v;
    }
    if (!nblocks)
        sw_die("--block: empty list");
    sw_free_split(bl);

    lowbit_scale_rule rules[LOWBIT_SCALE_RULE_COUNT];
    size_t nrules = 0;
    char **rl = sw_split(o.rule);
    for (char **p = rl; *p; p++) {
        int k = -1;
        for (int i = 0; i < LOWBIT_SCALE_RULE_COUNT; i++)
            if (!strcmp(*p, sw_rule_name((lowbit_scale_rule)i)))
                k = i;
        if (k < 0)
            sw_die("--rule: unknown scale rule '%s' (floor, rceil, ceil, even)", *p);
        int dup = 0;
        for (size_t i = 0; i < nrules; i++)
            dup |= rules[i] == (lowbit_scale_rule)k;
        if (!dup)
            rules[nrules++] = (lowbit_scale_rule)k;
    }
    if (!nrules)
        sw_die("--rule: empty list");
    sw_free_split(rl);

    lowbit_rounding rounds[3];
    size_t nrounds = 0;
    char **rd = sw_split(o.rounding);
    for (char **p = rd; *p; p++) {
        int k = -1;
        for (int i = 0; i < 3; i++)
            if (!strcmp(*p, sw_rounding_name((lowbit_rounding)i)))
                k = i;
        if (k < 0)
            sw_die("--rounding: unknown rounding '%s' (rne, rtz, sr)", *p);
        int dup = 0;
        for (size_t i = 0; i < nrounds; i++)
            dup |= rounds[i] == (lowbit_rounding)k;
        if (!dup)
            rounds[nrounds++] = (lowbit_rounding)k;
    }
    if (!nrounds)
        sw_die("--rounding: empty list");
    sw_free_split(rd);

    lowbit_backend backends[LOWBIT_BACKEND_COUNT];
    size_t nbackends = 0;
    char **bk = sw_split(o.backend);
    for (char **p = bk; *p; p++) {
        lowbit_backend b = lowbit_backend_from_name(*p);
        if (b == LOWBIT_BACKEND_COUNT)
            sw_die("--backend: unknown backend '%s'", *p);
        if (lowbit_set_backend(b) != LOWBIT_OK)
            sw_die("--backend: %s cannot run here: %s", *p, lowbit_last_error());
        b = lowbit_get_backend(); /* auto -> the level detection picked */
        int dup = 0;
        for (size_t i = 0; i < nbackends; i++)
            dup |= backends[i] == b;
        if (!dup)
            backends[nbackends++] = b;
    }
    if (!nbackends)
        sw_die("--backend: empty list");
    sw_free_split(bk);

    char **bu = sw_split(o.budgets);
    size_t nbudgets = 0;
    for (char **p = bu; *p; p++)
        nbudgets++;
    double *budgets = sw_xcalloc(nbudgets, sizeof *budgets);
    for (size_t i = 0; i < nbudgets; i++)
        if (sw_parse_double(bu[i], &budgets[i]) || budgets[i] <= 0)
            sw_die("--budgets: '%s' is not a positive number", bu[i]);
    sw_free_split(bu);
    if (o.recommend && !nbudgets)
        sw_die("--budgets: empty list");
    if (o.threads && lowbit_set_num_threads(o.threads) != LOWBIT_OK)
        sw_die("--threads: %s", lowbit_last_error());

    sw_format_list fl = {0};
    sw_formats_parse(o.formats, blocks, nblocks, &fl);

    /* ---- cases: format x rule (MX only) x rounding x backend ---- */
    size_t ncases = 0;
    sw_case *cases = sw_xcalloc(fl.n * nrules * nrounds * nbackends, sizeof *cases);
    for (size_t f = 0; f < fl.n; f++) {
        int mx = fl.v[f].family == SW_FAM_MX;
        for (size_t ru = 0; ru < (mx ? nrules : 1); ru++)
            for (size_t rn = 0; rn < nrounds; rn++)
                for (size_t b = 0; b < nbackends; b++) {
                    sw_case *c = &cases[ncases++];
                    c->f = &fl.v[f];
                    c->has_rule = mx;
                    c->rule = mx ? rules[ru] : LOWBIT_SCALE_FLOOR;
                    c->rounding = rounds[rn];
                    c->backend = backends[b];
                }
    }

    /* ---- inputs: every file is validated before anything runs ---- */
    sw_file *files;
    sw_tensor_list tl = {0};
    read_inputs(&o, &files, &tl);

    FILE *csv = o.csv ? open_out(o.csv, "CSV") : NULL;
    FILE *json = o.json ? open_out(o.json, "JSON") : NULL;
    FILE *plot = o.plot ? open_out(o.plot, "the plot") : NULL;

    size_t total = tl.n * ncases;
    sw_progress_enabled = isatty(2) && total >= 16;
    sw_result *res = sw_xcalloc(total, sizeof *res);
    lowbit_backend current = LOWBIT_BACKEND_COUNT;
    size_t done = 0;
    for (size_t t = 0; t < tl.n; t++) {
        const sw_tensor *tt = &tl.v[t];
        size_t n = tt->rows * tt->cols;
        float *x = sw_xmalloc(n * sizeof *x), *xh = sw_xmalloc(n * sizeof *xh), *codes = sw_xmalloc(n * sizeof *codes);
        sw_tensor_load(tt, x);
        for (size_t c = 0; c < ncases; c++) {
            sw_progress(done, total, tt->name);
            if (cases[c].backend != current) {
                if (lowbit_set_backend(cases[c].backend) != LOWBIT_OK)
                    sw_die("--backend: %s: %s", lowbit_backend_name(cases[c].backend), lowbit_last_error());
                current = cases[c].backend;
            }
            sw_result *r = &res[t * ncases + c];
            r->tensor = t;
            r->kase = c;
            run_case(tt, &cases[c], o.sr_seed, x, xh, codes, r);
            done++;
        }
        free(x);
        free(xh);
        free(codes);
    }
    sw_progress_end();

    sw_result *agg = sw_xcalloc(ncases, sizeof *agg);
    for (size_t c = 0; c < ncases; c++) {
        agg[c].tensor = SIZE_MAX;
        agg[c].kase = c;
        for (size_t t = 0; t < tl.n; t++)
            sw_sums_add(&agg[c].s, &res[t * ncases + c].s);
    }
    sw_report rep = {&tl, cases, ncases, res, total, agg, o.aggregate, budgets, nbudgets};

    int json_stdout = json == stdout;
    if (!o.quiet && !json_stdout)
        sw_print_table(stdout, &rep);
    if (o.recommend) {
        FILE *fp = json_stdout ? stderr : stdout;
        if (!o.quiet && !json_stdout)
            fputc('\n', fp);
        sw_print_recommend(fp, &rep);
    }
    if (csv) {
        sw_write_csv(csv, &rep);
        close_out(csv, o.csv);
    }
    if (json) {
        sw_write_json(json, &rep, o.recommend);
        close_out(json, o.json);
    }
    if (plot) {
        char title[256];
        if (o.title)
            snprintf(title, sizeof title, "%s", o.title);
        else if (tl.n == 1)
            snprintf(title, sizeof title, "lowbit-sweep: %s (%zu x %zu)", tl.v[0].name, tl.v[0].rows, tl.v[0].cols);
        else
            snprintf(title, sizeof title, "lowbit-sweep: SQNR against storage, %zu tensors", tl.n);
        sw_write_svg(plot, &rep, title);
        close_out(plot, o.plot);
    }

    for (size_t i = 0; i < tl.n; i++)
        free(tl.v[i].name);
    free(tl.v);
    for (size_t i = 0; i < o.nfiles; i++)
        sw_file_close(&files[i]);
    free(files);
    free(res);
    free(agg);
    free(cases);
    free(fl.v);
    free(budgets);
    free(o.files);
    free(o.match);
    return 0;
}
