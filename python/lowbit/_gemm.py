"""lowbit.gemm and prepacked weights."""

import ctypes

import numpy as np

from ._convert import convert
from ._dtypes import ENUM, WIDE, canonical, source_type, storage_dtype
from ._format import Format, as_format
from ._lib import LIB, CGemmOpts, CQTensor, GEMM_ALLOW_FAST, check, fail
from ._pack import codes_of
from ._qtensor import QTensor


class _Plain:
    """An unscaled f32 / f16 / bf16 operand (lowbit_format_plain) over a
    contiguous copy of the array."""

    def __init__(self, x, call):
        a = np.asarray(x)
        if a.ndim != 2:
            fail("LOWBIT_ERR_SHAPE_MISMATCH", "a GEMM operand is 2-D, got shape %s" % (a.shape,), call)
        elem = source_type(a, None, call)
        if elem not in WIDE:
            fail("LOWBIT_ERR_UNSUPPORTED", "an unquantized GEMM operand is float32, float16 or bfloat16, "
                 "not %s; quantize it first" % a.dtype, call)
        self.format = Format.plain(elem)
        self._buf = np.ascontiguousarray(codes_of(a, elem))
        self._c = CQTensor()
        self._c.format = self.format.to_c()
        self._c.data = self._buf.ctypes.data if self._buf.size else None
        self._c.tensor_scale = 1.0
        self._c.rows, self._c.cols = a.shape
        self._c.row_stride = a.shape[1]
        self._c.data_bytes = self._buf.nbytes
        self.shape = a.shape


def _operand(x, call):
    if isinstance(x, QTensor):
        return x
    return _Plain(x, call)


class PackedWeights:
    """B (N x K) rearranged once for the GEMM kernel this machine picks for
    A's format (lowbit_gemm_pack).  The bytes are self-contained: `data` may
    be saved and given back to PackedWeights(data, a_format, shape); the
    library refuses a buffer made for another format, shape, kernel or
    library version (LOWBIT_ERR_PACK_MISMATCH)."""

    def __init__(self, data, a_format, shape, fast=False):
        self.data = np.ascontiguousarray(np.frombuffer(data, np.uint8) if isinstance(data, (bytes, bytearray))
                                         else data, dtype=np.uint8)
        self.a_format = as_format(a_format, "PackedWeights")
        self.shape = (int(shape[0]), int(shape[1]))
        self.fast = bool(fast)

    def __repr__(self):
        return "PackedWeights(for A %s, shape=%s, %d bytes)" % (self.a_format.name, self.shape, self.data.size)


def _opts(fast):
    return ctypes.byref(CGemmOpts(GEMM_ALLOW_FAST)) if fast else None


def _a_format(a_format, call):
    if isinstance(a_format, QTensor):
        return a_format.format
    if isinstance(a_format, Format):
        return a_format
    if isinstance(a_format, str):
        try:
            return as_format(a_format, call)
        except Exception:
            pass
    return Format.plain(canonical(a_format, call))  # a dtype: plain activations


def pack_weights(b, a_format, fast=False):
    """Pack B (a QTensor, N x K) for activations of a_format (a Format, a
    format name, a QTensor of that format, or a float dtype for W4A16)."""
    call = "lowbit.pack_weights"
    if not isinstance(b, QTensor):
        fail("LOWBIT_ERR_UNSUPPORTED", "pack_weights takes quantized weights (a lowbit.QTensor)", call)
    fa = _a_format(a_format, call).check()
    cf = fa.to_c()
    size = ctypes.c_size_t()
    check(LIB.lowbit_gemm_pack_size(ctypes.byref(cf), ctypes.byref(b._c), _opts(fast), ctypes.byref(size)),
          "lowbit_gemm_pack_size")
    buf = np.zeros(max(size.value, 1), np.uint8)
    check(LIB.lowbit_gemm_pack(ctypes.byref(cf), ctypes.byref(b._c), _opts(fast), buf.ctypes.data, size.value),
          "lowbit_gemm_pack(%s x %s)" % (fa.name, b.format.name))
    return PackedWeights(buf[:size.value], fa, b.shape, fast)


def gemm(a, b, alpha=1.0, beta=0.0, c=None, out_dtype=np.float32, fast=False):
    """C = alpha * A B^T + beta * C, as an M x N array of out_dtype.

    a   M x K: a QTensor, or a float32 / float16 / bfloat16 array (unscaled
        activations, for the float x INT weight pairs)
    b   N x K: a QTensor, a float array where the pair allows, or
        PackedWeights from pack_weights
    c   M x N, read only when beta != 0 (converted to out_dtype if needed)
    out_dtype  float32, float16 or bfloat16
    fast       allow a bounded, not bit-exact kernel
    """
    call = "lowbit.gemm"
    out = canonical(out_dtype, call)
    if out not in WIDE:
        fail("LOWBIT_ERR_UNSUPPORTED", "GEMM writes f32, f16 or bf16, not %s" % out, call)
    qa = _operand(a, call)
    m = qa.shape[0]
    if isinstance(b, PackedWeights):
        n = b.shape[0]
    else:
        qb = _operand(b, call)
        n = qb.shape[0]
    bits = np.uint32 if out == "f32" else np.uint16
    buf = np.zeros((m, n), bits)
    if c is not None and beta != 0:
        cc = np.asarray(c)
        if cc.shape != (m, n):
            fail("LOWBIT_ERR_SHAPE_MISMATCH", "c has shape %s, the product is %d x %d" % (cc.shape, m, n), call)
        if source_type(cc, None, call) != out:
            cc = convert(cc, out)
        buf[...] = codes_of(cc, out)
    elif beta != 0:
        fail("LOWBIT_ERR_NULL_POINTER", "beta is %r but no c was given" % beta, call)
    ptr = buf.ctypes.data if buf.size else None
    if isinstance(b, PackedWeights):
        check(LIB.lowbit_gemm_packed(ctypes.byref(qa._c), b.data.ctypes.data, b.data.size, float(alpha),
                                     float(beta), ENUM[out], ptr, n, _opts(fast)),
              "lowbit_gemm_packed(%s x packed)" % qa.format.name)
    else:
        check(LIB.lowbit_gemm(ctypes.byref(qa._c), ctypes.byref(qb._c), float(alpha), float(beta), ENUM[out],
                              ptr, n, _opts(fast)), "lowbit_gemm(%s x %s)" % (qa.format.name, qb.format.name))
    return buf.view(storage_dtype(out))
