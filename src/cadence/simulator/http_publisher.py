"""Publishing to a Cadence server's HTTP batch endpoint, the way an edge agent does.

Messages are queued in memory (bounded: ``publish`` blocks when full), posted in groups to
``POST /api/v1/ingest`` as a JSON array, and dropped from the queue only once the server has answered
with its per-message results, i.e. after its commit. Connection errors and 5xx answers are retried with
the same messages (their keys make the retry harmless); messages the server rejects are logged and
dropped (they are in its quarantine and would be rejected again).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections import deque

logger = logging.getLogger(__name__)

GROUP_MAX_MESSAGES = 200  # one POST carries at most this many messages...
GROUP_MAX_BYTES = 4 * 1024 * 1024  # ...or bytes (the server's default cap is 8 MiB)
LINGER_S = 0.05  # wait this long for companions before posting a lone message
RETRY_MAX_S = 10.0  # back-off ceiling between failed posts
REQUEST_TIMEOUT_S = 60.0  # the server answers after its commit; a slow disk is not an error


class HttpPublisher:
    """``Publisher`` posting to ``url`` (the server's base URL or its ``/api/v1/ingest`` endpoint).

    ``key`` is a device key (``cadence device-key add NAME``), sent as ``Authorization: Bearer``; it
    replaces an Authorization header given in ``headers``.
    """

    def __init__(
        self,
        url: str,
        *,
        max_queued: int = 10_000,
        headers: dict[str, str] | None = None,
        key: str | None = None,
    ) -> None:
        base = url.rstrip("/")
        self.url = base if base.endswith("/api/v1/ingest") else f"{base}/api/v1/ingest"
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        if key is not None:
            # Header names are case-insensitive: drop any spelling of it, so the request carries one.
            self._headers = {k: v for k, v in self._headers.items() if k.lower() != "authorization"}
            self._headers["Authorization"] = f"Bearer {key}"
        self._queue: deque[bytes] = deque()
        self._max_queued = max_queued
        self._cond = threading.Condition()
        self._in_flight = 0
        self._closing = False
        self.posted = 0
        self.acknowledged = 0
        self.rejected = 0
        self.retries = 0
        self._thread = threading.Thread(target=self._run, name="cadence-http-publisher", daemon=True)
        self._thread.start()

    def publish(self, topic: str, payload: bytes) -> None:
        """Queue one message (the topic is not needed over HTTP: the payload names its machine)."""
        with self._cond:
            if self._closing:
                raise RuntimeError("publisher is closed")
            self._cond.wait_for(lambda: len(self._queue) < self._max_queued)
            self._queue.append(payload)
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued message is acknowledged (or rejected) by the server."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._in_flight, timeout)

    def close(self, timeout: float = 30.0) -> None:
        self.flush(timeout)
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _take(self) -> list[bytes]:
        with self._cond:
            self._cond.wait_for(lambda: self._queue or self._closing)
            if not self._queue:
                return []
            if len(self._queue) < GROUP_MAX_MESSAGES:
                self._cond.wait(LINGER_S)
            group: list[bytes] = []
            size = 0
            while self._queue and len(group) < GROUP_MAX_MESSAGES and size < GROUP_MAX_BYTES:
                size += len(self._queue[0])
                group.append(self._queue.popleft())
            self._in_flight = len(group)
            self._cond.notify_all()
            return group

    def _run(self) -> None:
        while True:
            group = self._take()
            if not group:
                return
            body = b"[" + b",".join(group) + b"]"
            delay = 0.1
            while not self._post(body, len(group)):
                self.retries += 1
                time.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
            with self._cond:
                self._in_flight = 0
                self._cond.notify_all()

    def _post(self, body: bytes, count: int) -> bool:
        request = urllib.request.Request(self.url, data=body, headers=self._headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:  # noqa: S310
                answer = json.loads(response.read())
        except urllib.error.HTTPError as err:
            if err.code >= 500 or err.code == 429:
                logger.warning("Server busy (%d); retrying %d messages", err.code, count)
                return False
            logger.error("Server refused a group of %d messages (%d): %s", count, err.code, err.read()[:300])
            with self._cond:
                self.rejected += count
            return True
        except (OSError, ValueError) as err:
            logger.warning("Cannot reach %s (%s); retrying %d messages", self.url, err, count)
            return False
        results = answer.get("results", [])
        rejected = [r for r in results if r.get("status") == "rejected"]
        for r in rejected[:5]:
            logger.error("Message rejected: [%s] %s", r.get("code"), r.get("error"))
        if any(r.get("status") == "failed" for r in results):
            return False  # the server could not commit some: resend the group, duplicates are harmless
        with self._cond:
            self.posted += count
            self.acknowledged += count - len(rejected)
            self.rejected += len(rejected)
        return True
