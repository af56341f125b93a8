"""lowbit: low-precision number formats (FP8/FP6/FP4, INT8/INT4, OCP MX,
NVFP4) and exact mixed-precision GEMM, on NumPy arrays.

A thin ctypes layer over liblowbit.  The library is found through the
LOWBIT_LIB environment variable (the path of liblowbit.so), else
ctypes.util.find_library("lowbit"), else `pkg-config --variable=libdir lowbit`.

    convert(x, dtype, rounding="rne", saturate=False, seed=0)
    quantize(x2d, fmt, rounding="rne", seed=0) -> QTensor
    dequantize(q, dtype=np.float32)
    gemm(a, b, alpha=1, beta=0, c=None, out_dtype=np.float32, fast=False)
    pack_weights(b, a_format) -> PackedWeights (pass it to gemm as b)
    metrics(x, fmt, rounding="rne") -> dict (the keys lowbit-sweep reports)
    Format.mx / nvfp4 / fp8_tensor / fp8_row / fp8_block / int_group / plain / parse
    set_backend, get_backend, available_backends, set_num_threads, get_num_threads

Results in the narrow types are ml_dtypes arrays where ml_dtypes is
installed, else arrays of bit patterns (storage_dtype says which).  Every
failure raises LowbitError with the library's status name and detail.
"""

from ._lib import HEADER_VERSION, LIBRARY_PATH, LIBRARY_VERSION, LowbitError
from ._dtypes import NAMES as DTYPES, dtype_bits, dtype_max, has_ml_dtypes
from ._dtypes import canonical as dtype_name
from ._dtypes import storage_dtype as _storage_dtype
from ._convert import convert
from ._format import RULES, Format
from ._qtensor import QTensor, dequantize, quantize
from ._gemm import PackedWeights, gemm, pack_weights
from ._metrics import KEYS as METRIC_KEYS, metrics, nominal_bits
from ._backend import (available_backends, backend_available, backend_names, get_backend, get_num_threads,
                       kernels, set_backend, set_num_threads)

__version__ = "%d.%d.%d" % HEADER_VERSION


def storage_dtype(dtype, raw=False):
    """The NumPy dtype lowbit returns elements of `dtype` in: float32 /
    float16 / int8 natively, the ml_dtypes type where ml_dtypes is
    installed, else the bit-pattern dtype (uint16 for bf16, uint8 codes for
    the rest); raw=True always gives the bit-pattern dtype."""
    return _storage_dtype(dtype_name(dtype), raw)


__all__ = ["LowbitError", "Format", "QTensor", "PackedWeights", "convert", "quantize", "dequantize", "gemm",
           "pack_weights", "metrics", "nominal_bits", "set_backend", "get_backend", "available_backends",
           "backend_available", "backend_names", "set_num_threads", "get_num_threads", "kernels", "storage_dtype",
           "dtype_name", "dtype_bits", "dtype_max", "has_ml_dtypes", "DTYPES", "RULES", "METRIC_KEYS",
           "LIBRARY_PATH", "LIBRARY_VERSION", "HEADER_VERSION", "__version__"]
