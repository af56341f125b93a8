"""lowbit.metrics: the quantization error of one tensor in one format.

The keys and definitions are the ones lowbit-sweep's JSON output uses, so a
Python result and a sweep result over the same data can be compared as is.
"""

import numpy as np

from ._convert import convert
from ._dtypes import BITS, dtype_max
from ._format import as_format
from ._lib import fail
from ._qtensor import dequantize, quantize

KEYS = ("n", "nonfinite", "sqnr_db", "mse", "max_abs_err", "max_rel_err", "frac_saturated", "frac_flushed",
        "bits_per_element")

# Codes that mean "the element type's largest finite magnitude".
_INT_SATURATED = {"int8": lambda c: np.abs(c) >= 127, "int4": lambda c: (c == 7) | (c == -8),
                  "uint4": lambda c: (c == 0) | (c == 15)}


def nominal_bits(fmt, rows, cols):
    """Storage bits of a rows x cols tensor: elements, plus per block one
    scale and (with zero points) one element-wide zero point, plus 32 for a
    tensor scale.  Padding is not counted."""
    f = as_format(fmt)
    n = rows * cols
    bits = BITS[f.elem] * n
    if f.scale is not None:
        br = f.block_rows or rows
        bc = f.block_cols or cols
        blocks = -(-rows // max(br, 1)) * -(-cols // max(bc, 1))
        bits += blocks * BITS[f.scale]
        if f.zero_point:
            bits += blocks * BITS[f.elem]
        if f.tensor_scale:
            bits += 32
    return bits


def metrics(x, fmt, rounding="rne", seed=0):
    """Quantize x (2-D; 1-D is one row) in fmt, dequantize to f32, and
    return a dict:

    n                 number of elements
    nonfinite         elements where x or its dequantization is not finite
                      (NaN / Inf inputs, and the rest of a block they poison);
                      they are left out of every key below
    sqnr_db           10 log10(sum x^2 / sum (x - x^)^2), in float64; inf when
                      the error is 0, nan when the signal is 0
    mse               sum (x - x^)^2 / (n - nonfinite)
    max_abs_err       max |x - x^|
    max_rel_err       max over x != 0 of |x - x^| / |x|
    frac_saturated    fraction whose element code is +-the element type's
                      largest finite magnitude (INT8 |code| >= 127, INT4 7 or
                      -8, UINT4 0 or 15) and |x| > |x^|
    frac_flushed      fraction with x != 0 and x^ == 0
    bits_per_element  nominal_bits(fmt, rows, cols) / n

    With no element left, every key from sqnr_db to frac_flushed is nan.
    """
    call = "lowbit.metrics"
    a = np.asarray(x)
    if a.ndim == 1:
        a = a.reshape(1, -1)
    if a.ndim != 2:
        fail("LOWBIT_ERR_SHAPE_MISMATCH", "metrics takes a 1-D or 2-D array, got shape %s" % (a.shape,), call)
    q = quantize(a, fmt, rounding=rounding, seed=seed)
    f = q.format
    xh = dequantize(q, np.float32).astype(np.float64).ravel()
    xs = convert(a, "f32").astype(np.float64).ravel()  # f16 / bf16 inputs widen exactly
    n = xs.size
    ok = np.isfinite(xs) & np.isfinite(xh)
    used = int(ok.sum())
    out = {"n": n, "nonfinite": n - used,
           "bits_per_element": nominal_bits(f, *q.shape) / n if n else float("nan")}
    if used == 0:
        out.update({k: float("nan") for k in KEYS if k not in out})
        return {k: out[k] for k in KEYS}
    xv, hv = xs[ok], xh[ok]
    d = xv - hv  # exact in float64: both are f32 values
    sig, err = float(np.sum(xv * xv)), float(np.sum(d * d))
    if sig == 0:
        sqnr = float("nan")
    elif err == 0:
        sqnr = float("inf")
    else:
        sqnr = 10.0 * np.log10(sig / err)
    ad = np.abs(d)
    nz = xv != 0
    codes = _code_values(q).ravel()[ok]
    if f.elem in _INT_SATURATED:
        at_max = _INT_SATURATED[f.elem](codes)
    else:
        at_max = np.abs(codes) == dtype_max(f.elem)
    out.update({
        "sqnr_db": float(sqnr),
        "mse": err / used,
        "max_abs_err": float(ad.max()),
        "max_rel_err": float((ad[nz] / np.abs(xv[nz])).max()) if nz.any() else 0.0,
        "frac_saturated": float(np.count_nonzero(at_max & (np.abs(xv) > np.abs(hv)))) / used,
        "frac_flushed": float(np.count_nonzero(nz & (hv == 0))) / used,
    })
    return {k: out[k] for k in KEYS}


def _code_values(q):
    """Element codes as the numbers they mean (integers for the INT types)."""
    return convert(q.raw_codes(), "f32", src_dtype=q.format.elem).astype(np.float64)
