"""Finding liblowbit, declaring its C types and signatures, raising errors.

Everything that knows the C ABI (struct layouts, enum values, argument
types) lives here, so the rest of the package speaks Python only.
"""

import ctypes
import ctypes.util
import os
import re
import shutil
import subprocess

# The header this package was written against (include/lowbit.h).
HEADER_VERSION = (0, 1, 0)

# Enum sizes of that header; checked against the library at load time.
DTYPE_COUNT = 14
STATUS_COUNT = 19
BACKEND_COUNT = 8

FMT_ZERO_POINT = 0x1
FMT_TENSOR_SCALE = 0x2
FMT_GIVEN_TENSOR_SCALE = 0x4
GEMM_ALLOW_FAST = 0x1


class LowbitError(RuntimeError):
    """A failed lowbit call.

    status       the lowbit_status value (int); 0 never occurs here
    status_name  its name, e.g. "LOWBIT_ERR_BLOCK_SHAPE"
    detail       the library's message naming the offending argument
    call         which operation failed
    """

    def __init__(self, status_name, detail, call="lowbit", status=None):
        self.status_name = status_name
        self.detail = detail
        self.call = call
        self.status = status
        super().__init__("%s: %s: %s" % (call, status_name, detail))


class ConvertOpts(ctypes.Structure):
    _fields_ = [("rounding", ctypes.c_int), ("saturate", ctypes.c_int),
                ("seed", ctypes.c_uint64), ("offset", ctypes.c_uint64)]


class CFormat(ctypes.Structure):
    _fields_ = [("elem", ctypes.c_int), ("scale_type", ctypes.c_int),
                ("block_rows", ctypes.c_uint32), ("block_cols", ctypes.c_uint32),
                ("rule", ctypes.c_int), ("flags", ctypes.c_uint32)]


class CQTensor(ctypes.Structure):
    _fields_ = [("format", CFormat), ("data", ctypes.c_void_p), ("scales", ctypes.c_void_p),
                ("zero_points", ctypes.c_void_p), ("tensor_scale", ctypes.c_float),
                ("rows", ctypes.c_size_t), ("cols", ctypes.c_size_t),
                ("row_stride", ctypes.c_size_t), ("data_bytes", ctypes.c_size_t),
                ("scales_bytes", ctypes.c_size_t), ("zero_points_bytes", ctypes.c_size_t)]


class CGemmOpts(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint32)]


class CKernelInfo(ctypes.Structure):
    _fields_ = [("op", ctypes.c_int), ("backend", ctypes.c_int), ("name", ctypes.c_char_p),
                ("formats", ctypes.c_char_p), ("exact", ctypes.c_int)]


def _candidates():
    """Paths (or sonames) to try, in the documented order, with where each came from."""
    env = os.environ.get("LOWBIT_LIB")
    if env:
        # An explicit choice is never silently replaced by another library.
        return [(env, "LOWBIT_LIB")]
    out = []
    found = ctypes.util.find_library("lowbit")
    if found:
        out.append((found, "ctypes.util.find_library"))
    pc = shutil.which("pkg-config")
    if pc:
        try:
            r = subprocess.run([pc, "--variable=libdir", "lowbit"], capture_output=True, text=True,
                               timeout=10)
            libdir = r.stdout.strip()
            if r.returncode == 0 and libdir:
                out.append((os.path.join(libdir, "liblowbit.so"), "pkg-config"))
        except (OSError, subprocess.SubprocessError):
            pass
    return out


def _open():
    tried = []
    for path, how in _candidates():
        try:
            return ctypes.CDLL(path), path, how
        except OSError as e:
            tried.append("%s (from %s): %s" % (path, how, e))
    raise ImportError(
        "lowbit: cannot load liblowbit. Set LOWBIT_LIB to the path of liblowbit.so, or install the "
        "library where the dynamic loader or pkg-config finds it. "
        + ("Tried: " + "; ".join(tried) if tried else "No candidate found (LOWBIT_LIB unset, "
           "find_library('lowbit') and pkg-config gave nothing)."))


_P = ctypes.POINTER
_vp, _sz, _i, _u32, _f32 = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_uint32, ctypes.c_float
_SIGNATURES = {
    "lowbit_status_string": (ctypes.c_char_p, [_i]),
    "lowbit_last_error": (ctypes.c_char_p, []),
    "lowbit_dtype_bits": (ctypes.c_uint, [_i]),
    "lowbit_dtype_name": (ctypes.c_char_p, [_i]),
    "lowbit_dtype_from_name": (_i, [ctypes.c_char_p]),
    "lowbit_dtype_max": (ctypes.c_double, [_i]),
    "lowbit_dtype_bytes": (_sz, [_i, _sz]),
    "lowbit_convert": (_i, [_i, _vp, _i, _vp, _sz, _P(ConvertOpts)]),
    "lowbit_format_mx": (CFormat, [_i, _i]),
    "lowbit_format_nvfp4": (CFormat, []),
    "lowbit_format_fp8_tensor": (CFormat, [_i]),
    "lowbit_format_fp8_row": (CFormat, [_i]),
    "lowbit_format_fp8_block": (CFormat, [_i, _u32, _u32]),
    "lowbit_format_int_group": (CFormat, [_i, _u32, _i, _i]),
    "lowbit_format_plain": (CFormat, [_i]),
    "lowbit_format_check": (_i, [_P(CFormat)]),
    "lowbit_format_name": (ctypes.c_char_p, [_P(CFormat), ctypes.c_char_p, _sz]),
    "lowbit_qtensor_init": (_i, [_P(CQTensor), _P(CFormat), _sz, _sz]),
    "lowbit_qtensor_grid": (_i, [_P(CQTensor), _P(_sz), _P(_sz)]),
    "lowbit_quantize": (_i, [_P(CQTensor), _i, _vp, _sz, _P(ConvertOpts)]),
    "lowbit_dequantize": (_i, [_i, _vp, _sz, _P(CQTensor)]),
    "lowbit_gemm": (_i, [_P(CQTensor), _P(CQTensor), _f32, _f32, _i, _vp, _sz, _P(CGemmOpts)]),
    "lowbit_gemm_pack_size": (_i, [_P(CFormat), _P(CQTensor), _P(CGemmOpts), _P(_sz)]),
    "lowbit_gemm_pack": (_i, [_P(CFormat), _P(CQTensor), _P(CGemmOpts), _vp, _sz]),
    "lowbit_gemm_packed": (_i, [_P(CQTensor), _vp, _sz, _f32, _f32, _i, _vp, _sz, _P(CGemmOpts)]),
    "lowbit_backend_name": (ctypes.c_char_p, [_i]),
    "lowbit_backend_from_name": (_i, [ctypes.c_char_p]),
    "lowbit_backend_status": (_i, [_i]),
    "lowbit_set_backend": (_i, [_i]),
    "lowbit_get_backend": (_i, []),
    "lowbit_set_num_threads": (_i, [_i]),
    "lowbit_get_num_threads": (_i, []),
    "lowbit_cpu_features": (_u32, []),
    "lowbit_op_name": (ctypes.c_char_p, [_i]),
    "lowbit_kernel_count": (_sz, []),
    "lowbit_kernel_get": (_i, [_sz, _P(CKernelInfo)]),
}


def _so_version(path):
    """(major, minor, patch) from the resolved file name liblowbit.so.X.Y.Z, or None."""
    m = re.search(r"\.so\.(\d+)\.(\d+)\.(\d+)$", os.path.realpath(path))
    return tuple(int(g) for g in m.groups()) if m else None


def _load():
    lib, path, how = _open()
    missing = [n for n in _SIGNATURES if not hasattr(lib, n)]
    if missing:
        raise ImportError("lowbit: %s (from %s) lacks %s; it is not a liblowbit this package supports"
                          % (path, how, ", ".join(missing)))
    for name, (res, args) in _SIGNATURES.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    # The library exports no version function, so check what can be seen:
    # the file name's version, and that the enums end where the header says.
    so = _so_version(path)
    if so is not None and so[0] != HEADER_VERSION[0]:
        raise ImportError("lowbit: %s is version %d.%d.%d; this package needs major version %d"
                          % ((path,) + so + (HEADER_VERSION[0],)))
    unknown = b"LOWBIT_STATUS_UNKNOWN"
    if (lib.lowbit_dtype_name(DTYPE_COUNT - 1) is None or lib.lowbit_dtype_name(DTYPE_COUNT) is not None
            or lib.lowbit_backend_name(BACKEND_COUNT - 1) is None
            or lib.lowbit_status_string(STATUS_COUNT - 1) == unknown
            or lib.lowbit_status_string(STATUS_COUNT) != unknown):
        raise ImportError("lowbit: the enums of %s differ from the header this package knows "
                          "(lowbit %d.%d.%d)" % ((path,) + HEADER_VERSION))
    return lib, path, so


LIB, LIBRARY_PATH, LIBRARY_VERSION = _load()


def status_name(status):
    return LIB.lowbit_status_string(status).decode()


def check(status, call):
    """Raise LowbitError for a failed status, with the library's detail."""
    if status != 0:
        detail = LIB.lowbit_last_error().decode(errors="replace")
        raise LowbitError(status_name(status), detail, call, status)


# Python-side refusals use the same status names as the C library, so one
# except clause (and one check of .status_name) covers both.
_STATUS_VALUE = {}


def fail(name, detail, call):
    if not _STATUS_VALUE:
        for s in range(STATUS_COUNT):
            _STATUS_VALUE[status_name(s)] = s
    raise LowbitError(name, detail, call, _STATUS_VALUE.get(name))
