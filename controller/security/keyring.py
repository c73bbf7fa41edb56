"""The controller's signing key as it is on disk, and its rotation.

The key file is the single source of truth: ``loaxa keys rotate`` (run on the
controller machine) announces the next key in a rollover signed by the current one,
publishes it retained on ``loaxa/v1/keys``, and only then replaces the key file.  A
running controller follows the file (:meth:`Keyring.refresh`), so it never signs with a
key the devices have already retired.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from controller.devices.credentials import write_secret
from controller.db import Database
from controller.security.key_file import keep_public_half, load_or_create_signer, scrub_retired_private_keys
from loaxa import protocol
from loaxa.protocol import KeyRollover, Message, Signer
from loaxa.wire_time import format_time, utcnow

log = logging.getLogger(__name__)

PublishAndWait = Callable[[str, bytes], None]


class Keyring:
    """Signs like a :class:`Signer`, always with the key currently in the key file."""

    def __init__(self, key_path: Path):
        self.path = key_path
        self._lock = threading.Lock()
        self._signer = load_or_create_signer(key_path)
        self._stamp = self._file_stamp()
        scrub_retired_private_keys(key_path)

    def _file_stamp(self) -> tuple[int, int]:
        st = os.stat(self.path)
        return st.st_ino, st.st_mtime_ns

    def refresh(self) -> bool:
        """Load the key file again if it changed; True if the signing key is now a different one."""
        try:
            stamp = self._file_stamp()
        except OSError:
            return False
        with self._lock:
            if stamp == self._stamp:
                return False
            signer = Signer.from_pem(self.path.read_bytes())
            changed = signer.kid != self._signer.kid
            self._signer, self._stamp = signer, stamp
        if changed:
            log.info("signing key is now %s", signer.kid)
        return changed

    @property
    def current(self) -> Signer:
        self.refresh()
        return self._signer

    @property
    def kid(self) -> str:
        return self.current.kid

    @property
    def public_key(self):
        return self.current.public_key

    def seal(self, msg: Message) -> bytes:
        return self.current.seal(msg)

    def seal_body(self, kind: type[Message], body: Mapping[str, Any]) -> bytes:
        """:meth:`Signer.seal_body` with the current key."""
        return self.current.seal_body(kind, body)

    def sign_detached(self, data: bytes) -> tuple[str, str]:
        """(key id, signature) of ``data`` with the current key."""
        signer = self.current
        return signer.kid, signer.sign_detached(data)


@dataclass(frozen=True)
class Rotation:
    seq: int
    retired_kid: str
    next_kid: str
    payload: bytes


def latest_rollover(db: Database) -> tuple[int, str, bytes] | None:
    """(seq, time the key file switched, signed payload) of the last rollover, if any."""
    with db.tx() as conn:
        row = conn.execute("SELECT seq, issued_at, payload FROM key_rollovers ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1], bytes(row[2])) if row else None


def unconfirmed_devices(db: Database) -> list[str]:
    """Devices not yet seen applying a plan signed after the last rollover.

    Such a device still trusts only the previous key; another rotation now would leave
    it unable to verify anything until it is enrolled again.  Revoked devices and
    devices never seen online do not count.
    """
    last = latest_rollover(db)
    if last is None:
        return []
    with db.tx() as conn:
        rows = conn.execute(
            """SELECT d.id FROM devices d
               LEFT JOIN broker_accounts a ON a.device_id = d.id
               LEFT JOIN device_plans p ON p.device_id = d.id
               WHERE a.revoked_at IS NULL AND d.last_seen IS NOT NULL
                 AND (p.plan_version IS NULL OR p.issued_at < ? OR d.plan_version_applied < p.plan_version)
               ORDER BY d.id""",
            [last[1]],
        ).fetchall()
    return [r[0] for r in rows]


def rotate(keyring: Keyring, db: Database, publish: PublishAndWait) -> Rotation:
    """Announce a new key (signed by the current one, published retained), then switch to it.

    ``publish`` must return only once the broker has the message; if it raises, nothing
    changes.  Only the retired key's public half is kept (``keys/retired/<kid>.pub``).
    """
    current = keyring.current
    nxt = Signer.generate()
    last = latest_rollover(db)
    seq = (last[0] if last else 0) + 1
    now = utcnow()
    rollover = KeyRollover(seq=seq, next_public_key=protocol.public_key_to_text(nxt.public_key),
                           retire_kid=current.kid, issued_at=now)
    payload = current.seal(rollover)
    publish(protocol.keys_topic(), payload)
    keep_public_half(current, keyring.path)
    write_secret(keyring.path, nxt.private_pem().decode("ascii"))
    keyring.refresh()
    switched_at = utcnow()  # every plan issued before this instant may carry the old key's signature
    with db.tx() as conn:
        conn["key_rollovers"].insert({"seq": seq, "retired_kid": current.kid, "next_kid": nxt.kid,
                                      "issued_at": format_time(switched_at), "payload": payload})
    log.info("rotated signing key %s -> %s (rollover #%d)", current.kid, nxt.kid, seq)
    return Rotation(seq, current.kid, nxt.kid, payload)
