"""lowbit-sweep against NumPy: every metric recomputed from the dequantized
values the library gives through ctypes, the .npy / .safetensors readers,
the CSV / JSON / SVG outputs and --recommend.

The tool is $LOWBIT_SWEEP, else tools/lowbit-sweep/lowbit-sweep next to
$LOWBIT_LIB in the build tree.
"""
import csv
import json
import math
import os
import struct
import subprocess
import xml.etree.ElementTree as ET

import ml_dtypes
import numpy as np
import pytest

import lowbit_ctypes as L

KEYS = ["tensor", "rows", "cols", "format", "elem", "block", "rule", "rounding", "backend", "n",
        "nonfinite", "sqnr_db", "mse", "max_abs_err", "max_rel_err", "frac_saturated",
        "frac_flushed", "bits_per_element"]


def sweep_exe():
    p = os.environ.get("LOWBIT_SWEEP")
    if not p:
        p = os.path.join(os.path.dirname(os.environ["LOWBIT_LIB"]), "tools", "lowbit-sweep", "lowbit-sweep")
    assert os.path.exists(p), "lowbit-sweep not found at %s" % p
    return p


def run(*args, ok=True):
    r = subprocess.run([sweep_exe()] + [str(a) for a in args], capture_output=True, text=True, timeout=120)
    assert r.returncode >= 0, "killed by signal %d: %s" % (-r.returncode, r.stderr)
    if ok:
        assert r.returncode == 0, r.stderr
    return r


def json_rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


# ---- an independent model of the metrics (README.md, "Metrics") -------------

FLOAT_VIEW = {"e4m3": ml_dtypes.float8_e4m3fn, "e5m2": ml_dtypes.float8_e5m2,
              "e4m3fnuz": ml_dtypes.float8_e4m3fnuz, "e5m2fnuz": ml_dtypes.float8_e5m2fnuz,
              "e3m2": ml_dtypes.float6_e3m2fn, "e2m3": ml_dtypes.float6_e2m3fn,
              "e2m1": ml_dtypes.float4_e2m1fn}
# The ends of each integer range that count as clipped: INT8 symmetric and
# MXINT8 stop at -127, zero-point groups at -128; both are "the end".
INT_RANGE = {"int8": (-127, 127), "int4": (-8, 7), "uint4": (0, 15)}


def code_values(elem, codes):
    """Element codes (one per byte) as float64 values of the element type."""
    if elem == "int8":
        return codes.view(np.int8).astype(np.float64)
    if elem == "int4":
        return ((codes.astype(np.int16) ^ 8) - 8).astype(np.float64)
    if elem == "uint4":
        return codes.astype(np.float64)
    return codes.view(FLOAT_VIEW[elem]).astype(np.float64)


def sat_bounds(elem):
    if elem in INT_RANGE:
        return INT_RANGE[elem]
    m = float(ml_dtypes.finfo(FLOAT_VIEW[elem]).max)
    return -m, m


def rebuild_format(row):
    scale = L.DTYPE_COUNT if row["scale"] is None else L.dtype_from_name(row["scale"])
    rule = L.SCALE_RULE_NAMES.index(row["rule"]) if row["rule"] else L.SCALE_FLOOR
    return L.Format(L.dtype_from_name(row["elem"]), scale, row["block_rows"], row["block_cols"], rule,
                    row["flags"])


def nominal_bits(row, rows, cols):
    bits = {"e4m3": 8, "e5m2": 8, "e4m3fnuz": 8, "e5m2fnuz": 8, "e3m2": 6, "e2m3": 6, "e2m1": 4,
            "int8": 8, "int4": 4, "uint4": 4}[row["elem"]]
    total = bits * rows * cols
    if row["scale"] is not None:
        br = row["block_rows"] or rows
        bc = row["block_cols"] or cols
        blocks = -(-rows // br) * -(-cols // bc)
        total += blocks * {"f32": 32, "f16": 16, "bf16": 16, "e8m0": 8, "e4m3": 8}[row["scale"]]
        if row["flags"] & L.FMT_ZERO_POINT:
            total += blocks * bits
        if row["flags"] & L.FMT_TENSOR_SCALE:
            total += 32
    return total / (rows * cols)


def numpy_metrics(x, xh, vals, elem):
    x = x.astype(np.float64).ravel()
    xh = xh.astype(np.float64).ravel()
    vals = vals.ravel()
    fin = np.isfinite(x) & np.isfinite(xh)
    x, xh, vals = x[fin], xh[fin], vals[fin]
    m = x.size
    d = x - xh
    sig, err = np.sum(x * x), np.sum(d * d)
    if m == 0:
        # nothing finite to compare (one Inf under a per-tensor scale)
        return {"nonfinite": int(np.count_nonzero(~fin)), "n_saturated": 0, "n_flushed": 0,
                "sqnr_db": None, "mse": None, "max_abs_err": None, "max_rel_err": None,
                "frac_saturated": None, "frac_flushed": None}
    lo, hi = sat_bounds(elem)
    nz = x != 0
    sat = int(np.count_nonzero(((vals <= lo) | (vals >= hi)) & (np.abs(x) > np.abs(xh))))
    flushed = int(np.count_nonzero(nz & (xh == 0)))
    return {
        "nonfinite": int(np.count_nonzero(~fin)),
        "sig": sig, "err": err,
        "sqnr_db": None if sig == 0 else (math.inf if err == 0 else 10 * math.log10(sig / err)),
        "mse": err / m,
        "max_abs_err": float(np.max(np.abs(d))) if m else 0.0,
        "max_rel_err": float(np.max(np.abs(d[nz]) / np.abs(x[nz]))) if np.any(nz) else 0.0,
        "n_saturated": sat, "n_flushed": flushed,
        "frac_saturated": sat / m, "frac_flushed": flushed / m,
    }


def close(a, b, rel):
    if a is None or b is None:
        return a is None and b is None
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= rel * max(abs(a), abs(b)) + 1e-300


def check_row(row, x, sr_seed=0):
    """Recompute one JSON result from scratch and compare."""
    fmt = rebuild_format(row)
    rounding = ["rne", "rtz", "sr"].index(row["rounding"])
    x2 = x.reshape(row["rows"], row["cols"])
    q = L.quantize(fmt, x2, rounding=rounding, seed=sr_seed)
    xh = L.dequantize(q)
    vals = code_values(row["elem"], q.codes())
    ref = numpy_metrics(x2, xh, vals, row["elem"])
    what = "%s %s" % (row["tensor"], row["format"])
    assert row["n"] == x2.size, what
    for k in ("nonfinite", "n_saturated", "n_flushed"):
        assert row[k] == ref[k], "%s: %s %r != %r" % (what, k, row[k], ref[k])
    # fractions are count / m, printed with 17 digits: equal to the last bit
    for k in ("frac_saturated", "frac_flushed", "max_abs_err"):
        assert row[k] == ref[k], "%s: %s %r != %r" % (what, k, row[k], ref[k])
    assert close(row["max_rel_err"], ref["max_rel_err"], 1e-15), what
    assert close(row["mse"], ref["mse"], 1e-12), "%s: mse %r != %r" % (what, row["mse"], ref["mse"])
    if ref["sqnr_db"] is None:
        assert row["sqnr_db"] is None, what
    elif math.isinf(ref["sqnr_db"]):
        assert row["sqnr_db"] == math.inf, what
    else:
        # 1e-12 relative in both sums is at most ~1e-11 dB
        assert abs(row["sqnr_db"] - ref["sqnr_db"]) <= 1e-10, "%s: sqnr %r != %r" % (
            what, row["sqnr_db"], ref["sqnr_db"])
    assert row["bits_per_element"] == pytest.approx(nominal_bits(row, row["rows"], row["cols"]), rel=1e-15)


def save_npy(path, a):
    np.save(path, a)
    return path


# ---- tests ------------------------------------------------------------------

@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweep")
    rng = np.random.default_rng(20261202)
    # awkward shapes: partial blocks along both axes
    a = rng.standard_normal((37, 160)).astype(np.float32)
    b = (rng.standard_t(3, size=(5, 7, 48)) * 0.02).astype(np.float32)
    b.reshape(-1)[::97] *= 40  # outliers
    c = rng.laplace(size=(130, 64)).astype(np.float32)
    c[0, :64] = 0          # an all-zero row / blocks
    c[3, 5] = np.nan       # non-finite inputs
    c[9, 1] = np.inf
    c[11, 2:6] = 1e-30     # underflow to zero in every format
    files = [save_npy(d / "normal.npy", a), save_npy(d / "heavy.npy", b), save_npy(d / "special.npy", c)]
    return d, files, {"normal": a, "heavy": b.reshape(35, 48), "special": c}


def test_metrics_match_numpy_every_format(inputs):
    d, files, arrays = inputs
    out = d / "all.json"
    run(*files, "--formats", "all", "--block", "32,48", "--rule", "floor,rceil", "--rounding", "rne,sr",
        "--sr-seed", "7", "--json", out, "--quiet")
    rows = json_rows(out)
    # every format of every family showed up, on every tensor
    fams = {r["family"] for r in rows}
    assert fams == {"plain", "float", "mx", "nvfp4", "int"}
    assert {r["tensor"] for r in rows} == set(arrays)
    for r in rows:
        assert all(k in r for k in KEYS), r
        check_row(r, arrays[r["tensor"]], sr_seed=7)
    # the non-finite inputs (and the finite ones that share an MX block
    # with them) are counted, never summed
    assert all(r["nonfinite"] >= 2 for r in rows if r["tensor"] == "special")
    assert len(rows) > 400


def test_aggregate_is_the_summed_energy(inputs):
    d, files, arrays = inputs
    out = d / "agg.json"
    run(*files, "--formats", "mxfp4,int8_row_f32", "--aggregate", "--json", out, "--quiet")
    rows = json_rows(out)
    per = [r for r in rows if not r.get("aggregate")]
    agg = [r for r in rows if r.get("aggregate")]
    assert len(agg) == 2 and all(r["tensor"] == "*" for r in agg)
    for a in agg:
        mine = [r for r in per if r["format"] == a["format"]]
        m = [r["n"] - r["nonfinite"] for r in mine]
        err = sum(r["mse"] * k for r, k in zip(mine, m))
        sig = sum(r["mse"] * k * 10 ** (r["sqnr_db"] / 10) for r, k in zip(mine, m))
        assert a["n"] == sum(r["n"] for r in mine)
        assert a["mse"] == pytest.approx(err / sum(m), rel=1e-12)
        assert a["sqnr_db"] == pytest.approx(10 * math.log10(sig / err), abs=1e-9)
        assert a["bits_per_element"] == pytest.approx(
            sum(r["bits_per_element"] * r["n"] for r in mine) / a["n"], rel=1e-12)
        assert a["max_abs_err"] == max(r["max_abs_err"] for r in mine)


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> (dtype string, shape, raw bytes)."""
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dt, shape, raw) in tensors.items():
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)  # the padding writers use
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def test_safetensors_dtypes_and_match(tmp_path):
    rng = np.random.default_rng(5)
    w32 = rng.standard_normal((3, 4, 64)).astype(np.float32)
    w16 = rng.standard_normal((16, 96)).astype(np.float16)
    wbf = rng.standard_normal((8, 128)).astype(ml_dtypes.bfloat16)
    ids = np.arange(10, dtype=np.int64)
    p = tmp_path / "m.safetensors"
    write_safetensors(p, {
        "layer.0.w32": ("F32", w32.shape, w32.tobytes()),
        "layer.0.w16": ("F16", w16.shape, w16.tobytes()),
        "layer.1.wbf": ("BF16", wbf.shape, wbf.tobytes()),
        "embed.ids": ("I64", ids.shape, ids.tobytes()),
        "other.w": ("F32", (2, 32), np.ones((2, 32), np.float32).tobytes()),
    }, metadata={"format": "pt", "note": "caf\u00e9"})
    out = tmp_path / "st.json"
    r = run(p, "--match", "layer.*", "--formats", "mxfp4,int4_g32_f16,fp8_e4m3_row", "--json", out)
    assert r.stderr == ""  # the I64 tensor is not selected, so no note
    rows = json_rows(out)
    want = {"layer.0.w32": w32.reshape(12, 64), "layer.0.w16": w16.astype(np.float32),
            "layer.1.wbf": wbf.astype(np.float32)}
    assert {x["tensor"] for x in rows} == set(want)
    for x in rows:
        a = want[x["tensor"]]
        assert (x["rows"], x["cols"]) == a.shape
        check_row(x, a)
    # a second pattern adds to the first; no pattern means every tensor
    rows2 = json.loads("[" + ",".join(run(p, "--match", "other.*", "--match", "*.wbf", "--formats",
                                          "mxfp4", "--json", "-").stdout.split("\n")[:-1]) + "]")
    assert {x["tensor"] for x in rows2} == {"other.w", "layer.1.wbf"}
    r3 = run(p, "--formats", "mxfp4", "--json", "-")
    assert len(r3.stdout.strip().split("\n")) == 4
    # a dtype the tool does not read is skipped with a note, not an error
    assert "embed.ids" in r3.stderr and "I64" in r3.stderr and "skipped" in r3.stderr


def test_npy_variants_read_the_same_values(tmp_path):
    rng = np.random.default_rng(9)
    a = rng.standard_normal((2, 3, 40)).astype(np.float32)
    f64 = a.astype(np.float64)
    f16 = a.astype(np.float16)
    bf = a.astype(ml_dtypes.bfloat16)
    paths = {}
    paths["f32"] = save_npy(tmp_path / "f32.npy", a)
    paths["f64"] = save_npy(tmp_path / "f64.npy", f64)
    paths["f16"] = save_npy(tmp_path / "f16.npy", f16)
    paths["bf16"] = save_npy(tmp_path / "bf16.npy", bf.view(np.uint16))
    paths["be"] = save_npy(tmp_path / "be.npy", a.astype(">f4"))
    with open(tmp_path / "v2.npy", "wb") as f:
        np.lib.format.write_array(f, a, version=(2, 0))
    paths["v2"] = tmp_path / "v2.npy"
    paths["vec"] = save_npy(tmp_path / "vec.npy", a.ravel())
    out = tmp_path / "v.json"
    run(*paths.values(), "--formats", "mxfp8_e4m3,int4_g32_f32", "--json", out, "--quiet")
    rows = {(r["tensor"], r["format"]): r for r in json_rows(out)}
    for fmt in ("mxfp8_e4m3", "int4_g32_f32"):
        for name in ("f64", "be", "v2"):
            assert rows[(name, fmt)]["sqnr_db"] == rows[("f32", fmt)]["sqnr_db"]
        assert rows[("vec", fmt)]["rows"] == 1 and rows[("vec", fmt)]["cols"] == 240
        assert rows[("f32", fmt)]["rows"] == 6 and rows[("f32", fmt)]["cols"] == 40
        check_row(rows[("f16", fmt)], f16.astype(np.float32).reshape(6, 40))
        check_row(rows[("bf16", fmt)], bf.astype(np.float32).reshape(6, 40))


def test_csv_has_the_json_keys(tmp_path):
    out, js = tmp_path / "r.csv", tmp_path / "r.json"
    run("--gen", "normal,uniform", "--shape", "16x64", "--formats", "nvfp4,e4m3_raw,int8_row",
        "--csv", out, "--json", js, "--quiet")
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0].keys()) == KEYS
    jr = json_rows(js)
    assert len(rows) == len(jr) == 6
    for c, j in zip(rows, jr):
        assert c["format"] == j["format"] and c["tensor"] == j["tensor"]
        assert float(c["sqnr_db"]) == j["sqnr_db"]


def test_generators_are_seeded(tmp_path):
    a = run("--gen", "student-t", "--shape", "8x256", "--formats", "mxfp4", "--json", "-").stdout
    b = run("--gen", "student-t", "--shape", "8x256", "--formats", "mxfp4", "--json", "-").stdout
    c = run("--gen", "student-t", "--shape", "8x256", "--seed", "2", "--formats", "mxfp4", "--json", "-").stdout
    assert a == b and a != c
    for g in ("normal", "laplace", "uniform"):
        r = json.loads(run("--gen", g, "--shape", "4x64", "--formats", "e4m3_raw", "--json", "-").stdout)
        assert r["tensor"] == "%s_4x64" % g and r["n"] == 256


def test_plot_is_valid_svg(tmp_path):
    svg, js = tmp_path / "p.svg", tmp_path / "p.json"
    run("--gen", "normal,laplace", "--shape", "32x256", "--formats", "default", "--aggregate",
        "--plot", svg, "--json", js, "--quiet")
    ns = {"s": "http://www.w3.org/2000/svg"}
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    points = root.findall(".//s:g[@class='point']", ns)
    agg = [r for r in json_rows(js) if r.get("aggregate")]
    assert len(points) == len(agg) == 22
    labels = [t.text for t in root.findall(".//s:text[@class='label']", ns)]
    assert sorted(labels) == sorted(r["format"] for r in agg)
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "bits per element" in texts and "SQNR (dB)" in texts
    assert len(root.findall(".//s:text[@class='tick']", ns)) >= 6
    # per tensor: one coloured point per (tensor, format), a legend entry per tensor
    run("--gen", "normal,laplace", "--shape", "32x256", "--formats", "mxfp4,nvfp4", "--plot", svg, "--quiet")
    root = ET.parse(svg).getroot()
    assert len(root.findall(".//s:g[@class='point']", ns)) == 4


def test_recommend_matches_the_json(tmp_path):
    js = tmp_path / "r.json"
    r = run("--gen", "normal,student-t", "--shape", "64x256", "--formats", "all", "--rule", "floor,rceil",
            "--aggregate", "--recommend", "--budgets", "4.25,4.5,5,6.5,8.25,8.5,3", "--json", js)
    rows = json_rows(js)
    agg = [x for x in rows if x.get("aggregate") and not x.get("recommend")]
    rec = [x for x in rows if x.get("recommend")]
    assert [x["budget"] for x in rec] == [4.25, 4.5, 5, 6.5, 8.25, 8.5, 3]
    summary = r.stdout.split("Recommended")[1].strip().split("\n")[1:]
    assert len(summary) == len(rec)
    for x, line in zip(rec, summary):
        fits = [a for a in agg if a["bits_per_element"] <= x["budget"] + 0.005]
        if not fits:
            assert x["format"] is None and "no format" in line
            continue
        best = max(a["sqnr_db"] for a in fits)
        assert x["sqnr_db"] == best
        assert x["bits_per_element"] <= x["budget"] + 0.005
        assert line.split()[3] == x["format"], line
    # NVFP4 (4.5 bits + one 32-bit tensor scale) counts as a 4.5-bit format
    assert rec[1]["bits_per_element"] > 4.25


@pytest.mark.parametrize("args,words", [
    (["--formats", "mxfp5"], "mxfp5"),
    (["--formats", "int4_g0"], "int4_g0"),
    (["--formats", "e4m3_raw_row"], "_raw"),
    (["--formats", "mxfp8_e3m2"], "e4m3 or e5m2"),
    (["--shape", "12"], "--shape"),
    (["--shape", "0x5"], "--shape"),
    (["--rule", "nearest"], "nearest"),
    (["--rounding", "up"], "up"),
    (["--backend", "vax"], "vax"),
    (["--block", "0"], "--block"),
    (["--budgets", "x"], "--budgets"),
    (["--seed", "-1"], "--seed"),
    (["--no-such-option"], "no-such-option"),
    (["--gen", "cauchy"], "cauchy"),
])
def test_bad_options_exit_2(args, words):
    r = run("--gen", "normal", "--shape", "4x32", *args, ok=False)
    assert r.returncode == 2, r.stderr
    assert words in r.stderr and r.stderr.startswith("lowbit-sweep: ")


def test_no_inputs_and_no_match(tmp_path):
    r = run(ok=False)
    assert r.returncode == 2 and "nothing to sweep" in r.stderr
    r = run("--gen", "normal", "--match", "zzz*", ok=False)
    assert r.returncode == 2 and "--match" in r.stderr
    r = run(tmp_path / "missing.npy", ok=False)
    assert r.returncode == 2 and "missing.npy" in r.stderr


def test_backends_agree():
    # every backend that runs here gives bit-identical quantization
    names = [L.backend_name(b) for b in range(1, L.BACKEND_CUDA) if L.backend_status(b) == L.OK]
    out = run("--gen", "normal", "--shape", "33x200", "--formats", "default", "--backend", ",".join(names),
              "--json", "-").stdout
    rows = [json.loads(x) for x in out.strip().split("\n")]
    by = {}
    for x in rows:
        by.setdefault(x["format"], set()).add((x["sqnr_db"], x["max_abs_err"], x["n_saturated"]))
    assert all(len(v) == 1 for v in by.values()), by
