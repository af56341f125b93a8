"""lowbit.gemm / pack_weights against the oracle bindings' lowbit_gemm bits,
and small products worked out by hand."""

import numpy as np
import pytest

import lowbit
from conftest import assert_same_bits

ml = pytest.importorskip("ml_dtypes")

# (A format or plain dtype, B format)
PAIRS = [
    ("fp8_e4m3_tensor", "fp8_e4m3_tensor"), ("fp8_e4m3_row", "fp8_e5m2_row"),
    ("fp8_e4m3_1x128", "fp8_e4m3_128x128"), ("fp8_e5m2_128x128", "fp8_e4m3_row"),
    ("fp8_e4m3fnuz_row", "fp8_e5m2fnuz_1x128"),
    ("mxfp8_e4m3", "mxfp8_e4m3"), ("mxfp4", "mxfp4"), ("mxfp8_e5m2/rceil", "mxfp4"),
    ("mxfp6_e2m3", "mxfp6_e3m2/even"), ("mxint8", "mxint8"), ("mxint8", "mxfp4/ceil"),
    ("nvfp4", "nvfp4"),
    ("int8_row", "int8_row"), ("int8_row", "int4_g128_f16"), ("int8_row", "int4_g128_f16_zp"),
    ("int8_g32_f32_zp", "uint4_g64_bf16_zp"), ("int4_g32_f32", "int4_g32_bf16"),
    ("f32", "int4_g128_f16"), ("f16", "uint4_g128_f16_zp"), ("bf16", "int8_row_f32"), ("f32", "int8_g32_bf16"),
]
PLAIN = {"f32": np.float32, "f16": np.float16, "bf16": ml.bfloat16}


def operands(oracle, rng, fa, fb, m=5, n=9, k=256):
    a = (rng.standard_normal((m, k)) * 2).astype(np.float32)
    b = rng.standard_normal((n, k)).astype(np.float32)
    fmt_b = lowbit.Format.parse(fb)
    qb = lowbit.quantize(b, fmt_b)
    rb = oracle.quantize(oracle.Format(*_fields(fmt_b)), b)
    if fa in PLAIN:
        xa = a.astype(PLAIN[fa])
        return xa, oracle.PlainTensor(xa), qb, rb
    fmt_a = lowbit.Format.parse(fa)
    return lowbit.quantize(a, fmt_a), oracle.quantize(oracle.Format(*_fields(fmt_a)), a), qb, rb


def _fields(f):
    c = f.to_c()
    return c.elem, c.scale_type, c.block_rows, c.block_cols, c.rule, c.flags


@pytest.mark.parametrize("fa,fb", PAIRS, ids=["%s x %s" % p for p in PAIRS])
def test_gemm_vs_oracle(oracle, rng, fa, fb):
    qa, ra, qb, rb = operands(oracle, rng, fa, fb)
    m, n = ra.rows, rb.rows
    c = rng.standard_normal((m, n)).astype(np.float32)
    for out, ct in (("f32", oracle.F32), ("f16", oracle.F16), ("bf16", oracle.BF16)):
        got = lowbit.gemm(qa, qb, out_dtype=out)
        assert got.shape == (m, n) and got.dtype == lowbit.storage_dtype(out)
        assert_same_bits(got, oracle.gemm(ra, rb, ct), "%s x %s -> %s" % (fa, fb, out))
    cin = c.astype(ml.bfloat16)
    got = lowbit.gemm(qa, qb, alpha=1.5, beta=-0.5, c=cin, out_dtype="bf16")
    assert_same_bits(got, oracle.gemm(ra, rb, oracle.BF16, 1.5, -0.5, cin.view(np.uint16)), "alpha/beta bf16")
    got = lowbit.gemm(qa, qb, alpha=0.25, beta=2.0, c=c)
    assert_same_bits(got, oracle.gemm(ra, rb, oracle.F32, 0.25, 2.0, c), "alpha/beta f32")


@pytest.mark.parametrize("fa,fb", PAIRS, ids=["%s x %s" % p for p in PAIRS])
def test_packed_gemm_vs_oracle(oracle, rng, fa, fb):
    qa, ra, qb, rb = operands(oracle, rng, fa, fb, m=3, n=17)
    a_fmt = lowbit.Format.parse(fa) if fa not in PLAIN else lowbit.Format.plain(fa)
    p = lowbit.pack_weights(qb, fa if fa in PLAIN else qa)
    assert p.a_format == a_fmt and p.shape == qb.shape
    theirs = oracle.gemm_pack(oracle.Format(*_fields(a_fmt)), rb)
    assert_same_bits(p.data, theirs, "packed bytes %s x %s" % (fa, fb))
    want = oracle.gemm(ra, rb, oracle.F32)
    assert_same_bits(lowbit.gemm(qa, p), want, "packed %s x %s" % (fa, fb))
    # a copy of the bytes (as if saved and loaded) works the same
    q = lowbit.PackedWeights(p.data.tobytes(), p.a_format, p.shape)
    assert_same_bits(lowbit.gemm(qa, q, out_dtype="f16"), oracle.gemm_packed(ra, theirs, rb.rows, oracle.F16),
                     "reloaded packed")


def test_gemm_mxfp8_hand_computed():
    """Codes and scales given directly: E4M3 small integers and halves in
    two blocks of 32 along K with E8M0 scales 2^-1 .. 2^1, so every product
    and sum is exact and C is the plain sum."""
    k = 64
    a_vals = np.tile(np.array([1, 2, 3, 4, -1, -2, 0.5, 8], np.float32), k // 8).reshape(1, k)
    b_vals = np.stack([np.ones(k, np.float32), np.full(k, 2.0, np.float32)])
    a = lowbit.QTensor.from_arrays("mxfp8_e4m3", a_vals.astype(ml.float8_e4m3fn),
                                   np.array([[127, 128]], np.uint8))          # 2^0, 2^1
    b = lowbit.QTensor.from_arrays("mxfp8_e4m3", b_vals.astype(ml.float8_e4m3fn),
                                   np.array([[126, 126], [128, 127]], np.uint8))
    sa = np.repeat([1.0, 2.0], 32)
    sb = np.stack([np.repeat([0.5, 0.5], 32), np.repeat([2.0, 1.0], 32)])
    want = ((a_vals[0] * sa) * (b_vals * sb)).sum(axis=1).reshape(1, 2)
    assert np.array_equal(lowbit.gemm(a, b), want.astype(np.float32))
    assert np.array_equal(lowbit.dequantize(a), (a_vals * sa).astype(np.float32))


def test_gemm_w4a16_hand_computed():
    """f32 activations x INT4 weights in groups of 32 with f32 scale 0.5:
    integers all the way, so the exact product is known."""
    k = 64
    a = np.arange(2 * k, dtype=np.float32).reshape(2, k) % 5 - 2
    w = (np.arange(3 * k).reshape(3, k) % 15 - 7).astype(np.int8)
    wq = lowbit.QTensor.from_arrays("int4_g32_f32", w.astype(ml.int4), np.full((3, 2), 0.5, np.float32))
    want = a.astype(np.float64) @ (w.astype(np.float64) * 0.5).T
    assert np.array_equal(lowbit.gemm(a, wq), want.astype(np.float32))
    assert np.array_equal(lowbit.gemm(a, lowbit.pack_weights(wq, "f32")), want.astype(np.float32))


def test_gemm_empty_and_k0(rng):
    b = lowbit.quantize(rng.standard_normal((4, 64)).astype(np.float32), "int4_g32_f16")
    assert lowbit.gemm(np.zeros((0, 64), np.float32), b).shape == (0, 4)
    # K = 0: C = beta * C, and 0 with beta 0
    b0 = lowbit.quantize(np.zeros((4, 0), np.float32), "int8_row")
    a0 = np.zeros((3, 0), np.float32)
    assert np.array_equal(lowbit.gemm(a0, b0), np.zeros((3, 4), np.float32))
    c = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert np.array_equal(lowbit.gemm(a0, b0, beta=2.0, c=c), 2 * c)


@pytest.mark.parametrize("case,status", [
    ("k_mismatch", "LOWBIT_ERR_SHAPE_MISMATCH"),
    ("k_not_block_multiple", "LOWBIT_ERR_BLOCK_SHAPE"),
    ("unsupported_pair", "LOWBIT_ERR_UNSUPPORTED"),
    ("pack_for_other_a", "LOWBIT_ERR_PACK_MISMATCH"),
    ("c_wrong_shape", "LOWBIT_ERR_SHAPE_MISMATCH"),
    ("beta_without_c", "LOWBIT_ERR_NULL_POINTER"),
    ("int_out", "LOWBIT_ERR_UNSUPPORTED"),
    ("a_3d", "LOWBIT_ERR_SHAPE_MISMATCH"),
    ("a_float64", "LOWBIT_ERR_UNSUPPORTED"),
])
def test_gemm_errors(rng, case, status):
    x = rng.standard_normal((4, 64)).astype(np.float32)
    w = lowbit.quantize(x, "int4_g32_f16")
    with pytest.raises(lowbit.LowbitError) as e:
        if case == "k_mismatch":
            lowbit.gemm(lowbit.quantize(x[:, :32], "int8_row"), w)
        elif case == "k_not_block_multiple":
            y = rng.standard_normal((2, 48)).astype(np.float32)
            lowbit.gemm(lowbit.quantize(y, "mxfp4"), lowbit.quantize(y, "mxfp4"))
        elif case == "unsupported_pair":
            lowbit.gemm(lowbit.quantize(x, "mxfp4"), w)
        elif case == "pack_for_other_a":
            lowbit.gemm(x.astype(np.float16), lowbit.pack_weights(w, "f32"))
        elif case == "c_wrong_shape":
            lowbit.gemm(x, w, beta=1.0, c=np.zeros((3, 4), np.float32))
        elif case == "beta_without_c":
            lowbit.gemm(x, w, beta=1.0)
        elif case == "int_out":
            lowbit.gemm(x, w, out_dtype="int8")
        elif case == "a_3d":
            lowbit.gemm(x.reshape(2, 2, 64), w)
        elif case == "a_float64":
            lowbit.gemm(x.astype(np.float64), w)
    assert e.value.status_name == status, e.value
    assert e.value.detail
