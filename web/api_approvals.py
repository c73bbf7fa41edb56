"""JSON endpoints of the approvals page (the page itself is :mod:`web.ui_approvals`)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from web import auth

from web.ui_approvals import queue_items

bp = Blueprint("api_approvals", __name__)


@bp.get("/api/approvals")
@auth.access("approve")
def queue_api():
    return jsonify(queue_items())
