/* formats.c - the --formats spec language (README.md, "Format specs").
 *
 * A spec is '_'-separated tokens: a family, then optional parts.
 *   mxfp8[_e4m3|_e5m2]  mxfp6[_e3m2|_e2m3]  mxfp4  mxint8   [_gN: non-standard block]
 *   nvfp4                                                    [_gN: non-standard block]
 *   fp8_ELEM[_BLOCK][_SCALE]     ELEM in e4m3 e5m2 e4m3fnuz e5m2fnuz
 *   ELEM[_BLOCK][_SCALE]         any float element, f32 amax scales
 *   ELEM_raw                     the element type alone, no scale
 *   int8|int4|uint4[_BLOCK][_SCALE][_zp]
 * BLOCK is tensor, row, gN (1 x N) or RxC.  Whatever a spec leaves open
 * expands: mxfp8 -> both elements, fp8_e4m3 -> tensor,row,1x128,128x128,
 * int4 -> every --block size.  Missing SCALE is f32. */
#include <stdlib.h>
#include <string.h>
#include "sweep.h"

static const char *const fam_names[SW_FAM_COUNT] = {"plain", "float", "mx", "nvfp4", "int"};

const char *sw_family_name(sw_family f)
{
    return (unsigned)f < SW_FAM_COUNT ? fam_names[f] : "?";
}

typedef struct {
    uint32_t br, bc;   /* lowbit_format block (0 = whole extent) */
    int set;
} blk;

static int parse_block(const char *t, blk *b)
{
    uint64_t r, c;
    if (strcmp(t, "tensor") == 0) {
        b->br = b->bc = 0;
    } else if (strcmp(t, "row") == 0) {
        b->br = 1;
        b->bc = 0;
    } else if (t[0] == 'g' && sw_parse_u64(t + 1, &c) == 0) {
        if (c == 0 || c > 1u << 20)
            return -1;
        b->br = 1;
        b->bc = (uint32_t)c;
    } else {
        const char *x = strchr(t, 'x');
        if (!x || x == t)
            return -1;
        char rb[24];
        size_t rl = (size_t)(x - t);
        if (rl >= sizeof rb)
            return -1;
        memcpy(rb, t, rl);
        rb[rl] = '\0';
        if (sw_parse_u64(rb, &r) || sw_parse_u64(x + 1, &c) || !r || !c || r > 1u << 20 || c > 1u << 20)
            return -1;
        b->br = (uint32_t)r;
        b->bc = (uint32_t)c;
    }
    b->set = 1;
    return 0;
}

static void block_text(const blk *b, char *buf, size_t len)
{
    if (b->br == 0 && b->bc == 0)
        snprintf(buf, len, "tensor");
    else if (b->br == 1 && b->bc == 0)
        snprintf(buf, len, "row");
    else if (b->br == 1)
        snprintf(buf, len, "g%u", b->bc);
    else
        snprintf(buf, len, "%ux%u", b->br, b->bc);
}

static int is_float_elem(lowbit_dtype t)
{
    return t >= LOWBIT_E4M3 && t <= LOWBIT_E2M1;
}

static int is_fp8(lowbit_dtype t)
{
    return t >= LOWBIT_E4M3 && t <= LOWBIT_E5M2FNUZ;
}

static void push(sw_format_list *l, const char *spec, const char *name, const char *block, sw_family fam,
                 lowbit_format fmt)
{
    if (lowbit_format_check(&fmt) != LOWBIT_OK)
        sw_die("--formats: '%s' is not a format lowbit implements: %s", spec, lowbit_last_error());
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return; /* listed twice: sweep it once */
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 32;
        l->v = sw_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    sw_format *f = &l->v[l->n++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    snprintf(f->block, sizeof f->block, "%s", block);
    f->family = fam;
    f->fmt = fmt;
}

/* Float elements with amax scales: name "fp8_e4m3_row", "e2m1_g32_f16". */
static void push_float(sw_format_list *l, const char *spec, lowbit_dtype e, blk b, lowbit_dtype st)
{
    char bt[24], name[48];
    block_text(&b, bt, sizeof bt);
    /* FP8 names follow common usage: fp8_e4m3_1x128, not fp8_e4m3_g128 */
    if (is_fp8(e) && b.br == 1 && b.bc)
        snprintf(bt, sizeof bt, "1x%u", b.bc);
    snprintf(name, sizeof name, "%s%s_%s%s%s", is_fp8(e) ? "fp8_" : "", lowbit_dtype_name(e), bt,
             st == LOWBIT_F32 ? "" : "_", st == LOWBIT_F32 ? "" : lowbit_dtype_name(st));
    lowbit_format f = lowbit_format_fp8_block(e, b.br, b.bc);
    f.scale_type = st;
    char key[24];
    if (b.br == 1 && b.bc)
        snprintf(key, sizeof key, "%u", b.bc);
    else
        block_text(&b, key, sizeof key);
    push(l, spec, name, key, SW_FAM_FLOAT, f);
}

static void push_int(sw_format_list *l, const char *spec, lowbit_dtype e, blk b, lowbit_dtype st, int zp)
{
    char bt[24], name[48];
    block_text(&b, bt, sizeof bt);
    snprintf(name, sizeof name, "%s_%s_%s%s", lowbit_dtype_name(e), bt, lowbit_dtype_name(st), zp ? "_zp" : "");
    lowbit_format f = lowbit_format_int_group(e, b.bc, st, zp);
    f.block_rows = b.br;
    char key[24];
    if (b.br == 1 && b.bc)
        snprintf(key, sizeof key, "%u", b.bc);
    else
        snprintf(key, sizeof key, "%s", bt);
    push(l, spec, name, key, SW_FAM_INT, f);
}

static void push_mx(sw_format_list *l, const char *spec, const char *base, lowbit_dtype e, uint32_t g)
{
    char name[48], key[24];
    lowbit_format f = lowbit_format_mx(e, LOWBIT_SCALE_FLOOR);
    if (g && g != f.block_cols) {
        f.block_cols = g;
        snprintf(name, sizeof name, "%s_g%u", base, g);
    } else {
        snprintf(name, sizeof name, "%s", base);
    }
    snprintf(key, sizeof key, "%u", f.block_cols);
    push(l, spec, name, key, SW_FAM_MX, f);
}

static void push_nvfp4(sw_format_list *l, const char *spec, uint32_t g)
{
    char name[48], key[24];
    lowbit_format f = lowbit_format_nvfp4();
    if (g && g != f.block_cols) {
        f.block_cols = g;
        snprintf(name, sizeof name, "nvfp4_g%u", g);
    } else {
        snprintf(name, sizeof name, "nvfp4");
    }
    snprintf(key, sizeof key, "%u", f.block_cols);
    push(l, spec, name, key, SW_FAM_NVFP4, f);
}

static lowbit_dtype scale_of(const char *t)
{
    if (!strcmp(t, "f32"))
        return LOWBIT_F32;
    if (!strcmp(t, "f16"))
        return LOWBIT_F16;
    if (!strcmp(t, "bf16"))
        return LOWBIT_BF16;
    return LOWBIT_DTYPE_COUNT;
}

static void parse_one(const char *spec, const uint32_t *blocks, size_t nblocks, sw_format_list *l);

static const char *const default_set =
    "e5m2_raw,fp8_e4m3_tensor,fp8_e4m3_row,fp8_e4m3_1x128,fp8_e4m3_128x128,fp8_e5m2_row,"
    "fp8_e4m3fnuz_row,e2m1_tensor,mxfp8_e4m3,mxfp8_e5m2,mxfp6_e3m2,mxfp6_e2m3,mxfp4,mxint8,nvfp4,"
    "int8_row_f32,int8_g128_f32,int4_g32_f16,int4_g128_f16,int4_g128_f16_zp,uint4_g128_f16_zp,int4_row_f32";

static void expand_all(const uint32_t *blocks, size_t nblocks, sw_format_list *l)
{
    static const char *const fixed[] = {
        "e4m3_raw", "e5m2_raw", "e4m3fnuz_raw", "e5m2fnuz_raw", "e3m2_raw", "e2m3_raw", "e2m1_raw",
        "fp8_e4m3", "fp8_e5m2", "fp8_e4m3fnuz", "fp8_e5m2fnuz",
        "e3m2_tensor", "e3m2_row", "e2m3_tensor", "e2m3_row", "e2m1_tensor", "e2m1_row",
        "mxfp8", "mxfp6", "mxfp4", "mxint8", "nvfp4"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        parse_one(fixed[i], blocks, nblocks, l);
    static const char *const ints[] = {"int8", "int4", "uint4"};
    static const char *const scales[] = {"f32", "f16", "bf16"};
    for (size_t e = 0; e < 3; e++)
        for (int zp = e == 2; zp < 2; zp++)
            for (size_t s = 0; s < 3; s++) {
                char spec[48];
                snprintf(spec, sizeof spec, "%s_%s%s", ints[e], scales[s], zp ? "_zp" : "");
                parse_one(spec, blocks, nblocks, l);
                snprintf(spec, sizeof spec, "%s_row_%s%s", ints[e], scales[s], zp ? "_zp" : "");
                parse_one(spec, blocks, nblocks, l);
            }
}

static void parse_one(const char *spec, const uint32_t *blocks, size_t nblocks, sw_format_list *l)
{
    if (!strcmp(spec, "all")) {
        expand_all(blocks, nblocks, l);
        return;
    }
    if (!strcmp(spec, "default")) {
        char **v = sw_split(default_set);
        for (char **p = v; *p; p++)
            parse_one(*p, blocks, nblocks, l);
        sw_free_split(v);
        return;
    }
    char buf[96];
    if (strlen(spec) >= sizeof buf)
        sw_die("--formats: '%.40s...' is too long", spec);
    snprintf(buf, sizeof buf, "%s", spec);
    char *tok[8];
    size_t nt = 0;
    for (char *s = strtok(buf, "_"); s; s = strtok(NULL, "_")) {
        if (nt == 8)
            sw_die("--formats: '%s' has too many parts", spec);
        tok[nt++] = s;
    }
    if (nt == 0)
        sw_die("--formats: empty format spec");

    /* ---- MX and NVFP4: fixed element sets, optional _gN ---- */
    const char *fam = tok[0];
    int mx8 = !strcmp(fam, "mxfp8"), mx6 = !strcmp(fam, "mxfp6"), mx4 = !strcmp(fam, "mxfp4"),
        mxi = !strcmp(fam, "mxint8"), nv = !strcmp(fam, "nvfp4");
    if (mx8 || mx6 || mx4 || mxi || nv) {
        size_t k = 1;
        lowbit_dtype only = LOWBIT_DTYPE_COUNT;
        if ((mx8 || mx6) && k < nt && tok[k][0] == 'e') {
            only = lowbit_dtype_from_name(tok[k]);
            if ((mx8 && only != LOWBIT_E4M3 && only != LOWBIT_E5M2) ||
                (mx6 && only != LOWBIT_E3M2 && only != LOWBIT_E2M3))
                sw_die("--formats: '%s': %s takes %s", spec, fam, mx8 ? "e4m3 or e5m2" : "e3m2 or e2m3");
            k++;
        }
        uint32_t g = 0;
        if (k < nt) {
            blk b;
            if (parse_block(tok[k], &b) || b.br != 1 || !b.bc || tok[k][0] != 'g')
                sw_die("--formats: '%s': '%s' is not a block size gN", spec, tok[k]);
            g = b.bc;
            k++;
        }
        if (k < nt)
            sw_die("--formats: '%s': unexpected '%s'", spec, tok[k]);
        if (nv) {
            push_nvfp4(l, spec, g);
        } else if (mx4) {
            push_mx(l, spec, "mxfp4", LOWBIT_E2M1, g);
        } else if (mxi) {
            push_mx(l, spec, "mxint8", LOWBIT_INT8, g);
        } else {
            lowbit_dtype a = mx8 ? LOWBIT_E4M3 : LOWBIT_E3M2, b = mx8 ? LOWBIT_E5M2 : LOWBIT_E2M3;
            char base[32];
            for (int i = 0; i < 2; i++) {
                lowbit_dtype e = i ? b : a;
                if (only != LOWBIT_DTYPE_COUNT && e != only)
                    continue;
                snprintf(base, sizeof base, "%s_%s", fam, lowbit_dtype_name(e));
                push_mx(l, spec, base, e, g);
            }
        }
        return;
    }

    /* ---- element families with amax scales ---- */
    size_t k = 0;
    int fp8 = 0;
    if (!strcmp(tok[0], "fp8")) {
        fp8 = 1;
        k = 1;
        if (k >= nt)
            sw_die("--formats: '%s': fp8 needs an element (fp8_e4m3, fp8_e5m2, fp8_e4m3fnuz, fp8_e5m2fnuz)", spec);
    }
    lowbit_dtype e = lowbit_dtype_from_name(tok[k]);
    int is_int = e == LOWBIT_INT8 || e == LOWBIT_INT4 || e == LOWBIT_UINT4;
    if (e == LOWBIT_DTYPE_COUNT || (!is_float_elem(e) && !is_int) || (fp8 && !is_fp8(e)))
        sw_die("--formats: unknown format '%s' (see --list-formats)", spec);
    k++;
    if (k < nt && !strcmp(tok[k], "raw")) {
        if (is_int || k + 1 != nt)
            sw_die("--formats: '%s': _raw takes a float element and nothing after it", spec);
        char name[48];
        snprintf(name, sizeof name, "%s_raw", lowbit_dtype_name(e));
        lowbit_format f = lowbit_format_plain(e);
        push(l, spec, name, "none", SW_FAM_PLAIN, f);
        return;
    }
    blk b = {0, 0, 0};
    lowbit_dtype st = LOWBIT_DTYPE_COUNT;
    int zp = 0;
    for (; k < nt; k++) {
        lowbit_dtype s = scale_of(tok[k]);
        if (s != LOWBIT_DTYPE_COUNT && st == LOWBIT_DTYPE_COUNT) {
            st = s;
        } else if (!strcmp(tok[k], "zp") && is_int && !zp) {
            zp = 1;
        } else if (!b.set && parse_block(tok[k], &b) == 0) {
            /* block given */
        } else {
            sw_die("--formats: '%s': unexpected '%s'", spec, tok[k]);
        }
    }
    if (st == LOWBIT_DTYPE_COUNT)
        st = LOWBIT_F32;
    if (is_int) {
        /* uint4 is only defined with a zero point (asymmetric) */
        if (e == LOWBIT_UINT4)
            zp = 1;
        if (b.set) {
            push_int(l, spec, e, b, st, zp);
        } else {
            for (size_t i = 0; i < nblocks; i++) {
                blk g = {1, blocks[i], 1};
                push_int(l, spec, e, g, st, zp);
            }
        }
        return;
    }
    if (b.set) {
        push_float(l, spec, e, b, st);
    } else if (fp8) {
        static const blk fp8_blocks[] = {{0, 0, 1}, {1, 0, 1}, {1, 128, 1}, {128, 128, 1}};
        for (size_t i = 0; i < 4; i++)
            push_float(l, spec, e, fp8_blocks[i], st);
    } else {
        blk t = {0, 0, 1};
        push_float(l, spec, e, t, st);
    }
}

void sw_formats_parse(const char *list, const uint32_t *blocks, size_t nblocks, sw_format_list *out)
{
    char **v = sw_split(list);
    if (!v[0])
        sw_die("--formats: empty list");
    for (char **p = v; *p; p++)
        parse_one(*p, blocks, nblocks, out);
    sw_free_split(v);
}

void sw_formats_help(FILE *fp)
{
    fprintf(fp,
            "Format specs (--formats, comma separated; README.md has the full grammar):\n"
            "  mxfp8_e4m3 mxfp8_e5m2 mxfp6_e3m2 mxfp6_e2m3 mxfp4 mxint8   OCP MX, E8M0 per 32 (mxfp8 / mxfp6: both)\n"
            "  mxfp4_g64 ...            MX with a non-standard block (lowbit accepts any)\n"
            "  nvfp4                    E2M1, E4M3 per 16 + f32 per tensor\n"
            "  fp8_e4m3_tensor _row _1x128 _128x128   FP8 with f32 scales (fp8_e4m3: all four;\n"
            "                           also e5m2, e4m3fnuz, e5m2fnuz)\n"
            "  e2m1 e3m2 e2m3 e4m3 ...  a float element with one f32 scale per tensor;\n"
            "                           add _row, _gN, _RxC for other blocks, _f16/_bf16 for the scale\n"
            "  e4m3_raw ... e2m1_raw    the element type alone, no scale\n"
            "  int8 int4 uint4 [_gN|_row][_f32|_f16|_bf16][_zp]   group-wise integers\n"
            "                           (no block: every --block size; no scale: f32; uint4 implies _zp)\n"
            "  default                  a set covering every family (%s)\n"
            "  all                      every family, block, scale type and zero-point choice\n",
            default_set);
}
