"""Broadcasts: a bulletin scheduled to play on a set of devices."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from controller.bulletins import new_id
from controller.db import Database
from controller.errors import InputError, NotFound
from controller.registry import Registry
from controller.timeparse import parse_user_time, to_local
from loaxa.protocol import PRIORITIES, format_time, utcnow


class Broadcasts:
    def __init__(self, db: Database, registry: Registry):
        self.db = db
        self.registry = registry

    def schedule(
        self,
        bulletin_id: Any,
        starts_at: Any,
        targets: Any,
        priority: Any = "normal",
        created_by: str = "",
        now: datetime | None = None,
    ) -> dict[str, Any]:
        now = now or utcnow()
        if not isinstance(bulletin_id, str):
            raise InputError("invalid_bulletin", "Chưa chọn bản tin.", "bulletin_id")
        with self.db.tx() as db:
            if not db["bulletins"].count_where("id = ?", [bulletin_id]):
                raise InputError("unknown_bulletin", f"Không có bản tin '{bulletin_id}'.", "bulletin_id")
        start = parse_user_time(starts_at, "starts_at")
        if start < now - timedelta(seconds=1):
            raise InputError(
                "in_the_past",
                f"Thời gian phát {to_local(start):%H:%M ngày %d/%m/%Y} đã qua; hãy chọn thời điểm trong tương lai.",
                "starts_at",
            )
        if priority not in PRIORITIES:
            raise InputError("invalid_priority", "Mức ưu tiên phải là thường, ưu tiên hoặc khẩn cấp.", "priority")
        if not isinstance(targets, list):
            raise InputError("invalid_targets", "Danh sách nơi phát không hợp lệ.", "targets")
        devices = self.registry.resolve_targets(targets)
        row = {
            "id": new_id("bc"),
            "bulletin_id": bulletin_id,
            "starts_at": format_time(start),
            "priority": priority,
            "targets_json": json.dumps(targets, ensure_ascii=False),
            "status": "scheduled",
            "created_at": format_time(now),
            "created_by": created_by,
        }
        with self.db.tx() as db:
            db["broadcasts"].insert(row)
            db["broadcast_devices"].insert_all({"broadcast_id": row["id"], "device_id": d} for d in devices)
        return self.get(row["id"])

    def cancel(self, broadcast_id: str) -> dict[str, Any]:
        with self.db.tx() as db:
            if not db["broadcasts"].count_where("id = ?", [broadcast_id]):
                raise NotFound("unknown_broadcast", f"Không có lịch phát '{broadcast_id}'.")
            db.execute("UPDATE broadcasts SET status = 'cancelled' WHERE id = ?", [broadcast_id])
        return self.get(broadcast_id)

    def get(self, broadcast_id: str) -> dict[str, Any]:
        with self.db.tx() as db:
            rows = list(db["broadcasts"].rows_where("id = ?", [broadcast_id]))
            if not rows:
                raise NotFound("unknown_broadcast", f"Không có lịch phát '{broadcast_id}'.")
            devices = [r[0] for r in db.execute(
                "SELECT device_id FROM broadcast_devices WHERE broadcast_id = ? ORDER BY device_id", [broadcast_id])]
        return _view(rows[0], devices)

    def list(self) -> list[dict[str, Any]]:
        with self.db.tx() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM broadcasts ORDER BY starts_at DESC")]
        return [self.get(i) for i in ids]

    def devices_of(self, broadcast_id: str) -> list[str]:
        return self.get(broadcast_id)["devices"]


def _view(row: dict[str, Any], devices: list[str]) -> dict[str, Any]:
    out = dict(row)
    out["targets"] = json.loads(out.pop("targets_json"))
    out["devices"] = devices
    return out
