"""How far each running render has come, for the person who started it, in Vietnamese.

Rendering a long bulletin takes a minute or more while ``POST /api/bulletins`` stays
synchronous; the compose page names its render with a random ``progress_id`` and polls
:meth:`RenderProgressRegistry.get` meanwhile.  Entries live in memory only: they expire
``ttl_s`` after their last update and the registry holds at most ``max_entries``, so
abandoned renders cost nothing and a restart forgets them all (nothing to migrate).
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from audio.progress import ProgressCallback, RenderProgress
from controller.errors import InputError, NotFound
from controller.plans.records import RenderStep

PROGRESS_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
ENGINE_NAMES = {"gtts": "giọng Google", "espeak": "giọng đọc ngoại tuyến", "upload": "bản ghi âm"}


def check_progress_id(value: Any) -> str:
    """The one validation of a client-chosen progress id: 8–64 letters, digits, '_' or '-'."""
    if not isinstance(value, str) or not PROGRESS_ID.fullmatch(value):
        raise InputError("invalid_progress_id", "Mã theo dõi tiến độ không hợp lệ (8–64 ký tự chữ, số, '_' hoặc '-').",
                         "progress_id")
    return value


def describe(event: RenderProgress | None) -> str:
    """The sentence an official reads for one render step (``None``: the render has not begun)."""
    if event is None:
        return "Đang chuẩn bị…"
    if event.stage == "reading":
        if event.total > 1:
            return f"Đang nhận dạng chữ trang {min(event.done + 1, event.total)}/{event.total}"
        return "Đang nhận dạng chữ trong ảnh" if event.fraction < 1 else "Đã nhận dạng xong"
    if event.stage == "speaking":
        return f"Đang đọc đoạn {event.done}/{event.total}" if event.total else "Đang đọc…"
    if event.stage == "fallback":
        if event.engine == "gtts":
            return "Giọng Google không phản hồi, chuyển sang giọng đọc ngoại tuyến"
        return f"Không dùng được {ENGINE_NAMES.get(event.engine, event.engine)}, thử cách khác"
    return {
        "normalizing": "Đang chuẩn hóa văn bản",
        "mastering": "Đang chuẩn hóa âm lượng và mã hóa",
        "storing": "Đang lưu tệp âm thanh",
        "done": "Đã xong",
    }.get(event.stage, "Đang xử lý…")


@dataclass(frozen=True)
class _Entry:
    owner: str
    event: RenderProgress | None
    updated: float


class RenderProgressRegistry:
    """A small thread-safe map ``progress_id → latest step``, owned by the user who started the render."""

    def __init__(self, ttl_s: float = 600.0, max_entries: int = 256, clock: Callable[[], float] = time.monotonic):
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def start(self, progress_id: Any, owner: str) -> ProgressCallback:
        """Open (or restart) the entry and return the callback a render reports to."""
        progress_id = check_progress_id(progress_id)
        with self._lock:
            current = self._entries.get(progress_id)
            if current is not None and current.owner != owner:
                raise InputError("progress_id_taken", "Mã theo dõi tiến độ này đang được dùng; hãy tải lại trang.",
                                 "progress_id")
            self._put(progress_id, _Entry(owner, None, self._clock()))

        def report(event: RenderProgress) -> None:
            with self._lock:
                entry = self._entries.get(progress_id)
                if entry is not None and entry.owner == owner:
                    self._put(progress_id, _Entry(owner, event, self._clock()))

        return report

    def get(self, progress_id: Any, owner: str) -> RenderStep:
        """The latest step; another user's or an unknown/expired id is not found."""
        progress_id = check_progress_id(progress_id)
        with self._lock:
            self._expire()
            entry = self._entries.get(progress_id)
        if entry is None or entry.owner != owner:
            raise NotFound("unknown_progress", "Không có tiến độ tạo âm thanh nào với mã này (có thể đã hết hạn).")
        event = entry.event
        if event is None:
            return RenderStep("preparing", 0, 0, "", 0.0, describe(event))
        return RenderStep(event.stage, event.done, event.total, event.engine, round(event.fraction, 3), describe(event))

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._entries)

    def _put(self, progress_id: str, entry: _Entry) -> None:
        self._entries[progress_id] = entry
        self._entries.move_to_end(progress_id)
        self._expire()
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def _expire(self) -> None:
        horizon = self._clock() - self.ttl_s
        while self._entries:
            oldest_id, oldest = next(iter(self._entries.items()))
            if oldest.updated >= horizon:
                break
            del self._entries[oldest_id]
