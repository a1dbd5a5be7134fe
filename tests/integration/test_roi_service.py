"""The ROI view over a real store: figures checked against an independent count, the page, the PDF, the CLI.

Two periods of made-up days are written into the store through its public write method (state changes,
strokes, motor power): a baseline with long breakdowns, slow cycles and more scrap, and a better current
period. The expected figures are counted here from what was written, never from Cadence's own KPIs.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from cadence.analytics.roi import Metric, Verdict
from cadence.clock import SimClock, from_datetime
from cadence.config import load_settings
from cadence.domain import Batch, IdempotencyKey, MachineState, SampleBlock, StateChange, Stroke
from cadence.runtime import Runtime, open_runtime
from cadence.services.roi import DateRange, RoiReport, Scope, presets, roi_report
from cadence.web.app import create_app
from support.auth import FAST_AUTH, sign_in

TZ = ZoneInfo("Europe/Paris")
TODAY = date(2026, 3, 2)  # a Monday; "now" is 07:00 local on it
NOW_US = from_datetime(datetime.combine(TODAY, time(7), tzinfo=TZ))
BASELINE = DateRange(date(2026, 1, 28), date(2026, 2, 14))  # data from 2026-02-01: 4 days without any
CURRENT = DateRange(date(2026, 2, 15), date(2026, 3, 1))
S = 1_000_000


@dataclass(frozen=True)
class Regime:
    """How a day goes: 06:00–14:00 planned, one breakdown at 10:00 (longer every other day, so days
    differ), strokes at a fixed cycle."""

    cycle_s: int
    breakdown_min: int
    bad_every: int
    power_kw: float


BEFORE = Regime(cycle_s=12, breakdown_min=50, bad_every=30, power_kw=9.0)
AFTER = Regime(cycle_s=11, breakdown_min=20, bad_every=45, power_kw=8.5)


@dataclass
class Written:
    """What was written per local day and press, to count the expected figures independently."""

    planned_s: dict[tuple[date, str], float]
    good: dict[tuple[date, str], int]
    made: dict[tuple[date, str], int]
    down_s: dict[tuple[date, str], float]
    kwh: dict[tuple[date, str], float]


def write_days(
    runtime: Runtime,
    presses: tuple[str, ...],
    days: list[date],
    regime: Regime,
    written: Written,
    *,
    seq: int,
) -> int:
    """Write ``days`` of ``regime`` for ``presses`` through ``store.append``; returns the next sequence."""
    for press in presses:
        n = 1
        for k, day in enumerate(days):
            breakdown_min = regime.breakdown_min + 15 * (k % 3)
            midnight = from_datetime(datetime.combine(day, time(0), tzinfo=TZ))

            def at(hour: int, midnight: int = midnight) -> int:
                return midnight + hour * 3600 * S  # no DST change falls in these periods

            down_end = at(10) + breakdown_min * 60 * S
            states = (
                StateChange(at(0), MachineState.PLANNED_STOP, "planned.no_production"),
                StateChange(at(6), MachineState.RUNNING),
                StateChange(at(10), MachineState.DOWN, "breakdown.hydraulic"),
                StateChange(down_end, MachineState.RUNNING),
                StateChange(at(14), MachineState.PLANNED_STOP, "planned.no_production"),
            )
            strokes = []
            for start, end in ((at(6), at(10)), (down_end, at(14))):
                t = start
                while t + regime.cycle_s * S <= end:
                    good = n % regime.bad_every != 0
                    strokes.append(
                        Stroke(
                            press,
                            n,
                            t,
                            t + (regime.cycle_s - 1) * S,
                            good,
                            scrap_reason=None if good else "burr",
                        )
                    )
                    t += regime.cycle_s * S
                    n += 1
            minutes = np.arange(at(6), at(14), 60 * S, dtype=np.int64)
            power = np.full(len(minutes), regime.power_kw)
            batch = Batch(
                IdempotencyKey("roi-test", 1, seq),
                press,
                samples=(SampleBlock("motor_power", minutes, power),),
                strokes=tuple(strokes),
                states=states,
            )
            seq += 1
            runtime.store.append([batch])
            key = (day, press)
            written.planned_s[key] = 8 * 3600.0
            written.made[key] = len(strokes)
            written.good[key] = sum(s.good for s in strokes)
            written.down_s[key] = breakdown_min * 60.0
            written.kwh[key] = regime.power_kw * len(minutes) / 60
    return seq


def fill(runtime: Runtime, presses: tuple[str, ...] = ("P01", "P02")) -> Written:
    """Baseline regime from 2026-02-01 to 2026-02-14, the better one from 2026-02-15 to 2026-03-01."""
    written = Written({}, {}, {}, {}, {})
    first = [date(2026, 2, 1) + timedelta(days=k) for k in range(14)]
    second = [CURRENT.first + timedelta(days=k) for k in range(CURRENT.days)]
    seq = write_days(runtime, presses, first, BEFORE, written, seq=1)
    write_days(runtime, presses, second, AFTER, written, seq=seq)
    return written


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    rt = open_runtime(
        load_settings(data_dir=tmp_path_factory.mktemp("roi"), **FAST_AUTH), clock=SimClock(start_us=NOW_US)
    )
    WRITTEN.append(fill(rt))
    yield rt
    WRITTEN.clear()
    rt.close()


WRITTEN: list[Written] = []  # what the module's runtime holds, for the independent counts


def _expected(written: Written, period: DateRange, presses: tuple[str, ...]) -> dict[str, float]:
    keys = [k for k in written.planned_s if period.first <= k[0] <= period.last and k[1] in presses]
    planned = sum(written.planned_s[k] for k in keys)
    good = sum(written.good[k] for k in keys)
    made = sum(written.made[k] for k in keys)
    return {
        "days": len({k[0] for k in keys}),
        "yield": good / (planned / 3600),
        "oee": 9.0 * good / planned,  # P01 and P02 plan 9 s cycles
        "scrap_rate": (made - good) / made,
        "energy_per_good": sum(written.kwh[k] for k in keys) / good,
        "downtime": sum(written.down_s[k] for k in keys) / 3600 / (planned / 3600 / 100),
        "parts": made,
    }


def _report(runtime: Runtime, scope: str = "line:L1") -> RoiReport:
    return roi_report(
        runtime.plant,
        runtime.store,
        BASELINE,
        CURRENT,
        Scope.parse(scope),
        co2_g_per_kwh=53.0,
        co2_source="test",
        now_us=NOW_US,
    )


def test_figures_match_an_independent_count_of_what_was_written(runtime: Runtime) -> None:
    report = _report(runtime)
    written = WRITTEN[0]
    before = _expected(written, BASELINE, ("P01", "P02"))
    after = _expected(written, CURRENT, ("P01", "P02"))
    c = report.comparison
    # Days without any data (before the installation) are not days of zero production.
    assert c.baseline.days == before["days"] == 14
    assert c.current.days == after["days"] == 15
    assert c.baseline.pq == before["parts"] and c.current.pq == after["parts"]
    assert c.current.planned_h == pytest.approx(15 * 2 * 8)
    for metric in Metric:
        m = c.metric(metric)
        assert m.baseline == pytest.approx(before[metric.value], rel=1e-9), metric
        assert m.current == pytest.approx(after[metric.value], rel=1e-9), metric
        assert m.difference == pytest.approx(after[metric.value] - before[metric.value], rel=1e-9)
    # Every day is alike within a period, so the intervals are tight and every change is significant.
    assert all(m.verdict is Verdict.BETTER for m in c.metrics)
    co2 = report.co2
    assert co2.current == pytest.approx(after["energy_per_good"] * 53.0)


def test_one_press_and_a_press_without_data(runtime: Runtime) -> None:
    one = _report(runtime, "press:P01").comparison
    p01 = _expected(WRITTEN[0], CURRENT, ("P01",))
    assert one.metric(Metric.YIELD).current == pytest.approx(p01["yield"])
    empty = _report(runtime, "press:P05").comparison
    assert empty.baseline.days == 0 and empty.unreliable
    assert all(m.verdict is Verdict.NO_DATA for m in empty.metrics)


def test_presets_end_yesterday() -> None:
    baseline, current = presets(TODAY)["30d"]
    assert current.last == date(2026, 3, 1) and current.days == 30
    assert baseline.last == current.first - timedelta(days=1) and baseline.days == 30
    before, this_month = presets(TODAY)["month_yoy"]
    assert this_month == DateRange(date(2026, 3, 1), date(2026, 3, 1))
    assert before == DateRange(date(2025, 3, 1), date(2025, 3, 1))
    prev, quarter = presets(date(2026, 5, 15))["quarter"]
    assert quarter == DateRange(date(2026, 1, 1), date(2026, 3, 31))
    assert prev == DateRange(date(2025, 10, 1), date(2025, 12, 31))
    last, month = presets(date(2026, 3, 15))["month"]
    assert month == DateRange(date(2026, 2, 1), date(2026, 2, 28))
    assert last == DateRange(date(2026, 1, 1), date(2026, 1, 31))


def _query(scope: str = "line:L1") -> str:
    periods = f"b_from={BASELINE.first}&b_to={BASELINE.last}&c_from={CURRENT.first}&c_to={CURRENT.last}"
    return f"{periods}&scope={scope}"


def test_page_shows_the_table_for_supervisors_and_managers_only(runtime: Runtime) -> None:
    written = WRITTEN[0]
    after = _expected(written, CURRENT, ("P01", "P02"))
    app = create_app(runtime.settings, runtime)
    with TestClient(app) as client:
        sign_in(client, runtime.auth, "manager")
        page = client.get(f"/roi?{_query()}")
        assert page.status_code == 200
        html = page.text
        assert 'data-metric="yield"' in html and "mieux" in html
        shown = f"{after['yield']:.1f}".replace(".", ",")
        assert shown in html
        pdf = client.get(f"/roi.pdf?{_query()}")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert "attachment" in pdf.headers["content-disposition"]
        reader = PdfReader(io.BytesIO(pdf.content))
        assert len(reader.pages) == 1 and shown in reader.pages[0].extract_text()
        # The same period twice: nothing changed, every difference "not significant", in words.
        same = f"b_from={CURRENT.first}&b_to={CURRENT.last}&c_from={CURRENT.first}&c_to={CURRENT.last}"
        html = client.get(f"/roi?{same}&scope=line:L1").text
        assert html.count("non significatif</td>") == 6
        # A bad date is said on the page, not as a crash.
        bad = client.get("/roi?b_from=2026-02-30&b_to=2026-03-01&c_from=2026-03-01&c_to=2026-03-01")
        assert bad.status_code == 400 and 'class="error"' in bad.text
        assert client.get("/roi?scope=press:P99").status_code == 400
        assert client.get("/roi").status_code == 200  # the default: last 30 days vs the 30 before
    with TestClient(app) as client:
        sign_in(client, runtime.auth, "operator")
        assert client.get(f"/roi?{_query()}").status_code == 403
        assert client.get(f"/roi.pdf?{_query()}").status_code == 403


def test_cli_prints_json_and_writes_the_pdf(runtime: Runtime, tmp_path: Path) -> None:
    out = tmp_path / "roi.pdf"
    answer = subprocess.run(
        [
            sys.executable,
            "-m",
            "cadence",
            "report",
            "roi",
            "--baseline",
            str(BASELINE),
            "--current",
            str(CURRENT),
            "--line",
            "L1",
            "--out",
            str(out),
            "--json",
            "--data-dir",
            str(runtime.settings.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr
    data = json.loads(answer.stdout)
    after = _expected(WRITTEN[0], CURRENT, ("P01", "P02"))
    assert data["metrics"]["yield"]["current"] == pytest.approx(after["yield"])
    assert data["metrics"]["yield"]["verdict"] == "better"
    assert data["current"]["days"] == 15 and data["scope"] == "line:L1"
    assert out.read_bytes().startswith(b"%PDF")
    wrong = subprocess.run(
        [
            sys.executable,
            "-m",
            "cadence",
            "report",
            "roi",
            "--baseline",
            "2026-13-01:2026-01-02",
            "--current",
            str(CURRENT),
            "--data-dir",
            str(runtime.settings.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert wrong.returncode == 2 and "bad_request" in wrong.stderr
