"""One press in operation, publishing through its own gateway.

A :class:`PressProcess` is a small discrete-event process (a Python generator, SimPy style): it makes
strokes for production orders, waits for the operator between strokes (lognormal loading gaps), stops
for micro-stops (Poisson, ``idle``/``microstop``) and breakdowns (exponential times between failures
and to repair, ``down``/``breakdown.*``), changes dies between orders (``setup``/``setup.die_change``)
and trips on oil over-temperature (``down``/``fault.overtemperature``). Independently, :meth:`tick`
samples the slow signals (motor power, oil temperature) for any interval, whatever the press is doing.
Between strokes the motor turns the unloaded pump; that idle power follows the oil temperature and the
pump's wear (:meth:`PressParams.idle_kw_at`), and the gateway reports it with each stroke
(``idle_power_kw``, read by its power meter over the gap before the stroke).

Each press is its own gateway: source ``gw-<machine>``, an epoch drawn once from the seeded generator,
and ``seq`` 0, 1, 2… over all its messages. Randomness comes only from ``numpy`` generators seeded from
``(seed, crc32(machine id))``, so a run is reproducible to the byte.

>>> from cadence.domain import Machine, SignalKind, SignalSpec
>>> press = Machine("P01", "Presse 1", "L1", tonnage_t=100, target_cycle_s=9.0, signals=(
...     SignalSpec("pressure", "bar", 500, 0.01, SignalKind.WAVEFORM),
...     SignalSpec("oil_temp", "°C", 1, 0.1)))
>>> process = PressProcess(press, seed=7, start_us=1_767_225_600_000_000)
>>> end_of_first_stroke = process.advance()
>>> first = process.advance()                       # the stroke is published when it ends
>>> [m.kind.value for m in process.drain()[0]]
['states', 'samples', 'strokes']
"""

from __future__ import annotations

import logging
import math
import zlib
from collections import deque
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from cadence.analytics.stroke_features import IDLE_WINDOW_S, idle_power_kw, stroke_features
from cadence.domain.batch import MAX_KEY_INT, Batch, IdempotencyKey
from cadence.domain.cycles import Stroke, Waveform
from cadence.domain.plant import Machine
from cadence.domain.production import Lot, ProductionOrder, serial_number
from cadence.domain.samples import F64, I64, SampleBlock
from cadence.domain.signals import SignalSpec
from cadence.domain.states import MachineState, StateChange
from cadence.protocol import MessageKind, encode_batch, topic_for
from cadence.simulator.faults import Condition, FaultSpec, condition_of, healthy_condition, severities_at
from cadence.simulator.params import PressParams, press_params
from cadence.simulator.parts import LOT_MATERIAL_SD, WITHIN_LOT_MATERIAL_SD, PartSpec, judge, make_parts
from cadence.simulator.press import Sensor, StrokeSensors, simulate_stroke
from cadence.simulator.thermal import OilThermal, heat_to_oil_kw

logger = logging.getLogger(__name__)

US = 1_000_000
DEFAULT_TONNAGE_T = 100.0  # a machine without tonnage in the plant file is simulated as a 100 t press
MIN_TONNAGE_T, MAX_TONNAGE_T = 5.0, 5000.0  # the lumped model is sized for workshop presses, not forges
DEFAULT_WAVEFORM_HZ = 500.0  # when the machine declares no waveform signal (strokes are still simulated)
DEFAULT_POWER_HZ = 10.0  # internal power grid for the thermal balance when motor_power is not declared
WAVEFORM_POINTS = 200  # target points of the down-sampled curve kept in each stroke record
PRESSURE_NOISE_FS = 0.001  # 0.1 % of the transducer's full scale
POWER_NOISE_OF_RATED = 0.003  # power meter noise, share of the motor's rating
OIL_NOISE_C = 0.05  # PT100 reading noise
OVERTEMP_POLL_S = 60.0  # while tripped, the PLC re-checks the oil temperature every minute
OVERTEMP_MAX_WAIT_S = 8 * 3600.0  # give up waiting after a shift: the maintenance team resets it

WAVEFORM_SIGNALS = ("pressure", "position", "force")


@dataclass(frozen=True, slots=True)
class OperationConfig:
    """How a press is run: operator pace, stops, breakdowns, orders. Times in the units of their names."""

    loading_gap_s: float | None = None  # median gap; None: target cycle − taught stroke time (≥ 1.5 s)
    loading_gap_sigma: float = 0.25  # lognormal shape of the operator's loading time
    microstops_per_h: float = 2.0  # per running hour
    microstop_median_s: float = 90.0  # lognormal, clipped to 30 s - 5 min
    mtbf_h: float = 12.0  # mean running hours between breakdowns
    mttr_h: float = 0.5  # mean time to repair
    min_repair_s: float = 300.0  # nobody repairs a press in less than 5 minutes
    die_change_median_min: float = 20.0
    adjustment_median_min: float = 5.0  # next order with the same die: a short adjustment only
    order_quantity: tuple[int, int] = (300, 1200)  # good parts per order, uniform
    lot_size: int = 250  # parts per production lot (one material heat per lot)
    surface_defect_rate: float = 0.002
    overtemp_trip_c: float = 70.0  # domain.md §1.1: trip ≈ 70 °C
    overtemp_restart_c: float = 55.0
    breakdown_reasons: tuple[tuple[str, float], ...] = (
        ("breakdown.hydraulic", 0.5),
        ("breakdown.electrical", 0.3),
        ("breakdown.die", 0.2),
    )

    def __post_init__(self) -> None:
        if self.mtbf_h <= 0 or self.mttr_h <= 0:
            raise ValueError("mtbf_h and mttr_h must be > 0")
        if self.microstops_per_h < 0 or self.lot_size <= 0:
            raise ValueError("microstops_per_h must be >= 0 and lot_size > 0")
        low, high = self.order_quantity
        if not 0 < low <= high:
            raise ValueError("order_quantity must be (low, high) with 0 < low <= high")
        if not self.breakdown_reasons or any(w <= 0 for _, w in self.breakdown_reasons):
            raise ValueError("breakdown_reasons needs at least one reason with a positive weight")


@dataclass(frozen=True, slots=True)
class Message:
    """One encoded message ready to publish, with what it carries (for the counters)."""

    topic: str
    payload: bytes
    kind: MessageKind
    ts_us: int
    points: int = 0
    strokes: int = 0
    states: int = 0
    good: int = 0
    scrap: int = 0


@dataclass(frozen=True, slots=True)
class StrokeResult:
    """A stroke as published, with the true physical state behind it (ground truth for detectors)."""

    machine: str
    stroke: Stroke
    truth: Mapping[str, float] = field(default_factory=dict)


class _PowerTimeline:
    """True motor power over the near future: constant levels and stroke curves, contiguous in time."""

    def __init__(self) -> None:
        self._segments: deque[tuple[int, int, float, F64 | None, int]] = deque()

    def level(self, t0_us: int, t1_us: int, kw: float) -> None:
        if t1_us > t0_us:
            self._segments.append((t0_us, t1_us, kw, None, 0))

    def curve(self, t0_us: int, t1_us: int, dt_us: int, kw: F64) -> None:
        self._segments.append((t0_us, t1_us, 0.0, kw, dt_us))

    def sample(self, ts_us: I64, fallback_kw: float) -> F64:
        out = np.full(len(ts_us), fallback_kw)
        if not len(ts_us):
            return out
        first, last = int(ts_us[0]), int(ts_us[-1])
        for t0, t1, kw, values, dt in self._segments:
            if t1 <= first or t0 > last:
                continue
            lo, hi = np.searchsorted(ts_us, [t0, t1])
            if values is None:
                out[lo:hi] = kw
            else:
                index = np.minimum((ts_us[lo:hi] - t0) // dt, len(values) - 1)
                out[lo:hi] = values[index]
        return out

    def forget_before(self, ts_us: int) -> None:
        while self._segments and self._segments[0][1] <= ts_us:
            self._segments.popleft()


def _grid(after_us: int, until_us: int, dt_us: int) -> I64:
    """Timestamps that are multiples of ``dt_us`` in ``(after_us, until_us]``."""
    first = (after_us // dt_us + 1) * dt_us
    return np.arange(first, until_us + 1, dt_us, dtype=np.int64)


def _sensor(spec: SignalSpec | None, default_resolution: float, noise_sd: float) -> Sensor:
    """The transducer of a declared signal: its resolution and range come from the plant file."""
    if spec is None:
        return Sensor(default_resolution, noise_sd)
    return Sensor(spec.resolution, noise_sd, low=spec.min_value, high=spec.max_value)


def _dt_us(spec: SignalSpec | None, default_hz: float) -> int:
    return max(1, round(US / (spec.sampling_hz if spec is not None else default_hz)))


def machine_seed(seed: int, machine_id: str) -> np.random.SeedSequence:
    """The seed sequence of one press: stable across processes (crc32, not the salted ``hash()``)."""
    return np.random.SeedSequence([seed % 2**64, zlib.crc32(machine_id.encode("utf-8"))])


class PressProcess:
    """One simulated press and its gateway. Drive it with :meth:`advance` and :meth:`tick`."""

    def __init__(
        self,
        machine: Machine,
        *,
        seed: int,
        start_us: int,
        faults: Sequence[FaultSpec] = (),
        operation: OperationConfig | None = None,
    ) -> None:
        self.machine = machine
        self.op = operation or OperationConfig()
        self.faults = tuple(faults)
        # The idle-power meter reads draw from their own generator, spawned last, so that the other streams
        # (and every run recorded before the feature existed) stay the same.
        rngs = [np.random.default_rng(s) for s in machine_seed(seed, machine.id).spawn(8)]
        self._params_rng, self._parts_rng, self._ops, self._noise, self._material_rng, gateway, life = rngs[
            :7
        ]
        self._idle_noise = rngs[7]
        self.source = f"gw-{machine.id}"[:64]
        self.epoch = int(gateway.integers(0, MAX_KEY_INT, endpoint=True))
        self._seq = 0
        # Fault progression differs from press to press even with the same scenario entry.
        self._life_scale = float(np.exp(life.uniform(math.log(0.8), math.log(1.25))))

        tonnage = machine.tonnage_t or DEFAULT_TONNAGE_T
        if not MIN_TONNAGE_T <= tonnage <= MAX_TONNAGE_T:
            clamped = min(max(tonnage, MIN_TONNAGE_T), MAX_TONNAGE_T)
            logger.warning(
                "%s: %g t is outside the simulated range; simulated as %g t", machine.id, tonnage, clamped
            )
            tonnage = clamped
        self.params: PressParams = press_params(machine.id, tonnage, self._params_rng)
        specs = {s.name: s for s in machine.signals}
        self._wave_specs = {n: specs[n] for n in WAVEFORM_SIGNALS if n in specs}
        self._power_spec = specs.get("motor_power")
        self._temp_spec = specs.get("oil_temp")
        wave_rate = max((s.sampling_hz for s in self._wave_specs.values()), default=DEFAULT_WAVEFORM_HZ)
        self._dt_us = max(1, round(US / wave_rate))
        self._power_dt_us = _dt_us(self._power_spec, DEFAULT_POWER_HZ)
        self._temp_dt_us = _dt_us(self._temp_spec, 1.0)
        self._sensors = self._make_sensors(specs)
        self._power_sensor = _sensor(
            self._power_spec, 0.01, POWER_NOISE_OF_RATED * self.params.motor_rated_kw
        )
        self._temp_sensor = _sensor(self._temp_spec, 0.1, OIL_NOISE_C)
        self._topics = {kind: topic_for(machine.id, kind) for kind in MessageKind}

        self.parts: tuple[PartSpec, ...] = make_parts(
            self.params, self._parts_rng, dt_us=self._dt_us, sensors=self._sensors
        )
        self.condition: Condition = condition_of(
            self.params, severities_at(self.faults, 0.0, self._life_scale)
        )
        self._oil = OilThermal(self.params, temp_c=self._production_equilibrium_c())
        self._timeline = _PowerTimeline()
        self._motor_kw = self.params.idle_kw  # the level the timeline falls back to
        # The pump's unloaded running since the last stroke or motor start: (start, end, kW) levels, back
        # to back, ending now. The gateway reads the idle power of the next stroke over them.
        self._unloaded: list[tuple[int, int, float]] = []
        self._motor_s = 0.0  # motor-on seconds: the clock of wear
        self._running_s = 0.0  # time in production (strokes + loading): the clock of failures
        self._next_failure_s = self._ops.exponential(self.op.mtbf_h * 3600.0)
        self._next_microstop_s = self._draw_microstop_interval()
        self._stroke_n = int(self._ops.integers(1_000, 200_000))  # the press's own lifetime counter
        self._order_k = 0
        self._pending_gap_us = 0  # loading gap drawn when a stroke ends, waited after any stop
        self.state = MachineState.RUNNING
        self._reason: str | None = None
        self._state_known = False
        self._tick_us = start_us
        self.start_us = start_us
        self.outbox: list[Message] = []
        self.results: list[StrokeResult] = []
        self._life = self._run(start_us)

    # --- driving -------------------------------------------------------------------------------------

    def advance(self) -> int:
        """Run the press up to its next event; returns that event's time (µs)."""
        return next(self._life)

    def drain(self) -> tuple[list[Message], list[StrokeResult]]:
        """Messages and stroke results produced since the last call."""
        out, results = self.outbox, self.results
        self.outbox, self.results = [], []
        return out, results

    def tick(self, ts_us: int) -> None:
        """Sample the slow signals over ``(last tick, ts_us]`` and publish them as one message."""
        before = self._tick_us
        if ts_us <= before:
            return
        self._tick_us = ts_us
        power_ts = _grid(before, ts_us, self._power_dt_us)
        heat_ts = power_ts if len(power_ts) else np.array([ts_us], dtype=np.int64)
        true_kw = self._timeline.sample(heat_ts, self._motor_kw)
        no_load = self.params.no_load_at(self._oil.temp_c, self.condition.pump_drag)
        heat = float(heat_to_oil_kw(self.params, true_kw, no_load).mean())
        temp_before = self._oil.temp_c
        temp_after = self._oil.step((ts_us - before) / US, heat, self.condition.cooler_effectiveness)
        blocks: list[SampleBlock] = []
        if self._power_spec is not None and len(power_ts):
            measured = self._power_sensor.read(true_kw, self._noise)
            measured = np.where(true_kw > 0.0, np.maximum(measured, 0.0), 0.0)  # a stopped motor reads 0
            blocks.append(SampleBlock("motor_power", power_ts, measured))
        if self._temp_spec is not None:
            temp_ts = _grid(before, ts_us, self._temp_dt_us)
            if len(temp_ts):
                share = (temp_ts - before) / (ts_us - before)
                true_c = temp_before + (temp_after - temp_before) * share
                blocks.append(SampleBlock("oil_temp", temp_ts, self._temp_sensor.read(true_c, self._noise)))
        self._timeline.forget_before(ts_us)
        if blocks:
            self._emit(MessageKind.SAMPLES, ts_us, samples=blocks)

    def idle_kw(self) -> float:
        """True motor power with the pump unloaded now: oil temperature and pump wear set the drag."""
        return self.params.idle_kw_at(self._oil.temp_c, self.condition.pump_drag)

    @property
    def oil_temp_c(self) -> float:
        """True tank oil temperature now."""
        return self._oil.temp_c

    @property
    def motor_hours(self) -> float:
        """Hours the motor has run: the clock the faults progress on."""
        return self._motor_s / 3600.0

    # --- the press's life ------------------------------------------------------------------------------

    def _run(self, t: int) -> Generator[int, None, None]:
        self._set_state(t, MachineState.RUNNING, None)
        die: str | None = None
        while True:
            order, part = self._new_order()
            if die is not None:
                if order.die != die:
                    minutes, reason = self.op.die_change_median_min, "setup.die_change"
                else:
                    minutes, reason = self.op.adjustment_median_min, "setup.adjustment"
                seconds = minutes * 60.0 * float(np.exp(0.3 * self._ops.standard_normal()))
                t = yield from self._hold(t, seconds, MachineState.SETUP, reason, motor_on=True)
                self._set_state(t, MachineState.RUNNING, None)
            die = order.die
            good = made = 0
            lot: Lot | None = None
            lot_count = 0
            lot_material = 1.0
            while good < order.quantity and made < 2 * order.quantity:
                if lot is None or lot_count >= self.op.lot_size:
                    lot = Lot(
                        f"{order.id}-{made // self.op.lot_size + 1:02d}",
                        order.id,
                        material_lot=f"HEAT-{int(self._ops.integers(100_000, 1_000_000))}",
                    )
                    lot_count = 0
                    lot_material = float(
                        np.clip(1.0 + LOT_MATERIAL_SD * self._material_rng.standard_normal(), 0.95, 1.05)
                    )
                if self._oil.temp_c >= self.op.overtemp_trip_c:
                    t = yield from self._cool_down(t)
                    self._set_state(t, MachineState.RUNNING, None)
                t, ok = yield from self._stroke(t, order, lot, part, lot_material)
                made += 1
                lot_count += 1
                good += int(ok)
                if self._running_s >= self._next_failure_s:
                    weights = np.array([w for _, w in self.op.breakdown_reasons])
                    pick = int(self._ops.choice(len(weights), p=weights / weights.sum()))
                    repair = max(self._ops.exponential(self.op.mttr_h * 3600.0), self.op.min_repair_s)
                    reason = self.op.breakdown_reasons[pick][0]
                    t = yield from self._hold(t, repair, MachineState.DOWN, reason, motor_on=False)
                    self._set_state(t, MachineState.RUNNING, None)
                    self._next_failure_s = self._running_s + self._ops.exponential(self.op.mtbf_h * 3600.0)
                elif self._running_s >= self._next_microstop_s:
                    median = self.op.microstop_median_s
                    seconds = float(np.clip(median * np.exp(0.6 * self._ops.standard_normal()), 30.0, 300.0))
                    t = yield from self._hold(t, seconds, MachineState.IDLE, "microstop", motor_on=True)
                    self._set_state(t, MachineState.RUNNING, None)
                    self._next_microstop_s = self._running_s + self._draw_microstop_interval()
                gap_us = self._pending_gap_us
                self._idle(t, t + gap_us)
                self._motor_s += gap_us / US
                t += gap_us
                yield t

    def _stroke(
        self, t: int, order: ProductionOrder, lot: Lot, part: PartSpec, lot_material: float
    ) -> Generator[int, None, tuple[int, bool]]:
        hours = self._motor_s / 3600.0
        self.condition = condition_of(self.params, severities_at(self.faults, hours, self._life_scale))
        material = lot_material * (1.0 + WITHIN_LOT_MATERIAL_SD * float(self._material_rng.standard_normal()))
        oil_true = self._oil.temp_c
        curves = simulate_stroke(
            self.params,
            self.condition,
            part.recipe,
            material=material,
            oil_temp_c=oil_true,
            dt_us=self._dt_us,
            sensors=self._sensors,
            rng=self._noise,
        )
        idle = self._read_idle_power(t)
        self._unloaded = []
        end = t + curves.duration_us
        self._timeline.curve(t, end, curves.dt_us, curves.power_true_kw)
        self._motor_s += curves.duration_us / US
        yield end  # the gateway reports the stroke once it is complete

        gap_s = self._loading_gap_s(part)
        self._pending_gap_us = round(gap_s * US)
        self._running_s += curves.duration_us / US + gap_s
        oil_read = float(self._temp_sensor.read(np.array([oil_true]), self._noise)[0])
        features = stroke_features(curves, oil_temp_c=oil_read, gap_s=gap_s)
        if idle is not None:
            features["idle_power_kw"] = idle
        good, reason = judge(features, part.window, self._ops, self.op.surface_defect_rate)
        self._stroke_n += 1
        n = self._stroke_n
        waveform_signals = {
            name: values
            for name, values in (
                ("pressure", curves.pressure_bar),
                ("position", curves.position_mm),
                ("force", curves.force_kn),
            )
            if name in self._wave_specs
        }
        step = max(1, math.ceil(curves.samples / WAVEFORM_POINTS))
        waveform = (
            Waveform(
                t,
                curves.dt_us * step,
                {k: np.ascontiguousarray(v[::step]) for k, v in waveform_signals.items()},
            )
            if waveform_signals
            else None
        )
        stroke = Stroke(
            machine=self.machine.id,
            n=n,
            start_us=t,
            end_us=end,
            good=good,
            features=features,
            scrap_reason=reason,
            order=order.id,
            part=order.part_number,
            lot=lot.id,
            material_lot=lot.material_lot,
            serial=serial_number(self.machine.id, n),
            die=order.die,
            waveform=waveform,
        )
        blocks = [
            self._wave_block(name, t, curves.dt_us, curves.duration_us, v)
            for name, v in waveform_signals.items()
        ]
        if blocks:
            self._emit(MessageKind.SAMPLES, end, samples=blocks)
        self._emit(MessageKind.STROKES, end, strokes=[stroke], good=int(good), scrap=int(not good))
        truth = self.condition.truth(self.params)
        truth.update(
            motor_hours=hours,
            material_factor=material,
            oil_temp_true_c=oil_true,
            peak_pressure_true_bar=curves.peak_true_pa / 1e5,
            pressing_timed_out=float(curves.timed_out),
        )
        self.results.append(StrokeResult(self.machine.id, stroke, truth))
        return end, good

    def _hold(
        self, t: int, seconds: float, state: MachineState, reason: str | None, *, motor_on: bool
    ) -> Generator[int, None, int]:
        """Stay in ``state`` for ``seconds``, the motor idling (pump unloaded) or off."""
        self._set_state(t, state, reason)
        end = t + round(seconds * US)
        if motor_on:
            self._motor_kw = self._idle(t, end)
            self._motor_s += seconds
        else:
            self._timeline.level(t, end, 0.0)
            self._motor_kw = 0.0
            self._unloaded = []  # a stopped motor ends the idle gap
        yield end
        self._motor_kw = self.idle_kw()
        return end

    def _idle(self, t0: int, t1: int) -> float:
        """The motor turns the unloaded pump over ``[t0, t1)``; returns its power.

        One level for the whole span, at the oil temperature of its start: the oil moves by well under
        a degree over a loading gap or a microstop (its time constant is most of an hour).
        """
        kw = self.idle_kw()
        self._timeline.level(t0, t1, kw)
        if t1 > t0:
            self._unloaded.append((t0, t1, kw))
        return kw

    def _read_idle_power(self, t: int) -> float | None:
        """``idle_power_kw`` of a stroke starting at ``t``: the gateway's power meter over the idle gap."""
        if not self._unloaded or self._unloaded[-1][1] != t:
            return None
        start = self._unloaded[0][0]
        first = max(start, t - round((IDLE_WINDOW_S + 1.0) * US))  # the meter's buffer: what the window needs
        ts = _grid(first - 1, t - 1, self._power_dt_us)  # samples in [first, t)
        true_kw = np.zeros(len(ts))
        for t0, t1, kw in self._unloaded:
            true_kw[(ts >= t0) & (ts < t1)] = kw
        measured = np.maximum(self._power_sensor.read(true_kw, self._idle_noise), 0.0)
        return idle_power_kw(ts, measured, start, t)

    def _cool_down(self, t: int) -> Generator[int, None, int]:
        """Over-temperature trip: motor off until the oil is back under the restart temperature."""
        logger.info("%s: oil at %.1f °C, over-temperature trip", self.machine.id, self._oil.temp_c)
        waited = 0.0
        while self._oil.temp_c > self.op.overtemp_restart_c and waited < OVERTEMP_MAX_WAIT_S:
            t = yield from self._hold(
                t, OVERTEMP_POLL_S, MachineState.DOWN, "fault.overtemperature", motor_on=False
            )
            waited += OVERTEMP_POLL_S
        return t

    # --- helpers -------------------------------------------------------------------------------------

    def _make_sensors(self, specs: Mapping[str, SignalSpec]) -> StrokeSensors:
        base = StrokeSensors()
        pressure, position, force = (specs.get(n) for n in WAVEFORM_SIGNALS)
        full_scale = 400.0
        if pressure is not None and math.isfinite(pressure.max_value) and math.isfinite(pressure.min_value):
            full_scale = pressure.max_value - pressure.min_value
        return StrokeSensors(
            pressure=_sensor(pressure, 0.01, PRESSURE_NOISE_FS * full_scale),
            position=_sensor(position, 0.01, base.position.noise_sd),
            force=_sensor(force, 0.1, 0.0),
            power=Sensor(0.01, POWER_NOISE_OF_RATED * self.params.motor_rated_kw),
        )

    def _wave_block(self, name: str, t0: int, dt_us: int, duration_us: int, values: F64) -> SampleBlock:
        spec = self._wave_specs[name]
        own_dt = _dt_us(spec, DEFAULT_WAVEFORM_HZ)
        if own_dt == dt_us:
            return SampleBlock.regular(name, t0, dt_us, values)
        # A slower channel on the same gateway: resample the curve on its own grid.
        own_t = np.arange(0, duration_us + 1, own_dt, dtype=np.int64)
        sim_t = np.arange(len(values), dtype=np.int64) * dt_us
        resampled = np.interp(own_t, sim_t, values)
        return SampleBlock.regular(
            name, t0, own_dt, _sensor(spec, spec.resolution, 0.0).read(resampled, None)
        )

    def _production_equilibrium_c(self) -> float:
        """Oil temperature of a healthy press in steady production: where every run starts."""
        part = self.parts[0]
        gap = self._median_gap_s(part)
        stroke_s = part.reference["stroke_time_s"]
        mean_kw = (part.reference["energy_kj"] + self.params.idle_kw * gap) / (stroke_s + gap)
        heat = float(heat_to_oil_kw(self.params, np.array([mean_kw]))[0])
        return self._oil_equilibrium(heat)

    def _oil_equilibrium(self, heat_kw: float) -> float:
        healthy = healthy_condition(self.params)
        return OilThermal(self.params, 0.0).equilibrium_c(heat_kw, healthy.cooler_effectiveness)

    def _median_gap_s(self, part: PartSpec) -> float:
        if self.op.loading_gap_s is not None:
            return self.op.loading_gap_s
        target = self.machine.target_cycle_s
        if target is None:
            return 4.0  # a manually loaded press without a target: a few seconds
        return max(1.5, target - part.reference["stroke_time_s"])

    def _loading_gap_s(self, part: PartSpec) -> float:
        median = self._median_gap_s(part)
        gap = median * float(np.exp(self.op.loading_gap_sigma * self._ops.standard_normal()))
        return float(np.clip(gap, 0.5 * median, 4.0 * median))

    def _draw_microstop_interval(self) -> float:
        if self.op.microstops_per_h <= 0:
            return math.inf
        return float(self._ops.exponential(3600.0 / self.op.microstops_per_h))

    def _new_order(self) -> tuple[ProductionOrder, PartSpec]:
        self._order_k += 1
        part = self.parts[int(self._ops.integers(len(self.parts)))]
        low, high = self.op.order_quantity
        order = ProductionOrder(
            id=f"OF-{self.machine.id}-{self._order_k:04d}",
            part_number=part.part_number,
            quantity=int(self._ops.integers(low, high + 1)),
            die=part.die,
            target_cycle_s=self.machine.target_cycle_s,
        )
        return order, part

    def _set_state(self, ts_us: int, state: MachineState, reason: str | None) -> None:
        if self._state_known and (state, reason) == (self.state, self._reason):
            return
        self._state_known = True
        self.state, self._reason = state, reason
        self._emit(MessageKind.STATES, ts_us, states=[StateChange(ts_us, state, reason)])

    def _emit(
        self,
        kind: MessageKind,
        ts_us: int,
        *,
        samples: Sequence[SampleBlock] = (),
        strokes: Sequence[Stroke] = (),
        states: Sequence[StateChange] = (),
        good: int = 0,
        scrap: int = 0,
    ) -> None:
        key = IdempotencyKey(self.source, self.epoch, self._seq)
        self._seq += 1
        batch = Batch(
            key, self.machine.id, samples=tuple(samples), strokes=tuple(strokes), states=tuple(states)
        )
        payload = encode_batch(batch, sent_us=ts_us)
        self.outbox.append(
            Message(
                self._topics[kind], payload, kind, ts_us, batch.points, len(strokes), len(states), good, scrap
            )
        )
