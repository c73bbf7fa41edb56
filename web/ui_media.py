"""Media for people: the preview and approval players, behind sign-in.

``/media/...`` is for devices (they authenticate with their broker credentials); a person
listening to a preview is authenticated by their session instead, here.
"""

from __future__ import annotations

from flask import Blueprint, abort, send_file

from controller.devices import use_cases as devices
from web import auth
from web.ui_base import ctl

bp = Blueprint("ui_media", __name__)


@bp.get("/ui/media/<name>")
@auth.access("read")
def media(name: str):
    found = devices.media_for_person(ctl(), auth.actor(), name)
    if found is None:
        abort(404)
    response = send_file(found.path, mimetype=found.mimetype, conditional=True, etag=found.sha256, max_age=86400)
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"
    return response
