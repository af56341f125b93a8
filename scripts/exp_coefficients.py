#!/usr/bin/env python3
"""Fit the polynomial of formats/exp.h.

exp(r) = 1 + r + r^2 q(r) on [-ln2/2, ln2/2], q of degree 4, fitted for
relative error by Lawson-weighted least squares on Chebyshev nodes (which
converges towards the minimax fit), then rounded to f32.  Prints the
coefficients as C hex floats and the fit's relative error in f64; the f32
algorithm's measured error is reported by lowbit-check --exp-accuracy.
"""
import numpy as np

half = np.log(2) / 2
n = 4000
r = half * np.cos(np.pi * (np.arange(n) + 0.5) / n)
target = (np.expm1(r) - r) / r ** 2
weight = r ** 2 / np.exp(r)          # error of q scaled to relative error of exp
a = np.vander(r, 5, increasing=True) * weight[:, None]
b = target * weight
lawson = np.full(n, 1.0 / n)
for _ in range(30):
    sw = np.sqrt(lawson)
    coef, *_ = np.linalg.lstsq(a * sw[:, None], b * sw, rcond=None)
    lawson *= np.abs(a @ coef - b)
    lawson /= lawson.sum()
c32 = [np.float32(c) for c in coef]
for i, c in enumerate(c32):
    mant, exp = float(c).hex().split("p")
    print("#define LB_EXP_C%d %sp%sf" % (i + 2, mant.rstrip("0"), exp))
grid = np.linspace(-half, half, 200001)
approx = 1 + grid + grid ** 2 * np.polyval([float(c) for c in c32[::-1]], grid)
print("max relative error of the f32 coefficients (f64 evaluation): %.3g" % np.max(np.abs(approx / np.exp(grid) - 1)))
