"""Upgrading keeps the data: a database as the first release wrote it opens in this one with nothing lost."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import urllib.request
from datetime import timedelta
from pathlib import Path

import sqlite_utils

from controller.reports.audit import verify_all
from controller.db import Database, migrations
from loaxa.wire_time import format_time, utcnow

FIRST_RELEASE = "m002_scheduling"  # the first release had only m001_initial
NOW = utcnow().replace(microsecond=0)
AUDIO = b"OggS" + bytes(range(256)) * 8
SHA = hashlib.sha256(AUDIO).hexdigest()
FUTURE = format_time(NOW + timedelta(days=2))
PAST = format_time(NOW - timedelta(days=3))


def t(days_ago: float) -> str:
    return format_time(NOW - timedelta(days=days_ago))


def build_first_release_db(data_dir: Path) -> dict[str, int]:
    """Apply only the first release's schema and fill it the way that release did; returns row counts."""
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "media").mkdir(exist_ok=True)
    (data_dir / "media" / f"{SHA}.ogg").write_bytes(AUDIO)
    db = sqlite_utils.Database(data_dir / "loaxa.db")
    migrations.apply(db, stop_before=FIRST_RELEASE)
    assert [m.name for m in migrations.applied(db)] == ["m001_initial"]
    db["units"].insert_all([
        {"id": "xa", "name": "Xã Tân Lập", "parent_id": None, "level": "commune"},
        {"id": "thon-a", "name": "Thôn A", "parent_id": "xa", "level": "village"},
        {"id": "thon-b", "name": "Thôn B", "parent_id": "xa", "level": "village"},
    ])
    db["devices"].insert_all([
        {"id": "loa-1", "name": "Loa chợ", "unit_id": "thon-a", "created_at": t(400), "online": 0, "last_seen": t(1),
         "plan_version_applied": 7, "media_ready": 1, "state_json": json.dumps({"volume": 80})},
    ])
    db["devices"].insert({"id": "loa-2", "name": "Loa đình", "unit_id": "thon-b", "created_at": t(400)})
    db["media"].insert({"sha256": SHA, "ext": "ogg", "size": len(AUDIO), "duration_s": 12.5, "engine": "espeak",
                        "created_at": t(5)})
    db["bulletins"].insert_all([
        {"id": "bt-1", "title": "Lịch tiêm chủng", "text": "Thông báo lịch tiêm chủng tháng này.",
         "script": "Thông báo lịch tiêm chủng tháng này.", "media_sha256": SHA, "created_at": t(5),
         "created_by": "can-bo"},
        {"id": "bt-2", "title": "Họp dân", "text": "Tối nay họp dân.", "script": "Tối nay họp dân.",
         "media_sha256": None, "created_at": t(4), "created_by": ""},
    ])
    db["broadcasts"].insert_all([
        {"id": "bc-past", "bulletin_id": "bt-1", "starts_at": PAST, "priority": "normal",
         "targets_json": '["xa"]', "status": "scheduled", "created_at": t(5), "created_by": "can-bo"},
        {"id": "bc-next", "bulletin_id": "bt-1", "starts_at": FUTURE, "priority": "normal",
         "targets_json": '["thon-a"]', "status": "scheduled", "created_at": t(1), "created_by": "can-bo"},
        {"id": "bc-off", "bulletin_id": "bt-2", "starts_at": FUTURE, "priority": "normal",
         "targets_json": '["thon-b"]', "status": "cancelled", "created_at": t(1), "created_by": "can-bo"},
    ])
    db["broadcast_devices"].insert_all([
        {"broadcast_id": "bc-past", "device_id": "loa-1"}, {"broadcast_id": "bc-past", "device_id": "loa-2"},
        {"broadcast_id": "bc-next", "device_id": "loa-1"}, {"broadcast_id": "bc-off", "device_id": "loa-2"},
    ])
    events = []
    for device in ("loa-1", "loa-2"):
        for seq, kind in enumerate(("started", "finished"), start=1):
            events.append({"device_id": device, "epoch": "e1", "seq": seq, "kind": kind, "item_id": "bc-past",
                           "broadcast_id": "bc-past", "sha256": SHA, "plan_version": 3, "planned_at": PAST,
                           "actual_start": PAST, "duration_s": 12.5 if kind == "finished" else None,
                           "reason": "", "flags": "", "level_dbfs": -18.0 if kind == "finished" else None,
                           "recorded_at": PAST, "received_at": PAST})
    db["playback_events"].insert_all(events)
    db["event_progress"].insert_all([{"device_id": d, "epoch": "e1", "last_seq": 2} for d in ("loa-1", "loa-2")])
    db["counters"].insert({"name": "command_seq", "value": 41})
    counts = {name: db[name].count for name in ("units", "devices", "media", "bulletins", "broadcasts",
                                                "broadcast_devices", "playback_events", "event_progress", "counters")}
    db.close()
    return counts


def test_first_release_database_upgrades_in_place(tmp_path):
    counts = build_first_release_db(tmp_path)
    before = _dump(tmp_path / "loaxa.db", "playback_events")

    db = Database(tmp_path / "loaxa.db")
    try:
        applied = [m.name for m in migrations.applied(db.db)]
        assert applied == [m.name for m in migrations._migrations]
        assert applied[:2] == ["m001_initial", "m002_scheduling"]
        with db.tx() as conn:
            for table, n in counts.items():
                assert conn[table].count == n, table
            status = {r["id"]: r for r in conn.query("SELECT * FROM broadcasts")}
            device = next(conn.query("SELECT * FROM devices WHERE id = 'loa-1'"))
            bulletin = next(conn.query("SELECT * FROM bulletins WHERE id = 'bt-1'"))
            heads = dict(conn.execute("SELECT chain, length FROM chain_heads").fetchall())
        # Old 'scheduled' broadcasts were going to air: they are approved now, ending when they start.
        assert status["bc-next"]["status"] == "approved" and status["bc-past"]["status"] == "approved"
        assert status["bc-next"]["ends_at"] == FUTURE and status["bc-next"]["kind"] == "scheduled"
        assert status["bc-off"]["status"] == "cancelled" and status["bc-off"]["ends_at"] is None
        assert status["bc-next"]["rule_json"] == "" and status["bc-next"]["override_json"] == ""
        assert device["plan_version_applied"] == 7 and json.loads(device["state_json"]) == {"volume": 80}
        assert bulletin["removed_json"] == "[]" and bulletin["created_by"] == "can-bo"
        # The logbook of the old release is hash-chained by the upgrade, content unchanged.
        after = _dump(tmp_path / "loaxa.db", "playback_events")
        assert [{k: r[k] for k in before[0]} for r in after] == before
        assert all(r["hash"] and r["prev_hash"] for r in after)
        assert heads == {"playback_events:loa-1": 2, "playback_events:loa-2": 2}
        reports = {r.table: r for r in verify_all(db)}
        assert reports["playback_events"].ok and reports["playback_events"].rows == 4
        first_applied = [(m.name, m.applied_at) for m in migrations.applied(db.db)]
    finally:
        db.close()

    again = Database(tmp_path / "loaxa.db")  # a second open applies nothing twice
    try:
        assert [(m.name, m.applied_at) for m in migrations.applied(again.db)] == first_applied
        assert migrations.pending(again.db) == []
    finally:
        again.close()

    with sqlite3.connect(tmp_path / "loaxa.db") as conn:  # the chains now cover the old rows
        conn.execute("UPDATE playback_events SET duration_s = 1.0 WHERE device_id = 'loa-2' AND kind = 'finished'")
    config = tmp_path / "c.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n')
    out = subprocess.run([sys.executable, "-m", "loaxa", "audit", "verify", "-c", str(config)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "[loa-2]" in out.stdout and "[loa-1]" not in out.stdout, out.stdout


def test_controller_starts_on_an_upgraded_database_and_serves_its_data(system):
    ctl = system.controller(start=False)
    build_first_release_db(ctl.data_dir)
    verify = ctl.loaxa_cli("audit", "verify")
    assert "playback_events: 4 rows in 2 chain(s): intact" in verify.stdout
    ctl.start()
    api = ctl.api
    assert {d["id"]: d["unit_id"] for d in api.get("/api/devices")} == {"loa-1": "thon-a", "loa-2": "thon-b"}
    assert {u["id"] for u in api.get("/api/units")} >= {"xa", "thon-a", "thon-b"}
    bulletin = api.get("/api/bulletins/bt-1")
    assert bulletin["title"] == "Lịch tiêm chủng" and bulletin["media"]["sha256"] == SHA
    assert urllib.request.urlopen(f"{ctl.url}{bulletin['media']['url']}").read() == AUDIO
    nxt = api.get("/api/broadcasts/bc-next")
    assert nxt["status"] == "approved" and nxt["devices"] == ["loa-1"] and nxt["targets"] == ["thon-a"]
    rows = api.get("/api/playback?broadcast=bc-past")
    assert sorted((r["device_id"], r["kind"]) for r in rows) == [
        ("loa-1", "finished"), ("loa-1", "started"), ("loa-2", "finished"), ("loa-2", "started")]
    assert {r["level_dbfs"] for r in rows if r["kind"] == "finished"} == {-18.0}


def _dump(path: Path, table: str) -> list[dict]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY id")]
    finally:
        conn.close()
