"""The bulk loader writes what ingest writes: same columns, same per-device hash chain, and ingest continues it."""

from __future__ import annotations

from controller.devices.ingest import Ingest
from controller.devtools.bulk_events import BulkEvent, load
from controller.reports import hashchain
from controller.reports.audit import PLAYBACK_CHAIN
from loaxa.protocol import EventBatch, PlaybackEvent
from loaxa.wire_time import format_time, utcnow
from support.world import make_world


def test_bulk_loaded_events_verify_and_ingest_appends_to_their_chains(tmp_path):
    c = make_world(tmp_path).controller
    try:
        t = format_time(utcnow())
        bulk = [BulkEvent(d, seq, kind, "bc-1", "bc-1", "a" * 64, t, t, 5.0, t, t)
                for d in ("loa-a", "loa-b") for seq, kind in enumerate(("started", "finished") * 3, start=1)]
        assert load(c.db, bulk, batch=4) == 12
        acks: list[tuple[str, str, int]] = []
        now = utcnow()
        batch = EventBatch(device_id="loa-a", epoch="e1", events=tuple(
            PlaybackEvent(seq=s, kind="finished", recorded_at=now, item_id="bc-2", broadcast_id="bc-2",
                          sha256="b" * 64, plan_version=1, planned_at=now, actual_start=now, duration_s=4.0)
            for s in (7, 8)))
        Ingest(c.db, c.registry, lambda *a: acks.append(a)).on_events("loa-a", batch)
        assert acks == [("loa-a", "e1", 8)]  # ingest's progress continues from the loader's
        with c.db.tx() as db:
            report = hashchain.verify(db, PLAYBACK_CHAIN)
            rows = [dict(r) for r in db.query("SELECT * FROM playback_events WHERE device_id = 'loa-a' ORDER BY seq")]
        assert report.ok and report.rows == 14 and report.chains == 2, report.problems
        assert [r["seq"] for r in rows] == list(range(1, 9))
        loaded, ingested = rows[5], rows[6]
        assert {k for k, v in loaded.items() if v is None} == {k for k, v in ingested.items() if v is None}
        assert ingested["prev_hash"] == loaded["hash"]
    finally:
        c.db.close()
