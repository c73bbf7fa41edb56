"""Times entered by people (local, Asia/Ho_Chi_Minh) or machines (ISO 8601 with offset)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from controller.errors import InputError

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def parse_user_time(value: Any, field: str) -> datetime:
    """Parse ``2026-11-25T17:00:00+07:00`` or local ``2026-11-25 17:00`` into UTC."""
    if not isinstance(value, str) or not value.strip() or len(value) > 40:
        raise InputError("invalid_time", "Thời gian không hợp lệ; ví dụ: 2026-11-25 17:00.", field)
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InputError("invalid_time", f"Không đọc được thời gian '{value}'; ví dụ: 2026-11-25 17:00.", field) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=LOCAL_TZ)
    return t.astimezone(timezone.utc)


def to_local(t: datetime) -> datetime:
    return t.astimezone(LOCAL_TZ)
