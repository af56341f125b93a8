/*
 * report.c - the readable table (stdout, or stderr under --json) and the
 * JSON lines (stdout), one object per roofline figure and per measured case,
 * with the fields of DESIGN.md section 7.
 */
#include <string.h>
#include "bench.h"

FILE *table_out(const bench_config *cfg)
{
    return cfg->json ? stderr : stdout;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", (unsigned char)*s);
        else
            putchar(*s);
    }
    putchar('"');
}

static double mib(size_t bytes)
{
    return (double)bytes / (1 << 20);
}

static const char *plural(int threads)
{
    return threads == 1 ? "thread " : "threads";
}

/* ---- roofline ------------------------------------------------------- */

/* shape: the copy's source bytes; none for the peak kernels. */
static void json_roofline_head(const char *formats, const char *backend, size_t shape, int threads, double seconds)
{
    printf("{\"op\":\"roofline\",\"formats\":");
    json_string(formats);
    printf(",\"backend\":");
    json_string(backend);
    if (shape)
        printf(",\"shape\":[%zu]", shape);
    else
        printf(",\"shape\":[]");
    printf(",\"threads\":%d,\"seconds\":%.9g", threads, seconds);
}

static void json_roofline(const roofline *r)
{
    for (int i = 0; i < r->thread_count_n; i++) {
        int n = r->thread_counts[i];
        json_roofline_head("memcpy", "libc", r->copy_bytes, n, r->copy_seconds[i]);
        printf(",\"gbps\":%.6g,\"bytes\":%.17g,\"llc_bytes\":%zu,\"llc_sysconf_bytes\":%zu,"
               "\"llc_sysfs_bytes\":%zu}\n",
               r->copy_gbps[i], 2.0 * (double)r->copy_bytes, r->llc.bytes, r->llc.sysconf_bytes,
               r->llc.sysfs_bytes);
        if (r->cache_copy_bytes) {
            json_roofline_head("memcpy-in-cache", "libc", r->cache_copy_bytes, n, r->cache_copy_seconds[i]);
            printf(",\"gbps\":%.6g,\"bytes\":%.17g}\n", r->cache_copy_gbps[i], 2.0 * (double)r->cache_copy_bytes);
        }
        json_roofline_head("fma_f32", r->fma_isa, 0, n, r->fma_seconds[i]);
        printf(",\"instructions\":");
        json_string(peak_fma_kernel()->what);
        printf(",\"gflops\":%.6g,\"tflops\":%.6g}\n", r->fma_gflops[i], r->fma_gflops[i] * 1e-3);
        json_roofline_head("dot_int8", r->int8_isa, 0, n, r->int8_seconds[i]);
        printf(",\"instructions\":");
        json_string(peak_int8_kernel()->what);
        printf(",\"gops\":%.6g,\"tops\":%.6g}\n", r->int8_gops[i], r->int8_gops[i] * 1e-3);
    }
}

static void print_llc(FILE *o, const cache_info *c)
{
    if (!c->bytes) {
        fprintf(o, "last-level cache: unknown (buffers sized for 32 MiB)\n");
        return;
    }
    fprintf(o, "last-level cache: %.1f MiB", mib(c->bytes));
    if (c->sysconf_bytes && c->sysfs_bytes && c->sysconf_bytes != c->sysfs_bytes)
        fprintf(o, " (sysconf _SC_LEVEL3_CACHE_SIZE says %.1f MiB, /sys/devices/system/cpu/cpu0/cache "
                   "%.1f MiB; buffers are sized for the larger)\n",
                mib(c->sysconf_bytes), mib(c->sysfs_bytes));
    else
        fprintf(o, " (%s)\n", c->sysconf_bytes ? "sysconf _SC_LEVEL3_CACHE_SIZE" : "/sys/devices/system/cpu/cpu0/cache");
}

static void roofline_line(FILE *o, const char *label, int threads, double value, const char *unit)
{
    fprintf(o, "  %-48s %3d %s %10.2f %s\n", label, threads, plural(threads), value, unit);
}

void report_roofline(const bench_config *cfg, const roofline *r)
{
    FILE *o = table_out(cfg);
    char label[96];
    print_llc(o, &r->llc);
    fprintf(o, "\nroofline (best of the repetitions; GB/s count bytes read + written)\n");
    snprintf(label, sizeof label, "memcpy, %.0f MiB source", mib(r->copy_bytes));
    for (int i = 0; i < r->thread_count_n; i++)
        roofline_line(o, label, r->thread_counts[i], r->copy_gbps[i], "GB/s");
    snprintf(label, sizeof label, "memcpy in cache, %.0f KiB source", (double)r->cache_copy_bytes / 1024);
    for (int i = 0; r->cache_copy_bytes && i < r->thread_count_n; i++)
        roofline_line(o, label, r->thread_counts[i], r->cache_copy_gbps[i], "GB/s");
    snprintf(label, sizeof label, "f32 FMA, %s (%s)", r->fma_isa, peak_fma_kernel()->what);
    for (int i = 0; i < r->thread_count_n; i++)
        roofline_line(o, label, r->thread_counts[i], r->fma_gflops[i], "GFLOP/s");
    snprintf(label, sizeof label, "int8 dot, %s (%s)", r->int8_isa, peak_int8_kernel()->what);
    for (int i = 0; i < r->thread_count_n; i++)
        roofline_line(o, label, r->thread_counts[i], r->int8_gops[i], "GOP/s");
    fflush(o);
    if (cfg->json) {
        json_roofline(r);
        fflush(stdout);
    }
}

/* ---- op lines ------------------------------------------------------- */

void report_op_header(const bench_config *cfg, case_shape sh)
{
    FILE *o = table_out(cfg);
    fprintf(o, "\nops: %zu elements (%zu x %zu for the scaled formats), %s; \"of copy\" = GB/s / memcpy%s GB/s at "
               "the same thread count\n",
            sh.rows * sh.cols, sh.rows, sh.cols,
            cfg->in_cache ? "in cache, many repetitions" : "cold buffers", cfg->in_cache ? " in-cache" : "");
    fprintf(o, "%-10s %-30s %-7s %3s %9s %9s %9s %8s %10s\n", "op", "formats", "backend", "thr", "best ms",
            "median ms", "GB/s", "of copy", "Melem/s");
    fflush(o);
}

static void json_op(const bench_config *cfg, const op_result *res)
{
    const bench_case *c = res->c;
    size_t n = res->shape.rows * res->shape.cols;
    printf("{\"op\":");
    json_string(lowbit_op_name(c->op));
    printf(",\"formats\":");
    json_string(c->formats);
    printf(",\"backend\":");
    json_string(lowbit_backend_name(res->backend));
    if (c->op == LOWBIT_OP_CONVERT)
        printf(",\"shape\":[%zu]", n);
    else
        printf(",\"shape\":[%zu,%zu]", res->shape.rows, res->shape.cols);
    printf(",\"threads\":%d", res->threads);
    if (res->status != LOWBIT_OK) {
        printf(",\"error\":");
        json_string(lowbit_status_string(res->status));
        printf(",\"detail\":");
        json_string(res->error ? res->error : "");
        printf("}\n");
        return;
    }
    double gbps = res->bytes / res->best_s * 1e-9;
    double ratio = res->copy_gbps > 0 ? gbps / res->copy_gbps : 0;
    printf(",\"seconds\":%.9g,\"seconds_median\":%.9g,\"reps\":%d,\"bytes\":%.17g", res->best_s, res->median_s,
           res->reps, res->bytes);
    printf(",\"gbps\":%.6g,\"gbps_median\":%.6g,\"roofline_fraction\":%.6g", gbps,
           res->bytes / res->median_s * 1e-9, ratio);
    printf(",\"peer\":");
    json_string(cfg->in_cache ? "memcpy-in-cache" : "memcpy");
    printf(",\"peer_gbps\":%.6g,\"peer_ratio\":%.6g,\"elements_per_s\":%.6g", res->copy_gbps, ratio,
           (double)n / res->best_s);
    printf(",\"in_cache\":%s,\"buffer_sets\":%d}\n", cfg->in_cache ? "true" : "false", res->buffer_sets);
}

void report_op(const bench_config *cfg, const op_result *res)
{
    FILE *o = table_out(cfg);
    const bench_case *c = res->c;
    const char *b = lowbit_backend_name(res->backend);
    if (res->status != LOWBIT_OK) {
        fprintf(o, "%-10s %-30s %-7s %3d FAILED: %s: %s\n", lowbit_op_name(c->op), c->formats, b, res->threads,
                lowbit_status_string(res->status), res->error ? res->error : "");
    } else {
        double gbps = res->bytes / res->best_s * 1e-9;
        double n = (double)(res->shape.rows * res->shape.cols);
        fprintf(o, "%-10s %-30s %-7s %3d %9.3f %9.3f %9.3f %8.3f %10.1f\n", lowbit_op_name(c->op), c->formats, b,
                res->threads, res->best_s * 1e3, res->median_s * 1e3, gbps,
                res->copy_gbps > 0 ? gbps / res->copy_gbps : 0.0, n / res->best_s * 1e-6);
    }
    fflush(o);
    if (cfg->json) {
        json_op(cfg, res);
        fflush(stdout);
    }
}
