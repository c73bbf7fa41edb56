"""Local time (Asia/Ho_Chi_Minh) in, UTC stored, local time shown: the schedule's view of it.

The conversions are :mod:`loaxa.local_time`'s, shared with the controller and the agent;
this module adds what scheduling needs on top (refusals as :class:`ScheduleInputError`,
Vietnamese formatting, day spans).

Every conversion in the package goes through :data:`LOCAL_TZ`, so a schedule entered as
"6 giờ" airs at 06:00 on the pole whatever the controller's own clock zone is.  Vietnam
keeps no daylight saving time; only the quiet-hours arithmetic relies on that (24-hour days).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from loaxa.local_time import LOCAL_TZ, UTC, is_aware, local_date, local_instant, local_midnight, to_local
from loaxa.local_time import local_to_utc as to_utc
from schedules.errors import ScheduleInputError

__all__ = ["LOCAL_TZ", "UTC", "day_span", "format_date_vi", "format_local_vi", "local_date", "local_instant",
           "local_midnight", "require_aware", "to_local", "to_utc"]


def require_aware(value: datetime, field: str) -> datetime:
    """Refuse naive datetimes where an instant is meant: a guessed zone is a wrong broadcast."""
    if not is_aware(value):
        raise ScheduleInputError("naive_time", f"Thời điểm '{field}' phải kèm múi giờ.", field)
    return value.astimezone(UTC)


def format_local_vi(instant: datetime) -> str:
    """An instant as officials write it: ``06:00 ngày 07/09/2021``."""
    t = to_local(instant)
    return f"{t:%H:%M} ngày {t:%d/%m/%Y}"


def format_date_vi(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def day_span(first: date, last: date) -> list[date]:
    """Every date from ``first`` to ``last``, both included."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
