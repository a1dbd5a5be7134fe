"""The press health page (/presses/{id}/health) and its JSON API over a real SQLite store, evaluated the way
the runtime's maintenance loop does it (default monitor settings).

Data (:func:`fill`, built on tests/support/health_data.py): P01 runs healthy for 8 000 strokes, then its
pump leaks more every stroke (build-up time up to +12 % at stroke 20 000). P02 had the same fault
earlier: its alert was turned into a work order, closed with "pump leak" found, which labelled the
episode P01 now resembles. P03 has only started learning (300 strokes); P04 was never read.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.domain import Alarm, Batch, IdempotencyKey, Severity
from cadence.domain.cycles import Stroke
from cadence.runtime import Runtime, open_runtime
from cadence.services.health import ALARM_SOURCE, HealthService, alarm_code, view_json
from cadence.services.workorders import WorkOrderService
from cadence.web.app import create_app
from support import health_data as hd
from support.auth import FAST_AUTH, sign_in

STROKES = 20_000
ONSET = 8_000  # the default monitor learns and calibrates on ~6 000 strokes: the leak starts after
REPAIRED = 16_000  # P02's work order is closed at this stroke's time
END_US = hd.time_of(STROKES) + 60_000_000
LEARNING_STROKES = 300
PAGE = "/presses/P01/health"
API = "/api/v1/machines/P01/health"


def leak(i: int) -> float:
    """The share the leak adds to P01's build-up time at stroke ``i`` (+12 % at the last stroke)."""
    return max(0, i - ONSET) * 0.12 / (STROKES - ONSET)


def _write(runtime: Runtime, machine: str, items: list[Stroke], source: str) -> None:
    moved = [replace(s, machine=machine) for s in items]
    for k in range(0, len(moved), 500):
        chunk = tuple(moved[k : k + 500])
        runtime.store.append([Batch(IdempotencyKey(source, 1, chunk[0].n), machine, strokes=chunk)])


def fill(runtime: Runtime) -> int:
    """Write and evaluate the module docstring's history; returns the id of P02's closed work order."""
    clock = runtime.clock
    assert isinstance(clock, SimClock)
    health = HealthService(runtime.plant, runtime.store, clock)  # the runtime's own settings
    history = hd.strokes(STROKES, leak=leak)
    _write(runtime, "P01", history, "p01")
    _write(runtime, "P02", history[:REPAIRED], "p02")
    _write(runtime, "P03", history[:LEARNING_STROKES], "p03")
    clock.advance_to(hd.time_of(REPAIRED))
    health.evaluate(clock.now_us())
    [alarm] = [a for a in runtime.store.alarms(100, machine="P02") if a.source == ALARM_SOURCE]
    assert alarm.id is not None
    orders = WorkOrderService(runtime.plant, runtime.store, clock)
    order = orders.create_from_alarm(alarm.id, by="marc")
    orders.close(order.id, by="marc", work_done="pompe révisée", fault_mode="pump_leak")
    repaired = hd.strokes(REPAIRED + 200, leak=lambda i: 0.0)[REPAIRED:]  # after the closing
    _write(runtime, "P02", repaired, "p02-after")
    clock.advance_to(END_US)
    health.evaluate(END_US)
    return order.id


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, int]]:
    """The runtime over the filled store (once for the module: ~5 s), and P02's work order."""
    data_dir: Path = tmp_path_factory.mktemp("health-pages")
    rt = open_runtime(load_settings(data_dir=data_dir, **FAST_AUTH), clock=SimClock(start_us=hd.T0))
    order_id = fill(rt)
    # An alarm of another kind on the same press: it must not lead to the health page.
    rt.store.record_alarm(Alarm("test.other", Severity.WARNING, "autre alarme", END_US, "test", "P01"))
    yield rt, order_id
    rt.close()


@pytest.fixture
def runtime(filled: tuple[Runtime, int]) -> Runtime:
    return filled[0]


@pytest.fixture
def order_id(filled: tuple[Runtime, int]) -> int:
    return filled[1]


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime)) as c:
        yield c


def _text(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:p|section|div)>', page, re.S)
    assert found is not None, element_id
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def _card(page: str, subsystem: str) -> str:
    found = re.search(
        rf'<article class="health-card[^"]*" data-subsystem="{subsystem}".*?</article>', page, re.S
    )
    assert found is not None, subsystem
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(0))).split())


def _chart(page: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="health-data">(.*?)</script>', page, re.S)
    assert found is not None
    data: dict[str, object] = json.loads(found.group(1))
    return data


def test_the_supervisor_sees_the_sentence_the_fault_the_forecast_and_the_cards(
    client: TestClient, runtime: Runtime, order_id: int
) -> None:
    sign_in(client, runtime.auth, "supervisor")
    answer = client.get(PAGE)
    assert answer.status_code == 200, answer.text
    page = answer.text
    view = HealthService(runtime.plant, runtime.store, runtime.clock).view("P01", lang="fr")
    pump = next(s for s in view.subsystems if s.name == "pump")
    assert pump.health.alert and pump.forecast is not None

    # The sentence to act on, as the service words it, in big type at the top.
    sentence = _text(page, "health-sentence")
    assert sentence == view.explanation
    assert sentence.startswith("Fuite interne de pompe suspectée : temps de montée en pression +")
    assert "seuil attendu dans" in sentence
    fault = _text(page, "health-fault")
    assert "Fuite interne de pompe suspectée" in fault and "confiance 100" in fault

    # P02's labelled episode, linked to the work order that labelled it.
    assert f'href="/workorders/{order_id}"' in page
    similar = _text(page, "health-similar")
    assert f"#{order_id}" in similar and "Fuite de pompe" in similar and "P02" in similar

    # One card per followed subsystem, the worst first: health left, state word, forecast, features.
    cards = re.findall(r'data-subsystem="(\w+)" data-state="(\w+)"', page)
    assert cards[0] == ("pump", "alert")
    assert {name for name, _ in cards} == {s.name for s in view.subsystems}
    card = _card(page, "pump")
    figure = max(0, round(100 * (1 - pump.health.level)))
    assert f"Santé {figure} %" in card and figure < 80
    assert "Alerte" in card
    assert "Seuil attendu dans" in card
    # The significant moves first, the leak's three features, build-up time the largest.
    moves = re.findall(
        r'<li class="(significant|quiet)" data-feature="(\w+)"', page.split('data-subsystem="pump"')[1]
    )
    assert [f for _, f in moves[:3]] == ["buildup_time_s", "approach_speed_mm_s", "energy_kj"]
    assert all(kind == "significant" for kind, _ in moves[:3])
    assert "Temps de montée en pression (s) +" in card and "Vitesse d'approche (mm/s) -" in card.replace(
        "−", "-"
    )
    assert 'href="/workorders/new?machine=P01&amp;subsystem=pump"' in page
    healthy = _card(page, "valves_seals")
    assert "Santé 100 %" in healthy and "OK" in healthy and "Pas de tendance vers le seuil" in healthy

    # The chart: every hour of the period, each subsystem's level in %, the threshold and failure lines.
    chart = _chart(page)
    series = {s["name"]: s["values"] for s in chart["series"]}  # type: ignore[attr-defined]
    assert len(chart["t"]) == len(view.points) > 40  # type: ignore[arg-type]
    assert series["pump"][-1] == pytest.approx(100 * view.points[-1].levels["pump"], abs=0.01)
    assert next(v for v in series["pump"] if v is not None) == 0  # healthy before the leak
    assert chart["alert"] == 20 and chart["failure"] == 100
    # Each subsystem's own alert threshold: the cooler alerts at 10 %, with its own line and legend entry.
    own = {s["name"]: s["alert"] for s in chart["series"]}  # type: ignore[attr-defined]
    assert own["pump"] == 20
    legend = page.split('class="legend health-legend"')[1].split("</ul>")[0]
    if "cooler" in own:
        assert own["cooler"] == 10
        assert "Refroidisseur : seuil d'alerte (10 %)" in html.unescape(legend).replace("\xa0", " ")
    else:
        assert "key-own-alert" not in legend
    assert 'data-days="30"' in page and re.search(r'class="button active" href="[^"]*days=30', page)

    # The open alert, with its work-order button.
    assert "Alertes santé ouvertes" in page
    [alarm] = [a for a in runtime.store.alarms(10, active=True, machine="P01") if a.source == ALARM_SOURCE]
    assert alarm.code == alarm_code("pump")
    assert f'href="/workorders/new?alarm={alarm.id}"' in page


def test_an_operator_reads_the_page_without_the_work_order_buttons(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client, runtime.auth, "operator")
    page = client.get(PAGE).text
    assert _text(page, "health-sentence").startswith("Fuite interne de pompe suspectée")
    assert 'data-subsystem="pump"' in page
    assert "/workorders/new" not in page  # operators read work orders, they do not open them


def test_the_page_follows_the_chosen_language(client: TestClient, runtime: Runtime) -> None:
    sign_in(client, runtime.auth, "maintenance", name="tech-en")  # the choice is kept with the account
    page = client.post("/language", data={"locale": "en", "next": PAGE}).text  # back to the page
    sentence = _text(page, "health-sentence")
    assert sentence.startswith("Suspected pump internal leakage: pressure build-up time +")
    assert "threshold expected in" in sentence
    card = _card(page, "pump")
    assert "Pump" in card and "Health " in card and "Alert" in card and "Threshold expected in" in card
    assert "Pressure build-up time (s) +" in card
    assert "Similar episodes" in page and "Pump leak" in _text(page, "health-similar")
    series = _chart(page)["series"]
    assert series[0]["label"] == "Pump"  # type: ignore[index]
    # The alert is stored in both languages: the page's list of open alerts and the alarms page show the
    # English sentence to this reader, the French one to a French reader.
    [alarm] = [a for a in runtime.store.alarms(10, active=True, machine="P01") if a.source == ALARM_SOURCE]
    assert alarm.message_en is not None and alarm.message_en.startswith("Suspected pump internal leakage")
    fr, en = str(escape(alarm.message)), str(escape(alarm.message_en))  # as the page writes them
    assert en in page and fr not in page
    alarms = client.get("/alarms").text
    assert en in alarms and fr not in alarms
    french = client.post("/language", data={"locale": "fr", "next": "/alarms"}).text
    assert fr in french and en not in french


def test_the_api_gives_the_view_as_json(client: TestClient, runtime: Runtime, order_id: int) -> None:
    sign_in(client, runtime.auth, "manager")
    answer = client.get(API, params={"days": 7, "lang": "en"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    view = HealthService(runtime.plant, runtime.store, runtime.clock).view("P01", days=7, lang="en")
    assert body == json.loads(json.dumps(view_json(view)))
    assert body["explanation"].startswith("Suspected pump internal leakage: ")
    pump = body["subsystems"][0]
    assert pump["name"] == "pump" and pump["alert"] and pump["level"] > 0.2
    assert pump["forecast"]["low_days"] < pump["forecast"]["eta_days"] < pump["forecast"]["high_days"]
    assert body["diagnosis"]["mode"] == "pump_leak"
    assert body["diagnosis"]["similar"][0]["reference"] == f"#{order_id}"
    french = client.get(API).json()  # the plant's language by default
    assert french["explanation"].startswith("Fuite interne de pompe suspectée : ")
    assert client.get(API, params={"days": 0}).status_code == 400
    assert client.get(API, params={"lang": "de"}).status_code == 400


def test_an_unknown_press_is_404_on_the_page_and_the_api(client: TestClient, runtime: Runtime) -> None:
    sign_in(client, runtime.auth, "supervisor")
    assert client.get("/api/v1/machines/P99/health").status_code == 404
    assert client.get("/presses/P99/health").status_code == 404
    client.cookies.clear()
    assert client.get(API).status_code == 401  # and nothing for a visitor not signed in


def test_a_learning_press_and_a_press_never_read_say_so(client: TestClient, runtime: Runtime) -> None:
    sign_in(client, runtime.auth, "supervisor")
    learning = client.get("/presses/P03/health")
    assert learning.status_code == 200
    assert _text(learning.text, "health-sentence") == f"Apprentissage en cours ({LEARNING_STROKES} coups)"
    assert 'data-mood="learning"' in learning.text
    never = client.get("/presses/P04/health")
    assert never.status_code == 200
    assert _text(never.text, "health-sentence").startswith("Pas encore de données de santé")
    assert "health-card" not in never.text.split("</nav>", 2)[-1]
    assert 'id="health-no-history"' in never.text and "Aucun coup lu" in never.text
    assert client.get("/api/v1/machines/P04/health").json()["subsystems"] == []


def test_the_period_buttons_choose_the_history_shown(client: TestClient, runtime: Runtime) -> None:
    sign_in(client, runtime.auth, "supervisor")
    page = client.get(PAGE, params={"days": 7}).text
    assert re.search(r'class="button active" href="/presses/P01/health\?days=7"', page)
    assert "Usure sur 7 jours" in page
    assert 'href="/api/v1/machines/P01/health?days=7&amp;lang=fr"' in page
    assert client.get(PAGE, params={"days": 5}).status_code == 400  # only the page's three choices


def test_the_press_page_and_the_alarms_page_lead_to_the_health_page(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client, runtime.auth, "maintenance")
    press = client.get("/presses/P01").text
    assert 'id="health-link" href="/presses/P01/health"' in press
    alarms = client.get("/alarms").text
    [alarm] = [a for a in runtime.store.alarms(10, active=True, machine="P01") if a.source == ALARM_SOURCE]
    row = alarms.split(f'id="alarm-{alarm.id}"')[1].split('class="alarm ')[0]
    assert 'class="button health-from" href="/presses/P01/health"' in row
    other = [a for a in runtime.store.alarms(10, active=True) if a.source != ALARM_SOURCE]
    assert other
    for a in other:  # only health alerts link there
        assert "health-from" not in alarms.split(f'id="alarm-{a.id}"')[1].split('class="alarm ')[0]
