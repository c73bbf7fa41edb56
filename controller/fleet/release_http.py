"""What devices fetch and send over the authenticated media channel (HTTP Basic with their
broker credentials, like ``/media``): release files, and diagnostics uploads.

``GET /releases/<version>/<name>`` serves only a published release's manifest, key chain and
listed wheels.  ``POST /fleet/diagnostics`` takes one JSON document from the device itself,
bounded by ``[fleet] diagnostics_max_bytes``.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify, request, send_file

from controller.errors import InputError

bp = Blueprint("fleet_device", __name__)


def _device(controller) -> str | None:
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username or auth.password is None:
        return None
    return controller.security.credentials.check_device(auth.username, auth.password)


def _unauthorized() -> Response:
    return Response("device credentials required\n", 401, {"WWW-Authenticate": 'Basic realm="loaxa-media"'},
                    mimetype="text/plain")


@bp.get("/releases/<version>/<name>")
def release_file(version: str, name: str) -> Response:
    controller = current_app.extensions["loaxa"]
    if controller.config.security.media_requires_auth and _device(controller) is None:
        return _unauthorized()
    path = controller.fleet.releases.file(version, name)
    if path is None:
        abort(404)
    mime = "application/json" if name.endswith(".json") else "application/octet-stream"
    return send_file(path, mimetype=mime, conditional=True, max_age=0 if name.endswith(".json") else 31536000)


@bp.post("/fleet/diagnostics")
def diagnostics() -> Response:
    controller = current_app.extensions["loaxa"]
    device_id = _device(controller)
    if device_id is None:
        claimed = request.headers.get("X-Loaxa-Device", "")
        if controller.config.security.media_requires_auth or not controller.registry.is_device(claimed):
            return _unauthorized()
        device_id = claimed
    limit = controller.fleet.settings.diagnostics_max_bytes
    if (request.content_length or 0) > limit:
        return jsonify({"error": f"larger than {limit} bytes", "code": "too_large"}), 413
    try:
        stored = controller.fleet.care.store_diagnostics(device_id, request.get_data(cache=False)[:limit + 1])
    except InputError as exc:
        return jsonify(exc.to_dict()), 413 if exc.code == "too_large" else 400
    return jsonify(stored.to_dict()), 201
