"""Every service action x every role: allowed or refused as REQUIRED_ROLE says, on SQLite
and PostgreSQL. An allowed action leaves exactly one audit event; a refused one changes
nothing at all (every table compared before and after)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from engine.context import Actor
from engine.errors import NotFound, PermissionDenied
from engine.models import AuditEvent, Base
from engine.services.base import ADMIN, REQUIRED_ROLE, WORKSPACE_ROLES, allows

ROLES = ("admin", *WORKSPACE_ROLES, "outsider")
WS = "team"
_seq = itertools.count()


@dataclass
class Case:
    """`prepare` runs as admin before the action and returns its argument; not audited."""

    action: str
    call: Callable  # (services, actor, arg) -> None
    prepare: Callable | None = None  # (services, admin, uniq) -> arg


def _platform_conn(svc, admin, uniq):
    svc.connections.create(admin, f"pc_{uniq}", "duckdb", {})
    return f"pc_{uniq}"


def _ws_conn(svc, admin, uniq):
    svc.connections.create(admin, f"wc_{uniq}", "duckdb", {}, workspace=WS)
    return f"wc_{uniq}"


def _member(svc, admin, uniq):
    svc.users.create(admin, f"m_{uniq}")
    svc.workspaces.add_member(admin, WS, f"m_{uniq}", "viewer")
    return f"m_{uniq}"


def _user(svc, admin, uniq):
    svc.users.create(admin, f"u_{uniq}")
    return f"u_{uniq}"


def _archivable(svc, admin, uniq):
    """A fresh workspace with the same memberships as `team`."""
    name = f"a_{uniq}"
    svc.workspaces.create(admin, name)
    for member in svc.workspaces.members(admin, WS):
        if member.username != "admin":
            svc.workspaces.add_member(admin, name, member.username, member.role)
    return name


CASES = [
    Case("workspace.create", lambda s, a, u: s.workspaces.create(a, f"w_{u}"), lambda *x: x[2]),
    Case("workspace.show", lambda s, a, _: s.workspaces.get(a, WS)),
    Case(
        "workspace.update",
        lambda s, a, u: s.workspaces.update(a, WS, description=f"d{u}"),
        lambda *x: x[2],
    ),
    Case("workspace.archive", lambda s, a, name: s.workspaces.archive(a, name), _archivable),
    Case(
        "workspace.member.add",
        lambda s, a, user: s.workspaces.add_member(a, WS, user, "viewer"),
        _user,
    ),
    Case(
        "workspace.member.remove",
        lambda s, a, user: s.workspaces.remove_member(a, WS, user),
        _member,
    ),
    Case(
        "connection.create.platform",
        lambda s, a, u: s.connections.create(a, f"np_{u}", "duckdb", {}),
        lambda *x: x[2],
    ),
    Case(
        "connection.create.workspace",
        lambda s, a, u: s.connections.create(a, f"nw_{u}", "duckdb", {}, workspace=WS),
        lambda *x: x[2],
    ),
    Case(
        "connection.update.platform",
        lambda s, a, name: s.connections.update(a, name, {"threads": 2}),
        _platform_conn,
    ),
    Case(
        "connection.update.workspace",
        lambda s, a, name: s.connections.update(a, name, {"threads": 2}),
        _ws_conn,
    ),
    Case(
        "connection.delete.platform",
        lambda s, a, name: s.connections.delete(a, name),
        _platform_conn,
    ),
    Case("connection.delete.workspace", lambda s, a, name: s.connections.delete(a, name), _ws_conn),
    Case("user.create", lambda s, a, u: s.users.create(a, f"n_{u}"), lambda *x: x[2]),
    Case("user.update", lambda s, a, user: s.users.update(a, user, display_name="X"), _user),
]

# Actions whose cases live with the feature that implements them (catalog, SQL, jobs, runs,
# provisioning); each of those modules runs the same matrix through `check_case`.
COVERED_ELSEWHERE = {
    "workspace.provision",
    "workspace.check",
    "workspace.check.all",
    "connection.test",
    "audit.read.workspace",
    "audit.read.all",
    "catalog.read",
    "sql.read",
    "sql.write",
    "job.show",
    "job.create",
    "job.edit",
    "job.pause",
    "job.run",
    "run.show",
    "run.cancel",
    "run.retry",
}


# Actions that change nothing and therefore write no audit event.
READ_ACTIONS = {
    "workspace.show",
    "workspace.check",
    "workspace.check.all",
    "connection.test",
    "audit.read.workspace",
    "audit.read.all",
    "catalog.read",
    "sql.read",
    "job.show",
    "run.show",
}


def test_every_action_has_a_case():
    assert {c.action for c in CASES} | COVERED_ELSEWHERE == set(REQUIRED_ROLE)


def snapshot(services) -> dict[str, list]:
    """Every row of every table, to prove a refused action changed nothing."""
    with services.db.session() as s:
        return {
            t.name: sorted(map(tuple, s.execute(select(t)).all()), key=repr)
            for t in Base.metadata.sorted_tables
        }


def audit_count(services) -> int:
    with services.db.session() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent))


def check_case(services, admin, actors: dict[str, Actor], case: Case) -> list[str]:
    """Run `case` as every role; return the mismatches (empty when all is as designed)."""
    problems = []
    required = REQUIRED_ROLE[case.action]
    for role in ROLES:
        uniq = next(_seq)
        arg = case.prepare(services, admin, uniq) if case.prepare else None
        actor = actors[role]
        expected = allows(
            ADMIN if role == "admin" else None if role == "outsider" else role, required
        )
        before = snapshot(services) if not expected else None
        count = audit_count(services)
        try:
            case.call(services, actor, arg)
            outcome = "allowed"
        except (PermissionDenied, NotFound):
            outcome = "refused"
        mutating = case.action not in READ_ACTIONS
        if outcome != ("allowed" if expected else "refused"):
            problems.append(f"{case.action} as {role}: {outcome}, expected the opposite")
        elif expected and mutating and audit_count(services) != count + 1:
            problems.append(f"{case.action} as {role}: {audit_count(services) - count} events")
        elif expected and not mutating and audit_count(services) != count:
            problems.append(f"{case.action} as {role}: a read wrote an audit event")
        elif not expected and snapshot(services) != before:
            problems.append(f"{case.action} as {role}: refused but the database changed")
    return problems


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.action)
def test_role_matrix(services, admin, actors, case: Case):
    assert check_case(services, admin, actors, case) == []
