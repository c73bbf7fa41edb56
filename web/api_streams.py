"""JSON API of live audio: relay sources, their test and what the test heard.

A thin adapter over :mod:`controller.streaming`: validation, audit and the probe live there.
"""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify, send_file

from controller.plans import use_cases as plans
from web import auth
from web.api import body, ctl

bp = Blueprint("api_streams", __name__, url_prefix="/api")


def _actor() -> str:
    user = auth.current_user()
    return user.username if user else ""


@bp.get("/relay-sources")
@auth.access("read")
def relay_sources():
    return jsonify([s.to_dict() for s in ctl().streaming.sources.list()])


@bp.post("/relay-sources")
@auth.access("manage")
def add_relay_source():
    src = ctl().streaming.add_source(body(), _actor(), auth.client_ip())
    return jsonify(src.to_dict()), 201


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
    return ctl().streaming.sources.get(source_id).to_dict()


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
    return plans.schedule_relay(ctl(), auth.actor(), **{k: d[k] for k in fields if k in d}), 201


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
