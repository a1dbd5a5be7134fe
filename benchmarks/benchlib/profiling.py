"""Where the ingest process spends its GIL: py-spy samples of a running ``cadence ingest``, summarised.

Optional: used only when ``py-spy`` is installed (``.venv/bin/pip install py-spy``) and allowed to attach.
Sampling is non-blocking (the process is never paused) and only threads holding the GIL are recorded:
ingest is one Python process, so the GIL is the resource its threads compete for, and these shares say
which thread and which function holds it.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Samples per second: several hundred samples in a run of a second or less. Profiled runs are extra runs,
# not counted in the results, so py-spy's own CPU (it shares the machine) does not bias the table.
RATE_HZ = 1_000
STOP_TIMEOUT_S = 30.0

# Thread names as Cadence's ingest starts them → what they do.
_THREADS = (
    (re.compile(r"^paho-mqtt-client-.*-watch$"), "broker watch ($SYS)"),
    (re.compile(r"^paho-mqtt-client-"), "paho network thread (receive, PUBACK)"),
    (re.compile(r"^cadence-mqtt-decoder$"), "decoder (decode + validate)"),
    (re.compile(r"^cadence-store-writer$"), "store writer"),
    (re.compile(r"^cadence-ingest_\d+$"), "completion (acks, counters)"),
)
# Functions whose inclusive share is worth naming (qualified as py-spy prints them).
FUNCTIONS = (
    ("Client.loop_read", "MQTT receive (paho loop_read)"),
    ("IngestPipeline.prepare", "decode + validate (IngestPipeline.prepare)"),
    ("_digest", "… of which the payload digest (codec._digest)"),
    ("_samples", "… of which JSON lists → numpy (codec._samples)"),
    ("append_batches", "store append (ops.append_batches)"),
    ("MqttIngest._on_group_done", "PUBACK + commit acks (MqttIngest._on_group_done)"),
)


def py_spy() -> Path | None:
    """The py-spy executable next to this Python, or on the PATH."""
    local = Path(sys.executable).parent / "py-spy"
    if local.exists():
        return local
    found = shutil.which("py-spy")
    return Path(found) if found else None


def start(pid: int, output: Path) -> subprocess.Popen[bytes] | None:
    """Start sampling ``pid`` into ``output``; it stops by itself when the process exits."""
    binary = py_spy()
    if binary is None:
        return None
    argv = [str(binary), "record", "--pid", str(pid), "--nonblocking", "--threads", "--gil"]
    argv += ["--rate", str(RATE_HZ), "--format", "raw", "--output", str(output)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def finish(recorder: subprocess.Popen[bytes]) -> None:
    """Stop sampling now (py-spy writes its output on SIGINT), killing the recorder if it hangs."""
    if recorder.poll() is None:
        recorder.send_signal(signal.SIGINT)
    try:
        recorder.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        recorder.kill()
        recorder.wait(5.0)


@dataclass
class Profile:
    """Shares of GIL-holding samples, by thread role and by function (inclusive)."""

    samples: int = 0
    threads: Counter[str] = field(default_factory=Counter)
    functions: Counter[str] = field(default_factory=Counter)

    def share(self, count: int) -> float:
        return count / self.samples if self.samples else 0.0


def _role(thread: str) -> str:
    name = thread.split(": ", 1)[-1]
    for pattern, role in _THREADS:
        if pattern.search(name):
            return role
    return name


def summarise(path: Path) -> Profile | None:
    """Read py-spy's raw (collapsed) output: ``thread;frame;…;frame count`` per line."""
    if not path.exists():
        return None
    profile = Profile()
    wanted = {name for name, _ in FUNCTIONS}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        profile.samples += count
        profile.threads[_role(frames[0])] += count
        # A frame reads "function (file:line)"; count each named function once per sample.
        names = {frame.split(" (", 1)[0] for frame in frames[1:]}
        for name in names & wanted:
            profile.functions[name] += count
    return profile if profile.samples else None
