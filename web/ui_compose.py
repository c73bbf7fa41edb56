"""Compose a bulletin: text or a document, PDF, scan or photo → cleaned script → spoken reading → preview → schedule.

The page drives these JSON endpoints step by step; every one validates its input and
stores nothing on refusal, so an official can fix a field and retry without losing work.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, render_template, request

from controller.plans import read_upload
from controller.errors import InputError
from loaxa.local_time import LOCAL_TZ
from loaxa.wire_time import utcnow
from controller.plans import use_cases as plans
from controller.plans.schedule_facts import timing_from_form
from web import auth
from web.ui_base import ctl, json_body, tree_rows

log = logging.getLogger(__name__)

bp = Blueprint("ui_compose", __name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
AUDIO_EXTS = {".mp3", ".wav", ".m4a", ".ogg", ".oga", ".opus"}


# -- reading the source ----------------------------------------------------------------------
def source_text() -> Any:
    """The text an official pasted or uploaded; the bulletin cleaner checks it is neither empty nor too long.

    An uploaded file is read by its content, whatever its name (text, Word, PDF, scan or
    photo; see :func:`controller.plans.read_upload`)."""
    upload = request.files.get("file")
    if not (upload and upload.filename):
        return json_body().get("text", "") if request.is_json else request.form.get("text", "")
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError("too_large", "Tệp lớn quá 50 MB.", "file")
    return read_upload(data, upload.filename).text


def reading(script: str) -> str:
    return plans.reading(ctl(), script)


# -- scheduling input ------------------------------------------------------------------------
def schedule_request(d: dict[str, Any]) -> dict[str, Any]:
    """The schedule form's fields as broadcast timing (read by :func:`controller.plans.schedule_facts.timing_from_form`)."""
    return timing_from_form(d)


# -- pages and endpoints ---------------------------------------------------------------------
@bp.get("/compose")
@auth.access("draft")
def compose():
    today = utcnow().astimezone(LOCAL_TZ).date().isoformat()
    return render_template("compose.html", title="Soạn bản tin", tree=tree_rows(), today=today)
