"""The compose page's upload step: a document, a scanned PDF or a phone photo, read to text.

``POST /api/compose/intake`` takes the file (multipart ``file``) and an optional
``progress_id``; while the server reads (OCR takes seconds a page) the page polls
``/api/render-progress/<id>`` for the stage.  The answer is the text, the page images to
show beside it and the low-confidence OCR words (see :mod:`controller.plans.uploads`).
Nothing is stored.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, request

from controller.errors import InputError
from controller.plans import use_cases as plans
from controller.plans.bulletins import MAX_TEXT_CHARS
from web import auth
from web.ui_base import ctl, json_body
from web.ui_compose import AUDIO_EXTS, MAX_UPLOAD_BYTES, reading, schedule_request, source_text

bp = Blueprint("api_compose", __name__)

@bp.post("/api/compose/intake")
@auth.access("draft")
def intake():
    upload = request.files.get("file")
    if not upload or not upload.filename:
        raise InputError("no_file", "Chưa chọn tệp.", "file")
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError("too_large", "Tệp lớn quá 50 MB.", "file")
    return plans.read_intake(ctl(), auth.actor(), data, upload.filename, request.form.get("progress_id")).to_dict()


@bp.post("/api/compose/prepare")
@auth.access("draft")
def prepare():
    """Clean a pasted text or an uploaded file (any intake format) and show how it will be read; stores nothing.

    The source text comes back too, so the page can send it with the edited script when it
    asks for the preview (``POST /api/bulletins``).
    """
    text = source_text()
    return {**ctl().bulletins.prepare(text).to_dict(), "text": text}


@bp.post("/api/compose/reading")
@auth.access("draft")
def reread():
    script = json_body().get("script", "")
    if not isinstance(script, str) or not script.strip():
        raise InputError("empty_text", "Nội dung bản tin đang trống.", "script")
    if len(script) > MAX_TEXT_CHARS:
        raise InputError("text_too_long", "Nội dung quá dài; hãy chia thành nhiều bản tin.", "script")
    return {"normalized": reading(script)}


@bp.post("/api/compose/recording")
@auth.access("draft")
def recording():
    """A recorded announcement as the bulletin's content instead of synthesized speech."""
    upload = request.files.get("file")
    if not upload or not upload.filename:
        raise InputError("no_file", "Chưa chọn tệp ghi âm.", "audio")
    if Path(upload.filename).suffix.lower() not in AUDIO_EXTS:
        raise InputError("bad_file_type", "Tệp ghi âm phải là MP3, WAV, M4A hoặc OGG.", "audio")
    title = (request.form.get("title") or Path(upload.filename).stem).strip()[:300]
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError("too_large", "Tệp ghi âm lớn quá 50 MB.", "audio")
    return plans.add_recording(ctl(), auth.actor(), title, data, upload.filename,
                              request.form.get("progress_id")).to_dict(), 201


@bp.post("/api/compose/submit")
@auth.access("draft")
def submit():
    """Schedule a prepared bulletin on targets within the viewer's area; approval follows."""
    d = json_body()
    targets = d.get("targets")
    if not isinstance(targets, list) or not targets:
        raise InputError("no_targets", "Chọn ít nhất một thôn, xã hoặc cụm loa để phát.", "targets")
    auth.require_targets(targets)
    priority = d.get("priority", "normal")
    if priority == "emergency":
        raise InputError("use_emergency_page", "Phát khẩn cấp dùng trang Khẩn cấp riêng.", "priority")
    when = schedule_request(d)
    return plans.schedule_broadcast(ctl(), auth.actor(), d.get("bulletin_id"), when.get("starts_at"), targets, priority,
                                    confirm_duplicate=d.get("confirm_duplicate", False),
                                    **({"override": d["override"]} if d.get("override") else {}),
                                    **{k: v for k, v in when.items() if k != "starts_at"}).to_dict(), 201


@bp.post("/api/compose/schedule-facts")
@auth.access("draft")
def schedule_facts():
    """The schedule form's length in minutes (flagged past the limit), occurrence count and dates; stores nothing."""
    d = json_body()
    return plans.schedule_form_facts(ctl(), auth.actor(), d.get("bulletin_id"), d).to_dict()
