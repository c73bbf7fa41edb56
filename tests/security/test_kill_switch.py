"""The kill switch, all real: it stops what plays, blocks the rest, survives a restart, and lifts."""

from __future__ import annotations

from datetime import timedelta

from edge_agent.kill_switch import KillSwitch
from edge_agent.store import AgentStore
from support.harness import SPEECH_ONLY_AUDIO, wait_for
from support.tree import seed_commune
from loaxa.protocol import PlayItem
from loaxa.wire_time import format_time, utcnow

TEXT = "Thông báo. Chiều nay xã họp dân tại nhà văn hóa thôn."


def test_kill_switch_stops_blocks_is_reconciled_and_lifts(system):
    # Speech without chimes: each broadcast waits for the one before it to end, and what is tested
    # is what plays and what is stopped or skipped, not how it sounds.
    ctl = system.controller(extra_toml="[plans]\nauto_approve = true\n", audio_toml=SPEECH_ONLY_AUDIO)
    api = ctl.api
    seed_commune(api, {"loa-1": "thon-a"})
    agent = system.agent("loa-1", api.get("/api/pubkey")["public_key"], ctl.url)
    wait_for(lambda: api.get("/api/devices/loa-1")["online"], what="agent online")
    bulletin = api.post("/api/bulletins", {"title": "Họp dân", "text": TEXT})

    duration = timedelta(seconds=bulletin["media"]["duration_s"] + 1)
    last_end = [utcnow()]

    def broadcast(seconds: float) -> str:
        """Items of one programme follow each other: start each after the last one's end, or it moves."""
        start = max(utcnow() + timedelta(seconds=seconds), last_end[0])
        last_end[0] = start + duration
        return api.post("/api/broadcasts", {"bulletin_id": bulletin["id"], "starts_at": format_time(start),
                                            "targets": ["xa"], "confirm_duplicate": True})["id"]

    def event(kind: str, bc: str):
        return lambda: next(iter(api.get(f"/api/playback?broadcast={bc}&kind={kind}")), None)

    def kill_state() -> bool | None:
        device = api.get("/api/devices/loa-1")
        return device["state"].get("kill_switch") if device["online"] else None

    first = broadcast(4)
    wait_for(agent.plays, timeout=20, what="the first broadcast starts")
    engaged = api.post("/api/units/xa/kill-switch", {"reason": "nhầm bản tin"})
    assert engaged["devices"] == ["loa-1"]
    assert wait_for(event("interrupted", first), what="playback stopped")["reason"] == "kill_switch"
    wait_for(lambda: kill_state() is True, what="agent reports the switch")
    assert [k["unit_id"] for k in api.get("/api/kill-switches")] == ["xa"]

    blocked = broadcast(3)
    assert wait_for(event("skipped", blocked), timeout=30, what="blocked broadcast skipped")["reason"] == "kill_switch"
    assert len(agent.plays()) == 1

    agent.stop()  # the lift command cannot reach it now ...
    ctl.loaxa_cli("emergency-stop", "--unit", "xa", "--lift")
    agent.start()  # ... so the controller repeats it when the agent reports its persisted switch
    wait_for(lambda: kill_state() is False, timeout=30, what="controller lifts the switch it finds still on")

    after = broadcast(3)
    wait_for(event("started", after), timeout=30, what="a broadcast after the lift plays")
    assert len(agent.plays()) == 2
    with ctl.db() as conn:
        audit = conn.execute("SELECT actor, action, target FROM audit_log WHERE action LIKE 'kill_switch%' ORDER BY id").fetchall()
    assert [(a[1], a[2]) for a in audit] == [("kill_switch", "xa"), ("kill_switch_lifted", "xa")]
    assert audit[0][0] and audit[1][0].startswith("cli:")


def test_emergencies_still_play_and_the_switch_survives_a_restart(tmp_path):
    now = utcnow()
    item = PlayItem(item_id="i", start=now, sha256="ab" * 32, size=1, duration_s=1.0)
    emergency = PlayItem(item_id="e", start=now, sha256="ab" * 32, size=1, duration_s=1.0, priority="emergency")
    store = AgentStore(tmp_path / "agent.db")
    switch = KillSwitch(store)
    assert switch.blocked(item) is None
    switch.engage("test")
    store.close()
    store = AgentStore(tmp_path / "agent.db")
    switch = KillSwitch(store)
    assert switch.blocked(item) == "kill_switch" and switch.blocked(emergency) is None
    switch.lift()
    assert switch.blocked(item) is None
    store.close()
