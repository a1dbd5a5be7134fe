"""Failpoints: armed only through the environment; the N-th hit kills the process with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from cadence.ingest import failpoints

SCRIPT = """
from cadence.ingest import failpoints
for i in range(1, 4):
    failpoints.hit("ingest.before_commit")
    print(i, flush=True)
"""


def _run(env_value: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != failpoints.ENV_VAR}
    if env_value is not None:
        env[failpoints.ENV_VAR] = env_value
    cmd = [sys.executable, "-c", SCRIPT]
    return subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=60)


def test_the_nth_hit_kills_the_process() -> None:
    run = _run("ingest.before_commit=2")
    assert run.returncode == -signal.SIGKILL
    assert run.stdout.split() == ["1"]


def test_without_the_environment_variable_nothing_happens() -> None:
    run = _run(None)
    assert run.returncode == 0
    assert run.stdout.split() == ["1", "2", "3"]


def test_other_points_are_not_affected() -> None:
    assert _run("ingest.after_commit=1").stdout.split() == ["1", "2", "3"]


def test_parse() -> None:
    assert failpoints.parse("") == {}
    assert failpoints.parse("a=1, b.c=12") == {"a": 1, "b.c": 12}


@pytest.mark.parametrize("spec", ["a", "a=", "=3", "a=0", "a=-1", "a=x"])
def test_parse_refuses_what_it_cannot_read(spec: str) -> None:
    with pytest.raises(ValueError, match="name=N"):
        failpoints.parse(spec)
