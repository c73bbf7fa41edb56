"""Relay programmes (tiếp sóng): a relay source aired for a slot, scheduled like any bulletin.

A relay is stored as a bulletin without media: its source and its slot length.  It is then
scheduled, approved, checked against the guardrails (quiet hours; its minutes count against
airtime caps) and shown in readiness and the calendar exactly as a bulletin is, because the
planner treats the slot length as the bulletin's airtime (:data:`~controller.plan_expansion.PLAYABLE_S`).
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from controller.db import Database
from controller.errors import InputError
from controller.plans.bulletins import MAX_TITLE_CHARS, new_id
from controller.plans.records import Bulletin
from loaxa.wire_time import format_time, utcnow

class RelaySource(Protocol):
    """What a relay programme shows of its source."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def url(self) -> str: ...


class RelaySources(Protocol):
    """The registered relay sources (:class:`controller.streaming.sources.Sources`): streaming sits
    above the plans, so a relay programme is handed them rather than importing them."""

    def get(self, source_id: str) -> RelaySource: ...


MIN_RELAY_S = 10.0
MAX_RELAY_S = 720 * 60.0  # what a signed stream item may carry


def relay_seconds(duration_min: Any = None, duration_s: Any = None) -> float:
    """The slot length from minutes (the form) or seconds (machines), within what an agent accepts."""
    value, unit = (duration_s, 1.0) if duration_s is not None else (duration_min, 60.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError("invalid_duration", "Thời lượng tiếp sóng phải là số phút.", "duration_min")
    seconds = float(value) * unit
    if not MIN_RELAY_S <= seconds <= MAX_RELAY_S:
        raise InputError("invalid_duration", "Thời lượng tiếp sóng phải từ 10 giây đến 720 phút.", "duration_min")
    return seconds


def add_relay_bulletin(db: Database, sources: RelaySources, source_id: Any, seconds: float, title: Any,
                       created_by: str, on_stored: Callable[[dict[str, Any]], None] | None = None) -> Bulletin:
    """Store the relay of ``source_id`` for ``seconds`` as a bulletin; ``on_stored`` (given the stored row, as
    :meth:`~controller.plans.bulletins.Bulletins.add` gives it) audits it in the same transaction."""
    if not isinstance(source_id, str) or not source_id:
        raise InputError("invalid_source", "Chưa chọn nguồn tiếp sóng.", "source_id")
    source = sources.get(source_id)
    if title is not None and not isinstance(title, str):
        raise InputError("invalid_title", "Tiêu đề không hợp lệ.", "title")
    title = (title or "").strip() or f"Tiếp sóng {source.name}"
    if len(title) > MAX_TITLE_CHARS:
        raise InputError("title_too_long", f"Tiêu đề dài quá {MAX_TITLE_CHARS} ký tự.", "title")
    bulletin = {"id": new_id("bt"), "title": title, "text": f"[Tiếp sóng: {source.name} — {source.url}]", "script": "",
                "media_sha256": None, "relay_source_id": source.id, "relay_duration_s": seconds,
                "created_at": format_time(utcnow()), "created_by": created_by}
    with db.tx() as conn:
        conn["bulletins"].insert(bulletin)
        if on_stored is not None:
            on_stored(bulletin)
    return Bulletin.from_row(bulletin)
