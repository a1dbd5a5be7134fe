"""The shipped Mosquitto configuration: the settings ingest relies on, and their rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from cadence.ingest.broker import (
    broker_settings,
    render_broker_config,
    shipped_broker_config,
    write_broker_config,
)
from cadence.ingest.mqtt import DEFAULT_QUEUE_MESSAGES
from cadence.protocol import Limits

# An MQTT PUBLISH packet adds a fixed header (≤ 5 bytes), the topic (2 + its length) and a packet id to the
# payload; topics of Cadence are short, 64 KiB covers any topic the broker accepts.
PACKET_OVERHEAD = 64 * 1024 + 16


def test_shipped_settings_avoid_mosquittos_silent_drops() -> None:
    shipped = broker_settings()
    assert shipped["listener"] == "1883 127.0.0.1"  # demo: loopback only
    assert shipped["persistence"] == "true"
    assert int(shipped["autosave_interval"]) <= 5 and shipped["autosave_on_changes"] == "false"
    assert int(shipped["max_queued_messages"]) >= 1_000_000  # default 1000 drops bursts silently
    assert 0 < int(shipped["max_queued_bytes"]) <= 4 * 1024**3  # memory stays bounded
    assert int(shipped["sys_interval"]) == 1  # drops are alarmed within seconds
    assert shipped["persistent_client_expiration"].endswith(("d", "w"))


def test_sizes_and_windows_agree_with_ingest() -> None:
    shipped = broker_settings()
    # Every payload ingest accepts passes the broker; oversized ones reach ingest to be reported.
    assert int(shipped["max_packet_size"]) >= Limits().max_bytes + PACKET_OVERHEAD
    assert "message_size_limit" not in shipped  # it would drop oversized messages silently
    # PUBACK after commit: the in-flight window must fit in the ingest inbox, or it would block.
    inflight = int(shipped["max_inflight_messages"])
    assert 100 <= inflight <= DEFAULT_QUEUE_MESSAGES


def test_production_tls_variant_is_documented() -> None:
    text = shipped_broker_config()
    for line in ("#   listener 8883", "#   require_certificate true", "#   allow_anonymous false"):
        assert line in text


def test_rendering_changes_only_what_is_asked(tmp_path: Path) -> None:
    text = render_broker_config(
        18_830,
        tmp_path / "data",
        log_file=tmp_path / "m.log",
        user="cadence",
        overrides={"max_queued_messages": 10},
    )
    rendered = broker_settings(text)
    shipped = broker_settings()
    assert rendered["listener"] == "18830 127.0.0.1"
    assert rendered["persistence_location"] == str(tmp_path / "data")
    assert rendered["log_dest"] == f"file {tmp_path / 'm.log'}"
    assert rendered["user"] == "cadence"
    assert rendered["max_queued_messages"] == "10"
    untouched = set(shipped) - {"listener", "persistence_location", "log_dest", "max_queued_messages"}
    assert {k: rendered[k] for k in untouched} == {k: shipped[k] for k in untouched}
    assert text.count("\nlistener ") == 1


def test_write_creates_the_data_directory(tmp_path: Path) -> None:
    path = write_broker_config(
        tmp_path / "b.conf", 1884, tmp_path / "var" / "mq", overrides={"sys_interval": 2}
    )
    assert (tmp_path / "var" / "mq").is_dir()
    assert broker_settings(path.read_text())["sys_interval"] == "2"


@pytest.mark.parametrize(
    ("port", "overrides"),
    [(0, {}), (70_000, {}), (1884, {"bad key": 1}), (1884, {"sys_interval": "1\nlistener 1"})],
)
def test_invalid_rendering_requests_are_refused(port: int, overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        render_broker_config(port, "/tmp/x", overrides=overrides)
