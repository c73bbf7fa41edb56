"""Media faults against a real agent process: killed mid-download, tampered media on the HTTP path.

The agent is driven by plans signed with a test key over a real mosquitto, and fetches
media from a small local Range-capable server that can stall a download on purpose.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import timedelta

import pytest

from support.agent_rig import MediaServer, make_clip, play_item, sealed_plan
from support.harness import Listener, wait_for
from loaxa import protocol
from loaxa.protocol import Signer
from loaxa.wire_time import utcnow

DEVICE = "loa-1"
CHUNK = 64 * 1024
NO_NTP = '\n[clock]\nntp_server = ""\nuse_chrony = false\n'


@pytest.fixture
def signer() -> Signer:
    return Signer.generate()


@pytest.fixture
def publisher(broker):
    listener = Listener(broker, client_id="test-plan-publisher")
    yield listener
    listener.close()


def outbox(agent) -> list[dict]:
    """The agent's outbox; empty while the agent is still creating its database."""
    if not (agent.data_dir / "agent.db").exists():
        return []
    try:
        with agent.db() as conn:
            return [json.loads(r[0]) for r in conn.execute("SELECT payload FROM outbox ORDER BY seq")]
    except sqlite3.OperationalError:
        return []


def test_download_killed_midway_resumes_with_range_and_verifies(system, signer, publisher, tmp_path):
    clip = make_clip(tmp_path / "store", 40.0, freq=350)  # ~160 kB of Opus
    assert clip.size > 2 * CHUNK
    server = MediaServer(clip.path.parent, hold_after=CHUNK)  # the first download stalls after 64 kB
    try:
        agent = system.agent(DEVICE, protocol.public_key_to_text(signer.public_key), server.url, extra_toml=NO_NTP)
        item = play_item("long", clip, utcnow() + timedelta(hours=1))
        publisher.publish(protocol.plan_topic(DEVICE), sealed_plan(signer, DEVICE, 1, (item,)), retain=True)
        part = agent.data_dir / "media" / f"{clip.name}.part"
        wait_for(lambda: part.exists() and part.stat().st_size == CHUNK, timeout=30, what="a partial download on disk")
        agent.kill()
        assert part.stat().st_size == CHUNK
        assert [r["range"] for r in server.requests if r["path"].startswith("/media/")] == [""]

        agent.start()
        cached = agent.data_dir / "media" / clip.name
        wait_for(cached.exists, timeout=20, what="the resumed download in the cache")
        assert server.requests[-1]["range"] == f"bytes={CHUNK}-"
        assert hashlib.sha256(cached.read_bytes()).hexdigest() == clip.sha256
        assert not part.exists()

        def indexed_size():
            with agent.db() as conn:
                return conn.execute("SELECT size FROM media WHERE sha256 = ?", (clip.sha256,)).fetchone()

        # The file is renamed into place just before its row is committed: wait for the row.
        assert wait_for(indexed_size, timeout=10, what="the cached file in the media index") == (clip.size,)
    finally:
        server.close()


def test_media_tampered_on_the_http_path_never_plays(system, signer, publisher, tmp_path):
    clip = make_clip(tmp_path / "store", 0.5)
    server = MediaServer(clip.path.parent, tamper=True)
    try:
        agent = system.agent(DEVICE, protocol.public_key_to_text(signer.public_key), server.url, extra_toml=NO_NTP)
        item = play_item("x", clip, utcnow() + timedelta(seconds=4))
        publisher.publish(protocol.plan_topic(DEVICE), sealed_plan(signer, DEVICE, 1, (item,)), retain=True)
        failed = wait_for(lambda: [e for e in outbox(agent) if e["kind"] == "failed" and e.get("item_id") == "x"],
                          timeout=15, what="the play to fail")
        assert failed[0]["reason"] == "media_missing"
        assert agent.plays() == []
        assert not (agent.data_dir / "media" / clip.name).exists()
        wait_for(lambda: len(server.requests) >= 2, what="a retry")  # retried in the background, refused every time
        assert "refusing it" in agent.log()
    finally:
        server.close()


def test_a_slow_large_download_blocks_no_other_play_and_a_missed_item_is_logged(system, signer, publisher, tmp_path):
    """The soak's lost plays: a large file stalls mid-download; a small item due meanwhile plays on time,
    and the stalled item is logged ``skipped media_late`` when a newer plan no longer lists it."""
    big = make_clip(tmp_path / "store", 40.0, freq=350)
    small = make_clip(tmp_path / "store", 0.5, freq=700)
    server = MediaServer(big.path.parent, hold_after=CHUNK, hold_only=big.name)
    try:
        agent = system.agent(DEVICE, protocol.public_key_to_text(signer.public_key), server.url, extra_toml=NO_NTP)
        now = utcnow()
        stalled = play_item("big", big, now - timedelta(seconds=40))  # late, still inside the 60 s tolerance
        due = play_item("small", small, now + timedelta(seconds=5))
        publisher.publish(protocol.plan_topic(DEVICE), sealed_plan(signer, DEVICE, 1, (stalled, due)), retain=True)
        [play] = wait_for(agent.plays, timeout=20, what="the small item to play")
        assert play["item_id"] == "small"
        assert abs(play["actual_start"] - due.start.timestamp()) < 0.3
        assert (agent.data_dir / "media" / f"{big.name}.part").exists()  # the large file is still coming
        publisher.publish(protocol.plan_topic(DEVICE), sealed_plan(signer, DEVICE, 2, (due,)), retain=True)
        skipped = wait_for(lambda: [e for e in outbox(agent) if e["kind"] == "skipped" and e.get("item_id") == "big"],
                           timeout=15, what="the stalled item logged after it left the plan")
        assert skipped[0]["reason"] == "media_late"
        assert not [e for e in outbox(agent) if e["kind"] == "failed"]
    finally:
        server.close()
