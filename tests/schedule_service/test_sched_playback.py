"""Scheduling end to end: real mosquitto, real controller, real agents with the file sink."""

from __future__ import annotations

import subprocess
from datetime import timedelta

from support.harness import SPEECH_ONLY_AUDIO, Listener, loaxa, wait_for
from loaxa import protocol
from loaxa.protocol import Plan, Verifier, public_key_from_text
from loaxa.wire_time import parse_time
from support.schedule_api import (
    agent_plan,
    approve,
    bulletin,
    daily_rule,
    plays_of,
    schedule,
    setup,
    soon,
)
from loaxa.local_time import local_instant, to_local

LONG_TEXT = "Thông báo của Ủy ban nhân dân xã về lịch tiêm phòng. " * 3


def test_recurring_rule_reaches_the_signed_plan_for_the_horizon_and_plays(system):
    ctl = system.controller(audio_toml=SPEECH_ONLY_AUDIO)
    api, key = setup(ctl, {"loa-1": "thon-a"})
    agent = system.agent("loa-1", key, ctl.url)
    b = bulletin(api)
    first = soon(8)
    rule = daily_rule(first, days=3, extra_slots=(f"{to_local(first) + timedelta(hours=7):%H:%M}",))
    bc = schedule(api, b["id"], rule=rule)
    assert bc["rule_vi"].startswith("Hằng ngày")

    plan = wait_for(lambda: (p := agent_plan(agent, key)) and p.items and p, what="agent stored the plan")
    offset = timedelta(seconds=rule["offset_s"])
    slots = [local_instant(to_local(first).date() + timedelta(days=d), parse_time_of(s)) + offset
             for d in range(3) for s in rule["slot_times"]]
    expected = sorted(t for t in slots if plan.issued_at <= t < plan.issued_at + timedelta(hours=48))
    assert [i.start for i in plan.items] == expected
    assert len(expected) in (3, 4)  # two days of the first slot, one or two of the second
    assert all(i.broadcast_id == bc["id"] and i.sha256 == b["media"]["sha256"] for i in plan.items)
    assert plan.items[0].item_id == f"{bc['id']}-{(first - offset):%Y%m%d%H%M}-0"
    assert plan.groups == ("thon-a", "xa", "tinh")

    played = wait_for(lambda: plays_of(agent, bc["id"]), timeout=20, what="the first airing")
    assert played[0]["item_id"] == plan.items[0].item_id
    assert abs(played[0]["actual_start"] - first.timestamp()) < 0.2


def parse_time_of(text: str):
    from datetime import time

    return time.fromisoformat(text)


def test_priority_goes_first_in_its_programme_and_plays_first(system):
    ctl = system.controller(audio_toml=SPEECH_ONLY_AUDIO)
    api, key = setup(ctl, {"loa-1": "thon-a"})
    agent = system.agent("loa-1", key, ctl.url)
    normal_b = bulletin(api, "Tin thường buổi sáng.", "Tin thường")
    urgent_b = bulletin(api, "Tin ưu tiên của huyện.", "Tin ưu tiên")
    at = soon(8)
    normal = schedule(api, normal_b["id"], at)
    urgent = schedule(api, urgent_b["id"], at, priority="priority")
    wait_for(lambda: len(agent.plays()) == 2, timeout=30, what="both items played")
    first, second = agent.plays()
    assert (first["broadcast_id"], second["broadcast_id"]) == (urgent["id"], normal["id"])
    assert abs(first["actual_start"] - at.timestamp()) < 0.2
    assert second["actual_start"] >= first["actual_start"] + urgent_b["media"]["duration_s"] - 0.05
    items = api.get("/api/plans/loa-1")["plan"]["items"]
    assert [i["priority"] for i in items] == ["priority", "normal"]


def test_emergency_preempts_on_the_group_topic_and_is_logged_with_who_triggered_it(system, broker):
    ctl = system.controller(audio_toml=SPEECH_ONLY_AUDIO)
    api, key = setup(ctl, {"loa-1": "thon-a", "loa-2": "thon-b"})
    agents = [system.agent(d, key, ctl.url) for d in ("loa-1", "loa-2")]
    for agent in agents:
        wait_for(lambda: agent_plan(agent, key), what=f"{agent.device_id} has its groups")
    listener = Listener(broker, "loaxa/v1/grp/+/cmd", "loaxa/v1/dev/+/cmd", client_id="cmd-listener")
    long_b = bulletin(api, LONG_TEXT, "Tiêm phòng")
    normal = schedule(api, long_b["id"], soon(5))
    for agent in agents:
        wait_for(lambda: plays_of(agent, normal["id"]), timeout=20, what=f"{agent.device_id} playing the long item")

    em = api.post("/api/emergency", {"targets": ["xa"], "text": "Khẩn cấp. Lũ đang lên.", "title": "Báo lũ",
                                     "reason": "Lũ quét"})
    assert em["topics"] == ["grp/xa"] and em["triggered_by"] == "test-admin"
    assert em["devices"] == ["loa-1", "loa-2"]
    for agent in agents:
        wait_for(lambda: plays_of(agent, em["broadcast_id"]), timeout=20, what=f"{agent.device_id} emergency play")
    assert [t for t, _, _ in listener.messages] == ["loaxa/v1/grp/xa/cmd"]  # one publish reached the commune
    cmd = Verifier([public_key_from_text(key)]).open(listener.messages[0][1], protocol.Command)
    assert cmd.action == "play_now" and cmd.issued_by == "test-admin" and cmd.reason == "Lũ quét"

    def interrupted():
        rows = api.get(f"/api/playback?broadcast={normal['id']}&kind=interrupted")
        return rows if len(rows) == 2 else None

    rows = wait_for(interrupted, timeout=20, what="the long item logged interrupted on both devices")
    assert {r["reason"] for r in rows} == {"preempted"}
    wait_for(lambda: len(api.get(f"/api/playback?broadcast={em['broadcast_id']}&kind=started")) == 2,
             what="emergency started events")
    logged = api.get("/api/emergencies")
    assert [(e["broadcast_id"], e["triggered_by"], e["reason"]) for e in logged] == [(em["broadcast_id"], "test-admin", "Lũ quét")]
    assert api.get(f"/api/broadcasts/{em['broadcast_id']}")["kind"] == "emergency"
    listener.close()


def test_offline_device_converges_to_the_latest_plan_and_never_plays_a_cancelled_broadcast(system):
    ctl = system.controller(audio_toml=SPEECH_ONLY_AUDIO)
    api, key = setup(ctl, {"loa-1": "thon-a", "loa-2": "thon-b"})
    agent = system.agent("loa-1", key, ctl.url)
    other = system.agent("loa-2", key, ctl.url)
    b = bulletin(api)
    cancelled = schedule(api, b["id"], soon(10))  # the stop, the cancel and the restart below take a few seconds
    wait_for(lambda: (p := agent_plan(agent, key)) and [i.broadcast_id for i in p.items] == [cancelled["id"]],
             what="the agent holds the first broadcast")
    ready = wait_for(lambda: [r for r in api.get("/api/readiness") if r["ready"] == ["loa-1", "loa-2"]],
                     what="both devices ready")
    assert ready[0]["broadcast_id"] == cancelled["id"] and ready[0]["offline"] == []

    agent.stop()
    wait_for(lambda: not api.get("/api/devices/loa-1")["online"], what="loa-1 offline")
    rows = api.get("/api/readiness")
    assert rows[0]["offline"] == ["loa-1"] and rows[0]["ready"] == ["loa-2"]
    cli = subprocess.run(loaxa("readiness", "--url", ctl.url, "--token", ctl.token), capture_output=True, text=True,
                         env=ctl.env, timeout=60)
    assert cli.returncode == 1 and "offline    loa-1" in cli.stdout, cli.stdout + cli.stderr

    api.post(f"/api/broadcasts/{cancelled['id']}/cancel", {})
    latest = schedule(api, b["id"], parse_time(cancelled["starts_at"], "s") + timedelta(seconds=3))
    agent.start()
    played = wait_for(lambda: plays_of(agent, latest["id"]), timeout=30, what="the new broadcast after reconnecting")
    assert len(played) == 1
    assert plays_of(agent, cancelled["id"]) == [] and plays_of(other, cancelled["id"]) == []
    assert plays_of(other, latest["id"])
    device = api.get("/api/devices/loa-1")
    assert device["plan_version_applied"] == api.get("/api/plans/loa-1")["plan_version"]
    assert api.get(f"/api/playback?broadcast={cancelled['id']}&kind=started") == []


def test_controller_restart_mid_horizon_loses_no_job_and_repeats_no_plan_or_play(system, broker):
    ctl = system.controller(audio_toml=SPEECH_ONLY_AUDIO)
    api, key = setup(ctl, {"loa-1": "thon-a"})
    agent = system.agent("loa-1", key, ctl.url)
    wait_for(lambda: agent_plan(agent, key), what="the agent's first plan")
    listener = Listener(broker, "loaxa/v1/dev/+/plan", client_id="plan-listener")
    b = bulletin(api)
    one_off = schedule(api, b["id"], soon(9))  # the controller restarts within it
    recurring = schedule(api, b["id"], rule=daily_rule(soon(3 * 3600), days=5))
    plan = wait_for(lambda: (p := agent_plan(agent, key)) and len(p.items) == 3 and p, what="three items planned")
    jobs_before = {j["id"]: j["next_run_at"] for j in api.get("/api/jobs")}
    assert f"render:{recurring['id']}" in jobs_before and "plans-periodic" in jobs_before
    assert f"render:{one_off['id']}" not in jobs_before  # checked at approval: it airs within the lead time

    ctl.stop()
    ctl.start()
    jobs_after = api.get("/api/jobs")
    assert len(jobs_after) == len({j["id"] for j in jobs_after})
    assert {j["id"]: j["next_run_at"] for j in jobs_after if j["id"].startswith("render:")} == \
        {k: v for k, v in jobs_before.items() if k.startswith("render:")}

    played = wait_for(lambda: plays_of(agent, one_off["id"]), timeout=30, what="the one-off plays after the restart")
    wait_for(lambda: api.get(f"/api/playback?broadcast={one_off['id']}&kind=finished"), what="its finished event")
    assert len(played) == 1 and len(api.get(f"/api/playback?broadcast={one_off['id']}&kind=started")) == 1

    seen: dict[int, bytes] = {}
    versions = []
    verifier = Verifier([public_key_from_text(key)])
    for topic, payload, _ in listener.messages:
        version = verifier.open(payload, Plan).plan_version
        assert seen.setdefault(version, payload) == payload, f"plan v{version} issued twice with different content"
        versions.append(version)
    assert versions == sorted(versions)
    assert plan.plan_version in seen
    # After the restart the same content kept its version: only the one-off's expiry may add one.
    assert max(seen) - plan.plan_version <= 1
    listener.close()
