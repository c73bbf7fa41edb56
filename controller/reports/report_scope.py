"""The part of the administrative tree a report covers, read from the shared tree, not rebuilt per request.

A province holds 12,500 units and 10,000 clusters.  Reading every unit and every device
row (with its state) to report on one commune's 20 clusters took most of a report's time,
so the reports ask the planner's tree (rebuilt only when units or devices change) which
units and devices they cover, and read the rows of just those devices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from controller.errors import InputError
from controller.people.actor import Actor
from controller.plan_expansion import load_tree
from schedules.tree import AdminTree

if TYPE_CHECKING:
    from controller.service import Controller


@dataclass(frozen=True)
class ReportDevice:
    """What the reports read of a device: its place, whether it is online, when it was last seen and
    registered (the outage history counts from registration, not from the report's start)."""

    id: str
    name: str
    unit_id: str
    online: bool
    last_seen: str | None
    created_at: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ReportDevice:
        return cls(row["id"], row["name"], row["unit_id"], bool(row["online"]), row["last_seen"], row["created_at"])

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "unit_id": self.unit_id, "online": self.online,
                "last_seen": self.last_seen, "created_at": self.created_at}


def tree(c: Controller) -> AdminTree:
    return load_tree(c.db)


def unit_names(c: Controller) -> dict[str, str]:
    """Every unit's name by id."""
    return {u.id: u.name for u in tree(c).units}


def require_unit(c: Controller, actor: Actor, unit: str | None) -> str | None:
    """The unit a report is about: the one asked for, else the actor's own; it must be in scope."""
    unit = unit or actor.unit_id
    if unit and not (unit in tree(c) and not tree(c).is_device(unit) and actor.scope.has_unit(unit)):
        raise InputError("out_of_scope", "Đơn vị này ngoài phạm vi của bạn.", "unit")
    return unit


def top_unit(c: Controller, actor: Actor, unit: str | None) -> str | None:
    """The unit asked for (in scope), or the one root when there is a single province."""
    unit = require_unit(c, actor, unit)
    roots = [u.id for u in tree(c).units if u.parent_id is None]
    return roots[0] if unit is None and len(roots) == 1 else unit


def devices(c: Controller, actor: Actor, unit: str | None) -> list[ReportDevice]:
    """The actor's devices at or below ``unit`` (all of theirs without one), by id: id, name, unit,
    whether online, last seen and created (what the reports read of a device)."""
    t = tree(c)
    if unit:
        require_unit(c, actor, unit)
        ids = sorted(d for d in t.devices_under([unit]) if actor.scope.has_device(d))
    else:
        ids = sorted(d.id for d in t.devices if actor.scope.has_device(d.id))
    if not ids:
        return []
    columns = ("id", "name", "unit_id", "online", "last_seen", "created_at")
    with c.db.tx() as db:
        if len(ids) > 900:  # a province: one pass over the table beats a thousand look-ups
            wanted = set(ids)
            found = [r for r in db.execute(f"SELECT {', '.join(columns)} FROM devices ORDER BY id").fetchall()
                     if r[0] in wanted]
        else:
            found = db.execute(f"SELECT {', '.join(columns)} FROM devices WHERE id IN ({','.join('?' * len(ids))}) "
                               "ORDER BY id", ids).fetchall()
    return [ReportDevice.from_row(dict(zip(columns, r))) for r in found]


def device_groups(c: Controller, actor: Actor, unit: str | None) -> dict[str, tuple[str, ...]]:
    """The actor's devices at or below ``unit`` (all of theirs without one), by their unit, from the
    shared tree alone (a province's compliance reads no device row for its 10,000 clusters)."""
    t = tree(c)
    if unit:
        require_unit(c, actor, unit)
        units: Any = t.subtree(unit)
    else:
        units = (u.id for u in t.units)
    seen = actor.scope.devices  # None: every device
    out: dict[str, tuple[str, ...]] = {}
    for u in units:
        mine = t.unit_devices(u)
        if seen is not None:
            mine = tuple(d for d in mine if d in seen)
        if mine:
            out[u] = mine
    return dict(sorted(out.items()))


def offline_counts(c: Controller, groups: dict[str, tuple[str, ...]]) -> dict[str, tuple[int, str]]:
    """Per unit of ``groups`` with an offline device: how many of its devices are offline now, and the
    first one's id.  Counted in SQL for the units the report covers whole (a province's 10,000 rows
    stay in SQLite); device by device for a unit the actor sees only part of."""
    t = tree(c)
    whole = {u for u, ds in groups.items() if len(ds) == len(t.unit_devices(u))}
    out: dict[str, tuple[int, str]] = {}
    with c.db.tx() as db:
        for unit, n, first in db.execute(
                "SELECT unit_id, COUNT(*), MIN(id) FROM devices WHERE online = 0 GROUP BY unit_id").fetchall():
            if unit in whole:
                out[unit] = (n, first)
        partial = sorted(d for u, ds in groups.items() if u not in whole for d in ds)
        for i in range(0, len(partial), 900):
            chunk = partial[i:i + 900]
            for unit, n, first in db.execute(
                    f"SELECT unit_id, COUNT(*), MIN(id) FROM devices WHERE online = 0 AND id IN ({','.join('?' * len(chunk))}) "
                    "GROUP BY unit_id", chunk).fetchall():
                had = out.get(unit)
                out[unit] = (n + had[0], min(first, had[1])) if had else (n, first)
    return out


def offline_devices(c: Controller, groups: dict[str, tuple[str, ...]], units: Sequence[str]
                    ) -> list[tuple[str, str, str, str | None]]:
    """(id, name, unit, last seen) of the offline devices of ``groups`` in ``units``, by id."""
    wanted = {d for u in units for d in groups.get(u, ())}
    ids = sorted(wanted)
    rows: list[tuple[str, str, str, str | None]] = []
    with c.db.tx() as db:
        for i in range(0, len(ids), 900):
            chunk = ids[i:i + 900]
            rows += db.execute(f"SELECT id, name, unit_id, last_seen FROM devices WHERE online = 0 AND id IN "
                               f"({','.join('?' * len(chunk))})", chunk).fetchall()
    return sorted(rows)


def reporting_units(c: Controller, unit: str | None) -> Callable[[str], str]:
    """Maps a unit to the child of ``unit`` that holds it (or to itself at the top): a report's rows."""
    units = {u.id: u for u in tree(c).units}

    def reporting(unit_id: str) -> str:
        path, cur = [], unit_id
        while cur is not None and cur in units:
            path.append(cur)
            if units[cur].parent_id == unit:
                return cur
            cur = units[cur].parent_id
        return path[-1] if unit is None and path else unit_id

    return reporting
