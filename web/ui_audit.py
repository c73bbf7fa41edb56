"""Audit pages and API (auditors, read-only, within their subtree): playback log, compliance, logbook."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request
from markupsafe import Markup

from controller.errors import InputError
from loaxa.local_time import LOCAL_TZ
from loaxa.wire_time import format_time, utcnow

from controller.reports import logbook as reports
from web import auth
from web.ui_base import ctl, parse_day, scope_devices, scope_units, subtree, viewer

bp = Blueprint("ui_audit", __name__)

KINDS = ("delivered", "started", "finished", "interrupted", "failed", "skipped", "security")
MAX_ROWS = 2000
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


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (datetime.combine(start, datetime.min.time(), LOCAL_TZ),
            datetime.combine(end + timedelta(days=1), datetime.min.time(), LOCAL_TZ))


def _devices_in(unit_id: str | None) -> list[dict[str, Any]]:
    devices = scope_devices()
    if unit_id:
        if unit_id not in scope_units():
            raise InputError("out_of_scope", "Đơn vị này ngoài phạm vi của bạn.", "unit")
        under = subtree(unit_id)
        devices = [d for d in devices if d["unit_id"] in under]
    return devices


def playback_rows() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Playback events in scope, filtered by unit, device, bulletin, dates and status."""
    a = request.args
    start, end = _range()
    since, until = _bounds(start, end)
    devices = {d["id"]: d for d in _devices_in(a.get("unit") or None)}
    if a.get("device"):
        devices = {k: v for k, v in devices.items() if k == a["device"]}
    kind = a.get("status") or None
    if kind and kind not in KINDS:
        raise InputError("invalid_status", "Trạng thái không hợp lệ.", "status")
    filters = {"from": start.isoformat(), "to": end.isoformat(), "unit": a.get("unit", ""),
               "device": a.get("device", ""), "bulletin": a.get("bulletin", ""), "status": kind or ""}
    if not devices:
        return [], filters
    ids = sorted(devices)
    where = [f"e.device_id IN ({','.join('?' * len(ids))})", "e.recorded_at >= ?", "e.recorded_at < ?"]
    params: list[Any] = [*ids, format_time(since), format_time(until)]
    if kind:
        where.append("e.kind = ?")
        params.append(kind)
    if a.get("bulletin"):
        where.append("b.bulletin_id = ?")
        params.append(a["bulletin"])
    with ctl().db.tx() as db:
        rows = list(db.query(
            f"""SELECT e.*, d.name AS device_name, u.name AS unit_name, bt.title, b.bulletin_id
                FROM playback_events e JOIN devices d ON d.id = e.device_id JOIN units u ON u.id = d.unit_id
                LEFT JOIN broadcasts b ON b.id = e.broadcast_id LEFT JOIN bulletins bt ON bt.id = b.bulletin_id
                WHERE {' AND '.join(where)} ORDER BY e.recorded_at DESC, e.id DESC LIMIT {MAX_ROWS}""", params))
    return rows, filters


def _filter_choices() -> dict[str, Any]:
    """Choices of the filter form, only from the viewer's area (bulletins by people they may see)."""
    units = [u for u in ctl().registry.units() if u["id"] in scope_units()]
    with ctl().db.tx() as db:
        recent = list(db.query("SELECT id, title, created_by FROM bulletins ORDER BY created_at DESC LIMIT 1000"))
    bulletins = [b for b in recent if auth.may_see_author(b["created_by"])][:200]
    return {"units": units, "devices": scope_devices(), "bulletins": bulletins, "kinds": KINDS}


@bp.get("/audit")
@auth.access("audit")
def log_page():
    rows, filters = playback_rows()
    return render_template("audit_log.html", title="Nhật ký phát", rows=rows[:PAGE_ROWS], total=len(rows), f=filters,
                           **_filter_choices())


@bp.get("/api/audit/playback")
@auth.access("audit")
def log_api():
    rows, filters = playback_rows()
    return jsonify({"filters": filters, "rows": rows})


def _report_unit() -> str | None:
    v = viewer()
    unit = request.args.get("unit") or (v.unit_id if v else None)
    if unit and unit not in scope_units():
        raise InputError("out_of_scope", "Đơn vị này ngoài phạm vi của bạn.", "unit")
    return unit


def compliance_data() -> dict[str, Any]:
    """Planned vs played vs missed per child unit of the chosen unit, missed plays and offline clusters."""
    start, end = _range()
    since, until = _bounds(start, end)
    unit = _report_unit()
    units = {u["id"]: u for u in ctl().registry.units()}
    roots = [u for u in units.values() if u["parent_id"] is None]
    if unit is None and len(roots) == 1:
        unit = roots[0]["id"]
    devices = _devices_in(unit)
    occ = reports.occurrences(ctl().db, ctl().guardrails.policy(), [d["id"] for d in devices], since, until)
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
    table = reports.compliance(occ, names, unit_of)
    missed = [o for o in occ if o.status == "missed"]
    return {"from": start.isoformat(), "to": end.isoformat(), "unit": unit or "", "unit_name": names.get(unit or "", "Tất cả"),
            "compliance": table, "missed": missed,
            "offline": reports.offline_clusters(devices, names)}


@bp.get("/audit/compliance")
@auth.access("audit")
def compliance_page():
    data = compliance_data()
    svg = Markup(reports.compliance_svg(data["compliance"]))
    units = [u for u in ctl().registry.units() if u["id"] in scope_units()]
    return render_template("audit_compliance.html", title="Tỉ lệ phát đúng lịch", d=data, svg=svg, units=units)


@bp.get("/api/audit/compliance")
@auth.access("audit")
def compliance_api():
    data = compliance_data()
    return {
        **{k: data[k] for k in ("from", "to", "unit", "offline")},
        "compliance": [{**c.__dict__, "rate": c.rate} for c in data["compliance"]],
        "missed": [reports.occurrence_dict(o) for o in data["missed"]],
    }


def logbook_data() -> dict[str, Any]:
    week_of = _day(request.args.get("week"), "week") or utcnow().astimezone(LOCAL_TZ).date()
    since, until = reports.week_bounds(week_of)
    unit = _report_unit()
    devices = _devices_in(unit)
    occ = reports.occurrences(ctl().db, ctl().guardrails.policy(), [d["id"] for d in devices], since, until)
    names = {u["id"]: u["name"] for u in ctl().registry.units()}
    last = (until - timedelta(days=1)).date()
    heading = (f"Sổ nhật ký chương trình – {names.get(unit or '', 'Tất cả đơn vị')} – "
               f"tuần {since.date():%d/%m/%Y} – {last:%d/%m/%Y}")
    return {"week": since.date().isoformat(), "unit": unit or "", "heading": heading,
            "rows": reports.logbook_rows(occ), "prev": (since.date() - timedelta(days=7)).isoformat(),
            "next": (since.date() + timedelta(days=7)).isoformat()}


@bp.get("/audit/logbook")
@auth.access("audit")
def logbook_page():
    data = logbook_data()
    units = [u for u in ctl().registry.units() if u["id"] in scope_units()]
    return render_template("audit_logbook.html", title="Sổ nhật ký chương trình", d=data, units=units,
                           columns=reports.LOGBOOK_COLUMNS, rows=data["rows"][:PAGE_ROWS], total=len(data["rows"]))


@bp.get("/api/audit/logbook")
@auth.access("audit")
def logbook_export():
    """The weekly logbook as JSON, or ``?format=csv|xlsx`` for a spreadsheet download."""
    data = logbook_data()
    fmt = request.args.get("format", "json")
    name = f"so-nhat-ky-{data['unit'] or 'tat-ca'}-{data['week']}"
    if fmt == "csv":
        return Response(reports.logbook_csv(data["rows"]), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if fmt == "xlsx":
        return Response(reports.logbook_xlsx(data["rows"], data["heading"]),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    if fmt != "json":
        raise InputError("invalid_format", "Định dạng phải là csv, xlsx hoặc json.", "format")
    return {k: data[k] for k in ("week", "unit", "heading", "rows")}
