"""The programme calendar: a week per commune of what plays when on which villages."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, render_template, request

from controller.errors import InputError
from controller.plans import use_cases as plans
from loaxa.local_time import LOCAL_TZ
from controller.reports import logbook as reports
from loaxa.wire_time import utcnow
from web import auth
from web.ui_base import ctl, parse_day, scope_units, subtree

bp = Blueprint("ui_calendar", __name__)

SHOWN = ("approved", "pending_approval")
WEEKDAYS_VI = ("Thứ 2", "Thứ 3", "Thứ 4", "Thứ 5", "Thứ 6", "Thứ 7", "Chủ nhật")


def week(unit_id: str | None, day: date) -> dict[str, Any]:
    """Seven days of entries (time, title, places, priority, status) for broadcasts reaching ``unit_id``."""
    since, until = reports.week_bounds(day)
    units = ctl().registry.units()
    names = {u.id: u.name for u in units}
    names.update({d.id: d.name for d in ctl().registry.devices()})
    area = subtree(unit_id) if unit_id else scope_units()
    devices = {d.id for d in ctl().registry.devices() if d.unit_id in area}
    titles = {b.id: b.title for b in ctl().bulletins.list()}
    days: list[list[dict[str, Any]]] = [[] for _ in range(7)]
    for status in SHOWN:
        for bc in ctl().broadcasts.list(status):
            if not set(bc.devices) & devices:
                continue
            for t in plans.starts_between(bc, since, until):
                local = t.astimezone(LOCAL_TZ)
                days[local.weekday()].append({
                    "time": local.strftime("%H:%M"), "title": titles.get(bc.bulletin_id, ""), "id": bc.id,
                    "places": [names.get(x, x) for x in bc.targets], "priority": bc.priority, "status": bc.status,
                })
    for entries in days:
        entries.sort(key=lambda e: e["time"])
    monday = since.date()
    return {"unit": unit_id or "", "unit_name": names.get(unit_id or "", "Tất cả"), "week": monday.isoformat(),
            "prev": (monday - timedelta(days=7)).isoformat(), "next": (monday + timedelta(days=7)).isoformat(),
            "days": [{"date": (monday + timedelta(days=i)).strftime("%d/%m"), "name": WEEKDAYS_VI[i], "entries": days[i],
                      "iso": (monday + timedelta(days=i)).isoformat()} for i in range(7)]}


def week_args() -> tuple[str | None, date]:
    unit = request.args.get("unit") or None
    if unit and unit not in scope_units():
        raise InputError("out_of_scope", "Đơn vị này ngoài phạm vi của bạn.", "unit")
    day = parse_day(request.args.get("week"), "week") or utcnow().astimezone(LOCAL_TZ).date()
    return unit, day


@bp.get("/calendar")
@auth.access("read")
def week_page():
    unit, day = week_args()
    choices = [u for u in ctl().registry.units() if u.id in scope_units() and u.level in ("commune", "ward", "")]
    if not choices:
        choices = [u for u in ctl().registry.units() if u.id in scope_units()]
    return render_template("calendar.html", title="Lịch phát", w=week(unit, day), units=choices,
                           today=utcnow().astimezone(LOCAL_TZ).date().isoformat())
