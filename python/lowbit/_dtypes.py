"""Element types: lowbit enum values, names, and how NumPy holds them.

Each lowbit type has a storage form in the package: one array entry per
element.  Types NumPy has natively (float32, float16, int8) use them; the
rest use the matching ml_dtypes type when ml_dtypes is importable, else a
plain unsigned integer array holding the bit pattern ("codes": uint16 for
bf16, uint8 with the code in the low bits for the 8/6/4-bit types).
"""

import numpy as np

from ._lib import LIB, fail

try:  # optional: typed results for the narrow formats
    import ml_dtypes as _ML
except ImportError:  # pragma: no cover - exercised by monkeypatching in the tests
    _ML = None

# (lowbit name, enum value, bits, ml_dtypes name or None for NumPy-native)
_TABLE = [
    ("f32", 0, 32, None),
    ("f16", 1, 16, None),
    ("bf16", 2, 16, "bfloat16"),
    ("e4m3", 3, 8, "float8_e4m3fn"),
    ("e5m2", 4, 8, "float8_e5m2"),
    ("e4m3fnuz", 5, 8, "float8_e4m3fnuz"),
    ("e5m2fnuz", 6, 8, "float8_e5m2fnuz"),
    ("e3m2", 7, 6, "float6_e3m2fn"),
    ("e2m3", 8, 6, "float6_e2m3fn"),
    ("e2m1", 9, 4, "float4_e2m1fn"),
    ("e8m0", 10, 8, "float8_e8m0fnu"),
    ("int8", 11, 8, None),
    ("int4", 12, 4, "int4"),
    ("uint4", 13, 4, "uint4"),
]

NAMES = tuple(t[0] for t in _TABLE)
ENUM = {t[0]: t[1] for t in _TABLE}
BITS = {t[0]: t[2] for t in _TABLE}
ML_NAME = {t[0]: t[3] for t in _TABLE if t[3]}
_NATIVE = {"f32": np.dtype(np.float32), "f16": np.dtype(np.float16), "int8": np.dtype(np.int8)}
# Bit-pattern storage when there is no typed form.
_CODE_DTYPE = {"f32": np.dtype(np.uint32), "f16": np.dtype(np.uint16), "bf16": np.dtype(np.uint16)}

# Other spellings accepted wherever a dtype is taken.
_ALIASES = {"float32": "f32", "float": "f32", "float16": "f16", "half": "f16", "bfloat16": "bf16",
            "fp8_e4m3": "e4m3", "e4m3fn": "e4m3", "fp8_e5m2": "e5m2", "fp6_e3m2": "e3m2",
            "fp6_e2m3": "e2m3", "fp4": "e2m1", "fp4_e2m1": "e2m1", "e8m0fnu": "e8m0"}
_ALIASES.update({ml: name for name, ml in ML_NAME.items()})
WIDE = ("f32", "f16", "bf16")


def _check_table():
    # The names come from the library too; a mismatch means another ABI.
    for name, value, bits, _ in _TABLE:
        got = LIB.lowbit_dtype_name(value)
        if got is None or got.decode() != name or LIB.lowbit_dtype_bits(value) != bits:
            raise ImportError("lowbit: the library's dtype %d is %r, this package expects %r" % (value, got, name))


_check_table()


def canonical(dtype, call="lowbit"):
    """A lowbit type name from a name, an alias, a NumPy / ml_dtypes dtype or type."""
    if isinstance(dtype, str):
        key = dtype.strip().lower()
        key = _ALIASES.get(key, key)
        if key in ENUM:
            return key
        fail("LOWBIT_ERR_INVALID_ENUM", "unknown dtype %r (lowbit names: %s)" % (dtype, ", ".join(NAMES)), call)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        fail("LOWBIT_ERR_INVALID_ENUM", "not a dtype: %r" % (dtype,), call)
    name = _ALIASES.get(dt.name)
    if name is None and dt.name in ("float32", "float16", "int8"):
        name = {"float32": "f32", "float16": "f16", "int8": "int8"}[dt.name]
    if name is None:
        fail("LOWBIT_ERR_UNSUPPORTED", "NumPy dtype %s has no lowbit counterpart (lowbit types: %s)"
             % (dt, ", ".join(NAMES)), call)
    return name


def source_type(arr, src_dtype, call):
    """The lowbit type an input array holds: given explicitly, or from its dtype."""
    if src_dtype is not None:
        return canonical(src_dtype, call)
    dt = arr.dtype
    if dt.name in ("float32", "float16", "int8") or dt.name in _ALIASES:
        return canonical(dt, call)
    if dt.kind == "f":
        hint = "cast it to float32 first (lowbit rounds once, from the value it is given)"
    else:
        hint = "pass src_dtype= to say which lowbit type the values or codes are"
    fail("LOWBIT_ERR_UNSUPPORTED", "cannot take a %s array as input: %s" % (dt, hint), call)


def storage_dtype(name, raw=False):
    """The NumPy dtype results of type `name` are returned in."""
    if not raw:
        if name in _NATIVE:
            return _NATIVE[name]
        if _ML is not None:
            return np.dtype(getattr(_ML, ML_NAME[name]))
    return _CODE_DTYPE.get(name, np.dtype(np.uint8))


def has_ml_dtypes():
    return _ML is not None


def dtype_max(name):
    return float(LIB.lowbit_dtype_max(ENUM[canonical(name)]))


def dtype_bits(name):
    return BITS[canonical(name)]
