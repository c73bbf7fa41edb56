"""JSON API of device security: enrollment, enrollment codes, revocation and the kill switch."""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify, request

from controller.devices.enrollment import TooManyAttempts
from loaxa.wire_time import format_time
from web import auth
from web.api import ctl

bp = Blueprint("api_security", __name__, url_prefix="/api")


@bp.post("/enroll")
@auth.device_endpoint
def enroll():
    """A new device trades its one-time code for its identity, credentials and the controller's key."""
    data = request.get_json(silent=True)
    code = data.get("code") if isinstance(data, dict) else None
    device_key = data.get("device_public_key") if isinstance(data, dict) else None
    try:
        bundle = ctl().security.enroll(code, auth.actor().ip, device_key)
    except TooManyAttempts as exc:
        response = jsonify(exc.to_dict())
        response.headers["Retry-After"] = "60"
        return response, exc.status
    response = jsonify(bundle.to_dict())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/devices/<device_id>/enrollment-code")
@auth.access("manage")
def enrollment_code(device_id: str):
    auth.require_devices([device_id])
    code, expires = ctl().security.new_code(device_id, auth.actor())
    return {"device_id": device_id, "code": code, "expires_at": format_time(expires)}, 201


@bp.post("/devices/<device_id>/revoke")
@auth.access("manage")
def revoke(device_id: str):
    auth.require_devices([device_id])
    return ctl().security.revoke(device_id, auth.actor()).to_dict()


@bp.get("/kill-switches")
@auth.access("read")
def kill_switches():
    return jsonify([k.to_dict() for k in ctl().security.kill_switches.engaged_for(auth.scope())])


@bp.post("/units/<unit_id>/kill-switch")
@auth.access("kill_switch")
def engage_kill_switch(unit_id: str):
    auth.require_unit(unit_id)
    data = request.get_json(silent=True)
    reason = data.get("reason", "") if isinstance(data, dict) else ""
    return ctl().security.kill_switches.engage(unit_id, auth.actor(), reason).to_dict()


@bp.delete("/units/<unit_id>/kill-switch")
@auth.access("kill_switch")
def lift_kill_switch(unit_id: str):
    auth.require_unit(unit_id)
    return ctl().security.kill_switches.lift(unit_id, auth.actor()).to_dict()


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
