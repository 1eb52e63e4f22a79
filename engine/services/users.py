"""Users: the OS user is the default identity; local users with passwords where sites want."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from engine.context import Actor
from engine.errors import Conflict, NotFound, PermissionDenied, ValidationError
from engine.identifiers import check_username
from engine.models import User, Workspace, WorkspaceMember
from engine.passwords import hash_password, verify_password
from engine.services import audit
from engine.services.base import (
    ADMIN,
    PLATFORM_ROLES,
    Service,
    authorize,
    get_user,
    get_workspace,
    role_in,
)

MIN_PASSWORD = 8


@dataclass(frozen=True)
class UserView:
    username: str
    display_name: str
    platform_role: str
    has_password: bool
    is_active: bool
    created_at: datetime
    workspaces: dict[str, str]  # workspace name -> role


def _view(s, user: User) -> UserView:  # type: ignore[no-untyped-def]
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

    def login(self, username: str, password: str, source: str = "cli") -> Actor:
        """Check a local user's password; the same message for unknown user and bad password."""
        with self.unit() as s:
            user = s.scalar(select(User).where(User.username == username))
            ok = (
                user is not None
                and user.is_active
                and verify_password(password, user.password_hash)
            )
        if not ok:
            raise PermissionDenied("login failed: unknown user or wrong password")
        return Actor(username, source)

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
            user = self._get(s, username)
            user.password_hash = hash_password(password)
            audit.record(s, actor, "user.set_password", "user", username)

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
    def _get(s, username: str) -> User:  # type: ignore[no-untyped-def]
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"user {username!r} does not exist")
        return user
