/* report.c - the terminal table, CSV, JSON lines and --recommend. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sweep.h"

const char *sw_rule_name(lowbit_scale_rule r)
{
    static const char *n[] = {"floor", "rceil", "ceil", "even"};
    return (unsigned)r < LOWBIT_SCALE_RULE_COUNT ? n[r] : "?";
}

const char *sw_rounding_name(lowbit_rounding r)
{
    static const char *n[] = {"rne", "rtz", "sr"};
    return (unsigned)r <= LOWBIT_ROUND_STOCHASTIC ? n[r] : "?";
}

/* Which case settings vary over the sweep (labels show only those). */
static void varying(const sw_report *r, int *rule, int *rnd, int *be)
{
    *rule = *rnd = *be = 0;
    int have_rule = 0;
    lowbit_scale_rule r0 = LOWBIT_SCALE_FLOOR;
    for (size_t i = 0; i < r->ncases; i++) {
        const sw_case *c = &r->cases[i];
        if (c->has_rule) {
            if (have_rule && c->rule != r0)
                *rule = 1;
            have_rule = 1;
            r0 = c->rule;
        }
        if (c->rounding != r->cases[0].rounding)
            *rnd = 1;
        if (c->backend != r->cases[0].backend)
            *be = 1;
    }
}

void sw_case_label(const sw_report *r, size_t kase, char *buf, size_t len)
{
    int vr, vn, vb;
    varying(r, &vr, &vn, &vb);
    const sw_case *c = &r->cases[kase];
    snprintf(buf, len, "%s%s%s%s%s%s%s", c->f->name, vr && c->has_rule ? " " : "",
             vr && c->has_rule ? sw_rule_name(c->rule) : "", vn ? " " : "", vn ? sw_rounding_name(c->rounding) : "",
             vb ? " " : "", vb ? lowbit_backend_name(c->backend) : "");
}

/* ---- ordering: tensor (input order), bits ascending, SQNR descending ---- */
static const sw_result *sort_base;

static int cmp_results(const void *a, const void *b)
{
    const sw_result *x = &sort_base[*(const size_t *)a], *y = &sort_base[*(const size_t *)b];
    if (x->tensor != y->tensor)
        return x->tensor < y->tensor ? -1 : 1;
    sw_metrics_out mx, my;
    sw_derive(&x->s, &mx);
    sw_derive(&y->s, &my);
    if (mx.bits_per_element != my.bits_per_element)
        return mx.bits_per_element < my.bits_per_element ? -1 : 1;
    double sx = isnan(mx.sqnr_db) ? -INFINITY : mx.sqnr_db, sy = isnan(my.sqnr_db) ? -INFINITY : my.sqnr_db;
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return x->kase < y->kase ? -1 : x->kase > y->kase;
}

static size_t *sorted(const sw_result *v, size_t n)
{
    size_t *idx = sw_xcalloc(n, sizeof *idx);
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    sort_base = v;
    qsort(idx, n, sizeof *idx, cmp_results);
    return idx;
}

static void fmt_num(char *buf, size_t len, const char *f, double v)
{
    if (isnan(v))
        snprintf(buf, len, "-");
    else if (isinf(v))
        snprintf(buf, len, v > 0 ? "inf" : "-inf");
    else
        snprintf(buf, len, f, v);
}

void sw_print_table(FILE *fp, const sw_report *r)
{
    int agg = r->aggregate;
    const sw_result *v = agg ? r->agg : r->results;
    size_t n = agg ? r->ncases : r->nresults;
    size_t *idx = sorted(v, n);
    int wt = 6, wf = 6, wb = 5, wbe = 7;
    for (size_t i = 0; i < n; i++) {
        const sw_result *x = &v[i];
        const sw_case *c = &r->cases[x->kase];
        if (!agg) {
            int l = (int)strlen(r->tensors->v[x->tensor].name);
            wt = l > wt ? (l > 48 ? 48 : l) : wt;
        }
        int l = (int)strlen(c->f->name);
        wf = l > wf ? l : wf;
        l = (int)strlen(c->f->block);
        wb = l > wb ? l : wb;
        l = (int)strlen(lowbit_backend_name(c->backend));
        wbe = l > wbe ? l : wbe;
    }
    if (agg)
        fprintf(fp, "Totals over %zu tensor%s (SQNR from summed signal and error energy):\n", r->tensors->n,
                r->tensors->n == 1 ? "" : "s");
    if (!agg)
        fprintf(fp, "%-*s  ", wt, "tensor");
    fprintf(fp, "%-*s  %-*s  %-5s  %-3s  %-*s  %6s  %8s  %9s  %9s  %9s  %7s  %7s\n", wf, "format", wb, "block",
            "rule", "rnd", wbe, "backend", "bits", "SQNR dB", "MSE", "max abs", "max rel", "sat %", "flush %");
    size_t prev = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        const sw_result *x = &v[idx[i]];
        const sw_case *c = &r->cases[x->kase];
        sw_metrics_out m;
        sw_derive(&x->s, &m);
        char b[6][32];
        fmt_num(b[0], 32, "%.2f", m.sqnr_db);
        fmt_num(b[1], 32, "%.3e", m.mse);
        fmt_num(b[2], 32, "%.3e", m.max_abs_err);
        fmt_num(b[3], 32, "%.3e", m.max_rel_err);
        fmt_num(b[4], 32, "%.3f", m.frac_saturated * 100);
        fmt_num(b[5], 32, "%.3f", m.frac_flushed * 100);
        if (!agg) {
            /* a blank line between tensors keeps long tables readable */
            if (prev != SIZE_MAX && prev != x->tensor)
                fputc('\n', fp);
            prev = x->tensor;
            fprintf(fp, "%-*.*s  ", wt, wt, r->tensors->v[x->tensor].name);
        }
        fprintf(fp, "%-*s  %-*s  %-5s  %-3s  %-*s  %6.3f  %8s  %9s  %9s  %9s  %7s  %7s\n", wf, c->f->name, wb,
                c->f->block, c->has_rule ? sw_rule_name(c->rule) : "-", sw_rounding_name(c->rounding), wbe,
                lowbit_backend_name(c->backend), m.bits_per_element, b[0], b[1], b[2], b[3], b[4], b[5]);
    }
    free(idx);
}

/* ---- CSV ---- */
static void csv_str(FILE *fp, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

static void csv_num(FILE *fp, double v)
{
    if (isnan(v))
        return; /* null: empty field */
    if (isinf(v))
        fputs(v > 0 ? "inf" : "-inf", fp);
    else
        fprintf(fp, "%.17g", v);
}

static const char *const keys =
    "tensor,rows,cols,format,elem,block,rule,rounding,backend,n,nonfinite,sqnr_db,mse,max_abs_err,"
    "max_rel_err,frac_saturated,frac_flushed,bits_per_element";

static void csv_row(FILE *fp, const sw_report *r, const sw_result *x, const char *tensor)
{
    const sw_case *c = &r->cases[x->kase];
    sw_metrics_out m;
    sw_derive(&x->s, &m);
    csv_str(fp, tensor);
    if (x->tensor == SIZE_MAX)
        fputs(",,", fp);
    else
        fprintf(fp, ",%zu,%zu", x->rows, x->cols);
    fprintf(fp, ",%s,%s,%s,%s,%s,%s,%zu,%zu,", c->f->name, lowbit_dtype_name(c->f->fmt.elem), c->f->block,
            c->has_rule ? sw_rule_name(c->rule) : "", sw_rounding_name(c->rounding), lowbit_backend_name(c->backend),
            x->s.n, x->s.nonfinite);
    double vals[] = {m.sqnr_db, m.mse, m.max_abs_err, m.max_rel_err, m.frac_saturated, m.frac_flushed,
                     m.bits_per_element};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        if (i)
            fputc(',', fp);
        csv_num(fp, vals[i]);
    }
    fputc('\n', fp);
}

void sw_write_csv(FILE *fp, const sw_report *r)
{
    fprintf(fp, "%s\n", keys);
    size_t *idx = sorted(r->results, r->nresults);
    for (size_t i = 0; i < r->nresults; i++) {
        const sw_result *x = &r->results[idx[i]];
        csv_row(fp, r, x, r->tensors->v[x->tensor].name);
    }
    free(idx);
    if (r->aggregate)
        for (size_t i = 0; i < r->ncases; i++)
            csv_row(fp, r, &r->agg[i], "*");
}

/* ---- JSON lines ---- */
static void json_str(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(fp, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(fp, "\\u%04x", *p);
        else
            fputc(*p, fp);
    }
    fputc('"', fp);
}

/* JSON has no infinity; 1e999 is valid number syntax that Python's json
 * and JavaScript's JSON.parse both read as Infinity.  NaN means null. */
static void json_num(FILE *fp, const char *key, double v)
{
    fprintf(fp, ",\"%s\":", key);
    if (isnan(v))
        fputs("null", fp);
    else if (isinf(v))
        fputs(v > 0 ? "1e999" : "-1e999", fp);
    else
        fprintf(fp, "%.17g", v);
}

static void json_obj(FILE *fp, const sw_report *r, const sw_result *x, const char *prefix)
{
    const sw_case *c = &r->cases[x->kase];
    sw_metrics_out m;
    sw_derive(&x->s, &m);
    fputc('{', fp);
    if (prefix)
        fputs(prefix, fp);
    fputs("\"tensor\":", fp);
    if (x->tensor == SIZE_MAX) {
        fputs("\"*\",\"rows\":null,\"cols\":null", fp);
    } else {
        json_str(fp, r->tensors->v[x->tensor].name);
        fprintf(fp, ",\"rows\":%zu,\"cols\":%zu", x->rows, x->cols);
    }
    fputs(",\"format\":", fp);
    json_str(fp, c->f->name);
    fprintf(fp, ",\"elem\":\"%s\",\"block\":", lowbit_dtype_name(c->f->fmt.elem));
    json_str(fp, c->f->block);
    if (c->has_rule)
        fprintf(fp, ",\"rule\":\"%s\"", sw_rule_name(c->rule));
    else
        fputs(",\"rule\":null", fp);
    fprintf(fp, ",\"rounding\":\"%s\",\"backend\":\"%s\",\"n\":%zu,\"nonfinite\":%zu", sw_rounding_name(c->rounding),
            lowbit_backend_name(c->backend), x->s.n, x->s.nonfinite);
    json_num(fp, "sqnr_db", m.sqnr_db);
    json_num(fp, "mse", m.mse);
    json_num(fp, "max_abs_err", m.max_abs_err);
    json_num(fp, "max_rel_err", m.max_rel_err);
    json_num(fp, "frac_saturated", m.frac_saturated);
    json_num(fp, "frac_flushed", m.frac_flushed);
    json_num(fp, "bits_per_element", m.bits_per_element);
    fprintf(fp, ",\"family\":\"%s\",\"n_saturated\":%zu,\"n_flushed\":%zu", sw_family_name(c->f->family),
            x->s.saturated, x->s.flushed);
    /* the lowbit_format itself, so a script can rebuild it */
    const lowbit_format *lf = &c->f->fmt;
    if (lf->scale_type == LOWBIT_DTYPE_COUNT)
        fputs(",\"scale\":null", fp);
    else
        fprintf(fp, ",\"scale\":\"%s\"", lowbit_dtype_name(lf->scale_type));
    fprintf(fp, ",\"block_rows\":%u,\"block_cols\":%u,\"flags\":%u", lf->block_rows, lf->block_cols, lf->flags);
    if (x->tensor == SIZE_MAX)
        fprintf(fp, ",\"aggregate\":true,\"tensors\":%zu", r->tensors->n);
    fputs("}\n", fp);
}

void sw_write_json(FILE *fp, const sw_report *r, int recommend)
{
    size_t *idx = sorted(r->results, r->nresults);
    for (size_t i = 0; i < r->nresults; i++)
        json_obj(fp, r, &r->results[idx[i]], NULL);
    free(idx);
    if (r->aggregate)
        for (size_t i = 0; i < r->ncases; i++)
            json_obj(fp, r, &r->agg[i], NULL);
    if (recommend) {
        size_t *best = sw_xcalloc(r->nbudgets, sizeof *best);
        sw_recommend(r, best);
        for (size_t b = 0; b < r->nbudgets; b++) {
            char pre[64];
            if (best[b] == SIZE_MAX) {
                fprintf(fp, "{\"recommend\":true,\"budget\":%.17g,\"format\":null}\n", r->budgets[b]);
                continue;
            }
            snprintf(pre, sizeof pre, "\"recommend\":true,\"budget\":%.17g,", r->budgets[b]);
            json_obj(fp, r, &r->agg[best[b]], pre);
        }
        free(best);
    }
}

/* ---- --recommend ---- */
void sw_recommend(const sw_report *r, size_t *best)
{
    for (size_t b = 0; b < r->nbudgets; b++) {
        best[b] = SIZE_MAX;
        double bs = -INFINITY;
        for (size_t i = 0; i < r->ncases; i++) {
            sw_metrics_out m;
            sw_derive(&r->agg[i].s, &m);
            /* the slack keeps a 32-bit tensor scale (32/n bits) from pushing
             * NVFP4 out of the 4.5-bit budget */
            if (isnan(m.sqnr_db) || m.bits_per_element > r->budgets[b] + SW_BUDGET_SLACK)
                continue;
            if (best[b] == SIZE_MAX || m.sqnr_db > bs) {
                best[b] = i;
                bs = m.sqnr_db;
            }
        }
    }
}

void sw_print_recommend(FILE *fp, const sw_report *r)
{
    size_t *best = sw_xcalloc(r->nbudgets, sizeof *best);
    sw_recommend(r, best);
    fprintf(fp, "Recommended (highest total SQNR within each bits-per-element budget, over %zu tensor%s):\n",
            r->tensors->n, r->tensors->n == 1 ? "" : "s");
    for (size_t b = 0; b < r->nbudgets; b++) {
        if (best[b] == SIZE_MAX) {
            fprintf(fp, "  <= %6.3g bits: (no format in the sweep fits)\n", r->budgets[b]);
            continue;
        }
        const sw_case *c = &r->cases[r->agg[best[b]].kase];
        sw_metrics_out m;
        sw_derive(&r->agg[best[b]].s, &m);
        char s[32];
        fmt_num(s, sizeof s, "%.2f", m.sqnr_db);
        fprintf(fp, "  <= %6.3g bits: %-20s rule %-5s rounding %-3s  %6.3f bits  %7s dB\n", r->budgets[b],
                c->f->name, c->has_rule ? sw_rule_name(c->rule) : "-", sw_rounding_name(c->rounding),
                m.bits_per_element, s);
    }
    free(best);
}
