"""FastAPI pieces: the session and permission dependencies, CSRF, the auth routes and the route audit.

Wiring into an app is :func:`install_auth`; a route then declares what it needs with
``user: Annotated[User, require(Permission.VIEW_PLANT)]`` (or ``dependencies=[require(...)]``), and a
route open to anonymous callers says so with ``dependencies=[PUBLIC]``. The ingest endpoint declares
``require_ingest()``, which also accepts a device key. :func:`route_permissions` lists
every route with what it declared, so a test can fail on a route that declares nothing.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.routing import BaseRoute

from cadence.auth.headers import SecurityHeadersMiddleware
from cadence.auth.passwords import MAX_PASSWORD_CHARS
from cadence.auth.repository import DeviceKey, User
from cadence.auth.roles import Permission, allowed
from cadence.auth.service import MAX_NAME_CHARS, AuthService, CurrentSession, NewSession
from cadence.errors import AuthRequired, CsrfRejected, Forbidden

SESSION_COOKIE = "cadence_session"
# Browsers accept a __Host- cookie only if Secure, host-only and Path=/: no sub-domain can plant one.
SECURE_SESSION_COOKIE = "__Host-cadence_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
# Methods that change nothing (RFC 9110 safe methods); every other method must carry the CSRF token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_URLENCODED = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
# A form of the pages has a handful of fields; more is not a page of ours.
_MAX_FORM_FIELDS = 200


@dataclass(frozen=True, slots=True)
class AuthState:
    """What the dependencies need, kept on ``app.state.cadence_auth``."""

    service: AuthService
    cookie_secure: bool

    @property
    def cookie_name(self) -> str:
        return SECURE_SESSION_COOKIE if self.cookie_secure else SESSION_COOKIE


def install_auth(app: FastAPI, service: AuthService, *, cookie_secure: bool) -> None:
    """Give ``app`` sessions, the security headers and the /api/v1/auth routes.

    Call it in the app factory before the app starts (middleware cannot be added later).
    """
    state = AuthState(service, cookie_secure)
    app.state.cadence_auth = state
    app.add_middleware(SecurityHeadersMiddleware, session_cookie=state.cookie_name, hsts=cookie_secure)
    app.include_router(auth_router())


def get_auth(request: Request) -> AuthState:
    state: AuthState = request.app.state.cadence_auth
    return state


def current_session(request: Request) -> CurrentSession:
    """The caller's valid session, or :class:`AuthRequired`."""
    auth = get_auth(request)
    token = request.cookies.get(auth.cookie_name)
    session = None if not token else auth.service.authenticate(token)
    if session is None:
        raise AuthRequired("log in first: no valid session")
    return session


async def submitted_csrf_token(request: Request) -> str | None:
    """The CSRF token the request carries: the header, or the form field of a submitted form."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.method in SAFE_METHODS:
        return None
    content_type = request.headers.get("content-type", "")
    if content_type.startswith((_URLENCODED, _MULTIPART)):
        # request.form() parses the body once and caches the result: whichever of this check and the route's
        # own Form parameters reads it first, the other gets the same fields. (Reading request.body() here
        # fails once FastAPI has consumed the stream for those parameters.)
        try:
            form = await request.form(max_fields=_MAX_FORM_FIELDS)
        except (MultiPartException, HTTPException):  # malformed or too many fields: not one of our forms
            return None
        value = form.get(CSRF_FORM_FIELD)
        return value if isinstance(value, str) else None
    return None


def check_csrf(request: Request, session: CurrentSession, submitted: str | None) -> None:
    """:class:`CsrfRejected` unless the method is safe or ``submitted`` is the session's token."""
    if request.method in SAFE_METHODS:
        return
    if submitted is None or not hmac.compare_digest(submitted.encode(), session.csrf_token.encode()):
        raise CsrfRejected(f"missing or wrong CSRF token: send the {CSRF_HEADER} header")


class _Requirement:
    """The dependency behind :func:`require_session`: session, then permission, then CSRF.

    A class rather than a closure so that :func:`route_permissions` can recognise it and read the
    permission a route declared (and because FastAPI cannot resolve a closure's local annotations).
    """

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def check(self, request: Request, session: CurrentSession, submitted: str | None) -> None:
        if not allowed(session.user.role, self.permission):
            raise Forbidden(
                f"the role {session.user.role.value} may not {self.permission.value}",
                permission=self.permission.value,
            )
        check_csrf(request, session, submitted)

    def __call__(
        self,
        request: Request,
        session: Annotated[CurrentSession, Depends(current_session)],
        submitted: Annotated[str | None, Depends(submitted_csrf_token)],
    ) -> CurrentSession:
        self.check(request, session, submitted)
        return session


class _UserRequirement(_Requirement):
    """The dependency behind :func:`require`: the same checks, answering with the user."""

    def __call__(  # type: ignore[override]  # same checks, the user rather than the session
        self,
        request: Request,
        session: Annotated[CurrentSession, Depends(current_session)],
        submitted: Annotated[str | None, Depends(submitted_csrf_token)],
    ) -> User:
        self.check(request, session, submitted)
        return session.user


def require_session(permission: Permission) -> Any:
    """Dependency: the caller's :class:`CurrentSession` if its role has ``permission``.

    Raises :class:`AuthRequired` (401) without a valid session, :class:`Forbidden` (403) when the role
    lacks the permission, :class:`CsrfRejected` (403) on a state-changing request without the CSRF token.
    """
    return Depends(_Requirement(permission))


def require(permission: Permission) -> Any:
    """Dependency: the caller's :class:`User` if its role has ``permission`` (see :func:`require_session`)."""
    return Depends(_UserRequirement(permission))


# The scheme of the Authorization header carrying a device key (RFC 6750 form, compared ignoring case).
BEARER = "bearer"
_SEND_A_DEVICE_KEY = (
    "send a device key in the header 'Authorization: Bearer <key>' "
    "(an administrator creates one with: cadence device-key add NAME)"
)


class _IngestRequirement(_Requirement):
    """The dependency behind :func:`require_ingest`: a device key, or a session allowed to ingest.

    A subclass of :class:`_Requirement` so that :func:`route_permissions` reports ``ingest`` for it.
    """

    def __init__(self) -> None:
        super().__init__(Permission.INGEST)

    def __call__(self, request: Request) -> DeviceKey | CurrentSession:  # type: ignore[override]
        auth = get_auth(request)
        header = request.headers.get("authorization")
        if header is not None:
            # A request that names a key is judged by that key alone, never by a cookie it may also carry:
            # no cookie is involved, so no CSRF token is either.
            scheme, _, key = header.partition(" ")
            device = auth.service.authenticate_device(key.strip()) if scheme.lower() == BEARER else None
            if device is None:
                raise AuthRequired(f"invalid or revoked device key: {_SEND_A_DEVICE_KEY}")
            return device
        token = request.cookies.get(auth.cookie_name)
        session = None if not token else auth.service.authenticate(token)
        if session is None:
            raise AuthRequired(f"no device key and no valid session: {_SEND_A_DEVICE_KEY}")
        # The header only, never a form field: the ingest body is JSON, and reading it here to look for a
        # field would bypass the endpoint's size cap on the body.
        self.check(request, session, request.headers.get(CSRF_HEADER))
        return session


def require_ingest() -> Any:
    """Dependency of the ingest endpoint: the caller's :class:`DeviceKey` or :class:`CurrentSession`.

    Accepts ``Authorization: Bearer <device key>`` (a valid, unrevoked key; no CSRF token), or else a
    session whose role has ``Permission.INGEST`` with its CSRF token in the ``X-CSRF-Token`` header.
    Raises :class:`AuthRequired` (401) without either or with a bad key, :class:`Forbidden` (403) when the
    session's role may not ingest, :class:`CsrfRejected` (403) for a session without its CSRF token.
    """
    return Depends(_IngestRequirement())


def _public() -> None:
    """Marks a route as open to anonymous callers, on purpose."""


PUBLIC: Any = Depends(_public)


@dataclass(frozen=True, slots=True)
class RouteAccess:
    """One route and what it declared: a permission, public, or nothing (an error to be fixed)."""

    path: str
    methods: frozenset[str]
    permission: Permission | None
    public: bool


def _declared(dependant: Dependant) -> tuple[Permission | None, bool]:
    pending = [dependant]
    permission, public = None, False
    while pending:
        dep = pending.pop()
        if isinstance(dep.call, _Requirement):
            permission = dep.call.permission
        elif dep.call is _public:
            public = True
        pending.extend(dep.dependencies)
    return permission, public


def _flatten(routes: Iterable[BaseRoute]) -> Iterator[tuple[str, frozenset[str], Dependant | None]]:
    """(path, methods, dependant) of every route, included routers expanded."""
    for route in routes:
        # Recent FastAPI keeps an included router as one lazy entry that expands to its effective
        # routes (full path, router-level dependencies merged); older versions copied the routes.
        expand = getattr(route, "effective_route_contexts", None)
        if callable(expand):
            for ctx in expand():
                dependant = getattr(ctx, "dependant", None) or getattr(ctx.original_route, "dependant", None)
                yield str(ctx.path), frozenset(ctx.methods or ()), dependant
        else:
            methods = frozenset(getattr(route, "methods", None) or ())
            dependant = route.dependant if isinstance(route, APIRoute) else None
            yield str(getattr(route, "path", "")), methods, dependant


def route_permissions(app: FastAPI) -> list[RouteAccess]:
    """Every route of ``app`` with the permission it declares (non-API routes declare nothing)."""
    found = []
    for path, methods, dependant in _flatten(app.routes):
        permission, public = (None, False) if dependant is None else _declared(dependant)
        found.append(RouteAccess(path, methods, permission, public))
    return found


# --- the routes --------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_Strict):
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_CHARS)


class SetupIn(_Strict):
    token: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_CHARS)
    locale: str | None = Field(None, max_length=35)  # BCP 47 tags fit in 35 characters


class PasswordChangeIn(_Strict):
    current: str = Field(min_length=1, max_length=MAX_PASSWORD_CHARS)
    new: str = Field(min_length=1, max_length=MAX_PASSWORD_CHARS)


def user_json(user: User) -> dict[str, Any]:
    """What the API shows of a user (never the hash nor the lockout counters)."""
    return {"id": user.id, "name": user.name, "role": user.role.value, "locale": user.locale}


# The session of a caller acting on their own account (every role may).
OwnSession = Annotated[CurrentSession, require_session(Permission.OWN_ACCOUNT)]


def sign_in(request: Request, response: Response, name: str, password: str) -> NewSession:
    """Check the credentials (lockout included) and put the new session's cookie on ``response``.

    Shared by the JSON login and the login page, so both set exactly the same cookie.
    """
    auth = get_auth(request)
    # The direct peer only: X-Forwarded-For is set by the client unless a proxy is configured.
    address = request.client.host if request.client else None
    new = auth.service.login(name, password, address)
    response.set_cookie(
        auth.cookie_name,
        new.token,
        max_age=round(auth.service.policy.session_absolute_s),
        path="/",
        httponly=True,
        samesite="strict",
        secure=auth.cookie_secure,
    )
    return new


def sign_out(request: Request, response: Response, session: CurrentSession) -> None:
    """End ``session`` and clear its cookie on ``response``."""
    auth = get_auth(request)
    auth.service.logout(session)
    response.delete_cookie(
        auth.cookie_name, path="/", httponly=True, samesite="strict", secure=auth.cookie_secure
    )


def auth_router() -> APIRouter:
    """POST /api/v1/auth/setup, /login, /logout, /password and GET /api/v1/auth/me (JSON)."""
    router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

    @router.post("/setup", status_code=201, dependencies=[PUBLIC])
    def setup(body: SetupIn, request: Request) -> dict[str, Any]:
        """Create the first administrator with the one-time token the server printed at first start."""
        user = get_auth(request).service.create_admin_with_setup_token(
            body.token, body.name, body.password, body.locale
        )
        return {"ok": True, "user": user_json(user)}

    # Login CSRF is covered by SameSite=Strict and the JSON body (a cross-site form cannot send one).
    @router.post("/login", dependencies=[PUBLIC])
    def login(body: LoginIn, request: Request, response: Response) -> dict[str, Any]:
        """Open a session: sets the HttpOnly cookie, returns the CSRF token for state-changing requests."""
        new = sign_in(request, response, body.name, body.password)
        return {"ok": True, "user": user_json(new.user), "csrf_token": new.csrf_token}

    @router.post("/logout")
    def logout(session: OwnSession, request: Request, response: Response) -> dict[str, Any]:
        """End the current session and clear its cookie."""
        sign_out(request, response, session)
        return {"ok": True}

    @router.get("/me")
    def me(session: OwnSession) -> dict[str, Any]:
        """The signed-in user and the session's CSRF token (for pages loaded before the login answer)."""
        return {"ok": True, "user": user_json(session.user), "csrf_token": session.csrf_token}

    @router.post("/password")
    def change_password(body: PasswordChangeIn, session: OwnSession, request: Request) -> dict[str, Any]:
        """Change one's password; the user's other sessions end."""
        get_auth(request).service.change_password(session, body.current, body.new)
        return {"ok": True}

    return router
