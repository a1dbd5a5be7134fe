"""The chart of ``cadence spc --out chart.svg``: a self-contained SVG, written by hand.

matplotlib is not a dependency of Cadence and a control chart is a few lines and points, so the drawing is
plain SVG text: one panel per part (X̄ above R), the zones A, B and C of the run rules shaded on the
Shewhart charts, the centre line and the control limits (stepped where they change point by point),
the points joined in order, the violations in red with their rules in a tooltip, and a dashed line between
phase I and phase II. Classes name every element (``ucl``, ``lcl``, ``center``, ``zone-a``, ``violation``…)
so that tests and style sheets can find them.

>>> from cadence.analytics.spc.base import Point
>>> from cadence.services.spc_offline import ChartKind, RuleSet, SpcResult, _part
>>> pts = [Point(i, v, 10.0, 7.0, 13.0) for i, v in enumerate([9.0, 11.0, 14.0])]
>>> result = SpcResult(ChartKind.C, [_part("c", pts, 1.0, RuleSet.WE)], ["1", "2", "3"], [1, 2, 3], [])
>>> svg = render_svg(result, "demo")
>>> svg.startswith("<svg"), svg.count('class="point violation"'), 'class="ucl"' in svg
(True, 1, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

from cadence.analytics.spc.base import Point
from cadence.services.spc_offline import Part, SpcResult

WIDTH = 960
PANEL = 320
LEFT, RIGHT, TOP, BOTTOM = 78, 120, 44, 40
TITLE = 36

NAMES = {
    "xbar": "X̄ (subgroup means)",
    "r": "R (subgroup ranges)",
    "s": "S (subgroup standard deviations)",
    "i": "I (individual values)",
    "mr": "MR (moving ranges)",
    "ewma": "EWMA",
    "cusum": "CUSUM (C⁺ above, −C⁻ below)",
    "p": "p (fraction nonconforming)",
    "np": "np (nonconforming per sample)",
    "c": "c (nonconformities per unit)",
    "u": "u (nonconformities per unit inspected)",
}
# Zones only where run rules read them; EWMA and CUSUM points are not independent.
ZONED = frozenset({"xbar", "r", "s", "i", "mr", "p", "np", "c", "u"})
STYLE = (
    "text{font-family:sans-serif;font-size:12px;fill:#222}"
    ".frame{fill:#fff;stroke:#999}"
    ".zone-a{fill:#f8d7d3}.zone-b{fill:#fcefc7}.zone-c{fill:#e3f1dc}"
    ".ucl,.lcl{fill:none;stroke:#c0392b;stroke-width:1.5}"
    ".center{fill:none;stroke:#2c3e50;stroke-width:1.2}"
    ".series{fill:none;stroke:#1f5f99;stroke-width:1.2}"
    ".point{fill:#1f5f99}.point.violation{fill:#d62728;stroke:#000;stroke-width:0.8}"
    ".phase-boundary{stroke:#555;stroke-dasharray:6 4}"
    ".tick{stroke:#bbb}.title{font-size:15px;font-weight:bold}"
)


def _num(v: float) -> str:
    return f"{v:.6g}"


def _tick_step(span: float) -> tuple[float, int]:
    """A round tick step for ``span`` and the decimals that show it.

    >>> _tick_step(0.04), _tick_step(30.0)
    ((0.01, 2), (10.0, 0))
    """
    raw = span / 5.0
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= raw)
    return step, max(0, -math.floor(math.log10(step) + 1e-9))


def _runs(points: Sequence[Point | None]) -> list[tuple[int, int, Point]]:
    """Consecutive points sharing centre and limits, as ``(first, last, a point)``: one band per run."""
    runs: list[tuple[int, int, Point]] = []
    for i, p in enumerate(points):
        if p is None:
            continue
        if (
            runs
            and runs[-1][1] == i - 1
            and (runs[-1][2].center, runs[-1][2].lcl, runs[-1][2].ucl)
            == (
                p.center,
                p.lcl,
                p.ucl,
            )
        ):
            runs[-1] = (runs[-1][0], i, runs[-1][2])
        else:
            runs.append((i, i, p))
    return runs


def _panel(part: Part, top: float, phase1: Sequence[int], labels: Sequence[str]) -> list[str]:
    points = part.points
    n = len(points)
    shown = [p for p in points if p is not None]
    ys = [p.value for p in shown] + [v for p in shown for v in (p.lcl, p.ucl, p.center) if v is not None]
    low, high = min(ys), max(ys)
    pad = (high - low) * 0.06 or abs(high) * 0.01 or 1.0
    low, high = low - pad, high + pad
    x0, x1 = LEFT, WIDTH - RIGHT
    y0, y1 = top + TITLE, top + PANEL - BOTTOM
    step = (x1 - x0) / max(n, 1)

    def x(i: float) -> float:
        return x0 + (i + 0.5) * step

    def y(v: float) -> float:
        return y1 - (v - low) / (high - low) * (y1 - y0)

    def clamp(v: float) -> float:
        return min(max(v, low), high)

    out = [f'<g class="part" id="part-{part.chart}">']
    out.append(
        f'<text class="title" x="{x0}" y="{top + 22}">{escape(NAMES.get(part.chart, part.chart))}</text>'
    )
    out.append(f'<rect class="frame" x="{x0}" y="{y0:.1f}" width="{x1 - x0}" height="{y1 - y0:.1f}"/>')
    runs = _runs(points)
    if part.chart in ZONED:
        for first, last, p in runs:
            left, right = x(first - 0.5), x(last + 0.5)
            for side, limit in ((1, p.ucl), (-1, p.lcl)):
                if limit is None or limit == p.center:
                    continue
                unit = abs(limit - p.center) / 3.0
                for k, zone in ((0, "zone-c"), (1, "zone-b"), (2, "zone-a")):
                    a = clamp(p.center + side * k * unit)
                    b = clamp(p.center + side * (k + 1) * unit)
                    top_y, bottom_y = min(y(a), y(b)), max(y(a), y(b))
                    out.append(
                        f'<rect class="{zone}" x="{left:.1f}" y="{top_y:.1f}" '
                        f'width="{right - left:.1f}" height="{bottom_y - top_y:.1f}"/>'
                    )
    # Limits and centre as stepped paths: one horizontal stretch per run of equal limits.
    for cls in ("ucl", "lcl", "center"):
        d: list[str] = []
        for first, last, held in runs:
            v = getattr(held, cls)
            if v is None:
                continue
            d.append(f"M{x(first - 0.5):.1f},{y(v):.1f}H{x(last + 0.5):.1f}")
        if d:
            out.append(f'<path class="{cls}" d="{"".join(d)}"/>')
    last_p = runs[-1][2]
    for cls, name, v in (
        ("ucl", "UCL", last_p.ucl),
        ("center", "CL", last_p.center),
        ("lcl", "LCL", last_p.lcl),
    ):
        if v is not None:
            out.append(f'<text class="label-{cls}" x="{x1 + 6}" y="{y(v) + 4:.1f}">{name} {_num(v)}</text>')
    # y ticks: round values (1, 2 or 5 × a power of ten), four to ten of them.
    tick, decimals = _tick_step(high - low)
    for j in range(math.ceil(low / tick), math.floor(high / tick) + 1):
        v = j * tick
        out.append(f'<line class="tick" x1="{x0 - 4}" x2="{x0}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>')
        out.append(f'<text x="{x0 - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.{decimals}f}</text>')
    # x ticks: about ten labelled points.
    every = max(1, math.ceil(n / 10))
    for i in range(0, n, every):
        out.append(f'<text x="{x(i):.1f}" y="{y1 + 16:.1f}" text-anchor="middle">{escape(labels[i])}</text>')
    # Phase boundary after phase I when phase I is the first points.
    if phase1 and phase1 == list(range(1, len(phase1) + 1)) and len(phase1) < n:
        bx = x(len(phase1) - 0.5)
        out.append(f'<line class="phase-boundary" x1="{bx:.1f}" x2="{bx:.1f}" y1="{y0:.1f}" y2="{y1:.1f}"/>')
        out.append(f'<text x="{bx - 6:.1f}" y="{y0 + 14:.1f}" text-anchor="end">phase I</text>')
        out.append(f'<text x="{bx + 6:.1f}" y="{y0 + 14:.1f}">phase II</text>')
    coords = " ".join(f"{x(i):.1f},{y(p.value):.1f}" for i, p in enumerate(points) if p is not None)
    out.append(f'<polyline class="series" points="{coords}"/>')
    flagged: dict[int, list[str]] = {}
    for v in part.violations:
        flagged.setdefault(v.index, []).append(v.rule)
    for i, q in enumerate(points):
        if q is None:
            continue
        rules = flagged.get(i)
        cls = "point violation" if rules else "point"
        radius = 4.5 if rules else 2.8
        tip = f"{labels[i]}: {_num(q.value)}" + (f" ({', '.join(rules)})" if rules else "")
        out.append(
            f'<circle class="{cls}" cx="{x(i):.1f}" cy="{y(q.value):.1f}" r="{radius}">'
            f"<title>{escape(tip)}</title></circle>"
        )
    out.append("</g>")
    return out


def render_svg(result: SpcResult, title: str) -> str:
    """The whole chart as SVG text, one panel per part, stacked."""
    height = TOP + PANEL * len(result.parts)
    body = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}">',
        f"<title>{escape(title)}</title>",
        f"<style>{STYLE}</style>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#fff"/>',
        f'<text class="title" x="{LEFT}" y="26">{escape(title)}</text>',
    ]
    for k, part in enumerate(result.parts):
        body += _panel(part, TOP + PANEL * k, result.phase1, result.labels)
    body.append("</svg>")
    return "\n".join(body) + "\n"
