"""What an auditor reads, cut to the Actor's subtree: the playback log, compliance, the logbook,
outages and the audit trail, with their charts and their exports.

The views pass the period (local dates, inclusive) and the filters they parsed; everything
that decides which rows there are (the devices of a unit, what was planned, what played)
happens here, on the same expansion that builds the device plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from controller.people.access import devices_in_scope, units_in_scope
from controller.errors import InputError
from controller.people import access
from controller.people.actor import Actor
from controller.reports import airtime, audit_trail, charts, logbook, outages, report_scope, results, rollup
from controller.reports.results import (PLAYBACK_EVENT_FIELDS, AuditTrailReport, BulletinChoice, ComplianceReport,
                                        LogbookPage, OutageReport, PlaybackFilterChoices, PlaybackRow)
from controller.reports.audit import ACTIONS, AuditEntry
from controller.reports.spreadsheet import Column, stream_xlsx, write_csv
from loaxa.local_time import LOCAL_TZ, to_local
from loaxa.protocol import format_time, parse_time, utcnow

if TYPE_CHECKING:
    from controller.service import Controller

PLAYBACK_KINDS = ("delivered", "started", "finished", "interrupted", "failed", "skipped", "security")
MAX_ROWS = 2000


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after ``end`` 00:00) in local time."""
    return (datetime.combine(start, datetime.min.time(), LOCAL_TZ),
            datetime.combine(end + timedelta(days=1), datetime.min.time(), LOCAL_TZ))


def report_unit(c: Controller, actor: Actor, unit: str | None) -> str | None:
    """The unit a report is about: the one asked for, else the actor's own; it must be in scope."""
    return report_scope.require_unit(c, actor, unit)


def playback_rows(c: Controller, actor: Actor, start: date, end: date, *, unit: str | None = None,
                  device: str | None = None, bulletin: str | None = None,
                  kind: str | None = None) -> list[PlaybackRow]:
    """Playback events of the actor's devices (newest first), with device, unit and bulletin names."""
    access.require_permission(actor, "audit")
    since, until = day_bounds(start, end)
    devices = {d.id for d in report_scope.devices(c, actor, unit)}
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
        rows = list(db.query(
            f"""SELECT {', '.join(f'e.{f}' for f in PLAYBACK_EVENT_FIELDS)}, d.name AS device_name, u.name AS unit_name, bt.title, b.bulletin_id
                FROM playback_events e JOIN devices d ON d.id = e.device_id JOIN units u ON u.id = d.unit_id
                LEFT JOIN broadcasts b ON b.id = e.broadcast_id LEFT JOIN bulletins bt ON bt.id = b.bulletin_id
                WHERE {' AND '.join(where)} ORDER BY e.recorded_at DESC, e.id DESC LIMIT {MAX_ROWS}""", params))
    return [PlaybackRow.from_row(r, logbook.reason_label(r["reason"] or "")) for r in rows]


def playback_filter_choices(c: Controller, actor: Actor) -> PlaybackFilterChoices:
    """Choices of the playback log's filters, only from the actor's area (bulletins by people they may see)."""
    with c.db.tx() as db:
        recent = list(db.query("SELECT id, title, created_by FROM bulletins ORDER BY created_at DESC LIMIT 1000"))
    bulletins = [BulletinChoice(b["id"], b["title"], b["created_by"]) for b in recent
                 if access.may_see_person(actor, c.users, b["created_by"])][:200]
    return PlaybackFilterChoices(tuple(units_in_scope(c, actor)), tuple(devices_in_scope(c, actor)), tuple(bulletins),
                                 PLAYBACK_KINDS)


def compliance_report(c: Controller, actor: Actor, start: date, end: date, unit: str | None,
                      every_offline: bool = False) -> ComplianceReport:
    """Plays per child unit of the chosen unit by cause, what did not air, alert repeats, offline clusters.

    Also the charts of the page (SVG text): the units' bars, compliance per day and airtime per week.
    The offline clusters are those of the first ``OFFLINE_PAGE`` units, most offline first, so a
    province's page stays quick; ``every_offline`` lists every unit's (an auditor's full list).
    """
    access.require_permission(actor, "audit")
    since, until = day_bounds(start, end)
    unit = report_scope.top_unit(c, actor, unit)
    names = report_scope.unit_names(c)
    groups = report_scope.device_groups(c, actor, unit)  # by unit, from the tree: no device row is read
    reporting = report_scope.reporting_units(c, unit)
    unit_of = {u: reporting(u) for u in groups}
    counted = rollup.tally(c.db, c.guardrails.policy(), groups, since, until, unit_of,
                           late=timedelta(seconds=c.config.plans.missed_after_s))
    occ = counted.occurrences
    table = logbook.compliance(occ, names, unit_of, counted.aired_by_unit)
    by_day = logbook.compliance_by_day(occ, counted.aired_by_day)
    weeks, seconds = counted.airtime or airtime.airtime_by_week(
        c.db, {d: unit_of[u] for u, ds in groups.items() for d in ds}, since, until)
    aired = airtime.ordered(names, seconds)
    series = [charts.Series(name, tuple(v)) for name, v in aired]
    offline = results.offline_groups(report_scope.offline_counts(c, groups), {u: len(ds) for u, ds in groups.items()},
                                     names, lambda listed: report_scope.offline_devices(c, groups, listed),
                                     page=len(groups) if every_offline else None)
    return ComplianceReport(
        start=start.isoformat(), end=end.isoformat(), unit=unit or "", unit_name=names.get(unit or "", "Tất cả"),
        compliance=tuple(table), missed=tuple(o for o in occ if o.status == "missed"),
        not_aired=tuple(o for o in occ if o.cause not in ("played", "upcoming", "cancelled")),
        repeats=tuple(logbook.alert_repeats(occ)), by_day=tuple(results.DayCompliance(*d) for d in by_day),
        airtime=results.Airtime(tuple(w.isoformat() for w in weeks),
                                tuple(results.UnitAirtime(n, tuple(v)) for n, v in aired)),
        offline=offline.groups, offline_clusters=offline.clusters, offline_units=offline.units,
        charts=results.ReportCharts(
            units=logbook.compliance_svg(table),
            trend=charts.compliance_over_time([(f"{d:%d/%m}", p, q) for d, p, q in by_day]),
            airtime=charts.airtime_by_week([airtime.week_label(w) for w in weeks], series)))


def outage_report(c: Controller, actor: Actor, start: date, end: date, unit: str | None) -> OutageReport:
    """Each cluster's offline periods over the period, most offline first, with the timeline chart."""
    access.require_permission(actor, "audit")
    since, until = day_bounds(start, end)
    unit = report_scope.top_unit(c, actor, unit)
    names = report_scope.unit_names(c)
    devices = report_scope.devices(c, actor, unit)
    now = utcnow()
    clusters = outages.cluster_outages(c.db, devices, names, since, until, now)
    shown_end = min(until, now) if since < now else until
    lanes = [charts.Lane(f"{r.device_name}", tuple((o.start, o.end) for o in r.periods))
             for r in sorted(clusters, key=lambda r: (r.unit_name, r.device_name))]
    days = (until - since).days
    every = 1 if days <= 10 else 7 if days <= 70 else 30
    ticks = [(since + timedelta(days=i), f"{(start + timedelta(days=i)):%d/%m}") for i in range(0, days + 1, every)
             if since + timedelta(days=i) < shown_end]
    return OutageReport(start.isoformat(), end.isoformat(), unit or "", names.get(unit or "", "Tất cả"), tuple(clusters),
                        sum(len(r.periods) for r in clusters),
                        charts.outage_timeline(lanes, since, max(shown_end, since + timedelta(hours=1)), ticks))


TRAIL_MAX = 5000


def audit_trail_report(c: Controller, actor: Actor, start: date, end: date, *, by: str | None = None,
                       action: str | None = None, unit: str | None = None) -> AuditTrailReport:
    """Audit entries of the period, filtered by person, action (or group) and unit, newest first."""
    access.require_permission(actor, "audit")
    since, until = day_bounds(start, end)
    actions = audit_trail.actions_of(action)
    if actions == frozenset():
        raise InputError("invalid_action", "Hành động không có trong danh sách.", "action")
    unit = report_unit(c, actor, unit) if unit else None
    entries = c.audit.entries(actor=by or None, since=format_time(since), until=format_time(until),
                              action=action if action in ACTIONS else None,
                              limit=TRAIL_MAX)
    people = {u.username: u for u in c.users.list()} | {u.username: u for u in c.users.list(disabled=True)}

    mine = {u.id for u in units_in_scope(c, actor)} | {d.id for d in devices_in_scope(c, actor)}

    def of_subtree(username: str) -> bool:
        person = people.get(username)
        return person is not None and person.unit_id is not None and actor.scope.has_unit(person.unit_id)

    def visible(e: Any) -> bool:
        """What people of the actor's subtree did, and what anyone did to a unit or device of it."""
        return actor.scope.whole_tree or of_subtree(e.actor) or e.target in mine

    in_unit = None
    if unit:
        units = set(access.subtree(c, unit))
        devices = {d.id for d in c.registry.devices() if d.unit_id in units}

        def in_unit(e: Any) -> bool:
            person = people.get(e.actor)
            return ((person is not None and person.unit_id in units) or e.target in units or e.target in devices)

    rows = audit_trail.trail_rows([e for e in entries if visible(e)], actions=actions, in_unit=in_unit,
                                  full_name=lambda u: people[u].display_name if u in people else "")
    choices = sorted({u for u in people if actor.scope.whole_tree or of_subtree(u)} | {r.actor for r in rows})
    return AuditTrailReport(start.isoformat(), end.isoformat(), by or "", action or "", unit or "", tuple(rows),
                            len(entries) >= TRAIL_MAX, tuple(choices), audit_trail.action_choices())


@dataclass(frozen=True)
class ChainCheck:
    """One chained table's check, as an auditor reads it (see :func:`controller.reports.audit.verify_all`)."""

    table: str
    ok: bool
    rows: int
    chains: int
    problems: tuple[str, ...]
    anchors: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "ok": self.ok, "rows": self.rows, "chains": self.chains,
                "problems": list(self.problems), "anchors": list(self.anchors)}


def audit_entries(c: Controller, actor: Actor, *, by: str | None = None, action: str | None = None,
                  target: str | None = None, since: str | None = None, until: str | None = None,
                  limit: int = 500) -> list[AuditEntry]:
    """Entries newest first (``by``: of one person); scoped auditors see what people of their subtree did."""
    access.require_permission(actor, "audit")
    entries = c.audit.entries(actor=by, action=action, target=target, since=since, until=until, limit=limit)
    return [e for e in entries if actor.scope.whole_tree or _of_subtree(c, actor, e.actor)]


def _of_subtree(c: Controller, actor: Actor, username: str) -> bool:
    person = c.users.find(username)
    return person is not None and person.unit_id is not None and actor.scope.has_unit(person.unit_id)


def verify_audit(c: Controller, actor: Actor) -> list[ChainCheck]:
    """Each chained table's check (see :func:`controller.reports.audit.verify_all`)."""
    access.require_permission(actor, "audit")
    return [ChainCheck(r.table, r.ok, r.rows, r.chains, tuple(str(p) for p in r.problems),
                       tuple(str(a) for a in r.anchors)) for r in c.verify_audit()]


@dataclass(frozen=True)
class Export:
    """A report file to download, as the chunks a response streams (a spreadsheet leaves as it is written)."""

    filename: str
    mimetype: str
    chunks: Callable[[], Iterator[bytes]]

    @property
    def content(self) -> bytes:
        """The whole file (read once more from the start)."""
        return b"".join(self.chunks())


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_FORMATS = ("csv", "xlsx")


def _export(c: Controller, actor: Actor, report: str, fmt: str, name: str, filters: dict[str, Any],
            csv_bytes: Callable[[], bytes], xlsx_chunks: Callable[[], Iterator[bytes]]) -> Export:
    """The file in ``fmt``, and an audit entry saying who took which report out of the system."""
    if fmt not in EXPORT_FORMATS:
        raise InputError("invalid_format", "Định dạng phải là csv, xlsx hoặc json.", "format")
    c.audit.record(actor, "report_exported", report, {"format": fmt, "filters": filters})
    if fmt == "csv":
        return Export(f"{name}.{fmt}", "text/csv; charset=utf-8", lambda: iter((csv_bytes(),)))
    return Export(f"{name}.{fmt}", XLSX, xlsx_chunks)


def export_audit_trail(c: Controller, actor: Actor, data: AuditTrailReport, fmt: str) -> Export:
    heading = f"Nhật ký thao tác – {data.start} đến {data.end}"
    return _export(c, actor, "audit_trail", fmt, f"nhat-ky-thao-tac-{data.start}-{data.end}", data.filters,
                   lambda: audit_trail.trail_csv(data.rows),
                   lambda: iter((audit_trail.trail_xlsx(data.rows, heading),)))


def export_logbook(c: Controller, actor: Actor, page: LogbookPage, fmt: str) -> Export:
    return _export(c, actor, "logbook", fmt, f"so-nhat-ky-{page.unit or 'tat-ca'}-{page.week}",
                   {"week": page.week, "unit": page.unit},
                   lambda: logbook.logbook_csv(page.rows), lambda: logbook.logbook_xlsx_stream(page.rows, page.heading))


PLAYBACK_KIND_VI = {
    "delivered": "Đã nhận lịch", "started": "Bắt đầu phát", "finished": "Phát xong", "interrupted": "Bị ngắt",
    "failed": "Lỗi", "skipped": "Bỏ qua", "security": "Cảnh báo an ninh", "stream_started": "Bắt đầu tiếp sóng",
    "stream_finished": "Tiếp sóng xong", "stream_gap": "Tiếp sóng bị gián đoạn",
}
PLAYBACK_COLUMNS = (Column("Thời điểm", 20), Column("Cụm loa", 22), Column("Đơn vị", 18), Column("Bản tin", 40),
                    Column("Trạng thái", 14), Column("Giờ dự kiến", 20), Column("Giờ phát", 20),
                    Column("Độ trễ (giây)", 10), Column("Thời lượng (giây)", 10), Column("Lý do", 30))


def _local(iso: str | None) -> datetime | str:
    return to_local(parse_time(iso, "time")).replace(tzinfo=None) if iso else ""


def playback_cells(rows: Sequence[PlaybackRow]) -> list[list[Any]]:
    """The playback log's rows as typed cells: local instants, the delay and the duration in seconds."""
    out = []
    for r in rows:
        delay: Any = ""
        if r.planned_at and r.actual_start:
            delay = round((parse_time(r.actual_start, "actual_start")
                           - parse_time(r.planned_at, "planned_at")).total_seconds(), 1)
        out.append([_local(r.recorded_at), r.device_name, r.unit_name, r.title or "",
                    PLAYBACK_KIND_VI.get(r.kind, r.kind), _local(r.planned_at),
                    _local(r.actual_start), delay,
                    round(r.duration_s, 1) if r.duration_s is not None else "",
                    logbook.reason_label(r.reason or "")])
    return out


def export_playback(c: Controller, actor: Actor, rows: Sequence[PlaybackRow], filters: dict[str, Any],
                    fmt: str) -> Export:
    heading = f"Nhật ký phát – {filters['from']} đến {filters['to']}"
    cells = playback_cells(rows)
    return _export(c, actor, "playback", fmt, f"nhat-ky-phat-{filters['from']}-{filters['to']}", filters,
                   lambda: write_csv([col.label for col in PLAYBACK_COLUMNS], cells),
                   lambda: stream_xlsx("Nhật ký phát", heading, PLAYBACK_COLUMNS, cells))


def logbook_report(c: Controller, actor: Actor, week_of: date, unit: str | None) -> LogbookPage:
    """The week's programme logbook (Monday to Sunday, local) of a unit of the actor's subtree."""
    access.require_permission(actor, "audit")
    since, until = logbook.week_bounds(week_of)
    unit = report_unit(c, actor, unit)
    devices = report_scope.devices(c, actor, unit)
    occ = logbook.occurrences(c.db, c.guardrails.policy(), [d.id for d in devices], since, until,
                              late=timedelta(seconds=c.config.plans.missed_after_s))
    names = report_scope.unit_names(c)
    last = (until - timedelta(days=1)).date()
    heading = (f"Sổ nhật ký chương trình – {names.get(unit or '', 'Tất cả đơn vị')} – "
               f"tuần {since.date():%d/%m/%Y} – {last:%d/%m/%Y}")
    return LogbookPage(week=since.date().isoformat(), unit=unit or "", heading=heading,
                       rows=tuple(logbook.logbook_rows(occ)), prev=(since.date() - timedelta(days=7)).isoformat(),
                       next=(since.date() + timedelta(days=7)).isoformat())
