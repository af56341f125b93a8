#!/usr/bin/env python3
"""Run the Python oracle tests under pytest, for `meson test --suite python`.

Exit status: 77 (meson's "skipped") with one SKIP line when python modules the
oracles need are missing; pytest's status otherwise, except that "no tests
collected" (5) is a failure, never a silent pass.
"""
import os
import sys

sys.dont_write_bytecode = True

missing = []
for mod in ("numpy", "ml_dtypes", "pytest"):
    try:
        __import__(mod)
    except Exception:
        missing.append(mod)
if missing:
    print("SKIP: python oracle tests need %s (pip install numpy ml_dtypes pytest)" % ", ".join(missing))
    sys.exit(77)

import ml_dtypes  # noqa: E402

needed = ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float6_e2m3fn",
          "float6_e3m2fn", "float4_e2m1fn", "float8_e8m0fnu", "int4", "uint4", "bfloat16")
lacking = [n for n in needed if not hasattr(ml_dtypes, n)]
if lacking:
    print("SKIP: ml_dtypes %s lacks %s (need ml_dtypes >= 0.5)" % (ml_dtypes.__version__, ", ".join(lacking)))
    sys.exit(77)

lib = os.environ.get("LOWBIT_LIB", "")
if not lib or not os.path.exists(lib):
    print("ERROR: LOWBIT_LIB=%r is not the path of liblowbit.so" % lib)
    sys.exit(1)

import pytest  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
args = ["-q", "-p", "no:cacheprovider", "--rootdir", here] + sys.argv[1:]
rc = int(pytest.main(args))
if rc == pytest.ExitCode.NO_TESTS_COLLECTED:
    print("ERROR: pytest collected no tests")
    rc = 1
sys.exit(rc)
