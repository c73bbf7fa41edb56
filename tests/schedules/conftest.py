"""A small real-shaped tree: Hà Nội (no districts, capped urban ward) and a province with a district."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from schedules.guardrails import GuardrailPolicy
from schedules.tree import AdminTree, Device, Unit

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


@pytest.fixture
def tree() -> AdminTree:
    return AdminTree(UNITS, DEVICES)


@pytest.fixture
def policy() -> GuardrailPolicy:
    return GuardrailPolicy(overrides_by_unit={"hn-phuong-a": HANOI_URBAN})
