"""Devices whose broker connection flaps: many reconnects within a short window.

A pole that keeps dropping off and coming back is either failing (power, radio) or
fighting a second client with its own credentials (a cloned SD card, a stolen
password): the broker binds client ids to accounts, so each connection with the same
account knocks the other off.  Either way it misses commands while it is down, so the
controller raises an alert: an audit entry, a counter for monitoring, and
``devices.flapping_since``, which the device views show until the pole stays up for a
whole window.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Callable

from controller.db import Database
from controller.reports.audit import AuditTrail
from loaxa.protocol import format_time, utcnow

log = logging.getLogger(__name__)


class FlapWatch:
    """Counts each device's reconnects (offline to online) in a sliding window."""

    def __init__(self, db: Database, reconnects: int, window_s: float, clock: Callable[[], float] = time.monotonic):
        self.db = db
        self.audit = AuditTrail(db)
        self.reconnects = reconnects
        self.window_s = window_s
        self.clock = clock
        self.alerts = 0  # flapping episodes raised since start (a Prometheus counter)
        self._seen: dict[str, deque[float]] = {}
        with db.tx() as conn:  # still flagged from before a restart: cleared once the pole stays up
            self._flapping: set[str] = {r[0] for r in conn.execute("SELECT id FROM devices WHERE flapping_since IS NOT NULL")}
        self._lock = threading.Lock()

    def observe(self, device_id: str, was_online: bool, online: bool) -> None:
        """Called with every state message, inside no transaction of the caller."""
        now = self.clock()
        with self._lock:
            seen = self._seen.setdefault(device_id, deque())
            if online and not was_online:
                seen.append(now)
            while seen and seen[0] < now - self.window_s:
                seen.popleft()
            count = len(seen)
            starts = count >= self.reconnects and device_id not in self._flapping
            ends = online and count == 0 and device_id in self._flapping
            if starts:
                self._flapping.add(device_id)
                self.alerts += 1
            elif ends:
                self._flapping.discard(device_id)
        if starts:
            with self.db.tx() as db:
                db.execute("UPDATE devices SET flapping_since = ? WHERE id = ?", [format_time(utcnow()), device_id])
                self.audit.record("controller", "device_flapping", device_id,
                                  {"reconnects": count, "window_s": self.window_s})
            log.warning("device %s reconnected %d times in %.0f s: its link flaps, or a second client uses its "
                        "credentials", device_id, count, self.window_s)
        elif ends:
            with self.db.tx() as db:
                db.execute("UPDATE devices SET flapping_since = NULL WHERE id = ?", [device_id])
            log.info("device %s has stayed connected for %.0f s; no longer flapping", device_id, self.window_s)

    def flapping(self) -> int:
        with self._lock:
            return len(self._flapping)
