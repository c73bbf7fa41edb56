"""Devices: list and detail pages, remote volume and a test tone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, jsonify, render_template

from controller.plans.bulletins import new_id
from controller.errors import InputError, NotFound
from loaxa.protocol import PlayItem
from loaxa.wire_time import utcnow
from web import auth
from web.ui_base import ctl, json_body, scope_devices, viewer
from web.ui_dashboard import device_readiness, plan_versions

bp = Blueprint("ui_devices", __name__)

RECENT_EVENTS = 30


def scoped_device(device_id: str) -> dict[str, Any]:
    """A device the viewer may see; others are reported as unknown, not forbidden."""
    for d in scope_devices():
        if d["id"] == device_id:
            return d
    raise NotFound("unknown_device", f"Không có cụm loa '{device_id}'.")


def _with_readiness(devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    versions = plan_versions()
    units = {u["id"]: u["name"] for u in ctl().registry.units()}
    return [{**d, "readiness": device_readiness(d, versions), "unit_name": units.get(d["unit_id"], d["unit_id"]),
             "plan_version_sent": versions.get(d["id"], 0)} for d in devices]


@bp.get("/devices")
@auth.access("read")
def list_page():
    return render_template("devices.html", title="Cụm loa", devices=_with_readiness(scope_devices()))


@bp.get("/devices/<device_id>")
@auth.access("read")
def detail(device_id: str):
    device = _with_readiness([scoped_device(device_id)])[0]
    events = ctl().playback(device_id=device_id, limit=RECENT_EVENTS)
    return render_template("device.html", title=device["name"], d=device, events=events)


@bp.get("/api/devices/<device_id>/events")
@auth.access("read")
def recent_events(device_id: str):
    scoped_device(device_id)
    return jsonify(ctl().playback(device_id=device_id, limit=RECENT_EVENTS))


@bp.post("/api/devices/<device_id>/volume")
@auth.access("draft")
def set_volume(device_id: str):
    scoped_device(device_id)
    volume = json_body().get("volume")
    if isinstance(volume, str) and volume.strip().isdigit():
        volume = int(volume)
    if not isinstance(volume, int) or isinstance(volume, bool) or not 0 <= volume <= 100:
        raise InputError("invalid_volume", "Âm lượng phải từ 0 đến 100.", "volume")
    v = viewer()
    cmd = ctl().dispatcher.send_command(f"dev/{device_id}", "set_volume", volume=volume,
                                        reason="điều chỉnh âm lượng", issued_by=v.username if v else "")
    return {"device_id": device_id, "volume": volume, "command_seq": cmd.seq}


def test_tone_media() -> dict[str, Any]:
    return ctl().test_tone_media()


@bp.post("/api/devices/<device_id>/test-tone")
@auth.access("draft")
def test_tone(device_id: str):
    """Play a short tone now, so someone at the pole can check the horns and the amplifier."""
    scoped_device(device_id)
    media = test_tone_media()
    now = utcnow()
    item = PlayItem(item_id=new_id("tone"), start=now + timedelta(seconds=2), sha256=media["sha256"],
                    size=media["size"], ext=media["ext"], duration_s=media["duration_s"], priority="priority",
                    expires_at=now + timedelta(minutes=2), title="Âm thử")
    v = viewer()
    cmd = ctl().dispatcher.send_command(f"dev/{device_id}", "play_now", item=item, reason="phát âm thử",
                                        issued_by=v.username if v else "")
    return {"device_id": device_id, "command_seq": cmd.seq, "item_id": item.item_id}
