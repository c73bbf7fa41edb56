"""Who is asking, and may they: sign-in sessions, API tokens, CSRF, roles and scope.

Every request passes one ``before_request`` hook.  Each view declares its rule with
:func:`access` (a permission of :data:`controller.people.users.PERMISSIONS`), :func:`public`, or
:func:`device_endpoint` (devices authenticate themselves, not people).  A view under
``/api/`` without a rule is refused (fail closed); a UI page without one needs a signed-in
user.  Scope (the subtree a user's role holds in) is checked by the views through
:func:`scope`, :func:`require_unit`, :func:`require_targets` and :func:`require_devices`.

CSRF: a state-changing request authenticated by the session cookie must carry the
session's token in the ``X-CSRF-Token`` header or a ``csrf_token`` form field.  Requests
with ``Authorization: Bearer <token>`` are exempt: they carry no ambient credential.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from flask import Flask, abort, current_app, g, has_request_context, jsonify, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import Forbidden

from controller.errors import InputError
from controller.service import Controller
from controller.people.actor import Actor
from controller.people.users import PERMISSIONS, AuthError, Scope, User

log = logging.getLogger(__name__)

RULE_ATTR = "_loaxa_access"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
PUBLIC_BLUEPRINTS = frozenset({"ui_auth", "metrics"})  # the sign-in pages; Prometheus counters (no names, no text)
DEVICE_BLUEPRINTS = frozenset({"media", "fleet_device"})  # media downloads: devices authenticate on their own


@dataclass(frozen=True)
class AccessRule:
    """``permission`` None: no user needed (public, or a device endpoint)."""

    permission: str | None
    devices: bool = False


def access(permission: str) -> Callable:
    """Declare that a view needs a signed-in user holding ``permission`` (in their scope)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def mark(view: Callable) -> Callable:
        setattr(view, RULE_ATTR, AccessRule(permission))
        return view

    return mark


def public(view: Callable) -> Callable:
    """Declare a view anyone may call (health, the public signing key, sign-in)."""
    setattr(view, RULE_ATTR, AccessRule(None))
    return view


def device_endpoint(view: Callable) -> Callable:
    """Declare a view that devices call; it authenticates the device itself (no user, no CSRF)."""
    setattr(view, RULE_ATTR, AccessRule(None, devices=True))
    return view


def rule_for(app: Flask, endpoint: str) -> AccessRule | None:
    """The rule of an endpoint, or None when it has none (refused under ``/api/``)."""
    view = app.view_functions.get(endpoint)
    rule = getattr(view, RULE_ATTR, None)
    if rule is not None:
        return rule
    blueprint = endpoint.rpartition(".")[0]
    if endpoint == "static" or blueprint in PUBLIC_BLUEPRINTS:
        return AccessRule(None)
    if blueprint in DEVICE_BLUEPRINTS:
        return AccessRule(None, devices=True)
    return None


# -- the request's user ---------------------------------------------------------------------
def ctl() -> Controller:
    return current_app.extensions["loaxa"]


def current_user() -> User | None:
    """The signed-in user of this request (session or API token), or None."""
    return g.get("loaxa_user")


def client_ip() -> str:
    return request.remote_addr or ""


def actor() -> Actor:
    """Who acts in this request, built once: the signed-in user, their scope and the client's address.

    Every controller use case a view calls gets this; a request with nobody signed in is
    :meth:`Actor.anonymous`.
    """
    if "loaxa_actor" not in g:
        user = current_user()
        g.loaxa_actor = Actor.of(user, scope(), client_ip()) if user else Actor.anonymous(client_ip())
    return g.loaxa_actor


def scope() -> Scope:
    """The units and devices the current user may see and act on."""
    if "loaxa_scope" not in g:
        user = current_user()
        g.loaxa_scope = ctl().users.scope(user) if user else Scope(frozenset(), frozenset())
    return g.loaxa_scope


class Refused(InputError):
    """A request the user may not make (scope, two-person rule); nothing was stored."""

    status = 403


def _out_of_scope(what: str) -> Refused:
    return Refused("out_of_scope", f"'{what}' nằm ngoài đơn vị bạn phụ trách.")


def require_unit(unit_id: Any, *, allow_top: bool = False) -> None:
    """Refuse a unit outside the user's subtree (``allow_top``: None is a new top-level unit)."""
    s = scope()
    if unit_id is None and allow_top:
        if not s.whole_tree:
            raise Refused("out_of_scope", "Chỉ quản trị toàn hệ thống được thêm đơn vị cấp cao nhất.")
        return
    if not isinstance(unit_id, str) or not unit_id:
        raise InputError("invalid_unit", "Chưa chọn đơn vị hợp lệ.", "unit_id")
    if not s.has_unit(unit_id):
        raise _out_of_scope(unit_id)


def require_targets(targets: Any) -> None:
    """Refuse any broadcast target (unit or device) outside the user's subtree (malformed ones are the domain's)."""
    if isinstance(targets, str):
        targets = [targets]
    if isinstance(targets, list):
        for t in targets:
            if isinstance(t, str) and not scope().has_target(t):
                raise _out_of_scope(t)


def require_devices(device_ids: Iterable[str]) -> None:
    device_ids = list(device_ids)
    if not scope().covers(device_ids):
        raise _out_of_scope(", ".join(d for d in device_ids if not scope().has_device(d)))


def may_see_author(username: str) -> bool:
    """Whether work by ``username`` (a bulletin) is visible: theirs, or by someone of the user's subtree."""
    user, s = current_user(), scope()
    if s.whole_tree or (user is not None and username == user.username):
        return True
    author = ctl().users.find(username)
    return author is not None and author.unit_id is not None and s.has_unit(author.unit_id)


def require_permission(permission: str) -> User:
    """For a view whose need depends on the input (e.g. an emergency broadcast)."""
    user = current_user()
    if user is None or not user.can(permission):
        raise Forbidden()
    return user


def check_two_person(created_by: str) -> None:
    """Refuse approval by the broadcast's own author, unless the rule is off for this installation."""
    user = current_user()
    if user is None:
        raise Forbidden()
    if ctl().config.people.two_person_rule and created_by == user.username:
        raise Refused("two_person_rule", "Người soạn lịch phát không được tự phê duyệt; cần một người khác duyệt.")


def audit(action: str, target: str = "", details: Mapping[str, Any] | None = None) -> int:
    """Record an administrative action by the current user, from the client's address."""
    return ctl().audit.record(actor(), action, target, details)


# -- sign-in --------------------------------------------------------------------------------
def csrf_token() -> str:
    """The session's CSRF token (created on first use); put it in every form and fetch."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def login(username: Any, password: Any) -> User:
    """Check the password, start a fresh session (new CSRF token) and record it; raises AuthError."""
    users = ctl().users
    ip = client_ip()
    name = username if isinstance(username, str) else ""
    try:
        user = users.authenticate(username, password, ip)
    except AuthError as exc:
        ctl().audit.record(name[:64], "login_throttled" if exc.code == "throttled" else "login_failed", name[:64],
                           {"reason": exc.code}, ip)
        raise
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["epoch"] = user.session_epoch
    session["csrf"] = secrets.token_urlsafe(32)
    g.loaxa_user = user
    g.pop("loaxa_scope", None)
    g.pop("loaxa_actor", None)
    ctl().audit.record(user.username, "login", user.username, {"via": "password"}, ip)
    return user


def logout() -> None:
    user = current_user()
    if user:
        ctl().audit.record(user.username, "logout", user.username, None, client_ip())
    session.clear()
    g.loaxa_user = None
    g.pop("loaxa_scope", None)
    g.pop("loaxa_actor", None)


def _authenticate() -> tuple[User | None, bool]:
    """(user, via_token). A bad bearer token is refused outright rather than ignored."""
    header = request.headers.get("Authorization", "")
    if header:
        kind, _, token = header.partition(" ")
        user = ctl().users.by_token(token.strip()) if kind.lower() == "bearer" else None
        if user is None:
            raise _Refusal(401, "invalid_token", "Mã truy cập (API token) không hợp lệ hoặc đã bị thu hồi.")
        return user, True
    uid = session.get("uid")
    if uid is None:
        return None, False
    user = ctl().users.by_id(uid)
    if user is None or session.get("epoch") != user.session_epoch:
        session.clear()
        return None, False
    return user, False


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _refuse(status: int, code: str, message: str):
    """JSON under ``/api/``; pages go to the sign-in page (401) or the app's error page."""
    if request.path.startswith("/api/"):
        return jsonify({"error": message, "code": code}), status
    if status == 401 and "ui_auth.login" in current_app.view_functions:
        return redirect(url_for("ui_auth.login", next=request.full_path.rstrip("?")))
    abort(status)


def _csrf_ok() -> bool:
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    expected = session.get("csrf", "")
    return bool(expected) and bool(sent) and hmac.compare_digest(str(sent).encode("utf-8", "surrogatepass"),
                                                                 str(expected).encode("utf-8"))


def _before_request():
    g.loaxa_user = None
    endpoint = request.endpoint
    if endpoint is None:  # no such route: the 404/405 handlers answer
        return None
    rule = rule_for(current_app, endpoint)
    if rule is None and request.path.startswith("/api/"):
        log.error("refused %s %s: endpoint %s declares no access rule", request.method, request.path, endpoint)
        return _refuse(403, "no_access_rule", "Chức năng này chưa được cấp quyền truy cập.")
    if rule is None:
        rule = AccessRule("read")
    if rule.devices:
        return None
    try:
        user, via_token = _authenticate()
    except _Refusal as r:
        return _refuse(r.status, r.code, r.message)
    g.loaxa_user = user
    if request.method not in SAFE_METHODS and not via_token and not _csrf_ok():
        return _refuse(403, "csrf_failed", "Phiên làm việc không hợp lệ hoặc đã hết hạn; hãy tải lại trang và thử lại.")
    if rule.permission is None:
        return None
    if user is None:
        return _refuse(401, "unauthenticated", "Vui lòng đăng nhập.")
    if not user.can(rule.permission):
        return _refuse(403, "forbidden", "Bạn không có quyền thực hiện việc này.")
    return None


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


# -- set-up ---------------------------------------------------------------------------------
def load_or_create_secret(path: Path) -> bytes:
    """The session-signing key: generated once into the data dir, readable by its owner only."""
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret.hex() + "\n")
    return secret


def cookie_secure(setting: str, public_url: str) -> bool:
    if setting == "always":
        return True
    if setting == "never":
        return False
    return public_url.lower().startswith("https://")


class _Sessions(SecureCookieSessionInterface):
    """Signed-cookie sessions; with ``cookie_secure = "auto"`` a request that came over HTTPS gets a Secure cookie too.

    So a controller whose devices use plain HTTP on the local network, and whose people come
    through a TLS proxy, still keeps their cookie off plain HTTP.  The scheme is the proxy's
    X-Forwarded-Proto only when ``http.trusted_proxies`` says to believe it.
    """

    def __init__(self, auto: bool):
        self.auto = auto

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (self.auto and has_request_context() and request.is_secure)


def init_app(app: Flask) -> None:
    controller: Controller = app.extensions["loaxa"]
    cfg = controller.config
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_or_create_secret(cfg.data_dir / "keys" / "session-secret")
    app.config.update(
        SESSION_COOKIE_NAME="loaxa_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=cookie_secure(cfg.people.cookie_secure, cfg.public_url),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=cfg.people.session_hours),
    )
    app.session_interface = _Sessions(cfg.people.cookie_secure == "auto")
    app.before_request(_before_request)
    app.after_request(_security_headers)
    app.add_template_global(csrf_token, "csrf_token")
    app.add_template_global(current_user, "current_user")
