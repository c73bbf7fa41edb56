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

import json
from typing import Any

from flask import Blueprint, Flask, jsonify, request

from controller.errors import InputError, NotFound, finite_number
from web import auth
from web.api import body, ctl

bp = Blueprint("api_schedule", __name__, url_prefix="/api")

EDIT_FIELDS = ("bulletin_id", "starts_at", "rule", "rule_text", "repeats", "repeat_gap_s", "targets", "priority",
               "order", "override")


def _number(name: str, default: float, lo: float, hi: float) -> float:
    return finite_number(request.args.get(name), name, default, lo, hi)


def _me() -> str:
    user = auth.current_user()
    return user.username if user else ""


def _in_scope(broadcast_id: str) -> dict[str, Any]:
    bc = ctl().broadcasts.get(broadcast_id)
    auth.require_devices(bc["devices"])
    return bc


@bp.patch("/broadcasts/<broadcast_id>")
@auth.access("draft")
def edit_broadcast(broadcast_id: str):
    d = body()
    _in_scope(broadcast_id)
    changes = {k: d[k] for k in EDIT_FIELDS if k in d}
    if not changes:
        raise InputError("nothing_to_change", f"Không có gì để sửa; các trường sửa được: {', '.join(EDIT_FIELDS)}.")
    auth.require_targets(changes.get("targets"))
    if changes.get("priority") == "emergency":
        auth.require_permission("emergency")
    bc = ctl().edit_broadcast(broadcast_id, changes, by=_me())
    auth.audit("broadcast_edited", broadcast_id, {"changes": sorted(changes)})
    return bc


@bp.post("/broadcasts/<broadcast_id>/submit")
@auth.access("draft")
def submit_broadcast(broadcast_id: str):
    _in_scope(broadcast_id)
    bc = ctl().submit_broadcast(broadcast_id, _me())
    auth.audit("broadcast_submitted", broadcast_id)
    return bc


@bp.post("/broadcasts/<broadcast_id>/approve")
@auth.access("approve")
def approve_broadcast(broadcast_id: str):
    d = body()
    _in_scope(broadcast_id)
    bc = ctl().approve_broadcast(broadcast_id, _me(), d.get("comment", ""))
    auth.audit("broadcast_approved", broadcast_id, {"comment": bc["decision_comment"]})
    return bc


@bp.post("/broadcasts/<broadcast_id>/reject")
@auth.access("approve")
def reject_broadcast(broadcast_id: str):
    d = body()
    _in_scope(broadcast_id)
    bc = ctl().reject_broadcast(broadcast_id, _me(), d.get("comment", ""))
    auth.audit("broadcast_rejected", broadcast_id, {"comment": bc["decision_comment"]})
    return bc


@bp.post("/broadcasts/<broadcast_id>/cancel")
@auth.access("draft")
def cancel_broadcast(broadcast_id: str):
    _in_scope(broadcast_id)
    bc = ctl().cancel_broadcast(broadcast_id, by=_me())
    auth.audit("broadcast_cancelled", broadcast_id)
    return bc


@bp.get("/readiness")
@auth.access("read")
def readiness():
    hours = _number("hours", 24, 0.1, 24 * 7)
    limit = int(_number("limit", 50, 1, 500))
    s = auth.scope()
    rows = []
    for r in ctl().readiness(hours, limit):
        keep = lambda d: s.has_device(d if isinstance(d, str) else d["device_id"])  # noqa: E731
        r = {**r, "ready": [d for d in r["ready"] if keep(d)], "not_ready": [d for d in r["not_ready"] if keep(d)],
             "offline": [d for d in r["offline"] if keep(d)], "skipped": [d for d in r["skipped"] if keep(d)]}
        r["counts"] = {k: len(r[k]) for k in ("ready", "not_ready", "offline")}
        if any(r["counts"].values()) or r["skipped"]:
            rows.append(r)
    return jsonify(rows)


@bp.post("/emergency")
@auth.access("emergency")
def emergency():
    d = body()
    auth.require_targets(d.get("targets"))
    content = {k: d[k] for k in ("text", "bulletin_id", "title", "reason") if k in d}
    em = ctl().emergency(d.get("targets"), _me(), **content)
    auth.audit("emergency", em["broadcast_id"], {"targets": d.get("targets"), "topics": em["topics"],
                                                 "reason": em["reason"]})
    return em, 201


@bp.get("/emergencies")
@auth.access("audit")
def emergencies():
    """Emergencies whose devices all lie in the viewer's subtree (the rule broadcasts follow)."""
    c, s = ctl(), auth.scope()
    return jsonify([e for e in c.emergencies.list() if s.covers(c.broadcasts.devices_of(e["broadcast_id"]))])


@bp.get("/units/<unit_id>/guardrails")
@auth.access("read")
def get_guardrails(unit_id: str):
    from controller.plans.planner import load_tree

    auth.require_unit(unit_id)
    c = ctl()
    return c.guardrails.view(load_tree(c.db), unit_id)


@bp.put("/units/<unit_id>/guardrails")
@auth.access("manage")
def put_guardrails(unit_id: str):
    auth.require_unit(unit_id)
    d = body()
    values = d.get("values", {k: v for k, v in d.items() if k != "values"})
    view = ctl().put_unit_guardrails(unit_id, values, _me())
    auth.audit("guardrails_changed", unit_id, {"values": view["own"]})
    return view


@bp.get("/plans/<device_id>")
@auth.access("read")
def device_plan(device_id: str):
    """The plan last issued to a device: the signed body and its version."""
    auth.require_devices([device_id])
    c = ctl()
    with c.db.tx() as db:
        row = db.execute("SELECT plan_version, issued_at, payload FROM device_plans WHERE device_id = ?",
                         [device_id]).fetchone()
    if row is None:
        raise NotFound("unknown_plan", f"Cụm loa '{device_id}' chưa có kế hoạch phát.")
    return {"device_id": device_id, "plan_version": row[0], "issued_at": row[1], "plan": json.loads(row[2])["body"]}


@bp.get("/jobs")
@auth.access("manage")
def jobs() -> Any:
    return jsonify(ctl().jobs.jobs())


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
