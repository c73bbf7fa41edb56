"""The JSON API under ``/api``. Every error is JSON: ``{"error": <Vietnamese>, "code": ...}``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from controller.errors import InputError
from controller.service import Controller
from web import auth

bp = Blueprint("api", __name__, url_prefix="/api")
SCHEDULE_FIELDS = ("rule", "rule_text", "repeats", "repeat_gap_s", "order", "override", "draft")


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
    s = auth.scope()
    return jsonify([u for u in ctl().registry.units() if s.has_unit(u["id"])])


@bp.post("/units")
@auth.access("manage")
def add_unit():
    d = body()
    auth.require_unit(d.get("parent_id"), allow_top=True)
    unit = ctl().registry.add_unit(d.get("id"), d.get("name"), d.get("parent_id"), d.get("level", ""))
    auth.audit("unit_added", unit["id"], {"parent_id": unit["parent_id"]})
    return unit, 201


@bp.get("/devices")
@auth.access("read")
def list_devices():
    s = auth.scope()
    return jsonify([d for d in ctl().registry.devices() if s.has_device(d["id"])])


@bp.get("/devices/<device_id>")
@auth.access("read")
def get_device(device_id: str):
    auth.require_devices([device_id])
    return ctl().registry.device(device_id)


@bp.post("/devices")
@auth.access("manage")
def add_device():
    d = body()
    c = ctl()
    auth.require_unit(d.get("unit_id"))
    device = c.registry.add_device(d.get("id"), d.get("name"), d.get("unit_id"))
    auth.audit("device_added", device["id"], {"unit_id": device["unit_id"]})
    c.dispatcher.publish_plan(device["id"])
    return device, 201


@bp.get("/bulletins")
@auth.access("read")
def list_bulletins():
    return jsonify([b for b in ctl().bulletins.list() if auth.may_see_author(b.get("created_by", ""))])


@bp.post("/bulletins")
@auth.access("draft")
def add_bulletin():
    d = body()
    bulletin = ctl().add_bulletin(d.get("title", ""), d.get("text"), created_by=auth.current_user().username,
                                  script=d.get("script"), progress_id=d.get("progress_id"))
    auth.audit("bulletin_added", bulletin["id"], {"title": bulletin["title"]})
    return bulletin, 201


@bp.get("/render-progress/<progress_id>")
@auth.access("draft")
def render_progress(progress_id: str):
    """How far the caller's own render named ``progress_id`` has come (the compose page polls this)."""
    return ctl().render_progress.get(progress_id, auth.current_user().username)


@bp.post("/scripts")
@auth.access("draft")
def prepare_script():
    """The draft script of a pasted document, what was left out, and the normalized reading; stores nothing."""
    return ctl().bulletins.prepare(body().get("text"))


@bp.get("/bulletins/<bulletin_id>")
@auth.access("read")
def get_bulletin(bulletin_id: str):
    bulletin = ctl().bulletins.get(bulletin_id)
    if not auth.may_see_author(bulletin.get("created_by", "")):
        raise auth.Refused("out_of_scope", "Bản tin này nằm ngoài đơn vị bạn phụ trách.")
    return bulletin


@bp.get("/broadcasts")
@auth.access("read")
def list_broadcasts():
    s = auth.scope()
    return jsonify([b for b in ctl().broadcasts.list() if s.covers(b["devices"])])


@bp.post("/broadcasts")
@auth.access("draft")
def add_broadcast():
    d = body()
    auth.require_targets(d.get("targets"))
    if d.get("priority") == "emergency":
        auth.require_permission("emergency")
    spec = {k: d[k] for k in SCHEDULE_FIELDS if k in d}
    bc = ctl().schedule_broadcast(d.get("bulletin_id"), d.get("starts_at"), d.get("targets"),
                                  d.get("priority", "normal"), created_by=auth.current_user().username, **spec)
    auth.audit("emergency" if bc["priority"] == "emergency" else "broadcast_scheduled", bc["id"],
               {"targets": bc["targets"], "starts_at": bc["starts_at"]})
    return bc, 201


@bp.get("/broadcasts/<broadcast_id>")
@auth.access("read")
def get_broadcast(broadcast_id: str):
    bc = ctl().broadcasts.get(broadcast_id)
    auth.require_devices(bc["devices"])
    return bc


@bp.delete("/broadcasts/<broadcast_id>")
@auth.access("draft")
def cancel_broadcast(broadcast_id: str):
    auth.require_devices(ctl().broadcasts.get(broadcast_id)["devices"])
    bc = ctl().cancel_broadcast(broadcast_id, by=auth.current_user().username)
    auth.audit("broadcast_cancelled", broadcast_id)
    return bc


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
