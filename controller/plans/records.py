"""What the plans package answers, as frozen values: bulletins, broadcasts, emergencies, readiness, guardrails.

The stores and use cases of the package return these, never their database rows or loose
dicts, so a caller cannot change a record by accident and a misspelt field fails where it
is read.  ``to_dict`` is the JSON the API has always answered for each (``/api/bulletins``,
``/api/broadcasts``, ``/api/emergency…``, ``/api/readiness``, ``/api/units/<id>/guardrails``),
byte for byte; the JSON views call it at the edge, the pages read the fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping


def _plain(value: Any) -> Any:
    """A mapping or list as the JSON values it holds (fresh dicts and lists, never the record's own)."""
    return json.loads(json.dumps(value))


# -- bulletins ----------------------------------------------------------------------------
@dataclass(frozen=True)
class RemovedLine:
    """A line of a pasted document left out of the script (letterhead, signature, …) and why."""

    text: str
    reason: str
    line: int

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "reason": self.reason, "line": self.line}


@dataclass(frozen=True)
class PreparedScript:
    """The draft broadcast script of a pasted document, what was left out, and how it will be read."""

    title: str
    script: str
    removed: tuple[RemovedLine, ...]
    normalized: str

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "script": self.script, "removed": [r.to_dict() for r in self.removed],
                "normalized": self.normalized}


@dataclass(frozen=True)
class BulletinMedia:
    """A bulletin's rendered audio in the media store, and its MP3 fallback when there is one."""

    sha256: str
    ext: str
    size: int
    duration_s: float
    engine: str
    url: str
    mp3_sha256: str = ""

    @property
    def mp3_url(self) -> str:
        return f"/media/{self.mp3_sha256}.mp3" if self.mp3_sha256 else ""

    def to_dict(self) -> dict[str, Any]:
        # ``offline_voice`` has always been answered false here; a page reads ``engine`` instead.
        out: dict[str, Any] = {"sha256": self.sha256, "ext": self.ext, "size": self.size,
                               "duration_s": self.duration_s, "engine": self.engine, "offline_voice": False,
                               "url": self.url}
        if self.mp3_sha256:
            out["mp3"] = {"sha256": self.mp3_sha256, "url": self.mp3_url}
        return out


@dataclass(frozen=True)
class Bulletin:
    """The text an official wrote, the script read aloud, and its media (none for a relay programme).

    A relay programme has a source and a slot length instead of media.
    """

    id: str
    title: str
    text: str
    script: str
    media_sha256: str | None
    created_at: str
    created_by: str
    removed: tuple[RemovedLine, ...]
    media: BulletinMedia | None
    relay_source_id: str | None = None
    relay_duration_s: float | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Bulletin:
        """A row of ``bulletins`` joined with its ``media`` row (``ext``, ``size``, … ``fallback_sha256``)."""
        media = None
        if row.get("media_sha256"):
            media = BulletinMedia(row["media_sha256"], row["ext"], row["size"], row["duration_s"], row["engine"],
                                  f"/media/{row['media_sha256']}.ogg", row.get("fallback_sha256") or "")
        removed = tuple(RemovedLine(r["text"], r["reason"], r["line"])
                        for r in json.loads(row.get("removed_json") or "[]"))
        return cls(row["id"], row["title"], row["text"], row["script"], row["media_sha256"], row["created_at"],
                   row["created_by"], removed, media, row.get("relay_source_id"), row.get("relay_duration_s"))

    @property
    def duration_s(self) -> float | None:
        return self.media.duration_s if self.media else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "title": self.title, "text": self.text, "script": self.script,
            "media_sha256": self.media_sha256, "created_at": self.created_at, "created_by": self.created_by,
            "relay_source_id": self.relay_source_id, "relay_duration_s": self.relay_duration_s,
            "removed": [r.to_dict() for r in self.removed], "media": self.media.to_dict() if self.media else None}
        if self.media is None:  # the media join's columns, empty, as the API has always carried them
            out.update(ext=None, size=None, duration_s=None, engine=None, fallback_sha256=None)
        return out


# -- broadcasts ---------------------------------------------------------------------------
@dataclass(frozen=True)
class BroadcastChange:
    """One line of a broadcast's history: what was done, by whom, when, with what comment."""

    action: str
    by: str
    comment: str
    at: str

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "by": self.by, "comment": self.comment, "at": self.at}


@dataclass(frozen=True)
class Broadcast:
    """A bulletin scheduled on targets, with its approval status, devices and history.

    ``rule`` and ``rule_vi`` (the rule as people read it) are those of a scheduled broadcast;
    an emergency has neither.
    """

    id: str
    bulletin_id: str
    kind: str  # "scheduled" or "emergency"
    status: str
    priority: str
    starts_at: str
    ends_at: str | None
    targets: tuple[str, ...]
    devices: tuple[str, ...]
    order: int
    override: Mapping[str, Any] | None
    rule: Mapping[str, Any] | None
    rule_vi: str | None
    created_at: str
    created_by: str
    decided_by: str
    decided_at: str | None
    decision_comment: str
    updated_at: str | None
    late_until: str | None
    history: tuple[BroadcastChange, ...]

    @property
    def scheduled(self) -> bool:
        return self.kind == "scheduled"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "bulletin_id": self.bulletin_id, "starts_at": self.starts_at, "priority": self.priority,
            "status": self.status, "created_at": self.created_at, "created_by": self.created_by, "kind": self.kind,
            "ends_at": self.ends_at, "decided_by": self.decided_by, "decided_at": self.decided_at,
            "decision_comment": self.decision_comment, "updated_at": self.updated_at, "late_until": self.late_until,
            "targets": list(self.targets), "order": self.order,
            "override": _plain(self.override) if self.override is not None else None}
        if self.override is None:  # the stored column, empty, as the API has always carried it
            out["override_json"] = ""
        if self.scheduled:
            out["rule"] = _plain(self.rule)
            out["rule_vi"] = self.rule_vi
        out["devices"] = list(self.devices)
        out["history"] = [h.to_dict() for h in self.history]
        return out


@dataclass(frozen=True)
class RelayProgramme:
    """What a relay programme airs: its source and slot length, and the title it was given."""

    source_id: str
    duration_s: float
    title: str

    def to_dict(self) -> dict[str, Any]:
        return {"source_id": self.source_id, "duration_s": self.duration_s, "title": self.title}


@dataclass(frozen=True)
class ScheduledRelay:
    """A relay programme just scheduled: its broadcast, and the relay it carries."""

    broadcast: Broadcast
    relay: RelayProgramme

    def to_dict(self) -> dict[str, Any]:
        return {**self.broadcast.to_dict(), "relay": self.relay.to_dict()}


# -- what a person should know before deciding ----------------------------------------------
@dataclass(frozen=True)
class ReadingLength:
    """The reading's length in minutes, and whether it runs past the configured limit."""

    minutes: float
    limit_minutes: float
    over_limit: bool

    def to_dict(self) -> dict[str, Any]:
        return {"minutes": self.minutes, "limit_minutes": self.limit_minutes, "over_limit": self.over_limit}


@dataclass(frozen=True)
class OccurrenceDates:
    """How many times a broadcast airs, its first dates as people read them, and how many more."""

    count: int
    dates: tuple[str, ...]
    more: int

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "dates": list(self.dates), "more": self.more}


@dataclass(frozen=True)
class ScheduleFacts:
    """What the schedule form will produce: the reading's length and the occurrences."""

    length: ReadingLength
    occurrences: OccurrenceDates

    def to_dict(self) -> dict[str, Any]:
        return {"length": self.length.to_dict(), "occurrences": self.occurrences.to_dict()}


@dataclass(frozen=True)
class BroadcastFacts(ScheduleFacts):
    """A stored broadcast's facts for the approval card and its page: also the people involved, by full name."""

    created_by_name: str = ""
    decided_by_name: str = ""
    bulletin_by_name: str = ""
    title: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "created_by_name": self.created_by_name,
                "decided_by_name": self.decided_by_name, "bulletin_by_name": self.bulletin_by_name,
                "title": self.title}


@dataclass(frozen=True)
class Duplicate:
    """Another live broadcast of the same bulletin sharing a slot and a device (``at`` is the first shared one)."""

    broadcast_id: str
    status: str
    at: str
    shared: int

    def to_dict(self) -> dict[str, Any]:
        return {"broadcast_id": self.broadcast_id, "status": self.status, "at": self.at, "shared": self.shared}


# -- the lists people work from -------------------------------------------------------------
@dataclass(frozen=True)
class DeviceStage:
    """A targeted device on a broadcast's page: online or not, and the last stage it reported for it."""

    device_id: str
    name: str
    online: bool
    last_seen: str | None
    stage: str
    reason: str


@dataclass(frozen=True)
class Upcoming:
    """One coming occurrence of a broadcast: its instant and how people read it."""

    at: str
    label: str


@dataclass(frozen=True)
class BroadcastCard(Broadcast):
    """A broadcast as the approval queue, the editor's own work and its page show it.

    The fields below are what those pages add to it; each stays at its default where a page
    does not show it (the detail fields are :func:`controller.plans.worklists.broadcast_detail`'s).
    """

    bulletin: Bulletin | None = None
    target_names: tuple[str, ...] = ()
    facts: BroadcastFacts | None = None
    next_air: str | None = None
    can_edit: bool = False
    can_withdraw: bool = False
    can_submit: bool = False
    device_rows: tuple[DeviceStage, ...] = ()
    cancelled_occurrences: tuple[str, ...] = ()
    upcoming: tuple[Upcoming, ...] = ()
    ends_at_local: str = ""
    may_cancel: bool = False


@dataclass(frozen=True)
class WorkGroup:
    """One group of an editor's own broadcasts (drafts, submitted, …) with its Vietnamese name."""

    id: str
    name: str
    items: tuple[BroadcastCard, ...]


@dataclass(frozen=True)
class MyWork:
    """An editor's own work: their broadcasts by group, and bulletins they prepared but never scheduled."""

    groups: tuple[WorkGroup, ...]
    unscheduled: tuple[Bulletin, ...]
    full_name: str


# -- emergencies --------------------------------------------------------------------------
@dataclass(frozen=True)
class Delivery:
    """An emergency on one device: ``pending`` (being re-sent), ``confirmed`` (it started) or ``unreached``."""

    device_id: str
    status: str
    sends: int
    last_sent_at: str | None
    confirmed_at: str | None
    cut_off_by: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "status": self.status, "sends": self.sends,
                "last_sent_at": self.last_sent_at, "confirmed_at": self.confirmed_at, "cut_off_by": self.cut_off_by}


@dataclass(frozen=True)
class CutOff:
    """A device that cannot be reached: the commune broker whose bridge to the province is down."""

    device_id: str
    broker: str

    def to_dict(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "broker": self.broker}


@dataclass(frozen=True)
class Emergency:
    """An emergency as recorded: who sent it, why, on which topics, and how each device took it.

    ``bulletin_id`` and ``devices`` are filled only in the answer to the trigger itself
    (:meth:`Emergencies.trigger`), and left out of ``to_dict`` otherwise.
    """

    id: str
    broadcast_id: str
    triggered_by: str
    reason: str
    sha256: str
    sent_at: str
    expires_at: str
    topics: tuple[str, ...]
    command_seqs: tuple[int, ...]
    delivery: tuple[Delivery, ...]
    bulletin_id: str | None = None
    devices: tuple[str, ...] | None = None

    @property
    def unreached(self) -> tuple[str, ...]:
        return tuple(d.device_id for d in self.delivery if d.status == "unreached")

    @property
    def cut_off(self) -> tuple[CutOff, ...]:
        return tuple(CutOff(d.device_id, d.cut_off_by) for d in self.delivery
                     if d.cut_off_by and d.status != "confirmed")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "broadcast_id": self.broadcast_id, "triggered_by": self.triggered_by, "reason": self.reason,
            "sha256": self.sha256, "sent_at": self.sent_at, "expires_at": self.expires_at,
            "topics": list(self.topics), "command_seqs": list(self.command_seqs),
            "delivery": [d.to_dict() for d in self.delivery], "unreached": list(self.unreached),
            "cut_off": [c.to_dict() for c in self.cut_off]}
        if self.bulletin_id is not None:
            out["bulletin_id"] = self.bulletin_id
        if self.devices is not None:
            out["devices"] = list(self.devices)
        return out


@dataclass(frozen=True)
class EmergencyDevice:
    """One targeted device of an emergency: its link, the furthest stage it reported, and its delivery."""

    device_id: str
    name: str
    online: bool
    link: str
    last_seen: str | None
    stage: str
    reason: str
    reason_text: str
    delivery: str
    sends: int
    confirmed_at: str | None
    cut_off_by: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "name": self.name, "online": self.online, "link": self.link,
                "last_seen": self.last_seen, "stage": self.stage, "reason": self.reason,
                "reason_text": self.reason_text, "delivery": self.delivery, "sends": self.sends,
                "confirmed_at": self.confirmed_at, "cut_off_by": self.cut_off_by}


@dataclass(frozen=True)
class EmergencyStatus:
    """Per targeted device, how an emergency went, and the counts the page shows on top."""

    broadcast_id: str
    sent_at: str
    devices: tuple[EmergencyDevice, ...]

    @property
    def counts(self) -> dict[str, int]:
        stages = [d.stage for d in self.devices]
        return {"total": len(stages), "playing_or_done": sum(1 for s in stages if s in ("started", "finished")),
                "unreached": stages.count("unreached"),
                "open": sum(1 for s in stages if s in ("waiting", "delivered", "started")),
                "cut_off": sum(1 for d in self.devices if d.cut_off_by)}

    def to_dict(self) -> dict[str, Any]:
        return {"broadcast_id": self.broadcast_id, "sent_at": self.sent_at,
                "devices": [d.to_dict() for d in self.devices], "counts": self.counts}


# -- readiness ----------------------------------------------------------------------------
@dataclass(frozen=True)
class NotReady:
    """A device that will not play a slot as planned, why (``plan_not_applied``, ``media_missing``,
    ``low_volume``) and the detail."""

    device_id: str
    reason: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "reason": self.reason, "detail": self.detail}


@dataclass(frozen=True)
class Skipped:
    """A device whose plan leaves a slot out, with the guardrail's code."""

    device_id: str
    code: str

    def to_dict(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "code": self.code}


@dataclass(frozen=True)
class ReadinessSlot:
    """One coming broadcast slot and its targeted devices: ready, not ready, offline, skipped, cut off."""

    broadcast_id: str
    occurrence: str
    title: str
    priority: str
    starts_at: str
    ready: tuple[str, ...]
    not_ready: tuple[NotReady, ...]
    offline: tuple[str, ...]
    skipped: tuple[Skipped, ...]
    cut_off: tuple[CutOff, ...]

    @property
    def counts(self) -> dict[str, int]:
        return {"ready": len(self.ready), "not_ready": len(self.not_ready), "offline": len(self.offline)}

    @property
    def status(self) -> str:
        """One word for the slot: ``offline`` if any device is, else ``not_ready`` if any is, else ``ready``."""
        return "offline" if self.offline else "not_ready" if self.not_ready else "ready"

    def to_dict(self) -> dict[str, Any]:
        return {"broadcast_id": self.broadcast_id, "occurrence": self.occurrence, "title": self.title,
                "priority": self.priority, "starts_at": self.starts_at, "ready": list(self.ready),
                "not_ready": [n.to_dict() for n in self.not_ready], "offline": list(self.offline),
                "skipped": [s.to_dict() for s in self.skipped], "cut_off": [c.to_dict() for c in self.cut_off],
                "counts": self.counts}


@dataclass(frozen=True)
class LinkDown:
    """A commune broker whose bridge to the province is down, and the devices of the viewer's it cuts off."""

    id: str
    name: str
    units: tuple[str, ...]
    device_host: str
    device_port: int
    province_address: str
    link_up: bool | None
    link_changed_at: str | None
    devices: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "units": list(self.units), "device_host": self.device_host,
                "device_port": self.device_port, "province_address": self.province_address,
                "link_up": self.link_up, "link_changed_at": self.link_changed_at, "devices": list(self.devices)}


# -- guardrails and issued plans ------------------------------------------------------------
@dataclass(frozen=True)
class GuardrailView:
    """A unit's guardrails: what it sets itself, what is in force for it, and which unit sets each value."""

    unit_id: str
    own: Mapping[str, Any]
    effective: Mapping[str, Any]
    set_by: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"unit_id": self.unit_id, "own": _plain(self.own), "effective": _plain(self.effective),
                "set_by": dict(self.set_by)}


@dataclass(frozen=True)
class GuardrailRow:
    """One setting on the guardrails page, as shown: the unit's own text, what is in force, and who sets it."""

    name: str
    label: str
    kind: str
    own: Any
    effective: str
    set_by: str


@dataclass(frozen=True)
class GuardrailUnit:
    """A unit on the guardrails page with its rows."""

    unit_id: str
    name: str
    level: str
    rows: tuple[GuardrailRow, ...] = ()


@dataclass(frozen=True)
class RenderStep:
    """How far a render has come, as the compose page polls it: the stage, its counts and the words for it."""

    stage: str
    done: int
    total: int
    engine: str
    fraction: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "done": self.done, "total": self.total, "engine": self.engine,
                "fraction": self.fraction, "message": self.message}


@dataclass(frozen=True)
class ScheduledJob:
    """A background job the scheduler holds: its id, when it runs next, and the call it makes."""

    id: str
    next_run_at: str | None
    func: str
    args: tuple[Any, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "next_run_at": self.next_run_at, "func": self.func, "args": list(self.args)}


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
