"""lowbit.QTensor, quantize and dequantize."""

import ctypes

import numpy as np

from ._convert import make_opts
from ._dtypes import BITS, ENUM, WIDE, canonical, source_type, storage_dtype
from ._format import Format, as_format
from ._lib import LIB, CQTensor, check, fail
from ._pack import codes_of, from_codes, pack, unpack


def _matrix(x, call):
    a = np.asarray(x)
    if a.ndim != 2:
        fail("LOWBIT_ERR_SHAPE_MISMATCH", "need a 2-D array (rows x cols, blocks along the rows), "
             "got shape %s" % (a.shape,), call)
    return a


class QTensor:
    """A quantized rows x cols matrix: the C lowbit_qtensor and its buffers.

    Made by lowbit.quantize or QTensor.from_arrays.  The arrays read out of
    it are copies, one element per entry:

    codes         rows x cols, the element type's storage dtype
    scales        block grid, the scale type's storage dtype (None if unscaled)
    zero_points   block grid, element storage dtype, or None
    tensor_scale  the f32 second-level scale (NVFP4-style formats), or None
    """

    def __init__(self, fmt, rows, cols):
        self.format = as_format(fmt, "QTensor").check()
        if self.format.is_plain and self.format.elem in WIDE:
            fail("LOWBIT_ERR_UNSUPPORTED", "a plain %s format is no quantized tensor: pass the float array "
                 "to lowbit.gemm directly" % self.format.elem, "QTensor")
        self._c = CQTensor()
        cf = self.format.to_c()
        check(LIB.lowbit_qtensor_init(ctypes.byref(self._c), ctypes.byref(cf), int(rows), int(cols)),
              "lowbit_qtensor_init(%s)" % self.format.name)
        # NumPy owns the memory; the C struct points into it for as long as
        # this object lives.
        self._data = np.zeros(max(self._c.data_bytes, 1), np.uint8)
        self._scales = np.zeros(max(self._c.scales_bytes, 1), np.uint8)
        self._zps = np.zeros(max(self._c.zero_points_bytes, 1), np.uint8)
        self._c.data = self._data.ctypes.data
        self._c.scales = self._scales.ctypes.data if self._c.scales_bytes else None
        self._c.zero_points = self._zps.ctypes.data if self._c.zero_points_bytes else None
        gr, gc = ctypes.c_size_t(), ctypes.c_size_t()
        check(LIB.lowbit_qtensor_grid(ctypes.byref(self._c), ctypes.byref(gr), ctypes.byref(gc)),
              "lowbit_qtensor_grid")
        self.grid = (gr.value, gc.value)

    # ---- shape ------------------------------------------------------------

    @property
    def shape(self):
        return (int(self._c.rows), int(self._c.cols))

    @property
    def rows(self):
        return self.shape[0]

    @property
    def cols(self):
        return self.shape[1]

    @property
    def nbytes(self):
        """Bytes of the C buffers (elements incl. row padding, scales, zero points)."""
        return int(self._c.data_bytes + self._c.scales_bytes + self._c.zero_points_bytes)

    @property
    def num_blocks(self):
        return self.grid[0] * self.grid[1]

    # ---- contents -----------------------------------------------------------

    def raw_codes(self):
        """Element codes, rows x cols uint8 (the low bits of each entry)."""
        rows, cols = self.shape
        stride = int(self._c.row_stride)
        bits = BITS[self.format.elem]
        flat = unpack(self._data, bits, rows * stride)
        return np.ascontiguousarray(flat.reshape(rows, stride)[:, :cols])

    @property
    def codes(self):
        return from_codes(self.raw_codes(), self.format.elem)

    def raw_scales(self):
        """Scales as stored: uint8 codes (E8M0, E4M3), uint16 (f16, bf16), uint32 (f32);
        None for a plain (unscaled) format."""
        st = self.format.scale
        if st is None:
            return None
        item = (BITS[st] + 7) // 8
        bits = {1: np.uint8, 2: np.uint16, 4: np.uint32}[item]
        n = self.num_blocks
        return self._scales[:n * item].view(bits).reshape(self.grid).copy()

    @property
    def scales(self):
        s = self.raw_scales()
        return None if s is None else from_codes(s, self.format.scale)

    def raw_zero_points(self):
        if not self.format.zero_point:
            return None
        return unpack(self._zps, BITS[self.format.elem], self.num_blocks).reshape(self.grid)

    @property
    def zero_points(self):
        z = self.raw_zero_points()
        return None if z is None else from_codes(z, self.format.elem)

    @property
    def tensor_scale(self):
        return float(np.float32(self._c.tensor_scale)) if self.format.tensor_scale else None

    # ---- building from stored arrays ------------------------------------------

    @classmethod
    def from_arrays(cls, fmt, codes, scales, zero_points=None, tensor_scale=None):
        """A QTensor from its parts (e.g. loaded from a checkpoint).

        codes: rows x cols in the element type (typed, or uint8 codes);
        scales: the block grid in the scale type (typed, or its bit patterns);
        zero_points: the block grid, with zero-point formats; tensor_scale:
        float, with two-level formats.  Shapes are checked against the grid.
        """
        call = "QTensor.from_arrays"
        codes = _matrix(codes, call)
        q = cls(fmt, *codes.shape)
        f = q.format
        rows, cols = q.shape
        stride = int(q._c.row_stride)
        try:
            c = np.zeros((rows, stride), np.uint8)
            c[:, :cols] = codes_of(codes, f.elem)
            q._data[:q._c.data_bytes] = pack(c, BITS[f.elem])[:q._c.data_bytes]
            s = np.asarray(scales)
            if s.shape != q.grid:
                fail("LOWBIT_ERR_SHAPE_MISMATCH", "scales have shape %s, the block grid is %s"
                     % (s.shape, q.grid), call)
            sb = codes_of(s, f.scale).ravel().view(np.uint8)
            q._scales[:sb.size] = sb
            if f.zero_point:
                if zero_points is None or np.shape(zero_points) != q.grid:
                    fail("LOWBIT_ERR_SHAPE_MISMATCH", "%s needs zero points of shape %s"
                         % (f.name, q.grid), call)
                zb = pack(codes_of(np.asarray(zero_points), f.elem), BITS[f.elem])
                q._zps[:zb.size] = zb
            elif zero_points is not None:
                fail("LOWBIT_ERR_UNSUPPORTED", "%s has no zero points" % f.name, call)
        except TypeError as e:
            fail("LOWBIT_ERR_UNSUPPORTED", str(e), call)
        if f.tensor_scale:
            if tensor_scale is None:
                fail("LOWBIT_ERR_NULL_POINTER", "%s needs tensor_scale" % f.name, call)
            q._c.tensor_scale = float(tensor_scale)
        elif tensor_scale is not None:
            fail("LOWBIT_ERR_UNSUPPORTED", "%s has no tensor scale" % f.name, call)
        return q

    def dequantize(self, dtype=np.float32, raw=False):
        return dequantize(self, dtype, raw)

    def __repr__(self):
        return "QTensor(%s, shape=%s, grid=%s)" % (self.format.name, self.shape, self.grid)


def quantize(x, fmt, rounding="rne", seed=0, offset=0, tensor_scale=None):
    """Quantize a 2-D float32 / float16 / bfloat16 array into format fmt.

    fmt: a lowbit.Format or a name ("mxfp4", "nvfp4", "int4_g128_f16_zp",
    ...).  Scales come from the data; elements always saturate.  rounding:
    "rne", "rtz" or "sr" (stochastic, keyed by seed and offset + r*cols + c).
    tensor_scale: the calibrated tensor scale of a format with
    given_tensor_scale ("nvfp4_given"), required there and refused elsewhere.
    """
    call = "lowbit.quantize"
    a = _matrix(x, call)
    src = source_type(a, None, call)
    if src not in WIDE:
        fail("LOWBIT_ERR_UNSUPPORTED", "quantize takes float32, float16 or bfloat16, not %s" % a.dtype, call)
    a = np.ascontiguousarray(a)
    q = QTensor(fmt, *a.shape)
    if q.format.given_tensor_scale:
        if tensor_scale is None:
            fail("LOWBIT_ERR_NULL_POINTER", "%s needs tensor_scale" % q.format.name, call)
        q._c.tensor_scale = float(tensor_scale)
    elif tensor_scale is not None:
        fail("LOWBIT_ERR_UNSUPPORTED", "%s derives its tensor scale from the data (given_tensor_scale is off)"
             % q.format.name, call)
    opts = make_opts(rounding, False, seed, offset, call)
    check(LIB.lowbit_quantize(ctypes.byref(q._c), ENUM[src], a.ctypes.data if a.size else None,
                              a.shape[1], ctypes.byref(opts)), "%s(%s)" % (call, q.format.name))
    return q


def dequantize(q, dtype=np.float32, raw=False):
    """Expand a QTensor to a rows x cols array of f32 / f16 / bf16
    (element x scale formed in f32, rounded once)."""
    call = "lowbit.dequantize"
    if not isinstance(q, QTensor):
        fail("LOWBIT_ERR_UNSUPPORTED", "expected a lowbit.QTensor, not %s" % type(q).__name__, call)
    dst = canonical(dtype, call)
    if dst not in WIDE:
        fail("LOWBIT_ERR_UNSUPPORTED", "dequantize writes f32, f16 or bf16, not %s" % dst, call)
    rows, cols = q.shape
    bits = np.uint32 if dst == "f32" else np.uint16
    out = np.zeros((rows, cols), bits)
    check(LIB.lowbit_dequantize(ENUM[dst], out.ctypes.data if out.size else None, cols, ctypes.byref(q._c)),
          "%s(%s)" % (call, q.format.name))
    return out.view(storage_dtype(dst, raw))
