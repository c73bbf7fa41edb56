"""JSON API of live audio: relay sources, their test and what the test heard.

A thin adapter over :mod:`controller.streaming`: validation, audit and the probe live there.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, jsonify, request, send_file

from controller.errors import InputError
from controller.plans import use_cases as plans
from controller.streaming import use_cases as streaming
from controller.streaming.sources import NOTICE_MAX_BYTES
from web import auth
from web.api import body, ctl
from web.ui_compose import AUDIO_EXTS

bp = Blueprint("api_streams", __name__, url_prefix="/api")


@bp.get("/relay-sources")
@auth.access("read")
def relay_sources():
    return jsonify([s.to_dict() for s in streaming.visible_sources(ctl(), auth.actor())])


@bp.post("/relay-sources")
@auth.access("manage")
def add_relay_source():
    src = streaming.add_source(ctl(), auth.actor(), body())
    return jsonify(src.to_dict()), 201


@bp.patch("/relay-sources/<source_id>")
@auth.access("manage")
def edit_relay_source(source_id: str):
    return streaming.edit_source(ctl(), auth.actor(), source_id, body()).to_dict()


@bp.delete("/relay-sources/<source_id>")
@auth.access("manage")
def remove_relay_source(source_id: str):
    return streaming.remove_source(ctl(), auth.actor(), source_id).to_dict()


@bp.post("/relay-sources/<source_id>/notice")
@auth.access("manage")
def upload_relay_notice(source_id: str):
    """The fallback notice as a file (multipart ``file``): a short recording, mastered and set on the source."""
    upload = request.files.get("file")
    if not upload or not upload.filename:
        raise InputError("no_file", "Chưa chọn tệp ghi âm thông báo.", "notice")
    if Path(upload.filename).suffix.lower() not in AUDIO_EXTS:
        raise InputError("bad_file_type", "Tệp thông báo phải là MP3, WAV, M4A hoặc OGG.", "notice")
    data = upload.read(NOTICE_MAX_BYTES + 1)
    if len(data) > NOTICE_MAX_BYTES:
        raise InputError("too_large", f"Tệp thông báo lớn quá {NOTICE_MAX_BYTES // (1024 * 1024)} MB.", "notice")
    return streaming.upload_notice(ctl(), auth.actor(), source_id, data, upload.filename).to_dict()


@bp.get("/relay-notices")
@auth.access("manage")
def relay_notices():
    """Short recordings of the store an administrator may pick as a source's fallback notice."""
    return jsonify([n.to_dict() for n in streaming.notice_choices(ctl(), auth.actor())])


@bp.post("/relay-sources/probe")
@auth.access("manage")
def probe_relay_url():
    d = body()
    return ctl().streaming.probe_url(d.get("url"), d.get("kind")).to_dict()


@bp.get("/relay-previews/<token>")
@auth.access("manage")
def relay_preview(token: str):
    return send_file(ctl().streaming.preview(token), mimetype="audio/ogg", max_age=0)


@bp.get("/relay-sources/<source_id>")
@auth.access("read")
def relay_source(source_id: str):
    return streaming.visible_source(ctl(), auth.actor(), source_id).to_dict()


@bp.post("/relay-sources/<source_id>/probe")
@auth.access("manage")
def probe_relay_source(source_id: str):
    return ctl().streaming.probe_source(source_id).to_dict()


@bp.post("/relays")
@auth.access("draft")
def schedule_relay():
    d = body()
    fields = ("source_id", "starts_at", "targets", "priority", "title", "duration_min", "duration_s", "rule",
              "rule_text", "order", "override", "draft")
    return plans.schedule_relay(ctl(), auth.actor(), **{k: d[k] for k in fields if k in d}).to_dict(), 201


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
