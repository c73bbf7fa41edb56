"""An editor's own work ("Việc của tôi") and one broadcast's detail page, opened from the calendar."""

from __future__ import annotations

from flask import Blueprint, render_template

from controller.plans import worklists
from web import auth
from web.ui_base import ctl

bp = Blueprint("ui_worklists", __name__)


@bp.get("/my-work")
@auth.access("draft")
def my_work():
    return render_template("my_work.html", title="Việc của tôi", w=worklists.my_work(ctl(), auth.actor()))


@bp.get("/broadcasts/<broadcast_id>")
@auth.access("read")
def broadcast_page(broadcast_id: str):
    b = worklists.broadcast_detail(ctl(), auth.actor(), broadcast_id)
    return render_template("broadcast.html", title=(b.facts.title if b.facts else "") or broadcast_id, b=b)
