"""Whether a playback record can be believed: the device's own key, and what it was sent.

A pole's broker password is a weak witness: whoever copies it off the SD card can publish
``started`` and ``finished`` for a broadcast that never aired.  So each device holds its own
Ed25519 key, made at enrollment (the private half never leaves the pole), and seals every
event batch with it.  Even a correctly signed batch is vetted against what the controller
knows: an event for an item never sent to that device, a start before the item was first
delivered or in the future, or a play longer than the item's media is refused (kept aside in
``refused_events``, audited, never in the logbook).  A batch under an epoch the device never
used before, while it already has one, is stored but flagged for review: a fresh outbox is
what a reinstalled pole has, and also what a forger starts with.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from controller.db import Database
from controller.errors import Conflict, InputError, NotFound
from controller.tree_records import FlaggedEpoch
from loaxa import protocol
from loaxa.protocol import EventBatch, PlaybackEvent, PlayItem, ProtocolError, SignatureError
from loaxa.wire_time import format_time, parse_time

log = logging.getLogger(__name__)

# Events that say something aired, or failed to: each names an item the device was sent.
ITEM_KINDS = frozenset({"started", "finished", "interrupted", "skipped", "failed", "stream_started",
                        "stream_finished", "stream_gap"})
# A pole's clock may be this far from the controller's before its times count as impossible.
CLOCK_TOLERANCE = timedelta(seconds=60)
# A play may report this much more than its media's length (buffers, rounding) before it is refused.
DURATION_SLACK_S = 5.0


def valid_public_key(text: object) -> str:
    """A device's public key as sent at enrollment (base64 Ed25519), or a Vietnamese 400."""
    if not isinstance(text, str) or len(text) > 100:
        raise InputError("invalid_device_key", "Khóa công khai của cụm loa không hợp lệ.", "device_public_key")
    try:
        protocol.public_key_from_text(text)
    except ProtocolError:
        raise InputError("invalid_device_key", "Khóa công khai của cụm loa không hợp lệ.", "device_public_key") from None
    return text.strip()


class DeviceKeys:
    """The public halves of the devices' keys; one active key per device."""

    def __init__(self, db: Database):
        self.db = db

    def register(self, device_id: str, public_key_text: str, now: datetime) -> str:
        """Make ``public_key_text`` the device's only active key (enrollment); returns its key id."""
        kid = protocol.key_id(protocol.public_key_from_text(public_key_text))
        stamp = format_time(now)
        with self.db.tx() as db:
            db.execute("UPDATE device_keys SET retired_at = ? WHERE device_id = ? AND retired_at IS NULL AND kid != ?",
                       [stamp, device_id, kid])
            db.execute("INSERT INTO device_keys(device_id, kid, public_key, enrolled_at) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT(device_id, kid) DO UPDATE SET retired_at = NULL, enrolled_at = excluded.enrolled_at",
                       [device_id, kid, public_key_text, stamp])
        return kid

    def retire(self, device_id: str, now: datetime) -> int:
        """Revocation: the device's key signs nothing the controller accepts any more."""
        with self.db.tx() as db:
            return db.execute("UPDATE device_keys SET retired_at = ? WHERE device_id = ? AND retired_at IS NULL",
                              [format_time(now), device_id]).rowcount

    def active(self, device_id: str) -> list[Ed25519PublicKey]:
        with self.db.tx() as db:
            rows = db.execute("SELECT public_key FROM device_keys WHERE device_id = ? AND retired_at IS NULL",
                              [device_id]).fetchall()
        return [protocol.public_key_from_text(r[0]) for r in rows]

    def active_kid(self, device_id: str) -> str | None:
        with self.db.tx() as db:
            row = db.execute("SELECT kid FROM device_keys WHERE device_id = ? AND retired_at IS NULL",
                             [device_id]).fetchone()
        return row[0] if row else None

    def ever_had_key(self, device_id: str) -> bool:
        with self.db.tx() as db:
            return db.execute("SELECT 1 FROM device_keys WHERE device_id = ? LIMIT 1", [device_id]).fetchone() is not None

    def open_batch(self, device_id: str, payload: bytes, require: bool) -> EventBatch:
        """The batch, verified with the device's active key.

        A device with a key (now or once: a revoked one) must sign with its active key. A
        device that never had one is accepted unsigned only when ``require`` is off.
        """
        keys = self.active(device_id)
        if keys:
            return protocol.Verifier(keys).open(payload, EventBatch)
        if require or self.ever_had_key(device_id):
            raise SignatureError(f"no active key for device {device_id!r}: its events are refused")
        return protocol.decode(payload, EventBatch)


def record_sent(db: Database, device_ids: Iterable[str], items: Iterable[PlayItem], now: datetime) -> None:
    """Remember that these items went to these devices: the first delivery, the earliest instant
    and the longest media any copy named (an edited broadcast keeps its item id)."""
    items = list(items)
    if not items:
        return
    stamp = format_time(now)
    with db.tx() as conn:
        conn.conn.executemany(
            "INSERT INTO device_items(device_id, item_id, broadcast_id, sent_at, starts_at, duration_s) "
            "VALUES (?,?,?,?,?,?) ON CONFLICT(device_id, item_id) DO UPDATE SET "
            "starts_at = MIN(starts_at, excluded.starts_at), duration_s = MAX(duration_s, excluded.duration_s)",
            [(d, i.item_id, i.broadcast_id, stamp, format_time(i.start), float(i.duration_s))
             for d in device_ids for i in items])


@dataclass(frozen=True)
class Refusal:
    event: PlaybackEvent
    reason: str


def vet(db: Database, device_id: str, batch: EventBatch, received: datetime) -> tuple[list[PlaybackEvent], list[Refusal]]:
    """Split a verified batch into the events to store and those refused, with the reason.

    ``before_its_time`` (a start ahead of the item's own instant) is what a record for a
    broadcast that has not aired yet looks like.
    """
    ids = sorted({e.item_id for e in batch.events if e.item_id and e.kind in ITEM_KINDS})
    sent: dict[str, tuple[datetime, datetime, float]] = {}
    with db.tx() as conn:
        for at in range(0, len(ids), 500):
            chunk = ids[at:at + 500]
            for item_id, sent_at, starts_at, duration in conn.execute(
                    f"SELECT item_id, sent_at, starts_at, duration_s FROM device_items WHERE device_id = ? "
                    f"AND item_id IN ({', '.join('?' * len(chunk))})", [device_id, *chunk]).fetchall():
                sent[item_id] = (parse_time(sent_at, "sent_at"), parse_time(starts_at, "starts_at"), duration)
    accepted: list[PlaybackEvent] = []
    refused: list[Refusal] = []
    for e in batch.events:
        reason = _implausible(e, sent, received)
        if reason:
            refused.append(Refusal(e, reason))
        else:
            accepted.append(e)
    return accepted, refused


def _implausible(e: PlaybackEvent, sent: dict[str, tuple[datetime, datetime, float]], received: datetime) -> str:
    if e.recorded_at > received + CLOCK_TOLERANCE or (e.actual_start and e.actual_start > received + CLOCK_TOLERANCE):
        return "in_the_future"
    if e.kind not in ITEM_KINDS or not e.item_id:
        return ""
    if e.item_id not in sent:
        return "never_sent"
    delivered, starts, media_s = sent[e.item_id]
    if e.actual_start is not None and e.actual_start < delivered - CLOCK_TOLERANCE:
        return "before_delivery"
    if e.actual_start is not None and e.actual_start < starts - CLOCK_TOLERANCE:
        return "before_its_time"  # the conductor never starts an item early: this one has not aired
    if e.duration_s is not None and media_s > 0 and e.duration_s > media_s + max(DURATION_SLACK_S, media_s * 0.05):
        return "longer_than_media"
    return ""


def store_refusals(db: Database, device_id: str, epoch: str, refused: list[Refusal], received: datetime) -> None:
    stamp = format_time(received)
    with db.tx() as conn:
        conn.conn.executemany(
            "INSERT OR IGNORE INTO refused_events(device_id, epoch, seq, kind, item_id, reason, received_at, event_json) "
            "VALUES (?,?,?,?,?,?,?,?)",
            [(device_id, epoch, r.event.seq, r.event.kind, r.event.item_id, r.reason, stamp,
              json.dumps(r.event.to_dict(), ensure_ascii=False)) for r in refused])


def note_epoch(db: Database, device_id: str, epoch: str, received: datetime) -> bool:
    """Record the batch's epoch; True when it is new for a device that already had another."""
    with db.tx() as conn:
        if conn.execute("SELECT 1 FROM device_epochs WHERE device_id = ? AND epoch = ?", [device_id, epoch]).fetchone():
            return False
        had = conn.execute("SELECT 1 FROM device_epochs WHERE device_id = ? LIMIT 1", [device_id]).fetchone()
        if had is None:  # events stored before epochs were tracked count as the device's first epoch
            had = conn.execute("SELECT 1 FROM playback_events WHERE device_id = ? AND epoch != ? LIMIT 1",
                               [device_id, epoch]).fetchone()
        conn.execute("INSERT INTO device_epochs(device_id, epoch, first_seen, needs_review) VALUES (?, ?, ?, ?)",
                     [device_id, epoch, format_time(received), int(had is not None)])
    return had is not None


def epochs_to_review(db: Database, device_id: str) -> list[FlaggedEpoch]:
    """The device's new epochs nobody has reviewed yet, oldest first."""
    with db.tx() as conn:
        rows = conn.execute("SELECT epoch, first_seen FROM device_epochs WHERE device_id = ? AND needs_review = 1 "
                            "AND reviewed_at IS NULL ORDER BY first_seen", [device_id]).fetchall()
    return [FlaggedEpoch(e, t) for e, t in rows]


@dataclass(frozen=True)
class EpochReview:
    """A flagged epoch someone looked into: who, when, and what they found."""

    device_id: str
    epoch: str
    first_seen: str
    reviewed_by: str
    reviewed_at: str
    note: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def mark_epoch_reviewed(conn: Any, device_id: str, epoch: str, by: str, at: datetime) -> str:
    """Close a flagged epoch inside the caller's transaction; returns its ``first_seen``.

    Unknown (or never flagged) epochs are ``unknown_epoch``; a second review is ``already_reviewed``:
    the first reviewer stays on record."""
    row = conn.execute("SELECT first_seen, needs_review, reviewed_at FROM device_epochs WHERE device_id = ? AND epoch = ?",
                       [device_id, epoch]).fetchone()
    if row is None or not row[1]:
        raise NotFound("unknown_epoch", f"Cụm loa {device_id} không có phiên '{epoch}' cần xem xét.")
    if row[2] is not None:
        raise Conflict("already_reviewed", f"Phiên '{epoch}' đã được xem xét lúc {row[2]}.")
    conn.execute("UPDATE device_epochs SET reviewed_by = ?, reviewed_at = ? WHERE device_id = ? AND epoch = ?",
                 [by, format_time(at), device_id, epoch])
    return row[0]
