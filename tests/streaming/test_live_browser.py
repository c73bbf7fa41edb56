"""Live speech from real headless Chromium: fake microphone (a known WAV) → controller → Icecast → agents.

The controller's own Icecast and mixer (chimes, ffmpeg), a real mosquitto and two real agents
with the file sink: the controller's signed commands reach the agents through the broker, and
their events come back the same way into the logbook.
"""

from __future__ import annotations

import wave
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from controller.reports.logbook import occurrences
from loaxa.protocol import cmd_topic
from loaxa.wire_time import utcnow
from support.browser import ServedApp, Session, chromium, fake_microphone, wait_js
from support.harness import Listener, wait_for
from support.live_rig import LivePoles, wait_online
from support.stream_rig import dominant_hz
from support.world import PASSWORD, make_world

pytestmark = pytest.mark.browser

RATE = 48000
TONE_HZ = 520


def _speech_like_wav(path: Path) -> np.ndarray:
    """A tone switched on and off in an irregular rhythm: its envelope identifies it in the sinks."""
    pattern = [0.3, 0.2, 0.6, 0.3, 0.2, 0.5, 0.4, 0.2, 0.8, 0.5]  # on, off, on, off... seconds
    parts = []
    for i, seconds in enumerate(pattern):
        t = np.arange(int(RATE * seconds)) / RATE
        parts.append(0.5 * np.sin(2 * np.pi * TONE_HZ * t) if i % 2 == 0 else np.zeros_like(t))
    signal = np.concatenate(parts)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((signal * 32767).astype("<i2").tobytes())
    return signal


def _envelope(x: np.ndarray, step: int = RATE // 50) -> np.ndarray:
    n = len(x) // step
    return np.sqrt((x[: n * step].reshape(n, step) ** 2).mean(axis=1))


def _best_correlation(recorded: np.ndarray, reference: np.ndarray) -> float:
    """The highest normalised correlation of the envelopes over every lag (the WAV loops)."""
    env, ref = _envelope(recorded), _envelope(np.tile(reference, 3))
    period = len(_envelope(reference))
    window = env[:period * 2] if len(env) >= period * 2 else env
    best = 0.0
    for lag in range(period):
        seg = ref[lag:lag + len(window)]
        if len(seg) < len(window):
            break
        a, b = window - window.mean(), seg - seg.mean()
        denom = np.sqrt((a * a).sum() * (b * b).sum())
        if denom > 0:
            best = max(best, float((a * b).sum() / denom))
    return best


def test_a_leader_speaks_live_from_chromium_and_the_poles_air_it_in_step_and_it_is_archived(tmp_path: Path,
                                                                                             broker):
    wav = tmp_path / "mic.wav"
    reference = _speech_like_wav(wav)
    poles = LivePoles(tmp_path, broker, {"loa-a2": "thon-a"}).start()
    c, w = poles.controller, poles.world
    elsewhere = Listener(broker, cmd_topic("loa-b"), client_id="loa-b-commands")
    try:
        for device in ("loa-a", "loa-a2"):
            poles.agent(device)
        wait_online(poles, "loa-a", "loa-a2")
        with chromium(*fake_microphone(wav)) as browser:
            s = Session(browser, poles.served.url, "approver-a", PASSWORD)
            s.go("/live")
            s.page.check('#live-targets input[value="xa-a"]')
            s.page.click("#live-start")
            wait_js(s.page, "document.getElementById('live-form').dataset.session")
            session_id = s.page.eval_on_selector("#live-form", "f => f.dataset.session")
            for device in ("loa-a", "loa-a2"):  # the signed command went through the broker to each agent
                wait_for(lambda: "stream_started" in poles.events(device, session_id), timeout=30,
                         what=f"the live stream on {device}")
            mixer = c.live.mixer(session_id)
            wait_for(lambda: mixer.first_speech_at, timeout=10, what="speech from the browser on air")
            wait_js(s.page, "document.getElementById('live-status').textContent.includes('giây')")
            s.shot("live")  # the operator guide's picture

            # a second session on the same speakers is refused: it does not outrank the first
            other = w.call("root", "POST", "/api/live", {"targets": ["xa-a"], "priority": "priority"})
            assert other.status_code == 409 and "trực tiếp" in other.get_json()["error"]

            wait_for(lambda: mixer.seconds_on_air > 9, timeout=25, what="nine seconds on air")
            s.page.click("#live-stop")
            ended = wait_for(lambda: (x := c.live.get(session_id)).archive_sha256 and x, timeout=20,
                             what="the session archived")
            assert ended.end_reason == "ended" and ended.started_by == "approver-a"
            wait_js(s.page, "document.getElementById('live-status').textContent.includes('Đã kết thúc')")
            assert not s.errors
            for device in ("loa-a", "loa-a2"):
                # the session the speaker ended is the item's end, not an interruption
                wait_for(lambda: "stream_finished" in poles.events(device, session_id), timeout=30,
                         what=f"{device} to report the end of the session")

            # the tab of a second session closes: ended within 10 s, with the outro
            s2 = Session(browser, poles.served.url, "approver-a", PASSWORD)
            s2.go("/live")
            s2.page.check('#live-targets input[value="xa-a"]')
            s2.page.click("#live-start")
            wait_js(s2.page, "document.getElementById('live-form').dataset.session")
            second = s2.page.eval_on_selector("#live-form", "f => f.dataset.session")
            wait_for(lambda: c.live.mixer(second) and c.live.mixer(second).first_speech_at, timeout=15,
                     what="the second session on air")
            s2.context.close()
            gone = wait_for(lambda: (x := c.live.get(second)).ended_at and x, timeout=10,
                            what="the closed tab's session to end")
            assert gone.end_reason == "browser_gone"
            s.close()

        for device in ("loa-a", "loa-a2"):
            wait_for(lambda: {"stream_finished", "interrupted"} & set(poles.events(device, second)), timeout=30,
                     what=f"the second live item to stop on {device}")
        assert not elsewhere.on(cmd_topic("loa-b"))  # another commune's pole is not told to play

        # what the poles aired is the microphone's WAV (envelope correlation), at its tone
        for device in ("loa-a", "loa-a2"):
            recorded = np.frombuffer(poles.stream_pcm(device, session_id), dtype="<i2").astype(float) / 32768
            env = _envelope(recorded)
            onset = next(i for i in range(50, len(env)) if env[i] > 0.05) * (RATE // 50)  # speech after the intro
            speech = recorded[onset: onset + 4 * RATE]
            assert len(speech) == 4 * RATE, device
            assert abs(dominant_hz((speech * 32768).astype("<i2").tobytes()) - TONE_HZ) < 15
            assert _best_correlation(speech, reference) > 0.7, device  # a frame late under load dents the envelope; an unrelated sound scores near 0

        # archived: a media file of the whole session (intro, speech, outro); audited; the auditor hears it
        archive = c.config.media_dir / f"{ended.archive_sha256}.ogg"
        assert archive.exists() and ended.seconds > 9
        assert [e.action for e in c.audit.entries(target=session_id)] == ["live_ended", "live_started"]
        heard = w.call("auditor", "GET", f"/api/live/{session_id}/recording")
        assert heard.status_code == 200 and heard.data[:4] == b"OggS"
        listed = w.call("auditor", "GET", "/api/live").get_json()
        assert {x["id"] for x in listed} == {session_id, second}

        # the logbook shows each pole's airing of the session, from the stream events its agent sent
        later = utcnow() + timedelta(minutes=1)
        occ = [o for o in occurrences(c.db, c.guardrails.policy(), ["loa-a", "loa-a2", "loa-b"],
                                      later - timedelta(hours=1), later, now=later) if o.broadcast_id == session_id]
        assert sorted(o.device_id for o in occ) == ["loa-a", "loa-a2"]
        assert all(o.status == "finished" and o.title == "Phát trực tiếp (approver-a)" and o.actual_start for o in occ)
    finally:
        elsewhere.close()
        poles.close()


def test_a_browser_that_refuses_the_microphone_is_told_why_and_nothing_starts(tmp_path: Path):
    w = make_world(tmp_path / "ctl")
    served = ServedApp(w.app)
    try:
        # a fake microphone exists, but nobody answers the permission prompt: headless Chromium denies it
        with chromium("--use-fake-device-for-media-stream") as browser:
            s = Session(browser, served.url, "approver-a", PASSWORD)
            s.go("/live")
            s.page.check('#live-targets input[value="xa-a"]')
            s.page.click("#live-start")
            wait_js(s.page, "document.getElementById('live-error').textContent.length > 0")
            assert "không cho dùng micrô" in s.page.text_content("#live-error")
            assert s.page.is_enabled("#live-start") and not s.page.is_enabled("#live-stop")
            assert not s.errors
        assert not w.controller.audit.entries(action="live_started")
    finally:
        served.close()
        w.controller.stop()
