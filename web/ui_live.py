"""The "Phát trực tiếp" page: pick the targets and a priority, then speak into the browser's microphone.

The page only lists what the viewer may target; ``web/static/live.js`` records with
getUserMedia and MediaRecorder and sends the chunks to ``/api/live`` (:mod:`web.api_live`).
"""

from __future__ import annotations

from flask import Blueprint, render_template

from web import auth
from web.ui_base import tree_rows

bp = Blueprint("ui_live", __name__)


@bp.get("/live")
@auth.access("live")
def page():
    return render_template("live.html", title="Phát trực tiếp", tree=tree_rows())
