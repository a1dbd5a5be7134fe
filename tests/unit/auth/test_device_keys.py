"""Device keys: created once in clear, stored as a hash, authenticated, listed and revoked."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cadence.auth import AuthService, UserRepository
from cadence.auth.service import DEVICE_KEY_PREFIX, TOUCH_EVERY_S, token_digest
from cadence.clock import US_PER_S, SimClock
from cadence.errors import BadRequest, DeviceKeyConflict, NotFound
from support.auth import make_service


@pytest.fixture
def clock() -> SimClock:
    return SimClock()


@pytest.fixture
def service(tmp_path: Path, clock: SimClock) -> Iterator[AuthService]:
    svc = make_service(tmp_path, clock)
    yield svc
    svc.close()


def _dump(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_create_returns_the_key_once_and_stores_only_its_hash(service: AuthService, tmp_path: Path) -> None:
    key = service.create_device_key("line1-gateway")
    assert key.startswith(DEVICE_KEY_PREFIX)
    assert len(key) >= len(DEVICE_KEY_PREFIX) + 43  # 32 random bytes, base64url
    assert key != service.create_device_key("line2-gateway")
    dump = _dump(tmp_path / "users.db")
    assert key.encode() not in dump
    assert key.removeprefix(DEVICE_KEY_PREFIX).encode() not in dump
    assert token_digest(key) in dump


def test_a_key_authenticates_as_its_device(service: AuthService, clock: SimClock) -> None:
    key = service.create_device_key("line1-gateway")
    service.create_device_key("other")
    device = service.authenticate_device(key)
    assert device is not None and device.name == "line1-gateway" and device.revoked_us is None
    assert device.created_us == clock.now_us()


@pytest.mark.parametrize("mangle", [lambda k: k + "x", lambda k: k[:-1], lambda k: k.upper(), lambda k: ""])
def test_a_wrong_key_does_not_authenticate(service: AuthService, mangle: Callable[[str], str]) -> None:
    key = service.create_device_key("line1-gateway")
    assert service.authenticate_device(mangle(key)) is None


def test_names_are_unique_ignoring_case_and_checked(service: AuthService) -> None:
    service.create_device_key("Gateway 1")
    with pytest.raises(DeviceKeyConflict):
        service.create_device_key("  gateway 1 ")
    for bad in ("", "   ", "x" * 65, "tab\there"):
        with pytest.raises(BadRequest):
            service.create_device_key(bad)
    assert [k.name for k in service.list_device_keys()] == ["Gateway 1"]


def test_revoked_key_is_refused_and_its_name_stays_taken(service: AuthService, clock: SimClock) -> None:
    key = service.create_device_key("line1-gateway")
    other = service.create_device_key("line2-gateway")
    clock.sleep(5)
    revoked = service.revoke_device_key("LINE1-gateway")
    assert revoked.name == "line1-gateway" and revoked.revoked_us == clock.now_us()
    assert service.authenticate_device(key) is None
    assert service.authenticate_device(other) is not None  # only that key
    with pytest.raises(NotFound):  # already revoked
        service.revoke_device_key("line1-gateway")
    with pytest.raises(NotFound):
        service.revoke_device_key("no-such-device")
    with pytest.raises(DeviceKeyConflict):
        service.create_device_key("line1-gateway")


def test_list_shows_every_key_with_its_times(service: AuthService, clock: SimClock) -> None:
    first = service.create_device_key("a")
    created_a = clock.now_us()
    clock.sleep(1)
    service.create_device_key("b")
    service.authenticate_device(first)
    used_a = clock.now_us()
    service.revoke_device_key("b")
    keys = service.list_device_keys()
    assert [k.name for k in keys] == ["a", "b"]
    assert keys[0].created_us == created_a and keys[0].last_used_us == used_a and keys[0].revoked_us is None
    assert keys[1].last_used_us is None and keys[1].revoked_us == clock.now_us()


def test_last_use_is_written_at_most_every_touch_interval(service: AuthService, clock: SimClock) -> None:
    key = service.create_device_key("gw")
    service.authenticate_device(key)
    first_use = clock.now_us()
    clock.sleep(TOUCH_EVERY_S / 2)
    service.authenticate_device(key)
    assert service.list_device_keys()[0].last_used_us == first_use
    clock.sleep(TOUCH_EVERY_S / 2)
    service.authenticate_device(key)
    assert service.list_device_keys()[0].last_used_us == first_use + round(TOUCH_EVERY_S * US_PER_S)


def test_a_users_db_from_before_device_keys_gains_the_table(tmp_path: Path, clock: SimClock) -> None:
    path = tmp_path / "users.db"
    UserRepository(path).close()
    conn = sqlite3.connect(path)  # a development install's file, made before the table existed
    conn.execute("DROP TABLE device_keys")
    conn.commit()
    conn.close()
    service = make_service(tmp_path, clock)
    try:
        key = service.create_device_key("gw")
        assert service.authenticate_device(key) is not None
    finally:
        service.close()
