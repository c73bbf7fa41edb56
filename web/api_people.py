"""JSON API of people and the audit trail: sign-in, users, the audit log, and the OpenAPI document.

Administrators act on the people of their own subtree only, and grant only scopes they hold;
every change to an account is audited (never with a password in it).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from controller.errors import InputError, NotFound
from controller.people.users import KEEP, WHOLE_TREE, AuthError, User
from web import auth
from web.api import body, ctl

bp = Blueprint("api_people", __name__, url_prefix="/api")
OPENAPI_PATH = Path(__file__).with_name("openapi.json")


@cache
def _openapi_text() -> str:
    return json.dumps(json.loads(OPENAPI_PATH.read_text(encoding="utf-8")), ensure_ascii=False)


@bp.get("/openapi.json")
@auth.public
def openapi():
    return Response(_openapi_text(), mimetype="application/json")


@bp.get("/session")
@auth.public
def get_session():
    """Who is signed in, and the CSRF token a browser client sends with every change."""
    user = auth.current_user()
    return {"user": user.to_dict() if user else None, "csrf_token": auth.csrf_token()}


@bp.post("/login")
@auth.public
def login():
    d = body()
    try:
        user = auth.login(d.get("username"), d.get("password"))
    except AuthError as exc:
        status = 429 if exc.code == "throttled" else 401
        response = jsonify({"error": exc.message, "code": exc.code})
        if exc.retry_after:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response, status
    return {"user": user.to_dict(), "csrf_token": auth.csrf_token()}


@bp.post("/logout")
@auth.public
def logout():
    auth.logout()
    return {"user": None}


@bp.get("/users")
@auth.access("manage")
def list_users():
    """Active accounts in the administrator's subtree; ``?disabled=1`` lists the disabled ones instead."""
    disabled = request.args.get("disabled", "") in ("1", "true")
    return jsonify([u.to_dict() for u in ctl().users.list(disabled=disabled) if in_scope(u)])


def in_scope(user: User) -> bool:
    """Whether the current administrator's subtree holds ``user`` (whole-tree accounts only for whole-tree admins)."""
    s = auth.scope()
    return s.whole_tree or (user.unit_id is not None and s.has_unit(user.unit_id))


@bp.post("/users")
@auth.access("manage")
def add_user():
    d = body()
    unit_id = d.get("unit_id")
    auth.require_unit(None if unit_id == "*" else unit_id, allow_top=True)
    user = ctl().users.add(d.get("username"), d.get("password"), d.get("role"), unit_id, d.get("display_name", ""))
    auth.audit("user_added", user.username, {"role": user.role, "unit_id": user.to_dict()["unit_id"]})
    return user.to_dict(), 201


EDITABLE = ("role", "unit_id", "display_name")


def _managed_user(username: str) -> User:
    """An active user the current administrator may act on: one whose unit lies in their subtree."""
    return _scoped(username, ctl().users.get(username))


def _scoped(username: str, user: User) -> User:
    if not in_scope(user):
        raise auth.Refused("out_of_scope", f"Người dùng '{username}' nằm ngoài đơn vị bạn phụ trách.")
    return user


def _grantable_unit(unit_id: Any) -> None:
    """Refuse a scope the current administrator does not hold themselves."""
    if unit_id is None or unit_id == WHOLE_TREE:
        if not auth.scope().whole_tree:
            raise auth.Refused("out_of_scope", "Chỉ quản trị viên toàn hệ thống được giao phạm vi toàn bộ.")
        return
    auth.require_unit(unit_id)


@bp.patch("/users/<username>")
@auth.access("manage")
def update_user(username: str):
    d = body()
    unknown = sorted(set(d) - set(EDITABLE))
    if unknown:
        raise InputError("unknown_field", f"Không sửa được '{unknown[0]}' ở đây; chỉ sửa được: {', '.join(EDITABLE)}.",
                         unknown[0])
    if not d:
        raise InputError("nothing_to_change", "Chưa có thay đổi nào: gửi role, unit_id hoặc display_name.")
    before = _managed_user(username)
    if "unit_id" in d:
        _grantable_unit(d["unit_id"])
    after = ctl().users.update(username, role=d.get("role"), unit_id=d.get("unit_id", KEEP),
                               display_name=d.get("display_name"), actor=auth.require_permission("manage").username)
    old, new = before.to_dict(), after.to_dict()
    changes = {k: [old[k], new[k]] for k in EDITABLE if old[k] != new[k]}
    if changes:
        auth.audit("user_updated", username, changes)
    return new


@bp.post("/users/<username>/password")
@auth.access("manage")
def reset_password(username: str):
    """A new password ends the person's sessions; with ``revoke_tokens`` (for a password that
    may have leaked) their API tokens go too."""
    d = body()
    revoke = d.get("revoke_tokens", False)
    if not isinstance(revoke, bool):
        raise InputError("invalid_revoke_tokens", "revoke_tokens phải là true hoặc false.", "revoke_tokens")
    _managed_user(username)
    ctl().users.set_password(username, d.get("password"))
    result: dict[str, Any] = {"sessions_ended": True}
    if revoke:
        result["tokens_revoked"] = ctl().users.revoke_tokens(username)
    auth.audit("password_changed", username, result)
    return {"username": username, **result}


@bp.post("/users/<username>/disable")
@auth.access("manage")
def disable_user(username: str):
    _managed_user(username)
    ctl().users.disable(username, actor=auth.require_permission("manage").username)
    auth.audit("user_disabled", username)
    return {"username": username, "disabled": True}


@bp.post("/users/<username>/enable")
@auth.access("manage")
def enable_user(username: str):
    """Enable a disabled account with a new password; its old API tokens are revoked."""
    d = body()
    disabled = ctl().users.find_disabled(username)
    if disabled is None:
        raise NotFound("unknown_user", f"Không có tài khoản bị vô hiệu hóa tên '{username}'.")
    _scoped(username, disabled)
    user, revoked = ctl().users.enable(username, d.get("password"))
    auth.audit("user_enabled", username, {"tokens_revoked": revoked})
    return user.to_dict()


@bp.get("/audit")
@auth.access("audit")
def audit_log():
    a = request.args
    try:
        limit = min(max(int(a.get("limit", 500)), 1), 5000)
    except ValueError:
        raise InputError("invalid_limit", "Tham số limit phải là số nguyên.", "limit") from None
    entries = ctl().audit.entries(actor=a.get("actor"), action=a.get("action"), target=a.get("target"),
                                  since=a.get("since"), until=a.get("until"), limit=limit)
    return jsonify([e.to_dict() for e in entries if _visible(e.actor)])


def _visible(actor: str) -> bool:
    """Scoped auditors see what people of their subtree did; whole-tree users see everything."""
    s = auth.scope()
    if s.whole_tree:
        return True
    user = ctl().users.find(actor)
    return user is not None and user.unit_id is not None and s.has_unit(user.unit_id)


@bp.get("/audit/verify")
@auth.access("audit")
def audit_verify():
    reports = _verify()
    return {"ok": all(r["ok"] for r in reports), "tables": reports}


def _verify() -> list[dict[str, Any]]:
    return [{"table": r.table, "ok": r.ok, "rows": r.rows, "chains": r.chains,
             "problems": [str(p) for p in r.problems], "anchors": [str(a) for a in r.anchors]}
            for r in ctl().verify_audit()]


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
