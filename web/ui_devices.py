"""Devices: list and detail pages, remote volume and a test tone."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from controller.devices import use_cases as devices
from web import auth
from web.ui_base import ctl

bp = Blueprint("ui_devices", __name__)

RECENT_EVENTS = 30


def scoped_device(device_id: str) -> dict[str, Any]:
    """A device the viewer may see; others are reported as unknown, not forbidden."""
    return devices.visible_device(ctl(), auth.actor(), device_id)


@bp.get("/devices")
@auth.access("read")
def list_page():
    c = ctl()
    return render_template("devices.html", title="Cụm loa",
                           devices=devices.with_readiness(c, devices.devices_in_scope(c, auth.actor())))


@bp.get("/devices/<device_id>")
@auth.access("read")
def detail(device_id: str):
    device = devices.with_readiness(ctl(), [scoped_device(device_id)])[0]
    events = ctl().playback(device_id=device_id, limit=RECENT_EVENTS)
    return render_template("device.html", title=device["name"], d=device, events=events)
