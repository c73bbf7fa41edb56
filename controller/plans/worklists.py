"""The lists people work from: the approval queue, an editor's own work, one broadcast in detail.

Each list is cut to the actor's scope and carries the facts of
:mod:`controller.plans.schedule_facts` (length in minutes, occurrences, full names), so the
pages only render.  The approval queue is ordered by air time: what airs first is decided first.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from controller.labels import MY_WORK_GROUP_VI as MY_GROUP_NAMES
from controller.people import access
from controller.people.actor import Actor
from controller.plans.records import Broadcast, BroadcastCard, DeviceStage, MyWork, Upcoming, WorkGroup
from controller.plans.schedule_facts import broadcast_facts, full_name
from loaxa.local_time import LOCAL_TZ
from schedules.date_phrases_vi import WEEKDAY_NAMES_VI
from loaxa.wire_time import format_time, parse_time, utcnow

if TYPE_CHECKING:
    from controller.devices.ingest import PlaybackLogEntry
    from controller.service import Controller

PENDING = "pending_approval"
DEVICE_STAGES = ("delivered", "started", "finished", "interrupted", "preempted", "failed", "skipped")
MY_GROUPS = ("draft", "pending_approval", "approved", "rejected", "aired", "cancelled")


def _names(c: Controller) -> dict[str, str]:
    names = {u.id: u.name for u in c.registry.units()}
    names.update({d.id: d.name for d in c.registry.devices()})
    return names


def _next_air(bc: Broadcast, now: datetime) -> datetime | None:
    from controller.plans.use_cases import starts_between

    starts = starts_between(bc, now, now + timedelta(days=400))
    return starts[0] if starts else None


def _card(c: Controller, bc: Broadcast, names: dict[str, str], now: datetime, **page: Any) -> BroadcastCard:
    nxt = _next_air(bc, now)
    return BroadcastCard(**{f.name: getattr(bc, f.name) for f in fields(Broadcast)},
                         bulletin=c.bulletins.get(bc.bulletin_id), target_names=tuple(names.get(t, t) for t in bc.targets),
                         facts=broadcast_facts(c, bc), next_air=format_time(nxt) if nxt else None, **page)


def approval_queue(c: Controller, actor: Actor, status: str = PENDING, limit: int | None = None) -> list[BroadcastCard]:
    """Broadcasts in ``status`` whose devices all lie in the actor's scope; pending ones ordered by next air time."""
    now = utcnow()
    names = _names(c)
    cards = [_card(c, bc, names, now) for bc in c.broadcasts.list(status)
             if bc.devices and actor.scope.covers(list(bc.devices))]
    if status == PENDING:
        cards.sort(key=lambda b: (b.next_air is None, b.next_air or "", b.id))
    return cards[:limit] if limit else cards


def _aired(c: Controller, bc: Broadcast, now: datetime) -> bool:
    """Approved and nothing left to air, or some device already reported playing it."""
    if bc.status != "approved":
        return False
    if _next_air(bc, now) is None:
        return True
    return any(e.kind in ("started", "finished") for e in c.playback(broadcast_id=bc.id, limit=50))


def my_work(c: Controller, actor: Actor) -> MyWork:
    """The actor's own broadcasts grouped as drafts, submitted, approved, rejected (with the comment), aired, cancelled.

    Bulletins they prepared but never scheduled come as ``unscheduled``.
    """
    access.require_permission(actor, "draft")
    now = utcnow()
    names = _names(c)
    groups: dict[str, list[BroadcastCard]] = {g: [] for g in MY_GROUPS}
    used: set[str] = set()
    for bc in c.broadcasts.list():
        if not bc.scheduled or bc.created_by != actor.username:
            continue
        used.add(bc.bulletin_id)
        group = "aired" if _aired(c, bc, now) else bc.status
        groups[group].append(_card(c, bc, names, now, can_edit=bc.status in ("draft", PENDING),
                                   can_withdraw=bc.status == PENDING, can_submit=bc.status == "draft"))
    for cards in groups.values():
        cards.sort(key=lambda b: b.next_air or b.starts_at or "", reverse=False)
    unscheduled = tuple(b for b in c.bulletins.list() if b.created_by == actor.username and b.id not in used)
    return MyWork(tuple(WorkGroup(g, MY_GROUP_NAMES[g], tuple(groups[g])) for g in MY_GROUPS), unscheduled,
                  full_name(c, actor.username))


def _label(t: datetime) -> str:
    local = t.astimezone(LOCAL_TZ)
    return f"{WEEKDAY_NAMES_VI[local.weekday()]} {local:%d/%m/%Y} lúc {local:%H:%M}"


def broadcast_detail(c: Controller, actor: Actor, broadcast_id: str) -> BroadcastCard:
    """One broadcast for its calendar page: end time, length, targets, approval, upcoming and cancelled
    occurrences, and each device's state (online, the last stage it reported for this broadcast)."""
    from controller.plans.use_cases import broadcast_in_scope, starts_between

    bc = broadcast_in_scope(c, actor, broadcast_id)
    now = utcnow()
    devices = {d.id: d for d in c.registry.devices()}
    stage: dict[str, PlaybackLogEntry] = {}
    for e in sorted(c.playback(broadcast_id=broadcast_id, limit=5000), key=lambda e: e.id):
        if e.kind in DEVICE_STAGES:
            stage[e.device_id] = e
    rows = tuple(DeviceStage(d, devices[d].name if d in devices else d, d in devices and devices[d].online,
                             devices[d].last_seen if d in devices else None,
                             stage[d].kind if d in stage else "", stage[d].reason if d in stage else "")
                 for d in bc.devices)
    rule = bc.rule or {}
    cancelled = tuple(f"{parse_time(t, 'cancelled').astimezone(LOCAL_TZ):%H:%M %d/%m/%Y}"
                      for t in sorted(rule.get("cancelled", [])))
    offset = timedelta(seconds=float(rule.get("offset_s", 0) or 0))
    upcoming = tuple(Upcoming(format_time(t + offset), _label(t + offset))
                     for t in starts_between(bc, now, now + timedelta(days=400))[:60])
    ends_at_local = (f"{parse_time(bc.ends_at, 'ends_at').astimezone(LOCAL_TZ):%H:%M ngày %d/%m/%Y}"
                     if bc.ends_at else "")
    may_cancel = bc.status in ("draft", PENDING, "approved") and (actor.can("approve") or bc.created_by == actor.username)
    return _card(c, bc, _names(c), now, device_rows=rows, cancelled_occurrences=cancelled, upcoming=upcoming,
                 ends_at_local=ends_at_local, may_cancel=may_cancel)
