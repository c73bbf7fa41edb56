"""The use cases of people, for one :class:`~controller.people.actor.Actor`.

Administrators act on the people of their own subtree only and grant only scopes they hold;
each change to an account commits in one transaction with its audit entry (never with a
password in it).  Signing in is checked here too, and every attempt is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from controller.errors import InputError, NotFound
from controller.people import access
from controller.people.actor import Actor
from controller.people.users import KEEP, WHOLE_TREE, AuthError, User

if TYPE_CHECKING:
    from controller.service import Controller

EDITABLE = ("role", "unit_id", "display_name")


@dataclass(frozen=True)
class PasswordReset:
    """What a new password ended: always the sessions; the API tokens (how many) when asked."""

    sessions_ended: bool = True
    tokens_revoked: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sessions_ended": self.sessions_ended}
        if self.tokens_revoked is not None:
            out["tokens_revoked"] = self.tokens_revoked
        return out


# -- signing in ---------------------------------------------------------------------------
def sign_in(c: Controller, actor: Actor, username: Any, password: Any) -> User:
    """Check a password from ``actor``'s address; every attempt, good or bad, is audited. Raises AuthError."""
    name = username if isinstance(username, str) else ""
    try:
        user = c.users.authenticate(username, password, actor.ip)
    except AuthError as exc:
        c.audit.record(name[:64], "login_throttled" if exc.code == "throttled" else "login_failed", name[:64],
                       {"reason": exc.code}, actor.ip)
        raise
    c.audit.record(user.username, "login", user.username, {"via": "password"}, actor.ip)
    return user


def sign_out(c: Controller, actor: Actor, *, end_sessions: bool = False) -> None:
    """Log out; ``end_sessions`` moves the user's session epoch on, so a copied cookie dies with this one."""
    if actor.signed_in:
        with c.db.tx():
            if end_sessions and actor.user_id is not None:
                c.users.end_sessions(actor.user_id)
            c.audit.record(actor, "logout", actor.username)


# -- accounts -----------------------------------------------------------------------------
def list_users(c: Controller, actor: Actor, *, disabled: bool = False) -> list[User]:
    """Accounts (active, or the disabled ones) in the actor's subtree."""
    return [u for u in c.users.list(disabled=disabled) if access.manages(actor, u)]


def add_user(c: Controller, actor: Actor, username: Any, password: Any, role: Any, unit_id: Any,
             display_name: Any = "") -> User:
    access.require_permission(actor, "manage")
    access.require_unit(actor, None if unit_id == WHOLE_TREE else unit_id, allow_top=True)
    with c.db.tx():
        user = c.users.add(username, password, role, unit_id, display_name)
        c.audit.record(actor, "user_added", user.username, {"role": user.role, "unit_id": user.to_dict()["unit_id"]})
    return user


def _managed(c: Controller, actor: Actor, username: str) -> User:
    return access.require_manages(actor, c.users.get(username))


def update_user(c: Controller, actor: Actor, username: str, fields: Mapping[str, Any]) -> User:
    """Change ``role``, ``unit_id`` or ``display_name``; only what changed is audited."""
    access.require_permission(actor, "manage")
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise InputError("unknown_field", f"Không sửa được '{unknown[0]}' ở đây; chỉ sửa được: {', '.join(EDITABLE)}.",
                         unknown[0])
    if not fields:
        raise InputError("nothing_to_change", "Chưa có thay đổi nào: gửi role, unit_id hoặc display_name.")
    with c.db.tx():
        before = _managed(c, actor, username)
        if "unit_id" in fields:
            access.require_grantable_unit(actor, fields["unit_id"])
        after = c.users.update(username, role=fields.get("role"), unit_id=fields.get("unit_id", KEEP),
                               display_name=fields.get("display_name"), actor=actor.username)
        old, new = before.to_dict(), after.to_dict()
        changes = {k: [old[k], new[k]] for k in EDITABLE if old[k] != new[k]}
        if changes:
            c.audit.record(actor, "user_updated", username, changes)
    return after


def reset_password(c: Controller, actor: Actor, username: str, password: Any, revoke_tokens: Any = False) -> PasswordReset:
    """A new password ends the person's sessions; with ``revoke_tokens`` their API tokens go too."""
    access.require_permission(actor, "manage")
    if not isinstance(revoke_tokens, bool):
        raise InputError("invalid_revoke_tokens", "revoke_tokens phải là true hoặc false.", "revoke_tokens")
    with c.db.tx():
        _managed(c, actor, username)
        c.users.set_password(username, password)
        result = PasswordReset(tokens_revoked=c.users.revoke_tokens(username) if revoke_tokens else None)
        c.audit.record(actor, "password_changed", username, result.to_dict())
    return result


def disable_user(c: Controller, actor: Actor, username: str) -> None:
    access.require_permission(actor, "manage")
    with c.db.tx():
        _managed(c, actor, username)
        c.users.disable(username, actor=actor.username)
        c.audit.record(actor, "user_disabled", username)


def enable_user(c: Controller, actor: Actor, username: str, password: Any) -> User:
    """Enable a disabled account with a new password; its old API tokens are revoked."""
    access.require_permission(actor, "manage")
    with c.db.tx():
        disabled = c.users.find_disabled(username)
        if disabled is None:
            raise NotFound("unknown_user", f"Không có tài khoản bị vô hiệu hóa tên '{username}'.")
        access.require_manages(actor, disabled)
        user, revoked = c.users.enable(username, password)
        c.audit.record(actor, "user_enabled", username, {"tokens_revoked": revoked})
    return user
