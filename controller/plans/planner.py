"""Builds every device's complete upcoming plan in one pass over the database.

The items come from the expansion (:mod:`controller.plan_expansion`), the same one the
compliance report reads; this module adds what only a device's plan holds: the late alert
and emergency items, its groups and its volume steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from controller.db import Database
from controller.devices.volume_schedule import VolumeSchedules
from controller.plan_expansion import (LOOKBACK, RelayWindow, StoredBroadcast, StreamRefs, load_approved, load_tree,
                                       no_streams, wire_items)
from controller.plans.late_items import late_items
from loaxa.protocol import PlayItem, VolumeStep
from schedules.guardrails import GuardrailPolicy
from schedules.programme import Expansion, expand
from schedules.tree import AdminTree

__all__ = ["DraftPlan", "PlanSet", "RelayWindow", "StreamRefs", "build_plans", "load_tree"]


@dataclass(frozen=True)
class DraftPlan:
    """What one device should hold: its items and the groups it listens to (version comes at publish)."""

    device_id: str
    items: tuple[PlayItem, ...]
    groups: tuple[str, ...]
    volume_steps: tuple[VolumeStep, ...] = ()


@dataclass(frozen=True)
class PlanSet:
    """Every device's draft plan plus the expansion it came from (for readiness and skip logs)."""

    plans: dict[str, DraftPlan]
    expansion: Expansion
    broadcasts: dict[str, StoredBroadcast]

    relays: tuple[RelayWindow, ...] = ()

    def relay_windows(self) -> list[RelayWindow]:
        """Every relay slot the expansion placed, once per source and instant, whether or not a device has its address."""
        return list(self.relays)


def build_plans(db: Database, policy: GuardrailPolicy, now: datetime, horizon: timedelta,
                device_ids: Iterable[str] | None = None, streams: StreamRefs | None = None) -> PlanSet:
    """Every device's items from ``now - LOOKBACK`` to ``now + horizon``, finished plays dropped.

    A relay's item carries the device's own stream address (``streams``), so it is one item per
    device; without an address (streaming off, a revoked device) the device's plan leaves it out.
    """
    tree = load_tree(db)
    stored = load_approved(db, now - LOOKBACK, now + horizon)
    expansion = expand([s.broadcast for s in stored.values()], tree, policy, now - LOOKBACK, now + horizon)
    windows: dict[tuple[str, datetime], RelayWindow] = {}
    items = wire_items(tree, expansion, stored, now, now + horizon, device_ids, streams=streams or no_streams,
                   windows=windows)
    _add_late_items(db, tree, now, device_ids, items)
    shared: dict[tuple[int, ...], tuple[PlayItem, ...]] = {}
    plans: dict[str, DraftPlan] = {}
    schedules = VolumeSchedules(db).all()
    for device_id, device_items in items.items():
        frozen = shared.setdefault(tuple(id(i) for i in device_items), device_items)  # one tuple per class: cheap digests
        chain = tree.group_chain(device_id)
        steps = next((schedules[u].steps for u in chain if u in schedules), ())
        plans[device_id] = DraftPlan(device_id, frozen, chain, steps)
    return PlanSet(plans, expansion, stored, tuple(sorted(windows.values(), key=lambda w: (w.start, w.source_id))))


def _add_late_items(db: Database, tree: AdminTree, now: datetime, device_ids: Iterable[str] | None,
                    items: dict[str, tuple[PlayItem, ...]]) -> None:
    """Alert repeats and emergencies stay in plans until their late window closes (see controller.plans.late_items)."""
    extra = late_items(db, tree, now, device_ids)
    merged: dict[tuple[int, ...], tuple[PlayItem, ...]] = {}
    for device_id, more in extra.items():
        base = items.get(device_id, ())
        key = (id(base), *(id(i) for i in more))
        if key not in merged:  # devices sharing a plan keep sharing it
            merged[key] = tuple(sorted((*base, *more), key=lambda i: (i.start, i.item_id)))
        items[device_id] = merged[key]
