"""The audit query at province scale: one commune's week out of a million playback events.

10,000 devices (500 communes × 4 villages × 5 clusters), one daily broadcast with two
slots over four weeks on the whole province, and a ``started`` and a ``finished`` event
for every planned play: 1,120,000 events.  The events are written straight into SQLite
(seeding through MQTT would take minutes and is measured by ``bench_ingest``; the hash
columns hold 64-hex placeholders, so the file size per event is realistic); what is
timed is the report an auditor opens: the commune's planned-vs-played occurrences for one
week and their compliance summary (``audit_query_ms``, median of 7).
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from datetime import datetime, timedelta

from controller.config import ControllerConfig
from controller.service import Controller
from loaxa.local_time import LOCAL_TZ
from loaxa.config import load_config
from loaxa.wire_time import format_time
from schedules.rules import BroadcastRule
from controller.reports import logbook
from bench.province_seed import seed_province

COMMUNES, VILLAGES, CLUSTERS = 500, 4, 5
DAYS = 28
RUNS = 7

log = logging.getLogger("bench.audit_query")


def _seed(c: Controller) -> tuple[str, datetime]:
    seeded = seed_province(c, COMMUNES, VILLAGES, CLUSTERS, DAYS)
    bc, sha, first = seeded.broadcast, seeded.media_sha256, seeded.first_day
    starts = [format_time(t) for t in BroadcastRule.from_dict(bc.rule).all_occurrences()]
    with c.db.tx() as db:
        for device_id in seeded.device_ids:
            rows = []
            seq = 0
            for t in starts:
                for kind in ("started", "finished"):
                    seq += 1
                    rows.append((device_id, "e1", seq, kind, bc.id, bc.id, sha, 1, t, t, 5.0, t, t, sha, sha))
            db.conn.executemany(
                """INSERT INTO playback_events(device_id, epoch, seq, kind, item_id, broadcast_id, sha256, plan_version,
                   planned_at, actual_start, duration_s, recorded_at, received_at, prev_hash, hash)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", rows)
    week_start = datetime.combine(first + timedelta(days=7), datetime.min.time(), LOCAL_TZ)
    return "xa-250", week_start


def run() -> dict[str, float]:
    logging.getLogger("controller").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        c = Controller(load_config(ControllerConfig, env={"LOAXA_DATA_DIR": tmp, "LOAXA_AUDIO_ENGINE": "espeak",
                                                          "LOAXA_MQTT_PORT": "9"}))
        try:
            commune, since = _seed(c)
            with c.db.tx() as db:
                events = db.execute("SELECT COUNT(*) FROM playback_events").fetchone()[0]
            with c.db.lock:
                c.db.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db_bytes = c.config.db_path.stat().st_size
            until = since + timedelta(days=7)
            later = until + timedelta(days=60)
            times = []
            for _ in range(RUNS):
                t0 = time.perf_counter()
                device_ids = c.registry.resolve_targets([commune])
                occ = logbook.occurrences(c.db, c.guardrails.policy(), device_ids, since, until, now=later)
                units = {u.id: u.name for u in c.registry.units()}
                unit_of = {d: d.replace("loa-", "thon-").rsplit("-", 1)[0] for d in device_ids}
                summary = logbook.compliance(occ, units, unit_of)
                times.append((time.perf_counter() - t0) * 1000)
            played = sum(1 for o in occ if o.status == "finished")
            log.info("%d events; commune %s week: %d planned, %d played, %d rows of compliance; median %.1f ms",
                     events, commune, len(occ), played, len(summary), statistics.median(times))
            if played != len(occ) or len(occ) != 20 * 14:
                raise RuntimeError(f"unexpected report: {len(occ)} occurrences, {played} played")
        finally:
            c.db.close()
    return {"audit_query_ms": round(statistics.median(times), 2), "audit_query_events": float(events),
            "db_bytes_per_event": round(db_bytes / events, 1)}
