"""The operator's form routes over a real runtime (SQLite store, SimClock): what is saved, what is refused.

The JSON API's own tests cover the service's rules; these check the pages' side of them: the answer a
tablet gets (a redirect with a success message, or the page again with the problem in French and what was
typed), the CSRF token as a hidden form field, and who may post.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.domain.batch import Batch, IdempotencyKey
from cadence.domain.states import MachineState, StateChange
from cadence.runtime import Runtime, open_runtime
from cadence.services.operator import OperatorService
from cadence.web.app import create_app
from cadence.web.routes.operator_pages import explain
from support.auth import FAST_AUTH, sign_in

START_US = 1_764_576_000_000_000  # 2025-12-01T08:00:00Z, a Monday: 09:00 in Paris, the morning shift
MINUTE_US = 60_000_000
UNQUALIFIED_US = START_US - 30 * MINUTE_US  # a 20-minute breakdown nobody explained
CONTROLLER_US = START_US - 8 * MINUTE_US  # a stop the controller gave a reason, still running


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = open_runtime(load_settings(data_dir=tmp_path, **FAST_AUTH), clock=SimClock(start_us=START_US))
    changes = (
        StateChange(START_US - 60 * MINUTE_US, MachineState.RUNNING),
        # A 2-minute wait: a micro-stop, counted by the state engine but never coded one by one.
        StateChange(START_US - 50 * MINUTE_US, MachineState.IDLE),
        StateChange(START_US - 48 * MINUTE_US, MachineState.RUNNING),
        StateChange(UNQUALIFIED_US, MachineState.DOWN),
        StateChange(START_US - 10 * MINUTE_US, MachineState.RUNNING),
        StateChange(CONTROLLER_US, MachineState.SETUP, "setup.die_change"),
    )
    rt.store.append([Batch(IdempotencyKey("test", 1, 1), "P01", states=changes)])
    yield rt
    rt.close()


def _client(runtime: Runtime, role: str, name: str) -> TestClient:
    client = TestClient(create_app(runtime.settings, runtime))
    sign_in(client, runtime.auth, role, name=name)
    return client


@pytest.fixture
def operator(runtime: Runtime) -> Iterator[TestClient]:
    with _client(runtime, "operator", "lea") as client:
        yield client


def _service(runtime: Runtime) -> OperatorService:
    return OperatorService(runtime.store, runtime.plant, runtime.clock)


def _flash(page: str) -> str:
    found = re.search(r'class="flash flash-(?:ok|error)"[^>]*>(.*?)</p>', page, re.S)
    assert found, "no success or error message on the page"
    return html.unescape(found.group(1).strip())


def test_the_operator_page_lists_the_stop_waiting_and_the_one_the_controller_explained(
    operator: TestClient,
) -> None:
    page = operator.get("/presses/P01/operator")
    assert page.status_code == 200
    waiting = re.findall(r'class="stop-button [^"]*"[^>]*data-stop="(\d+)"', page.text)
    assert waiting == [str(UNQUALIFIED_US)]
    assert f'href="/presses/P01/operator/stops/{UNQUALIFIED_US}"' in page.text
    # The controller's reason counts as given; it can still be changed.
    assert "Changement d'outil" in html.unescape(page.text) and "automate" in page.text
    for action in ("scrap", "order", "note"):
        assert f'action="/presses/P01/operator/{action}' in page.text
    assert 'name="csrf_token"' in page.text


def test_two_taps_qualify_a_stop_and_a_later_reason_replaces_it(
    runtime: Runtime, operator: TestClient
) -> None:
    picker = operator.get(f"/presses/P01/operator/stops/{UNQUALIFIED_US}")
    assert picker.status_code == 200
    codes = re.findall(r'name="reason" value="([\w.]+)"', picker.text)
    assert sorted(codes) == sorted(r.code for r in _service(runtime).reasons)
    # A down stop: the groups of down reasons come first.
    assert codes[0].startswith("breakdown.")
    saved = operator.post(
        f"/presses/P01/operator/stops/{UNQUALIFIED_US}",
        data={"reason": "breakdown.die"},
        follow_redirects=False,
    )
    assert (saved.status_code, saved.headers["location"]) == (303, "/presses/P01/operator?ok=reason")
    stored = _service(runtime).stop_reasons("P01", UNQUALIFIED_US, UNQUALIFIED_US + 1)
    assert [(r.reason_code, r.by) for r in stored] == [("breakdown.die", "lea")]
    page = operator.get("/presses/P01/operator?ok=reason")
    assert _flash(page.text) == "✓ Motif enregistré."
    assert 'class="stop-button' not in page.text and "Panne outil" in page.text
    operator.post(f"/presses/P01/operator/stops/{UNQUALIFIED_US}", data={"reason": "breakdown.hydraulic"})
    history = _service(runtime).stop_reasons("P01", UNQUALIFIED_US, UNQUALIFIED_US + 1, history=True)
    assert [r.reason_code for r in history] == ["breakdown.die", "breakdown.hydraulic"]


def test_scrap_orders_and_notes_are_saved_in_the_users_name(runtime: Runtime, operator: TestClient) -> None:
    answer = operator.post(
        "/presses/P01/operator/scrap",
        data={"quantity": "3", "cause": "dimension", "other_cause": ""},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/presses/P01/operator?ok=scrap"
    # A typed cause wins over a tapped one.
    operator.post(
        "/presses/P01/operator/scrap", data={"quantity": "2", "cause": "dimension", "other_cause": "bavure"}
    )
    scrap = _service(runtime).scrap("P01", 0, START_US + 1)
    assert [(s.quantity, s.cause, s.by) for s in scrap] == [(3, "dimension", "lea"), (2, "bavure", "lea")]
    # The causes declared become the buttons, the most frequent (in parts) first.
    assert _service(runtime).common_scrap_causes("P01") == ["dimension", "bavure"]
    chips = re.findall(r'name="cause" value="([^"]+)"', operator.get("/presses/P01/operator").text)
    assert chips == ["dimension", "bavure"]
    start = {
        "kind": "start",
        "order": "OF-7",
        "part_number": "BR-7",
        "lot": "L-1",
        "material_lot": "C-88",
        "die": "D-1",
    }
    assert operator.post("/presses/P01/operator/order", data=start, follow_redirects=False).status_code == 303
    running = _service(runtime).current_order("P01")
    assert running is not None and (running.order, running.material_lot, running.by) == (
        "OF-7",
        "C-88",
        "lea",
    )
    page = operator.get("/presses/P01/operator")
    assert 'data-order="OF-7"' in page.text and 'id="order-end"' in page.text
    ended = operator.post(
        "/presses/P01/operator/order", data={"kind": "end", "order": "OF-7"}, follow_redirects=False
    )
    assert ended.headers["location"] == "/presses/P01/operator?ok=order_end"
    assert _service(runtime).current_order("P01") is None
    operator.post("/presses/P01/operator/note", data={"text": "Bruit au retour du vérin"})
    notes = _service(runtime).logbook(0, START_US + 1, "P01")
    assert [(n.machine, n.text, n.by) for n in notes] == [("P01", "Bruit au retour du vérin", "lea")]
    marks = operator.get("/presses/P01/annotations", params={"start": "-2h"}).json()["annotations"]
    assert sorted(m["kind"] for m in marks) == ["note", "order_end", "order_start", "scrap", "scrap"]


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("scrap", {"quantity": "0", "cause": "dimension"}, "La quantité doit être d'au moins 1."),
        ("scrap", {"quantity": "beaucoup", "cause": "dimension"}, "La quantité doit être un nombre entier."),
        ("scrap", {"quantity": "2"}, "Cause : obligatoire"),
        ("order", {"kind": "start", "order": "OF-8"}, "Référence pièce : obligatoire"),
        ("order", {"kind": "end", "order": "OF-8"}, "Aucun ordre en cours sur P01."),
        ("note", {"text": "   "}, "Note : obligatoire"),
        ("note", {"text": "x" * 2001}, "Note : 2000 caractères au plus (2001 saisis)"),
        (f"stops/{UNQUALIFIED_US}", {"reason": "café"}, "Motif inconnu : café"),
    ],
)
def test_problems_come_back_on_the_page_in_french_with_what_was_typed(
    runtime: Runtime, operator: TestClient, path: str, data: dict[str, str], message: str
) -> None:
    answer = operator.post(f"/presses/P01/operator/{path}", data=data, follow_redirects=False)
    assert answer.status_code == 422
    assert _flash(answer.text) == "⚠ " + message
    if path == "order" and data["kind"] == "start":
        assert 'value="OF-8"' in answer.text  # what was typed is kept
    service = _service(runtime)
    assert service.scrap("P01", 0, START_US + 1) == [] and service.current_order("P01") is None
    assert service.logbook(0, START_US + 1) == []


def test_problems_not_known_to_the_pages_are_shown_as_the_service_wrote_them() -> None:
    assert explain("the order is required; something new", lambda s: s) == (
        "the order is required; something new"
    )
    assert explain("order OF-1 is not running on P01; OF-2 is", lambda s: s) == (
        "Order OF-1 is no longer running; OF-2 is."
    )


def test_forms_need_the_csrf_token_of_the_session(runtime: Runtime, operator: TestClient) -> None:
    token = operator.headers.pop("X-CSRF-Token")
    for path, data in (
        ("/presses/P01/operator/scrap", {"quantity": "1", "cause": "x"}),
        (f"/presses/P01/operator/stops/{UNQUALIFIED_US}", {"reason": "breakdown.die"}),
        ("/presses/P01/operator/order", {"kind": "end"}),
        ("/presses/P01/operator/note", {"text": "x"}),
        ("/logbook", {"text": "x"}),
    ):
        for sent in (data, {**data, "csrf_token": "not-the-token"}):
            refused = operator.post(path, data=sent, follow_redirects=False)
            assert (refused.status_code, refused.json()["code"]) == (403, "auth.csrf"), path
    assert _service(runtime).scrap("P01", 0, START_US + 1) == []
    # The hidden field of the page's form is enough, as in a browser without script.
    ok = operator.post(
        "/presses/P01/operator/scrap",
        data={"quantity": "1", "cause": "x", "csrf_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303


def test_roles_without_the_permission_see_lists_without_forms_and_are_refused(runtime: Runtime) -> None:
    _service(runtime).write_note("P01", "Fuite au raccord", "lea")
    with _client(runtime, "manager", "paul") as manager:
        page = manager.get("/presses/P01/operator")
        assert page.status_code == 200 and "Fuite au raccord" in page.text
        assert '<form method="post" action="/presses' not in page.text
        assert f'data-stop="{UNQUALIFIED_US}"' in page.text and "/operator/stops/" not in page.text
        logbook = manager.get("/logbook")
        assert "Fuite au raccord" in logbook.text and 'id="logbook-form"' not in logbook.text
        for path, data in (
            ("/presses/P01/operator/scrap", {"quantity": "1", "cause": "x"}),
            ("/presses/P01/operator/note", {"text": "x"}),
            ("/logbook", {"text": "x"}),
        ):
            refused = manager.post(path, data=data)
            assert (refused.status_code, refused.json()["code"]) == (403, "auth.forbidden"), path
        assert manager.get(f"/presses/P01/operator/stops/{UNQUALIFIED_US}").status_code == 403
    with _client(runtime, "maintenance", "marc") as maintenance:
        page = maintenance.get("/presses/P01/operator")
        # Maintenance gives stop reasons and writes notes, but neither declares scrap nor runs orders.
        assert 'action="/presses/P01/operator/note"' in page.text
        assert 'action="/presses/P01/operator/scrap"' not in page.text
        assert 'action="/presses/P01/operator/order"' not in page.text
        assert (
            maintenance.post("/presses/P01/operator/scrap", data={"quantity": "1", "cause": "x"}).status_code
            == 403
        )


def test_the_logbook_page_takes_plant_wide_and_press_notes(runtime: Runtime, operator: TestClient) -> None:
    page = operator.get("/logbook")
    assert page.status_code == 200 and 'id="logbook-form"' in page.text
    assert (
        operator.post("/logbook", data={"text": "Livraison acier à 14 h", "machine": ""}).status_code == 200
    )
    assert operator.post("/logbook", data={"text": "P02 : bruit", "machine": "P02"}).status_code == 200
    notes = _service(runtime).logbook(0, START_US + 1)
    assert [(n.machine, n.text) for n in notes] == [(None, "Livraison acier à 14 h"), ("P02", "P02 : bruit")]
    unknown = operator.post("/logbook", data={"text": "x", "machine": "P99"}, follow_redirects=False)
    assert unknown.status_code == 404 and "P99" in _flash(unknown.text)
    listed = operator.get("/logbook?ok=note").text
    assert _flash(listed) == "✓ Note enregistrée."
    assert listed.index("P02 : bruit") < listed.index("Livraison acier")  # newest first
