"""Real Mosquitto brokers for tests: each started from Cadence's shipped configuration on a free port.

The root conftest registers this module as a plugin, so the ``mosquitto_broker`` fixture factory is
available in every test module::

    from support.broker import Broker, BrokerFactory

    @pytest.mark.mosquitto
    def test_something(mosquitto_broker: BrokerFactory) -> None:
        broker = mosquitto_broker()                                 # the shipped settings
        tiny = mosquitto_broker(overrides={"max_queued_messages": 10})  # a failure mode on purpose
        ... broker.host, broker.port ...

Every broker the factory started is killed at the end of the test, whatever happens. The machine's own
broker on 1883 is never touched. Without /usr/sbin/mosquitto the test is skipped, or fails under CI=true.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cadence.ingest.broker import write_broker_config
from conftest import require

MOSQUITTO = Path("/usr/sbin/mosquitto")
# Seconds to wait for a started broker to accept connections: it starts in ~10 ms; a loaded 2-core CI
# machine can be 100x slower.
READY_TIMEOUT_S = 10.0
# Attempts at starting on a fresh free port: another process may grab the port between our probe and
# Mosquitto's bind.
START_ATTEMPTS = 5


def mosquitto_binary() -> Path | None:
    """The Mosquitto executable, or None when it is not installed."""
    if MOSQUITTO.exists():
        return MOSQUITTO
    found = shutil.which("mosquitto")
    return Path(found) if found else None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
        return True
    return False


@dataclass
class Broker:
    """One Mosquitto process started from the shipped configuration."""

    port: int
    config: Path
    data_dir: Path
    log: Path
    binary: Path
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        """Start (or restart, keeping the data directory and so the persisted sessions)."""
        if self.running:
            raise RuntimeError("broker already running")
        self.process = subprocess.Popen(
            [str(self.binary), "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                code = self.process.returncode
                raise BrokerStartError(f"mosquitto exited with {code}: {err}\n{self.log_text()}")
            if port_open(self.host, self.port):
                return
            time.sleep(0.02)
        self.kill()
        raise BrokerStartError(f"mosquitto did not listen on {self.port} within {READY_TIMEOUT_S} s")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM (Mosquitto saves its persistence file), then SIGKILL if it lingers."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close_pipes()

    def kill(self) -> None:
        """SIGKILL: a crash, nothing saved since the last autosave."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close_pipes()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _close_pipes(self) -> None:
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()


class BrokerStartError(RuntimeError):
    """Mosquitto could not be started (bad configuration, port taken)."""


BrokerFactory = Callable[..., Broker]


def start_broker(
    directory: Path,
    *,
    overrides: Mapping[str, object] | None = None,
    name: str = "broker",
) -> Broker:
    """Start Mosquitto with the shipped settings (plus ``overrides``) on a free port.

    Its configuration, data and log go under ``directory``/``name``.

    Raises :class:`BrokerStartError` when it cannot start.
    """
    binary = mosquitto_binary()
    if binary is None:
        raise BrokerStartError("mosquitto is not installed")
    base = directory / name
    base.mkdir(parents=True, exist_ok=True)
    last_error: Exception | None = None
    for _ in range(START_ATTEMPTS):
        port = free_port()
        config = write_broker_config(
            base / "mosquitto.conf",
            port,
            base / "data",
            log_file=base / "mosquitto.log",
            # Started as root, Mosquitto switches to the "mosquitto" account, which cannot write a data
            # directory under the test's tmp_path; run it as whoever runs the tests.
            user=getpass.getuser() if os.geteuid() == 0 else None,
            overrides=overrides,
        )
        broker = Broker(port, config, base / "data", base / "mosquitto.log", binary)
        try:
            broker.start()
            return broker
        except BrokerStartError as err:
            last_error = err
            if "Address already in use" not in str(err):
                raise
    raise BrokerStartError(f"no free port after {START_ATTEMPTS} attempts: {last_error}")


@pytest.fixture
def mosquitto_broker(tmp_path: Path) -> Iterator[BrokerFactory]:
    """Factory fixture: ``mosquitto_broker(overrides=..., name=...)`` → a started :class:`Broker`."""
    require(mosquitto_binary() is not None, f"mosquitto is not installed ({MOSQUITTO} missing)")
    started: list[Broker] = []

    def factory(*, overrides: Mapping[str, object] | None = None, name: str | None = None) -> Broker:
        broker = start_broker(tmp_path, overrides=overrides, name=name or f"broker{len(started)}")
        started.append(broker)
        return broker

    try:
        yield factory
    finally:
        for broker in started:
            broker.kill()
