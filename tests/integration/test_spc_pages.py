"""The SPC page (/presses/{id}/spc) and its JSON API over a real SQLite store: the chart without limits,
limits established from the stable part through the form (CSRF as a hidden field), the drift then flagged
with its explanation, capability with spec limits, who may establish limits, and the form's refusals.

Data: tests/support/spc_data.py (120 strokes in control, then 50 drifting up by 0.2 bar a stroke).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from cadence.analytics.spc.base import Violation
from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.runtime import Runtime, open_runtime
from cadence.web.app import create_app
from cadence.web.routes.spc_pages import grouped_alerts
from support import spc_data as sd
from support.auth import FAST_AUTH, sign_in

PAGE = f"/presses/P01/spc?feature={sd.FEATURE}&period=24h"
FORM = "/presses/P01/spc/limits"
API = f"/api/v1/machines/P01/spc/{sd.FEATURE}"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = open_runtime(load_settings(data_dir=tmp_path, **FAST_AUTH), clock=SimClock(start_us=sd.NOW))
    sd.fill(rt)
    yield rt
    rt.close()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime)) as c:
        yield c


def _chart(page: str) -> dict[str, list[float]]:
    found = re.search(r'<script type="application/json" id="spc-data">(.*?)</script>', page, re.S)
    assert found is not None
    data: dict[str, list[float]] = json.loads(found.group(1))
    return data


def _local(ts_us: int) -> str:
    """The plant's wall-clock time of ``ts_us`` as a datetime-local field sends it (Paris, UTC+1 in Dec)."""
    from datetime import UTC, datetime, timedelta

    return (datetime.fromtimestamp(ts_us / 1e6, UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")


def _form(**over: str) -> dict[str, str]:
    fields = {
        "feature": sd.FEATURE,
        "period": "24h",
        "from": _local(sd.BASELINE[0]),
        "to": _local(sd.BASELINE[1]),
        "chart": "imr",
        "subgroup_size": "5",
        "rules": "we",
        "lsl": "",
        "usl": "",
        "why": "Nouveau joint, presse stable",
    }
    return {**fields, **over}


def _post_form(client: TestClient, token: str, **over: str) -> httpx.Response:
    """Post the form as a browser does: the token as a hidden field, not the header."""
    del client.headers["X-CSRF-Token"]
    try:
        return client.post(FORM, data={"csrf_token": token, **_form(**over)}, follow_redirects=False)
    finally:
        client.headers["X-CSRF-Token"] = token


def test_the_page_without_limits_shows_the_values_and_invites_to_establish(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client, runtime.auth, "supervisor")
    page = client.get(PAGE)
    assert page.status_code == 200, page.text[:300]
    text = html.unescape(page.text)
    assert 'id="spc-no-limits"' in text
    assert "Pression max. (bar)" in text  # the feature by its French label
    assert 'class="button active" href="/presses/P01/spc?feature=peak_pressure_bar&period=24h"' in text
    chart = _chart(page.text)
    assert len(chart["v"]) == sd.STABLE + sd.DRIFTING
    assert chart["v"] == pytest.approx(sd.peaks())
    assert chart["n"][:3] == [1, 2, 3] and chart["bad"] == []
    assert 'id="spc-form"' in text and 'name="csrf_token"' in text  # a supervisor may establish
    assert 'id="spc-no-cap"' in text


def test_the_press_page_links_to_spc(client: TestClient, runtime: Runtime) -> None:
    sign_in(client, runtime.auth, "operator")
    page = client.get("/presses/P01")
    assert 'id="spc-link" href="/presses/P01/spc"' in page.text


def test_limits_from_the_stable_part_flag_the_drift(client: TestClient, runtime: Runtime) -> None:
    token = sign_in(client, runtime.auth, "supervisor", name="qualite")
    answer = _post_form(client, token, lsl="190", usl="215")
    assert answer.status_code == 303, answer.text[:500]
    assert answer.headers["location"].startswith(
        f"/presses/P01/spc?feature={sd.FEATURE}&period=24h&ok=limits"
    )
    page = client.get(answer.headers["location"])
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Nouvelles limites en vigueur." in text
    assert 'id="spc-no-limits"' not in text
    # Who, when, why and the baseline are shown, and the history has the one version.
    assert "qualite" in text and "Nouveau joint, presse stable" in text
    assert re.search(r'Historique des limites <span class="count">1</span>', text)
    # The stable part's mean and 3σ: the centre is close to 200 bar, the limits about ±6 bar.
    api = client.get(API, params={"from": str(sd.T0), "to": str(sd.NOW)}).json()
    limits = api["limits"]
    assert limits["by"] == "qualite" and limits["why"] == "Nouveau joint, presse stable"
    assert limits["baseline"]["from_us"] == sd.BASELINE[0] and limits["baseline"]["to_us"] == sd.BASELINE[1]
    assert limits["center"] == pytest.approx(sd.MEAN_BAR, abs=1.0)
    assert limits["ucl"] - limits["center"] == pytest.approx(3 * sd.SIGMA_BAR, rel=0.25)
    # Violations: only in the drift, each explained in both languages, the latest listed first on the page.
    assert api["violations"], "the drift is not flagged"
    assert all(v["index"] >= sd.STABLE - 1 for v in api["violations"]), api["violations"]
    assert any(v["rule"] == "we1" for v in api["violations"])
    first = api["violations"][0]
    assert first["explanation"]["en"] and first["explanation"]["fr"] != first["explanation"]["en"]
    chart = _chart(page.text)
    assert chart["bad"] and min(chart["bad"]) >= sd.STABLE - 8  # a run rule may reach back a few points
    assert "au-delà des limites de contrôle" in text  # we1 in French
    # The page groups consecutive points beyond the limits into one alert; the JSON lists every violation.
    alerts = grouped_alerts([Violation(v["rule"], v["index"], tuple(v["points"])) for v in api["violations"]])
    assert len(alerts) < len(api["violations"])  # the drift's run beyond the limits is one alert
    assert text.count('data-rule="') == min(len(alerts), 12)  # the latest dozen
    assert f'data-count="{len(alerts)}"' in text
    assert "points de suite au-delà des limites de contrôle" in text
    # Capability with the spec limits: the four indices, intervals, the normality verdict, the caveat that
    # the chart shows special causes.
    cap = api["capability"]
    assert cap is not None and cap["lsl"] == 190 and cap["usl"] == 215
    for key in ("cp", "cpk", "pp", "ppk"):
        assert cap[key]["low"] <= cap[key]["value"] <= cap[key]["high"]
        assert f'data-index="{key}"' in text
    assert 'id="spc-normality"' in text


def test_the_api_establishes_and_reads_limits(client: TestClient, runtime: Runtime) -> None:
    sign_in(client, runtime.auth, "maintenance")
    body = {
        "from": str(sd.BASELINE[0]),
        "to": str(sd.BASELINE[1]),
        "why": "après réfection",
        "rules": "nelson",
    }
    made = client.post(f"{API}/limits", json=body)
    assert made.status_code == 201, made.text
    record = made.json()["limits"]
    assert record["chart"] == "imr" and record["by"] == "test-maintenance"
    assert any(r.startswith("nelson") for r in record["rules"])
    read = client.get(API, params={"from": "-1d"}).json()
    assert read["limits"]["id"] == record["id"]
    assert len(read["points"]) == sd.STABLE + sd.DRIFTING
    assert read["capability"] is None  # no spec limits given


def test_an_operator_sees_the_chart_but_cannot_establish(client: TestClient, runtime: Runtime) -> None:
    token = sign_in(client, runtime.auth, "operator")
    page = client.get(PAGE)
    assert page.status_code == 200
    assert 'id="spc-form"' not in page.text
    refused = _post_form(client, token)
    assert refused.status_code == 403
    assert refused.json()["code"] == "auth.forbidden"
    assert client.post(f"{API}/limits", json={"from": "-1d", "to": "now", "why": "x"}).status_code == 403
    assert client.get(API).json()["limits"] is None


def test_the_form_needs_its_csrf_token(client: TestClient, runtime: Runtime) -> None:
    sign_in(client, runtime.auth, "supervisor")
    del client.headers["X-CSRF-Token"]
    answer = client.post(FORM, data=_form(), follow_redirects=False)
    assert answer.status_code == 403 and answer.json()["code"] == "auth.csrf"


def test_too_few_points_come_back_as_the_form_with_a_message(client: TestClient, runtime: Runtime) -> None:
    token = sign_in(client, runtime.auth, "supervisor")
    # A baseline of two minutes holds one stroke.
    answer = _post_form(client, token, to=_local(sd.BASELINE[0] + 2 * sd.MINUTE), why="essai")
    assert answer.status_code == 422
    text = html.unescape(answer.text)
    assert 'id="spc-error"' in text and "Ces limites ne peuvent pas être établies" in text
    assert ">essai</textarea>" in text  # what was typed is kept
    assert client.get(API).json()["limits"] is None


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"why": "  "}, "Dites pourquoi"),
        ({"from": "demain"}, "Donnez le début et la fin"),
        ({"to": _local(sd.T0 - sd.MINUTE)}, "doit venir après"),
        ({"chart": "xbar_r", "subgroup_size": "1"}, "de 2 à 25"),
        ({"lsl": "abc"}, "limite de spécification basse"),
        ({"lsl": "220", "usl": "210"}, "inférieure à la haute"),
    ],
)
def test_the_form_refuses_what_cannot_be_used(
    client: TestClient, runtime: Runtime, over: dict[str, str], message: str
) -> None:
    token = sign_in(client, runtime.auth, "supervisor")
    answer = _post_form(client, token, **over)
    assert answer.status_code == 422
    assert message in html.unescape(answer.text)


def test_an_unknown_feature_is_a_bad_request(client: TestClient, runtime: Runtime) -> None:
    sign_in(client, runtime.auth, "supervisor")
    assert client.get("/presses/P01/spc?feature=colour").status_code == 400
    assert client.get("/api/v1/machines/P01/spc/colour").json()["code"] == "bad_request"
