"""The browser packages the web app serves from ``/static/vendor/``: which files, copying, startup check.

The packages come from the npm registry at setup time (``package.json`` pins exact versions,
``package-lock.json`` carries their integrity hashes) and are never fetched from a CDN, so the pages can
run under ``script-src 'self'`` on a plant network without internet. ``make assets`` runs ``npm ci`` and
then this module (``python -m cadence.web.assets``), which copies exactly the files below into
``src/cadence/web/static/vendor/<package>/`` with each licence and writes ``manifest.json``. Node is
therefore needed only to set up from source or build a wheel, never where Cadence runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cadence.errors import ConfigError

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
MANIFEST_NAME = "manifest.json"
SETUP_COMMAND = "make assets"


@dataclass(frozen=True, slots=True)
class VendoredPackage:
    """One npm package and the files of it the pages use, as paths inside the package."""

    name: str
    files: tuple[str, ...]
    licence: str = "LICENSE"

    def targets(self, vendor_dir: Path) -> list[Path]:
        """Where each file (licence included) lands under ``vendor_dir``; the base name is kept."""
        return [vendor_dir / self.name / Path(f).name for f in (*self.files, self.licence)]


# The minified builds only: htmx ships ES-module, AMD and CommonJS variants too, uPlot an ES module and a
# CommonJS build, none of which a plain <script src> can load. uPlot's IIFE build defines window.uPlot.
PACKAGES: tuple[VendoredPackage, ...] = (
    VendoredPackage("htmx.org", ("dist/htmx.min.js",)),
    VendoredPackage("uplot", ("dist/uPlot.iife.min.js", "dist/uPlot.min.css")),
)


def vendor_url(package: str, file: str) -> str:
    """The URL path the app serves a vendored file at, e.g. ``/static/vendor/uplot/uPlot.min.css``."""
    return f"/static/vendor/{package}/{file}"


def missing_files(vendor_dir: Path = VENDOR_DIR) -> list[Path]:
    """The declared files absent from ``vendor_dir`` (empty when the assets are complete)."""
    return [t for p in PACKAGES for t in p.targets(vendor_dir) if not t.is_file()]


def check_vendored(vendor_dir: Path = VENDOR_DIR) -> None:
    """Raise :class:`ConfigError` naming the setup command when any browser file is missing.

    Called by ``create_app`` so a checkout that skipped the setup step fails at startup with the fix,
    rather than serving pages whose scripts answer 404 on a tablet nobody is watching.
    """
    missing = missing_files(vendor_dir)
    if missing:
        names = ", ".join(str(m.relative_to(vendor_dir)) for m in missing)
        raise ConfigError(
            f"browser assets missing in {vendor_dir} ({names}); run `{SETUP_COMMAND}` in the source tree "
            "(needs Node.js and npm) or install a Cadence wheel, which carries them",
            missing=[str(m) for m in missing],
        )


def vendor(node_modules: Path, vendor_dir: Path, pinned: dict[str, str]) -> dict[str, Any]:
    """Copy the declared files from ``node_modules`` into ``vendor_dir``; return the manifest written.

    ``pinned`` maps package names to the exact versions of ``package.json``. A package installed at
    another version is refused: a stale ``node_modules`` must never be copied silently.
    """
    packages: list[dict[str, Any]] = []
    for package in PACKAGES:
        source = node_modules / package.name
        meta_file = source / "package.json"
        if not meta_file.is_file():
            raise ConfigError(f"{source}: package not installed; run `npm ci --ignore-scripts` first")
        version = str(json.loads(meta_file.read_text(encoding="utf-8"))["version"])
        if pinned.get(package.name) != version:
            raise ConfigError(
                f"{package.name} {version} is installed but package.json pins {pinned.get(package.name)}; "
                "run `npm ci --ignore-scripts`",
                package=package.name,
            )
        dest = vendor_dir / package.name
        # Replace the whole folder so a file dropped from PACKAGES does not linger and get shipped.
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        files = []
        for relative, target in zip(
            (*package.files, package.licence), package.targets(vendor_dir), strict=True
        ):
            shutil.copyfile(source / relative, target)
            data = target.read_bytes()
            files.append(
                {"path": f"{package.name}/{target.name}", "bytes": len(data), "sha256": _sha256(data)}
            )
        packages.append({"name": package.name, "version": version, "files": files})
    manifest = {
        "packages": packages,
        "total_bytes": sum(f["bytes"] for p in packages for f in p["files"]),
    }
    # The manifest is written last: `make` uses it as the stamp, so it only exists after a complete copy.
    (vendor_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def shipped_bytes(vendor_dir: Path = VENDOR_DIR) -> int:
    """Bytes of vendored JavaScript and CSS a page can load (licences and the manifest excluded)."""
    return sum(
        t.stat().st_size for p in PACKAGES for t in p.targets(vendor_dir) if t.suffix in {".js", ".css"}
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main(project_root: Path) -> int:
    """Copy from ``<project_root>/node_modules`` using the pins of ``<project_root>/package.json``."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    pinned = json.loads((project_root / "package.json").read_text(encoding="utf-8"))["dependencies"]
    try:
        manifest = vendor(project_root / "node_modules", VENDOR_DIR, pinned)
    except ConfigError as err:
        log.error("vendor assets: %s", err.message)
        return 1
    for package in manifest["packages"]:
        size = sum(f["bytes"] for f in package["files"])
        log.info(
            "vendored %s %s (%d files, %d bytes)",
            package["name"],
            package["version"],
            len(package["files"]),
            size,
        )
    log.info("JS+CSS shipped to pages: %d bytes, in %s", shipped_bytes(VENDOR_DIR), VENDOR_DIR)
    return 0


if __name__ == "__main__":
    # Run from the source tree by `make assets`; the working directory is the project root.
    sys.exit(main(Path.cwd()))
