"""The audit trail and playback events are hash-chained: any edit, insertion or deletion made
behind the controller's back with plain sqlite3 is reported by ``loaxa audit verify``."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_utils

from controller.reports.audit import PLAYBACK_CHAIN, verify_all
from controller.reports.hashchain import backfill
from controller.devices.ingest import Ingest
from loaxa.protocol import EventBatch, PlaybackEvent
from loaxa.wire_time import utcnow
from support.world import make_controller, seed_tree

ROOT = Path(__file__).resolve().parents[2]


def _events(n0: int, n1: int, **kw) -> tuple[PlaybackEvent, ...]:
    now = utcnow()
    return tuple(PlaybackEvent(seq=n, kind="finished", recorded_at=now, item_id=f"i{n}", duration_s=12, **kw)
                 for n in range(n0, n1))


@pytest.fixture
def filled(tmp_path):
    """A controller database with audit entries and playback events of two devices."""
    c = make_controller(tmp_path)
    seed_tree(c)
    acks: list[tuple[str, str, int]] = []
    ingest = Ingest(c.db, c.registry, lambda d, e, n: acks.append((d, e, n)))
    for i in range(5):
        c.audit.record(f"can-bo-{i}", "login", f"can-bo-{i}", {"via": "password"}, f"10.0.0.{i}")
    ingest.on_events("loa-a", EventBatch(device_id="loa-a", epoch="e1", events=_events(1, 6)))
    ingest.on_events("loa-b", EventBatch(device_id="loa-b", epoch="e1", events=_events(1, 4)))
    ingest.on_events("loa-a", EventBatch(device_id="loa-a", epoch="e1", events=_events(3, 8)))  # 3-5 are duplicates
    c.stop()
    yield tmp_path, acks


def _verify(data_dir: Path) -> list[str]:
    c = make_controller(data_dir)
    try:
        return [str(p) for r in verify_all(c.db) for p in r.problems]
    finally:
        c.stop()


def _tamper(data_dir: Path, *sql: str) -> None:
    conn = sqlite3.connect(data_dir / "loaxa.db")
    conn.executescript("DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;"
                       "DROP TRIGGER IF EXISTS playback_events_no_delete;" + ";".join(sql))
    conn.commit()
    conn.close()


def test_untouched_chains_verify_and_duplicates_do_not_advance_them(filled):
    data_dir, acks = filled
    assert _verify(data_dir) == []
    conn = sqlite3.connect(data_dir / "loaxa.db")
    heads = dict((c, n) for c, n in conn.execute("SELECT chain, length FROM chain_heads"))
    assert heads == {"audit_log:all": 5, "playback_events:loa-a": 7, "playback_events:loa-b": 3}
    assert acks[-1] == ("loa-a", "e1", 7)
    conn.close()


def test_the_trail_refuses_updates_and_deletes_from_the_application(filled):
    data_dir, _ = filled
    conn = sqlite3.connect(data_dir / "loaxa.db")
    for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "DELETE FROM playback_events"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
    conn.close()


@pytest.mark.parametrize("sql, expect", [
    ("UPDATE audit_log SET ip = '203.0.113.9' WHERE id = 3", "audit_log [all] row 3: content changed"),
    ("UPDATE playback_events SET kind = 'skipped' WHERE device_id = 'loa-a' AND seq = 2",
     "playback_events [loa-a] row 2: content changed"),
    ("UPDATE playback_events SET duration_s = 99 WHERE device_id = 'loa-b' AND seq = 3", "[loa-b] row"),
    ("DELETE FROM audit_log WHERE id = 2", "audit_log [all] row 3: link broken"),
    ("DELETE FROM playback_events WHERE device_id = 'loa-b' AND seq = 3", "[loa-b] end of chain: 3 rows recorded, 2 found"),
    ("INSERT INTO audit_log(at, actor, action, target, details, ip, prev_hash, hash) "
     "SELECT at, 'ke-gian', action, target, details, ip, hash, hash FROM audit_log WHERE id = 5",
     "audit_log [all] row 6: content changed"),
    ("INSERT INTO playback_events(device_id, epoch, seq, kind, recorded_at, received_at, prev_hash, hash) "
     "VALUES ('loa-c', 'e1', 1, 'finished', 'x', 'x', '', '')", "[loa-c] row"),
])
def test_tampering_with_plain_sqlite_is_reported(filled, sql, expect):
    data_dir, _ = filled
    _tamper(data_dir, sql)
    problems = _verify(data_dir)
    assert any(expect in p for p in problems), problems


def test_loaxa_audit_verify_command_exits_nonzero_and_names_the_row(filled):
    data_dir, _ = filled
    cfg = data_dir / "c.toml"
    cfg.write_text(f'data_dir = "{data_dir}"\n')
    cmd = [sys.executable, "-m", "loaxa", "audit", "verify", "-c", str(cfg)]
    ok = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert ok.returncode == 0 and "audit_log: 5 rows in 1 chain(s): intact" in ok.stdout
    _tamper(data_dir, "UPDATE playback_events SET reason = 'sua' WHERE device_id = 'loa-a' AND seq = 4")
    bad = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert bad.returncode == 1
    assert "TAMPERED" in bad.stdout and "playback_events [loa-a] row 4: content changed" in bad.stdout


def test_events_stored_before_the_chain_existed_are_chained_by_the_migration(tmp_path):
    """An older database: playback rows without hashes get chained once, in id order (as m004 does)."""
    c = make_controller(tmp_path)
    seed_tree(c)
    Ingest(c.db, c.registry, lambda *a: None).on_events(
        "loa-a", EventBatch(device_id="loa-a", epoch="e1", events=_events(1, 4)))
    c.stop()
    _tamper(tmp_path, "UPDATE playback_events SET prev_hash = '', hash = ''", "DELETE FROM chain_heads")
    conn = sqlite3.connect(tmp_path / "loaxa.db")
    assert backfill(sqlite_utils.Database(conn), PLAYBACK_CHAIN) == 3
    conn.commit()
    conn.close()
    assert _verify(tmp_path) == []
