"""Times entered by people (local, Asia/Ho_Chi_Minh) or machines (ISO 8601 with offset).

The conversions themselves live in :mod:`loaxa.local_time` and :mod:`loaxa.wire_time`;
this module only turns a bad entry into a Vietnamese :class:`InputError` for the form or API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from controller.errors import InputError
from loaxa.local_time import LOCAL_TZ, local_to_utc, to_local

# LOCAL_TZ and to_local are loaxa.local_time's own objects, named here for the controller
# modules that import them from this module; new code imports loaxa.local_time.
__all__ = ["LOCAL_TZ", "parse_user_time", "to_local"]


def parse_user_time(value: Any, field: str) -> datetime:
    """Parse ``2026-11-25T17:00:00+07:00`` or local ``2026-11-25 17:00`` into UTC."""
    if not isinstance(value, str) or not value.strip() or len(value) > 40:
        raise InputError("invalid_time", "Thời gian không hợp lệ; ví dụ: 2026-11-25 17:00.", field)
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InputError("invalid_time", f"Không đọc được thời gian '{value}'; ví dụ: 2026-11-25 17:00.", field) from None
    return local_to_utc(t)
