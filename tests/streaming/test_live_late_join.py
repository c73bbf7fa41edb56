"""A pole that is cut off when a live session starts joins it when its link comes back.

Real mosquitto, the in-process controller with its Icecast and live mixer, and two real agents
with the file sink.  One agent reaches the broker through a TCP proxy: the link is cut, the
session starts (the command cannot reach it, and the broker keeps none for it), the link is
restored, and the controller sends it the session's signed command again; it airs the live
audio from the live point.
"""

from __future__ import annotations

import time
from pathlib import Path

from support.harness import wait_for
from support.live_rig import LivePoles, Speaker, wait_online
from support.stream_rig import dominant_hz
from support.tcp_proxy import TcpProxy

TONE_HZ = 500


def _on_air(poles: LivePoles, session_id: str) -> bool:
    return poles.controller.live.get(session_id).ended_at is None


def test_a_pole_offline_when_a_live_session_starts_joins_it_at_the_live_point_when_it_reconnects(tmp_path: Path,
                                                                                                  broker):
    poles = LivePoles(tmp_path, broker, {"loa-a2": "thon-a"}).start()
    proxy = TcpProxy("127.0.0.1", broker.port)
    speaker = Speaker(poles.world, "approver", tmp_path / "speech.webm", TONE_HZ)
    try:
        poles.agent("loa-a")
        poles.agent("loa-a2", mqtt_port=proxy.port)
        wait_online(poles, "loa-a", "loa-a2")

        proxy.cut()
        wait_online(poles, "loa-a2", online=False, timeout=30)  # the broker's last will
        r = poles.world.call("approver", "POST", "/api/live", {"targets": ["xa-a"], "priority": "priority"})
        assert r.status_code == 201, r.get_json()
        session = r.get_json()
        assert sorted(session["devices"]) == ["loa-a", "loa-a2"]
        speaker.start(session["id"])
        wait_for(lambda: len(poles.stream_pcm("loa-a", session["id"])) > 3 * 96000, timeout=30,
                 what="three seconds of the session on the connected pole")
        assert not poles.stream_pcm("loa-a2", session["id"])  # cut off: it heard nothing
        assert not speaker.refused and _on_air(poles, session["id"])

        healed = time.time()
        proxy.heal()
        wait_online(poles, "loa-a2", timeout=45)
        wait_for(lambda: len(poles.stream_pcm("loa-a2", session["id"])) > 3 * 96000, timeout=30,
                 what="the pole back online airing the session")
        assert _on_air(poles, session["id"])  # the session is still the one on air
        late = poles.chunks("loa-a2")
        assert late[0]["at"] >= healed  # it starts at the live position, not at the session's start
        pcm = poles.stream_pcm("loa-a2", session["id"])
        assert abs(dominant_hz(pcm[-96000:]) - TONE_HZ) < 15  # the speaker's voice, live
        # and the pole that was there from the start is still airing it
        assert abs(dominant_hz(poles.stream_pcm("loa-a", session["id"])[-96000:]) - TONE_HZ) < 15

        speaker.stop()
        ended = poles.world.call("approver", "POST", f"/api/live/{session['id']}/end", {})
        assert ended.status_code == 200, ended.get_json()
        for device in ("loa-a", "loa-a2"):
            wait_for(lambda: "stream_finished" in poles.events(device, session["id"]), timeout=40,
                     what=f"{device} to report the end of the session")
            assert poles.events(device, session["id"])[0] == "stream_started"
        assert not speaker.refused
    finally:
        speaker.stop()
        proxy.close()
        poles.close()
