"""Write playback events in bulk with exactly the rows and hash chain ingest writes, to build large logbooks.

A province-year is 30 to 50 million events; seeding that through MQTT would take hours.
This loader writes the same columns as :mod:`controller.devices.ingest` (its insert
statement, each device's chain linked from its head with :func:`hashchain.link`, the
chain head and the ack progress updated), so reports, retention and ``loaxa audit
verify`` see a database indistinguishable from one built by ingest (the per-day and the
unit rollups included).  For benchmarks and
tests only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from controller.db import Database, apply_rollup, rollup_deltas
from controller.devices.ingest import _INSERT_EVENT
from controller.reports import hashchain
from controller.reports.audit import PLAYBACK_CHAIN


@dataclass(frozen=True)
class BulkEvent:
    """One stored event, as ingest builds its row from a device's batch."""

    device_id: str
    seq: int
    kind: str
    item_id: str
    broadcast_id: str
    sha256: str
    planned_at: str
    actual_start: str | None
    duration_s: float | None
    recorded_at: str
    received_at: str
    plan_version: int = 1
    epoch: str = "e1"
    reason: str = ""
    flags: str = ""
    level_dbfs: float | None = None

    def row(self) -> dict:
        return {f: getattr(self, f) for f in PLAYBACK_CHAIN.fields}


def load(db: Database, events: Iterable[BulkEvent], batch: int = 20_000) -> int:
    """Store ``events`` (each device's in seq order) in transactions of ``batch`` rows; returns how many."""
    stored = 0
    pending: list[dict] = []
    heads: dict[str, tuple[int, str]] = {}
    progress: dict[tuple[str, str], int] = {}
    for e in events:
        key = hashchain.chain_key(PLAYBACK_CHAIN, e.device_id)
        if key not in heads:
            with db.tx() as conn:
                heads[key] = hashchain.head(conn, key)
        length, last = heads[key]
        row = e.row()
        row["prev_hash"], row["hash"] = last, hashchain.link(last, PLAYBACK_CHAIN.content(row))
        heads[key] = (length + 1, row["hash"])
        progress[(e.device_id, e.epoch)] = e.seq
        pending.append(row)
        if len(pending) >= batch:
            stored += _flush(db, pending, heads, progress)
    return stored + _flush(db, pending, heads, progress)


def _flush(db: Database, rows: list[dict], heads: dict[str, tuple[int, str]],
           progress: dict[tuple[str, str], int]) -> int:
    if not rows:
        return 0
    with db.tx() as conn:
        conn.conn.executemany(_INSERT_EVENT, rows)
        apply_rollup(conn.conn, rollup_deltas(rows))
        for chain in {hashchain.chain_key(PLAYBACK_CHAIN, r["device_id"]) for r in rows}:
            hashchain.set_head(conn, chain, *heads[chain])
        conn.conn.executemany(
            "INSERT INTO event_progress(device_id, epoch, last_seq) VALUES (?, ?, ?) "
            "ON CONFLICT(device_id, epoch) DO UPDATE SET last_seq = excluded.last_seq",
            [(d, ep, s) for (d, ep), s in progress.items()])
    n = len(rows)
    rows.clear()
    progress.clear()
    return n

