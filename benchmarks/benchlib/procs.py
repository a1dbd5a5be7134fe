"""The processes a benchmark starts, each on its own free port on 127.0.0.1 and stopped whatever happens.

* :func:`start_mosquitto`: Mosquitto from Cadence's shipped configuration (only the port and data
  directory change), so the numbers are those of the broker settings Cadence actually ships.
* :func:`start_ingest`: ``cadence ingest`` as a separate process, configured through the environment.
* :func:`start_influxd`: InfluxDB 1.x from a generated configuration, every listener but HTTP disabled.

Every process is a :class:`Proc`: ``stop()`` sends SIGTERM, waits, then SIGKILLs, and is idempotent; use it
in ``finally`` (or ``with``). Nothing here ever touches the machine's own services on 1883 or 8086.
"""

from __future__ import annotations

import contextlib
import getpass
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil

from cadence.ingest.broker import write_broker_config

MOSQUITTO = Path("/usr/sbin/mosquitto")
INFLUXD = Path("/usr/bin/influxd")
BIN_DIR = Path(sys.executable).parent  # the virtualenv the benchmark runs in: its `cadence` and python
PEER_SCRIPT = Path(__file__).with_name("mqtt_peer.py")
# How long a started service may take to accept connections. Mosquitto needs ~10 ms and influxd ~1 s on an
# idle machine; a loaded 2-core machine can be many times slower.
READY_TIMEOUT_S = 30.0
# How long a process gets to exit after SIGTERM before SIGKILL. Ingest commits what it holds first.
STOP_TIMEOUT_S = 30.0
POLL_S = 0.02


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the OS picks it, so never 1883 or 8086 while those run)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


def peak_rss_bytes(pid: int | str) -> int | None:
    """VmHWM of process ``pid`` (or ``"self"``): the peak of its own image, reset by exec.

    Not ``getrusage().ru_maxrss``, which Linux carries over from the parent across fork and exec: a child
    of a big process would report the parent's peak.
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any ``CADENCE_*`` setting (which would leak into a child), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADENCE_")}
    env.update(extra)
    return env


@dataclass
class Proc:
    """A started process, its log, and how to stop it."""

    name: str
    popen: subprocess.Popen[Any]
    log: Path | None = None
    port: int | None = None
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far (0 once the process is gone)."""
        try:
            times = psutil.Process(self.pid).cpu_times()
        except psutil.Error:
            return 0.0
        return float(times.user + times.system)

    def peak_rss_bytes(self) -> int | None:
        """The kernel's high-water mark of resident memory (VmHWM) for this process, while it runs."""
        return peak_rss_bytes(self.pid)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM, wait up to ``timeout_s``, then SIGKILL; returns the exit code. Idempotent."""
        try:
            if self.popen.poll() is None:
                self.popen.send_signal(signal.SIGTERM)
                try:
                    self.popen.wait(timeout_s)
                except subprocess.TimeoutExpired:
                    self.popen.kill()
                    self.popen.wait(5.0)
            return self.popen.returncode
        finally:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None

    def log_tail(self, lines: int = 15) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    def __enter__(self) -> Proc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _spawn(name: str, argv: list[str], log: Path, port: int | None = None, **popen: Any) -> Proc:
    log_file = log.open("wb")
    try:
        process = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT, **popen)
    except BaseException:
        log_file.close()
        raise
    return Proc(name, process, log, port, log_file)


def _wait_ready(proc: Proc, ready: Any, what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if not proc.running:
            raise RuntimeError(f"{what} exited at start:\n{proc.log_tail()}")
        if ready():
            return
        time.sleep(POLL_S)
    proc.stop()
    raise RuntimeError(f"{what} not ready after {READY_TIMEOUT_S:g} s:\n{proc.log_tail()}")


def start_mosquitto(workdir: Path) -> Proc:
    """Mosquitto on a free port with the shipped configuration, persisting under ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = write_broker_config(
        workdir / "mosquitto.conf",
        port,
        workdir / "data",
        log_file=workdir / "mosquitto.log",
        # As root Mosquitto switches to the "mosquitto" account, which cannot write our temp directory.
        user=getpass.getuser() if os.geteuid() == 0 else None,
    )
    proc = _spawn("mosquitto", [str(MOSQUITTO), "-c", str(config)], workdir / "stdout.log", port)
    proc.log = workdir / "mosquitto.log"
    _wait_ready(proc, lambda: port_open(port), f"Mosquitto on port {port}")
    return proc


def start_ingest(workdir: Path, mqtt_port: int, client_id: str, watch_broker: bool = True) -> Proc:
    """``cadence ingest`` in its own process, storing into ``workdir/data`` (returns once it runs).

    ``--duration`` is only a safety net: should the benchmark die without stopping it, it exits by itself.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    env = clean_env(
        CADENCE_DATA_DIR=str(workdir / "data"),
        CADENCE_MQTT_HOST="127.0.0.1",
        CADENCE_MQTT_PORT=str(mqtt_port),
        CADENCE_MQTT_CLIENT_ID=client_id,
        CADENCE_MQTT_WATCH_BROKER="true" if watch_broker else "false",
        COLUMNS="200",  # rich wraps the console at 80 columns without a terminal: keep summaries on one line
    )
    argv = [str(BIN_DIR / "cadence"), "ingest", "--duration", "900s"]
    proc = _spawn("cadence ingest", argv, workdir / "ingest.log", env=env, cwd=workdir)
    store = workdir / "data" / "cadence.db"
    _wait_ready(proc, store.exists, "cadence ingest")
    return proc


def start_peer(*args: str, log: Path) -> subprocess.Popen[str]:
    """One of :mod:`benchlib.mqtt_peer`'s commands, with a pipe to talk to it (stderr to ``log``)."""
    with log.open("w", encoding="utf-8") as err:
        return subprocess.Popen(
            [sys.executable, str(PEER_SCRIPT), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )


def read_json_line(process: subprocess.Popen[str], what: str) -> dict[str, Any]:
    """The next JSON line a peer prints. Peers bound their own waits, so this read ends too."""
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise RuntimeError(f"{what} exited without answering (exit code {process.wait(10)})")
    record: dict[str, Any] = json.loads(line)
    if "error" in record:
        raise RuntimeError(f"{what}: {record['error']}")
    return record


def stop_peer(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


# --- InfluxDB ------------------------------------------------------------------------------------------

# The snapshot and full-compaction delays only act once writes stop (they are "cold" durations): short
# ones let the benchmark measure the size on disk a few seconds after the run instead of 10 minutes later,
# without changing anything while it writes. Everything not under test (usage reporting, the _internal
# database, the RPC service on 8088, retention, continuous queries, per-request logs) is off or moved.
_INFLUX_CONFIG = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{root}/meta"

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false
  cache-snapshot-write-cold-duration = "1s"
  compact-full-write-cold-duration = "2s"

[retention]
  enabled = false

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = false
  log-enabled = false

[logging]
  level = "warn"
"""


def start_influxd(workdir: Path) -> Proc:
    """InfluxDB 1.x on free ports, data under ``workdir``; returns once ``/ping`` answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    http_port, rpc_port = free_port(), free_port()
    config = workdir / "influxdb.conf"
    config.write_text(
        _INFLUX_CONFIG.format(root=workdir, http_port=http_port, rpc_port=rpc_port), encoding="utf-8"
    )
    proc = _spawn(
        "influxd", [str(INFLUXD), "run", "-config", str(config)], workdir / "influxd.log", http_port
    )
    _wait_ready(proc, lambda: _influx_ping(http_port), f"influxd on port {http_port}")
    return proc


def _influx_ping(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
        try:
            conn.request("GET", "/ping")
            return conn.getresponse().status == 204
        finally:
            conn.close()
    except OSError:
        return False


def influx_query(port: int, query: str) -> None:
    """Run one InfluxQL statement (POST /query); raise on any error."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30.0)
    try:
        body = urllib.parse.urlencode({"q": query})
        conn.request("POST", "/query", body, {"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        text = response.read().decode("utf-8", errors="replace")
        if response.status != 200 or '"error"' in text:
            raise RuntimeError(f"InfluxDB refused {query!r}: {response.status} {text}")
    finally:
        conn.close()


def dir_bytes(path: Path) -> int:
    """Bytes of every regular file under ``path`` (``du --apparent-size``)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
