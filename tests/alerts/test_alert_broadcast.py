"""All real: a CAP feed on loopback → the controller's poller → signed plans → agents play the warning.

The feed serves the OASIS specification's examples and Vietnamese warnings written here, and
takes them through Alert, Update, Cancel, disappearance and expiry.  One agent is offline
while the warning first airs: it plays it once, late, on reconnecting inside the window,
and an agent that comes back after the window never plays it.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest

from support.cap_docs import BILLION_LAUGHS, GEOJSON, OASIS, seed_son_ha_api, vi_alert
from support.cap_feed_server import FeedServer
from support.harness import FAST_SPEECH_AUDIO, wait_for
from loaxa.protocol import parse_time, utcnow

POLICY = {"rules": [{"name": "cảnh báo cấp 3 trở lên tự phát", "action": "auto", "risk_levels": [3, 4, 5]}],
          "repeat_every_min": 5, "quiet_override_levels": [4, 5]}
# Tân Lập by polygon (83 %), Đông Sơn and Hòa Bình by their geocodes.
AREA = {"geocodes": (("VN-ADM", "99002"), ("VN-ADM", "99003"))}
# Expiry is checked every half second rather than every 5 s; the bulletins (all-clears) go without chimes,
# and every spoken clip at double pace: on a pole the warning, its update and the all-clear air one
# after another, so their length is waited through, while what is tested is when and where they air.
QUICK_ALERTS = dict(extra_toml="[alerts]\ntick_s = 0.5\n", audio_toml=FAST_SPEECH_AUDIO)


@pytest.fixture
def feed():
    server = FeedServer()
    yield server
    server.close()


def controller_with_alerts(system, feed):
    ctl = system.controller(**QUICK_ALERTS)
    api = ctl.api
    seed_son_ha_api(api)
    assert api.post("/api/alerts/geography", json.loads(GEOJSON.read_text()))["units"]
    api.request("PUT", "/api/alerts/policies/tinh-son-ha", POLICY)
    api.post("/api/alerts/sources", {"id": "kttv-son-ha", "kind": "feed", "url": f"{feed.url}/feed.xml",
                                     "interval_s": 5, "name": "Đài KTTV Sơn Hà"})
    return ctl, api


def alert_state(api, identifier):
    return next((a for a in api.get("/api/alerts") if a["identifier"] == identifier), None)


def decided(api, identifier, units):
    """The alert once its units are decided and their repeats planned (the render comes in between)."""
    alert = alert_state(api, identifier)
    if alert and len(alert["units"]) == units and all(u["repeats"] for u in alert["units"]):
        return alert
    return None


def test_feed_lifecycle_on_real_agents_with_one_offline_during_the_first_airing(system, feed):
    for path in OASIS:  # the specification's examples are read too; none reaches Sơn Hà
        feed.publish(path.name, path.read_bytes())
    feed.publish("bomb.xml", BILLION_LAUGHS)  # refused, logged; the poller keeps going
    ctl, api = controller_with_alerts(system, feed)
    key = api.get("/api/pubkey")["public_key"]
    online = [system.agent(d, key, ctl.url) for d in ("loa-tan-lap", "loa-dong-son")]
    wait_for(lambda: all(api.get(f"/api/devices/{a.device_id}")["online"] for a in online), timeout=30,
             what="two agents online")
    wait_for(lambda: len(api.get("/api/alerts")) == len(OASIS), timeout=30, what="the OASIS examples read")
    assert all(a["units"] == [] for a in api.get("/api/alerts"))

    now = utcnow()
    feed.publish("sh-1.xml", vi_alert("SH-1", sent=now, expires=now + timedelta(minutes=9), **AREA))
    first = wait_for(lambda: decided(api, "SH-1", 3), timeout=30, what="the warning read from the feed and decided")
    assert {u["unit_id"]: u["explanation"] for u in first["units"]} == {
        "xa-tan-lap": "xã Tân Lập: đa giác 1 phủ 83 %", "xa-dong-son": "xã Đông Sơn: mã vùng VN-ADM 99002 trùng",
        "xa-hoa-binh": "xã Hòa Bình: mã vùng VN-ADM 99003 trùng"}
    assert all(u["status"] == "airing" for u in first["units"])
    for agent in online:  # its attention signal, then its words
        wait_for(lambda: [p for p in agent.plays() if p["item_id"].startswith(first["id"])
                          and not p["item_id"].endswith(".signal")], timeout=40, what=f"{agent.device_id} to play the warning")

    # The cluster of Hòa Bình was offline: it comes back inside the first repeat's window and plays it, late.
    late = system.agent("loa-hoa-binh", key, ctl.url)
    words = next(u for u in first["units"] if u["unit_id"] == "xa-hoa-binh")["repeats"][0]["item_id"]  # after the signal
    wait_for(lambda: [p for p in late.plays() if p["item_id"] == words], timeout=40,
             what="the reconnected agent to play the warning late")
    event = wait_for(lambda: [e for e in api.get(f"/api/playback?device=loa-hoa-binh&kind=started")
                              if e["item_id"] == words], timeout=30, what="its late start logged")[0]
    delay = (parse_time(event["actual_start"], "a") - parse_time(event["planned_at"], "p")).total_seconds()
    assert delay > 2 and "late" in event["flags"]
    shown = api.get(f"/api/alerts/{first['id']}")
    aired = {p["device_id"]: p for u in shown["units"] for r in u["repeats"] for p in r["aired"]}
    assert aired["loa-hoa-binh"]["late"] and aired["loa-hoa-binh"]["delay_s"] > 2
    # Online clusters started together at the planned instant (give or take a loaded test machine).
    assert aired["loa-hoa-binh"]["delay_s"] > aired["loa-tan-lap"]["delay_s"] + 1

    # An Update replaces the future repeats; it airs at once everywhere, the reconnected cluster included.
    later = utcnow()
    feed.publish("sh-1u.xml", vi_alert("SH-1u", sent=later, expires=later + timedelta(minutes=9), msg_type="Update",
                                       references=(("SH-1", now),), headline="Bão số 3 mạnh thêm", **AREA))
    update = wait_for(lambda: decided(api, "SH-1u", 3), timeout=30, what="the update read and decided")
    assert alert_state(api, "SH-1")["state"] == "superseded"
    agents = [*online, late]
    for agent in agents:
        wait_for(lambda: [p for p in agent.plays() if p["item_id"].startswith(update["id"])], timeout=40,
                 what=f"{agent.device_id} to play the update")

    # The feed drops the original (SmartAlert style): nothing changes for the update, which is still listed.
    feed.unlist("sh-1.xml")
    # A Cancel ends the update; an all-clear airs once on every cluster.
    feed.publish("sh-1c.xml", vi_alert("SH-1c", sent=later + timedelta(seconds=1), expires=None, msg_type="Cancel",
                                       references=(("SH-1u", later),), **AREA))
    wait_for(lambda: (alert_state(api, "SH-1u") or {}).get("state") == "cancelled", timeout=30, what="the cancel")
    for agent in agents:
        wait_for(lambda: [p for p in agent.plays() if p["item_id"].endswith(".ac")], timeout=40,
                 what=f"{agent.device_id} to play the all-clear")
    for agent in agents:
        counts = Counter(p["item_id"] for p in agent.plays())
        assert counts and max(counts.values()) == 1, f"{agent.device_id} played something twice: {counts}"
    health = {s["id"]: s for s in api.get("/api/alerts/sources")}["kttv-son-ha"]["health"]
    assert health["failures_in_row"] == 0 and health["polls"] >= 3
    assert "bomb.xml refused (xml_forbidden_construct)" in ctl.log()


def test_a_cluster_back_after_the_window_never_plays_and_a_vanished_alert_ends_at_its_expiry(system, feed):
    # On the feed before the source is added: the source's first poll reads it, with no wait for a second poll.
    now = utcnow()
    expires = now + timedelta(seconds=15)
    feed.publish("sh-2.xml", vi_alert("SH-2", sent=now, expires=expires, polygons=(), geocodes=(("VN-ADM", "99004"),)))
    ctl, api = controller_with_alerts(system, feed)
    key = api.get("/api/pubkey")["public_key"]
    alert = wait_for(lambda: decided(api, "SH-2", 1), timeout=30, what="the warning read and decided")
    assert [u["unit_id"] for u in alert["units"]] == ["xa-bac-son"]
    feed.unlist("sh-2.xml")  # gone from the feed, never cancelled: still active until it expires
    wait_for(lambda: not alert_state(api, "SH-2")["on_feed"], timeout=20, what="the alert marked gone from the feed")
    assert alert_state(api, "SH-2")["state"] == "active"
    wait_for(lambda: alert_state(api, "SH-2")["state"] == "expired", timeout=60, what="the alert to expire")
    assert utcnow() >= expires.replace(microsecond=0)  # CAP writes whole seconds

    agent = system.agent("loa-bac-son", key, ctl.url)
    wait_for(lambda: api.get("/api/devices/loa-bac-son")["online"], timeout=30, what="the late agent online")
    version = api.get("/api/plans/loa-bac-son")["plan_version"]
    assert api.get("/api/plans/loa-bac-son")["plan"]["items"] == []
    wait_for(lambda: api.get("/api/devices/loa-bac-son")["plan_version_applied"] >= version, timeout=30,
             what="the agent to apply its current plan")
    assert agent.plays() == []


def test_an_emergency_reaches_a_cluster_that_was_offline_once_and_the_online_one_only_once(system):
    ctl = system.controller(**QUICK_ALERTS)
    api = ctl.api
    seed_son_ha_api(api)
    key = api.get("/api/pubkey")["public_key"]
    online = system.agent("loa-tan-lap", key, ctl.url)
    wait_for(lambda: api.get("/api/devices/loa-tan-lap")["online"], timeout=30, what="the online agent")
    em = api.post("/api/emergency", {"targets": ["tinh-son-ha"], "text": "Lũ quét đang về. Người dân lên chỗ cao ngay.",
                                     "reason": "lũ quét"})
    wait_for(lambda: [p for p in online.plays() if p["item_id"] == em["broadcast_id"]], timeout=40,
             what="the online agent to play the emergency at once")
    late = system.agent("loa-ven-bien", key, ctl.url)  # offline when the command went out (120 s lifetime)
    wait_for(lambda: [p for p in late.plays() if p["item_id"] == em["broadcast_id"]], timeout=40,
             what="the reconnected agent to play the emergency from its plan")
    wait_for(lambda: len(api.get(f"/api/playback?broadcast={em['broadcast_id']}&kind=finished")) == 2, timeout=60,
             what="both plays finished")
    for agent in (online, late):
        assert [p["item_id"] for p in agent.plays()] == [em["broadcast_id"]]  # once, never twice
    late_start = [e for e in api.get(f"/api/playback?broadcast={em['broadcast_id']}&kind=started")
                  if e["device_id"] == "loa-ven-bien"][0]
    assert "late" in late_start["flags"]
