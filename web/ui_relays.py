"""The "Tiếp sóng" pages: schedule a relay programme (VOV, the province) like a bulletin, and
the administrator's list of relay sources with their test.

The relay form posts to ``/api/relays`` (:mod:`web.api_streams`); approval, guardrails and the
calendar then treat it as any broadcast.  The sources page registers sources through
``/api/relay-sources`` and tests them through the controller's probe, whose recording the
browser plays (``web/static/relay_sources.js``).  Each source has its own page to edit it,
set its fallback notice (picked from the media store or uploaded) and remove it.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from controller.streaming import use_cases as streaming
from controller.streaming.sources import NOTICE_MAX_S
from web import auth
from web.ui_base import ctl, tree_rows

bp = Blueprint("ui_relays", __name__)


@bp.get("/relays")
@auth.access("draft")
def page():
    return render_template("relays.html", title="Tiếp sóng", tree=tree_rows(),
                           sources=streaming.visible_sources(ctl(), auth.actor()))


@bp.get("/relay-sources")
@auth.access("manage")
def sources_page():
    sources = [s.to_dict() for s in ctl().streaming.sources.list()]
    names = {s["id"]: s["name"] for s in sources}
    return render_template("relay_sources.html", title="Nguồn tiếp sóng", tree=tree_rows(), sources=sources,
                           names=names, notices=streaming.notice_choices(ctl(), auth.actor()))


@bp.get("/relay-sources/<source_id>")
@auth.access("manage")
def source_page(source_id: str):
    page = streaming.source_page(ctl(), auth.actor(), source_id)
    return render_template("relay_source.html", title=f"Nguồn {page.source.name}", tree=tree_rows(), page=page,
                           s=page.source.to_dict(), notice_max_s=int(NOTICE_MAX_S))
