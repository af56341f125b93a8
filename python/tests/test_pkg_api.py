"""Errors, backends, threads and library discovery."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lowbit
from conftest import PKG_ROOT, assert_same_bits


def status_of(fn, *args, **kw):
    with pytest.raises(lowbit.LowbitError) as e:
        fn(*args, **kw)
    assert e.value.detail and e.value.status_name in str(e.value)
    return e.value.status_name


X = np.linspace(-3, 3, 128, dtype=np.float32).reshape(2, 64)


@pytest.mark.parametrize("case,status", [
    (lambda: lowbit.convert(X, "e4m4"), "LOWBIT_ERR_INVALID_ENUM"),
    (lambda: lowbit.convert(X, "float8_e4m3"), "LOWBIT_ERR_INVALID_ENUM"),
    (lambda: lowbit.convert(X, np.complex64), "LOWBIT_ERR_UNSUPPORTED"),
    (lambda: lowbit.convert(X.astype(np.float64), "e4m3"), "LOWBIT_ERR_UNSUPPORTED"),
    (lambda: lowbit.convert(X.astype(np.int32), "e4m3"), "LOWBIT_ERR_UNSUPPORTED"),
    (lambda: lowbit.convert(X.view(np.uint32), "e4m3", src_dtype="f16"), "LOWBIT_ERR_UNSUPPORTED"),
    (lambda: lowbit.convert(X, "e4m3", rounding="up"), "LOWBIT_ERR_INVALID_ENUM"),
    (lambda: lowbit.convert(X, "e4m3", rounding="sr", seed=-1), "LOWBIT_ERR_INVALID_ENUM"),
    (lambda: lowbit.quantize(X.ravel(), "mxfp4"), "LOWBIT_ERR_SHAPE_MISMATCH"),
    (lambda: lowbit.quantize(X.reshape(2, 2, 32), "mxfp4"), "LOWBIT_ERR_SHAPE_MISMATCH"),
    (lambda: lowbit.quantize(X.astype(np.float64), "mxfp4"), "LOWBIT_ERR_UNSUPPORTED"),
    (lambda: lowbit.quantize(lowbit.convert(X, "e4m3"), "mxfp4"), "LOWBIT_ERR_UNSUPPORTED"),
    (lambda: lowbit.quantize(X, "mxfp9"), "LOWBIT_ERR_INVALID_ENUM"),
    (lambda: lowbit.quantize(X, 42), "LOWBIT_ERR_INVALID_ENUM"),
    (lambda: lowbit.quantize(X, "bf16"), "LOWBIT_ERR_UNSUPPORTED"),
    (lambda: lowbit.quantize(X, lowbit.Format("uint4", "f32", 1, 32)), "LOWBIT_ERR_UNSUPPORTED"),
    (lambda: lowbit.quantize(X, lowbit.Format("e2m1", "e8m0", 1, 32, rule="round")), "LOWBIT_ERR_INVALID_ENUM"),
    (lambda: lowbit.dequantize(lowbit.quantize(X, "mxfp4"), "e4m3"), "LOWBIT_ERR_UNSUPPORTED"),
    (lambda: lowbit.dequantize(X), "LOWBIT_ERR_UNSUPPORTED"),
    (lambda: lowbit.QTensor.from_arrays("mxfp4", X, np.zeros((2, 1), np.uint8)), "LOWBIT_ERR_UNSUPPORTED"),
    (lambda: lowbit.QTensor.from_arrays("mxfp4", lowbit.convert(X, "e2m1"), np.zeros((2, 1), np.uint8)),
     "LOWBIT_ERR_SHAPE_MISMATCH"),
    (lambda: lowbit.QTensor.from_arrays("nvfp4", lowbit.convert(X, "e2m1"), np.zeros((2, 4), np.uint8)),
     "LOWBIT_ERR_NULL_POINTER"),
    (lambda: lowbit.QTensor.from_arrays("int4_g32_f32_zp", lowbit.convert(X, "int4"), np.ones((2, 2), np.float32)),
     "LOWBIT_ERR_SHAPE_MISMATCH"),
    (lambda: lowbit.metrics(X.reshape(2, 2, 32), "mxfp4"), "LOWBIT_ERR_SHAPE_MISMATCH"),
    (lambda: lowbit.pack_weights(X, "f32"), "LOWBIT_ERR_UNSUPPORTED"),
    (lambda: lowbit.pack_weights(lowbit.quantize(X, "int4_g32_f16"), "mxfp4"), "LOWBIT_ERR_UNSUPPORTED"),
    (lambda: lowbit.set_backend("vax"), "LOWBIT_ERR_INVALID_ENUM"),
    (lambda: lowbit.set_backend("cuda"), "LOWBIT_ERR_UNSUPPORTED"),
    (lambda: lowbit.set_num_threads(-1), "LOWBIT_ERR_UNSUPPORTED"),
])
def test_errors(case, status):
    assert status_of(case) == status


def test_error_carries_the_library_detail():
    with pytest.raises(lowbit.LowbitError) as e:
        lowbit.Format("int4", "e8m0", 1, 32).check()
    err = e.value
    assert err.status_name == "LOWBIT_ERR_UNSUPPORTED" and err.status == 3
    assert "int4" in err.detail          # lowbit_last_error names the element
    assert isinstance(err, RuntimeError)


def test_unavailable_backend():
    missing = [b for b in ("ref", "avx2", "avx512", "amx", "neon") if not lowbit.backend_available(b)]
    if not missing:
        pytest.skip("every CPU backend runs here")
    assert status_of(lowbit.set_backend, missing[0]) in ("LOWBIT_ERR_BACKEND_NOT_BUILT",
                                                          "LOWBIT_ERR_BACKEND_UNAVAILABLE")


def test_backends_agree_bit_for_bit(rng):
    """Every backend that runs here gives the reference's bits."""
    x = rng.standard_normal((33, 256)).astype(np.float32)
    w = rng.standard_normal((20, 256)).astype(np.float32)
    before = lowbit.get_backend()
    results = {}
    try:
        for b in lowbit.available_backends():
            lowbit.set_backend(b)
            assert lowbit.get_backend() == b
            q = lowbit.quantize(x, "mxfp4", rounding="sr", seed=1)
            wq = lowbit.quantize(w, "int4_g128_f16_zp")
            results[b] = (lowbit.convert(x, "e4m3", rounding="sr", seed=2), q.raw_codes(), lowbit.dequantize(q),
                          lowbit.gemm(x, wq), lowbit.gemm(x, lowbit.pack_weights(wq, "f32")))
    finally:
        lowbit.set_backend("auto")
    assert lowbit.get_backend() == before
    assert "ref" in results
    for b, r in results.items():
        for got, want in zip(r, results["ref"]):
            assert_same_bits(got, want, "backend %s vs ref" % b)


def test_thread_count_does_not_change_results(rng):
    x = rng.standard_normal((512, 512)).astype(np.float32)
    try:
        lowbit.set_num_threads(1)
        assert lowbit.get_num_threads() == 1
        one = lowbit.dequantize(lowbit.quantize(x, "nvfp4", rounding="sr", seed=4))
        lowbit.set_num_threads(2)
        assert lowbit.get_num_threads() == 2
        two = lowbit.dequantize(lowbit.quantize(x, "nvfp4", rounding="sr", seed=4))
    finally:
        lowbit.set_num_threads(0)
    assert_same_bits(one, two, "1 vs 2 threads")


def test_introspection():
    assert lowbit.__version__ == "%d.%d.%d" % lowbit.HEADER_VERSION
    assert lowbit.LIBRARY_VERSION in (None, lowbit.HEADER_VERSION) or lowbit.LIBRARY_VERSION[0] == 0
    assert len(lowbit.DTYPES) == 14 and lowbit.dtype_bits("e3m2") == 6 and lowbit.dtype_max("e4m3") == 448
    ks = lowbit.kernels()
    assert ks and {"op", "backend", "name", "formats", "exact"} <= set(ks[0])
    assert any(k["backend"] == "ref" for k in ks)
    assert "auto" in lowbit.backend_names() and lowbit.get_backend() != "auto"
    q = lowbit.quantize(X, "int4_g32_f16_zp")
    assert q.nbytes == 2 * 64 // 2 + 4 * 2 + 4 // 2 and q.num_blocks == 4
    assert "int4_g32_f16_zp" in repr(q)


def _import_in_subprocess(env, code="import lowbit; print(lowbit.LIBRARY_PATH)"):
    env = dict(env, PYTHONPATH=PKG_ROOT, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_discovery_lowbit_lib_wrong_path(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "LOWBIT_LIB"}
    r = _import_in_subprocess(dict(env, LOWBIT_LIB=str(tmp_path / "nope.so")))
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "LOWBIT_LIB" in r.stderr and "nope.so" in r.stderr


def test_discovery_through_pkg_config(tmp_path):
    # meson test sets LD_LIBRARY_PATH, which find_library would follow
    env = {k: v for k, v in os.environ.items() if k not in ("LOWBIT_LIB", "LD_LIBRARY_PATH")}
    r = _import_in_subprocess(env, "import ctypes.util; print(ctypes.util.find_library('lowbit'))")
    if r.stdout.strip() != "None":
        pytest.skip("find_library finds a liblowbit (%s) before pkg-config is asked" % r.stdout.strip())
    libdir = os.path.dirname(os.path.realpath(lowbit.LIBRARY_PATH))
    fake = tmp_path / "pkg-config"
    fake.write_text(textwrap.dedent("""\
        #!/bin/sh
        [ "$1" = "--variable=libdir" ] && [ "$2" = "lowbit" ] && echo %s && exit 0
        exit 1
        """ % libdir))
    fake.chmod(0o755)
    r = _import_in_subprocess(dict(env, PATH=str(tmp_path)))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == os.path.join(libdir, "liblowbit.so")
    # and with nothing to find, the message says what to do
    fake.write_text("#!/bin/sh\nexit 1\n")
    r = _import_in_subprocess(dict(env, PATH=str(tmp_path)))
    assert r.returncode != 0 and "LOWBIT_LIB" in r.stderr
