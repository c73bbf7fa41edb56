"""Which media a device may download: only what was addressed to it.

A stolen device credential must not open a province's whole media archive (bulletins for
one commune only, emergencies, unapproved drafts).  A device may fetch a file when it is
the media, or the MP3 fallback of the media, of a broadcast (scheduled or emergency, any
status but ``draft``) that reaches the device, or when it is the test tone:

- a broadcast reaches a device when the device was among the devices resolved when the
  broadcast was stored (``broadcast_devices``), or when one of its targets is the device
  itself or a unit above it now; the planner resolves targets against the current tree,
  so a pole enrolled or moved after scheduling gets plan items the stored set lacks;
- a cancelled or finished broadcast still counts: a device that retries a download after
  a cancellation race must not be refused, and what it fetches was meant for it anyway;
- drafts were never sent to anyone, so they do not count;
- the test tone (media ``engine = TEST_TONE_ENGINE``, made by the devices page) is one
  generated 1 kHz sine shared by all devices and carries no content; every enrolled
  device may fetch it.

The whole decision is one query on indexed columns (migration ``m009_media_scope``).
"""

from __future__ import annotations

import enum
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from controller.db import Database

log = logging.getLogger(__name__)

TEST_TONE_ENGINE = "test_tone"


class Access(enum.Enum):
    ALLOWED = "allowed"
    DENIED = "denied"
    UNKNOWN = "unknown"


# The only names media are served under, to devices and to people: ``<64 hex>.ogg|mp3``.
MEDIA_NAME_RE = re.compile(r"^([0-9a-f]{64})\.(ogg|mp3)$")
MEDIA_TYPES = {"ogg": "audio/ogg", "mp3": "audio/mpeg"}


@dataclass(frozen=True)
class MediaFile:
    """A file of the media store the database knows, under its content address."""

    sha256: str
    ext: str
    path: Path

    @property
    def mimetype(self) -> str:
        return MEDIA_TYPES[self.ext]


def media_name(name: str) -> tuple[str, str] | None:
    """``(sha256, ext)`` of a media file name, or None for any other name (no path can escape the store)."""
    m = MEDIA_NAME_RE.match(name)
    return (m.group(1), m.group(2)) if m else None


_KNOWN_SQL = "SELECT 1 FROM media WHERE sha256 = ? AND ext = ?"

_SCOPE_SQL = """
WITH RECURSIVE
    up(id) AS (
        SELECT unit_id FROM devices WHERE id = :device
        UNION SELECT u.parent_id FROM units u JOIN up ON u.id = up.id WHERE u.parent_id IS NOT NULL),
    wanted(sha) AS (
        SELECT :sha UNION SELECT sha256 FROM media WHERE fallback_sha256 = :sha)
SELECT m.engine = :tone OR EXISTS (
    SELECT 1 FROM bulletins b JOIN broadcasts bc ON bc.bulletin_id = b.id
    WHERE b.media_sha256 IN wanted AND bc.status != 'draft'
      AND (EXISTS (SELECT 1 FROM broadcast_devices bd WHERE bd.broadcast_id = bc.id AND bd.device_id = :device)
           OR EXISTS (SELECT 1 FROM json_each(bc.targets_json) t WHERE t.value = :device OR t.value IN up)))
FROM media m WHERE m.sha256 = :sha AND m.ext = :ext
"""


class MediaAccess:
    """Decides media downloads and counts the refusals (``/metrics``: ``loaxa_media_downloads_denied``)."""

    def __init__(self, db: Database):
        self.db = db
        self._denied = 0
        self._lock = threading.Lock()

    @property
    def denied(self) -> int:
        return self._denied

    def known(self, sha256: str, ext: str) -> bool:
        """Whether the media index has this file (the whole check when downloads need no credentials)."""
        with self.db.tx() as db:
            return db.execute(_KNOWN_SQL, [sha256, ext]).fetchone() is not None

    def stored(self, name: str, media_dir: Path) -> MediaFile | None:
        """The known file ``name`` of the media store, or None (a bad name, unknown, or gone from disk)."""
        parsed = media_name(name)
        if parsed is None or not self.known(*parsed):
            return None
        path = media_dir / name
        return MediaFile(parsed[0], parsed[1], path) if path.is_file() else None

    def decide(self, device_id: str, sha256: str, ext: str) -> Access:
        """Whether ``device_id`` may download ``<sha256>.<ext>``; refusals are logged and counted."""
        with self.db.tx() as db:
            row = db.execute(_SCOPE_SQL, {"device": device_id, "sha": sha256, "ext": ext,
                                          "tone": TEST_TONE_ENGINE}).fetchone()
        if row is None:
            return Access.UNKNOWN
        if row[0]:
            return Access.ALLOWED
        with self._lock:
            self._denied += 1
        log.info("media %s… refused: nothing sent to device %s uses it", sha256[:12], device_id,
                 extra={"device_id": device_id})
        return Access.DENIED


_PERSON_SQL = """
WITH wanted(sha) AS (SELECT :sha UNION SELECT sha256 FROM media WHERE fallback_sha256 = :sha)
SELECT b.created_by, bd.device_id FROM bulletins b
LEFT JOIN broadcasts bc ON bc.bulletin_id = b.id AND bc.status != 'draft'
LEFT JOIN broadcast_devices bd ON bd.broadcast_id = bc.id
WHERE b.media_sha256 IN wanted
"""


def person_may_hear(db: Database, sha256: str, may_read_author: Callable[[str], bool],
                    has_device: Callable[[str], bool]) -> bool:
    """Whether a signed-in person may play ``sha256`` in the UI (previews, approvals, the log).

    Theirs to hear: the test tone; the audio of a bulletin whose author they may read; or of
    a bulletin sent (any status but draft) to at least one of their speakers, which is how
    an approver hears what a province official asks to play in their commune.
    """
    with db.tx() as conn:
        tone = conn.execute("SELECT 1 FROM media WHERE sha256 = ? AND engine = ?", [sha256, TEST_TONE_ENGINE]).fetchone()
        if tone:
            return True
        rows = conn.execute(_PERSON_SQL, {"sha": sha256}).fetchall()
    authors = {r[0] or "" for r in rows}
    return any(has_device(r[1]) for r in rows if r[1]) or any(may_read_author(a) for a in authors)
