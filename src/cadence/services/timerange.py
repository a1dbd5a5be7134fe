"""Parse the time arguments people type: ISO 8601 instants, microsecond integers, or offsets from now.

>>> now = 1_764_403_200_000_000
>>> parse_instant("-15m", now) == now - 15 * 60 * 1_000_000
True
>>> parse_instant("2025-11-29T08:00:00+01:00", now)
1764399600000000
>>> parse_duration_s("1h30m")
5400.0
"""

from __future__ import annotations

import re
from datetime import datetime

from cadence.clock import from_datetime
from cadence.errors import BadRequest

_UNITS_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|min|s|m|h|d)")


def parse_duration_s(text: str) -> float:
    """Seconds in a duration such as ``30s``, ``2m``, ``1h30m``, ``1.5d`` or a bare number of seconds."""
    text = text.strip().lower()
    try:
        return float(text)
    except ValueError:
        pass
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS_S[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise BadRequest(f"{text!r} is not a duration: use e.g. 30s, 15m, 2h, 1d or 1h30m", value=text)
    return total


def parse_instant(text: str, now_us: int) -> int:
    """Microseconds since the epoch of ``text``: ``now``, ``-15m``, an int, or ISO 8601 with a zone."""
    text = text.strip()
    if text == "now":
        return now_us
    if text.startswith("-"):
        return now_us - round(parse_duration_s(text[1:]) * 1_000_000)
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"{text!r} is not a time: use ISO 8601 with a zone (2025-11-29T08:00:00+01:00), "
            "microseconds since 1970, 'now' or an offset like -15m",
            value=text,
        ) from None
    if moment.tzinfo is None:
        raise BadRequest(f"{text!r} has no time zone: add one (e.g. +01:00 or Z)", value=text)
    return from_datetime(moment)
