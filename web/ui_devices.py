"""Devices: list and detail pages, remote volume (one pole or a whole unit), a test tone, enrollment.

Adding a pole and issuing a new enrollment code answer JSON to the page's script, which shows
the one-time code as text and as a QR code (drawn on the server); the code is never stored.
"""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, render_template

from controller.devices import Device, use_cases as devices
from web import auth
from web.ui_base import ctl, json_body

bp = Blueprint("ui_devices", __name__)

RECENT_EVENTS = 30


def scoped_device(device_id: str) -> Device:
    """A device the viewer may see; others are reported as unknown, not forbidden."""
    return devices.visible_device(ctl(), auth.actor(), device_id)


@bp.get("/devices")
@auth.access("read")
def list_page():
    c, me = ctl(), auth.actor()
    rows = devices.with_now_playing(c, devices.with_readiness(c, devices.devices_in_scope(c, me)))
    return render_template("devices.html", title="Cụm loa", devices=rows,
                           units=[u for u in devices.units_in_scope(c, me)],
                           schedules=devices.volume_schedules_in_scope(c, me))


@bp.get("/devices/<device_id>")
@auth.access("read")
def detail(device_id: str):
    page = devices.device_page(ctl(), auth.actor(), device_id)
    events = ctl().playback(device_id=device_id, limit=RECENT_EVENTS)
    key = devices.device_key_status(ctl(), auth.actor(), device_id) if auth.actor().can("manage") else None
    return render_template("device.html", title=page.device.name, d=page.device, page=page, events=events, key=key)


@bp.post("/devices/new")
@auth.access("manage")
def add_with_code():
    """Add a pole and answer its one-time enrollment code (text and QR) for the page to show."""
    d = json_body()
    return asdict(devices.add_device_with_code(ctl(), auth.actor(), d.get("id"), d.get("name"), d.get("unit_id"))), 201


@bp.post("/devices/<device_id>/enrollment")
@auth.access("manage")
def new_code(device_id: str):
    scoped_device(device_id)
    return asdict(devices.issue_code(ctl(), auth.actor(), device_id)), 201
