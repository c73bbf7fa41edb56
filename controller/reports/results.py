"""What the auditor's reports answer: frozen values, not dictionaries.

The compliance report, the weekly logbook, the playback log (and its filters' choices), the
outage history and the audit trail.  A view renders them and ``to_dict`` gives the JSON the
API has always answered (a stable interface: ``tests/web/test_report_json_shape.py`` pins
the compliance report and the logbook).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any, Callable, Mapping, Sequence

from controller.reports.audit_trail import ActionGroup, TrailRow
from controller.reports.logbook import Compliance, LogbookRow, Occurrence, OfflineCluster, OfflineGroup, RepeatRow
from controller.reports.outages import ClusterOutages
from controller.tree_records import Device, Unit

ComplianceRow = Compliance  # one reporting unit's plays by cause


OFFLINE_PAGE = 100  # units listed with their offline clusters, most offline first; the others are counted


@dataclass(frozen=True)
class OfflinePage:
    """The first ``OFFLINE_PAGE`` units with offline clusters, and how many clusters and units in all."""

    groups: tuple[OfflineGroup, ...]
    clusters: int
    units: int


def offline_groups(counts: Mapping[str, tuple[int, str]], totals: Mapping[str, int], units: Mapping[str, str],
                   devices: Callable[[list[str]], Sequence[tuple[str, str, str, str | None]]],
                   page: int | None = None) -> OfflinePage:
    """Offline clusters grouped by their unit, biggest group first (then by name, then by the first
    cluster's id): a dead village shows at a glance.  ``counts`` is each unit's offline clusters (how
    many, the first's id), ``totals`` how many it holds; ``devices`` reads the offline clusters
    ``(id, name, unit, last seen)`` of the units listed: only the first page of units (a province
    where every cluster is offline would list 10,000)."""
    page = OFFLINE_PAGE if page is None else page
    order = sorted((u for u, (n, _) in counts.items() if n), key=lambda u: (-counts[u][0], units.get(u, u), counts[u][1]))
    listed = order[:page]
    by_unit: dict[str, list[OfflineCluster]] = {u: [] for u in listed}
    for device_id, name, unit, last_seen in (devices(listed) if listed else ()):
        if unit in by_unit:
            by_unit[unit].append(OfflineCluster(device_id, name, last_seen))
    groups = tuple(OfflineGroup(u, units.get(u, u), len(by_unit[u]), totals[u], tuple(by_unit[u])) for u in listed)
    return OfflinePage(groups, sum(n for n, _ in counts.values()), len(order))


@dataclass(frozen=True)
class DayCompliance:
    day: date
    planned: int
    played: int


@dataclass(frozen=True)
class UnitAirtime:
    unit_name: str
    seconds: tuple[float, ...]


@dataclass(frozen=True)
class Airtime:
    """Seconds aired per reporting unit in each week (Monday, ISO date) of the period."""

    weeks: tuple[str, ...]
    units: tuple[UnitAirtime, ...]


@dataclass(frozen=True)
class ReportCharts:
    """The page's charts as SVG text, drawn and escaped on the server."""

    units: str
    trend: str
    airtime: str


@dataclass(frozen=True)
class ComplianceReport:
    """Plays per child unit of ``unit`` over [start, end] (local dates) by cause, and what did not air."""

    start: str
    end: str
    unit: str
    unit_name: str
    compliance: tuple[ComplianceRow, ...]
    missed: tuple[Occurrence, ...]
    not_aired: tuple[Occurrence, ...]
    repeats: tuple[RepeatRow, ...]
    by_day: tuple[DayCompliance, ...]
    airtime: Airtime
    offline: tuple[OfflineGroup, ...]
    charts: ReportCharts
    offline_clusters: int = 0  # offline clusters in all (``offline`` lists the first units' only)
    offline_units: int = 0  # units with an offline cluster, in all

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``/api/audit/compliance``."""
        return {
            "from": self.start, "to": self.end, "unit": self.unit,
            "offline": [asdict(g) for g in self.offline],
            "offline_clusters": self.offline_clusters, "offline_units": self.offline_units,
            "airtime": {"weeks": list(self.airtime.weeks),
                        "units": [{"unit_name": u.unit_name, "seconds": list(u.seconds)} for u in self.airtime.units]},
            "compliance": [c.to_dict() for c in self.compliance],
            "missed": [o.to_dict() for o in self.missed],
            "not_aired": [o.to_dict() for o in self.not_aired],
            "repeats": [asdict(r) for r in self.repeats],
            "by_day": [{"day": d.day.isoformat(), "planned": d.planned, "played": d.played} for d in self.by_day],
        }


@dataclass(frozen=True)
class LogbookPage:
    """A unit's programme logbook for one week (Monday to Sunday, local), with the weeks around it."""

    week: str
    unit: str
    heading: str
    rows: tuple[LogbookRow, ...]
    prev: str
    next: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``/api/audit/logbook``."""
        return {"week": self.week, "unit": self.unit, "heading": self.heading, "rows": [r.to_dict() for r in self.rows]}


@dataclass(frozen=True)
class PlaybackRow:
    """One playback event of the log, with its device, unit and bulletin names (``title`` None without one)."""

    id: int
    device_id: str
    epoch: str
    seq: int
    kind: str
    item_id: str
    broadcast_id: str
    sha256: str
    plan_version: int
    planned_at: str | None
    actual_start: str | None
    duration_s: float | None
    reason: str
    flags: str
    level_dbfs: float | None
    recorded_at: str
    received_at: str
    prev_hash: str
    hash: str
    device_name: str
    unit_name: str
    title: str | None
    bulletin_id: str | None
    reason_label: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any], reason_label: str) -> PlaybackRow:
        return cls(**{f.name: row[f.name] for f in fields(cls) if f.name != "reason_label"}, reason_label=reason_label)

    def to_dict(self) -> dict[str, Any]:
        """A row of ``/api/audit/playback``."""
        return asdict(self)


JOINED = ("device_name", "unit_name", "title", "bulletin_id", "reason_label")
PLAYBACK_EVENT_FIELDS = tuple(f.name for f in fields(PlaybackRow) if f.name not in JOINED)  # of playback_events


@dataclass(frozen=True)
class BulletinChoice:
    id: str
    title: str
    created_by: str


@dataclass(frozen=True)
class PlaybackFilterChoices:
    """What the playback log's filters offer: only the actor's area, bulletins by people they may see."""

    units: tuple[Unit, ...]
    devices: tuple[Device, ...]
    bulletins: tuple[BulletinChoice, ...]
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class OutageReport:
    """Each cluster's offline periods over [start, end] (local dates), most offline first, and the timeline (SVG)."""

    start: str
    end: str
    unit: str
    unit_name: str
    clusters: tuple[ClusterOutages, ...]
    periods: int
    timeline: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``/api/audit/outages``."""
        return {"from": self.start, "to": self.end, "unit": self.unit, "clusters": [r.to_dict() for r in self.clusters]}


@dataclass(frozen=True)
class AuditTrailReport:
    """Audit entries of [start, end] (local dates) as the filters kept them, newest first, and the filters' choices."""

    start: str
    end: str
    actor: str
    action: str
    unit: str
    rows: tuple[TrailRow, ...]
    truncated: bool
    people: tuple[str, ...]
    actions: tuple[ActionGroup, ...]

    @property
    def filters(self) -> dict[str, str]:
        """The filters as an export's audit entry names them."""
        return {"from": self.start, "to": self.end, "actor": self.actor, "action": self.action, "unit": self.unit}

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``/api/audit/trail``."""
        return {**self.filters, "truncated": self.truncated, "rows": [r.to_dict() for r in self.rows]}
