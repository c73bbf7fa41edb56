"""The "Tiếp sóng" pages: schedule a relay programme (VOV, the province) like a bulletin, and
the administrator's list of relay sources with their test.

The relay form posts to ``/api/relays`` (:mod:`web.api_streams`); approval, guardrails and the
calendar then treat it as any broadcast.  The sources page registers sources through
``/api/relay-sources`` and tests them through the controller's probe, whose recording the
browser plays (``web/static/relay_sources.js``).
"""

from __future__ import annotations

from flask import Blueprint, render_template

from web import auth
from web.ui_base import ctl, tree_rows

bp = Blueprint("ui_relays", __name__)


@bp.get("/relays")
@auth.access("draft")
def page():
    return render_template("relays.html", title="Tiếp sóng", tree=tree_rows(),
                           sources=[s.to_dict() for s in ctl().streaming.sources.list()])


@bp.get("/relay-sources")
@auth.access("manage")
def sources_page():
    sources = [s.to_dict() for s in ctl().streaming.sources.list()]
    names = {s["id"]: s["name"] for s in sources}
    return render_template("relay_sources.html", title="Nguồn tiếp sóng", tree=tree_rows(), sources=sources,
                           names=names)
