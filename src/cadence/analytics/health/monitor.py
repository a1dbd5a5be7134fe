"""Streaming health of one press: per-context baselines, smoothed deviations, subsystem levels and alerts.

Every stroke goes through :meth:`HealthMonitor.update`, oldest first. What happens to it:

1. **Operating point.** A stroke belongs to a *context* (its part program and die: each forms at its own
   pressure, speed and energy). The first ``learn_strokes`` strokes of a context learn its baseline: for
   every feature, a line against oil temperature (hot oil leaks more and flows faster, so a press
   warming up in the morning is not a fault) and a robust spread of what the line leaves.
2. **A new context starts from the press's current health, not from new.** When a context's baseline is
   learned while the press already deviates (say build-up time +12 %), its baseline is shifted by that
   deviation, assuming a worn pump slows every part program by the same share. A part change therefore
   neither hides a developing fault nor resets its history. While a context is learning, its strokes do
   not move the indicators.
3. **Deviation.** Each stroke's residual against its context's expected value is turned into a z-score
   and a change (relative to the expected value, or in the feature's unit for near-zero features such as
   dwell decay); both are smoothed by an exponentially weighted mean over a few hours of strokes.
4. **Subsystems** (:mod:`.subsystems`). A subsystem's *level* is its worst feature's change as a share
   of the change at functional failure (0 healthy, 1 failed); its *evidence* is its worst feature's
   smoothed z in units of the smoothing's own noise. An alert opens when both exceed their thresholds
   for ``confirm_strokes`` strokes — a statistically clear change that is also large enough to matter —
   and closes when the level stays below ``clear_level`` for ``clear_strokes`` strokes, or at once when
   the subsystem is re-baselined after a repair.
5. **Oil temperature at equal load** (:mod:`.thermal`) is computed as a derived feature once the press's
   thermal baseline is learned, and watched for the cooler.
6. **Per-die watches** (the tooling's force and bottom dead centre) are not pooled over the press's
   strokes: a die wears by itself, and each part shows it only in the feature its controller leaves
   free. Each operating point follows them in a :class:`DieTrack`: its heats of material
   (``material_lot``) are steps, a wear is a ramp, so the scatter between consecutive heats and within
   them gives the noise of the smoothed change against the part's own reference, and the part's total
   spread narrows its failure change (a part whose heats spread widely leaves its quality window long
   before its mean reaches the limit). The dies' evidences are also added up (Stouffer), each die by its
   free feature: one worn die shows by itself, while what all the dies of a press share (the die
   lubrication, the ram's guides) moves them together by too little for any one of them to stand out
   against its heats.

State is plain data (:meth:`HealthMonitor.to_dict` / :meth:`from_dict`) so a service can store it and
resume after a restart exactly where it stopped.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> config = HealthConfig(learn_strokes=50, thermal_learn_strokes=50, alpha=1 / 50,
...                       confirm_strokes=20, calibration_strokes=60, context_calibration_strokes=60)
>>> monitor = HealthMonitor(config)
>>> for i in range(700):
...     leak = 1.0 + (0.001 * (i - 500) if i > 500 else 0.0)       # build-up time grows after stroke 500
...     monitor.update(i * 9.0, "A|D1", {"buildup_time_s": 0.8 * leak + rng.normal(0, 0.004),
...                                       "oil_temp_c": 45.0 + rng.normal(0, 0.05)})
>>> pump = monitor.snapshot().subsystems["pump"]
>>> pump.alert, round(pump.level, 2), pump.worst
(True, 0.6, 'buildup_time_s')
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from cadence.analytics.health import thermal
from cadence.analytics.health.subsystems import OIL_EXCESS, SUBSYSTEMS, Subsystem, Watch, watched_features

TEMP_FEATURE = "oil_temp_c"
_MIN_TEMP_RANGE_C = 2.0  # narrower than this the baseline cannot tell a temperature slope from noise
_MIN_SCALE_SHARE = 1e-4  # a spread below 0.01 % of the value is a quantised constant, not precision
_MIN_EXPECTED = 1e-9
_BLOCK = 50  # strokes per block when measuring a feature's slow wander over its baseline
_WANDER_MARGIN = 2.5
_WARM = 0.8
_JUDGE_EVERY = 10  # weight of the smoothed mean from which it no longer leans on its first strokes
# Per-die watches (subsystems.Watch.per_die), followed against each part's own heats of material:
# When the press does not say its material lot, blocks of strokes stand for heats: several lots long, so
# that two consecutive blocks rarely share a heat and their difference still measures the slow scatter.
_BLOCK_STROKES = 1000
_MIN_HEAT_STROKES = 20  # a shorter heat (an order's tail) says too little about its material
_REFERENCE_STROKES = 5000  # strokes in whole heats after the baseline that fix the part's own zero
_CAPABILITY = 2.0  # a part has failed when its mean is within this many of its total spreads of the limit
_MIN_FAILURE_SHARE = 0.25  # ... but never counts failure before a quarter of the quality window is used


@dataclass(frozen=True, slots=True)
class HealthConfig:
    """The monitor's knobs; the defaults are the ones measured in docs/benchmarks.md ("Press health")."""

    learn_strokes: int = 750  # strokes of a context that learn its baseline (3 lots of material)
    thermal_learn_strokes: int = 2500  # strokes that learn the press's thermal model (about a shift)
    alpha: float = 1.0 / 400  # weight of a stroke in the smoothed deviations (about an hour of strokes)
    alpha_slow: float = 1.0 / 2400  # for features that follow the material too (about ten heats)
    alert_evidence: float = 8.0  # smoothed z, in units of the smoothing's own noise
    alert_level: float = 0.2  # 20 % of the way to functional failure
    clear_level: float = 0.1
    confirm_strokes: int = 200
    clear_strokes: int = 3000  # strokes below clear_level before an open alert clears (about a shift)
    calibration_strokes: int = 4000  # healthy strokes that measure how much the smoothed values wander
    context_calibration_strokes: int = 1500  # the same for each operating point (six heats of material)
    significant: float = 3.0  # a feature counts in a level only beyond this many calibrated noises
    trip_temp_c: float = 70.0  # oil over-temperature trip: the cooler's functional failure

    def __post_init__(self) -> None:
        if not (0 < self.alpha < 1 and 0 < self.alpha_slow < 1):
            raise ValueError("alpha and alpha_slow must be within (0, 1)")
        if self.learn_strokes < 10 or self.thermal_learn_strokes < 10:
            raise ValueError("baselines need at least 10 strokes")
        if not 0 <= self.clear_level < self.alert_level:
            raise ValueError("clear_level must be below alert_level")

    def smoothing_sd(self, alpha: float) -> float:
        """Standard deviation of an exponentially weighted mean of independent unit-variance z-scores."""
        return math.sqrt(alpha / (2.0 - alpha))

    def alert_level_of(self, subsystem: Subsystem) -> float:
        """The level at which ``subsystem`` alerts: its own threshold (the cooler's) or the plant's."""
        return subsystem.alert_level if subsystem.alert_level is not None else self.alert_level

    def alert_evidence_of(self, subsystem: Subsystem) -> float:
        """The evidence ``subsystem`` needs to alert: its own (the tooling's) or the plant's."""
        return subsystem.alert_evidence if subsystem.alert_evidence is not None else self.alert_evidence


@dataclass(slots=True)
class FeatureFit:
    """Expected value ``intercept + slope · (T − t_ref)`` of one feature in one context, and its spread."""

    intercept: float
    slope: float
    t_ref: float
    scale: float
    usable: bool = True  # False when the feature wanders by itself as much as an alert-sized change

    def expected(self, temp_c: float | None) -> float:
        if temp_c is None or not math.isfinite(temp_c):
            return self.intercept
        return self.intercept + self.slope * (temp_c - self.t_ref)


@dataclass(slots=True)
class DieTrack:
    """One per-die feature of one operating point: its smoothed change and its heat-to-heat scatter.

    A heat of material is a step (every blank of the heat is a little harder or softer), a wearing die a
    slow ramp. Heats are told apart by the material lot the stroke carries; the difference between two
    consecutive heats' means measures the heat-to-heat scatter (a slow wear moves both alike, so it does
    not inflate it). The smoothed change's noise then follows from how many heats it averages.

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> track = DieTrack()
    >>> for heat in range(200):                      # heats 1 % apart, blanks 0.5 % apart within a heat
    ...     step = rng.normal(0, 0.01)
    ...     for blank in rng.normal(step, 0.005, 100):
    ...         track.observe(float(blank), f"H{heat}", 1 / 400)
    >>> round(track.heat_sd() or 0.0, 3), round(track.within_sd() or 0.0, 3)
    (0.009, 0.005)
    >>> change, noise, spread = track.judged() or (0.0, 0.0, 0.0)
    >>> abs(change) < 3 * noise, round(spread, 3)    # no wear: within its noise
    (True, 0.011)
    """

    change: float = 0.0  # exponentially weighted sum of the changes
    weight: float = 0.0  # their weight, 1 − (1 − α)^n
    weight_sq: float = 0.0  # the sum of the squared weights: how many strokes the mean really averages
    heat: str | None = None
    heat_n: int = 0
    heat_mean: float = 0.0
    heat_m2: float = 0.0  # Welford's sum of squared deviations within the current heat
    previous: float | None = None  # mean of the previous complete heat
    diff_sq: float = 0.0  # Σ (difference of consecutive heats' means)²
    diffs: int = 0
    heats: int = 0  # complete heats
    heat_strokes: int = 0  # strokes in complete heats
    within_ss: float = 0.0
    within_df: int = 0
    reference_sum: float = 0.0  # Σ strokes × mean of the first heats after the baseline: the part's own zero
    reference_strokes: int = 0

    def observe(self, change: float, heat: str | None, alpha: float) -> None:
        """Take one stroke's change (relative or in the feature's unit) from heat ``heat``."""
        if heat is None:  # no material lot known: blocks of strokes stand for heats
            if self.heat == "" and self.heat_n >= _BLOCK_STROKES:
                self._close_heat()
            heat = ""
        if heat != self.heat:
            self._close_heat()
            self.heat = heat
        self.heat_n += 1
        delta = change - self.heat_mean
        self.heat_mean += delta / self.heat_n
        self.heat_m2 += delta * (change - self.heat_mean)
        self.change = (1 - alpha) * self.change + alpha * change
        self.weight = (1 - alpha) * self.weight + alpha
        self.weight_sq = (1 - alpha) ** 2 * self.weight_sq + alpha * alpha

    def _close_heat(self) -> None:
        if self.heat_n >= _MIN_HEAT_STROKES:
            if self.previous is not None:
                self.diff_sq += (self.heat_mean - self.previous) ** 2
                self.diffs += 1
            self.previous = self.heat_mean
            self.heats += 1
            self.heat_strokes += self.heat_n
            self.within_ss += self.heat_m2
            self.within_df += self.heat_n - 1
            if self.reference_strokes < _REFERENCE_STROKES:
                self.reference_sum += self.heat_n * self.heat_mean
                self.reference_strokes += self.heat_n
        self.heat, self.heat_n, self.heat_mean, self.heat_m2 = None, 0, 0.0, 0.0

    def within_sd(self) -> float | None:
        """Blank-to-blank scatter inside a heat; None before a complete heat."""
        return math.sqrt(self.within_ss / self.within_df) if self.within_df > 0 else None

    def heat_length(self) -> float:
        return self.heat_strokes / self.heats if self.heats else float(_BLOCK_STROKES)

    def heat_sd(self) -> float | None:
        """Heat-to-heat scatter of the means, once a few consecutive heats were compared."""
        within = self.within_sd()
        if within is None or self.diffs < 3:
            return None
        return math.sqrt(max(self.diff_sq / (2 * self.diffs) - within**2 / self.heat_length(), 0.0))

    def judged(self) -> tuple[float, float, float] | None:
        """(change from the part's reference, its noise, its total spread) once the reference is set."""
        within, between = self.within_sd(), self.heat_sd()
        if (
            within is None
            or between is None
            or self.reference_strokes < _REFERENCE_STROKES
            or self.weight <= 0
        ):
            return None
        # A mean over heats of L strokes each: every heat adds its step L times, so its variance counts
        # L-fold against the blank-to-blank scatter, for the smoothed mean and the reference alike.
        per_stroke = within**2 + self.heat_length() * between**2
        smoothed = per_stroke * self.weight_sq / self.weight**2
        reference = per_stroke / self.reference_strokes
        change = self.change / self.weight - self.reference_sum / self.reference_strokes
        return change, math.sqrt(smoothed + reference), math.hypot(within, between)

    def to_list(self) -> list[Any]:
        return [getattr(self, f.name) for f in fields(self)]

    @classmethod
    def from_list(cls, values: list[Any]) -> DieTrack:
        return cls(*values)


@dataclass(slots=True)
class _Context:
    rows: list[list[float]] = field(default_factory=list)  # [oil temperature, feature values…] while learning
    names: list[str] = field(default_factory=list)
    fits: dict[str, FeatureFit] | None = None
    # Per feature: [smoothed z over this context's own strokes, its weight, strokes counted, Σ smoothed z,
    # Σ smoothed z²]: how far this operating point wanders by itself once learned (material heats on a part
    # formed to a position move its force and pressure by several of its stroke-to-stroke spreads). Spread
    # around its own mean: a deviation carried over from the press's health is an offset, not wander.
    wander: dict[str, list[float]] = field(default_factory=dict)
    dies: dict[str, DieTrack] = field(default_factory=dict)  # per-die watches (DieTrack)


def _judged(ctx: _Context, watch: Watch) -> tuple[float, float, float] | None:
    """A per-die watch at one operating point: (change, noise, spread) once learned and referenced."""
    track = ctx.dies.get(watch.feature)
    return track.judged() if track is not None and ctx.fits is not None else None


@dataclass(frozen=True, slots=True)
class Contribution:
    """Where one watched feature stands: ``change`` in its scale (share or unit), ``share`` of failure."""

    feature: str
    change: float
    scale: str
    share: float
    evidence: float


@dataclass(frozen=True, slots=True)
class SubsystemHealth:
    name: str
    level: float  # 0 healthy … 1 functional failure (may exceed 1)
    evidence: float
    alert: bool
    worst: str | None
    contributions: tuple[Contribution, ...]
    followed: bool  # False when the press sends none of the subsystem's features


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    t_s: float
    strokes: int
    learning: bool  # the current context (or the whole press) is still learning its baseline
    subsystems: Mapping[str, SubsystemHealth]
    anomaly: float  # mean squared smoothed z over every calibrated feature, in calibrated-noise units
    significant: float = 3.0  # the evidence from which a feature's deviation counts

    def vector(self) -> dict[str, float]:
        """Each watched feature's signed share of failure (positive = worse) where its deviation is
        significant, 0 where it is within the feature's usual wander: what fault classifiers read."""
        out: dict[str, float] = {}
        for sub in self.subsystems.values():
            for c in sub.contributions:
                out[c.feature] = c.share if abs(c.evidence) >= self.significant else 0.0
        return out


class HealthMonitor:
    """The streaming health of one press; feed strokes with :meth:`update`, read with :meth:`snapshot`."""

    def __init__(self, config: HealthConfig | None = None) -> None:
        self.config = config or HealthConfig()
        self._contexts: dict[str, _Context] = {}
        self._z: dict[str, float] = {}  # smoothed z-score per feature
        self._change: dict[str, float] = {}  # smoothed change per feature, in its watch's scale
        self._weight: dict[str, float] = {}  # 1 − (1 − α)^n: corrects the start-up bias of the means
        self._confirm: dict[str, int] = {}
        # Per feature: [strokes seen, Σ z̄², Σ change²] of the smoothed values while the press is healthy,
        # frozen after calibration_strokes. Lots of material, warm-ups and part changes make the smoothed
        # values wander far more than independent noise would; this is what that wander really is.
        self._calibration: dict[str, list[float]] = {}
        self._alerts: set[str] = set()
        self._unjudged = 0
        self._context: str | None = None
        self._strokes = 0
        self._t_s = 0.0
        self._learning = True
        # thermal model
        self._thermal: thermal.ThermalBaseline | None = None
        self._thermal_rows: list[tuple[float, float, float, float]] = []
        self._load_level: float | None = None
        self._load_t: float | None = None
        self._watches = {w.feature: w for s in SUBSYSTEMS.values() for w in s.watches}

    # --- feeding ---------------------------------------------------------------------------------------

    def update(
        self, t_s: float, context: str, features: Mapping[str, float], material_lot: str | None = None
    ) -> None:
        """Take one stroke started at ``t_s`` (seconds, increasing) of operating point ``context``.

        ``material_lot`` (the heat of the blank, when the press or the MES says it) lets the per-die
        watches tell a heat's step from a die's wear; without it, blocks of strokes stand for heats.
        """
        self._strokes += 1
        self._t_s = t_s
        temp = _finite(features.get(TEMP_FEATURE))
        values = {k: float(v) for k, v in features.items() if k in self._watches and _finite(v) is not None}
        excess = self._thermal_excess(t_s, features, temp)
        if excess is not None:
            values[OIL_EXCESS] = excess
        ctx = self._contexts.get(context)
        if ctx is None:
            ctx = self._contexts[context] = _Context()
        self._context = context
        if ctx.fits is None:
            self._learning = True
            self._learn(ctx, temp, {k: v for k, v in values.items() if k != OIL_EXCESS})
            if excess is not None:
                self._observe(OIL_EXCESS, excess, FeatureFit(0.0, 0.0, 0.0, self._thermal_scale()), None)
            return
        self._learning = False
        for name, value in values.items():
            fit = (
                ctx.fits.get(name) if name != OIL_EXCESS else FeatureFit(0.0, 0.0, 0.0, self._thermal_scale())
            )
            if fit is not None:
                self._observe(name, value, fit, temp, ctx if name != OIL_EXCESS else None, material_lot)
        # Alerts are judged every few strokes: smoothed values over hundreds of strokes barely move in
        # between, and judging costs more than observing.
        self._unjudged += 1
        if self._unjudged >= _JUDGE_EVERY:
            self._judge(self._unjudged)
            self._unjudged = 0

    def rebaseline(self, subsystems: Iterable[str]) -> None:
        """After a repair: forget what the named subsystems' features learned and re-learn every context.

        The other subsystems keep their deviations, which the re-learned contexts carry over.
        """
        names = set(subsystems)
        reset = {w.feature for s in names if s in SUBSYSTEMS for w in SUBSYSTEMS[s].watches}
        for feature in reset:
            self._z.pop(feature, None)
            self._change.pop(feature, None)
            self._weight.pop(feature, None)
            self._calibration.pop(feature, None)
        for name in names:
            self._alerts.discard(name)
            self._confirm.pop(name, None)
        if "cooler" in names:
            self._thermal, self._thermal_rows = None, []
        for ctx in self._contexts.values():
            ctx.fits, ctx.rows, ctx.names, ctx.wander = None, [], [], {}
            # A die's own history survives another subsystem's repair (its re-learned baseline carries
            # the die's present change over, _fit_feature), not the die's own re-baselining.
            ctx.dies = {k: v for k, v in ctx.dies.items() if k not in reset}
        self._learning = True

    # --- reading ---------------------------------------------------------------------------------------

    @property
    def alerts(self) -> frozenset[str]:
        """The subsystems whose alert is open."""
        return frozenset(self._alerts)

    def snapshot(self) -> HealthSnapshot:
        subsystems = {name: self._subsystem(sub) for name, sub in SUBSYSTEMS.items()}
        calibrated = [(f, n[0]) for f in self._z if self._weight.get(f, 0.0) > 0 and (n := self._noise(f))]
        anomaly = (
            sum((self._z[f] / self._weight[f] / noise) ** 2 for f, noise in calibrated) / len(calibrated)
            if calibrated
            else 0.0
        )
        return HealthSnapshot(
            self._t_s, self._strokes, self._learning, subsystems, anomaly, self.config.significant
        )

    # --- persistence -----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "strokes": self._strokes,
            "t_s": self._t_s,
            "context": self._context,
            "learning": self._learning,
            "contexts": {
                key: {
                    "rows": ctx.rows,
                    "names": ctx.names,
                    "wander": ctx.wander,
                    "dies": {k: v.to_list() for k, v in ctx.dies.items()},
                    "fits": None
                    if ctx.fits is None
                    else {k: [f.intercept, f.slope, f.t_ref, f.scale, f.usable] for k, f in ctx.fits.items()},
                }
                for key, ctx in self._contexts.items()
            },
            "z": self._z,
            "change": self._change,
            "weight": self._weight,
            "confirm": self._confirm,
            "unjudged": self._unjudged,
            "calibration": self._calibration,
            "alerts": sorted(self._alerts),
            "thermal": None
            if self._thermal is None
            else [
                self._thermal.tau_s,
                self._thermal.intercept_c,
                self._thermal.slope_c_per_kw,
                self._thermal.scale_c,
                self._thermal.mean_temp_c,
            ],
            "thermal_rows": self._thermal_rows,
            "load": [self._load_level, self._load_t],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], config: HealthConfig | None = None) -> HealthMonitor:
        if data.get("version") != 1:
            raise ValueError(f"unknown health monitor state version {data.get('version')!r}")
        monitor = cls(config)
        monitor._strokes = int(data["strokes"])
        monitor._t_s = float(data["t_s"])
        monitor._context = data["context"]
        monitor._learning = bool(data["learning"])
        for key, raw in data["contexts"].items():
            fits = raw["fits"]
            monitor._contexts[key] = _Context(
                rows=[list(map(float, r)) for r in raw["rows"]],
                names=list(raw["names"]),
                wander={k: [float(x) for x in v] for k, v in raw["wander"].items()},
                # States stored before the per-die watches have none: those start afresh.
                dies={k: DieTrack.from_list(v) for k, v in raw.get("dies", {}).items()},
                fits=None
                if fits is None
                else {
                    k: FeatureFit(float(v[0]), float(v[1]), float(v[2]), float(v[3]), bool(v[4]))
                    for k, v in fits.items()
                },
            )
        monitor._z = {k: float(v) for k, v in data["z"].items()}
        monitor._change = {k: float(v) for k, v in data["change"].items()}
        monitor._weight = {k: float(v) for k, v in data["weight"].items()}
        monitor._confirm = {k: int(v) for k, v in data["confirm"].items()}
        monitor._unjudged = int(data["unjudged"])
        monitor._calibration = {k: [float(x) for x in v] for k, v in data["calibration"].items()}
        monitor._alerts = set(data["alerts"])
        th = data["thermal"]
        monitor._thermal = None if th is None else thermal.ThermalBaseline(*map(float, th))
        monitor._thermal_rows = [
            (float(a), float(b), float(c), float(d)) for a, b, c, d in data["thermal_rows"]
        ]
        level, t = data["load"]
        monitor._load_level = None if level is None else float(level)
        monitor._load_t = None if t is None else float(t)
        return monitor

    # --- inside ----------------------------------------------------------------------------------------

    def _learn(self, ctx: _Context, temp: float | None, values: dict[str, float]) -> None:
        new = sorted(set(values) - set(ctx.names))
        if new:
            # A feature the gateway reports only when it can measure it (idle power needs an idle gap before
            # the stroke) may be missing from a context's first strokes: learn it from where it appears.
            ctx.rows = [row + [math.nan] * len(new) for row in ctx.rows]
            ctx.names = ctx.names + new
        ctx.rows.append(
            [temp if temp is not None else math.nan] + [values.get(n, math.nan) for n in ctx.names]
        )
        if len(ctx.rows) < self.config.learn_strokes:
            return
        table = np.asarray(ctx.rows, dtype=np.float64)
        temps = table[:, 0]
        fits: dict[str, FeatureFit] = {}
        for j, name in enumerate(ctx.names, start=1):
            column = table[:, j]
            ok = np.isfinite(column)
            if ok.sum() < self.config.learn_strokes // 2:
                continue
            fits[name] = self._fit_feature(name, column[ok], temps[ok], ctx.dies.get(name))
        ctx.fits, ctx.rows = fits, []
        self._share_slopes()

    def _share_slopes(self) -> None:
        """Give the press's learned temperature slope of its ``press_slope`` features (idle power moves
        ≈ 0.6 %/K: a cold start would otherwise read as a worn pump) to the operating points that learned
        none (their slope is exactly 0: :meth:`_fit_feature` fits none)."""
        for name in (n for n, w in self._watches.items() if w.press_slope):
            fits = [c.fits[name] for c in self._contexts.values() if c.fits is not None and name in c.fits]
            learned = [f.slope for f in fits if f.slope != 0.0]
            if learned:
                slope = float(np.median(learned))
                for fit in fits:
                    if fit.slope == 0.0:
                        fit.slope = slope

    def _fit_feature(
        self, name: str, column: np.ndarray, temps: np.ndarray, die: DieTrack | None = None
    ) -> FeatureFit:
        known = np.isfinite(temps)
        t_ref = float(np.median(temps[known])) if known.any() else 0.0
        slope = 0.0
        watch = self._watches.get(name)
        # No temperature line for a per-die feature: the end of a stroke is what the controller holds (the
        # set pressure or position) and the forming law knows nothing of the oil, while the few heats of a
        # baseline, each a step, would teach the line whichever of them happened to run warm; extrapolated
        # to the hot oil of a fouling cooler, that line reads as wear.
        free = watch is None or not watch.per_die
        if (
            free
            and known.sum() >= 10
            and float(np.ptp(temps[known])) >= _MIN_TEMP_RANGE_C
            and name != TEMP_FEATURE
        ):
            slope = float(np.polyfit(temps[known] - t_ref, column[known], 1)[0])
        shifted = column - slope * np.where(known, temps - t_ref, 0.0)
        intercept = float(np.median(shifted))
        residuals = shifted - intercept
        mad = float(np.median(np.abs(residuals - np.median(residuals))))
        scale = max(1.4826 * mad, abs(intercept) * _MIN_SCALE_SHARE, _MIN_EXPECTED)
        usable = True
        if watch is not None and len(residuals) >= 2 * _BLOCK:
            # Slow wander over the baseline (material heats on a part formed to a position, where force
            # follows the material; a warm-up the temperature line misses): if it alone is as large as an
            # alert-sized change, this feature cannot tell this part's wear from its material here.
            blocks = residuals[: len(residuals) // _BLOCK * _BLOCK].reshape(-1, _BLOCK).mean(axis=1)
            wander = float(np.std(blocks, ddof=1))
            if watch.scale == "relative":
                wander /= max(abs(intercept), _MIN_EXPECTED)
            usable = _WANDER_MARGIN * wander <= self.config.alert_level * watch.failure
        # Carry the press's present deviation into the new context (module docstring, point 2); a per-die
        # feature carries its own die's.
        change, weight = self._change.get(name), self._weight.get(name, 0.0)
        if watch is not None and watch.per_die:
            change, weight = (die.change, die.weight) if die is not None else (None, 0.0)
        if watch is not None and change is not None and weight > 0:
            settled = change / weight
            if watch.scale == "relative":
                intercept /= 1.0 + settled
            else:
                intercept -= settled
        return FeatureFit(intercept, slope, t_ref, scale, usable)

    def _observe(  # noqa: PLR0917 - one stroke's value and where it belongs
        self,
        name: str,
        value: float,
        fit: FeatureFit,
        temp: float | None,
        ctx: _Context | None = None,
        material_lot: str | None = None,
    ) -> None:
        watch = self._watches.get(name)
        if watch is None or not (fit.usable or watch.per_die):
            return
        expected = fit.expected(temp)
        residual = value - expected
        z = residual / fit.scale
        change = residual / max(abs(expected), _MIN_EXPECTED) if watch.scale == "relative" else residual
        a = self._alpha(watch)
        if watch.per_die:
            if ctx is not None:
                ctx.dies.setdefault(name, DieTrack()).observe(change, material_lot, a)
            return
        if ctx is not None:
            own = ctx.wander.setdefault(name, [0.0, 0.0, 0.0, 0.0, 0.0])
            own[0] = (1 - a) * own[0] + a * z
            own[1] = (1 - a) * own[1] + a
            if own[1] >= _WARM and own[2] < self.config.context_calibration_strokes:
                smoothed = own[0] / own[1]
                own[2] += 1
                own[3] += smoothed
                own[4] += smoothed * smoothed
            # An operating point joins the press's deviations only once its own wander is measured and
            # small beside an alert-sized change; until then (and for good when it wanders too much, as
            # force does on a part formed to a position) its strokes would only stir the press's values.
            if self._own_wander(name, ctx) is None:
                return
        self._z[name] = (1 - a) * self._z.get(name, 0.0) + a * z
        self._change[name] = (1 - a) * self._change.get(name, 0.0) + a * change
        self._weight[name] = (1 - a) * self._weight.get(name, 0.0) + a
        if self._weight[name] >= _WARM:
            cal = self._calibration.setdefault(name, [0.0, 0.0, 0.0])
            if cal[0] < self.config.calibration_strokes:
                z_s, change_s = self._z[name] / self._weight[name], self._change[name] / self._weight[name]
                cal[0] += 1
                cal[1] += z_s * z_s
                cal[2] += change_s * change_s

    def _alpha(self, watch: Watch) -> float:
        return self.config.alpha_slow if watch.slow else self.config.alpha

    def _own_wander(self, name: str, ctx: _Context) -> float | None:
        """The calibrated spread of a context's smoothed z for ``name``; None while it is still being
        measured or when it is too large for the feature to show wear at this operating point."""
        own = ctx.wander.get(name)
        fit = ctx.fits.get(name) if ctx.fits is not None else None
        watch = self._watches.get(name)
        if own is None or fit is None or watch is None or own[2] < self.config.context_calibration_strokes:
            return None
        mean = own[3] / own[2]
        spread = math.sqrt(max(own[4] / own[2] - mean * mean, 0.0))
        in_change = spread * fit.scale
        if watch.scale == "relative":
            in_change /= max(abs(fit.intercept), _MIN_EXPECTED)
        if _WANDER_MARGIN * in_change > self.config.alert_level * watch.failure:
            return None
        return spread

    def _noise(self, name: str) -> tuple[float, float] | None:
        """Calibrated wander of a feature's smoothed z (the press's, and the largest of the operating points
        feeding it) and of its change; None while still calibrating."""
        cal = self._calibration.get(name)
        if cal is None or cal[0] < self.config.calibration_strokes:
            return None
        z_noise = max(math.sqrt(cal[1] / cal[0]), self.config.smoothing_sd(self._alpha(self._watches[name])))
        for ctx in self._contexts.values():
            spread = self._own_wander(name, ctx)
            if spread is not None:
                z_noise = max(z_noise, spread)
        return z_noise, math.sqrt(cal[2] / cal[0])

    def _smoothed(self, name: str) -> tuple[float, float] | None:
        """Bias-corrected smoothed (z, change) of a feature, or None if never observed."""
        weight = self._weight.get(name, 0.0)
        if weight <= 0:
            return None
        return self._z[name] / weight, self._change[name] / weight

    def _subsystem(self, sub: Subsystem) -> SubsystemHealth:
        contributions: list[Contribution] = []
        for watch in sub.watches:
            if watch.per_die:
                die = self._die_contribution(watch)
                if die is not None:
                    contributions.append(die)
                continue
            smoothed = self._smoothed(watch.feature)
            if smoothed is None:
                continue
            z, change = smoothed
            noise = self._noise(watch.feature)
            evidence = watch.direction * z / noise[0] if noise is not None else 0.0
            contributions.append(
                Contribution(
                    watch.feature,
                    change,
                    watch.scale,
                    watch.direction * change / self._failure(watch),
                    evidence,
                )
            )
        if not contributions:
            return SubsystemHealth(sub.name, 0.0, 0.0, False, None, (), False)
        # Only deviations well beyond the feature's calibrated wander count towards the level.
        significant = [c for c in contributions if c.evidence >= self.config.significant]
        worst = max(significant or contributions, key=lambda c: c.share)
        level = max(max((c.share for c in significant), default=0.0), 0.0)
        evidence = max(c.evidence for c in contributions)
        if all(w.per_die for w in sub.watches):
            # One die's clear change of a feature the controller pins (force on a part formed to a
            # pressure: tiny but precise) must not vouch for another feature's noisy one. Several dies
            # drifting the same way together add up their evidence (_pooled_die_evidence).
            evidence = max(worst.evidence, self._pooled_die_evidence(sub))
        return SubsystemHealth(
            sub.name, level, evidence, sub.name in self._alerts, worst.feature, tuple(contributions), True
        )

    def _die_contribution(self, watch: Watch) -> Contribution | None:
        """A per-die feature where it stands worst: the operating point furthest towards its failure among
        those whose change is significant, else the one with the most evidence."""
        found: list[Contribution] = []
        for ctx in self._contexts.values():
            judged = _judged(ctx, watch)
            if judged is None:
                continue
            change, noise, spread = judged
            # The quality window narrowed by the part's own scatter: from there a hard heat puts a good
            # share of its lot out of the window (subsystems: the failure changes are the window's).
            failure = max(watch.failure - _CAPABILITY * spread, _MIN_FAILURE_SHARE * watch.failure)
            evidence = watch.direction * change / noise if noise > 0 else 0.0
            found.append(
                Contribution(watch.feature, change, watch.scale, watch.direction * change / failure, evidence)
            )
        if not found:
            return None
        significant = [c for c in found if c.evidence >= self.config.significant]
        if significant:
            return max(significant, key=lambda c: c.share)
        return max(found, key=lambda c: c.evidence)

    def _pooled_die_evidence(self, sub: Subsystem) -> float:
        """The dies' evidences added up (Stouffer: Σ evidence / √dies), each die by the feature its
        controller leaves free; 0 with fewer than two dies judged.

        One die wearing shows on that die alone, and the per-die evidence flags it. Something every die
        of the press shares (the die lubrication, the ram's guides, or wear that reaches all the dies
        alike) moves them all the same way, each by too little to stand out against its own heats of
        material: k dies at e noises each are e·√k together. Each die counts once, by the feature that
        carries its part's scatter (bottom dead centre on a part formed to a pressure, force on one formed
        to a position), chosen by spread and not by evidence so that the sum stays a fair test.
        """
        evidences: list[float] = []
        for ctx in self._contexts.values():
            free: tuple[float, float] | None = None  # (spread / failure change, evidence) of the free feature
            for watch in sub.watches:
                judged = _judged(ctx, watch)
                if judged is None or judged[1] <= 0:
                    continue
                change, noise, spread = judged
                candidate = (spread / watch.failure, watch.direction * change / noise)
                if free is None or candidate[0] > free[0]:
                    free = candidate
            if free is not None:
                evidences.append(free[1])
        if len(evidences) < 2:
            return 0.0
        return sum(evidences) / math.sqrt(len(evidences))

    def _failure(self, watch: Watch) -> float:
        if watch.feature == OIL_EXCESS and self._thermal is not None:
            # The cooler has failed when the oil, at the load it usually runs, would reach the trip.
            return max(self.config.trip_temp_c - self._thermal.mean_temp_c, 1.0)
        return watch.failure

    def _judge(self, strokes: int) -> None:
        for name, sub in SUBSYSTEMS.items():
            health = self._subsystem(sub)
            if name in self._alerts:
                # An open alert clears only after a long quiet spell: a part change can hide a feature
                # for a while (another operating point, still calibrating), which is not a repair.
                clear = self.config.clear_level * self.config.alert_level_of(sub) / self.config.alert_level
                quiet = self._confirm.get(name, 0) + strokes if health.level < clear else 0
                self._confirm[name] = quiet
                if quiet >= self.config.clear_strokes:
                    self._alerts.discard(name)
                    self._confirm[name] = 0
                continue
            raised = health.level >= self.config.alert_level_of(sub) and health.evidence >= (
                self.config.alert_evidence_of(sub)
            )
            count = self._confirm.get(name, 0) + strokes if raised else 0
            self._confirm[name] = count
            if count >= self.config.confirm_strokes:
                self._alerts.add(name)
                self._confirm[name] = 0  # from now on it counts the quiet strokes

    def _thermal_scale(self) -> float:
        return self._thermal.scale_c if self._thermal is not None else 1.0

    def _thermal_excess(self, t_s: float, features: Mapping[str, float], temp: float | None) -> float | None:
        energy = _finite(features.get("energy_kj"))
        cycle = _finite(features.get("cycle_time_s"))
        if temp is None or energy is None or cycle is None or cycle <= 0:
            return None
        load = energy / cycle
        if self._thermal is None:
            self._thermal_rows.append((t_s, load, cycle, temp))
            if len(self._thermal_rows) >= self.config.thermal_learn_strokes:
                rows = np.asarray(self._thermal_rows, dtype=np.float64)
                self._thermal = thermal.ThermalBaseline.fit(rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3])
                self._thermal_rows = []
                self._load_level = float(
                    thermal.smoothed_loads(rows[:, 0], rows[:, 1], rows[:, 2], self._thermal.tau_s)[-1]
                )
                self._load_t = t_s
            return None
        if self._load_level is None or self._load_t is None:
            self._load_level = load
        else:
            self._load_level = thermal.advance(
                self._load_level, t_s - self._load_t, cycle, load, self._thermal.tau_s
            )
        self._load_t = t_s
        return temp - self._thermal.expected_c(self._load_level)


def _finite(value: object) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


__all__ = [
    "Contribution",
    "FeatureFit",
    "HealthConfig",
    "HealthMonitor",
    "HealthSnapshot",
    "SubsystemHealth",
    "watched_features",
]
