"""JSON API of people and the audit trail: sign-in, users, the audit log, and the OpenAPI document.

Administrators act on the people of their own subtree only, and grant only scopes they hold;
every change to an account is audited (never with a password in it).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Flask, Response, jsonify, request

from controller.errors import InputError
from controller.people import use_cases as people
from controller.people.users import AuthError
from controller.reports import use_cases as reports
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
    return jsonify([u.to_dict() for u in people.list_users(ctl(), auth.actor(), disabled=disabled)])


@bp.post("/users")
@auth.access("manage")
def add_user():
    d = body()
    user = people.add_user(ctl(), auth.actor(), d.get("username"), d.get("password"), d.get("role"), d.get("unit_id"),
                           d.get("display_name", ""))
    return user.to_dict(), 201


@bp.patch("/users/<username>")
@auth.access("manage")
def update_user(username: str):
    return people.update_user(ctl(), auth.actor(), username, body()).to_dict()


@bp.post("/users/<username>/password")
@auth.access("manage")
def reset_password(username: str):
    """A new password ends the person's sessions; with ``revoke_tokens`` (for a password that
    may have leaked) their API tokens go too."""
    d = body()
    result = people.reset_password(ctl(), auth.actor(), username, d.get("password"), d.get("revoke_tokens", False))
    return {"username": username, **result.to_dict()}


@bp.post("/users/<username>/disable")
@auth.access("manage")
def disable_user(username: str):
    people.disable_user(ctl(), auth.actor(), username)
    return {"username": username, "disabled": True}


@bp.post("/users/<username>/enable")
@auth.access("manage")
def enable_user(username: str):
    """Enable a disabled account with a new password; its old API tokens are revoked."""
    return people.enable_user(ctl(), auth.actor(), username, body().get("password")).to_dict()


@bp.get("/audit")
@auth.access("audit")
def audit_log():
    a = request.args
    try:
        limit = min(max(int(a.get("limit", 500)), 1), 5000)
    except ValueError:
        raise InputError("invalid_limit", "Tham số limit phải là số nguyên.", "limit") from None
    entries = reports.audit_entries(ctl(), auth.actor(), by=a.get("actor"), action=a.get("action"),
                                    target=a.get("target"), since=a.get("since"), until=a.get("until"), limit=limit)
    return jsonify([e.to_dict() for e in entries])


@bp.get("/audit/verify")
@auth.access("audit")
def audit_verify():
    checks = reports.verify_audit(ctl(), auth.actor())
    return {"ok": all(r.ok for r in checks), "tables": [r.to_dict() for r in checks]}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
