"""A province-year logbook: the commune-week compliance report and ingest, on a database built by the bulk loader.

10,000 devices (500 communes × 4 villages × 5 clusters), one broadcast on the whole
province with two slots a day, a ``started`` and a ``finished`` event per play: 40,000
events a day.  A province-year is 30 to 50 million events; the full run
(``LOAXA_BENCH_PROVINCE_EVENTS=30000000``) takes hours of loading on a 2-core machine, so
the default is a **scaled** run of 2 million events (50 days).  The keys keep the names
of the target (``audit_query_30m_ms``, ``ingest_events_per_s_30m``) and
``province_year_events`` says how many events the database actually held.

Rows are written by :mod:`controller.devtools.bulk_events`: the columns and per-device
hash chain ingest writes.  Timed: the commune-week compliance report (p95 of 20) and
ingest itself (validation, storage, hash chain and ack progress, without MQTT, which
``bench_ingest`` measures) of 20,000 new events on top of that database.
"""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from typing import Iterator

from controller.config import ControllerConfig
from controller.devices.ingest import Ingest
from controller.devtools.bulk_events import BulkEvent, load
from controller.plan_expansion import planned_items
from controller.reports import logbook
from bench.province_seed import seed_province
from controller.service import Controller
from loaxa.config import load_config
from loaxa.local_time import LOCAL_TZ
from loaxa.protocol import EventBatch, PlaybackEvent
from loaxa.wire_time import format_time, utcnow

COMMUNES, VILLAGES, CLUSTERS = 500, 4, 5
EVENTS_PER_DAY = COMMUNES * VILLAGES * CLUSTERS * 2 * 2
RUNS = 20
INGEST_EVENTS, BATCH = 20_000, 50

log = logging.getLogger("bench.province_year")


def _seed(c: Controller, days: int) -> tuple[str, datetime, list[str], str, str]:
    seeded = seed_province(c, COMMUNES, VILLAGES, CLUSTERS, days)
    bc, sha, first, device_ids = seeded.broadcast, seeded.media_sha256, seeded.first_day, seeded.device_ids
    begin = datetime.combine(first, datetime.min.time(), LOCAL_TZ)
    items = planned_items(c.db, c.guardrails.policy(), begin, begin + timedelta(days=days + 1),
                                  [device_ids[0]])[device_ids[0]]
    plays = [(i.item_id, format_time(i.start)) for i in sorted(items, key=lambda i: i.start)]  # the same on every device

    def events() -> Iterator[BulkEvent]:
        for device_id in device_ids:
            seq = 0
            for item_id, t in plays:
                for kind in ("started", "finished"):
                    seq += 1
                    yield BulkEvent(device_id, seq, kind, item_id, bc["id"], sha, t, t, 5.0, t, t)

    loaded = load(c.db, events())
    log.info("bulk-loaded %d events", loaded)
    week_start = datetime.combine(first + timedelta(days=min(7, days // 2)), datetime.min.time(), LOCAL_TZ)
    return f"xa-{COMMUNES // 2}", week_start, list(device_ids), bc["id"], sha


def _ingest_rate(c: Controller, devices: list[str], broadcast_id: str, sha: str, seq_from: int) -> float:
    ingest = Ingest(c.db, c.registry, lambda *args: None)
    now = utcnow()
    batches = []
    for i in range(INGEST_EVENTS // BATCH):
        device = devices[i % len(devices)]
        base = seq_from + (i // len(devices)) * BATCH
        batches.append(EventBatch(device_id=device, epoch="e1", events=tuple(
            PlaybackEvent(seq=base + n + 1, kind="finished", recorded_at=now, item_id=broadcast_id,
                          broadcast_id=broadcast_id, sha256=sha, plan_version=1, planned_at=now, actual_start=now,
                          duration_s=5.0) for n in range(BATCH))))
    t0 = time.perf_counter()
    for b in batches:
        ingest.on_events(b.device_id, b)
    return INGEST_EVENTS / (time.perf_counter() - t0)


def run() -> dict[str, float]:
    logging.getLogger("controller").setLevel(logging.WARNING)
    target = int(os.environ.get("LOAXA_BENCH_PROVINCE_EVENTS", "2000000"))
    days = max(14, round(target / EVENTS_PER_DAY))
    with tempfile.TemporaryDirectory() as tmp:
        c = Controller(load_config(ControllerConfig, env={"LOAXA_DATA_DIR": tmp, "LOAXA_AUDIO_ENGINE": "espeak",
                                                          "LOAXA_MQTT_PORT": "9"}))
        try:
            t0 = time.perf_counter()
            commune, since, devices, broadcast_id, sha = _seed(c, days)
            load_s = time.perf_counter() - t0
            with c.db.tx() as db:
                events = db.execute("SELECT COUNT(*) FROM playback_events").fetchone()[0]
            until = since + timedelta(days=7)
            times = []
            for _ in range(RUNS):
                t0 = time.perf_counter()
                device_ids = c.registry.resolve_targets([commune])
                occ = logbook.occurrences(c.db, c.guardrails.policy(), device_ids, since, until, now=until + timedelta(days=60))
                units = {u["id"]: u["name"] for u in c.registry.units()}
                unit_of = {d: d.replace("loa-", "thon-").rsplit("-", 1)[0] for d in device_ids}
                logbook.compliance(occ, units, unit_of)
                times.append((time.perf_counter() - t0) * 1000)
            if len(occ) != 20 * 14 or any(o.status != "finished" for o in occ):
                raise RuntimeError(f"unexpected report: {len(occ)} occurrences")
            rate = _ingest_rate(c, devices, broadcast_id, sha, seq_from=days * 4)
            p95 = statistics.quantiles(times, n=20)[-1]
            log.info("%d events loaded in %.0f s (%.0f/s); commune-week compliance p95 %.1f ms; ingest %.0f events/s",
                     events, load_s, events / load_s, p95, rate)
        finally:
            c.db.close()
    return {"audit_query_30m_ms": round(p95, 2), "ingest_events_per_s_30m": round(rate),
            "province_year_events": float(events)}
