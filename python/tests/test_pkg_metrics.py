"""lowbit.metrics against a direct NumPy computation, hand-worked values,
and (when LOWBIT_SWEEP names a lowbit-sweep binary) the sweep's --json."""

import json
import os
import subprocess
import warnings

import numpy as np
import pytest

import lowbit

FORMATS = ["mxfp4", "mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxint8", "nvfp4",
           "fp8_e4m3_tensor", "fp8_e4m3_row", "fp8_e4m3_1x128", "fp8_e4m3_128x128", "fp8_e5m2_row",
           "fp8_e4m3fnuz_row", "e2m1_tensor", "e5m2_raw", "int8_row_f32", "int8_g128_f32", "int4_g32_f16",
           "int4_g128_f16_zp", "uint4_g128_f16_zp", "int4_row_f32", "int8_g32_bf16_zp"]


def tensors(rng):
    """Named test tensors: Gaussian, heavy-tailed with outliers, one with
    NaN / Inf and zeros, one that underflows in places."""
    g = rng.standard_normal((48, 256)).astype(np.float32)
    t = (rng.standard_t(3, (32, 256)) * 0.02).astype(np.float32)
    t[::7, ::31] *= 300
    s = rng.standard_normal((16, 256)).astype(np.float32)
    s[1, 3], s[4, 130], s[9, 0] = np.nan, np.inf, -np.inf
    s[2, :] = 0
    s[3, :128] = 0
    u = (rng.standard_normal((8, 256)) * np.exp2(rng.integers(-40, 5, (8, 256)))).astype(np.float32)
    return {"gauss": g, "heavy": t, "specials": s, "wide": u}


def direct(x, fmt, rounding="rne", seed=0, int8_low=-127):
    """The definitions, written out once more over lowbit's quantize and
    dequantize with plain NumPy.  int8_low: the INT8 code counted as the
    negative extreme (codes <= it), -127 by the definition."""
    q = lowbit.quantize(x, fmt, rounding=rounding, seed=seed)
    xh = lowbit.dequantize(q).astype(np.float64).ravel()
    xv = x.astype(np.float64).ravel()
    codes = lowbit.convert(q.raw_codes(), "f32", src_dtype=q.format.elem).astype(np.float64).ravel()
    keep = np.isfinite(xv) & np.isfinite(xh)
    xv, xh, codes = xv[keep], xh[keep], codes[keep]
    m = keep.sum()
    elem = q.format.elem
    top = {"int8": (-127, 127), "int4": (-8, 7), "uint4": (0, 15)}.get(elem)
    if top is None:
        at_max = np.abs(codes) == lowbit.dtype_max(elem)
    elif elem == "int8":
        at_max = (codes <= int8_low) | (codes >= 127)
    else:
        at_max = (codes == top[0]) | (codes == top[1])
    err = ((xv - xh) ** 2).sum()
    nz = xv != 0
    f = q.format
    nan = np.nan
    rows, cols = x.shape
    blocks = 0
    if f.scale is not None:
        blocks = -(-rows // (f.block_rows or rows)) * -(-cols // (f.block_cols or cols))
    bits = (lowbit.dtype_bits(elem) * x.size + blocks * (lowbit.dtype_bits(f.scale) if f.scale else 0)
            + (blocks * lowbit.dtype_bits(elem) if f.zero_point else 0) + (32 if f.tensor_scale else 0))
    out = {"n": x.size, "nonfinite": int(x.size - m), "bits_per_element": bits / x.size}
    if m == 0:
        out.update(sqnr_db=nan, mse=nan, max_abs_err=nan, max_rel_err=nan, frac_saturated=nan, frac_flushed=nan)
        return out
    sig = (xv ** 2).sum()
    out.update({
        "sqnr_db": nan if sig == 0 else 10 * np.log10(sig / err) if err else np.inf,
        "mse": err / m,
        "max_abs_err": np.abs(xv - xh).max(),
        "max_rel_err": (np.abs(xv - xh)[nz] / np.abs(xv[nz])).max() if nz.any() else 0.0,
        "frac_saturated": np.count_nonzero(at_max & (np.abs(xv) > np.abs(xh))) / m,
        "frac_flushed": np.count_nonzero(nz & (xh == 0)) / m,
    })
    return out


def close(got, want, what):
    assert list(got) == list(lowbit.METRIC_KEYS), what
    for k in lowbit.METRIC_KEYS:
        g, w = got[k], want[k]
        if np.isnan(w):
            ok = np.isnan(g)
        elif k in ("sqnr_db", "mse"):
            ok = g == w or np.isclose(g, w, rtol=1e-12, atol=0)
        else:
            ok = g == w
        assert ok, "%s: %s is %r, expected %r" % (what, k, g, w)


@pytest.mark.parametrize("fmt", FORMATS)
def test_metrics_vs_numpy(rng, fmt):
    for name, x in tensors(rng).items():
        for rounding in ("rne", "sr"):
            close(lowbit.metrics(x, fmt, rounding=rounding, seed=9), direct(x, fmt, rounding, 9),
                  "%s on %s (%s)" % (fmt, name, rounding))


def test_metrics_hand_computed():
    """One MXFP4 block: 0.5 and 6 exact, 5 -> 4 (tie to even), 7 saturates
    to 6, 2^-3 flushes to 0; 27 more zeros."""
    x = np.zeros((1, 32), np.float32)
    x[0, :5] = [0.5, 6.0, 5.0, 7.0, 0.125]
    m = lowbit.metrics(x, "mxfp4")
    err = 1.0 + 1.0 + 0.125 ** 2
    sig = 0.25 + 36 + 25 + 49 + 0.125 ** 2
    assert m["n"] == 32 and m["nonfinite"] == 0
    assert m["mse"] == err / 32
    assert np.isclose(m["sqnr_db"], 10 * np.log10(sig / err), rtol=1e-15)
    assert m["max_abs_err"] == 1.0
    assert m["max_rel_err"] == 1.0                      # the flushed 0.125
    assert m["frac_saturated"] == 1 / 32                # 7 -> 6; 6 itself is exact, not saturated
    assert m["frac_flushed"] == 1 / 32
    assert m["bits_per_element"] == 4 + 8 / 32


def test_metrics_edges():
    exact = lowbit.metrics(np.array([[1.0, 2.0, -4.0, 0.5]], np.float32), "fp8_e4m3_tensor")
    assert exact["sqnr_db"] == np.inf or exact["sqnr_db"] > 100
    zero = lowbit.metrics(np.zeros((2, 32), np.float32), "mxfp4")
    assert np.isnan(zero["sqnr_db"]) and zero["mse"] == 0 and zero["frac_flushed"] == 0
    nan = lowbit.metrics(np.full((1, 32), np.nan, np.float32), "mxfp4")
    assert nan["nonfinite"] == 32 and np.isnan(nan["mse"]) and nan["bits_per_element"] == 4.25
    # 1-D input is one row
    v = np.linspace(-3, 3, 64, dtype=np.float32)
    assert lowbit.metrics(v, "mxfp4") == lowbit.metrics(v.reshape(1, -1), "mxfp4")
    # a NaN poisons its whole block: those elements are left out, all 32
    y = np.ones((2, 32), np.float32)
    y[0, 0] = np.nan
    assert lowbit.metrics(y, "mxfp4")["nonfinite"] == 32
    # bits per element count partial blocks whole, padding not at all
    assert lowbit.metrics(np.ones((3, 40), np.float32), "mxfp4")["bits_per_element"] == 4 + 3 * 2 * 8 / 120


SWEEP = os.environ.get("LOWBIT_SWEEP", "")


@pytest.mark.skipif(not SWEEP or not os.access(SWEEP, os.X_OK),
                    reason="LOWBIT_SWEEP is not set to a lowbit-sweep binary (meson test sets it when "
                           "tools/lowbit-sweep is built)")
@pytest.mark.parametrize("rounding", ["rne", "rtz", "sr"])
def test_metrics_vs_lowbit_sweep(rng, tmp_path, rounding):
    """The same .npy file through lowbit-sweep --json and lowbit.metrics."""
    files = []
    for name, x in tensors(rng).items():
        p = tmp_path / ("%s.npy" % name)
        np.save(p, x)
        files.append(str(p))
    seed = 5
    cmd = [SWEEP, "--formats", ",".join(FORMATS), "--rounding", rounding, "--sr-seed", str(seed),
           "--json", "-", "--quiet"] + files
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr)
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    assert len(rows) == len(FORMATS) * len(files), r.stdout[:500]
    xs = tensors(np.random.default_rng(0))  # names only; data from the files below
    seen = set()
    for row in rows:
        x = np.load(tmp_path / ("%s.npy" % row["tensor"]))
        assert row["tensor"] in xs
        fmt = lowbit.Format.parse(row["format"])
        mine = lowbit.metrics(x, fmt, rounding=rounding, seed=seed)
        want = {k: (np.nan if row[k] is None else row[k]) for k in lowbit.METRIC_KEYS}
        what = "%s on %s (%s)" % (row["format"], row["tensor"], rounding)
        for k in lowbit.METRIC_KEYS:
            g, w = mine[k], want[k]
            if isinstance(w, float) and np.isnan(w):
                assert np.isnan(g), "%s: %s is %r, sweep says null" % (what, k, g)
            elif k in ("sqnr_db", "mse"):
                assert np.isclose(g, w, rtol=1e-12, atol=0), "%s: %s %r vs sweep %r" % (what, k, g, w)
            else:
                assert g == w, "%s: %s %r vs sweep %r" % (what, k, g, w)
        seen.add((row["tensor"], row["format"]))
    assert len(seen) == len(rows)

