"""``AuthService``: first-start setup, users, login with lockout, sessions with their timeouts, device keys.

Tokens (session, setup and device keys) are ``secrets.token_urlsafe(32)`` (256 bits) and only their SHA-256 is
stored, so a leaked database cannot be replayed. A fast hash suffices for them, unlike for passwords:
they are random, not guessable.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import unicodedata
from dataclasses import dataclass

from cadence.auth.passwords import HashParameters, Passwords, check_password_policy
from cadence.auth.repository import DeviceKey, User, UserRepository
from cadence.auth.roles import Role
from cadence.clock import US_PER_S
from cadence.config import Settings
from cadence.errors import BadRequest, LoginFailed, NotFound, SetupRefused
from cadence.ports import Clock

logger = logging.getLogger(__name__)

# Random bytes of session, CSRF and setup tokens: 256 bits, far above ASVS's 128-bit floor.
TOKEN_BYTES = 32
# A setup token is printed on the server console at first start; a day leaves time to reach a browser.
SETUP_TOKEN_VALID_S = 24 * 3600.0
# A session's last use is written at most this often (s): enough for a 30-minute idle timeout, and a page
# that polls every second does not cost a write per poll.
TOUCH_EVERY_S = 30.0
# Longest user name accepted (characters); names are shown in tables and logs.
MAX_NAME_CHARS = 64
# Prefix of device keys: a key found in a log or a config file is recognisable as Cadence's, and can be
# told from a session token at a glance.
DEVICE_KEY_PREFIX = "cdk_"
# The one message of every failed login: it never tells an unknown name from a wrong password or a lock.
LOGIN_FAILED_MESSAGE = "wrong user name or password, or too many attempts: try again later"


def token_digest(token: str) -> bytes:
    """SHA-256 of a token, the only form in which tokens are stored."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def normalise_name(name: str) -> str:
    """The user name as stored: NFC, without surrounding spaces; :class:`BadRequest` if empty or long."""
    clean = unicodedata.normalize("NFC", name).strip()
    if not clean or len(clean) > MAX_NAME_CHARS or not clean.isprintable():
        raise BadRequest(f"a user name has 1 to {MAX_NAME_CHARS} printable characters")
    return clean


def normalise_device_name(name: str) -> str:
    """A device key's name as stored, under the same rules as user names (without the word "user")."""
    clean = unicodedata.normalize("NFC", name).strip()
    if not clean or len(clean) > MAX_NAME_CHARS or not clean.isprintable():
        raise BadRequest(f"a device key name has 1 to {MAX_NAME_CHARS} printable characters")
    return clean


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    """Timeouts and lockout thresholds, in seconds and counts."""

    session_idle_s: float = 30 * 60.0
    session_absolute_s: float = 12 * 3600.0
    lockout_failures: int = 5
    lockout_address_failures: int = 20
    lockout_window_s: float = 15 * 60.0
    lockout_s: float = 15 * 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthPolicy:
        return cls(
            session_idle_s=settings.auth_session_idle_s,
            session_absolute_s=settings.auth_session_absolute_s,
            lockout_failures=settings.auth_lockout_failures,
            lockout_address_failures=settings.auth_lockout_address_failures,
            lockout_window_s=settings.auth_lockout_window_s,
            lockout_s=settings.auth_lockout_s,
        )


@dataclass(frozen=True, slots=True)
class NewSession:
    """What a login returns: the clear token (for the cookie, never stored), the CSRF token, the user."""

    token: str
    csrf_token: str
    user: User


@dataclass(frozen=True, slots=True)
class CurrentSession:
    """A valid session found from its cookie."""

    token_sha256: bytes
    csrf_token: str
    user: User


class AuthService:
    """Users, logins and sessions over a :class:`UserRepository`, on an injected clock."""

    def __init__(
        self, repo: UserRepository, passwords: Passwords, clock: Clock, policy: AuthPolicy | None = None
    ) -> None:
        self.repo = repo
        self.passwords = passwords
        self.clock = clock
        self.policy = policy or AuthPolicy()

    def close(self) -> None:
        self.repo.close()

    def _us(self, seconds: float) -> int:
        return round(seconds * US_PER_S)

    # --- first start -------------------------------------------------------------------------------------

    def first_start_setup_token(self) -> str | None:
        """A new one-time setup token while no admin exists (the server prints it), else None.

        There is no default password (ASVS 6.3.2): the first admin is created with this token. Only its
        hash is stored, so each start without an admin issues a fresh one and the previous one stops
        working.
        """
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self.clock.now_us()
        if not self.repo.replace_setup_token(token_digest(token), now, now + self._us(SETUP_TOKEN_VALID_S)):
            return None
        logger.warning(
            "No administrator yet: a setup token was issued, valid %.0f h", SETUP_TOKEN_VALID_S / 3600
        )
        return token

    def create_admin_with_setup_token(
        self, token: str, name: str, password: str, locale: str | None = None
    ) -> User:
        """Consume the setup token and create the first admin; :class:`SetupRefused` if not allowed."""
        name = normalise_name(name)
        check_password_policy(password, name)
        now = self.clock.now_us()
        given = token_digest(token)
        # Compare digests in constant time against every open token, rather than trusting the index
        # lookup's early exit; there is at most one.
        match = next((h for h in self.repo.open_setup_tokens(now) if hmac.compare_digest(h, given)), None)
        if match is None:
            raise SetupRefused("the setup token is wrong, expired or already used")
        user = self.repo.create_admin_with_token(match, name, self.passwords.hash(password), locale, now)
        if user is None:
            raise SetupRefused("the setup token is wrong, expired or already used, or an admin exists")
        logger.warning("First administrator %r created with the setup token", user.name)
        return user

    # --- users -------------------------------------------------------------------------------------------

    def has_admin(self) -> bool:
        """Whether the first start is over (an administrator exists)."""
        return self.repo.count_admins() > 0

    def set_locale(self, user: User, locale: str | None) -> None:
        """The user's own choice of language, kept across tablets and sessions."""
        self.repo.set_locale(user.id, locale)

    def create_user(self, name: str, role: Role, password: str, locale: str | None = None) -> User:
        """Create a user (an admin's action; the route checks ``manage_users``)."""
        name = normalise_name(name)
        check_password_policy(password, name)
        user = self.repo.insert_user(name, role, self.passwords.hash(password), locale, self.clock.now_us())
        logger.info("User %r created with role %s", user.name, user.role.value)
        return user

    def change_password(self, session: CurrentSession, current: str, new: str) -> None:
        """Change one's own password; every other session of the user ends (ASVS 7.4.3)."""
        found = self.repo.user_by_id(session.user.id)
        if found is None or not self.passwords.verify(found[1], current):
            raise LoginFailed("the current password is wrong")
        check_password_policy(new, session.user.name)
        self.repo.set_password_hash(
            session.user.id, self.passwords.hash(new), keep_session=session.token_sha256
        )
        logger.info("User %r changed their password; their other sessions ended", session.user.name)

    def reset_password(self, user_id: int, new: str) -> None:
        """Set a user's password (an admin's action); every session of the user ends."""
        found = self.repo.user_by_id(user_id)
        if found is None:
            raise BadRequest(f"no user with id {user_id}")
        check_password_policy(new, found[0].name)
        self.repo.set_password_hash(user_id, self.passwords.hash(new), keep_session=None)

    def disable_user(self, user_id: int) -> None:
        """Disable a user; their sessions end at once (ASVS 7.4.2)."""
        self.repo.set_disabled(user_id, True)

    def unlock(self, name: str) -> None:
        """Lift the lockout of a user name (an admin's action)."""
        self.repo.clear_failures("name", normalise_name(name).casefold())

    # --- login -------------------------------------------------------------------------------------------

    def login(self, name: str, password: str, address: str | None) -> NewSession:
        """Check the password and open a session, or raise :class:`LoginFailed` with one fixed message.

        Exactly one argon2 verification runs whatever happens (a dummy one for an unknown, disabled or
        locked name, or a locked address), so neither the message nor the timing tells which case it was.
        """
        now = self.clock.now_us()
        key = name.strip().casefold()[: MAX_NAME_CHARS * 4]
        locked = self.repo.locked_until("name", key, now) is not None or (
            address is not None and self.repo.locked_until("address", address, now) is not None
        )
        found = None if locked else self.repo.user_by_name(name.strip())
        if found is None or found[0].disabled:
            self.passwords.burn(password)
            ok = False
        else:
            ok = self.passwords.verify(found[1], password)
        if not ok or found is None:
            if not locked:
                self._record_failure(key, address, now)
            logger.info("Failed login for %r from %s", key, address)
            raise LoginFailed(LOGIN_FAILED_MESSAGE)
        user, stored_hash = found
        if self.passwords.needs_rehash(stored_hash):
            self.repo.rehash(user.id, stored_hash, self.passwords.hash(password))
        self.repo.clear_failures("name", key)
        logger.info("User %r logged in from %s", user.name, address)
        return self.open_session(user, address)

    def _record_failure(self, key: str, address: str | None, now: int) -> None:
        window_start = now - self._us(self.policy.lockout_window_s)
        lock_until = now + self._us(self.policy.lockout_s)
        if self.repo.record_failure(
            "name",
            key,
            now_us=now,
            window_start_us=window_start,
            threshold=self.policy.lockout_failures,
            lock_until_us=lock_until,
        ):
            logger.warning("User name %r locked after repeated failed logins", key)
        if address is not None and self.repo.record_failure(
            "address",
            address,
            now_us=now,
            window_start_us=window_start,
            threshold=self.policy.lockout_address_failures,
            lock_until_us=lock_until,
        ):
            logger.warning("Address %s locked after repeated failed logins", address)

    # --- sessions ----------------------------------------------------------------------------------------

    def open_session(self, user: User, address: str | None) -> NewSession:
        """A new session for ``user`` (always a new token: sessions are rotated at login)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        csrf = secrets.token_urlsafe(TOKEN_BYTES)
        self.repo.insert_session(token_digest(token), user.id, csrf, address, self.clock.now_us())
        return NewSession(token=token, csrf_token=csrf, user=user)

    def authenticate(self, token: str) -> CurrentSession | None:
        """The session of a cookie's token, if valid now; expired or orphaned sessions are deleted."""
        digest = token_digest(token)
        found = self.repo.session(digest)
        if found is None:
            return None
        session, user = found
        now = self.clock.now_us()
        idle = now - session.last_seen_us >= self._us(self.policy.session_idle_s)
        too_old = now - session.created_us >= self._us(self.policy.session_absolute_s)
        if idle or too_old or user.disabled:
            self.repo.delete_session(digest)
            return None
        if now - session.last_seen_us >= self._us(TOUCH_EVERY_S):
            self.repo.touch_session(digest, now)
        return CurrentSession(token_sha256=digest, csrf_token=session.csrf_token, user=user)

    def logout(self, session: CurrentSession) -> None:
        """End this session."""
        self.repo.delete_session(session.token_sha256)
        logger.info("User %r logged out", session.user.name)

    def purge_expired_sessions(self) -> int:
        """Delete every expired session (run now and then; lookups already refuse them)."""
        now = self.clock.now_us()
        return self.repo.purge_sessions(
            now - self._us(self.policy.session_idle_s), now - self._us(self.policy.session_absolute_s)
        )

    # --- device keys -------------------------------------------------------------------------------------

    def create_device_key(self, name: str) -> str:
        """A new key for the device ``name``, returned in clear this once; only its SHA-256 is stored.

        :class:`DeviceKeyConflict` if the name is taken (by a valid or a revoked key).
        """
        name = normalise_device_name(name)
        key = DEVICE_KEY_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
        stored = self.repo.insert_device_key(name, token_digest(key), self.clock.now_us())
        logger.warning("Device key %r created", stored.name)
        return key

    def list_device_keys(self) -> list[DeviceKey]:
        """Every device key, revoked ones included, oldest first."""
        return self.repo.device_keys()

    def revoke_device_key(self, name: str) -> DeviceKey:
        """Revoke the valid key named ``name`` at once; :class:`NotFound` if there is none."""
        revoked = self.repo.revoke_device_key(normalise_device_name(name), self.clock.now_us())
        if revoked is None:
            raise NotFound(f"no valid device key named {name!r}", name=name)
        logger.warning("Device key %r revoked", revoked.name)
        return revoked

    def authenticate_device(self, key: str) -> DeviceKey | None:
        """The valid device key ``key`` is, or None (unknown and revoked keys alike).

        The lookup is by the key's SHA-256, so its timing depends on the hash, which a caller cannot
        steer towards a stored one: it tells nothing of how much of a guessed key is right.
        """
        digest = token_digest(key)
        found = self.repo.device_key_by_hash(digest)
        if found is None or found.revoked_us is not None:
            return None
        now = self.clock.now_us()
        if found.last_used_us is None or now - found.last_used_us >= self._us(TOUCH_EVERY_S):
            self.repo.touch_device_key(found.id, now)
        return found


def open_auth(settings: Settings, clock: Clock) -> AuthService:
    """The service of an installation: ``users.db`` in the data directory, hashing from the settings."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    params = HashParameters(
        time_cost=settings.auth_argon2_time_cost,
        memory_kib=settings.auth_argon2_memory_kib,
        parallelism=settings.auth_argon2_parallelism,
    )
    return AuthService(
        UserRepository(settings.users_db_path), Passwords(params), clock, AuthPolicy.from_settings(settings)
    )
