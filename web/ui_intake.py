"""The compose page's upload step: a document, a scanned PDF or a phone photo, read to text.

``POST /api/compose/intake`` takes the file (multipart ``file``) and an optional
``progress_id``; while the server reads (OCR takes seconds a page) the page polls
``/api/render-progress/<id>`` for the stage.  The answer is the text, the page images to
show beside it and the low-confidence OCR words (see :mod:`controller.plans.uploads`).
Nothing is stored.
"""

from __future__ import annotations

from flask import Blueprint, Flask, request

from controller.errors import InputError
from controller.plans import read_upload
from web import auth
from web.ui_base import ctl, viewer

bp = Blueprint("ui_intake", __name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


@bp.post("/api/compose/intake")
@auth.access("draft")
def intake():
    upload = request.files.get("file")
    if not upload or not upload.filename:
        raise InputError("no_file", "Chưa chọn tệp.", "file")
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError("too_large", "Tệp lớn quá 50 MB.", "file")
    v = viewer()
    progress_id = request.form.get("progress_id")
    progress = ctl().render_progress.start(progress_id, v.username) if progress_id and v else None
    return read_upload(data, upload.filename, progress=progress).to_dict()


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
