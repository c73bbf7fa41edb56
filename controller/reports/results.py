"""What the compliance report and the weekly logbook answer: frozen values, not dictionaries.

A view renders them and ``to_dict`` gives the JSON the API has always answered (a stable
interface: ``tests/web/test_report_json_shape.py`` pins it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Mapping, Sequence

from controller.reports.logbook import Compliance, LogbookRow, Occurrence, RepeatRow, occurrence_dict

ComplianceRow = Compliance  # one reporting unit's plays by cause


@dataclass(frozen=True)
class OfflineCluster:
    id: str
    name: str
    last_seen: str | None


@dataclass(frozen=True)
class OfflineGroup:
    """A unit's clusters that are offline now, out of how many it holds."""

    unit_id: str
    unit_name: str
    offline: int
    total: int
    devices: tuple[OfflineCluster, ...]


def offline_groups(devices: Sequence[Mapping[str, Any]], units: Mapping[str, str]) -> tuple[OfflineGroup, ...]:
    """Offline devices grouped by their unit, biggest group first: a dead village shows at a glance.

    One pass over the rows (a province's page may list all of its 10,000 clusters)."""
    offline: dict[str, list[OfflineCluster]] = {}
    totals: dict[str, int] = {}
    for d in devices:
        unit = d["unit_id"]
        totals[unit] = totals.get(unit, 0) + 1
        if not d["online"]:
            cluster = OfflineCluster(d["id"], d["name"], d["last_seen"])
            group = offline.get(unit)
            if group is None:
                offline[unit] = [cluster]
            else:
                group.append(cluster)
    out = [OfflineGroup(u, units.get(u, u), len(cs), totals[u], tuple(cs)) for u, cs in offline.items()]
    out.sort(key=lambda g: (-g.offline, g.unit_name))
    return tuple(out)


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

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``/api/audit/compliance``."""
        return {
            "from": self.start, "to": self.end, "unit": self.unit,
            "offline": [asdict(g) for g in self.offline],
            "airtime": {"weeks": list(self.airtime.weeks),
                        "units": [{"unit_name": u.unit_name, "seconds": list(u.seconds)} for u in self.airtime.units]},
            "compliance": [c.to_dict() for c in self.compliance],
            "missed": [occurrence_dict(o) for o in self.missed],
            "not_aired": [occurrence_dict(o) for o in self.not_aired],
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
