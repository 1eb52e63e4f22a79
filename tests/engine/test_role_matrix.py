"""Every service action x every role, on SQLite and PostgreSQL, against the README's role
table: allowed or refused as the README says. An allowed action leaves exactly one audit
event; a refused one changes nothing at all (every table compared before and after).

The expectation is written here from the README ("Users, roles and audit"), never from
`REQUIRED_ROLE` or `allows()`: a wrong row in the code's table must fail this test."""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

import engine.services
from engine.context import Actor
from engine.errors import NotFound, PermissionDenied
from engine.models import AuditEvent
from engine.services.base import REQUIRED_ROLE
from tests.support import every_row

# The README's roles, weakest first: "each role may do everything the roles before it may".
README_ROLES = ("viewer", "runner", "editor", "owner")
ROLES = ("admin", *README_ROLES, "outsider")
WS = "team"
_seq = itertools.count()

# The README's role table, row by row: the actions each row adds. `admin` = platform admins
# only ("everything, in every workspace; platform connections and users").
README_TABLE: dict[str, tuple[str, ...]] = {
    # viewer: see the workspace, its catalog, jobs, runs and logs; run read-only SQL
    # (the separation check of the workspace and its connections' health are "seeing" it).
    "viewer": (
        "workspace.show",
        "workspace.check",
        "connection.test",
        "catalog.read",
        "job.show",
        "run.show",
        "sql.read",
    ),
    # runner: + run jobs, cancel and retry runs, run any SQL
    "runner": ("job.run", "run.cancel", "run.retry", "sql.write"),
    # editor: + create and edit jobs and schedules (pause/resume is editing the schedule)
    "editor": ("job.create", "job.edit", "job.pause"),
    # owner: + members, workspace connections, provisioning, the workspace's audit trail
    # (and the workspace itself: its description and archiving)
    "owner": (
        "workspace.member.add",
        "workspace.member.remove",
        "connection.create.workspace",
        "connection.update.workspace",
        "connection.delete.workspace",
        "workspace.provision",
        "audit.read.workspace",
        "workspace.update",
        "workspace.archive",
    ),
    # admin: everything, in every workspace; platform connections and users, and the
    # embedded catalog (`sadeem catalog adopt`)
    "admin": (
        "catalog.adopt",
        "workspace.create",
        "workspace.check.all",
        "audit.read.all",
        "connection.create.platform",
        "connection.update.platform",
        "connection.delete.platform",
        "user.create",
        "user.update",
    ),
}
LEAST_ROLE = {action: row for row, actions in README_TABLE.items() for action in actions}


def readme_allows(role: str, action: str) -> bool:
    """What the README's table says `role` may do (outsider: member of nothing)."""
    least = LEAST_ROLE[action]
    if role == "admin":
        return True
    if role == "outsider" or least == "admin":
        return False
    return README_ROLES.index(role) >= README_ROLES.index(least)


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
    Case("catalog.adopt", lambda s, a, _: s.catalog_guard.adopt(a, empty=True)),
]


def _trail_visible(svc, actor, target: str, workspace: str | None) -> None:
    """Reading an audit trail filters rather than refuses: an actor who may not read it
    gets a list without the others' events. Seen from here that is a refusal."""
    if not any(e.target == target for e in svc.audit.list(actor, workspace=workspace)):
        raise PermissionDenied("the event is not in the trail this actor reads")


CASES += [
    # The admin's change to a workspace connection is in the workspace's trail.
    Case("audit.read.workspace", lambda s, a, name: _trail_visible(s, a, name, WS), _ws_conn),
    # The admin's change to a platform connection is only in the whole trail.
    Case("audit.read.all", lambda s, a, name: _trail_visible(s, a, name, None), _platform_conn),
]


def all_cases() -> list[Case]:
    """This module's cases and those living with the feature they exercise."""
    from tests.engine.runner.test_runner_roles import CASES as RUN_CASES
    from tests.engine.test_lakehouse import _lake_cases

    return [*CASES, *RUN_CASES, *_lake_cases()]


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


def authorized_actions() -> set[str]:
    """Every action the services pass to `authorize`, read from their source: literals,
    both arms of `a if c else b`, f-strings expanded over the README table, and an
    action handed down through a parameter (`self._visible(..., "run.cancel")`)."""
    found: set[str] = set()
    for path in sorted(Path(engine.services.__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            params = [arg.arg for arg in fn.args.args]
            for call in ast.walk(fn):
                if not (isinstance(call, ast.Call) and _name(call.func) == "authorize"):
                    continue
                action = call.args[2] if len(call.args) > 2 else None
                assert action is not None, f"{path}: authorize() without an action"
                if isinstance(action, ast.Name) and action.id in params:
                    # A method's callers do not pass `self`.
                    bound = int(params[:1] in (["self"], ["cls"]))
                    found |= _passed_down(tree, fn.name, params.index(action.id) - bound)
                else:
                    found |= _strings(action, f"{path}:{call.lineno}")
    return found


def _name(func: ast.expr) -> str | None:
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def _strings(node: ast.expr, where: str) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(node.body, where) | _strings(node.orelse, where)
    if isinstance(node, ast.JoinedStr):
        pattern = "".join(
            re.escape(v.value) if isinstance(v, ast.Constant) else "[a-z_]+" for v in node.values
        )
        matches = {a for a in LEAST_ROLE if re.fullmatch(pattern, a)}
        assert matches, f"{where}: action f-string {pattern!r} matches no README action"
        return matches
    raise AssertionError(f"{where}: cannot tell which action is authorized ({ast.dump(node)})")


def _passed_down(tree: ast.Module, fname: str, index: int) -> set[str]:
    """The actions callers pass as `fname`'s positional argument number `index`."""
    out: set[str] = set()
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and _name(call.func) == fname:
            arg = call.args[index] if len(call.args) > index else None
            if arg is not None:
                out |= _strings(arg, f"call of {fname}")
    assert out, f"no caller of {fname} names its action"
    return out


def test_the_readme_table_lists_every_service_action():
    """A service action the README's table does not give a role fails here."""
    assert authorized_actions() - set(LEAST_ROLE) == set(), "authorized, not in the README"
    # Some actions are held by visibility, not `authorize` (workspace.show, audit.read.*):
    # they are in REQUIRED_ROLE, and the two tables must name the same actions.
    assert sorted(REQUIRED_ROLE) == sorted(LEAST_ROLE)


def test_every_action_has_a_case():
    assert sorted(c.action for c in all_cases()) == sorted(LEAST_ROLE)


def snapshot(services) -> dict[str, list]:
    """Every row of every table, to prove a refused action changed nothing."""
    return every_row(services)


def audit_count(services) -> int:
    with services.db.session() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent))


def check_case(services, admin, actors: dict[str, Actor], case: Case) -> list[str]:
    """Run `case` as every role; return the mismatches with the README's table."""
    problems = []
    for role in ROLES:
        uniq = next(_seq)
        arg = case.prepare(services, admin, uniq) if case.prepare else None
        actor = actors[role]
        expected = readme_allows(role, case.action)
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
