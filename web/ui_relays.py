"""The "Tiếp sóng" page: schedule a relay programme (VOV, the province) like a bulletin.

The form posts to ``/api/relays`` (:mod:`web.api_streams`); approval, guardrails and the
calendar then treat it as any broadcast.
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
