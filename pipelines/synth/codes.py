"""Vectorised hashing and 8-hex-digit codes (Criteo's categorical format), numpy <-> Arrow, no row loops."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NIBBLE = np.full(256, 255, dtype=np.uint8)
_NIBBLE[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = np.arange(16, dtype=np.uint8)
_NIBBLE[np.frombuffer(b"ABCDEF", dtype=np.uint8)] = np.arange(10, 16, dtype=np.uint8)
_SHIFTS = np.arange(28, -4, -4, dtype=np.uint32)
_M32 = np.uint64(0xFFFFFFFF)


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a fast, well-mixed bijection on uint64 (wraps on overflow by design)."""
    x = np.asarray(x, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def permute32(x: np.ndarray) -> np.ndarray:
    """An invertible mix of 32-bit values (Wellons' lowbias32): distinct inputs give distinct codes."""
    x = np.asarray(x, dtype=np.uint64) & _M32
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & _M32
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & _M32
    return x ^ (x >> np.uint64(16))


def unpermute32(x: np.ndarray) -> np.ndarray:
    """The inverse of permute32."""
    x = np.asarray(x, dtype=np.uint64) & _M32
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x43021123)) & _M32
    x ^= (x >> np.uint64(15)) ^ (x >> np.uint64(30))
    x = (x * np.uint64(0x1D69E2A5)) & _M32
    return x ^ (x >> np.uint64(16))


def hashed_normal(key: np.ndarray) -> np.ndarray:
    """A standard normal value that is a deterministic function of each uint64 key (Box-Muller)."""
    h = mix64(key)
    u1 = ((h >> np.uint64(32)).astype(np.float64) + 0.5) / 4294967296.0
    u2 = ((h & np.uint64(0xFFFFFFFF)).astype(np.float64) + 0.5) / 4294967296.0
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def hex8_array(codes: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """uint32 codes -> Arrow strings of 8 lowercase hex digits; rows where `missing` is True are null."""
    n = len(codes)
    chars = _HEX[(codes.astype(np.uint32)[:, None] >> _SHIFTS) & np.uint32(0xF)]
    offsets = np.arange(0, 8 * (n + 1), 8, dtype=np.int32)
    validity, nulls = None, 0
    if missing is not None and missing.any():
        nulls = int(missing.sum())
        validity = pa.py_buffer(np.packbits(~missing, bitorder="little"))
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()), validity, nulls)


def parse_hex8(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Arrow strings of 8 hex digits -> (uint32 codes, missing mask). Raises ValueError on other shapes."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    missing = np.asarray(arr.is_null(), dtype=bool) if arr.null_count else np.zeros(n, dtype=bool)
    off_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=off_type)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(1, dtype=np.uint8)
    lengths = np.diff(offsets)
    bad = ~missing & (lengths != 8)
    if bad.any():
        raise ValueError(f"expected 8 hex digits, found a value of length {int(lengths[bad][0])}")
    idx = np.minimum(offsets[:-1, None] + np.arange(8), max(len(data) - 1, 0))
    nib = _NIBBLE[data[idx]]
    nib[missing] = 0
    if (nib == 255).any():
        raise ValueError("expected 8 hex digits, found a non-hex character")
    codes = (nib.astype(np.uint32) << _SHIFTS).sum(axis=1, dtype=np.uint64).astype(np.uint32)
    return codes, missing
