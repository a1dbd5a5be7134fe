"""Child process of the crash test: append batches and print each key once its commit is acknowledged.

Usage: ``python store_crash_child.py DB_PATH FIRST_SEQ``. Runs until killed. Every batch is derived from
its ``seq`` alone (see :func:`make_batch`), so the parent can check what a committed batch must hold.
"""

from __future__ import annotations

import sys
from collections import deque
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from cadence.domain import Batch, IdempotencyKey, SampleBlock, SignalKind, SignalSpec, Stroke
from cadence.ports import AppendOutcome
from cadence.store.sqlite import SqliteStore

T0 = 1_700_000_000_000_000
POINTS = 1_000  # per batch
DT_US = 2_000
IN_FLIGHT = 8  # batches submitted but not yet acknowledged: exercises group commit
PRESSURE = SignalSpec("pressure", "bar", sampling_hz=500, resolution=0.01, kind=SignalKind.WAVEFORM)


def make_batch(seq: int) -> Batch:
    """The batch numbered ``seq``: 1000 pressure points and one stroke, all derived from ``seq``."""
    start = T0 + seq * POINTS * DT_US
    values = ((seq * 7 + np.arange(POINTS)) % 5_000) / 100
    block = SampleBlock.regular("pressure", start, DT_US, values)
    stroke = Stroke(
        "P01", n=seq, start_us=start, end_us=start + POINTS * DT_US, good=True, features={"seq": seq}
    )
    return Batch(
        IdempotencyKey("crash", 1, seq), "P01", samples=(block,), strokes=(stroke,), digest=str(seq).encode()
    )


def main() -> None:
    path, first = Path(sys.argv[1]), int(sys.argv[2])
    store = SqliteStore(path, auto_compact_interval_s=0)
    store.register_signals("P01", [PRESSURE])
    pending: deque[tuple[int, Future[list[AppendOutcome]]]] = deque()
    seq = first
    while True:
        pending.append((seq, store.submit([make_batch(seq)])))
        seq += 1
        if len(pending) >= IN_FLIGHT:
            done_seq, future = pending.popleft()
            if future.result() == [AppendOutcome.STORED]:
                sys.stdout.write(f"{done_seq}\n")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
