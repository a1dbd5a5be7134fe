"""Fault injection for crash tests: kill the process at a named point of ingest, on its N-th hit.

**For fault-injection tests only.** Failpoints are enabled solely by the environment variable
``CADENCE_FAILPOINTS``, read once per process; without it :func:`hit` is a no-op costing one dict lookup.
The value lists ``name=N`` pairs separated by commas; the process sends itself SIGKILL (no cleanup, no
flush: like a power cut for the process) the N-th time the named point is reached::

    CADENCE_FAILPOINTS="ingest.before_commit=3,ingest.after_commit=5" cadence serve

Points placed in ingest (:mod:`cadence.ingest.pipeline`):

* ``ingest.before_commit`` — messages validated, not yet handed to the store: nothing of them is on disk.
* ``ingest.after_commit`` — the store committed them, the sender has not been acknowledged yet.

The kill test (``tests/integration/test_ingest_http_kill.py``) checks that a sender retrying with the
same keys ends with every message stored exactly once across such crashes.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

logger = logging.getLogger(__name__)

ENV_VAR = "CADENCE_FAILPOINTS"


class _State:
    """The process's failpoints: parsed from the environment on first use."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.armed: dict[str, int] | None = None  # name -> the hit number that kills
        self.hits: dict[str, int] = {}


_state = _State()


def parse(spec: str) -> dict[str, int]:
    """``"a=3,b=1"`` → ``{"a": 3, "b": 1}``; ``ValueError`` naming the bad entry otherwise.

    >>> parse("ingest.before_commit=3, ingest.after_commit=1")
    {'ingest.before_commit': 3, 'ingest.after_commit': 1}
    """
    armed: dict[str, int] = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        name, sep, count = entry.partition("=")
        if not sep or not name.strip() or not count.strip().isdigit() or int(count) < 1:
            raise ValueError(f"{ENV_VAR}: {entry!r} is not of the form name=N with N >= 1")
        armed[name.strip()] = int(count)
    return armed


def hit(name: str) -> None:
    """Count one pass through failpoint ``name``; SIGKILL the process when its armed count is reached."""
    armed = _state.armed
    if armed is None:
        with _state.lock:
            if _state.armed is None:
                _state.armed = parse(os.environ.get(ENV_VAR, ""))
                if _state.armed:
                    logger.warning(
                        "fault injection armed (%s=%s): this process will kill itself", ENV_VAR, _state.armed
                    )
            armed = _state.armed
    if name not in armed:
        return
    with _state.lock:
        _state.hits[name] = count = _state.hits.get(name, 0) + 1
    if count == armed[name]:
        logger.warning("failpoint %s reached (hit %d): SIGKILL", name, count)
        os.kill(os.getpid(), signal.SIGKILL)


def reset() -> None:
    """Forget the parsed setting and the hit counts (tests that change the environment in-process)."""
    with _state.lock:
        _state.armed = None
        _state.hits.clear()
