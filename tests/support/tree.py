"""The administrative tree the tests seed: one province, two communes, a village and a speaker each.

``tinh`` → ``xa-a`` (``thon-a``: device ``loa-a``) and ``xa-b`` (``thon-b``: ``loa-b``).
Tests that need a commune with its own villages and devices (the process tests) use
:func:`seed_commune`, which builds the same shape through the HTTP API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class UnitSpec:
    id: str
    name: str
    parent_id: str | None
    level: str


UNITS = (
    UnitSpec("tinh", "Tỉnh Thử", None, "province"),
    UnitSpec("xa-a", "Xã A", "tinh", "commune"),
    UnitSpec("thon-a", "Thôn A", "xa-a", "village"),
    UnitSpec("xa-b", "Xã B", "tinh", "commune"),
    UnitSpec("thon-b", "Thôn B", "xa-b", "village"),
)
DEVICES = {"loa-a": ("Cụm loa A", "thon-a"), "loa-b": ("Cụm loa B", "thon-b")}


def seed_registry(registry: Any, devices: bool = True) -> None:
    """The tree into a controller's registry (in-process tests); ``devices=False`` for tests that enroll their own."""
    for u in UNITS:
        registry.add_unit(u.id, u.name, u.parent_id, u.level)
    for device_id, (name, unit_id) in DEVICES.items() if devices else ():
        registry.add_device(device_id, name, unit_id)


def seed_commune(api: Any, devices: dict[str, str]) -> None:
    """One province, one commune, villages as given by ``devices`` (device id -> village id)."""
    api.post("/api/units", {"id": "tinh", "name": "Tỉnh Thử", "level": "province"})
    api.post("/api/units", {"id": "xa", "name": "Xã Thử", "parent_id": "tinh", "level": "commune"})
    for village in sorted(set(devices.values())):
        api.post("/api/units", {"id": village, "name": f"Thôn {village}", "parent_id": "xa", "level": "village"})
    for device_id, village in devices.items():
        api.post("/api/devices", {"id": device_id, "name": f"Cụm loa {device_id}", "unit_id": village})
