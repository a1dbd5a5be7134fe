"""``UserRepository``: every SQL statement about users, sessions, setup tokens, logins and device keys.

One connection guarded by a lock: the callers are FastAPI's worker threads, and these statements are
short. Writes run in ``BEGIN IMMEDIATE`` transactions so read-then-write steps cannot interleave.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cadence.auth.roles import Role
from cadence.auth.schema import open_users_db
from cadence.errors import DeviceKeyConflict, UserConflict


@dataclass(frozen=True, slots=True)
class User:
    """A person's account, without its password hash."""

    id: int
    name: str
    role: Role
    locale: str | None
    created_us: int
    failed_logins: int
    locked_until_us: int | None
    disabled: bool


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A stored session: the token's hash, its owner and its times."""

    token_sha256: bytes
    user_id: int
    created_us: int
    last_seen_us: int
    csrf_token: str


@dataclass(frozen=True, slots=True)
class DeviceKey:
    """A device's key as stored, without its hash: a name and its times (``revoked_us`` None if valid)."""

    id: int
    name: str
    created_us: int
    last_used_us: int | None
    revoked_us: int | None


_DEVICE_KEY_COLUMNS = "id, name, created_us, last_used_us, revoked_us"


def _device_key(row: tuple[object, ...]) -> DeviceKey:
    kid, name, created, used, revoked = row
    return DeviceKey(
        id=int(str(kid)),
        name=str(name),
        created_us=int(str(created)),
        last_used_us=None if used is None else int(str(used)),
        revoked_us=None if revoked is None else int(str(revoked)),
    )


_USER_COLUMNS = "id, name, role, locale, created_us, failed_logins, locked_until_us, disabled"


def _user(row: tuple[object, ...]) -> User:
    uid, name, role, locale, created, failed, locked, disabled = row
    return User(
        id=int(str(uid)),
        name=str(name),
        role=Role(str(role)),
        locale=None if locale is None else str(locale),
        created_us=int(str(created)),
        failed_logins=int(str(failed)),
        locked_until_us=None if locked is None else int(str(locked)),
        disabled=bool(disabled),
    )


class UserRepository:
    """Users and sessions in their own SQLite file (see :mod:`cadence.auth.schema`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = open_users_db(str(path))
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # --- users ---------------------------------------------------------------------------------------

    def count_admins(self) -> int:
        """Enabled administrators."""
        with self._lock:
            row = self._conn.execute(
                "SELECT count(*) FROM users WHERE role = ? AND disabled = 0", (Role.ADMIN.value,)
            ).fetchone()
        return int(row[0])

    def _insert_user(
        self,
        conn: sqlite3.Connection,
        *,
        name: str,
        role: Role,
        password_hash: str,
        locale: str | None,
        now: int,
    ) -> User:
        try:
            cur = conn.execute(
                "INSERT INTO users (name, role, password_hash, locale, created_us) VALUES (?, ?, ?, ?, ?)",
                (name, role.value, password_hash, locale, now),
            )
        except sqlite3.IntegrityError as err:
            raise UserConflict(f"a user named {name!r} already exists", name=name) from err
        return User(int(cur.lastrowid or 0), name, role, locale, now, 0, None, False)

    def insert_user(self, name: str, role: Role, password_hash: str, locale: str | None, now_us: int) -> User:
        """Create a user; :class:`UserConflict` if the name exists in any letter case."""
        with self._tx() as conn:
            return self._insert_user(
                conn, name=name, role=role, password_hash=password_hash, locale=locale, now=now_us
            )

    def set_locale(self, user_id: int, locale: str | None) -> None:
        """Remember the user's language (None: the plant's default)."""
        with self._tx() as conn:
            conn.execute("UPDATE users SET locale = ? WHERE id = ?", (locale, user_id))

    def user_by_name(self, name: str) -> tuple[User, str] | None:
        """The user and its password hash, matching the name in any letter case."""
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else (_user(row[:-1]), str(row[-1]))

    def user_by_id(self, user_id: int) -> tuple[User, str] | None:
        """The user and its password hash."""
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE id = ?", (user_id,)
            ).fetchone()
        return None if row is None else (_user(row[:-1]), str(row[-1]))

    def set_password_hash(self, user_id: int, password_hash: str, *, keep_session: bytes | None) -> None:
        """Store a new hash and end the user's sessions (all, or all but ``keep_session``) atomically."""
        with self._tx() as conn:
            conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
            self._delete_sessions(conn, user_id, keep_session)

    def rehash(self, user_id: int, old_hash: str, new_hash: str) -> None:
        """Upgrade a hash to the current parameters, unless the password changed meanwhile."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?",
                (new_hash, user_id, old_hash),
            )

    def set_disabled(self, user_id: int, disabled: bool) -> None:
        """Disable (ending every session at once) or re-enable a user."""
        with self._tx() as conn:
            conn.execute("UPDATE users SET disabled = ? WHERE id = ?", (int(disabled), user_id))
            if disabled:
                self._delete_sessions(conn, user_id, None)

    # --- setup tokens ----------------------------------------------------------------------------------

    def replace_setup_token(self, token_sha256: bytes, now_us: int, expires_us: int) -> bool:
        """Store a new setup token, dropping unused ones; False (and nothing stored) if an admin exists."""
        with self._tx() as conn:
            admins = conn.execute(
                "SELECT count(*) FROM users WHERE role = ? AND disabled = 0", (Role.ADMIN.value,)
            ).fetchone()[0]
            if admins:
                return False
            conn.execute("DELETE FROM setup_tokens WHERE used_us IS NULL")
            conn.execute(
                "INSERT INTO setup_tokens (token_sha256, created_us, expires_us) VALUES (?, ?, ?)",
                (token_sha256, now_us, expires_us),
            )
            return True

    def open_setup_tokens(self, now_us: int) -> list[bytes]:
        """Hashes of the setup tokens still usable at ``now_us``."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT token_sha256 FROM setup_tokens WHERE used_us IS NULL AND expires_us > ?", (now_us,)
            ).fetchall()
        return [bytes(r[0]) for r in rows]

    def create_admin_with_token(
        self, token_sha256: bytes, name: str, password_hash: str, locale: str | None, now_us: int
    ) -> User | None:
        """Consume the token and create the first admin in one transaction; None if either is refused."""
        with self._tx() as conn:
            usable = conn.execute(
                "SELECT count(*) FROM setup_tokens "
                "WHERE token_sha256 = ? AND used_us IS NULL AND expires_us > ?",
                (token_sha256, now_us),
            ).fetchone()[0]
            admins = conn.execute(
                "SELECT count(*) FROM users WHERE role = ? AND disabled = 0", (Role.ADMIN.value,)
            ).fetchone()[0]
            if usable != 1 or admins:
                return None
            conn.execute("UPDATE setup_tokens SET used_us = ? WHERE token_sha256 = ?", (now_us, token_sha256))
            return self._insert_user(
                conn, name=name, role=Role.ADMIN, password_hash=password_hash, locale=locale, now=now_us
            )

    # --- sessions --------------------------------------------------------------------------------------

    def insert_session(
        self, token_sha256: bytes, user_id: int, csrf_token: str, address: str | None, now_us: int
    ) -> None:
        """Store a new session of ``user_id``."""
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO sessions (token_sha256, user_id, created_us, last_seen_us, csrf_token, address) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (token_sha256, user_id, now_us, now_us, csrf_token, address),
            )

    def session(self, token_sha256: bytes) -> tuple[SessionRow, User] | None:
        """The session with this token hash and its user."""
        with self._lock:
            row = self._conn.execute(
                "SELECT s.token_sha256, s.user_id, s.created_us, s.last_seen_us, s.csrf_token, "
                f"{', '.join('u.' + c.strip() for c in _USER_COLUMNS.split(','))} "
                "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_sha256 = ?",
                (token_sha256,),
            ).fetchone()
        if row is None:
            return None
        session = SessionRow(bytes(row[0]), int(row[1]), int(row[2]), int(row[3]), str(row[4]))
        return session, _user(row[5:])

    def touch_session(self, token_sha256: bytes, now_us: int) -> None:
        """Record use of a session (for the idle timeout)."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE sessions SET last_seen_us = ? WHERE token_sha256 = ?", (now_us, token_sha256)
            )

    def delete_session(self, token_sha256: bytes) -> None:
        """End one session."""
        with self._tx() as conn:
            conn.execute("DELETE FROM sessions WHERE token_sha256 = ?", (token_sha256,))

    def delete_sessions_of(self, user_id: int) -> None:
        """End every session of a user."""
        with self._tx() as conn:
            self._delete_sessions(conn, user_id, None)

    @staticmethod
    def _delete_sessions(conn: sqlite3.Connection, user_id: int, keep: bytes | None) -> None:
        if keep is None:
            conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
        else:
            conn.execute("DELETE FROM sessions WHERE user_id = ? AND token_sha256 != ?", (user_id, keep))

    def count_sessions(self, user_id: int) -> int:
        """Open sessions of a user (expired ones included until purged)."""
        with self._lock:
            return int(
                self._conn.execute("SELECT count(*) FROM sessions WHERE user_id = ?", (user_id,)).fetchone()[
                    0
                ]
            )

    def purge_sessions(self, idle_before_us: int, created_before_us: int) -> int:
        """Delete sessions idle since ``idle_before_us`` or created before ``created_before_us``."""
        with self._tx() as conn:
            return conn.execute(
                "DELETE FROM sessions WHERE last_seen_us < ? OR created_us < ?",
                (idle_before_us, created_before_us),
            ).rowcount

    # --- login attempts ----------------------------------------------------------------------------------

    def locked_until(self, scope: str, key: str, now_us: int) -> int | None:
        """End of the lock on this name or address, if it is locked at ``now_us``."""
        with self._lock:
            row = self._conn.execute(
                "SELECT locked_until_us FROM login_locks WHERE scope = ? AND key = ? AND locked_until_us > ?",
                (scope, key, now_us),
            ).fetchone()
        return None if row is None else int(row[0])

    def record_failure(
        self, scope: str, key: str, *, now_us: int, window_start_us: int, threshold: int, lock_until_us: int
    ) -> bool:
        """Count a failed login; lock the key when the window holds ``threshold`` failures. True if locked.

        Locking clears the key's failures, so the count starts afresh once the lock ends.
        """
        with self._tx() as conn:
            conn.execute(
                "DELETE FROM login_attempts WHERE scope = ? AND key = ? AND ts_us < ?",
                (scope, key, window_start_us),
            )
            conn.execute(
                "INSERT INTO login_attempts (scope, key, ts_us) VALUES (?, ?, ?)", (scope, key, now_us)
            )
            failures = conn.execute(
                "SELECT count(*) FROM login_attempts WHERE scope = ? AND key = ?", (scope, key)
            ).fetchone()[0]
            if scope == "name":
                # The user's own counters, for the administrators' view.
                conn.execute("UPDATE users SET failed_logins = failed_logins + 1 WHERE name = ?", (key,))
            if failures < threshold:
                return False
            conn.execute("DELETE FROM login_attempts WHERE scope = ? AND key = ?", (scope, key))
            conn.execute(
                "INSERT INTO login_locks (scope, key, locked_until_us) VALUES (?, ?, ?) "
                "ON CONFLICT (scope, key) DO UPDATE SET locked_until_us = excluded.locked_until_us",
                (scope, key, lock_until_us),
            )
            if scope == "name":
                conn.execute("UPDATE users SET locked_until_us = ? WHERE name = ?", (lock_until_us, key))
            return True

    def clear_failures(self, scope: str, key: str) -> None:
        """Forget the failures and lock of a name or address (after a success, or an admin's unlock)."""
        with self._tx() as conn:
            conn.execute("DELETE FROM login_attempts WHERE scope = ? AND key = ?", (scope, key))
            conn.execute("DELETE FROM login_locks WHERE scope = ? AND key = ?", (scope, key))
            if scope == "name":
                conn.execute(
                    "UPDATE users SET failed_logins = 0, locked_until_us = NULL WHERE name = ?", (key,)
                )

    # --- device keys ---------------------------------------------------------------------------------------

    def insert_device_key(self, name: str, key_sha256: bytes, now_us: int) -> DeviceKey:
        """Store a new device key; :class:`DeviceKeyConflict` if the name exists in any letter case."""
        with self._tx() as conn:
            try:
                cur = conn.execute(
                    "INSERT INTO device_keys (name, key_sha256, created_us) VALUES (?, ?, ?)",
                    (name, key_sha256, now_us),
                )
            except sqlite3.IntegrityError as err:
                # A clash on the hash of 256 random bits does not happen; the name is what clashes.
                raise DeviceKeyConflict(f"a device key named {name!r} already exists", name=name) from err
        return DeviceKey(int(cur.lastrowid or 0), name, now_us, None, None)

    def device_keys(self) -> list[DeviceKey]:
        """Every device key, revoked ones included, in order of creation."""
        with self._lock:
            rows = self._conn.execute(f"SELECT {_DEVICE_KEY_COLUMNS} FROM device_keys ORDER BY id").fetchall()
        return [_device_key(r) for r in rows]

    def device_key_by_hash(self, key_sha256: bytes) -> DeviceKey | None:
        """The device key with this hash, revoked or not."""
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_DEVICE_KEY_COLUMNS} FROM device_keys WHERE key_sha256 = ?", (key_sha256,)
            ).fetchone()
        return None if row is None else _device_key(row)

    def revoke_device_key(self, name: str, now_us: int) -> DeviceKey | None:
        """Revoke the valid key of this name (any letter case); None if there is none."""
        with self._tx() as conn:
            # fetchall: the UPDATE must have run to its end before the COMMIT.
            rows = conn.execute(
                f"UPDATE device_keys SET revoked_us = ? WHERE name = ? AND revoked_us IS NULL "
                f"RETURNING {_DEVICE_KEY_COLUMNS}",
                (now_us, name),
            ).fetchall()
        return _device_key(rows[0]) if rows else None

    def touch_device_key(self, key_id: int, now_us: int) -> None:
        """Record use of a device key."""
        with self._tx() as conn:
            conn.execute("UPDATE device_keys SET last_used_us = ? WHERE id = ?", (now_us, key_id))
