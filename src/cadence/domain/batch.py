"""A batch: one validated message from one source about one machine, with its idempotency key.

A source (PLC gateway, edge agent, simulator) numbers its messages ``seq`` = 0, 1, 2… within an ``epoch``
chosen at random whenever its own buffer is re-created. ``(source, epoch, seq)`` names a message for
ever: a replay or a duplicate carries the same key and is stored once.

>>> key = IdempotencyKey("gw-p01", epoch=7, seq=42)
>>> str(key)
'gw-p01/7/42'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cadence.domain.cycles import Stroke
from cadence.domain.samples import SampleBlock
from cadence.domain.states import StateChange

MAX_KEY_INT = 2**63 - 1  # stored as a signed 64-bit integer by every backend


@dataclass(frozen=True, slots=True, order=True)
class IdempotencyKey:
    """``(source, epoch, seq)``: names one message for ever."""

    source: str
    epoch: int
    seq: int

    def __post_init__(self) -> None:
        if not self.source:
            raise ValueError("source must not be empty")
        for name, value in (("epoch", self.epoch), ("seq", self.seq)):
            if not 0 <= value <= MAX_KEY_INT:
                raise ValueError(f"{name} must be within 0..2^63-1, got {value}")

    def __str__(self) -> str:
        return f"{self.source}/{self.epoch}/{self.seq}"


@dataclass(frozen=True, slots=True)
class Batch:
    """One message's content: samples, stroke records and state changes of one machine.

    ``digest`` is a hash of the canonical payload: the same key arriving with another digest is a conflict,
    not a duplicate.
    """

    key: IdempotencyKey
    machine: str
    samples: tuple[SampleBlock, ...] = ()
    strokes: tuple[Stroke, ...] = ()
    states: tuple[StateChange, ...] = ()
    digest: bytes = b""
    received_us: int = 0
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def points(self) -> int:
        """Number of samples in the batch."""
        return sum(len(block) for block in self.samples)

    @property
    def is_empty(self) -> bool:
        return not (self.samples or self.strokes or self.states)
