"""Ingest of what devices report: state (health) and playback events.

Every payload is validated by the protocol module; anything malformed, oversized or
from an unknown device is logged and dropped without touching the database.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Callable, Collection, Mapping

from controller.reports import hashchain
from controller.reports.audit import PLAYBACK_CHAIN, log_query
from controller.db import Database, apply_rollup, rollup_deltas
from controller.devices import event_trust
from controller.devices.flapping import FlapWatch
from controller.devices.history import DeviceHistory, restarted
from controller.devices.registry import Registry
from loaxa import protocol
from loaxa.logs import log_context
from loaxa.protocol import DeviceState, EventBatch, ProtocolError
from loaxa.wire_time import format_time, utcnow

if TYPE_CHECKING:
    from controller.reports.audit import AuditTrail

log = logging.getLogger(__name__)

AckSender = Callable[[str, str, int], None]
StateObserver = Callable[[str, DeviceState, bool], None]

_INSERT_EVENT = (
    f"INSERT OR IGNORE INTO playback_events({', '.join(PLAYBACK_CHAIN.fields)}, prev_hash, hash) "
    f"VALUES ({', '.join(':' + f for f in PLAYBACK_CHAIN.fields)}, :prev_hash, :hash)"
)


class Ingest:
    def __init__(self, db: Database, registry: Registry, send_ack: AckSender, flaps: FlapWatch | None = None,
                 history: DeviceHistory | None = None, observers: list[StateObserver] | None = None,
                 audit: "AuditTrail | None" = None, require_signatures: bool = True):
        self.db = db
        self.registry = registry
        self.send_ack = send_ack
        self.flaps = flaps
        self.history = history if history is not None else DeviceHistory(db)  # outages and the device page read it
        self.observers: list[StateObserver] = observers or []  # told (device, state, was_online) after each state
        self.audit = audit
        self.keys = event_trust.DeviceKeys(db)
        self.require_signatures = require_signatures
        self.rejected = 0
        self.refused_events = 0

    def handle(self, topic: str, payload: bytes) -> None:
        """Entry point for every MQTT message the controller subscribes to; never raises."""
        with log_context(device_id=_device_of(topic)):
            self._handle(topic, payload)

    def _handle(self, topic: str, payload: bytes) -> None:
        try:
            parsed = protocol.parse_topic(topic)
            if parsed.scope != "dev":
                raise ProtocolError(f"unexpected topic {topic!r}")
            if parsed.kind == "state":
                self.on_state(parsed.target, protocol.decode(payload, DeviceState))
            elif parsed.kind == "events":
                self.on_signed_events(parsed.target, payload)
            else:
                raise ProtocolError(f"unexpected topic {topic!r}")
        except ProtocolError as exc:
            self.rejected += 1
            log.warning("rejected message on %s: %s", topic, exc)
        except Exception:  # a bug must not take the ingest loop down
            self.rejected += 1
            log.exception("failed to handle message on %s", topic)

    def on_state(self, device_id: str, state: DeviceState) -> None:
        if state.device_id != device_id:
            raise ProtocolError(f"state for {state.device_id!r} published on {device_id!r}'s topic")
        if not self.registry.is_device(device_id):
            raise ProtocolError(f"unknown device {device_id!r}")
        now = format_time(utcnow())
        with self.db.tx() as db:
            was_online, before = db.execute("SELECT online, state_json FROM devices WHERE id = ?", [device_id]).fetchone()
            was_online = bool(was_online)
            before = json.loads(before or "{}")
            self.history.on_state(device_id, state, was_online, before)
            again = restarted(state, before) if state.online else ""
            if again and self.audit is not None:
                self.audit.record(f"device:{device_id}", "device_started", device_id, {
                    "rebooted": again == "rebooted", "started_at": format_time(state.started_at),
                    "previous_started_at": before.get("started_at"),
                    "boot_at": format_time(state.boot_at) if state.boot_at else None,
                    "agent_version": state.agent_version})
            if state.online:
                db.execute(
                    """UPDATE devices SET online = 1, last_seen = ?, plan_version_applied = ?,
                       media_ready = ?, state_json = ? WHERE id = ?""",
                    [now, state.plan_version, int(state.media_ready), json.dumps(state.to_dict()), device_id],
                )
            else:
                db.execute("UPDATE devices SET online = 0 WHERE id = ?", [device_id])
        if self.flaps is not None:
            self.flaps.observe(device_id, was_online, state.online)
        for observe in self.observers:
            observe(device_id, state, was_online)
        log.debug("state of %s: online=%s plan=v%d", device_id, state.online, state.plan_version)

    def on_signed_events(self, device_id: str, payload: bytes) -> None:
        """A batch off the wire: verified with the device's key, vetted, then stored."""
        if not self.registry.is_device(device_id):
            raise ProtocolError(f"unknown device {device_id!r}")
        batch = self.keys.open_batch(device_id, payload, self.require_signatures)
        if batch.device_id != device_id:
            raise ProtocolError(f"events for {batch.device_id!r} published on {device_id!r}'s topic")
        received = utcnow()
        accepted, refused = event_trust.vet(self.db, device_id, batch, received)
        with self.db.tx():
            if event_trust.note_epoch(self.db, device_id, batch.epoch, received) and self.audit is not None:
                self.audit.record(f"device:{device_id}", "device_epoch_new", device_id, {"epoch": batch.epoch})
            if refused:
                event_trust.store_refusals(self.db, device_id, batch.epoch, refused, received)
                if self.audit is not None:
                    self.audit.record(f"device:{device_id}", "playback_events_refused", device_id, {
                        "epoch": batch.epoch, "seqs": [r.event.seq for r in refused],
                        "reasons": sorted({r.reason for r in refused}),
                        "items": sorted({r.event.item_id for r in refused if r.event.item_id})[:20]})
        if refused:
            self.refused_events += len(refused)
            log.warning("refused %d implausible events of %s: %s", len(refused), device_id,
                        ", ".join(sorted({r.reason for r in refused})))
        self.on_events(device_id, EventBatch(device_id=device_id, epoch=batch.epoch, events=tuple(accepted)))

    def on_events(self, device_id: str, batch: EventBatch) -> None:
        """Store a batch already trusted (verified and vetted, or from the controller's own tests and
        tools) in the playback chain, and acknowledge what is safely kept."""
        if batch.device_id != device_id:
            raise ProtocolError(f"events for {batch.device_id!r} published on {device_id!r}'s topic")
        if not self.registry.is_device(device_id):
            raise ProtocolError(f"unknown device {device_id!r}")
        received = format_time(utcnow())
        with self.db.tx() as db:
            rows = (
                {
                    "device_id": device_id,
                    "epoch": batch.epoch,
                    "seq": e.seq,
                    "kind": e.kind,
                    "item_id": e.item_id,
                    "broadcast_id": e.broadcast_id,
                    "sha256": e.sha256,
                    "plan_version": e.plan_version,
                    "planned_at": format_time(e.planned_at) if e.planned_at else None,
                    "actual_start": format_time(e.actual_start) if e.actual_start else None,
                    "duration_s": e.duration_s,
                    "reason": e.reason,
                    "flags": ",".join(e.flags),
                    "level_dbfs": e.level_dbfs,
                    "recorded_at": format_time(e.recorded_at),
                    "received_at": received,
                }
                for e in batch.events
            )
            stored: list[dict] = []

            def insert(row: dict) -> bool:
                if db.execute(_INSERT_EVENT, row).rowcount == 1:
                    stored.append(row)
                    return True
                return False

            hashchain.append(db, PLAYBACK_CHAIN, device_id, rows, insert)
            apply_rollup(db.conn, rollup_deltas(stored))  # the reports' per-day rollup, in the events' transaction
            up_to = self._advance(db, device_id, batch.epoch)
        for row in stored:
            log.info("event #%d %s %s", row["seq"], row["kind"], row["reason"],
                     extra={"broadcast_id": row["broadcast_id"], "item_id": row["item_id"]})
        self.send_ack(device_id, batch.epoch, up_to)

    @staticmethod
    def _advance(db, device_id: str, epoch: str) -> int:
        """Highest seq such that every event up to it is stored (the only safe ack)."""
        row = db.execute("SELECT last_seq FROM event_progress WHERE device_id = ? AND epoch = ?", [device_id, epoch]).fetchone()
        last = row[0] if row else 0
        for (seq,) in db.execute(  # a refused event is handled too: the device may drop it from its outbox
            "SELECT seq FROM playback_events WHERE device_id = ? AND epoch = ? AND seq > ? "
            "UNION SELECT seq FROM refused_events WHERE device_id = ? AND epoch = ? AND seq > ? ORDER BY seq",
            [device_id, epoch, last, device_id, epoch, last],
        ).fetchall():
            if seq != last + 1:
                break
            last = seq
        db.execute(
            "INSERT INTO event_progress(device_id, epoch, last_seq) VALUES (?, ?, ?) "
            "ON CONFLICT(device_id, epoch) DO UPDATE SET last_seq = excluded.last_seq",
            [device_id, epoch, last],
        )
        return last


def _device_of(topic: str) -> str | None:
    """The device a ``dev/<id>/...`` topic concerns, for tagging log lines (None when it is not one)."""
    try:
        parsed = protocol.parse_topic(topic)
    except ProtocolError:
        return None
    return parsed.target if parsed.scope == "dev" else None


@dataclass(frozen=True)
class PlaybackLogEntry:
    """One stored playback event as a device reported it, with its place in the device's hash chain.

    The fields are the ``playback_events`` columns in their order; ``flags`` is the stored
    comma list split.  ``to_dict`` is a row of ``/api/playback`` and ``/api/devices/<id>/events``.
    """

    id: int
    device_id: str
    epoch: str
    seq: int
    kind: str
    item_id: str
    broadcast_id: str
    sha256: str
    plan_version: int
    planned_at: str | None
    actual_start: str | None
    duration_s: float | None
    reason: str
    flags: tuple[str, ...]
    level_dbfs: float | None
    recorded_at: str
    received_at: str
    prev_hash: str
    hash: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> PlaybackLogEntry:
        values = {f.name: row[f.name] for f in fields(cls)}
        values["flags"] = tuple(f for f in (row["flags"] or "").split(",") if f)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["flags"] = list(self.flags)
        return out


def playback_log(db: Database, *, device_id: str | None = None, broadcast_id: str | None = None,
                 kind: str | None = None, since: str | None = None, until: str | None = None,
                 limit: int = 1000, device_ids: Collection[str] | None = None) -> list[PlaybackLogEntry]:
    """Playback events, newest first, filtered for the audit views (``device_ids``: a user's scope)."""
    in_scope = [] if device_ids is None else [f"device_id IN ({', '.join('?' * len(device_ids))})" if device_ids else "0"]
    sql, params = log_query("SELECT * FROM playback_events",
                            {"device_id": device_id, "broadcast_id": broadcast_id, "kind": kind}, "recorded_at",
                            since, until, order_by="recorded_at DESC, id DESC", limit=limit,
                            where=in_scope, params=sorted(device_ids or ()))
    with db.tx() as conn:
        return [PlaybackLogEntry.from_row(r) for r in conn.query(sql, params)]
