"""The emergency page: approvers only, a confirmation step, then live delivery status per device.

The same page holds the kill switch (``/api/units/<id>/kill-switch``), the other
"stop everything" control a leader needs in a hurry.

The broadcast itself goes through ``POST /api/emergency`` (signed ``play_now`` on group
topics); this module adds the page and the per-device status the page polls.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from controller.errors import NotFound
from web import auth
from web.ui_base import ctl, scope_devices, tree_rows

bp = Blueprint("ui_emergency", __name__)

STAGES = ("delivered", "started", "finished", "interrupted", "failed", "skipped")


@bp.get("/emergency")
@auth.access("emergency")
def page():
    engaged = {k["unit_id"]: k for k in ctl().security.kill_switches.engaged()}
    return render_template("emergency.html", title="Phát khẩn cấp", tree=tree_rows(), engaged=engaged)


def delivery_status(broadcast_id: str) -> dict[str, Any]:
    """Per targeted device: online or not, and the furthest stage it reported for this broadcast."""
    bc = ctl().broadcasts.get(broadcast_id)
    if bc.get("kind") != "emergency":
        raise NotFound("unknown_emergency", f"Không có lệnh khẩn cấp '{broadcast_id}'.")
    auth.require_devices(bc["devices"])
    devices = {d["id"]: d for d in scope_devices()}
    events = ctl().playback(broadcast_id=broadcast_id, limit=5000)
    stage: dict[str, str] = {}
    for e in sorted(events, key=lambda e: e["id"]):
        if e["kind"] in STAGES:
            stage[e["device_id"]] = e["kind"]
    rows = []
    for device_id in bc["devices"]:
        d = devices.get(device_id, {})
        rows.append({"device_id": device_id, "name": d.get("name", device_id), "online": bool(d.get("online")),
                     "stage": stage.get(device_id, "sent")})
    done = sum(1 for r in rows if r["stage"] in ("started", "finished"))
    return {"broadcast_id": broadcast_id, "sent_at": bc["starts_at"], "devices": rows,
            "counts": {"total": len(rows), "playing_or_done": done}}


@bp.get("/api/emergency/<broadcast_id>/status")
@auth.access("emergency")
def status(broadcast_id: str):
    return delivery_status(broadcast_id)
