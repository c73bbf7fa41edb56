"""Hash-chained storage of playback events and audit entries, in process on a real SQLite file.

Measures ``Ingest.on_events`` (validate-free: batches are already decoded) storing batches
of 4 events for 500 devices, each row chained to its device's previous one in the same
transaction; then ``loaxa audit verify`` speed, and single audit entries per second.
Figures: ``chain_ingest_events_per_s`` (target ≥ 5,000), ``chain_verify_rows_per_s``,
``audit_records_per_s``.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from controller.reports.audit import AuditTrail, verify_all
from controller.db import Database
from controller.devices.ingest import Ingest
from controller.devices.registry import Registry
from loaxa.protocol import EventBatch, PlaybackEvent
from loaxa.wire_time import utcnow

DEVICES = 500
BATCHES_PER_DEVICE = 10
EVENTS_PER_BATCH = 4
AUDIT_ENTRIES = 2000


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "loaxa.db")
        registry = Registry(db)
        registry.add_unit("xa", "Xã", None, "commune")
        devices = [f"loa-{i:04d}" for i in range(DEVICES)]
        with db.tx() as conn:
            conn["devices"].insert_all({"id": d, "name": d, "unit_id": "xa", "created_at": "2026-01-01T00:00:00Z"}
                                       for d in devices)
        ingest = Ingest(db, registry, lambda *a: None)
        now = utcnow()
        batches = [
            EventBatch(device_id=d, epoch="e1", events=tuple(
                PlaybackEvent(seq=b * EVENTS_PER_BATCH + k + 1, kind="finished", recorded_at=now, item_id="bc-1",
                              broadcast_id="bc-1", sha256="ab" * 32, plan_version=1, planned_at=now, actual_start=now,
                              duration_s=60.0)
                for k in range(EVENTS_PER_BATCH)))
            for b in range(BATCHES_PER_DEVICE) for d in devices
        ]
        start = time.perf_counter()
        for batch in batches:
            ingest.on_events(batch.device_id, batch)
        ingest_s = time.perf_counter() - start
        events = len(batches) * EVENTS_PER_BATCH

        start = time.perf_counter()
        reports = verify_all(db)
        verify_s = time.perf_counter() - start
        assert all(r.ok for r in reports)

        audit = AuditTrail(db)
        logging.getLogger("controller.reports.audit").setLevel(logging.WARNING)  # one log line per entry otherwise
        start = time.perf_counter()
        for i in range(AUDIT_ENTRIES):
            audit.record("bench", "login", f"user-{i}", {"via": "password"}, "127.0.0.1")
        audit_s = time.perf_counter() - start
        db.close()
    return {
        "chain_ingest_events_per_s": round(events / ingest_s, 1),
        "chain_verify_rows_per_s": round(events / verify_s, 1),
        "audit_records_per_s": round(AUDIT_ENTRIES / audit_s, 1),
    }
