"""What a person should know about a broadcast before deciding: its length, its occurrences, who wrote it.

The schedule form and the approval card show the same facts: the reading's length in
minutes (flagged when it runs past ``[schedules] reading_limit_minutes``, the Hanoi rule of
15-minute programmes), how many times and on which days it airs, and the full names of the
people involved.  A bulletin already scheduled for the same slot on the same device is a
*duplicate*: scheduling it again needs an explicit confirmation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Mapping

from controller.errors import Conflict, InputError
from controller.plans.records import (Broadcast, BroadcastFacts, Duplicate, OccurrenceDates, ReadingLength,
                                     ScheduleFacts)
from loaxa.local_time import LOCAL_TZ
from loaxa.wire_time import format_time, utcnow
from schedules.errors import ScheduleInputError
from schedules.form_entry import form_schedule

if TYPE_CHECKING:
    from controller.service import Controller

SHOWN_DATES = 12
LIVE_STATUSES = ("draft", "pending_approval", "approved")
FAR = timedelta(days=400)


def timing_from_form(d: Mapping[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """The schedule form's fields as broadcast timing (``starts_at`` + ``repeats``, or ``rule``)."""
    try:
        form = form_schedule(d.get("recurrence"), d.get("start_date"), d.get("end_date"), d.get("slot_times"),
                             d.get("repeats"), now or utcnow())
    except ScheduleInputError as exc:
        raise InputError(exc.code, exc.message, exc.field) from None
    return form.to_request()


@dataclass(frozen=True)
class Occurrences:
    """When a broadcast airs: how many times, and the first dates as people read them."""

    count: int
    first: tuple[datetime, ...]

    def dates(self) -> OccurrenceDates:
        """As people read them: the first dates in local time, and how many more."""
        return OccurrenceDates(self.count, tuple(f"{t.astimezone(LOCAL_TZ):%H:%M %d/%m/%Y}" for t in self.first),
                               max(0, self.count - len(self.first)))


def occurrences_of(rule: Mapping[str, Any] | None, starts_at: str | None, since: datetime | None = None) -> Occurrences:
    """Every start of a broadcast with this rule (or single start) from ``since`` (default: a day ago)."""
    from controller.plans.use_cases import starts_of

    start = since or utcnow() - timedelta(days=1)
    starts = starts_of(rule, starts_at, start, start + FAR)
    return Occurrences(len(starts), tuple(starts[:SHOWN_DATES]))


def length_facts(c: Controller, duration_s: float | None, repeats: int = 1) -> ReadingLength:
    """The reading's length in minutes, and whether it is past the configured limit."""
    limit = c.config.schedules.reading_limit_minutes
    minutes = round((duration_s or 0.0) * max(1, repeats) / 60.0, 1)
    return ReadingLength(minutes, limit, bool(limit) and minutes > float(limit))


def full_name(c: Controller, username: str) -> str:
    """A person's full name as entered by the administrator, else their username."""
    user = c.users.find(username) if username else None
    return (user.display_name or user.username) if user else (username or "")


def broadcast_facts(c: Controller, bc: Broadcast) -> BroadcastFacts:
    """Length, occurrences and names for one stored broadcast (for the approval card and the detail page)."""
    bulletin = c.bulletins.get(bc.bulletin_id)
    repeats = int((bc.rule or {}).get("repeats", 1) or 1)
    return BroadcastFacts(length_facts(c, bulletin.duration_s, repeats), occurrences_of(bc.rule, bc.starts_at).dates(),
                          created_by_name=full_name(c, bc.created_by),
                          decided_by_name=full_name(c, bc.decided_by) if bc.decided_by != "auto_approve" else "",
                          bulletin_by_name=full_name(c, bulletin.created_by), title=bulletin.title)


def form_preview(c: Controller, bulletin_id: Any, d: Mapping[str, Any]) -> ScheduleFacts:
    """What the schedule form will ask for, before it is sent: length, occurrences and dates."""
    timing = timing_from_form(d)
    rule: Mapping[str, Any] | None = None
    starts_at: str | None = None
    if "rule" in timing:
        rule = timing["rule"]
        repeats = int(rule.get("repeats", 1))
    else:
        starts_at = format_time(datetime.fromisoformat(timing["starts_at"]))
        repeats = int(timing.get("repeats", 1))
    duration = None
    if isinstance(bulletin_id, str) and bulletin_id:
        duration = c.bulletins.get(bulletin_id).duration_s
    try:
        occurrences = occurrences_of(rule, starts_at, utcnow())
    except ScheduleInputError as exc:
        raise InputError(exc.code, exc.message, exc.field) from None
    return ScheduleFacts(length_facts(c, duration, repeats), occurrences.dates())


def duplicates(c: Controller, bc: Broadcast) -> list[Duplicate]:
    """Other live broadcasts of the same bulletin that share a slot and a device with ``bc``."""
    starts = set(_all_starts(bc))
    out = []
    for other in c.broadcasts.list():
        if other.id == bc.id or other.bulletin_id != bc.bulletin_id or other.status not in LIVE_STATUSES:
            continue
        if not other.scheduled or not set(other.devices) & set(bc.devices):
            continue
        shared = sorted(starts & set(_all_starts(other)))
        if shared:
            out.append(Duplicate(other.id, other.status, f"{shared[0].astimezone(LOCAL_TZ):%H:%M %d/%m/%Y}",
                                 len(shared)))
    return out


def _all_starts(bc: Broadcast) -> list[datetime]:
    from controller.plans.use_cases import starts_between

    start = utcnow() - timedelta(days=1)
    return starts_between(bc, start, start + FAR)


def refuse_duplicates(c: Controller, bc: Broadcast, confirmed: Any) -> list[Duplicate]:
    """Ask for confirmation (409 ``duplicate``) when the same bulletin already takes this slot and device.

    Returns the duplicates the person confirmed (empty when there were none)."""
    found = duplicates(c, bc)
    if found and confirmed is not True:
        first = found[0]
        raise Conflict("duplicate",
                       f"Bản tin này đã được gửi phát lúc {first.at} trên cùng cụm loa (lịch {first.broadcast_id}). "
                       "Bạn có chắc muốn gửi thêm một lần nữa?", "_form", [d.to_dict() for d in found])
    return found
