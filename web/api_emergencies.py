"""JSON API of emergencies: a signed ``play_now`` on every targeted device at once, and the record of them."""

from __future__ import annotations

from flask import Blueprint, jsonify

from controller.plans import use_cases as plans
from web import auth
from web.api import body, ctl

bp = Blueprint("api_emergencies", __name__, url_prefix="/api")


@bp.post("/emergency")
@auth.access("emergency")
def emergency():
    d = body()
    return plans.trigger_emergency(ctl(), auth.actor(), d.get("targets"), d).to_dict(), 201


@bp.get("/emergencies")
@auth.access("audit")
def emergencies():
    """Emergencies whose devices all lie in the viewer's subtree (the rule broadcasts follow)."""
    return jsonify([e.to_dict() for e in plans.visible_emergencies(ctl(), auth.actor())])


@bp.get("/emergency/<broadcast_id>/status")
@auth.access("emergency")
def status(broadcast_id: str):
    return plans.emergency_status(ctl(), auth.actor(), broadcast_id).to_dict()
