"""Live speech from real headless Chromium: fake microphone (a known WAV) → controller → Icecast → agents.

The controller's own Icecast, its mixer (chimes, ffmpeg) and two real conductors with the file
sink; the controller's signed commands are handed to the conductors as the agent's command
handler does (``play_now`` preempts with the stream item, ``stop`` stops it).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import wave
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from werkzeug.serving import make_server

from controller.devtools.broker_runner import free_port
from controller.reports.logbook import occurrences
from loaxa.protocol import EventBatch, PlaybackEvent, PlayItem
from loaxa.wire_time import utcnow
from support.agent_rig import ConductorRig
from support.browser import CHROMIUM, CHROMIUM_ARGS, Session, wait_js
from support.harness import wait_for
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


class _Served:
    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()


def _deliver(rigs: dict[str, ConductorRig]):
    """The controller's command sender, delivering to the conductors as the agent's handler does."""
    sent: list[tuple[str, str]] = []

    def send(target: str, action: str, *, item: PlayItem | None = None, **kw):
        device = target.partition("/")[2]
        sent.append((device, action))
        rig = rigs.get(device)
        if rig is None:
            return None
        if action == "play_now" and item is not None:
            rig.conductor.preempt(PlayItem.from_dict(item.to_dict()))
        elif action == "stop":
            rig.conductor.stop_command(kw.get("reason", ""), item.item_id if item is not None else "")
        return None

    return send, sent


def _report(c, device: str, rig: ConductorRig) -> None:
    """The conductor's events as the agent's outbox sends them, into the controller's ingest."""
    events = []
    for seq, (kind, item, fields) in enumerate(rig.events, start=1):
        actual = fields.get("actual_start")
        events.append(PlaybackEvent(
            seq=seq, kind=kind, recorded_at=utcnow(), item_id=item.item_id if item else "",
            broadcast_id=item.broadcast_id if item else "", planned_at=item.start if item else None,
            actual_start=datetime.fromtimestamp(actual, tz=timezone.utc) if actual else None,
            duration_s=fields.get("duration_s"), reason=fields.get("reason") or ""))
    c.ingest.on_events(device, EventBatch(device_id=device, epoch="e1", events=tuple(events)))


def test_a_leader_speaks_live_from_chromium_and_the_poles_air_it_in_step_and_it_is_archived(tmp_path: Path):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    wav = tmp_path / "mic.wav"
    reference = _speech_like_wav(wav)
    icecast_dir = Path(tempfile.mkdtemp(prefix="loaxa-icecast-"))
    w = make_world(tmp_path / "ctl", streaming_enabled="true", streaming_port=str(free_port()),
                   streaming_config_dir=str(icecast_dir / "icecast"))
    c = w.controller
    c.registry.add_device("loa-a2", "Cụm loa A2", "thon-a")
    rigs = {d: ConductorRig(tmp_path / d) for d in ("loa-a", "loa-a2")}
    send, sent = _deliver(rigs)
    c.live.send_command = send
    served = None
    try:
        c.streaming.start()
        c.live.start_watch()
        for rig in rigs.values():
            rig.start()
        served = _Served(w.app)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                *CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}", "--autoplay-policy=no-user-gesture-required"])
            try:
                s = Session(browser, served.url, "approver-a", PASSWORD)
                s.go("/live")
                s.page.check('#live-targets input[value="xa-a"]')
                s.page.click("#live-start")
                wait_js(s.page, "document.getElementById('live-form').dataset.session")
                session_id = s.page.eval_on_selector("#live-form", "f => f.dataset.session")
                for rig in rigs.values():
                    wait_for(lambda: rig.kinds("stream_started"), timeout=20, what="the live stream on the pole")
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

                # the tab of a second session closes: ended within 10 s, with the outro
                s2 = Session(browser, served.url, "approver-a", PASSWORD)
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
            finally:
                browser.close()

        for rig in rigs.values():
            wait_for(lambda: len(rig.kinds("stream_finished") + rig.kinds("interrupted")) >= 2, timeout=20,
                     what="both live items to stop on the pole")
            # the session the speaker ended is the item's end, not an interruption
            assert [i.item_id for i, _ in rig.kinds("stream_finished")][:1] == [session_id]
        assert ("loa-b", "play_now") not in sent  # another commune's pole is not told to play

        # what the poles aired is the microphone's WAV (envelope correlation), at its tone
        for device, rig in rigs.items():
            pcm = (rig.root / "sink" / f"stream-{session_id}.pcm").read_bytes()
            recorded = np.frombuffer(pcm, dtype="<i2").astype(float) / 32768
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

        # the logbook shows each pole's airing of the session, from the stream events it reported
        for device, rig in rigs.items():
            _report(c, device, rig)
        later = utcnow() + timedelta(minutes=1)
        occ = [o for o in occurrences(c.db, c.guardrails.policy(), ["loa-a", "loa-a2", "loa-b"],
                                      later - timedelta(hours=1), later, now=later) if o.broadcast_id == session_id]
        assert sorted(o.device_id for o in occ) == ["loa-a", "loa-a2"]
        assert all(o.status == "finished" and o.title == "Phát trực tiếp (approver-a)" and o.actual_start for o in occ)
    finally:
        if served is not None:
            served.close()
        for rig in rigs.values():
            rig.close()
        c.live.shutdown()
        c.stop()
        c.streaming.stop()
        shutil.rmtree(icecast_dir, ignore_errors=True)


def test_a_browser_that_refuses_the_microphone_is_told_why_and_nothing_starts(tmp_path: Path):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    w = make_world(tmp_path / "ctl")
    served = _Served(w.app)
    try:
        with sync_playwright() as pw:
            # a fake microphone exists, but nobody answers the permission prompt: headless Chromium denies it
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream"])
            try:
                s = Session(browser, served.url, "approver-a", PASSWORD)
                s.go("/live")
                s.page.check('#live-targets input[value="xa-a"]')
                s.page.click("#live-start")
                wait_js(s.page, "document.getElementById('live-error').textContent.length > 0")
                assert "không cho dùng micrô" in s.page.text_content("#live-error")
                assert s.page.is_enabled("#live-start") and not s.page.is_enabled("#live-stop")
                assert not s.errors
            finally:
                browser.close()
        assert not w.controller.audit.entries(action="live_started")
    finally:
        served.close()
        w.controller.stop()
