"""The ``cadence`` command as a user runs it: real processes, a real broker, a real store on disk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cadence.store.sqlite import SqliteStore
from support.broker import BrokerFactory, free_port

CADENCE = [sys.executable, "-m", "cadence"]
MACHINES = {"P01", "P02", "P03", "P04", "P05", "P06"}


def _env(tmp_path: Path, **settings: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADENCE_")}
    env["CADENCE_DATA_DIR"] = str(tmp_path / "data")
    env.update({f"CADENCE_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def _run(
    args: list[str], env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CADENCE, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_help_lists_every_command() -> None:
    result = _run(["--help"])
    assert result.returncode == 0
    for command in ("demo", "simulate", "ingest", "serve", "check-config", "broker-config"):
        assert command in result.stdout


def test_check_config_accepts_the_example_and_explains_a_bad_plant(tmp_path: Path) -> None:
    ok = _run(["check-config"])
    assert ok.returncode == 0, ok.stderr
    assert "P06" in ok.stdout and "matin" in ok.stdout
    bad = tmp_path / "plant.toml"
    example = Path(__file__).parents[2] / "src" / "cadence" / "examples" / "plant.toml"
    bad.write_text(
        example.read_text(encoding="utf-8").replace('line = "L2"', 'line = "L7"', 1), encoding="utf-8"
    )
    result = _run(["check-config", "--plant", str(bad)])
    assert result.returncode == 2
    assert f"{bad}: machines[3].line = 'L7': unknown line; allowed: L1, L2" in " ".join(result.stderr.split())


def test_check_config_refuses_a_bad_setting(tmp_path: Path) -> None:
    settings = tmp_path / "cadence.toml"
    settings.write_text("mqtt_port = 70000\n", encoding="utf-8")
    result = _run(["check-config", "--config", str(settings)])
    assert result.returncode == 2
    assert "mqtt_port = 70000" in " ".join(result.stderr.split())


def test_broker_config_is_the_shipped_one() -> None:
    result = _run(["broker-config", "--port", "18883"])
    assert result.returncode == 0
    assert "listener 18883 127.0.0.1" in result.stdout
    assert "max_queued_messages" in result.stdout


@pytest.mark.slow
def test_demo_runs_for_a_duration_and_prints_a_summary(tmp_path: Path) -> None:
    result = _run(
        [
            "demo",
            "--duration",
            "12s",
            "--speed",
            "5",
            "--port",
            str(free_port()),
            "--data-dir",
            str(tmp_path),
        ],
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Summary" in result.stdout
    for machine in MACHINES:
        assert machine in result.stdout
    with SqliteStore(tmp_path / "cadence.db", read_only=True) as store:
        stats = store.stats()
    assert {m.machine for m in stats.machines if m.points and m.strokes and m.states} == MACHINES
    assert stats.quarantined == 0


@pytest.mark.mosquitto
@pytest.mark.slow
def test_simulate_ingest_and_serve_through_a_real_broker(
    tmp_path: Path, mosquitto_broker: BrokerFactory
) -> None:
    """Gateways (simulator) → Mosquitto → cadence ingest, and cadence serve reading beside it."""
    broker = mosquitto_broker()
    http_port = free_port()
    env = _env(tmp_path, mqtt_port=broker.port, http_port=http_port, mqtt_client_id=f"ingest-{broker.port}")
    ingest = subprocess.Popen(
        [*CADENCE, "ingest"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    serve = None
    try:
        time.sleep(2)  # let ingest subscribe; QoS 1 and its persistent session would keep the data anyway
        sim = _run(["simulate", "--speed", "30", "--duration", "12s", "--seed", "7"], env=env, timeout=120)
        assert sim.returncode == 0, sim.stdout + sim.stderr
        assert "publish errors 0" in sim.stdout
        serve = subprocess.Popen(
            [*CADENCE, "serve", "--no-mqtt"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        health = _wait_json(f"http://127.0.0.1:{http_port}/health", lambda h: h["store"]["strokes"] > 0)
        assert health["ok"] is True
        cookie = _log_in(f"http://127.0.0.1:{http_port}", tmp_path)
        machines = _wait_json(
            f"http://127.0.0.1:{http_port}/api/v1/machines",
            lambda body: all(m["strokes"] > 0 and m["state"] for m in body["machines"]),
            # A wait, not a timing: on a loaded 2-core machine the six presses' first states took over 30 s.
            timeout_s=90,
            cookie=cookie,
        )
        assert {m["id"] for m in machines["machines"]} == MACHINES
        strokes = _wait_json(
            f"http://127.0.0.1:{http_port}/api/v1/machines/P02/strokes?start=0&limit=3", bool, cookie=cookie
        )
        assert strokes["strokes"][0]["features"]["peak_pressure_bar"] > 0
    finally:
        for process in (serve, ingest):
            if process is not None:
                process.send_signal(signal.SIGINT)
        outputs = [p.communicate(timeout=60) for p in (serve, ingest) if p is not None]
    assert ingest.returncode == 0, outputs[-1]
    assert "rejected 0" in outputs[-1][0]
    # No administrator yet: serve printed the one-time setup token (there is no default password).
    assert "First start: open /setup" in " ".join(outputs[0][0].split())


def _log_in(base: str, tmp_path: Path) -> str:
    """A supervisor created in the server's users database, logged in through the API: the cookie."""
    from cadence.auth import Role, open_auth
    from cadence.clock import WallClock
    from cadence.config import load_settings
    from support.auth import FAST_AUTH, PASSWORD

    service = open_auth(load_settings(data_dir=tmp_path / "data", **FAST_AUTH), WallClock())
    try:
        service.create_user("chef", Role.SUPERVISOR, PASSWORD)
    finally:
        service.close()
    request = urllib.request.Request(  # noqa: S310 - a local test server
        f"{base}/api/v1/auth/login",
        data=json.dumps({"name": "chef", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - a local test server
        return str(response.headers["set-cookie"]).split(";", 1)[0]


def _wait_json(
    url: str, ready: object, timeout_s: float = 30, cookie: str | None = None
) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        try:
            headers = {"Cookie": cookie} if cookie else {}
            request = urllib.request.Request(url, headers=headers)  # noqa: S310 - a local test server
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - a local test server
                body: dict[str, object] = json.loads(response.read())
            if callable(ready) and ready(body):
                return body
            last = body
        except OSError as err:
            last = err
        time.sleep(0.5)
    raise AssertionError(f"{url} not ready in {timeout_s} s: {last}")


def test_user_add_creates_an_account_that_can_log_in(tmp_path: Path) -> None:
    env = _env(tmp_path)
    created = subprocess.run(
        [*CADENCE, "user", "add", "lea", "--role", "operator", "--password-stdin"],
        input="un mot de passe assez long\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    weak = subprocess.run(
        [*CADENCE, "user", "add", "bob", "--role", "operator", "--password-stdin"],
        input="court\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert weak.returncode == 2 and "auth.weak_password" in weak.stderr

    from cadence.auth import open_auth
    from cadence.clock import WallClock
    from cadence.config import load_settings

    service = open_auth(load_settings(data_dir=tmp_path / "data"), WallClock())
    try:
        session = service.login("lea", "un mot de passe assez long", "127.0.0.1")
        assert session.user.role.value == "operator"
    finally:
        service.close()
