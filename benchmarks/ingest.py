"""Ingest benchmark: Cadence end to end through a real broker, beside its ceilings and InfluxDB 1.x.

Everything is measured side by side in one run, each scenario ``--repeats`` times (median and min–max),
repeats interleaved so that a change of machine load hits every scenario alike:

1. **Batched, end to end**: a publisher process → Mosquitto (Cadence's shipped configuration) →
   ``cadence ingest`` (a separate process) → committed rows, with messages of ~5,000 and ~1,000 points
   of simulated press curves. Rate = points / (first publish → the store holds them all).
2. **Single-point messages, end to end** (1 Hz oil temperature, one reading per message), and the **MQTT
   client ceiling**: the same messages from the same publisher to a bare paho subscriber that only counts.
3. **Store ceilings, in process**: the same decoded batches appended straight into a fresh store, grouped
   per submit like ingest groups them; and decode + validate alone (``IngestPipeline.prepare``).
4. **InfluxDB 1.x** (when ``/usr/bin/influxd`` exists): the same points as line protocol, one POST per
   message of ~5,000 points, one client, sequential.
5. Peak RSS of the ingest process (the kernel's VmHWM), also in one longer run that keeps the broker's
   in-flight window full; CPU used by each process during each run.
6. Bytes per point at rest after compaction, for the curves and for 6 h of oil temperature sent in
   messages of 10 readings; 7. peak RSS of ``cadence demo`` (simulator + ingest + store in one process).

With py-spy installed (``.venv/bin/pip install py-spy``), one extra run per message size is profiled to
show which of ingest's threads and functions hold the GIL.

Usage::

    .venv/bin/python benchmarks/ingest.py                 # defaults: ~2.5 M points, 3 repeats, ~4 min
    .venv/bin/python benchmarks/ingest.py --write-docs    # also rewrite the ingest section of the docs

Only 127.0.0.1 is used, every service is started on a free port and stopped at the end, and every wait is
bounded in time.
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchlib import procs, profiling, scenarios
from benchlib.mqtt_peer import write_messages
from benchlib.report import Report, print_report, write_docs
from benchlib.workload import (
    Workload,
    example_plant,
    line_protocol,
    oil_temperatures,
    press_curves,
    rekeyed,
    slow_workload,
    waveform_workload,
)
from cadence.ingest.mqtt import GROUP_MAX_MESSAGES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
MiB = 1024 * 1024

DEFAULT_POINTS = 2_500_000
DEFAULT_REPEATS = 3
DEFAULT_SINGLE = 60_000
DEFAULT_SLOW_HOURS = 6.0
# The sustained run publishes the ~5,000-point workload this many times over (new keys, later timestamps):
# ~40 M points, 8,000 messages. Ingest's memory reaches its plateau ~4 s into such a burst (measured at
# 4 M points/s); a shorter run would report a lower, still-growing peak.
DEFAULT_SUSTAINED_COPIES = 16
# Samples of each of the three curves per message: 4,995 and 999 points per message ("~5,000", "~1,000").
BIG_MESSAGE_SAMPLES = 1_665
SMALL_MESSAGE_SAMPLES = 333
# Batches per store task in the raw-store measurement: 20 messages of ~5,000 points is ~100k points per
# task, in the range of what ingest hands over per group under load; the same points per task for
# ~1,000-point batches. Single-point batches are grouped as MQTT ingest groups them at most.
RAW_GROUP_BATCHES = 20

TARGET_BYTES_PER_POINT = 3.0
TARGET_DEMO_RSS_MB = 150.0


def _points(workload: Workload) -> str:
    n = workload.points_per_message
    return "1 point" if n == 1 else f"{n:,.0f} points"


def _file_for(workload: Workload, workdir: Path) -> Path:
    path = workdir / f"{re.sub(r'[^a-z0-9]+', '-', workload.name.lower()).strip('-')}.bin"
    write_messages(path, ((m.topic, m.payload) for m in workload.messages))
    return path


def _e2e(workload: Workload, workdir: Path, file: Path, *, profile: bool = False) -> scenarios.EndToEnd:
    return scenarios.end_to_end(workload.points, len(workload.messages), workdir, file, profile=profile)


class Workloads:
    """Every workload of the run, built once from the simulator, with their message files."""

    def __init__(self, args: argparse.Namespace, report: Report, tmp: Path) -> None:
        plant = self.plant = example_plant()
        presses = len(plant.machines)
        # Whole messages only: each press's samples are a multiple of both sizes (1,665 = 5 × 333).
        per_press = BIG_MESSAGE_SAMPLES * math.ceil(args.points / (3 * presses * BIG_MESSAGE_SAMPLES))
        curves = press_curves(plant, per_press)
        self.wave5k = waveform_workload(curves, BIG_MESSAGE_SAMPLES, epoch=1)
        self.wave1k = waveform_workload(curves, SMALL_MESSAGE_SAMPLES, epoch=1)
        single_per_press = math.ceil(args.single_messages / presses)
        temps = oil_temperatures(plant, max(args.slow_hours, single_per_press / 3600))
        self.single = slow_workload(temps, 1, epoch=1, limit_per_machine=single_per_press)
        self.slow10 = slow_workload(temps, 10, epoch=1, limit_per_machine=round(args.slow_hours * 3600))
        decimals = {s.name: s.decimals for s in plant.machines[0].signals}
        self.influx_bodies = line_protocol(self.wave5k, decimals)
        self.files = {w.name: _file_for(w, tmp) for w in self.all}
        self.sustained_file = tmp / "sustained.bin"
        self.sustained_messages, _ = write_messages(
            self.sustained_file, rekeyed(self.wave5k, range(100, 100 + args.sustained_copies))
        )
        self.sustained_points = self.wave5k.points * args.sustained_copies
        for w in self.all:
            report.workloads[w.name] = (
                f"{len(w.messages):,} messages, {w.points:,} points, "
                f"{w.payload_bytes / len(w.messages):,.0f} B of JSON per message"
            )
        size = sum(len(b) for b in self.influx_bodies) / len(self.influx_bodies)
        report.workloads["InfluxDB line protocol"] = (
            f"{len(self.influx_bodies):,} POSTs of {self.wave5k.points_per_message:,.0f} lines, "
            f"{size:,.0f} B each"
        )
        report.wire_bytes_per_point = {
            "cadence": self.wave5k.payload_bytes / self.wave5k.points,
            "influx": sum(len(b) for b in self.influx_bodies) / self.wave5k.points,
        }
        report.workloads["sustained run"] = (
            f"the ~5,000-point messages × {args.sustained_copies}: {self.sustained_messages:,} messages, "
            f"{self.sustained_points:,} points"
        )

    @property
    def all(self) -> tuple[Workload, ...]:
        return (self.wave5k, self.wave1k, self.single, self.slow10)


@contextmanager
def _guard(report: Report, what: str) -> Iterator[None]:
    """Record a failed measurement and go on with the others (the exit code says something failed)."""
    try:
        yield
    except Exception as err:
        message = f"{what}: {type(err).__name__}: {err}"
        report.failures.append(message)
        print(f"  FAILED {message}", file=sys.stderr)


def repeat_once(w: Workloads, report: Report, rdir: Path, keep_db: bool, measure_disk: bool) -> Path | None:
    """One repeat of every repeated scenario; returns the first ~5,000-point store when ``keep_db``."""
    kept: Path | None = None
    for key, workload in (("e2e_5k", w.wave5k), ("e2e_1k", w.wave1k)):
        label = f"Cadence end to end, {workload.points_per_message:,.0f} points/message"
        with _guard(report, label):
            run = _e2e(workload, rdir / key, w.files[workload.name])
            report.get(key, label, "points/s").add(run.points_per_s)
            report.get(
                f"{key}_rss",
                f"Peak RSS of the ingest process, {workload.points_per_message:,.0f} points/message",
                "MiB",
            ).add(None if run.peak_rss is None else run.peak_rss / MiB)
            report.add_cpu(key, run.cpu_cores)
            print(f"  {label}: {run.points_per_s:,.0f} points/s in {run.seconds:.2f} s; {run.ingest_summary}")
            if key == "e2e_5k" and keep_db:
                kept = run.db
            else:
                shutil.rmtree(rdir / key, ignore_errors=True)

    label = "Cadence end to end, 1 point/message"
    with _guard(report, label):
        run = _e2e(w.single, rdir / "e2e_1pt", w.files[w.single.name])
        report.get("e2e_1pt", label, "messages/s").add(run.messages_per_s)
        report.get("e2e_1pt_rss", "Peak RSS of the ingest process, 1 point/message", "MiB").add(
            None if run.peak_rss is None else run.peak_rss / MiB
        )
        report.add_cpu("e2e_1pt", run.cpu_cores)
        print(f"  {label}: {run.messages_per_s:,.0f} messages/s; {run.ingest_summary}")
        shutil.rmtree(rdir / "e2e_1pt", ignore_errors=True)

    label = "MQTT client ceiling: same publisher → bare paho subscriber, 1 point/message"
    with _guard(report, label):
        rate, cores = scenarios.mqtt_ceiling(len(w.single.messages), rdir / "mqtt", w.files[w.single.name])
        report.get("mqtt_ceiling", label, "messages/s").add(rate)
        report.add_cpu("mqtt_ceiling", cores)
        print(f"  {label}: {rate:,.0f} messages/s")
        shutil.rmtree(rdir / "mqtt", ignore_errors=True)

    for key, workload, per_submit in (
        ("raw_5k", w.wave5k, RAW_GROUP_BATCHES),
        ("raw_1k", w.wave1k, RAW_GROUP_BATCHES * BIG_MESSAGE_SAMPLES // SMALL_MESSAGE_SAMPLES),
        ("raw_1pt", w.single, GROUP_MAX_MESSAGES),
    ):
        label = f"Store raw appends, {_points(workload)}/batch, {per_submit:,} batches/submit"
        with _guard(report, label):
            seconds = scenarios.raw_store(workload.batches, per_submit, rdir / key, w.plant)
            rate, unit = (
                (workload.points / seconds, "points/s")
                if key != "raw_1pt"
                else (len(workload.messages) / seconds, "messages/s")
            )
            report.get(key, label, unit).add(rate)
            print(f"  {label}: {rate:,.0f} {unit}")
            shutil.rmtree(rdir / key, ignore_errors=True)

    for key, workload, per_group in (
        ("decode_5k", w.wave5k, RAW_GROUP_BATCHES),
        ("decode_1pt", w.single, GROUP_MAX_MESSAGES),
    ):
        label = f"Decode + validate in process, {_points(workload)}/message"
        with _guard(report, label):
            seconds = scenarios.decode_validate(workload, per_group, rdir / key, w.plant)
            rate, unit = (
                (workload.points / seconds, "points/s")
                if key != "decode_1pt"
                else (len(workload.messages) / seconds, "messages/s")
            )
            report.get(key, label, unit).add(rate)
            print(f"  {label}: {rate:,.0f} {unit}")
            shutil.rmtree(rdir / key, ignore_errors=True)

    if procs.INFLUXD.exists() and w.influx_bodies:
        label = f"InfluxDB: line protocol, {w.wave5k.points_per_message:,.0f} points/POST"
        with _guard(report, label):
            run_i = scenarios.influx(w.influx_bodies, rdir / "influx", measure_disk)
            report.get("influx", label, "points/s").add(w.wave5k.points / run_i.seconds)
            report.get("influx_rss", "Peak RSS of influxd", "MiB").add(
                None if run_i.peak_rss is None else run_i.peak_rss / MiB
            )
            if run_i.tsm_bytes is not None and run_i.data_dir_bytes is not None:
                report.get("influx_bpp", "InfluxDB at rest: TSM files", "B/point", digits=2).add(
                    run_i.tsm_bytes / w.wave5k.points
                )
                report.notes.append(
                    f"InfluxDB's whole data directory (TSM files plus its series file and index, whose "
                    f"segments are preallocated) took {run_i.data_dir_bytes / w.wave5k.points:.2f} B/point."
                )
            print(f"  {label}: {w.wave5k.points / run_i.seconds:,.0f} points/s")
            shutil.rmtree(rdir / "influx", ignore_errors=True)
    return kept


def once(w: Workloads, report: Report, tmp: Path, args: argparse.Namespace, waveform_db: Path | None) -> None:
    """The scenarios run a single time: sustained load, profiles, bytes at rest, the demo."""
    label = "Cadence end to end, sustained: ~5,000 points/message, broker window full"
    with _guard(report, label):
        run = scenarios.end_to_end(
            w.sustained_points, w.sustained_messages, tmp / "sustained", w.sustained_file
        )
        report.get("sustained", label, "points/s").add(run.points_per_s)
        report.get("sustained_rss", "Peak RSS of the ingest process, sustained run", "MiB").add(
            None if run.peak_rss is None else run.peak_rss / MiB
        )
        print(f"  {label}: {run.points_per_s:,.0f} points/s in {run.seconds:.1f} s")
        shutil.rmtree(tmp / "sustained", ignore_errors=True)  # kept when the run failed, for --keep

    if args.no_profile:
        report.notes.append("GIL profile skipped (--no-profile).")
    elif profiling.py_spy() is None:
        report.notes.append("GIL profile skipped: py-spy is not installed (.venv/bin/pip install py-spy).")
    else:
        for key, workload in (("e2e_5k", w.wave5k), ("e2e_1k", w.wave1k), ("e2e_1pt", w.single)):
            with _guard(report, f"profile of {workload.name}"):
                run = _e2e(workload, tmp / f"profile-{key}", w.files[workload.name], profile=True)
                if run.profile is None:
                    raise RuntimeError("py-spy recorded nothing (not allowed to attach?)")
                report.profiles[key] = (run.profile, 1e6 * run.seconds / run.messages)
                print(f"  profiled {workload.name}: {run.profile.samples} samples")
                shutil.rmtree(tmp / f"profile-{key}", ignore_errors=True)

    print("Bytes per point at rest")
    target = {"target": f"≤ {TARGET_BYTES_PER_POINT:g}", "check": lambda v: v <= TARGET_BYTES_PER_POINT}
    if waveform_db is not None:
        with _guard(report, "bytes per point, press curves"):
            rest = scenarios.at_rest(waveform_db)
            report.get(
                "bpp_wave", "At rest, press curves: compressed samples", "B/point", digits=2, **target
            ).add(rest.sample_bpp)
            report.get(
                "bpp_wave_file", "At rest, press curves: whole database file", "B/point", digits=2, **target
            ).add(rest.file_bpp)
            report.get(
                "bpp_wave_steady",
                "At rest, press curves: pages in use once the ledger window has passed",
                "B/point",
                digits=2,
                **target,
            ).add(rest.steady_bpp)
            report.at_rest_tables["wave"] = (rest.tables, rest.points)
            print(f"  press curves: {rest.sample_bpp:.2f} B/point compressed, {rest.file_bpp:.2f} whole file")
    with _guard(report, "bytes per point, oil temperature"):
        run = _e2e(w.slow10, tmp / "slow", w.files[w.slow10.name])
        rest = scenarios.at_rest(run.db)
        hours = f"{args.slow_hours:g} h at 1 Hz, 10 readings/message"
        report.get(
            "bpp_slow",
            f"At rest, oil temperature ({hours}): compressed samples",
            "B/point",
            digits=2,
            **target,
        ).add(rest.sample_bpp)
        report.get(
            "bpp_slow_file", "At rest, oil temperature: whole database file", "B/point", digits=2, **target
        ).add(rest.file_bpp)
        report.get(
            "bpp_slow_steady",
            "At rest, oil temperature: pages in use once the ledger window has passed",
            "B/point",
            digits=2,
            **target,
        ).add(rest.steady_bpp)
        report.at_rest_tables["slow"] = (rest.tables, rest.points)
        report.get("e2e_10pt", "Cadence end to end, 10 points/message (oil temperature)", "messages/s").add(
            run.messages_per_s
        )
        print(f"  oil temperature: {rest.sample_bpp:.2f} B/point compressed, {rest.file_bpp:.2f} whole file")

    if args.no_demo:
        report.notes.append("Demo RSS skipped (--no-demo).")
        return
    print(
        f"Demo: cadence demo --duration {scenarios.DEMO_DURATION_S}s --speed {scenarios.DEMO_SPEED} --no-http"
    )
    with _guard(report, "demo"):
        demo = scenarios.demo(tmp / "demo")
        if demo.exit_code != 0:
            raise RuntimeError(f"cadence demo exited with {demo.exit_code}: {demo.summary}")
        report.get(
            "demo_rss",
            f"Peak RSS of cadence demo ({scenarios.DEMO_DURATION_S} s at ×{scenarios.DEMO_SPEED}, 6 presses)",
            "MiB",
            target=f"≤ {TARGET_DEMO_RSS_MB:g}",
            check=lambda v: v <= TARGET_DEMO_RSS_MB,
        ).add(demo.peak_rss / MiB)
        report.notes.append(f"The demo's own summary: “{demo.summary}”.")
        if demo.reported_mb is not None and demo.reported_mb > 1.2 * demo.peak_rss / MiB:
            report.notes.append(
                f"The demo reports a peak RSS of {demo.reported_mb:.0f} MB where sampling its process saw "
                f"{demo.peak_rss / MiB:.0f} MiB: it reads `getrusage(RUSAGE_SELF).ru_maxrss`, which Linux "
                f"carries over from the parent at exec (this benchmark's own peak was "
                f"{demo.parent_peak_rss / MiB:.0f} MiB when it started the demo)."
            )
        print(f"  peak RSS {demo.peak_rss / MiB:.0f} MiB (the demo reports {demo.reported_mb} MB)")


def set_targets(report: Report) -> None:
    """Targets that depend on another row (InfluxDB's rate), attached once everything is measured."""
    influx_rate = report.median("influx")
    if influx_rate is not None and "e2e_5k" in report.series:
        s = report.series["e2e_5k"]
        s.target, s.check = "≥ InfluxDB", lambda v: v >= influx_rate


def command_line(args: argparse.Namespace) -> str:
    parts = [".venv/bin/python benchmarks/ingest.py"]
    defaults = {
        "points": DEFAULT_POINTS,
        "repeats": DEFAULT_REPEATS,
        "single_messages": DEFAULT_SINGLE,
        "slow_hours": DEFAULT_SLOW_HOURS,
        "sustained_copies": DEFAULT_SUSTAINED_COPIES,
    }
    for name, default in defaults.items():
        if getattr(args, name) != default:
            parts.append(f"--{name.replace('_', '-')} {getattr(args, name):g}")
    parts += [
        f"--{flag.replace('_', '-')}"
        for flag in ("no_influx", "no_demo", "no_profile", "write_docs")
        if getattr(args, flag)
    ]
    return " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=DEFAULT_POINTS, help="Points per batched run.")
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="Repeats of each measurement.")
    parser.add_argument("--single-messages", type=int, default=DEFAULT_SINGLE, help="Single-point messages.")
    parser.add_argument(
        "--slow-hours", type=float, default=DEFAULT_SLOW_HOURS, help="Hours of oil temperature."
    )
    parser.add_argument(
        "--sustained-copies", type=int, default=DEFAULT_SUSTAINED_COPIES, help="Copies in the sustained run."
    )
    parser.add_argument("--no-influx", action="store_true", help="Skip the InfluxDB comparison.")
    parser.add_argument("--no-demo", action="store_true", help="Skip the 60 s demo RSS measurement.")
    parser.add_argument("--no-profile", action="store_true", help="Skip the py-spy GIL profile.")
    parser.add_argument(
        "--write-docs", action="store_true", help=f"Rewrite the ingest section of {DOCS.name}."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the temporary directory (logs, stores).")
    args = parser.parse_args(argv)
    if not (100_000 <= args.points <= 100_000_000 and 1 <= args.repeats <= 20):
        parser.error("--points must be within 100,000..100,000,000 and --repeats within 1..20")
    if not (
        600 <= args.single_messages <= 1_000_000 and 0 < args.slow_hours <= 48 and args.sustained_copies >= 1
    ):
        parser.error(
            "--single-messages within 600..1,000,000, --slow-hours within 0..48, --sustained-copies >= 1"
        )
    if not procs.MOSQUITTO.exists():
        parser.error(f"{procs.MOSQUITTO} not found: the end-to-end measurements need Mosquitto")

    report = Report(command=command_line(args))
    began = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="cadence-bench-"))
    try:
        print("Preparing workloads from the plant simulator…")
        w = Workloads(args, report, tmp)
        if args.no_influx or not procs.INFLUXD.exists():
            w.influx_bodies = []
            report.notes.append(f"InfluxDB skipped: {procs.INFLUXD} not found, or --no-influx.")
        for name, text in report.workloads.items():
            print(f"  {name}: {text}")
        waveform_db: Path | None = None
        for repeat in range(1, args.repeats + 1):
            print(f"Repeat {repeat}/{args.repeats}")
            kept = repeat_once(
                w, report, tmp / f"repeat-{repeat}", waveform_db is None, repeat == args.repeats
            )
            waveform_db = waveform_db or kept
        once(w, report, tmp, args, waveform_db)
    finally:
        report.elapsed_s = time.monotonic() - began
        if args.keep:
            print(f"Kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    set_targets(report)
    print()
    print_report(report)
    if args.write_docs:
        write_docs(DOCS, report, args.repeats)
        print(f"Wrote {DOCS.relative_to(ROOT)}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
