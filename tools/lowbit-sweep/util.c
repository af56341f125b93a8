/* util.c - errors, allocation, comma lists, strict number parsing, file
 * mapping and the progress bar. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "sweep.h"

int sw_progress_enabled;
static int progress_drawn;

void sw_die(const char *fmt, ...)
{
    va_list ap;
    sw_progress_end();
    fputs("lowbit-sweep: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(SW_EXIT_USAGE);
}

void sw_note(const char *fmt, ...)
{
    va_list ap;
    sw_progress_end();
    fputs("lowbit-sweep: note: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void *sw_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        sw_die("out of memory (%zu bytes)", n);
    return p;
}

void *sw_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        sw_die("out of memory (%zu x %zu bytes)", n, size);
    return p;
}

void *sw_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        sw_die("out of memory (%zu bytes)", n);
    return q;
}

char *sw_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = sw_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

char **sw_split(const char *list)
{
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    char **v = sw_xcalloc(n + 1, sizeof *v);
    size_t k = 0;
    const char *start = list;
    for (const char *p = list;; p++) {
        if (*p == ',' || *p == '\0') {
            /* trim blanks so "a, b" works */
            const char *a = start, *b = p;
            while (a < b && (*a == ' ' || *a == '\t'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
                b--;
            if (b > a) {
                char *s = sw_xmalloc((size_t)(b - a) + 1);
                memcpy(s, a, (size_t)(b - a));
                s[b - a] = '\0';
                v[k++] = s;
            }
            if (*p == '\0')
                break;
            start = p + 1;
        }
    }
    v[k] = NULL;
    return v;
}

void sw_free_split(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

int sw_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int sw_parse_double(const char *s, double *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int sw_file_open(sw_file *f, const char *path, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "not a regular file");
        close(fd);
        return -1;
    }
    f->path = sw_xstrdup(path);
    f->size = (size_t)st.st_size;
    if (f->size == 0) {
        static const uint8_t empty[1];
        f->bytes = empty;
        close(fd);
        return 0;
    }
    void *p = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "cannot map %zu bytes: %s", f->size, strerror(errno));
        free(f->path);
        f->path = NULL;
        return -1;
    }
    f->bytes = p;
    f->mapped = 1;
    return 0;
}

void sw_file_close(sw_file *f)
{
    if (f->mapped)
        munmap((void *)f->bytes, f->size);
    free(f->path);
    memset(f, 0, sizeof *f);
}

int sw_name_selected(const char *name, char *const *patterns)
{
    if (!patterns || !patterns[0])
        return 1;
    for (char *const *p = patterns; *p; p++)
        if (fnmatch(*p, name, 0) == 0)
            return 1;
    return 0;
}

void sw_progress(size_t done, size_t total, const char *what)
{
    if (!sw_progress_enabled || total == 0)
        return;
    enum { W = 30 };
    size_t fill = done * W / total;
    char bar[W + 1];
    for (size_t i = 0; i < W; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[W] = '\0';
    /* \033[K clears the rest of the line left by a longer name */
    fprintf(stderr, "\r[%s] %zu/%zu %.40s\033[K", bar, done, total, what ? what : "");
    fflush(stderr);
    progress_drawn = 1;
}

void sw_progress_end(void)
{
    if (progress_drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        progress_drawn = 0;
    }
}
