"""The ``cadence`` command: demo, simulate, ingest, serve, check-config, broker-config.

Heavy modules are imported inside the commands so that ``cadence --help`` stays instant.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from cadence.cli_anomaly import anomaly_app
from cadence.cli_rul import rul_app
from cadence.config import Settings, load_settings
from cadence.errors import CadenceError

if TYPE_CHECKING:
    from cadence.auth import AuthService

logger = logging.getLogger(__name__)

app = typer.Typer(
    name="cadence",
    help="Cadence: press plant data from the machine to a durable store, in real time.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="CADENCE_CONFIG", help="Settings file (TOML).", show_default=False),
]
PlantOption = Annotated[
    Path | None, typer.Option("--plant", help="Plant file (TOML); default: the settings' plant_file.")
]
DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Directory of the store; default: the settings' data_dir.")
]
DurationOption = Annotated[
    str | None, typer.Option("--duration", "-d", help="Stop after this long (wall clock), e.g. 30s, 5m, 1h.")
]


def _settings(config: Path | None, **overrides: Any) -> Settings:
    return load_settings(config, **{k: v for k, v in overrides.items() if v is not None})


def _duration(text: str | None) -> float | None:
    from cadence.services.timerange import parse_duration_s

    return None if text is None else parse_duration_s(text)


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _wait(stop: threading.Event, duration_s: float | None) -> None:
    """Block until Ctrl-C, SIGTERM or the duration; the caller then shuts down cleanly."""
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    deadline = None if duration_s is None else time.monotonic() + duration_s
    try:
        while not stop.is_set():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            stop.wait(0.5 if left is None else min(0.5, left))
    except KeyboardInterrupt:
        pass
    stop.set()


@app.command()
def demo(
    duration: DurationOption = None,
    speed: Annotated[
        float, typer.Option(min=0.01, help="Simulated seconds per wall second (60 = ×60).")
    ] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed of the simulated plant.")] = 1,
    faults: Annotated[
        str | None,
        typer.Option(help="Fault scenario, e.g. 'default,P02=pump_leak:0.8' (see simulate --help)."),
    ] = None,
    port: Annotated[int, typer.Option(help="Port of the JSON API during the demo.")] = 8000,
    http: Annotated[
        bool, typer.Option("--http/--no-http", help="Serve the JSON API during the demo.")
    ] = True,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the previous demo's data instead of starting empty.")
    ] = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Run a simulated press plant → ingest → embedded store, with live counters. No external service.

    Example: cadence demo --duration 30s
    """
    from cadence.demo import DemoOptions, run_demo, summary_line, summary_table

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = _settings(config, data_dir=data_dir or Path("var/demo"), http_port=port)
    options = DemoOptions(
        duration_s=_duration(duration), speed=speed, seed=seed, scenario=faults, http=http, fresh=not keep
    )
    summary = run_demo(settings, options, console)
    console.print(summary_line(summary))
    console.print(summary_table(summary))
    if not summary.ok:
        err_console.print("[red]No data arrived from at least one press: see the log above.[/red]")
        raise typer.Exit(1)


@app.command()
def simulate(
    mqtt_host: Annotated[
        str | None, typer.Option(help="Broker host; default: the settings' mqtt_host.")
    ] = None,
    mqtt_port: Annotated[
        int | None, typer.Option(help="Broker port; default: the settings' mqtt_port.")
    ] = None,
    http_url: Annotated[
        str | None, typer.Option("--http", help="Send to a Cadence server's HTTP endpoint instead of MQTT.")
    ] = None,
    device_key: Annotated[
        str | None,
        typer.Option(
            "--device-key",
            envvar="CADENCE_DEVICE_KEY",
            help="Device key for --http (cadence device-key add NAME).",
            show_default=False,
        ),
    ] = None,
    speed: Annotated[float, typer.Option(min=0.01, help="Simulated seconds per wall second.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same messages.")] = 1,
    faults: Annotated[
        str | None,
        typer.Option(
            help="Faults per press: MACHINE=MODE[:START][@LIFEh], '+' for several, 'default' or 'healthy'. "
            "Modes: pump_leak, seal_wear, cooler_fouling, valve_lag, die_wear. "
            "Example: 'default,P02=pump_leak:0.8@20h'."
        ),
    ] = None,
    truth: Annotated[
        Path | None, typer.Option(help="Write the true fault parameters of every stroke (CSV).")
    ] = None,
    duration: DurationOption = None,
    plant: PlantOption = None,
    config: ConfigOption = None,
) -> None:
    """Run the simulated press plant, publishing like PLC gateways (MQTT QoS 1, protocol v1).

    Example: cadence simulate --mqtt-port 1883 --speed 60 --duration 10m
    """
    from cadence.clock import WallClock
    from cadence.plantfile import load_plant
    from cadence.simulator import MqttPublisher, PlantSimulator, parse_scenario

    _logging(verbose=False)
    settings = _settings(config, plant_file=plant, mqtt_host=mqtt_host, mqtt_port=mqtt_port)
    the_plant = load_plant(settings.plant_file)
    publisher: Any
    if http_url:
        from cadence.simulator.http_publisher import HttpPublisher

        publisher = HttpPublisher(http_url, key=device_key)
    else:
        password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
        publisher = MqttPublisher(
            settings.mqtt_host,
            settings.mqtt_port,
            client_id=f"cadence-sim-{seed}",
            username=settings.mqtt_username,
            password=password,
        )
    scenario = parse_scenario(faults, the_plant) if faults else None
    stop = threading.Event()
    with PlantSimulator(
        the_plant, publisher, WallClock(speed=speed), seed=seed, scenario=scenario, truth_csv=truth
    ) as sim:
        console.print(
            f"Simulating {len(the_plant.machines)} presses ×{speed:g}; faults: {sim.scenario.describe()}"
        )
        worker = threading.Thread(target=sim.run, kwargs={"stop": stop}, daemon=True)
        worker.start()
        _wait(stop, _duration(duration))
        worker.join(timeout=30)
        flushed = publisher.flush(30)
        publisher.close()
        totals = sim.totals()
    console.print(
        f"Published {totals.messages:,} messages: {totals.points:,} points, {totals.strokes:,} strokes "
        f"({totals.scrap:,} scrap), {totals.states:,} states; publish errors {totals.publish_errors}"
    )
    if not flushed or totals.publish_errors:
        raise typer.Exit(1)


@app.command()
def ingest(
    duration: DurationOption = None,
    data_dir: DataDirOption = None,
    plant: PlantOption = None,
    config: ConfigOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Subscribe to cadence/v1/+/+ on the broker and store everything, headless.

    Example: cadence ingest --config /etc/cadence/cadence.toml
    """
    from cadence.runtime import open_runtime

    _logging(verbose)
    settings = _settings(config, data_dir=data_dir, plant_file=plant)
    runtime = open_runtime(settings)
    runtime.start_maintenance()
    mqtt_ingest, watch = _start_mqtt(runtime)
    stop = threading.Event()
    console.print(
        f"Ingesting from mqtt://{settings.mqtt_host}:{settings.mqtt_port} into {settings.store_path}"
    )
    try:
        _wait(stop, _duration(duration))
    finally:
        mqtt_ingest.stop()
        if watch is not None:
            watch.stop()
        runtime.pipeline.close()
        snap = runtime.stats.snapshot()
        runtime.close()
    console.print(
        f"Stored {snap['stored']:,} messages ({snap['points']:,} points, {snap['strokes']:,} strokes, "
        f"{snap['states']:,} states); duplicates {snap['duplicates']:,}; rejected {snap['rejected_total']:,}"
    )


def _start_mqtt(runtime: Any) -> tuple[Any, Any]:
    from cadence.ingest.broker_watch import BrokerWatch
    from cadence.ingest.mqtt import MqttIngest

    s = runtime.settings
    password = s.mqtt_password.get_secret_value() if s.mqtt_password else None
    mqtt_ingest = MqttIngest(
        runtime.pipeline,
        s.mqtt_host,
        s.mqtt_port,
        client_id=s.mqtt_client_id,
        qos=s.mqtt_qos,
        username=s.mqtt_username,
        password=password,
        queue_size=s.ingest_queue_messages,
    )
    mqtt_ingest.start()
    watch = None
    if s.mqtt_watch_broker:
        watch = BrokerWatch(
            runtime.store,
            runtime.clock,
            runtime.stats,
            s.mqtt_host,
            s.mqtt_port,
            client_id=f"{s.mqtt_client_id}-watch",
            username=s.mqtt_username,
            password=password,
        )
        watch.start()
    return mqtt_ingest, watch


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Listen address; default: the settings' http_host.")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Listen port; default: the settings' http_port.")] = None,
    mqtt: Annotated[
        bool, typer.Option("--mqtt/--no-mqtt", help="Also run MQTT ingest in this process.")
    ] = True,
    data_dir: DataDirOption = None,
    plant: PlantOption = None,
    config: ConfigOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Serve /health, the JSON API (/api/v1/…, OpenAPI at /docs) and HTTP ingest; MQTT ingest too.

    Example: cadence serve --port 8000
    """
    import uvicorn

    from cadence.runtime import open_runtime
    from cadence.web.app import create_app

    _logging(verbose)
    settings = _settings(config, data_dir=data_dir, plant_file=plant, http_host=host, http_port=port)
    runtime = open_runtime(settings)
    runtime.start_maintenance()
    runtime.start_report_scheduler()  # each shift's PDF and CSV into the archive when it ends
    mqtt_ingest = watch = None
    try:
        if mqtt:
            mqtt_ingest, watch = _start_mqtt(runtime)
        console.print(f"Cadence serving on http://{settings.http_host}:{settings.http_port}")
        token = runtime.auth.first_start_setup_token()
        if token:
            # No default password: the first administrator is created with this one-time token.
            console.print(
                f"First start: open /setup and create the administrator with the token {escape(token)}"
            )
        uvicorn.run(
            create_app(settings, runtime),
            host=settings.http_host,
            port=settings.http_port,
            log_level="warning",
            timeout_graceful_shutdown=3,
        )
    finally:
        if mqtt_ingest is not None:
            mqtt_ingest.stop()
        if watch is not None:
            watch.stop()
        runtime.close()  # finishes the pipeline's groups, then closes the store


@app.command("check-config")
def check_config(
    plant: PlantOption = None,
    config: ConfigOption = None,
    settings_reference: Annotated[
        bool, typer.Option("--settings-reference", help="Print the settings reference (Markdown).")
    ] = False,
    errors_reference: Annotated[
        bool, typer.Option("--errors-reference", help="Print the error code reference (Markdown).")
    ] = False,
) -> None:
    """Validate the settings and the plant file; print what they describe, or every problem found.

    Example: cadence check-config --plant my-plant.toml
    """
    from rich.table import Table

    from cadence.config import settings_reference as settings_doc
    from cadence.errors import errors_reference as errors_doc
    from cadence.plantfile import load_plant

    if settings_reference:
        sys.stdout.write(settings_doc())
        return
    if errors_reference:
        sys.stdout.write(errors_doc())
        return
    settings = _settings(config, plant_file=plant)
    the_plant = load_plant(settings.plant_file)
    console.print(
        f"[green]OK[/green] settings{f' from {config}' if config else ''}; plant file {settings.plant_file}"
    )
    console.print(f"Site {the_plant.site.id} — {the_plant.site.name} ({the_plant.site.timezone})")
    table = Table("machine", "line", "tonnage", "target cycle", "signals")
    for m in the_plant.machines:
        table.add_row(
            f"{m.id} {m.name}",
            m.line,
            "—" if m.tonnage_t is None else f"{m.tonnage_t:g} t",
            "—" if m.target_cycle_s is None else f"{m.target_cycle_s:g} s",
            ", ".join(f"{s.name} ({s.unit}, {s.sampling_hz:g} Hz)" for s in m.signals),
        )
    console.print(table)
    shifts = ", ".join(f"{s.name} {s.start:%H:%M}+{s.hours:g}h" for s in the_plant.shifts) or "none"
    console.print(f"Shifts: {shifts}")
    closed = {h for s in the_plant.shifts for h in s.holidays.holidays}
    days = ", ".join(sorted(f"{h.text}{f' {h.name}' if h.name else ''}" for h in closed)) or "none"
    console.print(f"Holidays (no shift starts on them): {days}", highlight=False)


@app.command()
def trace(
    serial: Annotated[str | None, typer.Option("--serial", help="Backward: how this part was made.")] = None,
    lot: Annotated[str | None, typer.Option("--lot", help="The parts of this production lot.")] = None,
    material_lot: Annotated[
        str | None, typer.Option("--material-lot", help="Forward: every part made from this lot/heat.")
    ] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Write the parts to this CSV file.")] = None,
    separator: Annotated[str, typer.Option("--sep", help="CSV separator: ',' or ';' (French Excel).")] = ",",
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Traceability search by serial number, lot or material lot; prints a table or writes a CSV.

    Example: cadence trace --material-lot HEAT-55120 --csv heat.csv --sep ";"
    """
    from rich.table import Table

    from cadence.plantfile import load_plant
    from cadence.services.traceability import Traceability, TraceKind, conflicts_text, trace_csv
    from cadence.store.sqlite import SqliteStore

    given = [
        (k, v)
        for k, v in ((TraceKind.SERIAL, serial), (TraceKind.LOT, lot), (TraceKind.MATERIAL_LOT, material_lot))
        if v
    ]
    if len(given) != 1:
        raise typer.BadParameter("give exactly one of --serial, --lot and --material-lot")
    if separator not in (",", ";"):
        raise typer.BadParameter("--sep must be ',' or ';'")
    settings = _settings(config, data_dir=data_dir)
    # Read-only: a search runs beside `cadence serve` and must never take the writer's place.
    store = SqliteStore(settings.store_path, read_only=True)
    try:
        service = Traceability(load_plant(settings.plant_file), store)
        # The counts cover every part; only the CSV needs every stroke, the table shows the 50 newest.
        found = service.export(*given[0]) if csv_file is not None else service.search(*given[0], limit=50)
    finally:
        store.close()
    if csv_file is not None:
        csv_file.write_text(trace_csv(found, separator), encoding="utf-8", newline="")
        console.print(f"Wrote {len(found.strokes):,} parts to {csv_file}", highlight=False)
        return
    orders = Table("order", "part", "lots", "presses", "dies", "good", "scrap", "via tablet")
    for o in found.orders:
        orders.add_row(
            o.order or "—",
            o.part or "—",
            ", ".join(o.lots),
            ", ".join(o.machines),
            ", ".join(o.dies),
            str(o.good),
            str(o.scrap),
            f"{o.tablet_parts} ({', '.join(o.operators)})" if o.tablet_parts else "—",
        )
    console.print(orders)
    # A value the tablet order filled in (the press sent none) is marked "†", never shown as the press's.
    parts = Table(
        "start", "press", "n", "serial", "order", "lot", "material lot", "die", "operator", "result"
    )
    conflicts = []
    for s, origin in found.parts_with_origin():
        shown = origin.marked
        parts.add_row(
            _when(s.start_us),
            s.machine,
            str(s.n),
            s.serial or "—",
            shown("order"),
            shown("lot"),
            shown("material_lot"),
            shown("die"),
            origin.operator or "—",
            "OK" if s.good else f"NOK {s.scrap_reason or ''}".strip(),
        )
        if origin.conflicts:
            conflicts.append(f"{s.machine} n {s.n}: {conflicts_text(origin)}")
    console.print(parts)
    console.print("† from the order started on the tablet (the press sent none)", highlight=False)
    for line in conflicts:
        console.print(f"press and tablet disagree — {line}", highlight=False)
    summary = f"{found.parts:,} parts: {found.good:,} good, {found.scrap:,} scrap"
    if found.tablet_parts:
        summary += f" ({found.tablet_parts:,} found through tablet orders)"
    console.print(summary, highlight=False)
    if found.truncated:
        console.print(f"(the {len(found.strokes):,} newest shown; --csv writes every part)", highlight=False)


device_key_app = typer.Typer(
    help="Keys of edge agents and gateways posting to /api/v1/ingest.", no_args_is_help=True
)
app.add_typer(device_key_app, name="device-key")


@contextmanager
def _open_auth(config: Path | None, data_dir: Path | None) -> Iterator[AuthService]:
    """The users database of the settings' data directory, closed when the command is done."""
    from cadence.auth import open_auth
    from cadence.clock import WallClock

    _logging(verbose=False)  # key creation and revocation are logged: the audit trail of the console
    auth = open_auth(_settings(config, data_dir=data_dir), WallClock())
    try:
        yield auth
    finally:
        auth.close()


def _when(ts_us: int | None) -> str:
    from cadence.clock import to_datetime

    return "—" if ts_us is None else f"{to_datetime(ts_us):%Y-%m-%d %H:%M:%S} UTC"


@device_key_app.command("add")
def device_key_add(
    name: Annotated[str, typer.Argument(help="Name of the device, e.g. its host name.")],
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Create a key for a device and print it, once: only its hash is kept.

    Example: cadence device-key add line1-gateway
    """
    with _open_auth(config, data_dir) as auth:
        key = auth.create_device_key(name)
    # The key alone on stdout, so that a script can capture it; the hint goes to stderr.
    sys.stdout.write(key + "\n")
    err_console.print(
        "Shown once. The device sends it as the header: Authorization: Bearer <key>", highlight=False
    )


@device_key_app.command("list")
def device_key_list(data_dir: DataDirOption = None, config: ConfigOption = None) -> None:
    """List the device keys (never the keys themselves), revoked ones included."""
    from rich.table import Table

    with _open_auth(config, data_dir) as auth:
        keys = auth.list_device_keys()
    table = Table("name", "created", "last used", "revoked")
    for k in keys:
        table.add_row(k.name, _when(k.created_us), _when(k.last_used_us), _when(k.revoked_us))
    console.print(table)


@device_key_app.command("revoke")
def device_key_revoke(
    name: Annotated[str, typer.Argument(help="Name of the device whose key stops working.")],
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Revoke a device's key at once; its next request is refused (401).

    Example: cadence device-key revoke line1-gateway
    """
    with _open_auth(config, data_dir) as auth:
        revoked = auth.revoke_device_key(name)
    console.print(f"Device key {revoked.name!r} revoked", highlight=False)


@app.command("broker-config")
def broker_config(
    port: Annotated[int, typer.Option(help="Listener port written into the configuration.")] = 1883,
    data_dir: Annotated[Path, typer.Option(help="Where the broker keeps its persistence file.")] = Path(
        "/var/lib/mosquitto"
    ),
) -> None:
    """Print the Mosquitto configuration Cadence needs (queues sized so bursts are not dropped).

    Example: cadence broker-config > /etc/mosquitto/conf.d/cadence.conf
    """
    from cadence.ingest.broker import render_broker_config

    sys.stdout.write(render_broker_config(port=port, data_dir=data_dir))


user_app = typer.Typer(help="People's accounts: operators, supervisors, maintenance, managers, admins.")
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="operator, supervisor, maintenance, manager or admin.")],
    locale: Annotated[str | None, typer.Option(help="fr or en (default: the plant's, French).")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (scripts).")
    ] = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Create an account; the password is typed twice (never on the command line, where it would be
    kept in the shell's history).

    Example: cadence user add lea --role operator
    """
    from cadence.auth import Role

    try:
        chosen = Role(role)
    except ValueError:
        raise typer.BadParameter(f"{role!r}: use one of {', '.join(r.value for r in Role)}") from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password (12 characters or more)", hide_input=True, confirmation_prompt=True)
    with _open_auth(config, data_dir) as auth:
        user = auth.create_user(name, chosen, password, locale)
    console.print(f"Created {user.name} ({user.role.value})")


@user_app.command("unlock")
def user_unlock(
    name: Annotated[str, typer.Argument(help="Login name locked after too many failed attempts.")],
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Lift a login lockout before its time runs out."""
    with _open_auth(config, data_dir) as auth:
        auth.unlock(name)
    console.print(f"Unlocked {name}")


report_app = typer.Typer(help="Reports generated from the store: end-of-shift PDF and CSV.")
app.add_typer(report_app, name="report")
app.add_typer(anomaly_app, name="anomaly")
app.add_typer(rul_app, name="rul")


@report_app.command("shift")
def report_shift(
    at: Annotated[
        str | None,
        typer.Option("--at", help="ISO time in the shift to report (plant time if no offset); default: now."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Directory to write the PDF and CSV into.")] = Path("."),
    locale: Annotated[str, typer.Option("--locale", help="Language of the PDF: fr or en.")] = "fr",
    separator: Annotated[str, typer.Option("--sep", help="CSV separator: ',' or ';' (French Excel).")] = ";",
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """End-of-shift report of the shift running at --at (or the last one ended), as PDF and CSV.

    Example: cadence report shift --at 2026-11-30T12:00 --out reports/
    """
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from cadence.clock import WallClock, from_datetime
    from cadence.plantfile import load_plant
    from cadence.reports.csv import shift_report_csv
    from cadence.reports.pdf import shift_report_pdf
    from cadence.reports.shift import report_shift as find_shift
    from cadence.reports.shift import shift_report_data
    from cadence.store.sqlite import SqliteStore

    if locale not in ("fr", "en"):
        raise typer.BadParameter("--locale must be fr or en")
    if separator not in (",", ";"):
        raise typer.BadParameter("--sep must be ',' or ';'")
    settings = _settings(config, data_dir=data_dir)
    plant = load_plant(settings.plant_file)
    try:
        moment = WallClock().now() if at is None else datetime.fromisoformat(at)
    except ValueError as err:
        raise typer.BadParameter(f"--at: {err}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(plant.site.timezone))
    shift, running = find_shift(plant, moment)
    # Read-only: a report runs beside `cadence serve` and must never take the writer's place.
    store = SqliteStore(settings.store_path, read_only=True)
    try:
        report = shift_report_data(plant, store, shift, until_us=from_datetime(moment) if running else None)
    finally:
        store.close()
    out.mkdir(parents=True, exist_ok=True)
    stem = f"shift-report-{shift.start:%Y%m%d-%H%M}"
    pdf_path, csv_path = out / f"{stem}.pdf", out / f"{stem}.csv"
    pdf_path.write_bytes(shift_report_pdf(report, locale))
    csv_path.write_text(shift_report_csv(report, separator), encoding="utf-8", newline="")
    state = "in progress" if running else "ended"
    console.print(f"Shift {shift.name} ({state}): wrote {pdf_path} and {csv_path}", highlight=False)


@report_app.command("list")
def report_list(
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most recent shifts to list.")] = 50,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """The shift reports in the archive, newest first, and the shifts whose automatic report failed.

    Example: cadence report list --limit 10
    """
    from zoneinfo import ZoneInfo

    from rich.table import Table

    from cadence.clock import to_datetime
    from cadence.plantfile import load_plant
    from cadence.reports.archive import FileKind, ReportArchive

    settings = _settings(config, data_dir=data_dir)
    tz = ZoneInfo(load_plant(settings.plant_file).site.timezone)
    archive = ReportArchive(settings.reports_path)
    try:
        found, failures = archive.recent(limit=limit), archive.failures()
    finally:
        archive.close()

    def local(ts_us: int) -> str:
        return f"{to_datetime(ts_us).astimezone(tz):%Y-%m-%d %H:%M}"

    if not found:
        console.print(f"No report in {settings.reports_path} yet.", highlight=False)
    else:
        table = Table(title=f"Shift reports in {settings.reports_path}")
        for column in ("id", "shift", "date", "period", "status", "generated", "by", "PDF"):
            table.add_column(column)
        for r in found:
            table.add_row(
                str(r.id),
                r.shift_name,
                r.local_date,
                f"{local(r.shift_start_us)[11:]}–{local(r.shift_end_us)[11:]}",
                "final" if r.final else f"in progress (to {local(r.until_us)[11:]})",
                local(r.generated_us),
                r.trigger.value + (f" ({r.requested_by})" if r.requested_by else ""),
                r.relative(FileKind.PDF),
            )
        console.print(table)
    for f in failures:
        err_console.print(
            f"[red]failed[/red] {escape(f.shift_name)} {local(f.shift_start_us)}: {f.attempts} attempts, "
            f"last {local(f.last_attempt_us)}: {escape(f.last_error)}",
            highlight=False,
        )


@report_app.command("regenerate")
def report_regenerate(
    shift: Annotated[str, typer.Option("--shift", help="Shift name, as in the plant file (e.g. matin).")],
    day: Annotated[
        str, typer.Option("--date", help="Local date the shift starts on, YYYY-MM-DD (a night: its evening).")
    ],
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Make again (or for the first time) the archived report of one shift, e.g. after late data.

    Example: cadence report regenerate --shift nuit --date 2026-11-30
    """
    from datetime import date

    from cadence.clock import WallClock
    from cadence.plantfile import load_plant
    from cadence.reports.archive import FileKind, ReportArchive, Trigger
    from cadence.services.report_scheduler import ShiftReports, options_from
    from cadence.store.sqlite import SqliteStore

    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise typer.BadParameter(f"--date {day!r}: expected YYYY-MM-DD") from None
    settings = _settings(config, data_dir=data_dir)
    plant = load_plant(settings.plant_file)
    # Read-only, like `report shift`: it runs beside `cadence serve` without taking the writer's place.
    store = SqliteStore(settings.store_path, read_only=True)
    archive = ReportArchive(settings.reports_path)
    try:
        reports = ShiftReports(plant, store, archive, WallClock(), options_from(settings))
        made = reports.regenerate(shift, when, Trigger.CLI)
    finally:
        archive.close()
        store.close()
    state = "final" if made.final else "in progress"
    console.print(
        f"Shift {made.shift_name} of {made.local_date} ({state}, version {made.generation}): "
        f"{archive.root / made.relative(FileKind.PDF)} and .csv",
        highlight=False,
    )


@report_app.command("roi")
def report_roi(
    baseline: Annotated[
        str, typer.Option("--baseline", help="Baseline period, local dates: YYYY-MM-DD:YYYY-MM-DD.")
    ],
    current: Annotated[
        str, typer.Option("--current", help="Current period, local dates: YYYY-MM-DD:YYYY-MM-DD.")
    ],
    machine: Annotated[str | None, typer.Option("--machine", help="One press (default: the plant).")] = None,
    line: Annotated[str | None, typer.Option("--line", help="One line (default: the plant).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the one-page PDF to this file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
    locale: Annotated[str, typer.Option("--locale", help="Language of the PDF: fr or en.")] = "fr",
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Before/after comparison of two periods: yield, OEE, scrap, energy and downtime, with 95 % intervals.

    Example: cadence report roi --baseline 2026-01-01:2026-03-31 --current 2026-04-01:2026-06-30 --out roi.pdf
    """
    import json

    from rich.table import Table

    from cadence.clock import WallClock
    from cadence.plantfile import load_plant
    from cadence.reports.roi_pdf import roi_pdf as render_roi_pdf
    from cadence.reports.roi_text import format_rows, summary_sentences, table_headers, unreliable_text
    from cadence.services.roi import DateRange, Scope, roi_report
    from cadence.store.sqlite import SqliteStore

    if locale not in ("fr", "en"):
        raise typer.BadParameter("--locale must be fr or en")
    if machine and line:
        raise typer.BadParameter("give --machine or --line, not both")
    scope = Scope.parse(f"press:{machine}" if machine else f"line:{line}" if line else "plant")
    settings = _settings(config, data_dir=data_dir)
    plant = load_plant(settings.plant_file)
    periods = DateRange.parse(baseline), DateRange.parse(current)
    # Read-only: a report runs beside `cadence serve` and must never take the writer's place.
    store = SqliteStore(settings.store_path, read_only=True)
    try:
        report = roi_report(
            plant,
            store,
            *periods,
            scope,
            co2_g_per_kwh=settings.co2_grid_g_per_kwh,
            co2_source=settings.co2_grid_source,
            now_us=WallClock().now_us(),
        )
    finally:
        store.close()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(render_roi_pdf(report, locale))
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(*table_headers(locale), title=f"{report.scope_name}: {periods[1]} vs {periods[0]}")
    for cell in format_rows(report.rows, locale):
        table.add_row(
            f"{cell.label} ({cell.unit})",
            cell.baseline,
            cell.current,
            cell.difference,
            cell.relative,
            cell.verdict_text,
        )
    console.print(table)
    for sentence in summary_sentences(report, locale):
        console.print(f"• {sentence}", highlight=False)
    if (warning := unreliable_text(report, locale)) is not None:
        console.print(f"[yellow]{escape(warning)}[/yellow]")
    if out is not None:
        console.print(f"Wrote {out}", highlight=False)


SPC_EPILOG = (
    "Examples (the qcc data of tests/fixtures/qcc):\n\n"
    "cadence spc tests/fixtures/qcc/pistonrings.txt -c xbar-r --column diameter "
    "--subgroup-column sample --phase1 25 --out pistonrings.svg\n\n"
    "cadence spc tests/fixtures/qcc/orangejuice.txt -c p --count-column D --size-column size "
    "--trial-column trial\n\n"
    "cadence spc tests/fixtures/qcc/circuit.txt -c c --count-column x --trial-column trial --exclude auto\n\n"
    "Output: a JSON list, one object per chart part (two for xbar-r, xbar-s and imr): chart, center, "
    "lcl, ucl, sigma, violations [{index, rule, points}], values, and the phase I record. Points are "
    "numbered from 1. lcl, ucl and sigma are lists (one per point) when they vary: p and u with varying "
    "sample sizes, EWMA's exact limits. Guide: docs/guides/spc.md."
)


@app.command(epilog=SPC_EPILOG)
def spc(
    data: Annotated[
        Path, typer.Argument(help="Data file: CSV (, or ;), tab- or space-separated, one header line.")
    ],
    chart: Annotated[
        str,
        typer.Option(
            "--chart",
            "-c",
            help="xbar-r, xbar-s, imr, ewma, cusum (values) or p, np, c, u (counts). E.g. --chart xbar-r",
        ),
    ],
    column: Annotated[
        str | None, typer.Option("--column", help="Column of the measured values. E.g. --column diameter")
    ] = None,
    subgroup_column: Annotated[
        str | None,
        typer.Option(
            "--subgroup-column",
            help="Rows with the same label form a subgroup. E.g. --subgroup-column sample",
        ),
    ] = None,
    subgroup_size: Annotated[
        int | None,
        typer.Option(
            "--subgroup-size",
            help="Consecutive rows in subgroups of N; for p, np, u: the sample size when there is no size "
            "column. E.g. --subgroup-size 5",
        ),
    ] = None,
    count_column: Annotated[
        str | None,
        typer.Option(
            "--count-column",
            help="Nonconforming parts (p, np) or nonconformities (c, u). E.g. --count-column D",
        ),
    ] = None,
    size_column: Annotated[
        str | None,
        typer.Option(
            "--size-column", help="Sample size (p, np) or units inspected (u). E.g. --size-column size"
        ),
    ] = None,
    phase1: Annotated[
        int | None,
        typer.Option(
            "--phase1", help="The first N points set the limits; the rest are monitored. E.g. --phase1 25"
        ),
    ] = None,
    trial_column: Annotated[
        str | None,
        typer.Option(
            "--trial-column",
            help="Rows marked TRUE/1/yes set the limits (instead of --phase1). E.g. --trial-column trial",
        ),
    ] = None,
    exclude: Annotated[
        str | None,
        typer.Option(
            "--exclude",
            help="Phase I points to leave out: 'auto' (drop those out of control until none is), "
            "point numbers, or both. E.g. --exclude auto, --exclude 15,23",
        ),
    ] = None,
    rules: Annotated[
        str | None,
        typer.Option(
            "--rules",
            help="Run rules: we (Western Electric 1-4, default), nelson (1-8), none (limits only; the "
            "default for ewma and cusum). E.g. --rules nelson",
        ),
    ] = None,
    convention: Annotated[
        str,
        typer.Option(
            "--convention",
            help="Constants: tabulated (d2 = 2.326, as the books and qcc) or exact. E.g. --convention exact",
        ),
    ] = "tabulated",
    lam: Annotated[
        float, typer.Option("--lambda", help="EWMA smoothing λ, 0 < λ ≤ 1. E.g. --lambda 0.1")
    ] = 0.2,
    width: Annotated[float, typer.Option("--L", help="EWMA limits at ±L σ of z. E.g. --L 2.814")] = 3.0,
    k: Annotated[
        float, typer.Option("--k", help="CUSUM slack in σ (0.5 for a 1σ shift). E.g. --k 0.5")
    ] = 0.5,
    h: Annotated[float, typer.Option("--h", help="CUSUM decision interval in σ. E.g. --h 4")] = 5.0,
    fir: Annotated[
        bool, typer.Option("--fir", help="CUSUM fast initial response: sums start at h/2. E.g. --fir")
    ] = False,
    sep: Annotated[
        str | None,
        typer.Option(
            "--sep",
            help="Separator: ',', ';', 'tab' or 'space' (default: from the header line). E.g. --sep ';'",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Also draw the chart (limits, zones, violations) to this .svg file; SVG only (PNG would "
            "need matplotlib, not a dependency). E.g. --out chart.svg",
        ),
    ] = None,
) -> None:
    """Control chart of a data file: limits, sigma and rule violations as JSON, optionally an SVG drawing."""
    from cadence.errors import SpcOptionError
    from cadence.services.spc_offline import SpcOptions, chart_file
    from cadence.services.spc_svg import render_svg

    if out is not None and out.suffix.lower() != ".svg":
        raise SpcOptionError(
            f"--out {out}: only .svg can be written "
            "(PNG would need matplotlib, which Cadence does not depend on)"
        )
    options = SpcOptions(
        chart=chart,
        column=column,
        subgroup_column=subgroup_column,
        subgroup_size=subgroup_size,
        count_column=count_column,
        size_column=size_column,
        phase1=phase1,
        trial_column=trial_column,
        exclude=exclude,
        rules=rules,
        convention=convention,
        lam=lam,
        L=width,
        k=k,
        h=h,
        fir=fir,
        sep=sep,
    )
    result = chart_file(data, options)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_svg(result, f"{data.name}: {result.chart}"), encoding="utf-8")
    sys.stdout.write(result.to_json())


def main() -> None:
    """Entry point: Cadence errors become one clear message and exit code 2, never a traceback."""
    try:
        app()
    except CadenceError as err:
        err_console.print(f"[red]error[/red] {escape(f'[{err.code}]')} {escape(err.message)}")
        sys.exit(2)
