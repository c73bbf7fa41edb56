"""JSON API of speaker poles: the devices, the plan last issued to each, and their playback events."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from controller.devices import use_cases as devices
from controller.errors import InputError
from controller.plans import use_cases as plans
from web import auth
from web.api import body, ctl
from web.ui_base import json_body
from web.ui_devices import RECENT_EVENTS, scoped_device

bp = Blueprint("api_devices", __name__, url_prefix="/api")


@bp.get("/devices")
@auth.access("read")
def list_devices():
    return jsonify([d.to_dict() for d in devices.devices_in_scope(ctl(), auth.actor())])


@bp.get("/devices/<device_id>")
@auth.access("read")
def get_device(device_id: str):
    return devices.device_in_scope(ctl(), auth.actor(), device_id).to_dict()


@bp.post("/devices")
@auth.access("manage")
def add_device():
    d = body()
    return devices.add_device(ctl(), auth.actor(), d.get("id"), d.get("name"), d.get("unit_id")).to_dict(), 201


@bp.get("/plans/<device_id>")
@auth.access("read")
def device_plan(device_id: str):
    """The plan last issued to a device: the signed body and its version."""
    return plans.issued_plan(ctl(), auth.actor(), device_id).to_dict()


@bp.get("/playback")
@auth.access("read")
def playback():
    a = request.args
    try:
        limit = min(max(int(a.get("limit", 1000)), 1), 10000)
    except ValueError:
        raise InputError("invalid_limit", "Tham số limit phải là số nguyên.", "limit") from None
    rows = ctl().playback(device_id=a.get("device"), broadcast_id=a.get("broadcast"), kind=a.get("kind"),
                          since=a.get("since"), until=a.get("until"), limit=limit, device_ids=auth.actor().scope.devices)
    return jsonify([r.to_dict() for r in rows])


@bp.get("/devices/<device_id>/events")
@auth.access("read")
def recent_events(device_id: str):
    scoped_device(device_id)
    return jsonify([e.to_dict() for e in ctl().playback(device_id=device_id, limit=RECENT_EVENTS)])


@bp.post("/devices/<device_id>/volume")
@auth.access("draft")
def set_volume(device_id: str):
    return devices.set_volume(ctl(), auth.actor(), device_id, json_body().get("volume")).to_dict()


@bp.post("/devices/<device_id>/test-tone")
@auth.access("draft")
def test_tone(device_id: str):
    """Play a short tone now, so someone at the pole can check the horns and the amplifier."""
    return devices.play_test_tone(ctl(), auth.actor(), device_id, json_body().get("confirm", False)).to_dict()


@bp.get("/broker-link")
@auth.access("read")
def broker_link():
    """Whether the controller hears its devices now; every page polls it to show or hide its banner."""
    return devices.broker_link(ctl()).to_dict()


@bp.post("/devices/<device_id>/epoch-review")
@auth.access("approve")
def review_epoch(device_id: str):
    """Mark a flagged new epoch of the device as looked into (who and what they found go to the audit trail)."""
    d = json_body()
    return devices.review_epoch(ctl(), auth.actor(), device_id, d.get("epoch"), d.get("note", "")).to_dict()


@bp.post("/devices/<device_id>/key-request")
@auth.access("manage")
def request_device_key(device_id: str):
    """Ask a pole enrolled before device keys to send its key's public half (a signed command; audited)."""
    return devices.request_device_key(ctl(), auth.actor(), device_id).to_dict(), 202


@bp.get("/devices/<device_id>/key")
@auth.access("manage")
def device_key(device_id: str):
    """Whether the pole signs its events with its own key, was asked for it, or may be asked (administrators)."""
    return devices.device_key_status(ctl(), auth.actor(), device_id).to_dict()
