"""JSON API of the administrative tree: units and their guardrails."""

from __future__ import annotations

from flask import Blueprint, jsonify

from controller.devices import use_cases as devices
from controller.plans import use_cases as plans
from web import auth
from web.api import body, ctl

bp = Blueprint("api_units", __name__, url_prefix="/api")


@bp.get("/units")
@auth.access("read")
def list_units():
    return jsonify([u.to_dict() for u in devices.units_in_scope(ctl(), auth.actor())])


@bp.post("/units")
@auth.access("manage")
def add_unit():
    d = body()
    return devices.add_unit(ctl(), auth.actor(), d.get("id"), d.get("name"), d.get("parent_id"), d.get("level", "")).to_dict(), 201


@bp.get("/units/<unit_id>/guardrails")
@auth.access("read")
def get_guardrails(unit_id: str):
    return plans.guardrails_of(ctl(), auth.actor(), unit_id).to_dict()


@bp.put("/units/<unit_id>/guardrails")
@auth.access("manage")
def put_guardrails(unit_id: str):
    d = body()
    values = d.get("values", {k: v for k, v in d.items() if k != "values"})
    return plans.put_guardrails(ctl(), auth.actor(), unit_id, values).to_dict()


@bp.post("/units/<unit_id>/volume")
@auth.access("draft")
def set_unit_volume(unit_id: str):
    """One volume for every pole at or below a unit (a whole village at once); audited as one change."""
    return devices.set_unit_volume(ctl(), auth.actor(), unit_id, body().get("volume")).to_dict()


@bp.get("/units/<unit_id>/volume-schedule")
@auth.access("read")
def get_volume_schedule(unit_id: str):
    return devices.volume_schedule(ctl(), auth.actor(), unit_id).to_dict()


@bp.put("/units/<unit_id>/volume-schedule")
@auth.access("draft")
def put_volume_schedule(unit_id: str):
    """A unit's daily volume steps (``[{"at": "18:00", "volume": 50}]`` or lines ``18:00 50``); none clears it."""
    return devices.set_volume_schedule(ctl(), auth.actor(), unit_id, body().get("steps")).to_dict()


@bp.post("/units/<unit_id>/guardrails/form")
@auth.access("manage")
def put_guardrails_form(unit_id: str):
    """The guardrails page's fields as typed (empty: as the unit above; "không": no cap)."""
    return plans.put_guardrails_form(ctl(), auth.actor(), unit_id, body()).to_dict()
