"""Setup token, login and lockout, sessions and their timeouts, on a real users.db and a SimClock."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cadence.auth import (
    FLOOR,
    AuthPolicy,
    AuthService,
    HashParameters,
    Passwords,
    Role,
    UserRepository,
    open_auth,
)
from cadence.auth.service import LOGIN_FAILED_MESSAGE, SETUP_TOKEN_VALID_S, token_digest
from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.errors import (
    ConfigError,
    LoginFailed,
    SetupRefused,
    StoreError,
    UserConflict,
    WeakPassword,
)
from support.auth import PASSWORD, make_service

POLICY = AuthPolicy(
    session_idle_s=1800,
    session_absolute_s=12 * 3600,
    lockout_failures=5,
    lockout_address_failures=8,
    lockout_window_s=900,
    lockout_s=900,
)


@pytest.fixture
def clock() -> SimClock:
    return SimClock()


@pytest.fixture
def service(tmp_path: Path, clock: SimClock) -> Iterator[AuthService]:
    svc = make_service(tmp_path, clock, POLICY)
    yield svc
    svc.close()


def _dump(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


# --- setup token ---------------------------------------------------------------------------------------


def test_setup_token_creates_the_first_admin_once(service: AuthService, tmp_path: Path) -> None:
    token = service.first_start_setup_token()
    assert token is not None and len(token) >= 43  # 32 random bytes, base64url
    assert token.encode() not in _dump(tmp_path / "users.db")  # only its SHA-256 is stored
    assert token_digest(token) in _dump(tmp_path / "users.db")
    admin = service.create_admin_with_setup_token(token, "Anna", PASSWORD)
    assert admin.role is Role.ADMIN
    with pytest.raises(SetupRefused):  # single use
        service.create_admin_with_setup_token(token, "Bruno", PASSWORD)
    assert service.first_start_setup_token() is None  # refused once an admin exists


def test_setup_token_refused_when_wrong_or_expired(service: AuthService, clock: SimClock) -> None:
    token = service.first_start_setup_token()
    assert token is not None
    with pytest.raises(SetupRefused):
        service.create_admin_with_setup_token(token + "x", "Anna", PASSWORD)
    clock.sleep(SETUP_TOKEN_VALID_S)
    with pytest.raises(SetupRefused):
        service.create_admin_with_setup_token(token, "Anna", PASSWORD)
    assert service.repo.count_admins() == 0


def test_new_setup_token_replaces_the_previous_one(service: AuthService) -> None:
    first = service.first_start_setup_token()
    second = service.first_start_setup_token()
    assert first is not None and second is not None and first != second
    with pytest.raises(SetupRefused):
        service.create_admin_with_setup_token(first, "Anna", PASSWORD)
    service.create_admin_with_setup_token(second, "Anna", PASSWORD)


def test_setup_refuses_a_weak_password_without_consuming_the_token(service: AuthService) -> None:
    token = service.first_start_setup_token()
    assert token is not None
    with pytest.raises(WeakPassword):
        service.create_admin_with_setup_token(token, "Anna", "anna")
    service.create_admin_with_setup_token(token, "Anna", PASSWORD)


def test_setup_refused_if_an_admin_was_created_otherwise(service: AuthService) -> None:
    token = service.first_start_setup_token()
    assert token is not None
    service.create_user("Root", Role.ADMIN, PASSWORD)
    with pytest.raises(SetupRefused):
        service.create_admin_with_setup_token(token, "Anna", PASSWORD)


# --- users and login -----------------------------------------------------------------------------------


def test_names_are_unique_ignoring_case(service: AuthService) -> None:
    service.create_user("Anna", Role.OPERATOR, PASSWORD)
    with pytest.raises(UserConflict):
        service.create_user("anna", Role.MANAGER, PASSWORD)
    assert service.login("ANNA", PASSWORD, "10.0.0.1").user.name == "Anna"


def test_login_opens_a_session_and_stores_only_the_token_hash(service: AuthService, tmp_path: Path) -> None:
    service.create_user("Anna", Role.OPERATOR, PASSWORD)
    new = service.login("Anna", PASSWORD, "10.0.0.1")
    assert new.token.encode() not in _dump(tmp_path / "users.db")
    current = service.authenticate(new.token)
    assert current is not None and current.user.name == "Anna" and current.csrf_token == new.csrf_token
    assert service.authenticate(new.token + "x") is None
    assert service.login("Anna", PASSWORD, "10.0.0.1").token != new.token  # rotated at every login


def test_login_upgrades_an_old_hash(tmp_path: Path, clock: SimClock) -> None:
    repo = UserRepository(tmp_path / "users.db")
    AuthService(repo, Passwords(FLOOR), clock).create_user("Anna", Role.OPERATOR, PASSWORD)
    stronger = Passwords(HashParameters(time_cost=3, memory_kib=FLOOR.memory_kib, parallelism=1))
    service = AuthService(repo, stronger, clock)
    service.login("Anna", PASSWORD, None)
    found = repo.user_by_name("Anna")
    assert found is not None and "t=3" in found[1] and not stronger.needs_rehash(found[1])
    service.login("Anna", PASSWORD, None)  # the upgraded hash still verifies
    repo.close()


def _failure(service: AuthService, name: str, password: str, address: str | None) -> str:
    with pytest.raises(LoginFailed) as caught:
        service.login(name, password, address)
    return caught.value.message


def test_unknown_user_and_wrong_password_fail_alike(service: AuthService) -> None:
    service.create_user("Anna", Role.OPERATOR, PASSWORD)
    service.create_user("Carla", Role.OPERATOR, PASSWORD)
    service.disable_user(service.login("Carla", PASSWORD, None).user.id)
    messages = {
        _failure(service, "Anna", "wrong password!", "10.0.0.1"),
        _failure(service, "Nobody", PASSWORD, "10.0.0.2"),
        _failure(service, "Carla", PASSWORD, "10.0.0.3"),
    }
    assert messages == {LOGIN_FAILED_MESSAGE}


def test_unknown_user_costs_one_hash_like_a_known_one(service: AuthService) -> None:
    """Timing equalisation: the unknown-name path must run argon2 too (a missing hash takes ~0 ms)."""
    service.create_user("Anna", Role.OPERATOR, PASSWORD)

    def cost(name: str) -> float:
        start = time.perf_counter()
        for _ in range(3):
            with pytest.raises(LoginFailed):
                service.login(name, "wrong password!", None)
        return time.perf_counter() - start

    known, unknown = cost("Anna"), cost("Nobody")
    # One floor hash takes milliseconds; without the dummy hash the unknown path would take microseconds.
    assert unknown > known / 4


def test_lockout_after_n_failures_then_unlock_after_the_lockout(
    service: AuthService, clock: SimClock
) -> None:
    service.create_user("Anna", Role.OPERATOR, PASSWORD)
    for i in range(POLICY.lockout_failures):
        _failure(service, "Anna", "wrong password!", f"10.0.1.{i}")
    # Locked: even the right password fails, with the same message.
    assert _failure(service, "anna", PASSWORD, "10.0.2.1") == LOGIN_FAILED_MESSAGE
    clock.sleep(POLICY.lockout_s - 1)
    _failure(service, "Anna", PASSWORD, "10.0.2.1")
    clock.sleep(1)
    assert service.login("Anna", PASSWORD, "10.0.2.1").user.name == "Anna"


def test_failures_outside_the_window_do_not_lock(service: AuthService, clock: SimClock) -> None:
    service.create_user("Anna", Role.OPERATOR, PASSWORD)
    for _ in range(POLICY.lockout_failures - 1):
        _failure(service, "Anna", "wrong password!", None)
    clock.sleep(POLICY.lockout_window_s + 1)
    _failure(service, "Anna", "wrong password!", None)
    assert service.login("Anna", PASSWORD, None).user.name == "Anna"


def test_unknown_names_lock_like_known_ones(service: AuthService) -> None:
    for _ in range(POLICY.lockout_failures):
        _failure(service, "ghost", "wrong password!", None)
    service.create_user("Ghost", Role.OPERATOR, PASSWORD)
    _failure(service, "Ghost", PASSWORD, None)  # still locked


def test_admin_unlock_lifts_the_lock(service: AuthService) -> None:
    service.create_user("Anna", Role.OPERATOR, PASSWORD)
    for _ in range(POLICY.lockout_failures):
        _failure(service, "Anna", "wrong password!", None)
    found = service.repo.user_by_name("Anna")
    assert found is not None and found[0].failed_logins == POLICY.lockout_failures
    assert found[0].locked_until_us is not None
    service.unlock("Anna")
    service.login("Anna", PASSWORD, None)


def test_per_address_rate_limit(service: AuthService, clock: SimClock) -> None:
    service.create_user("Anna", Role.OPERATOR, PASSWORD)
    # Spread over many names so no name reaches its own threshold.
    for i in range(POLICY.lockout_address_failures):
        _failure(service, f"user{i}", "wrong password!", "10.9.9.9")
    _failure(service, "Anna", PASSWORD, "10.9.9.9")  # the address is locked, whoever tries
    assert service.login("Anna", PASSWORD, "10.9.9.10").user.name == "Anna"
    clock.sleep(POLICY.lockout_s)
    assert service.login("Anna", PASSWORD, "10.9.9.9").user.name == "Anna"


# --- sessions ------------------------------------------------------------------------------------------


def test_idle_timeout_and_activity_keeps_a_session(service: AuthService, clock: SimClock) -> None:
    service.create_user("Anna", Role.OPERATOR, PASSWORD)
    token = service.login("Anna", PASSWORD, None).token
    for _ in range(4):  # used every 20 minutes: stays valid past the 30-minute idle timeout
        clock.sleep(20 * 60)
        assert service.authenticate(token) is not None
    clock.sleep(POLICY.session_idle_s)
    assert service.authenticate(token) is None
    assert service.repo.count_sessions(service.repo.user_by_name("Anna")[0].id) == 0  # type: ignore[index]


def test_absolute_timeout_even_when_used(service: AuthService, clock: SimClock) -> None:
    service.create_user("Anna", Role.OPERATOR, PASSWORD)
    token = service.login("Anna", PASSWORD, None).token
    elapsed = 0.0
    while elapsed + 600 < POLICY.session_absolute_s:
        clock.sleep(600)
        elapsed += 600
        assert service.authenticate(token) is not None
    clock.sleep(POLICY.session_absolute_s - elapsed)
    assert service.authenticate(token) is None


def test_logout_revokes_only_that_session(service: AuthService) -> None:
    service.create_user("Anna", Role.OPERATOR, PASSWORD)
    first = service.login("Anna", PASSWORD, None).token
    second = service.login("Anna", PASSWORD, None).token
    current = service.authenticate(first)
    assert current is not None
    service.logout(current)
    assert service.authenticate(first) is None
    assert service.authenticate(second) is not None


def test_password_change_revokes_the_other_sessions(service: AuthService) -> None:
    service.create_user("Anna", Role.OPERATOR, PASSWORD)
    tablet = service.login("Anna", PASSWORD, None).token
    office = service.login("Anna", PASSWORD, None).token
    current = service.authenticate(office)
    assert current is not None
    with pytest.raises(LoginFailed):
        service.change_password(current, "not the password", "a brand new password")
    service.change_password(current, PASSWORD, "a brand new password")
    assert service.authenticate(tablet) is None
    assert service.authenticate(office) is not None
    _failure(service, "Anna", PASSWORD, None)
    service.login("Anna", "a brand new password", None)


def test_admin_reset_and_disable_revoke_every_session(service: AuthService) -> None:
    user = service.create_user("Anna", Role.OPERATOR, PASSWORD)
    token = service.login("Anna", PASSWORD, None).token
    service.reset_password(user.id, "reset by the admin")
    assert service.authenticate(token) is None
    token = service.login("Anna", "reset by the admin", None).token
    service.disable_user(user.id)
    assert service.authenticate(token) is None


def test_purge_deletes_expired_sessions(service: AuthService, clock: SimClock) -> None:
    user = service.create_user("Anna", Role.OPERATOR, PASSWORD)
    service.login("Anna", PASSWORD, None)
    assert service.purge_expired_sessions() == 0
    clock.sleep(POLICY.session_idle_s + 1)
    assert service.purge_expired_sessions() == 1
    assert service.repo.count_sessions(user.id) == 0


# --- the database file ---------------------------------------------------------------------------------


def test_database_is_wal_full_and_versioned(tmp_path: Path) -> None:
    repo = UserRepository(tmp_path / "users.db")
    repo.close()
    conn = sqlite3.connect(tmp_path / "users.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "1"
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema version 99"):
        UserRepository(tmp_path / "users.db")


def test_open_auth_uses_the_settings(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data",
        auth_argon2_time_cost=2,
        auth_argon2_memory_kib=19 * 1024,
        auth_lockout_s=60,
    )
    service = open_auth(settings, SimClock())
    try:
        assert settings.users_db_path == tmp_path / "data" / "users.db" and settings.users_db_path.exists()
        assert service.passwords.params == FLOOR
        assert service.policy.lockout_s == 60
    finally:
        service.close()


def test_settings_refuse_argon2_below_the_floor(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="auth_argon2_memory_kib"):
        load_settings(data_dir=tmp_path, auth_argon2_memory_kib=16 * 1024)
