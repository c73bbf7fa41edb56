"""Who may speak live, where and when: roles, scope, quiet hours, the kill switch, one session per speakers.

Real parts: the controller's own Icecast and mixer; the browser's chunks are a WebM/Opus
recording made by ffmpeg, sent as MediaRecorder sends them.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

from controller.people.actor import Actor
from controller.devtools.broker_runner import free_port
from loaxa.local_time import to_local
from loaxa.wire_time import utcnow
from support.harness import wait_for
from support.world import make_world


def _webm(path: Path, seconds: float = 3.0) -> bytes:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=frequency=500:duration={seconds}", "-c:a", "libopus", "-b:a", "32k", "-f", "webm", str(path)],
                   check=True)
    return path.read_bytes()


def test_roles_scope_quiet_hours_kill_switch_and_ranks_decide_who_speaks_live(tmp_path: Path):
    icecast_dir = Path(tempfile.mkdtemp(prefix="loaxa-icecast-"))
    w = make_world(tmp_path / "ctl", streaming_enabled="true", streaming_port=str(free_port()),
                   streaming_config_dir=str(icecast_dir / "icecast"))
    c = w.controller
    sent: list[tuple[str, str]] = []
    c.live.send_command = lambda target, action, **kw: sent.append((target, action))
    c.live.idle_end_s = 60.0
    try:
        off = w.call("approver", "POST", "/api/live", {"targets": ["xa-a"]})
        assert off.status_code == 403 and "Icecast" in off.get_json()["error"]
        c.streaming.start()
        c.live.start_watch()
        for who in ("editor", "auditor"):
            assert w.call(who, "POST", "/api/live", {"targets": ["xa-a"]}).status_code == 403
        assert w.call("approver", "POST", "/api/live", {"targets": ["xa-b"]}).status_code == 403  # not their commune
        assert w.call("approver", "POST", "/api/live", {"targets": []}).status_code == 400
        assert w.call("approver", "POST", "/api/live", {"targets": ["xa-a"], "priority": "to"}).status_code == 400

        # quiet hours now: refused without the override, aired with it (and the override is audited)
        now = to_local(utcnow())
        quiet = {"quiet_start": (now - timedelta(hours=1)).strftime("%H:%M"),
                 "quiet_end": (now + timedelta(hours=1)).strftime("%H:%M")}
        c.put_unit_guardrails("xa-a", quiet, "root")
        night = w.call("approver", "POST", "/api/live", {"targets": ["xa-a"]})
        assert night.status_code == 403 and "giờ yên tĩnh" in night.get_json()["error"]
        override = {"by": "Chủ tịch UBND xã", "reason": "Thông báo khẩn về cháy rừng"}
        first = w.call("approver", "POST", "/api/live", {"targets": ["xa-a"], "override": override})
        assert first.status_code == 201, first.get_json()
        s1 = first.get_json()
        assert ("dev/loa-a", "play_now") in sent and not [t for t, _ in sent if t == "dev/loa-b"]
        started = c.audit.entries(action="live_started")[0]
        assert started.actor == "approver-a" and "Chủ tịch" in str(started.details)
        c.put_unit_guardrails("xa-a", {}, "root")

        # only the speaker feeds the session; a chunk that is too large is refused
        webm = _webm(tmp_path / "a.webm")
        ok = w.call("approver", "POST", f"/api/live/{s1['id']}/audio", data=webm[:4000],
                    content_type="audio/webm")
        assert ok.status_code == 200
        assert w.call("root", "POST", f"/api/live/{s1['id']}/audio", data=webm[4000:],
                      content_type="audio/webm").status_code == 403

        # a second session of the same rank is refused; an emergency outranks and ends the first
        same = w.call("root", "POST", "/api/live", {"targets": ["thon-a"]})
        assert same.status_code == 409
        urgent = w.call("root", "POST", "/api/live", {"targets": ["xa-a"], "priority": "emergency"})
        assert urgent.status_code == 201, urgent.get_json()
        s2 = urgent.get_json()
        wait_for(lambda: c.live.get(s1["id"]).ended_at, timeout=15, what="the outranked session to end")
        assert c.live.get(s1["id"]).end_reason == "outranked"
        late = w.call("approver", "POST", f"/api/live/{s1['id']}/audio", data=webm[:100], content_type="audio/webm")
        assert late.status_code == 409

        # the kill switch stops the session on air and refuses a new one
        c.security.kill_switches.engage("xa-a", Actor.system("root"), "thử khóa")
        wait_for(lambda: c.live.get(s2["id"]).ended_at, timeout=10, what="the kill switch to end the session")
        assert c.live.get(s2["id"]).end_reason == "kill_switch"
        wait_for(lambda: ("dev/loa-a", "stop") in sent, timeout=10, what="the stop command")
        blocked = w.call("root", "POST", "/api/live", {"targets": ["xa-a"], "priority": "emergency"})
        assert blocked.status_code == 403 and "khóa" in blocked.get_json()["error"]
        assert {e.action for e in c.audit.entries(target=s2["id"])} == {"live_started", "live_ended"}
    finally:
        c.live.shutdown()
        c.stop()
        c.streaming.stop()
        shutil.rmtree(icecast_dir, ignore_errors=True)
