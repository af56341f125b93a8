#!/usr/bin/env python3
"""Write the seed corpus of the fuzz targets into tests/fuzz/corpus/<target>/.

The inputs follow the byte decoding of fuzz_common.h (fz_u8, fz_size ...),
so every seed reaches the interesting part of its target: valid and invalid
dtype pairs, each scaled format, GEMM pairs, KV-cache formats, and real
.npy / .safetensors files next to broken ones.  Deterministic: rerunning
gives the same files.  Usage: python3 tests/fuzz/make_corpus.py
"""
import json
import os
import random
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")
rng = random.Random(20261202)

# lowbit_dtype values (include/lowbit.h)
F32, F16, BF16, E4M3, E5M2, E4M3FNUZ, E5M2FNUZ, E3M2, E2M3, E2M1, E8M0, INT8, INT4, UINT4 = range(14)


def u8(v):
    return bytes([v & 0xFF])


def u32(v):
    return struct.pack("<I", v & 0xFFFFFFFF)


def u64(v):
    return struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)


def small(v):
    """fz_size selector for a small value (below the target's bound)."""
    assert v < 0x2000
    return bytes([(v >> 8) & 0x1F, v & 0xFF])


def near_max(k=0):
    return bytes([0xC0, k & 15])


def pow2(e, minus_one=0):
    return bytes([0xE0, (e % 64) | (minus_one << 6)])


def raw64(v):
    return bytes([0xE0, 0x80]) + u64(v)


def noise(n):
    return bytes(rng.randrange(256) for _ in range(n))


def floats(n, scale=4.0):
    return b"".join(struct.pack("<f", rng.gauss(0, scale)) for _ in range(n))


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def convert():
    # backend, dst, src, opts mode, n, flags, src bytes
    pairs = [(E4M3, F32), (E5M2, F32), (E2M1, F32), (E3M2, F16), (E2M3, BF16), (E8M0, F32), (INT4, F32),
             (UINT4, F16), (INT8, BF16), (E4M3FNUZ, F32), (E5M2FNUZ, F16), (F32, E2M1), (F16, E3M2),
             (BF16, E4M3), (F32, E8M0), (F32, INT4), (E2M1, E2M1), (E4M3, E5M2), (F16, F32), (BF16, F32)]
    for i, (dst, src) in enumerate(pairs):
        be = i % 4
        om = [0, 1, 1 | (1 << 1) | 0x40, 1 | (2 << 1) | 0x80][i % 4]
        opts = b""
        if om & 0x80:
            opts = u64(0x1234 + i) + u64(i * 1000)
        n = [33, 64, 7, 1, 130][i % 5]
        write("convert", "pair_%02d" % i, u8(be) + u8(dst) + u8(src) + u8(om) + opts + small(n) + u8(0) +
              floats(n))
    write("convert", "huge_n_f32", u8(0) + u8(E4M3) + u8(F32) + u8(0) + near_max() + u8(0))
    write("convert", "huge_n_pow2", u8(1) + u8(F32) + u8(E2M1) + u8(0) + pow2(63) + u8(0))
    write("convert", "bad_enum", u8(0) + u8(0xF3) + u8(F32) + u8(0) + small(5) + u8(0) + noise(20))
    write("convert", "bad_rounding", u8(0) + u8(E4M3) + u8(F32) + u8(1 | (3 << 1) | (0x1F << 3)) + small(8) + u8(0))
    write("convert", "null_src", u8(0) + u8(E4M3) + u8(F32) + u8(0) + small(8) + u8(2))
    write("convert", "null_dst_zero", u8(0) + u8(E4M3) + u8(F32) + u8(0) + small(0) + u8(4))
    for sh in range(3):
        write("convert", "overlap_%d" % sh, u8(0) + u8(E4M3) + u8(F32) + u8(0) + small(16) +
              u8(1 | (sh << 1) | ((sh & 1) << 4)) + noise(70))
    write("convert", "nan_inf", u8(2) + u8(E5M2) + u8(F32) + u8(0x41) + small(6) + u8(0) +
          struct.pack("<6f", float("nan"), float("inf"), -float("inf"), 65504.0, 1e-40, -0.0))


# fz_format selectors: constructor index (sel % 8) or raw fields (sel & 0x80)
def fmt_mx(elem, rule=0):
    return u8(0) + u8(elem) + u8(rule)


def fmt_nvfp4():
    return u8(1) + u8(E2M1)


def fmt_tensor(elem):
    return u8(2) + u8(elem)


def fmt_row(elem):
    return u8(3) + u8(elem)


def fmt_block(elem, bri, bci):  # indexes into {0, 1, 16, 32, 64, 128, 7, 48}
    return u8(4) + u8(elem) + u8(bri) + u8(bci)


def fmt_int(elem, gi, scale, zp):
    return u8(5) + u8(elem) + u8(gi) + u8(scale) + u8(zp)


def fmt_raw(elem, scale, br, bc, rule, flags):
    return u8(0x80) + u8(elem) + u8(scale) + small(br) + small(bc) + u8(rule) + u8(flags)


def quantize():
    fmts = {
        "mxfp8": fmt_mx(E4M3), "mxfp4_rceil": fmt_mx(E2M1, 1), "mxfp6": fmt_mx(E3M2, 2),
        "mxint8": fmt_mx(INT8, 3), "nvfp4": fmt_nvfp4(), "fp8_tensor": fmt_tensor(E4M3),
        "fp8_row": fmt_row(E5M2), "fp8_1x128": fmt_block(E4M3, 1, 5), "fp8_16x16": fmt_block(E4M3FNUZ, 2, 2),
        "int4_g32_f16": fmt_int(INT4, 3, F16, 0), "uint4_g16_bf16_zp": fmt_int(UINT4, 2, BF16, 1),
        "int8_row_f32": fmt_int(INT8, 0, F32, 0), "raw_bad": fmt_raw(E2M1, E8M0, 3, 5, 0, 0),
        "raw_flags": fmt_raw(INT4, F32, 1, 32, 0, 1),
    }
    for i, (name, f) in enumerate(fmts.items()):
        rows, cols = [(2, 32), (3, 64), (1, 16), (5, 128), (4, 48)][i % 5]
        # backend, format, name len, rows, cols, buffer mode(0), tensor_scale flag(0),
        # src type (f32/f16/bf16), src mode, opts...
        sm = 4 if i % 3 == 0 else 0
        opts = (u8(2) + u64(i) + u8(0)) if sm & 4 else b""
        body = u8(i % 4) + f + u8(40) + small(rows) + small(cols) + u8(0) + u8(0) + u8(i % 3) + u8(sm) + opts
        write("quantize", name, body + floats(rows * cols * 2))
    write("quantize", "huge_rows", u8(0) + fmt_mx(E4M3) + u8(8) + near_max(1) + small(32) + u8(0) + noise(40))
    write("quantize", "huge_cols", u8(0) + fmt_int(INT4, 5, F16, 1) + u8(8) + small(2) + pow2(62) + u8(0) +
          noise(40))
    write("quantize", "short_buffers", u8(1) + fmt_mx(E2M1) + u8(3) + small(2) + small(64) +
          u8(0x1C) + u8(0xFF) + u8(0xFF) + u8(0xFF) + u8(0) + noise(300))
    write("quantize", "stride", u8(2) + fmt_row(E4M3) + u8(3) + small(3) + small(17) + u8(1) + u8(7) + u8(0) +
          u8(0) + u8(1) + u8(5) + floats(80))


def gemm():
    for pair in range(11):
        for mnk in range(2):
            M, N = [(2, 3), (5, 1)][mnk]
            k = [2, 4][mnk]  # index into {0, 16, 32, 64, 128, 96, 48, 256}
            if pair in (1, 5, 6, 7):
                k = 2  # groups of 32
            body = u8(pair % 4) + u8(pair) + small(M) + small(N) + u8(k) + u8(0)
            body += u8(0) + u8(0)  # buffer modes of a and b (tensor_scale from the init)
            write("gemm", "pair%02d_%d" % (pair, mnk), body + noise(1200))
    write("gemm", "zero_k", u8(0) + u8(9) + small(3) + small(2) + u8(0) + u8(0) + u8(0) + u8(0) + noise(64))
    write("gemm", "k_mismatch", u8(0) + u8(9) + small(2) + small(2) + u8(2) + u8(0xFF) + u8(3) + noise(400))
    write("gemm", "huge_m", u8(0) + u8(2) + near_max() + small(2) + u8(2) + u8(0) + noise(200))
    write("gemm", "raw_pair", u8(0) + u8(11) + fmt_raw(E4M3, F32, 1, 0, 0, 0) + fmt_raw(E4M3, E8M0, 1, 32, 0, 0) +
          small(2) + small(2) + u8(2) + u8(0) + noise(400))


def attention():
    for fi in range(15):
        # backend, k cache (mode, format, head_dim idx, kv_heads, page_tokens, page_count), v like k
        k = u8(0) + u8(fi) + u8(fi % 4) + u8(fi % 3) + u8(fi % 8) + u8(3 + fi % 3)
        body = u8(fi % 4) + k + u8(0) + noise(3000)
        write("attention", "fmt%02d" % fi, body)
    write("attention", "bad_table", u8(0) + u8(0) + u8(0) + u8(0) + u8(1) + u8(3) + u8(2) + u8(0) +
          u8(0x40 | 4) + u32(7) + u32(0xFFFFFFFF) + u32(1) + u32(0x80000000) + noise(600))
    write("attention", "huge_dims", u8(0) + u8(7) + u8(0) + near_max() + small(2) + small(4) + u8(1) + noise(400))


def npy_file(descr, shape, payload, version=1, fortran=False, pad=True):
    hdr = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", "(%s)" % "".join("%d, " % d for d in shape) if len(shape) != 1
        else "(%d,)" % shape[0])
    pre = 10 if version == 1 else 12
    h = hdr.encode()
    if pad:
        h += b" " * ((64 - (pre + len(h) + 1) % 64) % 64)
    h += b"\n"
    if version == 1:
        head = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h))
    else:
        head = b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<I", len(h))
    return head + h + payload


def npy():
    write("npy", "f32_2x3.npy", npy_file("<f4", (2, 3), floats(6)))
    write("npy", "f16_4.npy", npy_file("<f2", (4,), b"\x00\x3c" * 4))
    write("npy", "f64_be.npy", npy_file(">f8", (2, 2), struct.pack(">4d", 1, 2, 3, 4)))
    write("npy", "bf16_v2.npy", npy_file("<u2", (3, 1, 2), b"\x80\x3f" * 6, version=2))
    write("npy", "v3_scalar.npy", npy_file("|V2", (), b"\x00\x40", version=3))
    write("npy", "zero_dim.npy", npy_file("<f4", (0, 5), b""))
    write("npy", "fortran.npy", npy_file("<f4", (2, 2), floats(4), fortran=True))
    write("npy", "short_data.npy", npy_file("<f4", (3, 3), floats(8)))
    write("npy", "huge_shape.npy", npy_file("<f4", (1 << 40, 1 << 40), b""))
    write("npy", "overflow_dim.npy", npy_file("<f4", (99999999999999999999,), b""))
    write("npy", "bad_descr.npy", npy_file("<i4", (2,), b"\0" * 8))
    write("npy", "bad_magic.npy", b"\x93NUMPZ\x01\x00" + b"\x10\x00" + b"{}" + b" " * 14)
    write("npy", "truncated_hdr.npy", b"\x93NUMPY\x01\x00\xff\x00{'descr': '<f4'")


def st_file(header, data=b"", hlen=None):
    h = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + data


def safetensors():
    pats = [0, 1, 2, 3, 4]
    two = {"a.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
           "b.bias": {"dtype": "F16", "shape": [4], "data_offsets": [16, 24]},
           "__metadata__": {"format": "pt"}}
    write("safetensors", "two", u8(pats[0]) + st_file(two, floats(4) + b"\0\x3c" * 4))
    write("safetensors", "two_glob", u8(pats[4]) + st_file(two, floats(4) + b"\0\x3c" * 4))
    mixed = {"w": {"dtype": "BF16", "shape": [1, 3], "data_offsets": [0, 6]},
             "q": {"dtype": "F8_E4M3", "shape": [5], "data_offsets": [6, 11]},
             "f4": {"dtype": "F4", "shape": [3], "data_offsets": [11, 13]},
             "d": {"dtype": "F64", "shape": [], "data_offsets": [13, 21]},
             "e": {"dtype": "F32", "shape": [0, 7], "data_offsets": [21, 21]}}
    write("safetensors", "mixed", u8(pats[2]) + st_file(mixed, noise(21)))
    write("safetensors", "mixed_lit", u8(pats[3]) + st_file(mixed, noise(21)))
    over = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
            "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}
    write("safetensors", "overlap", u8(0) + st_file(over, noise(12)))
    write("safetensors", "past_end", u8(0) + st_file({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},
                                                     noise(8)))
    write("safetensors", "huge_shape", u8(0) + st_file(
        {"a": {"dtype": "F32", "shape": [4294967296, 4294967296, 16], "data_offsets": [0, 0]}}))
    write("safetensors", "bad_hlen", u8(0) + st_file({"a": 1}, hlen=1 << 62))
    write("safetensors", "not_object", u8(0) + st_file(b"[1, 2, 3]"))
    write("safetensors", "json_edge", u8(1) + st_file(
        b'{"\\u00e9\\ud83d\\ude00": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
        b'"__metadata__": {"k": "v\\n\\"x\\""}}', floats(1)))
    write("safetensors", "deep", u8(0) + st_file(b"[" * 200 + b"]" * 200))
    write("safetensors", "numbers", u8(0) + st_file(
        b'{"a": {"dtype": "F32", "shape": [1.5e3, -1, 18446744073709551616], "data_offsets": [0, 4]}}', floats(1)))
    write("safetensors", "dup_keys", u8(0) + st_file(
        b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
        b'"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', floats(2)))


if __name__ == "__main__":
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for gen in (convert, quantize, gemm, attention, npy, safetensors):
        gen()
    for t in sorted(os.listdir(OUT)):
        print("%-12s %3d files" % (t, len(os.listdir(os.path.join(OUT, t)))))
