"""Media for people: the preview and approval players, behind sign-in.

``/media/...`` is for devices (they authenticate with their broker credentials); a person
listening to a preview is authenticated by their session instead, here.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, send_file

from controller.devices.media_access import person_may_hear
from web import auth
from web.ui_base import ctl

bp = Blueprint("ui_media", __name__)

_NAME_RE = re.compile(r"^([0-9a-f]{64})\.(ogg|mp3)$")
_MIME = {"ogg": "audio/ogg", "mp3": "audio/mpeg"}


@bp.get("/ui/media/<name>")
@auth.access("read")
def media(name: str):
    m = _NAME_RE.match(name)
    if not m:
        abort(404)
    with ctl().db.tx() as db:
        known = db.execute("SELECT 1 FROM media WHERE sha256 = ? AND ext = ?", [m.group(1), m.group(2)]).fetchone()
    path = ctl().config.media_dir / name
    if not known or not path.is_file() or not person_may_hear(
            ctl().db, m.group(1), auth.may_see_author, auth.scope().has_device):
        abort(404)
    response = send_file(path, mimetype=_MIME[m.group(2)], conditional=True, etag=m.group(1))
    return response
