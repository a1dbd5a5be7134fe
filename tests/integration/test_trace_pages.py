"""The traceability page (/trace) over a real SQLite store: the part card of a serial, a heat's summary and
its parts page by page, the CSV download, a search that finds nothing, mistyped input and who may open it.

The data (tests/support/trace_data.py) is small enough that every expected figure is counted here from
the strokes written, not read back from the service the page uses.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cadence.auth import Role
from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.runtime import Runtime, open_runtime
from cadence.services.traceability import BOM
from cadence.web.app import create_app
from support import trace_data as td
from support.auth import FAST_AUTH, sign_in


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    data_dir: Path = tmp_path_factory.mktemp("trace-pages")
    now = td.T0 + 300 * td.MINUTE
    rt = open_runtime(load_settings(data_dir=data_dir, **FAST_AUTH), clock=SimClock(start_us=now))
    td.fill(rt)
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime)) as c:
        sign_in(c, runtime.auth, "supervisor")
        yield c


def _serials(page: str) -> list[str]:
    return re.findall(r'<tr class="[^"]*" data-serial="([^"]*)"', page)


def test_the_form_alone_and_the_menu_link(client: TestClient) -> None:
    page = client.get("/trace")
    assert page.status_code == 200
    assert 'name="q"' in page.text and 'value="serial" checked' in page.text
    assert '<a href="/trace" class="active">Traçabilité</a>' in page.text
    assert "part-card" not in page.text and "trace-message" not in page.text


def test_a_serial_gives_its_part_card_with_curve_and_links(client: TestClient, runtime: Runtime) -> None:
    page = client.get("/trace", params={"kind": "serial", "q": " A-10 "})  # spaces as a scanner may add
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert text.count('class="panel part-card') == 1
    assert 'data-machine="P01" data-n="10"' in text
    for key, value in [("order", "OF-1"), ("part", "BR-7"), ("lot", "L-1"), ("material_lot", "HEAT-7")]:
        assert f'data-key="{key}" data-source="press"><dt>' in text
        assert f'<dd>{value} <span class="src">presse</span></dd>' in text
    assert "<dt>Poste</dt><dd>matin</dd>" in text
    assert "Pression max. (bar)" in text and "190,00" in text  # 180 + n, in French
    assert "peak_pressure_bar" not in text  # the feature by its label, not its code
    curve = re.search(r'data-curve="([^"]+)"', page.text)
    assert curve is not None
    drawn = json.loads(html.unescape(curve.group(1)))
    ten = td.p01_strokes()[9]
    (kept,) = runtime.store.strokes("P01", ten.start_us, ten.start_us + 1, with_waveform=True)
    stored = kept.waveform  # as the store keeps it (rounded), which is what the page must draw
    assert stored is not None and len(stored.signals["pressure"]) == td.POINTS
    assert drawn["dt_us"] == stored.dt_us
    for signal in ("pressure", "position"):
        assert drawn[signal] == [float(v) for v in stored.signals[signal]]
    assert 'href="/trace?kind=heat&q=HEAT-7"' in text and 'href="/trace?kind=lot&q=L-1"' in text
    assert "✓" in text


def test_a_scrapped_part_without_curve_says_so(client: TestClient) -> None:
    text = html.unescape(client.get("/trace", params={"kind": "serial", "q": "A-9"}).text)
    assert "✖ Rebut · crack" in text
    assert "Pas de courbe conservée." in text and "data-curve" not in text


def test_an_old_press_part_shows_the_tablet_order_operator_and_conflict(client: TestClient) -> None:
    text = html.unescape(client.get("/trace", params={"kind": "serial", "q": "B-3"}).text)
    for key, value in [("order", "OF-2"), ("lot", "L-T"), ("material_lot", "HEAT-7")]:
        assert f'data-key="{key}" data-source="tablet"' in text
        assert f'<dd>{value} <span class="src src-tablet">tablette</span></dd>' in text
    assert '<div data-key="operator"><dt>Opérateur</dt><dd>lea</dd></div>' in text
    assert "Outil : la presse dit D-9, l'OF de la tablette dit D-8." in text
    assert '<dd>D-9 <span class="src">presse</span></dd>' in text  # the press's value is the one kept


def test_a_heat_pages_through_every_part_newest_first(client: TestClient) -> None:
    total = td.P01_PARTS + td.P02_PARTS
    expected = sorted([(s.start_us, s.serial) for s in td.p01_strokes() + td.p02_strokes()], reverse=True)
    seen: list[str] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        page = client.get("/trace", params={"kind": "heat", "q": td.HEAT, "offset": offset})
        assert page.status_code == 200
        text = html.unescape(page.text)
        rows = _serials(page.text)
        assert 0 < len(rows) <= 50
        assert f"{offset + 1}–{offset + len(rows)} / {total}" in text
        seen += rows
        pages += 1
        found = re.search(r'id="trace-next" href="[^"]*offset=(\d+)"', text)
        offset = int(found.group(1)) if found else None
        assert ('id="trace-prev"' in text) == (pages > 1)
    assert pages == 3
    assert seen == [serial for _, serial in expected]


def test_a_heat_summary_counts_both_sources(client: TestClient) -> None:
    text = html.unescape(client.get("/trace", params={"kind": "heat", "q": td.HEAT}).text)
    strokes = td.p01_strokes()
    good = sum(s.good for s in strokes) + td.P02_PARTS
    assert f'data-field="parts">{td.P01_PARTS + td.P02_PARTS}<' in text
    assert f'data-field="good">{good}<' in text
    assert f'data-field="scrap">{td.P01_PARTS - sum(s.good for s in strokes)}<' in text
    assert f"{td.P02_PARTS} pièces trouvées par des OF de la tablette" in text
    assert '<tr data-order="OF-1">' in text and '<tr data-order="OF-2">' in text
    assert f"† {td.P02_PARTS} · {td.OPERATOR}" in text  # OF-2's parts came through lea's tablet order
    assert 'href="/trace?kind=serial&q=A-120"' in text  # each serial opens its part card
    assert 'href="/trace.csv?kind=heat&q=HEAT-7&sep=;"' in text  # French: Excel's separator


def test_the_csv_download_is_the_apis_export(client: TestClient) -> None:
    page = client.get("/trace.csv", params={"kind": "heat", "q": td.HEAT, "sep": ";"})
    assert page.status_code == 200
    assert page.headers["content-disposition"] == 'attachment; filename="trace-material_lot-HEAT-7.csv"'
    api = client.get(f"/api/v1/trace/material-lot/{td.HEAT}", params={"format": "csv", "sep": ";"})
    assert page.text == api.text
    assert page.text.startswith(BOM + "machine;n;start")
    assert len(page.text.strip().splitlines()) == 1 + td.P01_PARTS + td.P02_PARTS


def test_a_lot_page_in_english_offers_the_comma(client: TestClient, runtime: Runtime) -> None:
    client.post(
        "/language", data={"locale": "en", "next": "/trace", "csrf_token": client.headers["X-CSRF-Token"]}
    )
    try:
        text = html.unescape(client.get("/trace", params={"kind": "lot", "q": "L-2"}).text)
        assert f'data-field="parts">{td.P01_PARTS - 60}<' in text
        assert 'href="/trace.csv?kind=lot&q=L-2&sep=,"' in text
        assert "Same heat" not in text and "Download CSV" in text
    finally:
        client.post(
            "/language", data={"locale": "fr", "next": "/trace", "csrf_token": client.headers["X-CSRF-Token"]}
        )


def test_nothing_found_is_a_message_not_an_error(client: TestClient) -> None:
    page = client.get("/trace", params={"kind": "heat", "q": "HEAT-404"})
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Rien trouvé pour : coulée « HEAT-404 »." in text
    assert 'value="HEAT-404"' in text and 'value="heat" checked' in text  # the form keeps what was typed
    assert "trace-summary" not in text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"kind": "serial", "q": "   "}, "Tapez un n° de série, de lot ou de coulée."),
        ({"kind": "colour", "q": "A-1"}, "Choisissez n° de série, lot ou coulée."),
        ({"kind": "heat", "q": "H" * 201}, "Ce numéro est trop long"),
        ({"kind": "heat", "q": "HEAT-7\x00"}, "Ce numéro est trop long"),
        ({"kind": "heat", "q": "HEAT-7", "offset": "-1"}, "Page inconnue."),
        ({"kind": "heat", "q": "HEAT-7", "offset": "two"}, "Page inconnue."),
    ],
)
def test_bad_input_answers_the_form_with_a_message(
    client: TestClient, params: dict[str, str], message: str
) -> None:
    page = client.get("/trace", params=params)
    assert page.status_code == 422
    text = html.unescape(page.text)
    assert 'id="trace-message"' in text and message in text
    assert 'id="trace-search"' in text and "trace-summary" not in text


def test_a_page_past_the_end_offers_the_way_back(client: TestClient) -> None:
    text = html.unescape(client.get("/trace", params={"kind": "lot", "q": "L-1", "offset": 500}).text)
    assert (
        "Aucune pièce sur cette page." in text and 'id="trace-prev"' in text and 'id="trace-next"' not in text
    )


def test_a_key_holding_a_slash_downloads(runtime: Runtime, client: TestClient) -> None:
    from cadence.domain import Batch, IdempotencyKey
    from cadence.domain.cycles import Stroke

    stroke = Stroke("P03", 1, td.T0, td.T0 + 5_000_000, True, lot="L-2025/11", serial="C-1")
    runtime.store.append([Batch(IdempotencyKey("trace-page", 3, 0), "P03", strokes=(stroke,), digest=b"3")])
    page = client.get("/trace", params={"kind": "lot", "q": "L-2025/11"})
    assert 'href="/trace.csv?kind=lot&amp;q=L-2025/11&amp;sep=;"' in page.text
    csv = client.get("/trace.csv", params={"kind": "lot", "q": "L-2025/11"})
    assert csv.status_code == 200 and "C-1" in csv.text
    # The JSON API takes such keys in its path, escaped or not.
    for path in ("/api/v1/trace/lot/L-2025%2F11", "/api/v1/trace/lot/L-2025/11"):
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text)
        assert answer.json()["parts"] == 1


@pytest.mark.parametrize("role", list(Role))
def test_every_role_that_sees_the_plant_may_search(runtime: Runtime, role: Role) -> None:
    with TestClient(create_app(runtime.settings, runtime)) as c:
        assert c.get("/trace", params={"kind": "serial", "q": "A-1"}).status_code == 401
        assert c.get("/trace.csv", params={"kind": "heat", "q": td.HEAT}).status_code == 401
        sign_in(c, runtime.auth, role.value)
        assert c.get("/trace", params={"kind": "serial", "q": "A-1"}).status_code == 200
        assert c.get("/trace.csv", params={"kind": "heat", "q": td.HEAT}).status_code == 200
