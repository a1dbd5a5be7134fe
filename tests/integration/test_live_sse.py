"""The live path end to end: simulator → HTTP ingest → pipeline → hub → SSE → an httpx client."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.runtime import open_runtime
from cadence.simulator import PlantSimulator
from cadence.simulator.http_publisher import HttpPublisher
from cadence.web.app import create_app
from support.auth import FAST_AUTH, session_headers

START_US = 1_764_403_200_000_000
GRACE_S = 3


def _listen(
    url: str, events: queue.Queue[tuple[str, dict[str, Any]] | None], headers: dict[str, str]
) -> None:
    """Parse the SSE stream at ``url`` into (event, data) tuples; None when the stream ends."""
    try:
        with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(5, read=None)) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            name, data = "message", ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    name = line[len("event: ") :]
                elif line.startswith("data: "):
                    data += line[len("data: ") :]
                elif not line and data:
                    events.put((name, json.loads(data)))
                    name, data = "message", ""
    except httpx.HTTPError:
        pass  # the server went away: the stream ended
    finally:
        events.put(None)


def _next(events: queue.Queue[tuple[str, dict[str, Any]] | None], kinds: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        item = events.get(timeout=max(0.0, deadline - time.monotonic()))
        assert item is not None, "the stream ended early"
        if item[0] in kinds:
            return item[1]
    raise AssertionError(f"no {kinds} event within 30 s")


def test_stream_carries_live_events_and_ends_on_shutdown(tmp_path: Path) -> None:
    clock = SimClock(start_us=START_US)
    runtime = open_runtime(load_settings(data_dir=tmp_path, **FAST_AUTH), clock=clock)
    browser = session_headers(runtime.auth)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        create_app(runtime.settings, runtime), log_level="warning", timeout_graceful_shutdown=GRACE_S
    )
    server = uvicorn.Server(config)
    serving = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    serving.start()
    publisher = HttpPublisher(base, key=runtime.auth.create_device_key("gw-test"))
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)

        assert httpx.get(f"{base}/api/v1/live", timeout=5).status_code == 401  # no session, no stream
        missing = httpx.get(f"{base}/api/v1/live?machine=NOPE", headers=browser, timeout=5)
        assert missing.status_code == 404
        assert missing.json()["ok"] is False and missing.json()["code"] == "not_found"

        events: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        listener = threading.Thread(target=_listen, args=(f"{base}/api/v1/live?machine=P01", events, browser))
        listener.start()
        snapshot = _next(events, {"snapshot"})
        assert [m["machine"] for m in snapshot["machines"]] == ["P01"]
        assert snapshot["machines"][0]["stroke"] is None and snapshot["sample_us"] is None

        # Two simulated minutes of P01 and P02 through the HTTP ingest endpoint, as an edge agent sends.
        sim = PlantSimulator(
            runtime.plant, publisher, clock, seed=8, machines=["P01", "P02"], start_us=START_US
        )
        sim.step_until(START_US + 120 * 1_000_000)
        assert publisher.flush(30)

        received: dict[str, list[dict[str, Any]]] = {}
        deadline = time.monotonic() + 30
        while not (
            any("pressure" in v["values"] for v in received.get("values", [])) and received.get("stroke")
        ):
            item = events.get(timeout=max(0.0, deadline - time.monotonic()))
            assert item is not None, "the stream ended early"
            received.setdefault(item[0], []).append(item[1])
        assert {e["machine"] for batch in received.values() for e in batch} == {"P01"}  # the filter holds
        values = next(v for v in received["values"] if "pressure" in v["values"])
        assert {"oil_temp", "motor_power"} <= set(values["values"])
        assert values["values"]["pressure"]["kind"] == "stroke_peak"
        assert values["sample_us"] >= START_US and values["sent_us"] >= START_US
        stroke = received["stroke"][-1]
        assert stroke["stroke"]["n"] > 0 and stroke["good"] + stroke["scrap"] >= 1

        # Shut down with the stream still open: uvicorn must not wait for it for ever.
        began = time.monotonic()
        server.should_exit = True
        serving.join(GRACE_S + 5)
        assert not serving.is_alive()
        assert time.monotonic() - began < GRACE_S + 3
        listener.join(5)
        assert not listener.is_alive()
        assert runtime.live.subscribers == 0
    finally:
        server.should_exit = True
        serving.join(10)
        publisher.close(5)
        sock.close()
        runtime.close()
