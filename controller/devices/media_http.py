"""``GET /media/<sha256>.<ext>``: content-addressed media for devices, with HTTP Range.

Only names of the exact form ``<64 hex>.ogg|mp3`` that the database knows are served,
from the media store and nowhere else, so no path can escape it.  Devices authenticate
with HTTP Basic and their broker user name and password, checked against the stored
PBKDF2 hash in constant time (``[security] media_requires_auth``), and may then fetch only
media addressed to them (:mod:`controller.devices.media_access`).  A refusal answers 404, like an
unknown file, so a device cannot probe which media exist.

``POST /device/key`` takes, once and only when asked, the key of a pole enrolled before
device keys (:mod:`controller.devices.key_migration`).

``GET /device/plan`` answers the authenticated device's latest signed plan, exactly as
published: a device that holds no plan of its own (new, or its storage wiped) checks the
retained copy the broker hands it against this one, since a broker restored from an old
save may hold an older plan.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from flask import Blueprint, Response, abort, current_app, request, send_file

from controller.devices.media_access import MEDIA_NAME_RE, MEDIA_TYPES, Access

if TYPE_CHECKING:
    from controller.service import Controller

bp = Blueprint("media", __name__)

_NAME_RE = MEDIA_NAME_RE
_MIME = MEDIA_TYPES


def _authenticated_device(controller: Controller) -> str | None:
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username or auth.password is None:
        return None
    return controller.security.credentials.check_device(auth.username, auth.password)


@bp.get("/device/plan")
def device_plan() -> Response:
    controller = current_app.extensions["loaxa"]
    if controller.config.security.media_requires_auth:
        device_id = _authenticated_device(controller)
        if device_id is None:
            return Response("device credentials required\n", 401,
                            {"WWW-Authenticate": 'Basic realm="loaxa-media"'}, mimetype="text/plain")
    else:
        device_id = request.args.get("device", "")
    payload = controller.dispatcher.current_payload(device_id) if device_id else None
    if payload is None:
        abort(404)
    return Response(payload, mimetype="application/octet-stream", headers={"Cache-Control": "no-store"})


@bp.post("/device/key")
def device_key() -> Response:
    """A pole enrolled before device keys sends its key's public half, once, when asked (key_migration)."""
    controller = current_app.extensions["loaxa"]
    device_id = _authenticated_device(controller)
    if device_id is None:
        return Response("device credentials required\n", 401,
                        {"WWW-Authenticate": 'Basic realm="loaxa-media"'}, mimetype="text/plain")
    kid = controller.key_migration.accept(device_id, request.get_json(silent=True))
    return Response(json.dumps({"device_id": device_id, "kid": kid}), 201, mimetype="application/json")


@bp.get("/media/<name>")
def media(name: str) -> Response:
    controller = current_app.extensions["loaxa"]
    device_id = None
    if controller.config.security.media_requires_auth:
        device_id = _authenticated_device(controller)
        if device_id is None:
            return Response("device credentials required\n", 401,
                            {"WWW-Authenticate": 'Basic realm="loaxa-media"'}, mimetype="text/plain")
    m = _NAME_RE.match(name)
    if not m:
        abort(404)
    sha256, ext = m.groups()
    access = controller.media_access
    if device_id is None:
        if not access.known(sha256, ext):
            abort(404)
    elif access.decide(device_id, sha256, ext) is not Access.ALLOWED:
        abort(404)
    path = controller.config.media_dir / name
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=_MIME[ext], conditional=True, etag=sha256, max_age=31536000)
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response
