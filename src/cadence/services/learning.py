"""The client of the learning worker: model fitting in a separate process, started when first needed.

scikit-learn and scipy cost 100-190 MB each once imported, so the web, ingest and store processes never
import them (an import-linter contract checks it, docs/architecture.md, "Worker"). They ask a
:class:`LearningWorker` instead, which runs ``<this python> -m cadence.learning.worker`` (by module name:
this module imports nothing of :mod:`cadence.learning`) and speaks its line-delimited JSON protocol.
What comes back is plain numbers, used with numpy alone
(:class:`cadence.analytics.linear_classifier.LinearClassifier`).

Behaviour:

* the worker starts on the first call and stays up for the next ones;
* one request at a time (a lock): calls from several threads queue up;
* each call waits at most ``timeout_s`` of real time (the worker is a real process); after a timeout the
  worker is killed, since it may be stuck, and the next call starts a fresh one;
* a worker that has died (killed, out of memory) is restarted by the next call; if it dies while working
  on a request, that call raises :class:`~cadence.errors.LearningWorkerUnavailable` (the job is not
  retried: it may be what killed it);
* the worker is stopped once it has been idle for ``idle_stop_s``, judged on the injected clock:
  :meth:`LearningWorker.stop_if_idle` decides, called by the optional watch thread
  (``watch_interval_s``) or by whoever owns the client; :meth:`LearningWorker.close` stops it for good;
* errors the worker reports come back as the :mod:`cadence.errors` class of their code.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import queue
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import IO, Any

from cadence.clock import US_PER_S
from cadence.errors import (
    CadenceError,
    LearningError,
    LearningTimeout,
    LearningWorkerUnavailable,
    all_error_classes,
)
from cadence.ports import Clock

logger = logging.getLogger(__name__)

WORKER_MODULE = "cadence.learning.worker"
# A fit of a few thousand rows takes seconds; the first one also imports scikit-learn (~1-3 s).
DEFAULT_TIMEOUT_S = 300.0
# Long enough that a burst of fits reuses one worker, short enough that its 150-300 MB come back soon.
DEFAULT_IDLE_STOP_S = 600.0
# How long a worker gets to exit on its own once its stdin is closed, before it is killed.
STOP_GRACE_S = 5.0
_EOF = object()  # what the reader thread queues when the worker's stdout ends


class _Process:
    """One running worker: the Popen, and a reader thread turning its stdout lines into a queue."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str] | None) -> None:
        self.popen: subprocess.Popen[str] = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # the worker's log lines go where this process's stderr goes
            text=True,
            encoding="utf-8",
            bufsize=1,
            env=dict(env) if env is not None else None,
        )
        self.lines: queue.Queue[object] = queue.Queue()
        self._reader = threading.Thread(
            target=self._read, args=(self.popen.stdout,), name=f"learning-worker-{self.pid}", daemon=True
        )
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def _read(self, stream: IO[str] | None) -> None:
        if stream is None:
            self.lines.put(_EOF)
            return
        try:
            for line in stream:
                self.lines.put(line)
        except (OSError, ValueError):  # the pipe was closed under us by stop()
            pass
        finally:
            self.lines.put(_EOF)

    def send(self, line: str) -> None:
        if self.popen.stdin is None:
            raise BrokenPipeError("the worker has no stdin")
        self.popen.stdin.write(line + "\n")
        self.popen.stdin.flush()

    def stop(self, kill: bool = False) -> int | None:
        """Close stdin (the worker exits at EOF), wait, kill if needed; returns the exit code."""
        if kill and self.alive():
            self.popen.kill()
        with contextlib.suppress(OSError, ValueError):
            if self.popen.stdin is not None:
                self.popen.stdin.close()
        try:
            self.popen.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(STOP_GRACE_S)
        self._reader.join(STOP_GRACE_S)
        if self.popen.stdout is not None:
            with contextlib.suppress(OSError, ValueError):
                self.popen.stdout.close()
        return self.popen.returncode


def _error_class(code: str) -> type[CadenceError]:
    classes = {cls.code: cls for cls in all_error_classes()}
    return classes.get(code, LearningError)


class LearningWorker:
    """Client of one learning worker process (module docstring). Thread-safe; use ``with`` or close()."""

    def __init__(
        self,
        clock: Clock,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        idle_stop_s: float = DEFAULT_IDLE_STOP_S,
        watch_interval_s: float | None = None,
        python: str = sys.executable,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if timeout_s <= 0 or idle_stop_s <= 0:
            raise ValueError("timeout_s and idle_stop_s must be > 0")
        self._clock = clock
        self.timeout_s = timeout_s
        self.idle_stop_s = idle_stop_s
        self._argv = [python, "-m", WORKER_MODULE]
        self._env = env
        self._lock = threading.Lock()
        self._process: _Process | None = None
        self._ids = itertools.count(1)
        self._last_used_us = clock.now_us()
        self._closed = False
        self.starts = 0  # how many worker processes this client has started (restarts included)
        self._stop_watch = threading.Event()
        self._watch: threading.Thread | None = None
        if watch_interval_s is not None:
            self._watch = threading.Thread(
                target=self._watch_idle, args=(watch_interval_s,), name="learning-idle-watch", daemon=True
            )
            self._watch.start()

    # --- state -----------------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The running worker's pid, or None when none runs."""
        process = self._process
        return process.pid if process is not None and process.alive() else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    # --- calls -----------------------------------------------------------------------------------------

    def call(self, job: str, params: Mapping[str, Any] | None = None, timeout_s: float | None = None) -> Any:
        """Run ``job`` in the worker and return its result; raises the :mod:`cadence.errors` class of
        the error it reports, :class:`LearningTimeout` or :class:`LearningWorkerUnavailable`."""
        request_id = next(self._ids)
        try:
            line = json.dumps(
                {"id": request_id, "job": job, "params": dict(params or {})},
                separators=(",", ":"),
                allow_nan=False,
            )
        except (TypeError, ValueError) as err:
            raise LearningError(f"{job}: parameters are not plain JSON: {err}", job=job) from err
        wait_s = self.timeout_s if timeout_s is None else timeout_s
        with self._lock:
            if self._closed:
                raise LearningWorkerUnavailable("the learning worker client is closed", job=job)
            try:
                process = self._send(line, job)
                return self._answer(process, request_id, job, wait_s)
            finally:
                self._last_used_us = self._clock.now_us()

    def ping(self) -> dict[str, Any]:
        """The worker's pid, resident memory and whether scikit-learn/scipy are loaded in it."""
        result: dict[str, Any] = self.call("ping")
        return result

    def fit_classifier(
        self,
        x: Sequence[Sequence[float]],
        y: Sequence[str | int | float],
        feature_names: Sequence[str],
        *,
        kind: str = "logistic",
        seed: int = 0,
        c: float = 1.0,
    ) -> dict[str, Any]:
        """Fit a classifier in the worker; the ``cadence.linear-classifier/1`` model it returns."""
        params = {
            "X": [[float(v) for v in row] for row in x],
            "y": list(y),
            "feature_names": list(feature_names),
            "kind": kind,
            "seed": seed,
            "C": c,
        }
        result: dict[str, Any] = self.call("fit_classifier", params)
        return result

    def _start(self) -> _Process:
        try:
            process = _Process(self._argv, self._env)
        except OSError as err:
            raise LearningWorkerUnavailable(f"cannot start the learning worker: {err}") from err
        self.starts += 1
        logger.info("learning worker started (pid %d)", process.pid)
        return process

    def _send(self, line: str, job: str) -> _Process:
        """Send to a live worker, starting one first if none runs or the last one died."""
        for attempt in range(2):
            process = self._process
            if process is None or not process.alive():
                if process is not None:
                    logger.warning(
                        "learning worker (pid %d) exited with code %s; restarting it",
                        process.pid,
                        process.stop(),
                    )
                process = self._process = self._start()
            try:
                process.send(line)
                return process
            except (BrokenPipeError, OSError) as err:
                # It died after the check: start a new one once; the request never reached the dead one.
                process.stop(kill=True)
                if attempt:
                    raise LearningWorkerUnavailable(
                        f"{job}: the learning worker refuses input: {err}"
                    ) from err
        raise AssertionError("unreachable")

    def _answer(self, process: _Process, request_id: int, job: str, wait_s: float) -> Any:
        while True:
            try:
                item = process.lines.get(timeout=wait_s)
            except queue.Empty:
                logger.error(
                    "learning worker (pid %d) silent for %.0f s on %s: killed", process.pid, wait_s, job
                )
                process.stop(kill=True)
                self._process = None
                raise LearningTimeout(
                    f"{job}: no answer from the learning worker within {wait_s:g} s",
                    job=job,
                    timeout_s=wait_s,
                ) from None
            if item is _EOF:
                code = process.stop()
                self._process = None
                raise LearningWorkerUnavailable(
                    f"{job}: the learning worker exited (code {code}) before answering; it restarts on the "
                    "next call",
                    job=job,
                    exit_code=code,
                )
            try:
                response = json.loads(str(item))
            except ValueError:
                logger.warning("learning worker wrote a line that is not JSON: %.200s", item)
                continue
            if not isinstance(response, dict) or response.get("id") != request_id:
                continue  # the late answer of an earlier request that timed out
            if response.get("ok"):
                return response.get("result")
            error = response.get("error") or {}
            error_code, message = str(error.get("code", LearningError.code)), str(error.get("message", ""))
            raise _error_class(error_code)(message or f"{job} failed in the learning worker", job=job)

    # --- stopping --------------------------------------------------------------------------------------

    def stop_if_idle(self) -> bool:
        """Stop the worker if no call has been made for ``idle_stop_s`` (on the injected clock).

        Returns True when it stopped one. Never waits behind a running call (that worker is not idle).
        """
        if not self._lock.acquire(blocking=False):
            return False
        try:
            idle_us = self._clock.now_us() - self._last_used_us
            if self._process is None or idle_us < self.idle_stop_s * US_PER_S:
                return False
            logger.info(
                "learning worker (pid %d) idle for %.0f s: stopping it", self._process.pid, idle_us / US_PER_S
            )
            self._process.stop()
            self._process = None
            return True
        finally:
            self._lock.release()

    def _watch_idle(self, interval_s: float) -> None:
        # Real-time polling (Event.wait), idle decision on the injected clock (stop_if_idle).
        while not self._stop_watch.wait(interval_s):
            try:
                self.stop_if_idle()
            except Exception:  # the watch must outlive a failed stop; the next call restarts a worker anyway
                logger.exception("stopping the idle learning worker failed")

    def close(self) -> None:
        """Stop the worker and the watch thread; later calls raise LearningWorkerUnavailable."""
        self._stop_watch.set()
        with self._lock:
            self._closed = True
            if self._process is not None:
                self._process.stop()
                self._process = None
        if self._watch is not None and self._watch is not threading.current_thread():
            self._watch.join(STOP_GRACE_S)

    def __enter__(self) -> LearningWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
