"""Load and validate a plant description (TOML) into the domain :class:`~cadence.domain.Plant`.

Every error names the file, the key, the bad value and what is allowed, for example::

    plant.toml: machines[1].signals.pressure.sampling_hz = -5: must be greater than 0

The format is documented in docs/reference/plant-file.md; ``cadence check-config`` runs this loader.
"""

from __future__ import annotations

import tomllib
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cadence.domain.plant import Area, Line, Machine, Plant, Site
from cadence.domain.shifts import NO_HOLIDAYS, Holiday, HolidayCalendar, ShiftPattern
from cadence.domain.signals import SignalKind, SignalSpec
from cadence.domain.states import MachineState, ReasonCode, reason_tree
from cadence.errors import ConfigError
from cadence.protocol.topics import ID_PATTERN

PLANT_FORMAT_VERSION = 1
_DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
Ident = Annotated[str, Field(pattern=ID_PATTERN.pattern)]


_Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _every_day() -> list[_Day]:
    return ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SignalFile(_Strict):
    unit: str = Field(min_length=1, max_length=16)
    sampling_hz: float = Field(gt=0, le=100_000)
    resolution: float = Field(gt=0)
    kind: Literal["waveform", "slow", "counter"] = "slow"
    description: str = ""
    min: float | None = None
    max: float | None = None


class _SiteFile(_Strict):
    id: Ident
    name: str = Field(min_length=1)
    timezone: str = "Europe/Paris"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError("must be an IANA time zone such as 'Europe/Paris'") from err
        return value


class _AreaFile(_Strict):
    id: Ident
    name: str = Field(min_length=1)


class _LineFile(_Strict):
    id: Ident
    name: str = Field(min_length=1)
    area: Ident


class _ProfileFile(_Strict):
    signals: dict[Ident, _SignalFile] = Field(default_factory=dict)


class _MachineFile(_Strict):
    id: Ident
    name: str = Field(min_length=1)
    line: Ident
    profile: Ident | None = None
    kind: str = "hydraulic_press"
    tonnage_t: float | None = Field(None, gt=0, le=100_000)
    target_cycle_s: float | None = Field(None, gt=0, le=86_400)
    signals: dict[Ident, _SignalFile] = Field(default_factory=dict)


class _ShiftFile(_Strict):
    name: str = Field(min_length=1)
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    hours: float = Field(gt=0, le=24)
    days: list[_Day] = Field(default_factory=_every_day, min_length=1)
    # A shift that runs on holidays too (a weekend maintenance crew, a continuous furnace line).
    on_holidays: bool = False


class _HolidayFile(_Strict):
    """One closed day: ``YYYY-MM-DD`` once, or ``MM-DD`` every year (docs/guides/shift-reports.md)."""

    date: str
    name: str = ""

    @field_validator("date", mode="before")
    @classmethod
    def _calendar_date(cls, value: object) -> str:
        # TOML reads an unquoted 2026-12-25 as a date: accept it as the text it stands for.
        text = value.isoformat() if isinstance(value, date) else value
        if not isinstance(text, str):
            raise ValueError("must be a date: 'YYYY-MM-DD' (one day) or 'MM-DD' (every year)")
        Holiday.parse(text)  # its ValueError names the rule
        return text


class _ReasonFile(_Strict):
    """One reason of the tree: a dotted code whose first part groups it on the tablet."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$", max_length=64)
    state: Literal["idle", "down", "setup", "planned_stop"]
    fr: str = Field(min_length=1, max_length=60)
    en: str = Field(min_length=1, max_length=60)


class _PlantFile(_Strict):
    version: Literal[1] = 1
    site: _SiteFile
    areas: list[_AreaFile] = Field(min_length=1)
    lines: list[_LineFile] = Field(min_length=1)
    profiles: dict[Ident, _ProfileFile] = Field(default_factory=dict)
    machines: list[_MachineFile] = Field(min_length=1)
    shifts: list[_ShiftFile] = Field(default_factory=list)
    holidays: list[_HolidayFile] = Field(default_factory=list)
    reasons: list[_ReasonFile] = Field(default_factory=list)


def load_plant(path: Path) -> Plant:
    """Read, validate and build the plant described in ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the plant file ({err.strerror})", file=str(path)) from err
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}", file=str(path)) from err
    return plant_from_mapping(data, source=str(path))


def plant_from_mapping(data: dict[str, Any], source: str = "plant") -> Plant:
    """Validate an already-parsed mapping; errors are prefixed with ``source``."""
    try:
        spec = _PlantFile.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_describe(source, err), file=source) from err
    problems = _cross_references(spec)
    if problems:
        raise ConfigError("\n".join(f"{source}: {p}" for p in problems), file=source)
    return _build(spec)


def _describe(source: str, err: ValidationError) -> str:
    lines = []
    for problem in err.errors():
        key = _key(problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown key (check its spelling; docs/reference/plant-file.md lists the allowed keys)"
        elif problem["type"] == "string_pattern_mismatch" and "id" in key.rsplit(".", 1)[-1]:
            message = "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        elif problem["type"] == "missing":
            lines.append(f"{source}: {key}: required key is missing")
            continue
        lines.append(f"{source}: {key} = {problem.get('input')!r}: {message}")
    return "\n".join(lines)


def _key(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _cross_references(spec: _PlantFile) -> list[str]:
    problems: list[str] = []
    levels: list[tuple[str, list[str]]] = [
        ("areas", [a.id for a in spec.areas]),
        ("lines", [ln.id for ln in spec.lines]),
        ("machines", [m.id for m in spec.machines]),
    ]
    for level, ids in levels:
        seen: set[str] = set()
        for i, ident in enumerate(ids):
            if ident in seen:
                problems.append(f"{level}[{i}].id = {ident!r}: duplicate id (ids must be unique per level)")
            seen.add(ident)
    areas = {a.id for a in spec.areas}
    for i, line in enumerate(spec.lines):
        if line.area not in areas:
            problems.append(
                f"lines[{i}].area = {line.area!r}: unknown area; allowed: {', '.join(sorted(areas))}"
            )
    lines = {ln.id for ln in spec.lines}
    for i, machine in enumerate(spec.machines):
        if machine.line not in lines:
            problems.append(
                f"machines[{i}].line = {machine.line!r}: unknown line; allowed: {', '.join(sorted(lines))}"
            )
        if machine.profile is not None and machine.profile not in spec.profiles:
            allowed = ", ".join(sorted(spec.profiles)) or "(no profiles defined)"
            problems.append(
                f"machines[{i}].profile = {machine.profile!r}: unknown profile; allowed: {allowed}"
            )
        elif machine.profile is None and not machine.signals:
            problems.append(f"machines[{i}]: declares no signals (give a profile or a signals table)")
    for i, shift in enumerate(spec.shifts):
        for j, other in enumerate(spec.shifts[:i]):
            if other.name == shift.name:
                problems.append(f"shifts[{i}].name = {shift.name!r}: already used by shifts[{j}]")
    for i, day in enumerate(spec.holidays):
        for j, earlier in enumerate(spec.holidays[:i]):
            if Holiday.parse(earlier.date) == Holiday.parse(day.date):
                problems.append(f"holidays[{i}].date = {day.date!r}: already declared by holidays[{j}]")
    for i, reason in enumerate(spec.reasons):
        for j, before in enumerate(spec.reasons[:i]):
            if before.code == reason.code:
                problems.append(f"reasons[{i}].code = {reason.code!r}: already declared by reasons[{j}]")
    for key, signals in _all_signal_tables(spec):
        for name, sig in signals.items():
            if sig.min is not None and sig.max is not None and sig.min >= sig.max:
                problems.append(f"{key}.{name}.min = {sig.min}: must be below max ({sig.max})")
    return problems


def _all_signal_tables(spec: _PlantFile) -> list[tuple[str, dict[str, _SignalFile]]]:
    tables = [(f"profiles.{name}.signals", p.signals) for name, p in spec.profiles.items()]
    tables += [(f"machines[{i}].signals", m.signals) for i, m in enumerate(spec.machines)]
    return tables


def _signal(name: str, sig: _SignalFile) -> SignalSpec:
    return SignalSpec(
        name=name,
        unit=sig.unit,
        sampling_hz=sig.sampling_hz,
        resolution=sig.resolution,
        kind=SignalKind(sig.kind),
        description=sig.description,
        min_value=float("-inf") if sig.min is None else sig.min,
        max_value=float("inf") if sig.max is None else sig.max,
    )


def _build(spec: _PlantFile) -> Plant:
    machines = []
    for m in spec.machines:
        merged: dict[str, _SignalFile] = {}
        if m.profile is not None:
            merged.update(spec.profiles[m.profile].signals)
        merged.update(m.signals)  # a machine's own table overrides its profile
        machines.append(
            Machine(
                id=m.id,
                name=m.name,
                line=m.line,
                signals=tuple(_signal(n, s) for n, s in merged.items()),
                kind=m.kind,
                tonnage_t=m.tonnage_t,
                target_cycle_s=m.target_cycle_s,
            )
        )
    calendar = HolidayCalendar(tuple(Holiday.parse(h.date, h.name) for h in spec.holidays))
    shifts = tuple(
        ShiftPattern(
            name=s.name,
            start=time.fromisoformat(s.start),
            hours=s.hours,
            weekdays=frozenset(_DAYS[d] for d in s.days),
            holidays=NO_HOLIDAYS if s.on_holidays else calendar,
        )
        for s in spec.shifts
    )
    return Plant(
        site=Site(spec.site.id, spec.site.name, spec.site.timezone),
        areas=tuple(Area(a.id, a.name) for a in spec.areas),
        lines=tuple(Line(ln.id, ln.name, ln.area) for ln in spec.lines),
        machines=tuple(machines),
        shifts=shifts,
        reasons=reason_tree(ReasonCode(r.code, r.fr, r.en, MachineState(r.state)) for r in spec.reasons),
    )
