"""Finding 3 of the penetration test: a pole turned down to 0 silenced every later play,
emergencies included, while the logbook said "finished".

Now an emergency carries a signed minimum volume, the agent's conductor plays every item at
the volume its signed item names (an emergency never below the agent's own minimum), and a
pole reporting a very low volume is a fault: not ready, with the ``low_volume`` badge.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from controller.devtools.broker_runner import Broker
from edge_agent.config import VolumeSettings
from edge_agent.hardware import Volume
from loaxa import protocol
from loaxa.protocol import Verifier, public_key_from_text
from support.agent_rig import ConductorRig, make_clip, play_item
from support.harness import Listener, System, wait_for
from support.web_commune import setup_commune, sign_in


def at(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


def test_the_conductor_plays_each_item_at_its_signed_volume_and_emergencies_never_below_the_minimum(tmp_path):
    volume = Volume(VolumeSettings(initial=0))  # someone turned the pole down to nothing
    rig = ConductorRig(tmp_path / "rig", volume=volume, emergency_min_volume=80)
    try:
        clip = make_clip(tmp_path / "media", 0.4)
        rig.add(clip)
        t0 = datetime.now(timezone.utc).timestamp()
        rig.items = (play_item("own", clip, at(t0 + 2.0)),
                     play_item("signed", clip, at(t0 + 3.0), volume=65),
                     play_item("warning", clip, at(t0 + 4.0), priority="emergency"),
                     play_item("warning-quiet", clip, at(t0 + 5.0), priority="emergency", volume=30),
                     play_item("warning-loud", clip, at(t0 + 6.0), priority="emergency", volume=95))
        rig.start()
        wait_for(lambda: len(rig.kinds("finished")) == 5, timeout=20, what="five plays finished")
        plays = {p["item_id"]: p.get("volume") for p in map(json.loads, rig.sink.log_path.read_text().splitlines())}
        assert plays == {"own": 0, "signed": 65, "warning": 80, "warning-quiet": 80, "warning-loud": 95}
        assert (volume.level, volume.mixer) == (0, 0)  # back to the pole's own volume after each play
    finally:
        rig.close()


def test_a_command_during_an_item_changes_the_standing_volume_not_the_item():
    volume = Volume(VolumeSettings(initial=40))
    with volume.for_item(90) as level:
        assert level == 90
        volume.apply(10)
        assert (volume.level, volume.mixer) == (10, 90)
    assert (volume.level, volume.mixer) == (10, 10)


@pytest.fixture
def commune_and_broker(tmp_path):
    broker = Broker(tmp_path / "broker").start()
    system = System(tmp_path, broker)
    try:
        yield setup_commune(system, agents=("loa-1",)), broker
    finally:
        system.close()


def test_a_pole_turned_down_is_a_fault_and_still_sounds_an_emergency_at_the_minimum(commune_and_broker):
    commune, broker = commune_and_broker
    ctl, [agent] = commune.ctl, commune.agents
    url = ctl.url
    approver = sign_in(url, "chutich")
    r = approver.post(url + "/api/devices/loa-1/volume", json={"volume": 0})
    assert r.status_code == 200, r.text
    device = wait_for(lambda: (d := ctl.api.get("/api/devices/loa-1"))["state"].get("volume") == 0 and d,
                      timeout=20, what="loa-1 reports volume 0")
    assert device["low_volume"] is True and "low_volume" in device["state"]["faults"]
    page = approver.get(url + "/devices/loa-1")
    assert page.status_code == 200 and "Âm lượng quá nhỏ" in page.text

    page = approver.get(url + "/devices")
    assert page.status_code == 200 and "Chưa sẵn sàng" in page.text  # not ready while turned down

    listener = Listener(broker, protocol.group_cmd_topic("xa"), client_id="cmd-listener")
    try:
        em = ctl.api.post("/api/emergency", {"targets": ["xa"], "text": "Lũ về, sơ tán ngay.", "reason": "lũ"})
        wait_for(lambda: [p for p in agent.plays() if p["item_id"] == em["broadcast_id"]], timeout=30,
                 what="loa-1 plays the emergency")
        wait_for(lambda: listener.on(protocol.group_cmd_topic("xa")), timeout=10, what="the command seen")
        key = ctl.api.get("/api/pubkey")["public_key"]
        cmd = Verifier([public_key_from_text(key)]).open(listener.on(protocol.group_cmd_topic("xa"))[0],
                                                         protocol.Command)
    finally:
        listener.close()
    assert cmd.item is not None and cmd.item.volume == 80  # [plans] emergency_min_volume, inside the signature
    [played] = [p for p in agent.plays() if p["item_id"] == em["broadcast_id"]]
    assert played["volume"] == 80  # the pole at 0 still sounded the warning
    wait_for(lambda: ctl.api.get("/api/devices/loa-1")["state"].get("volume") == 0, timeout=20,
             what="loa-1 back at its own volume")


def test_the_readiness_of_a_slot_names_a_pole_turned_down(tmp_path):
    """A scheduled slot lists a pole below [plans] low_volume_fault as not ready (``low_volume``)."""
    from loaxa.protocol import DeviceState
    from support.world import make_world, tomorrow_10h

    world = make_world(tmp_path / "world", plans_auto_approve="true")
    try:
        b = world.call("root", "POST", "/api/bulletins", {"text": "Thông báo ngắn."}).json
        bc = world.call("root", "POST", "/api/broadcasts",
                        {"bulletin_id": b["id"], "starts_at": tomorrow_10h(), "targets": ["loa-a", "loa-b"]}).json
        versions = world.controller.dispatcher.current_versions()
        for device, volume in (("loa-a", 5), ("loa-b", 60)):
            world.controller.ingest.on_state(device, DeviceState(device_id=device, online=True, volume=volume,
                                                                 plan_version=versions[device], media_ready=True))
        [slot] = [s for s in world.call("root", "GET", "/api/readiness?hours=48").json if s["broadcast_id"] == bc["id"]]
        assert slot["ready"] == ["loa-b"]
        assert slot["not_ready"] == [{"device_id": "loa-a", "reason": "low_volume", "detail": "5%"}]
    finally:
        world.controller.stop()
