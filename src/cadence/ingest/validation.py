"""Check a decoded batch against the plant: known machine, known signals, values in range, topic agreement.

The codec (:func:`cadence.protocol.decode_message`) has already checked the shape of the message, its
timestamps and that values are finite; this module checks what only the plant file knows. Every refusal
is an :class:`~cadence.errors.IngestError` whose message names the bad key or value and what is allowed.

>>> from cadence.domain import Area, Batch, IdempotencyKey, Line, Machine, Plant, SampleBlock, Site
>>> from cadence.domain import SignalSpec
>>> temp = SignalSpec("oil_temp", "°C", 1, 0.1, min_value=-20, max_value=120)
>>> press = Machine("P01", "Press 1", "L", (temp,))
>>> plant = Plant(Site("s", "Site"), (Area("A", "Area"),), (Line("L", "Line", "A"),), (press,))
>>> hot = SampleBlock.regular("oil_temp", 0, 1, [45.0, 150.0])
>>> try:
...     PlantValidator(plant).check(Batch(IdempotencyKey("gw", 1, 0), "P01", samples=(hot,)))
... except InvalidValue as err:
...     print(err.code, "|", err)
ingest.invalid_value | samples[0] (oil_temp): value 150.0 is outside the range of P01/oil_temp [-20, 120] °C
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from cadence.domain.batch import Batch
from cadence.domain.plant import Plant
from cadence.domain.samples import F64
from cadence.domain.signals import SignalSpec
from cadence.errors import InvalidValue, TopicMismatch, UnknownMachine, UnknownSignal
from cadence.protocol.topics import parse_topic

# Values are stored as integer steps of the signal's resolution, exact in float64 only below 2^52 steps
# (53-bit mantissa). A value beyond that would make the store refuse the whole commit group, so it is
# refused here, alone, with its reason.
MAX_STEPS = 2**52
# Below this many values, Python's min/max on a list beats numpy's reductions (~1 µs fixed cost each):
# single-sample messages are common (one slow signal per message) and ingest pays this per message.
SMALL_BLOCK = 32
# Topics already parsed, to skip parse_topic for the few topics a plant uses. Bounded because topics
# come from senders: past this many, new ones are parsed each time instead of being remembered.
TOPIC_CACHE_SIZE = 4096


class PlantValidator:
    """Checks batches against one plant; safe to share between threads (its only state is a topic cache)."""

    def __init__(self, plant: Plant) -> None:
        self._machines: dict[str, Mapping[str, SignalSpec]] = {
            m.id: {s.name: s for s in m.signals} for m in plant.machines
        }
        self._known_machines = ", ".join(sorted(self._machines))
        self._topics: dict[str, str] = {}  # topic -> machine; dict get/set are atomic under the GIL

    def knows(self, machine: str) -> bool:
        """True for a machine of the plant."""
        return machine in self._machines

    def check_topic(self, topic: str, batch: Batch) -> None:
        """The topic is a version-1 data topic naming the payload's machine."""
        machine = self._topics.get(topic)
        if machine is None:
            try:
                machine, _kind = parse_topic(topic)
            except ValueError as err:
                raise TopicMismatch(str(err), topic=topic) from None
            if len(self._topics) < TOPIC_CACHE_SIZE:
                self._topics[topic] = machine
        if machine != batch.machine:
            raise TopicMismatch(
                f"topic {topic!r} names machine {machine!r} but the payload is about {batch.machine!r}: "
                "publish each machine's data on its own topic",
                topic=topic,
                machine=batch.machine,
            )

    def check(self, batch: Batch) -> None:
        """Raise the first problem found in ``batch``, or return if it fits the plant."""
        signals = self._machines.get(batch.machine)
        if signals is None:
            raise UnknownMachine(
                f"machine {batch.machine!r} is not in the plant file; known machines: {self._known_machines}",
                machine=batch.machine,
            )
        for index, block in enumerate(batch.samples):
            where = f"samples[{index}] ({block.signal})"
            spec = self._signal(batch.machine, signals, block.signal, where)
            _check_range(batch.machine, spec, block.values, where)
        for index, stroke in enumerate(batch.strokes):
            where = f"strokes[{index}] (n={stroke.n})"
            if stroke.machine != batch.machine:
                raise InvalidValue(
                    f"{where}: stroke of machine {stroke.machine!r} in a message about {batch.machine!r}",
                    machine=batch.machine,
                )
            if stroke.waveform is not None:
                for name, values in stroke.waveform.signals.items():
                    spec = self._signal(batch.machine, signals, name, f"{where} waveform")
                    _check_range(
                        batch.machine, spec, np.asarray(values, dtype=np.float64), f"{where} waveform"
                    )

    def _signal(self, machine: str, signals: Mapping[str, SignalSpec], name: str, where: str) -> SignalSpec:
        spec = signals.get(name)
        if spec is None:
            allowed = ", ".join(sorted(signals)) or "(none declared)"
            raise UnknownSignal(
                f"{where}: machine {machine!r} has no signal {name!r}; its signals: {allowed}",
                machine=machine,
                signal=name,
            )
        return spec


def _check_range(machine: str, spec: SignalSpec, values: F64, where: str) -> None:
    count = len(values)
    if not count:
        return
    if count <= SMALL_BLOCK:
        as_list = values.tolist()
        low, high = min(as_list), max(as_list)
    else:
        low, high = float(values.min()), float(values.max())
    bounded = not (math.isinf(spec.min_value) and math.isinf(spec.max_value))
    if bounded and (low < spec.min_value or high > spec.max_value):
        bad = low if low < spec.min_value else high
        raise InvalidValue(
            f"{where}: value {bad} is outside the range of {machine}/{spec.name} "
            f"[{spec.min_value}, {spec.max_value}] {spec.unit}",
            machine=machine,
            signal=spec.name,
            value=bad,
            min=spec.min_value,
            max=spec.max_value,
        )
    largest = max(abs(low), abs(high))
    if largest / spec.resolution > MAX_STEPS:
        raise InvalidValue(
            f"{where}: value {largest} of {machine}/{spec.name} is too large to store at its resolution "
            f"{spec.resolution} {spec.unit} (more than 2^52 steps)",
            machine=machine,
            signal=spec.name,
            value=largest,
        )
