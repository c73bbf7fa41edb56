"""Retention on a real SQLite file: old rows go, young ones stay, and the hash chains still verify."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from controller.reports import hashchain
from controller.reports.audit import AUDIT_CHAIN, PLAYBACK_CHAIN, verify_all
from controller.config import ControllerConfig
from controller.db import Database
from controller.operations.retention import Retention
from controller.operations.retention_settings import RetentionSettings
from controller.security.key_file import trusted_public_keys
from controller.security.keyring import Keyring
from loaxa.config import ConfigError, load_config
from loaxa.wire_time import format_time

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
SETTINGS = RetentionSettings(minimum_days=365, playback_events_days=400, audit_days=500, media_days=30,
                             plan_skips_days=20)


def ago(days: float) -> str:
    return format_time(NOW - timedelta(days=days))


def add_events(db: Database, device_id: str, ages: list[float]) -> None:
    with db.tx() as conn:
        start = conn.execute("SELECT COUNT(*) FROM playback_events WHERE device_id = ?", [device_id]).fetchone()[0]
        rows = [{f: None for f in PLAYBACK_CHAIN.fields} | {
            "device_id": device_id, "epoch": "e1", "seq": start + i + 1, "kind": "finished", "item_id": f"it-{i}",
            "broadcast_id": "bc-1", "sha256": "", "plan_version": 1, "reason": "", "flags": "",
            "recorded_at": ago(age), "received_at": ago(age), "duration_s": 12.5} for i, age in enumerate(ages)]
        cols = ", ".join((*PLAYBACK_CHAIN.fields, "prev_hash", "hash"))
        hashchain.append(conn, PLAYBACK_CHAIN, device_id, rows, lambda r: conn.execute(
            f"INSERT INTO playback_events({cols}) VALUES ({', '.join(':' + c for c in cols.split(', '))})", r).rowcount == 1)


def add_audit(db: Database, ages: list[float]) -> None:
    with db.tx() as conn:
        rows = [{"at": ago(age), "actor": "admin", "action": "login", "target": "", "details": "{}", "ip": ""}
                for age in ages]
        hashchain.append(conn, AUDIT_CHAIN, "all", rows, lambda r: conn.execute(
            "INSERT INTO audit_log(at, actor, action, target, details, ip, prev_hash, hash) "
            "VALUES (:at, :actor, :action, :target, :details, :ip, :prev_hash, :hash)", r).rowcount == 1)


@pytest.fixture
def db(tmp_path: Path):
    d = Database(tmp_path / "loaxa.db")
    yield d
    d.close()


def key_path(db: Database) -> Path:
    """The signing key of the controller whose data directory holds ``db``."""
    return db.path.parent / "keys" / "controller-ed25519.pem"


def retention(db: Database, settings: RetentionSettings = SETTINGS, media: Path | None = None) -> Retention:
    """Retention as the controller runs it: anchors signed with the controller's key."""
    return Retention(db, settings, media or db.path.parent / "media", Keyring(key_path(db)).sign_detached)


def verify(db: Database):
    return verify_all(db, trusted_public_keys(key_path(db)), SETTINGS.minimum_days)


def ages_of(db: Database, device_id: str) -> list[str]:
    with db.tx() as conn:
        return [r[0] for r in conn.execute("SELECT recorded_at FROM playback_events WHERE device_id = ? ORDER BY id",
                                           [device_id])]


def test_old_events_and_audit_entries_go_young_ones_stay_and_chains_verify(db, tmp_path):
    add_events(db, "loa-1", [900, 800, 450, 380, 10])
    add_events(db, "loa-2", [1000, 700])          # a device gone for good: its whole chain is old
    add_events(db, "loa-3", [30, 2])
    add_audit(db, [2000, 1900, 600, 400, 1])
    add_events(db, "loa-1", [3])

    dry = retention(db).run(dry_run=True, now=NOW)
    assert (dry.playback_events, dry.audit_entries) == (5, 3)
    assert len(ages_of(db, "loa-1")) == 6  # a dry run changes nothing

    report = retention(db).run(now=NOW)
    assert (report.playback_events, report.audit_entries) == (5, 3)
    assert ages_of(db, "loa-1") == [ago(380), ago(10), ago(3)]  # 380 days: younger than the 400-day setting
    assert ages_of(db, "loa-2") == []
    assert len(ages_of(db, "loa-3")) == 2
    assert report.anchors == {"playback_events:loa-1": 3, "playback_events:loa-2": 2, "audit_log:all": 3}
    assert all(r.ok for r in verify(db)), [str(p) for r in verify(db) for p in r.problems]

    with db.tx() as conn:
        kept = [r[0] for r in conn.execute("SELECT at FROM audit_log ORDER BY id")]
        last = conn.execute("SELECT action, details FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert kept[:2] == [ago(400), ago(1)]
    assert last[0] == "retention_pruned" and '"playback_events:loa-1": 3' in last[1]

    # New rows still chain on after the pruned prefix; a second run prunes nothing more.
    add_events(db, "loa-2", [0.5])
    assert retention(db).run(now=NOW).total == 0
    assert all(r.ok for r in verify(db))


def test_nothing_younger_than_the_minimum_goes_even_behind_it_in_the_chain(db, tmp_path):
    add_events(db, "loa-1", [1000, 100, 900])  # a late upload: the 900-day row sits after a young one
    retention(db).run(now=NOW)
    assert ages_of(db, "loa-1") == [ago(100), ago(900)]  # only whole prefixes are pruned
    assert all(r.ok for r in verify(db))


@pytest.mark.parametrize("tamper", [
    "UPDATE playback_events SET duration_s = 99 WHERE id = (SELECT MIN(id) FROM playback_events WHERE device_id = 'loa-1')",
    "DROP TRIGGER playback_events_no_delete; "  # an insider who first removes the guard
    "DELETE FROM playback_events WHERE id = (SELECT MIN(id) FROM playback_events WHERE device_id = 'loa-1')",
    "UPDATE chain_anchors SET length = length - 1 WHERE chain = 'playback_events:loa-1'",
])
def test_tampering_after_pruning_is_detected(db, tmp_path, tamper):
    add_events(db, "loa-1", [900, 800, 10, 5])
    retention(db).run(now=NOW)
    path = db.path
    db.close()
    with sqlite3.connect(path) as conn:
        conn.executescript(tamper)
    again = Database(path)
    try:
        problems = [str(p) for r in verify(again) for p in r.problems]
    finally:
        again.close()
    assert problems and all("loa-1" in p for p in problems), problems
    out = subprocess.run([sys.executable, "-m", "loaxa", "audit", "verify", "-c", str(_config(tmp_path, path))],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "TAMPERED" in out.stdout, out.stdout + out.stderr


def test_a_chain_that_does_not_verify_is_not_pruned(db, tmp_path):
    add_events(db, "loa-1", [900, 800, 10])
    add_events(db, "loa-2", [900, 5])
    with db.tx() as conn:
        conn.execute("UPDATE playback_events SET reason = 'edited' WHERE device_id = 'loa-1' AND seq = 1")
    report = retention(db).run(now=NOW)
    assert report.skipped_chains == ("playback_events:loa-1",)
    assert len(ages_of(db, "loa-1")) == 3 and ages_of(db, "loa-2") == [ago(5)]


def test_the_audit_trail_still_refuses_deletes_not_covered_by_an_anchor(db):
    add_audit(db, [900, 10])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        with db.tx() as conn:
            conn.execute("DELETE FROM audit_log WHERE at = ?", [ago(900)])


def test_unused_media_and_old_skip_records_go(db, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    with db.tx() as conn:
        conn.execute("INSERT INTO units(id, name) VALUES ('xa', 'Xã')")
        for sha, age in (("a" * 64, 100), ("b" * 64, 100), ("c" * 64, 5)):
            conn.execute("INSERT INTO media(sha256, ext, size, duration_s, created_at) VALUES (?, 'ogg', 3, 1.0, ?)",
                         [sha, ago(age)])
            (media / f"{sha}.ogg").write_bytes(b"ogg")
        conn.execute("INSERT INTO bulletins(id, title, text, script, media_sha256, created_at) "
                     "VALUES ('b1', 't', 'x', 'x', ?, ?)", ["b" * 64, ago(100)])
        for item, age in (("old", 40), ("new", 2)):
            conn.execute("INSERT INTO plan_skips VALUES ('loa-1', ?, 'bc-1', ?, 'quiet_hours', ?)",
                         [item, ago(age), ago(age)])
    report = retention(db, media=media).run(now=NOW)
    assert report.media == ("a" * 64,) and report.plan_skips == 1
    assert sorted(p.name[0] for p in media.iterdir()) == ["b", "c"]
    with db.tx() as conn:
        assert [r[0] for r in conn.execute("SELECT item_id FROM plan_skips")] == ["new"]


def test_a_live_sessions_recording_stays_however_old(db, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    sha = "d" * 64
    with db.tx() as conn:
        conn.execute("INSERT INTO media(sha256, ext, size, duration_s, engine, created_at) VALUES (?, 'ogg', 3, 9.0, "
                     "'live', ?)", [sha, ago(400)])
        (media / f"{sha}.ogg").write_bytes(b"ogg")
        conn.execute("INSERT INTO live_sessions(id, started_by, targets_json, devices_json, priority, mount, started_at, "
                     "ended_at, archive_sha256, seconds) VALUES ('live-1', 'ct', '[\"xa\"]', '[]', 'priority', "
                     "'/live-1.ogg', ?, ?, ?, 9.0)", [ago(400), ago(400), sha])
    report = retention(db, media=media).run(now=NOW)
    assert report.media == () and (media / f"{sha}.ogg").exists()


@pytest.mark.parametrize("toml, message", [
    ("[retention]\naudit_days = 100\n", "retention.audit_days = 100 is below retention.minimum_days = 365"),
    ("[retention]\nplayback_events_days = 30\nminimum_days = 60\n", "retention.playback_events_days = 30"),
    ("[retention]\nminimum_days = 0\n", "at least 1 day"),
    ("[retention]\nrun_at = \"25:00\"\n", "HH:MM"),
    ("[retention]\nnotifications_days = -1\n", "retention.notifications_days must be 0"),
])
def test_a_config_keeping_the_logbook_too_short_is_refused(tmp_path, toml, message):
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_config(ControllerConfig, path, env={})
    out = subprocess.run([sys.executable, "-m", "loaxa", "retention", "run", "-c", str(path)],
                         capture_output=True, text=True)
    assert out.returncode == 2 and message in out.stderr, out.stderr


def test_retention_command_dry_run_then_run(db, tmp_path):
    add_events(db, "loa-1", [3000, 1])
    config = _config(tmp_path, db.path)
    db.close()
    run = [sys.executable, "-m", "loaxa", "retention", "run", "-c", str(config)]
    dry = subprocess.run([*run, "--dry-run"], capture_output=True, text=True)
    assert dry.returncode == 0 and "would prune 1 playback events" in dry.stdout, dry.stderr
    done = subprocess.run(run, capture_output=True, text=True)
    assert done.returncode == 0 and "pruned 1 playback events" in done.stdout, done.stderr
    verify = subprocess.run([sys.executable, "-m", "loaxa", "audit", "verify", "-c", str(config)],
                            capture_output=True, text=True)
    assert verify.returncode == 0 and "playback_events: 1 rows in 1 chain(s): intact" in verify.stdout, verify.stdout


def _config(tmp_path: Path, db_path: Path) -> Path:
    config = tmp_path / "controller.toml"
    config.write_text(f'data_dir = "{db_path.parent}"\n')
    return config


def test_agent_forgets_old_plays_when_a_plan_arrives_and_refuses_a_too_short_setting(tmp_path):
    import time

    from edge_agent.agent import Agent, AgentError
    from edge_agent.config import AgentConfig, PlayerSettings
    from loaxa import protocol
    from loaxa.protocol import Plan, Signer
    from loaxa.wire_time import utcnow

    signer = Signer.generate()
    config = AgentConfig(device_id="loa-1", data_dir=tmp_path / "agent", player=PlayerSettings(backend="file"),
                         controller_public_key=protocol.public_key_to_text(signer.public_key))
    with pytest.raises(AgentError, match="plays_days must be at least 2"):
        Agent(AgentConfig(**{**config.__dict__, "plays_days": 1.0}))
    agent = Agent(config)
    try:
        for item_id, days in (("old", 8), ("recent", 1)):
            agent.store.mark_play(item_id, "finished")
            agent.store._x("UPDATE plays SET updated_at = ? WHERE item_id = ?", (time.time() - days * 86400, item_id))
        now = utcnow()
        agent._on_plan(signer.seal(Plan(device_id="loa-1", plan_version=1, issued_at=now,
                                        expires_at=now + timedelta(hours=1))))
        assert (agent.store.play_status("old"), agent.store.play_status("recent")) == (None, "finished")
    finally:
        agent.store.close()


def _forge_anchor_and_erase(path: Path, device_id: str, up_to_age_days: float) -> int:
    """What the insider did: one hand-made anchor, then delete every row of the chain at or below it."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT id, hash FROM playback_events WHERE device_id = ? AND recorded_at <= ? ORDER BY id",
                            [device_id, ago(up_to_age_days)]).fetchall()
        last_id, last_hash = rows[-1]
        conn.execute("INSERT INTO chain_anchors(chain, length, hash, last_id, pruned_at, newest_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", [f"playback_events:{device_id}", len(rows), last_hash, last_id,
                                                   ago(0), ago(up_to_age_days)])
        return conn.execute("DELETE FROM playback_events WHERE device_id = ? AND id <= ?", [device_id, last_id]).rowcount


def test_a_forged_anchor_that_erases_history_fails_verify(db, tmp_path):
    add_events(db, "loa-1", [900, 800, 700, 600, 10])
    add_audit(db, [900, 5])
    retention(db).run(now=NOW - timedelta(days=3650))  # nothing is old yet: no real anchor exists
    path = db.path
    config = _config(tmp_path, path)
    db.close()
    assert _forge_anchor_and_erase(path, "loa-1", 600) == 4
    out = subprocess.run([sys.executable, "-m", "loaxa", "audit", "verify", "-c", str(config)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "TAMPERED" in out.stdout, out.stdout + out.stderr
    assert "anchor playback_events:loa-1: 4 rows pruned" in out.stdout  # verify prints the anchors it checks
    assert "not signed" in out.stdout and "no retention_pruned audit entry names it" in out.stdout

    # Even with an anchor, rows younger than the retention floor cannot be deleted at all.
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE chain_anchors SET last_id = 1000000 WHERE chain = 'playback_events:loa-1'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM playback_events WHERE device_id = 'loa-1'")
        conn.execute("INSERT OR REPLACE INTO chain_anchors(chain, length, hash, last_id, pruned_at) "
                     "VALUES ('audit_log:all', 9, 'x', 1000000, 'x')")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM audit_log WHERE at >= ?", [ago(5)])


def test_an_anchor_signed_by_another_key_or_too_young_is_refused(db, tmp_path):
    add_events(db, "loa-1", [900, 800, 10])
    add_events(db, "loa-2", [900, 5])
    retention(db).run(now=NOW)
    assert all(r.ok for r in verify(db))
    with db.tx() as conn:  # re-sign loa-1's anchor with a key this controller never had
        chain, length, hash_, last_id, pruned_at, newest_at = conn.execute(
            "SELECT chain, length, hash, last_id, pruned_at, newest_at FROM chain_anchors "
            "WHERE chain = 'playback_events:loa-1'").fetchone()
        other = Keyring(tmp_path / "other" / "key.pem")
        kid, sig = other.sign_detached(hashchain.anchor_content(chain, length, hash_, last_id, pruned_at, newest_at))
        conn.execute("UPDATE chain_anchors SET kid = ?, sig = ? WHERE chain = ?", [kid, sig, chain])
    problems = [str(p) for r in verify(db) for p in r.problems]
    assert problems == [f"playback_events [loa-1] end of chain: anchor not valid: signed by an unknown key {kid!r}"]
    assert verify_all(db, trusted_public_keys(key_path(db)), minimum_days=1000)[1].problems  # 900 days < 1000


def add_notice(db: Database, key: str, age: float, deliveries: tuple[str, ...] = ()) -> None:
    """A notice in one person's bell with its e-mail and webhook attempts in the given states."""
    with db.tx() as conn:
        if conn.execute("SELECT COUNT(*) FROM users WHERE id = 1").fetchone()[0] == 0:
            conn.execute("INSERT INTO users(id, username, password_hash, role, created_at) "
                         "VALUES (1, 'lan', 'x', 'editor', ?)", [ago(900)])
        nid = conn.execute("INSERT INTO notifications(kind, dedupe_key, title, created_at) VALUES "
                           "('approval_waiting', ?, 'Chờ duyệt', ?)", [key, ago(age)]).lastrowid
        conn.execute("INSERT INTO notification_inbox(notification_id, user_id) VALUES (?, 1)", [nid])
        for i, status in enumerate(deliveries):
            conn.execute("INSERT INTO notification_deliveries(notification_id, channel, address, status, next_at) "
                         "VALUES (?, ?, 'lan@xa.vn', ?, ?)", [nid, ("email", "webhook")[i % 2], status, ago(age)])


def notice_rows(db: Database) -> tuple[list[str], int, int]:
    with db.tx() as conn:
        keys = [r[0] for r in conn.execute("SELECT dedupe_key FROM notifications ORDER BY id")]
        inbox = conn.execute("SELECT COUNT(*) FROM notification_inbox").fetchone()[0]
        deliveries = conn.execute("SELECT COUNT(*) FROM notification_deliveries").fetchone()[0]
    return keys, inbox, deliveries


def test_old_notifications_go_with_their_bell_copies_and_deliveries_and_the_run_is_audited(db):
    add_notice(db, "old-sent", 200, ("sent", "failed"))
    add_notice(db, "old-retrying", 200, ("sent", "pending"))  # still being tried: it stays
    add_notice(db, "old-no-delivery", 190)
    add_notice(db, "young", 5, ("sent",))
    settings = RetentionSettings(minimum_days=365, playback_events_days=400, audit_days=500, notifications_days=180)

    dry = retention(db, settings).run(dry_run=True, now=NOW)
    assert dry.notifications == 2 and notice_rows(db)[0] == ["old-sent", "old-retrying", "old-no-delivery", "young"]

    report = retention(db, settings).run(now=NOW)
    assert report.notifications == 2 and "2 notifications" in report.summary()
    assert notice_rows(db) == (["old-retrying", "young"], 2, 3)
    with db.tx() as conn:
        action, details = conn.execute("SELECT action, details FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert action == "retention_pruned" and '"notifications": 2' in details
    assert retention(db, settings).run(now=NOW).notifications == 0

    forever = RetentionSettings(minimum_days=365, playback_events_days=400, audit_days=500, notifications_days=0)
    with db.tx() as conn:
        conn.execute("UPDATE notification_deliveries SET status = 'failed' WHERE status = 'pending'")  # given up
    assert retention(db, forever).run(now=NOW).notifications == 0
    assert retention(db, settings).run(now=NOW).notifications == 1
    assert notice_rows(db) == (["young"], 1, 1)
