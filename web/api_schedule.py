"""Scheduling endpoints of the JSON API: approval, edits, readiness, emergencies, guardrails, plans.

Refusals from the scheduling domain come back as 400 (``in_the_past``, ``no_occurrences``,
bad input) or 409 (a guardrail or overlap), always as
``{"error": <Vietnamese>, "code", "field", "details": [refusal, ...]}`` where each refusal
names its rule (``quiet_hours 22:00-05:00``) and the conflicting broadcasts.

Who acts is the signed-in user (:mod:`web.auth`): the approver recorded on a broadcast, the
person who triggered an emergency.  Every action stays inside the user's scope and is
written to the audit trail.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify, request

from controller.errors import InputError
from controller.plans import use_cases as plans
from web import auth
from web.api import body, ctl

bp = Blueprint("api_schedule", __name__, url_prefix="/api")


def _number(name: str, default: float, lo: float, hi: float) -> float:
    try:
        value = float(request.args.get(name, default))
    except ValueError:
        raise InputError("invalid_number", f"Tham số {name} phải là số.", name) from None
    return min(max(value, lo), hi)


@bp.patch("/broadcasts/<broadcast_id>")
@auth.access("draft")
def edit_broadcast(broadcast_id: str):
    return plans.edit_broadcast(ctl(), auth.actor(), broadcast_id, body())


@bp.post("/broadcasts/<broadcast_id>/submit")
@auth.access("draft")
def submit_broadcast(broadcast_id: str):
    return plans.submit_broadcast(ctl(), auth.actor(), broadcast_id)


@bp.post("/broadcasts/<broadcast_id>/approve")
@auth.access("approve")
def approve_broadcast(broadcast_id: str):
    return plans.approve_broadcast(ctl(), auth.actor(), broadcast_id, body().get("comment", ""))


@bp.post("/broadcasts/<broadcast_id>/reject")
@auth.access("approve")
def reject_broadcast(broadcast_id: str):
    return plans.reject_broadcast(ctl(), auth.actor(), broadcast_id, body().get("comment", ""))


@bp.post("/broadcasts/<broadcast_id>/cancel")
@auth.access("draft")
def cancel_broadcast(broadcast_id: str):
    return plans.cancel_broadcast(ctl(), auth.actor(), broadcast_id)


@bp.get("/readiness")
@auth.access("read")
def readiness():
    hours = _number("hours", 24, 0.1, 24 * 7)
    limit = int(_number("limit", 50, 1, 500))
    return jsonify(plans.readiness_in_scope(ctl(), auth.actor(), hours, limit))


@bp.post("/emergency")
@auth.access("emergency")
def emergency():
    d = body()
    return plans.trigger_emergency(ctl(), auth.actor(), d.get("targets"), d), 201


@bp.get("/emergencies")
@auth.access("audit")
def emergencies():
    """Emergencies whose devices all lie in the viewer's subtree (the rule broadcasts follow)."""
    return jsonify(plans.visible_emergencies(ctl(), auth.actor()))


@bp.get("/units/<unit_id>/guardrails")
@auth.access("read")
def get_guardrails(unit_id: str):
    return plans.guardrails_of(ctl(), auth.actor(), unit_id)


@bp.put("/units/<unit_id>/guardrails")
@auth.access("manage")
def put_guardrails(unit_id: str):
    d = body()
    values = d.get("values", {k: v for k, v in d.items() if k != "values"})
    return plans.put_guardrails(ctl(), auth.actor(), unit_id, values)


@bp.get("/plans/<device_id>")
@auth.access("read")
def device_plan(device_id: str):
    """The plan last issued to a device: the signed body and its version."""
    return plans.issued_plan(ctl(), auth.actor(), device_id).to_dict()


@bp.get("/jobs")
@auth.access("manage")
def jobs() -> Any:
    return jsonify(ctl().jobs.jobs())


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
