"""Users, roles and sessions: who may do what, and proof of who is asking.

Wiring into an app takes two calls (``open_auth`` then ``install_auth``); routes declare a permission
with ``require``. One concept per module: :mod:`~cadence.auth.roles` (the policy table),
:mod:`~cadence.auth.passwords` (argon2id), :mod:`~cadence.auth.schema` and
:mod:`~cadence.auth.repository` (SQLite), :mod:`~cadence.auth.service` (setup, login, lockout,
sessions, device keys), :mod:`~cadence.auth.headers` (security headers), :mod:`~cadence.auth.web` (FastAPI).
"""

from cadence.auth.passwords import FLOOR, HashParameters, Passwords
from cadence.auth.repository import DeviceKey, User, UserRepository
from cadence.auth.roles import POLICY, Permission, Role, allowed
from cadence.auth.service import AuthPolicy, AuthService, CurrentSession, open_auth
from cadence.auth.web import (
    PUBLIC,
    install_auth,
    require,
    require_ingest,
    require_session,
    route_permissions,
)

__all__ = [
    "FLOOR",
    "POLICY",
    "PUBLIC",
    "AuthPolicy",
    "AuthService",
    "CurrentSession",
    "DeviceKey",
    "HashParameters",
    "Passwords",
    "Permission",
    "Role",
    "User",
    "UserRepository",
    "allowed",
    "install_auth",
    "open_auth",
    "require",
    "require_ingest",
    "require_session",
    "route_permissions",
]
