"""JSON API of live speech ("Phát trực tiếp"): start a session, send the microphone's chunks, end it.

A thin adapter over :class:`controller.streaming.live.LiveSessions`: the role, scope, quiet
hours, kill switch, conflicts and audit are checked there.
"""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify, request, send_file

from web import auth
from web.api import body, ctl

bp = Blueprint("api_live", __name__, url_prefix="/api")


@bp.get("/live")
@auth.access("read")
def live_sessions():
    return jsonify([s.to_dict() for s in ctl().live.recent(auth.actor())])


@bp.post("/live")
@auth.access("live")
def start_live():
    d = body()
    session = ctl().live.start(auth.actor(), d.get("targets"), d.get("priority", "priority"), d.get("override"))
    return session.to_dict(), 201


@bp.get("/live/<session_id>")
@auth.access("read")
def live_session(session_id: str):
    return ctl().live.get(session_id).to_dict()


@bp.post("/live/<session_id>/audio")
@auth.access("live")
def live_audio(session_id: str):
    ctl().live.feed(auth.actor(), session_id, request.get_data(cache=False))
    return {"ok": True}


@bp.post("/live/<session_id>/end")
@auth.access("live")
def end_live(session_id: str):
    return ctl().live.end(auth.actor(), session_id).to_dict()


@bp.get("/live/<session_id>/recording")
@auth.access("audit")
def live_recording(session_id: str):
    return send_file(ctl().live.recording(auth.actor(), session_id), mimetype="audio/ogg")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
