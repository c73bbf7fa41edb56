"""Fault tolerance of a real agent with a real controller and mosquitto, on the file sink.

Durations are scaled down from the field scenarios (a broker stopped 2 s before a play and
back 3 s after, instead of 10 s and 30 s); the sequence of faults is the same.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from datetime import datetime, timedelta

import pytest

from support.harness import SPEECH_ONLY_AUDIO, Listener, wait_for
from loaxa import protocol

from support.tree import seed_commune
from loaxa.wire_time import format_time, parse_time, utcnow

DEVICE = "loa-1"
NO_NTP = '\n[clock]\nntp_server = ""\nuse_chrony = false\n'
SHORT = "Thông báo họp dân."
LONG = "Thông báo tiêm phòng gia súc cho toàn thôn vào sáng thứ bảy."  # a few seconds of speech
ON_TIME_S = 0.2  # a loose bound on a busy shared machine; precision itself is measured by bench/bench_agent.py


def until(instant: datetime) -> None:
    """Advance the scenario to a wall-clock instant (a scripted fault time, not a guess)."""
    time.sleep(max(0.0, instant.timestamp() - time.time()))


@pytest.fixture
def site(system):
    ctl = system.controller(audio_toml=SPEECH_ONLY_AUDIO)
    seed_commune(ctl.api, {DEVICE: "thon-a"})
    key = ctl.api.get("/api/pubkey")["public_key"]
    agent = system.agent(DEVICE, key, ctl.url, extra_toml=NO_NTP)
    wait_for(lambda: ctl.api.get(f"/api/devices/{DEVICE}")["online"], what="agent online")
    ctl.approver = ctl.user_api("chu-tich")  # nobody approves their own broadcast
    return ctl, agent


def bulletin(ctl, text: str) -> dict:
    return ctl.api.post("/api/bulletins", {"title": text[:30], "text": text})


def broadcast(ctl, bulletin_id: str, start: datetime) -> dict:
    """Schedule (and approve, where approval is required) one broadcast to the device."""
    bc = ctl.api.post("/api/broadcasts", {"bulletin_id": bulletin_id, "starts_at": format_time(start), "targets": [DEVICE]})
    if bc.get("status") == "pending_approval":  # another named person approves it
        bc = ctl.approver.post(f"/api/broadcasts/{bc['id']}/approve", {"comment": "Đồng ý"})
    assert bc["status"] == "approved", bc
    return bc


def cached(agent, b: dict) -> bool:
    return (agent.data_dir / "media" / f"{b['media']['sha256']}.ogg").is_file()


def planned(agent, b: dict) -> datetime | None:
    """When the agent's stored plan says ``b`` plays (the controller may order items within a programme)."""
    with agent.db() as conn:
        row = conn.execute("SELECT payload FROM plan").fetchone()
    items = json.loads(row[0])["body"]["items"] if row else []
    starts = [parse_time(i["start"], "start") for i in items if i["broadcast_id"] == b["id"]]
    return starts[0] if starts else None


def planned_safely(agent, b: dict) -> datetime | None:
    """:func:`planned`, while the agent may still be creating its store."""
    try:
        return planned(agent, b) if (agent.data_dir / "agent.db").exists() else None
    except sqlite3.OperationalError:
        return None


def until_played(agent, count: int, instant: datetime, what: str) -> list[dict]:
    timeout = max(0.0, instant.timestamp() - time.time()) + 20
    return wait_for(lambda: len(agent.plays()) >= count and agent.plays(), timeout=timeout, what=what)


def start_recorded(agent) -> bool:
    """The sound starts a moment before the agent stores its start; a kill in between has no start to report."""
    with agent.db() as conn:
        return conn.execute("SELECT 1 FROM plays WHERE status = 'playing' AND json_extract(info, '$.actual_start') "
                            "IS NOT NULL").fetchone() is not None


def kinds(ctl, broadcast_id: str) -> list[str]:
    return sorted(r["kind"] for r in ctl.events(device_id=DEVICE, broadcast_id=broadcast_id))


def assert_every_event_once(ctl, agent) -> None:
    """The controller holds each event of the agent's outbox exactly once, with no gap."""
    wait_for(lambda: agent.outbox_size() == 0, timeout=30, what="outbox drained by acks")
    rows = ctl.events(device_id=DEVICE)
    by_epoch: dict[str, list[int]] = {}
    for r in rows:
        by_epoch.setdefault(r["epoch"], []).append(r["seq"])
    for seqs in by_epoch.values():
        assert seqs == list(range(1, len(seqs) + 1))


def test_broker_down_around_a_play_it_plays_on_time_and_reports_once(system, site):
    ctl, agent = site
    b = bulletin(ctl, SHORT)
    start = utcnow() + timedelta(seconds=5)
    bc = broadcast(ctl, b["id"], start)
    wait_for(lambda: cached(agent, b), what="media prefetched")
    start = wait_for(lambda: planned(agent, bc), what="the play in the agent's plan")
    until(start - timedelta(seconds=2))
    system.broker.stop()
    until(start + timedelta(seconds=3))
    [play] = agent.plays()  # played with no broker at all
    assert abs(play["actual_start"] - start.timestamp()) < ON_TIME_S
    system.broker.start()
    wait_for(lambda: kinds(ctl, bc["id"]) == ["finished", "started"], timeout=45, what="events after the broker returned")
    assert_every_event_once(ctl, agent)


def test_controller_down_for_a_whole_programme(system, site):
    ctl, agent = site
    b1, b2 = bulletin(ctl, SHORT), bulletin(ctl, "Thông báo lịch cắt điện.")
    start = utcnow() + timedelta(seconds=5)
    bc1 = broadcast(ctl, b1["id"], start)
    bc2 = broadcast(ctl, b2["id"], start + timedelta(seconds=b1["media"]["duration_s"] + 1))
    wait_for(lambda: cached(agent, b1) and cached(agent, b2), what="media prefetched")
    ctl.stop()
    last = wait_for(lambda: planned(agent, bc2), what="the programme in the agent's plan")
    until_played(agent, 2, last, "both items played without a controller")
    assert all(abs(p["actual_start"] - p["planned"]) < ON_TIME_S for p in agent.plays())
    wait_for(lambda: agent.outbox_size() >= 4, what="started and finished events queued")
    ctl.start()
    for bc in (bc1, bc2):
        wait_for(lambda: kinds(ctl, bc["id"]) == ["finished", "started"], timeout=30, what="events after the controller returned")
    assert_every_event_once(ctl, agent)


def test_plan_replaced_while_offline_plays_only_the_latest(system, site):
    ctl, agent = site
    old, new = bulletin(ctl, SHORT), bulletin(ctl, "Thông báo lịch tiêm phòng.")
    start = utcnow() + timedelta(seconds=10)
    cancelled = broadcast(ctl, old["id"], start)
    wait_for(lambda: cached(agent, old), what="first plan applied and its media cached")
    old_start = wait_for(lambda: planned(agent, cancelled), what="the first item in the agent's plan")
    agent.stop()
    ctl.api.delete(f"/api/broadcasts/{cancelled['id']}")
    replacement = broadcast(ctl, new["id"], start + timedelta(seconds=2))
    agent.start()
    new_start = wait_for(lambda: planned(agent, replacement), what="the replacement plan applied")
    until_played(agent, 1, new_start, "the replacement to play")
    until(max(old_start, new_start) + timedelta(seconds=1))
    [play] = agent.plays()
    assert play["sha256"] == new["media"]["sha256"]
    assert abs(play["actual_start"] - new_start.timestamp()) < ON_TIME_S
    wait_for(lambda: kinds(ctl, replacement["id"]) == ["finished", "started"], timeout=20, what="replacement events")
    assert kinds(ctl, cancelled["id"]) == []


def test_agent_killed_during_playback_logs_interrupted_and_plays_on(system, site):
    ctl, agent = site
    long_b, next_b = bulletin(ctl, LONG), bulletin(ctl, SHORT)
    assert long_b["media"]["duration_s"] > 3  # long enough to be killed mid-item
    start = utcnow() + timedelta(seconds=5)
    bcs = [broadcast(ctl, long_b["id"], start),
           broadcast(ctl, next_b["id"], start + timedelta(seconds=long_b["media"]["duration_s"] + 1))]
    wait_for(lambda: cached(agent, long_b) and cached(agent, next_b), what="media prefetched")
    first_at = min(wait_for(lambda: planned(agent, bc), what="plan applied") for bc in bcs)
    [killed_play] = until_played(agent, 1, first_at, "the first item to start")
    wait_for(lambda: start_recorded(agent), what="the start recorded in the agent's store")
    agent.kill()  # mid-item: the controller orders a programme's items, so whichever started first
    agent.start()
    killed = next(bc for bc in bcs if bc["id"] == killed_play["broadcast_id"])
    other = next(bc for bc in bcs if bc is not killed)
    until_played(agent, 2, wait_for(lambda: planned(agent, other), what="plan reloaded"), "the next item after the restart")
    wait_for(lambda: "interrupted" in kinds(ctl, killed["id"]), timeout=20, what="interrupted event stored")
    [row] = ctl.events(device_id=DEVICE, broadcast_id=killed["id"], kind="interrupted")
    assert row["reason"] == "agent_restart" and row["actual_start"]
    assert row["duration_s"] is not None and 0 <= row["duration_s"] <= long_b["media"]["duration_s"]  # what aired
    assert "finished" not in kinds(ctl, killed["id"])
    wait_for(lambda: kinds(ctl, other["id"]) == ["finished", "started"], timeout=20, what="next item events")
    assert_every_event_once(ctl, agent)


def test_a_stale_retained_plan_is_harmless_and_a_wiped_device_takes_the_current_one(system, site):
    """A broker SIGKILLed restores its last save and hands out an older retained plan (the same signed bytes)."""
    ctl, agent = site
    first = broadcast(ctl, bulletin(ctl, SHORT)["id"], utcnow() + timedelta(hours=1))
    wait_for(lambda: planned(agent, first), what="the first plan applied")
    with ctl.db() as conn:
        stale_version, stale = conn.execute("SELECT plan_version, payload FROM device_plans WHERE device_id = ?",
                                            [DEVICE]).fetchone()
    second = broadcast(ctl, bulletin(ctl, "Thông báo lịch cắt điện.")["id"], utcnow() + timedelta(hours=2))
    wait_for(lambda: planned(agent, second), what="the newer plan applied")
    restored = Listener(system.broker, client_id="restored-save")
    try:
        restored.publish(protocol.plan_topic(DEVICE), bytes(stale), retain=True)
        wait_for(lambda: f"ignoring plan v{stale_version}" in agent.log(), what="the stale copy ignored")
        assert planned(agent, second)
        assert [r for r in ctl.events(device_id=DEVICE) if r["kind"] == "security"] == []
        wait_for(lambda: agent.outbox_size() == 0, what="outbox drained")
        assert [r for r in ctl.events(device_id=DEVICE) if r["kind"] == "security"] == []  # no false alarm

        agent.stop()
        shutil.rmtree(agent.data_dir)  # storage wiped: the device knows no plan; the broker offers the stale one
        agent.start()
        wait_for(lambda: planned_safely(agent, second), timeout=20, what="the wiped device on the current plan")
        with agent.db() as conn:
            delivered = [json.loads(r[0])["plan_version"] for r in conn.execute("SELECT payload FROM outbox")
                         if json.loads(r[0])["kind"] == "delivered"]
        wait_for(lambda: agent.outbox_size() == 0, what="outbox drained")
        epoch_rows = [r for r in ctl.events(device_id=DEVICE, kind="delivered")
                      if r["epoch"] != ctl.events(device_id=DEVICE)[0]["epoch"]]
        assert stale_version not in delivered + [r["plan_version"] for r in epoch_rows]
        assert planned(agent, first) and planned(agent, second)
    finally:
        restored.close()
