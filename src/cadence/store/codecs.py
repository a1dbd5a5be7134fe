"""Compressed columnar sample chunks: timestamps and quantised values, each a pcodec blob.

Values are stored as integer multiples of the signal's resolution (the sensor's real resolution), which
is what lets a 500 Hz pressure at 0.01 bar or a 1 Hz temperature at 0.1 °C shrink to a byte or two per
point: full-precision float noise does not compress (docs/stack.md §9). Timestamps are int64 µs; pcodec
finds the delta encoding itself, so a regular 2 ms spacing costs almost nothing.

A value already at the resolution comes back bit for bit:

>>> import numpy as np
>>> ts = np.array([2_000, 0, 4_000], dtype=np.int64)
>>> values = np.array([231.46, 0.29, -0.07])
>>> ts_blob, val_blob = encode_chunk(ts, values, resolution=0.01)
>>> ts2, values2 = decode_chunk(ts_blob, val_blob, resolution=0.01)
>>> ts2.tolist(), values2.tolist()
([2000, 0, 4000], [231.46, 0.29, -0.07])
"""

from __future__ import annotations

import functools
import json
import math
import struct
from collections.abc import Mapping

import numpy as np
from pcodec import ChunkConfig, standalone

from cadence.domain.cycles import Waveform
from cadence.domain.samples import F64, I64

# Level 8 (pcodec's default) against 4: 1-2 % smaller waveforms for a small encode cost; encoding still
# runs at tens of millions of values per second, far above what ingest can feed it.
COMPRESSION_LEVEL = 8
# Quantised steps must stay exact once multiplied back in float64 (53-bit mantissa); 2^52 steps of
# 0.001 bar is still 4.5e12 bar, so no real sensor comes near it.
MAX_STEPS = 2**52
# Resolutions are decimal in practice (0.01 bar, 0.1 °C, 0.5 mm); past 12 decimals we stop looking for
# an exact decimal form and fall back to a plain multiplication.
MAX_DECIMALS = 12

_WAVEFORM_MAGIC = b"CWF1"  # identifies (and versions) the stroke waveform blob layout
_HEADER_LEN = struct.Struct("<I")  # byte length of the JSON header that follows the magic


class CodecError(ValueError):
    """Values cannot be encoded (not finite, or too large for the resolution), or a blob is corrupt."""


def _config() -> ChunkConfig:
    return ChunkConfig(compression_level=COMPRESSION_LEVEL)


def encode_ints(values: I64) -> bytes:
    """One pcodec blob for an int64 array (empty arrays included)."""
    return bytes(standalone.simple_compress(np.ascontiguousarray(values, dtype=np.int64), _config()))


def decode_ints(blob: bytes) -> I64:
    """The int64 array of :func:`encode_ints`."""
    try:
        out = standalone.simple_decompress(blob)
    except (RuntimeError, TypeError, ValueError) as err:
        raise CodecError(f"corrupt integer blob ({len(blob)} bytes): {err}") from err
    if out is None:  # pcodec returns None for an empty array
        return np.empty(0, dtype=np.int64)
    if out.dtype != np.int64:
        raise CodecError(f"expected an int64 blob, found {out.dtype}")
    return np.asarray(out, dtype=np.int64)


def encode_floats(values: F64) -> bytes:
    """One lossless pcodec blob for a float64 array (for values without a known resolution)."""
    return bytes(standalone.simple_compress(np.ascontiguousarray(values, dtype=np.float64), _config()))


def decode_floats(blob: bytes) -> F64:
    """The float64 array of :func:`encode_floats`."""
    try:
        out = standalone.simple_decompress(blob)
    except (RuntimeError, TypeError, ValueError) as err:
        raise CodecError(f"corrupt float blob ({len(blob)} bytes): {err}") from err
    if out is None:
        return np.empty(0, dtype=np.float64)
    if out.dtype != np.float64:
        raise CodecError(f"expected a float64 blob, found {out.dtype}")
    return np.asarray(out, dtype=np.float64)


@functools.lru_cache(maxsize=256)
def decimal_form(resolution: float) -> tuple[int, int]:
    """``(decimals, multiplier)`` with ``resolution == multiplier / 10**decimals``.

    ``SignalSpec.decimals`` only looks at the order of magnitude (0.25 → 1); this looks for the exact
    decimal form (0.25 → 2 decimals, multiplier 25), so that every multiple of the resolution prints and
    compares exactly.

    >>> decimal_form(0.01), decimal_form(0.25), decimal_form(5.0)
    ((2, 1), (2, 25), (0, 5))
    """
    if not (math.isfinite(resolution) and resolution > 0):
        raise CodecError(f"resolution must be a finite number > 0, got {resolution}")
    for decimals in range(MAX_DECIMALS + 1):
        scaled = resolution * 10**decimals
        multiplier = round(scaled)
        if multiplier >= 1 and abs(scaled - multiplier) <= 1e-9 * scaled:
            return decimals, multiplier
    return MAX_DECIMALS, max(1, round(resolution * 10**MAX_DECIMALS))


def quantise(values: F64, resolution: float) -> I64:
    """Integer steps of ``resolution`` nearest to each value (half to even, like ``SignalSpec.quantise``).

    Raises :class:`CodecError` for NaN, infinities and values too large to store exactly.
    """
    values = np.asarray(values, dtype=np.float64)
    steps = np.rint(values / resolution)
    if not np.isfinite(steps).all():
        raise CodecError("values must be finite numbers")
    if steps.size and np.abs(steps).max() > MAX_STEPS:
        raise CodecError(f"a value exceeds {MAX_STEPS} steps of {resolution}: it cannot be stored exactly")
    return steps.astype(np.int64)


def dequantise(steps: I64, resolution: float) -> F64:
    """Values of integer steps, each the float64 nearest to its exact decimal value.

    ``steps * multiplier`` is an exact integer and the one division by ``10**decimals`` is correctly
    rounded, so ``231.46`` comes back as the same double as the literal ``231.46``.
    """
    decimals, multiplier = decimal_form(resolution)
    exact = steps.astype(np.float64) * multiplier
    if decimals == 0:
        return exact
    return np.asarray(exact / float(10**decimals), dtype=np.float64)


def encode_chunk(ts_us: I64, values: F64, resolution: float) -> tuple[bytes, bytes]:
    """``(ts_blob, val_blob)`` for samples kept in the given order, values quantised to ``resolution``."""
    if len(ts_us) != len(values):
        raise CodecError("timestamps and values must have the same length")
    return encode_ints(ts_us), encode_ints(quantise(values, resolution))


def decode_chunk(ts_blob: bytes, val_blob: bytes, resolution: float) -> tuple[I64, F64]:
    """Timestamps and values of :func:`encode_chunk`."""
    ts = decode_ints(ts_blob)
    steps = decode_ints(val_blob)
    if len(ts) != len(steps):
        raise CodecError(f"chunk columns disagree: {len(ts)} timestamps, {len(steps)} values")
    return ts, dequantise(steps, resolution)


def encode_waveform(waveform: Waveform, resolutions: Mapping[str, float]) -> bytes:
    """One blob for a stroke waveform: a small JSON header, then one pcodec blob per signal.

    Signals with a known resolution are quantised like samples; any other is kept as lossless float64.
    The resolution used is written in the header, so a later change of the signal's resolution does not
    change how an old waveform reads.
    """
    parts: list[bytes] = []
    header_signals: list[dict[str, object]] = []
    for name, signal_values in waveform.signals.items():
        resolution = resolutions.get(name)
        if resolution is None:
            blob = encode_floats(signal_values)
        else:
            blob = encode_ints(quantise(signal_values, resolution))
        parts.append(blob)
        header_signals.append({"name": name, "res": resolution, "len": len(blob)})
    header = json.dumps(
        {"t0": waveform.t0_us, "dt": waveform.dt_us, "signals": header_signals}, separators=(",", ":")
    ).encode()
    return b"".join([_WAVEFORM_MAGIC, _HEADER_LEN.pack(len(header)), header, *parts])


def decode_waveform(blob: bytes) -> Waveform:
    """The waveform of :func:`encode_waveform`."""
    if blob[:4] != _WAVEFORM_MAGIC:
        raise CodecError("not a Cadence waveform blob")
    try:
        (header_len,) = _HEADER_LEN.unpack_from(blob, 4)
        start = 4 + _HEADER_LEN.size
        header = json.loads(blob[start : start + header_len])
        offset = start + header_len
        signals: dict[str, F64] = {}
        for entry in header["signals"]:
            part = blob[offset : offset + entry["len"]]
            offset += entry["len"]
            res = entry["res"]
            signals[entry["name"]] = (
                decode_floats(part) if res is None else dequantise(decode_ints(part), res)
            )
        return Waveform(t0_us=int(header["t0"]), dt_us=int(header["dt"]), signals=signals)
    except (KeyError, TypeError, ValueError, struct.error) as err:
        raise CodecError(f"corrupt waveform blob: {err}") from err
