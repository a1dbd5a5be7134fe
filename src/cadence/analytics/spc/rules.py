"""Run rules: Western Electric 1–4 and Nelson 1–8, each selectable, read point by point.

A rule set is a frozenset of stable codes (``"we1"`` … ``"we4"``, ``"nelson1"`` … ``"nelson8"``);
:data:`WESTERN_ELECTRIC` and :data:`NELSON` are the two usual sets. :class:`RuleChecker` takes the
:class:`~cadence.analytics.spc.base.Point` objects of one chart in order and returns the violations each
completes; it keeps only the last points the longest selected rule needs (15 for Nelson 7). Zones come
from :attr:`Point.sigma_units`, so limits that change point by point (p and u charts with variable sample
sizes, an EWMA chart's first points) are read correctly.

The rules, as docs/domain.md §3.3 states them (zone C within 1σ, B 1–2σ, A 2–3σ):

=========  ========  =============================================================================
code       points    fires when
=========  ========  =============================================================================
we1        1         a point beyond the control limits (3σ)
we2        3         2 of 3 consecutive points beyond 2σ on the same side
we3        5         4 of 5 consecutive points beyond 1σ on the same side
we4        8         8 consecutive points on the same side of the centre line
nelson1    1         a point beyond the control limits (3σ)
nelson2    9         9 points in a row on the same side of the centre line
nelson3    6         6 points in a row steadily increasing, or steadily decreasing
nelson4    14        14 points in a row alternating up and down
nelson5    3         2 of 3 points in a row beyond 2σ on the same side
nelson6    5         4 of 5 points in a row beyond 1σ on the same side
nelson7    15        15 points in a row within 1σ of the centre line, either side (stratification)
nelson8    8         8 points in a row beyond 1σ, either side, none within 1σ (mixture)
=========  ========  =============================================================================

Conventions, decided for a supervisor who must act on each alarm rather than count them:

* **Once per episode.** A pattern fires when it first completes, then stays quiet while it persists; it
  fires again only after it has been broken. A run of 12 points on one side gives one Nelson 2 violation
  (at the 9th point), not four; 2 of 3 beyond 2σ fires once, and again only after a window of 3 without
  the pattern. Rules 1 (we1, nelson1) are the exception: every point beyond the limits is reported.
* **Points involved.** ``Violation.points`` lists every point of the pattern, consecutive, ending at the
  point where it completed: the whole run for run rules; for "k of m" rules, from the first qualifying
  point of the window to the last (the points between, which do not qualify, are part of the pattern).
* **Edges.** "Beyond kσ" is strictly beyond (``|z| > k``); "within 1σ" is ``|z| ≤ 1``, so every point is
  either in zone C or beyond 1σ. A point exactly on the centre line is on neither side: it breaks
  same-side runs. Equal consecutive values break trends and alternations. A point whose side of the
  chart has no limit (``lcl`` or ``ucl`` is ``None``) has no zone: it never counts as beyond 1σ or 2σ and
  breaks the runs of Nelson 7 and 8.

:func:`explain` gives the plain-language reading of a violation in French or English; points are
numbered from 1 in these texts, as on a chart, whereas ``Point.index`` counts from 0.

>>> from cadence.analytics.spc.base import Point
>>> checker = RuleChecker(WESTERN_ELECTRIC)
>>> values = [0.5, -0.2, 0.4, 2.5, 2.2, 0.3, 0.6, 0.8, 0.1, 0.2, 0.4, 0.9, 3.4]
>>> found = []
>>> for i, v in enumerate(values):
...     found += checker.update(Point(index=i, value=v, center=0.0, lcl=-3.0, ucl=3.0))
>>> [(v.rule, v.index, v.points) for v in found]
[('we2', 4, (3, 4)), ('we4', 9, (2, 3, 4, 5, 6, 7, 8, 9)), ('we1', 12, (12,))]
>>> print(explain(found[1], "en"))
8 points in a row on the same side of the centre line (points 3 to 10):
the process mean has probably shifted.
>>> print(explain(found[1], "fr"))
8 points de suite du même côté de la ligne centrale (points 3 à 10) :
la moyenne du procédé a probablement changé.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cadence.analytics.spc.base import Point, Violation

__all__ = [
    "ALL_RULES",
    "NELSON",
    "RULES",
    "WESTERN_ELECTRIC",
    "RuleChecker",
    "RuleSpec",
    "check",
    "explain",
]


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """What a rule looks at: ``length`` consecutive points (the window it needs)."""

    code: str
    length: int


# The order of this table is the order in which violations completed at the same point are returned.
RULES: Mapping[str, RuleSpec] = {
    spec.code: spec
    for spec in (
        RuleSpec("we1", 1),
        RuleSpec("we2", 3),
        RuleSpec("we3", 5),
        RuleSpec("we4", 8),
        RuleSpec("nelson1", 1),
        RuleSpec("nelson2", 9),
        RuleSpec("nelson3", 6),
        RuleSpec("nelson4", 14),
        RuleSpec("nelson5", 3),
        RuleSpec("nelson6", 5),
        RuleSpec("nelson7", 15),
        RuleSpec("nelson8", 8),
    )
}
WESTERN_ELECTRIC: frozenset[str] = frozenset({"we1", "we2", "we3", "we4"})
NELSON: frozenset[str] = frozenset(f"nelson{k}" for k in range(1, 9))
ALL_RULES: frozenset[str] = frozenset(RULES)

# "k of m beyond zσ on the same side" rules: code -> (k, m, z).
_K_OF_M: Mapping[str, tuple[int, int, float]] = {
    "we2": (2, 3, 2.0),
    "we3": (4, 5, 1.0),
    "nelson5": (2, 3, 2.0),
    "nelson6": (4, 5, 1.0),
}
# Same-side runs: code -> length.
_SAME_SIDE: Mapping[str, int] = {"we4": 8, "nelson2": 9}


@dataclass(frozen=True, slots=True)
class _Seen:
    index: int
    value: float
    side: int  # +1 above the centre line, -1 below, 0 on it
    z: float | None  # sigma units; None when the point's side has no limit


def _seen(point: Point) -> _Seen:
    side = (point.value > point.center) - (point.value < point.center)
    limit = point.ucl if side >= 0 else point.lcl
    z = None if limit is None or limit == point.center else point.sigma_units
    return _Seen(point.index, point.value, side, z)


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


class RuleChecker:
    """Streaming evaluation of a rule set on one chart's points, in the order they are plotted.

    State is O(1): the last ``window`` points (15 at most) and a few run counters.

    >>> from cadence.analytics.spc.base import Point
    >>> checker = RuleChecker({"nelson3"})
    >>> [v.points for i in range(8) for v in checker.update(Point(i, float(i), 0.0, -10.0, 10.0))]
    [(0, 1, 2, 3, 4, 5)]
    """

    def __init__(self, rules: Iterable[str] = WESTERN_ELECTRIC) -> None:
        selected = frozenset(rules)
        unknown = selected - ALL_RULES
        if unknown:
            raise ValueError(f"unknown run rules {sorted(unknown)}; known: {sorted(ALL_RULES)}")
        self.rules = selected
        self._order = [code for code in RULES if code in selected]
        self.window = max((RULES[code].length for code in selected), default=1)
        self._last: deque[_Seen] = deque(maxlen=self.window)
        # Run counters, each the length in points of the run ending at the last point.
        self._side_run = 0
        self._trend_run = 0  # points in the current strictly monotone run (direction _trend_dir)
        self._trend_dir = 0
        self._alt_run = 0  # points in the current run alternating up and down
        self._inner_run = 0  # points in a row within 1σ
        self._outer_run = 0  # points in a row beyond 1σ
        # "k of m" rules: the side on which the pattern held at the previous point (0: it did not).
        self._held: dict[str, int] = dict.fromkeys(_K_OF_M, 0)

    def update(self, point: Point) -> list[Violation]:
        """Take the next point; return the violations it completes (usually none)."""
        prev = self._last[-1] if self._last else None
        prev2 = self._last[-2] if len(self._last) >= 2 else None
        now = _seen(point)
        self._last.append(now)

        if prev is not None and now.side != 0 and now.side == prev.side:
            self._side_run += 1
        else:
            self._side_run = 1 if now.side != 0 else 0

        step = _sign(now.value - prev.value) if prev is not None else 0
        if step != 0 and step == self._trend_dir:
            self._trend_run += 1
        else:
            self._trend_dir = step
            self._trend_run = 2 if step != 0 else 1

        prev_step = _sign(prev.value - prev2.value) if prev is not None and prev2 is not None else 0
        if step != 0 and prev_step == -step and self._alt_run >= 2:
            self._alt_run += 1
        else:
            self._alt_run = 2 if step != 0 else 1

        self._inner_run = self._inner_run + 1 if now.z is not None and abs(now.z) <= 1.0 else 0
        self._outer_run = self._outer_run + 1 if now.z is not None and abs(now.z) > 1.0 else 0

        found: list[Violation] = []
        for code in self._order:
            length = self._fires(code, point)
            if length:
                indices = tuple(s.index for s in list(self._last)[-length:])
                found.append(Violation(rule=code, index=point.index, points=indices))
        return found

    def _fires(self, code: str, point: Point) -> int:
        """How many points (ending now) make ``code`` fire at this point; 0 when it does not fire."""
        if code in ("we1", "nelson1"):
            return 1 if point.beyond_limits else 0
        if code in _SAME_SIDE:
            # Equality, not ≥: the counter passes the rule's length once per run.
            return _SAME_SIDE[code] if self._side_run == _SAME_SIDE[code] else 0
        if code in _K_OF_M:
            return self._k_of_m(code)
        if code == "nelson3":
            return 6 if self._trend_run == 6 else 0
        if code == "nelson4":
            return 14 if self._alt_run == 14 else 0
        if code == "nelson7":
            return 15 if self._inner_run == 15 else 0
        if code == "nelson8":
            return 8 if self._outer_run == 8 else 0
        raise AssertionError(code)  # pragma: no cover - the constructor rejects unknown codes

    def _k_of_m(self, code: str) -> int:
        k, m, z = _K_OF_M[code]
        window = list(self._last)[-m:]
        held = 0
        for side in (1, -1):
            beyond = [s for s in window if s.side == side and s.z is not None and abs(s.z) > z]
            if len(beyond) >= k:
                held = side
                first = beyond[0].index
        fire = held != 0 and held != self._held[code]
        self._held[code] = held
        if not fire:
            return 0
        # From the first qualifying point of the window to this one.
        return sum(1 for s in window if s.index >= first)


def check(points: Iterable[Point], rules: Iterable[str] = WESTERN_ELECTRIC) -> list[Violation]:
    """All violations of ``rules`` in a sequence of points, in the order they completed.

    >>> from cadence.analytics.spc.base import Point
    >>> pts = [Point(i, v, 10.0, 7.0, 13.0) for i, v in enumerate([10.2, 12.5, 9.0, 12.4])]
    >>> check(pts, {"we2"})
    [Violation(rule='we2', index=3, points=(1, 2, 3))]
    """
    checker = RuleChecker(rules)
    return [v for p in points for v in checker.update(p)]


# Plain-language readings. {first} and {last} are the pattern's first and last points, numbered from 1
# as on the chart. Kept here rather than in the web catalogue: the pure core cannot import the web i18n,
# and alarms carry the text wherever they go.
_TEXTS: Mapping[str, Mapping[str, str]] = {
    "fr": {
        "we1": "Point {last} au-delà des limites de contrôle : une cause spéciale a probablement agi.",
        "we2": (
            "2 points sur 3 au-delà de 2 sigmas du même côté (points {first} à {last}) : "
            "le procédé s'est probablement déréglé."
        ),
        "we3": (
            "4 points sur 5 au-delà de 1 sigma du même côté (points {first} à {last}) : "
            "la moyenne du procédé a probablement changé."
        ),
        "we4": (
            "8 points de suite du même côté de la ligne centrale (points {first} à {last}) : "
            "la moyenne du procédé a probablement changé."
        ),
        "nelson1": "Point {last} au-delà des limites de contrôle : une cause spéciale a probablement agi.",
        "nelson2": (
            "9 points de suite du même côté de la ligne centrale (points {first} à {last}) : "
            "la moyenne du procédé a probablement changé."
        ),
        "nelson3": (
            "6 points de suite qui montent ou qui descendent (points {first} à {last}) : "
            "une dérive est en cours (usure, échauffement, fuite)."
        ),
        "nelson4": (
            "14 points de suite alternant haut et bas (points {first} à {last}) : "
            "deux sources alternent (deux outils, deux équipes) ou le réglage est surcorrigé."
        ),
        "nelson5": (
            "2 points sur 3 au-delà de 2 sigmas du même côté (points {first} à {last}) : "
            "le procédé s'est probablement déréglé."
        ),
        "nelson6": (
            "4 points sur 5 au-delà de 1 sigma du même côté (points {first} à {last}) : "
            "la moyenne du procédé a probablement changé."
        ),
        "nelson7": (
            "15 points de suite à moins de 1 sigma de la ligne centrale (points {first} à {last}) : "
            "les limites sont trop larges ou les sous-groupes mélangent plusieurs sources."
        ),
        "nelson8": (
            "8 points de suite loin de la ligne centrale, des deux côtés (points {first} à {last}) : "
            "deux populations se mélangent (deux machines, deux lots, deux réglages)."
        ),
    },
    "en": {
        "we1": "Point {last} beyond the control limits: a special cause has probably acted.",
        "we2": (
            "2 of 3 points beyond 2 sigma on the same side (points {first} to {last}): "
            "the process has probably gone out of adjustment."
        ),
        "we3": (
            "4 of 5 points beyond 1 sigma on the same side (points {first} to {last}): "
            "the process mean has probably shifted."
        ),
        "we4": (
            "8 points in a row on the same side of the centre line (points {first} to {last}): "
            "the process mean has probably shifted."
        ),
        "nelson1": "Point {last} beyond the control limits: a special cause has probably acted.",
        "nelson2": (
            "9 points in a row on the same side of the centre line (points {first} to {last}): "
            "the process mean has probably shifted."
        ),
        "nelson3": (
            "6 points in a row going up or going down (points {first} to {last}): "
            "the process is drifting (wear, warming, leakage)."
        ),
        "nelson4": (
            "14 points in a row alternating up and down (points {first} to {last}): "
            "two sources alternate (two tools, two shifts) or the setting is being over-adjusted."
        ),
        "nelson5": (
            "2 of 3 points beyond 2 sigma on the same side (points {first} to {last}): "
            "the process has probably gone out of adjustment."
        ),
        "nelson6": (
            "4 of 5 points beyond 1 sigma on the same side (points {first} to {last}): "
            "the process mean has probably shifted."
        ),
        "nelson7": (
            "15 points in a row within 1 sigma of the centre line (points {first} to {last}): "
            "the limits are too wide or the subgroups mix several sources."
        ),
        "nelson8": (
            "8 points in a row far from the centre line, on both sides (points {first} to {last}): "
            "two populations are mixed (two machines, two lots, two settings)."
        ),
    },
}
LOCALES: tuple[str, ...] = tuple(_TEXTS)


def explain(violation: Violation, locale: str = "fr") -> str:
    """The plain-language reading of ``violation`` in ``locale`` (``"fr"``, ``"en"``, or a tag such as
    ``"fr_FR"`` or ``"en-GB"``); any other language gets French, the project's first language.

    >>> explain(Violation("nelson1", 36, (36,)), "en")
    'Point 37 beyond the control limits: a special cause has probably acted.'
    """
    language = locale.replace("-", "_").split("_", 1)[0].lower()
    texts = _TEXTS.get(language, _TEXTS["fr"])
    first = violation.points[0] if violation.points else violation.index
    return texts[violation.rule].format(first=first + 1, last=violation.index + 1)
