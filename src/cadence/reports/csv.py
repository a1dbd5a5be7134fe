"""The shift report as a CSV (stdlib ``csv``, UTF-8 with a BOM so Excel reads accents).

One table, told apart by the first column ``record``: one ``press`` row per press with its figures, then
one ``note`` row per logbook note of the shift (a press's notes carry its line and id, plant-wide notes
leave them empty), so a spreadsheet filter on ``record`` gives either list. With ``;`` as separator
(French Excel) numbers take a decimal comma, which is what that Excel expects; with ``,`` they keep the
point. Column names are stable identifiers, not translated.
"""

from __future__ import annotations

import csv
import io

from cadence.clock import to_datetime
from cadence.domain.operator import LogbookNote
from cadence.reports.shift import CycleStats, PressReport, ShiftReport

PRESS, NOTE = "press", "note"  # values of the ``record`` column

COLUMNS = (
    "record",
    "shift",
    "start",
    "end",
    "line",
    "press",
    "name",
    "output_pq",
    "good_gq",
    "scrap_sq",
    "rework_rq",
    "availability",
    "effectiveness",
    "quality_ratio",
    "oee",
    "trs_availability",
    "trs_performance",
    "planned_busy_min",
    "production_min",
    "setup_min",
    "waiting_min",
    "breakdown_min",
    "micro_stop_min",
    "unknown_min",
    "failure_events",
    "cycle_mean_s",
    "cycle_median_s",
    "cycle_p95_s",
    "cycle_min_s",
    "cycle_max_s",
    "alarms",
    "declared_scrap",  # declared by operators; scrap_sq includes it up to the good parts made
    "declared_uncounted",  # the part of it beyond the good parts, left out of scrap_sq
    "note_time",
    "note_by",
    "note_text",
)


def _num(value: float | None, decimal: str, digits: int = 4) -> str:
    if value is None:
        return ""
    return f"{value:.{digits}f}".replace(".", decimal)


def _row(report: ShiftReport, press: PressReport, decimal: str) -> list[str]:
    f = press.figures
    cycle: CycleStats | None = press.cycle

    def c(name: str) -> str:
        return _num(getattr(cycle, name), decimal, 3) if cycle is not None else ""

    def minutes(seconds: float) -> str:
        return _num(seconds / 60, decimal, 2)

    return [
        PRESS,
        report.shift_name,
        to_datetime(report.start_us).isoformat(),
        to_datetime(report.end_us).isoformat(),
        press.machine.line,
        press.machine.id,
        press.machine.name,
        str(f.pq),
        str(f.gq),
        str(f.sq),
        str(f.rq),
        _num(f.availability, decimal),
        _num(f.effectiveness, decimal),
        _num(f.quality_ratio, decimal),
        _num(f.oee, decimal),
        _num(f.trs_availability, decimal),
        _num(f.trs_performance, decimal),
        minutes(f.pbt_s),
        minutes(f.apt_s),
        minutes(f.aust_s),
        minutes(f.adot_s),
        minutes(f.malfunction_s),
        minutes(f.micro_stop_s),
        minutes(f.unknown_s),
        str(f.failure_events),
        c("mean_s"),
        c("median_s"),
        c("p95_s"),
        c("min_s"),
        c("max_s"),
        str(len(press.alarms)),
        str(f.declared),
        str(f.declared_uncounted),
        "",
        "",
        "",
    ]


def _note_row(report: ShiftReport, note: LogbookNote) -> list[str]:
    machine = next((m for m in report.plant.machines if m.id == note.machine), None)
    head = [
        NOTE,
        report.shift_name,
        to_datetime(report.start_us).isoformat(),
        to_datetime(report.end_us).isoformat(),
        machine.line if machine else "",
        note.machine or "",
        machine.name if machine else "",
    ]
    tail = [to_datetime(note.at_us).isoformat(), note.by, note.text]
    return head + [""] * (len(COLUMNS) - len(head) - len(tail)) + tail


def shift_report_csv(report: ShiftReport, separator: str = ",") -> str:
    """The CSV text, BOM first; ``separator`` is ``,`` or ``;``."""
    if separator not in (",", ";"):
        raise ValueError(f"separator must be ',' or ';', got {separator!r}")
    decimal = "," if separator == ";" else "."
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for press in report.presses:
        writer.writerow(_row(report, press, decimal))
    for note in report.notes:
        writer.writerow(_note_row(report, note))
    return out.getvalue()
