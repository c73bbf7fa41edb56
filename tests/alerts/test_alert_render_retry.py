"""A warning whose sound cannot be made at first is not lost: it is rendered again until it airs.

Real controller, mosquitto and agent; the speech engine is Google's voice through its HTTP
stand-in, which answers 503 at first.  The pushed warning stays in the book with its render
failed, shown in Vietnamese on the "Cảnh báo" page; a second copy of the document counts as
a duplicate and triggers one more attempt instead of being dropped; the tick keeps trying
with its backoff; once the voice answers, the warning is rendered, planned and played.  The
cluster's amplifier is switched on (``warm_up``) before each attempt, the first included.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests

from support.cap_docs import GEOJSON, SENDER, seed_son_ha_api, vi_alert
from support.google_stand_in import GoogleStandIn, make_mp3
from support.harness import wait_for
from loaxa.protocol import utcnow

TOKEN = "ma-day-tin-thu"


@pytest.fixture
def google():
    with GoogleStandIn(make_mp3(0.6)) as server:
        server.always = 503
        yield server


def push(ctl, doc: bytes) -> dict:
    r = requests.post(f"{ctl.url}/api/alerts/push", data=doc, timeout=60,
                      headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/cap+xml"})
    assert r.status_code == 202, r.text
    return r.json()


def test_a_failed_render_is_retried_with_backoff_until_the_voice_recovers_and_the_warning_airs(system, google):
    ctl = system.controller(
        extra_toml="[alerts]\ntick_s = 0.5\nrender_retry_s = 1.0\nrender_retry_max_s = 2.0\n",
        audio_toml=f'engine = "gtts"\ngtts_endpoint = "{google.url}"\ngtts_retries = 0\ngtts_min_interval_s = 0\n'
                   'gtts_read_timeout_s = 5.0\ngtts_connect_timeout_s = 2.0')
    api = ctl.api
    seed_son_ha_api(api)
    api.post("/api/alerts/geography", json.loads(GEOJSON.read_text()))
    api.request("PUT", "/api/alerts/policies/tinh-son-ha",
                {"rules": [{"name": "cấp 4-5 tự phát", "action": "auto", "risk_levels": [4, 5]}]})
    api.post("/api/alerts/sources", {"id": "so-tnmt", "kind": "push", "token": TOKEN, "senders": [SENDER]})
    agent = system.agent("loa-tan-lap", api.get("/api/pubkey")["public_key"], ctl.url)
    wait_for(lambda: api.get("/api/devices/loa-tan-lap")["online"], timeout=30, what="the agent online")

    now = utcnow()
    doc = vi_alert("SH-R1", sent=now, expires=now + timedelta(minutes=10))
    first = push(ctl, doc)
    assert first["transition"] == "new" and first["render"] == "failed"
    alert_id = first["alert_id"]
    shown = api.get(f"/api/alerts/{alert_id}")
    assert shown["state"] == "active" and shown["bulletin_id"] is None
    assert [(u["unit_id"], u["status"], u["repeats"]) for u in shown["units"]] == [("xa-tan-lap", "airing", [])]
    assert shown["render"]["state"] == "failed" and "Không tạo được âm thanh cảnh báo" in shown["render"]["error"]
    # The cluster's amplifier was switched on before the render was tried (a signed warm_up command).
    wait_for(lambda: "amplifier on ahead of a warning" in agent.log(), timeout=20, what="the amplifier warmed up")

    # The same document again is a duplicate for the lifecycle, but the sound is tried once more at once.
    again = push(ctl, doc)
    assert again["transition"] == "duplicate" and again["render"] == "failed" and again["alert_id"] == alert_id
    # The tick goes on trying with its backoff, each attempt logged.
    retried = wait_for(lambda: (a := api.get(f"/api/alerts/{alert_id}"))["render"]["attempts"] >= 4 and a,
                       timeout=30, what="the tick to try the render again")
    assert retried["render"]["state"] == "failed" and retried["render"]["retry_at"]
    assert "render attempt 3" in ctl.log()
    page = requests.get(f"{ctl.url}/alerts", headers={"Authorization": f"Bearer {ctl.token}"}, timeout=30).text
    assert "chưa tạo được" in page and "Hệ thống tự thử lại" in page
    assert agent.plays() == []

    google.always = None  # the voice is back
    done = wait_for(lambda: (a := api.get(f"/api/alerts/{alert_id}"))["render"]["state"] == "ok" and a,
                    timeout=30, what="the render to succeed")
    assert done["bulletin_id"] and done["render"]["attempts"] >= 5 and done["render"]["error"] == ""
    assert done["units"][0]["repeats"], "the airing unit got its repeats once the sound existed"
    play = wait_for(lambda: len(p := [p for p in agent.plays() if p["item_id"].startswith(alert_id)]) == 2 and p,
                    timeout=40, what="the agent to play the warning: its signal, then its words")
    signal, words = sorted(play, key=lambda p: p["actual_start"])
    assert signal["item_id"].endswith(f".signal-{done['render']['attempts']}") and words["item_id"] == \
        done["units"][0]["repeats"][0]["item_id"]
    # Every attempt switched the cluster's amplifier on first, the one that succeeded included.
    assert ctl.log().count("sent warm_up command") >= done["render"]["attempts"]
    assert any("Người dân ở trong nhà" in t for t in google.texts)
    actions = [e["action"] for e in api.get(f"/api/audit?target={alert_id}")]
    assert "alert_render_failed" in actions and "alert_rendered" in actions
    page = requests.get(f"{ctl.url}/alerts", headers={"Authorization": f"Bearer {ctl.token}"}, timeout=30).text
    assert "chưa tạo được" not in page and "lần thử" in page
