"""The Mosquitto configuration Cadence ships, and its rendering for a given port and data directory.

The shipped file (``cadence/deploy/mosquitto.conf``) is the single source of the broker settings: the
demo, the documentation and the tests all start Mosquitto from it, changing only where it listens, where
it keeps its data and, for tests of failure modes, a few explicit overrides.

>>> text = render_broker_config(1884, "/tmp/mq", overrides={"max_queued_messages": 10})
>>> [ln for ln in text.splitlines() if ln.startswith(("listener", "persistence_location", "max_queued_m"))]
['listener 1884 127.0.0.1', 'persistence_location /tmp/mq', 'max_queued_messages 10']
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

logger = logging.getLogger(__name__)

SHIPPED_CONFIG = "deploy/mosquitto.conf"


def shipped_broker_config() -> str:
    """The text of the Mosquitto configuration shipped in the package."""
    return resources.files("cadence").joinpath(SHIPPED_CONFIG).read_text(encoding="utf-8")


def broker_settings(text: str | None = None) -> dict[str, str]:
    """``key → value`` of the active (uncommented) lines; the last one wins for repeated keys.

    >>> broker_settings("# c\\nsys_interval 1\\nlistener 1883 127.0.0.1\\n")
    {'sys_interval': '1', 'listener': '1883 127.0.0.1'}
    """
    settings: dict[str, str] = {}
    for line in (shipped_broker_config() if text is None else text).splitlines():
        key, _, value = line.strip().partition(" ")
        if key and not key.startswith("#"):
            settings[key] = value.strip()
    return settings


def render_broker_config(
    port: int,
    data_dir: Path | str,
    *,
    address: str = "127.0.0.1",
    log_file: Path | str | None = None,
    user: str | None = None,
    overrides: Mapping[str, object] | None = None,
) -> str:
    """The shipped configuration listening on ``address:port`` and persisting under ``data_dir``.

    ``log_file`` sends the broker's log to a file instead of stderr. ``user`` is the account Mosquitto
    switches to when started as root (its default, ``mosquitto``, cannot write a data directory owned by
    someone else). ``overrides`` replaces the value of existing keys (or appends new ones), for tests of
    failure modes such as a deliberately tiny queue.
    """
    if not 0 < port < 65536:
        raise ValueError(f"port must be within 1..65535, got {port}")
    replace: dict[str, str] = {
        "listener": f"{port} {address}",
        "persistence_location": str(Path(data_dir)),
    }
    if log_file is not None:
        replace["log_dest"] = f"file {Path(log_file)}"
    if user is not None:
        replace["user"] = user
    for key, value in (overrides or {}).items():
        if not key or " " in key or key.startswith("#"):
            raise ValueError(f"invalid Mosquitto setting name {key!r}")
        replace[key] = _value(value)
    lines: list[str] = []
    done: set[str] = set()
    for line in shipped_broker_config().splitlines():
        key = line.strip().partition(" ")[0]
        if key in replace and not key.startswith("#"):
            if key not in done:  # a replaced key is written once, where it first appeared
                lines.append(f"{key} {replace[key]}")
                done.add(key)
            continue
        lines.append(line)
    lines.extend(f"{key} {value}" for key, value in replace.items() if key not in done)
    return "\n".join(lines) + "\n"


def write_broker_config(
    path: Path | str,
    port: int,
    data_dir: Path | str,
    *,
    address: str = "127.0.0.1",
    log_file: Path | str | None = None,
    user: str | None = None,
    overrides: Mapping[str, object] | None = None,
) -> Path:
    """Write :func:`render_broker_config` to ``path`` (creating ``data_dir``); return the path."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    target = Path(path)
    target.write_text(
        render_broker_config(
            port, data_dir, address=address, log_file=log_file, user=user, overrides=overrides
        ),
        encoding="utf-8",
    )
    logger.debug("broker configuration for port %d written to %s", port, target)
    return target


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if "\n" in text:
        raise ValueError(f"a Mosquitto setting value cannot span lines: {text!r}")
    return text
