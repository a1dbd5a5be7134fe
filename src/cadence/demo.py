"""``cadence demo``: a simulated press plant → ingest → the embedded store, with the HTTP API, in one process.

No external service: the simulator publishes through an in-process publisher that feeds the same ingest
pipeline MQTT uses (same encoded bytes, same validation, same group commits). A live table shows, per
press, what the gateways published and what the store committed; at the end a summary is printed from
the store itself, and the exit code says whether data arrived from every press.
"""

from __future__ import annotations

import logging
import resource
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from rich.console import Console
from rich.live import Live
from rich.table import Table

from cadence.clock import WallClock
from cadence.config import Settings
from cadence.ingest.local import LocalPublisher
from cadence.runtime import Runtime, open_runtime
from cadence.simulator import PlantSimulator, parse_scenario
from cadence.web.app import create_app

logger = logging.getLogger(__name__)

REFRESH_S = 1.0  # live table refresh period (wall clock)
PLAIN_REPORT_S = 5.0  # without a terminal, one progress line this often


@dataclass(frozen=True, slots=True)
class DemoOptions:
    duration_s: float | None = None  # None: until Ctrl-C
    speed: float = 1.0
    seed: int = 1
    scenario: str | None = None
    http: bool = True
    fresh: bool = True  # start from an empty store


@dataclass
class DemoSummary:
    elapsed_s: float
    simulated_s: float
    machines: list[dict[str, Any]] = field(default_factory=list)
    quarantined: int = 0
    peak_rss_mb: float = 0.0
    url: str | None = None
    bytes_per_point: float = float("nan")

    @property
    def ok(self) -> bool:
        """Data arrived from every press: samples and states, and strokes when the run was long enough."""
        return bool(self.machines) and all(m["points"] > 0 and m["states"] > 0 for m in self.machines)


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MiB.

    Read from VmHWM: ``getrusage``'s ``ru_maxrss`` survives exec on Linux, so a demo started by a big
    parent process would report the parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``port``, or on a free port when that one is taken."""
    for candidate in (port, 0):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError:
            sock.close()
            if candidate == 0:
                raise
            logger.warning("Port %d is taken; the demo API uses a free port instead", port)
            continue
        sock.listen(128)
        return sock
    raise OSError("no port")  # pragma: no cover - the loop returns or raises


class _ApiServer:
    """uvicorn in a thread, stoppable."""

    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        self._sock = _bind(settings.http_host, settings.http_port)
        host, port = self._sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        config = uvicorn.Config(
            create_app(settings, runtime), log_level="warning", lifespan="on", timeout_graceful_shutdown=3
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="cadence-demo-http", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


def run_demo(settings: Settings, options: DemoOptions, console: Console) -> DemoSummary:
    """Run the demo until ``options.duration_s`` (wall seconds) elapses or Ctrl-C; return its summary."""
    if options.fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{settings.store_path}{suffix}").unlink(missing_ok=True)
    # One clock for the simulated plant and for the pages: at ×60, "now", the shift and the OEE are
    # simulated time too (sessions keep real time: open_runtime gives auth its own clock).
    plant_clock = WallClock(speed=options.speed)
    runtime = open_runtime(settings, clock=plant_clock)
    scenario = parse_scenario(options.scenario, runtime.plant) if options.scenario else None
    publisher = LocalPublisher(runtime.pipeline)
    simulator = PlantSimulator(runtime.plant, publisher, plant_clock, seed=options.seed, scenario=scenario)
    stop = threading.Event()
    sim_thread = threading.Thread(
        target=simulator.run, kwargs={"stop": stop}, name="cadence-demo-simulator", daemon=True
    )
    api = _ApiServer(settings, runtime) if options.http else None
    started = time.monotonic()
    url = None
    try:
        if api is not None:
            api.start()
            url = api.url
        console.print(_banner(runtime, simulator, options, url))
        sim_thread.start()
        runtime.start_report_scheduler()  # shift reports on the simulated clock, listed at /reports
        # Live SPC, KPI rollups and press health, as `serve` runs them. The health pages show their levels
        # once every part program has learned its baseline and wander: about a simulated day of strokes
        # (under half an hour at --speed 60); until then they say how many strokes were learned.
        runtime.start_maintenance()
        _watch(console, runtime, simulator, options, started)
    except KeyboardInterrupt:
        console.print("[yellow]Stopping…[/yellow]")
    finally:
        stop.set()
        sim_thread.join(timeout=30)
        publisher.close()  # waits until every published message is committed or quarantined
        runtime.pipeline.wait_idle(30)
        if api is not None:
            api.stop()
    summary = _summarise(runtime, simulator, started, url)
    runtime.close()
    simulator.close()
    return summary


def _banner(runtime: Runtime, simulator: PlantSimulator, options: DemoOptions, url: str | None) -> str:
    plant = runtime.plant
    lines = [
        f"[bold]Cadence demo[/bold] — {plant.site.name}: {len(plant.machines)} simulated presses, "
        f"speed ×{options.speed:g}, seed {options.seed}",
        f"Faults: {simulator.scenario.describe()}",
        f"Store: {runtime.settings.store_path}",
    ]
    if url:
        token = runtime.auth.first_start_setup_token()
        if token:
            lines.append(
                f"[bold]Open {url}/setup[/bold] and create the administrator with this one-time token:"
            )
            lines.append(f"    [bold]{token}[/bold]")
        else:
            users = runtime.settings.users_db_path
            lines.append(f"[bold]Open {url}[/bold] and log in with your account (users are kept in {users}).")
        lines.append(f"JSON API: {url}/api/v1/machines (after logging in)   health: {url}/health")
    lines.append(
        "Ctrl-C to stop." if options.duration_s is None else f"Running for {options.duration_s:g} s."
    )
    return "\n".join(lines)


def _watch(
    console: Console, runtime: Runtime, simulator: PlantSimulator, options: DemoOptions, started: float
) -> None:
    def remaining() -> float:
        if options.duration_s is None:
            return REFRESH_S
        return options.duration_s - (time.monotonic() - started)

    if console.is_terminal:
        with Live(_table(runtime, simulator, started), console=console, refresh_per_second=2) as live:
            while remaining() > 0:
                time.sleep(min(REFRESH_S, max(remaining(), 0.01)))
                live.update(_table(runtime, simulator, started))
        return
    last_report = time.monotonic()
    while remaining() > 0:
        time.sleep(min(REFRESH_S, max(remaining(), 0.01)))
        if time.monotonic() - last_report >= PLAIN_REPORT_S:
            last_report = time.monotonic()
            snap = runtime.stats.snapshot()
            console.print(
                f"{time.monotonic() - started:6.0f} s  stored {snap['stored']} messages, "
                f"{snap['points']} points, {snap['strokes']} strokes, {snap['states']} states; "
                f"rejected {snap['rejected_total']}"
            )


def _table(runtime: Runtime, simulator: PlantSimulator, started: float) -> Table:
    snap = runtime.stats.snapshot()
    stored = snap["machines"]
    published = simulator.counters()
    elapsed = max(time.monotonic() - started, 1e-9)
    table = Table(
        title=f"Live — {elapsed:.0f} s, {snap['points'] / elapsed:,.0f} points/s stored, "
        f"{snap['rejected_total']} rejected, RSS peak {peak_rss_mb():.0f} MB",
        expand=False,
    )
    columns = ("press", "state", "strokes", "good", "scrap", "last cycle s", "oil °C", "points published")
    for column in (*columns, "points stored", "states"):
        table.add_column(column, justify="left" if column in ("press", "state") else "right")
    oil = {v.machine: v.value for v in runtime.store.latest() if v.signal == "oil_temp"}
    for machine in runtime.plant.machines:
        pub = published.get(machine.id)
        got = stored.get(machine.id, {})
        last = runtime.store.strokes(machine.id, 0, 2**62, limit=1)
        cycle = last[0].features.get("cycle_time_s") if last else None
        table.add_row(
            f"{machine.id} {machine.name}",
            pub.state if pub else "—",
            f"{got.get('strokes', 0):,}",
            f"{pub.good if pub else 0:,}",
            f"{pub.scrap if pub else 0:,}",
            "—" if cycle is None else f"{cycle:.1f}",
            f"{oil[machine.id]:.1f}" if machine.id in oil else "—",
            f"{pub.points if pub else 0:,}",
            f"{got.get('points', 0):,}",
            f"{got.get('states', 0):,}",
        )
    return table


def _summarise(runtime: Runtime, simulator: PlantSimulator, started: float, url: str | None) -> DemoSummary:
    stats = runtime.store.stats()
    by_machine = {m.machine: m for m in stats.machines}
    published = simulator.counters()
    summary = DemoSummary(
        elapsed_s=time.monotonic() - started,
        simulated_s=max(0.0, (simulator.now_us - simulator.start_us) / 1e6),
        quarantined=stats.quarantined,
        peak_rss_mb=peak_rss_mb(),
        url=url,
        bytes_per_point=stats.bytes_per_point,
    )
    for machine in runtime.plant.machines:
        counts = by_machine.get(machine.id)
        strokes = runtime.store.strokes(machine.id, 0, 2**62, limit=1_000_000)
        pub = published.get(machine.id)
        summary.machines.append(
            {
                "machine": machine.id,
                "points": counts.points if counts else 0,
                "strokes": counts.strokes if counts else 0,
                "good": sum(1 for s in strokes if s.good),
                "scrap": sum(1 for s in strokes if not s.good),
                "states": counts.states if counts else 0,
                "published_points": pub.points if pub else 0,
            }
        )
    return summary


def summary_line(summary: DemoSummary) -> str:
    return (
        f"Summary — {summary.elapsed_s:.0f} s wall, {summary.simulated_s:.0f} s simulated, "
        f"peak RSS {summary.peak_rss_mb:.0f} MB, {summary.quarantined} quarantined, "
        f"{summary.bytes_per_point:.2f} B/point at rest (before compaction)"
    )


def summary_table(summary: DemoSummary) -> Table:
    table = Table()
    for column in ("press", "points", "strokes", "good", "scrap", "states"):
        table.add_column(column, justify="left" if column == "press" else "right")
    totals = {k: 0 for k in ("points", "strokes", "good", "scrap", "states")}
    for m in summary.machines:
        table.add_row(m["machine"], *(f"{m[k]:,}" for k in totals))
        for k in totals:
            totals[k] += m[k]
    table.add_row("[bold]total[/bold]", *(f"[bold]{totals[k]:,}[/bold]" for k in totals))
    return table
