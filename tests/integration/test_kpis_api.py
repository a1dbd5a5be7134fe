"""GET /api/v1/kpis over a store filled by the simulated plant: rollups + live edge = the state engine."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from cadence.analytics.intervals import tile
from cadence.analytics.kpi import kpi_report
from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.domain.operator import apply_stop_reasons
from cadence.ingest.local import LocalPublisher
from cadence.runtime import Runtime, open_runtime
from cadence.services import kpi_history
from cadence.simulator import PlantSimulator
from cadence.web.app import create_app
from support.auth import FAST_AUTH, sign_in

HOUR_US = 3_600_000_000
START_US = 1_764_406_800_000_000  # 2025-11-29T09:00:00Z, a clock hour
NOW_US = START_US + HOUR_US + 20 * 60 * 1_000_000  # 10:20: 09:00 closed, 10:00 live


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    clock = SimClock(start_us=START_US)
    settings = load_settings(data_dir=tmp_path_factory.mktemp("kpis"), kpi_refresh_interval_s=0, **FAST_AUTH)
    rt = open_runtime(settings, clock=clock)
    publisher = LocalPublisher(rt.pipeline)
    sim = PlantSimulator(rt.plant, publisher, clock, seed=5, start_us=START_US)
    sim.step_until(NOW_US)
    publisher.close()
    rt.pipeline.wait_idle(60)
    clock.advance_to(NOW_US)
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime)) as c:
        sign_in(c, runtime.auth, "operator")
        yield c


def test_refresh_rolls_up_closed_hours_only(runtime: Runtime) -> None:
    report = kpi_history.refresh(runtime.plant, runtime.store, NOW_US)
    assert report.hours == len(runtime.plant.machines) and not report.pending
    for machine in runtime.plant.machines:
        status = runtime.store.kpi_status(machine.id)
        assert status.rolled_until_us == START_US + HOUR_US


def test_kpis_by_hour_equal_the_state_engine_on_raw_data(runtime: Runtime, client: TestClient) -> None:
    kpi_history.refresh(runtime.plant, runtime.store, NOW_US)
    answer = client.get("/api/v1/kpis", params={"from": str(START_US), "to": "now", "by": "hour"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    rows = body["machines"]
    assert len(rows) == 2 * len(runtime.plant.machines)
    for row in rows:
        machine = runtime.plant.machine(row["machine"])
        changes = runtime.store.states(machine.id, 0, NOW_US)
        reasons = runtime.store.stop_reasons(machine.id, 0, NOW_US)
        strokes = runtime.store.strokes(machine.id, START_US - HOUR_US, NOW_US, limit=100_000)
        ref = kpi_report(
            tile(apply_stop_reasons(changes, reasons), [], row["start_us"], row["end_us"]),
            strokes,
            pri_s=machine.target_cycle_s or 0.0,
        )
        assert (row["pq"], row["gq"], row["sq"], row["failure_events"]) == (
            ref.pq,
            ref.gq,
            ref.sq,
            ref.failure_events,
        )
        assert row["running_s"] == pytest.approx(ref.apt_s, abs=1e-6)
        assert row["pbt_s"] == pytest.approx(ref.pbt_s, abs=1e-6)
        assert row["oee"] == pytest.approx(ref.oee, rel=1e-12)
        assert row["energy_kwh"] > 0  # the simulator meters motor power
    last = [r for r in rows if r["start_us"] == START_US + HOUR_US]
    assert {r["end_us"] for r in last} == {NOW_US}  # the live hour stops at now
    pooled = body["pooled"]
    assert [p["start_us"] for p in pooled] == [START_US, START_US + HOUR_US]
    assert pooled[0]["pq"] == sum(r["pq"] for r in rows if r["start_us"] == START_US)


def test_one_machine_whole_period_and_refusals(client: TestClient) -> None:
    one = client.get("/api/v1/kpis", params={"from": str(START_US), "machine": "P01"}).json()
    assert [r["machine"] for r in one["machines"]] == ["P01"]
    assert one["machines"][0]["pot_s"] == pytest.approx((NOW_US - START_US) / 1e6)
    assert client.get("/api/v1/kpis", params={"from": "-1d", "machine": "P99"}).status_code == 404
    assert client.get("/api/v1/kpis", params={"from": "now", "to": "-1d"}).status_code == 400
    assert client.get("/api/v1/kpis", params={"from": "-1d", "by": "week"}).status_code == 400
    assert client.get("/api/v1/kpis", params={"from": "-500d"}).status_code == 400


def test_the_maintenance_loop_rolls_up_hours(tmp_path_factory: pytest.TempPathFactory) -> None:
    clock = SimClock(start_us=START_US)
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("loop"),
        retention_interval_s=0,
        kpi_refresh_interval_s=0.05,
        **FAST_AUTH,
    )
    rt = open_runtime(settings, clock=clock)
    try:
        publisher = LocalPublisher(rt.pipeline)
        PlantSimulator(rt.plant, publisher, clock, seed=2, start_us=START_US).step_until(
            START_US + 5 * 60 * 1_000_000
        )
        publisher.close()
        rt.pipeline.wait_idle(60)
        clock.advance_to(START_US + 2 * HOUR_US)  # the first hour has closed, the second has not
        rt.start_maintenance()
        for _ in range(200):
            if rt.store.kpi_status("P01").rolled_until_us == START_US + HOUR_US:
                break
            threading.Event().wait(0.05)
        assert rt.store.kpi_status("P01").rolled_until_us == START_US + HOUR_US
    finally:
        rt.close()
