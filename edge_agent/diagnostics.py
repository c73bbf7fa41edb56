"""Diagnostics on request: the agent's last log lines, its state, store statistics and the
installed releases, uploaded to the controller over the authenticated media channel.

Log lines are kept in memory (the journal is not readable by the agent's unprivileged
user); the upload is bounded, dropping the oldest lines first.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import ssl
import threading
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edge_agent.media_cache import basic_auth

log = logging.getLogger(__name__)

KEEP_LINES = 500
MAX_UPLOAD = 200 * 1024


class RecentLog(logging.Handler):
    """The last ``KEEP_LINES`` log lines of this process."""

    def __init__(self, keep: int = KEEP_LINES):
        super().__init__(logging.INFO)
        self.lines: collections.deque[str] = collections.deque(maxlen=keep)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # noqa: BLE001 - logging must never raise
            return
        with self._guard:
            self.lines.append(line[:2000])

    def tail(self) -> list[str]:
        with self._guard:
            return list(self.lines)


def bounded(doc: dict[str, Any], lines: list[str], limit: int = MAX_UPLOAD) -> bytes:
    """The document with as many of the newest log lines as fit in ``limit`` bytes."""
    lo, hi = 0, len(lines)
    best = json.dumps(dict(doc, log=[]), ensure_ascii=False).encode()
    while lo <= hi:  # binary search on how many of the newest lines fit
        mid = (lo + hi) // 2
        body = json.dumps(dict(doc, log=lines[len(lines) - mid:]), ensure_ascii=False).encode()
        if len(body) <= limit:
            best, lo = body, mid + 1
        else:
            hi = mid - 1
    return best


def store_stats(db_path: Path, store) -> dict[str, Any]:
    try:
        size = os.path.getsize(db_path)
    except OSError:
        size = 0
    return {"db_bytes": size, "outbox": store.outbox_size(), "media_files": len(store.media_entries())}


def upload(base_url: str, device_id: str, auth: tuple[str, str] | None, body: bytes, timeout: float = 30,
           context: ssl.SSLContext | None = None) -> bool:
    req = urllib.request.Request(f"{base_url.rstrip('/')}/fleet/diagnostics", data=body, method="POST",
                                 headers={"Content-Type": "application/json", "X-Loaxa-Device": device_id})
    if auth:
        req.add_header("Authorization", basic_auth(auth))
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError) as exc:
        log.error("diagnostics upload failed: %s", exc)
        return False


def host_boot_time(stat: Path = Path("/proc/stat")) -> datetime | None:
    """When the host last booted (``btime`` of /proc/stat), so a reboot ordered remotely shows as a new boot."""
    try:
        for line in stat.read_text().splitlines():
            if line.startswith("btime "):
                return datetime.fromtimestamp(int(line.split()[1]), timezone.utc)
    except (OSError, ValueError):
        log.debug("no boot time in %s", stat)
    return None
