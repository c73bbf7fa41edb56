"""Broker accounts: one per enrolled device plus the controller's own, hashed like mosquitto.

Passwords are generated (192 random bits), shown once, and stored only as a
PBKDF2-SHA512 hash in mosquitto's own ``$7$`` format, so the same hash goes into the
broker's password file and checks media downloads here, with a constant-time compare.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.db import Database
from loaxa.wire_time import format_time, utcnow

DEVICE_PREFIX = "dev-"
_HASH_RE = re.compile(r"^\$7\$(\d{1,7})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")


def hash_password(password: str, iterations: int = 1000) -> str:
    """A mosquitto 2.0 ``$7$`` hash: PBKDF2-HMAC-SHA512, 12-byte salt, 64-byte digest, base64."""
    salt = os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, 64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    m = _HASH_RE.match(stored or "")
    if not m:
        return False
    iterations, salt, expected = int(m.group(1)), base64.b64decode(m.group(2)), base64.b64decode(m.group(3))
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, len(expected))
    return hmac.compare_digest(digest, expected)


def new_password() -> str:
    return secrets.token_urlsafe(24)


def device_username(device_id: str) -> str:
    """Device accounts share a prefix the controller's account never has, so they cannot collide."""
    return DEVICE_PREFIX + device_id


@dataclass(frozen=True)
class Account:
    username: str
    role: str  # "controller", "operator" (the CLI on the controller machine) or "device"
    device_id: str | None
    password_hash: str


@dataclass(frozen=True)
class DeviceRevoked:
    """A pole's credentials taken away; ``revoked`` False when it had none, and whether the broker reloaded
    (until it does, the old password still opens a connection)."""

    device_id: str
    revoked: bool
    broker_reloaded: bool

    def to_dict(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "revoked": self.revoked, "broker_reloaded": self.broker_reloaded}


class Credentials:
    """The ``broker_accounts`` table."""

    def __init__(self, db: Database, iterations: int = 1000):
        self.db = db
        self.iterations = iterations
        self._dummy_hash = hash_password(secrets.token_urlsafe(8), iterations)

    def issue_device(self, device_id: str) -> tuple[str, str]:
        """New credentials for a device (replacing any old ones); returns (username, password)."""
        username, password = device_username(device_id), new_password()
        self._store(username, "device", device_id, password)
        return username, password

    def issue_controller(self, username: str) -> str:
        return self._issue_service("controller", username)

    def issue_operator(self, username: str) -> str:
        """The operator CLI's own account: with client ids bound to user names, sharing the
        controller's account would knock the running controller off at every command."""
        return self._issue_service("operator", username)

    def _issue_service(self, role: str, username: str) -> str:
        if username.startswith(DEVICE_PREFIX):
            raise ValueError(f"the {role}'s broker account may not start with {DEVICE_PREFIX!r}")
        password = new_password()
        with self.db.tx() as db:
            clash = db.execute("SELECT role FROM broker_accounts WHERE username = ? AND role != ?",
                               [username, role]).fetchone()
            if clash:
                raise ValueError(f"the broker account {username!r} already belongs to the {clash[0]}")
            db.execute("DELETE FROM broker_accounts WHERE role = ?", [role])
            self._store(username, role, None, password)
        return password

    def _store(self, username: str, role: str, device_id: str | None, password: str) -> None:
        row: dict[str, Any] = {"username": username, "role": role, "device_id": device_id,
                               "password_hash": hash_password(password, self.iterations),
                               "created_at": format_time(utcnow()), "revoked_at": None}
        with self.db.tx() as db:
            db["broker_accounts"].insert(row, replace=True)

    def revoke_device(self, device_id: str) -> bool:
        """Remove the device's credentials; False if it had none."""
        with self.db.tx() as db:
            cur = db.execute(
                "UPDATE broker_accounts SET password_hash = '', revoked_at = ? "
                "WHERE device_id = ? AND role = 'device' AND revoked_at IS NULL",
                [format_time(utcnow()), device_id],
            )
            return cur.rowcount > 0

    def active(self) -> list[Account]:
        with self.db.tx() as db:
            rows = db.execute(
                "SELECT username, role, device_id, password_hash FROM broker_accounts "
                "WHERE revoked_at IS NULL AND password_hash != '' ORDER BY role, username"
            ).fetchall()
        return [Account(*r) for r in rows]

    def status(self, device_id: str) -> str:
        """'enrolled', 'revoked' or 'not enrolled'."""
        with self.db.tx() as db:
            row = db.execute("SELECT revoked_at FROM broker_accounts WHERE device_id = ?", [device_id]).fetchone()
        if row is None:
            return "not enrolled"
        return "revoked" if row[0] else "enrolled"

    def check_device(self, username: str, password: str) -> str | None:
        """The device id if these are an enrolled device's current credentials, else None."""
        with self.db.tx() as db:
            row = db.execute(
                "SELECT device_id, password_hash FROM broker_accounts "
                "WHERE username = ? AND role = 'device' AND revoked_at IS NULL", [username],
            ).fetchone()
        stored = row[1] if row and row[1] else self._dummy_hash
        ok = verify_password(password, stored)  # compute even for unknown names: same work either way
        return row[0] if row and ok else None


def write_secret(path: Path, text: str) -> None:
    """Write a file only its owner can read, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
