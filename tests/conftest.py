"""Shared test configuration.

Tests that need a real service use it. Outside CI they may skip with a clear reason when it is absent;
with CI=true they fail instead (README, "Tests").
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
sys.path.insert(0, str(ROOT / "tests"))  # tests/support is importable as `support`

# Real Mosquitto brokers on free ports, as the `mosquitto_broker` fixture (tests/support/broker.py).
pytest_plugins = ["support.broker"]

IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skip when ``condition`` is false, or fail under CI=true where every service must be present."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required under CI: {reason}")
        pytest.skip(reason)


@pytest.fixture
def example_plant_path() -> Path:
    return ROOT / "src" / "cadence" / "examples" / "plant.toml"
