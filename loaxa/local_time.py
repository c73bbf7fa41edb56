"""Local time for people: Asia/Ho_Chi_Minh wall clocks in, aware UTC instants out, and back.

Officials write "6 giờ" and mean 06:00 on the pole, whatever zone the controller's host
runs in, so no conversion here ever consults the host's zone.  An instant handed to
:func:`to_local` must be aware: a naive datetime is refused rather than guessed, because
guessing is how a bulletin airs seven hours off.  A naive value is accepted only where it
is explicitly a local wall-clock reading (:func:`local_to_utc`, :func:`local_instant`).
Vietnam keeps no daylight saving time; callers that assume 24-hour local days say so.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
UTC = timezone.utc


class NaiveTimeError(ValueError):
    """A naive datetime where an instant (a datetime with a zone) is required."""


def is_aware(value: object) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() is not None


def to_local(instant: datetime) -> datetime:
    """An aware instant as an aware Asia/Ho_Chi_Minh datetime; a naive one raises :class:`NaiveTimeError`."""
    if not is_aware(instant):
        raise NaiveTimeError(f"an instant needs a time zone, got {instant!r}")
    return instant.astimezone(LOCAL_TZ)


def local_to_utc(wall: datetime) -> datetime:
    """A local wall-clock reading (naive, meaning Asia/Ho_Chi_Minh) or any aware time, as aware UTC."""
    if wall.tzinfo is None:
        wall = wall.replace(tzinfo=LOCAL_TZ)
    return wall.astimezone(UTC)


def local_instant(day: date, at: time) -> datetime:
    """The UTC instant of a local date and wall-clock time."""
    return local_to_utc(datetime.combine(day, at))


def local_date(instant: datetime) -> date:
    """The local calendar date an aware instant falls on."""
    return to_local(instant).date()


def local_midnight(day: date) -> datetime:
    """The UTC instant at which a local day begins."""
    return local_instant(day, time(0, 0))

