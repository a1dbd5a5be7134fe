"""The JSON API over a store filled by the simulated plant (real store, real pipeline, SimClock)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.ingest.local import LocalPublisher
from cadence.runtime import Runtime, open_runtime
from cadence.simulator import PlantSimulator
from cadence.web.app import create_app
from support.auth import FAST_AUTH, sign_in

START_US = 1_764_403_200_000_000  # 2025-11-29T08:00:00Z
END_US = START_US + 20 * 60 * 1_000_000


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    data_dir = tmp_path_factory.mktemp("api")
    clock = SimClock(start_us=START_US)
    rt = open_runtime(load_settings(data_dir=data_dir, **FAST_AUTH), clock=clock)
    publisher = LocalPublisher(rt.pipeline)
    sim = PlantSimulator(rt.plant, publisher, clock, seed=3, start_us=START_US)
    sim.step_until(START_US + 20 * 60 * 1_000_000)  # 20 simulated minutes
    publisher.close()
    rt.pipeline.wait_idle(30)
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime)) as c:
        sign_in(c, runtime.auth, "supervisor")
        yield c


def _envelope(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["ok"] is False
    assert body["status"] == status
    assert isinstance(body["code"], str)
    assert isinstance(body["error"], str) and body["error"]
    return body


def test_health(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["ok"] is True
    assert body["machines"] == 6
    assert body["store"]["points"] > 100_000
    assert body["store"]["bytes_per_point"] < 3
    assert body["ingest"]["rejected_total"] == 0


def test_machines_with_state_and_counts(client: TestClient) -> None:
    body = client.get("/api/v1/machines").json()
    machines = {m["id"]: m for m in body["machines"]}
    assert set(machines) == {"P01", "P02", "P03", "P04", "P05", "P06"}
    for m in machines.values():
        assert m["strokes"] > 20
        assert m["state"]["state"] in {"running", "idle", "down", "setup"}
        assert {s["name"] for s in m["signals"]} == {
            "pressure",
            "position",
            "force",
            "motor_power",
            "oil_temp",
        }


def test_latest_values(client: TestClient) -> None:
    values = client.get("/api/v1/machines/P01/latest").json()["values"]
    by_signal = {v["signal"]: v for v in values}
    assert 20 < by_signal["oil_temp"]["value"] < 80
    assert by_signal["oil_temp"]["unit"] == "°C"
    assert len(client.get("/api/v1/latest").json()["values"]) == 30


def test_series_raw_and_rollups(client: TestClient) -> None:
    end = START_US + 20 * 60 * 1_000_000
    raw = client.get(
        "/api/v1/machines/P02/series/pressure",
        params={"start": end - 60_000_000, "end": end, "resolution": "raw"},
    ).json()
    assert raw["resolution"] == "raw" and raw["unit"] == "bar"
    assert raw["points"] > 1000 and max(raw["values"]) > 100
    assert raw["ts_us"] == sorted(raw["ts_us"])
    minute = client.get(
        "/api/v1/machines/P02/series/oil_temp", params={"start": START_US, "end": end, "resolution": "auto"}
    ).json()
    assert minute["resolution"] == "1m"
    assert 18 <= minute["points"] <= 21
    assert all(
        lo <= mean <= hi for lo, mean, hi in zip(minute["min"], minute["values"], minute["max"], strict=True)
    )
    assert sum(minute["count"]) == pytest.approx(20 * 60, abs=5)


def test_strokes_and_states(client: TestClient) -> None:
    strokes = client.get(
        "/api/v1/machines/P03/strokes",
        params={"start": START_US, "end": END_US, "limit": 5, "waveform": True},
    ).json()["strokes"]
    assert len(strokes) == 5
    assert strokes[0]["start_us"] > strokes[-1]["start_us"]  # newest first
    assert strokes[0]["features"]["peak_pressure_bar"] > 50
    assert len(strokes[0]["waveform"]["signals"]["pressure"]) > 50
    states = client.get("/api/v1/machines/P03/states", params={"start": START_US, "end": END_US}).json()[
        "states"
    ]
    assert states and states[0]["state"] in {"running", "idle", "down", "setup"}


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/machines/P99/latest", 404, "not_found"),
        ("/api/v1/machines/P01/series/nope", 404, "not_found"),
        ("/api/v1/machines/P01/series/oil_temp?start=yesterday", 400, "bad_request"),
        ("/api/v1/machines/P01/series/oil_temp?start=-1m&end=-2m", 400, "bad_request"),
        ("/api/v1/machines/P01/series/oil_temp?resolution=5m", 400, "bad_request"),
        ("/api/v1/machines/P01/strokes?limit=0", 400, "bad_request"),
        ("/api/v1/nothing-here", 404, "not_found"),
    ],
)
def test_errors_share_one_envelope(client: TestClient, path: str, status: int, code: str) -> None:
    assert _envelope(client.get(path), status)["code"] == code


def test_openapi_lists_the_api(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/health",
        "/api/v1/machines",
        "/api/v1/ingest",
        "/api/v1/machines/{machine_id}/series/{signal}",
    ):
        assert path in paths


def test_reader_process_sees_the_writer_data(runtime: Runtime, tmp_path: Path) -> None:
    """SQLite lets a second, read-only opener see the committed data (serve beside ingest)."""
    from cadence.store.sqlite import SqliteStore

    with SqliteStore(runtime.settings.store_path, read_only=True) as reader:
        assert reader.stats().strokes == runtime.store.stats().strokes


def test_nothing_but_health_is_open_without_a_session(runtime: Runtime) -> None:
    with TestClient(create_app(runtime.settings, runtime)) as anonymous:
        assert anonymous.get("/health").status_code == 200
        for path in ("/api/v1/machines", "/api/v1/latest", "/api/v1/alarms", "/api/v1/openapi.json"):
            body = _envelope(anonymous.get(path), 401)
            assert body["code"] == "auth.required"
        assert anonymous.get("/openapi.json").status_code == 404  # only behind the login
        page = anonymous.get("/", headers={"accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/"


def test_quarantine_is_for_maintenance_and_admins(runtime: Runtime) -> None:
    with TestClient(create_app(runtime.settings, runtime)) as operator:
        sign_in(operator, runtime.auth, "operator")
        assert _envelope(operator.get("/api/v1/quarantine"), 403)["code"] == "auth.forbidden"
    with TestClient(create_app(runtime.settings, runtime)) as maintenance:
        sign_in(maintenance, runtime.auth, "maintenance")
        assert maintenance.get("/api/v1/quarantine").json()["ok"] is True


def test_tiles_fragment_for_the_periodic_refresh(client: TestClient) -> None:
    html = client.get("/fragments/tiles").text
    assert html.count('class="tile state-') == 6
    assert "Bonnes pièces" in html and "<html" not in html
