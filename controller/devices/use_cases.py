"""The use cases of the administrative tree and its speaker poles, for one Actor.

Adding a unit or a device checks the actor's scope, stores it and writes the audit entry in
one transaction; the device's (empty) plan is published after.  Remote volume and the test
tone are signed commands to one device of the actor's subtree.  What a device's readiness
is (:func:`device_readiness`) is decided here once, for the device pages and the dashboard.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Mapping

from controller.devices.media_access import MediaFile, person_may_hear
from controller.devices.registry import register_device
from controller.errors import InputError, NotFound
from controller.people import access
from controller.people.actor import Actor
from controller.people.users import scope_of
from controller.plans.bulletins import new_id
from loaxa.protocol import PlayItem, utcnow

if TYPE_CHECKING:
    from controller.service import Controller


# -- the tree -----------------------------------------------------------------------------
def units_in_scope(c: Controller, actor: Actor) -> list[dict[str, Any]]:
    return [u for u in c.registry.units() if actor.scope.has_unit(u["id"])]


def devices_in_scope(c: Controller, actor: Actor) -> list[dict[str, Any]]:
    return [d for d in c.registry.devices() if actor.scope.has_device(d["id"])]


def subtree(c: Controller, unit_id: str) -> frozenset[str]:
    """Ids of ``unit_id`` and every unit below it (the query that decides people's scope too)."""
    return scope_of(c.db, unit_id).units or frozenset()


def devices_under(c: Controller, actor: Actor, unit_id: str | None) -> list[dict[str, Any]]:
    """The actor's devices, or only those at or below ``unit_id`` (which must be in the actor's scope)."""
    devices = devices_in_scope(c, actor)
    if unit_id:
        if unit_id not in {u["id"] for u in units_in_scope(c, actor)}:
            raise InputError("out_of_scope", "Đơn vị này ngoài phạm vi của bạn.", "unit")
        under = subtree(c, unit_id)
        devices = [d for d in devices if d["unit_id"] in under]
    return devices


def device_in_scope(c: Controller, actor: Actor, device_id: str) -> dict[str, Any]:
    """A device of the actor's subtree; one outside it is refused (403)."""
    access.require_devices(actor, [device_id])
    return c.registry.device(device_id)


def visible_device(c: Controller, actor: Actor, device_id: str) -> dict[str, Any]:
    """A device of the actor's subtree; others are reported as unknown (404), not forbidden."""
    for d in devices_in_scope(c, actor):
        if d["id"] == device_id:
            return d
    raise NotFound("unknown_device", f"Không có cụm loa '{device_id}'.")


def add_unit(c: Controller, actor: Actor, unit_id: Any, name: Any, parent_id: Any, level: Any = "") -> dict[str, Any]:
    access.require_permission(actor, "manage")
    access.require_unit(actor, parent_id, allow_top=True)
    with c.db.tx():
        unit = c.registry.add_unit(unit_id, name, parent_id, level)
        c.audit.record(actor, "unit_added", unit["id"], {"parent_id": unit["parent_id"]})
    return unit


def add_device(c: Controller, actor: Actor, device_id: Any, name: Any, unit_id: Any) -> dict[str, Any]:
    access.require_permission(actor, "manage")
    access.require_unit(actor, unit_id)
    device = register_device(c.registry, c.audit, actor, device_id, name, unit_id)
    c.dispatcher.publish_plan(device["id"])
    return device


# -- readiness ----------------------------------------------------------------------------
def device_readiness(device: Mapping[str, Any], issued_version: int) -> str:
    """``offline``, ``ready`` (the plan last issued is applied, its media cached and the volume
    audible) or ``not_ready``."""
    if not device["online"]:
        return "offline"
    if device["plan_version_applied"] >= issued_version and device["media_ready"] and not device.get("low_volume"):
        return "ready"
    return "not_ready"


def with_readiness(c: Controller, devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Devices with their readiness, unit name and the plan version last sent to them."""
    from controller.plans.use_cases import plan_versions

    versions = plan_versions(c)
    units = {u["id"]: u["name"] for u in c.registry.units()}
    return [{**d, "readiness": device_readiness(d, versions.get(d["id"], 0)),
             "unit_name": units.get(d["unit_id"], d["unit_id"]), "plan_version_sent": versions.get(d["id"], 0)}
            for d in devices]


# -- commands to one device ---------------------------------------------------------------
def set_volume(c: Controller, actor: Actor, device_id: str, volume: Any) -> dict[str, Any]:
    """Set a device's volume now (0–100), by a signed command; editors keep to the volume floor, and it is audited."""
    access.require_permission(actor, "draft")
    visible_device(c, actor, device_id)
    if isinstance(volume, str) and volume.strip().isdigit():
        volume = int(volume)
    return c.remote.set_volume(device_id, volume, actor, actor.ip)


def play_test_tone(c: Controller, actor: Actor, device_id: str) -> dict[str, Any]:
    """Play a short tone now, so someone at the pole can check the horns and the amplifier (audited)."""
    access.require_permission(actor, "draft")
    visible_device(c, actor, device_id)
    return c.remote.test_tone(device_id, actor, actor.ip)


# -- media for people ---------------------------------------------------------------------
def media_for_person(c: Controller, actor: Actor, name: str) -> MediaFile | None:
    """A bulletin's audio for a signed-in person's preview player (devices use ``/media``)."""
    if not actor.can("read"):
        return None
    found = c.media_access.stored(name, c.config.media_dir)
    if found is None or not person_may_hear(c.db, found.sha256, lambda author: access.may_see_person(actor, c.users, author),
                                            actor.scope.has_device):
        return None
    return found
