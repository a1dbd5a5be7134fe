"""One error tree for everything Cadence raises on purpose.

Every class carries a stable ``code`` (documented in docs/reference/errors.md, checked by a test) and an
HTTP ``status`` used by the single JSON error envelope of the web layer. Foreign exceptions (paho,
sqlite3, msgspec…) are translated at the adapter that meets them, with ``raise … from err``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class CadenceError(Exception):
    """Base of every error Cadence raises on purpose."""

    code: ClassVar[str] = "cadence.error"
    status: ClassVar[int] = 500

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = context

    def as_dict(self) -> dict[str, Any]:
        """The JSON error envelope: ``{"ok": false, "code", "error", "status", ...context}``."""
        return {"ok": False, "code": self.code, "error": self.message, "status": self.status, **self.context}


# --- configuration -----------------------------------------------------------------------------------


class ConfigError(CadenceError):
    """A configuration file or setting is invalid; the message names file, key, value and what is allowed."""

    code, status = "config.invalid", 400


# --- ingest --------------------------------------------------------------------------------------------


class IngestError(CadenceError):
    """A message was refused by ingest. It is counted and kept in quarantine, never silently dropped."""

    code, status = "ingest.invalid", 400


class PayloadTooLarge(IngestError):
    """The payload exceeds the configured size or point cap."""

    code, status = "ingest.too_large", 413


class PayloadMalformed(IngestError):
    """The payload is not valid JSON of the documented, versioned schema."""

    code, status = "ingest.malformed", 400


class UnsupportedVersion(IngestError):
    """The payload declares a schema version this server does not speak."""

    code, status = "ingest.unsupported_version", 400


class UnknownMachine(IngestError):
    """The payload names a machine absent from the plant file."""

    code, status = "ingest.unknown_machine", 422


class UnknownSignal(IngestError):
    """The payload names a signal the machine does not declare."""

    code, status = "ingest.unknown_signal", 422


class InvalidValue(IngestError):
    """A value is out of range, non-finite, or inconsistent with the rest of the payload."""

    code, status = "ingest.invalid_value", 422


class TopicMismatch(IngestError):
    """The MQTT topic and the payload disagree on the machine."""

    code, status = "ingest.topic_mismatch", 422


class KeyConflict(IngestError):
    """The idempotency key was already used for a different payload."""

    code, status = "ingest.key_conflict", 409


class BrokerUnavailable(CadenceError):
    """The MQTT broker cannot be reached or stopped acknowledging; check that it runs and the host/port."""

    code, status = "broker.unavailable", 503


# --- store ---------------------------------------------------------------------------------------------


class StoreError(CadenceError):
    """The store could not complete an operation."""

    code, status = "store.error", 503


class StoreBacklogFull(StoreError):
    """The store writer's queue is full: the disk cannot keep up.

    Senders keep their data (the edge buffer and the HTTP client retry; MQTT publishers see back-pressure);
    check disk latency, free space and the commit interval.
    """

    code, status = "store.backlog_full", 503


class StoreClosed(StoreError):
    """The store was closed; no more writes are accepted."""

    code, status = "store.closed", 503


# --- installation ----------------------------------------------------------------------------------------


class CatalogMissing(CadenceError):
    """A compiled message catalog (.mo) is missing: build them with `make catalogs`."""

    code, status = "i18n.catalog_missing", 500


# --- API -----------------------------------------------------------------------------------------------


class NotFound(CadenceError):
    """The requested machine, signal or record does not exist."""

    code, status = "not_found", 404


class BadRequest(CadenceError):
    """A query parameter is invalid."""

    code, status = "bad_request", 400


class InvalidInput(CadenceError):
    """A well-formed request asks for something not allowed: an unknown reason code, a quantity of 0…"""

    code, status = "invalid_input", 422


class WorkOrderConflict(CadenceError):
    """The work order's status does not allow this step (closed and cancelled orders are final), or someone
    changed the order meanwhile: reload it and try again."""

    code, status = "workorder.conflict", 409


# --- authentication and authorisation -------------------------------------------------------------------


class AuthRequired(CadenceError):
    """No valid session: log in first (the session may have expired or been revoked)."""

    code, status = "auth.required", 401


class Forbidden(CadenceError):
    """The signed-in user's role does not grant the permission this request needs."""

    code, status = "auth.forbidden", 403


class CsrfRejected(CadenceError):
    """A state-changing request came without the session's CSRF token (header X-CSRF-Token or form field)."""

    code, status = "auth.csrf", 403


class LoginFailed(CadenceError):
    """Wrong user name or password, or too many recent failures; the message never says which."""

    code, status = "auth.login_failed", 401


class SetupRefused(CadenceError):
    """The setup token is wrong, expired or used, or an administrator already exists."""

    code, status = "auth.setup_refused", 403


class WeakPassword(CadenceError):
    """The password does not meet the policy (length, not the user name)."""

    code, status = "auth.weak_password", 422


class UserConflict(CadenceError):
    """A user with this name already exists (names are compared ignoring case)."""

    code, status = "auth.user_exists", 409


class DeviceKeyConflict(CadenceError):
    """A device key with this name already exists, valid or revoked (names are compared ignoring case)."""

    code, status = "auth.device_key_exists", 409


# --- offline SPC (cadence spc) -------------------------------------------------------------------------


class SpcInputError(CadenceError):
    """The data or options given to `cadence spc` cannot make a chart; the message says what and where."""

    code, status = "spc.input", 400


class SpcFileError(SpcInputError):
    """The data file is missing, unreadable, not text, or has no header line and data rows."""

    code, status = "spc.file", 400


class SpcColumnError(SpcInputError):
    """A column named by an option is not in the file's header; the message lists the columns found."""

    code, status = "spc.column", 400


class SpcValueError(SpcInputError):
    """A cell is not a valid number for its role (a count below 0, a size of 0…); the message gives the
    file, line and column."""

    code, status = "spc.value", 400


class SpcDataError(SpcInputError):
    """The values parse but cannot be charted: too few subgroups, a subgroup of one value, a flat baseline."""

    code, status = "spc.data", 422


class SpcOptionError(SpcInputError):
    """The options contradict each other or do not fit the chart (e.g. a size column for an I-MR chart)."""

    code, status = "spc.options", 400


# --- learning worker (cadence.services.learning, cadence.learning.worker) ------------------------------


class LearningError(CadenceError):
    """Model fitting in the learning worker process failed; the message says which job and why."""

    code, status = "learning.error", 500


class LearningWorkerUnavailable(LearningError):
    """The learning worker process could not be started, or died and could not be restarted."""

    code, status = "learning.worker_unavailable", 503


class LearningTimeout(LearningError):
    """The learning worker did not answer within the timeout; it was stopped and restarts on next use."""

    code, status = "learning.timeout", 504


class LearningUnknownJob(LearningError):
    """The learning worker has no job of this name; the message lists the jobs it knows."""

    code, status = "learning.unknown_job", 400


class LearningInvalidParams(LearningError):
    """The parameters of a learning job are missing, mistyped or inconsistent (e.g. X and y lengths)."""

    code, status = "learning.invalid_params", 422


class ModelInvalid(LearningError):
    """A fitted model's plain-numbers form is not of the expected format or its arrays do not agree."""

    code, status = "learning.model_invalid", 422


def all_error_classes() -> list[type[CadenceError]]:
    """Every class of the tree, for documentation and tests."""
    found: list[type[CadenceError]] = []
    pending: list[type[CadenceError]] = [CadenceError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.code)


def errors_reference() -> str:
    """docs/reference/errors.md, generated from the tree (a test keeps the file in sync)."""
    lines = [
        "# Error codes",
        "",
        "Every error Cadence reports on purpose has a stable code. JSON responses carry it in the envelope",
        '`{"ok": false, "code": …, "error": …, "status": …}`; quarantined messages carry it too. Generated',
        "from `cadence.errors`; a test keeps this file in sync.",
        "",
        "| code | HTTP status | meaning |",
        "|---|---|---|",
    ]
    for cls in all_error_classes():
        doc = (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        lines.append(f"| `{cls.code}` | {cls.status} | {doc} |")
    return "\n".join(lines) + "\n"
