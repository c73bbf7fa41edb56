"""Per-device stream accounts: who may listen to the controller's Icecast mounts.

Each device gets its own listener name and password, issued the first time a plan or a
command gives it a stream; they travel inside that signed item.  Icecast checks them
against the listener file written here, so revoking a device (or its stream account)
refuses it at its next connection, and :meth:`StreamAccounts.revoke` also asks the running
server to drop its open connections.

The password is kept in clear in the database because the controller must put it into
every plan it signs; it opens nothing but listening.
"""

from __future__ import annotations

import base64
import logging
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from xml.etree import ElementTree

from controller.db import Database
from controller.streaming.icecast_config import IcecastLayout, write_listeners
from loaxa.protocol import format_time, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamAccount:
    device_id: str
    username: str
    password: str


class StreamAccounts:
    """The ``stream_accounts`` table and the Icecast listener file it is mirrored to."""

    def __init__(self, db: Database, layout: IcecastLayout | None = None, admin_url: str = "",
                 admin_password: str = ""):
        self.db = db
        self.layout = layout
        self.admin_url = admin_url.rstrip("/")
        self.admin_password = admin_password

    def for_device(self, device_id: str) -> StreamAccount | None:
        """The device's account, issued on first use; None once revoked."""
        with self.db.tx() as db:
            row = db.execute("SELECT username, password, revoked_at FROM stream_accounts WHERE device_id = ?",
                             [device_id]).fetchone()
            if row is None:
                username, password = f"d-{device_id}", secrets.token_urlsafe(18)
                db["stream_accounts"].insert({"device_id": device_id, "username": username, "password": password,
                                              "issued_at": format_time(utcnow()), "revoked_at": None})
                issued = True
            else:
                username, password, revoked = row
                if revoked:
                    return None
                issued = False
        if issued:
            self.sync()
        return StreamAccount(device_id, username, password)

    def for_devices(self, device_ids: list[str]) -> dict[str, StreamAccount]:
        out = {}
        for d in device_ids:
            acc = self.for_device(d)
            if acc is not None:
                out[d] = acc
        return out

    def revoke(self, device_id: str) -> bool:
        """Refuse the device from now on; drop any connection it has open."""
        with self.db.tx() as db:
            row = db.execute("SELECT username FROM stream_accounts WHERE device_id = ?", [device_id]).fetchone()
            if row is None:
                db["stream_accounts"].insert({"device_id": device_id, "username": f"d-{device_id}",
                                              "password": secrets.token_urlsafe(18), "issued_at": format_time(utcnow()),
                                              "revoked_at": format_time(utcnow())})
                changed = True
            else:
                cur = db.execute("UPDATE stream_accounts SET revoked_at = ? WHERE device_id = ? AND revoked_at IS NULL",
                                 [format_time(utcnow()), device_id])
                changed = cur.rowcount > 0
        self.sync()
        if row is not None:
            self._kick(row[0])
        return changed

    def active(self) -> list[StreamAccount]:
        with self.db.tx() as db:
            rows = db.execute("SELECT device_id, username, password FROM stream_accounts WHERE revoked_at IS NULL "
                              "ORDER BY device_id").fetchall()
        return [StreamAccount(*r) for r in rows]

    def sync(self) -> None:
        """Mirror the active accounts into Icecast's listener file."""
        if self.layout is not None:
            write_listeners(self.layout, [(a.username, a.password) for a in self.active()])

    # the running server ----------------------------------------------------------------------
    def _admin(self, path: str, params: dict[str, str]) -> bytes:
        url = f"{self.admin_url}/admin/{path}?{urllib.parse.urlencode(params)}"
        req = urllib.request.Request(url, headers={
            "Authorization": "Basic " + base64.b64encode(f"admin:{self.admin_password}".encode()).decode()})
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - our own loopback server
            return resp.read()

    def mounted(self, mount: str) -> bool:
        """Whether a source is on ``mount`` now (Icecast's own list); False when it cannot say."""
        if not self.admin_url:
            return False
        try:
            mounts = ElementTree.fromstring(self._admin("listmounts", {}))
        except (OSError, urllib.error.URLError, ElementTree.ParseError):
            return False
        return any(source.get("mount", "") == mount for source in mounts.iter("source"))

    def _kick(self, username: str) -> None:
        """Close the revoked listener's open connections (the file only stops new ones)."""
        if not self.admin_url:
            return
        try:
            mounts = ElementTree.fromstring(self._admin("listmounts", {"with_listeners": "1"}))
            for source in mounts.iter("source"):
                mount = source.get("mount", "")
                for listener in source.iter("listener"):
                    if (listener.findtext("username") or "") == username:
                        self._admin("killclient", {"mount": mount, "id": listener.findtext("ID") or ""})
                        log.info("dropped %s from %s", username, mount)
        except (OSError, urllib.error.URLError, ElementTree.ParseError) as exc:
            log.warning("could not drop %s's open streams: %s", username, exc)
