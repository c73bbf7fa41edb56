"""The "Cảnh báo" page: official warnings live, their areas, the units they reach and why, the decision
taken per unit, repeats planned and aired, approval of waiting units, and the one-click stop.

Every action on the page goes through the JSON API (``/api/alerts/...``, see :mod:`web.api_alerts`).
"""

from __future__ import annotations

from flask import Blueprint, render_template

from controller.alerts.policy import describe_risk
from web import auth
from web.ui_base import ctl

bp = Blueprint("ui_alerts", __name__)
RECENT = 20


@bp.get("/alerts")
@auth.access("read")
def page():
    s = auth.scope()
    alerts = [a for a in ctl().alerts.list(limit=RECENT + 50)
              if s.whole_tree or any(s.has_unit(u) for u in a.unit_ids())]
    live = [a for a in alerts if a.state == "active"]
    ended = [a for a in alerts if a.state != "active"][:RECENT]
    sources = ctl().alerts.all_source_views() if auth.actor().can("manage") else []
    return render_template("alerts.html", title="Cảnh báo", live=live, ended=ended, describe_risk=describe_risk,
                           sources=sources)

