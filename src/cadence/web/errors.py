"""One JSON error envelope for every error: ``{"ok": false, "code", "error", "status", ...context}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cadence.errors import CadenceError

logger = logging.getLogger(__name__)


def envelope(code: str, message: str, status: int, **context: object) -> JSONResponse:
    body = {"ok": False, "code": code, "error": message, "status": status, **context}
    return JSONResponse(body, status_code=status)


async def _cadence_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, CadenceError):  # pragma: no cover - registered for CadenceError only
        return await _unexpected(request, exc)
    context = {k: v for k, v in exc.context.items() if isinstance(v, str | int | float | bool | None)}
    return envelope(exc.code, exc.message, exc.status, **context)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):  # pragma: no cover
        return await _unexpected(request, exc)
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()))
        problems.append(f"{where}: {err.get('msg')}")
    return envelope("bad_request", "; ".join(problems) or "invalid request", 400)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):  # pragma: no cover
        return await _unexpected(request, exc)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, f"http_{exc.status_code}")
    return envelope(code, str(exc.detail), exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("Unexpected error on %s %s", request.method, request.url.path)
    return envelope("internal", "internal error: see the server log", 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CadenceError, _cadence_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
