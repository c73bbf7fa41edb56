"""Devices: list and detail pages, remote volume and a test tone."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template

from controller.errors import NotFound
from web import auth
from web.ui_base import ctl, json_body, scope_devices
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
    return ctl().remote.set_volume(device_id, json_body().get("volume"), auth.current_user(), auth.client_ip())


def test_tone_media() -> dict[str, Any]:
    return ctl().test_tone_media()


@bp.post("/api/devices/<device_id>/test-tone")
@auth.access("draft")
def test_tone(device_id: str):
    """Play a short tone now, so someone at the pole can check the horns and the amplifier."""
    scoped_device(device_id)
    return ctl().remote.test_tone(device_id, auth.current_user(), auth.client_ip())

