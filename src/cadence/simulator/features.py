"""Per-stroke features computed from the sampled curves, as a gateway would (docs/domain.md §1.3).

The gateway sees the measured, noisy, quantised curves and the PLC's step marks (which phase each sample
belongs to); it never sees the simulator's parameters. Definitions:

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

>>> import numpy as np
>>> from cadence.simulator.params import press_params
>>> from cadence.simulator.faults import healthy_condition
>>> from cadence.simulator.press import Recipe, simulate_stroke
>>> params = press_params("P01", 100, np.random.default_rng(0))
>>> recipe = Recipe.for_force(params, 0.8, 0.008, 2.0, 0.8)
>>> curves = simulate_stroke(params, healthy_condition(params), recipe)
>>> features = stroke_features(curves, oil_temp_c=45.0, gap_s=4.0)
>>> 150 < features["approach_speed_mm_s"] < 300, features["cycle_time_s"] > features["stroke_time_s"]
(True, True)
"""

from __future__ import annotations

import numpy as np

from cadence.domain.cycles import STANDARD_FEATURES
from cadence.domain.samples import F64
from cadence.simulator.press import Phase, StrokeCurves

_BDC_WINDOW = 5  # samples of the moving mean used for the bottom dead centre


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


def stroke_features(curves: StrokeCurves, oil_temp_c: float, gap_s: float) -> dict[str, float]:
    """The :data:`~cadence.domain.cycles.STANDARD_FEATURES` of one stroke, from its measured curves."""
    dt = curves.dt_us / 1e6
    p, x = curves.pressure_bar, curves.position_mm
    stroke_time = curves.duration_us / 1e6
    peak = float(p.max())

    approach = curves.phase_slice(Phase.APPROACH)
    slowdown = curves.phase_slice(Phase.SLOWDOWN)
    pressing = curves.phase_slice(Phase.PRESSING)
    dwell = curves.phase_slice(Phase.DWELL)
    decompression = curves.phase_slice(Phase.DECOMPRESSION)
    back = curves.phase_slice(Phase.RETURN)

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
