"""Administrative units and devices: the tree a broadcast targets."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterable

from controller.db import Database
from controller.devices.event_trust import epochs_to_review
from controller.tree_records import Device, Unit
from controller.errors import Conflict, InputError, NotFound
from loaxa.wire_time import format_time, utcnow

if TYPE_CHECKING:
    from controller.people.actor import Actor
    from controller.reports.audit import AuditTrail

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_id(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise InputError("invalid_id", f"Mã '{value}' không hợp lệ: chỉ dùng chữ không dấu, số, '_', '.', '-' (tối đa 64 ký tự).", field)
    return value


def check_name(value: Any, field: str = "name", limit: int = 200) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError("required", "Vui lòng nhập tên.", field)
    if len(value) > limit:
        raise InputError("too_long", f"Tên dài quá {limit} ký tự.", field)
    return value.strip()


class Registry:
    def __init__(self, db: Database, low_volume_fault: int = 0):
        self.db = db
        self.low_volume_fault = low_volume_fault

    # units -------------------------------------------------------------------
    def add_unit(self, unit_id: str, name: str, parent_id: str | None = None, level: str = "") -> Unit:
        check_id(unit_id, "id")
        name = check_name(name)
        with self.db.tx() as db:
            if db["units"].count_where("id = ?", [unit_id]):
                raise Conflict("exists", f"Đơn vị '{unit_id}' đã có.", "id")
            if parent_id is not None and not db["units"].count_where("id = ?", [parent_id]):
                raise InputError("unknown_unit", f"Không có đơn vị cấp trên '{parent_id}'.", "parent_id")
            row = {"id": unit_id, "name": name, "parent_id": parent_id, "level": str(level or "")[:40]}
            db["units"].insert(row)
        return Unit.from_row(row)

    def units(self) -> list[Unit]:
        with self.db.tx() as db:
            return [Unit.from_row(r) for r in db["units"].rows_where(order_by="id")]

    def unit(self, unit_id: str) -> Unit:
        with self.db.tx() as db:
            rows = list(db["units"].rows_where("id = ?", [unit_id]))
        if not rows:
            raise NotFound("unknown_unit", f"Không có đơn vị '{unit_id}'.")
        return Unit.from_row(rows[0])

    def ancestors(self, unit_id: str) -> list[str]:
        """The unit and every unit above it, nearest first."""
        with self.db.tx() as db:
            rows = db.execute(
                """WITH RECURSIVE up(id, parent_id, depth) AS (
                       SELECT id, parent_id, 0 FROM units WHERE id = ?
                       UNION ALL
                       SELECT u.id, u.parent_id, up.depth + 1 FROM units u JOIN up ON u.id = up.parent_id)
                   SELECT id FROM up ORDER BY depth""",
                [unit_id],
            ).fetchall()
        return [r[0] for r in rows]

    # devices -----------------------------------------------------------------
    def add_device(self, device_id: str, name: str, unit_id: str) -> Device:
        check_id(device_id, "id")
        name = check_name(name)
        with self.db.tx() as db:
            if not db["units"].count_where("id = ?", [unit_id]):
                raise InputError("unknown_unit", f"Không có đơn vị '{unit_id}'.", "unit_id")
            if db["devices"].count_where("id = ?", [device_id]):
                raise Conflict("exists", f"Cụm loa '{device_id}' đã có.", "id")
            row = {"id": device_id, "name": name, "unit_id": unit_id, "created_at": format_time(utcnow())}
            db["devices"].insert(row)
        return self.device(device_id)

    def device(self, device_id: str) -> Device:
        """One device, with the new epochs of its events that wait for someone's review."""
        with self.db.tx() as db:
            rows = list(db["devices"].rows_where("id = ?", [device_id]))
        if not rows:
            raise NotFound("unknown_device", f"Không có cụm loa '{device_id}'.")
        return Device.from_row(rows[0], self.low_volume_fault).with_epochs(epochs_to_review(self.db, device_id))

    def devices(self) -> list[Device]:
        with self.db.tx() as db:
            return [Device.from_row(r, self.low_volume_fault) for r in db["devices"].rows_where(order_by="id")]

    def device_ids(self) -> list[str]:
        with self.db.tx() as db:
            return [r[0] for r in db.execute("SELECT id FROM devices ORDER BY id").fetchall()]

    def is_device(self, device_id: str) -> bool:
        with self.db.tx() as db:
            return bool(db["devices"].count_where("id = ?", [device_id]))

    def resolve_targets(self, targets: Iterable[str]) -> list[str]:
        """Every device id under the given units or devices, sorted; unknown ids are refused."""
        targets = list(targets)
        if not targets:
            raise InputError("no_targets", "Chọn ít nhất một thôn, xã hoặc cụm loa để phát.", "targets")
        found: set[str] = set()
        with self.db.tx() as db:
            for t in targets:
                if not isinstance(t, str):
                    raise InputError("invalid_target", "Nơi phát không hợp lệ.", "targets")
                if db["devices"].count_where("id = ?", [t]):
                    found.add(t)
                    continue
                if not db["units"].count_where("id = ?", [t]):
                    raise InputError("unknown_target", f"Không có đơn vị hay cụm loa '{t}'.", "targets")
                rows = db.execute(
                    """WITH RECURSIVE down(id) AS (
                           SELECT ? UNION ALL SELECT u.id FROM units u JOIN down ON u.parent_id = down.id)
                       SELECT d.id FROM devices d JOIN down ON d.unit_id = down.id""",
                    [t],
                ).fetchall()
                found.update(r[0] for r in rows)
        if not found:
            raise InputError("no_devices", "Nơi đã chọn chưa có cụm loa nào.", "targets")
        return sorted(found)


def register_device(registry: Registry, audit: AuditTrail, actor: Actor | str, device_id: Any, name: Any,
                    unit_id: Any, ip: str = "") -> Device:
    """Store a device and its audit entry in one transaction: the one way a device is added
    (the API, and ``loaxa device add`` through :meth:`DeviceSecurity.add_device`)."""
    with registry.db.tx():
        device = registry.add_device(device_id, name, unit_id)
        audit.record(actor, "device_added", device.id, {"unit_id": device.unit_id, "name": device.name}, ip)
    return device
