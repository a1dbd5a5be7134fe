"""``cadence spc``: control charts of a data file, computed by :mod:`cadence.analytics.spc`.

The file is a table with one header line: comma, semicolon (French Excel, decimal comma accepted), tab
or runs of spaces (the qcc data files), detected from the header unless given. Variables charts
(``xbar-r``, ``xbar-s``, ``imr``, ``ewma``, ``cusum``) read one value per row, grouped into subgroups by
a subgroup column or a fixed size; attribute charts (``p``, ``np``, ``c``, ``u``) read a count per row
and, for p, np and u, the sample size from a column or a constant.

Phase I (the limits) uses the first ``phase1`` points or the rows whose trial column is true; every
point, phase I and phase II, is then plotted against those frozen limits and checked. The result has one
:class:`Part` per chart part (X̄ and R for ``xbar-r``), each turned into the JSON object of issue 5 by
:meth:`Part.as_dict`. Indices in the output count points from 1, as on a printed chart and in the
subgroup numbers of a textbook. Bad input raises the ``spc.*`` errors of :mod:`cadence.errors`, naming
the file, line and column.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> path = folder / "cans.csv"
>>> _ = path.write_text("sample,defective,size\\n" + "".join(
...     f"{i},{d},50\\n" for i, d in enumerate([12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22], 1)))
>>> options = SpcOptions(chart="p", count_column="defective", size_column="size", phase1=14, rules="none")
>>> part = chart_file(path, options).as_json()[0]
>>> part["chart"], round(part["center"], 4), round(part["ucl"], 4), part["phase1"], part["violations"]
('p', 0.2071, 0.3791, '1-14', [{'index': 15, 'rule': 'limit', 'points': [15]}])
"""

from __future__ import annotations

import csv
import enum
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadence.analytics.spc import c as c_chart
from cadence.analytics.spc import cusum as cusum_chart
from cadence.analytics.spc import ewma as ewma_chart
from cadence.analytics.spc import imr as imr_chart
from cadence.analytics.spc import np as np_chart
from cadence.analytics.spc import p as p_chart
from cadence.analytics.spc import u as u_chart
from cadence.analytics.spc import xbar_r, xbar_s
from cadence.analytics.spc.base import Convention, Point, Violation
from cadence.analytics.spc.rules import NELSON, WESTERN_ELECTRIC, RuleChecker
from cadence.errors import SpcColumnError, SpcDataError, SpcFileError, SpcOptionError, SpcValueError

# A data file for a control chart is a few thousand rows; refusing anything above this keeps a wrong
# path (a database, a log) from being read whole into memory.
MAX_FILE_BYTES = 200 * 1024 * 1024


class ChartKind(enum.StrEnum):
    XBAR_R = "xbar-r"
    XBAR_S = "xbar-s"
    IMR = "imr"
    EWMA = "ewma"
    CUSUM = "cusum"
    P = "p"
    NP = "np"
    C = "c"
    U = "u"


VARIABLES = frozenset({ChartKind.XBAR_R, ChartKind.XBAR_S, ChartKind.IMR, ChartKind.EWMA, ChartKind.CUSUM})
ATTRIBUTES = frozenset({ChartKind.P, ChartKind.NP, ChartKind.C, ChartKind.U})


class RuleSet(enum.StrEnum):
    WE = "we"
    NELSON = "nelson"
    NONE = "none"


# Code of a violation when no run rule is selected (and on EWMA/CUSUM charts): a point beyond a limit.
LIMIT_RULE = "limit"

SEPARATORS = {",": ",", ";": ";", "tab": "\t", "\\t": "\t", "\t": "\t", "space": " ", " ": " "}

_TRUE = frozenset({"true", "t", "1", "yes", "y", "oui", "o", "vrai"})
_FALSE = frozenset({"false", "f", "0", "no", "n", "non", "faux"})


@dataclass(frozen=True, slots=True)
class SpcOptions:
    """What to chart and how; the command-line options of ``cadence spc`` one for one."""

    chart: ChartKind | str
    column: str | None = None
    subgroup_column: str | None = None
    subgroup_size: int | None = None
    count_column: str | None = None
    size_column: str | None = None
    phase1: int | None = None
    trial_column: str | None = None
    exclude: str | None = None
    rules: RuleSet | str | None = None
    convention: Convention | str = Convention.TABULATED
    lam: float = 0.2
    L: float = 3.0
    k: float = 0.5
    h: float = 5.0
    fir: bool = False
    sep: str | None = None


@dataclass(frozen=True, slots=True)
class Table:
    """A data file read as text: header names, rows of cells, and each row's line number in the file."""

    path: Path
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    lines: tuple[int, ...]
    separator: str

    def column(self, name: str, option: str) -> int:
        """The position of column ``name`` (exact, then ignoring case); ``option`` names who asked."""
        if name in self.header:
            return self.header.index(name)
        folded = [h.casefold() for h in self.header]
        if name.casefold() in folded:
            return folded.index(name.casefold())
        raise SpcColumnError(
            f"{self.path}: no column {name!r} (given by {option}); the header has: {', '.join(self.header)}",
            file=str(self.path),
            column=name,
        )

    def _bad(self, row: int, col: int, text: str, what: str) -> SpcValueError:
        return SpcValueError(
            f"{self.path}, line {self.lines[row]}, column {self.header[col]!r}: {text!r} {what}",
            file=str(self.path),
            line=self.lines[row],
            column=self.header[col],
        )

    def numbers(self, col: int, *, minimum: float | None = None, positive: bool = False) -> list[float]:
        out: list[float] = []
        for row, cells in enumerate(self.rows):
            text = cells[col]
            if self.separator == ";":
                text = text.replace(",", ".")  # decimal comma of French spreadsheets
            try:
                value = float(text)
            except ValueError:
                raise self._bad(row, col, cells[col], "is not a number") from None
            if not math.isfinite(value):
                raise self._bad(row, col, cells[col], "is not a finite number")
            if minimum is not None and value < minimum:
                raise self._bad(row, col, cells[col], f"is below {minimum:g}")
            if positive and value <= 0:
                raise self._bad(row, col, cells[col], "must be greater than 0")
            out.append(value)
        return out

    def flags(self, col: int) -> list[bool]:
        out: list[bool] = []
        for row, cells in enumerate(self.rows):
            text = cells[col].strip().casefold()
            if text in _TRUE:
                out.append(True)
            elif text in _FALSE:
                out.append(False)
            else:
                raise self._bad(row, col, cells[col], "is not true/false (TRUE, FALSE, 1, 0, yes, no)")
        return out

    def labels(self, col: int) -> list[str]:
        return [cells[col] for cells in self.rows]


def _separator(header_line: str, given: str | None) -> str:
    if given is not None:
        if given not in SEPARATORS:
            raise SpcOptionError(f"--sep {given!r}: use ',', ';', 'tab' or 'space' (runs of spaces)")
        return SEPARATORS[given]
    for candidate in ("\t", ",", ";"):
        if candidate in header_line:
            return candidate
    return " "


def read_table(path: Path, sep: str | None = None) -> Table:
    """Read ``path``: one header line, then data rows with as many cells; blank and ``#`` lines skipped."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SpcFileError(f"{path}: {size:,} bytes; a chart's data file is expected below 200 MiB")
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise SpcFileError(f"{path}: no such file", file=str(path)) from None
    except IsADirectoryError:
        raise SpcFileError(f"{path}: is a directory, not a data file", file=str(path)) from None
    except UnicodeDecodeError as err:
        raise SpcFileError(
            f"{path}: not UTF-8 text (byte {err.start}); save it as CSV UTF-8", file=str(path)
        ) from None
    except OSError as err:
        raise SpcFileError(f"{path}: cannot be read ({err.strerror})", file=str(path)) from None
    numbered = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not numbered:
        raise SpcFileError(
            f"{path}: empty file; expected a header line, then one row per value", file=str(path)
        )
    separator = _separator(numbered[0][1], sep)

    def split(line: str) -> list[str]:
        if separator == " ":
            return line.split()
        return [cell.strip() for cell in next(csv.reader(io.StringIO(line), delimiter=separator))]

    header = tuple(split(numbered[0][1]))
    rows: list[tuple[str, ...]] = []
    lines: list[int] = []
    for number, line in numbered[1:]:
        cells = split(line)
        if len(cells) != len(header):
            raise SpcValueError(
                f"{path}, line {number}: {len(cells)} cells for the {len(header)} columns of the header "
                f"({', '.join(header)})",
                file=str(path),
                line=number,
            )
        rows.append(tuple(cells))
        lines.append(number)
    if not rows:
        raise SpcFileError(f"{path}: a header but no data rows", file=str(path))
    return Table(path, header, tuple(rows), tuple(lines), separator)


@dataclass(slots=True)
class Part:
    """One chart part as printed: the JSON object of issue 5 plus what a plot needs.

    ``lcl``, ``ucl`` and ``sigma`` are numbers when the same for every point, lists (one per point)
    when they vary (p and u charts with varying sample sizes, EWMA's exact limits).
    """

    chart: str
    center: float
    lcl: float | list[float | None] | None
    ucl: float | list[float | None] | None
    sigma: float | list[float]
    violations: list[Violation]
    values: list[float | None]
    points: list[Point | None]
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "chart": self.chart,
            "center": self.center,
            "lcl": self.lcl,
            "ucl": self.ucl,
            "sigma": self.sigma,
            "violations": [
                {"index": v.index + 1, "rule": v.rule, "points": [i + 1 for i in v.points]}
                for v in self.violations
            ],
            "values": self.values,
            **self.extra,
        }


@dataclass(frozen=True, slots=True)
class SpcResult:
    """Every part of one chart, with the phase I record (points counted from 1)."""

    chart: ChartKind
    parts: list[Part]
    labels: list[str]
    phase1: list[int]
    excluded: list[int]

    def as_json(self) -> list[dict[str, Any]]:
        """Plain JSON values, floats to 12 significant digits (a range of 0.038 is not printed as
        0.0379999999999967: binary noise, far below the 1e-6 the published limits are checked to)."""
        return [_tidy(obj) for obj in self._objects()]

    def _objects(self) -> list[dict[str, Any]]:
        common: dict[str, Any] = {"phase1": self.phase1_text(), "excluded": self.excluded}
        if self.labels != [str(i) for i in range(1, len(self.labels) + 1)]:
            common["labels"] = self.labels  # the subgroup column's own names, when not just 1, 2, 3…
        return [{**part.as_dict(), **common} for part in self.parts]

    def to_json(self) -> str:
        """The JSON text ``cadence spc`` prints: a list with one object per part, one key per line (the
        lists of values on their line), readable and still plain JSON."""
        blocks = []
        for obj in self.as_json():
            keys = [f"    {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in obj.items()]
            blocks.append("  {\n" + ",\n".join(keys) + "\n  }")
        return "[\n" + ",\n".join(blocks) + "\n]\n"

    def phase1_text(self) -> str:
        """The phase I points as ranges, e.g. ``"1-25"`` or ``"1-10,15"``."""
        spans: list[list[int]] = []
        for i in self.phase1:
            if spans and spans[-1][1] == i - 1:
                spans[-1][1] = i
            else:
                spans.append([i, i])
        spans_text = [str(a) if a == b else f"{a}-{b}" for a, b in spans]
        return ",".join(spans_text)


def _tidy(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, list):
        return [_tidy(v) for v in value]
    if isinstance(value, dict):
        return {k: _tidy(v) for k, v in value.items()}
    return value


def _same(values: Sequence[float | None]) -> bool:
    return all(v == values[0] for v in values)


def _collapse(values: list[float | None]) -> float | list[float | None] | None:
    return values[0] if _same(values) else values


def _violations(points: Sequence[Point | None], rules: RuleSet) -> list[Violation]:
    if rules is RuleSet.NONE:
        return [
            Violation(LIMIT_RULE, p.index, (p.index,)) for p in points if p is not None and p.beyond_limits
        ]
    checker = RuleChecker(WESTERN_ELECTRIC if rules is RuleSet.WE else NELSON)
    return [v for p in points if p is not None for v in checker.update(p)]


def _part(
    chart: str,
    points: Sequence[Point | None],
    sigma: float | list[float],
    rules: RuleSet,
    **extra: Any,
) -> Part:
    shown = [p for p in points if p is not None]
    return Part(
        chart=chart,
        center=shown[0].center,
        lcl=_collapse([p.lcl if p else None for p in points if p]),
        ucl=_collapse([p.ucl if p else None for p in points if p]),
        sigma=sigma,
        violations=_violations(points, rules),
        values=[p.value if p else None for p in points],
        points=list(points),
        extra=extra,
    )


@dataclass(frozen=True, slots=True)
class _Samples:
    """What the chart functions need: the points' data, labels, phase I positions, lines of first rows."""

    labels: list[str]
    lines: list[int]
    baseline: list[int]
    values: list[list[float]]  # variables: the subgroup (one value for individuals)
    counts: list[float]
    sizes: list[float]


def _enum(kind: type[enum.StrEnum], value: Any, option: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise SpcOptionError(f"{option} {value!r}: use one of {allowed}") from None


def _check_options(o: SpcOptions, kind: ChartKind) -> None:
    if kind in VARIABLES:
        if o.count_column or o.size_column:
            raise SpcOptionError(f"--count-column/--size-column are for p, np, c and u charts, not {kind}")
        if o.subgroup_column and o.subgroup_size:
            raise SpcOptionError("give --subgroup-column or --subgroup-size, not both")
        if kind is ChartKind.IMR and (o.subgroup_column or o.subgroup_size):
            raise SpcOptionError(
                "an I-MR chart plots individual values: no --subgroup-column or --subgroup-size"
            )
        if kind in (ChartKind.XBAR_R, ChartKind.XBAR_S) and not (o.subgroup_column or o.subgroup_size):
            raise SpcOptionError(
                f"a {kind} chart needs subgroups: --subgroup-column NAME or --subgroup-size N"
            )
    else:
        if o.column or o.subgroup_column:
            raise SpcOptionError(f"a {kind} chart reads --count-column (and --size-column), not --column")
        if kind is ChartKind.C and o.size_column:
            raise SpcOptionError("a c chart is for units of one size; with sizes that vary use -c u")
    if o.phase1 is not None and o.trial_column is not None:
        raise SpcOptionError("give --phase1 or --trial-column, not both")
    if o.phase1 is not None and o.phase1 < 2:
        raise SpcOptionError(f"--phase1 {o.phase1}: phase I needs at least 2 points")
    if o.subgroup_size is not None and o.subgroup_size < 1:
        raise SpcOptionError(f"--subgroup-size {o.subgroup_size}: must be at least 1")
    if kind in (ChartKind.EWMA, ChartKind.CUSUM) and o.rules not in (None, RuleSet.NONE, "none"):
        raise SpcOptionError(f"run rules do not apply to a {kind} chart (its points are not independent)")


def _only_column(table: Table, option: str, taken: Sequence[str | None]) -> str:
    free = [h for h in table.header if h not in taken]
    if len(free) == 1:
        return free[0]
    raise SpcOptionError(
        f"{table.path}: name the column to chart with {option} (columns: {', '.join(table.header)})"
    )


def _samples(table: Table, o: SpcOptions, kind: ChartKind) -> _Samples:
    trial_col = table.column(o.trial_column, "--trial-column") if o.trial_column else None
    flags = table.flags(trial_col) if trial_col is not None else None
    if kind in VARIABLES:
        name = o.column or _only_column(table, "--column", [o.subgroup_column, o.trial_column])
        values = table.numbers(table.column(name, "--column"))
        groups: list[list[int]]  # row positions of each subgroup, in order
        if o.subgroup_column:
            labels_by_row = table.labels(table.column(o.subgroup_column, "--subgroup-column"))
            order: dict[str, list[int]] = {}
            for row, label in enumerate(labels_by_row):
                order.setdefault(label, []).append(row)
            groups = list(order.values())
            labels = list(order)
        else:
            size = o.subgroup_size or 1
            if len(values) % size:
                left = len(values) % size
                raise SpcDataError(
                    f"{table.path}: {len(values)} values do not make subgroups of {size} "
                    f"({left} left over from line {table.lines[len(values) - left]})",
                    file=str(table.path),
                )
            groups = [list(range(i, i + size)) for i in range(0, len(values), size)]
            labels = [str(j + 1) for j in range(len(groups))]
        data = [[values[r] for r in g] for g in groups]
        counts: list[float] = []
        sizes: list[float] = []
    else:
        count_name = o.count_column or _only_column(table, "--count-column", [o.size_column, o.trial_column])
        counts = table.numbers(table.column(count_name, "--count-column"), minimum=0.0)
        if o.size_column:
            size_col = table.column(o.size_column, "--size-column")
            sizes = table.numbers(size_col, positive=True)
        elif kind is ChartKind.C:
            sizes = [1.0] * len(counts)
        elif o.subgroup_size:
            sizes = [float(o.subgroup_size)] * len(counts)
        else:
            raise SpcOptionError(
                f"a {kind} chart needs the sample sizes: --size-column NAME or --subgroup-size N"
            )
        if kind in (ChartKind.P, ChartKind.NP):
            for row, (d, n) in enumerate(zip(counts, sizes, strict=True)):
                if d > n:
                    col = table.column(count_name, "--count-column")
                    raise table._bad(row, col, table.rows[row][col], f"is more than the sample size {n:g}")
        if kind is ChartKind.NP and not _same(sizes):
            raise SpcDataError(f"{table.path}: sample sizes vary; an np chart needs one size (use -c p)")
        groups = [[r] for r in range(len(counts))]
        labels = [str(j + 1) for j in range(len(counts))]
        data = []
    if flags is not None:
        baseline = []
        for j, g in enumerate(groups):
            seen = {flags[r] for r in g}
            if len(seen) > 1:
                raise SpcValueError(
                    f"{table.path}, line {table.lines[g[0]]}: subgroup {labels[j]!r} has rows in phase I "
                    f"and rows not (column {o.trial_column!r})",
                    file=str(table.path),
                    line=table.lines[g[0]],
                )
            if flags[g[0]]:
                baseline.append(j)
    elif o.phase1 is not None:
        if o.phase1 > len(groups):
            raise SpcOptionError(f"--phase1 {o.phase1}: the file has only {len(groups)} points")
        baseline = list(range(o.phase1))
    else:
        baseline = list(range(len(groups)))
    if len(baseline) < 2:
        raise SpcDataError(f"{table.path}: phase I has {len(baseline)} point(s); it needs at least 2")
    return _Samples(labels, [table.lines[g[0]] for g in groups], baseline, data, counts, sizes)


def _exclusion(o: SpcOptions, s: _Samples) -> tuple[list[int], bool]:
    """``--exclude``: ``auto`` (iterate in phase I), point numbers (from 1), or both, comma-separated.
    Returns positions within the baseline list and whether to iterate."""
    if not o.exclude:
        return [], False
    iterate = False
    positions: list[int] = []
    for token in (t.strip() for t in o.exclude.split(",")):
        if token.casefold() == "auto":
            iterate = True
            continue
        try:
            number = int(token)
        except ValueError:
            raise SpcOptionError(
                f"--exclude {o.exclude!r}: {token!r} is neither 'auto' nor a point number"
            ) from None
        if number - 1 not in s.baseline:
            raise SpcOptionError(f"--exclude: point {number} is not in phase I")
        positions.append(s.baseline.index(number - 1))
    return positions, iterate


def _phase_one(build: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return build(*args, **kwargs)
    except ValueError as err:
        raise SpcDataError(f"phase I: {err}") from None


def _variables(
    kind: ChartKind, o: SpcOptions, s: _Samples, rules: RuleSet
) -> tuple[list[Part], tuple[int, ...]]:
    convention = _enum(Convention, o.convention, "--convention")
    excluded, iterate = _exclusion(o, s)
    opts = {"convention": convention, "excluded": excluded, "iterate": iterate}
    for label, line, group in zip(s.labels, s.lines, s.values, strict=True):
        if kind in (ChartKind.XBAR_R, ChartKind.XBAR_S) and not 2 <= len(group) <= 25:
            raise SpcDataError(
                f"line {line}: subgroup {label!r} has {len(group)} value(s); X̄ charts need 2 to 25",
                line=line,
            )
    base = [s.values[j] for j in s.baseline]
    if kind is ChartKind.XBAR_R:
        r_limits = _phase_one(xbar_r.phase_one, base, **opts)
        chart_r = xbar_r.XbarRChart(r_limits)
        pairs_r = [chart_r.update(g) for g in s.values]
        sigma = r_limits.sigma
        return [
            _part("xbar", [p.xbar for p in pairs_r], sigma, rules, n=r_limits.n),
            _part("r", [p.r for p in pairs_r], sigma, rules, n=r_limits.n),
        ], r_limits.excluded
    if kind is ChartKind.XBAR_S:
        s_limits = _phase_one(xbar_s.phase_one, base, **opts)
        chart_s = xbar_s.XbarSChart(s_limits)
        pairs_s = [chart_s.update(g) for g in s.values]
        return [
            _part("xbar", [p.xbar for p in pairs_s], s_limits.sigma, rules, n=s_limits.n),
            _part("s", [p.s for p in pairs_s], s_limits.sigma, rules, n=s_limits.n),
        ], s_limits.excluded
    if kind is ChartKind.IMR:
        i_limits = _phase_one(imr_chart.phase_one, [g[0] for g in base], **opts)
        chart_i = imr_chart.IMRChart(i_limits)
        pairs_i = [chart_i.update(g[0]) for g in s.values]
        return [
            _part("i", [p.i for p in pairs_i], i_limits.sigma, rules),
            _part("mr", [p.mr for p in pairs_i], i_limits.sigma, rules),
        ], i_limits.excluded
    # EWMA and CUSUM: centre and σ of what is plotted from an X̄-R phase I (subgroups: σ̂/√n) or an
    # I-MR phase I (individuals), as docs/domain.md §9.3 does for the textbook example.
    sizes = {len(g) for g in s.values}
    if len(sizes) > 1:
        raise SpcDataError(f"subgroup sizes vary ({sorted(sizes)}); EWMA and CUSUM need one size")
    n = sizes.pop()
    if n == 1:
        one = _phase_one(imr_chart.phase_one, [g[0] for g in base], **opts)
        center, sigma, out = one.center, one.sigma, one.excluded
    else:
        many = _phase_one(xbar_r.phase_one, base, **opts)
        center, sigma, out = many.center, many.sigma / math.sqrt(n), many.excluded
    means = [math.fsum(g) / len(g) for g in s.values]
    if kind is ChartKind.EWMA:
        try:
            ewma = ewma_chart.EwmaChart(center, sigma, lam=o.lam, L=o.L)
        except ValueError as err:
            raise SpcOptionError(f"EWMA: {err}") from None
        points = [ewma.update(x) for x in means]
        return [_part("ewma", points, sigma, RuleSet.NONE, n=n, **{"lambda": o.lam, "L": o.L})], out
    try:
        cusum = cusum_chart.CusumChart.from_sigma(
            center, sigma, k=o.k, h=o.h, head_start=o.h / 2 if o.fir else 0.0
        )
    except ValueError as err:
        raise SpcOptionError(f"CUSUM: {err}") from None
    steps = [cusum.update(x) for x in means]
    part = _part(
        "cusum",
        [c.point for c in steps],
        sigma,
        RuleSet.NONE,
        n=n,
        target=center,
        k=o.k,
        h=o.h,
        fir=o.fir,
        upper=[c.upper for c in steps],
        lower=[c.lower for c in steps],
    )
    # A CUSUM signals when one sum exceeds H: the side is the rule, every point of the episode reported.
    part.violations = [
        Violation(f"cusum_{c.side}", c.point.index, (c.point.index,)) for c in steps if c.side is not None
    ]
    return [part], out


def _attributes(
    kind: ChartKind, o: SpcOptions, s: _Samples, rules: RuleSet
) -> tuple[list[Part], tuple[int, ...]]:
    excluded, iterate = _exclusion(o, s)
    opts = {"excluded": excluded, "iterate": iterate}
    base_counts = [s.counts[j] for j in s.baseline]
    base_sizes = [s.sizes[j] for j in s.baseline]
    if kind is ChartKind.P:
        p_limits = _phase_one(p_chart.phase_one, base_counts, base_sizes, **opts)
        chart_p = p_chart.PChart(p_limits)
        points = [chart_p.update(d, n) for d, n in zip(s.counts, s.sizes, strict=True)]
        sig = [p_limits.sigma(n) for n in s.sizes]
        return [_part("p", points, sig[0] if _same(sig) else sig, rules)], p_limits.excluded
    if kind is ChartKind.NP:
        n = s.sizes[0]
        if n != int(n):
            raise SpcDataError(f"np chart: sample size {n:g} is not a whole number")
        np_limits = _phase_one(np_chart.phase_one, base_counts, int(n), **opts)
        chart_np = np_chart.NpChart(np_limits)
        points = [chart_np.update(d) for d in s.counts]
        return [_part("np", points, np_limits.sigma, rules, n=int(n))], np_limits.excluded
    if kind is ChartKind.C:
        c_limits = _phase_one(c_chart.phase_one, base_counts, **opts)
        chart_c = c_chart.CChart(c_limits)
        points = [chart_c.update(x) for x in s.counts]
        return [_part("c", points, c_limits.sigma, rules)], c_limits.excluded
    u_limits = _phase_one(u_chart.phase_one, base_counts, base_sizes, **opts)
    chart_u = u_chart.UChart(u_limits)
    points = [chart_u.update(x, n) for x, n in zip(s.counts, s.sizes, strict=True)]
    sig = [u_limits.sigma(n) for n in s.sizes]
    return [_part("u", points, sig[0] if _same(sig) else sig, rules)], u_limits.excluded


def chart_file(path: Path, options: SpcOptions) -> SpcResult:
    """Read ``path`` and compute the chart ``options`` ask for; see the module docstring."""
    kind = _enum(ChartKind, options.chart, "--chart")
    default_rules = RuleSet.NONE if kind in (ChartKind.EWMA, ChartKind.CUSUM) else RuleSet.WE
    rules = default_rules if options.rules is None else _enum(RuleSet, options.rules, "--rules")
    _check_options(options, kind)
    table = read_table(path, options.sep)
    samples = _samples(table, options, kind)
    parts, out = (_variables if kind in VARIABLES else _attributes)(kind, options, samples, rules)
    # Phase I reports the baseline positions it left out; the output numbers points from 1 in the file.
    excluded = sorted(samples.baseline[j] + 1 for j in out)
    return SpcResult(kind, parts, samples.labels, [j + 1 for j in samples.baseline], excluded)
