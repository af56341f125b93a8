/* json.h - a strict JSON parser for untrusted input (safetensors headers). */
#ifndef LOWBIT_SWEEP_JSON_H
#define LOWBIT_SWEEP_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum { JS_NULL, JS_BOOL, JS_NUM, JS_STR, JS_ARR, JS_OBJ } js_type;

typedef struct js_val {
    js_type type;
    int b;                  /* JS_BOOL */
    double num;             /* JS_NUM */
    int is_uint;            /* JS_NUM written as plain digits that fit in uint64 */
    uint64_t u;
    char *str;              /* JS_STR: decoded UTF-8, NUL-free, NUL-terminated */
    size_t n;               /* JS_ARR / JS_OBJ: number of items */
    struct js_val *items;
    char **keys;            /* JS_OBJ: one per item */
} js_val;

/* Parse exactly one value (surrounding whitespace allowed).  Returns 0, or
 * -1 with a message naming the byte offset in err. */
int js_parse(const char *text, size_t len, js_val *out, char *err, size_t errlen);
void js_free(js_val *v);
/* Member of an object by key, or NULL. */
const js_val *js_get(const js_val *obj, const char *key);
const char *js_type_name(js_type t);

#endif
