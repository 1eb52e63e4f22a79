"""Personal access tokens for the engine's HTTP API: created, listed, revoked, checked.

A token is `sdm_` + 32 random bytes (secrets.token_urlsafe); only its SHA-256 is stored,
so the database (or a backup of it) gives no usable token. The token is shown once, when
made. Every creation, revocation and refused use is an audit event (never the token)."""

from __future__ import annotations

import builtins
import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from engine.context import Actor
from engine.errors import NotFound, PermissionDenied, Unauthenticated, ValidationError
from engine.models import ApiToken, User, utcnow
from engine.services import audit
from engine.services.base import ADMIN, Service, get_user, refuse_read_only
from engine.views import NewToken, TokenView

PREFIX = "sdm_"
MAX_EXPIRY_S = 366 * 86400  # a year and a day: a token that never expires is a choice
MAX_NAME = 64
# The name of the tokens `POST /v1/login` issues (in `sadeem token list`); a new password
# revokes them (UserService.set_password).
LOGIN_TOKEN_NAME = "login"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _view(t: ApiToken, username: str) -> TokenView:
    return TokenView(
        t.id, username, t.name, t.read_only, t.created_at, t.expires_at, t.revoked_at,
        t.last_used_at,
    )  # fmt: skip


class TokenService(Service):
    def create(
        self,
        actor: Actor,
        *,
        name: str = "",
        expires_in_s: int | None = None,
        read_only: bool = False,
    ) -> NewToken:
        """A token acting as `actor` (with `read_only`, one that changes nothing), ending no
        later than the token `actor` itself came with."""
        if len(name) > MAX_NAME:
            raise ValidationError(f"at most {MAX_NAME} characters", "name")
        if expires_in_s is not None and not 60 <= expires_in_s <= MAX_EXPIRY_S:
            raise ValidationError("must be between 1 minute and 366 days", "--expires")
        token = PREFIX + secrets.token_urlsafe(32)
        with self.unit() as s:
            user = get_user(s, actor)
            # A read-only session may make a read-only token: it gives no more than it has.
            refuse_read_only(actor, "token.create (a writing token)", changes=not read_only)
            expires = utcnow() + timedelta(seconds=expires_in_s) if expires_in_s else None
            if actor.expires_at is not None and (expires is None or expires > actor.expires_at):
                # A session of an expiring token (a 12 h login's, say) makes none that
                # outlives it: else one stolen login would be a key for good.
                expires = actor.expires_at
            row = ApiToken(
                user_id=user.id,
                name=name,
                token_hash=digest(token),
                read_only=read_only or actor.read_only,
                expires_at=expires,
            )
            s.add(row)
            s.flush()
            audit.record(
                s,
                actor,
                "token.create",
                "token",
                str(row.id),
                details={"name": name, "read_only": row.read_only, "expires_at": str(expires)},
            )
            return NewToken(token, _view(row, user.username))

    def list(self, actor: Actor, *, all_users: bool = False) -> builtins.list[TokenView]:
        """Your tokens; every user's for a platform admin with `all_users`."""
        with self.unit() as s:
            me = get_user(s, actor)
            q = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
            if all_users:
                if me.platform_role != ADMIN:
                    raise PermissionDenied("token list --all needs a platform admin")
            else:
                q = q.where(ApiToken.user_id == me.id)
            return [_view(t, u) for t, u in s.execute(q.order_by(ApiToken.id))]

    def revoke(self, actor: Actor, token_id: int) -> TokenView:
        """Revoke one of your tokens (an admin: anyone's). Revoking twice is a no-op."""
        with self.unit() as s:
            me = get_user(s, actor)
            refuse_read_only(actor, "token.revoke")
            row = s.get(ApiToken, token_id)
            if row is None or (row.user_id != me.id and me.platform_role != ADMIN):
                raise NotFound(f"token {token_id} does not exist")
            owner = s.get(User, row.user_id)
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                audit.record(s, actor, "token.revoke", "token", str(row.id))
            return _view(row, owner.username if owner else "?")

    def authenticate(self, token: str | None, client: str = "") -> Actor:
        """The actor a bearer token stands for, or Unauthenticated (and an audit event that
        says why: missing, unknown, expired, revoked, inactive user)."""
        reason, username, token_id = "missing", "-", "-"
        if token:
            with self.unit() as s:
                row = s.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))
                user = s.get(User, row.user_id) if row is not None else None
                now = utcnow()
                if row is None or user is None:
                    reason = "unknown"
                else:
                    username, token_id = user.username, str(row.id)
                    if row.revoked_at is not None:
                        reason = "revoked"
                    elif row.expires_at is not None and row.expires_at <= now:
                        reason = "expired"
                    elif not user.is_active:
                        reason = "inactive user"
                    else:
                        row.last_used_at = now
                        return Actor(
                            user.username,
                            "http",
                            read_only=row.read_only,
                            expires_at=row.expires_at,
                        )
        with self.unit() as s:
            audit.record(
                s,
                Actor(username, "http"),
                "token.refused",
                "token",
                token_id,
                details={"reason": reason, "client": client},
            )
        hint = {
            "missing": "send Authorization: Bearer <token> (`sadeem token create` makes one)",
            "unknown": "no such token",
            "expired": "the token has expired; create a new one",
            "revoked": "the token was revoked",
            "inactive user": "its user is deactivated",
        }[reason]
        raise Unauthenticated(f"not authenticated: {hint}")
