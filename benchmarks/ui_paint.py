"""Overview first paint at tablet size, and what a page costs in JavaScript and CSS (issue 3 targets).

A simulated plant (6 presses at ×10) feeds the real ingest pipeline and the real app, served by uvicorn
on loopback; Debian's Chromium (Playwright, never a downloaded browser) signs in and loads the overview
``--loads`` times at 1280×800 and 1024×768, each time in a fresh page with an empty cache. First paint is
the browser's own ``first-contentful-paint`` entry (navigation start → first text or image drawn).

    .venv/bin/python benchmarks/ui_paint.py [--loads 15] [--write-docs]

Targets: first paint ≤ 1 s; JavaScript + CSS ≤ 300 kB per page.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from cadence.auth import Role
from cadence.clock import WallClock
from cadence.config import load_settings
from cadence.ingest.local import LocalPublisher
from cadence.runtime import open_runtime
from cadence.simulator import PlantSimulator
from cadence.web.app import create_app

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
START, END = "<!-- ui-paint-benchmark:start -->", "<!-- ui-paint-benchmark:end -->"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SIZES = ((1280, 800), (1024, 768))
USER, PASSWORD = "mesure", "benchmark-password-2026"
TARGET_PAINT_MS = 1000
TARGET_ASSET_BYTES = 300_000


def measure(loads: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="cadence-paint-") as tmp:
        clock = WallClock(speed=10)
        runtime = open_runtime(load_settings(data_dir=Path(tmp)), clock=clock)
        runtime.auth.create_user(USER, Role.SUPERVISOR, PASSWORD)
        publisher = LocalPublisher(runtime.pipeline)
        stop = threading.Event()
        sim = PlantSimulator(runtime.plant, publisher, clock, seed=9)
        feeding = threading.Thread(target=sim.run, kwargs={"stop": stop}, daemon=True)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = uvicorn.Server(uvicorn.Config(create_app(runtime.settings, runtime), log_level="warning"))
        serving = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        feeding.start()
        serving.start()
        results: dict[str, Any] = {}
        try:
            while not server.started:
                time.sleep(0.05)
            time.sleep(5)  # every press has strokes to show
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                for width, height in SIZES:
                    context = browser.new_context(viewport={"width": width, "height": height})
                    answer = context.request.post(
                        f"{url}/api/v1/auth/login", data={"name": USER, "password": PASSWORD}
                    )
                    assert answer.ok, answer.text()
                    paints: list[float] = []
                    assets = 0
                    for _ in range(loads):
                        page = context.new_page()
                        cdp = context.new_cdp_session(page)
                        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
                        page.goto(url + "/", wait_until="load")
                        # Polled from here with functions: a bare expression string is eval'd, which the
                        # Content-Security-Policy of the pages refuses.
                        fcp = "() => performance.getEntriesByName('first-contentful-paint')"
                        for _ in range(250):
                            if page.evaluate(f"() => ({fcp})().length"):
                                break
                            time.sleep(0.02)
                        paints.append(page.evaluate(f"() => ({fcp})()[0].startTime"))
                        assets = page.evaluate(
                            """() => performance.getEntriesByType('resource')
                                 .filter(r => /\\.(js|css)$/.test(new URL(r.name).pathname))
                                 .reduce((n, r) => n + r.decodedBodySize, 0)"""
                        )
                        page.close()
                    context.close()
                    results[f"{width}x{height}"] = {"paints": paints, "asset_bytes": assets}
                browser.close()
        finally:
            stop.set()
            feeding.join(10)
            publisher.close()
            server.should_exit = True
            serving.join(10)
            sock.close()
            runtime.close()
    return results


def table(results: dict[str, Any], loads: int) -> str:
    lines = [
        "| Tablet size | First paint, median | p95 | max | JS + CSS per page |",
        "|---|---:|---:|---:|---:|",
    ]
    for size, r in results.items():
        paints = sorted(r["paints"])
        p95 = paints[min(len(paints) - 1, round(0.95 * len(paints)) - 1)]
        lines.append(
            f"| {size} | {statistics.median(paints):.0f} ms | {p95:.0f} ms | {paints[-1]:.0f} ms | "
            f"{r['asset_bytes'] / 1000:.1f} kB |"
        )
    worst = max(max(r["paints"]) for r in results.values())
    biggest = max(r["asset_bytes"] for r in results.values())
    lines += [
        "",
        f"- Targets: first paint ≤ {TARGET_PAINT_MS} ms ({'met' if worst <= TARGET_PAINT_MS else 'missed'}: "
        f"worst of {loads} loads per size {worst:.0f} ms); "
        f"JavaScript + CSS ≤ {TARGET_ASSET_BYTES // 1000} kB "
        f"({'met' if biggest <= TARGET_ASSET_BYTES else 'missed'}: {biggest / 1000:.1f} kB, uncompressed).",
    ]
    return "\n".join(lines)


def write_docs(section: str) -> None:
    text = DOCS.read_text(encoding="utf-8")
    block = f"{START}\n{section}\n{END}"
    if START in text:
        before, rest = text.split(START, 1)
        text = before + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOCS.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=15, help="Page loads per tablet size.")
    parser.add_argument("--write-docs", action="store_true", help="Write the section of docs/benchmarks.md.")
    args = parser.parse_args()
    results = measure(args.loads)
    body = table(results, args.loads)
    print(body)
    if args.write_docs:
        section = (
            "## Overview first paint (issue 3)\n\n"
            "The plant overview loaded in Debian's Chromium at tablet sizes, signed in, cache disabled, 6 "
            "simulated presses at ×10 feeding the real app on loopback. Command: "
            f"`.venv/bin/python benchmarks/ui_paint.py --loads {args.loads} --write-docs` "
            f"({time.strftime('%Y-%m-%d', time.gmtime())}).\n\n" + body
        )
        write_docs(section)
        print(f"written to {DOCS}")


if __name__ == "__main__":
    main()
