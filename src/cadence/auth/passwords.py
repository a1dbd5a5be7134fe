"""Password hashing (argon2id) and the password policy.

Defaults are argon2id t=3, m=64 MiB, p=1 (about 0.1–0.2 s on a small edge box); settings may lower them
to the OWASP/ASVS floor t=2, m=19 MiB, p=1 (about 22 ms), never below (the settings refuse it). Every
hash runs behind a semaphore: each one holds ``m`` of memory, so a burst of logins cannot exhaust RAM.
Parameters live in each hash; :meth:`Passwords.needs_rehash` tells the login to upgrade old ones.
"""

from __future__ import annotations

import os
import secrets
import threading
import unicodedata
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from cadence.errors import WeakPassword

# OWASP/ASVS 5.0 appendix C floor for argon2id with t=2 (KiB): refusing less here too, not only in the
# settings, keeps a hand-built Passwords from ever producing a weak hash.
FLOOR_TIME_COST = 2
FLOOR_MEMORY_KIB = 19 * 1024
# 12 characters: above ASVS's minimum of 8 and typeable on a tablet with gloves; length, not composition
# rules, is what makes a password hard to guess (ASVS 6.2.5 forbids composition rules).
MIN_PASSWORD_CHARS = 12
# Long enough for passphrases and managers (ASVS 6.2.9 wants at least 64), short enough that hashing a
# pasted megabyte cannot be used to burn CPU.
MAX_PASSWORD_CHARS = 256
# Concurrent hashes: at most the cores, at most 4, so memory stays bounded at 4 × m (256 MiB by default).
HASH_CONCURRENCY = max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True, slots=True)
class HashParameters:
    """argon2id cost: passes over memory, memory in KiB, lanes."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 1

    def __post_init__(self) -> None:
        if self.time_cost < FLOOR_TIME_COST or self.memory_kib < FLOOR_MEMORY_KIB or self.parallelism < 1:
            raise ValueError(
                f"argon2id parameters below the floor t={FLOOR_TIME_COST}, m={FLOOR_MEMORY_KIB} KiB, p=1: "
                f"{self}"
            )


# The floor itself: what tests use to stay fast while exercising real argon2id.
FLOOR = HashParameters(time_cost=FLOOR_TIME_COST, memory_kib=FLOOR_MEMORY_KIB, parallelism=1)


def check_password_policy(password: str, user_name: str) -> None:
    """Raise :class:`WeakPassword` unless the password is long enough and is not the user name.

    The user name is the first guess of anyone at the tablet, so it is refused in any letter case.
    """
    length = len(unicodedata.normalize("NFC", password))
    if length < MIN_PASSWORD_CHARS:
        raise WeakPassword(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    if length > MAX_PASSWORD_CHARS:
        raise WeakPassword(f"the password must have at most {MAX_PASSWORD_CHARS} characters")
    if password.strip().casefold() == user_name.strip().casefold():
        raise WeakPassword("the password must not be the user name")


class Passwords:
    """Hash and verify passwords with argon2id, a bounded number at a time."""

    def __init__(self, params: HashParameters | None = None) -> None:
        self.params = params or HashParameters()
        self._hasher = PasswordHasher(
            time_cost=self.params.time_cost,
            memory_cost=self.params.memory_kib,
            parallelism=self.params.parallelism,
            type=Type.ID,
        )
        self._slots = threading.BoundedSemaphore(HASH_CONCURRENCY)
        # Verified against when the user is unknown or locked, so that every login costs one hash and
        # its timing does not reveal which names exist.
        self._dummy_hash = self.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        """The encoded argon2id hash (parameters and salt included)."""
        with self._slots:
            return self._hasher.hash(unicodedata.normalize("NFC", password))

    def verify(self, encoded: str, password: str) -> bool:
        """True if ``password`` matches; False on mismatch or a corrupt hash, never an exception."""
        with self._slots:
            try:
                return self._hasher.verify(encoded, unicodedata.normalize("NFC", password))
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

    def burn(self, password: str) -> None:
        """Spend the time of one verification without a user (unknown name, locked name or address)."""
        self.verify(self._dummy_hash, password)

    def needs_rehash(self, encoded: str) -> bool:
        """True if ``encoded`` was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(encoded)
        except InvalidHashError:
            return True
