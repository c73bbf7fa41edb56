"""JSON endpoints of the dashboard page (the page itself is :mod:`web.ui_dashboard`)."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, jsonify
from web import auth

from web.ui_dashboard import overview

bp = Blueprint("api_dashboard", __name__)


@bp.get("/api/dashboard")
@auth.access("read")
def api_overview():
    o = overview()
    return jsonify({**o, "trouble": [d.to_dict() for d in o["trouble"]], "links_down": [b.to_dict() for b in o["links_down"]],
                    "playing": [{**d.to_dict(), "now_playing": asdict(d.now_playing) if d.now_playing else None}
                                for d in o["playing"]]})
