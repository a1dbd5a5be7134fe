"""The words of the tablet UI, declared once: the source of truth that ``make catalogs-extract`` reads.

Messages are written in English (they are the msgids) and translated in
``src/cadence/locales/<lang>/LC_MESSAGES/cadence.po``. Here they are only *marked*: ``N_`` and
``N_plural`` return their arguments unchanged, so this module can be imported before any locale is known;
the page translates at render time with ``gettext``/``ngettext`` (docs/guides/translating.md).

>>> STATE_LABELS[MachineState.PLANNED_STOP]
'Planned stop'
>>> PARTS.singular, PARTS.plural
('%(num)d part', '%(num)d parts')
"""

from __future__ import annotations

from dataclasses import dataclass

from cadence.auth.roles import Role
from cadence.domain.states import MachineState


def N_(message: str) -> str:  # the conventional marker name, a pybabel default keyword
    """Mark ``message`` for extraction; it is translated later, where the locale is known.

    >>> N_("Scrap")
    'Scrap'
    """
    return message


@dataclass(frozen=True, slots=True)
class PluralMessage:
    """A message with a singular and a plural msgid; always translated with ``ngettext``.

    French treats 0 as singular ("0 pièce") and English does not ("0 parts"), so the count decides the
    form through each catalog's ``Plural-Forms`` rule, never an ``if n == 1`` in code.
    """

    singular: str
    plural: str


def N_plural(singular: str, plural: str) -> PluralMessage:  # extracted with -k N_plural:1,2
    """Mark a singular/plural pair for extraction.

    >>> N_plural("%(num)d alarm", "%(num)d alarms").plural
    '%(num)d alarms'
    """
    return PluralMessage(singular, plural)


# Machine states as an operator reads them on the tablet.
STATE_LABELS: dict[MachineState, str] = {
    MachineState.RUNNING: N_("Running"),
    MachineState.IDLE: N_("Idle"),
    MachineState.DOWN: N_("Down"),
    MachineState.SETUP: N_("Setup"),
    MachineState.PLANNED_STOP: N_("Planned stop"),
    MachineState.OFFLINE: N_("Offline"),
}

# Roles as shown next to the signed-in user's name.
ROLE_LABELS: dict[Role, str] = {
    Role.OPERATOR: N_("Operator"),
    Role.SUPERVISOR: N_("Supervisor"),
    Role.MAINTENANCE: N_("Maintenance"),
    Role.MANAGER: N_("Manager"),
    Role.ADMIN: N_("Administrator"),
}

GOOD_PARTS = N_("Good parts")
SCRAP = N_("Scrap")
CYCLE_TIME = N_("Cycle time")
TARGET = N_("Target")
OEE = N_("OEE")
ALARMS = N_("Alarms")
ACKNOWLEDGE = N_("Acknowledge")
LOG_IN = N_("Log in")
LOG_OUT = N_("Log out")
LANGUAGE = N_("Language")
USERNAME = N_("Username")
PASSWORD = N_("Password")

PARTS = N_plural("%(num)d part", "%(num)d parts")
ALARM_COUNT = N_plural("%(num)d alarm", "%(num)d alarms")

# Everything above, for the catalog tests and for pages that list what they may show.
MESSAGES: tuple[str, ...] = (
    *STATE_LABELS.values(),
    *ROLE_LABELS.values(),
    GOOD_PARTS,
    SCRAP,
    CYCLE_TIME,
    TARGET,
    OEE,
    ALARMS,
    ACKNOWLEDGE,
    LOG_IN,
    LOG_OUT,
    LANGUAGE,
    USERNAME,
    PASSWORD,
)
PLURAL_MESSAGES: tuple[PluralMessage, ...] = (PARTS, ALARM_COUNT)


# Per-stroke process features (cadence.domain.cycles.STANDARD_FEATURES), with their unit. A feature a
# plant adds that is not listed here is shown by its name.
FEATURE_LABELS: dict[str, str] = {
    "cycle_time_s": N_("Cycle time (s)"),
    "stroke_time_s": N_("Stroke time (s)"),
    "peak_pressure_bar": N_("Peak pressure (bar)"),
    "peak_force_kn": N_("Peak force (kN)"),
    "bdc_position_mm": N_("Bottom dead centre (mm)"),
    "dwell_pressure_bar": N_("Dwell pressure (bar)"),
    "dwell_decay_bar_s": N_("Dwell pressure decay (bar/s)"),
    "buildup_time_s": N_("Pressure build-up time (s)"),
    "decompression_time_s": N_("Decompression time (s)"),
    "command_lag_s": N_("Valve response time (s)"),
    "approach_speed_mm_s": N_("Approach speed (mm/s)"),
    "return_speed_mm_s": N_("Return speed (mm/s)"),
    "energy_kj": N_("Energy (kJ)"),
    "oil_temp_c": N_("Oil temperature (°C)"),
    "idle_power_kw": N_("Idle motor power (kW)"),
    "oil_excess_c": N_("Oil temperature above expected at this load (°C)"),
}
