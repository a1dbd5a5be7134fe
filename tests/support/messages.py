"""Version-1 messages for ingest tests, built as plain JSON documents (what a gateway would send)."""

from __future__ import annotations

import json
from typing import Any

# 2025-11-29T08:00:00Z, in µs: a plausible timestamp inside the protocol's accepted range.
T0_US = 1_764_403_200_000_000
# Microseconds between consecutive messages' first samples: far enough apart that no two test messages
# share a timestamp for a signal, so stored points can be counted exactly.
MESSAGE_SPAN_US = 10_000_000


def message(
    seq: int,
    *,
    machine: str = "P01",
    source: str = "gw-test",
    epoch: int = 1,
    points: int = 3,
    signal: str = "pressure",
    dt_us: int = 2_000,
    base: float = 100.0,
    **changes: Any,
) -> dict[str, Any]:
    """A valid message: one regular block of ``points`` samples starting at ``T0_US + seq * 10 s``."""
    doc: dict[str, Any] = {
        "v": 1,
        "source": source,
        "epoch": epoch,
        "seq": seq,
        "machine": machine,
        "samples": [
            {
                "signal": signal,
                "t0": T0_US + seq * MESSAGE_SPAN_US,
                "dt": dt_us,
                "values": [round(base + 0.25 * i, 2) for i in range(points)],
            }
        ],
    }
    doc.update(changes)
    return doc


def encode(doc: object) -> bytes:
    return json.dumps(doc).encode()


def topic(machine: str = "P01", kind: str = "samples") -> str:
    return f"cadence/v1/{machine}/{kind}"
