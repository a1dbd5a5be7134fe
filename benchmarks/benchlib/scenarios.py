"""One function per measured scenario; each starts what it needs and stops it before returning.

End-to-end runs time ``first publish → every point committed``, polling the store from this process; the
in-process ones time the store and the decoder alone on the same data. Every wait is bounded: a run that
falls below :data:`MIN_POINTS_PER_S` / :data:`MIN_MESSAGES_PER_S` fails instead of hanging.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

from benchlib import procs, profiling
from benchlib.workload import START_US, Workload
from cadence.clock import WallClock
from cadence.config import Settings
from cadence.domain import Batch, IdempotencyKey, SampleBlock
from cadence.domain.plant import Plant
from cadence.errors import StoreBacklogFull
from cadence.ingest.pipeline import Inbound, IngestPipeline
from cadence.ports import AppendOutcome, RetentionPolicy
from cadence.protocol.codec import encode_batch
from cadence.protocol.topics import MessageKind, topic_for
from cadence.store.sqlite import SqliteStore

MiB = 1024 * 1024
# Store polling period while waiting for the last point: a run's duration is exact to about this much.
POLL_S = 0.005
# A run slower than this is declared failed (bounds every wait).
MIN_POINTS_PER_S = 20_000
MIN_MESSAGES_PER_S = 1_000
# Publishing the probe message until ingest has stored it: at most this many tries, one per second.
PROBE_TRIES = 30
# Give py-spy this long to attach before the publisher starts.
PROFILER_ATTACH_S = 1.0
# Far beyond any sample: compaction then treats every chunk as old enough to merge.
FAR_FUTURE_US = 4_000_000_000_000_000
INFLUX_DB = "bench"
INFLUX_SETTLE_TIMEOUT_S = 30.0
DEMO_DURATION_S = 60
DEMO_SPEED = 10
DEMO_TIMEOUT_S = 180.0


def timeout_s(points: int, messages: int) -> float:
    return 30.0 + max(points / MIN_POINTS_PER_S, messages / MIN_MESSAGES_PER_S)


class PointCounter:
    """Points committed in a store, read from another process (read-only, one short query per call).

    The sum :meth:`SqliteStore.stats` reports as ``points``, without its other counts: this runs every few
    milliseconds during a measurement.
    """

    def __init__(self, db: Path) -> None:
        self._conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)

    def points(self) -> int:
        return int(self._conn.execute("SELECT coalesce(sum(n), 0) FROM chunks").fetchone()[0])

    def close(self) -> None:
        self._conn.close()


def _probe_payload() -> tuple[str, bytes]:
    """One oil temperature reading a day before the workloads, under its own source."""
    block = SampleBlock.regular("oil_temp", START_US - 86_400_000_000, 1_000_000, [40.0])
    batch = Batch(IdempotencyKey("bench-probe", 1, 0), "P01", samples=(block,))
    return topic_for("P01", MessageKind.SAMPLES), encode_batch(batch)


def _wait_for_ingest(port: int, counter: PointCounter) -> int:
    """Publish the probe (same key each time: a duplicate, never a second row) until it is stored.

    Ingest only receives what is published after its subscription reaches the broker; once the probe is
    stored, the whole chain is up and warm. Returns the points stored then (the baseline).
    """
    topic, payload = _probe_payload()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-probe-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv311
    )
    client.connect("127.0.0.1", port, 30)
    client.loop_start()
    try:
        for _ in range(PROBE_TRIES):
            client.publish(topic, payload, qos=1)
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                with contextlib.suppress(sqlite3.OperationalError):  # ingest is still creating the schema
                    stored = counter.points()
                    if stored > 0:
                        return stored
                time.sleep(0.02)
        raise RuntimeError(f"ingest stored nothing after {PROBE_TRIES} s of probing")
    finally:
        client.disconnect()
        client.loop_stop()


def _cpu_seconds(processes: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, proc in processes.items():
        try:
            times = psutil.Process(proc.pid).cpu_times()
            out[name] = float(times.user + times.system)
        except psutil.Error:
            out[name] = float("nan")
    return out


def _cores(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """CPU seconds per wall second: 1.0 is one core fully busy."""
    return {name: (after[name] - before[name]) / seconds for name in before if name in after}


@dataclass
class EndToEnd:
    """One end-to-end run through the broker and the ingest process."""

    points: int
    messages: int
    seconds: float
    peak_rss: int | None
    cpu_cores: dict[str, float]
    db: Path
    ingest_summary: str
    profile: profiling.Profile | None = None

    @property
    def points_per_s(self) -> float:
        return self.points / self.seconds

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.seconds


def end_to_end(
    points: int, messages: int, workdir: Path, messages_file: Path, *, profile: bool = False
) -> EndToEnd:
    """Publisher process → Mosquitto → ``cadence ingest`` process → store; timed until all is stored.

    ``points`` and ``messages`` describe ``messages_file``. With ``profile``, py-spy samples the ingest
    process during the run (when it is installed).
    """
    workdir.mkdir(parents=True)
    tag = uuid.uuid4().hex[:8]  # fresh client ids and sessions: nothing carries over between runs
    limit = timeout_s(points, messages)
    broker = procs.start_mosquitto(workdir / "broker")
    ingest: procs.Proc | None = None
    publisher: subprocess.Popen[str] | None = None
    counter: PointCounter | None = None
    recorder: subprocess.Popen[bytes] | None = None
    try:
        port = broker.port or 0
        ingest = procs.start_ingest(workdir / "ingest", port, f"bench-ingest-{tag}")
        db = workdir / "ingest" / "data" / "cadence.db"
        counter = PointCounter(db)
        baseline = _wait_for_ingest(port, counter)
        target = baseline + points
        publisher = procs.start_peer(
            "publish",
            *("--port", str(port), "--file", str(messages_file)),
            *("--client-id", f"bench-pub-{tag}", "--timeout", f"{limit:.0f}"),
            log=workdir / "publisher.log",
        )
        procs.read_json_line(publisher, "publisher")  # connected, messages loaded
        if profile:
            recorder = profiling.start(ingest.pid, workdir / "py-spy.txt")
            time.sleep(PROFILER_ATTACH_S)
        watched = {"publisher": publisher, "broker": broker, "ingest": ingest}
        cpu_before = _cpu_seconds(watched)
        assert publisher.stdin is not None
        start = time.monotonic()
        publisher.stdin.write("go\n")
        publisher.stdin.flush()
        deadline = start + limit
        stored = 0
        while time.monotonic() < deadline:
            stored = counter.points()
            if stored >= target:
                break
            if not ingest.running:
                raise RuntimeError(f"cadence ingest died:\n{ingest.log_tail()}")
            time.sleep(POLL_S)
        done = time.monotonic()
        cpu_after = _cpu_seconds(watched)
        counter.close()  # before ingest stops: its final checkpoint then has no reader to wait for
        counter = None
        if recorder is not None:
            profiling.finish(recorder)  # now: the profile covers the run, not the shutdown that follows
        if stored < target:
            raise RuntimeError(
                f"only {stored - baseline:,} of {points:,} points stored after {done - start:.0f} s"
            )
        first = float(procs.read_json_line(publisher, "publisher")["first_publish"])
        peak = ingest.peak_rss_bytes()
        code = ingest.stop()
        if code != 0:
            raise RuntimeError(f"cadence ingest exited with {code}:\n{ingest.log_tail()}")
        _check_store(db, target)
        output = (workdir / "ingest" / "ingest.log").read_text(encoding="utf-8", errors="replace")
        summary = re.findall(r"^Stored .*$", output, flags=re.M)
        return EndToEnd(
            points=points,
            messages=messages,
            seconds=done - first,
            peak_rss=peak,
            cpu_cores=_cores(cpu_before, cpu_after, done - start),
            db=db,
            ingest_summary=summary[-1].strip() if summary else "(no summary printed)",
            profile=profiling.summarise(workdir / "py-spy.txt") if recorder is not None else None,
        )
    finally:
        if counter is not None:
            counter.close()
        if publisher is not None:
            procs.stop_peer(publisher)
        if ingest is not None:
            ingest.stop()
        if recorder is not None and recorder.poll() is None:
            recorder.kill()
            recorder.wait(5.0)
        broker.stop()


def _check_store(db: Path, expected_points: int) -> None:
    """Exactly what was sent is stored: nothing lost or doubled, nothing quarantined, no alarm (drops)."""
    store = SqliteStore(db, read_only=True)
    try:
        stats = store.stats()
        alarms = [a.code for a in store.alarms()]
    finally:
        store.close()
    if stats.points != expected_points or stats.quarantined:
        raise RuntimeError(
            f"store holds {stats.points:,} points (expected {expected_points:,}), "
            f"{stats.quarantined} quarantined"
        )
    if alarms:
        raise RuntimeError(f"alarms raised during the run: {alarms}")


def mqtt_ceiling(messages: int, workdir: Path, messages_file: Path) -> tuple[float, dict[str, float]]:
    """Messages/s from the publisher to a bare paho subscriber that only counts, through the same broker."""
    workdir.mkdir(parents=True)
    tag = uuid.uuid4().hex[:8]
    limit = f"{timeout_s(0, messages):.0f}"
    broker = procs.start_mosquitto(workdir / "broker")
    counter: subprocess.Popen[str] | None = None
    publisher: subprocess.Popen[str] | None = None
    try:
        port = str(broker.port)
        counter = procs.start_peer(
            "count",
            *("--port", port, "--expect", str(messages), "--client-id", f"bench-count-{tag}"),
            *("--timeout", limit),
            log=workdir / "counter.log",
        )
        procs.read_json_line(counter, "counting subscriber")
        publisher = procs.start_peer(
            "publish",
            *("--port", port, "--file", str(messages_file), "--client-id", f"bench-pub-{tag}"),
            *("--timeout", limit),
            log=workdir / "publisher.log",
        )
        procs.read_json_line(publisher, "publisher")
        watched = {"publisher": publisher, "broker": broker, "subscriber": counter}
        cpu_before = _cpu_seconds(watched)
        start = time.monotonic()
        assert publisher.stdin is not None
        publisher.stdin.write("go\n")
        publisher.stdin.flush()
        counted = procs.read_json_line(counter, "counting subscriber")
        cpu_after = _cpu_seconds(watched)
        elapsed = time.monotonic() - start
        published = procs.read_json_line(publisher, "publisher")
        if not counted["complete"]:
            raise RuntimeError(f"the subscriber got {counted['received']} of {messages} messages")
        seconds = float(counted["last_message"]) - float(published["first_publish"])
        return messages / seconds, _cores(cpu_before, cpu_after, elapsed)
    finally:
        for peer in (publisher, counter):
            if peer is not None:
                procs.stop_peer(peer)
        broker.stop()


def _fresh_store(workdir: Path, plant: Plant) -> SqliteStore:
    workdir.mkdir(parents=True)
    store = SqliteStore(workdir / "cadence.db", auto_compact_interval_s=0.0)
    for machine in plant.machines:
        store.register_signals(machine.id, machine.signals)
    return store


def raw_store(batches: Sequence[Batch], per_submit: int, workdir: Path, plant: Plant) -> float:
    """Seconds to append ``batches`` into a fresh store, ``per_submit`` batches per task, all committed."""
    store = _fresh_store(workdir, plant)
    try:
        futures: list[Future[list[AppendOutcome]]] = []
        start = time.perf_counter()
        for i in range(0, len(batches), per_submit):
            group = batches[i : i + per_submit]
            for _ in range(1_000):  # the writer pushes back only when far behind: wait for it then
                try:
                    futures.append(store.submit(group))
                    break
                except StoreBacklogFull:
                    futures[0].result(timeout=60)
                    time.sleep(0.001)
            else:
                raise RuntimeError("the store kept refusing writes")
        outcomes = [o for f in futures for o in f.result(timeout=120)]
        seconds = time.perf_counter() - start
    finally:
        store.close()
    if len(outcomes) != len(batches) or any(o is not AppendOutcome.STORED for o in outcomes):
        raise RuntimeError("the raw store did not store every batch")
    return seconds


def decode_validate(workload: Workload, per_group: int, workdir: Path, plant: Plant) -> float:
    """Seconds ``IngestPipeline.prepare`` takes for every message (JSON → validated batches), in process."""
    store = _fresh_store(workdir, plant)
    pipeline = IngestPipeline(plant, store, WallClock())
    try:
        inbound = [Inbound(f"mqtt:{m.topic}", m.payload, m.topic) for m in workload.messages]
        start = time.perf_counter()
        rejected = 0
        for i in range(0, len(inbound), per_group):
            rejected += len(pipeline.prepare(inbound[i : i + per_group]).rejected)
        seconds = time.perf_counter() - start
    finally:
        pipeline.close()
        store.close()
    if rejected:
        raise RuntimeError(f"{rejected} messages refused by validation")
    return seconds


@dataclass
class InfluxRun:
    seconds: float
    peak_rss: int | None
    tsm_bytes: int | None = None
    data_dir_bytes: int | None = None


def influx(bodies: Sequence[bytes], workdir: Path, measure_disk: bool) -> InfluxRun:
    """POST every body to a fresh influxd, one after the other, timed until the last 204."""
    proc = procs.start_influxd(workdir)
    try:
        port = proc.port or 0
        procs.influx_query(port, f"CREATE DATABASE {INFLUX_DB}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60.0)
        path = f"/write?db={INFLUX_DB}&precision=u"
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        try:
            start = time.perf_counter()
            for body in bodies:
                conn.request("POST", path, body, headers)
                response = conn.getresponse()
                answer = response.read()
                if response.status != 204:
                    raise RuntimeError(f"InfluxDB answered {response.status}: {answer[:300]!r}")
            seconds = time.perf_counter() - start
        finally:
            conn.close()
        run = InfluxRun(seconds, proc.peak_rss_bytes())
        if measure_disk:
            run.tsm_bytes, run.data_dir_bytes = _influx_settled_size(workdir)
        return run
    finally:
        proc.stop()


def _influx_settled_size(workdir: Path) -> tuple[int | None, int | None]:
    """Bytes of InfluxDB's TSM files and whole data directory, once its cache is written to TSM files.

    The WAL empties when the cache is snapshotted (1-2 s after the last write with the benchmark's
    configuration); the sizes are taken once they stop changing.
    """
    deadline = time.monotonic() + INFLUX_SETTLE_TIMEOUT_S
    last, stable = -1, 0
    while time.monotonic() < deadline:
        time.sleep(1.0)
        wal = procs.dir_bytes(workdir / "wal")
        size = procs.dir_bytes(workdir / "data")
        stable = stable + 1 if size == last and wal < MiB else 0
        if stable >= 3:
            tsm = sum(p.stat().st_size for p in (workdir / "data").rglob("*.tsm"))
            return tsm, size
        last = size
    return None, None


@dataclass
class AtRest:
    """A compacted store: its points, compressed sample bytes, file size, and the file's share per table."""

    points: int
    sample_bytes: int
    file_bytes: int
    chunks_before: int
    chunks_after: int
    tables: dict[str, int]  # bytes of pages per table or index (SQLite's dbstat), empty when unavailable
    steady_bytes: int  # pages in use once the ledger window has passed (its rows folded into ranges)

    @property
    def sample_bpp(self) -> float:
        return self.sample_bytes / self.points

    @property
    def file_bpp(self) -> float:
        return self.file_bytes / self.points

    @property
    def steady_bpp(self) -> float:
        return self.steady_bytes / self.points


def at_rest(db: Path) -> AtRest:
    """Compact a stopped ingest's store (every chunk counts as old), then measure it."""
    store = SqliteStore(db, auto_compact_interval_s=0.0)
    try:
        before = store.stats().chunks
        store.compact(FAR_FUTURE_US)
        stats = store.stats()
    finally:
        store.close()  # checkpoints and truncates the WAL: the file alone then holds everything
    tables: dict[str, int] = {}
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        with contextlib.suppress(sqlite3.Error):  # dbstat is a compile-time option of SQLite
            rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
            tables = {str(name): int(size) for name, size in rows}
        free_pages = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    if tables and free_pages:
        tables["(free pages)"] = free_pages * page_size
    file_bytes = db.stat().st_size
    # What the store does by itself once the ledger window has passed: keys keep their number only. Every
    # sample is kept (0 = for ever); pages freed are reused by new data, so the pages in use are what a
    # running plant pays per point.
    store = SqliteStore(db, auto_compact_interval_s=0.0)
    try:
        keep_samples = RetentionPolicy.forever(
            ledger_days=float(Settings.model_fields["retention_ledger_days"].default)
        )
        store.apply_retention(FAR_FUTURE_US, keep_samples)
    finally:
        store.close()
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        used_pages = int(conn.execute("PRAGMA page_count").fetchone()[0]) - int(
            conn.execute("PRAGMA freelist_count").fetchone()[0]
        )
    return AtRest(
        stats.points, stats.sample_bytes, file_bytes, before, stats.chunks, tables, used_pages * page_size
    )


@dataclass
class DemoRun:
    peak_rss: int
    reported_mb: float | None
    exit_code: int | None
    summary: str
    parent_peak_rss: int  # this benchmark's own peak RSS when it started the demo


def demo(workdir: Path) -> DemoRun:
    """``cadence demo`` for a fixed time; its peak RSS sampled every 0.1 s, and as it reports it."""
    workdir.mkdir(parents=True)
    argv = [str(procs.BIN_DIR / "cadence"), "demo", "--duration", f"{DEMO_DURATION_S}s"]
    argv += ["--speed", str(DEMO_SPEED), "--no-http", "--data-dir", str(workdir / "data")]
    log = workdir / "demo.log"
    peak = 0
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, cwd=workdir, env=procs.clean_env(COLUMNS="200")
        )
        try:
            watched = psutil.Process(process.pid)
            deadline = time.monotonic() + DEMO_TIMEOUT_S
            while process.poll() is None and time.monotonic() < deadline:
                with contextlib.suppress(psutil.Error):
                    peak = max(peak, watched.memory_info().rss)
                time.sleep(0.1)
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
    output = log.read_text(encoding="utf-8", errors="replace")
    reported = re.findall(r"peak RSS (\d+(?:\.\d+)?) MB", output)
    summary = re.findall(r"^Summary .*$", output, flags=re.M)
    return DemoRun(
        peak_rss=peak,
        reported_mb=float(reported[-1]) if reported else None,
        exit_code=process.returncode,
        summary=summary[-1].strip() if summary else output[-500:],
        parent_peak_rss=procs.peak_rss_bytes("self") or 0,
    )
