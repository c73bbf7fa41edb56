"""Outage history per cluster: when each speaker pole was offline over a period, not only now.

The ingest keeps each time a device goes online or offline in ``device_history``
(controller.devices.history), which the technician's device page reads too.
A period's outages are rebuilt from those transitions; the state at the period's start is the
last transition before it, or (with none before it) online: the time between a registration
and the first contact is installation, not an outage.  With no history at all, an offline
device is offline since it was last seen, and one that never connected is offline from its
registration.  Outages are clipped to the period and to now; a device's share of time online
counts only from its registration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from controller.db import Database
from loaxa.wire_time import format_time, parse_time, utcnow

if TYPE_CHECKING:
    from controller.reports.report_scope import ReportDevice

SHORTEST = 1.0  # seconds: a reconnection within this is no outage (a registration answered at once)


@dataclass(frozen=True)
class Outage:
    """One offline period of one device; ``ongoing`` when it had not ended by the period's end."""

    device_id: str
    start: datetime
    end: datetime
    ongoing: bool

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class ClusterOutages:
    """A cluster's outages over a period, with the figures a report prints."""

    device_id: str
    device_name: str
    unit_id: str
    unit_name: str
    never_connected: bool
    periods: tuple[Outage, ...]
    period_s: float

    @property
    def offline_s(self) -> float:
        return sum(o.seconds for o in self.periods)

    @property
    def availability(self) -> float | None:
        return None if self.period_s <= 0 else max(0.0, 1.0 - self.offline_s / self.period_s)

    def to_dict(self) -> dict[str, Any]:
        """A cluster of ``/api/audit/outages``: seconds to a tenth, availability to four places."""
        return {"device_id": self.device_id, "device_name": self.device_name, "unit_id": self.unit_id,
                "unit_name": self.unit_name, "never_connected": self.never_connected,
                "offline_s": round(self.offline_s, 1),
                "availability": None if self.availability is None else round(self.availability, 4),
                "periods": [{"start": format_time(o.start), "end": format_time(o.end), "ongoing": o.ongoing,
                             "seconds": round(o.seconds, 1)} for o in self.periods]}


def _transitions(db: Database, ids: Sequence[str], until: datetime) -> dict[str, list[tuple[datetime, bool]]]:
    marks = ",".join("?" * len(ids))
    with db.tx() as conn:
        rows = conn.execute(f"SELECT device_id, kind = 'online', at FROM device_history WHERE device_id IN ({marks}) "
                            f"AND kind IN ('online', 'offline') AND at < ? ORDER BY device_id, at, id",
                            [*ids, format_time(until)]).fetchall()
    out: dict[str, list[tuple[datetime, bool]]] = {}
    for device_id, online, at in rows:
        out.setdefault(device_id, []).append((parse_time(at, "at"), bool(online)))
    return out


def _start_state(device: ReportDevice, before: list[tuple[datetime, bool]],
                 inside: list[tuple[datetime, bool]], since: datetime) -> tuple[bool, datetime]:
    """Whether the device was online at ``since`` and since when that is known to hold."""
    created = _created(device, since)
    if before:
        return before[-1][1], since
    if inside:
        return True, since
    if device.online:
        return True, since
    seen = device.last_seen
    return False, max(since, parse_time(seen, "last_seen") if seen else created)


def _created(device: ReportDevice, since: datetime) -> datetime:
    return parse_time(device.created_at, "created_at") if device.created_at else since


def device_outages(db: Database, devices: Sequence[ReportDevice], since: datetime, until: datetime,
                   now: datetime | None = None) -> dict[str, list[Outage]]:
    """Per device id, its offline periods inside [since, min(until, now))."""
    end = min(until, now or utcnow())
    ids = [d.id for d in devices]
    if not ids or end <= since:
        return {i: [] for i in ids}
    history = _transitions(db, ids, end)
    out: dict[str, list[Outage]] = {}
    for device in devices:
        moves = history.get(device.id, [])
        before = [m for m in moves if m[0] < since]
        inside = [m for m in moves if m[0] >= since]
        online, from_ = _start_state(device, before, inside, since)
        periods: list[Outage] = []
        down_at = None if online else from_
        for at, up in inside:
            if up and down_at is not None:
                if (at - down_at).total_seconds() >= SHORTEST:
                    periods.append(Outage(device.id, down_at, at, False))
                down_at = None
            elif not up and down_at is None:
                down_at = at
        if down_at is not None and end > down_at:
            periods.append(Outage(device.id, down_at, end, True))
        out[device.id] = periods
    return out


def cluster_outages(db: Database, devices: Sequence[ReportDevice], units: Mapping[str, str], since: datetime,
                    until: datetime, now: datetime | None = None) -> list[ClusterOutages]:
    """Every cluster of ``devices`` with its outages, the most offline first (a dead village stands out)."""
    now = now or utcnow()
    per = device_outages(db, devices, since, until, now)
    end = min(until, now)
    rows = [ClusterOutages(d.id, d.name, d.unit_id, units.get(d.unit_id, d.unit_id),
                           not d.last_seen, tuple(per[d.id]),
                           max(0.0, (end - max(since, _created(d, since))).total_seconds())) for d in devices]
    return sorted(rows, key=lambda r: (-r.offline_s, r.unit_name, r.device_name))


def offline_at(outages: Mapping[str, Sequence[Outage]], device_id: str, at: datetime) -> bool:
    """Whether ``device_id`` was offline at the instant ``at``."""
    return any(o.start <= at < o.end or (o.ongoing and at >= o.start) for o in outages.get(device_id, ()))
