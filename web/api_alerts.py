"""JSON API of official warnings (CAP 1.2): push, upload, live alerts, decisions, stop, sources, policies, geography.

A thin adapter over :class:`controller.alerts.service.AlertService`: each view reads the
request, checks who may act, calls one controller function and returns its answer.
``POST /api/alerts/push`` is for provincial systems, not people: it carries the push
source's own token (``Authorization: Bearer``), which the controller checks.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify, request

from controller.alerts.views import AlertView
from controller.errors import InputError
from web import auth
from web.api import body, ctl

bp = Blueprint("api_alerts", __name__, url_prefix="/api/alerts")


def _actor() -> str:
    user = auth.current_user()
    return user.username if user else ""


def _document() -> bytes:
    """The CAP document of a request: an uploaded file, a JSON ``document`` field, or the raw body."""
    if "document" in request.files:
        return request.files["document"].read()
    if request.is_json:
        text = body().get("document")
        if not isinstance(text, str) or not text.strip():
            raise InputError("no_document", "Cần nội dung bản tin CAP (trường 'document').", "document")
        return text.encode()
    data = request.get_data(cache=False)
    if not data:
        raise InputError("no_document", "Cần nội dung bản tin CAP (XML).", "document")
    return data


def _visible(alert: AlertView) -> bool:
    s = auth.scope()
    return s.whole_tree or any(s.has_unit(u) for u in alert.unit_ids())


def _in_scope(alert_id: str) -> AlertView:
    alert = ctl().alerts.get(alert_id)
    for unit_id in alert.unit_ids():
        auth.require_unit(unit_id)
    return alert


def _units(data: dict[str, Any]) -> list[str] | None:
    units = data.get("units")
    if units is None:
        return None
    if not isinstance(units, list) or not all(isinstance(u, str) for u in units):
        raise InputError("invalid_units", "'units' phải là danh sách mã đơn vị.", "units")
    for u in units:
        auth.require_unit(u)
    return units


def _text(data: dict[str, Any], name: str, limit: int = 400) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise InputError(f"invalid_{name}", f"'{name}' không hợp lệ (tối đa {limit} ký tự).", name)
    return value


@bp.post("/push")
@auth.device_endpoint  # the push source's own token authenticates it, in the controller
def push():
    header = request.headers.get("Authorization", "")
    kind, _, token = header.partition(" ")
    return ctl().alerts.push(token.strip() if kind.lower() == "bearer" else None, request.get_data(cache=False)).to_dict(), 202


@bp.post("/upload")
@auth.access("approve")
def upload():
    return ctl().alerts.upload(_document(), _actor()).to_dict(), 201


@bp.get("")
@auth.access("read")
def list_alerts():
    live = request.args.get("live", "") in ("1", "true")
    return jsonify([a.to_dict() for a in ctl().alerts.list(live_only=live) if _visible(a)])


@bp.get("/<alert_id>")
@auth.access("read")
def get_alert(alert_id: str):
    alert = ctl().alerts.get(alert_id)
    if not _visible(alert):
        auth.require_unit(alert.unit_ids()[0] if alert.units else "")
    return alert.to_dict()


@bp.post("/<alert_id>/approve")
@auth.access("approve")
def approve(alert_id: str):
    _in_scope(alert_id)
    data = body()
    return ctl().alerts.approve(alert_id, _actor(), _units(data), _text(data, "script", 4000),
                                _text(data, "comment")).to_dict()


@bp.post("/<alert_id>/reject")
@auth.access("approve")
def reject(alert_id: str):
    _in_scope(alert_id)
    data = body()
    return ctl().alerts.reject(alert_id, _actor(), _units(data), _text(data, "comment")).to_dict()


@bp.post("/<alert_id>/stop")
@auth.access("emergency")
def stop(alert_id: str):
    _in_scope(alert_id)
    data = request.get_json(silent=True)
    return ctl().alerts.stop(alert_id, _actor(), _text(data if isinstance(data, dict) else {}, "reason")).to_dict()


@bp.get("/sources")
@auth.access("manage")
def sources():
    if request.args.get("all", "") in ("1", "true"):
        return jsonify([s.to_dict() for s in ctl().alerts.all_source_views()])
    return jsonify([s.to_dict() for s in ctl().alerts.source_views()])


@bp.post("/sources")
@auth.access("manage")
def add_source():
    return ctl().alerts.add_source(body(), _actor()).to_dict(), 201


@bp.patch("/sources/<source_id>")
@auth.access("manage")
def edit_source(source_id: str):
    return ctl().alerts.edit_source(source_id, body(), auth.actor()).to_dict()


@bp.post("/sources/<source_id>/disable")
@auth.access("manage")
def disable_source(source_id: str):
    return ctl().alerts.set_source_enabled(source_id, False, auth.actor()).to_dict()


@bp.post("/sources/<source_id>/enable")
@auth.access("manage")
def enable_source(source_id: str):
    return ctl().alerts.set_source_enabled(source_id, True, auth.actor()).to_dict()


@bp.get("/policies")
@auth.access("read")
def policies():
    return jsonify([{"unit_id": u, "repeat_every_min": p.repeat_every_min, "default_action": p.default_action,
                     "rules": [r.describe() for r in p.rules]} for u, p in ctl().alerts.policies().items()])


@bp.put("/policies/<unit_id>")
@auth.access("manage")
def set_policy(unit_id: str):
    auth.require_unit(unit_id)
    return ctl().alerts.set_policy(unit_id, body(), _actor()).to_dict()


@bp.post("/geography")
@auth.access("manage")
def geography():
    if not auth.scope().whole_tree:
        raise auth.Refused("out_of_scope", "Chỉ quản trị toàn hệ thống được nhập địa giới.")
    data = request.files["geojson"].read() if "geojson" in request.files else request.get_data(cache=False)
    return ctl().alerts.import_geography(data, _actor()).to_dict(), 201


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
