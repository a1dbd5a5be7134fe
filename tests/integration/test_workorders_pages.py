"""The work order pages (/workorders…) and their JSON API over a real SQLite store: an order opened from
an alert through the form (CSRF as a hidden field, as a browser posts it), assigned, started and closed
with what was found, the refusals shown in French, the list with its filters, the links from the alarms
and press pages, and who may do what (an operator reads, never closes)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.domain import Alarm, Severity
from cadence.domain.workorders import WorkOrderStatus
from cadence.runtime import Runtime, open_runtime
from cadence.services.workorders import WorkOrderService
from cadence.web.app import create_app
from support.auth import FAST_AUTH, sign_in

T0 = 1_764_403_200_000_000  # 2025-11-29T08:00:00Z, 09:00 in Paris
MINUTE_US = 60_000_000
MESSAGE = "Pompe : fuite interne probable (débit de fuite +40 % en 3 jours)"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = open_runtime(load_settings(data_dir=tmp_path, **FAST_AUTH), clock=SimClock(start_us=T0))
    yield rt
    rt.close()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime)) as c:
        yield c


def _alarm(runtime: Runtime, code: str = "health.pump", machine: str = "P02") -> int:
    return runtime.store.record_alarm(
        Alarm(code, Severity.CRITICAL, MESSAGE, T0 - 20 * MINUTE_US, "health", machine)
    )


def _post(client: TestClient, token: str, path: str, fields: dict[str, str]) -> httpx.Response:
    """Post a form as a browser does: the token as a hidden field, not the header."""
    del client.headers["X-CSRF-Token"]
    try:
        return client.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)
    finally:
        client.headers["X-CSRF-Token"] = token


def _text(answer: httpx.Response) -> str:
    return html.unescape(answer.text)


def test_the_maintenance_loop_through_the_forms(client: TestClient, runtime: Runtime) -> None:
    alarm_id = _alarm(runtime)
    token = sign_in(client, runtime.auth, "maintenance", name="marc")

    # The alarms page offers a work order on the alert; the form comes pre-filled from it.
    alarms = _text(client.get("/alarms"))
    assert f'href="/workorders/new?alarm={alarm_id}"' in alarms and "Bon de travail" in alarms
    form = _text(client.get(f"/workorders/new?alarm={alarm_id}"))
    assert 'id="wo-from-alarm"' in form and MESSAGE in form
    assert re.search(r'name="machine" value="P02" checked', form)
    assert re.search(r'name="subsystem" value="pump" checked', form)
    assert re.search(r'name="priority" value="high" checked', form)

    fields = {"alarm": str(alarm_id), "machine": "P02", "title": "Fuite pompe P02", "description": MESSAGE}
    created = _post(client, token, "/workorders/new", {**fields, "subsystem": "pump", "priority": "high"})
    assert created.status_code == 303, created.text[:300]
    location = created.headers["location"]
    order_id = int(re.fullmatch(r"/workorders/(\d+)\?ok=created", location).group(1))  # type: ignore[union-attr]
    page = _text(client.get(location))
    assert "Bon de travail ouvert." in page and "Fuite pompe P02" in page
    acked = runtime.store.alarm(alarm_id)
    assert acked is not None and acked.acked_by == "marc"

    assigned = _post(client, token, f"/workorders/{order_id}/assign", {"assignee": "paul", "due": ""})
    assert assigned.headers["location"] == f"/workorders/{order_id}?ok=assigned"
    started = _post(client, token, f"/workorders/{order_id}/start", {})
    assert started.status_code == 303

    # Closing without saying what was found: the form again, the problem in French, what was typed kept.
    close = {
        "work_done": "Joint de piston changé",
        "parts": "joint piston Ø80\n\nbague guide",
        "subsystem": "pump",
    }
    refused = _post(client, token, f"/workorders/{order_id}/close", {**close, "rebaseline": "1"})
    assert refused.status_code == 422
    text = _text(refused)
    assert "Choisissez ce qui a été trouvé." in text and "Joint de piston changé" in text
    assert WorkOrderService(runtime.plant, runtime.store, runtime.clock).get(order_id).status is (
        WorkOrderStatus.IN_PROGRESS
    )

    done = _post(
        client,
        token,
        f"/workorders/{order_id}/close",
        {**close, "fault_mode": "seal_wear", "rebaseline": "1"},
    )
    assert done.status_code == 303
    page = _text(client.get(done.headers["location"]))
    assert "Bon de travail clôturé." in page and 'data-status="closed"' in page
    assert "Usure des joints" in page and "bague guide" in page
    assert 'id="wo-close-form"' not in page  # a closed order offers no step any more
    order = client.get(f"/api/v1/workorders/{order_id}").json()
    assert order["work_order"]["parts_replaced"] == ["joint piston Ø80", "bague guide"]
    assert order["work_order"]["rebaseline"] is True
    assert order["work_order"]["episode_start_us"] == T0 - 20 * MINUTE_US
    assert [e["kind"] for e in order["events"]] == ["created", "assigned", "started", "closed"]
    assert [e["by"] for e in order["events"]] == ["marc"] * 4


def test_the_list_shows_open_orders_first_with_filters(client: TestClient, runtime: Runtime) -> None:
    service = WorkOrderService(runtime.plant, runtime.store, runtime.clock)
    low = service.create("P01", "Graisser les colonnes", by="lea", priority="low")
    urgent = service.create("P03", "Fuite d'huile au sol", by="lea", priority="urgent", assignee="marc")
    closed = service.create("P01", "Capteur de pression HS", by="lea", subsystem="electrical")
    service.close(closed.id, by="marc", work_done="Capteur remplacé", fault_mode="other")
    sign_in(client, runtime.auth, "operator")

    text = _text(client.get("/workorders"))
    rows = re.findall(r'class="wo-row[^"]*" href="/workorders/(\d+)"', text)
    assert rows == [str(urgent.id), str(low.id)]  # urgent first; the closed one is in the history
    assert "marc" in text and "Personne" in text  # assignee, or nobody yet
    history = text.split('id="wo-history"', 1)[1]
    assert f'href="/workorders/{closed.id}"' in history and "Autre panne" in history
    assert 'id="wo-new"' not in text  # an operator reads only

    p01 = _text(client.get("/workorders?machine=P01"))
    assert re.findall(r'class="wo-row[^"]*" href="/workorders/(\d+)"', p01) == [str(low.id)]
    only_closed = _text(client.get("/workorders?status=closed"))
    assert 'id="wo-open"' not in only_closed and f'href="/workorders/{closed.id}"' in only_closed
    assigned = _text(client.get("/workorders?status=assigned"))
    assert re.findall(r'class="wo-row[^"]*" href="/workorders/(\d+)"', assigned) == [str(urgent.id)]
    assert client.get("/workorders?status=broken").status_code == 400

    # The press page links to its orders with the count of open ones.
    press = client.get("/presses/P01").text
    assert re.search(
        r'id="workorders-link" href="/workorders\?machine=P01">.*?<span class="badge"[^>]*>1</span>',
        press,
        re.S,
    )


def test_an_operator_reads_but_cannot_open_or_close(client: TestClient, runtime: Runtime) -> None:
    alarm_id = _alarm(runtime)
    order = WorkOrderService(runtime.plant, runtime.store, runtime.clock).create("P02", "Fuite", by="lea")
    token = sign_in(client, runtime.auth, "operator")
    assert "/workorders/new?alarm=" not in client.get("/alarms").text
    page = client.get(f"/workorders/{order.id}")
    assert page.status_code == 200 and 'id="wo-close-form"' not in page.text
    for path, fields in (
        (f"/workorders/{order.id}/close", {"work_done": "x", "fault_mode": "none"}),
        (f"/workorders/{order.id}/start", {}),
        ("/workorders/new", {"machine": "P02", "title": "x"}),
    ):
        answer = _post(client, token, path, fields)
        assert answer.status_code == 403 and answer.json()["code"] == "auth.forbidden", path
    assert client.get(f"/workorders/new?alarm={alarm_id}").status_code == 403
    api = client.post(f"/api/v1/workorders/{order.id}/transition", json={"action": "start"})
    assert api.status_code == 403
    assert client.get("/api/v1/workorders").json()["work_orders"][0]["id"] == order.id


def test_a_form_without_the_csrf_token_is_refused(client: TestClient, runtime: Runtime) -> None:
    token = sign_in(client, runtime.auth, "supervisor")
    del client.headers["X-CSRF-Token"]
    answer = client.post("/workorders/new", data={"machine": "P01", "title": "x"}, follow_redirects=False)
    assert answer.status_code == 403 and answer.json()["code"] == "auth.csrf"
    client.headers["X-CSRF-Token"] = token
    assert _post(client, token, "/workorders/new", {"machine": "P01", "title": "Contrôle"}).status_code == 303


def test_the_new_form_refusals_and_the_one_order_per_alert(client: TestClient, runtime: Runtime) -> None:
    alarm_id = _alarm(runtime)
    token = sign_in(client, runtime.auth, "supervisor")
    no_title = _post(client, token, "/workorders/new", {"machine": "P01", "title": " ", "priority": "normal"})
    assert no_title.status_code == 422 and "Donnez un titre au bon." in _text(no_title)
    no_press = _post(client, token, "/workorders/new", {"title": "Contrôle"})
    assert no_press.status_code == 422 and "Choisissez la presse." in _text(no_press)
    first = _post(client, token, "/workorders/new", {"alarm": str(alarm_id), "title": ""})
    assert first.status_code == 303
    second = _post(client, token, "/workorders/new", {"alarm": str(alarm_id), "title": ""})
    assert second.status_code == 409
    assert 'id="wo-existing"' in second.text and first.headers["location"].split("?")[0] in second.text
    assert client.get("/workorders/new?alarm=999").status_code == 404
    assert client.get("/workorders/999").status_code == 404


def test_the_json_api(client: TestClient, runtime: Runtime) -> None:
    alarm_id = _alarm(runtime, code="spc.we1", machine="P04")
    sign_in(client, runtime.auth, "maintenance", name="marc")
    made = client.post("/api/v1/workorders", json={"alarm_id": alarm_id, "assignee": "marc"})
    assert made.status_code == 201, made.text
    order = made.json()["work_order"]
    assert (order["machine"], order["subsystem"], order["status"]) == ("P04", "other", "assigned")
    by_hand = client.post(
        "/api/v1/workorders", json={"machine": "P05", "title": "Contrôle", "due": "2025-12-01T08:00:00+01:00"}
    )
    assert by_hand.status_code == 201 and by_hand.json()["work_order"]["due_us"] == 1_764_572_400_000_000
    assert client.post("/api/v1/workorders", json={"title": "sans presse"}).status_code == 422
    assert client.post("/api/v1/workorders", json={"machine": "P99", "title": "x"}).status_code == 404
    assert (
        client.post(
            "/api/v1/workorders", json={"machine": "P05", "title": "x", "priority": "asap"}
        ).status_code
        == 422
    )

    oid = order["id"]
    step = client.post(f"/api/v1/workorders/{oid}/transition", json={"action": "close", "work_done": "ok"})
    assert step.status_code == 422 and step.json()["code"] == "invalid_input"
    step = client.post(
        f"/api/v1/workorders/{oid}/transition",
        json={
            "action": "close",
            "work_done": "Outil reaffûté",
            "fault_mode": "die_wear",
            "subsystem": "tooling",
            "parts_replaced": ["poinçon 12 mm"],
            "episode_start": str(T0 - 60 * MINUTE_US),
        },
    )
    assert step.status_code == 200, step.text
    closed = step.json()["work_order"]
    assert (closed["status"], closed["fault_mode"], closed["subsystem"], closed["rebaseline"]) == (
        "closed",
        "die_wear",
        "tooling",
        True,
    )
    assert closed["episode_start_us"] == T0 - 60 * MINUTE_US
    again = client.post(f"/api/v1/workorders/{oid}/transition", json={"action": "cancel", "reason": "x"})
    assert again.status_code == 409 and again.json()["code"] == "workorder.conflict"
    assert client.post("/api/v1/workorders/999/transition", json={"action": "start"}).status_code == 404

    listed = client.get("/api/v1/workorders", params={"status": "closed", "closed_since": str(T0)}).json()
    assert [o["id"] for o in listed["work_orders"]] == [oid]
    assert [
        o["machine"] for o in client.get("/api/v1/workorders", params={"open": "true"}).json()["work_orders"]
    ] == ["P05"]
    detail = client.get(f"/api/v1/workorders/{oid}").json()
    assert [e["kind"] for e in detail["events"]] == ["created", "closed"]
    assert detail["events"][1]["details"]["fault_mode"] == "die_wear"


def test_the_health_page_link_preselects_the_press_and_subsystem(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client, runtime.auth, "maintenance")
    form = client.get("/workorders/new?machine=P03&subsystem=valves_seals").text
    assert 'name="subsystem" value="valves_seals" checked' in form
    assert 'value="P03"' in form
    unknown = client.get("/workorders/new?machine=P03&subsystem=flux_capacitor").text
    assert 'name="subsystem" value="" checked' in unknown
