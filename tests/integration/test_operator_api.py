"""The operator API over a real runtime (SQLite store, SimClock): stop reasons, scrap, orders, logbook."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.domain.states import DEFAULT_REASONS
from cadence.ingest.local import LocalPublisher
from cadence.runtime import Runtime, open_runtime
from cadence.simulator import PlantSimulator
from cadence.web.app import create_app
from support.auth import FAST_AUTH, sign_in

START_US = 1_764_403_200_000_000  # 2025-11-29T08:00:00Z
MINUTE_US = 60_000_000
STOP_US = START_US - 10 * MINUTE_US


@pytest.fixture
def runtime(tmp_path: Any) -> Iterator[Runtime]:
    rt = open_runtime(load_settings(data_dir=tmp_path, **FAST_AUTH), clock=SimClock(start_us=START_US))
    yield rt
    rt.close()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime)) as c:
        sign_in(c, runtime.auth, "operator", name="lea")
        yield c


def _advance(runtime: Runtime, us: int) -> None:
    assert isinstance(runtime.clock, SimClock)
    runtime.clock.advance_to(runtime.clock.now_us() + us)


def test_the_reason_tree_has_both_languages(client: TestClient) -> None:
    answer = client.get("/api/v1/reasons").json()
    assert [r["code"] for r in answer["reasons"]] == [r.code for r in DEFAULT_REASONS]
    hydraulic = next(r for r in answer["reasons"] if r["code"] == "breakdown.hydraulic")
    assert hydraulic == {
        "code": "breakdown.hydraulic",
        "category": "breakdown",
        "state": "down",
        "label_fr": "Panne hydraulique",
        "label_en": "Hydraulic breakdown",
    }


def test_a_later_stop_reason_replaces_the_earlier_and_history_keeps_both(
    runtime: Runtime, client: TestClient
) -> None:
    url = f"/api/v1/machines/P01/stops/{STOP_US}/reason"
    first = client.post(url, json={"reason": "breakdown.hydraulic"})
    assert first.status_code == 200, first.text
    assert first.json()["stop_reason"] == {
        "machine": "P01",
        "stop_start_us": STOP_US,
        "stop_start": "2025-11-29T07:50:00+00:00",
        "reason": "breakdown.hydraulic",
        "by": "lea",
        "at_us": START_US,
        "at": "2025-11-29T08:00:00+00:00",
    }
    _advance(runtime, MINUTE_US)
    with TestClient(create_app(runtime.settings, runtime)) as supervisor:
        sign_in(supervisor, runtime.auth, "supervisor", name="max")
        assert supervisor.post(url, json={"reason": "breakdown.die"}).status_code == 200
    in_force = client.get("/api/v1/machines/P01/stops/reasons", params={"start": "-1h"}).json()
    assert [(r["reason"], r["by"]) for r in in_force["stop_reasons"]] == [("breakdown.die", "max")]
    everything = client.get("/api/v1/machines/P01/stops/reasons", params={"start": "-1h", "history": "true"})
    assert [(r["reason"], r["by"], r["at_us"]) for r in everything.json()["stop_reasons"]] == [
        ("breakdown.hydraulic", "lea", START_US),
        ("breakdown.die", "max", START_US + MINUTE_US),
    ]


def test_unknown_reason_machine_and_future_stop_are_refused_with_the_envelope(client: TestClient) -> None:
    unknown = client.post(f"/api/v1/machines/P01/stops/{STOP_US}/reason", json={"reason": "coffee"})
    body = unknown.json()
    assert (unknown.status_code, body["ok"], body["code"]) == (422, False, "invalid_input")
    assert body["reason"] == "coffee"
    assert body["error"] == "unknown reason code 'coffee'; allowed codes: " + ", ".join(
        r.code for r in DEFAULT_REASONS
    )
    missing = client.post(f"/api/v1/machines/NOPE/stops/{STOP_US}/reason", json={"reason": "breakdown.die"})
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    future = client.post(
        f"/api/v1/machines/P01/stops/{START_US + 1}/reason", json={"reason": "breakdown.die"}
    )
    assert (future.status_code, future.json()["code"]) == (422, "invalid_input")
    not_a_time = client.post("/api/v1/machines/P01/stops/yesterday/reason", json={"reason": "breakdown.die"})
    assert (not_a_time.status_code, not_a_time.json()["code"]) == (400, "bad_request")
    assert (
        client.get("/api/v1/machines/P01/stops/reasons", params={"history": "true"}).json()["stop_reasons"]
        == []
    )
    assert client.get("/api/v1/machines/NOPE/stops/reasons").status_code == 404


def test_scrap_is_declared_by_the_signed_in_user_and_validated(runtime: Runtime, client: TestClient) -> None:
    ok = client.post("/api/v1/machines/P01/scrap", json={"quantity": 4, "cause": " burrs at inspection "})
    assert ok.status_code == 200, ok.text
    assert ok.json()["scrap"] == {
        "machine": "P01",
        "at_us": START_US,
        "at": "2025-11-29T08:00:00+00:00",
        "quantity": 4,
        "cause": "burrs at inspection",
        "by": "lea",
    }
    for bad in (
        {"quantity": 0, "cause": "x"},
        {"quantity": -2, "cause": "x"},
        {"quantity": 1, "cause": "  "},
    ):
        answer = client.post("/api/v1/machines/P01/scrap", json=bad)
        assert (answer.status_code, answer.json()["code"]) == (422, "invalid_input"), bad
    # A body the API does not understand is a malformed request, not an invalid one.
    assert (
        client.post("/api/v1/machines/P01/scrap", json={"quantity": "many", "cause": "x"}).status_code == 400
    )
    assert (
        client.post("/api/v1/machines/P01/scrap", json={"quantity": 1, "cause": "x", "by": "bob"}).status_code
        == 400
    )
    listed = client.get("/api/v1/machines/P01/scrap").json()["scrap"]
    assert [(s["quantity"], s["by"]) for s in listed] == [(4, "lea")]
    assert client.get("/api/v1/machines/P02/scrap").json()["scrap"] == []


def test_orders_start_and_end_and_the_current_order_follows(runtime: Runtime, client: TestClient) -> None:
    orders = "/api/v1/machines/P01/orders"
    assert client.get(orders).json()["current"] is None
    refused = client.post(orders, json={"kind": "start", "order": "OF-1"})
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_input")
    assert "part number" in refused.json()["error"]
    assert client.post(orders, json={"kind": "end"}).json()["code"] == "invalid_input"  # nothing runs
    started = client.post(
        orders,
        json={
            "kind": "start",
            "order": "OF-1",
            "part_number": "BR-7",
            "lot": "L-1",
            "material_lot": "HEAT-1",
            "die": "D-3",
        },
    )
    assert started.status_code == 200, started.text
    assert client.get(orders).json()["current"] == started.json()["event"]
    wrong = client.post(orders, json={"kind": "end", "order": "OF-2"})
    assert (wrong.status_code, wrong.json()["running"]) == (422, "OF-1")
    _advance(runtime, MINUTE_US)
    ended = client.post(orders, json={"kind": "end"})
    assert ended.status_code == 200
    # The end carries what it ended, so an order's history reads whole from its events.
    assert (ended.json()["event"]["order"], ended.json()["event"]["die"]) == ("OF-1", "D-3")
    answer = client.get(orders).json()
    assert answer["current"] is None
    assert [(e["kind"], e["order"], e["at_us"]) for e in answer["events"]] == [
        ("start", "OF-1", START_US),
        ("end", "OF-1", START_US + MINUTE_US),
    ]
    assert client.post(orders, json={"kind": "pause"}).status_code == 400


def test_logbook_notes_for_a_machine_or_the_plant(runtime: Runtime, client: TestClient) -> None:
    plant = client.post("/api/v1/logbook", json={"text": "Compressor noisy"})
    assert plant.status_code == 200, plant.text
    assert plant.json()["note"]["machine"] is None
    _advance(runtime, MINUTE_US)
    assert client.post("/api/v1/logbook", json={"machine": "P01", "text": "x" * 2000}).status_code == 200
    too_long = client.post("/api/v1/logbook", json={"machine": "P01", "text": "x" * 2001})
    assert (too_long.status_code, too_long.json()["code"]) == (422, "invalid_input")
    assert "2001" in too_long.json()["error"]
    assert client.post("/api/v1/logbook", json={"text": "   "}).status_code == 422
    assert client.post("/api/v1/logbook", json={"machine": "NOPE", "text": "hi"}).status_code == 404
    every = client.get("/api/v1/logbook").json()["notes"]
    assert [(n["machine"], len(n["text"]), n["by"]) for n in every] == [
        (None, 16, "lea"),
        ("P01", 2000, "lea"),
    ]
    assert [
        n["machine"] for n in client.get("/api/v1/logbook", params={"machine": "P01"}).json()["notes"]
    ] == ["P01"]


def test_a_manager_reads_but_writes_nothing(runtime: Runtime, client: TestClient) -> None:
    client.post("/api/v1/logbook", json={"text": "handover"})
    with TestClient(create_app(runtime.settings, runtime)) as manager:
        sign_in(manager, runtime.auth, "manager")
        writes = [
            (f"/api/v1/machines/P01/stops/{STOP_US}/reason", {"reason": "breakdown.die"}),
            ("/api/v1/machines/P01/scrap", {"quantity": 1, "cause": "x"}),
            ("/api/v1/machines/P01/orders", {"kind": "start", "order": "OF-1", "part_number": "BR-7"}),
            ("/api/v1/logbook", {"text": "manager was here"}),
        ]
        for url, body in writes:
            answer = manager.post(url, json=body)
            assert (answer.status_code, answer.json()["code"]) == (403, "auth.forbidden"), url
        assert [n["text"] for n in manager.get("/api/v1/logbook").json()["notes"]] == ["handover"]
        assert manager.get("/api/v1/machines/P01/orders").json()["current"] is None


def test_writes_need_the_csrf_token(runtime: Runtime) -> None:
    with TestClient(create_app(runtime.settings, runtime)) as operator:
        sign_in(operator, runtime.auth, "operator")
        del operator.headers["X-CSRF-Token"]
        answer = operator.post("/api/v1/machines/P01/scrap", json={"quantity": 1, "cause": "x"})
        assert (answer.status_code, answer.json()["code"]) == (403, "auth.csrf")
        assert operator.get("/api/v1/machines/P01/scrap").json()["scrap"] == []


def test_scrap_declared_through_the_api_moves_the_live_counts(runtime: Runtime, client: TestClient) -> None:
    # Good parts first: declared scrap turns good parts into scrap, so it needs some to act on.
    publisher = LocalPublisher(runtime.pipeline)
    assert isinstance(runtime.clock, SimClock)
    sim = PlantSimulator(runtime.plant, publisher, runtime.clock, seed=3, start_us=START_US)
    sim.step_until(START_US + 5 * MINUTE_US)
    publisher.close()
    assert runtime.pipeline.wait_idle(30)
    runtime.clock.advance_to(sim.now_us)
    before = runtime.live.snapshot("P01")["machines"][0]  # type: ignore[index]
    assert before["good"] >= 2
    answer = client.post("/api/v1/machines/P01/scrap", json={"quantity": 2, "cause": "cracks"})
    assert answer.status_code == 200, answer.text
    after = runtime.live.snapshot("P01")["machines"][0]  # type: ignore[index]
    assert (after["good"], after["scrap"]) == (before["good"] - 2, before["scrap"] + 2)
