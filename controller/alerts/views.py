"""What the alert service answers: frozen records of alerts, their units, repeats and sources.

The pages read their attributes; the JSON API answers their ``to_dict()``, which is the
``/api/alerts...`` shape as it always was (docs/alerts.md), keys left out where they always
were: a playback's delay only once it started at a known planned time, a repeat's signal
only when one goes before it, a source's ``enabled`` and ``health`` only where the old
answers had them.  So a field added here is a field added to the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from controller.alerts.sources import Source


@dataclass(frozen=True)
class Airing:
    """One cluster's playback of a repeat or of its signal: its last state, and how late it started."""

    device_id: str
    kind: str
    delay_s: float | None = None  # None: no start at a known planned time was reported
    late: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"device_id": self.device_id, "kind": self.kind}
        if self.delay_s is not None:
            out["delay_s"] = self.delay_s
            out["late"] = self.late
        return out


@dataclass(frozen=True)
class SignalAiring:
    """The attention signal aired just before a repeat's words, and who played it."""

    item_id: str
    at: str
    aired: tuple[Airing, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "at": self.at, "aired": [a.to_dict() for a in self.aired]}


@dataclass(frozen=True)
class Repeat:
    """One planned airing of a unit's warning (or its all-clear), and who played it."""

    item_id: str
    n: int
    kind: str
    at: str
    late_until: str | None
    status: str
    signal: SignalAiring | None = None
    aired: tuple[Airing, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"item_id": self.item_id, "n": self.n, "kind": self.kind, "at": self.at,
                               "late_until": self.late_until, "status": self.status}
        if self.signal is not None:
            out["signal"] = self.signal.to_dict()
        out["aired"] = [a.to_dict() for a in self.aired]
        return out


@dataclass(frozen=True)
class AlertUnit:
    """A unit an alert reaches: why (the area match), the decision and who took it, its repeats."""

    unit_id: str
    name: str
    explanation: str
    fraction: float
    match_kind: str
    action: str
    status: str
    status_vi: str
    rule: str
    policy_unit: str | None
    countdown_min: int | None
    air_at: str | None
    decided_by: str
    decided_at: str
    quiet_override: bool
    repeat_every_min: int
    repeats: tuple[Repeat, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"unit_id": self.unit_id, "name": self.name, "explanation": self.explanation, "fraction": self.fraction,
                "match_kind": self.match_kind, "action": self.action, "status": self.status,
                "status_vi": self.status_vi, "rule": self.rule, "policy_unit": self.policy_unit,
                "countdown_min": self.countdown_min, "air_at": self.air_at, "decided_by": self.decided_by,
                "decided_at": self.decided_at, "quiet_override": self.quiet_override,
                "repeat_every_min": self.repeat_every_min, "repeats": [r.to_dict() for r in self.repeats]}


@dataclass(frozen=True)
class RenderState:
    """Whether the warning's words are spoken yet: ``ok``, ``failed`` (retried at ``retry_at``) or not tried."""

    state: str
    attempts: int
    error: str
    retry_at: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "attempts": self.attempts, "error": self.error, "retry_at": self.retry_at}


@dataclass(frozen=True)
class RepeatCounts:
    """Repeats still planned, aired by at least one cluster, and ever planned."""

    planned: int
    aired: int
    total: int

    def to_dict(self) -> dict[str, Any]:
        return {"planned": self.planned, "aired": self.aired, "total": self.total}


@dataclass(frozen=True)
class AlertView:
    """An alert as the page and ``GET /api/alerts/<id>`` show it."""

    id: str
    source_id: str
    sender: str
    identifier: str
    sent: str
    msg_type: str
    status: str
    scope: str
    event: str
    headline: str
    language: str
    risk_level: int | None
    expires: str | None
    ends_at: str
    state: str
    state_vi: str
    on_feed: bool
    transition: str
    areas: tuple[str, ...]
    script: str | None
    draft: bool
    bulletin_id: str | None
    signed: bool
    received_at: str
    units: tuple[AlertUnit, ...]
    render: RenderState
    repeats: RepeatCounts

    def unit_ids(self) -> tuple[str, ...]:
        return tuple(u.unit_id for u in self.units)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "source_id": self.source_id, "sender": self.sender, "identifier": self.identifier,
            "sent": self.sent, "msg_type": self.msg_type, "status": self.status, "scope": self.scope,
            "event": self.event, "headline": self.headline, "language": self.language,
            "risk_level": self.risk_level, "expires": self.expires, "ends_at": self.ends_at, "state": self.state,
            "state_vi": self.state_vi, "on_feed": self.on_feed, "transition": self.transition,
            "areas": list(self.areas), "script": self.script, "draft": self.draft, "bulletin_id": self.bulletin_id,
            "signed": self.signed, "received_at": self.received_at, "units": [u.to_dict() for u in self.units],
            "render": self.render.to_dict(), "repeats": self.repeats.to_dict(),
        }


@dataclass(frozen=True)
class UnitDecided:
    """One unit's decision as a document's intake made it (the answer to a push or an upload)."""

    unit_id: str
    action: str
    status: str
    rule: str
    explanation: str
    countdown_min: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"unit_id": self.unit_id, "action": self.action, "status": self.status, "rule": self.rule,
                "explanation": self.explanation, "countdown_min": self.countdown_min}


@dataclass(frozen=True)
class FeedHealth:
    """How a feed's polling goes (kept by its poller, since the controller started)."""

    polls: int
    failures_in_row: int
    last_error: str

    def to_dict(self) -> dict[str, Any]:
        return {"polls": self.polls, "failures_in_row": self.failures_in_row, "last_error": self.last_error}


@dataclass(frozen=True)
class SourceView:
    """A configured source as administrators see it: its trust, never its token (only whether it has one).

    ``enabled`` is None in the answer to adding a source, which never carried it; ``health`` is
    there only for a feed being polled."""

    id: str
    kind: str
    name: str
    url: str | None
    interval_s: int
    max_bytes: int
    senders: tuple[str, ...]
    require_signature: bool
    certificates: int
    has_token: bool
    enabled: bool | None = None
    health: FeedHealth | None = None

    @classmethod
    def of(cls, s: Source, enabled: bool | None = None, health: FeedHealth | None = None) -> "SourceView":
        return cls(id=s.id, kind=s.kind, name=s.name, url=s.url, interval_s=s.interval_s, max_bytes=s.max_bytes,
                   senders=tuple(s.trust.senders), require_signature=s.trust.require_signature,
                   certificates=len(s.trust.certificates), has_token=bool(s.token_sha256), enabled=enabled,
                   health=health)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "kind": self.kind, "name": self.name, "url": self.url, "interval_s": self.interval_s,
            "max_bytes": self.max_bytes, "senders": list(self.senders), "require_signature": self.require_signature,
            "certificates": self.certificates, "has_token": self.has_token}
        if self.enabled is not None:
            out["enabled"] = self.enabled
        if self.health is not None:
            out["health"] = self.health.to_dict()
        return out


@dataclass(frozen=True)
class GeographyImported:
    """The units whose boundaries an import stored."""

    units: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"units": list(self.units)}


@dataclass(frozen=True)
class PolicySet:
    """A unit's alert policy as stored: the validated input as given, and its repeat interval."""

    unit_id: str
    policy: Mapping[str, Any]
    repeat_every_min: int

    def to_dict(self) -> dict[str, Any]:
        return {"unit_id": self.unit_id, "policy": dict(self.policy), "repeat_every_min": self.repeat_every_min}


__all__ = ["Airing", "AlertUnit", "AlertView", "FeedHealth", "GeographyImported", "PolicySet", "RenderState", "Repeat",
           "RepeatCounts", "SignalAiring", "SourceView", "UnitDecided"]
