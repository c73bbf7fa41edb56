"""Devices: list and detail pages, remote volume and a test tone."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template

from controller.devices import use_cases as devices
from web import auth
from web.ui_base import ctl, json_body

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


@bp.get("/api/devices/<device_id>/events")
@auth.access("read")
def recent_events(device_id: str):
    scoped_device(device_id)
    return jsonify(ctl().playback(device_id=device_id, limit=RECENT_EVENTS))


@bp.post("/api/devices/<device_id>/volume")
@auth.access("draft")
def set_volume(device_id: str):
    return devices.set_volume(ctl(), auth.actor(), device_id, json_body().get("volume"))


@bp.post("/api/devices/<device_id>/test-tone")
@auth.access("draft")
def test_tone(device_id: str):
    """Play a short tone now, so someone at the pole can check the horns and the amplifier."""
    return devices.play_test_tone(ctl(), auth.actor(), device_id)

