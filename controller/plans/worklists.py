"""The lists people work from: the approval queue, an editor's own work, one broadcast in detail.

Each list is cut to the actor's scope and carries the facts of
:mod:`controller.plans.schedule_facts` (length in minutes, occurrences, full names), so the
pages only render.  The approval queue is ordered by air time: what airs first is decided first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from controller.labels import MY_WORK_GROUP_VI as MY_GROUP_NAMES
from controller.people import access
from controller.people.actor import Actor
from controller.plans.schedule_facts import broadcast_facts, full_name
from loaxa.local_time import LOCAL_TZ
from schedules.date_phrases_vi import WEEKDAY_NAMES_VI
from loaxa.wire_time import format_time, parse_time, utcnow

if TYPE_CHECKING:
    from controller.service import Controller

PENDING = "pending_approval"
DEVICE_STAGES = ("delivered", "started", "finished", "interrupted", "preempted", "failed", "skipped")
MY_GROUPS = ("draft", "pending_approval", "approved", "rejected", "aired", "cancelled")


def _names(c: Controller) -> dict[str, str]:
    names = {u.id: u.name for u in c.registry.units()}
    names.update({d.id: d.name for d in c.registry.devices()})
    return names


def _next_air(bc: dict[str, Any], now: datetime) -> datetime | None:
    from controller.plans.use_cases import starts_between

    starts = starts_between(bc, now, now + timedelta(days=400))
    return starts[0] if starts else None


def _card(c: Controller, bc: dict[str, Any], names: dict[str, str], now: datetime) -> dict[str, Any]:
    nxt = _next_air(bc, now)
    return {**bc, "bulletin": c.bulletins.get(bc["bulletin_id"]), "target_names": [names.get(t, t) for t in bc["targets"]],
            "facts": broadcast_facts(c, bc), "next_air": format_time(nxt) if nxt else None}


def approval_queue(c: Controller, actor: Actor, status: str = PENDING, limit: int | None = None) -> list[dict[str, Any]]:
    """Broadcasts in ``status`` whose devices all lie in the actor's scope; pending ones ordered by next air time."""
    now = utcnow()
    names = _names(c)
    cards = [_card(c, bc, names, now) for bc in c.broadcasts.list(status)
             if bc["devices"] and actor.scope.covers(bc["devices"])]
    if status == PENDING:
        cards.sort(key=lambda b: (b["next_air"] is None, b["next_air"] or "", b["id"]))
    return cards[:limit] if limit else cards


def _aired(c: Controller, bc: dict[str, Any], now: datetime) -> bool:
    """Approved and nothing left to air, or some device already reported playing it."""
    if bc["status"] != "approved":
        return False
    if _next_air(bc, now) is None:
        return True
    return any(e["kind"] in ("started", "finished") for e in c.playback(broadcast_id=bc["id"], limit=50))


def my_work(c: Controller, actor: Actor) -> dict[str, Any]:
    """The actor's own broadcasts grouped as drafts, submitted, approved, rejected (with the comment), aired, cancelled.

    Bulletins they prepared but never scheduled come as ``unscheduled``.
    """
    access.require_permission(actor, "draft")
    now = utcnow()
    names = _names(c)
    groups: dict[str, list[dict[str, Any]]] = {g: [] for g in MY_GROUPS}
    used: set[str] = set()
    for bc in c.broadcasts.list():
        if bc.get("kind") != "scheduled" or bc["created_by"] != actor.username:
            continue
        used.add(bc["bulletin_id"])
        card = _card(c, bc, names, now)
        group = "aired" if _aired(c, bc, now) else bc["status"]
        card["can_edit"] = bc["status"] in ("draft", PENDING)
        card["can_withdraw"] = bc["status"] == PENDING
        card["can_submit"] = bc["status"] == "draft"
        groups[group].append(card)
    for cards in groups.values():
        cards.sort(key=lambda b: b["next_air"] or b["starts_at"] or "", reverse=False)
    unscheduled = [b for b in c.bulletins.list() if b.get("created_by") == actor.username and b["id"] not in used]
    return {"groups": [{"id": g, "name": MY_GROUP_NAMES[g], "items": groups[g]} for g in MY_GROUPS],
            "unscheduled": unscheduled, "full_name": full_name(c, actor.username)}


def _label(t: datetime) -> str:
    local = t.astimezone(LOCAL_TZ)
    return f"{WEEKDAY_NAMES_VI[local.weekday()]} {local:%d/%m/%Y} lúc {local:%H:%M}"


def broadcast_detail(c: Controller, actor: Actor, broadcast_id: str) -> dict[str, Any]:
    """One broadcast for its calendar page: end time, length, targets, approval, upcoming and cancelled
    occurrences, and each device's state (online, the last stage it reported for this broadcast)."""
    from controller.plans.use_cases import broadcast_in_scope

    bc = broadcast_in_scope(c, actor, broadcast_id)
    now = utcnow()
    card = _card(c, bc, _names(c), now)
    devices = {d.id: d for d in c.registry.devices()}
    stage: dict[str, dict[str, Any]] = {}
    for e in sorted(c.playback(broadcast_id=broadcast_id, limit=5000), key=lambda e: e["id"]):
        if e["kind"] in DEVICE_STAGES:
            stage[e["device_id"]] = e
    card["device_rows"] = [{"device_id": d, "name": devices[d].name if d in devices else d,
                            "online": d in devices and devices[d].online,
                            "last_seen": devices[d].last_seen if d in devices else None,
                            "stage": stage[d]["kind"] if d in stage else "",
                            "reason": stage[d].get("reason", "") if d in stage else ""} for d in bc["devices"]]
    cancelled = sorted((bc.get("rule") or {}).get("cancelled", []))
    card["cancelled_occurrences"] = [f"{parse_time(t, 'cancelled').astimezone(LOCAL_TZ):%H:%M %d/%m/%Y}"
                                     for t in cancelled]
    from controller.plans.use_cases import starts_between

    offset = float((bc.get("rule") or {}).get("offset_s", 0) or 0)
    card["upcoming"] = [{"at": format_time(t + timedelta(seconds=offset)), "label": _label(t + timedelta(seconds=offset))}
                        for t in starts_between(bc, now, now + timedelta(days=400))[:60]]
    card["ends_at_local"] = (f"{parse_time(bc['ends_at'], 'ends_at').astimezone(LOCAL_TZ):%H:%M ngày %d/%m/%Y}"
                             if bc.get("ends_at") else "")
    card["may_cancel"] = bc["status"] in ("draft", PENDING, "approved") and (
        actor.can("approve") or bc["created_by"] == actor.username)
    return card
