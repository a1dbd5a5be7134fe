"""Reading a press's strokes forward in time, in bounded chunks, for evaluators that keep a watermark.

The store answers stroke queries newest first with a limit (what pages want). Live SPC and press
health instead walk forward from their watermark; :func:`forward_strokes` reads the range in time windows
that shrink when one holds too many strokes and grow when they hold few, so a pass after a week offline
reads its backlog chunk by chunk instead of all at once.
"""

from __future__ import annotations

from cadence.domain.cycles import Stroke
from cadence.ports import TimeSeriesStore

READ_LIMIT = 2_000
CHUNK_STROKES = 10_000
FIRST_SPAN_US = 3_600_000_000


def forward_strokes(
    store: TimeSeriesStore, machine: str, first_us: int, end_us: int, chunk: int = CHUNK_STROKES
) -> tuple[list[Stroke], bool]:
    """Strokes started in ``[first_us, end_us)``, OLDEST first, at most about ``chunk``; and whether they
    reach ``end_us`` (False: call again from after the last one)."""
    found: list[Stroke] = []
    lo, span = first_us, FIRST_SPAN_US
    while lo < end_us:
        if len(found) >= chunk:
            return found, False
        hi = min(end_us, lo + span)
        batch = store.strokes(machine, lo, hi, limit=READ_LIMIT)
        if len(batch) >= READ_LIMIT and hi - lo > 1:
            span = max(1, (hi - lo) // 2)
            continue
        found.extend(reversed(batch))
        lo = hi
        if len(batch) < READ_LIMIT // 4:
            span *= 2
    return found, True
