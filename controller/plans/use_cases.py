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
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping

from controller.errors import InputError, NotFound, Refused
from controller.people import access
from controller.people.actor import Actor
from controller.plan_expansion import load_tree
from controller.plans.records import (Broadcast, Bulletin, Emergency, EmergencyDevice, EmergencyStatus,
                                     GuardrailUnit, GuardrailView, IssuedPlan, LinkDown, ReadinessSlot,
                                     RelayProgramme, ScheduledRelay, ScheduleFacts)

if TYPE_CHECKING:
    from controller.plans.uploads import ReadUpload
    from controller.service import Controller

SCHEDULE_FIELDS = ("rule", "rule_text", "repeats", "repeat_gap_s", "order", "override", "draft")
EDIT_FIELDS = ("bulletin_id", "starts_at", "rule", "rule_text", "repeats", "repeat_gap_s", "targets", "priority",
               "order", "override")
EMERGENCY_CONTENT = ("text", "bulletin_id", "title", "reason")


# -- bulletins ----------------------------------------------------------------------------
def add_bulletin(c: Controller, actor: Actor, title: Any, text: Any, script: Any = None,
                 progress_id: Any = None, ocr_ack: Any = False) -> Bulletin:
    """Render and store a bulletin by ``actor``; with ``progress_id`` they can follow the render.

    Text read by OCR with low-confidence words (:func:`read_intake`) is refused until the
    person acknowledges (``ocr_ack``) that they compared those words with the page image.
    """
    access.require_permission(actor, "draft")
    if isinstance(text, str):
        doubtful = c.ocr_checks.unchecked(actor.username, text)
        if doubtful and ocr_ack is not True:
            from controller.plans.ocr_checks import SHOWN_WORDS

            shown = ", ".join(f"“{w}”" for w in doubtful[:SHOWN_WORDS]) + (" …" if len(doubtful) > SHOWN_WORDS else "")
            raise InputError("ocr_unchecked",
                             f"Văn bản này có {len(doubtful)} từ máy đọc không chắc chắn ({shown}). Hãy đối chiếu với "
                             "ảnh gốc, sửa chỗ sai rồi đánh dấu ô xác nhận trước khi nghe thử.", "ocr_ack")
        if doubtful:
            c.ocr_checks.acknowledged(actor.username, text)
    progress = None if progress_id is None else c.render_progress.start(progress_id, actor.username)

    def audit(bulletin: Mapping[str, Any]) -> None:
        c.audit.record(actor, "bulletin_added", bulletin["id"], {"title": bulletin["title"]})

    return c.bulletins.add(title if title is not None else "", text, actor.username, script, progress,
                           on_stored=audit)


def add_recording(c: Controller, actor: Actor, title: str, data: bytes, filename: str,
                  progress_id: Any = None) -> Bulletin:
    """A recorded announcement as a bulletin's content instead of synthesized speech."""
    access.require_permission(actor, "draft")
    progress = c.render_progress.start(progress_id, actor.username) if progress_id and actor.signed_in else None
    return c.bulletins.add_recording(title, data, filename, actor.username, progress)


def read_intake(c: Controller, actor: Actor, data: bytes, filename: str, progress_id: Any = None) -> ReadUpload:
    """Read an upload for the compose page; its low-confidence OCR words must be acknowledged before a preview."""
    from controller.plans.uploads import read_upload

    access.require_permission(actor, "draft")
    progress = c.render_progress.start(progress_id, actor.username) if progress_id and actor.signed_in else None
    upload = read_upload(data, filename, progress=progress)
    c.ocr_checks.note(actor.username, upload.text, tuple(w["text"] for w in upload.low_confidence))
    return upload


def visible_bulletins(c: Controller, actor: Actor) -> list[Bulletin]:
    """Bulletins by the actor or by people of their subtree."""
    return [b for b in c.bulletins.list() if access.may_see_person(actor, c.users, b.created_by)]


def visible_bulletin(c: Controller, actor: Actor, bulletin_id: str) -> Bulletin:
    bulletin = c.bulletins.get(bulletin_id)
    if not access.may_see_person(actor, c.users, bulletin.created_by):
        raise access.Refused("out_of_scope", "Bản tin này nằm ngoài đơn vị bạn phụ trách.")
    return bulletin


def reading(c: Controller, script: str) -> str:
    """How the script will be read aloud (numbers, dates and abbreviations spelled out)."""
    from audio.normalize import normalize_text

    return normalize_text(script, c.bulletins.script_settings.dictionary())


# -- broadcasts ---------------------------------------------------------------------------
def require_readable_bulletin(c: Controller, bulletin_id: Any, person: str) -> None:
    """Refuse a person scheduling or airing a bulletin they may not read (another commune's).

    ``person`` names a signed-in account; other callers (feeds, the machine's own
    commands) are not people and have no scope.
    """
    user = c.users.find(person)
    if user is None or not isinstance(bulletin_id, str):
        return
    try:
        author = c.bulletins.get(bulletin_id).created_by
    except NotFound:
        return  # the domain reports it
    if not c.users.may_read_work_of(user, author):
        raise Refused("out_of_scope", "Bản tin này nằm ngoài đơn vị bạn phụ trách.", "bulletin_id")


def broadcast_in_scope(c: Controller, actor: Actor, broadcast_id: str) -> Broadcast:
    """A broadcast whose devices all lie in the actor's subtree (else refused)."""
    bc = c.broadcasts.get(broadcast_id)
    access.require_devices(actor, list(bc.devices))
    return bc


def visible_broadcasts(c: Controller, actor: Actor, status: str | None = None) -> list[Broadcast]:
    return [b for b in c.broadcasts.list(status) if actor.scope.covers(list(b.devices))]


def schedule_broadcast(c: Controller, actor: Actor, bulletin_id: Any, starts_at: Any = None, targets: Any = None,
                       priority: Any = "normal", confirm_duplicate: Any = False, **spec: Any) -> Broadcast:
    """Check and store a broadcast by ``actor``; it reaches plans once approved (at once with ``auto_approve``).

    The same bulletin already scheduled for one of the same slots on one of the same devices
    is refused with ``duplicate`` (409) unless ``confirm_duplicate`` is true: submitting twice
    is more often a double tap than a wish to air it twice.
    """
    from controller.plans.schedule_facts import refuse_duplicates

    access.require_permission(actor, "draft")
    access.require_targets(actor, targets)
    if priority == "emergency":
        access.require_permission(actor, "emergency")
    require_readable_bulletin(c, bulletin_id, actor.username)
    spec = _with_override_by(c, actor, spec)
    with c.db.tx():
        bc = c.broadcasts.schedule(bulletin_id, starts_at, targets, priority, actor.username, **spec)
        twins = refuse_duplicates(c, bc, confirm_duplicate) if bc.priority != "emergency" else []
        if twins:
            c.audit.record(actor, "broadcast_duplicate_confirmed", bc.id, {"duplicates": [t.broadcast_id for t in twins]})
        c.audit.record(actor, "emergency" if bc.priority == "emergency" else "broadcast_scheduled", bc.id,
                       {"targets": list(bc.targets), "starts_at": bc.starts_at,
                        **({"override": dict(bc.override)} if bc.override else {})})
    return c.replan(bc)


def schedule_relay(c: Controller, actor: Actor, source_id: Any, starts_at: Any = None, targets: Any = None,
                   priority: Any = "normal", title: Any = None, duration_min: Any = None, duration_s: Any = None,
                   **spec: Any) -> ScheduledRelay:
    """A relay programme ("Tiếp sóng VOV1, 06:00–06:30 hằng ngày"): its bulletin and its broadcast in one step.

    Both are stored in one transaction with their audit entries, so a slot the guardrails refuse
    leaves no relay behind.  From then on it is a broadcast like any other: approval, plans,
    readiness, calendar; the controller restreams the source for each slot it holds.
    """
    from controller.plans.relays import add_relay_bulletin, relay_seconds

    access.require_permission(actor, "draft")
    access.require_targets(actor, targets)
    if priority == "emergency":
        access.require_permission(actor, "emergency")
    seconds = relay_seconds(duration_min, duration_s)
    with c.db.tx():
        bulletin = add_relay_bulletin(
            c.db, c.streaming.sources, source_id, seconds, title, actor.username,
            on_stored=lambda b: c.audit.record(actor, "relay_programme_added", b["id"],
                                               {"source_id": b["relay_source_id"], "duration_s": seconds}))
        bc = c.broadcasts.schedule(bulletin.id, starts_at, targets, priority, actor.username, **spec)
        c.audit.record(actor, "emergency" if bc.priority == "emergency" else "broadcast_scheduled", bc.id,
                       {"targets": list(bc.targets), "starts_at": bc.starts_at, "relay_source_id": source_id})
    return ScheduledRelay(c.replan(bc), RelayProgramme(source_id, seconds, bulletin.title))


def _with_override_by(c: Controller, actor: Actor, spec: dict[str, Any]) -> dict[str, Any]:
    """A guardrail override is a decision of a person with the right to approve; it names them.

    Without a name of its own (the page sends only the reason) it takes the actor's full name.
    """
    override = spec.get("override")
    if not override:
        return spec
    if not actor.can("approve"):
        raise Refused("override_forbidden", "Chỉ lãnh đạo có quyền phê duyệt mới được phát ngoại lệ quy định; "
                                            "hãy chọn giờ khác hoặc nhờ lãnh đạo duyệt ngoại lệ.", "override")
    if isinstance(override, dict) and not str(override.get("by") or "").strip():
        from controller.plans.schedule_facts import full_name

        override = {**override, "by": full_name(c, actor.username) or actor.username}
    return {**spec, "override": override}


def schedule_form_facts(c: Controller, actor: Actor, bulletin_id: Any, form: Mapping[str, Any]) -> ScheduleFacts:
    """Length, occurrence count and dates the schedule form will produce (see :mod:`controller.plans.schedule_facts`)."""
    from controller.plans.schedule_facts import form_preview

    access.require_permission(actor, "draft")
    if bulletin_id:
        require_readable_bulletin(c, bulletin_id, actor.username)
    return form_preview(c, bulletin_id, form)


def edit_broadcast(c: Controller, actor: Actor, broadcast_id: str, fields: Mapping[str, Any]) -> Broadcast:
    """Change the editable ``fields`` of a broadcast; it is checked again and goes back to approval."""
    access.require_permission(actor, "draft")
    with c.db.tx():
        before = list(broadcast_in_scope(c, actor, broadcast_id).devices)
        changes = _with_override_by(c, actor, {k: fields[k] for k in EDIT_FIELDS if k in fields})
        if not changes:
            raise InputError("nothing_to_change", f"Không có gì để sửa; các trường sửa được: {', '.join(EDIT_FIELDS)}.")
        access.require_targets(actor, changes.get("targets"))
        if changes.get("priority") == "emergency":
            access.require_permission(actor, "emergency")
        if "bulletin_id" in changes:
            require_readable_bulletin(c, changes["bulletin_id"], actor.username)
        bc = c.broadcasts.edit(broadcast_id, changes, actor.username)
        c.audit.record(actor, "broadcast_edited", broadcast_id, {"changes": sorted(changes)})
    return c.replan(bc, before)


def reschedule_from_form(c: Controller, actor: Actor, broadcast_id: str, form: Any) -> Broadcast:
    """New timing for a broadcast from the schedule form's fields (as typed); it goes back to approval."""
    from controller.plans.schedule_facts import timing_from_form

    if not isinstance(form, dict):
        raise InputError("invalid_schedule", "Biểu mẫu lịch phát không hợp lệ.", "start_date")
    access.require_permission(actor, "draft")
    current = broadcast_in_scope(c, actor, broadcast_id)
    if not actor.can("approve") and current.created_by not in ("", actor.username):
        raise Refused("not_author", "Chỉ người soạn lịch phát mới sửa được lịch này.", "status")
    timing = timing_from_form(form)
    fields: dict[str, Any] = {"rule": timing["rule"]} if "rule" in timing else {
        "starts_at": timing["starts_at"], "repeats": timing.get("repeats", 1)}
    return edit_broadcast(c, actor, broadcast_id, fields)


def submit_broadcast(c: Controller, actor: Actor, broadcast_id: str) -> Broadcast:
    access.require_permission(actor, "draft")
    with c.db.tx():
        broadcast_in_scope(c, actor, broadcast_id)
        bc = c.broadcasts.submit(broadcast_id, actor.username)
        c.audit.record(actor, "broadcast_submitted", broadcast_id)
    return c.replan(bc)


def approve_broadcast(c: Controller, actor: Actor, broadcast_id: str, comment: Any = "") -> Broadcast:
    """Approve, by someone other than the author (unless the two-person rule is off)."""
    access.require_permission(actor, "approve")
    with c.db.tx():
        broadcast_in_scope(c, actor, broadcast_id)
        access.check_two_person(actor, c.broadcasts.authorship(broadcast_id), c.config.people.two_person_rule)
        bc = c.broadcasts.approve(broadcast_id, actor.username, comment)
        c.audit.record(actor, "broadcast_approved", broadcast_id, {"comment": bc.decision_comment})
    return c.replan(bc)


def reject_broadcast(c: Controller, actor: Actor, broadcast_id: str, comment: Any = "") -> Broadcast:
    access.require_permission(actor, "approve")
    with c.db.tx():
        broadcast_in_scope(c, actor, broadcast_id)
        bc = c.broadcasts.reject(broadcast_id, actor.username, comment)
        c.audit.record(actor, "broadcast_rejected", broadcast_id, {"comment": bc.decision_comment})
    return c.replan(bc)


def cancel_broadcast(c: Controller, actor: Actor, broadcast_id: str) -> Broadcast:
    """Cancel a broadcast (``DELETE /api/broadcasts/<id>`` and ``POST …/cancel`` both come here).

    Approvers cancel any broadcast of their area; an editor only those they scheduled.
    """
    access.require_permission(actor, "draft")
    with c.db.tx():
        current = broadcast_in_scope(c, actor, broadcast_id)
        if not actor.can("approve") and current.created_by not in ("", actor.username):
            raise Refused("not_author", "Chỉ người duyệt hoặc người soạn lịch phát mới hủy được lịch phát này.", "status")
        if current.priority == "emergency" and not actor.can("emergency"):
            raise Refused("forbidden", "Chỉ người có quyền phát khẩn cấp mới hủy được lịch phát khẩn cấp.", "priority")
        bc = c.broadcasts.cancel(broadcast_id, actor.username)
        c.audit.record(actor, "broadcast_cancelled", broadcast_id)
    return c.replan(bc)


def withdraw_broadcast(c: Controller, actor: Actor, broadcast_id: str) -> Broadcast:
    """Take a submitted broadcast back to draft (to edit it) before the leader decided; its author or an approver."""
    access.require_permission(actor, "draft")
    with c.db.tx():
        current = broadcast_in_scope(c, actor, broadcast_id)
        if current.created_by != actor.username and not actor.can("approve"):
            raise Refused("not_author", "Chỉ người soạn lịch phát mới rút lại được.", "status")
        bc = c.broadcasts.withdraw(broadcast_id, actor.username)
        c.audit.record(actor, "broadcast_withdrawn", broadcast_id)
    return c.replan(bc)


def cancel_occurrence(c: Controller, actor: Actor, broadcast_id: str, at: Any, reason: Any) -> Broadcast:
    """Cancel one occurrence of a broadcast: approvers, or the editor who scheduled it; the rest still air."""
    access.require_permission(actor, "draft")
    with c.db.tx():
        current = broadcast_in_scope(c, actor, broadcast_id)
        if not actor.can("approve") and current.created_by != actor.username:
            raise Refused("forbidden", "Chỉ người duyệt hoặc người soạn lịch phát mới hủy được buổi phát.", "status")
        if current.priority == "emergency" and not actor.can("emergency"):
            raise Refused("forbidden", "Chỉ người có quyền phát khẩn cấp mới hủy được lịch phát khẩn cấp.", "priority")
        bc = c.broadcasts.cancel_occurrence(broadcast_id, at, actor.username, reason)
        c.audit.record(actor, "broadcast_occurrence_cancelled", broadcast_id,
                       {"at": at if isinstance(at, str) else "", "reason": reason})
    return c.replan(bc)


# -- emergencies --------------------------------------------------------------------------
def trigger_emergency(c: Controller, actor: Actor, targets: Any, content: Mapping[str, Any]) -> Emergency:
    """Play at once on every targeted device of the actor's subtree; the audit entry commits with the record."""
    access.require_permission(actor, "emergency")
    access.require_targets(actor, targets)
    require_readable_bulletin(c, content.get("bulletin_id"), actor.username)

    def audit(em: Emergency) -> None:
        c.audit.record(actor, "emergency", em.broadcast_id, {"targets": targets, "topics": list(em.topics),
                                                             "reason": em.reason})

    picked = {k: content[k] for k in EMERGENCY_CONTENT if k in content}
    return c.emergencies.trigger(targets, actor.username, on_stored=audit, **picked)


def visible_emergencies(c: Controller, actor: Actor) -> list[Emergency]:
    """Emergencies whose devices all lie in the actor's subtree (the rule broadcasts follow)."""
    return [e for e in c.emergencies.list() if actor.scope.covers(c.broadcasts.devices_of(e.broadcast_id))]


EMERGENCY_STAGES = ("delivered", "started", "finished", "interrupted", "failed", "skipped")


def emergency_status(c: Controller, actor: Actor, broadcast_id: str) -> EmergencyStatus:
    """Per targeted device: its link, the furthest stage it reported, and whether it confirmed.

    A device that has reported nothing is ``waiting`` while the controller still re-sends
    (``sends`` so far), and ``unreached`` once the item's lifetime ended without a word from
    it: "sent" is never a final answer.  ``reason`` carries the device's own reason for a
    ``failed`` or ``skipped`` (for example an expired command).
    """
    from controller.reports.event_wording import reason_text
    from controller.devices.use_cases import devices_in_scope

    bc = c.broadcasts.get(broadcast_id)
    if bc.kind != "emergency":
        raise NotFound("unknown_emergency", f"Không có lệnh khẩn cấp '{broadcast_id}'.")
    access.require_devices(actor, list(bc.devices))
    devices = {d.id: d for d in devices_in_scope(c, actor)}
    events = c.playback(broadcast_id=broadcast_id, limit=5000)
    stage: dict[str, tuple[str, str]] = {}
    for e in sorted(events, key=lambda e: e.id):
        if e.kind in EMERGENCY_STAGES:
            stage[e.device_id] = (e.kind, e.reason or "")
    delivery = {d.device_id: d for d in c.emergencies.deliveries(broadcast_id)}
    cut_off_now = c.broker_tree.cut_off_devices()
    rows = []
    for device_id in bc.devices:
        d = devices.get(device_id)
        sent = delivery.get(device_id)
        fallback = "unreached" if sent and sent.status == "unreached" else "waiting"
        kind, reason = stage.get(device_id, (fallback, ""))
        link_down = cut_off_now.get(device_id) or (sent.cut_off_by if sent and device_id not in stage else None)
        rows.append(EmergencyDevice(
            device_id, d.name if d else device_id, bool(d and d.online) and not cut_off_now.get(device_id),
            (d.link if d else None) or "unknown", d.last_seen if d else None, kind, reason, reason_text(reason),
            sent.status if sent else "pending", sent.sends if sent else 0, sent.confirmed_at if sent else None,
            link_down or None))
    return EmergencyStatus(broadcast_id, bc.starts_at, tuple(rows))


# -- guardrails, readiness, plans ---------------------------------------------------------
def guardrails_of(c: Controller, actor: Actor, unit_id: str) -> GuardrailView:
    access.require_unit(actor, unit_id)
    return c.guardrails.view(load_tree(c.db), unit_id)


def put_guardrails(c: Controller, actor: Actor, unit_id: str, values: Any) -> GuardrailView:
    """Set a unit's own guardrail values; every plan is rebuilt with them."""
    access.require_permission(actor, "manage")
    access.require_unit(actor, unit_id)
    with c.db.tx():
        view = c.guardrails.put(load_tree(c.db), unit_id, values, actor.username)
        c.audit.record(actor, "guardrails_changed", unit_id, {"values": dict(view.own)})
    c.jobs.rebuild()
    return view


def guardrails_page(c: Controller, actor: Actor) -> list[GuardrailUnit]:
    """The guardrails page: every unit of the actor's scope (:func:`controller.plans.guardrail_form.overview`)."""
    from controller.plans.guardrail_form import overview

    access.require_permission(actor, "manage")
    return overview(c, actor)


def put_guardrails_form(c: Controller, actor: Actor, unit_id: str, form: Any) -> GuardrailView:
    """A unit's guardrails from the page's text fields (empty: inherited), stored and audited as :func:`put_guardrails`."""
    from controller.plans.guardrail_form import values_from_form

    access.require_permission(actor, "manage")
    if not isinstance(form, dict):
        raise InputError("invalid_guardrail", "Biểu mẫu giới hạn không hợp lệ.", "values")
    return put_guardrails(c, actor, unit_id, values_from_form(form))


def readiness_in_scope(c: Controller, actor: Actor, hours: float = 24.0, limit: int = 50) -> list[ReadinessSlot]:
    """The next slots' readiness (:func:`controller.plans.readiness.readiness`) cut to the actor's devices.

    A slot none of whose devices (ready, not ready, offline, skipped) is the actor's is left out.
    """
    s = actor.scope
    rows = []
    for r in c.readiness(hours, limit):
        r = replace(r, ready=tuple(d for d in r.ready if s.has_device(d)),
                    not_ready=tuple(d for d in r.not_ready if s.has_device(d.device_id)),
                    offline=tuple(d for d in r.offline if s.has_device(d)),
                    skipped=tuple(d for d in r.skipped if s.has_device(d.device_id)),
                    cut_off=tuple(d for d in r.cut_off if s.has_device(d.device_id)))
        if any(r.counts.values()) or r.skipped:
            rows.append(r)
    return rows


def links_down(c: Controller, actor: Actor) -> list[LinkDown]:
    """Commune brokers whose bridge to the province is down, with how many of the actor's devices they cut off."""
    s = actor.scope
    devices_of = c.broker_tree.devices_of()
    out = []
    for b in c.broker_tree.all():
        mine = [d for d in devices_of.get(b.id, []) if s.has_device(d)]
        if b.link_up is False and mine:
            out.append(LinkDown(b.id, b.name, b.units, b.device_host, b.device_port, b.province_address, b.link_up,
                                b.link_changed_at, tuple(mine)))
    return out


def issued_plan(c: Controller, actor: Actor, device_id: str) -> IssuedPlan:
    """The plan last issued to a device of the actor's subtree."""
    access.require_devices(actor, [device_id])
    with c.db.tx() as db:
        row = db.execute("SELECT plan_version, issued_at, payload FROM device_plans WHERE device_id = ?",
                         [device_id]).fetchone()
    if row is None:
        raise NotFound("unknown_plan", f"Cụm loa '{device_id}' chưa có kế hoạch phát.")
    return IssuedPlan(device_id, row[0], row[1], json.loads(row[2])["body"])


def starts_between(bc: Broadcast, since: datetime, until: datetime) -> list[datetime]:
    """When a broadcast starts in [since, until)."""
    return starts_of(bc.rule, bc.starts_at, since, until)


def starts_of(rule: Mapping[str, Any] | None, starts_at: str | None, since: datetime,
              until: datetime) -> list[datetime]:
    """When a broadcast with this rule (else its single ``starts_at``) starts in [since, until)."""
    from loaxa.protocol import parse_time
    from schedules.rules import BroadcastRule

    if rule:
        return BroadcastRule.from_dict(rule).occurrences(since, until)
    t = parse_time(starts_at, "starts_at")
    return [t] if since <= t < until else []
