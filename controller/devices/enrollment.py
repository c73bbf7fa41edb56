"""One-time enrollment codes: how a new speaker pole gets its identity and credentials.

An operator adds a device and gets a short code (``ABCD-EFGH-JKLM``, 60 random bits)
that expires within the hour.  The installer types it on the Pi (``loaxa agent
enroll``); the controller trades it, once, for the device's broker credentials and the
controller's public key.  Only the code's sha256 is stored, and guesses are rate-limited
per client address.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
import unicodedata
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from controller.devices.credentials import Credentials
from controller.db import Database
from controller.errors import InputError, NotFound
from controller.devices.registry import Registry
from loaxa.wire_time import format_time, parse_time, utcnow

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12


class EnrollmentRefused(InputError):
    """A code that is unknown, used or expired; the device learns nothing else."""

    status = 403


class TooManyAttempts(InputError):
    status = 429


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def normalize_code(code: Any) -> str:
    if not isinstance(code, str) or len(code) > 64:
        raise EnrollmentRefused("invalid_code", "Mã đăng ký không hợp lệ.", "code")
    return re.sub(r"[\s-]", "", code).upper()


def code_digest(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode("ascii", "replace")).hexdigest()


def slug(name: str) -> str:
    """A device id from a Vietnamese name: 'Cụm loa chợ Đông' -> 'cum-loa-cho-dong'."""
    text = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:56] or "loa"


class AttemptLimiter:
    """At most ``per_minute`` attempts per key in any sliding minute."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10000:
                self._seen = {k: q for k, q in self._seen.items() if q and q[-1] > now - 60}
            q = self._seen.setdefault(key, deque())
            while q and q[0] <= now - 60:
                q.popleft()
            if len(q) >= self.per_minute:
                return False
            q.append(now)
            return True


class Enrollment:
    def __init__(self, db: Database, registry: Registry, credentials: Credentials, code_ttl_min: int):
        self.db = db
        self.registry = registry
        self.credentials = credentials
        self.code_ttl = timedelta(minutes=code_ttl_min)

    def free_device_id(self, name: str) -> str:
        base = slug(name)
        candidate, n = base, 1
        while self.registry.is_device(candidate):
            n += 1
            candidate = f"{base}-{n}"
        return candidate

    def issue_code(self, device_id: str, created_by: str = "") -> tuple[str, datetime]:
        """A fresh one-time code for an existing device; earlier unused codes stop working."""
        if not self.registry.is_device(device_id):
            raise NotFound("unknown_device", f"Không có cụm loa '{device_id}'.")
        code, now = new_code(), utcnow()
        expires = now + self.code_ttl
        with self.db.tx() as db:
            db.execute("UPDATE enrollment_codes SET used_at = ?, used_from = 'superseded' "
                       "WHERE device_id = ? AND used_at IS NULL", [format_time(now), device_id])
            db["enrollment_codes"].insert({"code_sha256": code_digest(code), "device_id": device_id,
                                           "created_at": format_time(now), "expires_at": format_time(expires),
                                           "created_by": created_by, "used_at": None, "used_from": ""})
        return code, expires

    def check(self, code: Any) -> str:
        """The device a valid, unused code belongs to, without spending it; refusals as :meth:`redeem`."""
        digest = code_digest(code)
        now = utcnow()
        with self.db.tx() as db:
            row = db.execute("SELECT device_id, expires_at, used_at FROM enrollment_codes WHERE code_sha256 = ?",
                             [digest]).fetchone()
        if row is None:
            raise EnrollmentRefused("invalid_code", "Mã đăng ký không đúng.", "code")
        device_id, expires_at, used_at = row
        if used_at is not None:
            raise EnrollmentRefused("code_used", "Mã đăng ký này đã được dùng. Hãy tạo mã mới.", "code")
        if parse_time(expires_at, "expires_at") <= now:
            raise EnrollmentRefused("code_expired", "Mã đăng ký đã hết hạn. Hãy tạo mã mới.", "code")
        return device_id

    def redeem(self, code: Any, source: str = "") -> tuple[str, str, str]:
        """Trade a valid code for new credentials, once: returns (device_id, username, password)."""
        digest = code_digest(code)
        with self.db.tx() as db:
            device_id = self.check(code)
            db.execute("UPDATE enrollment_codes SET used_at = ?, used_from = ? WHERE code_sha256 = ?",
                       [format_time(utcnow()), source[:64], digest])
            username, password = self.credentials.issue_device(device_id)
        return device_id, username, password
