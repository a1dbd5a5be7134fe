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


def dataset_path(name: str) -> tuple[Path, bool]:
    """Where the public dataset ``name`` is looked for (see :func:`dataset_dir`), and whether an
    environment variable named it."""
    explicit = os.environ.get(f"{name.upper()}_DIR") or (
        str(Path(os.environ["DATASETS_DIR"]) / name) if os.environ.get("DATASETS_DIR") else ""
    )
    return (Path(explicit), True) if explicit else (ROOT.parent / "shared" / "datasets" / name, False)


def dataset_dir(name: str, marker: str) -> Path:
    """The folder of the public dataset ``name`` holding ``marker``, for tests that read a whole dataset.

    Looked up as ``<NAME>_DIR``, then ``DATASETS_DIR/<name>``, then the workspace's shared copy next to
    the repository (``../shared/datasets/<name>``). Without any, the test skips with the reason, in CI too:
    the datasets are public downloads, not part of the repository nor a service (the small extracts the
    other tests need are in ``tests/fixtures``). A folder named explicitly but wrong is a failure.
    """
    folder, explicit = dataset_path(name)
    if not (folder / marker).exists():
        variable = f"{name.upper()}_DIR"
        if explicit:
            pytest.fail(f"{folder} has no {marker}: {variable} or DATASETS_DIR names the wrong folder")
        pytest.skip(
            f"the {name} dataset is not on this machine (set {variable}, or DATASETS_DIR to the folder of"
            " public datasets, to run this test)"
        )
    return folder


@pytest.fixture
def example_plant_path() -> Path:
    return ROOT / "src" / "cadence" / "examples" / "plant.toml"
