"""Docs are tested: references are generated from the code, docstring examples run, the README is true."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import cadence
from cadence.config import settings_reference
from cadence.errors import errors_reference

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _modules() -> list[str]:
    # __main__ runs the command line when imported.
    return sorted(
        m.name for m in pkgutil.walk_packages(cadence.__path__, "cadence.") if m.name != "cadence.__main__"
    )


def test_settings_reference_is_in_sync() -> None:
    assert (DOCS / "reference" / "settings.md").read_text(encoding="utf-8") == settings_reference(), (
        "regenerate: .venv/bin/cadence check-config --settings-reference > docs/reference/settings.md"
    )


def test_errors_reference_is_in_sync() -> None:
    assert (DOCS / "reference" / "errors.md").read_text(encoding="utf-8") == errors_reference(), (
        "regenerate: .venv/bin/cadence check-config --errors-reference > docs/reference/errors.md"
    )


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_core_modules_have_examples() -> None:
    """The pure vocabulary shows itself in a runnable example (STYLE.md, practice 6)."""
    for name in _modules():
        if name.startswith("cadence.domain.") or name.startswith("cadence.protocol."):
            module = importlib.import_module(name)
            finder = doctest.DocTestFinder()
            examples = sum(len(t.examples) for t in finder.find(module))
            assert examples > 0, f"{name} has no docstring example"


def test_readme_quick_start_is_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^make \w+$", quick, flags=re.M)
    assert commands == ["make demo", "make test"]


def test_every_doc_link_resolves() -> None:
    for page in [ROOT / "README.md", *DOCS.rglob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to missing {target}"
