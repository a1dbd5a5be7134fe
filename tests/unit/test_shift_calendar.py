"""The shift calendar: weekly patterns, holidays (one-off and yearly), daylight-saving weeks, plant file."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cadence.config import EXAMPLE_PLANT
from cadence.domain.shifts import (
    Holiday,
    HolidayCalendar,
    ShiftPattern,
    current_shift,
    find_shift,
    shifts_between,
)
from cadence.errors import ConfigError
from cadence.plantfile import load_plant, plant_from_mapping
from cadence.reports.shift import report_shift

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = frozenset(range(5))
# 2027: clocks go back on Sunday 31 October (03:00 → 02:00) and Monday 1 November is All Saints' Day.
TOUSSAINT = HolidayCalendar((Holiday.parse("11-01", "Toussaint"), Holiday.parse("2027-10-28", "Inventaire")))


def three_by_eight(
    holidays: HolidayCalendar, days: frozenset[int] = frozenset(range(7))
) -> list[ShiftPattern]:
    return [
        ShiftPattern("matin", time(5), 8, days, holidays),
        ShiftPattern("après-midi", time(13), 8, days, holidays),
        ShiftPattern("nuit", time(21), 8, days, holidays),
    ]


def test_holiday_parsing_and_matching() -> None:
    once = Holiday.parse("2026-12-24", "Veille de Noël")
    yearly = Holiday.parse("12-25")
    assert (once.year, once.month, once.day, once.text) == (2026, 12, 24, "2026-12-24")
    assert yearly.recurring and yearly.text == "12-25"
    assert once.falls_on(date(2026, 12, 24)) and not once.falls_on(date(2027, 12, 24))
    assert yearly.falls_on(date(2026, 12, 25)) and yearly.falls_on(date(2040, 12, 25))
    leap = Holiday.parse("02-29")
    assert leap.falls_on(date(2028, 2, 29)) and not leap.falls_on(date(2027, 3, 1))
    for bad in ("2026-13-01", "12/25", "2026-2-3", "", "02-30", "2027-02-29"):
        with pytest.raises(ValueError, match="YYYY-MM-DD"):
            Holiday.parse(bad)


def test_calendar_prefers_the_one_off_name() -> None:
    cal = HolidayCalendar((Holiday.parse("05-01", "Fête du travail"), Holiday.parse("2026-05-01", "Pont")))
    found = cal.holiday_on(date(2026, 5, 1))
    assert found is not None and found.name == "Pont"
    found = cal.holiday_on(date(2027, 5, 1))
    assert found is not None and found.name == "Fête du travail"
    assert cal.holiday_on(date(2027, 5, 2)) is None


def test_a_dst_week_with_holidays() -> None:
    week = datetime(2027, 10, 25, tzinfo=PARIS)  # Monday
    found = shifts_between(three_by_eight(TOUSSAINT), week, week + timedelta(days=9))
    by_day: dict[date, list[str]] = {}
    for s in found:
        by_day.setdefault(s.start.date(), []).append(s.name)
    # Thursday 28 (one-off) and Monday 1 November (yearly) have no shift starting on them.
    assert date(2027, 10, 28) not in by_day and date(2027, 11, 1) not in by_day
    assert by_day[date(2027, 10, 27)] == ["matin", "après-midi", "nuit"]
    assert by_day[date(2027, 11, 2)] == ["matin", "après-midi", "nuit"]
    assert len(found) == 3 * 7
    # Local start times survive the change; the night across it lasts 8 real hours, so it ends at 04:00.
    assert {s.start.astimezone(PARIS).hour for s in found} == {5, 13, 21}
    assert all(s.duration_s == 8 * 3600 for s in found)
    across = next(s for s in found if s.name == "nuit" and s.start.date() == date(2027, 10, 30))
    assert across.end.astimezone(PARIS).hour == 4
    # The night that begins on the eve of a holiday still runs into it.
    eve = next(s for s in found if s.name == "nuit" and s.start.date() == date(2027, 10, 31))
    assert eve.end.astimezone(PARIS) == datetime(2027, 11, 1, 5, tzinfo=PARIS)
    assert current_shift(three_by_eight(TOUSSAINT), datetime(2027, 11, 1, 3, tzinfo=PARIS)) == eve
    assert current_shift(three_by_eight(TOUSSAINT), datetime(2027, 11, 1, 9, tzinfo=PARIS)) is None
    # The same week with no holiday: both days are worked.
    plain = shifts_between(three_by_eight(HolidayCalendar()), week, week + timedelta(days=9))
    assert len(plain) == 3 * 9


def test_spring_forward_night_is_eight_real_hours() -> None:
    saturday = datetime(2026, 3, 28, 12, tzinfo=PARIS)
    nights = [
        s for s in shifts_between(three_by_eight(HolidayCalendar()), saturday, saturday + timedelta(days=1))
    ]
    night = next(s for s in nights if s.name == "nuit")
    assert night.duration_s == 8 * 3600
    assert night.end.astimezone(PARIS).hour == 6


def test_find_shift_by_name_and_date() -> None:
    patterns = three_by_eight(TOUSSAINT, WEEKDAYS)
    found = find_shift(patterns, "après-midi", date(2027, 10, 29), PARIS)
    assert found is not None and found.start == datetime(2027, 10, 29, 13, tzinfo=PARIS)
    assert find_shift(patterns, "après-midi", date(2027, 10, 30), PARIS) is None  # a Saturday
    assert find_shift(patterns, "matin", date(2027, 11, 1), PARIS) is None  # a holiday
    assert find_shift(patterns, "soir", date(2027, 10, 29), PARIS) is None  # no such shift
    # The start date is the local one, whatever the zone of the instant it is compared with.
    assert found.start.astimezone(UTC).date() == date(2027, 10, 29)


# --- the plant file ------------------------------------------------------------------------------------


@pytest.fixture
def plant_data(example_plant_path: Path) -> dict[str, Any]:
    return tomllib.loads(example_plant_path.read_text(encoding="utf-8"))


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        plant_from_mapping(data, source="plant.toml")
    return str(info.value)


def test_plant_file_holidays_close_every_shift_but_those_on_holidays(plant_data: dict[str, Any]) -> None:
    text = """
[[holidays]]
date = 2026-12-24
name = "Veille de Noël"

[[holidays]]
date = "12-25"
name = "Noël"
"""
    plant_data.update(tomllib.loads(text))
    plant_data["shifts"].append({"name": "maintenance", "start": "08:00", "hours": 4, "on_holidays": True})
    plant = plant_from_mapping(plant_data)
    christmas = datetime(2026, 12, 24, tzinfo=PARIS)
    found = shifts_between(plant.shifts, christmas, christmas + timedelta(days=2))
    assert [(s.name, s.start.day) for s in found] == [("maintenance", 24), ("maintenance", 25)]
    before = shifts_between(plant.shifts, christmas - timedelta(days=1), christmas)
    assert [s.name for s in before] == ["matin", "maintenance", "après-midi", "nuit"]
    names = [h.name for h in plant.shifts[0].holidays.holidays]
    assert names == ["Veille de Noël", "Noël"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-02-30", "holidays[0].date = '2026-02-30': '2026-02-30': not a calendar date"),
        ("25/12", "holidays[0].date = '25/12': '25/12': must be YYYY-MM-DD (one day) or MM-DD (every year)"),
        (1225, "holidays[0].date = 1225: must be a date"),
    ],
)
def test_plant_file_bad_holiday_names_file_key_and_value(
    plant_data: dict[str, Any], value: object, expected: str
) -> None:
    plant_data["holidays"] = [{"date": value}]
    message = _error(plant_data)
    assert message.startswith("plant.toml: ") and expected in message, message


def test_plant_file_holiday_mistakes(plant_data: dict[str, Any]) -> None:
    plant_data["holidays"] = [{"date": "12-25"}, {"date": "12-25", "name": "Noël"}]
    assert "plant.toml: holidays[1].date = '12-25': already declared by holidays[0]" in _error(plant_data)
    plant_data["holidays"] = [{"name": "Noël"}]
    assert "plant.toml: holidays[0].date: required key is missing" in _error(plant_data)
    plant_data["holidays"] = [{"date": "12-25", "day": "fri"}]
    assert "holidays[0].day = 'fri': unknown key" in _error(plant_data)


def test_the_last_shift_is_found_across_a_three_week_summer_closure() -> None:
    # Closed from Monday 2 to Friday 20 August 2027: with the weekends around it, 22 days without shifts.
    closure = HolidayCalendar(
        tuple(Holiday.parse((date(2027, 8, 2) + timedelta(days=n)).isoformat()) for n in range(19))
    )
    plant = load_plant(EXAMPLE_PLANT)
    plant = replace(plant, shifts=tuple(three_by_eight(closure, WEEKDAYS)))
    shift, running = report_shift(plant, datetime(2027, 8, 22, 12, tzinfo=PARIS))
    assert not running
    assert (shift.name, shift.start) == ("nuit", datetime(2027, 7, 30, 21, tzinfo=PARIS))
