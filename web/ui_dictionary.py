"""The commune dictionary page (its JSON endpoints are :mod:`web.api_dictionary`).

The readings themselves are the controller's (:mod:`controller.dictionary`): this module
only parses the request, calls it, and renders the answer.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from web import auth
from web.ui_base import ctl

bp = Blueprint("ui_dictionary", __name__)

KIND_VI = {"abbreviation": "Từ viết tắt", "foreign": "Từ nước ngoài"}


@bp.get("/dictionary")
@auth.access("draft")
def page():
    entries = ctl().dictionary.entries()
    return render_template("dictionary.html", title="Từ điển của xã", entries=entries, kinds=KIND_VI)
