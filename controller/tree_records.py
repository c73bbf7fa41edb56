"""The administrative tree's records as frozen values: a unit and a speaker pole (device).

The registry (:mod:`controller.devices.registry`) answers these, never its database rows,
so a caller cannot change a record by accident and a misspelt field fails where it is
read.  They sit among the controller's core modules, below every sub-package, because the
scope queries of ``people`` (layer 0) and the reports (layer 1) hand them on too.
``to_dict`` is the JSON the API has always answered for them (``/api/units``,
``/api/devices``, the dashboard).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping


@dataclass(frozen=True)
class Unit:
    """A node of the administrative tree (province, district, commune, ward, village)."""

    id: str
    name: str
    parent_id: str | None
    level: str  # "province", "commune", "village", ...; "" when not said

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Unit:
        return cls(row["id"], row["name"], row["parent_id"], row["level"] or "")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "parent_id": self.parent_id, "level": self.level}


@dataclass(frozen=True)
class FlaggedEpoch:
    """An epoch a pole started numbering its events in anew, waiting for someone to look into it
    (:mod:`controller.devices.event_trust`)."""

    epoch: str
    first_seen: str

    def to_dict(self) -> dict[str, str]:
        return {"epoch": self.epoch, "first_seen": self.first_seen}


@dataclass(frozen=True)
class Device:
    """A speaker pole as the controller knows it: its place in the tree and what it last reported.

    ``state`` is the pole's last state report (volume, playing, faults, kill switch, clock
    offset); a volume below the controller's ``low_volume_fault`` is added to its faults as
    ``low_volume``.  ``epochs_to_review`` is filled by :meth:`Registry.device` only (a single
    pole's page and answer), and ``link`` by :mod:`controller.devices.use_cases`, which alone
    knows whether the controller hears its broker now; both are ``None`` otherwise and then
    left out of ``to_dict``.
    """

    id: str
    name: str
    unit_id: str
    created_at: str
    online: bool
    last_seen: str | None
    plan_version_applied: int
    media_ready: bool
    state: Mapping[str, Any]
    flapping_since: str | None
    flapping: bool
    low_volume: bool
    lat: float | None
    lon: float | None
    epochs_to_review: tuple[FlaggedEpoch, ...] | None = None
    link: str | None = None  # "online", "offline", "never" or "unknown"

    @classmethod
    def from_row(cls, row: Mapping[str, Any], low_volume_fault: int = 0) -> Device:
        state = json.loads(row["state_json"] or "{}")
        low_volume = is_low_volume(state, low_volume_fault)
        if low_volume:
            state["faults"] = sorted({*(state.get("faults") or ()), "low_volume"})
        return cls(id=row["id"], name=row["name"], unit_id=row["unit_id"], created_at=row["created_at"],
                   online=bool(row["online"]), last_seen=row["last_seen"],
                   plan_version_applied=row["plan_version_applied"], media_ready=bool(row["media_ready"]),
                   state=state, flapping_since=row["flapping_since"], flapping=bool(row["flapping_since"]),
                   low_volume=low_volume, lat=row["lat"], lon=row["lon"])

    def with_epochs(self, epochs: Iterable[FlaggedEpoch]) -> Device:
        return replace(self, epochs_to_review=tuple(epochs))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "name": self.name, "unit_id": self.unit_id, "created_at": self.created_at,
            "online": self.online, "last_seen": self.last_seen, "plan_version_applied": self.plan_version_applied,
            "media_ready": self.media_ready, "flapping_since": self.flapping_since, "lat": self.lat, "lon": self.lon,
            "flapping": self.flapping, "state": json.loads(json.dumps(self.state)), "low_volume": self.low_volume}
        if self.epochs_to_review is not None:
            out["epochs_to_review"] = [e.to_dict() for e in self.epochs_to_review]
        if self.link is not None:
            out["link"] = self.link
        return out


def is_low_volume(state: Mapping[str, Any], threshold: int) -> bool:
    """A pole turned down below ``threshold`` would air nothing audible: a fault, not a setting."""
    volume = state.get("volume")
    return isinstance(volume, int) and volume < threshold
