"""Publishes signed plans and commands, and remembers what each device was sent.

Each device's plan is the complete desired state for the horizon, retained on the broker.
A new ``plan_version`` is issued only when the content (items and groups) changed or the
plan is half-way to its expiry, so a restart or a periodic rebuild never re-issues the same
content under a new number.  Versions are persisted before the publish and plans go out
under one lock, in version order.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable, Iterable, Protocol

from controller.config import PlanSettings
from controller.db import Database
from controller.devices.event_trust import record_sent
from controller.errors import InputError
from controller.plans.planner import DraftPlan, PlanSet, RelayWindow, StreamRefs, build_plans
from controller.devices.registry import Registry
from loaxa import protocol
from loaxa.protocol import Ack, Command, Plan, PlayItem, Signer
from loaxa.wire_time import format_time, parse_time, utcnow
from schedules.guardrails import GuardrailPolicy

log = logging.getLogger(__name__)


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> object: ...


@dataclass(frozen=True)
class PublishResult:
    """What one rebuild did: how many plans were built and sent, and when the next item ends."""

    built: int
    sent: int
    next_expiry: datetime | None


def _leaves_plan_at(item: PlayItem, now: datetime) -> datetime:
    """When the item drops out of the plans: once played, or once its late window closes (warnings)."""
    end = item.start + timedelta(seconds=item.duration_s)
    if item.late_until is not None and end <= now:
        return item.late_until
    return end


def with_emergency_volume(item: PlayItem, floor: int) -> PlayItem:
    """An emergency item carries at least ``floor`` as its signed volume, so a pole turned down
    (by mistake or on purpose) still sounds the warning; other items keep the pole's own volume."""
    if item.priority != "emergency" or (item.volume is not None and item.volume >= floor):
        return item
    return replace(item, volume=floor)


def _with_emergency_volumes(plan_set: PlanSet, floor: int) -> PlanSet:
    """Every plan's emergency items at the floor; devices sharing one tuple of items still share it."""
    done: dict[int, tuple[PlayItem, ...]] = {}
    plans = {}
    for device_id, draft in plan_set.plans.items():
        key = id(draft.items)
        if key not in done:
            items = tuple(with_emergency_volume(i, floor) for i in draft.items)
            done[key] = draft.items if all(a is b for a, b in zip(items, draft.items)) else items
        plans[device_id] = replace(draft, items=done[key])
    return replace(plan_set, plans=plans)


class Dispatcher:
    def __init__(self, db: Database, registry: Registry, signer: Signer, publisher: Publisher, settings: PlanSettings,
                 policy: Callable[[], GuardrailPolicy] = GuardrailPolicy):
        self.db = db
        self.registry = registry
        self.signer = signer
        self.publisher = publisher
        self.settings = settings
        self.policy = policy
        self._lock = threading.Lock()
        self.streams: StreamRefs | None = None  # each device's address of a relay (controller.streaming)
        self.on_relays: Callable[[list[RelayWindow], bool], None] | None = None  # the relay slots of each build

    @property
    def horizon(self) -> timedelta:
        return timedelta(hours=self.settings.horizon_hours)

    def build(self, now: datetime | None = None, device_ids: Iterable[str] | None = None) -> PlanSet:
        plan_set = build_plans(self.db, self.policy(), now or utcnow(), self.horizon, device_ids, self.streams)
        return _with_emergency_volumes(plan_set, self.settings.emergency_min_volume)

    def publish_plans(self, device_ids: Iterable[str] | None = None, *, force: bool = False,
                      now: datetime | None = None) -> int:
        """Rebuild plans (all devices, or the given ones) and publish those that changed; returns how many."""
        return self.rebuild(device_ids, force=force, now=now).sent

    def publish_plan(self, device_id: str, *, force: bool = False, now: datetime | None = None) -> int | None:
        """Rebuild one device's plan; returns the version sent, or None when it had not changed."""
        if self.rebuild([device_id], force=force, now=now).sent == 0:
            return None
        with self.db.tx() as db:
            return db.execute("SELECT plan_version FROM device_plans WHERE device_id = ?", [device_id]).fetchone()[0]

    def rebuild(self, device_ids: Iterable[str] | None = None, *, force: bool = False,
                now: datetime | None = None) -> PublishResult:
        with self._lock:
            now = now or utcnow()
            plan_set = self.build(now, device_ids)
            self._record_skips(plan_set, now)
            outgoing = self._store_changed(plan_set.plans.values(), now, force)
            for device_id, payload in outgoing:
                self.publisher.publish(protocol.plan_topic(device_id), payload, qos=1, retain=True)
        if self.on_relays is not None:
            self.on_relays(plan_set.relay_windows(), device_ids is None)
        if outgoing:
            log.info("published %d of %d plans", len(outgoing), len(plan_set.plans))
        ends = {_leaves_plan_at(i, now) for p in plan_set.plans.values() for i in p.items}
        return PublishResult(len(plan_set.plans), len(outgoing), min(ends) if ends else None)

    def _store_changed(self, drafts: Iterable[DraftPlan], now: datetime, force: bool) -> list[tuple[str, bytes]]:
        """Version, sign and persist every plan whose content changed; returns what to publish."""
        horizon = self.horizon
        digests: dict[int, str] = {}
        item_docs: dict[int, list[dict]] = {}
        with self.db.tx() as db:
            previous = {r[0]: (r[1], r[2], r[3]) for r in db.execute(
                "SELECT device_id, plan_version, digest, issued_at FROM device_plans")}
            rows, outgoing = [], []
            for draft in drafts:
                key = id(draft.items)
                if key not in digests:
                    item_docs[key] = [i.to_dict() for i in draft.items]
                    digests[key] = hashlib.sha256(protocol.canonical_json(item_docs[key])).hexdigest()
                steps = ",".join(f"{v.at}={v.volume}" for v in draft.volume_steps)
                digest = hashlib.sha256(f"{digests[key]}|{','.join(draft.groups)}"
                                        f"{'|' + steps if steps else ''}".encode()).hexdigest()
                prev = previous.get(draft.device_id)
                if prev and not force and prev[1] == digest and parse_time(prev[2], "issued_at") > now - horizon / 2:
                    continue
                version = (prev[0] if prev else 0) + 1
                # The plan's own fields, then the item documents its class of devices shares:
                # exactly Plan.to_dict() of the full plan, without serialising the items again.
                body = Plan(device_id=draft.device_id, plan_version=version, issued_at=now, expires_at=now + horizon,
                            groups=draft.groups, volume_steps=draft.volume_steps).to_dict()
                body["items"] = item_docs[key]
                payload = self.signer.seal_body(Plan, body)
                log.debug("plan v%d with %d items, broadcasts %s", version, len(draft.items),
                          ",".join(sorted({i.broadcast_id for i in draft.items})) or "-",
                          extra={"device_id": draft.device_id})
                rows.append((draft.device_id, version, digest, format_time(now), payload))
                outgoing.append((draft.device_id, payload))
                record_sent(self.db, [draft.device_id], draft.items, now)
            db.conn.executemany(
                "INSERT OR REPLACE INTO device_plans(device_id, plan_version, digest, issued_at, payload) VALUES (?,?,?,?,?)",
                rows,
            )
        return outgoing

    def _record_skips(self, plan_set: PlanSet, now: datetime) -> None:
        """Keep each guardrail skip once per device and occurrence, for the audit."""
        skipped = plan_set.expansion.skipped
        if not skipped:
            return
        seen = format_time(now)
        with self.db.tx() as db:
            db.conn.executemany(
                "INSERT OR IGNORE INTO plan_skips(device_id, item_id, broadcast_id, slot_at, code, first_seen) "
                "VALUES (?,?,?,?,?,?)",
                [(s.device_id, s.occurrence_key, s.broadcast_id, format_time(s.slot_utc), s.code, seen) for s in skipped],
            )

    def current_versions(self) -> dict[str, int]:
        with self.db.tx() as db:
            return dict(db.execute("SELECT device_id, plan_version FROM device_plans").fetchall())

    def current_payload(self, device_id: str) -> bytes | None:
        """The device's latest signed plan, as published: what a device without a plan of its own
        checks a retained copy against (a broker restored from an old save holds an older one)."""
        with self.db.tx() as db:
            row = db.execute("SELECT payload FROM device_plans WHERE device_id = ?", [device_id]).fetchone()
        return bytes(row[0]) if row else None

    def republish_retained(self) -> int:
        """Send every device's last plan again, unchanged (a broker restart loses retained messages)."""
        with self._lock:
            with self.db.tx() as db:
                rows = db.execute("SELECT device_id, payload FROM device_plans").fetchall()
            for device_id, payload in rows:
                self.publisher.publish(protocol.plan_topic(device_id), bytes(payload), qos=1, retain=True)
        return len(rows)

    def send_command(self, target: str, action: str, *, item: PlayItem | None = None, volume: int | None = None,
                     reason: str = "", issued_by: str = "", release: str = "",
                     expires_at: datetime | None = None) -> Command:
        """Sign and publish an immediate command to ``dev/<id>`` or ``grp/<unit>``.

        ``expires_at`` shortens the command's usual lifetime (a re-sent emergency keeps the
        lifetime of the first send).
        """
        now = utcnow()
        until = now + timedelta(seconds=self.settings.command_ttl_s)
        if item is not None:
            item = with_emergency_volume(item, self.settings.emergency_min_volume)
        cmd = Command(
            target=target, seq=self.db.next_counter("command_seq"), action=action, issued_at=now,
            expires_at=min(until, expires_at) if expires_at is not None else until,
            item=item, volume=volume, reason=reason, issued_by=issued_by, release=release,
        )
        scope, _, ident = target.partition("/")
        topic = protocol.cmd_topic(ident) if scope == "dev" else protocol.group_cmd_topic(ident)
        if item is not None:
            try:
                record_sent(self.db, [ident] if scope == "dev" else self.registry.resolve_targets([ident]), [item], now)
            except InputError:  # a unit without devices: nobody to send it to
                pass
        self.publisher.publish(topic, self.signer.seal(cmd), qos=1, retain=False)
        log.info("sent %s command #%d to %s", action, cmd.seq, target,
                 extra={"device_id": ident if scope == "dev" else None, "broadcast_id": item.broadcast_id if item else None})
        return cmd

    def send_ack(self, device_id: str, epoch: str, up_to_seq: int) -> None:
        ack = Ack(device_id=device_id, epoch=epoch, up_to_seq=up_to_seq, issued_at=utcnow())
        self.publisher.publish(protocol.ack_topic(device_id), self.signer.seal(ack), qos=1, retain=False)
