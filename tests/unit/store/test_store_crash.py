"""Kill -9 the writing process at random moments: every acknowledged batch must be there, whole.

A child process appends batches and prints each key after its future resolved (= after COMMIT); the
parent SIGKILLs it at a random moment, reopens the file and checks every acknowledged batch, that no
batch is partly stored, and ``PRAGMA integrity_check``. Covers process crashes, not power loss (which
needs a fault-injecting VFS: docs/security.md G-R3).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from cadence.ports import AppendOutcome
from cadence.store.sqlite import SqliteStore

CHILD = Path(__file__).with_name("store_crash_child.py")
sys.path.insert(0, str(CHILD.parent))
from store_crash_child import DT_US, POINTS, T0, make_batch  # noqa: E402

ROUNDS = 4
SEQS_PER_ROUND = 1_000_000  # each round numbers its batches from round * this, so rounds never collide


def run_and_kill(db: Path, first_seq: int, rng: random.Random) -> list[int]:
    """Start the child, let it acknowledge a random number of batches, SIGKILL it; return the acks."""
    stop_after = rng.randint(1, 150)
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(db), str(first_seq)],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    acked: list[int] = []
    assert child.stdout is not None
    try:
        for line in child.stdout:
            acked.append(int(line))
            if len(acked) >= stop_after:
                break
        time.sleep(rng.uniform(0, 0.02))  # land the kill anywhere, not just after an acknowledgement
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    # Acknowledgements printed before the kill but not yet read by us are still acknowledgements.
    return acked


def test_acknowledged_batches_survive_kill_9(tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    db = tmp_path / "crash.sqlite"
    all_acked: list[int] = []
    for round_no in range(ROUNDS):
        first = round_no * SEQS_PER_ROUND
        acked = run_and_kill(db, first, rng)
        assert acked, f"seed {seed}: the child acknowledged nothing"
        all_acked += acked

        with SqliteStore(db, auto_compact_interval_s=0) as store:
            assert store.integrity_check() == "ok", f"seed {seed}"
            span = POINTS * DT_US
            for seq in acked:
                expected = make_batch(seq)
                got = store.series("P01", "pressure", T0 + seq * span, T0 + (seq + 1) * span)
                assert np.array_equal(got.ts_us, expected.samples[0].ts_us), f"seed {seed}, seq {seq}"
                assert np.array_equal(got.values, expected.samples[0].values), f"seed {seed}, seq {seq}"
                assert [s.n for s in store.strokes("P01", T0 + seq * span, T0 + seq * span + 1)] == [seq]
            # Batches committed without an acknowledgement reaching us may exist; none may be partial.
            last = max(acked) + 64
            got = store.series("P01", "pressure", T0 + first * span, T0 + last * span)
            per_batch = np.bincount((got.ts_us - T0) // span - first)
            assert set(per_batch.tolist()) <= {0, POINTS}, f"seed {seed}: a batch is partly stored"
            # The ledger survived with the data: acknowledged keys are duplicates now.
            assert store.append([make_batch(acked[0])]) == [AppendOutcome.DUPLICATE]
    with SqliteStore(db, read_only=True) as reader:
        assert reader.stats().batches >= len(all_acked)
