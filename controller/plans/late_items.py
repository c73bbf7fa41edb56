"""Warnings that must still reach a device that was offline: alert repeats and emergencies as plan items.

An emergency goes out at once as a ``play_now`` command, and an alert repeat at its instant,
but a cluster offline at that moment would never hear either.  So both also sit in the
affected devices' signed plans as items with ``late_until``: a device that reconnects inside
the window plays the item at once (the agent keeps one play per ``item_id``, so a device that
already played it, from the command or on time, never plays it again).

An alert repeat's window closes at the next repeat (or the alert's end), so a device that was
away through several repeats plays the latest one once, then goes on with the next on time.
A repeat is two rows: the attention signal (kind ``signal``) and, right after it, the words.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable

from controller.db import Database
from loaxa.protocol import PlayItem, format_time, parse_time
from schedules.tree import AdminTree

EXPIRY_GRACE = timedelta(minutes=10)


def late_items(db: Database, tree: AdminTree, now: datetime,
               device_ids: Iterable[str] | None = None) -> dict[str, list[PlayItem]]:
    """Per device, the alert repeats and emergencies whose late window is still open at ``now``."""
    wanted = set(device_ids) if device_ids is not None else None
    stamp = format_time(now)
    with db.tx() as conn:
        repeats = conn.execute(
            """SELECT r.item_id, r.alert_id, r.kind, r.at, r.late_until, d.unit_id, m.sha256, m.size, m.ext, m.duration_s, b.title
               FROM alert_repeats r JOIN alert_decisions d ON d.id = r.decision_id
               JOIN bulletins b ON b.id = r.bulletin_id JOIN media m ON m.sha256 = b.media_sha256
               WHERE r.status = 'planned' AND r.late_until > ? ORDER BY r.at, r.item_id""", [stamp]).fetchall()
        emergencies = conn.execute(
            """SELECT bc.id, bc.starts_at, bc.late_until, bd.device_id, m.sha256, m.size, m.ext, m.duration_s, b.title
               FROM broadcasts bc JOIN broadcast_devices bd ON bd.broadcast_id = bc.id
               JOIN bulletins b ON b.id = bc.bulletin_id JOIN media m ON m.sha256 = b.media_sha256
               WHERE bc.kind = 'emergency' AND bc.status = 'approved' AND bc.late_until > ?""", [stamp]).fetchall()
    out: dict[str, list[PlayItem]] = {}
    claimed: set[tuple[str, str, str, str]] = set()  # (device, alert, kind, instant): one unit's copy per device
    cache: dict[str, PlayItem] = {}
    for item_id, alert_id, kind, at, late_until, unit_id, sha, size, ext, duration, title in repeats:
        if unit_id not in tree:
            continue
        item = cache.get(item_id)
        if item is None:
            start, until = parse_time(at, "at"), parse_time(late_until, "late_until")
            item = cache[item_id] = PlayItem(
                item_id=item_id, start=start, sha256=sha, size=size, ext=ext, duration_s=duration, priority="emergency",
                expires_at=max(start + timedelta(seconds=duration), until) + EXPIRY_GRACE, broadcast_id=alert_id,
                title=(title or "")[:200], late_until=until)
        for device_id in sorted(tree.devices_under([unit_id])):
            if wanted is not None and device_id not in wanted:
                continue
            key = (device_id, alert_id, kind, at)
            if key in claimed:
                continue
            claimed.add(key)
            out.setdefault(device_id, []).append(item)
    for broadcast_id, starts_at, late_until, device_id, sha, size, ext, duration, title in emergencies:
        if (wanted is not None and device_id not in wanted) or device_id not in tree:
            continue
        start, until = parse_time(starts_at, "starts_at"), parse_time(late_until, "late_until")
        out.setdefault(device_id, []).append(PlayItem(
            item_id=broadcast_id, start=start, sha256=sha, size=size, ext=ext, duration_s=duration,
            priority="emergency", expires_at=max(start + timedelta(seconds=duration), until) + EXPIRY_GRACE,
            broadcast_id=broadcast_id, title=(title or "")[:200], late_until=until))
    return out
