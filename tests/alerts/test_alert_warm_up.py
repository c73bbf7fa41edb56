"""An official's approval switches the amplifiers on before the words are rendered, and the warning airs as its
attention signal followed by its words, back to back.

Real controller process, mosquitto and agent (file sink).  A level-2 storm waits in the approval
queue; nothing is warmed for it then.  An official approves it with an edited script: the
controller sends the cluster a signed ``warm_up`` before it renders the new words, the agent
switches its amplifier on, and the warning plays as two items, the signal and then the words,
the words starting where the signal ends.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import requests

from support.cap_docs import GEOJSON, SENDER, seed_son_ha_api, vi_alert
from support.harness import wait_for
from loaxa.protocol import utcnow

TOKEN = "ma-day-tin-duyet"
POLICY = {"rules": [{"name": "cấp 4-5 tự phát", "action": "auto", "risk_levels": [4, 5]},
                    {"name": "cấp 1-3 chờ duyệt", "action": "queue", "risk_levels": [1, 2, 3]}]}
WARM_UP_SENT = "sent warm_up command"


def test_approval_warms_the_amplifier_before_the_render_and_the_words_follow_the_signal_without_a_gap(system):
    ctl = system.controller()
    api = ctl.api
    seed_son_ha_api(api)
    api.post("/api/alerts/geography", json.loads(GEOJSON.read_text()))
    api.request("PUT", "/api/alerts/policies/tinh-son-ha", POLICY)
    api.post("/api/alerts/sources", {"id": "so-tnmt", "kind": "push", "token": TOKEN, "senders": [SENDER]})
    agent = system.agent("loa-tan-lap", api.get("/api/pubkey")["public_key"], ctl.url)
    wait_for(lambda: api.get("/api/devices/loa-tan-lap")["online"], timeout=30, what="the agent online")

    now = utcnow()
    r = requests.post(f"{ctl.url}/api/alerts/push", data=vi_alert("SH-D1", sent=now, expires=now + timedelta(minutes=10),
                                                                   risk=2), timeout=60,
                      headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/cap+xml"})
    assert r.status_code == 202, r.text
    pushed = r.json()
    assert [d["status"] for d in pushed["decisions"]] == ["pending"] and pushed["render"] == "ok"
    # Waiting for an official: its sound exists, but no amplifier was switched on for it.
    assert WARM_UP_SENT not in ctl.log()

    before = len(ctl.log())
    approved = api.post(f"/api/alerts/{pushed['alert_id']}/approve",
                        {"script": "Bão số 3 đổ bộ. Người dân ở trong nhà, không ra khơi.", "comment": "phát ngay"})
    assert approved["units"][0]["status"] == "airing" and approved["units"][0]["decided_by"] == "test-admin"
    log = ctl.log()[before:]
    warmed = log.find(WARM_UP_SENT + " ")
    rendered = [m.start() for m in re.finditer(r"rendered [\d.]+ s with espeak", log)]
    assert warmed >= 0 and "to dev/loa-tan-lap" in log[warmed:warmed + 80], log
    assert rendered and warmed < rendered[0], "the warm-up goes out before the approved words are rendered"
    wait_for(lambda: "amplifier on ahead of a warning" in agent.log(), timeout=20, what="the agent's amplifier on")

    [repeat] = approved["units"][0]["repeats"][:1]
    plays = wait_for(lambda: (p := [x for x in agent.plays() if x["item_id"].startswith(pushed["alert_id"])])
                     and len(p) == 2 and p, timeout=60, what="the signal and the words played")
    signal, words = sorted(plays, key=lambda p: p["actual_start"])
    assert signal["item_id"] == repeat["signal"]["item_id"] and words["item_id"] == repeat["item_id"]
    length = words["planned"] - signal["planned"]
    assert 4 < length < 6  # the words are planned where the signal ends
    # Both started on their instants: the words right where the signal ended, without a gap.
    assert abs((words["actual_start"] - signal["actual_start"]) - length) < 0.25, (signal, words)
    actions = [e["action"] for e in api.get(f"/api/audit?target={pushed['alert_id']}")]
    assert "alert_approved" in actions
