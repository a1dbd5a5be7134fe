"""The benchmark's data: real press curves and oil temperatures from Cadence's plant simulator.

The simulator (seeded, physics-inspired, quantised to each sensor's resolution, with noise) publishes one
message per stroke; benchmarks need exact message sizes, so its curves are taken apart and re-cut:

* **Waveforms**: per press, the pressure, position and force curves of successive strokes are laid end to
  end on one continuous 500 Hz grid (a gateway recording continuously), then cut into messages of
  ``k`` samples of each of the three signals (``3k`` points): regular blocks, sent as ``t0``/``dt``.
* **Oil temperature**: 1 Hz readings at 0.1 °C from a simulated run of several hours, sent either one
  sample per message or a few samples per message.

Every message gets its own idempotency key (one source per press, one epoch per workload), and the same
points are written as InfluxDB line protocol for the comparison.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cadence.clock import SimClock
from cadence.config import EXAMPLE_PLANT
from cadence.domain import Batch, IdempotencyKey, SampleBlock
from cadence.domain.plant import Plant
from cadence.plantfile import load_plant
from cadence.protocol.codec import decode_message, encode_batch
from cadence.protocol.topics import MessageKind, topic_for
from cadence.simulator import CallbackPublisher, PlantSimulator

US = 1_000_000
WAVE_SIGNALS = ("pressure", "position", "force")
SLOW_SIGNAL = "oil_temp"
# 2025-01-01T00:00:00Z: a plausible recent instant for every workload (the store refuses years outside
# 2000..2100, and InfluxDB's default retention policy keeps everything).
START_US = 1_735_689_600_000_000
# Simulated seconds per step when growing the waveform workload: one minute of six presses is ~13 strokes.
SIM_STEP_S = 60
# The simulator stops here even if fewer points than asked were produced (a bound on the loop).
MAX_SIM_S = 4 * 3600
# Tick of the slow-signal simulation: heat input is averaged over it and the temperature interpolated
# within it; oil temperature moves over minutes, so 10 s loses nothing and runs 3x faster than 1 s.
SLOW_TICK_S = 10.0


@dataclass(frozen=True, slots=True)
class Message:
    """One pre-encoded message and the points it carries."""

    topic: str
    payload: bytes
    points: int


@dataclass(frozen=True, slots=True)
class Workload:
    """Messages to publish, and the decoded batches they came from (for the in-process measurements)."""

    name: str
    messages: tuple[Message, ...]
    batches: tuple[Batch, ...]

    @property
    def points(self) -> int:
        return sum(m.points for m in self.messages)

    @property
    def payload_bytes(self) -> int:
        return sum(len(m.payload) for m in self.messages)

    @property
    def points_per_message(self) -> float:
        return self.points / len(self.messages)


def example_plant() -> Plant:
    """The shipped example plant: the one ``cadence ingest`` validates against by default."""
    return load_plant(EXAMPLE_PLANT)


def press_curves(plant: Plant, samples_per_press: int, seed: int = 1) -> dict[str, dict[str, np.ndarray]]:
    """``machine → signal → values``: at least ``samples_per_press`` simulated samples of each curve."""
    collected: dict[str, dict[str, list[np.ndarray]]] = {
        m.id: {s: [] for s in WAVE_SIGNALS} for m in plant.machines
    }
    counts = dict.fromkeys(collected, 0)

    def take(topic: str, payload: bytes) -> None:
        if not topic.endswith(f"/{MessageKind.SAMPLES.value}"):
            return
        batch = decode_message(payload)
        blocks = {b.signal: b.values for b in batch.samples if b.signal in WAVE_SIGNALS}
        if len(blocks) != len(WAVE_SIGNALS):
            return  # a tick of slow signals, not a stroke
        n = min(len(v) for v in blocks.values())  # the three curves of one stroke share their grid
        for signal, values in blocks.items():
            collected[batch.machine][signal].append(values[:n])
        counts[batch.machine] += n

    sim = PlantSimulator(plant, CallbackPublisher(take), SimClock(START_US), seed=seed)
    elapsed_s = 0
    while min(counts.values()) < samples_per_press and elapsed_s < MAX_SIM_S:
        elapsed_s += SIM_STEP_S
        sim.step_until(sim.start_us + elapsed_s * US)
    sim.close()
    if min(counts.values()) < samples_per_press:
        raise RuntimeError(f"the simulator gave only {min(counts.values())} samples per press")
    return {
        machine: {s: np.concatenate(parts)[:samples_per_press] for s, parts in signals.items()}
        for machine, signals in collected.items()
    }


def oil_temperatures(plant: Plant, hours: float, seed: int = 2) -> dict[str, np.ndarray]:
    """``machine → readings``: 1 Hz oil temperature of each press over ``hours`` simulated hours.

    Simulated with a plant reduced to the oil temperature signal, so the (costly) curves of each stroke
    are computed but never encoded.
    """
    source = EXAMPLE_PLANT.read_text(encoding="utf-8")
    kept = [
        line for line in source.splitlines() if not line.startswith((*WAVE_SIGNALS, "motor_power"))
    ]  # the profile's signal lines start with the signal name; oil_temp stays
    readings: dict[str, list[float]] = {m.id: [] for m in plant.machines}

    def take(topic: str, payload: bytes) -> None:
        batch = decode_message(payload)
        for block in batch.samples:
            if block.signal == SLOW_SIGNAL:
                readings[batch.machine].extend(block.values.tolist())

    with tempfile.TemporaryDirectory(prefix="cadence-bench-plant-") as tmp:
        reduced = Path(tmp) / "plant.toml"
        reduced.write_text("\n".join(kept) + "\n", encoding="utf-8")
        slow_plant = load_plant(reduced)
    sim = PlantSimulator(
        slow_plant, CallbackPublisher(take), SimClock(START_US), seed=seed, batch_interval_s=SLOW_TICK_S
    )
    sim.step_until(sim.start_us + round(hours * 3600 * US))
    sim.close()
    wanted = round(hours * 3600)
    short = {m: len(v) for m, v in readings.items() if len(v) < wanted}
    if short:
        raise RuntimeError(f"the simulator gave fewer oil temperature readings than asked: {short}")
    return {m: np.asarray(v[:wanted], dtype=np.float64) for m, v in readings.items()}


def _round_robin(per_machine: dict[str, list[Batch]]) -> list[Batch]:
    """Interleave the presses' messages, as six gateways publishing side by side would."""
    out: list[Batch] = []
    queues = list(per_machine.values())
    for i in range(max(len(q) for q in queues)):
        out.extend(q[i] for q in queues if i < len(q))
    return out


def _encode(name: str, batches: Iterable[Batch], kind: MessageKind) -> Workload:
    decoded: list[Batch] = []
    messages: list[Message] = []
    for batch in batches:
        payload = encode_batch(batch)
        # Keep what ingest will see (its digest included), not the batch as built: the raw-store
        # measurement must store exactly what the end-to-end chain stores.
        decoded.append(decode_message(payload))
        messages.append(Message(topic_for(batch.machine, kind), payload, batch.points))
    return Workload(name, tuple(messages), tuple(decoded))


def waveform_workload(
    curves: dict[str, dict[str, np.ndarray]], samples_per_message: int, epoch: int
) -> Workload:
    """Messages of ``samples_per_message`` samples of pressure, position and force each (500 Hz)."""
    dt_us = 2_000
    per_machine: dict[str, list[Batch]] = {}
    for m_index, (machine, signals) in enumerate(curves.items()):
        total = len(signals[WAVE_SIGNALS[0]])
        t0_machine = START_US + m_index * 1_000  # presses are not sample-synchronous with each other
        batches: list[Batch] = []
        for seq, start in enumerate(range(0, total, samples_per_message)):
            stop = min(start + samples_per_message, total)
            blocks = tuple(
                SampleBlock.regular(s, t0_machine + start * dt_us, dt_us, signals[s][start:stop])
                for s in WAVE_SIGNALS
            )
            batches.append(Batch(IdempotencyKey(f"bench-{machine}", epoch, seq), machine, samples=blocks))
        per_machine[machine] = batches
    name = f"waveform, {3 * samples_per_message:,} points/message"
    return _encode(name, _round_robin(per_machine), MessageKind.SAMPLES)


def slow_workload(
    temps: dict[str, np.ndarray], samples_per_message: int, epoch: int, limit_per_machine: int | None = None
) -> Workload:
    """Oil temperature (1 Hz) in messages of ``samples_per_message`` readings, one press per message."""
    per_machine: dict[str, list[Batch]] = {}
    for m_index, (machine, values) in enumerate(temps.items()):
        readings = values if limit_per_machine is None else values[:limit_per_machine]
        t0_machine = START_US + m_index * 137_000  # gateways do not read their sensors in lockstep
        batches: list[Batch] = []
        for seq, start in enumerate(range(0, len(readings), samples_per_message)):
            chunk = readings[start : start + samples_per_message]
            block = SampleBlock.regular(SLOW_SIGNAL, t0_machine + start * US, US, chunk)
            batches.append(Batch(IdempotencyKey(f"bench-{machine}", epoch, seq), machine, samples=(block,)))
        per_machine[machine] = batches
    label = "1 point/message" if samples_per_message == 1 else f"{samples_per_message} points/message"
    return _encode(f"oil_temp, {label}", _round_robin(per_machine), MessageKind.SAMPLES)


def rekeyed(workload: Workload, epochs: Sequence[int]) -> Iterator[tuple[str, bytes]]:
    """The workload's messages again for each of ``epochs``: new keys and later timestamps.

    Each copy follows the previous one in time: the store keeps one sample per series and timestamp, so
    copies at the same instants would be merged away instead of stored. A generator, for runs longer than
    the workload without holding it several times in memory (the caller streams it to a file).
    """
    first = min(int(b.ts_us[0]) for batch in workload.batches for b in batch.samples)
    last = max(int(b.ts_us[-1]) for batch in workload.batches for b in batch.samples)
    span_us = last - first + 1_000_000  # a second's gap between copies
    for copy, epoch in enumerate(epochs):
        shift = copy * span_us
        for message, batch in zip(workload.messages, workload.batches, strict=True):
            key = IdempotencyKey(batch.key.source, epoch, batch.key.seq)
            blocks = tuple(SampleBlock(b.signal, b.ts_us + shift, b.values) for b in batch.samples)
            yield message.topic, encode_batch(Batch(key, batch.machine, samples=blocks))


def line_protocol(workload: Workload, decimals: dict[str, int]) -> list[bytes]:
    """One InfluxDB line-protocol body per message: the same points, one line (one field) per point.

    Values are printed with the digits of the signal's resolution, as a gateway would, timestamps in µs
    (``precision=u``).
    """
    bodies: list[bytes] = []
    for batch in workload.batches:
        lines: list[str] = []
        for block in batch.samples:
            digits = decimals[block.signal]
            prefix = f"{block.signal},machine={batch.machine} value="
            lines.extend(
                f"{prefix}{v:.{digits}f} {t}"
                for t, v in zip(block.ts_us.tolist(), block.values.tolist(), strict=True)
            )
        bodies.append(("\n".join(lines) + "\n").encode("ascii"))
    return bodies
