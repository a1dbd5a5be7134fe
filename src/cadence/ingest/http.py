"""HTTP batch ingest: ``POST /api/v1/ingest`` with one message or a JSON array of messages.

The response is the commit acknowledgement (docs/protocol.md): it is sent only after the store has
committed every valid message of the body, so a client may delete from its buffer whatever the response
lists as ``stored`` or ``duplicate`` (and ``rejected``: those are quarantined with their reason and must
not be re-sent). Anything else — no response, a connection error, a 5xx — means "send again with the same
keys": ingest is idempotent, a re-sent message comes back as ``duplicate``.

=====  ===========================================================================================
200    ``{"ok": true, "stored": n, "duplicate": n, "rejected": n, "results": [...]}``, one result per
       message in order: ``{"index", "source", "epoch", "seq", "status": "stored"|"duplicate"}`` or
       ``{"index", "status": "rejected", "code", "error"}`` (with the key when it could be read)
400    the body is not JSON, or not a message object or array of them (quarantined)
413    the body exceeds ``ingest_max_payload_bytes`` (Content-Length or bytes actually read)
503    the store is saturated (``Retry-After``) or failed; nothing listed as failed is acknowledged
=====  ===========================================================================================

The ``Idempotency-Key`` request header (draft-ietf-httpapi-idempotency-key-header) is accepted and
ignored: each message's own ``(source, epoch, seq)`` is what de-duplicates, at a finer grain.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from cadence.errors import CadenceError, IngestError, PayloadMalformed, PayloadTooLarge, StoreError
from cadence.ingest.pipeline import Inbound, IngestPipeline, MessageResult, Status

logger = logging.getLogger(__name__)

CHANNEL = "http"
# Longest wait for the store's commit before answering 503, in seconds. A healthy commit takes
# milliseconds; a disk stalled this long is better reported than hidden behind a hanging request.
COMMIT_TIMEOUT_S = 60.0
# Seconds a client is told to wait (Retry-After) when the store pushes back: about the time the writer
# needs to work off a full backlog of small groups.
RETRY_AFTER_S = 1
_RAW_ARRAY = msgspec.json.Decoder(list[msgspec.Raw])
_RAW_ANY = msgspec.json.Decoder(msgspec.Raw)


def ingest_router(
    pipeline: IngestPipeline,
    *,
    commit_timeout_s: float = COMMIT_TIMEOUT_S,
    retry_after_s: int = RETRY_AFTER_S,
) -> APIRouter:
    """The ``POST /api/v1/ingest`` route, feeding ``pipeline``."""
    router = APIRouter(tags=["ingest"])
    cap = pipeline.limits.max_bytes

    @router.post(
        "/api/v1/ingest",
        summary="Ingest one message or an array of messages; answered after the commit",
        responses={
            400: {"description": "not JSON, or not a message or array of messages"},
            413: {"description": "body too large"},
            503: {"description": "store saturated or failing: retry later with the same keys"},
        },
    )
    async def ingest(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            too_large = PayloadTooLarge(
                f"body of {declared} bytes exceeds the {cap}-byte limit: split it into several requests",
                size=int(declared),
                limit=cap,
            )
            await run_in_threadpool(pipeline.refuse, CHANNEL, b"", too_large, int(declared))
            return _error(too_large)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > cap:  # a lying or absent Content-Length: stop reading at the cap
                too_large = PayloadTooLarge(
                    f"body exceeds the {cap}-byte limit: split it into several requests", limit=cap
                )
                await run_in_threadpool(pipeline.refuse, CHANNEL, bytes(body), too_large)
                return _error(too_large)
        payload = bytes(body)

        try:
            messages = _split(payload)
        except IngestError as err:
            await run_in_threadpool(pipeline.refuse, CHANNEL, payload, err)
            return _error(err)

        prepared = await run_in_threadpool(pipeline.prepare, [Inbound(CHANNEL, m) for m in messages])
        try:
            future = pipeline.submit(prepared)
        except StoreError as err:  # backlog full or closed: nothing was written, nothing acknowledged
            pipeline.stats.count_store_busy()
            return _error(err, headers={"Retry-After": str(retry_after_s)})
        try:
            results = await asyncio.wait_for(asyncio.wrap_future(future), commit_timeout_s)
        except TimeoutError:
            logger.error("an ingest request waited more than %.0f s for its commit", commit_timeout_s)
            stalled = StoreError(
                f"the store did not commit within {commit_timeout_s:.0f} s: send the same messages later"
            )
            return _error(stalled, headers={"Retry-After": str(retry_after_s)})
        return _response(results, retry_after_s)

    return router


def _split(body: bytes) -> list[bytes]:
    """The messages of a body: the body itself for an object, each element's JSON for an array."""
    start = body.lstrip()[:1]
    if start == b"[":
        try:
            elements = _RAW_ARRAY.decode(body)
        except msgspec.DecodeError as err:
            raise PayloadMalformed(f"the body is not JSON: {err}") from None
        if not elements:
            raise PayloadMalformed("the body is an empty array: send at least one message")
        return [bytes(element) for element in elements]
    try:
        _RAW_ANY.decode(body)
    except msgspec.DecodeError as err:
        raise PayloadMalformed(f"the body is not JSON: {err}") from None
    if start != b"{":
        raise PayloadMalformed("the body must be a message object or a JSON array of message objects")
    return [body]


def _response(results: list[MessageResult], retry_after_s: int) -> JSONResponse:
    counts = {str(status): 0 for status in Status}
    for result in results:
        counts[str(result.status)] += 1
    body: dict[str, Any] = {
        "ok": not counts[Status.FAILED],
        "stored": counts[Status.STORED],
        "duplicate": counts[Status.DUPLICATE],
        "rejected": counts[Status.REJECTED],
        "results": [r.as_dict() for r in results],
    }
    if counts[Status.FAILED]:
        first = next(r for r in results if r.status is Status.FAILED)
        error = StoreError(
            f"{counts[Status.FAILED]} message(s) could not be committed ({first.error}): "
            "send them again with the same keys"
        )
        envelope = {**error.as_dict(), **body, "ok": False}
        return JSONResponse(envelope, status_code=error.status, headers={"Retry-After": str(retry_after_s)})
    return JSONResponse(body)


def _error(err: CadenceError, headers: dict[str, str] | None = None) -> JSONResponse:
    context = {k: v for k, v in err.context.items() if isinstance(v, str | int | float | bool | None)}
    envelope = {**context, "ok": False, "code": err.code, "error": err.message, "status": err.status}
    return JSONResponse(envelope, status_code=err.status, headers=headers)
