"""JSON API of bulletins: the texts and recordings officials prepare, and their render progress."""

from __future__ import annotations

from flask import Blueprint, jsonify

from controller.plans import use_cases as plans
from web import auth
from web.api import body, ctl

bp = Blueprint("api_bulletins", __name__, url_prefix="/api")


@bp.get("/bulletins")
@auth.access("read")
def list_bulletins():
    return jsonify([b.to_dict() for b in plans.visible_bulletins(ctl(), auth.actor())])


@bp.post("/bulletins")
@auth.access("draft")
def add_bulletin():
    d = body()
    return plans.add_bulletin(ctl(), auth.actor(), d.get("title", ""), d.get("text"), script=d.get("script"),
                              progress_id=d.get("progress_id"), ocr_ack=d.get("ocr_ack", False)).to_dict(), 201


@bp.get("/bulletins/<bulletin_id>")
@auth.access("read")
def get_bulletin(bulletin_id: str):
    return plans.visible_bulletin(ctl(), auth.actor(), bulletin_id).to_dict()


@bp.get("/render-progress/<progress_id>")
@auth.access("draft")
def render_progress(progress_id: str):
    """How far the caller's own render named ``progress_id`` has come (the compose page polls this)."""
    return ctl().render_progress.get(progress_id, auth.actor().username).to_dict()


@bp.post("/scripts")
@auth.access("draft")
def prepare_script():
    """The draft script of a pasted document, what was left out, and the normalized reading; stores nothing."""
    return ctl().bulletins.prepare(body().get("text")).to_dict()
