"""lowbit.convert: elementwise conversion between any two lowbit types."""

import ctypes

import numpy as np

from ._dtypes import ENUM, canonical, source_type
from ._lib import LIB, ConvertOpts, check, fail
from ._pack import from_library, library_bytes, to_library

_ROUNDING = {"rne": 0, "nearest": 0, "nearest_even": 0,
             "rtz": 1, "toward_zero": 1, "trunc": 1,
             "sr": 2, "stochastic": 2}


def rounding_value(rounding, call):
    key = str(rounding).lower()
    if key not in _ROUNDING:
        fail("LOWBIT_ERR_INVALID_ENUM", "unknown rounding %r (use 'rne', 'rtz' or 'sr')" % (rounding,), call)
    return _ROUNDING[key]


def make_opts(rounding="rne", saturate=False, seed=0, offset=0, call="lowbit"):
    if not 0 <= int(seed) < 1 << 64 or not 0 <= int(offset) < 1 << 64:
        fail("LOWBIT_ERR_INVALID_ENUM", "seed and offset are unsigned 64-bit numbers", call)
    return ConvertOpts(rounding_value(rounding, call), 1 if saturate else 0, int(seed), int(offset))


def convert(x, dtype, rounding="rne", saturate=False, seed=0, offset=0, src_dtype=None, raw=False):
    """Convert every element of x to `dtype`; returns an array of x's shape.

    x          float32 / float16 / int8 / ml_dtypes array (its dtype says the
               source type), or bit patterns with src_dtype= naming their type
               (uint8 codes, uint16 for f16/bf16, uint32 for f32)
    dtype      target: lowbit name ("e4m3", "bf16", ...), ml_dtypes name, or a
               NumPy / ml_dtypes dtype
    rounding   "rne" (nearest-even), "rtz" (toward zero), "sr" (stochastic,
               keyed by seed and offset + the element's flat index)
    saturate   clamp overflow to +-max finite instead of Inf / NaN
    raw        return bit patterns (uint32 / uint16 / uint8) instead of the
               typed result

    The result is typed as lowbit.storage_dtype(dtype) describes: ml_dtypes
    types where ml_dtypes is installed, else bit patterns.
    """
    call = "lowbit.convert"
    a = np.asarray(x)
    src = source_type(a, src_dtype, call)
    dst = canonical(dtype, call)
    opts = make_opts(rounding, saturate, seed, offset, call)
    try:
        sbuf = to_library(a, src)
    except TypeError as e:
        fail("LOWBIT_ERR_UNSUPPORTED", str(e), call)
    n = a.size
    dbuf = np.zeros(max(library_bytes(dst, n), 1), dtype=np.uint8)
    if n:
        check(LIB.lowbit_convert(ENUM[dst], dbuf.ctypes.data, ENUM[src], sbuf.ctypes.data, n,
                                 ctypes.byref(opts)), "%s(%s -> %s)" % (call, src, dst))
    return from_library(dbuf, dst, n, raw).reshape(a.shape)
