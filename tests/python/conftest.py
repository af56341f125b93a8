"""Shared pieces of the Python oracle tests: case/mismatch bookkeeping and a
summary table printed at the end of the run."""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# (comparison name) -> [cases, mismatches]
STATS = {}

EXHAUSTIVE = os.environ.get("LOWBIT_PY_EXHAUSTIVE", "") not in ("", "0")


def record(name, cases, mismatches):
    s = STATS.setdefault(name, [0, 0])
    s[0] += int(cases)
    s[1] += int(mismatches)


def fmt_val(v):
    a = np.asarray(v)
    if a.dtype == np.float32:
        return "%r(0x%08x)" % (float(a), int(a.view(np.uint32)))
    if a.dtype == np.float16:
        return "%r(0x%04x)" % (float(a), int(a.view(np.uint16)))
    if a.dtype.kind in "ui":
        return "0x%x" % int(a)
    return repr(a)


def check_equal(name, got, expected, inputs, cases_mask=None, limit=8):
    """Compare two arrays elementwise (exact equality of the given arrays);
    record cases and mismatches under `name`; raise with examples."""
    got = np.asarray(got).ravel()
    expected = np.asarray(expected).ravel()
    inputs = np.asarray(inputs).ravel()
    assert got.shape == expected.shape == inputs.shape, (got.shape, expected.shape, inputs.shape)
    if cases_mask is None:
        cases_mask = np.ones(got.shape, dtype=bool)
    cases_mask = np.asarray(cases_mask, dtype=bool).ravel()
    assert cases_mask.shape == got.shape
    bad = (got != expected) & cases_mask
    nbad = int(np.count_nonzero(bad))
    record(name, np.count_nonzero(cases_mask), nbad)
    if nbad:
        idx = np.flatnonzero(bad)[:limit]
        lines = ["  input %s: lowbit %s, expected %s" % (fmt_val(inputs[i]), fmt_val(got[i]), fmt_val(expected[i]))
                 for i in idx]
        pytest.fail("%s: %d of %d cases differ, e.g.\n%s" % (name, nbad, np.count_nonzero(cases_mask),
                                                             "\n".join(lines)))


def pytest_terminal_summary(terminalreporter):
    if not STATS:
        return
    tr = terminalreporter
    verbose = os.environ.get("LOWBIT_PY_VERBOSE", "") not in ("", "0")
    # one line per comparison; the input-set label in [...] is summed over
    # unless LOWBIT_PY_VERBOSE is set
    rows = {}
    for name, (c, m) in STATS.items():
        key = name if verbose else name.split(" [")[0]
        r = rows.setdefault(key, [0, 0])
        r[0] += c
        r[1] += m
    tr.write_sep("-", "lowbit oracle comparisons (cases / mismatches)")
    total = [0, 0]
    for name in sorted(rows):
        c, m = rows[name]
        total[0] += c
        total[1] += m
        tr.write_line("%-64s %12d %8d" % (name, c, m))
    tr.write_line("%-64s %12d %8d" % ("TOTAL", total[0], total[1]))
