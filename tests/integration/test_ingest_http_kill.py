"""Kill test: a real server process SIGKILLed between receipt and commit, and between commit and response.

A client sends a known set of messages, retrying each request with the same keys whenever the connection
breaks or the server answers 5xx, and restarts the server whenever it died. At the end the store holds
every message exactly once — no loss, no duplicate — and passes SQLite's integrity check.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from cadence.ingest.failpoints import ENV_VAR
from cadence.store.sqlite import SqliteStore
from support.messages import MESSAGE_SPAN_US, T0_US, message

SERVER = Path(__file__).resolve().parents[1] / "support" / "ingest_server.py"
MESSAGES = 48
PER_REQUEST = 3
POINTS = 25
# One crash per server start, at a different place each time; the last start runs clean.
FAILPOINTS = [
    "ingest.before_commit=2",
    "ingest.after_commit=3",
    "ingest.before_commit=4",
    "ingest.after_commit=1",
    "ingest.after_commit=2,ingest.before_commit=5",
    "",
]
# A request waits in the socket backlog while a server starts (imports take ~1-3 s on a loaded machine).
REQUEST_TIMEOUT_S = 30.0


class ServerProcess:
    """Starts the ingest server on an inherited listening socket, one failpoint setting per start."""

    def __init__(self, db: Path, listener: socket.socket, log: Path) -> None:
        self.db, self.listener, self.log = db, listener, log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.killed = 0  # starts that ended by SIGKILL (a failpoint)

    def ensure_running(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        if self.process is not None and self.process.returncode == -signal.SIGKILL:
            self.killed += 1
        spec = FAILPOINTS[min(self.starts, len(FAILPOINTS) - 1)]
        env = {**os.environ, ENV_VAR: spec}
        fd = self.listener.fileno()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(SERVER), "--db", str(self.db), "--fd", str(fd)],
                pass_fds=(fd,),
                env=env,
                stdout=log,
                stderr=log,
            )
        self.starts += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.set_inheritable(True)
    try:
        yield sock
    finally:
        sock.close()


def _documents() -> list[dict[str, Any]]:
    docs = []
    for seq in range(MESSAGES):
        machine = ("P01", "P02", "P03")[seq % 3]
        docs.append(
            message(seq, machine=machine, points=POINTS, base=50.0 + seq, source="edge-kill", epoch=77)
        )
    return docs


def _send(client: httpx.Client, server: ServerProcess, body: list[dict[str, Any]]) -> dict[str, Any]:
    """Post until a 200 comes back, restarting the server whenever it died; never changes the body."""
    for _attempt in range(60):
        server.ensure_running()
        try:
            response = client.post("/api/v1/ingest", json=body)
        except httpx.TransportError:  # killed mid-request: connection reset or closed
            time.sleep(0.05)
            continue
        if response.status_code >= 500:
            time.sleep(0.1)
            continue
        assert response.status_code == 200, response.text
        reply: dict[str, Any] = response.json()
        return reply
    raise AssertionError("a request never succeeded")


@pytest.mark.slow
def test_no_loss_no_duplicate_across_crashes(tmp_path: Path, listener: socket.socket) -> None:
    db = tmp_path / "kill.db"
    server = ServerProcess(db, listener, tmp_path / "server.log")
    port = listener.getsockname()[1]
    docs = _documents()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=REQUEST_TIMEOUT_S) as client:
            for start in range(0, MESSAGES, PER_REQUEST):
                body = docs[start : start + PER_REQUEST]
                reply = _send(client, server, body)
                assert [r["status"] for r in reply["results"]] in (
                    [s1, s2, s3]
                    for s1 in ("stored", "duplicate")
                    for s2 in ("stored", "duplicate")
                    for s3 in ("stored", "duplicate")
                ), reply
                assert [r["seq"] for r in reply["results"]] == [d["seq"] for d in body]
    finally:
        server.stop()
    log = (tmp_path / "server.log").read_text(errors="replace")
    # The test proves something only if the crashes happened, at both failpoints.
    assert server.killed >= len(FAILPOINTS) - 1, log
    assert "failpoint ingest.before_commit reached" in log and "failpoint ingest.after_commit reached" in log

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        keys = conn.execute("SELECT source, epoch, seq FROM batches ORDER BY seq").fetchall()
    assert keys == [("edge-kill", 77, seq) for seq in range(MESSAGES)]  # each exactly once

    with SqliteStore(db, auto_compact_interval_s=0) as store:
        stats = store.stats()
        assert (stats.batches, stats.points) == (MESSAGES, MESSAGES * POINTS)
        for machine in ("P01", "P02", "P03"):
            mine = [d for d in docs if d["machine"] == machine]
            series = store.series(machine, "pressure", T0_US, T0_US + (MESSAGES + 1) * MESSAGE_SPAN_US)
            expected_ts = [
                d["samples"][0]["t0"] + i * d["samples"][0]["dt"] for d in mine for i in range(POINTS)
            ]
            expected_values = [v for d in mine for v in d["samples"][0]["values"]]
            assert series.ts_us.tolist() == expected_ts
            assert np.array_equal(series.values, np.array(expected_values))
