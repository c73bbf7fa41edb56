"""Remote care of a pole, by signed and audited commands: restart the agent, reboot the Pi,
collect diagnostics, check the speaker.

- ``restart_agent``: the agent exits and systemd starts it again.
- ``reboot``: the agent (no sudo, ``NoNewPrivileges``) writes a request file that the
  ``loaxa-agent-reboot.path`` unit the installer wrote turns into ``systemctl reboot``.
- ``diagnostics``: the device uploads its last log lines, state, store statistics and
  installed releases to ``POST /fleet/diagnostics`` (its broker credentials, size-bounded).
- ``speaker_check``: the test tone at a set volume; the result is the play's ``finished``
  event, with the capture RMS where the pole has a capture input, kept as history.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any, Callable

from controller.db import Database
from controller.devices.test_tone import SPEAKER_CHECK_PREFIX, ToneMedia
from controller.errors import InputError
from controller.fleet.settings import FleetSettings
from controller.people.actor import Actor
from controller.reports.audit import AuditTrail
from loaxa.protocol import Command, PlayItem
from loaxa.wire_time import format_time, utcnow

log = logging.getLogger(__name__)

CARE_ACTIONS = ("restart_agent", "reboot", "diagnostics", "speaker_check")
# The audit action of each care command (names of the audit vocabulary).
CARE_AUDIT_ACTIONS = {"restart_agent": "device_restart_agent", "reboot": "device_reboot",
                      "diagnostics": "device_diagnostics", "speaker_check": "device_speaker_check"}
SendCommand = Callable[..., Command]


@dataclass(frozen=True)
class CareOrdered:
    """One care command on its way; ``item_id`` the tone's play item of a speaker check (None otherwise)."""

    device_id: str
    action: str
    command_seq: int
    item_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DiagnosticsStored:
    """An upload kept: its row id and size in bytes (the device's answer from ``POST /fleet/diagnostics``)."""

    id: int
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "size": self.size}


@dataclass(frozen=True)
class Diagnostics:
    """One upload of a device.  ``body`` stays the JSON object the device sent: its shape is the agent's
    (log lines, state, store statistics, releases), the controller only keeps and shows it."""

    id: int
    device_id: str
    received_at: str
    size: int
    body: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "device_id": self.device_id, "received_at": self.received_at, "size": self.size,
                "body": self.body}


@dataclass(frozen=True)
class SpeakerCheckEvent:
    """How one speaker check ended (``finished``, ``failed`` or ``skipped``), with the captured level
    (dBFS) where the pole has a capture input."""

    item_id: str
    kind: str
    actual_start: str | None
    duration_s: float | None
    level_dbfs: float | None
    flags: str
    reason: str
    recorded_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RemoteCare:
    def __init__(self, db: Database, audit: AuditTrail, settings: FleetSettings, send_command: SendCommand,
                 tone: Callable[[], ToneMedia]):
        self.db = db
        self.audit = audit
        self.settings = settings
        self.send_command = send_command
        self.tone = tone

    def order(self, device_id: str, action: Any, by: Actor, volume: Any = None) -> CareOrdered:
        """Sign, send and audit one care command to one device."""
        if action not in CARE_ACTIONS:
            raise InputError("invalid_action", f"Lệnh '{action}' không có. Chọn: {', '.join(CARE_ACTIONS)}.", "action")
        item = None
        if action == "speaker_check":
            if isinstance(volume, bool) or not isinstance(volume, int) or not 0 <= volume <= 100:
                raise InputError("invalid_volume", "Âm lượng phải từ 0 đến 100.", "volume")
            media = self.tone()
            now = utcnow()
            seq_hint = self.db.next_counter("speaker_check")
            item = PlayItem(item_id=f"{SPEAKER_CHECK_PREFIX}{seq_hint}", start=now + timedelta(seconds=2),
                            sha256=media.sha256, size=media.size, ext=media.ext,
                            duration_s=media.duration_s, priority="priority", volume=volume,
                            expires_at=now + timedelta(minutes=2), title="Kiểm tra loa")
        else:
            volume = None
        cmd = self.send_command(f"dev/{device_id}", action, item=item, volume=volume, reason=f"chăm sóc từ xa: {action}",
                                issued_by=by.username)
        self.audit.record(by, CARE_AUDIT_ACTIONS[action], device_id, {"command_seq": cmd.seq, "volume": volume})
        return CareOrdered(device_id, action, cmd.seq, item.item_id if item else None)

    # diagnostics ------------------------------------------------------------------------
    def store_diagnostics(self, device_id: str, body: bytes) -> DiagnosticsStored:
        if len(body) > self.settings.diagnostics_max_bytes:
            raise InputError("too_large", f"diagnostics larger than {self.settings.diagnostics_max_bytes} bytes")
        try:
            doc = json.loads(body)
        except ValueError:
            raise InputError("invalid_json", "diagnostics are not JSON") from None
        if not isinstance(doc, dict):
            raise InputError("invalid_json", "diagnostics must be a JSON object")
        with self.db.tx() as db:
            rid = db["device_diagnostics"].insert({"device_id": device_id, "received_at": format_time(utcnow()),
                                                   "size": len(body), "body": body.decode("utf-8")}).last_pk
            keep = self.settings.keep_diagnostics
            db.execute("DELETE FROM device_diagnostics WHERE device_id = ? AND id NOT IN "
                       "(SELECT id FROM device_diagnostics WHERE device_id = ? ORDER BY id DESC LIMIT ?)",
                       [device_id, device_id, keep])
        log.info("diagnostics of %s stored (%d bytes)", device_id, len(body), extra={"device_id": device_id})
        return DiagnosticsStored(rid, len(body))

    def diagnostics(self, device_id: str, limit: int = 5) -> list[Diagnostics]:
        """The device's newest uploads first."""
        with self.db.tx() as db:
            rows = db.execute("SELECT id, device_id, received_at, size, body FROM device_diagnostics "
                              "WHERE device_id = ? ORDER BY id DESC LIMIT ?", [device_id, limit]).fetchall()
        return [Diagnostics(rid, did, at, size, json.loads(body)) for rid, did, at, size, body in rows]

    def speaker_checks(self, device_id: str, limit: int = 20) -> list[SpeakerCheckEvent]:
        """The history of speaker checks: when, how it ended, and the captured level (dBFS) if any."""
        with self.db.tx() as db:
            rows = db.execute(
                "SELECT item_id, kind, actual_start, duration_s, level_dbfs, flags, reason, recorded_at "
                "FROM playback_events WHERE device_id = ? AND item_id LIKE ? AND kind IN ('finished', 'failed', 'skipped') "
                "ORDER BY id DESC LIMIT ?", [device_id, f"{SPEAKER_CHECK_PREFIX}%", limit]).fetchall()
        return [SpeakerCheckEvent(*r) for r in rows]
