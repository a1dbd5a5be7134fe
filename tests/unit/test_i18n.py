"""Languages: negotiation, compiled catalogs, CLDR formatting pinned to exact strings, Jinja rendering.

Expected strings are what Babel's CLDR data produces, checked by hand: French groups digits with a
narrow no-break space (U+202F), uses a decimal comma and puts a no-break space (U+00A0) before ``%``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from jinja2.exceptions import UndefinedError

from cadence.domain.states import MachineState
from cadence.errors import CatalogMissing
from cadence.web import i18n, vocabulary
from cadence.web.i18n import (
    format_date,
    format_datetime,
    format_duration,
    format_number,
    format_percent,
    format_relative,
    format_time,
    frontend_formats,
    jinja_env,
    negotiate,
    translations,
)

NNBSP = "\u202f"  # narrow no-break space: French digit groups, French/English unit and AM/PM spacing
NBSP = "\u00a0"  # no-break space: before "%" and "min" in French

# 06:30 UTC on the day Paris moves to summer time (02:00 → 03:00 local): UTC+2 by then.
MORNING = datetime(2026, 3, 29, 6, 30, tzinfo=UTC)


# --- negotiation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_language", "user_choice", "expected"),
    [
        (None, None, "fr"),
        ("", None, "fr"),
        ("en", None, "en"),
        ("en-US,en;q=0.9", None, "en"),
        ("fr-CA", None, "fr"),
        ("de-DE,en;q=0.8,fr;q=0.9", None, "fr"),  # quality, not position, ranks
        ("de-DE,en;q=0.8,fr;q=0.5", None, "en"),  # unsupported German skipped
        ("en;q=0.5,fr;q=0.5", None, "en"),  # equal quality: the browser's order
        ("en;q=0,fr;q=0.1", None, "fr"),  # q=0 refuses English
        ("en;q=0", None, "fr"),  # nothing acceptable: the default
        ("de, it", None, "fr"),
        ("en;q=abc, fr;q=0.2", None, "fr"),  # malformed quality skipped, not an error
        ("EN_gb", None, "en"),
        ("fr", "en", "en"),  # the stored choice wins over the browser
        (None, "en-GB", "en"),
        ("en", "de", "en"),  # an unsupported stored choice is ignored
        ("*", None, "fr"),
        ("en;q=2, fr;q=0.2", None, "fr"),  # quality above 1 is malformed
        ("en;level=1;q=0.9", None, "en"),
    ],
)
def test_negotiate(accept_language: str | None, user_choice: str | None, expected: str) -> None:
    assert negotiate(accept_language, user_choice) == expected


# --- catalogs ------------------------------------------------------------------------------------------

LOCALES = i18n.LOCALES_DIR


def test_catalogs_translate_the_vocabulary() -> None:
    fr, en = translations("fr"), translations("en")
    assert fr.gettext(vocabulary.STATE_LABELS[MachineState.RUNNING]) == "En production"
    assert fr.gettext(vocabulary.STATE_LABELS[MachineState.IDLE]) == "En attente"
    assert fr.gettext(vocabulary.STATE_LABELS[MachineState.DOWN]) == "En panne"
    assert fr.gettext(vocabulary.STATE_LABELS[MachineState.SETUP]) == "Réglage"
    assert fr.gettext(vocabulary.STATE_LABELS[MachineState.PLANNED_STOP]) == "Arrêt planifié"
    assert fr.gettext(vocabulary.STATE_LABELS[MachineState.OFFLINE]) == "Hors ligne"
    assert fr.gettext(vocabulary.OEE) == "TRS"
    assert fr.gettext(vocabulary.ACKNOWLEDGE) == "Acquitter"
    assert fr.gettext(vocabulary.LOG_OUT) == "Déconnexion"
    assert en.gettext(vocabulary.OEE) == "OEE"
    assert en.gettext(vocabulary.GOOD_PARTS) == "Good parts"


def test_every_state_has_a_label() -> None:
    assert set(vocabulary.STATE_LABELS) == set(MachineState)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("fr", ["0 pièce", "1 pièce", "2 pièces"]), ("en", ["0 parts", "1 part", "2 parts"])],
)
def test_plural_forms_follow_each_language(locale: str, expected: list[str]) -> None:
    # French treats 0 as singular (plural=(n > 1)); English does not.
    catalog = translations(locale)
    parts = vocabulary.PARTS
    assert [catalog.ngettext(parts.singular, parts.plural, n) % {"num": n} for n in (0, 1, 2)] == expected


def test_french_catalog_declares_the_n_greater_than_one_rule() -> None:
    with (LOCALES / "fr" / "LC_MESSAGES" / "cadence.po").open("rb") as fp:
        catalog = read_po(fp)
    assert catalog.num_plurals == 2
    assert catalog.plural_expr == "(n > 1)"


def test_french_catalog_is_complete_and_has_no_fuzzy_entries() -> None:
    with (LOCALES / "messages.pot").open("rb") as fp:
        template = read_po(fp)
    with (LOCALES / "fr" / "LC_MESSAGES" / "cadence.po").open("rb") as fp:
        french = read_po(fp)
    msgids = [m.id for m in template if m.id]
    assert msgids, "the template is empty: run `make catalogs-extract`"
    for msgid in msgids:
        message = french.get(msgid)
        assert message is not None, f"{msgid!r} is missing from fr/cadence.po: run `make catalogs-extract`"
        assert not message.fuzzy, f"{msgid!r} is fuzzy in fr/cadence.po: review it and remove the flag"
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(forms), f"{msgid!r} has no French translation"


def test_the_template_holds_the_whole_vocabulary() -> None:
    # Catches a string added to vocabulary.py without `make catalogs-extract` (or the reverse).
    with (LOCALES / "messages.pot").open("rb") as fp:
        template = read_po(fp)
    extracted = {m.id for m in template if m.id}
    declared = {*vocabulary.MESSAGES, *((p.singular, p.plural) for p in vocabulary.PLURAL_MESSAGES)}
    assert declared <= extracted


def test_missing_catalog_names_the_build_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    translations.cache_clear()
    try:
        with pytest.raises(CatalogMissing, match="make catalogs") as caught:
            translations("fr")
        assert caught.value.context == {"locale": "fr"}
    finally:
        translations.cache_clear()


def test_unsupported_locale_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported locale 'de'"):
        translations("de")
    with pytest.raises(ValueError, match="unsupported locale"):
        format_number(1.0, "de")


# --- numbers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "digits", "fr", "en"),
    [
        (1234.5, None, f"1{NNBSP}234,5", "1,234.5"),
        (1234567.891, None, f"1{NNBSP}234{NNBSP}567,891", "1,234,567.891"),
        (0.12345, None, "0,123", "0.123"),
        (-42, None, "-42", "-42"),
        (12.5, 2, "12,50", "12.50"),
        (1234.56, 0, f"1{NNBSP}235", "1,235"),
    ],
)
def test_numbers(value: float, digits: int | None, fr: str, en: str) -> None:
    assert format_number(value, "fr", digits) == fr
    assert format_number(value, "en", digits) == en


@pytest.mark.parametrize(
    ("ratio", "digits", "fr", "en"),
    [
        (0.853, 0, f"85{NBSP}%", "85%"),
        (0.8534, 1, f"85,3{NBSP}%", "85.3%"),
        (1.0, 1, f"100,0{NBSP}%", "100.0%"),
        (12.5, 0, f"1{NNBSP}250{NBSP}%", "1,250%"),
    ],
)
def test_percentages(ratio: float, digits: int, fr: str, en: str) -> None:
    assert format_percent(ratio, "fr", digits) == fr
    assert format_percent(ratio, "en", digits) == en


# --- durations -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "fr", "en"),
    [
        (0, f"0{NNBSP}s", "0 sec"),
        (42.9, f"42{NNBSP}s", "42 sec"),  # truncated, never ahead of the clock
        (247, f"4{NBSP}min 07{NNBSP}s", "4 min 07 sec"),
        (3900, f"1{NNBSP}h 05{NBSP}min", "1 hr 05 min"),
        (7200, f"2{NNBSP}h 00{NBSP}min", "2 hr 00 min"),
        (30 * 3600 + 60 * 59 + 59, f"30{NNBSP}h 59{NBSP}min", "30 hr 59 min"),
    ],
)
def test_durations(seconds: float, fr: str, en: str) -> None:
    assert format_duration(seconds, "fr") == fr
    assert format_duration(seconds, "en") == en


def test_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        format_duration(-1, "fr")


# --- dates and times -----------------------------------------------------------------------------------


def test_datetimes_are_shown_in_the_plant_time_zone() -> None:
    assert format_datetime(MORNING, "fr") == "29/03/2026 08:30"
    assert format_datetime(MORNING, "en") == f"3/29/26, 8:30{NNBSP}AM"
    assert format_datetime(MORNING, "fr", style="medium") == "29 mars 2026, 08:30:00"
    assert format_datetime(MORNING, "en", style="medium") == f"Mar 29, 2026, 8:30:00{NNBSP}AM"
    # The day before, Paris was UTC+1: the change of offset is applied per instant.
    assert format_time(MORNING - timedelta(days=1), "fr") == "07:30"
    assert format_time(MORNING, "fr") == "08:30"
    assert format_time(MORNING, "en") == f"8:30{NNBSP}AM"
    assert format_time(MORNING, "fr", tz="UTC") == "06:30"


def test_dates_roll_over_at_the_plant_midnight() -> None:
    late = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # already the 29th in Paris
    assert format_date(late, "fr", style="long") == "29 mars 2026"
    assert format_date(late, "en", style="long") == "March 29, 2026"
    assert format_date(late, "fr") == "29 mars 2026"
    assert format_date(late, "en") == "Mar 29, 2026"
    assert format_date(late, "fr", style="long", tz="UTC") == "28 mars 2026"


@pytest.mark.parametrize(
    ("delta", "fr", "en"),
    [
        (timedelta(minutes=-5), "il y a 5 minutes", "5 minutes ago"),
        (timedelta(seconds=-1), "il y a 1 seconde", "1 second ago"),
        (timedelta(hours=3), "dans 3 heures", "in 3 hours"),
        (timedelta(days=-2), "il y a 2 jours", "2 days ago"),
    ],
)
def test_relative_times(delta: timedelta, fr: str, en: str) -> None:
    assert format_relative(MORNING + delta, MORNING, "fr") == fr
    assert format_relative(MORNING + delta, MORNING, "en") == en


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 3, 29, 6, 30)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="naive"):
        format_datetime(naive, "fr")
    with pytest.raises(ValueError, match="naive"):
        format_relative(naive, MORNING, "fr")


# --- formats for the browser ---------------------------------------------------------------------------


def test_frontend_formats_french() -> None:
    formats = frontend_formats("fr")
    assert json.loads(json.dumps(formats)) == formats
    assert formats["locale"] == "fr"
    assert (formats["decimal"], formats["group"]) == (",", NNBSP)
    assert formats["percentPattern"] == f"#,##0{NBSP}%"
    assert formats["months"]["long"][0] == "janvier"
    assert formats["months"]["long"][11] == "décembre"
    assert formats["months"]["short"][:3] == ["janv.", "févr.", "mars"]
    assert formats["weekdays"]["short"] == ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."]
    assert formats["weekdays"]["long"][1] == "lundi"
    assert formats["timePattern"] == "HH:mm"
    assert formats["datePattern"] == "dd/MM/y"
    assert formats["firstWeekDay"] == 0  # Monday


def test_frontend_formats_english() -> None:
    formats = frontend_formats("en")
    assert json.loads(json.dumps(formats)) == formats
    assert (formats["decimal"], formats["group"], formats["percentPattern"]) == (".", ",", "#,##0%")
    assert formats["months"]["short"] == [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]  # fmt: skip
    assert formats["weekdays"]["long"][0] == "Sunday"
    assert (formats["am"], formats["pm"]) == ("AM", "PM")
    assert formats["timePattern"] == f"h:mm{NNBSP}a"
    for names in (*formats["months"].values(), *formats["weekdays"].values()):
        assert len(names) in (7, 12)
        assert all(isinstance(name, str) and name for name in names)


# --- Jinja2 --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("fr", f"Rebuts : 1{NNBSP}234,5"), ("en", "Scrap : 1,234.5")],
)
def test_template_translates_and_formats(tmp_path: Path, locale: str, expected: str) -> None:
    env = jinja_env(tmp_path, locale)
    assert env.from_string('{{ _("Scrap") }} : {{ 1234.5|number }}').render() == expected


def test_template_filters_and_plurals(tmp_path: Path) -> None:
    source = (
        '<html lang="{{ locale }}">{{ ngettext("%(num)d part", "%(num)d parts", n) }} | {{ oee|percent(1) }}'
        " | {{ stop|duration }} | {{ at|time }} | {{ at|date('long') }} | {{ at|datetime }}"
        " | {{ earlier|relative(at) }}</html>"
    )
    values = {"n": 0, "oee": 0.853, "stop": 3900, "at": MORNING, "earlier": MORNING - timedelta(minutes=5)}
    fr = jinja_env(tmp_path, "fr").from_string(source).render(values)
    en = jinja_env(tmp_path, "en").from_string(source).render(values)
    assert fr == (
        f'<html lang="fr">0 pièce | 85,3{NBSP}% | 1{NNBSP}h 05{NBSP}min | 08:30 | 29 mars 2026'
        " | 29/03/2026 08:30 | il y a 5 minutes</html>"
    )
    assert en == (
        f'<html lang="en">0 parts | 85.3% | 1 hr 05 min | 8:30{NNBSP}AM | March 29, 2026'
        f" | 3/29/26, 8:30{NNBSP}AM | 5 minutes ago</html>"
    )


def test_template_autoescapes_and_fails_on_undefined(tmp_path: Path) -> None:
    env = jinja_env(tmp_path, "fr")
    assert env.from_string("{{ name }}").render(name="<b>P-01</b>") == "&lt;b&gt;P-01&lt;/b&gt;"
    (tmp_path / "page.html").write_text('<h1>{{ _("Alarms") }}</h1>', encoding="utf-8")
    assert env.get_template("page.html").render() == "<h1>Alarmes</h1>"
    with pytest.raises(UndefinedError, match="'missing' is undefined"):
        env.from_string("{{ missing }}").render()
