"""Formats, quantize and dequantize against the C project's own ctypes
bindings (tests/python/lowbit_ctypes.py, whose results the C oracle tests
check against NumPy models), plus hand-computed cases."""

import ctypes

import numpy as np
import pytest

import lowbit
from conftest import assert_same_bits, bits

ml = pytest.importorskip("ml_dtypes")

MX_ELEMS = ["e4m3", "e5m2", "e3m2", "e2m3", "e2m1", "int8"]
FP8 = ["e4m3", "e5m2", "e4m3fnuz", "e5m2fnuz"]
RULES = ["floor", "rceil", "ceil", "even"]

# (family, args): one entry per C constructor call
SPECS = ([("mx", (e, r)) for e in MX_ELEMS for r in RULES] + [("nvfp4", ())]
         + [("fp8_tensor", (e,)) for e in FP8] + [("fp8_row", (e,)) for e in FP8]
         + [("fp8_block", (e, 1, 128)) for e in FP8] + [("fp8_block", (e, 128, 128)) for e in FP8]
         + [("int_group", (e, g, s, False)) for e in ("int8", "int4") for g in (0, 32, 128) for s in ("f32", "f16", "bf16")]
         + [("int_group", (e, g, s, True)) for e in ("int8", "int4", "uint4") for g in (0, 64, 128)
            for s in ("f32", "bf16")])


def ids(spec):
    fam, args = spec
    return "%s(%s)" % (fam, ",".join(str(a) for a in args))


def both(lb, spec):
    """(lowbit.Format, oracle lowbit_format) for one spec."""
    fam, args = spec
    en = {n: i for i, n in enumerate(lb.DTYPE_NAMES)}
    if fam == "mx":
        return lowbit.Format.mx(*args), lb.format_mx(en[args[0]], lb.SCALE_RULE_NAMES.index(args[1]))
    if fam == "nvfp4":
        return lowbit.Format.nvfp4(), lb.format_nvfp4()
    if fam == "fp8_tensor":
        return lowbit.Format.fp8_tensor(*args), lb.format_fp8_tensor(en[args[0]])
    if fam == "fp8_row":
        return lowbit.Format.fp8_row(*args), lb.format_fp8_row(en[args[0]])
    if fam == "fp8_block":
        return lowbit.Format.fp8_block(*args), lb.format_fp8_block(en[args[0]], args[1], args[2])
    e, g, s, zp = args
    return lowbit.Format.int_group(e, g, s, zp), lb.format_int_group(en[e], g, en[s], zp)


def c_fields(c):
    return (c.elem, c.scale_type, c.block_rows, c.block_cols, c.rule, c.flags)


@pytest.mark.parametrize("spec", SPECS, ids=ids)
def test_format_constructors_and_names(oracle, spec):
    mine, theirs = both(oracle, spec)
    assert c_fields(mine.to_c()) == c_fields(theirs)
    assert mine.name == oracle.format_name(theirs)            # the C lowbit_format_name
    assert lowbit.Format.parse(mine.name) == mine
    assert lowbit.Format.parse(mine.name.upper()) == mine
    mine.check()


ALIASES = {
    "mxfp4": "mx_e2m1_g32/floor", "mxfp4/rceil": "mx_e2m1_g32/rceil", "mxfp8_e4m3": "mx_e4m3_g32/floor",
    "mxfp8_e5m2/even": "mx_e5m2_g32/even", "mxfp6_e3m2": "mx_e3m2_g32/floor", "mxfp6_e2m3": "mx_e2m3_g32/floor",
    "mxint8": "mx_int8_g32/floor", "mxfp4_g16": "mx_e2m1_g16/floor", "mx_e2m1": "mx_e2m1_g32/floor",
    "nvfp4": "nv_e2m1_g16", "nv_e4m3_g32": "nv_e4m3_g32", "nvfp4_given": "nv_e2m1_g16_given",
    "nv_e4m3_b2x16_given": "nv_e4m3_b2x16_given",
    "fp8_e4m3_row": "e4m3_row_f32", "fp8_e5m2_tensor": "e5m2_tensor_f32", "fp8_e4m3_1x128": "e4m3_g128_f32",
    "fp8_e4m3_128x128": "e4m3_b128x128_f32", "e4m3_b128x128": "e4m3_b128x128_f32", "e2m1_tensor": "e2m1_tensor_f32",
    "int4_g128_f16_zp": "int4_g128_f16_zp", "int8_row": "int8_row_f32", "uint4_g128_f16": "uint4_g128_f16_zp",
    "int4_g32_bf16": "int4_g32_bf16", " Int4_G32_BF16 ": "int4_g32_bf16",
    "e5m2_raw": "e5m2", "bf16": "bf16", "f32": "f32",
}


@pytest.mark.parametrize("alias", list(ALIASES))
def test_format_name_grammar(alias):
    assert lowbit.Format.parse(alias).name == ALIASES[alias]


@pytest.mark.parametrize("bad,status", [
    ("mxfp5", "LOWBIT_ERR_INVALID_ENUM"), ("mx_e9m9", "LOWBIT_ERR_INVALID_ENUM"),
    ("mxfp4/round", "LOWBIT_ERR_INVALID_ENUM"), ("int4_g128_f64", "LOWBIT_ERR_INVALID_ENUM"),
    ("int4_q128", "LOWBIT_ERR_INVALID_ENUM"), ("nvfp4/floor", "LOWBIT_ERR_INVALID_ENUM"),
    ("fp8_int4_row", "LOWBIT_ERR_INVALID_ENUM"), ("", "LOWBIT_ERR_INVALID_ENUM"),
    ("mx_e4m3fnuz", "LOWBIT_ERR_UNSUPPORTED"), ("mx_uint4", "LOWBIT_ERR_UNSUPPORTED"),
    ("e4m3_g32_f32_zp", "LOWBIT_ERR_UNSUPPORTED"), ("int4_g32_e4m3", "LOWBIT_ERR_INVALID_ENUM"),
])
def test_format_name_errors(bad, status):
    with pytest.raises(lowbit.LowbitError) as e:
        lowbit.Format.parse(bad)
    assert e.value.status_name == status
    assert e.value.detail


# ---- quantize / dequantize against the oracle bindings ---------------------

def data(rng, rows=130, cols=256, specials=False):
    """Gaussian rows with a spread of scales, a heavy-tailed row, an all-zero
    block; with specials, a NaN and an Inf in two blocks."""
    x = rng.standard_normal((rows, cols)) * np.exp2(rng.integers(-12, 12, (rows, 1)))
    x[3] = rng.standard_t(2, cols)
    x[5, :64] = 0
    if specials:
        x[7, 40] = np.nan
        x[9, 200] = -np.inf
    return x.astype(np.float32)


def compare_q(q, r, what):
    assert q.shape == (r.rows, r.cols) and q.grid == r.grid, what
    assert_same_bits(q.raw_codes(), r.codes(), what + " codes")
    if q.format.scale is not None:
        assert_same_bits(q.raw_scales(), r.scale_codes(), what + " scales")
    if q.format.zero_point:
        assert_same_bits(q.raw_zero_points(), r.zero_point_codes(), what + " zero points")
    if q.format.tensor_scale:
        assert np.float32(q.tensor_scale).view(np.uint32) == r.tensor_scale.view(np.uint32), what


@pytest.mark.parametrize("spec", SPECS, ids=ids)
def test_quantize_dequantize_vs_oracle(oracle, spec, rng):
    mine, theirs = both(oracle, spec)
    x = data(rng)
    for rounding, rc in (("rne", 0), ("rtz", 1), ("sr", 2)):
        q = lowbit.quantize(x, mine, rounding=rounding, seed=11)
        r = oracle.quantize(theirs, x, rounding=rc, seed=11)
        compare_q(q, r, "%s %s" % (mine.name, rounding))
    assert_same_bits(lowbit.dequantize(q), oracle.dequantize(r, oracle.F32), mine.name + " dequantize f32")
    for name, t in (("f16", oracle.F16), ("bf16", oracle.BF16)):
        assert_same_bits(lowbit.dequantize(q, name), oracle.dequantize(r, t), mine.name + " dequantize " + name)
    # the typed views are the raw ones reinterpreted
    assert_same_bits(q.codes, lowbit.convert(q.raw_codes(), mine.elem, src_dtype=mine.elem), "typed codes")
    assert q.scales.dtype == lowbit.storage_dtype(mine.scale)


@pytest.mark.parametrize("spec", [s for s in SPECS if s[0] != "mx" or s[1][1] == "floor"], ids=ids)
def test_quantize_other_sources_and_specials(oracle, spec, rng):
    """f16 and bf16 sources, NaN / Inf blocks, a stochastic offset."""
    mine, theirs = both(oracle, spec)
    x = data(rng, 40, 256, specials=True)
    for src in (x.astype(np.float16), x.astype(ml.bfloat16), x):
        q = lowbit.quantize(src, mine, rounding="sr", seed=3, offset=1000)
        r = oracle.quantize(theirs, src, rounding=oracle.ROUND_STOCHASTIC, seed=3, offset=1000)
        compare_q(q, r, "%s from %s" % (mine.name, src.dtype))
        assert_same_bits(lowbit.dequantize(q), oracle.dequantize(r, oracle.F32), mine.name + " specials")


def test_from_arrays_round_trip(rng):
    x = data(rng, 16, 256)
    for name in ("mxfp4", "nvfp4", "int4_g64_f16_zp", "mxfp6_e3m2", "fp8_e4m3_1x128", "uint4_g32_bf16_zp"):
        q = lowbit.quantize(x, name)
        p = lowbit.QTensor.from_arrays(name, q.codes, q.scales, q.zero_points, q.tensor_scale)
        assert_same_bits(p.raw_codes(), q.raw_codes(), name)
        assert_same_bits(p._data, q._data, name + " packed bytes")
        assert_same_bits(lowbit.dequantize(p), lowbit.dequantize(q), name)
        # bit-pattern inputs go in as well
        p2 = lowbit.QTensor.from_arrays(name, q.raw_codes(), q.raw_scales(), q.raw_zero_points(), q.tensor_scale)
        assert_same_bits(lowbit.dequantize(p2), lowbit.dequantize(q), name + " from codes")


def test_quantize_without_ml_dtypes(rng, no_ml_dtypes):
    x = data(rng, 8, 64)
    q = lowbit.quantize(x, "mxfp4")
    assert q.codes.dtype == np.uint8 and q.scales.dtype == np.uint8
    assert np.array_equal(q.codes, q.raw_codes())
    assert lowbit.dequantize(q, "bf16").dtype == np.uint16


# ---- hand-computed cases ---------------------------------------------------

def test_mxfp4_hand_computed():
    """Four blocks of 32, scales and codes worked out from the OCP rule:
    scale 2^(floor(log2 amax) - 2), elements rounded to E2M1 (nearest-even,
    saturating at 6)."""
    vals = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6], np.float32)
    codes = np.arange(8, dtype=np.uint8)             # E2M1 codes of vals
    b0 = np.tile(vals, 4)                            # amax 6: scale 2^0 (code 127)
    b1 = -8 * b0                                     # amax 48: scale 2^3, negative codes
    b2 = np.full(32, 5.0, np.float32)                # amax 5: scale 1; 5 is a tie -> 4 (even code 6)
    b2[0] = 7.0                                      # 7 saturates to 6 (code 7)
    b3 = np.full(32, 2.0 ** -140, np.float32)        # tiny: scale clamps at 2^-127, elements flush to 0
    x = np.concatenate([b0, b1, b2, b3]).reshape(1, 128)
    q = lowbit.quantize(x, "mxfp4")
    assert q.grid == (1, 4)
    assert q.raw_scales().tolist() == [[127, 130, 127, 0]]
    c = q.raw_codes()[0]
    assert c[:32].tolist() == np.tile(codes, 4).tolist()
    assert c[32:64].tolist() == np.tile(codes | 8, 4).tolist()
    assert c[64] == 7 and np.all(c[65:96] == 6)
    assert np.all(c[96:] == 0)
    y = lowbit.dequantize(q)[0]
    assert np.array_equal(y[:64], x[0, :64])
    assert y[64] == 6 and np.all(y[65:96] == 4) and np.all(y[96:] == 0)
    # the packed bytes: two codes per byte, element 2i in the low nibble
    assert q._data[:4].tolist() == [0x10, 0x32, 0x54, 0x76]


def test_int8_zero_point_hand_computed():
    """One row, per-row f32 scale with zero point: lo = -1, hi = 3,
    s = 4/255, zp = round(-128 + 1/s) = round(-64.25) = -64."""
    x = np.array([[-1.0, 0.0, 1.0, 3.0]], np.float32)
    q = lowbit.quantize(x, "int8_row_f32_zp")
    s = np.float32(4.0) / np.float32(255.0)
    assert q.raw_scales()[0, 0] == s.view(np.uint32)
    zp = int(np.rint(np.float32(-128) - np.float32(-1.0) / s))
    assert q.zero_points[0, 0] == zp == -64
    want = np.clip(np.rint(x / s) + zp, -128, 127).astype(np.int8)
    assert np.array_equal(q.codes, want)
    assert np.array_equal(lowbit.dequantize(q), ((want.astype(np.float32) - zp) * s).astype(np.float32))


def test_nvfp4_given_tensor_scale(oracle):
    """A calibrated tensor scale: kept, block scales derived under it (the
    oracle bindings' quantize on the same descriptor), the C name and flags."""
    f = lowbit.Format.nvfp4(given_tensor_scale=True)
    c = oracle.format_nvfp4()
    c.flags |= oracle.FMT_GIVEN_TENSOR_SCALE
    assert c_fields(f.to_c()) == c_fields(c) and f.name == oracle.format_name(c) == "nv_e2m1_g16_given"
    assert lowbit.Format.parse(f.name) == f
    x = np.zeros((1, 32), np.float32)
    x[0, :3] = [24, 5, -9]
    x[0, 16:19] = [30000, 448, -100]
    q = lowbit.quantize(x, f, tensor_scale=0.5)
    assert q.tensor_scale == 0.5
    assert bits(q.scales).tolist() == [[0x50, 0x7E]]   # 24/6/0.5 = 8; 10000 clamps to 448
    want = oracle.quantize(c, x, tensor_scale=0.5)
    assert np.array_equal(bits(q.codes), want.codes())
    assert lowbit.dequantize(q)[0, 16] == 6 * 224
    with pytest.raises(lowbit.LowbitError) as e:
        lowbit.quantize(x, f, tensor_scale=0.0)
    assert e.value.status_name == "LOWBIT_ERR_OUT_OF_RANGE" and "tensor_scale" in e.value.detail
    with pytest.raises(lowbit.LowbitError) as e:
        lowbit.quantize(x, f)
    assert e.value.status_name == "LOWBIT_ERR_NULL_POINTER"
    with pytest.raises(lowbit.LowbitError) as e:
        lowbit.quantize(x, "nvfp4", tensor_scale=0.5)
    assert e.value.status_name == "LOWBIT_ERR_UNSUPPORTED"


def test_nvfp4_hand_computed():
    """amax 6*448 makes the tensor scale exactly 1; a block of amax 6 gets
    E4M3 scale 1 (code 0x38), a block of amax 6*448 gets 448 (0x7E)."""
    x = np.zeros((1, 32), np.float32)
    x[0, :16] = np.tile(np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6], np.float32), 2)
    x[0, 16:] = 448 * x[0, :16]
    q = lowbit.quantize(x, "nvfp4")
    assert q.tensor_scale == 1.0
    assert bits(q.scales).tolist() == [[0x38, 0x7E]]
    assert np.array_equal(lowbit.dequantize(q), x)
