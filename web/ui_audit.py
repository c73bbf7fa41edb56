"""Audit pages (auditors, read-only, within their subtree): playback log, compliance, logbook, outages, audit trail."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, render_template, request
from markupsafe import Markup

from controller.errors import InputError
from loaxa.local_time import LOCAL_TZ
from loaxa.wire_time import utcnow

from controller.devices import use_cases as devices
from controller.reports import logbook
from controller.reports import use_cases as reports
from controller.reports.results import AuditTrailReport, ComplianceReport, LogbookPage, OutageReport, PlaybackRow
from web import auth
from web.ui_base import ctl, parse_day

bp = Blueprint("ui_audit", __name__)

PAGE_ROWS = 300  # rows a page shows (a phone on 4G); the API and the exports give everything


def _day(value: str | None, field: str) -> date | None:
    return parse_day(value, field)


def _range(default_days: int = 7) -> tuple[date, date]:
    """The date range from ``from``/``to`` (local, inclusive); the last ``default_days`` by default."""
    today = utcnow().astimezone(LOCAL_TZ).date()
    start = _day(request.args.get("from"), "from") or today - timedelta(days=default_days - 1)
    end = _day(request.args.get("to"), "to") or today
    if end < start:
        raise InputError("invalid_date_range", "Ngày kết thúc phải sau hoặc bằng ngày bắt đầu.", "to")
    if (end - start).days > 366:
        raise InputError("invalid_date_range", "Khoảng thời gian tối đa là một năm.", "to")
    return start, end


def playback_rows() -> tuple[list[PlaybackRow], dict[str, str]]:
    """Playback events in scope, filtered by unit, device, bulletin, dates and status."""
    a = request.args
    start, end = _range()
    kind = a.get("status") or None
    filters = {"from": start.isoformat(), "to": end.isoformat(), "unit": a.get("unit", ""),
               "device": a.get("device", ""), "bulletin": a.get("bulletin", ""), "status": kind or ""}
    rows = reports.playback_rows(ctl(), auth.actor(), start, end, unit=a.get("unit") or None,
                                 device=a.get("device") or None, bulletin=a.get("bulletin") or None, kind=kind)
    return rows, filters


@bp.get("/audit")
@auth.access("audit")
def log_page():
    rows, filters = playback_rows()
    choices = reports.playback_filter_choices(ctl(), auth.actor())
    return render_template("audit_log.html", title="Nhật ký phát", rows=rows[:PAGE_ROWS], total=len(rows), f=filters,
                           units=choices.units, devices=choices.devices, bulletins=choices.bulletins,
                           kinds=choices.kinds)


def _report_page(template: str, title: str, data: Any, **context: Any) -> str:
    """A report page: its data as ``d`` and the units of the actor's scope for its unit filter."""
    return render_template(template, title=title, d=data, units=devices.units_in_scope(ctl(), auth.actor()), **context)


def compliance_data() -> ComplianceReport:
    """Planned vs played vs missed per child unit of the chosen unit, missed plays and offline clusters."""
    start, end = _range()
    every_offline = request.args.get("offline", "") == "all"
    return reports.compliance_report(ctl(), auth.actor(), start, end, request.args.get("unit") or None, every_offline)


@bp.get("/audit/compliance")
@auth.access("audit")
def compliance_page():
    data = compliance_data()
    svg = {k: Markup(v) for k, v in asdict(data.charts).items()}  # drawn and escaped by controller.reports.charts
    return _report_page("audit_compliance.html", "Tỉ lệ phát đúng lịch", data, svg=svg, causes=logbook.CAUSE_VI,
                        rows=data.not_aired[:PAGE_ROWS])


def outage_data() -> OutageReport:
    start, end = _range()
    return reports.outage_report(ctl(), auth.actor(), start, end, request.args.get("unit") or None)


@bp.get("/audit/outages")
@auth.access("audit")
def outages_page():
    data = outage_data()
    return _report_page("audit_outages.html", "Lịch sử mất kết nối", data, timeline=Markup(data.timeline))


def trail_data() -> AuditTrailReport:
    a = request.args
    start, end = _range()
    return reports.audit_trail_report(ctl(), auth.actor(), start, end, by=a.get("actor") or None,
                                      action=a.get("action") or None, unit=a.get("unit") or None)


@bp.get("/audit/trail")
@auth.access("audit")
def trail_page():
    data = trail_data()
    return _report_page("audit_trail.html", "Nhật ký thao tác", data, rows=data.rows[:PAGE_ROWS],
                        total=len(data.rows))


def logbook_data() -> LogbookPage:
    week_of = _day(request.args.get("week"), "week") or utcnow().astimezone(LOCAL_TZ).date()
    return reports.logbook_report(ctl(), auth.actor(), week_of, request.args.get("unit") or None)


@bp.get("/audit/logbook")
@auth.access("audit")
def logbook_page():
    data = logbook_data()
    return _report_page("audit_logbook.html", "Sổ nhật ký chương trình", data, columns=logbook.LOGBOOK_COLUMNS,
                        rows=data.rows[:PAGE_ROWS], total=len(data.rows))
