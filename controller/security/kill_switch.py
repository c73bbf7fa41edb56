"""The kill switch: stop every speaker of a unit's subtree now, and keep them quiet until lifted.

Engaging it sends one signed ``kill_switch`` command to the unit's group topic: each
agent stops what plays, persists the switch and refuses every non-emergency item until
it is lifted.  Commands expire, so the desired state lives here too: whenever a device
reports a state that disagrees (it was offline, or it was reinstalled), the controller
sends it the command again.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Callable

from controller.reports.audit import AuditTrail
from controller.db import Database
from controller.devices.registry import Registry
from controller.people.actor import Actor
from loaxa import protocol
from loaxa.protocol import DeviceState, ProtocolError
from loaxa.wire_time import format_time, utcnow

log = logging.getLogger(__name__)

CommandSender = Callable[..., Any]
RESEND_AFTER_S = 10.0


@dataclass(frozen=True)
class KillSwitch:
    """An engaged switch: ``engaged_by`` and ``reason`` empty when the reader's scope is below it."""

    unit_id: str
    engaged_at: str
    engaged_by: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"unit_id": self.unit_id, "engaged_at": self.engaged_at, "engaged_by": self.engaged_by,
                "reason": self.reason}


@dataclass(frozen=True)
class KillSwitchEngaged:
    """A switch just engaged, and the devices at or below its unit the command stops."""

    unit_id: str
    engaged_at: str
    engaged_by: str
    reason: str
    devices: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"unit_id": self.unit_id, "engaged_at": self.engaged_at, "engaged_by": self.engaged_by,
                "reason": self.reason, "devices": list(self.devices)}


@dataclass(frozen=True)
class KillSwitchLifted:
    """A switch lifted (``lifted`` False when it was not engaged), and the devices that may play again
    (not those still under another engaged unit)."""

    unit_id: str
    lifted: bool
    devices: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"unit_id": self.unit_id, "lifted": self.lifted, "devices": list(self.devices)}


class KillSwitches:
    def __init__(self, db: Database, registry: Registry, send_command: CommandSender):
        self.db = db
        self.registry = registry
        self.send_command = send_command
        self.audit = AuditTrail(db)
        self._last_sent: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def engaged(self) -> list[KillSwitch]:
        """Every engaged switch, in full, by unit id."""
        with self.db.tx() as db:
            rows = db.execute("SELECT unit_id, engaged_at, engaged_by, reason FROM kill_switches ORDER BY unit_id")
            return [KillSwitch(*r) for r in rows.fetchall()]

    def engaged_for(self, scope: Any) -> list[KillSwitch]:
        """The engaged switches a person sees: those in their subtree in full; one above it that
        stops their speakers without who engaged it or why (another level's business); none elsewhere."""
        if scope.whole_tree:
            return self.engaged()
        # The scope is a subtree: the chain above any one of its units is the chain above its root.
        above = set(self.registry.ancestors(next(iter(scope.units)))) if scope.units else set()
        out = []
        for switch in self.engaged():
            if scope.has_unit(switch.unit_id):
                out.append(switch)
            elif switch.unit_id in above:
                out.append(replace(switch, engaged_by="", reason=""))
        return out

    def engage(self, unit_id: str, actor: Actor, reason: str = "") -> KillSwitchEngaged:
        self.registry.unit(unit_id)
        reason = str(reason or "")[:300]
        row = {"unit_id": unit_id, "engaged_at": format_time(utcnow()), "engaged_by": actor.username[:100], "reason": reason}
        with self.db.tx() as db:
            db["kill_switches"].insert(row, replace=True)
            self.audit.record(actor, "kill_switch", unit_id, {"engaged": True, "reason": reason})
        self.send_command(f"grp/{unit_id}", "kill_switch", reason=reason or "kill switch", issued_by=actor.username)
        devices = self.registry.resolve_targets([unit_id]) if self._has_devices(unit_id) else []
        log.warning("kill switch engaged on %s by %s (%d devices)", unit_id, actor.username, len(devices))
        return KillSwitchEngaged(**row, devices=tuple(devices))

    def lift(self, unit_id: str, actor: Actor) -> KillSwitchLifted:
        """Lift the switch; devices still under another engaged unit stay blocked."""
        self.registry.unit(unit_id)
        with self.db.tx() as db:
            removed = db.execute("DELETE FROM kill_switches WHERE unit_id = ?", [unit_id]).rowcount
            self.audit.record(actor, "kill_switch_lifted", unit_id, {"was_engaged": bool(removed)})
        devices = self.registry.resolve_targets([unit_id]) if self._has_devices(unit_id) else []
        lifted = [d for d in devices if not self.desired(d)]
        for device_id in lifted:
            self.send_command(f"dev/{device_id}", "lift_kill_switch", reason="kill switch lifted", issued_by=actor.username)
        log.warning("kill switch lifted on %s by %s (%d devices)", unit_id, actor.username, len(lifted))
        return KillSwitchLifted(unit_id, bool(removed), tuple(lifted))

    def desired(self, device_id: str) -> bool:
        """Whether some unit above the device (or its own) has the switch engaged."""
        units = self.registry.ancestors(self.registry.device(device_id).unit_id)
        with self.db.tx() as db:
            marks = ",".join("?" * len(units))
            return bool(units) and db.execute(f"SELECT 1 FROM kill_switches WHERE unit_id IN ({marks}) LIMIT 1",
                                              units).fetchone() is not None

    def on_message(self, topic: str, payload: bytes) -> None:
        """Reconcile a device's reported switch with the desired one; never raises."""
        try:
            parsed = protocol.parse_topic(topic)
            if parsed.scope != "dev" or parsed.kind != "state":
                return
            state = protocol.decode(payload, DeviceState)
            if not state.online or state.device_id != parsed.target:
                return
            if not state.kill_switch and not self._any_engaged():
                return  # the common case costs one tiny query
            if not self.registry.is_device(state.device_id):
                return
            want = self.desired(state.device_id)
            if state.kill_switch == want:
                return
            action = "kill_switch" if want else "lift_kill_switch"
            with self._lock:
                now = time.monotonic()
                if now - self._last_sent.get((state.device_id, action), -RESEND_AFTER_S) < RESEND_AFTER_S:
                    return  # the same correction was sent moments ago; its state report may simply be late
                self._last_sent[(state.device_id, action)] = now
            self.send_command(f"dev/{state.device_id}", action, reason="kill switch state", issued_by="controller")
            log.info("re-sent %s to %s (it reported kill_switch=%s)", action, state.device_id, state.kill_switch)
        except ProtocolError:
            return
        except Exception:  # reconciliation must not take the ingest loop down
            log.exception("kill switch reconciliation failed for %s", topic)

    def _any_engaged(self) -> bool:
        with self.db.tx() as db:
            return db.execute("SELECT 1 FROM kill_switches LIMIT 1").fetchone() is not None

    def _has_devices(self, unit_id: str) -> bool:
        with self.db.tx() as db:
            return db.execute(
                """WITH RECURSIVE down(id) AS (SELECT ? UNION ALL SELECT u.id FROM units u JOIN down ON u.parent_id = down.id)
                   SELECT 1 FROM devices d JOIN down ON d.unit_id = down.id LIMIT 1""", [unit_id]).fetchone() is not None
