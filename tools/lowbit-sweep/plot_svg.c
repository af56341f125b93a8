/* plot_svg.c - SQNR (dB) against bits per element as a standalone SVG.
 *
 * One point per format (and settings) over all tensors with --aggregate or
 * a single tensor, each labelled; otherwise one colour per tensor and no
 * labels.  Marker shape says the family.  Labels are placed at the first of
 * a few positions around the point that overlaps no earlier label or
 * marker.  Every point is a <g class="point"> with a <title> tooltip. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sweep.h"

enum { W = 960, H = 620, ML = 78, MR = 210, MT = 64, MB = 64 };

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                      "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"};
#define NPAL (sizeof palette / sizeof palette[0])

static void xml_text(FILE *fp, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '&': fputs("&amp;", fp); break;
        case '"': fputs("&quot;", fp); break;
        default:
            /* control characters are not allowed in XML 1.0 */
            fputc(*p < 0x20 ? '?' : *p, fp);
        }
    }
}

/* A "nice" tick step (1, 2 or 5 x 10^k) giving about `want` ticks. */
static double nice_step(double span, int want)
{
    double raw = span / want, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

static void marker(FILE *fp, sw_family fam, double x, double y, const char *color)
{
    const double r = 5;
    switch (fam) {
    case SW_FAM_MX:
        fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\"/>", x, y, r, color);
        break;
    case SW_FAM_INT:
        fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>", x - r, y - r, 2 * r,
                2 * r, color);
        break;
    case SW_FAM_FLOAT:
        fprintf(fp, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\" fill=\"%s\"/>", x, y - r - 1, x + r + 1, y + r, x - r - 1,
                y + r, color);
        break;
    case SW_FAM_NVFP4:
        fprintf(fp, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f %.1fZ\" fill=\"%s\"/>", x, y - r - 2, x + r + 2, y, x,
                y + r + 2, x - r - 2, y, color);
        break;
    default:
        fprintf(fp, "<path d=\"M%.1f %.1fL%.1f %.1fM%.1f %.1fL%.1f %.1f\" stroke=\"%s\" stroke-width=\"2.5\"/>",
                x - r, y - r, x + r, y + r, x - r, y + r, x + r, y - r, color);
        break;
    }
}

typedef struct {
    double x0, y0, x1, y1;
} box;

static int overlaps(const box *a, const box *b)
{
    return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1;
}

typedef struct {
    const sw_result *res;
    double bx, by;   /* data coordinates */
    double px, py;   /* pixels */
    size_t series;
} pt;

int sw_write_svg(FILE *fp, const sw_report *r, const char *title)
{
    int agg = r->aggregate || r->tensors->n == 1;
    const sw_result *v = agg ? r->agg : r->results;
    size_t n = agg ? r->ncases : r->nresults;
    pt *p = sw_xcalloc(n, sizeof *p);
    size_t np = 0, skipped = 0;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        sw_metrics_out m;
        sw_derive(&v[i].s, &m);
        if (!isfinite(m.sqnr_db) || !isfinite(m.bits_per_element)) {
            skipped++;
            continue;
        }
        p[np].res = &v[i];
        p[np].bx = m.bits_per_element;
        p[np].by = m.sqnr_db;
        p[np].series = agg ? 0 : v[i].tensor;
        xmin = fmin(xmin, m.bits_per_element);
        xmax = fmax(xmax, m.bits_per_element);
        ymin = fmin(ymin, m.sqnr_db);
        ymax = fmax(ymax, m.sqnr_db);
        np++;
    }
    if (np == 0) {
        xmin = 0, xmax = 8, ymin = 0, ymax = 40;
    }
    /* pad the ranges so edge points and their labels stay inside */
    double xs = xmax - xmin, ys = ymax - ymin;
    if (xs < 1)
        xs = 1;
    if (ys < 5)
        ys = 5;
    xmin -= 0.06 * xs, xmax += 0.10 * xs;
    ymin -= 0.08 * ys, ymax += 0.08 * ys;
    double xstep = nice_step(xmax - xmin, 8), ystep = nice_step(ymax - ymin, 8);
    xmin = floor(xmin / xstep) * xstep, xmax = ceil(xmax / xstep) * xstep;
    ymin = floor(ymin / ystep) * ystep, ymax = ceil(ymax / ystep) * ystep;
    double pw = W - ML - MR, ph = H - MT - MB;
#define PX(x) (ML + ((x) - xmin) / (xmax - xmin) * pw)
#define PY(y) (MT + ph - ((y) - ymin) / (ymax - ymin) * ph)

    fprintf(fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
            W, H, W, H);
    fprintf(fp, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
    fputs("<text class=\"title\" x=\"", fp);
    fprintf(fp, "%d\" y=\"28\" font-size=\"17\" font-weight=\"bold\" text-anchor=\"middle\">", ML + (int)pw / 2);
    xml_text(fp, title);
    fputs("</text>\n", fp);
    fprintf(fp, "<text x=\"%d\" y=\"48\" font-size=\"12\" fill=\"#555\" text-anchor=\"middle\">%zu point%s, %zu tensor%s%s",
            ML + (int)pw / 2, np, np == 1 ? "" : "s", r->tensors->n, r->tensors->n == 1 ? "" : "s",
            agg && r->tensors->n > 1 ? ", SQNR of the summed error over all tensors" : "");
    if (skipped)
        fprintf(fp, "; %zu without a finite SQNR not drawn", skipped);
    fputs("</text>\n", fp);

    /* grid, ticks and tick labels */
    fputs("<g class=\"axes\" font-size=\"12\" fill=\"#333\">\n", fp);
    for (double t = xmin; t <= xmax + xstep * 1e-6; t += xstep) {
        double x = PX(t);
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", x, MT, x, MT + ph);
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>", x, MT + ph, x, MT + ph + 5);
        fprintf(fp, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n", x, MT + ph + 19,
                fabs(t) < xstep * 1e-6 ? 0.0 : t);
    }
    for (double t = ymin; t <= ymax + ystep * 1e-6; t += ystep) {
        double y = PY(t);
        fprintf(fp, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", ML, y, ML + pw, y);
        fprintf(fp, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#333\"/>", ML - 5, y, ML, y);
        fprintf(fp, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", ML - 8, y + 4,
                fabs(t) < ystep * 1e-6 ? 0.0 : t);
    }
    fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333\"/>\n", ML, MT,
            pw, ph);
    fprintf(fp, "<text class=\"xlabel\" x=\"%.1f\" y=\"%d\" font-size=\"14\" text-anchor=\"middle\">bits per element "
                "(elements + scales + zero points)</text>\n", ML + pw / 2, H - 16);
    fprintf(fp, "<text class=\"ylabel\" x=\"20\" y=\"%.1f\" font-size=\"14\" text-anchor=\"middle\" "
                "transform=\"rotate(-90 20 %.1f)\">SQNR (dB)</text>\n", MT + ph / 2, MT + ph / 2);
    fputs("</g>\n", fp);

    /* points: markers first (all), so labels can avoid every marker */
    box *taken = sw_xcalloc(2 * np + 1, sizeof *taken);
    size_t nt = 0;
    fputs("<g class=\"points\">\n", fp);
    for (size_t i = 0; i < np; i++) {
        p[i].px = PX(p[i].bx);
        p[i].py = PY(p[i].by);
        const sw_case *c = &r->cases[p[i].res->kase];
        const char *color = agg ? palette[c->f->family % NPAL] : palette[p[i].series % NPAL];
        char label[96];
        sw_case_label(r, p[i].res->kase, label, sizeof label);
        fputs("<g class=\"point\"><title>", fp);
        if (!agg) {
            xml_text(fp, r->tensors->v[p[i].res->tensor].name);
            fputs(": ", fp);
        }
        xml_text(fp, label);
        fprintf(fp, ": %.3f bits, %.2f dB</title>", p[i].bx, p[i].by);
        marker(fp, c->f->family, p[i].px, p[i].py, color);
        fputs("</g>\n", fp);
        box m = {p[i].px - 6, p[i].py - 6, p[i].px + 6, p[i].py + 6};
        taken[nt++] = m;
    }
    fputs("</g>\n", fp);
    if (agg) {
        fputs("<g class=\"labels\" font-size=\"11\" fill=\"#222\">\n", fp);
        for (size_t i = 0; i < np; i++) {
            char label[96];
            sw_case_label(r, p[i].res->kase, label, sizeof label);
            double tw = 6.6 * (double)strlen(label), th = 11;
            /* candidate anchors: beside, above, below, then further out
             * (those get a leader line back to the marker) */
            const double dx[] = {9, -9 - tw, -tw / 2, -tw / 2, 9, 9, -9 - tw, -9 - tw,
                                 12, -12 - tw, 12, -12 - tw, 14, -14 - tw, 14, -14 - tw, -tw / 2, -tw / 2};
            const double dy[] = {4, 4, -10, 18, -9, 15, -9, 15,
                                 -22, -22, 28, 28, -36, -36, 42, 42, -30, 36};
            enum { NC = sizeof dx / sizeof dx[0] };
            int bestk = 0;
            size_t bestc = SIZE_MAX;
            for (int k = 0; k < NC; k++) {
                box b = {p[i].px + dx[k], p[i].py + dy[k] - th + 2, p[i].px + dx[k] + tw, p[i].py + dy[k] + 2};
                size_t cnt = 0;
                if (b.x0 < ML || b.x1 > ML + pw || b.y0 < MT || b.y1 > MT + ph)
                    cnt += 1000;
                for (size_t j = 0; j < nt; j++)
                    if (j != i && overlaps(&b, &taken[j]))
                        cnt++;
                if (cnt < bestc) {
                    bestc = cnt;
                    bestk = k;
                }
                if (cnt == 0)
                    break;
            }
            box b = {p[i].px + dx[bestk], p[i].py + dy[bestk] - th + 2, p[i].px + dx[bestk] + tw, p[i].py + dy[bestk] + 2};
            taken[nt++] = b;
            if (bestk >= 8) {
                double lx2 = dx[bestk] > 0 ? b.x0 - 1 : b.x1 + 1;
                if (dx[bestk] == -tw / 2)
                    lx2 = p[i].px;
                double ly2 = dy[bestk] < 0 ? b.y1 : b.y0;
                fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\" stroke-width=\"0.8\"/>",
                        p[i].px, p[i].py, lx2, ly2);
            }
            fprintf(fp, "<text class=\"label\" x=\"%.1f\" y=\"%.1f\">", p[i].px + dx[bestk], p[i].py + dy[bestk]);
            xml_text(fp, label);
            fputs("</text>\n", fp);
        }
        fputs("</g>\n", fp);
    }

    /* legend: families (shapes), and with per-tensor series, the colours */
    double lx = ML + pw + 18, ly = MT + 8;
    fprintf(fp, "<g class=\"legend\" font-size=\"12\">\n<text x=\"%.1f\" y=\"%.1f\" font-weight=\"bold\">family</text>\n",
            lx, ly + 4);
    static const char *const famtext[SW_FAM_COUNT] = {"element only (raw)", "float + f32/f16 scales",
                                                      "OCP MX (E8M0 scales)", "NVFP4", "integer groups"};
    int present[SW_FAM_COUNT] = {0};
    for (size_t i = 0; i < np; i++)
        present[r->cases[p[i].res->kase].f->family] = 1;
    for (int f = 0; f < SW_FAM_COUNT; f++) {
        if (!present[f])
            continue;
        ly += 20;
        marker(fp, (sw_family)f, lx + 6, ly, agg ? palette[f % NPAL] : "#555");
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", lx + 18, ly + 4, famtext[f]);
    }
    if (!agg) {
        ly += 30;
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" font-weight=\"bold\">tensor</text>\n", lx, ly);
        size_t shown = 0;
        for (size_t t = 0; t < r->tensors->n && ly < H - MB; t++, shown++) {
            ly += 18;
            fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"10\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\">",
                    lx, ly - 8, palette[t % NPAL], lx + 18, ly + 2);
            char nm[28];
            snprintf(nm, sizeof nm, "%s", r->tensors->v[t].name);
            xml_text(fp, nm);
            fputs("</text>\n", fp);
        }
        if (shown < r->tensors->n)
            fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#555\">... %zu more</text>\n", lx, ly + 18,
                    r->tensors->n - shown);
    }
    fputs("</g>\n</svg>\n", fp);
#undef PX
#undef PY
    free(taken);
    free(p);
    return ferror(fp) ? -1 : 0;
}
