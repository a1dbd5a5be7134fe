"""The auth package on a small FastAPI app of its own: routes, CSRF, headers, and the route × role matrix.

The app is built like the real one will be (the error envelope, ``install_auth``, routes declaring their
permission), with one probe route per permission and method; expected statuses come from the policy table.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import APIRouter, FastAPI, Form
from fastapi.testclient import TestClient

from cadence.auth import (
    POLICY,
    PUBLIC,
    AuthService,
    Permission,
    Role,
    allowed,
    install_auth,
    require,
    route_permissions,
)
from cadence.auth.headers import CONTENT_SECURITY_POLICY
from cadence.auth.web import CSRF_HEADER, SECURE_SESSION_COOKIE, SESSION_COOKIE
from cadence.clock import SimClock
from cadence.web.errors import install_error_handlers
from support.auth import PASSWORD, make_service

# Routes open to anonymous callers on purpose; any other route must declare a permission.
PUBLIC_ROUTES = {
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/setup"),
    ("GET", "/health"),
}
PROBE_METHODS = ("GET", "POST", "PUT", "DELETE")


def _probe() -> dict[str, bool]:
    return {"ok": True}


def build_app(service: AuthService, *, cookie_secure: bool = False) -> FastAPI:
    """A test app wired exactly as the lead will wire create_app, plus one probe per permission."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    install_error_handlers(app)
    install_auth(app, service, cookie_secure=cookie_secure)
    app.add_api_route("/health", _probe, methods=["GET"], dependencies=[PUBLIC])
    for permission in Permission:
        app.add_api_route(
            f"/probe/{permission.value}",
            _probe,
            methods=list(PROBE_METHODS),
            dependencies=[require(permission)],
        )
    # A route reading its own form fields: FastAPI parses them before the permission check looks for the
    # CSRF token in the same form.
    app.add_api_route(
        "/form-probe", _form_probe, methods=["POST"], dependencies=[require(Permission.WRITE_LOGBOOK)]
    )
    return app


def _form_probe(note: Annotated[str, Form()]) -> dict[str, str]:
    return {"note": note}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[AuthService]:
    svc = make_service(tmp_path, SimClock())
    yield svc
    svc.close()


@pytest.fixture
def client(service: AuthService) -> Iterator[TestClient]:
    with TestClient(build_app(service)) as c:
        yield c


def _session_headers(service: AuthService, role: Role | None) -> dict[str, str]:
    """Cookie and CSRF headers of a fresh session of a user with ``role`` (none for anonymous)."""
    if role is None:
        return {}
    name = f"user-{role.value}"
    found = service.repo.user_by_name(name)
    user = found[0] if found else service.create_user(name, role, PASSWORD)
    new = service.open_session(user, None)
    return {"Cookie": f"{SESSION_COOKIE}={new.token}", CSRF_HEADER: new.csrf_token}


def test_every_route_declares_a_permission_or_is_explicitly_public(service: AuthService) -> None:
    routes = route_permissions(build_app(service))
    assert routes
    for route in routes:
        for method in route.methods:
            if (method, route.path) in PUBLIC_ROUTES:
                assert route.public and route.permission is None, route
            else:
                assert route.permission is not None, f"{method} {route.path} declares no permission"
    declared_public = {(m, r.path) for r in routes if r.public for m in r.methods}
    assert declared_public == PUBLIC_ROUTES


def test_an_undeclared_route_is_reported(service: AuthService) -> None:
    app = build_app(service)
    app.add_api_route("/forgotten", _probe, methods=["GET"])
    guarded = APIRouter(prefix="/guarded", dependencies=[require(Permission.MANAGE_PLANT)])
    guarded.add_api_route("/thing", _probe, methods=["GET"])
    app.include_router(guarded)
    by_path = {r.path: r for r in route_permissions(app)}
    assert by_path["/forgotten"].permission is None and not by_path["/forgotten"].public
    # A permission given to a whole router reaches each of its routes.
    assert by_path["/guarded/thing"].permission is Permission.MANAGE_PLANT
    assert by_path["/api/v1/auth/me"].permission is Permission.OWN_ACCOUNT


def test_route_role_matrix_follows_the_policy_table(service: AuthService, client: TestClient) -> None:
    checked = 0
    for route in route_permissions(client.app):  # type: ignore[arg-type]
        if route.permission is None:
            continue
        for method in sorted(route.methods):
            for role in [None, *Role]:
                headers = _session_headers(service, role)
                response = client.request(method, route.path, headers=headers, json={})
                if role is None:
                    expected_code = "auth.required"
                elif not allowed(role, route.permission):
                    expected_code = "auth.forbidden"
                else:
                    expected_code = None
                where = f"{method} {route.path} as {role}"
                if expected_code is None:
                    if route.path.startswith("/probe/"):
                        assert response.status_code == 200, where
                    else:  # real routes may refuse the empty body, but never for lack of rights
                        assert response.status_code not in (401, 403), where
                else:
                    assert response.status_code == (401 if role is None else 403), where
                    assert response.json()["code"] == expected_code, where
                checked += 1
    # Every permission of the table was exercised with every method by every role and anonymous.
    assert checked >= len(POLICY) * len(PROBE_METHODS) * (len(Role) + 1)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_csrf_required_on_state_changing_requests(
    service: AuthService, client: TestClient, method: str
) -> None:
    headers = _session_headers(service, Role.OPERATOR)
    token = headers.pop(CSRF_HEADER)
    path = "/probe/acknowledge_alarm"
    missing = client.request(method, path, headers=headers)
    assert missing.status_code == 403 and missing.json()["code"] == "auth.csrf"
    wrong = client.request(method, path, headers={**headers, CSRF_HEADER: token[:-2] + "xx"})
    assert wrong.status_code == 403 and wrong.json()["code"] == "auth.csrf"
    assert client.request(method, path, headers={**headers, CSRF_HEADER: token}).status_code == 200


def test_csrf_accepted_as_a_form_field(service: AuthService, client: TestClient) -> None:
    headers = _session_headers(service, Role.OPERATOR)
    token = headers.pop(CSRF_HEADER)
    path = "/probe/acknowledge_alarm"
    assert client.post(path, headers=headers, data={"csrf_token": token, "note": "ok"}).status_code == 200
    assert client.post(path, headers=headers, data={"csrf_token": "nope"}).status_code == 403


def test_a_route_with_form_parameters_finds_the_csrf_token_in_its_form(
    service: AuthService, client: TestClient
) -> None:
    headers = _session_headers(service, Role.OPERATOR)
    token = headers.pop(CSRF_HEADER)
    ok = client.post("/form-probe", headers=headers, data={"csrf_token": token, "note": "pump noisy"})
    assert ok.status_code == 200 and ok.json() == {"note": "pump noisy"}
    multipart = client.post(
        "/form-probe", headers=headers, data={"csrf_token": token, "note": "x"}, files={"f": ("a.txt", b"a")}
    )
    assert multipart.status_code == 200
    refused = client.post("/form-probe", headers=headers, data={"csrf_token": "nope", "note": "x"})
    assert refused.status_code == 403 and refused.json()["code"] == "auth.csrf"


def test_safe_methods_need_no_csrf_token(service: AuthService, client: TestClient) -> None:
    headers = _session_headers(service, Role.OPERATOR)
    headers.pop(CSRF_HEADER)
    assert client.get("/probe/view_plant", headers=headers).status_code == 200


def test_security_headers_on_public_and_authenticated_responses(
    service: AuthService, client: TestClient
) -> None:
    public = client.get("/health")
    assert public.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in public.headers["content-security-policy"]
    assert public.headers["x-content-type-options"] == "nosniff"
    assert public.headers["referrer-policy"] == "no-referrer"
    assert "camera=()" in public.headers["permissions-policy"]
    assert "no-store" not in public.headers.get("cache-control", "")
    assert "strict-transport-security" not in public.headers
    private = client.get("/probe/view_plant", headers=_session_headers(service, Role.MANAGER))
    assert private.headers["cache-control"] == "no-store"
    assert private.headers["x-content-type-options"] == "nosniff"


def test_http_flow_setup_login_me_logout(service: AuthService, client: TestClient) -> None:
    token = service.first_start_setup_token()
    assert token is not None
    setup = {"token": token, "name": "Anna", "password": PASSWORD}
    assert client.post("/api/v1/auth/setup", json=setup).status_code == 201
    again = client.post("/api/v1/auth/setup", json={**setup, "name": "Bruno"})
    assert again.status_code == 403 and again.json()["code"] == "auth.setup_refused"

    login = client.post("/api/v1/auth/login", json={"name": "anna", "password": PASSWORD})
    assert login.status_code == 200
    cookie = login.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Secure" not in cookie
    assert login.headers["cache-control"] == "no-store"
    csrf = login.json()["csrf_token"]

    me = client.get("/api/v1/auth/me")  # the client's cookie jar carries the session
    assert me.status_code == 200 and me.json()["user"]["role"] == "admin" and me.json()["csrf_token"] == csrf
    assert client.post("/api/v1/auth/logout").json()["code"] == "auth.csrf"
    assert client.post("/api/v1/auth/logout", headers={CSRF_HEADER: csrf}).status_code == 200
    assert client.get("/api/v1/auth/me").status_code == 401


def test_http_login_failures_look_alike(service: AuthService, client: TestClient) -> None:
    service.create_user("Anna", Role.OPERATOR, PASSWORD)
    wrong = client.post("/api/v1/auth/login", json={"name": "Anna", "password": "wrong password!"})
    unknown = client.post("/api/v1/auth/login", json={"name": "Nobody", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "set-cookie" not in wrong.headers


def test_http_password_change_revokes_other_sessions(service: AuthService, client: TestClient) -> None:
    service.create_user("Anna", Role.OPERATOR, PASSWORD)
    tablet = service.login("Anna", PASSWORD, None).token
    other = {"Cookie": f"{SESSION_COOKIE}={tablet}"}
    login = client.post("/api/v1/auth/login", json={"name": "Anna", "password": PASSWORD}).json()
    change = client.post(
        "/api/v1/auth/password",
        json={"current": PASSWORD, "new": "another long password"},
        headers={CSRF_HEADER: login["csrf_token"]},
    )
    assert change.status_code == 200
    assert client.get("/api/v1/auth/me").status_code == 200  # this session stays
    with TestClient(client.app) as fresh:  # the tablet's session ended
        assert fresh.get("/api/v1/auth/me", headers=other).status_code == 401


def test_secure_deployment_cookie_and_hsts(service: AuthService) -> None:
    service.create_user("Anna", Role.OPERATOR, PASSWORD)
    with TestClient(build_app(service, cookie_secure=True), base_url="https://testserver") as c:
        login = c.post("/api/v1/auth/login", json={"name": "Anna", "password": PASSWORD})
        cookie = login.headers["set-cookie"]
        assert cookie.startswith(f"{SECURE_SESSION_COOKIE}=") and "Secure" in cookie and "HttpOnly" in cookie
        assert "Domain" not in cookie and "Path=/" in cookie
        assert login.headers["strict-transport-security"].startswith("max-age=31536000")
        assert c.get("/api/v1/auth/me").status_code == 200
