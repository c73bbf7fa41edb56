"""The administrative tree as data: province → (district) → commune → village → device.

No level is hard-coded: a unit's ``level`` is a free label ("tinh", "xa", "thon" …) and the
tree is whatever the parent links say, because since the 2025 reform many provinces have no
district level and some communes group villages differently.  A broadcast target is any set
of node ids (units or devices); a unit stands for every device below it.

The tree is validated once, when built, and is immutable afterwards, so every question asked
of it (which devices, which groups) is answered from precomputed maps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator

from schedules.errors import ScheduleInputError

NODE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Unit:
    """An administrative unit; ``parent_id`` is None for a root (usually a province)."""

    id: str
    name: str
    parent_id: str | None = None
    level: str = ""


@dataclass(frozen=True)
class Device:
    """A loudspeaker cluster (cụm loa), attached to the unit it serves."""

    id: str
    unit_id: str
    name: str = ""


def _check_node_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not NODE_ID_RE.match(value):
        raise ScheduleInputError(
            "invalid_id", f"Mã {what} '{value}' không hợp lệ (chữ, số, '_', '.', '-'; tối đa 64 ký tự).", "id"
        )
    return value


class AdminTree:
    """An immutable, validated tree of units with devices hanging from them."""

    def __init__(self, units: Iterable[Unit], devices: Iterable[Device] = ()):
        self._units: dict[str, Unit] = {}
        self._devices: dict[str, Device] = {}
        for u in units:
            _check_node_id(u.id, "đơn vị")
            if u.id in self._units:
                raise ScheduleInputError("duplicate_id", f"Mã đơn vị '{u.id}' bị trùng.", "id")
            self._units[u.id] = u
        for d in devices:
            _check_node_id(d.id, "cụm loa")
            if d.id in self._devices or d.id in self._units:
                raise ScheduleInputError("duplicate_id", f"Mã cụm loa '{d.id}' bị trùng.", "id")
            if d.unit_id not in self._units:
                raise ScheduleInputError(
                    "unknown_parent", f"Cụm loa '{d.id}' thuộc đơn vị '{d.unit_id}' không tồn tại.", "unit_id"
                )
            self._devices[d.id] = d
        self._children: dict[str, list[str]] = {uid: [] for uid in self._units}
        self._unit_devices: dict[str, list[str]] = {uid: [] for uid in self._units}
        for u in self._units.values():
            if u.parent_id is not None:
                if u.parent_id not in self._units:
                    raise ScheduleInputError(
                        "unknown_parent", f"Đơn vị '{u.id}' có đơn vị cấp trên '{u.parent_id}' không tồn tại.", "parent_id"
                    )
                self._children[u.parent_id].append(u.id)
        for d in self._devices.values():
            self._unit_devices[d.unit_id].append(d.id)
        self._unit_tuples = {uid: tuple(sorted(ds)) for uid, ds in self._unit_devices.items()}
        self._ancestors: dict[str, tuple[str, ...]] = {}
        for uid in self._units:
            self._ancestors[uid] = self._walk_up(uid)

    def _walk_up(self, unit_id: str) -> tuple[str, ...]:
        chain: list[str] = []
        seen = {unit_id}
        parent = self._units[unit_id].parent_id
        while parent is not None:
            if parent in seen:
                raise ScheduleInputError("cycle", f"Cây đơn vị có vòng lặp qua '{parent}'.", "parent_id")
            known = self._ancestors.get(parent)
            if known is not None:
                if unit_id in known:
                    raise ScheduleInputError("cycle", f"Cây đơn vị có vòng lặp qua '{unit_id}'.", "parent_id")
                chain.append(parent)
                chain.extend(known)
                break
            seen.add(parent)
            chain.append(parent)
            parent = self._units[parent].parent_id
        return tuple(chain)

    # --- lookups -------------------------------------------------------------------

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._units or node_id in self._devices

    @property
    def units(self) -> tuple[Unit, ...]:
        return tuple(self._units.values())

    @property
    def devices(self) -> tuple[Device, ...]:
        return tuple(self._devices.values())

    def unit(self, unit_id: str) -> Unit:
        try:
            return self._units[unit_id]
        except KeyError:
            raise ScheduleInputError("unknown_node", f"Không có đơn vị '{unit_id}'.", "unit_id") from None

    def device(self, device_id: str) -> Device:
        try:
            return self._devices[device_id]
        except KeyError:
            raise ScheduleInputError("unknown_node", f"Không có cụm loa '{device_id}'.", "device_id") from None

    def is_device(self, node_id: str) -> bool:
        return node_id in self._devices

    def name(self, node_id: str) -> str:
        """A node's display name, or its id when it has none."""
        node = self._devices.get(node_id) or self._units.get(node_id)
        if node is None:
            raise ScheduleInputError("unknown_node", f"Không có đơn vị hay cụm loa '{node_id}'.", "targets")
        return node.name or node.id

    def roots(self) -> tuple[str, ...]:
        return tuple(uid for uid, u in self._units.items() if u.parent_id is None)

    def children(self, unit_id: str) -> tuple[str, ...]:
        """Direct sub-units of a unit."""
        self.unit(unit_id)
        return tuple(self._children[unit_id])

    def ancestors(self, node_id: str) -> tuple[str, ...]:
        """Units above a node, nearest first (a device's own unit comes first)."""
        if node_id in self._devices:
            unit_id = self._devices[node_id].unit_id
            return (unit_id, *self._ancestors[unit_id])
        self.unit(node_id)
        return self._ancestors[node_id]

    def group_chain(self, device_id: str) -> tuple[str, ...]:
        """The groups a device listens to: its unit, then every unit above it up to the root."""
        self.device(device_id)
        return self.ancestors(device_id)

    def subtree(self, unit_id: str) -> frozenset[str]:
        """A unit and every unit below it."""
        self.unit(unit_id)
        return frozenset(self._iter_subtree(unit_id))

    def _iter_subtree(self, unit_id: str) -> Iterator[str]:
        stack = [unit_id]
        while stack:
            uid = stack.pop()
            yield uid
            stack.extend(self._children[uid])

    def contains(self, ancestor: str, node: str) -> bool:
        """Whether ``node`` is ``ancestor`` itself or lies below it."""
        if ancestor not in self or node not in self:
            raise ScheduleInputError("unknown_node", f"Không có đơn vị hay cụm loa '{ancestor if ancestor not in self else node}'.", "targets")
        return node == ancestor or ancestor in self.ancestors(node)

    def unit_devices(self, unit_id: str) -> tuple[str, ...]:
        """The devices directly in a unit (not those of the units below it), by id."""
        try:
            return self._unit_tuples[unit_id]
        except KeyError:
            raise ScheduleInputError("unknown_node", f"Không có đơn vị '{unit_id}'.", "unit_id") from None

    def devices_under(self, node_ids: Iterable[str]) -> frozenset[str]:
        """Every device a set of targets reaches: a device is itself, a unit is all devices below it."""
        out: set[str] = set()
        for node in node_ids:
            if node in self._devices:
                out.add(node)
            elif node in self._units:
                for uid in self._iter_subtree(node):
                    out.update(self._unit_devices[uid])
            else:
                raise ScheduleInputError("unknown_node", f"Không có đơn vị hay cụm loa '{node}'.", "targets")
        return frozenset(out)

    def minimal_targets(self, node_ids: Iterable[str]) -> frozenset[str]:
        """The same targets without nodes already covered by another target (one publish per group)."""
        nodes = set(node_ids)
        for node in nodes:
            if node not in self:
                raise ScheduleInputError("unknown_node", f"Không có đơn vị hay cụm loa '{node}'.", "targets")
        return frozenset(n for n in nodes if not any(a in nodes for a in self.ancestors(n)))
