"""The Vietnamese names of a broadcast's status and priority, kept in one table.

The pages' badges, an editor's own work grouped by status, the weekly logbook's priority
column and a refusal that names broadcasts in a sentence all read these tables, so a word
changed here changes everywhere at once instead of drifting between near-copies.  The
tables are read-only: a caller that needs more words (``web``'s badge filter also names
device and playback states) builds its own table on top.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

BROADCAST_STATUS_VI: Mapping[str, str] = MappingProxyType({
    "draft": "Bản nháp",
    "pending_approval": "Chờ duyệt",
    "approved": "Đã duyệt",
    "rejected": "Bị từ chối",
    "cancelled": "Đã hủy",
})

PRIORITY_VI: Mapping[str, str] = MappingProxyType({"normal": "Thường", "priority": "Ưu tiên", "emergency": "Khẩn cấp"})

# An editor's own broadcasts by status, in the editor's words: what was sent is waiting, what
# was approved is still to air, and "aired" (not a status) gathers the approved ones already played.
MY_WORK_GROUP_VI: Mapping[str, str] = MappingProxyType({
    **BROADCAST_STATUS_VI,
    "pending_approval": "Đã gửi, chờ duyệt",
    "approved": "Đã duyệt, sắp phát",
    "aired": "Đã phát",
})


def broadcast_status_vi(status: str, *, in_sentence: bool = False) -> str:
    """A broadcast status's name; ``in_sentence`` gives it in lower case, for the middle of a sentence.

    An unknown status is shown as it is, so a new status is visible rather than an error."""
    label = BROADCAST_STATUS_VI.get(status, status)
    return label.lower() if in_sentence else label


def priority_vi(priority: str) -> str:
    """A priority's name (an unknown one as it is)."""
    return PRIORITY_VI.get(priority, priority)
