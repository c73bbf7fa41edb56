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
from typing import Any, Callable, Iterable

from flask import Flask, abort, current_app, g, has_request_context, jsonify, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import Forbidden

from controller.errors import Refused as _Refused
from controller.people import access as access_rules
from controller.people import use_cases as people
from controller.people.actor import Actor
from controller.service import Controller
from controller.people.users import PERMISSIONS, Scope, User

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


Refused = _Refused  # a request the actor may not make (scope, two-person rule); nothing was stored


def require_unit(unit_id: Any, *, allow_top: bool = False) -> None:
    """Refuse a unit outside the user's subtree (the rule: :func:`controller.people.access.require_unit`)."""
    access_rules.require_unit(actor(), unit_id, allow_top=allow_top)


def require_targets(targets: Any) -> None:
    """Refuse any broadcast target (unit or device) outside the user's subtree."""
    access_rules.require_targets(actor(), targets)


def require_devices(device_ids: Iterable[str]) -> None:
    access_rules.require_devices(actor(), device_ids)


def may_see_author(username: str) -> bool:
    """Whether work by ``username`` (a bulletin) is visible to the current user."""
    return access_rules.may_see_person(actor(), ctl().users, username)


def require_permission(permission: str) -> User:
    """For a view whose need depends on the input (e.g. an emergency broadcast)."""
    user = current_user()
    if user is None or not user.can(permission):
        raise Forbidden()
    return user


# -- sign-in --------------------------------------------------------------------------------
def csrf_token() -> str:
    """The session's CSRF token (created on first use); put it in every form and fetch."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def login(username: Any, password: Any) -> User:
    """Check the password (audited by the controller), start a fresh session (new CSRF token); raises AuthError."""
    user = people.sign_in(ctl(), actor(), username, password)
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["epoch"] = user.session_epoch
    session["csrf"] = secrets.token_urlsafe(32)
    g.loaxa_user = user
    g.pop("loaxa_scope", None)
    g.pop("loaxa_actor", None)
    return user


def logout() -> None:
    a = actor()
    people.sign_out(ctl(), a, end_sessions=a.user_id is not None and session.get("uid") == a.user_id)
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


# Scripts and styles come only from this server's own files: an injected <script>, style or
# on...= handler does nothing.  Recorded audio previews play from blob: URLs.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; object-src 'none'; base-uri 'self'; "
                           "form-action 'self'; frame-ancestors 'none'")


def _security_headers(response):
    if current_user() is not None and request.endpoint != "static":  # nothing a signed-in person saw stays in a shared browser's or proxy's cache
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
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
