"""The JSON API under ``/api``. Every error is JSON: ``{"error": <Vietnamese>, "code": ...}``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from controller.devices import use_cases as devices
from controller.errors import InputError
from controller.plans import use_cases as plans
from controller.service import Controller
from web import auth

bp = Blueprint("api", __name__, url_prefix="/api")


def ctl() -> Controller:
    return current_app.extensions["loaxa"]


def body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InputError("invalid_json", "Yêu cầu phải là một đối tượng JSON hợp lệ (Content-Type: application/json).")
    return data


@bp.get("/health")
@auth.public
def health():
    c = ctl()
    return {"status": "ok", "mqtt_connected": c.mqtt.connected.is_set(), "signing_key": c.signer.kid}


@bp.get("/pubkey")
@auth.public
def pubkey():
    return ctl().public_key()


@bp.get("/units")
@auth.access("read")
def list_units():
    return jsonify(devices.units_in_scope(ctl(), auth.actor()))


@bp.post("/units")
@auth.access("manage")
def add_unit():
    d = body()
    return devices.add_unit(ctl(), auth.actor(), d.get("id"), d.get("name"), d.get("parent_id"), d.get("level", "")), 201


@bp.get("/devices")
@auth.access("read")
def list_devices():
    return jsonify(devices.devices_in_scope(ctl(), auth.actor()))


@bp.get("/devices/<device_id>")
@auth.access("read")
def get_device(device_id: str):
    return devices.device_in_scope(ctl(), auth.actor(), device_id)


@bp.post("/devices")
@auth.access("manage")
def add_device():
    d = body()
    return devices.add_device(ctl(), auth.actor(), d.get("id"), d.get("name"), d.get("unit_id")), 201


@bp.get("/bulletins")
@auth.access("read")
def list_bulletins():
    return jsonify(plans.visible_bulletins(ctl(), auth.actor()))


@bp.post("/bulletins")
@auth.access("draft")
def add_bulletin():
    d = body()
    return plans.add_bulletin(ctl(), auth.actor(), d.get("title", ""), d.get("text"), script=d.get("script"),
                              progress_id=d.get("progress_id")), 201


@bp.get("/render-progress/<progress_id>")
@auth.access("draft")
def render_progress(progress_id: str):
    """How far the caller's own render named ``progress_id`` has come (the compose page polls this)."""
    return ctl().render_progress.get(progress_id, auth.actor().username)


@bp.post("/scripts")
@auth.access("draft")
def prepare_script():
    """The draft script of a pasted document, what was left out, and the normalized reading; stores nothing."""
    return ctl().bulletins.prepare(body().get("text"))


@bp.get("/bulletins/<bulletin_id>")
@auth.access("read")
def get_bulletin(bulletin_id: str):
    return plans.visible_bulletin(ctl(), auth.actor(), bulletin_id)


@bp.get("/broadcasts")
@auth.access("read")
def list_broadcasts():
    return jsonify(plans.visible_broadcasts(ctl(), auth.actor()))


@bp.post("/broadcasts")
@auth.access("draft")
def add_broadcast():
    d = body()
    spec = {k: d[k] for k in plans.SCHEDULE_FIELDS if k in d}
    return plans.schedule_broadcast(ctl(), auth.actor(), d.get("bulletin_id"), d.get("starts_at"), d.get("targets"),
                                    d.get("priority", "normal"), **spec), 201


@bp.get("/broadcasts/<broadcast_id>")
@auth.access("read")
def get_broadcast(broadcast_id: str):
    return plans.broadcast_in_scope(ctl(), auth.actor(), broadcast_id)


@bp.delete("/broadcasts/<broadcast_id>")
@auth.access("draft")
def cancel_broadcast(broadcast_id: str):
    return plans.cancel_broadcast(ctl(), auth.actor(), broadcast_id)


@bp.get("/playback")
@auth.access("read")
def playback():
    a = request.args
    try:
        limit = min(max(int(a.get("limit", 1000)), 1), 10000)
    except ValueError:
        raise InputError("invalid_limit", "Tham số limit phải là số nguyên.", "limit") from None
    rows = ctl().playback(device_id=a.get("device"), broadcast_id=a.get("broadcast"), kind=a.get("kind"),
                          since=a.get("since"), until=a.get("until"), limit=limit, device_ids=auth.scope().devices)
    return jsonify(rows)


def _input_error(exc: InputError):
    return jsonify(exc.to_dict()), exc.status


def _http_error(exc: HTTPException):
    if not request.path.startswith("/api/"):
        return exc
    messages = {404: "Không tìm thấy.", 405: "Phương thức không được hỗ trợ.", 413: "Dữ liệu gửi lên quá lớn."}
    return jsonify({"error": messages.get(exc.code or 0, exc.description), "code": exc.name.lower().replace(" ", "_")}), exc.code


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_error_handler(InputError, _input_error)
    app.register_error_handler(HTTPException, _http_error)
