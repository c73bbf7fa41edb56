"""A province-year logbook: the auditor's reports, ingest and retention, on a database built by the bulk loader.

10,000 devices (500 communes × 4 villages × 5 clusters), a broadcast on the whole
province with two slots a day (one per year: a rule spans at most 366 days), a ``started`` and a ``finished`` event per play: 40,000
events a day.  A province-year is 30 to 50 million events; the full run
(``LOAXA_BENCH_PROVINCE_EVENTS=30000000``) takes hours of loading on a 2-core machine, so
the default is a **scaled** run of 2 million events (50 days).  The keys keep the names
of the target (``audit_query_30m_ms``, ``ingest_events_per_s_30m``) and
``province_year_events`` says how many events the database actually held.

Rows are written by :mod:`controller.devtools.bulk_events`: the columns and per-device
hash chain ingest writes.  Timed, through the use cases the pages and the API call:
the commune-week compliance report, the commune's weekly logbook page and its XLSX
export (the first bytes of the download, and the whole file; p95 of 20 each), the province
compliance page (a week of every cluster, from the unit and per-day rollups, p95 of 20), with
the start-up heap frozen as the served controller freezes it (:mod:`controller.heap`); ingest itself (validation, storage, hash chain and ack progress, without MQTT, which
``bench_ingest`` measures) of 20,000 new events; and retention pruning the oldest month
while ingest runs beside it (on a logbook of its own, see :func:`_prune_a_month`).

``LOAXA_BENCH_PROVINCE_DIR`` keeps the database in that directory and reuses it on the
next run (a 30 M-event load takes about an hour here); the reports only read it.
"""

from __future__ import annotations

import logging
import os
import statistics
import json
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from datetime import datetime, timedelta
from typing import Iterator
from unittest import mock

from controller.config import ControllerConfig
from controller.devices.ingest import Ingest
from controller.devtools.bulk_events import BulkEvent, load
from controller.heap import freeze_startup_heap
from controller.plan_expansion import planned_items
from controller.operations.retention import Retention
from controller.people.actor import Actor
from controller.reports import logbook
from controller.reports import use_cases as reports
from bench.province_seed import seed_province
from controller.service import Controller
from loaxa.config import load_config
from loaxa.local_time import LOCAL_TZ
from loaxa.protocol import EventBatch, PlaybackEvent
from loaxa.wire_time import format_time, utcnow

COMMUNES, VILLAGES, CLUSTERS = 500, 4, 5
EVENTS_PER_DAY = COMMUNES * VILLAGES * CLUSTERS * 2 * 2
RUNS = 20
PROVINCE_RUNS = 20  # from the rollup: as many as the commune's (3 when each took seconds)
INGEST_EVENTS, BATCH = 20_000, 50

log = logging.getLogger("bench.province_year")


def _seed(c: Controller, days: int, seeded: Path | None = None) -> tuple[str, datetime, list[str], str, str]:
    """The province, then its events; ``seeded`` is written between the two, so a load stopped
    midway still names what it holds (the report's commune is loaded first)."""
    seeded_province = seed_province(c, COMMUNES, VILLAGES, CLUSTERS, days)
    bc, sha, first, device_ids = (seeded_province.broadcast, seeded_province.media_sha256, seeded_province.first_day,
                                  seeded_province.device_ids)
    begin = datetime.combine(first, datetime.min.time(), LOCAL_TZ)
    items = planned_items(c.db, c.guardrails.policy(), begin, begin + timedelta(days=days + 1),
                                  [device_ids[0]])[device_ids[0]]
    plays = [(i.item_id, i.broadcast_id, format_time(i.start)) for i in sorted(items, key=lambda i: i.start)]  # the same on every device
    commune = f"xa-{COMMUNES // 2}"
    week_start = datetime.combine(first + timedelta(days=max(7, days - 14)), datetime.min.time(), LOCAL_TZ)
    if seeded is not None:
        seeded.write_text(json.dumps({"commune": commune, "since": week_start.isoformat(), "broadcast": bc.id,
                                      "sha": sha}))
    ordered = sorted(device_ids, key=lambda d: (not d.startswith(f"loa-{COMMUNES // 2}-"), device_ids.index(d)))

    def events() -> Iterator[BulkEvent]:
        for device_id in ordered:
            seq = 0
            for item_id, broadcast_id, t in plays:
                for kind in ("started", "finished"):
                    seq += 1
                    yield BulkEvent(device_id, seq, kind, item_id, broadcast_id, sha, t, t, 5.0, t, t)

    t0 = time.perf_counter()
    loaded = load(c.db, events())
    log.info("bulk-loaded %d events in %.0f s", loaded, time.perf_counter() - t0)
    return commune, week_start, list(device_ids), bc.id, sha


def _ingest_rate(c: Controller, devices: list[str], broadcast_id: str, sha: str) -> float:
    """Events per second that ingest stores, each device's batch following its last stored seq."""
    with c.db.tx() as db:
        last = dict(db.execute("SELECT device_id, MAX(last_seq) FROM event_progress GROUP BY device_id").fetchall())
    ingest = Ingest(c.db, c.registry, lambda *args: None)
    now = utcnow()
    batches = []
    for i in range(INGEST_EVENTS // BATCH):
        device = devices[i % len(devices)]
        base = last.get(device, 0)
        last[device] = base + BATCH
        batches.append(EventBatch(device_id=device, epoch="e1", events=tuple(
            PlaybackEvent(seq=base + n + 1, kind="finished", recorded_at=now, item_id=broadcast_id,
                          broadcast_id=broadcast_id, sha256=sha, plan_version=1, planned_at=now, actual_start=now,
                          duration_s=5.0) for n in range(BATCH))))
    t0 = time.perf_counter()
    for b in batches:
        ingest.on_events(b.device_id, b)
    return INGEST_EVENTS / (time.perf_counter() - t0)


def _p95(f, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        f()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.quantiles(times, n=20)[-1] if runs >= 2 else times[0]


def _cpu_median(f, runs: int) -> float:
    """The processor time of a call (median, ms): what the call itself costs, whatever else the machine runs."""
    times = []
    for _ in range(runs):
        t0 = time.process_time()
        f()
        times.append((time.process_time() - t0) * 1000)
    return statistics.median(times)


def _prune_a_month(devices: int = COMMUNES * VILLAGES * CLUSTERS) -> tuple[float, int, float]:
    """Retention pruning a province's oldest month while ingest stores events beside it:
    (seconds, events pruned, ingest events/s meanwhile).

    The province logbook above lies in the future (its broadcasts are scheduled from
    tomorrow) and the retention floor refuses to delete anything younger than a year, so
    this runs on a logbook of its own, in the past: every device's month 390 to 420 days
    ago (pruned) and five days of last week (kept), 4 events a day.
    """
    now = utcnow()
    with tempfile.TemporaryDirectory() as tmp:
        c = Controller(load_config(ControllerConfig, env={"LOAXA_DATA_DIR": tmp, "LOAXA_AUDIO_ENGINE": "espeak",
                                                          "LOAXA_MQTT_PORT": "9",
                                                          "LOAXA_RETENTION_PLAYBACK_EVENTS_DAYS": "380"}))
        try:
            ids = [f"loa-{n}" for n in range(devices)]
            with c.db.tx() as db:
                db.conn.execute("INSERT INTO units(id, name, parent_id, level) VALUES ('tinh', 'Tỉnh', NULL, 'province')")
                db.conn.executemany("INSERT INTO devices(id, name, unit_id, created_at) VALUES (?, ?, 'tinh', ?)",
                                    [(d, d, "2024-01-01T00:00:00.000+00:00") for d in ids])
            days = [now - timedelta(days=420 - n) for n in range(30)] + [now - timedelta(days=10 - n) for n in range(5)]

            def events() -> Iterator[BulkEvent]:
                for d in ids:
                    seq = 0
                    for day in days:
                        for slot in (0, 11):
                            t = format_time(day + timedelta(hours=slot))
                            for kind in ("started", "finished"):
                                seq += 1
                                yield BulkEvent(d, seq, kind, f"bc-{seq}", "bc", "ab" * 32, t, t, 5.0, t, t)

            load(c.db, events())
            rates: list[float] = []
            done = threading.Event()

            def ingest_beside() -> None:
                while not done.is_set():
                    rates.append(_ingest_rate(c, ids, "bc", "ab" * 32))

            t = threading.Thread(target=ingest_beside)
            t.start()
            t0 = time.perf_counter()
            report = Retention(c.db, c.config.retention, c.config.media_dir).run(now=now)
            seconds = time.perf_counter() - t0
            done.set()
            t.join()
        finally:
            c.db.close()
    return seconds, report.playback_events, statistics.median(rates) if rates else 0.0


def run() -> dict[str, float]:
    return {**run_reports(), **run_retention()}


def run_reports() -> dict[str, float]:
    logging.getLogger("controller").setLevel(logging.WARNING)
    target = int(os.environ.get("LOAXA_BENCH_PROVINCE_EVENTS", "2000000"))
    days = max(14, round(target / EVENTS_PER_DAY))
    keep = os.environ.get("LOAXA_BENCH_PROVINCE_DIR")
    with ExitStack() as stack:
        data = Path(keep) if keep else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        c = Controller(load_config(ControllerConfig, env={"LOAXA_DATA_DIR": str(data), "LOAXA_AUDIO_ENGINE": "espeak",
                                                          "LOAXA_MQTT_PORT": "9"}))
        stack.callback(c.db.close)
        seeded = data / "seed.json"
        t0 = time.perf_counter()
        if seeded.exists():
            seed = json.loads(seeded.read_text())
            commune, since, broadcast_id, sha = (seed["commune"], datetime.fromisoformat(seed["since"]),
                                                 seed["broadcast"], seed["sha"])
            devices = c.registry.device_ids()
        else:
            commune, since, devices, broadcast_id, sha = _seed(c, days, seeded)
        load_s = time.perf_counter() - t0
        freeze_startup_heap(c.db)  # as the served controller does once started
        with c.db.tx() as db:
            events = db.execute("SELECT COUNT(*) FROM playback_events").fetchone()[0]
        auditor = Actor.system("kiemtoan")
        first, last = since.date(), since.date() + timedelta(days=6)
        # the logbook lies ahead of the clock (broadcasts are scheduled from tomorrow): report from after it
        stack.enter_context(mock.patch.object(logbook, "utcnow", lambda: since + timedelta(days=60)))
        report = reports.compliance_report(c, auditor, first, last, commune)
        if sum(r.planned for r in report.compliance) != 20 * 14 or report.not_aired:
            raise RuntimeError(f"unexpected report: {report.compliance}")
        page = reports.logbook_report(c, auditor, first, commune)
        if len(page.rows) != 20 * 14:
            raise RuntimeError(f"unexpected logbook: {len(page.rows)} rows")
        province = reports.compliance_report(c, auditor, first, last, None)
        loaded = {d for (d,) in c.db.db.conn.execute(
            "SELECT device_id FROM playback_rollup WHERE day = ? AND finished > 0", [first.isoformat()])}
        compliance_ms = _p95(lambda: reports.compliance_report(c, auditor, first, last, commune), RUNS)
        logbook_ms = _p95(lambda: reports.logbook_report(c, auditor, first, commune), RUNS)

        def first_bytes() -> None:  # what the download's first bytes wait for: the logbook, then the file's start
            next(reports.export_logbook(c, auditor, reports.logbook_report(c, auditor, first, commune), "xlsx").chunks())

        xlsx_ms = _p95(first_bytes, RUNS)
        xlsx_whole_ms = _p95(lambda: reports.export_logbook(c, auditor, reports.logbook_report(c, auditor, first, commune),
                                                            "xlsx").content, RUNS)
        province_ms = _p95(lambda: reports.compliance_report(c, auditor, first, last, None), PROVINCE_RUNS)
        province_cpu_ms = _cpu_median(lambda: reports.compliance_report(c, auditor, first, last, None), PROVINCE_RUNS)
        rate = _ingest_rate(c, devices, broadcast_id, sha)
        log.info("%d events (loaded or opened in %.0f s), %d devices with events in the week; p95: commune-week "
                 "compliance %.1f ms, logbook %.1f ms, XLSX first bytes %.1f ms (whole %.1f ms), province compliance "
                 "%.0f ms (%d units; processor %.0f ms a call); ingest %.0f events/s", events, load_s, len(loaded), compliance_ms,
                 logbook_ms, xlsx_ms, xlsx_whole_ms, province_ms, len(province.compliance), province_cpu_ms, rate)
    return {"audit_query_30m_ms": round(compliance_ms, 2), "logbook_page_30m_ms": round(logbook_ms, 2),
            "logbook_xlsx_30m_ms": round(xlsx_ms, 2), "logbook_xlsx_whole_30m_ms": round(xlsx_whole_ms, 2),
            "province_compliance_30m_ms": round(province_ms, 1),
            "province_compliance_30m_cpu_ms": round(province_cpu_ms, 1),
            "ingest_events_per_s_30m": round(rate), "province_year_events": float(events)}


def run_retention() -> dict[str, float]:
    logging.getLogger("controller").setLevel(logging.WARNING)  # ingest logs each event at INFO
    prune_s, pruned, rate_pruning = _prune_a_month()
    log.info("a month pruned (%d events) in %.1f s, ingest meanwhile %.0f events/s", pruned, prune_s, rate_pruning)
    return {"retention_month_30m_s": round(prune_s, 2), "retention_month_pruned_events": float(pruned),
            "ingest_events_per_s_during_prune": round(rate_pruning)}
