"""Local time (Asia/Ho_Chi_Minh) in, UTC stored, local time shown.

Every conversion in the package goes through :data:`LOCAL_TZ`, so a schedule entered as
"6 giờ" airs at 06:00 on the pole whatever the controller's own clock zone is.  Vietnam
keeps no daylight saving time; only the quiet-hours arithmetic relies on that (24-hour days).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from schedules.errors import ScheduleInputError

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
UTC = timezone.utc


def to_utc(local: datetime) -> datetime:
    """A naive local wall-clock time (or any aware time) as an aware UTC datetime."""
    if local.tzinfo is None:
        local = local.replace(tzinfo=LOCAL_TZ)
    return local.astimezone(UTC)


def to_local(instant: datetime) -> datetime:
    """An aware instant as an aware local datetime; naive input is refused, never guessed."""
    return require_aware(instant, "instant").astimezone(LOCAL_TZ)


def local_instant(day: date, at: time) -> datetime:
    """The UTC instant of a local date and wall-clock time."""
    return to_utc(datetime.combine(day, at))


def local_date(instant: datetime) -> date:
    """The local calendar date an instant falls on."""
    return to_local(instant).date()


def local_midnight(day: date) -> datetime:
    """The UTC instant at which a local day begins."""
    return local_instant(day, time(0, 0))


def require_aware(value: datetime, field: str) -> datetime:
    """Refuse naive datetimes where an instant is meant: a guessed zone is a wrong broadcast."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
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
