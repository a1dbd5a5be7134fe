"""Helpers for the auth tests: a real service on a temporary users.db, at the argon2id floor for speed."""

from __future__ import annotations

import contextlib
from pathlib import Path

from cadence.auth import FLOOR, AuthPolicy, AuthService, Passwords, UserRepository
from cadence.clock import SimClock

PASSWORD = "correct horse battery"  # noqa: S105 - a test fixture, not a credential


def make_service(tmp_path: Path, clock: SimClock, policy: AuthPolicy | None = None) -> AuthService:
    """An AuthService on ``tmp_path/users.db`` hashing with the OWASP floor (t=2, m=19 MiB, p=1)."""
    return AuthService(UserRepository(tmp_path / "users.db"), Passwords(FLOOR), clock, policy or AuthPolicy())


# Settings for an app under test: hashing at the OWASP floor keeps a login at ~20 ms instead of ~170 ms.
FAST_AUTH: dict[str, int] = {
    "auth_argon2_time_cost": 2,
    "auth_argon2_memory_kib": 19 * 1024,
    "auth_argon2_parallelism": 1,
}


def sign_in(client: object, service: AuthService, role: str = "admin", name: str | None = None) -> str:
    """Create a user of ``role`` in ``service`` (once), log ``client`` in through the real login route.

    ``client`` is a Starlette TestClient; its cookie jar then holds the session and its default headers
    the CSRF token, as a page would send it. Returns the CSRF token.
    """
    from cadence.auth import Role
    from cadence.errors import CadenceError

    user = name or f"test-{role}"
    with contextlib.suppress(CadenceError):  # created by an earlier call in the same test
        service.create_user(user, Role(role), PASSWORD)
    answer = client.post("/api/v1/auth/login", json={"name": user, "password": PASSWORD})  # type: ignore[attr-defined]
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token  # type: ignore[attr-defined]
    return token


def session_headers(
    service: AuthService, role: str = "supervisor", name: str | None = None
) -> dict[str, str]:
    """Headers of a signed-in browser (session cookie and CSRF token) for clients other than TestClient."""
    from cadence.auth import Role
    from cadence.auth.web import SESSION_COOKIE
    from cadence.errors import CadenceError

    user = name or f"test-{role}"
    with contextlib.suppress(CadenceError):
        service.create_user(user, Role(role), PASSWORD)
    new = service.login(user, PASSWORD, "127.0.0.1")
    return {"cookie": f"{SESSION_COOKIE}={new.token}", "X-CSRF-Token": new.csrf_token}
