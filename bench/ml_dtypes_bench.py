#!/usr/bin/env python3
"""ml_dtypes_bench.py - lowbit_convert against ml_dtypes casts, same arrays, same run.

ml_dtypes is what a NumPy or JAX user reaches for to make FP8 / FP4 arrays,
so it is the natural CPU peer of lowbit's conversions.  For each case this
times `ml_dtypes` `astype` (what users write; it allocates its output on
every call), `np.copyto(out, x, casting="unsafe")` (the same ml_dtypes cast
into a preallocated array, which is what lowbit does), and `lowbit_convert`
through ctypes, on the same input arrays:

  f32 -> float8_e4m3fn, f32 -> float8_e5m2, f32 -> float4_e2m1fn,
  float8_e4m3fn -> f32

in cache (256 KiB of f32 input, many repetitions) and cold (64 MiB of f32
input, two input arrays used in turn).  Both run single-threaded by default
(NumPy casts use one thread); --threads sets lowbit's thread count for the
cold rows.  The outputs must agree bit for bit (nearest-even; lowbit not
saturating, which is ml_dtypes' behaviour; the data are finite N(0, 1)
values, so the one documented difference, NaN payloads of e4m3fn, does not
arise).  Exit status 1 on any mismatch.

GB/s count the bytes each implementation reads plus writes: ml_dtypes
writes one byte per float4 element, lowbit packs two per byte.  The ratio
columns are speed ratios (ml_dtypes time / lowbit time): above 1, lowbit is
faster.
"""

import argparse
import ctypes
import json
import os
import statistics
import sys
import time

import numpy as np

try:
    import ml_dtypes
except ImportError:
    sys.exit("ml_dtypes_bench.py needs ml_dtypes (pip install ml_dtypes)")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IN_CACHE_BYTES = 256 << 10
COLD_BYTES = 64 << 20


def load_lowbit(path):
    """Import the test suite's ctypes wrapper bound to the library at path."""
    if not os.path.exists(path) and not os.path.isabs(path) and os.path.exists(os.path.join(REPO, path)):
        path = os.path.join(REPO, path)
    if not os.path.exists(path):
        sys.exit("no lowbit library at %s (build it, or give --lib PATH to liblowbit.so)" % path)
    os.environ["LOWBIT_LIB"] = os.path.abspath(path)
    sys.path.insert(0, os.path.join(REPO, "tests", "python"))
    import lowbit_ctypes as L

    L.LIB.lowbit_set_num_threads.argtypes = [ctypes.c_int]
    L.LIB.lowbit_set_num_threads.restype = ctypes.c_int
    L.LIB.lowbit_get_num_threads.argtypes = []
    L.LIB.lowbit_get_num_threads.restype = ctypes.c_int
    L.LIB.lowbit_get_backend.argtypes = []
    L.LIB.lowbit_get_backend.restype = ctypes.c_int
    L.LIB.lowbit_backend_name.argtypes = [ctypes.c_int]
    L.LIB.lowbit_backend_name.restype = ctypes.c_char_p
    return L


def timed(fn, reps, min_rep_seconds):
    """Per-call seconds of fn: each repetition runs fn enough times to last
    min_rep_seconds (a single call for the cold sizes); returns best, median."""
    number = 1
    if min_rep_seconds > 0:
        while True:
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            if time.perf_counter() - t0 >= min_rep_seconds / 4:
                break
            number *= 2
        number *= 4
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return min(times), statistics.median(times)


class Case:
    def __init__(self, name, src_type, dst_type, ml_src, ml_dst):
        self.name = name            # the formats string, as lowbit-bench writes it
        self.src_type = src_type    # lowbit dtypes
        self.dst_type = dst_type
        self.ml_src = ml_src        # NumPy dtypes of the ml_dtypes arrays
        self.ml_dst = ml_dst


def cases(L):
    f32, e4m3 = np.dtype(np.float32), np.dtype(ml_dtypes.float8_e4m3fn)
    return [
        Case("f32->e4m3", L.F32, L.E4M3, f32, e4m3),
        Case("f32->e5m2", L.F32, L.E5M2, f32, np.dtype(ml_dtypes.float8_e5m2)),
        Case("f32->e2m1", L.F32, L.E2M1, f32, np.dtype(ml_dtypes.float4_e2m1fn)),
        Case("e4m3->f32", L.E4M3, L.F32, e4m3, f32),
    ]


def lowbit_bits(L, case, buf, n):
    """lowbit's output as ml_dtypes lays it out: one code per byte, or f32 bits."""
    if case.dst_type == L.F32:
        return buf.view(np.uint32)
    return L.unpack_codes(case.dst_type, buf, n)


def run_case(L, case, n, inputs, threads, reps, min_rep_seconds):
    """Time one case on arrays of n elements; `inputs` f32 arrays are used in turn."""
    srcs = [x.astype(case.ml_src) for x in inputs]      # finite codes, same on both sides
    lb_out = [np.zeros(L.dtype_bytes(case.dst_type, n), dtype=np.uint8) for _ in srcs]
    ml_out = [np.empty(n, dtype=case.ml_dst) for _ in srcs]
    opts = L.make_opts(L.ROUND_NEAREST_EVEN, saturate=0)
    turn = [0]

    def next_index():
        turn[0] = (turn[0] + 1) % len(srcs)
        return turn[0]

    def lowbit_call():
        i = next_index()
        s = L.LIB.lowbit_convert(case.dst_type, lb_out[i].ctypes.data, case.src_type, srcs[i].ctypes.data, n,
                                 ctypes.byref(opts))
        if s != L.OK:
            raise L.LowbitError(s, L.last_error(), "lowbit_convert(%s)" % case.name)

    def astype_call():
        srcs[next_index()].astype(case.ml_dst)

    def copyto_call():
        i = next_index()
        np.copyto(ml_out[i], srcs[i], casting="unsafe")

    if L.LIB.lowbit_set_num_threads(threads) != L.OK:
        sys.exit("lowbit_set_num_threads(%d) failed: %s" % (threads, L.last_error()))
    lb = timed(lowbit_call, reps, min_rep_seconds)
    ml = timed(astype_call, reps, min_rep_seconds)
    into = timed(copyto_call, reps, min_rep_seconds)

    # The check, on every input: lowbit's output (left by the timed calls)
    # against astype's, and copyto's against astype's.
    mismatches = 0
    for i, src in enumerate(srcs):
        ml_bits = src.astype(case.ml_dst).view(np.uint32 if case.ml_dst.itemsize == 4 else np.uint8)
        mismatches += int(np.count_nonzero(lowbit_bits(L, case, lb_out[i], n) != ml_bits))
        mismatches += int(np.count_nonzero(ml_out[i].view(ml_bits.dtype) != ml_bits))

    src_bytes = srcs[0].nbytes
    lb_bytes = src_bytes + L.dtype_bytes(case.dst_type, n)
    ml_bytes = src_bytes + n * case.ml_dst.itemsize
    return {
        "lowbit": lb, "astype": ml, "copyto": into, "lowbit_bytes": lb_bytes, "ml_bytes": ml_bytes,
        "mismatches": mismatches,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lib", default="build/liblowbit.so", help="path to liblowbit.so (default build/liblowbit.so)")
    ap.add_argument("--threads", type=int, default=1, help="lowbit threads for the cold rows (default 1)")
    ap.add_argument("--reps", type=int, default=0, help="repetitions (default: 7 in cache, 5 cold)")
    ap.add_argument("--quick", action="store_true", help="4 MiB instead of 64 MiB, few repetitions")
    ap.add_argument("--json", action="store_true", help="JSON lines on stdout (the table goes to stderr)")
    args = ap.parse_args()
    if args.threads < 1:
        ap.error("--threads must be at least 1")

    L = load_lowbit(args.lib)
    backend = L.LIB.lowbit_backend_name(L.LIB.lowbit_get_backend()).decode()
    table = sys.stderr if args.json else sys.stdout
    rng = np.random.default_rng(20261201)
    cold_bytes = (4 << 20) if args.quick else COLD_BYTES
    modes = [
        # (mode, f32 input bytes, input arrays used in turn, threads, reps, seconds per repetition)
        ("in-cache", IN_CACHE_BYTES, 1, 1, args.reps or (3 if args.quick else 7), 0.005 if args.quick else 0.02),
        ("cold", cold_bytes, 2, args.threads, args.reps or (2 if args.quick else 5), 0),
    ]
    print("lowbit (%s backend) vs ml_dtypes %s, NumPy %s; GB/s = bytes read + written / best time; "
          "ratio = ml_dtypes time / lowbit time" % (backend, ml_dtypes.__version__, np.__version__), file=table)
    head = "%-9s %-10s %9s %3s %9s %9s %9s %9s %9s %9s" % (
        "mode", "formats", "elements", "thr", "lowbit", "astype", "copyto", "ratio", "ratio", "bit-exact")
    print(head, file=table)
    print("%-9s %-10s %9s %3s %9s %9s %9s %9s %9s" % ("", "", "", "", "GB/s", "GB/s", "GB/s", "/astype", "/copyto"),
          file=table)
    failed = 0
    for mode, nbytes, ninputs, threads, reps, min_rep in modes:
        n = nbytes // 4
        inputs = [rng.standard_normal(n, dtype=np.float32) for _ in range(ninputs)]
        for case in cases(L):
            r = run_case(L, case, n, inputs, threads, reps, min_rep)
            lb_s, ml_s, into_s = r["lowbit"][0], r["astype"][0], r["copyto"][0]
            failed += r["mismatches"] != 0
            print("%-9s %-10s %9d %3d %9.3f %9.3f %9.3f %9.3f %9.3f %9s" % (
                mode, case.name, n, threads, r["lowbit_bytes"] / lb_s * 1e-9, r["ml_bytes"] / ml_s * 1e-9,
                r["ml_bytes"] / into_s * 1e-9, ml_s / lb_s, into_s / lb_s,
                "yes" if r["mismatches"] == 0 else "NO (%d)" % r["mismatches"]), file=table)
            table.flush()
            if args.json:
                print(json.dumps({
                    "op": "convert", "formats": case.name, "backend": backend, "shape": [n], "threads": threads,
                    "mode": mode, "seconds": lb_s, "seconds_median": r["lowbit"][1],
                    "gbps": r["lowbit_bytes"] / lb_s * 1e-9, "elements_per_s": n / lb_s,
                    "peer": "ml_dtypes astype", "peer_seconds": ml_s, "peer_gbps": r["ml_bytes"] / ml_s * 1e-9,
                    "peer_ratio": ml_s / lb_s,
                    "peer_copyto_seconds": into_s, "peer_copyto_ratio": into_s / lb_s,
                    "bit_exact": r["mismatches"] == 0, "mismatches": r["mismatches"],
                    "ml_dtypes": ml_dtypes.__version__, "numpy": np.__version__}), flush=True)
    L.LIB.lowbit_set_num_threads(0)
    if failed:
        print("ml_dtypes_bench.py: %d case(s) where lowbit and ml_dtypes disagree" % failed, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
