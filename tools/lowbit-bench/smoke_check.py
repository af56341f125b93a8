#!/usr/bin/env python3
"""Smoke test of lowbit-bench: `--quick --json` must print only JSON lines,
among them a roofline line, an op line with positive GB/s and a GEMM line
with positive GFLOP/s, and a bad option must exit with status 2.  It checks
that the tool works, not how fast anything is."""

import json
import subprocess
import sys


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def main():
    exe = sys.argv[1]
    run = subprocess.run([exe, "--quick", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, timeout=540)
    sys.stdout.write(run.stderr)  # the readable table, for the test log
    if run.returncode != 0:
        fail("lowbit-bench --quick --json exited %d" % run.returncode)
    rows = []
    for i, line in enumerate(run.stdout.splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except ValueError as e:
            fail("stdout line %d is not JSON (%s): %r" % (i, e, line))
    for r in rows:
        for key in ("op", "formats", "backend", "threads", "seconds"):
            if key not in r:
                fail("line without %r: %r" % (key, r))

    def positive_gbps(r):
        return isinstance(r.get("gbps"), (int, float)) and r["gbps"] > 0

    roof = [r for r in rows if r["op"] == "roofline" and positive_gbps(r)]
    ops = [r for r in rows if r["op"] not in ("roofline", "gemm", "attention") and positive_gbps(r)]
    attn = [r for r in rows if r["op"] == "attention"]
    gemm = [r for r in rows if r["op"] == "gemm" and "error" not in r]
    if not roof:
        fail("no roofline line with positive gbps")
    if not ops:
        fail("no op line with positive gbps")
    for r in ops:
        for key in ("shape", "roofline_fraction", "peer", "peer_ratio", "elements_per_s"):
            if key not in r:
                fail("op line without %r: %r" % (key, r))
    if not gemm:
        fail("no gemm line")
    for r in gemm:
        for key in ("shape", "full_shape", "kind", "kernel" if r["backend"] == "openblas" else "mode", "gflops",
                    "roofline", "roofline_fraction", "weight_gbps", "buffer_sets"):
            if key not in r:
                fail("gemm line without %r: %r" % (key, r))
        if not (isinstance(r["gflops"], (int, float)) and r["gflops"] > 0):
            fail("gemm line without positive gflops: %r" % r)
        if r["backend"] != "openblas" and r.get("peer") is None:
            fail("gemm line without a peer field: %r" % r)
        if r.get("peer", "none") != "none" and "peer_ratio" not in r:
            fail("gemm line with a peer but no peer_ratio: %r" % r)

    if not any(r["kind"] == "decode" for r in attn) or not any(r["kind"] == "prefill" for r in attn):
        fail("no attention decode and prefill lines")
    for r in attn:
        rate = r.get("gbps" if r["kind"] == "decode" else "gflops")
        if not (isinstance(rate, (int, float)) and rate > 0):
            fail("attention line without a positive rate: %r" % r)
        for key in ("shape", "threads", "roofline_fraction", "peer", "peer_ratio"):
            if key not in r:
                fail("attention line without %r: %r" % (key, r))

    bad = subprocess.run([exe, "--op", "transmogrify"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if bad.returncode != 2:
        fail("--op transmogrify exited %d, expected 2" % bad.returncode)
    print("OK: %d JSON lines, %d roofline and %d op lines with positive GB/s, %d gemm and %d attention lines"
          % (len(rows), len(roof), len(ops), len(gemm), len(attn)))


if __name__ == "__main__":
    main()
