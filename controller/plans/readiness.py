"""Readiness of the next broadcasts: which targeted devices are ready, not ready or offline.

This is what an official checks in the afternoon before the morning slot.  A device is
*ready* for a play when it is online, has applied the plan version the controller last
issued to it, and does not report the play's media as missing.  Plays the guardrails kept
out of a device's plan are listed as *skipped* with the guardrail's code.  A device behind a
commune broker whose bridge to the province is down counts as offline at once (its last
state still says online: nothing crosses a broken bridge) and is listed under ``cut_off``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from controller.db import Database
from controller.plans.dispatch import Dispatcher
from controller.devices.broker_tree import BrokerTree
from controller.plans.records import CutOff, NotReady, ReadinessSlot, Skipped
from loaxa.wire_time import format_time


def _slot_key(item_id: str) -> str:
    """An occurrence key without its repeat index: one entry per broadcast and slot."""
    return item_id.rsplit("-", 1)[0]


def _device_status(db: Database) -> dict[str, dict[str, Any]]:
    """Per device: online, applied and issued plan versions, and the media it reports missing."""
    with db.tx() as conn:
        rows = conn.execute(
            """SELECT d.id, d.online, d.plan_version_applied, d.state_json, COALESCE(p.plan_version, 0)
               FROM devices d LEFT JOIN device_plans p ON p.device_id = d.id""").fetchall()
    out = {}
    for device_id, online, applied, state_json, issued in rows:
        state = json.loads(state_json or "{}")
        out[device_id] = {"online": bool(online), "applied": applied, "issued": issued,
                          "missing": set(state.get("missing_media") or ()), "volume": state.get("volume")}
    return out


def readiness(db: Database, dispatcher: Dispatcher, now: datetime, hours: float = 24.0,
              limit: int = 50, low_volume_fault: int = 0) -> list[ReadinessSlot]:
    """The next ``limit`` broadcast slots within ``hours``, each with its devices sorted by readiness.

    A pole turned down below ``low_volume_fault`` is not ready (``low_volume``): it would play
    on time and be logged ``finished`` while nobody hears it.  Emergencies carry their own
    signed volume, so they do not count it.
    """
    plan_set = dispatcher.build(now)
    until = now + timedelta(hours=hours)
    status = _device_status(db)
    cut_off = BrokerTree(db).cut_off_devices()
    slots: dict[str, dict[str, Any]] = {}
    for plan in plan_set.plans.values():
        for item in plan.items:
            if not now <= item.start < until:
                continue
            key = _slot_key(item.item_id)
            entry = slots.setdefault(key, {"key": key, "broadcast_id": item.broadcast_id, "title": item.title,
                                           "priority": item.priority, "starts_at": item.start, "sha256": item.sha256,
                                           "devices": set()})
            entry["starts_at"] = min(entry["starts_at"], item.start)
            entry["devices"].add(plan.device_id)
    skipped: dict[str, list[Skipped]] = defaultdict(list)
    for s in plan_set.expansion.skipped:
        if now <= s.slot_utc < until:
            skipped[_slot_key(s.occurrence_key)].append(Skipped(s.device_id, s.code))
    out: list[ReadinessSlot] = []
    for entry in sorted(slots.values(), key=lambda e: (e["starts_at"], e["key"]))[:limit]:
        ready: list[str] = []
        not_ready: list[NotReady] = []
        offline: list[str] = []
        for device_id in sorted(entry["devices"]):
            st = status.get(device_id)
            if device_id in cut_off or st is None or not st["online"]:
                offline.append(device_id)
            elif st["applied"] < st["issued"]:
                not_ready.append(NotReady(device_id, "plan_not_applied", f"applied v{st['applied']}, issued v{st['issued']}"))
            elif entry["sha256"] in st["missing"]:
                not_ready.append(NotReady(device_id, "media_missing", entry["sha256"]))
            elif entry["priority"] != "emergency" and isinstance(st["volume"], int) and st["volume"] < low_volume_fault:
                not_ready.append(NotReady(device_id, "low_volume", f"{st['volume']}%"))
            else:
                ready.append(device_id)
        out.append(ReadinessSlot(
            entry["broadcast_id"], entry["key"], entry["title"], entry["priority"], format_time(entry["starts_at"]),
            tuple(ready), tuple(not_ready), tuple(offline),
            tuple(sorted(skipped.get(entry["key"], []), key=lambda s: s.device_id)),
            tuple(CutOff(d, cut_off[d]) for d in offline if d in cut_off)))
    return out
