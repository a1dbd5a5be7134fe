"""The alarms API over a real runtime (real SQLite store, SimClock): filters, acknowledgement, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.domain import Alarm, Severity
from cadence.errors import BadRequest
from cadence.runtime import Runtime, open_runtime
from cadence.services.alarms import AlarmService
from cadence.web.app import create_app
from support.auth import FAST_AUTH, sign_in

START_US = 1_764_403_200_000_000  # 2025-11-29T08:00:00Z
SECOND_US = 1_000_000


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


def _record(runtime: Runtime, raised_us: int, machine: str | None, code: str = "machine.oil_hot") -> int:
    return runtime.store.record_alarm(
        Alarm(code, Severity.WARNING, f"{code} on {machine}", raised_us, "analytics", machine=machine)
    )


def _ids(client: TestClient, **params: Any) -> list[int]:
    response = client.get("/api/v1/alarms", params=params)
    assert response.status_code == 200
    return [a["id"] for a in response.json()["alarms"]]


def test_alarms_carry_ids_and_their_state(runtime: Runtime, client: TestClient) -> None:
    alarm_id = _record(runtime, START_US - 60 * SECOND_US, "P01")
    (alarm,) = client.get("/api/v1/alarms").json()["alarms"]
    assert alarm["id"] == alarm_id
    assert alarm["raised"] == "2025-11-29T07:59:00+00:00"
    assert alarm["severity"] == "warning"
    assert alarm["machine"] == "P01"
    assert (alarm["state"], alarm["active"], alarm["acknowledged"]) == ("active_unacked", True, False)
    assert (alarm["acked"], alarm["acked_by"], alarm["cleared"]) == (None, None, None)


def test_acknowledge_stamps_the_server_clock_and_the_current_user(
    runtime: Runtime, client: TestClient
) -> None:
    alarm_id = _record(runtime, START_US - 60 * SECOND_US, "P01")
    response = client.post(f"/api/v1/alarms/{alarm_id}/ack")
    assert response.status_code == 200
    acked = response.json()["alarm"]
    assert (acked["id"], acked["state"], acked["acked_by"]) == (alarm_id, "active_acked", "lea")
    assert acked["acked_us"] == runtime.clock.now_us()
    # A second acknowledgement later changes nothing: the first one's time is kept.
    assert isinstance(runtime.clock, SimClock)
    runtime.clock.advance_to(START_US + 30 * SECOND_US)
    again = client.post(f"/api/v1/alarms/{alarm_id}/ack").json()["alarm"]
    assert again == acked
    assert client.get("/api/v1/alarms").json()["alarms"] == [acked]


def test_filters_by_active_unacknowledged_and_machine(runtime: Runtime, client: TestClient) -> None:
    p01_old = _record(runtime, START_US - 30 * SECOND_US, "P01")
    p02 = _record(runtime, START_US - 20 * SECOND_US, "P02")
    p01_new = _record(runtime, START_US - 10 * SECOND_US, "P01")
    plant = _record(runtime, START_US - 5 * SECOND_US, None, code="broker.messages_dropped")
    runtime.store.clear_alarm(p01_old, START_US)
    client.post(f"/api/v1/alarms/{p02}/ack")

    assert _ids(client) == [plant, p01_new, p02, p01_old]
    assert _ids(client, limit=1) == [plant]
    assert _ids(client, active="true") == [plant, p01_new, p02]
    assert _ids(client, active="false") == [p01_old]
    assert _ids(client, unacknowledged="true") == [plant, p01_new, p01_old]
    assert _ids(client, unacknowledged="false") == [p02]
    assert _ids(client, machine="P01") == [p01_new, p01_old]
    assert _ids(client, machine="P01", active="true", unacknowledged="true") == [p01_new]


def test_the_service_clears_on_the_server_clock_and_lists_what_is_active(runtime: Runtime) -> None:
    service = AlarmService(runtime.store, runtime.clock)
    kept = _record(runtime, START_US - 20 * SECOND_US, "P01")
    gone = _record(runtime, START_US - 10 * SECOND_US, "P01")
    other = _record(runtime, START_US - 5 * SECOND_US, "P02")
    assert service.clear(gone).cleared_us == START_US
    assert [a.id for a in service.active()] == [other, kept]
    assert [a.id for a in service.active(machine="P01")] == [kept]
    with pytest.raises(BadRequest):
        service.acknowledge(kept, "  ")


def test_unknown_alarm_and_bad_parameters_get_the_envelope(runtime: Runtime, client: TestClient) -> None:
    alarm_id = _record(runtime, START_US, "P01")
    response = client.post(f"/api/v1/alarms/{alarm_id + 1}/ack")
    assert response.status_code == 404
    body = response.json()
    assert (body["ok"], body["code"], body["status"]) == (False, "not_found", 404)
    assert body["alarm_id"] == alarm_id + 1
    bad_id = client.post("/api/v1/alarms/abc/ack")
    assert (bad_id.status_code, bad_id.json()["code"]) == (400, "bad_request")
    bad_filter = client.get("/api/v1/alarms", params={"active": "maybe"})
    assert (bad_filter.status_code, bad_filter.json()["code"]) == (400, "bad_request")
    # Nothing was acknowledged by the failed requests.
    assert _ids(client, unacknowledged="true") == [alarm_id]


def test_acknowledging_needs_the_permission_and_the_csrf_token(runtime: Runtime) -> None:
    alarm_id = _record(runtime, START_US, "P01")
    with TestClient(create_app(runtime.settings, runtime)) as manager:
        sign_in(manager, runtime.auth, "manager")
        assert manager.post(f"/api/v1/alarms/{alarm_id}/ack").json()["code"] == "auth.forbidden"
    with TestClient(create_app(runtime.settings, runtime)) as operator:
        sign_in(operator, runtime.auth, "operator")
        del operator.headers["X-CSRF-Token"]
        assert operator.post(f"/api/v1/alarms/{alarm_id}/ack").json()["code"] == "auth.csrf"
