"""lowbit_gemm / lowbit_gemm_packed against an independent NumPy model of the
GEMM arithmetic written at the top of kernels/cpu/ref/gemm_ref.c.

The library only makes the operands (lowbit_quantize); their element codes,
scales, zero points and tensor scales are read back and decoded here with
ml_dtypes / NumPy, and C is computed from them:

  L = the shorter K block of the two operands (a block is the format's
      block_cols, or all of K for per-tensor, per-row and plain operands).
  block dot product d over k in [kb, kb + L):
    integer pairs (both operands integer-valued: E2M1 value * 2, E2M3
      value * 8, MXINT8 its int8 code (unit 2^-6), INT8 / INT4 / UINT4 code
      minus zero point (unit 1)): D = the exact int64 sum of n_a * n_b,
      d = f32(D) * 2^(u_a + u_b)
    other pairs: d = 0; d = fmaf(a_k, b_k, d) for k increasing, a_k and
      b_k the elements' exact values as f32 (zero point applied)
  acc = 0; acc = fmaf(d, f32(s_a * s_b), acc) for blocks increasing, with
      s_a / s_b the block scales of row m of A / row n of B (1 if unscaled)
  t = f32(f32(alpha * t_a) * t_b) * acc (NVFP4 tensor scales, else 1);
      beta != 0: t = fmaf(beta, C_old, t) (C is never read with beta == 0)
  C = t rounded once to f32 / f16 / bf16 (nearest even, overflow to Inf);
      NaN stored as 0x7FC00000 / 0x7E00 / 0x7FC0.

fmaf is modelled exactly with NumPy f64 (an f32 x f32 product is exact in
f64; a two-sum gives the exact error of the f64 sum; the one case where
rounding that sum to f32 can go wrong - the f64 sum lands exactly on an f32
rounding midpoint - is settled by the sign of the error).  The model is
checked against exact rational arithmetic (fractions) first.

Every case is run on the reference backend and on the default one, through
lowbit_gemm and through lowbit_gemm_packed (B packed for A's format), and
compared bit for bit with the model.

This test found one library bug, fixed since: MXINT8 elements entered the
GEMM as their int8 code instead of code * 2^-6.
"""

import zlib
from fractions import Fraction

import ml_dtypes as md
import numpy as np
import pytest

import lowbit_ctypes as lb
from conftest import record

F32 = np.float32
F64 = np.float64
NAME = lb.DTYPE_NAMES

pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning",
                                        "ignore:overflow encountered:RuntimeWarning",
                                        "ignore:divide by zero encountered:RuntimeWarning")

ML = {
    lb.E4M3: md.float8_e4m3fn, lb.E5M2: md.float8_e5m2, lb.E4M3FNUZ: md.float8_e4m3fnuz,
    lb.E5M2FNUZ: md.float8_e5m2fnuz, lb.E3M2: md.float6_e3m2fn, lb.E2M3: md.float6_e2m3fn,
    lb.E2M1: md.float4_e2m1fn, lb.E8M0: md.float8_e8m0fnu,
}
CANONICAL_NAN = {lb.F32: 0x7FC00000, lb.F16: 0x7E00, lb.BF16: 0x7FC0}
C_NP = {lb.F32: np.float32, lb.F16: np.float16, lb.BF16: md.bfloat16}
C_BITS = {lb.F32: np.uint32, lb.F16: np.uint16, lb.BF16: np.uint16}


# ---------------------------------------------------------------------------
# Exact f32 arithmetic
# ---------------------------------------------------------------------------

F32_MAX = F32(np.finfo(F32).max)


def fma32(a, b, c):
    """Correctly rounded f32 fma(a, b, c) elementwise (broadcasting), a, b, c
    f32 values.  p = a * b is exact in f64; s = fl64(p + c) and e with
    s + e = p + c exactly (two-sum, exact: no overflow in this range).
    fl32(s) is the correct rounding of p + c unless s is exactly halfway
    between two f32 values (f32 midpoints are f64 numbers, so the exact sum
    is on the same side of any midpoint as s, or s is the midpoint): then
    the sign of e picks the neighbour."""
    a = np.asarray(a, dtype=F32).astype(F64)
    b = np.asarray(b, dtype=F32).astype(F64)
    c = np.asarray(c, dtype=F32).astype(F64)
    with np.errstate(all="ignore"):
        p = a * b
        s = p + c
        z = s - p
        e = (p - (s - z)) + (c - z)
        r = np.array(s.astype(F32), copy=True)
        fin = np.isfinite(s)
        r64 = r.astype(F64)
        # an f32 overflow: the neighbour above max is 2^128 for rounding
        r64 = np.where(np.isinf(r) & fin, np.copysign(2.0 ** 128, s), r64)
        care = fin & (e != 0) & (r64 != s)
        if np.any(care):
            sc, ec, rc, r64c = s[care], e[care], r[care], r64[care]
            toward = np.where(sc > r64c, F32(np.inf), F32(-np.inf))
            o = np.where(np.isinf(rc), np.copysign(F32_MAX, rc), np.nextafter(rc, toward)).astype(F32)
            mid = (r64c + o.astype(F64)) * 0.5          # exact: two adjacent f32 values
            tie = sc == mid
            keep = np.sign(ec) == np.sign(r64c - sc)    # the error points at r
            r[care] = np.where(tie & ~keep, o, rc)
    return r


def f32_round_exact(x, zero_sign):
    """Fraction x -> nearest-even f32 (overflow to Inf); zero_sign is the
    sign an exact zero takes (IEEE: -0 only from -0 + -0)."""
    if x == 0:
        return F32(-0.0) if zero_sign else F32(0.0)
    neg = x < 0
    ax = -x if neg else x
    e = ax.numerator.bit_length() - ax.denominator.bit_length()
    if Fraction(2) ** e > ax:
        e -= 1
    while Fraction(2) ** (e + 1) <= ax:
        e += 1
    q = Fraction(2) ** (max(e, -126) - 23)
    m = ax / q
    n = m.numerator // m.denominator
    rem = m - n
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and n % 2):
        n += 1
    v = n * q
    if v >= Fraction(2) ** 128:
        r = F32(np.inf)
    else:
        r = F32(float(v))
        assert Fraction(float(r)) == v
    return -r if neg else r


def test_fma32_model_is_correctly_rounded():
    """The vectorised fma32 against exact rational arithmetic: random bit
    patterns of every magnitude, structured mantissas (1, 1 + ulp, 2 - ulp,
    ...) whose sums sit on and next to f32 rounding midpoints, subnormals,
    overflow, and cases built so that fl64(p + c) is exactly a midpoint."""
    rng = np.random.default_rng(7)
    mants = np.array([1.0, 1 + 2.0 ** -23, 2 - 2.0 ** -23, 1.5, 1 + 2.0 ** -12, 1 + 2.0 ** -22 + 2.0 ** -23,
                      1.5 + 2.0 ** -23, 1.25, 1 - 2.0 ** -24])
    n = 6000
    def structured(size, lo, hi):
        v = np.ldexp(rng.choice(mants, size), rng.integers(lo, hi, size)) * rng.choice([-1.0, 1.0], size)
        return v.astype(F32)
    a = structured(n, -30, 30)
    b = structured(n, -30, 30)
    pe = np.frexp(a.astype(F64) * b.astype(F64))[1]
    c = (np.ldexp(rng.choice(mants, n), pe + rng.integers(-30, 30, n)) * rng.choice([-1.0, 1.0], n)).astype(F32)
    rb = rng.integers(0, 2 ** 32, (3, 3000), dtype=np.uint64).astype(np.uint32).view(F32)
    rb = np.where(np.isfinite(rb), rb, F32(1.5))
    # exponents near the subnormal / overflow ends
    lo = structured(1000, -80, -60)
    hi = structured(1000, 60, 66)
    # fl64(p + c) exactly on a midpoint: c = 1 + k ulp, p = (1 + 2^-23)(2^-24 (1 -+ 2^-23))
    mid_a = np.full(8, 1 + 2.0 ** -23, dtype=F32)
    mid_b = np.array([2.0 ** -24 * (1 - 2.0 ** -23), 2.0 ** -24 * (1 + 2.0 ** -23)] * 4, dtype=F32)
    mid_c = np.array([1.0, 1.0, 1 + 2.0 ** -23, 1 + 2.0 ** -23, -1.0, 2.0, -(1 + 2.0 ** -22), 4.0], dtype=F32)
    mid_b[4:] = -mid_b[4:]
    A = np.concatenate([a, rb[0], lo, hi, mid_a, np.zeros(4, F32), F32([-0.0, 3.0, F32_MAX, F32_MAX])])
    B = np.concatenate([b, rb[1], lo[::-1], hi, mid_b, F32([-0.0, 0.0, -0.0, 1.0]),
                        F32([2.0, 0.0, F32(1.0000001), -F32(1.0000001)])])
    C = np.concatenate([c, rb[2], structured(1000, -150, -120), structured(1000, 100, 128), mid_c,
                        F32([-0.0, -0.0, 0.0, -0.0]), F32([-0.0, -0.0, F32_MAX, F32_MAX])])
    got = fma32(A, B, C)
    naive = (A.astype(F64) * B.astype(F64) + C.astype(F64)).astype(F32)
    bad = 0
    for i in range(A.size):
        x = Fraction(float(A[i])) * Fraction(float(B[i])) + Fraction(float(C[i]))
        p_neg = np.signbit(A[i]) != np.signbit(B[i])
        exp = f32_round_exact(x, p_neg and np.signbit(C[i]))
        if got[i].view(np.uint32) != exp.view(np.uint32):
            bad += 1
            if bad < 5:
                print("fma32(%r, %r, %r) = %r, exact %r" % (A[i], B[i], C[i], got[i], exp))
    record("fma32 model vs exact fractions", A.size, bad)
    assert bad == 0
    # the midpoint cases do round differently from a naive f64 sum
    assert np.count_nonzero(got.view(np.uint32) != naive.view(np.uint32)) > 0


# ---------------------------------------------------------------------------
# Decoding the operands (independent of the library)
# ---------------------------------------------------------------------------

def scale_values(st, codes):
    codes = np.asarray(codes)
    if st == lb.F32:
        return codes.astype(np.uint32).view(F32).copy()
    if st == lb.F16:
        return codes.astype(np.uint16).view(np.float16).astype(F32)
    if st == lb.BF16:
        return codes.astype(np.uint16).view(md.bfloat16).astype(F32)
    return codes.astype(np.uint8).view(ML[st]).astype(F32)


def int_values(elem, codes):
    c = np.asarray(codes, dtype=np.uint8)
    if elem == lb.INT8:
        return c.view(np.int8).astype(np.int64)
    if elem == lb.INT4:
        c = c.astype(np.int64) & 0xF
        return c - ((c & 8) << 1)
    return c.astype(np.int64) & 0xF


class Operand:
    """One GEMM operand as the model sees it: vals (rows x K exact f32
    values, zero point applied), ints / unit (integer-valued operands),
    the f32 scale grid with its block shape, the K block and tensor scale."""

    def __init__(self, t):
        fmt = t.c.format
        self.rows, self.K = t.rows, t.cols
        self.tensor_scale = F32(1)
        self.ints, self.unit = None, 0
        self.name = NAME[fmt.elem]
        if isinstance(t, lb.PlainTensor):
            self.vals = t.codes().view(C_NP[fmt.elem]).astype(F32)
            self.grid = None
            self.br, self.bc = max(self.rows, 1), max(self.K, 1)
            return
        self.name = lb.format_name(fmt)
        elem, st = fmt.elem, fmt.scale_type
        codes = t.codes()
        self.br = fmt.block_rows or max(self.rows, 1)
        self.bc = fmt.block_cols or max(self.K, 1)
        self.grid = scale_values(st, t.scale_codes())
        if st == lb.E4M3 and fmt.flags & lb.FMT_TENSOR_SCALE:
            self.tensor_scale = F32(t.tensor_scale)
        if elem in (lb.INT8, lb.INT4, lb.UINT4):
            n = int_values(elem, codes)
            if fmt.flags & lb.FMT_ZERO_POINT:
                zp = int_values(elem, t.zero_point_codes())
                n = n - self.expand(zp)
            self.ints = n
            self.unit = -6 if st == lb.E8M0 else 0      # MXINT8: 1.6 fixed point
            self.vals = np.ldexp(n.astype(F64), self.unit).astype(F32)
        else:
            self.vals = codes.view(ML[elem]).astype(F32)
            mult = {lb.E2M1: 1, lb.E2M3: 3}.get(elem)
            if mult is not None:
                n = np.ldexp(self.vals.astype(F64), mult)
                assert np.all(n == np.rint(n))
                self.ints, self.unit = n.astype(np.int64), -mult

    def expand(self, g):
        return np.repeat(np.repeat(g, self.br, axis=0), self.bc, axis=1)[:self.rows, :self.K]

    @property
    def kblock(self):
        return self.bc

    def scale(self, k0):
        """f32 scale of every row over the K block starting at k0."""
        if self.grid is None:
            return np.ones(self.rows, dtype=F32)
        return self.grid[np.arange(self.rows) // self.br, k0 // self.bc]


def decode_c(c_type, bits):
    return np.asarray(bits).view(C_NP[c_type]).astype(F32)


def encode_c(c_type, t):
    t = np.asarray(t, dtype=F32)
    with np.errstate(all="ignore"):
        bits = t.astype(C_NP[c_type]).view(C_BITS[c_type]).copy()
    bits[np.isnan(t)] = CANONICAL_NAN[c_type]
    return bits


def model_gemm(A, B, c_type, alpha, beta, c_old):
    M, N, K = A.rows, B.rows, A.K
    assert B.K == K
    alpha, beta = F32(alpha), F32(beta)
    g = F32(F32(alpha * A.tensor_scale) * B.tensor_scale)
    if K == 0:
        t = np.zeros((M, N), dtype=F32)
    else:
        L = min(A.kblock, B.kblock)
        assert K % L == 0 and max(A.kblock, B.kblock) % L == 0
        integer = A.ints is not None and B.ints is not None
        acc = np.zeros((M, N), dtype=F32)
        for k0 in range(0, K, L):
            if integer:
                D = A.ints[:, k0:k0 + L] @ B.ints[:, k0:k0 + L].T
                assert D.size == 0 or np.abs(D).max() < 2 ** 53
                d = np.ldexp(D.astype(F64).astype(F32), A.unit + B.unit).astype(F32)
            else:
                d = np.zeros((M, N), dtype=F32)
                for k in range(k0, k0 + L):
                    d = fma32(A.vals[:, k, None], B.vals[None, :, k], d)
            with np.errstate(all="ignore"):
                s = (A.scale(k0)[:, None] * B.scale(k0)[None, :]).astype(F32)
            acc = fma32(d, s, acc)
        with np.errstate(all="ignore"):
            t = (g * acc).astype(F32)
    if beta != 0:
        t = fma32(beta, decode_c(c_type, c_old), t)
    return encode_c(c_type, t)


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------

DISTS = ["normal", "wide", "blocks", "outlier", "zeros", "huge", "tiny", "nonfinite", "ints"]


def gen(dist, rows, cols, rng):
    n = rows * cols
    if dist == "normal":
        x = rng.standard_normal(n)
    elif dist == "wide":
        x = rng.standard_normal(n) * 10.0 ** rng.uniform(-6, 6, n)
    elif dist == "blocks":
        # every 16-element stretch of a row at its own magnitude
        mag = 10.0 ** rng.uniform(-12, 12, (rows, -(-cols // 16)))
        x = (rng.standard_normal((rows, cols)) * np.repeat(mag, 16, axis=1)[:, :cols]).ravel()
    elif dist == "outlier":
        x = rng.standard_normal(n)
        x[rng.integers(0, max(n, 1))] *= 3e4
    elif dist == "zeros":
        x = rng.standard_normal((rows, cols))
        x[rng.integers(0, rows)] = 0.0
        x[:, rng.integers(0, cols):][:, :16] = -0.0
        x = x.ravel()
    elif dist == "huge":
        x = rng.standard_normal(n) * 10.0 ** rng.uniform(36, 38.4, n)
    elif dist == "tiny":
        x = rng.standard_normal(n) * 10.0 ** rng.uniform(-44, -37, n)
    elif dist == "nonfinite":
        x = rng.standard_normal(n)
        i = rng.integers(0, n, 3)
        x[i[0]] = np.nan
        x[i[1]] = np.inf
        x[i[2]] = -np.inf
    elif dist == "ints":
        x = rng.integers(-9, 10, n).astype(F64)
    else:
        raise ValueError(dist)
    with np.errstate(all="ignore"):
        return np.clip(x, -3.4e38, 3.4e38).astype(F32).reshape(rows, cols) if dist == "huge" else \
            x.astype(F32).reshape(rows, cols)


def stride_mult(elem):
    bits = lb.DTYPE_BITS[elem]
    return 4 if bits == 6 else 2 if bits == 4 else 1


def make_operand(fmt, x, pad):
    """A QTensor (or PlainTensor for lowbit_format_plain) holding x, with
    its row stride `pad` units longer than the tightest one."""
    rows, cols = x.shape
    if fmt.scale_type == lb.DTYPE_COUNT:
        with np.errstate(all="ignore"):
            xv = x.astype(C_NP[fmt.elem])
        return lb.PlainTensor(xv, row_stride=cols + pad if pad else None)
    row_stride = None
    if pad:
        m = stride_mult(fmt.elem)
        row_stride = -(-cols // m) * m + pad * m
    return lb.quantize(fmt, x, row_stride=row_stride)


# ---------------------------------------------------------------------------
# Running a case
# ---------------------------------------------------------------------------

def fmt_out(c_type, bits):
    v = float(decode_c(c_type, np.asarray(bits)))
    return "%r(0x%0*x)" % (v, 8 if c_type == lb.F32 else 4, int(bits))


def compare(name, detail, c_type, got, exp, A, B, limit=6):
    got = np.asarray(got)
    exp = np.asarray(exp)
    assert got.shape == exp.shape, (got.shape, exp.shape)
    bad = got != exp
    nbad = int(np.count_nonzero(bad))
    record(name, got.size, nbad)
    if nbad:
        lines = []
        for m, n in np.argwhere(bad)[:limit]:
            lines.append("  C[%d,%d]: lowbit %s, model %s" % (m, n, fmt_out(c_type, got[m, n]),
                                                                fmt_out(c_type, exp[m, n])))
        pytest.fail("%s [%s]: %d of %d outputs differ (A %s, B %s), e.g.\n%s" %
                    (name, detail, nbad, got.size, A.name, B.name, "\n".join(lines)))


BACKENDS = [("ref", lb.BACKEND_REF), ("default", lb.BACKEND_AUTO)]

C_OLD_NAN_BITS = {lb.F32: [0x7FC00000, 0x7F800001, 0xFFFFFFFF], lb.F16: [0x7E00, 0x7C01, 0xFFFF],
                  lb.BF16: [0x7FC0, 0x7F81, 0xFFFF]}


def c_old_for(c_type, M, N, beta, rng, special):
    """C's input: NaN everywhere when beta == 0 (it must not be read),
    else random values (with NaN / Inf / signalling NaN bits if special)."""
    if beta == 0:
        nans = np.array(C_OLD_NAN_BITS[c_type], dtype=C_BITS[c_type])
        return nans[rng.integers(0, nans.size, (M, N))]
    v = (rng.standard_normal((M, N)) * 10.0 ** rng.uniform(-3, 3, (M, N))).astype(F32)
    bits = v.astype(C_NP[c_type]).view(C_BITS[c_type]).copy()
    if special and M * N >= 4:
        flat = bits.ravel()
        flat[rng.integers(0, flat.size)] = C_OLD_NAN_BITS[c_type][1]
        flat[rng.integers(0, flat.size)] = np.array(np.inf, C_NP[c_type]).view(C_BITS[c_type])
        flat[rng.integers(0, flat.size)] = np.array(-np.inf, C_NP[c_type]).view(C_BITS[c_type])
    return bits


def run_case(family, fa, fb, xa, xb, c_type, alpha, beta, rng, pads=(0, 0, 0), special=False, pack=True):
    qa = make_operand(fa, xa, pads[0])
    qb = make_operand(fb, xb, pads[1])
    A, B = Operand(qa), Operand(qb)
    M, N = A.rows, B.rows
    c_old = c_old_for(c_type, M, N, beta, rng, special)
    exp = model_gemm(A, B, c_type, alpha, beta, c_old)
    ldc = N + pads[2]
    detail = "%s x %s -> %s, %dx%dx%d, alpha %r beta %r, pads %s" % (A.name, B.name, NAME[c_type], M, N, A.K,
                                                                    alpha, beta, pads)
    try:
        for bname, backend in BACKENDS:
            lb.set_backend(backend)
            got = lb.gemm(qa, qb, c_type, alpha, beta, c=c_old, ldc=ldc)
            compare("gemm %s [%s]" % (family, bname), detail, c_type, got, exp, A, B)
            if pack:
                packed = np.copy(lb.gemm_pack(qa.c.format, qb))   # a copy: position independent
                got_p = lb.gemm_packed(qa, packed, N, c_type, alpha, beta, c=c_old, ldc=ldc)
                compare("gemm_packed %s [%s]" % (family, bname), detail, c_type, got_p, exp, A, B)
    finally:
        lb.set_backend(lb.BACKEND_AUTO)


# ---------------------------------------------------------------------------
# Pairs
# ---------------------------------------------------------------------------

def T(e):
    return lb.format_fp8_tensor(e)


def R(e):
    return lb.format_fp8_row(e)


def B1(e):
    return lb.format_fp8_block(e, 1, 128)


def B2(e):
    return lb.format_fp8_block(e, 128, 128)


def MX(e, rule=lb.SCALE_FLOOR):
    return lb.format_mx(e, rule)


def IG(e, g, st, zp=0):
    return lb.format_int_group(e, g, st, zp)


def P(e):
    return lb.format_plain(e)


E4, E5, E4U, E5U = lb.E4M3, lb.E5M2, lb.E4M3FNUZ, lb.E5M2FNUZ
I8, I4, U4 = lb.INT8, lb.INT4, lb.UINT4

FAMILIES = {
    "fp8 x fp8": [
        (T(E4), T(E4)), (R(E4), R(E4)), (T(E5), R(E4)), (R(E5), R(E5)), (R(E4), T(E5)),
        (B1(E4), B2(E4)), (B1(E4), B1(E4)), (B2(E5), B2(E4)), (T(E4), B2(E4)), (R(E4), B1(E5)),
        (B1(E4), R(E4)), (B2(E4), T(E4)),
        (IG(E4, 32, lb.BF16), R(E4)), (IG(E4, 32, lb.BF16), B1(E4)),
    ],
    "fp8 fnuz x fp8 fnuz": [
        (T(E4U), T(E4U)), (R(E5U), R(E4U)), (R(E4U), T(E5U)), (R(E4U), R(E4)), (T(E5U), R(E5)),
    ],
    "mxfp8 x mxfp8": [(MX(E4), MX(E4)), (MX(E5), MX(E5)), (MX(E4), MX(E5)), (MX(E5), MX(E4))],
    "mxfp4 x mxfp4": [(MX(lb.E2M1), MX(lb.E2M1))],
    "mxfp4 x mxfp8": [(MX(lb.E2M1), MX(E4)), (MX(E4), MX(lb.E2M1)), (MX(lb.E2M1), MX(E5)),
                      (MX(E5), MX(lb.E2M1))],
    "mxfp6 x mxfp6": [(MX(lb.E3M2), MX(lb.E3M2)), (MX(lb.E2M3), MX(lb.E2M3)), (MX(lb.E2M3), MX(lb.E3M2)),
                      (MX(lb.E3M2), MX(lb.E2M3))],
    "mx mixed": [(MX(lb.E2M1), MX(lb.E2M3)), (MX(lb.E2M3), MX(E4)), (MX(lb.E3M2), MX(lb.E2M1))],
    "mxint8 x mx": [(MX(I8), MX(I8)), (MX(I8), MX(lb.E2M1)), (MX(lb.E2M3), MX(I8)),
                                       (MX(I8), MX(E4)), (MX(E5), MX(I8))],
    "nvfp4 x nvfp4": [(lb.format_nvfp4(), lb.format_nvfp4())],
    "int8 x int8": [
        (IG(I8, 0, lb.F32), IG(I8, 0, lb.F32)), (IG(I8, 32, lb.F16), IG(I8, 32, lb.F16)),
        (IG(I8, 128, lb.BF16), IG(I8, 32, lb.BF16)), (IG(I8, 32, lb.F32, 1), IG(I8, 64, lb.F32, 1)),
        (IG(I8, 0, lb.BF16, 1), IG(I8, 0, lb.F16)), (IG(I8, 64, lb.F16), IG(I8, 0, lb.F32, 1)),
    ],
    "int4 x int8": [
        (IG(I8, 0, lb.F32), IG(I4, 32, lb.F16)), (IG(I8, 128, lb.F32), IG(I4, 128, lb.BF16)),
        (IG(I4, 32, lb.F32), IG(I8, 0, lb.F32)), (IG(I8, 0, lb.F32), IG(U4, 32, lb.F16, 1)),
        (IG(I8, 64, lb.BF16), IG(U4, 64, lb.BF16, 1)), (IG(U4, 32, lb.BF16, 1), IG(I8, 32, lb.F32)),
        (IG(I8, 32, lb.F16, 1), IG(I4, 32, lb.F32, 1)), (IG(I4, 32, lb.F16, 1), IG(I4, 32, lb.F16)),
        (IG(U4, 64, lb.F32, 1), IG(U4, 32, lb.F32, 1)), (IG(I8, 0, lb.F16), IG(U4, 0, lb.F32, 1)),
    ],
    "wide x int": [
        (P(lb.F32), IG(I4, 32, lb.F16)), (P(lb.BF16), IG(I4, 128, lb.BF16)), (P(lb.F16), IG(U4, 32, lb.F16, 1)),
        (P(lb.BF16), IG(U4, 64, lb.BF16, 1)), (P(lb.F32), IG(U4, 0, lb.F32, 1)), (P(lb.F16), IG(I8, 32, lb.F32)),
        (P(lb.BF16), IG(I8, 0, lb.BF16, 1)), (P(lb.F32), IG(I4, 0, lb.F32)), (P(lb.F16), IG(I4, 64, lb.BF16, 1)),
    ],
}

XFAIL = {}  # family -> reason, for a known disagreement (strict xfail)

SHAPES = [(7, 13), (1, 1), (33, 7), (13, 33), (1, 17), (40, 5), (3, 1), (97, 2), (2, 300)]
SHAPES_128_ROWS = [(130, 3), (3, 130), (7, 13)]
ABC = [  # alpha, beta, special values in C
    (1.0, 0.0, False), (0.75, 0.0, False), (-2.0, 1.0, False), (1e-3, -0.3, True),
    (1.0, 0.7071, True), (3e4, 0.0, False), (0.1, 1.0, False), (-1.5e-30, 2.0, False), (2e-6, 0.0, False),
    (1.0, -1.0 / 3.0, False),
]
PADS = [(0, 0, 0), (1, 2, 3), (0, 3, 0), (2, 0, 1)]
C_TYPES = [lb.F32, lb.F16, lb.BF16]
RULES = [lb.SCALE_FLOOR, lb.SCALE_RCEIL, lb.SCALE_CEIL, lb.SCALE_EVEN]


def k_choices(fa, fb):
    blocks = [f.block_cols for f in (fa, fb) if f.scale_type != lb.DTYPE_COUNT and f.block_cols]
    if not blocks:
        return [1, 7, 100, 257, 64]
    L = max(blocks)
    return [L, 2 * L, L, 3 * L] if L >= 128 else [L, 5 * L, 2 * L, 8 * L]


def with_rule(f, rule):
    if f.scale_type != lb.E8M0:
        return f
    return lb.format_mx(f.elem, rule)


VARIANTS = 8


def family_params():
    out = []
    for fam in FAMILIES:
        marks = [pytest.mark.xfail(strict=True, reason=XFAIL[fam])] if fam in XFAIL else []
        out.append(pytest.param(fam, marks=marks, id=fam.split(" (")[0].replace(" ", "_")))
    return out


@pytest.mark.parametrize("family", family_params())
def test_gemm_matches_model(family):
    rng = np.random.default_rng(zlib.crc32(family.encode()))
    pairs = FAMILIES[family]
    failures = []
    for pi, (fa, fb) in enumerate(pairs):
        ks = k_choices(fa, fb)
        shapes = SHAPES_128_ROWS if (fa.block_rows > 1 or fb.block_rows > 1) else SHAPES
        for v in range(VARIANTS):
            i = pi * VARIANTS + v
            M, N = shapes[i % len(shapes)]
            K = ks[(v + pi) % len(ks)]
            da, db = DISTS[i % len(DISTS)], DISTS[(i * 5 + 2) % len(DISTS)]
            if v == 0:
                da = db = "normal"
            alpha, beta, special = ABC[(v + 3 * pi) % len(ABC)]
            c_type = C_TYPES[(v + pi) % 3]
            rule = RULES[(v + pi) % 4]
            xa, xb = gen(da, M, K, rng), gen(db, N, K, rng)
            try:
                run_case(family, with_rule(fa, rule), with_rule(fb, rule), xa, xb, c_type, alpha, beta, rng,
                         pads=PADS[i % len(PADS)], special=special)
            except pytest.fail.Exception as e:
                failures.append("%s / %s: %s" % (da, db, e))
    if failures:
        pytest.fail("%d case(s) differ:\n%s" % (len(failures), "\n".join(failures[:6])))


def test_gemm_adversarial_blocks():
    """Hand-made blocks: a NaN scale in one block only (the rest of the row
    finite), a block that saturates against its neighbours, all-zero
    blocks, a lone subnormal, an outlier in one block, and exact
    cancellation across blocks, for the main pair families."""
    rng = np.random.default_rng(11)
    K = 256
    x = rng.standard_normal((6, K)).astype(F32)
    x[0, 40] = np.nan                         # block 1 of row 0 (32-blocks), block 0 (128-blocks)
    x[1, 130] = np.inf
    x[2, :64] = 0.0                           # zero blocks
    x[2, 100] = np.uint32(5).view(F32)        # a subnormal in a block of its own magnitude
    x[3, 200] = 6e4                           # an outlier: its block's scale is 1e4 x the others
    x[4] = -x[5]                              # cancellation in A x B^T
    y = rng.standard_normal((5, K)).astype(F32)
    y[0] = x[5]
    y[1, 32:64] = 3e38                        # huge: scale products overflow to Inf
    y[2, :] = 1e-41
    y[3, 64:96] = -0.0
    pairs = [
        ("fp8 x fp8", R(E4), R(E4)), ("fp8 x fp8", B1(E4), B1(E5)), ("fp8 x fp8", B2(E4), B2(E4)),
        ("mxfp8 x mxfp8", MX(E4), MX(E4)), ("mxfp4 x mxfp8", MX(lb.E2M1), MX(E4)),
        ("mxfp4 x mxfp4", MX(lb.E2M1, lb.SCALE_RCEIL), MX(lb.E2M1, lb.SCALE_RCEIL)),
        ("mxfp6 x mxfp6", MX(lb.E3M2), MX(lb.E2M3)), ("nvfp4 x nvfp4", lb.format_nvfp4(), lb.format_nvfp4()),
        ("int8 x int8", IG(I8, 32, lb.BF16), IG(I8, 32, lb.F16)),
        ("int8 x int8", IG(I8, 0, lb.F32), IG(I8, 0, lb.F32)),
        ("int4 x int8", IG(I8, 0, lb.F32), IG(U4, 32, lb.F16, 1)),
        ("int4 x int8", IG(I8, 32, lb.F32, 1), IG(I4, 32, lb.BF16)),
        ("wide x int", P(lb.F32), IG(I4, 32, lb.F16)), ("wide x int", P(lb.BF16), IG(U4, 128, lb.BF16, 1)),
        ("wide x int", P(lb.F16), IG(I8, 64, lb.F32)),
    ]
    for j, (fam, fa, fb) in enumerate(pairs):
        for c_type in C_TYPES:
            alpha, beta, special = ABC[(j + c_type) % len(ABC)]
            run_case(fam + " adversarial", fa, fb, x, y, c_type, alpha, beta, rng, pads=PADS[j % 4],
                     special=special)


def test_gemm_exact_integer_sums_and_rounding():
    """Integer pairs whose block sums exceed 2^24 (f32(D) rounds) and f32
    pairs whose partial sums cancel: the integer path must be exact before
    the one rounding, the f32 path sequential."""
    rng = np.random.default_rng(5)
    K = 512
    big = np.full((3, K), 127.0, dtype=F32)
    big[1, ::2] = -127.0
    big[2] = rng.integers(100, 128, K).astype(F32)
    run_case("int8 x int8 big sums", IG(I8, 0, lb.F32), IG(I8, 0, lb.F32), big, big[::-1].copy(), lb.F32, 1.0,
             0.0, rng)
    run_case("int8 x int8 big sums", IG(I8, 0, lb.F32, 1), IG(I8, 0, lb.F32, 1), big + 3, big - 7, lb.F32, 1.0,
             0.0, rng)
    # f32 path: alternating huge / tiny terms in one row-block
    x = rng.standard_normal((4, 257)).astype(F32)
    x[:, ::3] *= 1e4
    y = rng.standard_normal((5, 257)).astype(F32)
    y[:, 1::3] *= 1e-4
    for c_type in C_TYPES:
        run_case("fp8 x fp8 cancellation", R(E5), R(E5), x, y, c_type, 1.0, 0.0, rng)
        run_case("wide x int cancellation", P(lb.F32), IG(I8, 0, lb.F32), x, y, c_type, -1.0, 0.5, rng)


def test_gemm_packed_refuses_another_a_format():
    """A pack made for one A format is refused for another (LOWBIT_ERR_PACK_MISMATCH)."""
    rng = np.random.default_rng(1)
    b = lb.quantize(IG(I4, 32, lb.F16), rng.standard_normal((5, 64)).astype(F32))
    packed = lb.gemm_pack(P(lb.BF16), b)
    a = lb.PlainTensor(rng.standard_normal((3, 64)).astype(np.float16))
    with pytest.raises(lb.LowbitError) as e:
        lb.gemm_packed(a, packed, 5)
    assert e.value.status == lb.ERR_PACK_MISMATCH
    record("gemm_packed refusals", 1, 0)


def test_gemm_fma_midpoints():
    """Sums built so that the f64 sum of an exact product and the
    accumulator lands exactly on an f32 rounding midpoint with a nonzero
    error below it: a single-rounding fma rounds away from the even
    neighbour where a sum rounded twice would not.  One for each fmaf of
    the semantics: the f32 block dot product, the scale step and beta.
    (2^30 + 1 = 65 * 16519105, so p = 16519105 * 2^-54 * 65 = 2^-24 + 2^-54.)"""
    rng = np.random.default_rng(2)
    m = F32(np.ldexp(16519105.0, -54))
    # 1) d = fmaf(a_k, b_k, d): A plain f32 [1, m, 0], B int8 per row [1, 65, 127] (scale 1)
    xa = np.array([[1.0, m, 0.0, 0.0]], dtype=F32)
    xb = np.array([[1.0, 65.0, 127.0, 0.0]], dtype=F32)
    run_case("fma midpoint block dot", P(lb.F32), IG(I8, 0, lb.F32), xa, xb, lb.F32, 1.0, 0.0, rng)
    got = lb.gemm(lb.PlainTensor(xa), lb.quantize(IG(I8, 0, lb.F32), xb))
    assert got.view(F32)[0, 0] == F32(1 + 2.0 ** -23)
    # 2) acc = fmaf(d, s, acc): int8 g32 f32; block 0 gives acc = 127 * 127 = 16129,
    #    block 1 d = 65 and s = s_a = 16519105 * 2^-41, so d * s = 2^-11 + 2^-41,
    #    half an ulp of 16129 plus a little
    s1 = F32(np.ldexp(16519105.0, -41))
    amax = F32(s1 * F32(127))
    while F32(amax / F32(127)) != s1:
        amax = np.nextafter(amax, F32(np.inf) if F32(amax / F32(127)) < s1 else F32(-np.inf))
    xa = np.zeros((1, 64), dtype=F32)
    xb = np.zeros((1, 64), dtype=F32)
    xa[0, 0] = xb[0, 0] = 127.0
    xa[0, 32], xa[0, 33] = amax, F32(65 * s1)
    xb[0, 33], xb[0, 34] = 1.0, 127.0
    qa, qb = lb.quantize(IG(I8, 32, lb.F32), xa), lb.quantize(IG(I8, 32, lb.F32), xb)
    assert qa.scale_codes().view(F32)[0, 1] == s1 and qb.scale_codes().view(F32)[0, 1] == 1.0
    assert list(int_values(I8, qa.codes())[0, 32:35]) == [127, 65, 0]
    run_case("fma midpoint scale step", IG(I8, 32, lb.F32), IG(I8, 32, lb.F32), xa, xb, lb.F32, 1.0, 0.0, rng)
    assert lb.gemm(qa, qb).view(F32)[0, 0] == F32(16129 + 2.0 ** -10)
    # 3) t = fmaf(beta, C, t): t = 1, beta = 16519105 * 2^-54, C = 65
    xa = np.array([[1.0, 0.0]], dtype=F32)
    xb = np.array([[1.0, 127.0]], dtype=F32)
    qa, qb = lb.PlainTensor(xa), lb.quantize(IG(I8, 0, lb.F32), xb)
    c_old = np.array([[65.0]], dtype=F32)
    got = lb.gemm(qa, qb, lb.F32, 1.0, float(m), c=c_old)
    exp = model_gemm(Operand(qa), Operand(qb), lb.F32, 1.0, float(m), c_old.view(np.uint32))
    compare("gemm fma midpoint beta [ref+default]", "beta fma", lb.F32, got, exp, Operand(qa), Operand(qb))
    assert got.view(F32)[0, 0] == F32(1 + 2.0 ** -23)


def test_gemm_k_zero():
    """K = 0: C = beta * C rounded once (0 when beta is 0, NaN in C or not)."""
    rng = np.random.default_rng(4)
    for fa, fb in ((P(lb.F32), IG(I4, 32, lb.F16)), (R(E4), R(E5)), (MX(E4), MX(lb.E2M1)),
                   (IG(I8, 0, lb.F32), IG(U4, 32, lb.BF16, 1))):
        for c_type in C_TYPES:
            for alpha, beta, special in ((1.0, 0.0, False), (2.0, -0.3, True), (np.inf, 1.0, False)):
                run_case("k = 0", fa, fb, np.zeros((3, 0), F32), np.zeros((5, 0), F32), c_type, alpha, beta, rng,
                         pads=(0, 0, 2), special=special)
