"""Smoke test of the browser stack: Debian's Chromium, the real app, and the vendored scripts it serves.

Loud on purpose: Debian updates Chromium independently of the pinned Playwright, and this is the test
that says so first.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from e2e.conftest import PageAt, Screenshot

from e2e.conftest import TABLET_SIZES


@pytest.mark.parametrize(("width", "height"), TABLET_SIZES, ids=[f"{w}x{h}" for w, h in TABLET_SIZES])
def test_health_renders_at_tablet_size(
    live_app: str, page_at: PageAt, screenshot: Screenshot, width: int, height: int
) -> None:
    page = page_at(width, height)
    response = page.goto(f"{live_app}/health")
    assert response is not None and response.ok
    # Chromium shows a JSON response as text in a <pre>; what the tablet displays is the document itself.
    shown = json.loads(page.locator("pre").first.inner_text())
    assert shown["ok"] is True and shown["status"] == "ok"
    assert shown["machines"] > 0
    assert page.viewport_size == {"width": width, "height": height}
    path = screenshot(page, f"health-{width}x{height}")
    assert path.stat().st_size > 0


def test_vendored_scripts_and_styles_load_in_chromium(live_app: str, page_at: PageAt) -> None:
    """A page of ours loads htmx and uPlot under the strict Content-Security-Policy, without errors."""
    page = page_at(*TABLET_SIZES[0])
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_app}/setup")  # public while no administrator exists; it includes every asset
    page.wait_for_load_state("load")
    assert errors == []
    assert page.evaluate("window.htmx.version") == "2.0.11"
    assert page.evaluate("typeof window.uPlot") == "function"
    assert page.evaluate(
        "[...document.styleSheets].some(s => [...s.cssRules].some(r => r.selectorText === '.uplot'))"
    )
    # uPlot draws on a canvas: a real chart in this browser, not only a defined global.
    drawn = page.evaluate(
        """() => {
            const target = document.createElement('div');
            document.body.appendChild(target);
            const chart = new uPlot(
                {width: 400, height: 200, series: [{}, {stroke: 'red'}]},
                [[1, 2, 3], [3, 1, 2]],
                target,
            );
            const canvas = target.querySelector('canvas');
            const ok = canvas !== null && canvas.width > 0;
            chart.destroy();
            return ok;
        }"""
    )
    assert drawn is True
