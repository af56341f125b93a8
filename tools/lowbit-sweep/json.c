/* json.c - RFC 8259 JSON, strictly: no comments, no trailing commas, UTF-8
 * checked byte by byte, nesting capped, every length bounded by the input.
 * Built for headers written by someone else, possibly garbage. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "sweep.h"

#define JS_MAX_DEPTH 32

typedef struct {
    const unsigned char *p, *end, *start;
    char *err;
    size_t errlen;
    int failed;
} js_parser;

static int fail(js_parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(js_parser *ps, const char *fmt, ...)
{
    if (!ps->failed) {
        char msg[160];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(ps->err, ps->errlen, "bad JSON header at byte %zu: %s", (size_t)(ps->p - ps->start), msg);
        ps->failed = 1;
    }
    return -1;
}

const char *js_type_name(js_type t)
{
    static const char *n[] = {"null", "boolean", "number", "string", "array", "object"};
    return (unsigned)t <= JS_OBJ ? n[t] : "?";
}

static void skip_ws(js_parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int parse_value(js_parser *ps, js_val *v, int depth);

static int hex4(js_parser *ps, unsigned *out)
{
    if (ps->end - ps->p < 4)
        return fail(ps, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = ps->p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return fail(ps, "bad hex digit in \\u escape");
        v = v * 16 + d;
    }
    ps->p += 4;
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of a valid UTF-8 sequence at p (1..4), or 0 if invalid
 * (overlong forms, surrogates and > U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static int parse_string(js_parser *ps, char **out)
{
    ps->p++; /* opening quote */
    /* decoded text is never longer than the encoded text */
    const unsigned char *q = ps->p;
    while (q < ps->end && *q != '"') {
        if (*q == '\\' && q + 1 < ps->end)
            q++;
        q++;
    }
    if (q >= ps->end)
        return fail(ps, "unterminated string");
    char *s = sw_xmalloc((size_t)(q - ps->p) + 1);
    size_t k = 0;
    while (*ps->p != '"') {
        unsigned c = *ps->p;
        if (c < 0x20) {
            free(s);
            return fail(ps, "control character 0x%02x in a string", c);
        }
        if (c == '\\') {
            ps->p++;
            unsigned e = *ps->p++;
            switch (e) {
            case '"': s[k++] = '"'; break;
            case '\\': s[k++] = '\\'; break;
            case '/': s[k++] = '/'; break;
            case 'b': s[k++] = '\b'; break;
            case 'f': s[k++] = '\f'; break;
            case 'n': s[k++] = '\n'; break;
            case 'r': s[k++] = '\r'; break;
            case 't': s[k++] = '\t'; break;
            case 'u': {
                unsigned cp = 0, lo = 0;
                if (hex4(ps, &cp)) {
                    free(s);
                    return -1;
                }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                        free(s);
                        return fail(ps, "unpaired surrogate in \\u escape");
                    }
                    ps->p += 2;
                    if (hex4(ps, &lo)) {
                        free(s);
                        return -1;
                    }
                    if (lo < 0xDC00 || lo > 0xDFFF) {
                        free(s);
                        return fail(ps, "unpaired surrogate in \\u escape");
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    free(s);
                    return fail(ps, "unpaired surrogate in \\u escape");
                }
                if (cp == 0) {
                    free(s);
                    return fail(ps, "\\u0000 in a string");
                }
                /* escapes like \u00e9 expand from 6 bytes to at most 4 */
                k += put_utf8(s + k, cp);
                break;
            }
            default:
                free(s);
                ps->p--;
                return fail(ps, "bad escape '\\%c'", e >= 0x20 && e < 0x7F ? (char)e : '?');
            }
            continue;
        }
        size_t n = utf8_len(ps->p, ps->end);
        if (n == 0) {
            free(s);
            return fail(ps, "invalid UTF-8 in a string");
        }
        memcpy(s + k, ps->p, n);
        k += n;
        ps->p += n;
    }
    ps->p++; /* closing quote */
    s[k] = '\0';
    *out = s;
    return 0;
}

static int parse_number(js_parser *ps, js_val *v)
{
    const unsigned char *b = ps->p, *p = ps->p;
    int digits_only = 1;
    if (p < ps->end && *p == '-') {
        p++;
        digits_only = 0;
    }
    if (p >= ps->end || *p < '0' || *p > '9')
        return fail(ps, "bad number");
    if (*p == '0' && p + 1 < ps->end && p[1] >= '0' && p[1] <= '9')
        return fail(ps, "number with a leading zero");
    while (p < ps->end && *p >= '0' && *p <= '9')
        p++;
    if (p < ps->end && *p == '.') {
        digits_only = 0;
        p++;
        if (p >= ps->end || *p < '0' || *p > '9')
            return fail(ps, "bad fraction");
        while (p < ps->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < ps->end && (*p == 'e' || *p == 'E')) {
        digits_only = 0;
        p++;
        if (p < ps->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= ps->end || *p < '0' || *p > '9')
            return fail(ps, "bad exponent");
        while (p < ps->end && *p >= '0' && *p <= '9')
            p++;
    }
    size_t len = (size_t)(p - b);
    if (len > 400)
        return fail(ps, "number too long");
    char buf[401];
    memcpy(buf, b, len);
    buf[len] = '\0';
    v->type = JS_NUM;
    v->num = strtod(buf, NULL);
    v->is_uint = 0;
    if (digits_only) {
        uint64_t u;
        if (sw_parse_u64(buf, &u) == 0) {
            v->is_uint = 1;
            v->u = u;
        }
    }
    ps->p = p;
    return 0;
}

static int lit(js_parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, "unexpected character '%c'", *ps->p >= 0x20 && *ps->p < 0x7F ? *ps->p : '?');
    ps->p += n;
    return 0;
}

static int parse_container(js_parser *ps, js_val *v, int depth, int is_obj)
{
    char close = is_obj ? '}' : ']';
    ps->p++;
    v->type = is_obj ? JS_OBJ : JS_ARR;
    size_t cap = 0;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    for (;;) {
        if (v->n == cap) {
            cap = cap ? 2 * cap : 4;
            v->items = sw_xrealloc(v->items, cap * sizeof *v->items);
            if (is_obj)
                v->keys = sw_xrealloc(v->keys, cap * sizeof *v->keys);
        }
        skip_ws(ps);
        if (is_obj) {
            if (ps->p >= ps->end || *ps->p != '"')
                return fail(ps, ps->p >= ps->end ? "truncated object" : "expected a string key");
            char *key;
            if (parse_string(ps, &key))
                return -1;
            for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->keys[i], key) == 0) {
                    fail(ps, "duplicate key \"%.60s\"", key);
                    free(key);
                    return -1;
                }
            v->keys[v->n] = key;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                memset(&v->items[v->n], 0, sizeof v->items[0]);
                v->n++; /* so js_free releases the key */
                return fail(ps, "expected ':'");
            }
            ps->p++;
        }
        memset(&v->items[v->n], 0, sizeof v->items[0]);
        v->n++;
        if (parse_value(ps, &v->items[v->n - 1], depth + 1))
            return -1;
        skip_ws(ps);
        if (ps->p >= ps->end)
            return fail(ps, is_obj ? "truncated object" : "truncated array");
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == close) {
            ps->p++;
            return 0;
        }
        return fail(ps, "expected ',' or '%c'", close);
    }
}

static int parse_value(js_parser *ps, js_val *v, int depth)
{
    memset(v, 0, sizeof *v);
    if (depth > JS_MAX_DEPTH)
        return fail(ps, "nested deeper than %d", JS_MAX_DEPTH);
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, "unexpected end");
    switch (*ps->p) {
    case '{':
        return parse_container(ps, v, depth, 1);
    case '[':
        return parse_container(ps, v, depth, 0);
    case '"':
        v->type = JS_STR;
        return parse_string(ps, &v->str);
    case 't':
        v->type = JS_BOOL;
        v->b = 1;
        return lit(ps, "true");
    case 'f':
        v->type = JS_BOOL;
        return lit(ps, "false");
    case 'n':
        v->type = JS_NULL;
        return lit(ps, "null");
    default:
        return parse_number(ps, v);
    }
}

int js_parse(const char *text, size_t len, js_val *out, char *err, size_t errlen)
{
    js_parser ps = {(const unsigned char *)text, (const unsigned char *)text + len,
                    (const unsigned char *)text, err, errlen, 0};
    if (parse_value(&ps, out, 0)) {
        js_free(out);
        return -1;
    }
    skip_ws(&ps);
    if (ps.p != ps.end) {
        fail(&ps, "trailing characters after the value");
        js_free(out);
        return -1;
    }
    return 0;
}

void js_free(js_val *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        js_free(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    memset(v, 0, sizeof *v);
}

const js_val *js_get(const js_val *obj, const char *key)
{
    if (!obj || obj->type != JS_OBJ)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}
