"""Every route of the real app × every role (and anonymous), checked against the one policy table.

The expected answer is computed from ``cadence.auth.POLICY`` and what each route declares, never written
by hand: adding a route without a declared permission, or changing the table, changes this test's verdicts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.testclient import TestClient

from cadence.auth import Permission, Role, allowed, route_permissions
from cadence.auth.web import _public, _Requirement
from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.domain import Alarm, Severity
from cadence.runtime import Runtime, open_runtime
from cadence.web.app import create_app
from support.auth import FAST_AUTH, sign_in

START_US = 1_764_403_200_000_000
# Routes open to anyone on purpose: the list (login, health, static files) plus first start and
# the language switch, which the login page needs before anyone is signed in.
PUBLIC_PATHS = {"/health", "/login", "/setup", "/language", "/api/v1/auth/login", "/api/v1/auth/setup"}
STREAMS = {"/api/v1/live"}  # an endless stream: only its refusals are requested here
# Query parameters a route needs to run at all (without them FastAPI answers 422 before the handler).
QUERIES = {"/api/v1/kpis": "?from=-1d&by=day"}
# The ROI view and its PDF, with a scope and explicit periods (the default preset is tested elsewhere).
QUERIES |= {
    p: "?scope=line:L1&b_from=2025-11-01&b_to=2025-11-14&c_from=2025-11-15&c_to=2025-11-28"
    for p in ("/roi", "/roi.pdf")
}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    data_dir: Path = tmp_path_factory.mktemp("matrix")
    rt = open_runtime(load_settings(data_dir=data_dir, **FAST_AUTH), clock=SimClock(start_us=START_US))
    rt.store.record_alarm(Alarm("test.alarm", Severity.WARNING, "test", START_US, "test", "P01"))
    # An administrator exists, as in any installation past its first start.
    rt.auth.create_user("admin-0", Role.ADMIN, "a long enough password")
    yield rt
    rt.close()


def _requirements(dependant: Dependant | None) -> tuple[set[Permission], bool]:
    """Every permission a route requires (router and route level together), and whether it is public."""
    found: set[Permission] = set()
    public = False
    pending = [dependant] if dependant is not None else []
    while pending:
        dep = pending.pop()
        if isinstance(dep.call, _Requirement):
            found.add(dep.call.permission)
        elif dep.call is _public:
            public = True
        pending.extend(dep.dependencies)
    return found, public


def _routes(runtime: Runtime) -> list[tuple[str, str, set[Permission], bool]]:
    from cadence.auth.web import _flatten

    app = create_app(runtime.settings, runtime)
    out = []
    for path, methods, dependant in _flatten(app.routes):
        if path.startswith("/static"):
            continue
        permissions, public = _requirements(dependant)
        for method in sorted(methods - {"HEAD"}):
            out.append((method, path, permissions, public))
    # Logging out ends the session the rest of the matrix uses: last.
    return sorted(out, key=lambda route: "logout" in route[1])


def _concrete(path: str) -> str:
    values = {
        "machine_id": "P01",
        "signal": "oil_temp",
        "alarm_id": "1",
        "serial": "S-1",
        "material_lot": "HEAT-1",
        "lot": "L-1",
        "stop_start_us": "1700000000000000",
        "report_id": "1",  # an archived shift report (none in this runtime: 404 for the roles allowed)
        "feature": "peak_pressure_bar",  # a charted feature (no strokes here: an empty chart)
        "order_id": "1",  # a work order (none in this runtime: 404 for the roles allowed)
    }
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m.group(1)], path) + QUERIES.get(path, "")


def test_every_route_declares_who_may_use_it(runtime: Runtime) -> None:
    app = create_app(runtime.settings, runtime)
    undeclared = [r.path for r in route_permissions(app) if r.permission is None and not r.public]
    assert [p for p in undeclared if not p.startswith("/static")] == []
    for method, path, permissions, public in _routes(runtime):
        assert public == (path in PUBLIC_PATHS), f"{method} {path}: public={public}"
        assert public or permissions, f"{method} {path} declares nothing"


@pytest.mark.parametrize("role", [None, *Role])
def test_route_by_role_matrix(runtime: Runtime, role: Role | None) -> None:
    app = create_app(runtime.settings, runtime)
    with TestClient(app) as client:
        if role is not None:
            sign_in(client, runtime.auth, role.value)
        for method, path, permissions, public in _routes(runtime):
            may = public or (role is not None and all(allowed(role, p) for p in permissions))
            if path in STREAMS and may:
                continue
            if "logout" in path and role is not None:
                sign_in(client, runtime.auth, role.value)  # the other logout route ended the session
            answer = client.request(method, _concrete(path), follow_redirects=False)
            if public:
                assert answer.status_code not in (401, 403), (role, method, path, answer.text[:200])
            elif role is None:
                assert answer.status_code == 401, (method, path, answer.status_code)
                assert answer.json()["code"] == "auth.required"
            elif not may:
                assert answer.status_code == 403, (role, method, path, answer.status_code)
                assert answer.json()["code"] == "auth.forbidden"
            else:
                assert answer.status_code not in (401, 403), (role, method, path, answer.text[:200])


def test_state_changes_need_the_csrf_token(runtime: Runtime) -> None:
    with TestClient(create_app(runtime.settings, runtime)) as client:
        for method, path, permissions, public in _routes(runtime):
            if method == "POST" and not public:
                # Signed in with a role the route admits (not every POST is open to admin), minus the token.
                role = next(r for r in Role if all(allowed(r, p) for p in permissions))
                sign_in(client, runtime.auth, role.value)
                del client.headers["X-CSRF-Token"]
                answer = client.post(_concrete(path), follow_redirects=False)
                assert answer.status_code == 403, (path, answer.status_code)
                assert answer.json()["code"] == "auth.csrf"


def test_security_headers_on_pages_and_api(runtime: Runtime) -> None:
    with TestClient(create_app(runtime.settings, runtime)) as client:
        for path in ("/login", "/health"):
            headers = client.get(path).headers
            assert "script-src 'self'" in headers["content-security-policy"]
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "no-referrer"


# The operator's pages (issue 4): each write asks for its own permission, so a manager reads and changes
# nothing; listed here so that dropping a route or loosening what it needs shows in this test.
OPERATOR_PAGES = {
    ("GET", "/presses/{machine_id}/operator"): Permission.VIEW_PLANT,
    ("GET", "/presses/{machine_id}/operator/stops/{stop_start_us}"): Permission.RECORD_STOP_REASON,
    ("POST", "/presses/{machine_id}/operator/stops/{stop_start_us}"): Permission.RECORD_STOP_REASON,
    ("POST", "/presses/{machine_id}/operator/scrap"): Permission.DECLARE_SCRAP,
    ("POST", "/presses/{machine_id}/operator/order"): Permission.MANAGE_ORDERS,
    ("POST", "/presses/{machine_id}/operator/note"): Permission.WRITE_LOGBOOK,
    ("GET", "/presses/{machine_id}/annotations"): Permission.VIEW_PLANT,
    ("GET", "/logbook"): Permission.VIEW_PLANT,
    ("POST", "/logbook"): Permission.WRITE_LOGBOOK,
}


def test_the_operator_pages_declare_their_permissions(runtime: Runtime) -> None:
    declared = {(method, path): permissions for method, path, permissions, _public in _routes(runtime)}
    for route, permission in OPERATOR_PAGES.items():
        assert declared.get(route) == {permission}, route


def test_the_roi_view_is_for_supervisors_and_managers(runtime: Runtime) -> None:
    declared = {(method, path): permissions for method, path, permissions, _public in _routes(runtime)}
    for path in ("/roi", "/roi.pdf"):
        assert declared.get(("GET", path)) == {Permission.VIEW_ROI}, path
    assert {r for r in Role if allowed(r, Permission.VIEW_ROI)} == {Role.SUPERVISOR, Role.MANAGER}


# The KPI drill-down (issue 4): whoever sees the press page sees what its OEE was computed from.
KPI_DRILLDOWN = {
    ("GET", "/api/v1/machines/{machine_id}/kpi"): Permission.VIEW_PLANT,
    ("GET", "/presses/{machine_id}/kpi"): Permission.VIEW_PLANT,
}


def test_the_kpi_drilldown_needs_what_the_press_page_needs(runtime: Runtime) -> None:
    declared = {(method, path): permissions for method, path, permissions, _public in _routes(runtime)}
    assert declared[("GET", "/presses/{machine_id}")] == {Permission.VIEW_PLANT}
    for route, permission in KPI_DRILLDOWN.items():
        assert declared.get(route) == {permission}, route


# The traceability page and its CSV download (tests/integration/test_trace_pages.py): whoever may use the
# trace API may search on the tablet, and no one else.
TRACE_PAGES = {("GET", "/trace"), ("GET", "/trace.csv")}
QUERIES["/trace.csv"] = "?kind=heat&q=HEAT-1"  # the download needs its search to run at all


def test_the_trace_page_needs_what_the_trace_api_needs(runtime: Runtime) -> None:
    declared = {(method, path): permissions for method, path, permissions, _public in _routes(runtime)}
    api = declared[("GET", "/api/v1/trace/serial/{serial:path}")]
    assert api == {Permission.VIEW_PLANT}
    for route in TRACE_PAGES:
        assert declared.get(route) == api, route


# The SPC page and API (issue 5; tests/integration/test_spc_pages.py): whoever sees the press sees its
# control charts; establishing limits again needs manage_spc, never granted to operators (an operator
# re-basing the chart of a drifting press would hide the drift).
SPC_ROUTES = {
    ("GET", "/presses/{machine_id}/spc"): Permission.VIEW_PLANT,
    ("POST", "/presses/{machine_id}/spc/limits"): Permission.MANAGE_SPC,
    ("GET", "/api/v1/machines/{machine_id}/spc/{feature}"): Permission.VIEW_PLANT,
    ("POST", "/api/v1/machines/{machine_id}/spc/{feature}/limits"): Permission.MANAGE_SPC,
}


def test_the_spc_routes_declare_their_permissions(runtime: Runtime) -> None:
    declared = {(method, path): permissions for method, path, permissions, _public in _routes(runtime)}
    for route, permission in SPC_ROUTES.items():
        assert declared.get(route) == {permission}, route
    assert {r for r in Role if allowed(r, Permission.MANAGE_SPC)} == {Role.SUPERVISOR, Role.MAINTENANCE}
