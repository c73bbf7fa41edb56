"""Desired state: what people asked of a device stays asked until the device reports it.

A volume sent to a pole that is offline (or whose command expires on the way) would be lost
silently.  (Where the pole's unit has a volume schedule, the step in force wins from the
moment it began: :func:`controller.devices.volume_schedule.expected_volume`.)  So the volume is stored as *desired*; whenever the device reports a state whose
volume differs, the controller sends the command again (at most once per
``RESEND_AFTER_S`` per device), and the device page shows "đang chờ thiết bị" until the
reported value matches.  The kill switch follows the same rule in
:mod:`controller.security.kill_switch`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from controller.db import Database
from controller.devices.volume_schedule import expected_volume
from loaxa.protocol import DeviceState, VolumeStep
from loaxa.wire_time import format_time, parse_time, utcnow

log = logging.getLogger(__name__)

RESEND_AFTER_S = 10.0
VOLUME = "volume"


@dataclass(frozen=True)
class Desired:
    key: str
    value: int
    set_by: str
    set_at: str


class DesiredState:
    def __init__(self, db: Database, send_command: Callable[..., Any],
                 schedule_of: Callable[[str], tuple[VolumeStep, ...]] = lambda device_id: ()):
        self.db = db
        self.send_command = send_command
        self.schedule_of = schedule_of  # the volume schedule a device's plan carries
        self._lock = threading.Lock()
        self._last_sent: dict[tuple[str, str], float] = {}

    def want(self, device_id: str, key: str, value: int, by: str) -> None:
        with self.db.tx() as db:
            db.execute("INSERT INTO device_desired(device_id, key, value, set_by, set_at) VALUES (?, ?, ?, ?, ?) "
                       "ON CONFLICT(device_id, key) DO UPDATE SET value = excluded.value, set_by = excluded.set_by, "
                       "set_at = excluded.set_at", [device_id, key, value, by, format_time(utcnow())])
        with self._lock:
            self._last_sent[(device_id, key)] = time.monotonic()

    def of(self, device_id: str) -> dict[str, Desired]:
        with self.db.tx() as db:
            rows = db.execute("SELECT key, value, set_by, set_at FROM device_desired WHERE device_id = ?",
                              [device_id]).fetchall()
        return {r[0]: Desired(*r) for r in rows}

    def all(self) -> dict[str, dict[str, Desired]]:
        with self.db.tx() as db:
            rows = db.execute("SELECT device_id, key, value, set_by, set_at FROM device_desired").fetchall()
        out: dict[str, dict[str, Desired]] = {}
        for device_id, *rest in rows:
            out.setdefault(device_id, {})[rest[0]] = Desired(*rest)
        return out

    def expected_volume(self, device_id: str, now: datetime | None = None) -> int | None:
        """The volume the device should report now: set by hand, or its schedule's step if that began later."""
        want = self.of(device_id).get(VOLUME)
        manual = (want.value, parse_time(want.set_at, "set_at")) if want else None
        return expected_volume(self.schedule_of(device_id), manual, now or utcnow())

    def on_state(self, device_id: str, state: DeviceState, was_online: bool) -> None:
        """Send the expected volume again to a device that reports another one; never raises."""
        if not state.online:
            return
        try:
            value = self.expected_volume(device_id)
            if value is None or state.volume == value:
                return
            with self._lock:
                now = time.monotonic()
                last = self._last_sent.get((device_id, VOLUME))
                if was_online and last is not None and now - last < RESEND_AFTER_S:
                    return  # sent moments ago; the state report may simply be late
                self._last_sent[(device_id, VOLUME)] = now
            self.send_command(f"dev/{device_id}", "set_volume", volume=value, reason="điều chỉnh âm lượng",
                              issued_by="controller")
            log.info("re-sent volume %d to %s (it reported %s)", value, device_id, state.volume)
        except Exception:  # reconciliation must not take the ingest loop down
            log.exception("volume reconciliation failed for %s", device_id)
