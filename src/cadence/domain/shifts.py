"""Shifts: a weekly pattern of named shifts in the plant's time zone, closed on the plant's holidays.

>>> from datetime import datetime, time
>>> from zoneinfo import ZoneInfo
>>> paris = ZoneInfo("Europe/Paris")
>>> morning = ShiftPattern("matin", start=time(5, 0), hours=8.0, weekdays=frozenset(range(5)))
>>> day = datetime(2026, 11, 30, tzinfo=paris)  # a Monday
>>> from datetime import timedelta
>>> [s.start.isoformat() for s in shifts_between([morning], day, day + timedelta(days=1))]
['2026-11-30T05:00:00+01:00']

A holiday closes every shift that would *start* on that local date; a night shift that started the
evening before still runs into it:

>>> closed = HolidayCalendar((Holiday.parse("2026-11-30", "Fermeture"),))
>>> shut = ShiftPattern("matin", start=time(5, 0), hours=8.0, holidays=closed)
>>> [s.start.day for s in shifts_between([shut], day, day + timedelta(days=2))]
[1]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

ALL_WEEKDAYS = frozenset(range(7))  # Monday = 0
# Recurring holidays are checked against a leap year, so that 02-29 is accepted (it then falls only in
# leap years).
_LEAP_YEAR = 2000
_HOLIDAY_TEXT = re.compile(r"^(?:(\d{4})-)?(\d{2})-(\d{2})$")


@dataclass(frozen=True, slots=True)
class Holiday:
    """A day without shifts: one date when ``year`` is set, else the same month and day every year.

    >>> Holiday.parse("05-01", "Fête du travail").falls_on(date(2031, 5, 1))
    True
    >>> Holiday.parse("2026-05-14", "Ascension").falls_on(date(2027, 5, 14))
    False
    >>> Holiday.parse("2026-02-30")
    Traceback (most recent call last):
    ...
    ValueError: '2026-02-30': not a calendar date (day is out of range for month); write YYYY-MM-DD ...
    """

    month: int
    day: int
    year: int | None = None
    name: str = ""

    def __post_init__(self) -> None:
        try:
            date(self.year if self.year is not None else _LEAP_YEAR, self.month, self.day)
        except ValueError as err:
            raise ValueError(
                f"{self.text!r}: not a calendar date ({err}); "
                "write YYYY-MM-DD (one day) or MM-DD (every year)"
            ) from None

    @classmethod
    def parse(cls, text: str, name: str = "") -> Holiday:
        """``YYYY-MM-DD`` for one day, ``MM-DD`` for the same day every year."""
        match = _HOLIDAY_TEXT.match(text.strip())
        if match is None:
            raise ValueError(f"{text!r}: must be YYYY-MM-DD (one day) or MM-DD (every year)")
        year, month, day = match.groups()
        return cls(int(month), int(day), None if year is None else int(year), name)

    @property
    def text(self) -> str:
        """The form it was written in: ``2026-12-25`` or ``12-25``."""
        head = "" if self.year is None else f"{self.year:04d}-"
        return f"{head}{self.month:02d}-{self.day:02d}"

    @property
    def recurring(self) -> bool:
        return self.year is None

    def falls_on(self, day: date) -> bool:
        return (
            day.month == self.month and day.day == self.day and (self.year is None or day.year == self.year)
        )


@dataclass(frozen=True, slots=True)
class HolidayCalendar:
    """The plant's closed days. Empty by default: every day of a pattern's weekdays is worked.

    >>> cal = HolidayCalendar((Holiday.parse("12-25", "Noël"), Holiday.parse("2026-12-24")))
    >>> cal.holiday_on(date(2030, 12, 25)).name, cal.is_holiday(date(2027, 12, 24))
    ('Noël', False)
    """

    holidays: tuple[Holiday, ...] = ()

    def holiday_on(self, day: date) -> Holiday | None:
        """The holiday on ``day`` (a one-off date wins over a recurring one), or ``None``."""
        found = [h for h in self.holidays if h.falls_on(day)]
        found.sort(key=lambda h: h.recurring)
        return found[0] if found else None

    def is_holiday(self, day: date) -> bool:
        return any(h.falls_on(day) for h in self.holidays)

    def between(self, first: date, last: date) -> list[tuple[date, Holiday]]:
        """Every holiday date in ``[first, last]``, in order.

        >>> cal = HolidayCalendar((Holiday.parse("01-01", "Jour de l'an"),))
        >>> [d.isoformat() for d, _ in cal.between(date(2026, 12, 1), date(2028, 1, 31))]
        ['2027-01-01', '2028-01-01']
        """
        out: list[tuple[date, Holiday]] = []
        day = first
        while day <= last:
            holiday = self.holiday_on(day)
            if holiday is not None:
                out.append((day, holiday))
            day += timedelta(days=1)
        return out


NO_HOLIDAYS = HolidayCalendar()


@dataclass(frozen=True, slots=True)
class ShiftPattern:
    """A shift that starts at ``start`` local time on each of ``weekdays`` and lasts ``hours``.

    It is not scheduled on the dates of ``holidays`` (the plant's calendar; the plant file gives it to
    every shift unless the shift says ``on_holidays = true``).
    """

    name: str
    start: time
    hours: float
    weekdays: frozenset[int] = ALL_WEEKDAYS
    holidays: HolidayCalendar = NO_HOLIDAYS

    def __post_init__(self) -> None:
        if not 0 < self.hours <= 24:
            raise ValueError(f"shift {self.name}: hours must be within (0, 24], got {self.hours}")
        if not self.weekdays <= ALL_WEEKDAYS or not self.weekdays:
            raise ValueError(f"shift {self.name}: weekdays must be a non-empty subset of 0..6 (Monday = 0)")

    def starts_on(self, day: date) -> bool:
        """Whether an occurrence starts on the local date ``day``: a weekday of the pattern, no holiday."""
        return day.weekday() in self.weekdays and not self.holidays.is_holiday(day)


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
    durations are real elapsed hours. An occurrence whose local start date is one of its pattern's
    holidays does not exist.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("shifts_between needs timezone-aware datetimes")
    found: list[Shift] = []
    tz = start.tzinfo
    day = start.astimezone(tz).date() - timedelta(days=1)
    while datetime.combine(day, time(0), tz) < end:
        for pattern in patterns:
            if not pattern.starts_on(day):
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


def find_shift(patterns: Iterable[ShiftPattern], name: str, day: date, tz: tzinfo) -> Shift | None:
    """The occurrence of the shift called ``name`` that starts on the local date ``day`` in zone ``tz``,
    or ``None`` when that shift does not run that day (not one of its weekdays, or a holiday).

    >>> from zoneinfo import ZoneInfo
    >>> night = ShiftPattern("nuit", start=time(21, 0), hours=8.0, weekdays=frozenset({0}))
    >>> find_shift([night], "nuit", date(2026, 11, 30), ZoneInfo("Europe/Paris")).end.isoformat()
    '2026-12-01T05:00:00+01:00'
    >>> find_shift([night], "nuit", date(2026, 12, 1), ZoneInfo("Europe/Paris")) is None
    True
    """
    chosen = [p for p in patterns if p.name == name]
    begin = datetime.combine(day, time(0), tz)
    for shift in shifts_between(chosen, begin, datetime.combine(day + timedelta(days=1), time(0), tz)):
        if shift.start.date() == day:
            return shift
    return None
