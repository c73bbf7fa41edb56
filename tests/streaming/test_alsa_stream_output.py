"""A stream item on the ALSA path: the agent opens the configured card through aplay, as it does for files.

This machine has no sound card and no aplay, so the card is a stand-in ``aplay`` on the PATH that
keeps its arguments and the PCM it is given (the sound-card fake); everything before it is the
agent's real path from its configuration, over a real Icecast and the controller's restreamer.
"""

from __future__ import annotations

import os
import shutil
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from controller.db import Database
from controller.streaming.accounts import StreamAccounts
from controller.streaming.restreamer import Restreamer
from controller.streaming.sources import RelaySource
from edge_agent.agent import make_output
from edge_agent.conductor import Conductor
from edge_agent.config import AgentConfig, PlayerSettings, RelaySettings
from edge_agent.hardware import Relay
from edge_agent.player import STREAM_BUFFER_S, AlsaOutput
from edge_agent.store import AgentStore
from loaxa.protocol import PlayItem, StreamRef, utcnow
from support.harness import wait_for
from support.stream_rig import HlsSource, IcecastRig, dominant_hz

STAND_IN = """#!/bin/sh
printf '%s\\n' "$@" > "$APLAY_RECORD.args"
exec {cat} > "$APLAY_RECORD.pcm"
"""


DIES = """#!/bin/sh
exec {head} -c 48000 > /dev/null
"""


def _bin(tmp_path: Path, with_aplay: bool, dies: bool = False) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(shutil.which("ffmpeg"), bin_dir / "ffmpeg")
    if with_aplay:
        aplay = bin_dir / "aplay"
        aplay.write_text(DIES.format(head=shutil.which("head")) if dies else STAND_IN.format(cat=shutil.which("cat")))
        aplay.chmod(aplay.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def _conductor(tmp_path: Path, output, item: PlayItem, events: list) -> Conductor:
    relay_settings = RelaySettings(pin="GPIO17", pin_factory="mock", warmup_s=0.0, tail_s=0.0)
    conductor = Conductor(AgentStore(tmp_path / "agent.db"), output, Relay(relay_settings),
                          PlayerSettings(backend="alsa", prepare_lead_s=1.0, realtime_priority=0), relay_settings,
                          items=lambda: (item,), media_path=lambda i: None,
                          emit=lambda kind, i, **f: events.append((kind, f)), on_change=lambda: None)
    conductor.start()
    return conductor


@pytest.fixture
def relay_item(icecast: IcecastRig, tmp_path: Path):
    db = Database(tmp_path / "c.db")
    hls = HlsSource(tmp_path / "hls", freq=600).start()
    wait_for(lambda: (tmp_path / "hls" / "live.m3u8").exists(), timeout=10, what="the HLS playlist")
    acc = StreamAccounts(db, icecast.layout).for_device("pole-alsa")
    with Restreamer(RelaySource("vov1", "VOV1", hls.url, "hls"), icecast.source_url("/relay-vov1.ogg")):
        ref = StreamRef(url=icecast.listen_url("/relay-vov1.ogg"), username=acc.username, password=acc.password,
                        playout_delay_s=1.2)
        yield PlayItem(item_id="relay-alsa", start=utcnow() + timedelta(seconds=5), sha256="", size=0,
                       duration_s=4.0, broadcast_id="bc", stream=ref)
    hls.close()
    db.close()


def test_a_relay_plays_on_the_configured_alsa_card_through_aplay(relay_item: PlayItem, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(_bin(tmp_path, with_aplay=True)))
    monkeypatch.setenv("APLAY_RECORD", str(tmp_path / "card"))
    output = make_output(AgentConfig(data_dir=tmp_path, player=PlayerSettings(backend="alsa",
                                                                              alsa_device="plughw:1,0")))
    assert isinstance(output, AlsaOutput)
    events: list = []
    conductor = _conductor(tmp_path, output, relay_item, events)
    try:
        wait_for(lambda: any(k in ("stream_finished", "interrupted", "failed") for k, _ in events), timeout=30,
                 what="the relay's end")
    finally:
        conductor.shutdown()
        conductor.join(timeout=10)
    kinds = [k for k, _ in events]
    assert kinds == ["stream_started", "stream_finished"], events
    args = (tmp_path / "card.args").read_text().split()
    assert args == ["-q", "-D", "plughw:1,0", "-t", "raw", "-f", "S16_LE", "-c", "1", "-r", "48000",
                    f"--buffer-time={int(STREAM_BUFFER_S * 1e6)}", "--period-time=20000"]
    pcm = (tmp_path / "card.pcm").read_bytes()
    aired = dict(events)["stream_finished"]["duration_s"]
    assert aired > 0.5 and abs(len(pcm) / 96000 - aired) < 0.05  # what was aired went to the card
    assert abs(dominant_hz(pcm[-48000:]) - 600) < 15
    # handed to the card its buffer ahead of the instant, so that it sounds at the instant
    started = dict(events)["stream_started"]["actual_start"]
    assert relay_item.start.timestamp() - STREAM_BUFFER_S - 0.005 <= started < relay_item.ends_at.timestamp()


def test_without_aplay_the_stream_fails_with_a_reason_instead_of_hanging(relay_item: PlayItem, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(_bin(tmp_path, with_aplay=False)))
    events: list = []
    conductor = _conductor(tmp_path, AlsaOutput("default"), relay_item, events)
    try:
        wait_for(lambda: events, timeout=20, what="the item's outcome")
    finally:
        conductor.shutdown()
        conductor.join(timeout=10)
    assert events == [("failed", {"reason": "output_error"})]


def test_an_aplay_that_dies_mid_stream_fails_the_item_with_the_seconds_aired(relay_item: PlayItem, tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(_bin(tmp_path, with_aplay=True, dies=True)))  # takes half a second, then exits
    events: list = []
    conductor = _conductor(tmp_path, AlsaOutput("default"), relay_item, events)
    try:
        wait_for(lambda: any(k in ("stream_finished", "interrupted", "failed") for k, _ in events), timeout=30,
                 what="the item's outcome")
    finally:
        conductor.shutdown()
        conductor.join(timeout=10)
    assert [k for k, _ in events] == ["stream_started", "failed"], events
    failed = dict(events)["failed"]
    assert failed["reason"] == "output_error" and 0.4 <= failed["duration_s"] < 2.0
