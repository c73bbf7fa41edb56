"""Retention on a real SQLite file: pruning the old half of a 1,000-device logbook.

1,000 devices with 100 chained playback events each, the older half beyond the retention
window; measures one ``Retention.run`` (prefix checks, anchors, deletes, the audit entry),
which holds the database lock for its whole duration.  Figures:
``retention_pruned_events_per_s`` and ``retention_run_s`` (50,000 of 100,000 rows pruned).
"""

from __future__ import annotations

import tempfile
import time
from datetime import timedelta
from pathlib import Path

from controller.reports import hashchain
from controller.reports.audit import PLAYBACK_CHAIN, verify_all
from controller.db import Database
from controller.operations.retention import Retention
from controller.operations.retention_settings import RetentionSettings
from loaxa.wire_time import format_time, utcnow

DEVICES = 1000
EVENTS_PER_DEVICE = 100
COLS = (*PLAYBACK_CHAIN.fields, "prev_hash", "hash")
INSERT = f"INSERT INTO playback_events({', '.join(COLS)}) VALUES ({', '.join(':' + c for c in COLS)})"


def run() -> dict[str, float]:
    now = utcnow()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "loaxa.db")
        with db.tx() as conn:
            for d in range(DEVICES):
                device = f"loa-{d:04d}"
                rows = []
                for seq in range(1, EVENTS_PER_DEVICE + 1):
                    at = format_time(now - timedelta(days=1000 if seq <= EVENTS_PER_DEVICE // 2 else 10))
                    rows.append({f: None for f in PLAYBACK_CHAIN.fields} | {
                        "device_id": device, "epoch": "e1", "seq": seq, "kind": "finished", "item_id": "bc-1",
                        "broadcast_id": "bc-1", "sha256": "ab" * 32, "plan_version": 1, "reason": "", "flags": "",
                        "recorded_at": at, "received_at": at, "duration_s": 60.0})
                hashchain.append(conn, PLAYBACK_CHAIN, device, rows, lambda r: conn.execute(INSERT, r).rowcount == 1)
        start = time.perf_counter()
        report = Retention(db, RetentionSettings(), Path(tmp) / "media").run(now=now)
        run_s = time.perf_counter() - start
        assert report.playback_events == DEVICES * EVENTS_PER_DEVICE // 2
        assert all(r.ok for r in verify_all(db))
        db.close()
    return {"retention_run_s": run_s, "retention_pruned_events_per_s": report.playback_events / run_s}
