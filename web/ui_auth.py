"""The sign-in page. There is no default account: the first admin comes from ``loaxa user add``."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for

from controller.people.users import AuthError
from web import auth

bp = Blueprint("ui_auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the sign-in page cannot be used to redirect elsewhere."""
    if not target:
        return url_for("ui_dashboard.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("ui_dashboard.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = ""
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "")
        try:
            auth.login(username, request.form.get("password", ""))
        except AuthError as exc:
            error = exc.message
        else:
            return redirect(_safe_next(request.args.get("next")))
    elif auth.current_user():
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", title="Đăng nhập", error=error, username=username), (401 if error else 200)


@bp.post("/logout")
def logout():
    auth.logout()
    return redirect(url_for("ui_auth.login"))
