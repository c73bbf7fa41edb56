"""A province on three real mosquitto brokers (province + 2 communes) from the generated configs, with real agents.

The commune ``xa-a``'s bridge reaches the province broker through a fault-injecting TCP
proxy.  The link is cut for ``LOAXA_LINK_DOWN_S`` seconds (20 by default, to keep the
suite short; ``make soak`` runs the field figure of 10 minutes): the pole plays from its
plan, its events wait on the commune broker and in its outbox, an emergency sent meanwhile
says at once whom it cannot reach, and after the link heals every event is stored once
and the plan changed during the outage is applied.
"""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta

import pytest

from controller.security import commune_config
from loaxa import protocol
from loaxa.wire_time import utcnow
from support.harness import SPEECH_ONLY_AUDIO, wait_for
from support.secure_rig import Client
from support.tree_rig import TreeRig, assert_every_event_once, broadcast, bulletin, idle_pole_watch, planned

LINK_DOWN_S = float(os.environ.get("LOAXA_LINK_DOWN_S", "20"))


@pytest.fixture
def province(tmp_path):
    rig = TreeRig(tmp_path, plans="command_ttl_s = 600\nemergency_resend_s = 1\n", audio=SPEECH_ONLY_AUDIO)
    yield rig
    rig.close()


def plan_versions(watch: Client, device_id: str) -> list[int]:
    return [json.loads(p)["body"]["plan_version"] for p in watch.on(protocol.plan_topic(device_id))]


def test_a_commune_cut_off_plays_from_its_plan_and_loses_nothing_when_the_link_heals(province):
    rig = province
    rig.build({"loa-a": "thon-a", "loa-b": "thon-b", "loa-a9": "thon-a"})
    rig.start_all()
    ctl = rig.controller()
    rig.wait_links({"xa-a": True, "xa-b": True})
    a, b = rig.tree_agent("loa-a"), rig.tree_agent("loa-b")
    for d in ("loa-a", "loa-b"):
        wait_for(lambda: ctl.api.get(f"/api/devices/{d}")["online"], timeout=60, what=f"{d} online")

    # The tree as generated: devices are told their commune broker; the province admits no device.
    ports = {c: rig.communes[c].port for c in ("xa-a", "xa-b")}
    assert f"port = {ports['xa-a']}" in (rig.root / "agent-loa-a.toml").read_text()
    assert f"port = {ports['xa-b']}" in (rig.root / "agent-loa-b.toml").read_text()
    province_users = {line.split(":")[0] for line in rig.files.passwd.read_text().splitlines()}
    assert province_users == {"loaxa-controller", "loaxa-cli", "bridge-xa-a", "bridge-xa-b"}
    conf = commune_config.commune_files(rig.config, "xa-a").conf.read_text()
    for line in ("bridge_protocol_version mqttv311", "cleansession false", "persistence true",
                 "remote_username bridge-xa-a", "bridge_cafile", "topic loaxa/v1/dev/loa-a/plan in 1",
                 "topic loaxa/v1/grp/tinh/cmd in 1", "topic loaxa/v1/dev/+/events out 1"):
        assert line in conf, line
    assert "loa-b" not in conf
    watch = idle_pole_watch(rig, "loa-a9", "xa-a")
    wait_for(lambda: plan_versions(watch, "loa-a9"), timeout=30, what="the idle pole's plan through the bridge")

    texts = bulletin(ctl, "Thông báo họp dân."), bulletin(ctl, "Thông báo lịch tiêm phòng.")
    start = utcnow() + timedelta(seconds=LINK_DOWN_S / 2 + 8)
    during = broadcast(ctl, texts[0], start, "loa-a")
    wait_for(lambda: planned(a, during), timeout=30, what="the play in loa-a's plan before the cut")
    sent_before = len(watch.on(protocol.plan_topic("loa-a9")))

    rig.proxies["xa-a"].cut()
    cut_at = time.monotonic()
    rig.wait_links({"xa-a": False, "xa-b": True}, timeout=20)
    slots = ctl.api.get("/api/readiness?hours=1")
    [slot] = [s for s in slots if s["broadcast_id"] == during["id"]]
    assert slot["offline"] == ["loa-a"] and slot["cut_off"] == [{"device_id": "loa-a", "broker": "xa-a"}]

    em = ctl.api.post("/api/emergency", {"targets": ["tinh"], "text": "Lũ về, sơ tán ngay.", "reason": "lũ"})
    assert em["cut_off"] == [{"device_id": d, "broker": "xa-a"} for d in ("loa-a", "loa-a9")]
    status = ctl.api.get(f"/api/emergency/{em['broadcast_id']}/status")
    assert {d["device_id"]: d["cut_off_by"] for d in status["devices"]} == {"loa-a": "xa-a", "loa-a9": "xa-a",
                                                                           "loa-b": None}
    assert status["counts"]["cut_off"] == 2
    wait_for(lambda: any(p["item_id"] == em["broadcast_id"] for p in b.plays()), timeout=30,
             what="loa-b, whose link is up, plays the emergency")

    later = broadcast(ctl, texts[1], start + timedelta(seconds=LINK_DOWN_S + 20), "loa-a")
    wait_for(lambda: any(p["broadcast_id"] == during["id"] for p in a.plays()), timeout=LINK_DOWN_S + 30,
             what="loa-a plays from its plan with its link down")
    assert not planned(a, later)  # the change made during the outage has not crossed yet
    assert a.outbox_size() > 0  # started, finished: waiting for an ack that cannot come

    wait_for(lambda: time.monotonic() - cut_at >= LINK_DOWN_S, timeout=LINK_DOWN_S + 5, interval=0.5,
             what="the outage's end")
    rig.proxies["xa-a"].heal()
    rig.wait_links({"xa-a": True, "xa-b": True}, timeout=60)
    wait_for(lambda: planned(a, later), timeout=60, what="the plan changed during the outage reaches loa-a")
    wait_for(lambda: any(p["item_id"] == em["broadcast_id"] for p in a.plays()), timeout=60,
             what="the emergency re-sent to loa-a once its link is back")
    kinds = lambda: sorted(r["kind"] for r in ctl.events(device_id="loa-a", broadcast_id=during["id"]))  # noqa: E731
    wait_for(lambda: kinds() == ["finished", "started"], timeout=60, what="the outage's events stored")
    for agent in (a, b):
        assert_every_event_once(ctl, agent)

    # The bridge re-sent the retained plans when it reconnected: the idle pole saw the same version again,
    # and the running pole applied each version once.
    wait_for(lambda: len(watch.on(protocol.plan_topic("loa-a9"))) > sent_before, timeout=30,
             what="retained plans re-sent by the bridge")
    versions = plan_versions(watch, "loa-a9")
    assert len(versions) > len(set(versions)), versions
    with ctl.db() as conn:
        delivered = [r[0] for r in conn.execute("SELECT plan_version FROM playback_events WHERE device_id = 'loa-a' "
                                                "AND kind = 'delivered' ORDER BY seq")]
    assert delivered == sorted(set(delivered)), delivered
    watch.close()
