/* badfiles.c - lowbit-sweep against malformed .npy and .safetensors files.
 *
 * Writes each file into a fresh temporary directory, runs the tool on it
 * and requires exit status 2 (not a signal, not 0) with exactly one line
 * on stderr that names the file.  Two well-formed files must be accepted,
 * so a tool that refuses everything fails too.  Runs under the sanitizer
 * build in CI, where an out-of-bounds read in a reader aborts the child
 * and fails the case.
 *
 * usage: badfiles PATH-TO-lowbit-sweep */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

static const char *tool;
static char dir[64];
static int failures, cases;

/* Run the tool on path; returns the wait status, stderr into err. */
static int run(const char *path, char *err, size_t errlen)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        dup2(fds[1], 2);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 1);
        close(fds[0]);
        close(fds[1]);
        execl(tool, tool, path, "--formats", "mxfp4,int4_g32_f16", "--quiet", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t k = 0;
    for (;;) {
        ssize_t r = read(fds[0], err + k, errlen - 1 - k);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        k += (size_t)r;
        if (k == errlen - 1)
            break;
    }
    err[k] = '\0';
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return st;
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(p, 1, n, fp) != n || fclose(fp) != 0) {
        perror(path);
        exit(1);
    }
}

/* name: file name in the temp dir; bytes: contents; expect_ok: 1 for the
 * good files. */
static void check_bytes(const char *name, const void *bytes, size_t n, int expect_ok)
{
    char path[256], err[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_file(path, bytes, n);
    int st = run(path, err, sizeof err);
    cases++;
    const char *why = NULL;
    if (WIFSIGNALED(st))
        why = "killed by a signal";
    else if (!WIFEXITED(st))
        why = "did not exit";
    else if (expect_ok && WEXITSTATUS(st) != 0)
        why = "a good file was refused";
    else if (!expect_ok && WEXITSTATUS(st) != 2)
        why = "exit status is not 2";
    else if (!expect_ok) {
        size_t len = strlen(err);
        const char *nl = strchr(err, '\n');
        if (len == 0)
            why = "no message";
        else if (!nl || nl != err + len - 1)
            why = "the message is not exactly one line";
        else if (!strstr(err, path))
            why = "the message does not name the file";
    }
    if (why) {
        failures++;
        printf("FAIL %-28s %s (status %d%s): %s", name, why, WIFEXITED(st) ? WEXITSTATUS(st) : -1,
               WIFSIGNALED(st) ? ", signal" : "", err[0] ? err : "(no stderr)\n");
        if (err[0] && err[strlen(err) - 1] != '\n')
            putchar('\n');
    } else {
        printf("ok   %-28s %s", name, expect_ok ? "accepted\n" : err);
    }
}

/* A safetensors file: 8-byte LE length, header, then nbody bytes of data. */
static void check_st(const char *name, const char *header, size_t nbody, int expect_ok)
{
    size_t h = strlen(header), n = 8 + h + nbody;
    unsigned char *b = calloc(1, n);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, header, h);
    for (size_t i = 0; i < nbody; i++)
        b[8 + h + i] = (unsigned char)(i * 37);
    check_bytes(name, b, n, expect_ok);
    free(b);
}

/* A safetensors file whose length field says `claimed`. */
static void check_st_len(const char *name, uint64_t claimed, const char *header, int expect_ok)
{
    size_t h = strlen(header), n = 8 + h;
    unsigned char *b = calloc(1, n);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(claimed >> (8 * i));
    memcpy(b + 8, header, h);
    check_bytes(name, b, n, expect_ok);
    free(b);
}

/* A .npy v1 file: magic, version, header dict, then nbody data bytes. */
static void check_npy(const char *name, const char *magic, int major, const char *dict, size_t nbody, int expect_ok)
{
    size_t d = strlen(dict);
    size_t pre = major == 1 ? 10 : 12, total = pre + d + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hl = d + pad + 1, n = pre + hl + nbody;
    unsigned char *b = calloc(1, n);
    memcpy(b, magic, 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    for (size_t i = 0; i < pre - 8; i++)
        b[8 + i] = (unsigned char)(hl >> (8 * i));
    memcpy(b + pre, dict, d);
    memset(b + pre + d, ' ', pad);
    b[pre + hl - 1] = '\n';
    for (size_t i = 0; i < nbody; i++)
        b[pre + hl + i] = (unsigned char)(i & 0x3f);
    check_bytes(name, b, n, expect_ok);
    free(b);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: badfiles PATH-TO-lowbit-sweep\n");
        return 1;
    }
    tool = argv[1];
    snprintf(dir, sizeof dir, "/tmp/lowbit-sweep-bad.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }

    /* ---- good files first: the tool must accept them ---- */
    check_st("good.safetensors",
             "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2,8],\"data_offsets\":[0,64]},"
             "\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[64,80]}}    ",
             80, 1);
    /* 16 f32 values of bytes i & 0x3f: small finite numbers */
    check_npy("good.npy", "\x93NUMPY", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 8), }", 64, 1);

    /* ---- safetensors ---- */
    check_bytes("empty.safetensors", "", 0, 0);
    check_bytes("short.safetensors", "\x05\x00\x00", 3, 0);
    check_st_len("hlen_past_end.safetensors", 1000, "{}", 0);
    check_st_len("hlen_huge.safetensors", UINT64_MAX, "{}", 0);
    check_st_len("hlen_short.safetensors", 1, "{}", 0);
    check_st("garbage_json.safetensors", "{not json at all}", 0, 0);
    check_st("not_utf8.safetensors", "{\"\xff\xfe\xfd\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0);
    check_st("overlong_utf8.safetensors", "{\"\xc0\xaf\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0);
    check_st("not_object.safetensors", "[1, 2, 3]", 0, 0);
    check_st("entry_not_object.safetensors", "{\"w\": 7}", 0, 0);
    check_st("truncated_json.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1", 0, 0);
    check_st("trailing_junk.safetensors", "{} xyz", 0, 0);
    check_st("missing_dtype.safetensors", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0);
    check_st("unknown_dtype.safetensors", "{\"w\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0);
    check_st("dtype_number.safetensors", "{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0);
    check_st("offsets_past_end.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, 0);
    check_st("offsets_huge.safetensors",
             "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[18446744073709551612,18446744073709551616]}}", 4, 0);
    check_st("offsets_backwards.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, 0);
    check_st("offsets_float.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0.5,4]}}", 8, 0);
    check_st("offsets_three.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8, 0);
    check_st("overlap.safetensors",
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24, 0);
    check_st("shape_mismatch.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, 0);
    check_st("shape_overflow.safetensors",
             "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,0]}}", 0, 0);
    check_st("shape_bytes_overflow.safetensors",
             "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", 0, 0);
    check_st("shape_negative.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, 0);
    check_st("shape_not_array.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,4]}}", 4, 0);
    check_st("duplicate_key.safetensors",
             "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
             "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, 0);
    check_st("nul_escape.safetensors", "{\"w\\u0000x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0);
    check_st("bad_surrogate.safetensors", "{\"w\\ud800\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0);
    check_st("metadata_not_strings.safetensors", "{\"__metadata__\":{\"a\":1}}", 0, 0);
    {
        /* nesting far deeper than any header needs */
        char deep[1200];
        size_t k = 0;
        deep[k++] = '{';
        memcpy(deep + k, "\"w\":", 4);
        k += 4;
        for (int i = 0; i < 500; i++)
            deep[k++] = '[';
        deep[k++] = '}';
        deep[k] = '\0';
        check_st("deep_nesting.safetensors", deep, 0, 0);
    }
    {
        /* random junk in the header bytes */
        char junk[257];
        uint32_t x = 12345;
        for (int i = 0; i < 256; i++) {
            x = x * 1103515245u + 12345u;
            junk[i] = (char)(1 + (x >> 16) % 255);
        }
        junk[256] = '\0';
        check_st("junk_header.safetensors", junk, 16, 0);
    }

    /* ---- npy ---- */
    check_bytes("empty.npy", "", 0, 0);
    check_npy("bad_magic.npy", "\x93NUMPX", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 16, 0);
    check_npy("bad_version.npy", "\x93NUMPY", 9, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 16, 0);
    check_npy("truncated_data.npy", "\x93NUMPY", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (100,), }", 8, 0);
    check_npy("extra_data.npy", "\x93NUMPY", 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 12, 0);
    check_npy("bad_dtype.npy", "\x93NUMPY", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", 16, 0);
    check_npy("structured.npy", "\x93NUMPY", 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8, 0);
    check_npy("fortran.npy", "\x93NUMPY", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, 0);
    check_npy("garbage_dict.npy", "\x93NUMPY", 1, "{'descr' '<f4' fortran_order: False shape (2,) }", 8, 0);
    check_npy("missing_shape.npy", "\x93NUMPY", 1, "{'descr': '<f4', 'fortran_order': False, }", 8, 0);
    check_npy("shape_overflow.npy", "\x93NUMPY", 1,
              "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }", 8, 0);
    check_npy("shape_huge_dim.npy", "\x93NUMPY", 1,
              "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", 8, 0);
    {
        /* header length field larger than the file */
        unsigned char b[16] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0xff, 0x7f, '{', '}'};
        check_bytes("hlen_past_end.npy", b, sizeof b, 0);
        check_bytes("short.npy", b, 7, 0);
    }

    printf("%d cases, %d failures\n", cases, failures);
    /* tidy up; leave the directory on failure for inspection */
    if (!failures) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    } else {
        printf("files left in %s\n", dir);
    }
    return failures ? 1 : 0;
}
