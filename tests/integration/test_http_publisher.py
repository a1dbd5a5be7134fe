"""The edge-agent path: simulator → HttpPublisher → a real server → store, retried until committed."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.runtime import Runtime, open_runtime
from cadence.simulator import PlantSimulator
from cadence.simulator.http_publisher import HttpPublisher
from cadence.web.app import create_app
from support.auth import FAST_AUTH

START_US = 1_764_403_200_000_000


@contextmanager
def _server(runtime: Runtime, port: int) -> Iterator[None]:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server = uvicorn.Server(uvicorn.Config(create_app(runtime.settings, runtime), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        yield
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_messages_wait_for_the_server_and_are_stored_once(tmp_path: Path) -> None:
    clock = SimClock(start_us=START_US)
    runtime = open_runtime(load_settings(data_dir=tmp_path, **FAST_AUTH), clock=clock)
    port = _free_port()
    publisher = HttpPublisher(f"http://127.0.0.1:{port}", key=runtime.auth.create_device_key("gw-edge"))
    try:
        sim = PlantSimulator(
            runtime.plant, publisher, clock, seed=5, machines=["P01", "P02"], start_us=START_US
        )
        sim.step_until(START_US + 120 * 1_000_000)  # two simulated minutes, published while no server runs
        time.sleep(0.5)
        assert publisher.acknowledged == 0 and publisher.retries > 0
        with _server(runtime, port):
            assert publisher.flush(60)
            sim.step_until(START_US + 180 * 1_000_000)
            assert publisher.flush(60)
        totals = sim.totals()
        assert publisher.acknowledged == totals.messages and publisher.rejected == 0
        stats = runtime.store.stats()
        assert stats.points == totals.points
        assert stats.strokes == totals.strokes
        assert stats.batches == totals.messages
    finally:
        publisher.close(5)
        runtime.close()
