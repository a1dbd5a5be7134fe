"""Per-stroke features of a hydraulic press, computed from its sampled curves (docs/domain.md §1.3).

What a gateway computes at the press from what it reads there (the simulator's gateways do, and so can an
edge agent written in Python): the measured, noisy, quantised pressure, position, force and motor power
of one stroke, sampled every ``dt_us``, and the PLC's step marks (``phase_starts``: the first sample of
each step, in the order approach, slowdown, pressing, dwell, decompression, return; a step may be empty).
Definitions:

* ``stroke_time_s``: approach start to return end; ``cycle_time_s`` adds the operator's loading gap
  before the next stroke (stops in between are booked as states, not as cycle time).
* ``peak_pressure_bar``, ``peak_force_kn``: maxima of the curves.
* ``bdc_position_mm``: deepest ram position, on a 5-sample moving mean (the encoder noise would bias a
  raw maximum).
* ``dwell_pressure_bar``: mean pressure of the dwell; ``dwell_decay_bar_s``: minus the least-squares slope
  of the dwell pressure (bar lost per second).
* ``buildup_time_s``: from 10 % to 90 % of the pressure rise above the pre-contact pressure.
* ``decompression_time_s``: dwell end until pressure is below 10 % of the peak.
* ``command_lag_s``: the PLC's decompression step mark (the valve command) until the pressure has fallen
  10 % below its value at the mark: the valve's dead time and opening time, which grow as it sticks.
* ``approach_speed_mm_s`` and ``return_speed_mm_s``: mean speed between 10 % and 90 % of the travel.
* ``energy_kj``: integral of the motor power over the stroke; ``oil_temp_c``: tank temperature at start.
* ``idle_power_kw`` (optional, :data:`~cadence.domain.cycles.OPTIONAL_FEATURES`): median of the power
  meter's samples over the idle gap just before the stroke, the pump circulating oil unloaded
  (:func:`idle_power_kw`). It follows the pump's mechanical drag: higher in cold oil, higher on a worn pump.

>>> from types import SimpleNamespace
>>> dt = 0.002                                     # 500 Hz
>>> t = np.arange(0, 3.0, dt)
>>> pressure = np.interp(t, [0, 1.0, 1.2, 1.5, 2.5, 2.6, 3.0], [5, 5, 20, 200, 195, 10, 5])
>>> position = np.interp(t, [0, 1.0, 1.5, 2.6, 3.0], [0, 150, 152, 152, 0])
>>> curves = SimpleNamespace(dt_us=2000, duration_us=3_000_000, pressure_bar=pressure,
...     position_mm=position, force_kn=pressure * 4.2, power_kw=np.full(len(t), 12.0),
...     phase_starts=(0, 450, 500, 750, 1250, 1400))
>>> f = stroke_features(curves, oil_temp_c=45.0, gap_s=4.0)
>>> f["peak_pressure_bar"], f["cycle_time_s"], round(f["energy_kj"], 1)
(200.0, 7.0, 36.0)
>>> round(f["dwell_decay_bar_s"], 2), round(f["buildup_time_s"], 3)
(5.0, 0.26)
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from cadence.domain.cycles import STANDARD_FEATURES
from cadence.domain.samples import F64, I64

_BDC_WINDOW = 5  # samples of the moving mean used for the bottom dead centre

# Idle power (idle_power_kw). A gap shorter than a second is mostly the unloading valve settling and the
# meter's own averaging of the return stroke; the first 0.3 s of any gap are skipped for the same reason.
# Only the last 30 s before the stroke count: after a long idle spell (a die change) the power is read as
# it is when the stroke starts, with the oil at the temperature the stroke reports.
IDLE_MIN_GAP_S = 1.0
IDLE_SETTLE_S = 0.3
IDLE_WINDOW_S = 30.0
_IDLE_MIN_SAMPLES = 3


def _crossing_time(values: F64, level: float, dt: float, rising: bool) -> float | None:
    """Time (s, from the first sample) where ``values`` first crosses ``level``, linearly interpolated."""
    hits = np.flatnonzero(values >= level) if rising else np.flatnonzero(values <= level)
    if len(hits) == 0:
        return None
    i = int(hits[0])
    if i == 0:
        return 0.0
    before, after = float(values[i - 1]), float(values[i])
    fraction = (level - before) / (after - before) if after != before else 1.0
    return (i - 1 + fraction) * dt


def _travel_speed(position: F64, dt: float, descending: bool) -> float:
    """Mean speed (mm/s) between 10 % and 90 % of a travel."""
    if len(position) < 3:
        return 0.0
    start, end = float(position[0]), float(position[-1])
    travel = end - start
    if abs(travel) < 1e-6:
        return 0.0
    t10 = _crossing_time(position, start + 0.1 * travel, dt, rising=not descending)
    t90 = _crossing_time(position, start + 0.9 * travel, dt, rising=not descending)
    if t10 is None or t90 is None or t90 <= t10:
        return 0.0
    return abs(0.8 * travel) / (t90 - t10)


class Curves(Protocol):
    """The sampled curves of one stroke and the PLC's step marks (module docstring)."""

    @property
    def dt_us(self) -> int: ...
    @property
    def duration_us(self) -> int: ...
    @property
    def pressure_bar(self) -> F64: ...
    @property
    def position_mm(self) -> F64: ...
    @property
    def force_kn(self) -> F64: ...
    @property
    def power_kw(self) -> F64: ...
    @property
    def phase_starts(self) -> tuple[int, ...]: ...


# The PLC steps, in order (index into ``phase_starts``).
APPROACH, SLOWDOWN, PRESSING, DWELL, DECOMPRESSION, RETURN = range(6)


def _phase(curves: Curves, step: int) -> slice:
    starts = curves.phase_starts
    end = starts[step + 1] if step + 1 < len(starts) else len(curves.pressure_bar)
    return slice(starts[step], end)


def stroke_features(curves: Curves, oil_temp_c: float, gap_s: float) -> dict[str, float]:
    """The :data:`~cadence.domain.cycles.STANDARD_FEATURES` of one stroke, from its measured curves."""
    dt = curves.dt_us / 1e6
    p, x = curves.pressure_bar, curves.position_mm
    stroke_time = curves.duration_us / 1e6
    peak = float(p.max())

    approach = _phase(curves, APPROACH)
    slowdown = _phase(curves, SLOWDOWN)
    pressing = _phase(curves, PRESSING)
    dwell = _phase(curves, DWELL)
    decompression = _phase(curves, DECOMPRESSION)
    back = _phase(curves, RETURN)

    # build-up: rise above the pressure the ram needed just before touching the blank
    before = p[slowdown] if slowdown.stop > slowdown.start else p[approach]
    base = float(np.median(before[-10:])) if len(before) else 0.0
    rise = p[pressing.start : dwell.stop]
    t10 = _crossing_time(rise, base + 0.1 * (peak - base), dt, rising=True)
    t90 = _crossing_time(rise, base + 0.9 * (peak - base), dt, rising=True)
    buildup = (t90 - t10) if t10 is not None and t90 is not None else 0.0

    dwell_p = p[dwell]
    if len(dwell_p) >= 3:
        t = np.arange(len(dwell_p)) * dt
        slope = float(np.polyfit(t, dwell_p, 1)[0])
        dwell_mean, decay = float(dwell_p.mean()), -slope
    else:
        dwell_mean = float(dwell_p.mean()) if len(dwell_p) else peak
        decay = 0.0

    after = p[decompression.start :]
    t_dec = _crossing_time(after, 0.1 * peak, dt, rising=False)
    at_command = float(after[0]) if len(after) else peak
    t_lag = _crossing_time(after, 0.9 * at_command, dt, rising=False)

    kernel = np.ones(_BDC_WINDOW) / _BDC_WINDOW
    smooth = np.convolve(x, kernel, mode="valid") if len(x) >= _BDC_WINDOW else x

    features = {
        "cycle_time_s": stroke_time + gap_s,
        "stroke_time_s": stroke_time,
        "peak_pressure_bar": peak,
        "peak_force_kn": float(curves.force_kn.max()),
        "bdc_position_mm": float(smooth.max()),
        "dwell_pressure_bar": dwell_mean,
        "dwell_decay_bar_s": decay,
        "buildup_time_s": buildup,
        "decompression_time_s": t_dec if t_dec is not None else float(len(after)) * dt,
        "command_lag_s": t_lag if t_lag is not None else float(len(after)) * dt,
        "approach_speed_mm_s": _travel_speed(x[approach], dt, descending=False),
        "return_speed_mm_s": _travel_speed(x[back], dt, descending=True),
        "energy_kj": float(np.trapezoid(curves.power_kw, dx=dt)),
        "oil_temp_c": oil_temp_c,
    }
    # Rounded as a gateway would report them: enough digits for SPC, short on the wire.
    return {name: round(features[name], 4) for name in STANDARD_FEATURES}


def idle_power_kw(
    ts_us: I64,
    power_kw: F64,
    gap_start_us: int,
    gap_end_us: int,
    *,
    min_gap_s: float = IDLE_MIN_GAP_S,
    settle_s: float = IDLE_SETTLE_S,
    window_s: float = IDLE_WINDOW_S,
) -> float | None:
    """Median metered motor power over an idle gap ``[gap_start_us, gap_end_us)`` before a stroke.

    ``ts_us``/``power_kw`` are the power meter's samples (any span; those outside the gap are ignored);
    the gap is the time the pump ran unloaded: from the previous stroke's end (or the motor's restart)
    to this stroke's start. The median ignores the few samples a meter averages across a transition.
    ``None`` when the gap is shorter than ``min_gap_s``, holds fewer than 3 samples after ``settle_s``,
    or the motor was off at some sample (a stopped motor reads 0: that gap is not idle running).

    >>> ts = np.arange(0, 5_000_000, 100_000)                # 10 Hz over 5 s
    >>> power = np.full(len(ts), 3.31)
    >>> power[:2] = 9.8                                        # the end of the return stroke
    >>> power[30] = 3.40                                       # a spike of meter noise
    >>> idle_power_kw(ts, power, 100_000, 4_000_000)
    3.31
    >>> idle_power_kw(ts, power, 3_500_000, 4_000_000) is None   # a half-second gap: nothing to report
    True
    >>> power[20] = 0.0                                        # the motor was stopped within the gap
    >>> idle_power_kw(ts, power, 100_000, 4_000_000) is None
    True
    """
    if (gap_end_us - gap_start_us) / 1e6 < min_gap_s:
        return None
    first = max(gap_start_us + round(settle_s * 1e6), gap_end_us - round(window_s * 1e6))
    inside = (ts_us >= first) & (ts_us < gap_end_us)
    values = power_kw[inside]
    if len(values) < _IDLE_MIN_SAMPLES or bool((values <= 0.0).any()):
        return None
    return round(float(np.median(values)), 4)
