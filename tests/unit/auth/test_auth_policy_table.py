"""The policy table: complete, deny by default, and rendered in the guide exactly as in the code."""

from __future__ import annotations

from pathlib import Path

from cadence.auth.roles import POLICY, Permission, Role, allowed, policy_markdown

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "guides" / "users-and-roles.md"
START, END = "<!-- policy-table:start -->\n", "<!-- policy-table:end -->"


def test_every_permission_has_a_rule_and_admin_manages_users() -> None:
    assert set(POLICY) == set(Permission)
    assert allowed(Role.ADMIN, Permission.MANAGE_USERS)
    assert [r for r in Role if allowed(r, Permission.MANAGE_USERS)] == [Role.ADMIN]


def test_every_role_can_see_the_plant_and_its_own_account() -> None:
    for role in Role:
        assert allowed(role, Permission.VIEW_PLANT)
        assert allowed(role, Permission.OWN_ACCOUNT)


def test_guide_shows_the_policy_table_from_the_code() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    shown = text.split(START, 1)[1].split(END, 1)[0]
    assert shown == policy_markdown(), (
        "replace the block between the policy-table markers in docs/guides/users-and-roles.md "
        "with cadence.auth.roles.policy_markdown()"
    )
