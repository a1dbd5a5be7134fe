"""End-of-shift report over a store filled by the simulated plant: figures, PDF, CSV and the CLI."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from cadence.analytics.intervals import Category, Interval, tile
from cadence.analytics.kpi import kpi_report
from cadence.clock import SimClock, to_datetime
from cadence.config import load_settings
from cadence.domain.batch import Batch, IdempotencyKey
from cadence.domain.operator import LogbookNote, ScrapDeclaration, StopReason, apply_stop_reasons
from cadence.domain.states import MachineState, StateChange
from cadence.ingest.local import LocalPublisher
from cadence.reports.csv import COLUMNS, NOTE, PRESS, shift_report_csv
from cadence.reports.pdf import LABELS, shift_report_pdf
from cadence.reports.shift import (
    MICRO_STOPS,
    UNQUALIFIED,
    ShiftReport,
    downtime_pareto,
    report_shift,
    shift_report_data,
)
from cadence.runtime import Runtime, open_runtime
from cadence.simulator import PlantSimulator
from support.auth import FAST_AUTH

START_US = 1_764_576_000_000_000  # 2025-12-01T08:00:00Z, a Monday: 09:00 in Paris, the morning shift
END_US = START_US + 30 * 60 * 1_000_000
MIN_US = 60_000_000
# What operators record on the tablets during the window (the runtime fixture stores them).
DECLARED = ScrapDeclaration("P01", START_US + 10 * MIN_US, 7, "fissure au contrôle", "lea")
TOO_MUCH = ScrapDeclaration("P02", START_US + 5 * MIN_US, 100_000, "lot refusé client", "lea")
PRESS_NOTE = LogbookNote("P01", START_US + 12 * MIN_US, "Fuite vérin <gauche> & joint à changer", "lea")
PLANT_NOTE = LogbookNote(None, START_US + 20 * MIN_US, "Réunion qualité à 14 h\nprévenir l'équipe", "chef")
LATE_NOTE = LogbookNote("P01", END_US + MIN_US, "après le rapport", "lea")
NEW_REASON = "breakdown.electrical"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    clock = SimClock(start_us=START_US)
    rt = open_runtime(load_settings(data_dir=tmp_path_factory.mktemp("reports"), **FAST_AUTH), clock=clock)
    publisher = LocalPublisher(rt.pipeline)
    sim = PlantSimulator(rt.plant, publisher, clock, seed=11, start_us=START_US)
    sim.step_until(END_US)  # 30 simulated minutes
    publisher.close()
    rt.pipeline.wait_idle(30)
    for scrap in (DECLARED, TOO_MUCH):
        rt.store.record_scrap(scrap)
    for note in (PRESS_NOTE, PLANT_NOTE, LATE_NOTE):
        rt.store.record_note(note)
    _add_an_unqualified_stop(rt, "P03")
    machine, stop = _longest_stop(rt)
    assert stop.source is not None
    rt.store.record_stop_reason(StopReason(machine, stop.source.ts_us, NEW_REASON, "lea", END_US))
    yield rt
    rt.close()


def _raw_intervals(rt: Runtime, machine: str) -> list[Interval]:
    """The press's intervals from the states as the press reported them, without operators' reasons."""
    return tile(rt.store.states(machine, 0, END_US + 400_000_000), [], START_US, END_US)


def _add_an_unqualified_stop(rt: Runtime, machine: str) -> None:
    """The simulated half hour has only micro-stops: put a 6-minute stop without a reason in a long run."""
    run = max(
        (iv for iv in _raw_intervals(rt, machine) if iv.category is Category.RUNNING),
        key=lambda iv: iv.duration_s,
    )
    assert run.duration_s > 8 * 60
    begin = run.start_us + MIN_US
    stop = (StateChange(begin, MachineState.IDLE), StateChange(begin + 6 * MIN_US, MachineState.RUNNING))
    rt.store.append([Batch(IdempotencyKey("test-stop", 1, 0), machine, states=stop, digest=b"stop")])


def _longest_stop(rt: Runtime) -> tuple[str, Interval]:
    """The longest stop (not a micro-stop) of any press in the window."""
    stops = [
        (iv.duration_s, m.id, iv)
        for m in rt.plant.machines
        for iv in _raw_intervals(rt, m.id)
        if iv.category not in {Category.RUNNING, Category.UNKNOWN, Category.MICRO_STOP}
    ]
    assert stops, "the simulated half hour has no stop to qualify"
    _, machine, stop = max(stops, key=lambda t: t[0])
    return machine, stop


@pytest.fixture(scope="module")
def report(runtime: Runtime) -> ShiftReport:
    """The data window only: the shift began at 05:00 but the simulated presses started at 09:00."""
    return shift_report_data(runtime.plant, runtime.store, (START_US, END_US))


def test_counts_and_oee_match_a_recomputation_from_the_store(runtime: Runtime, report: ShiftReport) -> None:
    assert [p.machine.id for p in report.presses] == [m.id for m in runtime.plant.machines]
    for press in report.presses:
        machine = press.machine
        # Every stroke of the press, read with a wide margin, counted where it ends.
        everything = runtime.store.strokes(machine.id, 0, END_US + 3_600_000_000, limit=100_000)
        inside = [s for s in everything if START_US <= s.end_us < END_US]
        good = sum(1 for s in inside if s.good)
        declared = sum(d.quantity for d in (DECLARED, TOO_MUCH) if d.machine == machine.id)
        f = press.figures
        assert f.pq == len(inside) > 50
        # Declared scrap moves good parts to scrap, never below 0 good parts.
        assert f.gq == max(0, good - declared) and f.sq + f.rq == len(inside) - f.gq
        assert (f.declared, f.declared_sq) == (declared, min(declared, good))
        changes = apply_stop_reasons(
            runtime.store.states(machine.id, 0, END_US + 400_000_000),
            runtime.store.stop_reasons(machine.id, 0, END_US + 400_000_000),
        )
        intervals = tile(changes, [], START_US, END_US)
        declarations = runtime.store.scrap_declarations(machine.id, 0, END_US + 400_000_000)
        expected = kpi_report(
            intervals, everything, pri_s=machine.target_cycle_s or 0.0, declarations=declarations
        )
        assert f.oee == expected.oee
        assert f.availability == expected.availability
        assert f.effectiveness == expected.effectiveness
        assert f.trs_availability == expected.trs_availability
        assert f.trs_performance == expected.trs_performance
        # The Paretos account for every stop second and every bad part.
        stop_s = f.pot_s - f.apt_s - f.unknown_s
        assert sum(b.value for b in press.downtime) == pytest.approx(stop_s)
        assert sum(b.value for b in press.scrap) == f.sq + f.rq + f.declared_uncounted
        cycles = sorted(s.features["cycle_time_s"] for s in inside if "cycle_time_s" in s.features)
        assert press.cycle is not None and press.cycle.count == len(cycles)
        assert press.cycle.min_s == cycles[0] and press.cycle.max_s == cycles[-1]
        assert press.cycle.min_s <= press.cycle.median_s <= press.cycle.p95_s <= press.cycle.max_s


def test_lines_and_plant_pool_their_presses(report: ShiftReport) -> None:
    assert {line.line.id for line in report.lines} == {"L1", "L2"}
    for line in report.lines:
        f = line.figures
        assert f.pq == sum(p.figures.pq for p in line.presses)
        pri_gq = sum(p.kpi.pri_gq_s for p in line.presses)
        pbt = sum(p.kpi.pbt_s for p in line.presses)
        assert f.oee == pytest.approx(pri_gq / pbt)
        assert sum(b.value for b in line.downtime) == pytest.approx(
            sum(sum(b.value for b in p.downtime) for p in line.presses)
        )
    assert report.figures.gq == sum(p.figures.gq for p in report.presses)
    assert report.figures.pq > 0 and report.downtime


def test_running_shift_is_found_and_cut_at_now(runtime: Runtime) -> None:
    shift, running = report_shift(runtime.plant, to_datetime(END_US))
    assert running and shift.name == "matin" and shift.start.hour == 5
    data = shift_report_data(runtime.plant, runtime.store, shift, until_us=END_US)
    assert data.in_progress and data.end_us == END_US
    # Before the simulator started nothing was known: four hours of unknown time, never a gain.
    assert data.figures.unknown_s >= 6 * 4 * 3600 - 60
    ended, running = report_shift(runtime.plant, datetime(2025, 12, 6, 12, tzinfo=UTC))  # a Saturday
    assert not running and ended.name == "nuit" and ended.end.weekday() == 5


def _pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def test_pdf_has_a_summary_and_one_page_per_press_with_charts(report: ShiftReport) -> None:
    data = shift_report_pdf(report, "fr")
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    texts = [p.extract_text() for p in reader.pages]
    assert "Rapport de fin de poste" in texts[0] and "Synthèse usine et lignes" in texts[0]
    assert "Pareto des arrêts" in texts[0]
    for press in report.presses:
        page = next(i for i, t in enumerate(texts) if f"Presse {press.machine.id} ·" in t)
        text = texts[page]
        assert "Décomposition TRS" in text and "Temps de cycle" in text
        assert f"{press.figures.pq}" in text and f"{press.figures.gq}" in text
        oee = press.figures.oee
        assert oee is not None
        assert f"{oee * 100:.1f}".replace(".", ",") in text  # French decimal comma
        if press.downtime:
            key = press.downtime[0].key
            tree = {r.code: r.label_fr for r in report.plant.reasons}
            top = LABELS["fr"].get(key) or tree.get(key, key)  # a reason code is shown by its label
            assert text.count(top) >= 2  # the chart's axis label and the table's row
            if key in tree:
                assert key not in text
            content = reader.pages[page].get_contents()
            assert content is not None
            # Bars are filled rectangles in the page's content stream, not images.
            assert content.get_data().count(b" re") >= len(press.downtime) + 10
    english = _pdf_pages(shift_report_pdf(report, "en"))
    assert "End-of-shift report" in english[0] and "Downtime Pareto" in english[0]


def test_csv_parses_back(report: ShiftReport) -> None:
    for sep, decimal in ((";", ","), (",", ".")):
        text = shift_report_csv(report, sep)
        assert text.startswith("\ufeff")
        every = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff")), delimiter=sep))
        assert list(every[0]) == list(COLUMNS)
        rows = [r for r in every if r["record"] == PRESS]
        assert [r["press"] for r in rows] == [p.machine.id for p in report.presses]
        for row, press in zip(rows, report.presses, strict=True):
            assert int(row["good_gq"]) == press.figures.gq and int(row["output_pq"]) == press.figures.pq
            assert int(row["declared_scrap"]) == press.figures.declared
            assert int(row["declared_uncounted"]) == press.figures.declared_uncounted
            oee = press.figures.oee
            assert oee is not None
            assert float(row["oee"].replace(decimal, ".")) == pytest.approx(oee, abs=1e-4)
        notes = [r for r in every if r["record"] == NOTE]
        assert [(r["press"], r["note_by"], r["note_text"]) for r in notes] == [
            ("P01", PRESS_NOTE.by, PRESS_NOTE.text),
            ("", PLANT_NOTE.by, PLANT_NOTE.text),  # the newline survives the round trip
        ]
        assert notes[0]["line"] == next(m.line for m in report.plant.machines if m.id == "P01")
        assert all(r["output_pq"] == "" for r in notes)
        assert len(every) == len(report.presses) + 2


def test_cli_writes_pdf_and_csv(runtime: Runtime, tmp_path: Path) -> None:
    at = to_datetime(END_US).isoformat()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cadence",
            "report",
            "shift",
            "--at",
            at,
            "--out",
            str(tmp_path / "out"),
            "--data-dir",
            str(runtime.settings.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    pdfs, csvs = list((tmp_path / "out").glob("*.pdf")), list((tmp_path / "out").glob("*.csv"))
    assert [p.name for p in pdfs] == ["shift-report-20251201-0500.pdf"] and len(csvs) == 1
    assert "Presse P01" in "".join(_pdf_pages(pdfs[0].read_bytes()))
    rows = list(csv.DictReader(io.StringIO(csvs[0].read_text(encoding="utf-8-sig")), delimiter=";"))
    presses = [r for r in rows if r["record"] == PRESS]
    assert len(presses) == len(runtime.plant.machines) and rows[0]["shift"] == "matin"
    assert [r["note_text"] for r in rows if r["record"] == NOTE] == [PRESS_NOTE.text, PLANT_NOTE.text]


def test_a_qualified_stop_leaves_its_old_bar_for_its_reason(runtime: Runtime, report: ShiftReport) -> None:
    machine, stop = _longest_stop(runtime)
    press = next(p for p in report.presses if p.machine.id == machine)
    before = {b.key: b.value for b in downtime_pareto(_raw_intervals(runtime, machine))}
    after = {b.key: b.value for b in press.downtime}
    old_key = UNQUALIFIED if stop.unqualified or stop.reason is None else stop.reason
    assert old_key not in {NEW_REASON, MICRO_STOPS}
    assert after[NEW_REASON] == pytest.approx(before.get(NEW_REASON, 0.0) + stop.duration_s)
    assert after.get(old_key, 0.0) == pytest.approx(before[old_key] - stop.duration_s)
    assert sum(after.values()) == pytest.approx(sum(before.values()))


def test_logbook_notes_are_in_the_data_and_the_pdf(report: ShiftReport) -> None:
    assert report.notes == (PRESS_NOTE, PLANT_NOTE)  # the late note is after the period
    assert report.plant_notes == (PLANT_NOTE,)
    p01 = next(p for p in report.presses if p.machine.id == "P01")
    assert p01.notes == (PRESS_NOTE,)
    assert all(p.notes == () for p in report.presses if p.machine.id != "P01")
    for locale in ("fr", "en"):
        texts = _pdf_pages(shift_report_pdf(report, locale))
        t = LABELS[locale]
        assert t["plant_logbook"] in texts[0] and "Réunion qualité à 14 h" in texts[0]
        assert "prévenir l'équipe" in texts[0] and PRESS_NOTE.text not in texts[0]
        page = next(x for x in texts if f"{t['press']} P01 ·" in x)
        assert t["logbook"] in page and "Fuite vérin <gauche> & joint à changer" in page  # escaped, kept
        other = next(x for x in texts if f"{t['press']} P03 ·" in x)
        assert t["no_note"] in other


def test_declared_scrap_counts_in_quality_paretos_and_pdf(report: ShiftReport) -> None:
    p01 = next(p for p in report.presses if p.machine.id == "P01")
    p02 = next(p for p in report.presses if p.machine.id == "P02")
    assert p01.declarations == (DECLARED,)
    bar = next(b for b in p01.scrap if b.key == DECLARED.cause)
    assert (bar.value, bar.count) == (DECLARED.quantity, 1)
    # P02's declaration is more than its good parts: all of them become scrap, none below zero.
    assert p02.figures.gq == 0 and p02.figures.declared_uncounted > 0
    assert p02.figures.oee == 0.0
    assert report.figures.declared == DECLARED.quantity + TOO_MUCH.quantity
    assert any(b.key == TOO_MUCH.cause for b in report.scrap)
    texts = _pdf_pages(shift_report_pdf(report, "fr"))
    page = next(x for x in texts if "Presse P01 ·" in x)
    assert DECLARED.cause in page and "Rebut déclaré par les opérateurs : 7 pièces" in page
    page = next(x for x in texts if "Presse P02 ·" in x)
    spaced = page.replace("\u202f", " ").replace("\xa0", " ")  # French thousands separators
    uncounted = f"{p02.figures.declared_uncounted:,}".replace(",", " ")
    assert f"{uncounted} pièces déclarées au-delà" in spaced


def test_downtime_pareto_groups_by_reason_with_unqualified_and_micro_stops_apart() -> None:
    from cadence.domain.states import MachineState as S
    from cadence.domain.states import StateChange
    from cadence.reports.shift import MICRO_STOPS, UNQUALIFIED, downtime_pareto

    m = 60_000_000
    changes = [
        StateChange(0, S.RUNNING),
        StateChange(10 * m, S.DOWN, "breakdown.hydraulic"),  # 12 min
        StateChange(22 * m, S.RUNNING),
        StateChange(30 * m, S.IDLE),  # 8 min, nobody said why
        StateChange(38 * m, S.RUNNING),
        StateChange(40 * m, S.DOWN, "breakdown.hydraulic"),  # 6 min more, a second stop
        StateChange(46 * m, S.RUNNING),
        StateChange(50 * m, S.IDLE, "waiting.material"),  # 2 min: a micro-stop whatever its reason
        StateChange(52 * m, S.RUNNING),
    ]
    bars = downtime_pareto(tile(changes, [], 0, 60 * m))
    assert [(b.key, b.value / 60, b.count) for b in bars] == [
        ("breakdown.hydraulic", 18.0, 2),
        (UNQUALIFIED, 8.0, 1),
        (MICRO_STOPS, 2.0, 1),
    ]
