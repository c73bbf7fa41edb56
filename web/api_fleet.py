"""JSON API of the fleet: releases, staged rollouts, device versions and remote care.

A thin adapter over :mod:`controller.fleet`: it checks who may act on which devices and
passes the request on.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify, request

from controller.errors import InputError
from web import auth
from web.api import body, ctl

bp = Blueprint("api_fleet", __name__, url_prefix="/api")


def _visible() -> set[str] | None:
    s = auth.scope()
    return None if s.whole_tree else set(s.devices)


@bp.get("/releases")
@auth.access("read")
def releases():
    return jsonify([r.to_dict() for r in ctl().fleet.releases.list()])


@bp.get("/fleet/devices")
@auth.access("read")
def fleet_devices():
    return jsonify([d.to_dict() for d in ctl().fleet.device_versions(_visible())])


@bp.get("/rollouts")
@auth.access("read")
def rollouts():
    return jsonify([r.to_dict() for r in ctl().fleet.rollouts.list()])


@bp.get("/rollouts/<int:rollout_id>")
@auth.access("read")
def rollout(rollout_id: int):
    return ctl().fleet.rollouts.get(rollout_id).to_dict()


@bp.post("/rollouts")
@auth.access("manage")
def start_rollout():
    data = body()
    targets = data.get("targets")
    if isinstance(targets, list):
        auth.require_devices(ctl().registry.resolve_targets(targets))
    ro = ctl().fleet.rollouts.start(data.get("release"), targets, auth.actor(), canary_share=data.get("canary_share"),
                                    waves=data.get("waves"), failure_threshold=data.get("failure_threshold"))
    return ro.to_dict(), 201


def _rollout_in_scope(rollout_id: int) -> None:
    auth.require_devices(d.device_id for d in ctl().fleet.rollouts.get(rollout_id).devices)


@bp.post("/rollouts/<int:rollout_id>/resume")
@auth.access("manage")
def resume_rollout(rollout_id: int):
    _rollout_in_scope(rollout_id)
    return ctl().fleet.rollouts.resume(rollout_id, auth.actor()).to_dict()


@bp.post("/rollouts/<int:rollout_id>/rollback")
@auth.access("manage")
def rollback_rollout(rollout_id: int):
    _rollout_in_scope(rollout_id)
    return {"rollbacks": [r.to_dict() for r in ctl().fleet.rollouts.rollback(rollout_id, auth.actor())]}


@bp.post("/devices/<device_id>/care")
@auth.access("manage")
def care(device_id: str):
    auth.require_devices([device_id])
    data = body()
    if not ctl().registry.is_device(device_id):
        raise InputError("unknown_device", f"Không có cụm loa '{device_id}'.")
    return ctl().fleet.care.order(device_id, data.get("action"), auth.actor(), data.get("volume")).to_dict(), 202


@bp.get("/devices/<device_id>/diagnostics")
@auth.access("read")
def diagnostics(device_id: str):
    auth.require_devices([device_id])
    limit = request.args.get("limit", "5")
    return jsonify([d.to_dict() for d in ctl().fleet.care.diagnostics(device_id, _limit(limit))])


@bp.get("/devices/<device_id>/speaker-checks")
@auth.access("read")
def speaker_checks(device_id: str):
    auth.require_devices([device_id])
    return jsonify([c.to_dict() for c in ctl().fleet.care.speaker_checks(device_id, _limit(request.args.get("limit", "20")))])


def _limit(value: Any) -> int:
    if not str(value).isdigit() or not 1 <= int(value) <= 100:
        raise InputError("invalid_limit", "'limit' phải từ 1 đến 100.", "limit")
    return int(value)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
