"""A device's history for the technician: online and offline periods, clock offsets, faults.

Written by the ingest on each state report that changes something worth keeping (a
connection coming or going, a fault appearing or clearing, the clock drifting by more than
``CLOCK_STEP_MS`` since the last kept offset), so a pole that reports every few seconds
does not fill the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controller.db import Database
from loaxa.protocol import DeviceState
from loaxa.wire_time import format_time, parse_time, utcnow

CLOCK_STEP_MS = 50.0
KINDS = ("online", "offline", "fault", "fault_cleared", "clock", "started", "rebooted")


@dataclass(frozen=True)
class Period:
    """One stretch of being online or offline; ``ended_at`` None while it lasts."""

    online: bool
    started_at: str
    ended_at: str | None
    minutes: float


@dataclass(frozen=True)
class HistoryEntry:
    """One kept change of a device: ``kind`` one of :data:`KINDS`; ``detail`` the fault or start instant,
    ``value`` the clock offset in milliseconds (None for other kinds)."""

    at: str
    kind: str
    detail: str
    value: float | None


def restarted(state: DeviceState, before: dict[str, Any]) -> str:
    """``rebooted`` or ``started`` when this report comes from a new agent process (a restart, a crash, a reboot
    ordered remotely), judged by the start and boot times the agent reports; ``""`` otherwise."""
    if state.started_at is None or not before.get("started_at"):
        return ""
    if parse_time(before["started_at"], "started_at") == state.started_at:
        return ""
    booted_before = before.get("boot_at")
    if state.boot_at is not None and booted_before and parse_time(booted_before, "boot_at") != state.boot_at:
        return "rebooted"
    return "started"


class DeviceHistory:
    def __init__(self, db: Database):
        self.db = db

    def on_state(self, device_id: str, state: DeviceState, was_online: bool, before: dict[str, Any]) -> None:
        """Keep what changed between the last state (``before``) and this one."""
        now = format_time(utcnow())
        rows: list[tuple[str, str, float | None]] = []
        if state.online != was_online:
            rows.append(("online" if state.online else "offline", "", None))
        if state.online:
            old = set(before.get("faults") or ())
            rows += [("fault", f, None) for f in sorted(set(state.faults) - old)]
            rows += [("fault_cleared", f, None) for f in sorted(old - set(state.faults))]
            started = restarted(state, before)
            if started:
                rows.append((started, format_time(state.started_at), None))
            if state.clock_offset_ms is not None:
                last = self._last_clock(device_id)
                if last is None or abs(state.clock_offset_ms - last) >= CLOCK_STEP_MS:
                    rows.append(("clock", "", float(state.clock_offset_ms)))
        if not rows:
            return
        with self.db.tx() as db:
            db.conn.executemany("INSERT INTO device_history(device_id, at, kind, detail, value) VALUES (?, ?, ?, ?, ?)",
                           [(device_id, now, k, d, v) for k, d, v in rows])

    def _last_clock(self, device_id: str) -> float | None:
        with self.db.tx() as db:
            row = db.execute("SELECT value FROM device_history WHERE device_id = ? AND kind = 'clock' "
                             "ORDER BY id DESC LIMIT 1", [device_id]).fetchone()
        return None if row is None else row[0]

    def entries(self, device_id: str, limit: int = 100) -> list[HistoryEntry]:
        """The kept changes, newest first."""
        with self.db.tx() as db:
            rows = db.execute("SELECT at, kind, detail, value FROM device_history WHERE device_id = ? "
                              "ORDER BY id DESC LIMIT ?", [device_id, limit]).fetchall()
        return [HistoryEntry(*r) for r in rows]

    def periods(self, device_id: str, limit: int = 20) -> list[Period]:
        """Online and offline stretches, newest first, from the kept transitions."""
        with self.db.tx() as db:
            marks = db.execute("SELECT at, kind FROM device_history WHERE device_id = ? AND kind IN ('online', 'offline') "
                               "ORDER BY id", [device_id]).fetchall()
        out: list[Period] = []
        now = utcnow()
        for i, (at, kind) in enumerate(marks):
            end = marks[i + 1][0] if i + 1 < len(marks) else None
            t_end: datetime = parse_time(end, "at") if end else now
            out.append(Period(kind == "online", at, end, round((t_end - parse_time(at, "at")).total_seconds() / 60, 1)))
        return out[::-1][:limit]
