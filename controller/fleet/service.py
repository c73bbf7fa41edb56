"""The fleet use cases the controller wires together: releases, rollouts, remote care,
the device version page, and the thread that moves rollouts on."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Callable

from controller.db import Database
from controller.devices.registry import Registry
from controller.devices.test_tone import ToneMedia
from controller.fleet import overview as ov
from controller.fleet.care import RemoteCare
from controller.fleet.releases import ReleaseStore
from controller.fleet.rollouts import Rollouts
from controller.fleet.settings import FleetSettings
from controller.reports.audit import AuditTrail
from loaxa.protocol import Command

log = logging.getLogger(__name__)


class Fleet:
    def __init__(self, db: Database, registry: Registry, audit: AuditTrail, settings: FleetSettings, releases_dir: Path,
                 send_command: Callable[..., Command], tone: Callable[[], ToneMedia]):
        self.db = db
        self.settings = settings
        self.releases = ReleaseStore(db, releases_dir, settings)
        self.rollouts = Rollouts(db, registry, self.releases, audit, settings, self._send_update)
        self.care = RemoteCare(db, audit, settings, send_command, tone)
        self._send_command = send_command
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _send_update(self, device_id: str, version: str, reason: str, by: str) -> None:
        self._send_command(f"dev/{device_id}", "update", release=version, reason=reason, issued_by=by)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="fleet-rollouts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.tick_s):
            try:
                self.rollouts.tick()
            except Exception:  # noqa: BLE001 - the loop must survive a bad tick
                log.exception("rollout tick failed")

    def device_versions(self, device_ids: set[str] | None = None) -> list[ov.FleetDevice]:
        """Every device's version and update state (those in ``device_ids``, or all), for the fleet page."""
        with self.db.tx() as db:
            rows = db.execute("SELECT id, name, unit_id, online, last_seen, state_json FROM devices ORDER BY id").fetchall()
            last = {r[0]: ov.LastUpdate(*r) for r in db.execute(
                "SELECT device_id, kind, reason, recorded_at FROM playback_events WHERE id IN "
                "(SELECT MAX(id) FROM playback_events WHERE kind IN ('updated', 'update_failed') GROUP BY device_id)")}
        out = []
        for device_id, name, unit_id, online, last_seen, state_json in rows:
            if device_ids is not None and device_id not in device_ids:
                continue
            state = json.loads(state_json or "{}")
            out.append(ov.FleetDevice(device_id, name, unit_id, bool(online), last_seen,
                                      state.get("agent_version", ""), state.get("update_state", ""),
                                      state.get("update_detail", ""), last.get(device_id)))
        return out

    def overview(self, device_ids: set[str] | None = None) -> ov.FleetOverview:
        """The fleet page in one read: devices (those in ``device_ids``, or all), releases, rollouts.

        A rollout is shown only when every device it holds is one the viewer may see."""
        rollouts = [r for r in self.rollouts.list(20)
                    if device_ids is None or all(d.device_id in device_ids for d in r.devices)]
        return ov.FleetOverview(devices=tuple(ov.device_version(d) for d in self.device_versions(device_ids)),
                                releases=tuple(ov.release_view(r) for r in self.releases.list()),
                                rollouts=tuple(ov.rollout_view(r) for r in rollouts))

    def care_history(self, device_id: str) -> ov.CareHistory:
        """A pole's remote-care results: its speaker checks and the diagnostics it uploaded."""
        return ov.CareHistory(device_id=device_id,
                              speaker_checks=tuple(ov.SpeakerCheck(r.item_id, r.kind, r.level_dbfs, r.reason or "",
                                                                   r.recorded_at)
                                                   for r in self.care.speaker_checks(device_id)),
                              diagnostics=tuple(ov.diagnostics_view(r) for r in self.care.diagnostics(device_id)))
