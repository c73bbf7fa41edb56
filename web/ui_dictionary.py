"""The commune dictionary page and its JSON endpoints.

The readings themselves are the controller's (:mod:`controller.dictionary`): this module
only parses the request, calls it, and renders the answer.
"""

from __future__ import annotations

from flask import Blueprint, Flask, render_template

from controller.errors import InputError
from controller.plans.bulletins import MAX_TEXT_CHARS
from web import auth
from web.ui_base import ctl, json_body, viewer

bp = Blueprint("ui_dictionary", __name__)

KIND_VI = {"abbreviation": "Từ viết tắt", "foreign": "Từ nước ngoài"}


def _actor() -> str:
    v = viewer()
    return v.username if v else ""


@bp.get("/dictionary")
@auth.access("draft")
def page():
    entries = ctl().dictionary.entries()
    return render_template("dictionary.html", title="Từ điển của xã", entries=entries, kinds=KIND_VI)


@bp.get("/api/dictionary")
@auth.access("draft")
def list_entries():
    return {"entries": [e.to_dict() for e in ctl().dictionary.entries()]}


@bp.post("/api/dictionary")
@auth.access("draft")
def put_entry():
    """Add or change one reading: ``{"key": "HTXDV", "reading": "hợp tác xã dịch vụ", "kind": "abbreviation"}``."""
    d = json_body()
    entry = ctl().dictionary.put(d.get("key"), d.get("reading"), d.get("kind", "abbreviation"),
                                 actor=_actor(), ip=auth.client_ip())
    return entry.to_dict(), 201


@bp.delete("/api/dictionary/<path:key>")
@auth.access("draft")
def delete_entry(key: str):
    ctl().dictionary.remove(key, actor=_actor(), ip=auth.client_ip())
    return {"removed": key}


@bp.post("/api/compose/review")
@auth.access("draft")
def review():
    """How a script will be read with the commune dictionary, and the words to look at:
    upper-case tokens spelled because nothing explained them, and foreign words."""
    script = json_body().get("script", "")
    if not isinstance(script, str) or not script.strip():
        raise InputError("empty_text", "Nội dung bản tin đang trống.", "script")
    if len(script) > MAX_TEXT_CHARS:
        raise InputError("text_too_long", "Nội dung quá dài; hãy chia thành nhiều bản tin.", "script")
    return ctl().dictionary.review(script, ctl().bulletins.script_settings.dictionary()).to_dict()


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
