"""The dashboard: the next broadcasts and their readiness, devices in trouble, approvals waiting, now playing."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template

from web import auth
from web.ui_base import ctl, scope_devices

bp = Blueprint("ui_dashboard", __name__)

UPCOMING_HOURS = 48
SHOWN = 15  # rows per list: the page stays light on a weak 4G phone; the devices page has them all
PENDING = "pending_approval"


def plan_versions() -> dict[str, int]:
    with ctl().db.tx() as db:
        return {r[0]: r[1] for r in db.execute("SELECT device_id, plan_version FROM device_plans")}


def device_readiness(device: dict[str, Any], versions: dict[str, int]) -> str:
    """``offline``, ``ready`` (latest plan applied and media cached) or ``not_ready``."""
    if not device["online"]:
        return "offline"
    latest = versions.get(device["id"], 0)
    if device["plan_version_applied"] >= latest and device["media_ready"]:
        return "ready"
    return "not_ready"


def overview() -> dict[str, Any]:
    """Everything the dashboard shows, limited to the viewer's devices."""
    devices = {d["id"]: d for d in scope_devices()}
    upcoming = []
    for slot in ctl().readiness(hours=UPCOMING_HOURS, limit=200):
        mine = {k: [x for x in slot[k] if (x if isinstance(x, str) else x["device_id"]) in devices]
                for k in ("ready", "not_ready", "offline")}
        if not any(mine.values()):
            continue
        counts = {k: len(v) for k, v in mine.items()}
        status = "offline" if counts["offline"] else "not_ready" if counts["not_ready"] else "ready"
        upcoming.append({**slot, **mine, "readiness": {"status": status, **counts}})
    titles = {b["id"]: b["title"] for b in ctl().bulletins.list()}
    pending = [{**bc, "title": titles.get(bc["bulletin_id"], "")} for bc in ctl().broadcasts.list(PENDING)
               if set(bc["devices"]) & devices.keys()]
    trouble = [d for d in devices.values() if not d["online"] or d["state"].get("faults") or d["state"].get("kill_switch")]
    trouble.sort(key=lambda d: (d["online"], d["last_seen"] or "", d["id"]))
    playing = [d for d in devices.values() if d["online"] and d["state"].get("playing")]
    return {"upcoming": upcoming[:SHOWN], "pending": pending, "trouble": trouble[:SHOWN], "trouble_total": len(trouble),
            "playing": playing[:SHOWN], "playing_total": len(playing),
            "counts": {"devices": len(devices), "online": sum(1 for d in devices.values() if d["online"]),
                       "pending": len(pending), "upcoming": len(upcoming)}}


@bp.get("/")
@auth.access("read")
def index():
    return render_template("dashboard.html", title="Tổng quan", o=overview())


@bp.get("/api/dashboard")
@auth.access("read")
def api_overview():
    return jsonify(overview())
