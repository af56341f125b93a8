"""Between one-element-per-entry arrays and the library's buffers.

The library packs 4-bit types two per byte and 6-bit types four per three
bytes, both as one little-endian bit string (docs/semantics.md, Storage);
NumPy users see one element per entry.  Both directions go through
np.unpackbits / np.packbits with little-endian bit order, which is exactly
that bit string, whatever the width.
"""

import numpy as np

from ._dtypes import BITS, WIDE, storage_dtype

_WIDE_BITS = {"f32": np.dtype(np.uint32), "f16": np.dtype(np.uint16), "bf16": np.dtype(np.uint16)}


def pack(codes, bits):
    """uint8 codes (low `bits` bits used) -> packed bytes."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, 1)
    if bits == 8:
        return codes.ravel().copy()
    if bits == 4:  # the common case, without the 8x bit-plane temporary
        c = np.zeros(codes.size + (codes.size & 1), np.uint8)
        c[:codes.size] = codes.ravel() & 0xF
        return c[0::2] | (c[1::2] << 4)
    planes = np.unpackbits(codes, axis=1, bitorder="little")[:, :bits]
    return np.packbits(planes.ravel(), bitorder="little")


def unpack(buf, bits, n):
    """Packed bytes -> n uint8 codes."""
    buf = np.ascontiguousarray(buf, dtype=np.uint8).ravel()
    if bits == 8:
        return buf[:n].copy()
    if bits == 4:
        out = np.empty(2 * buf.size, np.uint8)
        out[0::2], out[1::2] = buf & 0xF, buf >> 4
        return out[:n]
    planes = np.unpackbits(buf, bitorder="little")[:n * bits].reshape(n, bits)
    return np.packbits(planes, axis=1, bitorder="little").ravel()


def codes_of(arr, name):
    """Bit patterns of an array holding type `name` (typed or already codes):
    uint32 / uint16 for the wide types, uint8 with the code in the low bits
    otherwise."""
    arr = np.ascontiguousarray(arr)
    if name in WIDE:
        want = _WIDE_BITS[name]
        if arr.dtype.itemsize != want.itemsize:
            raise TypeError("a %s array cannot hold %s elements" % (arr.dtype, name))
        return arr.view(want)
    if arr.dtype.itemsize != 1:
        raise TypeError("a %s array cannot hold %s codes (one byte per element expected)" % (arr.dtype, name))
    codes = arr.view(np.uint8)
    bits = BITS[name]
    return codes & np.uint8((1 << bits) - 1) if bits < 8 else codes


def from_codes(codes, name, raw=False):
    """Bit patterns -> the storage dtype of `name` (see _dtypes)."""
    return np.ascontiguousarray(codes).view(storage_dtype(name, raw))


def to_library(arr, name):
    """A contiguous buffer in the library's layout for the elements of arr."""
    codes = codes_of(arr, name).ravel()
    bits = BITS[name]
    return pack(codes, bits) if bits < 8 else codes


def from_library(buf, name, n, raw=False):
    """n elements of type `name` from a library buffer, one per entry."""
    bits = BITS[name]
    if name in WIDE:
        codes = np.ascontiguousarray(buf).view(_WIDE_BITS[name])[:n]
    else:
        codes = unpack(buf, bits, n)
    return from_codes(codes, name, raw)


def library_bytes(name, n):
    return (n * BITS[name] + 7) // 8
