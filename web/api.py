"""The JSON API's shared parts: the request body, error answers, health and the public key.

The routes live by resource in ``api_*`` modules (bulletins, broadcasts, emergencies,
units, devices, people, security, fleet); :func:`init_app` registers the ones of this
package's core and the error handlers every ``/api/...`` answer shares.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from controller.errors import InputError, finite_number
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


def number_arg(name: str, default: float, lo: float, hi: float) -> float:
    """A number from the query string, clamped to [lo, hi]; NaN and infinities are refused."""
    return finite_number(request.args.get(name), name, default, lo, hi)


@bp.get("/health")
@auth.public
def health():
    c = ctl()
    return {"status": "ok", "mqtt_connected": c.mqtt.connected.is_set(), "signing_key": c.signer.kid}


@bp.get("/pubkey")
@auth.public
def pubkey():
    return ctl().public_key()


@bp.get("/jobs")
@auth.access("manage")
def jobs() -> Any:
    return jsonify([j.to_dict() for j in ctl().jobs.jobs()])


def _input_error(exc: InputError):
    return jsonify(exc.to_dict()), exc.status


def _http_error(exc: HTTPException):
    if not request.path.startswith("/api/"):
        return exc
    messages = {404: "Không tìm thấy.", 405: "Phương thức không được hỗ trợ.", 413: "Dữ liệu gửi lên quá lớn."}
    return jsonify({"error": messages.get(exc.code or 0, exc.description), "code": exc.name.lower().replace(" ", "_")}), exc.code


def init_app(app: Flask) -> None:
    """The core blueprint, the resources of bulletins, broadcasts, emergencies, units and devices, and the error handlers."""
    from web import api_broadcasts, api_bulletins, api_devices, api_emergencies, api_units

    app.register_blueprint(bp)
    for module in (api_bulletins, api_broadcasts, api_emergencies, api_units, api_devices):
        app.register_blueprint(module.bp)
    app.register_error_handler(InputError, _input_error)
    app.register_error_handler(HTTPException, _http_error)
