"""JSON API of broadcasts: scheduling, edits, approval, cancellation and readiness.

Refusals from the scheduling domain come back as 400 (``in_the_past``, ``no_occurrences``,
bad input) or 409 (a guardrail or overlap), always as
``{"error": <Vietnamese>, "code", "field", "details": [refusal, ...]}`` where each refusal
names its rule (``quiet_hours 22:00-05:00``) and the conflicting broadcasts.

Who acts is the signed-in user (:func:`web.auth.actor`): the approver recorded on a
broadcast, the person who cancels it.  The controller's use cases keep every action inside
the user's scope and write it to the audit trail.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from controller.plans import use_cases as plans
from web import auth
from web.api import body, ctl, number_arg

bp = Blueprint("api_broadcasts", __name__, url_prefix="/api")


@bp.get("/broadcasts")
@auth.access("read")
def list_broadcasts():
    return jsonify([b.to_dict() for b in plans.visible_broadcasts(ctl(), auth.actor())])


@bp.post("/broadcasts")
@auth.access("draft")
def add_broadcast():
    d = body()
    spec = {k: d[k] for k in plans.SCHEDULE_FIELDS if k in d}
    return plans.schedule_broadcast(ctl(), auth.actor(), d.get("bulletin_id"), d.get("starts_at"), d.get("targets"),
                                    d.get("priority", "normal"), confirm_duplicate=d.get("confirm_duplicate", False),
                                    **spec).to_dict(), 201


@bp.get("/broadcasts/<broadcast_id>")
@auth.access("read")
def get_broadcast(broadcast_id: str):
    return plans.broadcast_in_scope(ctl(), auth.actor(), broadcast_id).to_dict()


@bp.patch("/broadcasts/<broadcast_id>")
@auth.access("draft")
def edit_broadcast(broadcast_id: str):
    return plans.edit_broadcast(ctl(), auth.actor(), broadcast_id, body()).to_dict()


@bp.post("/broadcasts/<broadcast_id>/submit")
@auth.access("draft")
def submit_broadcast(broadcast_id: str):
    return plans.submit_broadcast(ctl(), auth.actor(), broadcast_id).to_dict()


@bp.post("/broadcasts/<broadcast_id>/approve")
@auth.access("approve")
def approve_broadcast(broadcast_id: str):
    return plans.approve_broadcast(ctl(), auth.actor(), broadcast_id, body().get("comment", "")).to_dict()


@bp.post("/broadcasts/<broadcast_id>/reject")
@auth.access("approve")
def reject_broadcast(broadcast_id: str):
    return plans.reject_broadcast(ctl(), auth.actor(), broadcast_id, body().get("comment", "")).to_dict()


@bp.post("/broadcasts/<broadcast_id>/cancel")
@auth.access("draft")
def cancel_broadcast(broadcast_id: str):
    return plans.cancel_broadcast(ctl(), auth.actor(), broadcast_id).to_dict()


@bp.post("/broadcasts/<broadcast_id>/reschedule")
@auth.access("draft")
def reschedule_broadcast(broadcast_id: str):
    """New timing from the schedule form's fields as typed (``recurrence``, dates, ``slot_times``, ``repeats``)."""
    return plans.reschedule_from_form(ctl(), auth.actor(), broadcast_id, body()).to_dict()


@bp.post("/broadcasts/<broadcast_id>/withdraw")
@auth.access("draft")
def withdraw_broadcast(broadcast_id: str):
    """Back to draft before the decision, to edit it or leave it."""
    return plans.withdraw_broadcast(ctl(), auth.actor(), broadcast_id).to_dict()


@bp.post("/broadcasts/<broadcast_id>/occurrences/cancel")
@auth.access("draft")
def cancel_occurrence(broadcast_id: str):
    """Cancel one occurrence (``at``, its start) with a ``reason``; the others still air."""
    d = body()
    return plans.cancel_occurrence(ctl(), auth.actor(), broadcast_id, d.get("at"), d.get("reason")).to_dict()


@bp.delete("/broadcasts/<broadcast_id>")
@auth.access("draft")
def delete_broadcast(broadcast_id: str):
    """The same cancellation as ``POST …/cancel``."""
    return plans.cancel_broadcast(ctl(), auth.actor(), broadcast_id).to_dict()


@bp.get("/readiness")
@auth.access("read")
def readiness():
    hours = number_arg("hours", 24, 0.1, 24 * 7)
    limit = int(number_arg("limit", 50, 1, 500))
    return jsonify([r.to_dict() for r in plans.readiness_in_scope(ctl(), auth.actor(), hours, limit)])
