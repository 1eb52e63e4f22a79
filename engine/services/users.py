"""Users: the OS user is the default identity; local users with passwords where sites want."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.context import Actor
from engine.db import rowcount
from engine.errors import Conflict, NotFound, PermissionDenied, ValidationError
from engine.identifiers import USERNAME, check_username
from engine.models import ApiToken, AuditEvent, User, Workspace, WorkspaceMember, utcnow
from engine.passwords import hash_password, verify_password
from engine.services import audit
from engine.services.base import (
    ADMIN,
    PLATFORM_ROLES,
    Service,
    authorize,
    get_user,
    get_workspace,
    refuse_read_only,
    role_in,
)
from engine.services.tokens import LOGIN_TOKEN_NAME
from engine.views import UserView

MIN_PASSWORD = 8

# Login outcomes, as audit actions. Failures are counted from the trail itself (no table of
# their own): `failed` and `locked` events for a name since its last `user.login`, within
# `login_window_s`. `locked` is the failure that reached `login_max_failures`; `refused` is
# an attempt while locked, whose password is not even checked.
LOGIN_OK = "user.login"
LOGIN_FAILED = "user.login.failed"
LOGIN_LOCKED = "user.login.locked"
LOGIN_REFUSED = "user.login.refused"
# Names that cannot exist are audited under this one name (never the text typed: it may
# be a password typed into the wrong field).
INVALID_NAME = "(invalid)"


def _view(s, user: User) -> UserView:
    rows = s.execute(
        select(Workspace.name, WorkspaceMember.role)
        .join(WorkspaceMember, WorkspaceMember.workspace_id == Workspace.id)
        .where(WorkspaceMember.user_id == user.id)
    )
    return UserView(
        user.username,
        user.display_name,
        user.platform_role,
        bool(user.password_hash),
        user.is_active,
        user.created_at,
        {name: role for name, role in rows},
    )


_BOOTSTRAP_HINT = (
    "; no admin can log in on this site yet: the owner of the data dir creates one with "
    "`sadeem user bootstrap NAME`"
)


def _failures_since(s: Session, name: str, since: datetime) -> list[datetime]:
    """When `name` failed to log in since `since` and its last successful login, oldest first."""
    last_ok = s.scalar(
        select(func.max(AuditEvent.at)).where(
            AuditEvent.username == name, AuditEvent.action == LOGIN_OK
        )
    )
    if last_ok is not None:
        since = max(since, last_ok)
    return list(
        s.scalars(
            select(AuditEvent.at)
            .where(
                AuditEvent.username == name,
                AuditEvent.action.in_((LOGIN_FAILED, LOGIN_LOCKED)),
                AuditEvent.at > since,
            )
            .order_by(AuditEvent.at)
        )
    )


def _admin_can_log_in(s: Session) -> bool:
    admin = s.scalar(
        select(User.id)
        .where(User.platform_role == ADMIN, User.is_active, User.password_hash.is_not(None))
        .limit(1)
    )
    return admin is not None


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{math.ceil(seconds)} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"must be at least {MIN_PASSWORD} characters", field="password")


class UserService(Service):
    def register(self, actor: Actor) -> UserView:
        """Make sure the acting OS user exists; the very first user becomes the admin."""
        check_username(actor.username)
        with self.unit() as s:
            user = s.scalar(select(User).where(User.username == actor.username))
            if user is not None:
                return _view(s, user)
            first = s.scalar(select(func.count()).select_from(User)) == 0
            user = User(username=actor.username, platform_role=ADMIN if first else "user")
            s.add(user)
            s.flush()
            audit.record(
                s,
                actor,
                "user.register",
                "user",
                actor.username,
                details={"platform_role": user.platform_role, "first_user": first},
            )
            return _view(s, user)

    def login(self, username: str, password: str, source: str = "cli", client: str = "") -> Actor:
        """Check a local user's password, with the same message, the same cost (one scrypt)
        and the same lockout for an unknown user as for a wrong password. `client`: the
        address an HTTP login came from, kept in its audit event."""
        settings = self.deps.settings
        where = {"client": client} if client else {}
        window = timedelta(seconds=settings.login_window_s)
        name = username if USERNAME.fullmatch(username) else INVALID_NAME
        who = Actor(name, source)
        with self.unit() as s:
            now = utcnow()
            failures = _failures_since(s, name, now - window)
            if len(failures) >= settings.login_max_failures:
                until = failures[-settings.login_max_failures] + window
                audit.record(s, who, LOGIN_REFUSED, "user", name, details=where or None)
                refusal = (
                    f"login refused: too many failed logins for {name!r}; "
                    f"try again in {_duration((until - now).total_seconds())}"
                )
            else:
                user = s.scalar(select(User).where(User.username == name))
                # verify first, always: an inactive user costs the same scrypt as any other
                ok = verify_password(password, user.password_hash if user else None)
                if ok and user is not None and user.is_active:
                    audit.record(s, who, LOGIN_OK, "user", name, details=where or None)
                    return Actor(username, source)
                count = len(failures) + 1
                action = LOGIN_LOCKED if count >= settings.login_max_failures else LOGIN_FAILED
                details = {"failures": count, **where}
                audit.record(s, who, action, "user", name, details=details)
                hint = "" if _admin_can_log_in(s) else _BOOTSTRAP_HINT
                refusal = f"login failed: unknown user or wrong password{hint}"
        # raised outside the unit, so the failure's audit event commits before we refuse
        raise PermissionDenied(refusal)

    def bootstrap(self, username: str, password: str, *, uid: int, source: str = "cli") -> UserView:
        """The first admin of a password site, while no admin can log in, for root or the
        owner of the data dir (who holds the database file and the key anyway)."""
        check_username(username)
        _check_password(password)
        settings = self.deps.settings
        if settings.auth != "password":
            raise Conflict(
                'bootstrap is for auth = "password" sites; with auth = "os" the first OS '
                "account to run sadeem becomes the admin"
            )
        owner = settings.data_dir.stat().st_uid
        if uid not in (0, owner):
            raise PermissionDenied(
                f"only root or the owner of {settings.data_dir} (uid {owner}) may bootstrap"
            )
        with self.unit() as s:
            if _admin_can_log_in(s):
                raise Conflict(
                    "this site already has an admin who can log in: "
                    "they add users with `sadeem user create`"
                )
            user = s.scalar(select(User).where(User.username == username))
            created = user is None
            if user is None:
                user = User(username=username)
                s.add(user)
            user.platform_role = ADMIN
            user.is_active = True
            user.password_hash = hash_password(password)
            s.flush()
            audit.record(
                s,
                Actor(username, source),
                "user.bootstrap",
                "user",
                username,
                details={"created": created, "uid": uid},
            )
            return _view(s, user)

    def create(
        self,
        actor: Actor,
        username: str,
        *,
        platform_role: str = "user",
        password: str | None = None,
        display_name: str = "",
    ) -> UserView:
        check_username(username)
        if platform_role not in PLATFORM_ROLES:
            raise ValidationError(f"must be one of {', '.join(PLATFORM_ROLES)}", "platform_role")
        if password is not None:
            _check_password(password)
        with self.unit() as s:
            authorize(s, actor, "user.create")
            if s.scalar(select(User).where(User.username == username)):
                raise Conflict(f"user {username!r} already exists")
            user = User(
                username=username,
                platform_role=platform_role,
                display_name=display_name,
                password_hash=hash_password(password) if password else None,
            )
            s.add(user)
            s.flush()
            audit.record(
                s,
                actor,
                "user.create",
                "user",
                username,
                details={"platform_role": platform_role, "password_set": password is not None},
            )
            return _view(s, user)

    def update(
        self,
        actor: Actor,
        username: str,
        *,
        platform_role: str | None = None,
        active: bool | None = None,
        display_name: str | None = None,
    ) -> UserView:
        if platform_role is not None and platform_role not in PLATFORM_ROLES:
            raise ValidationError(f"must be one of {', '.join(PLATFORM_ROLES)}", "platform_role")
        with self.unit() as s:
            me = authorize(s, actor, "user.update")
            user = self._get(s, username)
            changes: dict[str, object] = {}
            if platform_role is not None and platform_role != user.platform_role:
                if user.id == me.id and platform_role != ADMIN:
                    raise Conflict("you cannot take the admin role from yourself")
                user.platform_role = changes["platform_role"] = platform_role
            if active is not None and active != user.is_active:
                if user.id == me.id and not active:
                    raise Conflict("you cannot deactivate yourself")
                user.is_active = changes["active"] = active
            if display_name is not None and display_name != user.display_name:
                user.display_name = changes["display_name"] = display_name
            if changes:
                audit.record(s, actor, "user.update", "user", username, details=changes)
            return _view(s, user)

    def set_password(self, actor: Actor, username: str, password: str) -> None:
        """Admins set anyone's password; a user sets their own."""
        _check_password(password)
        with self.unit() as s:
            if actor.username != username:
                authorize(s, actor, "user.update")
            else:
                get_user(s, actor)
                refuse_read_only(actor, "user.set_password")
            user = self._get(s, username)
            user.password_hash = hash_password(password)
            # The logins the old password bought end with it: a password reset after a
            # leak must also cut off whoever already logged in with it.
            ended = s.execute(
                update(ApiToken)
                .where(
                    ApiToken.user_id == user.id,
                    ApiToken.name == LOGIN_TOKEN_NAME,
                    ApiToken.revoked_at.is_(None),
                )
                .values(revoked_at=utcnow())
            )
            details = {"login_tokens_revoked": rowcount(ended)}
            audit.record(s, actor, "user.set_password", "user", username, details=details)

    def list(self, actor: Actor) -> list[UserView]:
        with self.unit() as s:
            get_user(s, actor)
            return [_view(s, u) for u in s.scalars(select(User).order_by(User.username))]

    def get(self, actor: Actor, username: str) -> UserView:
        with self.unit() as s:
            get_user(s, actor)
            return _view(s, self._get(s, username))

    def whoami(self, actor: Actor) -> UserView:
        with self.unit() as s:
            return _view(s, get_user(s, actor))

    def role_in(self, actor: Actor, workspace: str | None) -> str | None:
        """`admin`, the membership role in `workspace`, or None."""
        with self.unit() as s:
            user = get_user(s, actor)
            ws = get_workspace(s, workspace) if workspace else None
            return role_in(s, user, ws)

    @staticmethod
    def _get(s, username: str) -> User:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"user {username!r} does not exist")
        return user
