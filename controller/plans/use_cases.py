"""The use cases of bulletins and broadcasts, for one :class:`~controller.people.actor.Actor`.

Each one checks the actor's policy (permission, scope, the two-person rule), makes the
change with its history and writes the audit entry in one database transaction, so a
refusal or a failure leaves neither a change without its audit entry nor the reverse.  Only
then are device plans republished (MQTT is no part of the transaction).

Rendering speech is slow, so a bulletin's or an emergency's audio is made first and the
transaction covers storing it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping

from controller.errors import InputError, NotFound, Refused
from controller.people import access
from controller.people.actor import Actor
from controller.plans.planner import load_tree

if TYPE_CHECKING:
    from controller.service import Controller

SCHEDULE_FIELDS = ("rule", "rule_text", "repeats", "repeat_gap_s", "order", "override", "draft")
EDIT_FIELDS = ("bulletin_id", "starts_at", "rule", "rule_text", "repeats", "repeat_gap_s", "targets", "priority",
               "order", "override")
EMERGENCY_CONTENT = ("text", "bulletin_id", "title", "reason")


@dataclass(frozen=True)
class IssuedPlan:
    """The plan last issued to a device: its version, when, and the signed body."""

    device_id: str
    plan_version: int
    issued_at: str
    plan: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "plan_version": self.plan_version, "issued_at": self.issued_at,
                "plan": self.plan}


# -- bulletins ----------------------------------------------------------------------------
def add_bulletin(c: Controller, actor: Actor, title: Any, text: Any, script: Any = None,
                 progress_id: Any = None) -> dict[str, Any]:
    """Render and store a bulletin by ``actor``; with ``progress_id`` they can follow the render."""
    access.require_permission(actor, "draft")
    progress = None if progress_id is None else c.render_progress.start(progress_id, actor.username)

    def audit(bulletin: Mapping[str, Any]) -> None:
        c.audit.record(actor, "bulletin_added", bulletin["id"], {"title": bulletin["title"]})

    return c.bulletins.add(title if title is not None else "", text, actor.username, script, progress,
                           on_stored=audit)


def add_recording(c: Controller, actor: Actor, title: str, data: bytes, filename: str,
                  progress_id: Any = None) -> dict[str, Any]:
    """A recorded announcement as a bulletin's content instead of synthesized speech."""
    access.require_permission(actor, "draft")
    progress = c.render_progress.start(progress_id, actor.username) if progress_id and actor.signed_in else None
    return c.bulletins.add_recording(title, data, filename, actor.username, progress)


def visible_bulletins(c: Controller, actor: Actor) -> list[dict[str, Any]]:
    """Bulletins by the actor or by people of their subtree."""
    return [b for b in c.bulletins.list() if access.may_see_person(actor, c.users, b.get("created_by", ""))]


def visible_bulletin(c: Controller, actor: Actor, bulletin_id: str) -> dict[str, Any]:
    bulletin = c.bulletins.get(bulletin_id)
    if not access.may_see_person(actor, c.users, bulletin.get("created_by", "")):
        raise access.Refused("out_of_scope", "Bản tin này nằm ngoài đơn vị bạn phụ trách.")
    return bulletin


def reading(c: Controller, script: str) -> str:
    """How the script will be read aloud (numbers, dates and abbreviations spelled out)."""
    from audio.normalize import normalize_text

    return normalize_text(script, c.bulletins.script_settings.dictionary())


# -- broadcasts ---------------------------------------------------------------------------
def broadcast_in_scope(c: Controller, actor: Actor, broadcast_id: str) -> dict[str, Any]:
    """A broadcast whose devices all lie in the actor's subtree (else refused)."""
    bc = c.broadcasts.get(broadcast_id)
    access.require_devices(actor, bc["devices"])
    return bc


def visible_broadcasts(c: Controller, actor: Actor, status: str | None = None) -> list[dict[str, Any]]:
    return [b for b in c.broadcasts.list(status) if actor.scope.covers(b["devices"])]


def schedule_broadcast(c: Controller, actor: Actor, bulletin_id: Any, starts_at: Any = None, targets: Any = None,
                       priority: Any = "normal", **spec: Any) -> dict[str, Any]:
    """Check and store a broadcast by ``actor``; it reaches plans once approved (at once with ``auto_approve``)."""
    access.require_permission(actor, "draft")
    access.require_targets(actor, targets)
    if priority == "emergency":
        access.require_permission(actor, "emergency")
    c.require_readable_bulletin(bulletin_id, actor.username)
    with c.db.tx():
        bc = c.broadcasts.schedule(bulletin_id, starts_at, targets, priority, actor.username, **spec)
        c.audit.record(actor, "emergency" if bc["priority"] == "emergency" else "broadcast_scheduled", bc["id"],
                       {"targets": bc["targets"], "starts_at": bc["starts_at"]})
    return c.replan(bc)


def edit_broadcast(c: Controller, actor: Actor, broadcast_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Change the editable ``fields`` of a broadcast; it is checked again and goes back to approval."""
    access.require_permission(actor, "draft")
    with c.db.tx():
        before = broadcast_in_scope(c, actor, broadcast_id)["devices"]
        changes = {k: fields[k] for k in EDIT_FIELDS if k in fields}
        if not changes:
            raise InputError("nothing_to_change", f"Không có gì để sửa; các trường sửa được: {', '.join(EDIT_FIELDS)}.")
        access.require_targets(actor, changes.get("targets"))
        if changes.get("priority") == "emergency":
            access.require_permission(actor, "emergency")
        if "bulletin_id" in changes:
            c.require_readable_bulletin(changes["bulletin_id"], actor.username)
        bc = c.broadcasts.edit(broadcast_id, changes, actor.username)
        c.audit.record(actor, "broadcast_edited", broadcast_id, {"changes": sorted(changes)})
    return c.replan(bc, before)


def submit_broadcast(c: Controller, actor: Actor, broadcast_id: str) -> dict[str, Any]:
    access.require_permission(actor, "draft")
    with c.db.tx():
        broadcast_in_scope(c, actor, broadcast_id)
        bc = c.broadcasts.submit(broadcast_id, actor.username)
        c.audit.record(actor, "broadcast_submitted", broadcast_id)
    return c.replan(bc)


def approve_broadcast(c: Controller, actor: Actor, broadcast_id: str, comment: Any = "") -> dict[str, Any]:
    """Approve, by someone other than the author (unless the two-person rule is off)."""
    access.require_permission(actor, "approve")
    with c.db.tx():
        current = broadcast_in_scope(c, actor, broadcast_id)
        access.check_two_person(actor, current["created_by"], c.config.people.two_person_rule)
        bc = c.broadcasts.approve(broadcast_id, actor.username, comment)
        c.audit.record(actor, "broadcast_approved", broadcast_id, {"comment": bc["decision_comment"]})
    return c.replan(bc)


def reject_broadcast(c: Controller, actor: Actor, broadcast_id: str, comment: Any = "") -> dict[str, Any]:
    access.require_permission(actor, "approve")
    with c.db.tx():
        broadcast_in_scope(c, actor, broadcast_id)
        bc = c.broadcasts.reject(broadcast_id, actor.username, comment)
        c.audit.record(actor, "broadcast_rejected", broadcast_id, {"comment": bc["decision_comment"]})
    return c.replan(bc)


def cancel_broadcast(c: Controller, actor: Actor, broadcast_id: str) -> dict[str, Any]:
    """Cancel a broadcast (``DELETE /api/broadcasts/<id>`` and ``POST …/cancel`` both come here)."""
    access.require_permission(actor, "draft")
    with c.db.tx():
        if broadcast_in_scope(c, actor, broadcast_id)["priority"] == "emergency" and not actor.can("emergency"):
            raise Refused("forbidden", "Chỉ người có quyền phát khẩn cấp mới hủy được lịch phát khẩn cấp.", "priority")
        bc = c.broadcasts.cancel(broadcast_id, actor.username)
        c.audit.record(actor, "broadcast_cancelled", broadcast_id)
    return c.replan(bc)


# -- emergencies --------------------------------------------------------------------------
def trigger_emergency(c: Controller, actor: Actor, targets: Any, content: Mapping[str, Any]) -> dict[str, Any]:
    """Play at once on every targeted device of the actor's subtree; the audit entry commits with the record."""
    access.require_permission(actor, "emergency")
    access.require_targets(actor, targets)
    c.require_readable_bulletin(content.get("bulletin_id"), actor.username)

    def audit(em: Mapping[str, Any]) -> None:
        c.audit.record(actor, "emergency", em["broadcast_id"],
                       {"targets": targets, "topics": em["topics"], "reason": em["reason"]})

    picked = {k: content[k] for k in EMERGENCY_CONTENT if k in content}
    return c.emergencies.trigger(targets, actor.username, on_stored=audit, **picked)


def visible_emergencies(c: Controller, actor: Actor) -> list[dict[str, Any]]:
    """Emergencies whose devices all lie in the actor's subtree (the rule broadcasts follow)."""
    return [e for e in c.emergencies.list() if actor.scope.covers(c.broadcasts.devices_of(e["broadcast_id"]))]


EMERGENCY_STAGES = ("delivered", "started", "finished", "interrupted", "failed", "skipped")


def emergency_status(c: Controller, actor: Actor, broadcast_id: str) -> dict[str, Any]:
    """Per targeted device: online or not, and the furthest stage it reported for this emergency."""
    bc = c.broadcasts.get(broadcast_id)
    if bc.get("kind") != "emergency":
        raise NotFound("unknown_emergency", f"Không có lệnh khẩn cấp '{broadcast_id}'.")
    access.require_devices(actor, bc["devices"])
    devices = {d["id"]: d for d in c.registry.devices() if actor.scope.has_device(d["id"])}
    events = c.playback(broadcast_id=broadcast_id, limit=5000)
    stage: dict[str, str] = {}
    for e in sorted(events, key=lambda e: e["id"]):
        if e["kind"] in EMERGENCY_STAGES:
            stage[e["device_id"]] = e["kind"]
    cut_off = {d["device_id"]: d["cut_off_by"] for d in c.emergencies.deliveries(broadcast_id) if d["cut_off_by"]}
    cut_off_now = c.broker_tree.cut_off_devices()
    rows = []
    for device_id in bc["devices"]:
        d = devices.get(device_id, {})
        link_down = cut_off_now.get(device_id) or (cut_off.get(device_id) if stage.get(device_id) is None else None)
        rows.append({"device_id": device_id, "name": d.get("name", device_id),
                     "online": bool(d.get("online")) and not cut_off_now.get(device_id),
                     "stage": stage.get(device_id, "sent"), "cut_off_by": link_down})
    done = sum(1 for r in rows if r["stage"] in ("started", "finished"))
    return {"broadcast_id": broadcast_id, "sent_at": bc["starts_at"], "devices": rows,
            "counts": {"total": len(rows), "playing_or_done": done,
                       "cut_off": sum(1 for r in rows if r["cut_off_by"])}}


# -- guardrails, readiness, plans ---------------------------------------------------------
def guardrails_of(c: Controller, actor: Actor, unit_id: str) -> dict[str, Any]:
    access.require_unit(actor, unit_id)
    return c.guardrails.view(load_tree(c.db), unit_id)


def put_guardrails(c: Controller, actor: Actor, unit_id: str, values: Any) -> dict[str, Any]:
    """Set a unit's own guardrail values; every plan is rebuilt with them."""
    access.require_permission(actor, "manage")
    access.require_unit(actor, unit_id)
    with c.db.tx():
        view = c.guardrails.put(load_tree(c.db), unit_id, values, actor.username)
        c.audit.record(actor, "guardrails_changed", unit_id, {"values": view["own"]})
    c.jobs.rebuild()
    return view


def readiness_in_scope(c: Controller, actor: Actor, hours: float = 24.0, limit: int = 50) -> list[dict[str, Any]]:
    """The next slots' readiness (:func:`controller.plans.readiness.readiness`) cut to the actor's devices.

    A slot none of whose devices (ready, not ready, offline, skipped) is the actor's is left out.
    """
    s = actor.scope
    rows = []
    for r in c.readiness(hours, limit):
        keep = lambda d: s.has_device(d if isinstance(d, str) else d["device_id"])  # noqa: E731
        r = {**r, "ready": [d for d in r["ready"] if keep(d)], "not_ready": [d for d in r["not_ready"] if keep(d)],
             "offline": [d for d in r["offline"] if keep(d)], "skipped": [d for d in r["skipped"] if keep(d)],
             "cut_off": [d for d in r["cut_off"] if keep(d)]}
        r["counts"] = {k: len(r[k]) for k in ("ready", "not_ready", "offline")}
        if any(r["counts"].values()) or r["skipped"]:
            rows.append(r)
    return rows


def links_down(c: Controller, actor: Actor) -> list[dict[str, Any]]:
    """Commune brokers whose bridge to the province is down, with how many of the actor's devices they cut off."""
    s = actor.scope
    devices_of = c.broker_tree.devices_of()
    out = []
    for b in c.broker_tree.all():
        mine = [d for d in devices_of.get(b.id, []) if s.has_device(d)]
        if b.link_up is False and mine:
            out.append({**b.view(), "devices": mine})
    return out


def slot_status(counts: Mapping[str, int]) -> str:
    """One word for a slot: ``offline`` if any device is, else ``not_ready`` if any is, else ``ready``."""
    return "offline" if counts["offline"] else "not_ready" if counts["not_ready"] else "ready"


def issued_plan(c: Controller, actor: Actor, device_id: str) -> IssuedPlan:
    """The plan last issued to a device of the actor's subtree."""
    access.require_devices(actor, [device_id])
    with c.db.tx() as db:
        row = db.execute("SELECT plan_version, issued_at, payload FROM device_plans WHERE device_id = ?",
                         [device_id]).fetchone()
    if row is None:
        raise NotFound("unknown_plan", f"Cụm loa '{device_id}' chưa có kế hoạch phát.")
    return IssuedPlan(device_id, row[0], row[1], json.loads(row[2])["body"])


def plan_versions(c: Controller) -> dict[str, int]:
    """The plan version last issued to each device."""
    with c.db.tx() as db:
        return {r[0]: r[1] for r in db.execute("SELECT device_id, plan_version FROM device_plans")}


def starts_between(bc: Mapping[str, Any], since: datetime, until: datetime) -> list[datetime]:
    """When a broadcast (its view, as :meth:`Broadcasts.get` gives it) starts in [since, until)."""
    from loaxa.protocol import parse_time
    from schedules.rules import BroadcastRule

    if bc.get("rule"):
        return BroadcastRule.from_dict(bc["rule"]).occurrences(since, until)
    t = parse_time(bc["starts_at"], "starts_at")
    return [t] if since <= t < until else []
