"""Shared fixtures of the lowbit package tests.

The package is imported from the source tree next to this directory unless
PYTHONPATH already provides one.  The oracle bindings (tests/python/
lowbit_ctypes.py, the C project's independent ctypes layer) are used where
they exist, i.e. in a checkout with LOWBIT_LIB set; tests needing them are
skipped otherwise.
"""

import importlib
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG_ROOT = os.path.dirname(HERE)
ORACLE_DIR = os.path.join(os.path.dirname(PKG_ROOT), "tests", "python")

if PKG_ROOT not in sys.path:
    sys.path.insert(0, PKG_ROOT)

import lowbit  # noqa: E402


def _load_oracle():
    if not os.environ.get("LOWBIT_LIB"):
        return None, "LOWBIT_LIB is not set, so the oracle bindings cannot load the library"
    if not os.path.exists(os.path.join(ORACLE_DIR, "lowbit_ctypes.py")):
        return None, "tests/python/lowbit_ctypes.py is not next to this package (not a lowbit checkout)"
    if ORACLE_DIR not in sys.path:
        sys.path.append(ORACLE_DIR)
    return importlib.import_module("lowbit_ctypes"), None


@pytest.fixture(scope="session")
def oracle():
    mod, why = _load_oracle()
    if mod is None:
        pytest.skip(why)
    # Both layers must drive the same library file, or equality means nothing.
    assert os.path.realpath(mod.LIB._name) == os.path.realpath(lowbit.LIBRARY_PATH)
    return mod


@pytest.fixture
def rng(request):
    # One stream per test, reproducible from its name.
    seed = sum(ord(ch) * (i + 1) for i, ch in enumerate(request.node.name)) & 0xFFFFFFFF
    return np.random.default_rng(seed)


@pytest.fixture
def no_ml_dtypes(monkeypatch):
    """Run a test as if ml_dtypes were not installed."""
    monkeypatch.setattr(lowbit._dtypes, "_ML", None)
    yield


def bits(a):
    """Bit patterns of a typed array (unsigned of the same width)."""
    a = np.ascontiguousarray(a)
    return a.view({1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


def assert_same_bits(got, want, what):
    got, want = bits(got), bits(want)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    bad = np.flatnonzero(got.ravel() != want.ravel())
    if bad.size:
        i = bad[:6]
        pytest.fail("%s: %d of %d differ, e.g. at %s: got %s, want %s"
                    % (what, bad.size, got.size, i.tolist(), got.ravel()[i].tolist(), want.ravel()[i].tolist()))
