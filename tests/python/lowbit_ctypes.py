"""ctypes bindings of liblowbit for the Python oracle tests.

The shared library is taken from the LOWBIT_LIB environment variable (set by
`meson test`).  Every function here returns NumPy arrays in a plain layout so
they can be compared with ml_dtypes / NumPy results:

  f32            float32 array
  f16, bf16      uint16 array of bit patterns
  other types    uint8 array, one code per element (4- and 6-bit codes are
                 unpacked here; the library itself sees the packed layout)

GEMM (gemm, gemm_packed) returns C as bit patterns: uint32 for f32, uint16
for f16 / bf16; PlainTensor is an unscaled f32 / f16 / bf16 operand
(lowbit_format_plain).  set_backend / get_backend wrap lowbit_set_backend.

Failures of the library raise LowbitError carrying the status name and the
library's detail message.
"""

import ctypes
import os

import numpy as np

# ---- enums, mirroring include/lowbit.h ----------------------------------

F32, F16, BF16, E4M3, E5M2, E4M3FNUZ, E5M2FNUZ, E3M2, E2M3, E2M1, E8M0, INT8, INT4, UINT4 = range(14)
DTYPE_COUNT = 14
DTYPE_NAMES = ["f32", "f16", "bf16", "e4m3", "e5m2", "e4m3fnuz", "e5m2fnuz", "e3m2", "e2m3",
               "e2m1", "e8m0", "int8", "int4", "uint4"]
DTYPE_BITS = [32, 16, 16, 8, 8, 8, 8, 6, 6, 4, 8, 8, 4, 4]

ROUND_NEAREST_EVEN, ROUND_TOWARD_ZERO, ROUND_STOCHASTIC = 0, 1, 2
SCALE_FLOOR, SCALE_RCEIL, SCALE_CEIL, SCALE_EVEN = 0, 1, 2, 3
SCALE_RULE_NAMES = ["floor", "rceil", "ceil", "even"]
FMT_ZERO_POINT = 0x1
FMT_TENSOR_SCALE = 0x2
FMT_GIVEN_TENSOR_SCALE = 0x4
GEMM_ALLOW_FAST = 0x1
OK = 0
ERR_PACK_MISMATCH = 17
ERR_OUT_OF_RANGE = 18

BACKEND_AUTO, BACKEND_REF, BACKEND_AVX2, BACKEND_AVX512, BACKEND_AMX, BACKEND_NEON, BACKEND_CUDA, \
    BACKEND_HIP = range(8)
BACKEND_COUNT = 8


class LowbitError(RuntimeError):
    def __init__(self, status, detail, call):
        super().__init__("%s failed: %s (%s)" % (call, status_string(status), detail))
        self.status = status
        self.detail = detail


class ConvertOpts(ctypes.Structure):
    _fields_ = [("rounding", ctypes.c_int),
                ("saturate", ctypes.c_int),
                ("seed", ctypes.c_uint64),
                ("offset", ctypes.c_uint64)]


class Format(ctypes.Structure):
    _fields_ = [("elem", ctypes.c_int),
                ("scale_type", ctypes.c_int),
                ("block_rows", ctypes.c_uint32),
                ("block_cols", ctypes.c_uint32),
                ("rule", ctypes.c_int),
                ("flags", ctypes.c_uint32)]

    def __repr__(self):
        return "Format(%s)" % format_name(self)


class GemmOpts(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint32)]


class QTensorC(ctypes.Structure):
    _fields_ = [("format", Format),
                ("data", ctypes.c_void_p),
                ("scales", ctypes.c_void_p),
                ("zero_points", ctypes.c_void_p),
                ("tensor_scale", ctypes.c_float),
                ("rows", ctypes.c_size_t),
                ("cols", ctypes.c_size_t),
                ("row_stride", ctypes.c_size_t),
                ("data_bytes", ctypes.c_size_t),
                ("scales_bytes", ctypes.c_size_t),
                ("zero_points_bytes", ctypes.c_size_t)]


def _load():
    path = os.environ.get("LOWBIT_LIB")
    if not path:
        raise RuntimeError("LOWBIT_LIB is not set: point it at liblowbit.so (meson test does)")
    lib = ctypes.CDLL(path)
    vp, sz, i, u32, f32 = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_uint32, ctypes.c_float
    sigs = {
        "lowbit_status_string": (ctypes.c_char_p, [i]),
        "lowbit_last_error": (ctypes.c_char_p, []),
        "lowbit_dtype_bits": (ctypes.c_uint, [i]),
        "lowbit_dtype_name": (ctypes.c_char_p, [i]),
        "lowbit_dtype_from_name": (i, [ctypes.c_char_p]),
        "lowbit_dtype_max": (ctypes.c_double, [i]),
        "lowbit_dtype_bytes": (sz, [i, sz]),
        "lowbit_convert": (i, [i, vp, i, vp, sz, ctypes.POINTER(ConvertOpts)]),
        "lowbit_format_mx": (Format, [i, i]),
        "lowbit_format_nvfp4": (Format, []),
        "lowbit_format_fp8_tensor": (Format, [i]),
        "lowbit_format_fp8_row": (Format, [i]),
        "lowbit_format_fp8_block": (Format, [i, u32, u32]),
        "lowbit_format_int_group": (Format, [i, u32, i, i]),
        "lowbit_format_check": (i, [ctypes.POINTER(Format)]),
        "lowbit_format_name": (ctypes.c_char_p, [ctypes.POINTER(Format), ctypes.c_char_p, sz]),
        "lowbit_qtensor_init": (i, [ctypes.POINTER(QTensorC), ctypes.POINTER(Format), sz, sz]),
        "lowbit_qtensor_grid": (i, [ctypes.POINTER(QTensorC), ctypes.POINTER(sz), ctypes.POINTER(sz)]),
        "lowbit_quantize": (i, [ctypes.POINTER(QTensorC), i, vp, sz, ctypes.POINTER(ConvertOpts)]),
        "lowbit_dequantize": (i, [i, vp, sz, ctypes.POINTER(QTensorC)]),
        "lowbit_format_plain": (Format, [i]),
        "lowbit_gemm": (i, [ctypes.POINTER(QTensorC), ctypes.POINTER(QTensorC), f32, f32, i, vp, sz,
                            ctypes.POINTER(GemmOpts)]),
        "lowbit_gemm_pack_size": (i, [ctypes.POINTER(Format), ctypes.POINTER(QTensorC),
                                      ctypes.POINTER(GemmOpts), ctypes.POINTER(sz)]),
        "lowbit_gemm_pack": (i, [ctypes.POINTER(Format), ctypes.POINTER(QTensorC), ctypes.POINTER(GemmOpts),
                                 vp, sz]),
        "lowbit_gemm_packed": (i, [ctypes.POINTER(QTensorC), vp, sz, f32, f32, i, vp, sz,
                                   ctypes.POINTER(GemmOpts)]),
        "lowbit_backend_name": (ctypes.c_char_p, [i]),
        "lowbit_backend_from_name": (i, [ctypes.c_char_p]),
        "lowbit_backend_status": (i, [i]),
        "lowbit_set_backend": (i, [i]),
        "lowbit_get_backend": (i, []),
    }
    for name, (res, args) in sigs.items():
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = args
    return lib


LIB = _load()


def status_string(status):
    return LIB.lowbit_status_string(status).decode()


def last_error():
    return LIB.lowbit_last_error().decode()


def _check(status, call):
    if status != OK:
        raise LowbitError(status, last_error(), call)


def dtype_name(t):
    r = LIB.lowbit_dtype_name(t)
    return None if r is None else r.decode()


def dtype_from_name(name):
    return LIB.lowbit_dtype_from_name(name.encode())


def dtype_bits(t):
    return LIB.lowbit_dtype_bits(t)


def dtype_max(t):
    return LIB.lowbit_dtype_max(t)


def dtype_bytes(t, n):
    return LIB.lowbit_dtype_bytes(t, n)


# ---- packing ------------------------------------------------------------

def pack_codes(t, codes):
    """One code per byte -> the library's packed layout for type t."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8).ravel()
    bits = DTYPE_BITS[t]
    n = codes.size
    if bits == 4:
        c = np.zeros(n + (n & 1), dtype=np.uint8)
        c[:n] = codes & 0xF
        return (c[0::2] | (c[1::2] << 4)).astype(np.uint8)
    if bits == 6:
        m = (n + 3) // 4 * 4
        c = np.zeros(m, dtype=np.uint32)
        c[:n] = codes & 0x3F
        c = c.reshape(-1, 4)
        v = c[:, 0] | (c[:, 1] << 6) | (c[:, 2] << 12) | (c[:, 3] << 18)
        out = np.stack([v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF], axis=1).astype(np.uint8).ravel()
        return out[:(n * 6 + 7) // 8]
    return codes.copy()


def unpack_codes(t, buf, n):
    """Packed bytes of type t -> n codes, one per byte."""
    buf = np.ascontiguousarray(buf, dtype=np.uint8).ravel()
    bits = DTYPE_BITS[t]
    if bits == 4:
        out = np.empty(buf.size * 2, dtype=np.uint8)
        out[0::2] = buf & 0xF
        out[1::2] = buf >> 4
        return out[:n]
    if bits == 6:
        groups = (n + 3) // 4
        b = np.zeros(groups * 3, dtype=np.uint32)
        k = min(buf.size, groups * 3)
        b[:k] = buf[:k]
        b = b.reshape(-1, 3)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        out = np.stack([(v >> s) & 0x3F for s in (0, 6, 12, 18)], axis=1).astype(np.uint8).ravel()
        return out[:n]
    return buf[:n].copy()


# ---- flat conversion ------------------------------------------------------

def _as_source(src, src_type):
    """Return (contiguous array holding the library's source layout, type, n)."""
    a = np.asarray(src)
    if src_type is None:
        if a.dtype == np.float32:
            src_type = F32
        elif a.dtype == np.float16:
            src_type = F16
        elif a.dtype.name == "bfloat16":
            src_type = BF16
        else:
            raise TypeError("give src_type for a %s array" % a.dtype)
    a = a.ravel()
    n = a.size
    if src_type == F32:
        buf = np.ascontiguousarray(a, dtype=np.float32) if a.dtype != np.uint32 else np.ascontiguousarray(a)
    elif src_type in (F16, BF16):
        buf = np.ascontiguousarray(a).view(np.uint16) if a.itemsize == 2 else a.astype(np.uint16)
    else:
        buf = pack_codes(src_type, np.asarray(a, dtype=np.uint8))
    return np.ascontiguousarray(buf), src_type, n


def _alloc_dst(t, n):
    if t == F32:
        return np.zeros(n, dtype=np.float32)
    if t in (F16, BF16):
        return np.zeros(n, dtype=np.uint16)
    return np.zeros(max(dtype_bytes(t, n), 1), dtype=np.uint8)


def _result(t, buf, n):
    if t in (F32, F16, BF16):
        return buf
    return unpack_codes(t, buf, n)


def make_opts(rounding=ROUND_NEAREST_EVEN, saturate=0, seed=0, offset=0):
    return ConvertOpts(rounding, int(bool(saturate)), seed, offset)


def convert(dst_type, src, rounding=ROUND_NEAREST_EVEN, saturate=0, seed=0, offset=0,
            src_type=None, opts_null=False, raw=False):
    """lowbit_convert of a flat array.

    src: float32 / float16 / ml_dtypes.bfloat16 array, or (with src_type) a
    uint16 array of f16/bf16 bits, a uint32 array of f32 bits, or one code
    per byte for narrow types.  Returns float32 (f32), uint16 bits (f16,
    bf16) or uint8 codes (the rest), or the packed bytes with raw=True.
    opts_null passes NULL options (must equal nearest-even, no saturation).
    """
    buf, st, n = _as_source(src, src_type)
    dst = _alloc_dst(dst_type, n)
    opts = None if opts_null else ctypes.byref(make_opts(rounding, saturate, seed, offset))
    s = LIB.lowbit_convert(dst_type, dst.ctypes.data, st, buf.ctypes.data, n, opts)
    _check(s, "lowbit_convert(%s <- %s)" % (DTYPE_NAMES[dst_type], DTYPE_NAMES[st]))
    if raw:
        return dst
    return _result(dst_type, dst, n)


# ---- formats ---------------------------------------------------------------

def format_mx(elem, rule=SCALE_FLOOR):
    return LIB.lowbit_format_mx(elem, rule)


def format_nvfp4():
    return LIB.lowbit_format_nvfp4()


def format_fp8_tensor(elem):
    return LIB.lowbit_format_fp8_tensor(elem)


def format_fp8_row(elem):
    return LIB.lowbit_format_fp8_row(elem)


def format_fp8_block(elem, block_rows, block_cols):
    return LIB.lowbit_format_fp8_block(elem, block_rows, block_cols)


def format_int_group(elem, group, scale_type, zero_point):
    return LIB.lowbit_format_int_group(elem, group, scale_type, int(bool(zero_point)))


def format_check(fmt):
    return LIB.lowbit_format_check(ctypes.byref(fmt))


def format_name(fmt):
    buf = ctypes.create_string_buffer(128)
    LIB.lowbit_format_name(ctypes.byref(fmt), buf, 128)
    return buf.value.decode()


# ---- quantize / dequantize -------------------------------------------------

class QTensor:
    """A lowbit_qtensor with NumPy-owned buffers."""

    def __init__(self, fmt, rows, cols, row_stride=None):
        self.c = QTensorC()
        _check(LIB.lowbit_qtensor_init(ctypes.byref(self.c), ctypes.byref(fmt), rows, cols),
               "lowbit_qtensor_init")
        if row_stride is not None:
            self.c.row_stride = row_stride
        self.elem = fmt.elem
        self.scale_type = fmt.scale_type
        stride = self.c.row_stride
        data_bytes = dtype_bytes(fmt.elem, rows * stride) if rows and cols else 0
        self.data = np.zeros(max(data_bytes, 1), dtype=np.uint8)
        self.scales = np.zeros(max(self.c.scales_bytes, 1), dtype=np.uint8)
        self.zero_points = np.zeros(max(self.c.zero_points_bytes, 1), dtype=np.uint8)
        self.c.data = self.data.ctypes.data
        self.c.data_bytes = data_bytes
        self.c.scales = self.scales.ctypes.data if self.c.scales_bytes else None
        self.c.zero_points = self.zero_points.ctypes.data if self.c.zero_points_bytes else None
        gr, gc = ctypes.c_size_t(), ctypes.c_size_t()
        _check(LIB.lowbit_qtensor_grid(ctypes.byref(self.c), ctypes.byref(gr), ctypes.byref(gc)),
               "lowbit_qtensor_grid")
        self.grid = (gr.value, gc.value)

    @property
    def rows(self):
        return self.c.rows

    @property
    def cols(self):
        return self.c.cols

    @property
    def row_stride(self):
        return self.c.row_stride

    @property
    def tensor_scale(self):
        return np.float32(self.c.tensor_scale)

    def codes(self):
        """Element codes as a rows x cols uint8 array (one per byte)."""
        rows, cols, stride = self.rows, self.cols, self.row_stride
        bits = DTYPE_BITS[self.elem]
        out = np.empty((rows, cols), dtype=np.uint8)
        row_bytes = stride * bits // 8
        for r in range(rows):
            out[r] = unpack_codes(self.elem, self.data[r * row_bytes:(r + 1) * row_bytes], cols)
        return out

    def scale_codes(self):
        """Scales as stored: uint8 codes (E8M0/E4M3), uint16 bits (f16/bf16) or uint32 bits (f32)."""
        n = self.grid[0] * self.grid[1]
        if self.scale_type == F32:
            return self.scales[:4 * n].view(np.uint32).reshape(self.grid)
        if self.scale_type in (F16, BF16):
            return self.scales[:2 * n].view(np.uint16).reshape(self.grid)
        return self.scales[:n].reshape(self.grid).copy()

    def zero_point_codes(self):
        n = self.grid[0] * self.grid[1]
        return unpack_codes(self.elem, self.zero_points, n).reshape(self.grid)


def _matrix_source(x, src_type):
    """(buffer, type, row_stride) for a 2-D array, keeping its row stride."""
    a = np.asarray(x)
    if a.ndim != 2:
        raise ValueError("need a 2-D array")
    if src_type is None:
        src_type = {np.dtype(np.float32): F32, np.dtype(np.float16): F16}.get(a.dtype)
        if src_type is None and a.dtype.name == "bfloat16":
            src_type = BF16
        if src_type is None:
            raise TypeError("give src_type for a %s array" % a.dtype)
    if a.strides[1] != a.itemsize or a.strides[0] % a.itemsize:
        a = np.ascontiguousarray(a)
    stride = a.strides[0] // a.itemsize if a.shape[0] > 1 else a.shape[1]
    return a, src_type, stride


def quantize(fmt, x, rounding=ROUND_NEAREST_EVEN, seed=0, offset=0, row_stride=None, src_type=None,
             tensor_scale=None):
    """Quantize a 2-D f32/f16/bf16 array (a view with a row stride > cols is
    passed as such).  tensor_scale: set in the descriptor first (a format
    with FMT_GIVEN_TENSOR_SCALE reads it).  Returns the QTensor."""
    a, st, stride = _matrix_source(x, src_type)
    rows, cols = a.shape
    q = QTensor(fmt, rows, cols, row_stride)
    if tensor_scale is not None:
        q.c.tensor_scale = tensor_scale
    opts = make_opts(rounding, 0, seed, offset)
    call = "lowbit_quantize(%s)" % format_name(fmt)  # (before the call: any call resets the last error)
    _check(LIB.lowbit_quantize(ctypes.byref(q.c), st, a.ctypes.data if a.size else None, stride,
                               ctypes.byref(opts)), call)
    return q


def dequantize(q, dst_type=F32, dst_row_stride=None):
    """Dequantize q; returns rows x cols float32, or uint16 bits for f16/bf16."""
    rows, cols = q.rows, q.cols
    stride = cols if dst_row_stride is None else dst_row_stride
    dt = np.float32 if dst_type == F32 else np.uint16
    sentinel = 0x5A5A
    buf = np.full(max(rows * stride, 1), sentinel, dtype=np.uint32 if dst_type == F32 else np.uint16)
    if dst_type == F32:
        buf = buf.view(np.float32)
    _check(LIB.lowbit_dequantize(dst_type, buf.ctypes.data, stride, ctypes.byref(q.c)),
           "lowbit_dequantize")
    out = buf[:rows * stride].reshape(rows, stride) if rows else buf[:0].reshape(0, stride)
    # padding between cols and the stride must be untouched
    pad = out[:, cols:]
    if pad.size:
        raw = pad.view(np.uint32) if dst_type == F32 else pad
        assert np.all(raw == sentinel), "dequantize wrote past cols"
    return np.ascontiguousarray(out[:, :cols]).astype(dt, copy=False)


# ---- backends ------------------------------------------------------------------

def backend_name(b):
    r = LIB.lowbit_backend_name(b)
    return None if r is None else r.decode()


def backend_from_name(name):
    return LIB.lowbit_backend_from_name(name.encode())


def backend_status(b):
    return LIB.lowbit_backend_status(b)


def set_backend(b):
    """lowbit_set_backend; b is a BACKEND_* value or a name ("ref", "auto", ...)."""
    if isinstance(b, str):
        b = backend_from_name(b)
    _check(LIB.lowbit_set_backend(b), "lowbit_set_backend(%s)" % backend_name(b))


def get_backend():
    return LIB.lowbit_get_backend()


# ---- GEMM ------------------------------------------------------------------------

def format_plain(elem):
    return LIB.lowbit_format_plain(elem)


class PlainTensor:
    """An unscaled f32 / f16 / bf16 GEMM operand (lowbit_format_plain) over a
    NumPy-owned buffer: x is a 2-D float32 / float16 / ml_dtypes.bfloat16
    array, copied into rows of row_stride elements (default cols)."""

    def __init__(self, x, row_stride=None):
        a = np.asarray(x)
        if a.ndim != 2:
            raise ValueError("need a 2-D array")
        if a.dtype == np.float32:
            self.elem, bits = F32, np.uint32
        elif a.dtype == np.float16:
            self.elem, bits = F16, np.uint16
        elif a.dtype.name == "bfloat16":
            self.elem, bits = BF16, np.uint16
        else:
            raise TypeError("a plain operand is float32, float16 or bfloat16, not %s" % a.dtype)
        rows, cols = a.shape
        stride = cols if row_stride is None else row_stride
        buf = np.zeros((max(rows, 1), max(stride, 1)), dtype=bits)
        buf[:rows, :cols] = np.ascontiguousarray(a).view(bits)
        self.data = buf
        self.c = QTensorC()
        self.c.format = format_plain(self.elem)
        self.c.data = buf.ctypes.data
        self.c.tensor_scale = 1.0
        self.c.rows, self.c.cols, self.c.row_stride = rows, cols, stride
        self.c.data_bytes = rows * stride * buf.itemsize
        self.values = a

    @property
    def rows(self):
        return self.c.rows

    @property
    def cols(self):
        return self.c.cols

    @property
    def row_stride(self):
        return self.c.row_stride

    def codes(self):
        """The elements' bits, rows x cols (uint32 for f32, uint16 for f16 / bf16)."""
        return self.data[:self.rows, :self.cols].copy()


def _gemm_opts(fast):
    return ctypes.byref(GemmOpts(GEMM_ALLOW_FAST)) if fast else None


_C_BITS = {F32: np.uint32, F16: np.uint16, BF16: np.uint16}
_C_SENTINEL = 0x5A5A


def _c_buffer(c_type, m, n, c, ldc):
    """C as a rows x ldc buffer of bits: c (m x n bits or float32 for f32) in
    the first n columns, a sentinel in the padding (which must stay)."""
    if c_type not in _C_BITS:
        raise ValueError("c_type must be F32, F16 or BF16")
    ldc = n if ldc is None else ldc
    bt = _C_BITS[c_type]
    buf = np.full((max(m, 1), max(ldc, 1)), _C_SENTINEL, dtype=bt)
    if c is not None:
        c = np.asarray(c)
        buf[:m, :n] = c.view(bt) if c.dtype.itemsize == buf.itemsize else c
    return buf, ldc


def _c_result(buf, m, n):
    pad = buf[:m, n:]
    if pad.size:
        assert np.all(pad == _C_SENTINEL), "gemm wrote past N in a row of C"
    if buf.shape[0] > m:
        assert np.all(buf[m:] == _C_SENTINEL)
    return np.ascontiguousarray(buf[:m, :n])


def gemm(a, b, c_type=F32, alpha=1.0, beta=0.0, c=None, ldc=None, fast=False):
    """lowbit_gemm(a, b): a and b are QTensor / PlainTensor (rows M / N, cols K).
    c: the M x N input C (bits: uint32 / uint16, or float32 for f32), read
    only where beta != 0; ldc: row stride of C (padding is checked untouched).
    Returns the M x N result as bits (uint32 for f32, uint16 for f16 / bf16)."""
    m, n = a.rows, b.rows
    buf, ldc = _c_buffer(c_type, m, n, c, ldc)
    _check(LIB.lowbit_gemm(ctypes.byref(a.c), ctypes.byref(b.c), alpha, beta, c_type, buf.ctypes.data, ldc,
                           _gemm_opts(fast)), "lowbit_gemm")
    return _c_result(buf, m, n)


def gemm_pack_size(a_format, b, fast=False):
    n = ctypes.c_size_t()
    _check(LIB.lowbit_gemm_pack_size(ctypes.byref(a_format), ctypes.byref(b.c), _gemm_opts(fast),
                                     ctypes.byref(n)), "lowbit_gemm_pack_size")
    return n.value


def gemm_pack(a_format, b, fast=False):
    """lowbit_gemm_pack of B for A's format; returns the packed bytes (uint8)."""
    size = gemm_pack_size(a_format, b, fast)
    buf = np.zeros(max(size, 1), dtype=np.uint8)
    _check(LIB.lowbit_gemm_pack(ctypes.byref(a_format), ctypes.byref(b.c), _gemm_opts(fast), buf.ctypes.data,
                                size), "lowbit_gemm_pack")
    return buf[:size]


def gemm_packed(a, packed, n, c_type=F32, alpha=1.0, beta=0.0, c=None, ldc=None, fast=False):
    """lowbit_gemm_packed(a, packed B of n rows); arguments and result as gemm()."""
    packed = np.ascontiguousarray(packed, dtype=np.uint8)
    m = a.rows
    buf, ldc = _c_buffer(c_type, m, n, c, ldc)
    _check(LIB.lowbit_gemm_packed(ctypes.byref(a.c), packed.ctypes.data, packed.size, alpha, beta, c_type,
                                  buf.ctypes.data, ldc, _gemm_opts(fast)), "lowbit_gemm_packed")
    return _c_result(buf, m, n)
