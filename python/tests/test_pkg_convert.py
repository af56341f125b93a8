"""lowbit.convert against ml_dtypes / NumPy casts.

Differences between lowbit and ml_dtypes that are rules, not bugs (the same
ones tests/python/test_ml_dtypes.py documents), handled narrowly here:
  * NaN inputs: lowbit writes one canonical code per type (sign dropped;
    +max in FP6/FP4, which have no NaN); ml_dtypes keeps the sign, and gives
    a zero code in FP6/FP4.  NaN inputs are checked against lowbit's table
    and, where the type has a NaN, for NaN-ness of ml_dtypes' answer.
  * NaN outputs of decoding: compared for NaN-ness (lowbit returns the quiet
    NaN sign|0x7FC00000; f16 signalling NaNs come back quiet).
  * saturate=True has no ml_dtypes counterpart: it is ml_dtypes' cast of the
    input clipped to +-max finite.  Without saturation, FP6/FP4 clamp in both.
  * E8M0 of f32 subnormals in (2^-127, 1.5*2^-127): ml_dtypes before 0.7
    rounds up to 2^-126; either answer is accepted there, nothing else.
"""

import numpy as np
import pytest

ml = pytest.importorskip("ml_dtypes")

import lowbit  # noqa: E402
from conftest import assert_same_bits, bits  # noqa: E402

FLOATS = {"e4m3": ml.float8_e4m3fn, "e5m2": ml.float8_e5m2, "e4m3fnuz": ml.float8_e4m3fnuz,
          "e5m2fnuz": ml.float8_e5m2fnuz, "e3m2": ml.float6_e3m2fn, "e2m3": ml.float6_e2m3fn,
          "e2m1": ml.float4_e2m1fn, "e8m0": ml.float8_e8m0fnu}
NAN_CODE = {"e4m3": 0x7F, "e5m2": 0x7F, "e4m3fnuz": 0x80, "e5m2fnuz": 0x80, "e3m2": 0x1F, "e2m3": 0x1F,
            "e2m1": 0x7, "e8m0": 0xFF}
HAS_NAN = {"e4m3", "e5m2", "e4m3fnuz", "e5m2fnuz", "e8m0"}
INT_RANGE = {"int8": (-128, 127), "int4": (-8, 7), "uint4": (0, 15)}
TYPED = {"f32": np.float32, "f16": np.float16, "bf16": ml.bfloat16, "int8": np.int8, "int4": ml.int4,
         "uint4": ml.uint4, **FLOATS}

pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning",
                                        "ignore:overflow encountered:RuntimeWarning")


def all_codes(t):
    """Every bit pattern of type t, in its ml_dtypes / NumPy type."""
    n = 1 << lowbit.dtype_bits(t)
    raw = np.arange(n, dtype=np.uint16 if n > 256 else np.uint8)
    return raw.view(TYPED[t])


def finite_values(t):
    v = all_codes(t).astype(np.float64)
    return np.unique(v[np.isfinite(v)])


def f32_inputs(rng, t=None):
    """Edge values, random bit patterns, random normals, and (given a target
    type) its values, the midpoints between them and their neighbours."""
    f32 = np.finfo(np.float32)
    edge = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, f32.max, -f32.max, f32.tiny, -f32.tiny,
                     f32.smallest_subnormal, -f32.smallest_subnormal, 1.0, -1.0], np.float32)
    parts = [edge, rng.integers(0, 1 << 32, 60000, dtype=np.uint64).astype(np.uint32).view(np.float32),
             (rng.standard_normal(60000) * np.exp2(rng.integers(-20, 20, 60000))).astype(np.float32)]
    if t is not None:
        v = finite_values(t)
        mid = ((v[1:] + v[:-1]) / 2).astype(np.float32)   # exact: one more mantissa bit
        for m in (v.astype(np.float32), mid):
            parts += [m, -m, np.nextafter(m, np.float32(np.inf)), np.nextafter(m, np.float32(-np.inf))]
        mx = float(v[-1])
        parts.append(np.array([mx * 2, -mx * 2, mx * 1.0625, -mx * 1.0625], np.float32))
    return np.concatenate(parts).astype(np.float32)


def ml_cast(x, t):
    with np.errstate(all="ignore"):
        return x.astype(FLOATS[t]).view(np.uint8)


def expected_rne(x, t, saturate):
    """ml_dtypes' nearest-even cast, with lowbit's NaN rule."""
    mx = float(ml.finfo(FLOATS[t]).max)
    want = ml_cast(np.clip(x, -mx, mx) if saturate else x, t).copy()
    nan = np.isnan(x)
    if t in HAS_NAN:
        assert np.all(np.isnan(want[nan].view(FLOATS[t]).astype(np.float32)))
    else:
        assert np.all(want[nan] & ~np.uint8(1 << (lowbit.dtype_bits(t) - 1)) == 0), "ml_dtypes NaN rule moved"
    want[nan] = NAN_CODE[t]
    if t == "e8m0":
        xb = x.view(np.uint32)
        odd = (xb > 0x00400000) & (xb < 0x00600000)
        assert np.all((want[odd] == 0) | (want[odd] == 1))
        want[odd] = 0
    return want


@pytest.mark.parametrize("saturate", [False, True], ids=["nonsat", "sat"])
@pytest.mark.parametrize("t", list(FLOATS))
def test_f32_to_float_types_vs_ml_dtypes(t, saturate, rng):
    x = f32_inputs(rng, t)
    got = lowbit.convert(x, t, saturate=saturate)
    assert got.dtype == np.dtype(FLOATS[t]) and got.shape == x.shape
    assert_same_bits(got, expected_rne(x, t, saturate), "f32 -> %s rne sat=%s" % (t, saturate))


@pytest.mark.parametrize("t", ["f16", "bf16"])
def test_f32_to_f16_bf16_vs_numpy(t, rng):
    x = f32_inputs(rng)
    got = lowbit.convert(x, t)
    with np.errstate(all="ignore"):
        want = x.astype(TYPED[t])
    nan = np.isnan(x)
    assert np.all(np.isnan(got[nan].astype(np.float32)))
    assert np.all(np.signbit(got[nan].astype(np.float32)) == np.signbit(x[nan]))
    assert_same_bits(got[~nan], want[~nan], "f32 -> %s" % t)


def _table(t):
    """Sorted finite non-negative values of t and their codes."""
    codes = all_codes(t)
    v = codes.astype(np.float64)
    keep = np.isfinite(v) & ~np.signbit(v)
    order = np.argsort(v[keep], kind="stable")
    return v[keep][order], bits(codes)[keep][order]


@pytest.mark.parametrize("t", [t for t in FLOATS if t != "e8m0"])
def test_f32_to_float_types_toward_zero_and_stochastic(t, rng):
    """rtz: the largest magnitude value not above |x| (an overflow gives
    +-max); sr: that value or the next one up in magnitude."""
    x = f32_inputs(rng, t)
    x = x[np.isfinite(x)]
    v, _ = _table(t)
    a = np.abs(x.astype(np.float64))
    lo = v[np.clip(np.searchsorted(v, a, side="right") - 1, 0, None)]
    hi = v[np.clip(np.searchsorted(v, a, side="left"), None, v.size - 1)]
    sign = np.where(np.signbit(x), -1.0, 1.0)
    rtz = lowbit.convert(x, t, rounding="rtz").astype(np.float64)
    fnuz_zero = (lo == 0) & t.endswith("fnuz")   # fnuz has no -0
    assert np.array_equal(rtz, np.where(fnuz_zero, 0.0, sign * lo)), "f32 -> %s rtz" % t
    sr = lowbit.convert(x, t, rounding="sr", seed=7, saturate=True).astype(np.float64)
    assert np.all((np.abs(sr) == lo) | (np.abs(sr) == hi)), "f32 -> %s sr left the two neighbours" % t
    again = lowbit.convert(x, t, rounding="sr", seed=7, saturate=True)
    assert_same_bits(again, sr.astype(TYPED[t]), "sr is a function of seed and index")
    other = lowbit.convert(x, t, rounding="sr", seed=8, saturate=True).astype(np.float64)
    between = lo != hi
    assert np.any(other[between] != sr[between]), "another seed changed nothing"


@pytest.mark.parametrize("t", ["e4m3", "e5m2", "e4m3fnuz", "e5m2fnuz", "e3m2", "e2m3", "e2m1", "e8m0",
                               "int8", "int4", "uint4", "f16", "bf16"])
def test_codes_to_f32_exhaustive(t):
    """Every code of every type decodes as ml_dtypes / NumPy decode it, and
    f32 -> type gives the code back (but for NaN's canonical code)."""
    codes = all_codes(t)
    got = lowbit.convert(codes, "f32")
    want = codes.astype(np.float32)
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan), t
    assert_same_bits(got[~nan], want[~nan], "%s -> f32, all %d codes" % (t, codes.size))
    back = lowbit.convert(got, t)
    assert_same_bits(back[~nan], codes[~nan], "%s -> f32 -> %s" % (t, t))


def _expected_from_f32(x, dst):
    """The answer for one exact f32 value set into dst, from NumPy / ml_dtypes."""
    if dst == "f32":
        return x
    if dst in FLOATS:
        return expected_rne(x, dst, False).view(FLOATS[dst])
    if dst in INT_RANGE:
        lo, hi = INT_RANGE[dst]
        with np.errstate(all="ignore"):
            r = np.clip(np.rint(np.nan_to_num(x.astype(np.float64), nan=0.0)), lo, hi)
        return r.astype(TYPED[dst])
    with np.errstate(all="ignore"):
        return x.astype(TYPED[dst])


@pytest.mark.parametrize("src", list(TYPED))
def test_every_pair(src, rng):
    """src -> dst for all 14 x 14 pairs: the source's every code (f32: the
    input set), compared with NumPy / ml_dtypes applied to its exact f32
    value; NaN results are compared for NaN-ness (integers: NaN -> 0)."""
    x = f32_inputs(rng) if src == "f32" else all_codes(src)
    xf = x.astype(np.float32)  # exact for every type
    for dst in TYPED:
        got = lowbit.convert(x, dst)
        assert got.dtype == np.dtype(TYPED[dst]) and got.shape == x.shape
        want = _expected_from_f32(xf, dst)
        if src == dst:
            assert_same_bits(got, x, "%s -> %s copies bits" % (src, dst))
            continue
        gf, wf = got.astype(np.float32), np.asarray(want).astype(np.float32)
        nan = np.isnan(wf)
        assert np.array_equal(np.isnan(gf), nan), "%s -> %s NaN-ness" % (src, dst)
        assert_same_bits(got[~nan], np.asarray(want)[~nan], "%s -> %s" % (src, dst))


def test_shapes_and_views_are_kept(rng):
    x = rng.standard_normal((3, 5, 7)).astype(np.float32)
    y = lowbit.convert(x[:, ::2, 1:], "e2m1")
    assert y.shape == (3, 3, 6)
    assert_same_bits(y, ml_cast(np.ascontiguousarray(x[:, ::2, 1:]), "e2m1"), "strided view")
    assert lowbit.convert(np.zeros(0, np.float32), "e3m2").shape == (0,)
    assert lowbit.convert(np.float32(1.5), "e2m1").shape == ()


@pytest.mark.parametrize("t", list(TYPED))
def test_without_ml_dtypes_results_are_codes(t, rng, no_ml_dtypes):
    """Without ml_dtypes the same results come back as bit patterns."""
    x = f32_inputs(rng)[:4096]
    got = lowbit.convert(x, t)
    expect = {"f32": np.float32, "f16": np.float16, "int8": np.int8, "bf16": np.uint16}.get(t, np.uint8)
    assert got.dtype == np.dtype(expect)
    assert lowbit.storage_dtype(t) == np.dtype(expect)
    # same bits as the typed path (which the tests above check)
    lowbit._dtypes._ML = ml
    typed = lowbit.convert(x, t)
    lowbit._dtypes._ML = None
    want = bits(typed) & np.uint8(0xF) if lowbit.dtype_bits(t) == 4 else typed
    assert_same_bits(got, want, "%s without ml_dtypes" % t)
    if t not in ("f32", "f16", "int8"):
        back = lowbit.convert(got, "f32", src_dtype=t)    # codes go back in with src_dtype
        want = lowbit.convert(typed, "f32")
        assert_same_bits(back, want, "%s codes -> f32" % t)


def test_raw_option_and_names():
    x = np.array([1.0, -2.0, 448.0], np.float32)
    assert lowbit.convert(x, "e4m3", raw=True).dtype == np.uint8
    assert lowbit.convert(x, "f32", raw=True).tolist() == x.view(np.uint32).tolist()
    for name in ("e4m3", "float8_e4m3fn", ml.float8_e4m3fn, np.dtype(ml.float8_e4m3fn), "E4M3", "fp8_e4m3"):
        assert_same_bits(lowbit.convert(x, name), ml_cast(x, "e4m3"), repr(name))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 33])
def test_packed_layout_as_documented(n, rng):
    """The library's bytes for odd and even counts: 4-bit element 2i in the
    low nibble of byte i; 6-bit b0 = e0 | e1<<6, b1 = e1>>2 | e2<<4,
    b2 = e2>>4 | e3<<2 (docs/semantics.md, Storage); unused high bits 0."""
    from lowbit._pack import pack, unpack
    c4 = rng.integers(0, 16, n).astype(np.uint8)
    want4 = [int(c4[i]) | (int(c4[i + 1]) << 4 if i + 1 < n else 0) for i in range(0, n, 2)]
    assert pack(c4, 4).tolist() == want4 and np.array_equal(unpack(pack(c4, 4), 4, n), c4)
    c6 = rng.integers(0, 64, n).astype(np.uint8)
    e = [int(v) for v in c6] + [0, 0, 0]
    want6 = []
    for i in range(0, n, 4):
        want6 += [(e[i] | e[i + 1] << 6) & 0xFF, (e[i + 1] >> 2 | e[i + 2] << 4) & 0xFF, (e[i + 2] >> 4 | e[i + 3] << 2) & 0xFF]
    want6 = want6[:(6 * n + 7) // 8]
    assert pack(c6, 6).tolist() == want6 and np.array_equal(unpack(pack(c6, 6), 6, n), c6)
    # and the library agrees: decoding these bytes gives the same elements
    x = lowbit.convert(c6, "f32", src_dtype="e3m2")
    assert_same_bits(x, c6.view(ml.float6_e3m2fn).astype(np.float32), "e3m2 codes through the library")
