"""Builds each device's complete upcoming plan from the scheduled broadcasts."""

from __future__ import annotations

from datetime import datetime, timedelta

from controller.db import Database
from loaxa.protocol import PlayItem, format_time, parse_time


def plan_items(db: Database, device_id: str, now: datetime, horizon: timedelta) -> tuple[PlayItem, ...]:
    """Every play for ``device_id`` that is still running or starts within the horizon."""
    with db.tx() as conn:
        rows = list(conn.query(
            """SELECT bc.id AS broadcast_id, bc.starts_at, bc.priority, b.title,
                      m.sha256, m.ext, m.size, m.duration_s
               FROM broadcast_devices bd
               JOIN broadcasts bc ON bc.id = bd.broadcast_id
               JOIN bulletins b ON b.id = bc.bulletin_id
               JOIN media m ON m.sha256 = b.media_sha256
               WHERE bd.device_id = ? AND bc.status = 'scheduled'
                 AND bc.starts_at <= ? AND bc.starts_at >= ?
               ORDER BY bc.starts_at, bc.id""",
            [device_id, format_time(now + horizon), format_time(now - timedelta(hours=6))],
        ))
    items = []
    for r in rows:
        start = parse_time(r["starts_at"], "starts_at")
        end = start + timedelta(seconds=r["duration_s"])
        if end < now:
            continue
        items.append(
            PlayItem(
                item_id=r["broadcast_id"],
                start=start,
                sha256=r["sha256"],
                size=r["size"],
                ext=r["ext"],
                duration_s=r["duration_s"],
                priority=r["priority"],
                expires_at=end + timedelta(minutes=10),
                broadcast_id=r["broadcast_id"],
                title=r["title"][:200],
            )
        )
    return tuple(items)
