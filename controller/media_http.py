"""``GET /media/<sha256>.<ext>``: content-addressed media for devices, with HTTP Range.

Only names of the exact form ``<64 hex>.ogg|mp3`` are served, from the media store and
nowhere else, so no path can escape it.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, send_file

bp = Blueprint("media", __name__)

_NAME_RE = re.compile(r"^([0-9a-f]{64})\.(ogg|mp3)$")
_MIME = {"ogg": "audio/ogg", "mp3": "audio/mpeg"}


@bp.get("/media/<name>")
def media(name: str):
    m = _NAME_RE.match(name)
    if not m:
        abort(404)
    controller = current_app.extensions["loaxa"]
    path = controller.config.media_dir / name
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=_MIME[m.group(2)], conditional=True, etag=m.group(1), max_age=31536000)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
