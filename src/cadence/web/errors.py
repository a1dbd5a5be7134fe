"""One JSON error envelope for every error: ``{"ok": false, "code", "error", "status", ...context}``."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from cadence.errors import CadenceError

logger = logging.getLogger(__name__)


def envelope(code: str, message: str, status: int, **context: object) -> JSONResponse:
    body = {"ok": False, "code": code, "error": message, "status": status, **context}
    # RFC 9110: a 401 names how to authenticate (devices send a bearer key; people use the session cookie).
    headers = {"WWW-Authenticate": 'Bearer realm="cadence"'} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


async def _cadence_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, CadenceError):  # pragma: no cover - registered for CadenceError only
        return await _unexpected(request, exc)
    if exc.code == "auth.required" and _is_page_navigation(request):
        # A person opening a page: send them to the login form and back here afterwards.
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
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


def _is_page_navigation(request: Request) -> bool:
    """A browser loading a page (not the JSON API, not an htmx fragment request)."""
    return (
        request.method == "GET"
        and not request.url.path.startswith("/api/")
        and "text/html" in request.headers.get("accept", "")
        and "hx-request" not in request.headers
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CadenceError, _cadence_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
