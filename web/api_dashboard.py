"""JSON endpoints of the dashboard page (the page itself is :mod:`web.ui_dashboard`)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from web import auth

from web.ui_dashboard import overview

bp = Blueprint("api_dashboard", __name__)


@bp.get("/api/dashboard")
@auth.access("read")
def api_overview():
    return jsonify(overview())
