"""Poles enrolled before per-device keys: their key's public half, sent once, without a visit.

Such a pole signs nothing the controller knows, so its playback events are refused.  An
administrator asks it (``request``): a signed ``register_key`` command, and a window of the
command's lifetime.  The pole answers over its authenticated media channel (HTTP Basic with
its broker account, ``POST /device/key``) with the public half of the key it made and a
signature of its own device id by that key.  The controller takes it only for a device
that never had a key (a revoked or re-keyed device enrolls again), only inside an open
window, and only once; both steps are audited.  What this trusts is the broker password
the pole already holds, the same secret its enrollment handed out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from controller.db import Database
from controller.devices.event_trust import DeviceKeys, valid_public_key
from controller.errors import Conflict, InputError, Refused
from controller.reports.audit import AuditTrail
from loaxa import protocol
from loaxa.wire_time import format_time, parse_time, utcnow

if TYPE_CHECKING:
    from controller.people.actor import Actor


@dataclass(frozen=True)
class KeyRequest:
    device_id: str
    requested_by: str
    requested_at: str
    expires_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class KeyStatus:
    """Where a pole stands with its own key, for the device page.

    ``state``: ``active`` (it signs its events with key ``kid``), ``retired`` (it had one,
    revoked: it enrolls again), ``requested`` (asked, the controller waits until
    ``request.expires_at``) or ``missing`` (enrolled before device keys, or the last request
    expired): only then is a request useful.
    """

    device_id: str
    state: str
    kid: str | None = None
    request: KeyRequest | None = None

    @property
    def may_request(self) -> bool:
        return self.state in ("missing", "requested")

    def to_dict(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "state": self.state, "kid": self.kid,
                "request": self.request.to_dict() if self.request else None, "may_request": self.may_request}


class KeyMigration:
    def __init__(self, db: Database, audit: AuditTrail):
        self.db = db
        self.audit = audit
        self.keys = DeviceKeys(db)

    def status(self, device_id: str) -> KeyStatus:
        kid = self.keys.active_kid(device_id)
        if kid is not None:
            return KeyStatus(device_id, "active", kid)
        if self.keys.ever_had_key(device_id):
            return KeyStatus(device_id, "retired")
        with self.db.tx() as conn:
            row = conn.execute("SELECT requested_by, requested_at, expires_at FROM device_key_requests "
                               "WHERE device_id = ? AND accepted_at IS NULL", [device_id]).fetchone()
        if row is None:
            return KeyStatus(device_id, "missing")
        req = KeyRequest(device_id, *row)
        return KeyStatus(device_id, "requested" if parse_time(req.expires_at, "expires_at") > utcnow() else "missing",
                         request=req)

    def open_window(self, device_id: str, requested_by: Actor | str, lifetime_s: float) -> KeyRequest:
        """Record the request (audited, with the actor's address); the caller sends the signed command."""
        if self.keys.ever_had_key(device_id):
            raise Conflict("has_device_key", f"Cụm loa {device_id} đã có khóa riêng: muốn đổi khóa, hãy đăng ký lại "
                                             "(cấp mã đăng ký mới).")
        actor, requested_by = requested_by, requested_by if isinstance(requested_by, str) else requested_by.username
        now = utcnow()
        req = KeyRequest(device_id, requested_by, format_time(now), format_time(now + timedelta(seconds=lifetime_s)))
        with self.db.tx() as conn:
            conn.execute("INSERT INTO device_key_requests(device_id, requested_by, requested_at, expires_at) "
                         "VALUES (?,?,?,?) ON CONFLICT(device_id) DO UPDATE SET requested_by = excluded.requested_by, "
                         "requested_at = excluded.requested_at, expires_at = excluded.expires_at",
                         [device_id, requested_by, req.requested_at, req.expires_at])
            self.audit.record(actor, "device_key_requested", device_id, {"expires_at": req.expires_at})
        return req

    def accept(self, device_id: str, body: Any) -> str:
        """The pole's answer, already authenticated as ``device_id``; returns the key id now registered."""
        if not isinstance(body, dict):
            raise InputError("invalid_json", "Yêu cầu phải là một đối tượng JSON.")
        public_key = valid_public_key(body.get("public_key"))
        proof = body.get("proof")
        if not isinstance(proof, str) or not protocol.verify_detached(
                protocol.public_key_from_text(public_key), protocol.device_key_proof(device_id), proof):
            raise Refused("bad_proof", "Chữ ký của khóa không khớp với cụm loa.")
        now = utcnow()
        with self.db.tx() as conn:
            row = conn.execute("SELECT expires_at, accepted_at FROM device_key_requests WHERE device_id = ?",
                               [device_id]).fetchone()
            if row is None or row[1] is not None or parse_time(row[0], "expires_at") <= now:
                raise Refused("no_key_request", "Máy chủ không chờ khóa của cụm loa này (chưa yêu cầu, đã nhận, hoặc đã hết hạn).")
            if self.keys.ever_had_key(device_id):
                raise Conflict("has_device_key", "Cụm loa này đã có khóa riêng.")
            kid = self.keys.register(device_id, public_key, now)
            conn.execute("UPDATE device_key_requests SET accepted_kid = ?, accepted_at = ? WHERE device_id = ?",
                         [kid, format_time(now), device_id])
            self.audit.record(f"device:{device_id}", "device_key_registered", device_id, {"device_kid": kid})
        return kid
