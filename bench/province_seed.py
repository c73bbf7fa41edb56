"""The synthetic province both report benchmarks query: a tree of communes, villages and
clusters, and one approved bulletin broadcast to all of it twice a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from controller.plans import Broadcast
from controller.service import Controller
from loaxa.local_time import LOCAL_TZ
from loaxa.wire_time import utcnow

MAX_RULE_DAYS = 366


@dataclass(frozen=True)
class SeededProvince:
    device_ids: tuple[str, ...]
    broadcast: Broadcast
    media_sha256: str
    first_day: date
    broadcasts: tuple[Broadcast, ...] = ()


def seed_province(c: Controller, communes: int, villages: int, clusters: int, days: int) -> SeededProvince:
    """Insert the tree in bulk, then schedule and approve the daily bulletin from tomorrow on."""
    units = [("tinh", "Tỉnh", None, "province")]
    devices = []
    for x in range(communes):
        units.append((f"xa-{x}", f"Xã {x}", "tinh", "commune"))
        for v in range(villages):
            units.append((f"thon-{x}-{v}", f"Thôn {v}", f"xa-{x}", "village"))
            devices += [(f"loa-{x}-{v}-{k}", f"Cụm {k}", f"thon-{x}-{v}", "2026-01-01T00:00:00.000+00:00")
                        for k in range(clusters)]
    with c.db.tx() as db:
        db.conn.executemany("INSERT INTO units(id, name, parent_id, level) VALUES (?, ?, ?, ?)", units)
        db.conn.executemany("INSERT INTO devices(id, name, unit_id, created_at) VALUES (?, ?, ?, ?)", devices)
    first = (utcnow().astimezone(LOCAL_TZ) + timedelta(days=1)).date()
    bulletin = c.add_bulletin("Thông báo", "Thông báo lịch tiêm phòng tại trạm y tế xã.", created_by="soan")
    broadcasts = []
    for begin in range(0, days, MAX_RULE_DAYS):  # a rule spans at most a year: a longer logbook takes one a year
        rule = {"start_date": (first + timedelta(days=begin)).isoformat(),
                "end_date": (first + timedelta(days=min(days, begin + MAX_RULE_DAYS) - 1)).isoformat(),
                "slot_times": ["06:00", "17:00"]}
        bc = c.schedule_broadcast(bulletin.id, None, ["tinh"], created_by="soan", rule=rule)
        c.approve_broadcast(bc.id, "duyet")
        broadcasts.append(bc)
    return SeededProvince(tuple(d[0] for d in devices), broadcasts[0], bulletin.media.sha256, first,
                          tuple(broadcasts))
