"""Builders shared by the scheduling tests: a real-shaped tree and terse broadcasts."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable

from schedules.broadcast import Broadcast
from schedules.rules import parse_rule_vi
from schedules.tree import Device, Unit

UNITS = [
    Unit("hn", "Thành phố Hà Nội", None, "tinh"),
    Unit("hn-phuong-a", "Phường A", "hn", "xa"),
    Unit("hn-to-1", "Tổ dân phố 1", "hn-phuong-a", "thon"),
    Unit("hn-to-2", "Tổ dân phố 2", "hn-phuong-a", "thon"),
    Unit("tq", "Tỉnh Tuyên Quang", None, "tinh"),
    Unit("tq-huyen", "Huyện Sơn Dương", "tq", "huyen"),
    Unit("tq-xa", "Xã Tân Trào", "tq-huyen", "xa"),
    Unit("tq-thon", "Thôn Tân Lập", "tq-xa", "thon"),
]
DEVICES = [
    Device("hn-d1", "hn-to-1", "Cụm loa tổ 1"),
    Device("hn-d2", "hn-to-2", "Cụm loa tổ 2"),
    Device("hn-d3", "hn-phuong-a", "Cụm loa nhà văn hóa"),
    Device("tq-d1", "tq-thon", "Cụm loa Tân Lập"),
    Device("tq-d2", "tq-xa", "Cụm loa chợ"),
]
HANOI_URBAN = {"max_programmes_per_day": 2, "max_minutes_per_programme": 15}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def bc(id: str, when: str, targets: Iterable[str] | str, minutes: float, **kwargs: Any) -> Broadcast:
    """A broadcast from a Vietnamese rule phrase, e.g. ``bc("a", "ngày 07/9/2021 lúc 6:00", "tq", 5)``."""
    rule_keys = {"valid_from", "valid_until"}
    rule = parse_rule_vi(when, **{k: kwargs.pop(k) for k in list(kwargs) if k in rule_keys})
    targets = {targets} if isinstance(targets, str) else set(targets)
    return Broadcast(id, rule, frozenset(targets), minutes * 60, **kwargs)
