"""Roles, named permissions and the one policy table that maps each permission to the roles granted it.

Routes never test roles; they ask for a permission (``cadence.auth.web.require``), and this table alone
decides. Deny by default: a permission absent from the table is granted to nobody.

>>> allowed(Role.OPERATOR, Permission.VIEW_PLANT)
True
>>> allowed(Role.OPERATOR, Permission.MANAGE_USERS)
False
>>> sorted(r.value for r in POLICY[Permission.MANAGE_USERS].roles)
['admin']
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a person does in the plant; one role per user."""

    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    MAINTENANCE = "maintenance"
    MANAGER = "manager"
    ADMIN = "admin"


class Permission(StrEnum):
    """Something a request may do; routes declare the one they need."""

    VIEW_PLANT = "view_plant"
    OWN_ACCOUNT = "own_account"
    ACKNOWLEDGE_ALARM = "acknowledge_alarm"
    RECORD_STOP_REASON = "record_stop_reason"
    DECLARE_SCRAP = "declare_scrap"
    MANAGE_ORDERS = "manage_orders"
    WRITE_LOGBOOK = "write_logbook"
    VIEW_REPORTS = "view_reports"
    VIEW_ROI = "view_roi"
    REGENERATE_REPORTS = "regenerate_reports"
    LOG_MAINTENANCE = "log_maintenance"
    VIEW_QUARANTINE = "view_quarantine"
    MANAGE_SPC = "manage_spc"
    MANAGE_WORK_ORDERS = "manage_work_orders"
    INGEST = "ingest"
    MANAGE_PLANT = "manage_plant"
    MANAGE_USERS = "manage_users"


@dataclass(frozen=True, slots=True)
class Rule:
    """The roles granted one permission, and what the permission covers (shown in the guide)."""

    roles: frozenset[Role]
    meaning: str


def _rule(meaning: str, *roles: Role) -> Rule:
    return Rule(frozenset(roles), meaning)


_EVERYONE = tuple(Role)

# The policy table (docs/guides/users-and-roles.md is generated from it; a test keeps them in sync).
POLICY: dict[Permission, Rule] = {
    Permission.VIEW_PLANT: _rule("See machines, signals, strokes, states and alarms.", *_EVERYONE),
    Permission.OWN_ACCOUNT: _rule("See one's own account, change one's password, log out.", *_EVERYONE),
    Permission.ACKNOWLEDGE_ALARM: _rule(
        "Acknowledge an alarm.", Role.OPERATOR, Role.SUPERVISOR, Role.MAINTENANCE, Role.ADMIN
    ),
    Permission.RECORD_STOP_REASON: _rule(
        "Give the reason of a machine stop.", Role.OPERATOR, Role.SUPERVISOR, Role.MAINTENANCE
    ),
    Permission.DECLARE_SCRAP: _rule(
        "Declare parts found bad outside the press (at inspection).", Role.OPERATOR, Role.SUPERVISOR
    ),
    Permission.MANAGE_ORDERS: _rule(
        "Start and end production orders on a machine.", Role.OPERATOR, Role.SUPERVISOR
    ),
    Permission.WRITE_LOGBOOK: _rule(
        "Write notes in the shift logbook.", Role.OPERATOR, Role.SUPERVISOR, Role.MAINTENANCE
    ),
    Permission.VIEW_REPORTS: _rule(
        "Read shift, OEE and scrap reports.", Role.SUPERVISOR, Role.MAINTENANCE, Role.MANAGER, Role.ADMIN
    ),
    Permission.VIEW_ROI: _rule(
        "Compare two periods (ROI view): yield, OEE, scrap, energy and downtime, with their PDF.",
        Role.SUPERVISOR,
        Role.MANAGER,
    ),
    Permission.REGENERATE_REPORTS: _rule(
        "Make a past shift's report again (after late data or corrected stop reasons).",
        Role.SUPERVISOR,
        Role.MANAGER,
    ),
    Permission.LOG_MAINTENANCE: _rule("Record maintenance work on a machine.", Role.MAINTENANCE, Role.ADMIN),
    # Control limits decide which strokes raise an alarm: the shift lead (who answers for quality on the
    # floor) and maintenance (after a die change or a new seal the process has truly moved) set them again;
    # an operator re-basing the chart on a drifting press would hide the drift it is meant to show.
    Permission.MANAGE_SPC: _rule(
        "Establish the control limits of a press's SPC chart again, from a chosen baseline (kept with who, "
        "when and why).",
        Role.SUPERVISOR,
        Role.MAINTENANCE,
    ),
    # Work orders are maintenance's own tool; the shift lead opens them and hands them out too. Closing one
    # labels an episode the failure models learn from, so operators (and managers) read them only.
    Permission.MANAGE_WORK_ORDERS: _rule(
        "Open, assign, start, close and cancel maintenance work orders (closing one says what was found and "
        "replaced, which the health models learn from).",
        Role.SUPERVISOR,
        Role.MAINTENANCE,
    ),
    Permission.VIEW_QUARANTINE: _rule(
        "Read refused ingest messages (they may hold raw device data).", Role.MAINTENANCE, Role.ADMIN
    ),
    Permission.INGEST: _rule(
        "Send machine data over HTTP as a person (devices use their own keys).", Role.ADMIN
    ),
    Permission.MANAGE_PLANT: _rule("Change the plant description and settings.", Role.ADMIN),
    Permission.MANAGE_USERS: _rule("Create, disable and unlock users; reset passwords.", Role.ADMIN),
}


def allowed(role: Role, permission: Permission) -> bool:
    """Whether ``role`` is granted ``permission`` (False for a permission missing from the table)."""
    rule = POLICY.get(permission)
    return rule is not None and role in rule.roles


def policy_markdown() -> str:
    """The policy table as Markdown, one row per permission and one column per role."""
    roles = list(Role)
    lines = [
        "| permission | " + " | ".join(r.value for r in roles) + " | meaning |",
        "|---|" + "---|" * len(roles) + "---|",
    ]
    for permission, rule in POLICY.items():
        marks = " | ".join("✓" if r in rule.roles else "·" for r in roles)
        lines.append(f"| `{permission.value}` | {marks} | {rule.meaning} |")
    return "\n".join(lines) + "\n"
