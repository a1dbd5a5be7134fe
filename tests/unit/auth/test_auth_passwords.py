"""argon2id hashing, rehash detection, the parameter floor and the password policy."""

from __future__ import annotations

import pytest

from cadence.auth.passwords import FLOOR, HashParameters, Passwords, check_password_policy
from cadence.errors import WeakPassword


@pytest.fixture(scope="module")
def floor() -> Passwords:
    return Passwords(FLOOR)


def test_hash_is_argon2id_with_the_parameters_and_verifies(floor: Passwords) -> None:
    encoded = floor.hash("a long enough secret")
    assert encoded.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in encoded
    assert "a long enough secret" not in encoded
    assert floor.verify(encoded, "a long enough secret")
    assert not floor.verify(encoded, "a long enough secreT")


def test_same_password_hashes_differently_each_time(floor: Passwords) -> None:
    assert floor.hash("same password here") != floor.hash("same password here")


def test_corrupt_hash_is_a_mismatch_not_an_exception(floor: Passwords) -> None:
    assert not floor.verify("not a hash", "whatever password")
    assert floor.needs_rehash("not a hash")


def test_needs_rehash_when_parameters_rise(floor: Passwords) -> None:
    stronger = Passwords(HashParameters(time_cost=3, memory_kib=FLOOR.memory_kib, parallelism=1))
    old = floor.hash("upgrade me please")
    assert stronger.needs_rehash(old)
    assert not stronger.needs_rehash(stronger.hash("upgrade me please"))
    assert stronger.verify(old, "upgrade me please")  # old hashes keep working until upgraded


@pytest.mark.parametrize(("time_cost", "memory_kib"), [(1, 64 * 1024), (2, 19 * 1024 - 1), (0, 19 * 1024)])
def test_parameters_below_the_owasp_floor_are_refused(time_cost: int, memory_kib: int) -> None:
    with pytest.raises(ValueError, match="below the floor"):
        HashParameters(time_cost=time_cost, memory_kib=memory_kib)


def test_default_parameters_are_above_the_floor() -> None:
    default = HashParameters()
    assert default.time_cost >= FLOOR.time_cost
    assert default.memory_kib >= FLOOR.memory_kib


@pytest.mark.parametrize(
    ("password", "name"),
    [("short", "anna"), ("elevenchars", "anna"), ("Anna.Martin-01", "anna.martin-01"), ("x" * 257, "a")],
)
def test_policy_refuses(password: str, name: str) -> None:
    with pytest.raises(WeakPassword):
        check_password_policy(password, name)


def test_policy_accepts_twelve_characters_of_any_kind() -> None:
    check_password_policy("twelve chars", "anna")
    check_password_policy("ééééééééééééé", "anna")
