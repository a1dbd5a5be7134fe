r"""Languages of the pages: choosing one, loading its catalog, formatting numbers and dates for it.

French is the default, English the second language. Messages come from the compiled gettext catalogs
shipped in the package (``cadence/locales/<lang>/LC_MESSAGES/cadence.mo``, built by ``make catalogs``);
numbers, durations and dates follow the CLDR rules of the locale through Babel, never hand-made
separators. Dates are shown in the plant's time zone, whatever the server's.

>>> negotiate("en-GB,en;q=0.9", user_choice=None)
'en'
>>> format_number(1234.5, "fr"), format_number(1234.5, "en")
('1\u202f234,5', '1,234.5')
"""

from __future__ import annotations

import functools
import gettext
import re
from collections.abc import Callable
from datetime import datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel import Locale, dates, lists, numbers, units
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from cadence.errors import CatalogMissing

SUPPORTED_LOCALES: tuple[str, ...] = ("fr", "en")
DEFAULT_LOCALE = "fr"
# Same default as the plant file's site time zone (cadence.domain.plant.Site).
PLANT_TIMEZONE = "Europe/Paris"
DOMAIN = "cadence"
LOCALES_DIR = Path(__file__).resolve().parents[1] / "locales"

DateStyle = Literal["short", "medium", "long", "full"]

_SECONDS_PER_MINUTE = 60
_SECONDS_PER_HOUR = 3600


def _supported(tag: str) -> str | None:
    """The supported locale a language tag asks for (``fr-CA`` → ``fr``), or None."""
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in SUPPORTED_LOCALES else None


def _quality(params: list[str]) -> float | None:
    """The ``q`` parameter of one Accept-Language entry (1 when absent), or None when malformed."""
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                return None
            return quality if 0 <= quality <= 1 else None
    return 1.0


def negotiate(accept_language: str | None, user_choice: str | None) -> str:
    """The locale of a page: the user's stored choice, else the browser's preference, else French.

    ``accept_language`` is the raw ``Accept-Language`` header; its quality values are honoured and
    ``q=0`` means "not this one". Unsupported or malformed entries are skipped, never an error: a
    tablet with an odd browser still gets a page.

    >>> negotiate("de-DE,en;q=0.8,fr;q=0.5", user_choice=None)
    'en'
    >>> negotiate("en-US", user_choice="fr")
    'fr'
    >>> negotiate(None, user_choice=None)
    'fr'
    """
    if user_choice is not None and (chosen := _supported(user_choice)) is not None:
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for position, entry in enumerate((accept_language or "").split(",")):
        tag, *params = entry.split(";")
        quality = _quality(params)
        locale = _supported(tag)
        if locale is not None and quality is not None and quality > 0:
            # Position breaks ties: among equal qualities the browser's order wins.
            ranked.append((-quality, position, locale))
    return min(ranked)[2] if ranked else DEFAULT_LOCALE


def _check(locale: str) -> str:
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(f"unsupported locale {locale!r}: expected one of {', '.join(SUPPORTED_LOCALES)}")
    return locale


@functools.cache
def translations(locale: str) -> gettext.GNUTranslations:
    """The compiled catalog of ``locale``, loaded once per process.

    Raises :class:`~cadence.errors.CatalogMissing` when the ``.mo`` file was not built, rather than
    silently showing English msgids to a French operator.

    >>> translations("fr").gettext("Scrap")
    'Rebuts'
    """
    path = LOCALES_DIR / _check(locale) / "LC_MESSAGES" / f"{DOMAIN}.mo"
    try:
        with path.open("rb") as fp:
            return gettext.GNUTranslations(fp)
    except FileNotFoundError as err:
        raise CatalogMissing(
            f"compiled catalog {path} is missing: run `make catalogs` "
            f"(pybabel compile -d {LOCALES_DIR} -D {DOMAIN})",
            locale=locale,
        ) from err


def _fixed_digits(pattern: str, digits: int) -> str:
    """The locale's own pattern with exactly ``digits`` fraction digits.

    Rewriting the locale's pattern, rather than writing ``#,##0.0%``, keeps its affixes: French puts a
    no-break space before ``%``, English does not.
    """
    fraction = "." + "0" * digits if digits > 0 else ""
    return re.sub(r"0(?:\.[0#]*)?", "0" + fraction, pattern, count=1)


def format_number(value: float, locale: str, digits: int | None = None) -> str:
    r"""``value`` with the locale's separators; up to 3 decimals, or exactly ``digits``.

    >>> format_number(1234567.891, "fr")
    '1\u202f234\u202f567,891'
    >>> format_number(12.5, "en", digits=2)
    '12.50'
    """
    if digits is None:
        return numbers.format_decimal(value, locale=_check(locale))
    pattern = Locale.parse(_check(locale)).decimal_formats[None].pattern
    return numbers.format_decimal(value, format=_fixed_digits(pattern, digits), locale=locale)


def format_percent(ratio: float, locale: str, digits: int = 0) -> str:
    r"""A ratio (0.853) as a percentage with ``digits`` decimals, the locale's way.

    >>> format_percent(0.853, "fr", digits=1), format_percent(0.853, "en", digits=1)
    ('85,3\xa0%', '85.3%')
    """
    pattern = Locale.parse(_check(locale)).percent_formats[None].pattern
    return numbers.format_percent(ratio, format=_fixed_digits(pattern, digits), locale=locale)


def format_duration(seconds: float, locale: str) -> str:
    r"""An elapsed time as the tablet shows it: ``1 h 05 min``, ``4 min 07 s`` or ``42 s``.

    Two units at most, the smaller one zero-padded so a column of durations lines up; hours are not
    rolled into days, because stops and shifts are read in hours on the shop floor. Truncated, not
    rounded: an elapsed time never runs ahead of the clock.

    >>> format_duration(3900, "fr"), format_duration(3900, "en")
    ('1\u202fh 05\xa0min', '1 hr 05 min')
    """
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {seconds!r} s")
    whole = int(seconds)
    hours, rest = divmod(whole, _SECONDS_PER_HOUR)
    minutes, secs = divmod(rest, _SECONDS_PER_MINUTE)
    _check(locale)

    def unit(amount: int, name: str, padded: bool) -> str:
        return units.format_unit(amount, name, length="short", format="00" if padded else None, locale=locale)

    if hours:
        parts = [unit(hours, "duration-hour", False), unit(minutes, "duration-minute", True)]
    elif minutes:
        parts = [unit(minutes, "duration-minute", False), unit(secs, "duration-second", True)]
    else:
        parts = [unit(secs, "duration-second", False)]
    # "unit-narrow" joins with spaces only; the other list styles add "et" / "," between the units.
    return lists.format_list(parts, style="unit-narrow", locale=locale)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: Cadence only handles timezone-aware datetimes")
    return value


def format_datetime(
    value: datetime, locale: str, style: DateStyle = "short", tz: str = PLANT_TIMEZONE
) -> str:
    r"""Date and time in the plant's time zone.

    >>> from datetime import UTC
    >>> format_datetime(datetime(2026, 3, 29, 6, 30, tzinfo=UTC), "fr")
    '29/03/2026 08:30'
    """
    return dates.format_datetime(_aware(value), style, tzinfo=ZoneInfo(tz), locale=_check(locale))


def format_date(value: datetime, locale: str, style: DateStyle = "medium", tz: str = PLANT_TIMEZONE) -> str:
    """The date, in the plant's time zone (a UTC evening can be tomorrow in Paris).

    >>> from datetime import UTC
    >>> format_date(datetime(2026, 3, 28, 23, 30, tzinfo=UTC), "fr", style="long")
    '29 mars 2026'
    """
    local = _aware(value).astimezone(ZoneInfo(tz))
    return dates.format_date(local, style, locale=_check(locale))


def format_time(value: datetime, locale: str, style: DateStyle = "short", tz: str = PLANT_TIMEZONE) -> str:
    r"""The time of day in the plant's time zone.

    >>> from datetime import UTC
    >>> format_time(datetime(2026, 3, 29, 6, 30, tzinfo=UTC), "en")
    '8:30\u202fAM'
    """
    return dates.format_time(_aware(value), style, tzinfo=ZoneInfo(tz), locale=_check(locale))


def format_relative(value: datetime, now: datetime, locale: str) -> str:
    """How long ago (or in how long) ``value`` is from ``now``; ``now`` comes from the injected clock.

    >>> from datetime import UTC, timedelta
    >>> now = datetime(2026, 3, 29, 6, 30, tzinfo=UTC)
    >>> format_relative(now - timedelta(minutes=5), now, "fr")
    'il y a 5 minutes'
    """
    delta = _aware(value) - _aware(now)
    return dates.format_timedelta(delta, add_direction=True, locale=_check(locale))


def frontend_formats(locale: str) -> dict[str, Any]:
    r"""What the browser needs to format chart axes like the server does (uPlot's date names, separators).

    Plain strings and lists, ready for ``json.dumps``. Weekdays start on Sunday because JavaScript's
    ``Date.getDay()`` does and uPlot indexes the list with it; ``firstWeekDay`` (0 = Monday, CLDR) is
    for calendars.

    >>> f = frontend_formats("fr")
    >>> f["decimal"], f["group"], f["months"]["short"][1], f["weekdays"]["long"][0]
    (',', '\u202f', 'févr.', 'dimanche')
    """
    loc = Locale.parse(_check(locale))
    sunday_first = [6, 0, 1, 2, 3, 4, 5]  # babel numbers days from Monday = 0
    months_short = dates.get_month_names("abbreviated", locale=loc)
    months_long = dates.get_month_names("wide", locale=loc)
    days_short = dates.get_day_names("abbreviated", locale=loc)
    days_long = dates.get_day_names("wide", locale=loc)
    return {
        "locale": locale,
        "decimal": numbers.get_decimal_symbol(loc),
        "group": numbers.get_group_symbol(loc),
        # The whole pattern, not just the sign: French puts a no-break space before "%".
        "percentPattern": loc.percent_formats[None].pattern,
        "months": {
            "short": [str(months_short[m]) for m in range(1, 13)],
            "long": [str(months_long[m]) for m in range(1, 13)],
        },
        "weekdays": {
            "short": [str(days_short[d]) for d in sunday_first],
            "long": [str(days_long[d]) for d in sunday_first],
        },
        # Formatted rather than looked up: French has no AM/PM names of its own and inherits CLDR root's.
        "am": dates.format_time(time(9), "a", locale=loc),
        "pm": dates.format_time(time(21), "a", locale=loc),
        # CLDR patterns (``HH:mm`` or ``h:mm a``): tell the axis whether the locale uses a 24-hour clock.
        "timePattern": dates.get_time_format("short", locale=loc).pattern,
        "datePattern": dates.get_date_format("short", locale=loc).pattern,
        "firstWeekDay": loc.first_week_day,
    }


def jinja_env(templates_dir: Path, locale: str = DEFAULT_LOCALE, tz: str = PLANT_TIMEZONE) -> Environment:
    """A Jinja2 environment rendering in ``locale``: translated messages and locale-aware filters.

    One environment per locale (build each once and keep it): translations and filters are bound to it,
    so a page cannot mix two languages. Templates use ``{{ _("Scrap") }}``,
    ``{{ ngettext("%(num)d part", "%(num)d parts", n) }}`` (new-style gettext: escaped, ``%`` applied
    by Jinja) and the filters ``number``, ``percent``, ``duration``, ``datetime``, ``date``, ``time``
    and ``relative(now)``. Undefined variables are errors, so a typo fails a test instead of
    rendering an empty cell.

    >>> env = jinja_env(Path("templates"), "fr")
    >>> env.from_string('{{ _("Cycle time") }} : {{ 12.5|number }} s').render()
    'Temps de cycle : 12,5 s'
    """
    catalog = translations(locale)
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    # Added to Environment at run time by jinja2.ext.i18n, hence invisible to the type checker.
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    filters: dict[str, Callable[..., str]] = {
        "number": lambda value, digits=None: format_number(value, locale, digits),
        "percent": lambda ratio, digits=0: format_percent(ratio, locale, digits),
        "duration": lambda seconds: format_duration(seconds, locale),
        "datetime": lambda value, style="short": format_datetime(value, locale, style, tz),
        "date": lambda value, style="medium": format_date(value, locale, style, tz),
        "time": lambda value, style="short": format_time(value, locale, style, tz),
        "relative": lambda value, now: format_relative(value, now, locale),
    }
    env.filters.update(filters)
    env.globals["locale"] = locale
    return env
