"""Times on the wire and in storage: aware UTC instants written as ISO 8601 with an offset.

Every message, every database column and every API answer carries instants in this one
form, so the controller, the agents and the tests compare the same thing.  A time without
an offset is refused in both directions: a guessed zone plays a broadcast at the wrong hour.
Local (Asia/Ho_Chi_Minh) wall-clock time for people lives in :mod:`loaxa.local_time`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

UTC = timezone.utc
MAX_TIME_TEXT = 40


class WireTimeError(ValueError):
    """A value that is not an ISO 8601 instant with a UTC offset; the text says which field."""


def utcnow() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def format_time(t: datetime) -> str:
    """An aware instant as UTC ISO 8601 with milliseconds (``2026-11-25T10:00:00.000+00:00``)."""
    if not isinstance(t, datetime) or t.tzinfo is None or t.utcoffset() is None:
        raise WireTimeError("naive datetime cannot go on the wire")
    return t.astimezone(UTC).isoformat(timespec="milliseconds")


def parse_time(value: Any, what: str) -> datetime:
    """An ISO 8601 text with an offset as an aware UTC instant; ``what`` names the field in errors."""
    if not isinstance(value, str) or len(value) > MAX_TIME_TEXT:
        raise WireTimeError(f"{what}: expected an ISO 8601 time, got {value!r}")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise WireTimeError(f"{what}: not an ISO 8601 time: {value!r}") from None
    if t.tzinfo is None or t.utcoffset() is None:
        raise WireTimeError(f"{what}: time must carry a UTC offset: {value!r}")
    return t.astimezone(UTC)
