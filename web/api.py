"""The JSON API under ``/api``. Every error is JSON: ``{"error": <Vietnamese>, "code": ...}``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from controller.errors import InputError
from controller.service import Controller

bp = Blueprint("api", __name__, url_prefix="/api")


def ctl() -> Controller:
    return current_app.extensions["loaxa"]


def body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InputError("invalid_json", "Yêu cầu phải là một đối tượng JSON hợp lệ (Content-Type: application/json).")
    return data


@bp.get("/health")
def health():
    c = ctl()
    return {"status": "ok", "mqtt_connected": c.mqtt.connected.is_set(), "signing_key": c.signer.kid}


@bp.get("/pubkey")
def pubkey():
    return ctl().public_key()


@bp.get("/units")
def list_units():
    return jsonify(ctl().registry.units())


@bp.post("/units")
def add_unit():
    d = body()
    return ctl().registry.add_unit(d.get("id"), d.get("name"), d.get("parent_id"), d.get("level", "")), 201


@bp.get("/devices")
def list_devices():
    return jsonify(ctl().registry.devices())


@bp.get("/devices/<device_id>")
def get_device(device_id: str):
    return ctl().registry.device(device_id)


@bp.post("/devices")
def add_device():
    d = body()
    c = ctl()
    device = c.registry.add_device(d.get("id"), d.get("name"), d.get("unit_id"))
    c.dispatcher.publish_plan(device["id"])
    return device, 201


@bp.get("/bulletins")
def list_bulletins():
    return jsonify(ctl().bulletins.list())


@bp.post("/bulletins")
def add_bulletin():
    d = body()
    return ctl().add_bulletin(d.get("title", ""), d.get("text"), created_by=d.get("created_by", "")), 201


@bp.get("/bulletins/<bulletin_id>")
def get_bulletin(bulletin_id: str):
    return ctl().bulletins.get(bulletin_id)


@bp.get("/broadcasts")
def list_broadcasts():
    return jsonify(ctl().broadcasts.list())


@bp.post("/broadcasts")
def add_broadcast():
    d = body()
    bc = ctl().schedule_broadcast(d.get("bulletin_id"), d.get("starts_at"), d.get("targets"),
                                  d.get("priority", "normal"), created_by=d.get("created_by", ""))
    return bc, 201


@bp.get("/broadcasts/<broadcast_id>")
def get_broadcast(broadcast_id: str):
    return ctl().broadcasts.get(broadcast_id)


@bp.delete("/broadcasts/<broadcast_id>")
def cancel_broadcast(broadcast_id: str):
    return ctl().cancel_broadcast(broadcast_id)


@bp.get("/playback")
def playback():
    a = request.args
    try:
        limit = min(max(int(a.get("limit", 1000)), 1), 10000)
    except ValueError:
        raise InputError("invalid_limit", "Tham số limit phải là số nguyên.", "limit") from None
    rows = ctl().playback(device_id=a.get("device"), broadcast_id=a.get("broadcast"), kind=a.get("kind"),
                          since=a.get("since"), until=a.get("until"), limit=limit)
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
