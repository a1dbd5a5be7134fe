"""Vendored browser files: the copy from node_modules, the startup check, serving, and the size budget."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cadence.config import load_settings
from cadence.errors import ConfigError
from cadence.runtime import open_runtime
from cadence.web import assets
from cadence.web.app import create_app
from conftest import ROOT, require

NODE_MODULES = ROOT / "node_modules"
PINNED: dict[str, str] = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["dependencies"]

# Issue 3: everything a tablet downloads for the UI (JS and CSS, before compression) stays within 300 kB.
UI_BUDGET_BYTES = 300_000


def _require_node_modules() -> None:
    require(
        all((NODE_MODULES / name / "package.json").is_file() for name in PINNED),
        "node_modules not installed (make assets)",
    )


def _require_vendored() -> None:
    require(not assets.missing_files(), "browser assets not vendored (make assets)")


def test_every_pinned_package_is_vendored_and_nothing_else() -> None:
    assert sorted(p.name for p in assets.PACKAGES) == sorted(PINNED)


def test_copy_writes_the_declared_files_and_a_manifest(tmp_path: Path) -> None:
    _require_node_modules()
    manifest = assets.vendor(NODE_MODULES, tmp_path, PINNED)

    assert assets.missing_files(tmp_path) == []
    assets.check_vendored(tmp_path)  # complete: no error
    assert {p["name"]: p["version"] for p in manifest["packages"]} == PINNED
    on_disk = json.loads((tmp_path / assets.MANIFEST_NAME).read_text(encoding="utf-8"))
    assert on_disk == manifest
    for package in manifest["packages"]:
        for entry in package["files"]:
            assert (tmp_path / entry["path"]).stat().st_size == entry["bytes"]
    assert manifest["total_bytes"] == sum(f["bytes"] for p in manifest["packages"] for f in p["files"])
    # Byte-for-byte the published builds, not a re-minified or truncated copy.
    htmx = tmp_path / "htmx.org" / "htmx.min.js"
    assert htmx.read_bytes() == (NODE_MODULES / "htmx.org" / "dist" / "htmx.min.js").read_bytes()
    assert b'version:"2.0.11"' in htmx.read_bytes()


def test_copy_removes_files_no_longer_declared(tmp_path: Path) -> None:
    _require_node_modules()
    stale = tmp_path / "uplot" / "uPlot.esm.js"
    stale.parent.mkdir(parents=True)
    stale.write_text("left over from an older list", encoding="utf-8")
    assets.vendor(NODE_MODULES, tmp_path, PINNED)
    assert not stale.exists()


def test_copy_refuses_a_version_other_than_the_pinned_one(tmp_path: Path) -> None:
    _require_node_modules()
    pinned = {**PINNED, "uplot": "1.6.31"}
    with pytest.raises(ConfigError, match=r"uplot 1\.6\.32 is installed but package\.json pins 1\.6\.31"):
        assets.vendor(NODE_MODULES, tmp_path, pinned)
    assert not (tmp_path / assets.MANIFEST_NAME).exists()


def test_copy_refuses_a_package_that_is_not_installed(tmp_path: Path) -> None:
    _require_node_modules()
    partial = tmp_path / "node_modules"
    shutil.copytree(NODE_MODULES / "htmx.org", partial / "htmx.org")
    with pytest.raises(ConfigError, match="uplot: package not installed"):
        assets.vendor(partial, tmp_path / "vendor", PINNED)


def test_missing_files_make_startup_fail_naming_the_setup_command(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run `make assets`") as caught:
        assets.check_vendored(tmp_path)
    assert "uplot/uPlot.iife.min.js" in caught.value.message
    assert len(caught.value.context["missing"]) == sum(len(p.files) + 1 for p in assets.PACKAGES)


def test_the_app_serves_the_vendored_files(tmp_path: Path) -> None:
    _require_vendored()
    runtime = open_runtime(load_settings(data_dir=tmp_path))
    try:
        with TestClient(create_app(runtime.settings, runtime)) as client:
            js = client.get(assets.vendor_url("htmx.org", "htmx.min.js"))
            css = client.get(assets.vendor_url("uplot", "uPlot.min.css"))
            absent = client.get("/static/vendor/uplot/not-there.js")
    finally:
        runtime.close()
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert js.content == (assets.VENDOR_DIR / "htmx.org" / "htmx.min.js").read_bytes()
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert absent.status_code == 404


def test_the_ui_assets_stay_within_the_size_budget() -> None:
    _require_vendored()
    vendored = assets.shipped_bytes()
    # Our own stylesheets and scripts count too, once there are any.
    own = sum(p.stat().st_size for p in assets.STATIC_DIR.glob("*") if p.suffix in {".js", ".css"})
    total = vendored + own
    print(f"UI JS+CSS: {total} bytes ({vendored} vendored + {own} own), budget {UI_BUDGET_BYTES}")
    assert total <= UI_BUDGET_BYTES
