"""The qcc reference data (tests/fixtures/qcc, see SOURCE.md there) and the limits qcc publishes for them.

Import it from a test in this folder as ``from qcc_data import pistonrings, PUBLISHED`` (pytest puts
the test's folder on ``sys.path``; the test tree has no packages).

>>> groups = pistonrings()
>>> len(groups), groups[0].sample, groups[0].values[:2], groups[0].trial, groups[-1].trial
(40, 1, (74.03, 74.002), True, False)
>>> [c.count for c in orangejuice()[:3]], circuit()[5]
([12, 15, 8], Count(sample=6, count=5, size=100, trial=True))
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "qcc"

Cell = int | float | bool


def _cell(text: str) -> Cell:
    # qcc writes logicals as R does; anything else is a number (integers stay integers so that counts
    # and sample numbers compare exactly).
    if text == "TRUE":
        return True
    if text == "FALSE":
        return False
    try:
        return int(text)
    except ValueError:
        return float(text)


def read_table(name: str) -> dict[str, list[Cell]]:
    """Columns of ``tests/fixtures/qcc/<name>.txt`` by header name: whitespace split, one header line."""
    lines = (FIXTURES / f"{name}.txt").read_text(encoding="ascii").splitlines()
    header = lines[0].split()
    columns: dict[str, list[Cell]] = {h: [] for h in header}
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split()
        if len(cells) != len(header):
            raise ValueError(f"{name}.txt line {number}: {len(cells)} cells, expected {len(header)}")
        for h, c in zip(header, cells, strict=True):
            columns[h].append(_cell(c))
    return columns


@dataclass(frozen=True, slots=True)
class Subgroup:
    """One pistonrings sample: its number, its diameters (mm) in file order, phase I or not."""

    sample: int
    values: tuple[float, ...]
    trial: bool


@dataclass(frozen=True, slots=True)
class Count:
    """One attribute sample: nonconforming units (orangejuice ``D``) or nonconformities (circuit ``x``)."""

    sample: int
    count: int
    size: int
    trial: bool


def pistonrings() -> list[Subgroup]:
    """The 40 subgroups of 5 piston-ring diameters; ``trial`` is True for samples 1–25."""
    t = read_table("pistonrings")
    rows = zip(t["sample"], t["diameter"], t["trial"], strict=True)
    groups = []
    for sample, members in groupby(rows, key=lambda r: r[0]):
        chunk = list(members)
        groups.append(
            Subgroup(sample=int(sample), values=tuple(float(r[1]) for r in chunk), trial=bool(chunk[0][2]))
        )
    return groups


def _counts(name: str, count_column: str) -> list[Count]:
    t = read_table(name)
    return [
        Count(sample=int(s), count=int(c), size=int(n), trial=bool(tr))
        for s, c, n, tr in zip(t["sample"], t[count_column], t["size"], t["trial"], strict=True)
    ]


def orangejuice() -> list[Count]:
    """54 samples of 50 cans, ``count`` = leaking cans; ``trial`` True for samples 1–30."""
    return _counts("orangejuice", "D")


def circuit() -> list[Count]:
    """46 inspection units of 100 boards, ``count`` = nonconformities; ``trial`` True for samples 1–26."""
    return _counts("circuit", "x")


@dataclass(frozen=True, slots=True)
class Published:
    """Limits as qcc 3.0 prints them (7 significant digits): centre, process sigma, LCL, UCL."""

    center: float
    sigma: float
    lcl: float
    ucl: float


# The qcc vignette table (tests/fixtures/qcc/SOURCE.md), keyed "<data>.<chart>[.<phase I variant>]".
PUBLISHED: dict[str, Published] = {
    "pistonrings.xbar": Published(74.00118, 0.009785039, 73.98805, 74.0143),
    "pistonrings.R": Published(0.02276, 0.009785039, 0.0, 0.04812533),
    "pistonrings.S": Published(0.009240037, 0.009829977, 0.0, 0.01930242),
    "orangejuice.p": Published(0.2313333, 0.05963526, 0.05242755, 0.4102391),
    "orangejuice.np": Published(11.56667, 2.981763, 2.621377, 20.51196),
    "orangejuice.p.revised": Published(0.215, 0.05809905, 0.04070284, 0.3892972),
    "circuit.c": Published(19.84615, 4.454902, 6.481447, 33.21086),
    "circuit.c.revised": Published(19.66667, 4.434712, 6.362532, 32.9708),
    "circuit.u.revised": Published(0.1966667, 0.4434712, 0.06362532, 0.329708),
}

# Printed qcc values carry 7 significant digits: a relative tolerance that still catches any real slip.
PRINTED_RTOL = 1e-6


def matches_printed(computed: float, printed: float) -> bool:
    """``computed`` rounds to ``printed`` at qcc's 7 significant digits (1e-6 relative; 0 must be 0)."""
    if printed == 0.0:
        return computed == 0.0
    return abs(computed - printed) <= PRINTED_RTOL * abs(printed)
