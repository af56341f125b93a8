"""lowbit_quantize / lowbit_dequantize against an independent NumPy model of
the scaled formats, written from the published formulas:

  MX (OCP Microscaling v1.0, torchao's ScaleCalculationMode, NVIDIA's RCEIL)
    block of 32 along a row, E8M0 scale 2^e:
      FLOOR  e = floor(log2 amax) - emax_elem
      CEIL   e = ceil(log2 amax) - emax_elem
      EVEN   torchao: add 2^(22 - mbits) to amax's f32 bits, keep sign and
             exponent only, then FLOOR
      RCEIL  2^e = (amax / max_elem, an f32 division) rounded up to a power
             of two
      e clamped to [-127, 127]; amax == 0 -> code 0x00; NaN/Inf in the block
      -> code 0xFF, elements NaN-coded, dequantized to NaN.
    elements: x * 2^-e (exact), nearest-even, saturated to +-max finite
    (clip, then ml_dtypes' nearest-even cast); MXINT8: 1.6 fixed point,
    clamp(rne(x * 2^-e * 64), -127, 127).
  NVFP4: s_t = amax_tensor / (448 * 6) as f32 (1 if amax is 0);
    s_b = E4M3_rne(amax_b / 6 / s_t) clamped to [2^-9, 448];
    elements E2M1_rne_sat(x / f32(s_t * s_b)); dequant e * f32(s_t * s_b).
  FP8 per-tensor / per-row / 1x128 / 128x128 (f32 scale) and INT8 / INT4
    groups (f32 / f16 / bf16 scale): s = amax / max (127, 7 for integers),
    1 if amax is 0, stored in the scale type by nearest-even (saturating);
    elements sat(x / s), integers clamp(rne(x / s), -max, max).
  INT with zero point: hi = max(max x, 0), lo = min(min x, 0),
    s = (hi - lo) / (qmax - qmin) (1 if hi == lo), stored;
    zp = clamp(rne(qmin - lo / s)); q = clamp(rne(x / s) + zp).
  Arithmetic is f32, one IEEE operation at a time, in the order written.

Rules the formulas leave open, taken from the DESIGN / lowbit docs and
stated here explicitly: a stored scale that would round to zero from a
positive value is raised to the scale type's smallest subnormal (and
NVFP4's s_t to the smallest f32 subnormal); NaN-coded elements use the
element type's NaN encoding (E4M3/E5M2 0x7F, FP6 0x1F, FP4 0x7 = +max,
integers 0); a non-finite block's NVFP4 scale is 0x7F, its integer zero
point 0.
"""

import zlib

import numpy as np
import ml_dtypes as md
import pytest

import lowbit_ctypes as lb
from conftest import EXHAUSTIVE, check_equal, record

NAME = lb.DTYPE_NAMES
ML = {
    lb.E4M3: md.float8_e4m3fn, lb.E5M2: md.float8_e5m2, lb.E4M3FNUZ: md.float8_e4m3fnuz,
    lb.E5M2FNUZ: md.float8_e5m2fnuz, lb.E3M2: md.float6_e3m2fn, lb.E2M3: md.float6_e2m3fn,
    lb.E2M1: md.float4_e2m1fn,
}
ELEM_MAX = {t: float(md.finfo(m).max) for t, m in ML.items()}
# emax_elem of the OCP MX spec (INT8 is read as a 1.6 fixed-point value)
MX_EMAX = {lb.E4M3: 8, lb.E5M2: 15, lb.E3M2: 4, lb.E2M3: 2, lb.E2M1: 2, lb.INT8: 0}
MX_MBITS = {lb.E4M3: 3, lb.E5M2: 2, lb.E3M2: 2, lb.E2M3: 3, lb.E2M1: 1, lb.INT8: 6}
NAN_ELEM = {lb.E4M3: 0x7F, lb.E5M2: 0x7F, lb.E4M3FNUZ: 0x80, lb.E5M2FNUZ: 0x80, lb.E3M2: 0x1F,
            lb.E2M3: 0x1F, lb.E2M1: 0x7, lb.INT8: 0, lb.INT4: 0, lb.UINT4: 0}
INT_RANGE = {lb.INT8: (-128, 127), lb.INT4: (-8, 7), lb.UINT4: (0, 15)}
SYM_MAX = {lb.INT8: 127, lb.INT4: 7}
RULES = [lb.SCALE_FLOOR, lb.SCALE_RCEIL, lb.SCALE_CEIL, lb.SCALE_EVEN]
F32 = np.float32

pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning",
                                        "ignore:overflow encountered:RuntimeWarning",
                                        "ignore:divide by zero encountered:RuntimeWarning")


def test_mx_emax_is_floor_log2_max():
    for t, m in ML.items():
        if t in MX_EMAX:
            assert MX_EMAX[t] == int(np.floor(np.log2(ELEM_MAX[t]))), NAME[t]
            assert MX_MBITS[t] == md.finfo(m).nmant


# ---------------------------------------------------------------------------
# Scalar helpers
# ---------------------------------------------------------------------------

def f32_bits(x):
    return np.ascontiguousarray(x, dtype=F32).view(np.uint32)


def decode_elem(t, codes):
    codes = np.asarray(codes, dtype=np.uint8)
    if t in ML:
        return codes.view(ML[t]).astype(F32)
    if t == lb.INT8:
        return codes.view(np.int8).astype(F32)
    if t == lb.INT4:
        return (codes.astype(np.int32) - ((codes & 8).astype(np.int32) << 1)).astype(F32)
    return codes.astype(F32)


def encode_elem_sat(t, v):
    """Nearest-even, saturating: clip to +-max finite, then ml_dtypes' cast;
    a NaN (0/0 of an underflowed NVFP4 scale) gets the type's NaN code."""
    m = ELEM_MAX[t]
    v = np.asarray(v, dtype=F32)
    codes = np.clip(v, -m, m).astype(ML[t]).view(np.uint8).copy()
    codes[np.isnan(v)] = NAN_ELEM[t]
    return codes


def floor_log2(a):
    """floor(log2 a) of positive finite values (frexp: a = m 2^x, m in [0.5, 1))."""
    m, x = np.frexp(np.asarray(a, dtype=np.float64))
    return x.astype(np.int64) - 1


def ceil_log2(a):
    m, x = np.frexp(np.asarray(a, dtype=np.float64))
    return np.where(m == 0.5, x - 1, x).astype(np.int64)


def store_scale(st, s, positive):
    """An f32 scale into f32/f16/bf16: nearest-even, saturating; where the
    exact scale is positive (`positive`) it never becomes zero, whether the
    f32 division or the narrowing underflowed.  Returns (stored bits, stored
    value as f32)."""
    s = np.asarray(s, dtype=F32)
    if st == lb.F32:
        fmax = float(np.finfo(F32).max)
        v = np.clip(s, -fmax, fmax).astype(F32)   # (hi - lo) may overflow to Inf
        bits = f32_bits(v).copy()
        tiny = np.uint32(1)
        view = lambda b: b.view(F32)
    elif st == lb.F16:
        v = np.clip(s, -65504.0, 65504.0).astype(np.float16)
        bits = v.view(np.uint16).copy()
        tiny = np.uint16(1)
        view = lambda b: b.view(np.float16).astype(F32)
    else:
        mx = float(md.finfo(md.bfloat16).max)
        v = np.clip(s, -mx, mx).astype(md.bfloat16)
        bits = v.view(np.uint16).copy()
        tiny = np.uint16(1)
        view = lambda b: b.view(md.bfloat16).astype(F32)
    raise_ = positive & (view(bits) == 0)
    bits[raise_] = tiny
    return bits, view(bits)


# ---------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------

class Grid:
    def __init__(self, rows, cols, br, bc):
        self.rows, self.cols = rows, cols
        self.br = br if br else max(rows, 1)
        self.bc = bc if bc else max(cols, 1)
        self.gr = -(-rows // self.br)
        self.gc = -(-cols // self.bc)

    def blockwise(self, x, fill):
        """x padded to whole blocks with `fill`, shaped (gr, br, gc, bc)."""
        p = np.full((self.gr * self.br, self.gc * self.bc), fill, dtype=x.dtype)
        p[:self.rows, :self.cols] = x
        return p.reshape(self.gr, self.br, self.gc, self.bc)

    def expand(self, g):
        """Per-block array (gr, gc) -> per-element (rows, cols)."""
        return np.repeat(np.repeat(g, self.br, axis=0), self.bc, axis=1)[:self.rows, :self.cols]


def block_stats(x, grid):
    """amax, max(x, 0), min(x, 0) over finite values, and non-finite flag."""
    fin = np.isfinite(x)
    xf = np.where(fin, x, F32(0))
    b = grid.blockwise(xf, F32(0))          # padding with 0 changes none of these
    amax = np.abs(b).max(axis=(1, 3))
    vmax = np.maximum(b.max(axis=(1, 3)), F32(0))
    vmin = np.minimum(b.min(axis=(1, 3)), F32(0))
    nonfin = ~grid.blockwise(fin, True).all(axis=(1, 3))
    return amax.astype(F32), vmax.astype(F32), vmin.astype(F32), nonfin


# ---------------------------------------------------------------------------
# The model: returns element codes, scale bits, zero point codes, tensor
# scale, and the dequantized f32 matrix.
# ---------------------------------------------------------------------------

def model_mx(x, elem, rule):
    grid = Grid(*x.shape, 1, 32)
    amax, _, _, nonfin = block_stats(x, grid)
    emax = MX_EMAX[elem]
    with np.errstate(all="ignore"):
        pos = np.where(amax > 0, amax, F32(1))
        if rule == lb.SCALE_FLOOR:
            e = floor_log2(pos) - emax
        elif rule == lb.SCALE_CEIL:
            e = ceil_log2(pos) - emax
        elif rule == lb.SCALE_EVEN:
            b = (f32_bits(pos).astype(np.uint64) + (1 << (22 - MX_MBITS[elem]))) & 0xFF800000
            ef = (b >> 23).astype(np.int64)        # sign is 0: the biased exponent
            e = np.where(ef == 0, -1000, ef - 127 - emax)   # rounded amax 0: log2 = -inf
        else:
            maxe = F32(ELEM_MAX[elem]) if elem != lb.INT8 else F32(127.0 / 64.0)
            v = (pos / maxe).astype(F32)
            e = np.where(v > 0, ceil_log2(np.where(v > 0, v, F32(1))), -1000)
    e = np.clip(e, -127, 127)
    sc = (e + 127).astype(np.uint8)
    sc[amax == 0] = 0x00
    sc[nonfin] = 0xFF
    # elements
    sce = grid.expand(sc).astype(np.int64)
    ee = sce - 127
    v = np.ldexp(x.astype(np.float64), -ee)          # exact: x * 2^-e
    nanblk = sce == 0xFF
    if elem == lb.INT8:
        q = np.clip(np.rint(np.where(nanblk, 0.0, v) * 64.0), -127, 127).astype(np.int64)
        codes = (q & 0xFF).astype(np.uint8)
        val = q.astype(F32) / F32(64)
    else:
        codes = encode_elem_sat(elem, np.where(nanblk, 0.0, v).astype(F32))
        val = decode_elem(elem, codes)
    codes = np.where(nanblk, np.uint8(NAN_ELEM[elem]), codes)
    deq = (val * np.ldexp(F32(1), ee).astype(F32)).astype(F32)
    deq[nanblk] = np.nan
    return dict(codes=codes, scales=sc, deq=deq)


NV_MIN_SB = 2.0 ** -9


def model_nvfp4(x, given_s_t=None):
    """NVFP4; given_s_t: a tensor scale the caller gives (FMT_GIVEN_TENSOR_SCALE)
    instead of the one derived from the tensor's amax."""
    elem = lb.E2M1
    grid = Grid(*x.shape, 1, 16)
    amax, _, _, nonfin = block_stats(x, grid)
    fin = np.isfinite(x)
    amax_t = F32(np.abs(np.where(fin, x, 0)).max()) if x.size else F32(0)
    if given_s_t is not None:
        s_t = F32(given_s_t)
    elif amax_t == 0:
        s_t = F32(1)
    else:
        s_t = F32(amax_t / F32(448.0 * 6.0))
        if s_t < F32(2.0 ** -126):
            s_t = F32(2.0 ** -126)                    # floor: smallest normal f32
    v = ((amax / F32(6)).astype(F32) / s_t).astype(F32)
    v = np.clip(v, F32(NV_MIN_SB), F32(448))
    sb = v.astype(md.float8_e4m3fn).view(np.uint8).copy()
    sb[nonfin] = 0x7F
    sbv = sb.view(md.float8_e4m3fn).astype(F32)
    denom = grid.expand((s_t * sbv).astype(F32))
    nanblk = grid.expand(nonfin)
    q = np.where(nanblk, F32(0), (x / np.where(nanblk, F32(1), denom)).astype(F32))
    codes = encode_elem_sat(elem, q)
    codes = np.where(nanblk, np.uint8(NAN_ELEM[elem]), codes)
    deq = (decode_elem(elem, codes) * denom).astype(F32)
    deq[nanblk] = np.nan
    return dict(codes=codes, scales=sb, deq=deq, tensor_scale=s_t)


def model_amax(x, elem, st, br, bc):
    grid = Grid(*x.shape, br, bc)
    amax, _, _, nonfin = block_stats(x, grid)
    m = F32(SYM_MAX[elem]) if elem in SYM_MAX else F32(ELEM_MAX[elem])
    s = np.where(amax == 0, F32(1), (amax / m).astype(F32)).astype(F32)
    sbits, sval = store_scale(st, s, amax > 0)
    sval = sval.astype(F32)
    sval[nonfin] = np.nan
    se = grid.expand(sval)
    nanblk = grid.expand(nonfin)
    v = np.where(nanblk, F32(0), (x / np.where(nanblk, F32(1), se)).astype(F32))
    if elem in SYM_MAX:
        mm = SYM_MAX[elem]
        q = np.clip(np.rint(v.astype(np.float64)), -mm, mm).astype(np.int64)
        codes = (q & (0xFF if elem == lb.INT8 else 0xF)).astype(np.uint8)
        val = q.astype(F32)
    else:
        codes = encode_elem_sat(elem, v)
        val = decode_elem(elem, codes)
    codes = np.where(nanblk, np.uint8(NAN_ELEM[elem]), codes)
    deq = (val * se).astype(F32)
    deq[nanblk] = np.nan
    return dict(codes=codes, scales=sbits, scale_nan=nonfin, deq=deq)


def model_zp(x, elem, st, br, bc):
    grid = Grid(*x.shape, br, bc)
    _, hi, lo, nonfin = block_stats(x, grid)
    qmin, qmax = INT_RANGE[elem]
    rng = (hi - lo).astype(F32)
    s = np.where(rng == 0, F32(1), (rng / F32(qmax - qmin)).astype(F32)).astype(F32)
    sbits, sval = store_scale(st, s, rng > 0)
    sval = sval.astype(F32)
    safe = np.where(nonfin, F32(1), sval)
    zp = np.clip(np.rint((F32(qmin) - (lo / safe).astype(F32)).astype(F32).astype(np.float64)), qmin, qmax)
    zp = np.where(nonfin, 0, zp).astype(np.int64)
    se, zpe, nanblk = grid.expand(safe), grid.expand(zp), grid.expand(nonfin)
    v = np.where(nanblk, F32(0), (x / se).astype(F32))
    q = np.clip(np.rint(v.astype(np.float64)) + zpe, qmin, qmax).astype(np.int64)
    q = np.where(nanblk, 0, q)
    mask = 0xFF if elem == lb.INT8 else 0xF
    deq = ((q - zpe).astype(F32) * se).astype(F32)
    deq[nanblk] = np.nan
    return dict(codes=(q & mask).astype(np.uint8), scales=sbits, scale_nan=nonfin,
                zero_points=(zp & mask).astype(np.uint8), deq=deq)


def model(fmt, x):
    elem, st = fmt.elem, fmt.scale_type
    if st == lb.E8M0:
        return model_mx(x, elem, fmt.rule)
    if st == lb.E4M3:
        return model_nvfp4(x)
    if fmt.flags & lb.FMT_ZERO_POINT:
        return model_zp(x, elem, st, fmt.block_rows, fmt.block_cols)
    return model_amax(x, elem, st, fmt.block_rows, fmt.block_cols)


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------

def gen(dist, rows, cols, rng, fmt):
    n = rows * cols
    if dist == "normal":
        x = rng.standard_normal(n)
    elif dist == "laplace":
        x = rng.laplace(size=n) * 10.0 ** rng.uniform(-3, 3)
    elif dist == "outliers":
        x = rng.standard_normal(n)
        k = max(1, n // 100)
        x[rng.integers(0, n, k)] *= 10.0 ** rng.uniform(2, 5, k)
    elif dist == "tiny":
        # f32 subnormal and near-subnormal magnitudes
        x = rng.standard_normal(n) * 10.0 ** rng.uniform(-44, -36, n)
    elif dist == "huge":
        x = rng.standard_normal(n) * 10.0 ** rng.uniform(30, 37.5, n)
    elif dist == "pow2":
        # values exactly on power-of-two edges, and an amax right at, just
        # under or just over elem_max * 2^k in many blocks
        k = rng.integers(-30, 30, n)
        m = rng.choice([1.0, 1.5, 1.75, 1.25, 1.875, 2 - 2.0 ** -23, 1 + 2.0 ** -23, 1.125], n)
        x = np.ldexp(m, k) * rng.choice([-1.0, 1.0], n)
        x = x.astype(F32)
        top = ELEM_MAX.get(fmt.elem, 127.0 if fmt.elem != lb.UINT4 else 15.0)
        for i in range(0, n, 7):
            b = F32(np.ldexp(top, int(rng.integers(-12, 12))))
            d = int(rng.integers(-2, 3))
            x[i] = np.uint32(int(b.view(np.uint32)) + d).view(F32) * rng.choice([-1, 1])
        return x.reshape(rows, cols)
    elif dist == "specials":
        x = rng.standard_normal(n)
    else:
        raise ValueError(dist)
    x = x.astype(F32).reshape(rows, cols)
    if dist == "specials" or dist == "normal":
        # blocks (of every format's shape) with NaN, +-Inf, all zeros, -0,
        # and lone tiny values
        r = rng.integers(0, rows, 6)
        c = rng.integers(0, cols, 6)
        x[r[0], c[0]] = np.nan
        x[r[1], c[1]] = np.inf
        x[r[2], c[2]] = -np.inf
        if dist == "specials":
            x[r[3], :] = 0.0
            x[r[4], : cols // 2] = -0.0
            x[r[5], :] = 0.0
            x[r[5], c[5]] = np.uint32(3).view(F32)
            x[rng.integers(0, rows), rng.integers(0, cols)] = np.uint32(0x7FA00001).view(F32)
    return x


DISTS = ["normal", "laplace", "outliers", "tiny", "huge", "pow2", "specials"]
SHAPES = [(1, 32), (4, 64), (3, 100), (7, 33), (2, 16), (130, 260)]


def shapes_for(fmt):
    if fmt.block_rows > 1:
        return [(130, 260), (128, 128), (5, 300)]
    return SHAPES


def formats():
    out = []
    for elem in (lb.E4M3, lb.E5M2, lb.E3M2, lb.E2M3, lb.E2M1, lb.INT8):
        for rule in RULES:
            out.append(lb.format_mx(elem, rule))
    out.append(lb.format_nvfp4())
    for elem in (lb.E4M3, lb.E5M2, lb.E4M3FNUZ, lb.E5M2FNUZ):
        out.append(lb.format_fp8_tensor(elem))
        out.append(lb.format_fp8_row(elem))
    for elem in (lb.E4M3, lb.E5M2):
        out.append(lb.format_fp8_block(elem, 1, 128))
        out.append(lb.format_fp8_block(elem, 128, 128))
    for st in (lb.F32, lb.F16, lb.BF16):
        for elem in (lb.INT8, lb.INT4):
            for g in (32, 128, 0):
                out.append(lb.format_int_group(elem, g, st, 0))
        for elem in (lb.INT8, lb.INT4, lb.UINT4):
            for g in (32, 64, 0):
                out.append(lb.format_int_group(elem, g, st, 1))
    # a float element with a bf16 group scale
    out.append(lb.format_int_group(lb.E4M3, 32, lb.BF16, 0))
    return out


FORMATS = formats()


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------

def compare(fmt, x_f32, q, ref, label):
    name = "%s [%s]" % (lb.format_name(fmt), label)
    check_equal("quantize codes " + name, q.codes(), ref["codes"], x_f32)
    grid_in = np.zeros(ref["scales"].shape, dtype=F32)
    sc = q.scale_codes()
    if "scale_nan" in ref:
        nan = ref["scale_nan"]
        got_nan = np.isnan(sc.view(F32) if fmt.scale_type == lb.F32 else
                           sc.view(np.float16) if fmt.scale_type == lb.F16 else sc.view(md.bfloat16))
        check_equal("quantize scale NaN-ness " + name, got_nan, nan, grid_in)
        check_equal("quantize scales " + name, sc, ref["scales"], grid_in, cases_mask=~nan)
    else:
        check_equal("quantize scales " + name, sc, ref["scales"], grid_in)
    if "zero_points" in ref:
        check_equal("quantize zero points " + name, q.zero_point_codes(), ref["zero_points"], grid_in)
    if "tensor_scale" in ref:
        check_equal("quantize tensor scale " + name, f32_bits(q.tensor_scale), f32_bits(ref["tensor_scale"]),
                    np.zeros(1, F32))
    deq = lb.dequantize(q, lb.F32)
    nan = np.isnan(ref["deq"])
    check_equal("dequantize f32 NaN-ness " + name, np.isnan(deq), nan, x_f32)
    check_equal("dequantize f32 " + name, f32_bits(deq), f32_bits(ref["deq"]), x_f32, cases_mask=~nan)
    return deq


def run_case(fmt, x, label, src_stride_pad=0, q_stride_pad=0, dst_stride_pad=0, wide=False):
    rows, cols = x.shape
    if src_stride_pad:
        buf = np.full((rows, cols + src_stride_pad), np.nan, dtype=x.dtype)
        buf[:, :cols] = x
        xs = buf[:, :cols]
    else:
        xs = x
    x32 = x.astype(F32)
    row_stride = None
    if q_stride_pad:
        bits = lb.DTYPE_BITS[fmt.elem]
        mult = 4 if bits == 6 else 2 if bits == 4 else 1
        row_stride = -(-cols // mult) * mult + q_stride_pad * mult
    q = lb.quantize(fmt, xs, row_stride=row_stride)
    ref = model(fmt, x32)
    compare(fmt, x32, q, ref, label)
    if dst_stride_pad:
        d = lb.dequantize(q, lb.F32, dst_row_stride=cols + dst_stride_pad)
        nan = np.isnan(ref["deq"])
        check_equal("dequantize f32 strided %s [%s]" % (lb.format_name(fmt), label), f32_bits(d),
                    f32_bits(ref["deq"]), x32, cases_mask=~nan)
    if wide:
        # f16 / bf16 outputs: the f32 product rounded once (NumPy / ml_dtypes)
        nan = np.isnan(ref["deq"])
        with np.errstate(all="ignore"):
            e16 = ref["deq"].astype(np.float16).view(np.uint16)
            eb16 = ref["deq"].astype(md.bfloat16).view(np.uint16)
        for dt, exp in ((lb.F16, e16), (lb.BF16, eb16)):
            got = lb.dequantize(q, dt)
            check_equal("dequantize %s %s [%s]" % (NAME[dt], lb.format_name(fmt), label), got, exp, x32,
                        cases_mask=~nan)
            view = got.view(np.float16) if dt == lb.F16 else got.view(md.bfloat16)
            check_equal("dequantize %s NaN-ness %s [%s]" % (NAME[dt], lb.format_name(fmt), label),
                        np.isnan(view), nan, x32)
    return q


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: lb.format_name(f))
def test_quantize_matches_model(fmt):
    assert lb.format_check(fmt) == lb.OK, lb.last_error()
    rng = np.random.default_rng(zlib.crc32(lb.format_name(fmt).encode()))
    shapes = shapes_for(fmt)
    for i, dist in enumerate(DISTS):
        for j, (rows, cols) in enumerate(shapes):
            if (rows * cols > 20000) and (i + j) % 3:
                continue    # big shapes on a third of the distributions
            x = gen(dist, rows, cols, rng, fmt)
            pads = (i + j) % 4
            run_case(fmt, x, "%s %dx%d" % (dist, rows, cols),
                     src_stride_pad=(0, 5, 1, 0)[pads], q_stride_pad=(0, 0, 1, 3)[pads],
                     dst_stride_pad=(0, 3, 0, 2)[pads], wide=(i + j) % 2 == 0)


@pytest.mark.parametrize("src", ["f16", "bf16"])
def test_quantize_from_16bit_sources(src):
    """f16 / bf16 inputs are taken to f32 exactly first."""
    rng = np.random.default_rng(99)
    dt = np.float16 if src == "f16" else md.bfloat16
    picks = [lb.format_mx(lb.E4M3, lb.SCALE_FLOOR), lb.format_mx(lb.E2M1, lb.SCALE_RCEIL),
             lb.format_mx(lb.INT8, lb.SCALE_EVEN), lb.format_nvfp4(), lb.format_fp8_row(lb.E4M3),
             lb.format_int_group(lb.INT4, 32, lb.BF16, 0), lb.format_int_group(lb.UINT4, 32, lb.F16, 1)]
    for fmt in picks:
        for dist in ("normal", "outliers", "specials", "pow2"):
            x = gen(dist, 5, 96, rng, fmt)
            with np.errstate(all="ignore"):
                xh = x.astype(dt)
            run_case(fmt, xh, "%s from %s" % (dist, src), src_stride_pad=3)


def test_mx_scale_rule_edges():
    """Block amax exactly at the boundaries where the four MX rules differ:
    powers of two, max_elem * 2^k and one f32 ulp either side, the EVEN
    rounding point, subnormal amax and the largest f32."""
    cases = []
    for elem in (lb.E4M3, lb.E5M2, lb.E3M2, lb.E2M3, lb.E2M1, lb.INT8):
        top = ELEM_MAX.get(elem, 127.0 / 64.0)
        mb = MX_MBITS[elem]
        for k in list(range(-140, -120, 3)) + list(range(-10, 11)) + [100, 120, 126, 127]:
            for base in (1.0, top, 2.0 - 2.0 ** -mb, 2.0 - 2.0 ** -(mb + 1), 1.5):
                a = np.ldexp(base, k)
                if a >= 3.4e38:
                    continue
                a32 = F32(a)
                for d in (-1, 0, 1):
                    cases.append(np.uint32(int(a32.view(np.uint32)) + d).view(F32))
        cases += [np.finfo(F32).max, np.uint32(1).view(F32), np.uint32(0x7FFFFF).view(F32),
                  np.uint32(0x400000).view(F32), np.uint32(0x3FFFFF).view(F32)]
        cases = [c for c in cases if np.isfinite(c) and c > 0]
        rng = np.random.default_rng(len(cases))
        # each row is one block: amax = the case value, other elements below it
        amax = np.array(cases, dtype=F32)
        x = (rng.uniform(-1, 1, (amax.size, 32)) * amax[:, None].astype(np.float64)).astype(F32)
        x[:, 5] = amax
        x[::2, 5] *= -1
        for rule in RULES:
            fmt = lb.format_mx(elem, rule)
            run_case(fmt, x, "rule edges", wide=True)
        cases = []


def test_stochastic_quantize_reproducible_and_chunkable():
    """Same seed, same bits; quantizing row slices with offset = r0 * cols
    gives the rows of the whole-tensor result (per-row scaled formats)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((9, 96)).astype(F32) * 5
    for fmt in (lb.format_mx(lb.E2M1, lb.SCALE_FLOOR), lb.format_mx(lb.INT8, lb.SCALE_RCEIL),
                lb.format_fp8_row(lb.E5M2), lb.format_int_group(lb.INT4, 32, lb.F16, 0),
                lb.format_int_group(lb.UINT4, 32, lb.BF16, 1), lb.format_nvfp4()):
        kw = dict(rounding=lb.ROUND_STOCHASTIC, seed=0xDEADBEEF12345678)
        a = lb.quantize(fmt, x, **kw)
        b = lb.quantize(fmt, x, **kw)
        name = lb.format_name(fmt)
        check_equal("stochastic quantize same seed " + name, a.codes(), b.codes(), x)
        check_equal("stochastic quantize scales nearest-even " + name, a.scale_codes(),
                    lb.quantize(fmt, x).scale_codes(), np.zeros(a.grid, F32))
        if fmt.flags & lb.FMT_TENSOR_SCALE:
            continue   # the tensor scale needs the whole tensor
        parts = []
        for r0, r1 in ((0, 1), (1, 4), (4, 9)):
            parts.append(lb.quantize(fmt, x[r0:r1], offset=r0 * x.shape[1], **kw).codes())
        check_equal("stochastic quantize chunked " + name, np.concatenate(parts), a.codes(), x)
        c = lb.quantize(fmt, x, rounding=lb.ROUND_STOCHASTIC, seed=1)
        assert np.count_nonzero(c.codes() != a.codes()) > 0


def test_nvfp4_given_tensor_scale():
    """NVFP4 with FMT_GIVEN_TENSOR_SCALE against the NumPy model under the same
    tensor scale: the derived one (same bits as plain NVFP4), the smallest
    allowed (blocks saturate at 448 and +-6), and 2^k multiples of it; the
    given scale is kept; invalid ones are refused."""
    fmt = lb.format_nvfp4()
    fmt.flags |= lb.FMT_GIVEN_TENSOR_SCALE
    assert lb.format_check(fmt) == lb.OK, lb.last_error()
    assert lb.format_name(fmt) == "nv_e2m1_g16_given"
    rng = np.random.default_rng(0x61BE)
    cases = 0
    for dist in DISTS:
        for rows, cols in ((1, 16), (3, 47), (17, 160)):
            x = gen(dist, rows, cols, rng, fmt)
            x32 = x.astype(F32)
            derived = model_nvfp4(x32)["tensor_scale"]
            for s_t in (derived, F32(2.0 ** -126), F32(derived * F32(2.0 ** -5)), F32(derived * F32(12.5))):
                s_t = F32(min(max(float(s_t), 2.0 ** -126), 2.0 ** 127))
                q = lb.quantize(fmt, x, tensor_scale=s_t)
                ref = model_nvfp4(x32, given_s_t=s_t)
                compare(fmt, x32, q, ref, "%s %dx%d given %r" % (dist, rows, cols, float(s_t)))
                cases += 1
            plain = lb.quantize(lb.format_nvfp4(), x)
            same = lb.quantize(fmt, x, tensor_scale=plain.tensor_scale)
            assert np.array_equal(same.codes(), plain.codes()) and np.array_equal(same.scale_codes(),
                                                                                   plain.scale_codes())
    assert cases == len(DISTS) * 3 * 4
    x = np.ones((1, 16), dtype=F32)
    for bad in (0.0, -1.0, 2.0 ** -127, np.inf, np.nan):
        with pytest.raises(lb.LowbitError) as e:
            lb.quantize(fmt, x, tensor_scale=bad)
        assert e.value.status == lb.ERR_OUT_OF_RANGE and "tensor_scale" in str(e.value)


def test_format_helpers():
    f = lb.format_mx(lb.E4M3, lb.SCALE_RCEIL)
    assert (f.elem, f.scale_type, f.block_rows, f.block_cols, f.rule, f.flags) == (lb.E4M3, lb.E8M0, 1, 32,
                                                                                   lb.SCALE_RCEIL, 0)
    f = lb.format_nvfp4()
    assert (f.elem, f.scale_type, f.block_rows, f.block_cols, f.flags) == (lb.E2M1, lb.E4M3, 1, 16,
                                                                           lb.FMT_TENSOR_SCALE)
    f = lb.format_fp8_tensor(lb.E5M2)
    assert (f.elem, f.scale_type, f.block_rows, f.block_cols) == (lb.E5M2, lb.F32, 0, 0)
    f = lb.format_fp8_row(lb.E4M3)
    assert (f.block_rows, f.block_cols) == (1, 0)
    f = lb.format_fp8_block(lb.E4M3, 128, 128)
    assert (f.block_rows, f.block_cols, f.scale_type) == (128, 128, lb.F32)
    f = lb.format_int_group(lb.UINT4, 64, lb.BF16, 1)
    assert (f.elem, f.scale_type, f.block_rows, f.block_cols, f.flags) == (lb.UINT4, lb.BF16, 1, 64,
                                                                           lb.FMT_ZERO_POINT)
    for fmt in FORMATS:
        assert lb.format_check(fmt) == lb.OK
    # combinations the DESIGN does not offer are refused, with a message
    bad = [lb.format_int_group(lb.UINT4, 32, lb.F16, 0),          # uint4 needs a zero point
           lb.format_mx(lb.E4M3FNUZ, lb.SCALE_FLOOR),             # MX has no FNUZ elements
           lb.format_int_group(lb.E4M3, 32, lb.F16, 1)]           # zero point on a float element
    for fmt in bad:
        assert lb.format_check(fmt) != lb.OK
        assert lb.last_error() != ""
        with pytest.raises(lb.LowbitError):
            lb.QTensor(fmt, 4, 64)
    q = lb.QTensor(lb.format_mx(lb.E2M1), 3, 70)
    assert q.grid == (3, 3) and q.row_stride == 70 and q.c.scales_bytes == 9 and q.c.data_bytes == 105
    q = lb.QTensor(lb.format_mx(lb.E3M2), 2, 33)
    assert q.row_stride == 36 and q.c.scales_bytes == 4
    q = lb.QTensor(lb.format_int_group(lb.INT4, 32, lb.F16, 1), 5, 65)
    assert q.grid == (5, 3) and q.row_stride == 66 and q.c.scales_bytes == 30 and q.c.zero_points_bytes == 8
    record("format helper checks", 1, 0)


def test_scale_overflow_and_underflow_edges():
    """Blocks whose f32 scale arithmetic overflows (zero point: hi - lo
    beyond f32 max) or underflows (amax / max below the smallest f32
    subnormal): the stored scale saturates / stays positive, so a finite
    block never dequantizes to NaN."""
    big = np.zeros((3, 64), dtype=F32)
    big[0, 0], big[0, 1], big[0, 2] = 3e38, -3e38, 1e38
    big[1, :] = np.linspace(-3.4e38, 3.4e38, 64).astype(F32)
    big[2, 5] = np.finfo(F32).max
    big[2, 6] = -np.finfo(F32).max
    tiny = np.zeros((3, 64), dtype=F32)
    tiny[0, 3] = np.uint32(1).view(F32)
    tiny[1, :] = np.arange(64).astype(np.uint32).view(F32) * np.where(np.arange(64) % 2, 1, -1).astype(F32)
    tiny[2, 7] = np.uint32(0x80000005).view(F32)
    for st in (lb.F32, lb.F16, lb.BF16):
        for elem, zp in ((lb.UINT4, 1), (lb.INT4, 1), (lb.INT8, 1), (lb.INT4, 0), (lb.INT8, 0)):
            fmt = lb.format_int_group(elem, 32, st, zp)
            for name, x in (("overflow", big), ("underflow", tiny)):
                q = run_case(fmt, x, "scale " + name, wide=True)
                if st == lb.F32:
                    assert not np.isnan(lb.dequantize(q)).any()
    for elem in (lb.E4M3, lb.E5M2, lb.E4M3FNUZ):
        for fmt in (lb.format_fp8_row(elem), lb.format_fp8_tensor(elem)):
            for name, x in (("overflow", big), ("underflow", tiny)):
                q = run_case(fmt, x, "scale " + name, wide=True)
                assert not np.isnan(lb.dequantize(q)).any()
    for elem in (lb.E4M3, lb.E2M1, lb.INT8):
        for rule in RULES:
            for name, x in (("overflow", big), ("underflow", tiny)):
                run_case(lb.format_mx(elem, rule), x, "scale " + name, wide=True)
    for name, x in (("overflow", big), ("underflow", tiny)):
        run_case(lb.format_nvfp4(), x, "scale " + name, wide=True)


@pytest.mark.skipif(not EXHAUSTIVE, reason="set LOWBIT_PY_EXHAUSTIVE=1 (meson -Dexhaustive=true)")
@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: lb.format_name(f))
def test_exhaustive_scaled_random(fmt):
    """Many more random tensors per format: every distribution, 24 seeds,
    256 x 1024 (and 384 x 640 for 2-D blocks)."""
    shape = (384, 640) if fmt.block_rows > 1 else (256, 1024)
    for seed in range(24):
        rng = np.random.default_rng(seed * 7919 + zlib.crc32(lb.format_name(fmt).encode()))
        for i, dist in enumerate(DISTS):
            x = gen(dist, shape[0], shape[1], rng, fmt)
            run_case(fmt, x, "exhaustive %s" % dist, src_stride_pad=(seed + i) % 3,
                     q_stride_pad=(seed + i) % 2, wide=(seed + i) % 4 == 0)
