"""Clocks: the only place where Cadence reads the wall clock.

Everything else receives a :class:`cadence.ports.Clock`. Time is an ``int`` of microseconds since the
Unix epoch, UTC, on the wire and in the store; :func:`to_datetime` gives an aware ``datetime``.

>>> clock = SimClock(start_us=1_700_000_000_000_000)
>>> clock.sleep(2.5)
>>> clock.now_us() - 1_700_000_000_000_000
2500000
>>> to_datetime(clock.now_us()).isoformat()
'2023-11-14T22:13:22.500000+00:00'
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

US_PER_S = 1_000_000


def to_datetime(ts_us: int) -> datetime:
    """UTC-aware datetime of a microsecond timestamp."""
    return datetime.fromtimestamp(ts_us / US_PER_S, tz=UTC)


def from_datetime(moment: datetime) -> int:
    """Microsecond timestamp of an aware datetime; naive datetimes are refused."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: Cadence only handles timezone-aware datetimes")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * US_PER_S + delta.microseconds


class WallClock:
    """Real time, optionally scaled.

    ``WallClock(speed=60)`` makes one wall-clock second count as a simulated minute: ``now_us()`` runs
    60× faster from the moment the clock is created and ``sleep(60)`` returns after one real second.
    With ``speed=1`` it is the plain UTC wall clock.
    """

    def __init__(self, speed: float = 1.0, start_us: int | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.speed = speed
        self._wall0_ns = time.time_ns()
        self._mono0_ns = time.monotonic_ns()
        self._start_us = self._wall0_ns // 1_000 if start_us is None else start_us

    def now_us(self) -> int:
        if self.speed == 1.0 and self._start_us == self._wall0_ns // 1_000:
            return time.time_ns() // 1_000
        elapsed_ns = time.monotonic_ns() - self._mono0_ns
        return self._start_us + int(elapsed_ns * self.speed) // 1_000

    def now(self) -> datetime:
        return to_datetime(self.now_us())

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.speed)

    def sleep_until(self, ts_us: int, stop: threading.Event | None = None) -> bool:
        """Sleep until simulated time ``ts_us``; return False early if ``stop`` is set."""
        delay_s = (ts_us - self.now_us()) / US_PER_S / self.speed
        if delay_s <= 0:
            return True
        if stop is None:
            time.sleep(delay_s)
            return True
        return not stop.wait(delay_s)


class SimClock:
    """Virtual time: ``sleep`` advances ``now`` at once. For tests, fast simulation and what-if runs."""

    def __init__(self, start_us: int = 1_700_000_000_000_000) -> None:
        self._now_us = start_us
        self._lock = threading.Lock()

    def now_us(self) -> int:
        return self._now_us

    def now(self) -> datetime:
        return to_datetime(self._now_us)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self._now_us += round(seconds * US_PER_S)

    def sleep_until(self, ts_us: int, stop: threading.Event | None = None) -> bool:
        with self._lock:
            self._now_us = max(self._now_us, ts_us)
        return not (stop is not None and stop.is_set())

    def advance_to(self, ts_us: int) -> None:
        """Move time forward to ``ts_us`` (never backwards)."""
        with self._lock:
            self._now_us = max(self._now_us, ts_us)
