"""The web UI on a province-sized tree, in process on a real SQLite file.

500 devices (10 communes × 10 villages × 5 clusters), one daily broadcast with two slots
for a week, and a finished event for every planned play (7,000 events).  Measures the
server time of the pages an official or an auditor opens (``web_*_ms``, median of 5 as a
signed-in administrator, whole tree) and the weight of what a phone downloads on its
first visit (``web_first_visit_kb``: the dashboard HTML with the stylesheet and script).
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from controller.config import ControllerConfig
from controller.service import Controller
from loaxa.local_time import LOCAL_TZ
from loaxa.config import load_config
from loaxa.protocol import EventBatch, PlaybackEvent
from loaxa.wire_time import utcnow
from schedules.rules import BroadcastRule
from web.app import create_app

COMMUNES, VILLAGES, CLUSTERS = 10, 10, 5
RUNS = 5


def _seed(c: Controller) -> tuple[list[str], str]:
    c.registry.add_unit("tinh", "Tỉnh Thử", None, "province")
    devices = []
    for x in range(COMMUNES):
        c.registry.add_unit(f"xa-{x}", f"Xã {x}", "tinh", "commune")
        for v in range(VILLAGES):
            c.registry.add_unit(f"thon-{x}-{v}", f"Thôn {v} xã {x}", f"xa-{x}", "village")
            for k in range(CLUSTERS):
                devices.append(f"loa-{x}-{v}-{k}")
    with c.db.tx() as db:
        db["devices"].insert_all({"id": d, "name": f"Cụm loa {d}", "unit_id": d.replace("loa-", "thon-").rsplit("-", 1)[0],
                                  "created_at": "2026-01-01T00:00:00Z"} for d in devices)
    first = (utcnow().astimezone(LOCAL_TZ) + timedelta(days=1)).date()
    bulletin = c.add_bulletin("Thông báo", "Thông báo lịch tiêm phòng tại trạm y tế xã.", created_by="soan")
    rule = {"start_date": first.isoformat(), "end_date": (first + timedelta(days=6)).isoformat(),
            "slot_times": ["06:00", "17:00"]}
    bc = c.schedule_broadcast(bulletin.id, None, ["tinh"], created_by="soan", rule=rule)
    c.approve_broadcast(bc.id, "duyet")
    sha = bulletin.media.sha256
    starts = BroadcastRule.from_dict(bc.rule).all_occurrences()
    for d in devices:
        events = []
        for i, t in enumerate(starts):
            events.append(PlaybackEvent(seq=i + 1, kind="finished", recorded_at=t, item_id=f"{bc.id}-{i}",
                                        broadcast_id=bc.id, sha256=sha, planned_at=t, actual_start=t, duration_s=5.0))
        c.ingest.on_events(d, EventBatch(device_id=d, epoch="e1", events=tuple(events)))
    return devices, first.isoformat()


def _median_ms(client, path: str) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        r = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, (path, r.status_code)
    return statistics.median(times)


def run() -> dict[str, float]:
    logging.getLogger("controller").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        c = Controller(load_config(ControllerConfig, env={"LOAXA_DATA_DIR": tmp, "LOAXA_AUDIO_ENGINE": "espeak",
                                                          "LOAXA_MQTT_PORT": "9"}))
        c.jobs.start()
        try:
            _, week = _seed(c)
            c.users.add("quantri", "mat-khau-do-kiem", "admin", None)
            token = c.users.create_token("quantri")
            app = create_app(c, {"TESTING": True})
            client = app.test_client()
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
            page = client.get("/")
            weight = len(page.data) + sum(len(client.get(f"/static/{n}").data) for n in ("loaxa.css", "loaxa.js"))
            return {
                "web_dashboard_ms": _median_ms(client, "/"),
                "web_calendar_week_ms": _median_ms(client, f"/calendar?week={week}"),
                "web_compliance_province_ms": _median_ms(client, f"/audit/compliance?from={week}&to={week}"),
                "web_logbook_commune_ms": _median_ms(client, f"/audit/logbook?unit=xa-0&week={week}"),
                "web_logbook_province_xlsx_ms": _median_ms(client, f"/api/audit/logbook?week={week}&format=xlsx"),
                "web_first_visit_kb": weight / 1024,
            }
        finally:
            c.jobs.shutdown()
            c.stop()
