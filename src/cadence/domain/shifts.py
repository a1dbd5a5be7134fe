"""Shifts: a weekly pattern of named shifts in the plant's time zone.

>>> from datetime import datetime, time
>>> from zoneinfo import ZoneInfo
>>> paris = ZoneInfo("Europe/Paris")
>>> morning = ShiftPattern("matin", start=time(5, 0), hours=8.0, weekdays=frozenset(range(5)))
>>> day = datetime(2026, 11, 30, tzinfo=paris)  # a Monday
>>> from datetime import timedelta
>>> [s.start.isoformat() for s in shifts_between([morning], day, day + timedelta(days=1))]
['2026-11-30T05:00:00+01:00']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

ALL_WEEKDAYS = frozenset(range(7))  # Monday = 0


@dataclass(frozen=True, slots=True)
class ShiftPattern:
    """A shift that starts at ``start`` local time on each of ``weekdays`` and lasts ``hours``."""

    name: str
    start: time
    hours: float
    weekdays: frozenset[int] = ALL_WEEKDAYS

    def __post_init__(self) -> None:
        if not 0 < self.hours <= 24:
            raise ValueError(f"shift {self.name}: hours must be within (0, 24], got {self.hours}")
        if not self.weekdays <= ALL_WEEKDAYS or not self.weekdays:
            raise ValueError(f"shift {self.name}: weekdays must be a non-empty subset of 0..6 (Monday = 0)")


@dataclass(frozen=True, slots=True)
class Shift:
    """One occurrence of a shift pattern; ``start`` and ``end`` are aware datetimes."""

    name: str
    start: datetime
    end: datetime

    @property
    def duration_s(self) -> float:
        """Real elapsed seconds. (Subtracting two datetimes of one zone ignores a DST change: go via UTC.)"""
        return (self.end.astimezone(UTC) - self.start.astimezone(UTC)).total_seconds()


def shifts_between(patterns: Sequence[ShiftPattern], start: datetime, end: datetime) -> list[Shift]:
    """Every shift occurrence that begins in ``[start, end)``, in time order.

    Local wall-clock times are kept across daylight-saving changes (a 05:00 shift starts at 05:00 local);
    durations are real elapsed hours.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("shifts_between needs timezone-aware datetimes")
    found: list[Shift] = []
    tz = start.tzinfo
    day = start.astimezone(tz).date() - timedelta(days=1)
    while datetime.combine(day, time(0), tz) < end:
        for pattern in patterns:
            if day.weekday() not in pattern.weekdays:
                continue
            begin = datetime.combine(day, pattern.start, tz)
            if start <= begin < end:
                stop = (begin.astimezone(UTC) + timedelta(hours=pattern.hours)).astimezone(tz)
                found.append(Shift(pattern.name, begin, stop))
        day += timedelta(days=1)
    return sorted(found, key=lambda s: s.start)


def current_shift(patterns: Iterable[ShiftPattern], moment: datetime) -> Shift | None:
    """The shift running at ``moment``, if any."""
    patterns = list(patterns)
    longest = max((p.hours for p in patterns), default=0.0)
    for shift in shifts_between(
        patterns, moment - timedelta(hours=longest + 24), moment + timedelta(seconds=1)
    ):
        if shift.start <= moment < shift.end:
            return shift
    return None
