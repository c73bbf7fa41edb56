"""A test tone that would cut a programme, end to end: real mosquitto, controller and agent (file sink).

The tone is refused until confirmed, the confirmation is audited with what it cut, the cut
item is logged as preempted by the test tone, and the programme's next item still airs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from controller.cli_http.client import ApiError
from support.harness import SPEECH_ONLY_AUDIO, wait_for
from support.schedule_api import bulletin, plays_of, setup, soon
from loaxa.wire_time import format_time

LONG_TEXT = "Thông báo của Ủy ban nhân dân xã về lịch tiêm phòng cho trẻ em trong toàn xã. " * 3


def test_a_test_tone_asks_before_cutting_a_programme_which_then_resumes(system):
    ctl = system.controller(audio_toml=SPEECH_ONLY_AUDIO)
    api, key = setup(ctl, {"loa-1": "thon-a"})
    agent = system.agent("loa-1", key, ctl.url)
    wait_for(lambda: api.get("/api/devices")[0]["online"], timeout=30, what="agent online")
    long_b = bulletin(api, LONG_TEXT, "Tiêm phòng")
    short_b = bulletin(api, "Thông báo ngắn.", "Tin ngắn")
    start = soon(6)
    first = api.post("/api/broadcasts", {"bulletin_id": long_b["id"], "targets": ["xa"], "starts_at": format_time(start)})
    api.approver.post(f"/api/broadcasts/{first['id']}/approve", {"comment": "Đồng ý"})
    then = api.post("/api/broadcasts", {"bulletin_id": short_b["id"], "targets": ["xa"], "starts_at": format_time(start),
                                        "order": 1})
    api.approver.post(f"/api/broadcasts/{then['id']}/approve", {"comment": "Đồng ý"})
    wait_for(lambda: plays_of(agent, first["id"]), timeout=30, what="the long item playing")
    wait_for(lambda: api.get("/api/devices/loa-1")["state"].get("playing"), timeout=20, what="the device reports it")

    with pytest.raises(ApiError) as err:
        api.post("/api/devices/loa-1/test-tone", {})
    assert err.value.status == 409 and err.value.code == "confirm_cut"
    assert "Tiêm phòng" in str(err.value)
    done = api.post("/api/devices/loa-1/test-tone", {"confirm": True})
    assert done["item_id"].startswith("tone")

    rows = wait_for(lambda: api.get(f"/api/playback?broadcast={first['id']}&kind=interrupted"), timeout=20,
                    what="the long item logged interrupted")
    assert rows[0]["reason"] == "preempted" and "by_test_tone" in rows[0]["flags"]
    wait_for(lambda: api.get(f"/api/playback?broadcast={then['id']}&kind=finished"), timeout=60,
             what="the programme's next item after the tone")
    with ctl.db() as conn:
        details = [r[0] for r in conn.execute("SELECT details FROM audit_log WHERE action = 'device_test_tone'")]
    assert len(details) == 1 and "Tiêm phòng" in details[0]
