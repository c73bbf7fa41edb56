"""Audit pages and API (auditors, read-only, within their subtree): playback log, compliance, logbook."""

from __future__ import annotations

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


def playback_rows() -> tuple[list[dict[str, Any]], dict[str, Any]]:
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
    return render_template("audit_log.html", title="Nhật ký phát", rows=rows[:PAGE_ROWS], total=len(rows), f=filters,
                           **reports.playback_filter_choices(ctl(), auth.actor()))


def compliance_data() -> reports.ComplianceReport:
    """Planned vs played vs missed per child unit of the chosen unit, missed plays and offline clusters."""
    start, end = _range()
    return reports.compliance_report(ctl(), auth.actor(), start, end, request.args.get("unit") or None)


@bp.get("/audit/compliance")
@auth.access("audit")
def compliance_page():
    data = compliance_data()
    svg = Markup(logbook.compliance_svg(data.compliance))
    units = devices.units_in_scope(ctl(), auth.actor())
    return render_template("audit_compliance.html", title="Tỉ lệ phát đúng lịch", d=data, svg=svg, units=units)


def logbook_data() -> reports.LogbookReport:
    week_of = _day(request.args.get("week"), "week") or utcnow().astimezone(LOCAL_TZ).date()
    return reports.logbook_report(ctl(), auth.actor(), week_of, request.args.get("unit") or None)


@bp.get("/audit/logbook")
@auth.access("audit")
def logbook_page():
    data = logbook_data()
    units = devices.units_in_scope(ctl(), auth.actor())
    return render_template("audit_logbook.html", title="Sổ nhật ký chương trình", d=data, units=units,
                           columns=logbook.LOGBOOK_COLUMNS, rows=data.rows[:PAGE_ROWS], total=len(data.rows))
