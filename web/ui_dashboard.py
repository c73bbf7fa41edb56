"""The dashboard: the next broadcasts and their readiness, devices in trouble, approvals waiting, now playing."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from controller.devices import use_cases as devices
from controller.plans import use_cases as plans
from web import auth
from web.ui_base import ctl, scope_devices

bp = Blueprint("ui_dashboard", __name__)

UPCOMING_HOURS = 48
SHOWN = 15  # rows per list: the page stays light on a weak 4G phone; the devices page has them all
PENDING = "pending_approval"


def overview() -> dict[str, Any]:
    """Everything the dashboard shows, limited to the viewer's devices."""
    in_scope = {d.id: d for d in scope_devices()}
    upcoming = []
    for slot in plans.readiness_in_scope(ctl(), auth.actor(), hours=UPCOMING_HOURS, limit=200):
        if any(slot.counts.values()):
            upcoming.append({**slot.to_dict(), "readiness": {"status": slot.status, **slot.counts}})
    titles = {b.id: b.title for b in ctl().bulletins.list()}
    pending = [{**bc.to_dict(), "title": titles.get(bc.bulletin_id, "")} for bc in ctl().broadcasts.list(PENDING)
               if set(bc.devices) & in_scope.keys()]
    trouble = [d for d in in_scope.values() if not d.online or d.state.get("faults") or d.state.get("kill_switch")]
    trouble.sort(key=lambda d: (d.online, d.last_seen or "", d.id))
    playing = [d for d in in_scope.values() if d.online and d.state.get("playing")]
    return {"upcoming": upcoming[:SHOWN], "pending": pending, "trouble": trouble[:SHOWN], "trouble_total": len(trouble),
            "playing": devices.with_now_playing(ctl(), playing[:SHOWN]), "playing_total": len(playing),
            "link": "online" if devices.broker_link(ctl()).connected else "unknown",
            "links_down": plans.links_down(ctl(), auth.actor()),
            "counts": {"devices": len(in_scope), "online": sum(1 for d in in_scope.values() if d.online),
                       "pending": len(pending), "upcoming": len(upcoming)}}


@bp.get("/")
@auth.access("read")
def index():
    return render_template("dashboard.html", title="Tổng quan", o=overview())
