"""Writing a benchmark's results into docs/benchmarks.md: each script owns one section between markers."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"


def write_section(section: str, start: str, end: str, path: Path = DOCS) -> None:
    """Replace the section between ``start`` and ``end`` (markers included in ``section``), or append it
    at the end of the file; nothing else in the file is touched."""
    text = path.read_text(encoding="utf-8")
    if start in text and end in text:
        head, rest = text.split(start, 1)
        # What follows the end marker (a reading written by hand, the next section) keeps its spacing.
        text = head + section.rstrip("\n") + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")
