"""Backend selection, threads and the kernel registry."""

import ctypes

from ._lib import BACKEND_COUNT, LIB, CKernelInfo, check, fail


def _backend_value(name, call):
    if not isinstance(name, str):
        fail("LOWBIT_ERR_INVALID_ENUM", "a backend is named by a string, not %r" % (name,), call)
    b = LIB.lowbit_backend_from_name(name.strip().lower().encode())
    if b == BACKEND_COUNT:
        fail("LOWBIT_ERR_INVALID_ENUM", "unknown backend %r (known: %s)" % (name, ", ".join(backend_names())), call)
    return b


def backend_names():
    return [LIB.lowbit_backend_name(b).decode() for b in range(BACKEND_COUNT)]


def set_backend(name):
    """Cap host calls at backend `name` ("ref", "avx2", "avx512", "amx",
    "neon", or "auto" for detection). Raises LowbitError if it cannot run here."""
    call = "lowbit.set_backend"
    check(LIB.lowbit_set_backend(_backend_value(name, call)), "%s(%r)" % (call, name))


def get_backend():
    """The host backend in force (never "auto")."""
    return LIB.lowbit_backend_name(LIB.lowbit_get_backend()).decode()


def backend_available(name):
    """True if the backend was built and can run on this machine."""
    return LIB.lowbit_backend_status(_backend_value(name, "lowbit.backend_available")) == 0


def available_backends():
    return [n for b, n in enumerate(backend_names()) if b and LIB.lowbit_backend_status(b) == 0]


def set_num_threads(n):
    """Threads for large host calls; 1 = calling thread only, 0 = default."""
    check(LIB.lowbit_set_num_threads(int(n)), "lowbit.set_num_threads(%r)" % (n,))


def get_num_threads():
    return int(LIB.lowbit_get_num_threads())


def kernels():
    """The registered kernels, as dicts (op, backend, name, formats, exact)."""
    out = []
    for i in range(LIB.lowbit_kernel_count()):
        k = CKernelInfo()
        check(LIB.lowbit_kernel_get(i, ctypes.byref(k)), "lowbit_kernel_get")
        out.append({"op": LIB.lowbit_op_name(k.op).decode(), "backend": LIB.lowbit_backend_name(k.backend).decode(),
                    "name": k.name.decode(), "formats": k.formats.decode(), "exact": bool(k.exact)})
    return out
