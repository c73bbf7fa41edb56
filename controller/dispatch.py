"""Publishes signed plans and commands, and remembers what each device was sent."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Protocol

from controller.config import PlanSettings
from controller.db import Database
from controller.planner import plan_items
from controller.registry import Registry
from loaxa import protocol
from loaxa.protocol import Ack, Command, Plan, PlayItem, Signer, format_time, utcnow

log = logging.getLogger(__name__)


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None: ...


class Dispatcher:
    def __init__(self, db: Database, registry: Registry, signer: Signer, publisher: Publisher, settings: PlanSettings):
        self.db = db
        self.registry = registry
        self.signer = signer
        self.publisher = publisher
        self.settings = settings

    def publish_plan(self, device_id: str, *, force: bool = False, now: datetime | None = None) -> int | None:
        """Rebuild the device's plan; publish a new version if it changed. Returns the version sent."""
        now = now or utcnow()
        horizon = timedelta(hours=self.settings.horizon_hours)
        items = plan_items(self.db, device_id, now, horizon)
        device = self.registry.device(device_id)
        groups = tuple(self.registry.ancestors(device["unit_id"]))
        items_doc = [i.to_dict() for i in items]
        digest = hashlib.sha256(protocol.canonical_json({"items": items_doc, "groups": list(groups)})).hexdigest()
        with self.db.tx() as db:
            prev = db.execute(
                "SELECT plan_version, digest, issued_at FROM device_plans WHERE device_id = ?", [device_id]
            ).fetchone()
            fresh = prev and protocol.parse_time(prev[2], "issued_at") > now - horizon / 2
            if prev and prev[1] == digest and fresh and not force:
                return None
            version = (prev[0] if prev else 0) + 1
            plan = Plan(device_id=device_id, plan_version=version, issued_at=now,
                        expires_at=now + horizon, items=items, groups=groups)
            payload = self.signer.seal(plan)
            db["device_plans"].insert(
                {"device_id": device_id, "plan_version": version, "digest": digest,
                 "issued_at": format_time(now), "payload": payload},
                replace=True,
            )
        self.publisher.publish(protocol.plan_topic(device_id), payload, qos=1, retain=True)
        log.info("published plan v%d with %d items to %s", version, len(items), device_id)
        return version

    def republish_retained(self) -> int:
        """Send every device's last plan again, unchanged (a broker restart loses retained messages)."""
        with self.db.tx() as db:
            rows = db.execute("SELECT device_id, payload FROM device_plans").fetchall()
        for device_id, payload in rows:
            self.publisher.publish(protocol.plan_topic(device_id), bytes(payload), qos=1, retain=True)
        return len(rows)

    def publish_plans(self, device_ids: list[str] | None = None, *, force: bool = False) -> int:
        sent = 0
        for device_id in device_ids if device_ids is not None else self.registry.device_ids():
            if self.publish_plan(device_id, force=force) is not None:
                sent += 1
        return sent

    def send_command(self, target: str, action: str, *, item: PlayItem | None = None, volume: int | None = None,
                     reason: str = "", issued_by: str = "") -> Command:
        """Sign and publish an immediate command to ``dev/<id>`` or ``grp/<unit>``."""
        now = utcnow()
        cmd = Command(
            target=target, seq=self.db.next_counter("command_seq"), action=action, issued_at=now,
            expires_at=now + timedelta(seconds=self.settings.command_ttl_s),
            item=item, volume=volume, reason=reason, issued_by=issued_by,
        )
        scope, _, ident = target.partition("/")
        topic = protocol.cmd_topic(ident) if scope == "dev" else protocol.group_cmd_topic(ident)
        self.publisher.publish(topic, self.signer.seal(cmd), qos=1, retain=False)
        log.info("sent %s command #%d to %s", action, cmd.seq, target)
        return cmd

    def send_ack(self, device_id: str, epoch: str, up_to_seq: int) -> None:
        ack = Ack(device_id=device_id, epoch=epoch, up_to_seq=up_to_seq, issued_at=utcnow())
        self.publisher.publish(protocol.ack_topic(device_id), self.signer.seal(ack), qos=1, retain=False)
