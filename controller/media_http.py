"""``GET /media/<sha256>.<ext>``: content-addressed media for devices, with HTTP Range.

Only names of the exact form ``<64 hex>.ogg|mp3`` that the database knows are served,
from the media store and nowhere else, so no path can escape it.  Devices authenticate
with HTTP Basic and their broker user name and password, checked against the stored
PBKDF2 hash in constant time (``[security] media_requires_auth``).
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, current_app, request, send_file

bp = Blueprint("media", __name__)

_NAME_RE = re.compile(r"^([0-9a-f]{64})\.(ogg|mp3)$")
_MIME = {"ogg": "audio/ogg", "mp3": "audio/mpeg"}


def _device_authenticated(controller) -> bool:
    if not controller.config.security.media_requires_auth:
        return True
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username or auth.password is None:
        return False
    return controller.security.credentials.check_device(auth.username, auth.password) is not None


def _known(controller, sha256: str, ext: str) -> bool:
    with controller.db.tx() as db:
        return db.execute("SELECT 1 FROM media WHERE sha256 = ? AND ext = ?", [sha256, ext]).fetchone() is not None


@bp.get("/media/<name>")
def media(name: str):
    controller = current_app.extensions["loaxa"]
    if not _device_authenticated(controller):
        return Response("device credentials required\n", 401, {"WWW-Authenticate": 'Basic realm="loaxa-media"'},
                        mimetype="text/plain")
    m = _NAME_RE.match(name)
    if not m or not _known(controller, m.group(1), m.group(2)):
        abort(404)
    path = controller.config.media_dir / name
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=_MIME[m.group(2)], conditional=True, etag=m.group(1), max_age=31536000)
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response
