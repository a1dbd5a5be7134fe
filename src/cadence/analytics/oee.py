"""OEE per ISO 22400-2 from state intervals and part counts.

ISO 22400-2 splits a work unit's time: planned busy time PBT = planned operation time − planned downtime;
actual production time APT = the time the unit actually produces. With the planned run time per item
PRI, produced quantity PQ and good quantity GQ:

* availability A = APT / PBT
* effectiveness E = PRI · PQ / APT (can exceed 1: PRI is planned, not a maximum)
* quality ratio QR = GQ / PQ
* OEE = A · E · QR = PRI · GQ / PBT

The acceptance example of docs/domain.md §2.5 (an 8-hour shift: PDOT 30 min, stops 70 min, PRI 12 s,
1,800 parts of which 1,746 good):

>>> k = oee(pbt_s=450 * 60, apt_s=380 * 60, pri_s=12, pq=1_800, gq=1_746)
>>> round(k.availability, 6), round(k.effectiveness, 6), k.quality, round(k.oee, 3)
(0.844444, 0.947368, 0.97, 0.776)

>>> durations = time_in_states([(0, "running"), (600, "down"), (900, "running")], start=0, end=1_200)
>>> durations == {"running": 900, "down": 300}
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OeeResult:
    """The ISO 22400-2 ratios and the times and counts they come from (for drill-down)."""

    pbt_s: float
    apt_s: float
    pri_s: float
    pq: int
    gq: int

    @property
    def availability(self) -> float:
        return self.apt_s / self.pbt_s if self.pbt_s > 0 else 0.0

    @property
    def effectiveness(self) -> float:
        return self.pri_s * self.pq / self.apt_s if self.apt_s > 0 else 0.0

    @property
    def quality(self) -> float:
        return self.gq / self.pq if self.pq > 0 else 0.0

    @property
    def oee(self) -> float:
        """A · E · QR, computed as PRI · GQ / PBT (the same, without rounding between the factors)."""
        return self.pri_s * self.gq / self.pbt_s if self.pbt_s > 0 else 0.0


def oee(pbt_s: float, apt_s: float, pri_s: float, pq: int, gq: int) -> OeeResult:
    """OEE of a period; refuses inconsistent inputs instead of returning a plausible wrong number."""
    if pbt_s < 0 or apt_s < 0 or pri_s < 0:
        raise ValueError("times must be >= 0")
    if apt_s > pbt_s + 1e-9:
        raise ValueError(f"actual production time {apt_s} s exceeds planned busy time {pbt_s} s")
    if not 0 <= gq <= pq:
        raise ValueError(f"good quantity {gq} must be within 0..{pq}")
    return OeeResult(pbt_s, apt_s, pri_s, pq, gq)


def time_in_states(changes: Iterable[tuple[float, str]], start: float, end: float) -> dict[str, float]:
    """Seconds spent in each state within ``[start, end)``, from ``(time, state)`` changes in time order.

    The state in force at ``start`` is the last change at or before it; a period before the first change
    is not attributed (the state was unknown).
    """
    totals: dict[str, float] = {}
    current: tuple[float, str] | None = None
    for ts, state in changes:
        if current is not None and ts > start:
            begin = max(current[0], start)
            stop = min(ts, end)
            if stop > begin:
                totals[current[1]] = totals.get(current[1], 0.0) + (stop - begin)
        current = (ts, state)
        if ts >= end:
            break
    if current is not None and current[0] < end:
        begin = max(current[0], start)
        totals[current[1]] = totals.get(current[1], 0.0) + (end - begin)
    return totals


def shift_oee(
    durations: Mapping[str, float],
    pri_s: float,
    pq: int,
    gq: int,
    planned_states: Iterable[str] = ("planned_stop",),
) -> OeeResult:
    """OEE of a shift from the time spent in each state: PBT excludes planned stops, APT is running time."""
    planned = set(planned_states)
    pbt = sum(v for k, v in durations.items() if k not in planned)
    apt = durations.get("running", 0.0)
    return oee(pbt_s=pbt, apt_s=min(apt, pbt), pri_s=pri_s, pq=pq, gq=min(gq, pq))
