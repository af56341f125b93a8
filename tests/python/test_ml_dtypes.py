"""lowbit_convert against ml_dtypes and NumPy.

Oracles:
  * ml_dtypes `astype` for float8_e4m3fn, float8_e5m2, float8_e4m3fnuz,
    float8_e5m2fnuz, float6_e2m3fn, float6_e3m2fn, float4_e2m1fn,
    float8_e8m0fnu, int4, uint4 and bfloat16; NumPy for float16 and int8;
  * for modes ml_dtypes lacks: saturation is ml_dtypes applied to the input
    clipped to +-max finite (clipping a finite value to max and rounding to
    nearest is what SATFINITE means); toward-zero is the largest-magnitude
    value of the type not above |x|, looked up in the type's value table
    (which ml_dtypes decodes for us); integer targets follow the written
    rule (NaN -> 0, round, clamp) with np.rint / np.trunc.

Documented differences from ml_dtypes, encoded narrowly below (each one is
checked to be exactly what we say it is, so a change on either side fails):
  D1  NaN input to FP6/FP4: ml_dtypes gives a zero code, lowbit gives the
      +max code (0x1F / 0x7), as NVIDIA's conversions do.
  D2  E8M0 from f32 subnormals in (2^-127, 1.5*2^-127): ml_dtypes before
      0.7 gives 2^-126 (code 1), lowbit the nearer 2^-127 (code 0); 0.7
      and later agree with lowbit.  Either ml_dtypes answer is accepted
      there, nothing else.
  D3  NaN input to E4M3/E5M2: ml_dtypes keeps the sign (and E5M2 gives
      0x7E); lowbit always writes 0x7F.  Only NaN-ness is compared with
      ml_dtypes; the 0x7F code is checked as lowbit's own rule.
  D4  NaN to f16/bf16: NumPy keeps the payload without setting the quiet
      bit, ml_dtypes' bfloat16 writes a canonical NaN; lowbit keeps sign and
      top payload bits with the quiet bit set.  Sign and NaN-ness are
      compared with the oracle, the bits with lowbit's rule.
  D5  f16 sNaN -> f32: NumPy keeps it signalling; lowbit sets the quiet bit.
  D6  int4/uint4: ml_dtypes truncates and wraps out-of-range values, so it
      is compared with lowbit's toward-zero only where trunc(x) is in range.
"""

import numpy as np
import ml_dtypes as md
import pytest

import lowbit_ctypes as lb
from conftest import EXHAUSTIVE, check_equal, record

ML = {
    lb.E4M3: md.float8_e4m3fn,
    lb.E5M2: md.float8_e5m2,
    lb.E4M3FNUZ: md.float8_e4m3fnuz,
    lb.E5M2FNUZ: md.float8_e5m2fnuz,
    lb.E3M2: md.float6_e3m2fn,
    lb.E2M3: md.float6_e2m3fn,
    lb.E2M1: md.float4_e2m1fn,
    lb.E8M0: md.float8_e8m0fnu,
}
NARROW = list(ML)
WIDE = [lb.F16, lb.BF16]
FLOAT_TARGETS = NARROW + WIDE
INTS = [lb.INT8, lb.INT4, lb.UINT4]
INT_RANGE = {lb.INT8: (-128, 127), lb.INT4: (-8, 7), lb.UINT4: (0, 15)}
ML_INT = {lb.INT4: md.int4, lb.UINT4: md.uint4}
NAME = lb.DTYPE_NAMES
SIGN_BIT = {t: 1 << (lb.DTYPE_BITS[t] - 1) for t in NARROW}
# D1: lowbit's code for NaN in formats without NaN
NO_NAN_CODE = {lb.E3M2: 0x1F, lb.E2M3: 0x1F, lb.E2M1: 0x7}
# D3: lowbit's NaN code where ml_dtypes' sign/payload differ
NAN_CODE = {lb.E4M3: 0x7F, lb.E5M2: 0x7F}

RNE, RTZ = lb.ROUND_NEAREST_EVEN, lb.ROUND_TOWARD_ZERO

# NaN inputs are part of the data; NumPy's casts of them warn.
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")


def f32_from_bits(b):
    return np.asarray(b, dtype=np.uint32).view(np.float32)


def bits_of(x):
    return np.asarray(x, dtype=np.float32).view(np.uint32)


def max_finite(t):
    if t == lb.F16:
        return 65504.0
    if t == lb.BF16:
        return float(md.finfo(md.bfloat16).max)
    return float(md.finfo(ML[t]).max)


def ml_decode(t, codes):
    """Codes (one per byte) -> float32 through ml_dtypes / NumPy."""
    codes = np.asarray(codes)
    if t == lb.F16:
        return codes.astype(np.uint16).view(np.float16).astype(np.float32)
    if t == lb.BF16:
        return codes.astype(np.uint16).view(md.bfloat16).astype(np.float32)
    if t == lb.INT8:
        return codes.astype(np.uint8).view(np.int8).astype(np.float32)
    if t in ML_INT:
        return codes.astype(np.uint8).view(ML_INT[t]).astype(np.float32)
    return codes.astype(np.uint8).view(ML[t]).astype(np.float32)


# ---------------------------------------------------------------------------
# Expected results
# ---------------------------------------------------------------------------

def oracle_cast(t, x):
    """ml_dtypes / NumPy nearest-even cast of f32 array x to t's bits."""
    with np.errstate(all="ignore"):
        if t == lb.F16:
            return x.astype(np.float16).view(np.uint16)
        if t == lb.BF16:
            return x.astype(md.bfloat16).view(np.uint16)
        return x.astype(ML[t]).view(np.uint8)


def expected_nearest(t, x, saturate):
    """Expected lowbit bits for f32 array x -> float type t, nearest-even."""
    x = np.asarray(x, dtype=np.float32)
    xs = np.clip(x, -max_finite(t), max_finite(t)) if saturate else x
    exp = oracle_cast(t, xs).copy()
    isnan = np.isnan(x)
    if not isnan.any() and t != lb.E8M0:
        return exp
    xb = bits_of(x)
    if t in NO_NAN_CODE:
        # D1: ml_dtypes writes a zero code for NaN; lowbit writes +max.
        assert np.all(exp[isnan] & ~np.uint8(SIGN_BIT[t]) == 0), "ml_dtypes NaN->%s changed" % NAME[t]
        record("documented D1: NaN -> %s (+max, ml_dtypes 0)" % NAME[t], isnan.sum(), 0)
        exp[isnan] = NO_NAN_CODE[t]
    elif t in NAN_CODE:
        # D3: compare NaN-ness with ml_dtypes, then lowbit's fixed code.
        assert np.all(np.isnan(ml_decode(t, exp[isnan])))
        exp[isnan] = NAN_CODE[t]
    elif t == lb.F16:
        # D4: sign, quiet bit, top 9 payload bits.
        assert np.all(np.isnan(ml_decode(t, exp[isnan])))
        assert np.all((exp[isnan] >> 15) == (xb[isnan] >> 31))
        exp[isnan] = ((xb[isnan] >> 16) & 0x8000) | 0x7E00 | ((xb[isnan] >> 13) & 0x3FF)
    elif t == lb.BF16:
        assert np.all(np.isnan(ml_decode(t, exp[isnan])))
        assert np.all((exp[isnan] >> 15) == (xb[isnan] >> 31))
        exp[isnan] = ((xb[isnan] >> 16) & 0x8000) | 0x7FC0 | ((xb[isnan] >> 16) & 0x7F)
    if t == lb.E8M0:
        # D2: f32 subnormals strictly between 2^-127 and 1.5 * 2^-127.
        d2 = (xb > 0x00400000) & (xb < 0x00600000)
        if d2.any():
            assert np.all((exp[d2] == 0x00) | (exp[d2] == 0x01)), "ml_dtypes E8M0 subnormal rounding changed"
            old = exp[d2] == 0x01
            if old.any():
                record("documented D2: e8m0 of f32 in (2^-127,1.5*2^-127)", int(old.sum()), 0)
            exp[d2] = 0x00
    return exp


_TABLES = {}


def value_table(t):
    """(sorted non-negative finite values as float64, their codes, codes of the negatives)."""
    if t in _TABLES:
        return _TABLES[t]
    n = 1 << lb.DTYPE_BITS[t]
    codes = np.arange(n, dtype=np.uint32)
    vals = ml_decode(t, codes).astype(np.float64)
    keep = np.isfinite(vals) & ~np.signbit(vals)
    order = np.argsort(vals[keep], kind="stable")
    v = vals[keep][order]
    c = codes[keep][order]
    assert np.all(np.diff(v) > 0)
    if t == lb.E8M0:
        neg = np.full(v.shape, 0xFF, dtype=np.uint32)   # no negatives: NaN code
    else:
        neg = oracle_cast(t, (-v).astype(np.float32)).astype(np.uint32)
        assert np.all(ml_decode(t, neg).astype(np.float64) == -v)
    _TABLES[t] = (v, c, neg)
    return _TABLES[t]


def expected_toward_zero(t, x, saturate):
    """Largest magnitude value <= |x| (brute force over the value table);
    finite overflow -> +-max; NaN and Inf as in the nearest-even case."""
    x = np.asarray(x, dtype=np.float32)
    v, c, neg = value_table(t)
    a = np.abs(x.astype(np.float64))
    fin = np.isfinite(x)
    idx = np.searchsorted(v, np.where(fin, a, 0.0), side="right") - 1
    below = idx < 0                      # only E8M0: below 2^-127 clips to 2^-127
    idx = np.maximum(idx, 0)
    exp = np.where(np.signbit(x), neg[idx], c[idx])
    if t == lb.E8M0:
        exp = np.where(below, 0x00, exp)
        exp = np.where(np.signbit(x) | (x == 0), 0xFF, exp)
    special = ~fin
    if special.any():
        exp[special] = expected_nearest(t, x[special], saturate)
    return exp.astype(np.uint16 if t in WIDE else np.uint8)


def expected_int(t, x, rounding):
    lo, hi = INT_RANGE[t]
    x = np.asarray(x, dtype=np.float64)
    r = np.rint(x) if rounding == RNE else np.trunc(x)
    with np.errstate(invalid="ignore"):
        q = np.where(np.isnan(x), 0, np.clip(r, lo, hi)).astype(np.int64)
    return (q & (0xFF if t == lb.INT8 else 0xF)).astype(np.uint8)


def ml_int_truncate(t, x):
    """ml_dtypes (or NumPy for int8) truncating cast, codes, and the mask of
    inputs where it is in range (D6)."""
    lo, hi = INT_RANGE[t]
    x = np.asarray(x, dtype=np.float32)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(x) & (np.trunc(x.astype(np.float64)) >= lo) & (np.trunc(x.astype(np.float64)) <= hi)
    xi = np.where(ok, x, 0).astype(np.float32)
    if t == lb.INT8:
        codes = xi.astype(np.int8).view(np.uint8)
    else:
        codes = xi.astype(ML_INT[t]).view(np.uint8) & 0xF
    return codes, ok


# ---------------------------------------------------------------------------
# Running one input set through every target and mode
# ---------------------------------------------------------------------------

def run_float_target(t, x, label, src=None, src_type=None, modes=("rne", "rne_sat", "rtz", "rtz_sat")):
    """x: the exact f32 values of the inputs; src/src_type: what lowbit is
    given (defaults to x as f32)."""
    if src is None:
        src, src_type = x, lb.F32
    for mode in modes:
        sat = mode.endswith("_sat")
        rounding = RTZ if mode.startswith("rtz") else RNE
        got = lb.convert(t, src, rounding=rounding, saturate=sat, src_type=src_type)
        if src_type == t:
            exp = np.asarray(src).view(got.dtype)        # same type: bits copied
        elif rounding == RNE:
            exp = expected_nearest(t, x, sat)
        else:
            exp = expected_toward_zero(t, x, sat)
        check_equal("%s -> %s %s [%s]" % (NAME[src_type], NAME[t], mode, label), got, exp, x)


def run_int_target(t, x, label, src=None, src_type=None):
    if src is None:
        src, src_type = x, lb.F32
    for rounding, mode in ((RNE, "rne"), (RTZ, "rtz")):
        for sat in (0, 1):   # integers always saturate
            got = lb.convert(t, src, rounding=rounding, saturate=sat, src_type=src_type)
            check_equal("%s -> %s %s%s rule [%s]" % (NAME[src_type], NAME[t], mode, "_sat" if sat else "", label),
                        got, expected_int(t, x, rounding), x)
    got = lb.convert(t, src, rounding=RTZ, src_type=src_type)
    exp, ok = ml_int_truncate(t, x)
    oracle = "ml_dtypes" if t in ML_INT else "numpy"
    check_equal("%s -> %s rtz vs %s trunc, in range [%s]" % (NAME[src_type], NAME[t], oracle, label),
                got, exp, x, cases_mask=ok)


def run_all_targets(x, label, src=None, src_type=None):
    for t in FLOAT_TARGETS:
        run_float_target(t, x, label, src, src_type)
    for t in INTS:
        run_int_target(t, x, label, src, src_type)


# ---------------------------------------------------------------------------
# Input sets
# ---------------------------------------------------------------------------

def specials_f32():
    b = [0x00000000, 0x7F800000, 0x7FC00000, 0x7F800001, 0x7FA00000, 0x7FFFFFFF, 0x7FC00001,
         0x7FBFFFFF, 0x7FE00000, 0x7F7FFFFF, 0x00000001, 0x007FFFFF, 0x00800000, 0x00400000,
         0x00400001, 0x003FFFFF, 0x00600000, 0x005FFFFF, 0x00600001, 0x00200000, 0x00000002,
         0x00000003]
    b = np.array(b, dtype=np.uint32)
    return f32_from_bits(np.concatenate([b, b | 0x80000000]))


def every_binade_f32():
    """Significands at and around the interesting fractions in every f32
    exponent field (subnormals included)."""
    mant = np.array([0, 1, 2, 0x7FFFFF, 0x7FFFFE, 0x400000, 0x3FFFFF, 0x400001, 0x200000, 0x1FFFFF,
                     0x200001, 0x600000, 0x5FFFFF, 0x600001, 0x100000, 0x0FFFFF, 0x100001, 0x500000,
                     0x700000, 0x6FFFFF, 0x700001, 0x300000, 0x080000, 0x07FFFF, 0x080001], dtype=np.uint32)
    e = np.arange(0, 255, dtype=np.uint32)
    b = ((e[:, None] << 23) | mant[None, :]).ravel()
    b = np.concatenate([b, b | 0x80000000])
    return f32_from_bits(b)


def neighbours(pts, k=3):
    """f32 points and their k nearest f32 neighbours on each side, both signs."""
    b = bits_of(np.abs(pts)).astype(np.int64)
    steps = np.arange(-k, k + 1, dtype=np.int64)
    nb = (b[:, None] + steps[None, :]).ravel()
    nb = nb[(nb >= 0) & (nb < 0x7F800000)]
    nb = np.unique(nb).astype(np.uint32)
    return f32_from_bits(np.concatenate([nb, nb | 0x80000000]))


def boundary_points(t):
    """Every representable value of float type t, every rounding boundary
    between two of them (the midpoints), the overflow boundary, and the
    first value above max, as f32."""
    v, _, _ = value_table(t)
    top = 2.0 * v[-1] if t == lb.E8M0 else v[-1] + (v[-1] - v[-2])
    ext = np.concatenate([[0.0] if v[0] != 0 else [], v, [top]])
    mids = (ext[:-1] + ext[1:]) / 2
    pts = np.concatenate([v, mids, [top]])
    pts = pts[pts <= np.finfo(np.float32).max]
    p32 = pts.astype(np.float32)
    assert np.all(p32.astype(np.float64) == pts), "a boundary is not an f32"
    return p32


def int_boundary_points(t):
    lo, hi = INT_RANGE[t]
    k = np.arange(lo - 4, hi + 5, dtype=np.float64)
    return np.concatenate([k, k + 0.5, k - 0.5]).astype(np.float32)


def random_bits(rng, n):
    return f32_from_bits(rng.integers(0, 1 << 32, size=n, dtype=np.uint32))


def random_in_range(rng, t, n):
    """Random f32 whose exponents lie in or just around type t's range."""
    if t in INTS:
        lo_e, hi_e = -8, 5
    else:
        v, _, _ = value_table(t)
        pos = v[v > 0]
        lo_e = int(np.floor(np.log2(pos[0]))) - 3
        hi_e = int(np.floor(np.log2(pos[-1]))) + 2
    lo_e, hi_e = max(lo_e, -149), min(hi_e, 127)
    e = rng.integers(lo_e, hi_e + 1, size=n)
    m = rng.integers(0, 1 << 23, size=n).astype(np.float64)
    x = np.ldexp(1.0 + m / (1 << 23), e)
    x = np.where(rng.random(n) < 0.5, -x, x)
    return x.astype(np.float32)


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

def test_dtype_table():
    """The enum values in lowbit_ctypes match the library's own names."""
    for t in range(lb.DTYPE_COUNT):
        assert lb.dtype_name(t) == NAME[t]
        assert lb.dtype_from_name(NAME[t]) == t
        assert lb.dtype_bits(t) == lb.DTYPE_BITS[t]
    for t in NARROW:
        assert lb.dtype_max(t) == float(md.finfo(ML[t]).max), NAME[t]
    assert lb.dtype_max(lb.F16) == float(np.finfo(np.float16).max)
    assert lb.dtype_max(lb.BF16) == float(md.finfo(md.bfloat16).max)
    assert lb.dtype_max(lb.F32) == float(np.finfo(np.float32).max)
    assert lb.dtype_max(lb.INT4) == 7.0 and lb.dtype_max(lb.UINT4) == 15.0 and lb.dtype_max(lb.INT8) == 127.0
    record("dtype table entries", lb.DTYPE_COUNT, 0)


def test_packing_roundtrip():
    """Packed layouts as the header describes them, checked through the
    library: converting codes to their own type copies the bits, and the
    packed bytes equal our packing."""
    rng = np.random.default_rng(7)
    for t, bits in ((lb.E2M1, 4), (lb.INT4, 4), (lb.UINT4, 4), (lb.E3M2, 6), (lb.E2M3, 6)):
        for n in (1, 2, 3, 4, 5, 7, 8, 33):
            codes = rng.integers(0, 1 << bits, size=n).astype(np.uint8)
            raw = lb.convert(t, codes, src_type=t, raw=True)
            assert raw.size == lb.dtype_bytes(t, n)
            assert np.array_equal(raw, lb.pack_codes(t, codes)), (NAME[t], n)
            assert np.array_equal(lb.unpack_codes(t, raw, n), codes)
            # 6-bit: element i at bits [6i, 6i+6) of the little-endian bit string
            if bits == 6:
                big = int.from_bytes(raw.tobytes(), "little")
                assert [(big >> (6 * i)) & 63 for i in range(n)] == list(codes)
            else:
                assert [(raw[i // 2] >> (4 * (i & 1))) & 15 for i in range(n)] == list(codes)
            # unused high bits of the last byte are zero
            used = n * bits
            if used % 8:
                assert raw[-1] >> (used % 8) == 0
            record("packing %s" % NAME[t], n, 0)


@pytest.mark.parametrize("t", NARROW + INTS, ids=lambda t: NAME[t])
def test_decode_every_code(t):
    n = 1 << lb.DTYPE_BITS[t]
    codes = np.arange(n, dtype=np.uint32).astype(np.uint8)
    ref = ml_decode(t, codes)
    nan = np.isnan(ref)
    got = lb.convert(lb.F32, codes, src_type=t)
    check_equal("%s -> f32 all codes (non-NaN)" % NAME[t], bits_of(got), bits_of(ref), codes, cases_mask=~nan)
    check_equal("%s -> f32 all codes (NaN-ness)" % NAME[t], np.isnan(got), nan, codes)
    # to f16 / bf16: the exact value rounded once (NumPy / ml_dtypes from f32)
    for wt in WIDE:
        got = lb.convert(wt, codes, src_type=t)
        exp = oracle_cast(wt, ref)
        check_equal("%s -> %s all codes (non-NaN)" % (NAME[t], NAME[wt]), got, exp, codes, cases_mask=~nan)
        check_equal("%s -> %s all codes (NaN-ness)" % (NAME[t], NAME[wt]),
                    np.isnan(ml_decode(wt, got)), nan, codes)


@pytest.mark.parametrize("src", NARROW + INTS, ids=lambda t: NAME[t])
def test_narrow_to_narrow_every_code(src):
    """Every code of every narrow type into every other: decode exactly,
    round once."""
    n = 1 << lb.DTYPE_BITS[src]
    codes = np.arange(n, dtype=np.uint32).astype(np.uint8)
    x = ml_decode(src, codes)
    for t in NARROW:
        for sat in (0, 1):
            got = lb.convert(t, codes, saturate=sat, src_type=src)
            exp = codes if t == src else expected_nearest(t, x, sat)
            check_equal("%s -> %s all codes%s" % (NAME[src], NAME[t], " sat" if sat else ""), got, exp, codes)
    for t in INTS:
        got = lb.convert(t, codes, src_type=src)
        exp = codes if t == src else expected_int(t, x, RNE)
        check_equal("%s -> %s all codes" % (NAME[src], NAME[t]), got, exp, codes)


def test_decode_all_f16_bf16():
    h = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    # f16 -> f32: NumPy, except D5 (lowbit quiets signalling NaNs)
    ref = bits_of(h.view(np.float16).astype(np.float32)).copy()
    nan = np.isnan(h.view(np.float16))
    ref[nan] |= 0x00400000
    check_equal("f16 -> f32 all 65536", bits_of(lb.convert(lb.F32, h, src_type=lb.F16)), ref, h)
    # bf16 -> f32: ml_dtypes, a plain shift (NaNs included)
    ref = bits_of(h.view(md.bfloat16).astype(np.float32))
    check_equal("bf16 -> f32 all 65536", bits_of(lb.convert(lb.F32, h, src_type=lb.BF16)), ref, h)
    assert np.array_equal(ref, h.astype(np.uint32) << 16)


@pytest.mark.parametrize("src_type", [lb.F16, lb.BF16], ids=["f16", "bf16"])
def test_all_16bit_inputs(src_type):
    """All 65,536 f16 (or bf16) bit patterns into every type and mode."""
    h = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    x = (h.view(np.float16) if src_type == lb.F16 else h.view(md.bfloat16)).astype(np.float32)
    run_all_targets(x, "all " + NAME[src_type], src=h, src_type=src_type)
    # ml_dtypes' own cast from the 16-bit type (not through our f32) agrees too
    src = h.view(np.float16) if src_type == lb.F16 else h.view(md.bfloat16)
    for t in NARROW:
        with np.errstate(all="ignore"):
            direct = src.astype(ML[t]).view(np.uint8)
        via = oracle_cast(t, x)
        check_equal("ml_dtypes %s->%s direct == via f32" % (NAME[src_type], NAME[t]), direct, via, x)


@pytest.mark.parametrize("t", FLOAT_TARGETS, ids=lambda t: NAME[t])
def test_f32_boundaries(t):
    """f32 inputs on and +-3 ulps around every value and every rounding
    boundary of t (every binade), plus f32 specials and the interesting
    significands of every f32 binade."""
    x = np.concatenate([neighbours(boundary_points(t)), specials_f32(), every_binade_f32()])
    run_float_target(t, x, "f32 boundaries")


@pytest.mark.parametrize("t", INTS, ids=lambda t: NAME[t])
def test_f32_int_boundaries(t):
    x = np.concatenate([neighbours(int_boundary_points(t)), specials_f32(), every_binade_f32()])
    run_int_target(t, x, "f32 boundaries")


RANDOM_BITS_PER_TYPE = 800_000
RANDOM_IN_RANGE_PER_TYPE = 300_000


@pytest.mark.parametrize("t", FLOAT_TARGETS + INTS, ids=lambda t: NAME[t])
def test_f32_random(t):
    """Random f32 bit patterns (all exponents, NaNs included) and random
    values with exponents around t's range."""
    rng = np.random.default_rng(1000 + t)
    x = np.concatenate([random_bits(rng, RANDOM_BITS_PER_TYPE), random_in_range(rng, t, RANDOM_IN_RANGE_PER_TYPE)])
    if t in INTS:
        run_int_target(t, x, "f32 random")
    else:
        run_float_target(t, x, "f32 random")
    record("random f32 inputs (all types)", x.size, 0)


def test_null_opts_is_nearest_even_not_saturating():
    rng = np.random.default_rng(5)
    x = np.concatenate([random_bits(rng, 100_000), specials_f32()])
    for t in FLOAT_TARGETS + INTS:
        a = lb.convert(t, x, opts_null=True)
        b = lb.convert(t, x, rounding=RNE, saturate=0)
        check_equal("NULL opts == rne no-sat -> %s" % NAME[t], a, b, x)


def test_stochastic_reproducible_and_chunkable():
    """Same seed, same bits; one call equals chunked calls with offsets;
    a different seed changes some results."""
    rng = np.random.default_rng(11)
    x = np.concatenate([rng.standard_normal(5000).astype(np.float32) * 3, random_bits(rng, 3000)])
    for t in FLOAT_TARGETS + INTS:
        kw = dict(rounding=lb.ROUND_STOCHASTIC, seed=0x0123456789ABCDEF)
        a = lb.convert(t, x, **kw)
        b = lb.convert(t, x, **kw)
        check_equal("stochastic same seed -> %s" % NAME[t], a, b, x)
        # chunk boundaries at odd places (not multiples of 4 or of a byte)
        cuts = [0, 1, 7, 333, 1000, 4097, x.size]
        parts = []
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            parts.append(lb.convert(t, x[lo:hi], offset=lo, **kw))
        check_equal("stochastic chunked with offset -> %s" % NAME[t], np.concatenate(parts), a, x)
        c = lb.convert(t, x, rounding=lb.ROUND_STOCHASTIC, seed=0x0123456789ABCDEE)
        assert np.count_nonzero(a != c) > 0, "seed has no effect on %s" % NAME[t]
        # every stochastic result is one of the two neighbours of x
        if t in INTS:
            lo_ = lb.convert(t, x, rounding=RTZ, saturate=1)
            up = expected_int(t, np.where(x < 0, np.floor(x.astype(np.float64)), np.ceil(x.astype(np.float64))), RTZ)
            ok = (a == lo_) | (a == up)
            record("stochastic within neighbours -> %s" % NAME[t], x.size, np.count_nonzero(~ok))
            assert ok.all()


# ---------------------------------------------------------------------------
# Exhaustive (LOWBIT_PY_EXHAUSTIVE=1; meson -Dexhaustive=true)
# ---------------------------------------------------------------------------

@pytest.mark.skipif(not EXHAUSTIVE, reason="set LOWBIT_PY_EXHAUSTIVE=1 (meson -Dexhaustive=true)")
@pytest.mark.parametrize("t", FLOAT_TARGETS + INTS, ids=lambda t: NAME[t])
def test_exhaustive_all_f32(t):
    """Every one of the 2^32 f32 bit patterns, nearest-even with and without
    saturation (and toward-zero for integers)."""
    chunk = 1 << 23
    for start in range(0, 1 << 32, chunk):
        x = f32_from_bits(np.arange(start, start + chunk, dtype=np.uint64).astype(np.uint32))
        if t in INTS:
            for rounding in (RNE, RTZ):
                got = lb.convert(t, x, rounding=rounding)
                check_equal("exhaustive f32 -> %s %s" % (NAME[t], "rne" if rounding == RNE else "rtz"),
                            got, expected_int(t, x, rounding), x)
        else:
            for sat in (0, 1):
                got = lb.convert(t, x, saturate=sat)
                check_equal("exhaustive f32 -> %s rne%s" % (NAME[t], "_sat" if sat else ""),
                            got, expected_nearest(t, x, sat), x)
