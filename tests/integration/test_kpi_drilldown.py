"""The KPI drill-down (issue 4): GET /api/v1/machines/{id}/kpi and the page /presses/{id}/kpi.

One press's morning shift is written into the store as a controller would report it (state changes and
strokes, no simulator), so every figure is known beforehand: the expected time elements below are worked
out by hand from the schedule, and the strokes are counted from the list the test itself wrote. The
answer must match both, and each time element must equal the sum of the intervals it names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.domain.batch import Batch, IdempotencyKey
from cadence.domain.cycles import Stroke
from cadence.domain.operator import ScrapDeclaration
from cadence.domain.states import MachineState as S
from cadence.domain.states import StateChange
from cadence.runtime import Runtime, open_runtime
from cadence.services.production import press_period
from cadence.web.app import create_app
from cadence.web.routes.kpi_detail import drilldown_json, waterfalls
from support.auth import FAST_AUTH, sign_in

MIN = 60_000_000
SHIFT_US = 1_764_561_600_000_000  # 2025-12-01T04:00:00Z, a Monday: 05:00 in Paris, the morning shift
NOW_US = SHIFT_US + 120 * MIN
PRESS = "P01"  # planned cycle 9 s


def at(minutes: float) -> int:
    return SHIFT_US + round(minutes * MIN)


# What the press reported, minutes from the shift's start (the first change is before it).
CHANGES = (
    StateChange(at(-30), S.RUNNING),
    StateChange(at(10), S.DOWN, "breakdown.die"),  # 15 min: a failure
    StateChange(at(25), S.RUNNING),
    StateChange(at(40), S.IDLE),  # 90 s: a micro-stop
    StateChange(at(41.5), S.RUNNING),
    StateChange(at(50), S.IDLE),  # 20 min without a reason: to qualify
    StateChange(at(70), S.RUNNING),
    StateChange(at(80), S.SETUP),
    StateChange(at(95), S.RUNNING),
    StateChange(at(100), S.PLANNED_STOP),
    StateChange(at(110), S.RUNNING),
    StateChange(at(115), S.DOWN, "breakdown.hydraulic"),  # 2 min: a micro-stop, not a failure
    StateChange(at(117), S.RUNNING),
)
UNQUALIFIED_US = at(50)
# Worked out by hand from CHANGES over [04:00, 06:00): seconds per ISO 22400-2 element.
EXPECTED_S = {
    "pot": 7200.0,
    "pdot": 600.0,
    "pbt": 6600.0,
    "adot": 1200.0,
    "aust": 900.0,
    "adet": 900.0 + 90.0 + 120.0,
    "unknown": 0.0,
    "apt": 600.0 + 900.0 + 510.0 + 600.0 + 300.0 + 300.0 + 180.0,
}
DECLARED = ScrapDeclaration(PRESS, at(30), 5, "fissure au contrôle", "lea")


def _strokes() -> list[Stroke]:
    """A stroke every 10 s while running (8 s long); every 50th scrap, every 70th rework."""
    out: list[Stroke] = []
    ends = [c.ts_us for c in CHANGES[1:]] + [NOW_US]
    n = 0
    for change, end in zip(CHANGES, ends, strict=True):
        if change.state is not S.RUNNING:
            continue
        t = change.ts_us
        while t + 8_000_000 < end:
            n += 1
            reason = "crack" if n % 50 == 0 else "rework.deburr" if n % 70 == 0 else None
            out.append(Stroke(PRESS, n, t, t + 8_000_000, good=reason is None, scrap_reason=reason))
            t += 10_000_000
    return out


STROKES = _strokes()


def _counted(start_us: int, end_us: int) -> list[Stroke]:
    return [s for s in STROKES if start_us <= s.end_us < end_us]


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    data_dir: Path = tmp_path_factory.mktemp("drilldown")
    rt = open_runtime(load_settings(data_dir=data_dir, **FAST_AUTH), clock=SimClock(start_us=NOW_US))
    batch = Batch(IdempotencyKey("test-gw", 1, 0), PRESS, strokes=tuple(STROKES), states=CHANGES, digest=b"d")
    rt.store.append([batch])
    rt.store.record_scrap(DECLARED)
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime)) as c:
        sign_in(c, runtime.auth, "operator")
        yield c


def _get(client: TestClient, **params: str) -> dict:  # type: ignore[type-arg]
    answer = client.get(f"/api/v1/machines/{PRESS}/kpi", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _check_sums(body: dict) -> None:  # type: ignore[type-arg]
    """Each element equals the sum of the intervals it lists, and those are exactly its categories'."""
    intervals = body["intervals"]
    for i, iv in enumerate(intervals):
        assert iv["index"] == i
        assert iv["duration_s"] == pytest.approx((iv["end_us"] - iv["start_us"]) / 1e6)
        if i:
            assert iv["start_us"] == intervals[i - 1]["end_us"]  # contiguous, no overlap
    assert intervals[0]["start_us"] == body["period"]["from_us"]
    assert intervals[-1]["end_us"] == body["period"]["to_us"]
    for key, element in body["time_elements"].items():
        listed = [intervals[i] for i in element["intervals"]]
        assert {iv["category"] for iv in listed} <= set(element["categories"]), key
        by_category = [iv["index"] for iv in intervals if iv["category"] in element["categories"]]
        assert element["intervals"] == by_category, key
        assert element["seconds"] == pytest.approx(sum(iv["duration_s"] for iv in listed), abs=1e-6), key


def test_the_shift_by_default_equals_the_hand_worked_figures(client: TestClient) -> None:
    body = _get(client)
    assert (body["period"]["from_us"], body["period"]["to_us"]) == (SHIFT_US, NOW_US)
    _check_sums(body)
    for key, seconds in EXPECTED_S.items():
        assert body["time_elements"][key]["seconds"] == pytest.approx(seconds), key
    assert [
        i["category"] for i in body["intervals"] if i["index"] in body["time_elements"]["adet"]["intervals"]
    ] == [
        "down",
        "micro_stop",
        "micro_stop",
    ]
    counted = _counted(SHIFT_US, NOW_US)
    bad = [s for s in counted if not s.good]
    rework = [s for s in bad if s.scrap_reason == "rework.deburr"]
    q = body["quantities"]
    assert q["pq"] == len(counted) > 300
    assert q["rq"] == len(rework) > 0
    assert q["sq"] == len(bad) - len(rework) + DECLARED.quantity
    assert q["gq"] == len(counted) - len(bad) - DECLARED.quantity
    assert (q["declared"], q["declared_counted"], q["declared_uncounted"]) == (5, 5, 0)
    assert [d["cause"] for d in body["declarations"]] == [DECLARED.cause]

    apt, pbt = EXPECTED_S["apt"], EXPECTED_S["pbt"]
    iso, trs = body["iso22400"], body["trs"]
    assert iso["availability"] == pytest.approx(apt / pbt)
    assert iso["effectiveness"] == pytest.approx(9 * len(counted) / apt)
    assert iso["quality_ratio"] == pytest.approx(q["gq"] / q["pq"])
    assert iso["oee"] == pytest.approx(9 * q["gq"] / pbt)
    assert iso["oee"] == pytest.approx(iso["availability"] * iso["effectiveness"] * iso["quality_ratio"])
    # TRS: the micro-stops move from availability to performance; the product is the same.
    assert trs["operating_s"] == pytest.approx(apt + 210)
    assert trs["availability"] == pytest.approx((apt + 210) / pbt)
    assert trs["performance"] == pytest.approx(9 * len(counted) / (apt + 210))
    assert trs["trs"] == pytest.approx(iso["oee"])
    assert "ISO 22400-2" in iso["label"] and "TRS" in trs["label"]
    # One failure (the 2-minute breakdown is a micro-stop): MTTR its length, MTBF = AUPT / FE.
    r = body["reliability"]
    assert (r["failure_events"], r["mttr_s"]) == (1, 900.0)
    assert r["mtbf_s"] == pytest.approx(apt + 900)


def test_intervals_name_their_source_change_and_the_stop_to_qualify(client: TestClient) -> None:
    body = _get(client)
    starts = {c.ts_us for c in CHANGES}
    assert all(i["source"]["ts_us"] in starts for i in body["intervals"])
    first = body["intervals"][0]
    assert first["source"]["ts_us"] == at(-30) and first["category"] == "running"  # in force at the start
    waiting = [i for i in body["intervals"] if i["unqualified"]]
    # Stops without a reason wait for one (micro-stops are not coded one by one).
    assert [(i["source"]["ts_us"], i["category"]) for i in waiting] == [
        (UNQUALIFIED_US, "idle"),
        (at(80), "setup"),
        (at(100), "planned_stop"),
    ]
    down = next(i for i in body["intervals"] if i["category"] == "down")
    assert (down["reason"], down["start"]) == ("breakdown.die", "2025-12-01T04:10:00+00:00")


def test_a_period_cutting_stops_judges_them_whole(client: TestClient) -> None:
    # 04:45–05:00 holds 10 min of the 20-min idle stop: idle, not a micro-stop.
    body = _get(client, **{"from": str(at(45)), "to": str(at(60))})
    _check_sums(body)
    assert body["time_elements"]["adot"]["seconds"] == pytest.approx(600)
    assert body["time_elements"]["apt"]["seconds"] == pytest.approx(300)
    assert body["quantities"]["pq"] == len(_counted(at(45), at(60)))
    # ISO 8601 instants too, and 'to' in the future is cut at now.
    body = _get(client, **{"from": "2025-12-01T05:30:00+01:00", "to": "2025-12-02T00:00:00Z"})
    assert (body["period"]["from_us"], body["period"]["to_us"]) == (at(30), NOW_US)
    _check_sums(body)


def test_strokes_are_paged_and_add_up_to_pq(client: TestClient) -> None:
    first = _get(client, strokes="true", limit="250")
    total = first["quantities"]["pq"]
    assert first["strokes"]["total"] == total
    seen = list(first["strokes"]["items"])
    offset = 250
    while offset < total:
        page = _get(client, strokes="true", limit="250", offset=str(offset))["strokes"]
        assert page["offset"] == offset and page["total"] == total
        seen += page["items"]
        offset += 250
    expected = _counted(SHIFT_US, NOW_US)
    assert [s["n"] for s in seen] == [s.n for s in expected]
    assert [(s["good"], s["scrap_reason"]) for s in seen] == [(s.good, s.scrap_reason) for s in expected]
    assert "strokes" not in _get(client)  # only when asked for


def test_bounds_and_errors(client: TestClient) -> None:
    url = f"/api/v1/machines/{PRESS}/kpi"
    too_long = client.get(url, params={"from": "-32d", "to": "now"})
    assert too_long.status_code == 400 and "31 days" in too_long.json()["error"]
    assert client.get(url, params={"from": "-31d"}).status_code == 200
    backwards = client.get(url, params={"from": str(at(60)), "to": str(at(30))})
    assert backwards.status_code == 400 and backwards.json()["code"] == "bad_request"
    assert client.get(url, params={"from": "yesterday"}).status_code == 400
    assert client.get(url, params={"strokes": "true", "limit": "0"}).status_code == 400
    unknown = client.get("/api/v1/machines/NOPE/kpi")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"


def test_an_anonymous_client_is_refused(runtime: Runtime) -> None:
    with TestClient(create_app(runtime.settings, runtime)) as anonymous:
        assert anonymous.get(f"/api/v1/machines/{PRESS}/kpi").status_code == 401


# --- the page ------------------------------------------------------------------------------------------


def _seconds(html: str, attr: str) -> list[float]:
    return [float(v) for v in re.findall(attr + r'="([0-9.]+)"', html)]


def test_the_page_lists_an_element_with_its_intervals(client: TestClient) -> None:
    page = client.get(f"/presses/{PRESS}/kpi", params={"only": "adet"})
    assert page.status_code == 200, page.text
    html = page.text
    total = float(re.search(r'id="only-sum" data-seconds="([0-9.]+)"', html)[1])  # type: ignore[index]
    rows = re.findall(r'<tr class="cat-(\w+)" data-category="\w+" data-seconds="([0-9.]+)"', html)
    assert [c for c, _ in rows] == ["down", "micro_stop", "micro_stop"]
    assert total == pytest.approx(sum(float(s) for _, s in rows)) == pytest.approx(EXPECTED_S["adet"])
    assert "Temps de production effectif" in client.get(f"/presses/{PRESS}/kpi").text  # French first


def test_the_page_links_the_stop_to_qualify_for_who_may(client: TestClient, runtime: Runtime) -> None:
    link = f'href="/presses/{PRESS}/operator/stops/{UNQUALIFIED_US}"'
    assert link in client.get(f"/presses/{PRESS}/kpi").text  # an operator may qualify it
    with TestClient(create_app(runtime.settings, runtime)) as manager:
        sign_in(manager, runtime.auth, "manager")
        html = manager.get(f"/presses/{PRESS}/kpi").text
        assert link not in html and "À qualifier" in html


def test_the_page_quick_choices(client: TestClient) -> None:
    today = client.get(f"/presses/{PRESS}/kpi", params={"period": "today"})
    assert today.status_code == 200
    previous = client.get(f"/presses/{PRESS}/kpi", params={"period": "previous"})
    assert previous.status_code == 200  # the Friday night shift, before the weekend
    assert 'data-period="previous"' in previous.text
    assert client.get(f"/presses/{PRESS}/kpi", params={"only": "nope"}).status_code == 400
    assert client.get("/presses/NOPE/kpi").status_code == 404


def test_the_press_page_links_its_oee_to_the_drilldown(client: TestClient) -> None:
    html = client.get(f"/presses/{PRESS}").text
    assert f'id="oee-link" href="/presses/{PRESS}/kpi"' in html


def test_the_waterfalls_add_up_and_a_press_without_pri_has_no_oee(runtime: Runtime) -> None:
    machine = runtime.plant.machine(PRESS)
    period = press_period(runtime.store, machine, SHIFT_US, NOW_US, now_us=NOW_US)
    steps = waterfalls(period.kpi, True, lambda s: s)
    for rows in steps.values():
        total = rows[0]["seconds"]
        for row in rows[1:]:
            if row["kind"] == "loss":
                total -= row["seconds"]
                assert row["left_s"] == pytest.approx(total)  # the loss hangs where the total now ends
            else:
                assert row["seconds"] == pytest.approx(total), row["key"]
    assert [r["key"] for r in steps["iso"] if r["kind"] == "total"][:3] == ["pot", "pbt", "apt"]

    body = drilldown_json(replace(period, machine=replace(machine, target_cycle_s=None)))
    assert body["has_pri"] is False
    assert body["iso22400"]["oee"] is None and body["iso22400"]["effectiveness"] is None
    assert body["trs"]["trs"] is None and body["trs"]["performance"] is None
    assert body["iso22400"]["availability"] == pytest.approx(EXPECTED_S["apt"] / EXPECTED_S["pbt"])
