"""Device keys end to end: the ingest dependency on a small app, the CLI, and the HTTP publisher."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, ClassVar

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cadence.auth import (
    AuthService,
    CurrentSession,
    DeviceKey,
    Permission,
    Role,
    install_auth,
    open_auth,
    require_ingest,
    route_permissions,
)
from cadence.auth.web import CSRF_HEADER, SESSION_COOKIE
from cadence.clock import SimClock, WallClock
from cadence.config import load_settings
from cadence.simulator.http_publisher import HttpPublisher
from cadence.web.errors import install_error_handlers
from support.auth import PASSWORD, make_service

INGEST = "/api/v1/ingest"


def build_app(service: AuthService) -> FastAPI:
    """The auth package wired as in the real app, and one POST route guarded like the ingest endpoint."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    install_error_handlers(app)
    install_auth(app, service, cookie_secure=False)

    def ingest(caller: Annotated[DeviceKey | CurrentSession, require_ingest()]) -> dict[str, str]:
        kind = "device" if isinstance(caller, DeviceKey) else "session"
        name = caller.name if isinstance(caller, DeviceKey) else caller.user.name
        return {"caller": kind, "name": name}

    app.add_api_route(INGEST, ingest, methods=["POST"])
    return app


@pytest.fixture
def service(tmp_path: Path) -> Iterator[AuthService]:
    svc = make_service(tmp_path, SimClock())
    yield svc
    svc.close()


@pytest.fixture
def client(service: AuthService) -> Iterator[TestClient]:
    with TestClient(build_app(service)) as c:
        yield c


def _session(service: AuthService, role: Role) -> tuple[dict[str, str], str]:
    """The cookie header of a fresh session of a new user with ``role``, and the session's CSRF token."""
    new = service.open_session(service.create_user(f"user-{role.value}", role, PASSWORD), None)
    return {"Cookie": f"{SESSION_COOKIE}={new.token}"}, new.csrf_token


def test_route_permissions_reports_ingest(service: AuthService) -> None:
    by_path = {r.path: r for r in route_permissions(build_app(service))}
    assert by_path[INGEST].permission is Permission.INGEST and not by_path[INGEST].public


def test_a_device_key_is_accepted_without_csrf(service: AuthService, client: TestClient) -> None:
    key = service.create_device_key("gw1")
    answer = client.post(INGEST, headers={"Authorization": f"Bearer {key}"}, json=[])
    assert answer.status_code == 200 and answer.json() == {"caller": "device", "name": "gw1"}
    # The scheme is case-insensitive (RFC 9110).
    assert client.post(INGEST, headers={"Authorization": f"bearer {key}"}, json=[]).status_code == 200


@pytest.mark.parametrize(
    "header",
    ["Bearer cdk_not-a-key", "Bearer ", "Basic dXNlcjpwYXNz", "{key}", "Token {key}"],
)
def test_a_bad_key_is_refused(service: AuthService, client: TestClient, header: str) -> None:
    key = service.create_device_key("gw1")
    answer = client.post(INGEST, headers={"Authorization": header.format(key=key)}, json=[])
    assert answer.status_code == 401 and answer.json()["code"] == "auth.required"
    assert "cadence device-key add" in answer.json()["error"]


def test_no_credentials_at_all_is_refused(client: TestClient) -> None:
    answer = client.post(INGEST, json=[])
    assert answer.status_code == 401 and answer.json()["code"] == "auth.required"
    assert "Authorization: Bearer" in answer.json()["error"]


def test_a_revoked_key_is_refused_at_once(service: AuthService, client: TestClient) -> None:
    key = service.create_device_key("gw1")
    headers = {"Authorization": f"Bearer {key}"}
    assert client.post(INGEST, headers=headers, json=[]).status_code == 200
    service.revoke_device_key("gw1")
    answer = client.post(INGEST, headers=headers, json=[])
    assert answer.status_code == 401 and answer.json()["code"] == "auth.required"


def test_an_invalid_key_is_not_rescued_by_a_valid_session(service: AuthService, client: TestClient) -> None:
    cookie, csrf = _session(service, Role.ADMIN)
    headers = {**cookie, CSRF_HEADER: csrf, "Authorization": "Bearer cdk_wrong"}
    assert client.post(INGEST, headers=headers, json=[]).status_code == 401


def test_an_admin_session_with_csrf_may_ingest(service: AuthService, client: TestClient) -> None:
    cookie, csrf = _session(service, Role.ADMIN)
    answer = client.post(INGEST, headers={**cookie, CSRF_HEADER: csrf}, json=[])
    assert answer.status_code == 200 and answer.json() == {"caller": "session", "name": "user-admin"}


def test_a_session_without_csrf_is_refused(service: AuthService, client: TestClient) -> None:
    cookie, csrf = _session(service, Role.ADMIN)
    missing = client.post(INGEST, headers=cookie, json=[])
    assert missing.status_code == 403 and missing.json()["code"] == "auth.csrf"
    # Only the header counts: the ingest body is never read for a form field.
    form = client.post(INGEST, headers=cookie, data={"csrf_token": csrf})
    assert form.status_code == 403 and form.json()["code"] == "auth.csrf"


def test_a_role_without_ingest_is_forbidden(service: AuthService, client: TestClient) -> None:
    cookie, csrf = _session(service, Role.OPERATOR)
    answer = client.post(INGEST, headers={**cookie, CSRF_HEADER: csrf}, json=[])
    assert answer.status_code == 403 and answer.json()["code"] == "auth.forbidden"


# --- the command -----------------------------------------------------------------------------------------


def _cadence(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADENCE_")}
    env["CADENCE_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "cadence", "device-key", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_adds_lists_and_revokes_a_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    added = _cadence(["add", "gw1"], data_dir)
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip()
    assert "\n" not in key and "Authorization: Bearer" in added.stderr

    auth_service = open_auth(load_settings(None, data_dir=data_dir), WallClock())
    try:
        device = auth_service.authenticate_device(key)
        assert device is not None and device.name == "gw1"
    finally:
        auth_service.close()

    again = _cadence(["add", "GW1"], data_dir)
    assert again.returncode == 2 and "already exists" in again.stderr
    listed = _cadence(["list"], data_dir)
    assert listed.returncode == 0 and "gw1" in listed.stdout and key not in listed.stdout
    assert _cadence(["revoke", "gw1"], data_dir).returncode == 0
    assert _cadence(["revoke", "gw1"], data_dir).returncode == 2


# --- the publisher ---------------------------------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    """Answers every POST as the ingest endpoint would for stored messages, keeping the headers seen."""

    seen: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append(dict(self.headers.items()))
        answer = json.dumps({"results": [{"status": "stored"} for _ in body]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads what it needs from ``seen``."""


@pytest.mark.parametrize(
    ("key", "headers", "expected"),
    [
        ("cdk_abc", None, "Bearer cdk_abc"),
        ("cdk_abc", {"authorization": "Bearer old", "X-Site": "a"}, "Bearer cdk_abc"),
        (None, {"Authorization": "Bearer given"}, "Bearer given"),
        (None, None, None),
    ],
)
def test_publisher_sends_the_device_key(
    key: str | None, headers: dict[str, str] | None, expected: str | None
) -> None:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        publisher = HttpPublisher(f"http://127.0.0.1:{server.server_address[1]}", headers=headers, key=key)
        publisher.publish("ignored", b'{"v": 1}')
        assert publisher.flush(10)
        publisher.close()
    finally:
        server.shutdown()
        server.server_close()
    assert len(_Recorder.seen) == 1
    sent = [v for k, v in _Recorder.seen[0].items() if k.lower() == "authorization"]
    assert sent == ([] if expected is None else [expected])
    if headers and "X-Site" in headers:
        assert _Recorder.seen[0]["X-Site"] == "a"
