"""What an auditor reads, cut to the Actor's subtree: the playback log, compliance, the logbook.

The views pass the period (local dates, inclusive) and the filters they parsed; everything
that decides which rows there are (the devices of a unit, what was planned, what played)
happens here, on the same expansion that builds the device plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from controller.errors import InputError
from controller.people import access
from controller.people.access import devices_in_scope, devices_under, units_in_scope
from controller.people.actor import Actor
from loaxa.local_time import LOCAL_TZ
from controller.reports import logbook
from loaxa.protocol import format_time

if TYPE_CHECKING:
    from controller.service import Controller

PLAYBACK_KINDS = ("delivered", "started", "finished", "interrupted", "failed", "skipped", "security")
MAX_ROWS = 2000


@dataclass(frozen=True)
class ComplianceReport:
    """Planned vs played vs missed per child unit of ``unit`` over [start, end] (local dates, ISO)."""

    start: str
    end: str
    unit: str
    unit_name: str
    compliance: tuple[logbook.Compliance, ...]
    missed: tuple[logbook.Occurrence, ...]
    offline: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """The answer of ``GET /api/audit/compliance``."""
        return {"from": self.start, "to": self.end, "unit": self.unit, "offline": list(self.offline),
                "compliance": [{**c.__dict__, "rate": c.rate} for c in self.compliance],
                "missed": [logbook.occurrence_dict(o) for o in self.missed]}


@dataclass(frozen=True)
class LogbookReport:
    """A unit's programme logbook for one week (Monday to Sunday, local), with its neighbours."""

    week: str
    unit: str
    heading: str
    rows: tuple[dict[str, Any], ...]
    prev: str
    next: str

    def to_dict(self) -> dict[str, Any]:
        """The answer of ``GET /api/audit/logbook`` (as JSON)."""
        return {"week": self.week, "unit": self.unit, "heading": self.heading, "rows": list(self.rows)}


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after ``end`` 00:00) in local time."""
    return (datetime.combine(start, datetime.min.time(), LOCAL_TZ),
            datetime.combine(end + timedelta(days=1), datetime.min.time(), LOCAL_TZ))


def report_unit(c: Controller, actor: Actor, unit: str | None) -> str | None:
    """The unit a report is about: the one asked for, else the actor's own; it must be in scope."""
    unit = unit or actor.unit_id
    if unit and unit not in {u["id"] for u in units_in_scope(c, actor)}:
        raise InputError("out_of_scope", "Đơn vị này ngoài phạm vi của bạn.", "unit")
    return unit


def playback_rows(c: Controller, actor: Actor, start: date, end: date, *, unit: str | None = None,
                  device: str | None = None, bulletin: str | None = None,
                  kind: str | None = None) -> list[dict[str, Any]]:
    """Playback events of the actor's devices (newest first), with device, unit and bulletin names."""
    access.require_permission(actor, "audit")
    since, until = day_bounds(start, end)
    devices = {d["id"] for d in devices_under(c, actor, unit)}
    if device:
        devices &= {device}
    if kind and kind not in PLAYBACK_KINDS:
        raise InputError("invalid_status", "Trạng thái không hợp lệ.", "status")
    if not devices:
        return []
    ids = sorted(devices)
    where = [f"e.device_id IN ({','.join('?' * len(ids))})", "e.recorded_at >= ?", "e.recorded_at < ?"]
    params: list[Any] = [*ids, format_time(since), format_time(until)]
    if kind:
        where.append("e.kind = ?")
        params.append(kind)
    if bulletin:
        where.append("b.bulletin_id = ?")
        params.append(bulletin)
    with c.db.tx() as db:
        return list(db.query(
            f"""SELECT e.*, d.name AS device_name, u.name AS unit_name, bt.title, b.bulletin_id
                FROM playback_events e JOIN devices d ON d.id = e.device_id JOIN units u ON u.id = d.unit_id
                LEFT JOIN broadcasts b ON b.id = e.broadcast_id LEFT JOIN bulletins bt ON bt.id = b.bulletin_id
                WHERE {' AND '.join(where)} ORDER BY e.recorded_at DESC, e.id DESC LIMIT {MAX_ROWS}""", params))


def playback_filter_choices(c: Controller, actor: Actor) -> dict[str, Any]:
    """Choices of the playback log's filters, only from the actor's area (bulletins by people they may see)."""
    with c.db.tx() as db:
        recent = list(db.query("SELECT id, title, created_by FROM bulletins ORDER BY created_at DESC LIMIT 1000"))
    bulletins = [b for b in recent if access.may_see_person(actor, c.users, b["created_by"])][:200]
    return {"units": units_in_scope(c, actor), "devices": devices_in_scope(c, actor), "bulletins": bulletins,
            "kinds": PLAYBACK_KINDS}


def compliance_report(c: Controller, actor: Actor, start: date, end: date, unit: str | None) -> ComplianceReport:
    """Planned vs played vs missed per child unit of the chosen unit, missed plays and offline clusters."""
    access.require_permission(actor, "audit")
    since, until = day_bounds(start, end)
    unit = report_unit(c, actor, unit)
    units = {u["id"]: u for u in c.registry.units()}
    roots = [u for u in units.values() if u["parent_id"] is None]
    if unit is None and len(roots) == 1:
        unit = roots[0]["id"]
    devices = devices_under(c, actor, unit)
    occ = logbook.occurrences(c.db, c.guardrails.policy(), [d["id"] for d in devices], since, until)
    names = {k: u["name"] for k, u in units.items()}

    def reporting(unit_id: str) -> str:
        """The child of ``unit`` that holds ``unit_id`` (or ``unit_id`` itself at the top)."""
        path, cur = [], unit_id
        while cur is not None and cur in units:
            path.append(cur)
            if units[cur]["parent_id"] == unit:
                return cur
            cur = units[cur]["parent_id"]
        return path[-1] if unit is None and path else unit_id

    unit_of = {u: reporting(u) for u in {d["unit_id"] for d in devices}}
    table = logbook.compliance(occ, names, unit_of)
    missed = [o for o in occ if o.status == "missed"]
    return ComplianceReport(start.isoformat(), end.isoformat(), unit or "", names.get(unit or "", "Tất cả"),
                            tuple(table), tuple(missed), tuple(logbook.offline_clusters(devices, names)))


def logbook_report(c: Controller, actor: Actor, week_of: date, unit: str | None) -> LogbookReport:
    """The week's programme logbook (Monday to Sunday, local) of a unit of the actor's subtree."""
    access.require_permission(actor, "audit")
    since, until = logbook.week_bounds(week_of)
    unit = report_unit(c, actor, unit)
    devices = devices_under(c, actor, unit)
    occ = logbook.occurrences(c.db, c.guardrails.policy(), [d["id"] for d in devices], since, until)
    names = {u["id"]: u["name"] for u in c.registry.units()}
    last = (until - timedelta(days=1)).date()
    heading = (f"Sổ nhật ký chương trình – {names.get(unit or '', 'Tất cả đơn vị')} – "
               f"tuần {since.date():%d/%m/%Y} – {last:%d/%m/%Y}")
    return LogbookReport(since.date().isoformat(), unit or "", heading, tuple(logbook.logbook_rows(occ)),
                         (since.date() - timedelta(days=7)).isoformat(), (since.date() + timedelta(days=7)).isoformat())
