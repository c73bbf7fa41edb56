"""The thin path, all real: API → render → signed retained plan → two agents play on time → audit."""

from __future__ import annotations

from datetime import timedelta

from support.harness import wait_for

from support.tree import seed_commune
from loaxa.wire_time import format_time, parse_time, utcnow

TEXT = "Thông báo. Chiều nay xã tổ chức họp dân tại nhà văn hóa."


def test_bulletin_plays_on_two_agents_within_200ms_and_is_audited(system):
    ctl = system.controller()
    api = ctl.api
    seed_commune(api, {"loa-1": "thon-a", "loa-2": "thon-b"})
    key = api.get("/api/pubkey")["public_key"]
    agents = [system.agent(d, key, ctl.url) for d in ("loa-1", "loa-2")]
    wait_for(lambda: all(d["online"] for d in api.get("/api/devices")), what="both agents online")

    bulletin = api.post("/api/bulletins", {"title": "Họp dân", "text": TEXT})
    sha = bulletin["media"]["sha256"]
    assert (ctl.data_dir / "media" / f"{sha}.ogg").is_file()
    start = utcnow() + timedelta(seconds=5)
    bc = api.post("/api/broadcasts", {"bulletin_id": bulletin["id"], "starts_at": format_time(start), "targets": ["xa"]})
    assert bc["devices"] == ["loa-1", "loa-2"]
    assert bc["status"] == "pending_approval"  # nothing airs before another named person approves it
    bc = ctl.user_api("chu-tich").post(f"/api/broadcasts/{bc['id']}/approve", {"comment": "Đồng ý"})
    assert bc["status"] == "approved" and bc["decided_by"] == "chu-tich"

    for agent in agents:
        plays = wait_for(agent.plays, timeout=20, what=f"{agent.device_id} to play")
        assert len(plays) == 1
        assert plays[0]["sha256"] == sha
        assert abs(plays[0]["actual_start"] - start.timestamp()) < 0.2

    def finished_everywhere():
        rows = api.get(f"/api/playback?broadcast={bc['id']}&kind=finished")
        return rows if len(rows) == 2 else None

    rows = wait_for(finished_everywhere, timeout=30, what="finished events stored by the controller")
    assert {r["device_id"] for r in rows} == {"loa-1", "loa-2"}
    for r in rows:
        assert r["sha256"] == sha
        assert parse_time(r["planned_at"], "planned_at") == parse_time(format_time(start), "start")
        assert abs((parse_time(r["actual_start"], "a") - start).total_seconds()) < 0.2
    started = api.get(f"/api/playback?broadcast={bc['id']}&kind=started")
    assert {r["device_id"] for r in started} == {"loa-1", "loa-2"}
    # The outbox empties only after the controller's ack.
    for agent in agents:
        wait_for(lambda: agent.outbox_size() == 0, what=f"{agent.device_id} outbox drained by acks")


def test_device_state_goes_offline_through_last_will(system):
    ctl = system.controller()
    seed_commune(ctl.api, {"loa-1": "thon-a"})
    agent = system.agent("loa-1", ctl.api.get("/api/pubkey")["public_key"], ctl.url)
    wait_for(lambda: ctl.api.get("/api/devices/loa-1")["online"], what="agent online")
    agent.kill()  # no clean goodbye: the broker's last will must say offline
    wait_for(lambda: not ctl.api.get("/api/devices/loa-1")["online"], timeout=60, what="last will marks it offline")
    assert ctl.api.get("/api/devices/loa-1")["state"]["online"] is True  # the last state seen is kept for the record
