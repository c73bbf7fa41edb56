"""JSON endpoints of the calendar page (the page itself is :mod:`web.ui_calendar`)."""

from __future__ import annotations

from flask import Blueprint
from web import auth

from web.ui_calendar import week_args, week

bp = Blueprint("api_calendar", __name__)


@bp.get("/api/calendar")
@auth.access("read")
def week_api():
    unit, day = week_args()
    return week(unit, day)
