"""Staged rollouts: a release to a set of devices, a canary first, then waves, pausing by itself.

A rollout resolves its targets (units or devices) once, then splits the devices into a canary
wave (``canary_share``, at least one device) and ``waves`` more.  Each wave gets signed
``update`` commands; a device's answer is the ``updated`` or ``update_failed`` event it sends
(or the version in its state).  A wave ends when every device answered or ran out of time
(``wave_timeout_s``, counted as failed); when more than ``failure_threshold`` of a wave failed,
the rollout pauses and waits for a person.  Rollback is one action: every device the rollout
reached is sent back to the version it came from, all at once (devices keep their previous
release, so it is a local switch).

State lives in the database; :meth:`Rollouts.tick` moves every running rollout on, so a
controller restart loses nothing.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

from controller.db import Database
from controller.devices.registry import Registry
from controller.people.actor import Actor
from controller.errors import Conflict, InputError, NotFound
from controller.fleet.releases import ReleaseStore
from controller.fleet.settings import FleetSettings
from controller.reports.audit import AuditTrail
from loaxa.wire_time import format_time, parse_time, utcnow

log = logging.getLogger(__name__)

SendUpdate = Callable[[str, str, str, str], None]  # device_id, version, reason, issued_by
ACTIVE = ("running", "paused")
FINISHED = ("updated", "failed")


@dataclass(frozen=True)
class RolloutDevice:
    """One device of a rollout: its wave, how far it got, the version it came from, and the bookkeeping
    of the sends (``event_mark``: the last playback event before the first send, answers come after it)."""

    rollout_id: int
    device_id: str
    wave: int
    status: str
    from_version: str
    sent_at: str | None
    sends: int
    event_mark: int
    finished_at: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Rollout:
    """A rollout (``kind`` update, or rollback ``of_rollout``) with its devices by wave, then device id
    (the JSON of ``/api/rollouts/<id>``)."""

    id: int
    version: str
    kind: str
    of_rollout: int | None
    targets: tuple[Any, ...]
    status: str
    canary_share: float
    waves: int
    failure_threshold: float
    wave: int
    wave_started_at: str | None
    created_by: str
    created_at: str
    finished_at: str | None
    reason: str
    devices: tuple[RolloutDevice, ...]

    @property
    def counts(self) -> dict[str, int]:
        """How many devices are in each status."""
        counts: dict[str, int] = {}
        for d in self.devices:
            counts[d.status] = counts.get(d.status, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "kind": self.kind, "of_rollout": self.of_rollout,
                "status": self.status, "canary_share": self.canary_share, "waves": self.waves,
                "failure_threshold": self.failure_threshold, "wave": self.wave,
                "wave_started_at": self.wave_started_at, "created_by": self.created_by,
                "created_at": self.created_at, "finished_at": self.finished_at, "reason": self.reason,
                "targets": list(self.targets), "devices": [d.to_dict() for d in self.devices],
                "counts": self.counts}


_DEVICE_COLUMNS = ", ".join(RolloutDevice.__dataclass_fields__)
_ROLLOUT_COLUMNS = ", ".join(f for f in Rollout.__dataclass_fields__ if f not in ("targets", "devices"))


def split_waves(device_ids: list[str], canary_share: float, waves: int) -> list[list[str]]:
    """Canary first (at least one device), then the rest in ``waves`` nearly equal waves."""
    n = len(device_ids)
    canary = max(1, math.ceil(n * canary_share))
    out = [device_ids[:canary]]
    rest = device_ids[canary:]
    if rest:
        size = math.ceil(len(rest) / waves)
        out += [rest[i:i + size] for i in range(0, len(rest), size)]
    return out


class Rollouts:
    def __init__(self, db: Database, registry: Registry, releases: ReleaseStore, audit: AuditTrail,
                 settings: FleetSettings, send_update: SendUpdate):
        self.db = db
        self.registry = registry
        self.releases = releases
        self.audit = audit
        self.settings = settings
        self.send_update = send_update

    # starting -------------------------------------------------------------------------
    def start(self, version: Any, targets: Any, by: Actor, *, canary_share: Any = None, waves: Any = None,
              failure_threshold: Any = None, kind: str = "update", of_rollout: int | None = None,
              devices: Iterable[str] | None = None) -> Rollout:
        if not isinstance(version, str):
            raise InputError("invalid_release", "Chọn một bản phát hành.", "release")
        self.releases.get(version)
        share = _number(canary_share, self.settings.canary_share, "canary_share", 0.0, 1.0)
        threshold = _number(failure_threshold, self.settings.failure_threshold, "failure_threshold", 0.0, 1.0)
        n_waves = int(_number(waves, self.settings.waves, "waves", 1, 100))
        if share <= 0:
            raise InputError("invalid_canary_share", "Tỉ lệ thử trước phải lớn hơn 0.", "canary_share")
        if not isinstance(targets, list):
            raise InputError("invalid_targets", "Nơi cập nhật phải là một danh sách đơn vị hoặc cụm loa.", "targets")
        device_ids = sorted(devices) if devices is not None else self.registry.resolve_targets(targets)
        with self.db.tx() as db:
            active = db.execute(f"SELECT id FROM rollouts WHERE status IN {ACTIVE}").fetchone()
            if active and kind == "update":
                raise Conflict("rollout_active", f"Đợt cập nhật #{active[0]} đang chạy hoặc tạm dừng; "
                                                  "hãy hoàn tất hoặc quay lui trước.")
            now = format_time(utcnow())
            rid = db["rollouts"].insert({
                "version": version, "targets_json": json.dumps(targets), "status": "running", "kind": kind,
                "canary_share": share, "waves": n_waves, "failure_threshold": threshold, "created_by": by.username,
                "created_at": now, "reason": "", "of_rollout": of_rollout, "wave": 0, "wave_started_at": None,
            }).last_pk
            states = self._states(db, device_ids)
            rows = []
            for w, wave in enumerate(split_waves(device_ids, share, n_waves)):
                for d in wave:
                    rows.append({"rollout_id": rid, "device_id": d, "wave": w, "status": "pending",
                                 "from_version": states.get(d, {}).get("agent_version", ""), "sent_at": None,
                                 "sends": 0, "event_mark": 0, "finished_at": None, "reason": ""})
            db["rollout_devices"].insert_all(rows)
            if kind == "rollback" and of_rollout is not None:
                db.execute("UPDATE rollouts SET status = 'rolled_back', finished_at = ? WHERE id = ?", [now, of_rollout])
            self.audit.record(by, "fleet_rollout" if kind == "update" else "fleet_rollback", f"release:{version}",
                              {"rollout": rid, "devices": len(device_ids), "canary_share": share, "waves": n_waves,
                               "of_rollout": of_rollout})
        log.info("rollout #%d of %s to %d devices by %s", rid, version, len(device_ids), by.username)
        self.tick()
        return self.get(rid)

    def rollback(self, rollout_id: int, by: Actor) -> list[Rollout]:
        """Send every device this rollout reached back to the version it came from, all at once."""
        ro = self.get(rollout_id)
        if ro.kind != "update" or ro.status == "rolled_back":
            raise Conflict("not_rollbackable", f"Đợt #{rollout_id} không thể quay lui.")
        back: dict[str, list[str]] = {}
        for d in ro.devices:
            if d.status != "pending" and d.from_version and d.from_version != ro.version:
                back.setdefault(d.from_version, []).append(d.device_id)
        for version in back:
            self.releases.get(version)  # every earlier version must still be published
        with self.db.tx() as db:
            db.execute("UPDATE rollouts SET status = 'rolled_back', finished_at = ?, reason = ? WHERE id = ?",
                       [format_time(utcnow()), f"quay lui bởi {by.username}", rollout_id])
        return [self.start(v, [], by, canary_share=1.0, waves=1, failure_threshold=0.99, kind="rollback",
                           of_rollout=rollout_id, devices=ids) for v, ids in sorted(back.items())]

    def resume(self, rollout_id: int, by: Actor) -> Rollout:
        ro = self.get(rollout_id)
        if ro.status != "paused":
            raise Conflict("not_paused", f"Đợt #{rollout_id} không tạm dừng.")
        with self.db.tx() as db:
            db.execute("UPDATE rollouts SET status = 'running', reason = '', wave = wave + 1, wave_started_at = NULL "
                       "WHERE id = ?", [rollout_id])
            self.audit.record(by, "fleet_rollout_resume", f"release:{ro.version}", {"rollout": rollout_id})
        self.tick()
        return self.get(rollout_id)

    # reading --------------------------------------------------------------------------
    def get(self, rollout_id: int) -> Rollout:
        with self.db.tx() as db:
            rows = list(db.query(f"SELECT {_ROLLOUT_COLUMNS}, targets_json FROM rollouts WHERE id = ?", [rollout_id]))
            if not rows:
                raise NotFound("unknown_rollout", f"Không có đợt cập nhật #{rollout_id}.")
            devices = tuple(RolloutDevice(**d) for d in db.query(
                f"SELECT {_DEVICE_COLUMNS} FROM rollout_devices WHERE rollout_id = ? ORDER BY wave, device_id",
                [rollout_id]))
        ro = rows[0]
        targets = json.loads(ro.pop("targets_json"))
        return Rollout(**ro, targets=tuple(targets), devices=devices)

    def list(self, limit: int = 50) -> list[Rollout]:
        with self.db.tx() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM rollouts ORDER BY id DESC LIMIT ?", [limit])]
        return [self.get(i) for i in ids]

    # moving on --------------------------------------------------------------------------
    def tick(self, now: datetime | None = None) -> None:
        """Collect answers, time out the silent, pause or advance waves, send what is due."""
        now = now or utcnow()
        with self.db.tx() as db:
            running = [r[0] for r in db.execute("SELECT id FROM rollouts WHERE status = 'running' ORDER BY id")]
        for rid in running:
            try:
                self._advance(rid, now)
            except Exception:  # noqa: BLE001 - one rollout's trouble must not stop the others
                log.exception("rollout #%d could not advance", rid)

    def _advance(self, rid: int, now: datetime) -> None:
        sends: list[tuple[str, str, int]] = []
        with self.db.tx() as db:
            ro = db.execute("SELECT version, wave, wave_started_at, failure_threshold, created_by FROM rollouts "
                            "WHERE id = ?", [rid]).fetchone()
            version, wave, started, threshold, by = ro
            self._collect(db, rid, version, now)
            while True:
                members = list(db.query("SELECT * FROM rollout_devices WHERE rollout_id = ? AND wave = ?", [rid, wave]))
                if not members:
                    db.execute("UPDATE rollouts SET status = 'done', finished_at = ? WHERE id = ?", [format_time(now), rid])
                    log.info("rollout #%d of %s done", rid, version)
                    return
                if started is None:
                    started = format_time(now)
                    db.execute("UPDATE rollouts SET wave_started_at = ? WHERE id = ?", [started, rid])
                deadline = parse_time(started, "wave_started_at") + timedelta(seconds=self.settings.wave_timeout_s)
                failed = [m for m in members if m["status"] == "failed"]
                if len(failed) > threshold * len(members):
                    reason = f"đợt {wave}: {len(failed)}/{len(members)} cụm loa lỗi — {failed[0]['reason']}"[:400]
                    db.execute("UPDATE rollouts SET status = 'paused', reason = ? WHERE id = ?", [reason, rid])
                    self.audit.record("system", "fleet_rollout_paused", f"release:{version}",
                                      {"rollout": rid, "wave": wave, "failed": len(failed), "of": len(members)})
                    log.warning("rollout #%d of %s paused: %s", rid, version, reason)
                    return
                if all(m["status"] in FINISHED for m in members):
                    wave += 1
                    started = None
                    db.execute("UPDATE rollouts SET wave = ?, wave_started_at = NULL WHERE id = ?", [wave, rid])
                    continue
                online = self._online(db, [m["device_id"] for m in members])
                mark = db.execute("SELECT COALESCE(MAX(id), 0) FROM playback_events").fetchone()[0]
                for m in members:
                    if m["status"] in FINISHED:
                        continue
                    if now > deadline:
                        why = "không trả lời" if m["status"] == "sent" else "ngoại tuyến suốt đợt"
                        db.execute("UPDATE rollout_devices SET status = 'failed', reason = ?, finished_at = ? "
                                   "WHERE rollout_id = ? AND device_id = ?", [why, format_time(now), rid, m["device_id"]])
                        continue
                    due = m["sent_at"] is None or parse_time(m["sent_at"], "sent_at") + \
                        timedelta(seconds=self.settings.resend_s) <= now
                    if due and m["device_id"] in online:
                        db.execute("UPDATE rollout_devices SET status = 'sent', sent_at = ?, sends = sends + 1, "
                                   "event_mark = CASE WHEN sends = 0 THEN ? ELSE event_mark END "
                                   "WHERE rollout_id = ? AND device_id = ?", [format_time(now), mark, rid, m["device_id"]])
                        sends.append((m["device_id"], by, rid))
                if now > deadline:
                    continue  # every silent device just failed: judge the wave again
                break
        for device_id, by, rid_ in sends:
            self.send_update(device_id, version, f"rollout #{rid_}", by)

    def _collect(self, db, rid: int, version: str, now: datetime) -> None:
        """Answers of the devices sent this rollout's command: their update events and reported version."""
        sent = list(db.query("SELECT device_id, event_mark FROM rollout_devices WHERE rollout_id = ? AND status = 'sent'",
                             [rid]))
        if not sent:
            return
        states = self._states(db, [s["device_id"] for s in sent])
        flag = f"release:{version}"
        for s in sent:
            d = s["device_id"]
            status, reason = "", ""
            for kind, why, flags in db.execute(
                    "SELECT kind, reason, flags FROM playback_events WHERE device_id = ? AND id > ? "
                    "AND kind IN ('updated', 'update_failed') ORDER BY id", [d, s["event_mark"]]):
                if flag in flags.split(","):
                    status, reason = ("updated", why) if kind == "updated" else ("failed", why)
            if not status and states.get(d, {}).get("agent_version") == version \
                    and states[d].get("update_state") in ("", "updated"):
                status, reason = "updated", "báo phiên bản mới"
            if status:
                db.execute("UPDATE rollout_devices SET status = ?, reason = ?, finished_at = ? "
                           "WHERE rollout_id = ? AND device_id = ?", [status, reason[:400], format_time(now), rid, d])

    @staticmethod
    def _states(db, device_ids: list[str]) -> dict[str, dict[str, Any]]:
        if not device_ids:
            return {}
        marks = ",".join("?" * len(device_ids))
        return {r[0]: json.loads(r[1] or "{}") for r in db.execute(
            f"SELECT id, state_json FROM devices WHERE id IN ({marks})", device_ids)}

    @staticmethod
    def _online(db, device_ids: list[str]) -> set[str]:
        marks = ",".join("?" * len(device_ids))
        return {r[0] for r in db.execute(f"SELECT id FROM devices WHERE online = 1 AND id IN ({marks})", device_ids)}


def _number(value: Any, default: float, field: str, lo: float, hi: float) -> float:
    if value is None:
        return float(default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise InputError(f"invalid_{field}", f"'{field}' phải là số từ {lo} đến {hi}.", field)
    return float(value)
