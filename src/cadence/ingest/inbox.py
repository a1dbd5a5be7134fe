"""A bounded FIFO between a receiving thread and the thread that decodes in groups.

Bounded both in items and in bytes: ``put`` blocks while it is full (back-pressure on whoever receives),
``drain`` takes up to a group's worth at once, so that the consumer pays its per-group costs (one store
task, one commit) once for many messages.

>>> box: Inbox[str] = Inbox(max_items=2, max_bytes=1_000)
>>> box.put("a", 1, lambda: True), box.put("b", 1, lambda: True)
(True, True)
>>> box.put("c", 1, lambda: False)  # full, and the producer gives up waiting
False
>>> box.drain(10, 1_000, timeout_s=0)
['a', 'b']
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

# How often a blocked producer re-checks whether it should keep waiting, in seconds.
POLL_S = 0.1


class Inbox(Generic[T]):
    """Bounded in items and bytes; one item is always accepted into an empty inbox, whatever its size."""

    def __init__(self, max_items: int, max_bytes: int) -> None:
        if max_items < 1 or max_bytes < 1:
            raise ValueError("an inbox holds at least one item and one byte")
        self._items: deque[tuple[int, T]] = deque()
        self._bytes = 0
        self._max_items = max_items
        self._max_bytes = max_bytes
        self._cond = threading.Condition()
        self._consumer_waiting = False

    def put(self, item: T, size: int, keep_waiting: Callable[[], bool]) -> bool:
        """Append, waiting while full; False (item not taken) once ``keep_waiting()`` turns false."""
        with self._cond:
            while self._items and (
                len(self._items) >= self._max_items or self._bytes + size > self._max_bytes
            ):
                if not keep_waiting():
                    return False
                self._cond.wait(POLL_S)
            self._items.append((size, item))
            self._bytes += size
            if self._consumer_waiting:
                self._cond.notify_all()
            return True

    def drain(self, max_items: int, max_bytes: int, timeout_s: float) -> list[T]:
        """Up to ``max_items`` / ``max_bytes`` (at least one item if any), waiting up to ``timeout_s``."""
        with self._cond:
            if not self._items and timeout_s > 0:
                self._consumer_waiting = True
                try:
                    self._cond.wait(timeout_s)
                finally:
                    self._consumer_waiting = False
            taken: list[T] = []
            size = 0
            while self._items and len(taken) < max_items:
                nxt = self._items[0][0]
                if taken and size + nxt > max_bytes:
                    break
                taken.append(self._items.popleft()[1])
                size += nxt
            if taken:
                self._bytes -= size
                self._cond.notify_all()  # producers may be waiting for room
            return taken

    def wake(self) -> None:
        """Wake every waiting thread so that it re-checks its condition."""
        with self._cond:
            self._cond.notify_all()

    @property
    def full(self) -> bool:
        return len(self._items) >= self._max_items or self._bytes >= self._max_bytes

    @property
    def half_empty(self) -> bool:
        return len(self._items) < self._max_items // 2 and self._bytes < self._max_bytes // 2

    def __len__(self) -> int:
        return len(self._items)
