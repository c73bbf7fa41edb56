"""The ALSA output's latency is read from the card (its substream's status in /proc/asound) and the pipe.

This machine has no sound card and no aplay, so the card is a fake ``/proc/asound`` tree whose
status file names the stand-in aplay's pid, and aplay is a stand-in on the PATH: the real
code path runs, its arithmetic is checked against the figures the fake card reports.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from edge_agent.alsa_delay import (HYSTERESIS_S, OutputDelay, ProcCardDelay, card_delay_frames, find_substream,
                                   pipe_backlog_bytes)
from edge_agent.player import FRAME_S, STREAM_BUFFER_S, AlsaStreamWriter
from edge_agent.stream import Timeline

RATE = 48000


def _status(root: Path, card: int, pid: int, state: str = "RUNNING", delay: int = 4800) -> Path:
    path = root / f"card{card}" / "pcm0p" / "sub0" / "status"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = f"state: {state}\nowner_pid   : {pid}\n"
    if state == "RUNNING":
        body += (f"trigger_time: 1234.5\ntstamp      : 1240.1\ndelay       : {delay}\navail       : 0\n"
                 f"avail_max   : 960\n-----\nhw_ptr      : 480000\nappl_ptr    : {480000 + delay}\n")
    path.write_text(body)
    return path


def test_the_substream_aplay_holds_is_found_by_its_pid_and_its_delay_read_while_it_runs(tmp_path: Path):
    _status(tmp_path, 0, 999, delay=100)  # another program's substream (HDMI)
    mine = _status(tmp_path, 1, 4242, delay=4800)
    assert find_substream(4242, tmp_path) == mine
    assert find_substream(5555, tmp_path) is None
    assert card_delay_frames(mine) == 4800
    _status(tmp_path, 1, 4242, state="PREPARED")  # filling its buffer: no delay yet
    assert card_delay_frames(mine) is None
    mine.unlink()  # aplay closed the card
    assert card_delay_frames(mine) is None


def test_the_pipe_backlog_is_read_on_the_writing_end():
    r, w = os.pipe()
    try:
        assert pipe_backlog_bytes(w) == 0
        os.write(w, b"\0" * 9600)
        assert pipe_backlog_bytes(w) == 9600 and pipe_backlog_bytes(r) == 9600
        os.read(r, 4000)
        assert pipe_backlog_bytes(w) == 5600
    finally:
        os.close(r)
        os.close(w)


class _Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_the_latency_is_the_cards_delay_the_pipe_and_half_a_period_smoothed_and_moved_in_steps():
    card: list[int | None] = [None]
    pipe = [0]
    clock = _Clock()
    d = OutputDelay(RATE, 2, STREAM_BUFFER_S, FRAME_S, lambda: card[0], lambda: pipe[0], clock)
    d.sample()
    assert d.seconds == STREAM_BUFFER_S and d.readings == 0  # no figure from the card: its buffer taken as full

    card[0], pipe[0] = 4800, 9600  # 100 ms in the card, 4,800 frames (100 ms) in the pipe
    clock.t += 1
    d.sample()
    assert d.seconds == pytest.approx(0.1 + 0.1 + FRAME_S / 2)
    clock.t += 0.05
    card[0] = 0
    d.sample()  # too soon after the last reading: not taken
    assert d.readings == 1

    # noise of a few hundred frames around one level does not move the latency in use
    base = d.seconds
    for i in range(200):
        clock.t += 0.1
        card[0] = 4800 + (48 if i % 2 else -48)
        d.sample()
    assert d.seconds == base and abs(d.smoothed - base) < HYSTERESIS_S

    # a slow card piles samples up in the pipe: the latency follows, in steps of at least HYSTERESIS_S
    card[0] = 4800
    seen = [d.seconds]
    for i in range(600):
        clock.t += 0.1
        pipe[0] = 9600 + 2 * (i * 5)  # 5 frames more every reading: 5 ms a second
        d.sample()
        if d.seconds != seen[-1]:
            seen.append(d.seconds)
    steps = [b - a for a, b in zip(seen, seen[1:])]
    assert steps and all(s >= HYSTERESIS_S for s in steps)
    true_now = (4800 + 9600 / 2 + 599 * 5) / RATE + FRAME_S / 2
    assert true_now - 0.015 < d.seconds <= true_now  # behind by the smoothing, never ahead


def test_the_timeline_reads_a_changing_latency_at_each_use():
    latency = [0.1]
    t = Timeline(RATE, 1.2, lambda: latency[0], lambda: 0.0)
    at = 1_000_000.0
    first = t.sample_at(at)
    latency[0] = 0.12  # 20 ms more in the output: the sample handed over now is 20 ms further on
    assert t.sample_at(at) - first == int(0.02 * RATE)
    assert t.instant_of(first) == pytest.approx(at - 0.02)
    assert Timeline(RATE, 1.2, 0.1, lambda: 0.0).sample_at(at) == first  # a fixed latency as before


STAND_IN = """#!/bin/sh
exec {cat} > "$APLAY_RECORD"
"""


def test_the_alsa_stream_writer_reads_its_aplays_substream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    aplay = bin_dir / "aplay"
    aplay.write_text(STAND_IN.format(cat=shutil.which("cat")))
    aplay.chmod(aplay.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("APLAY_RECORD", str(tmp_path / "card.pcm"))
    asound = tmp_path / "asound"
    writer = AlsaStreamWriter("plughw:1,0", RATE, "it-1", asound=asound)
    try:
        assert writer.latency_s == STREAM_BUFFER_S  # before the card runs
        _status(asound, 1, writer.proc.pid, delay=7200)  # the card holds 150 ms
        writer.write(b"\0" * 1920)
        assert writer.latency_s == pytest.approx(0.15 + FRAME_S / 2, abs=0.002)  # the stand-in empties the pipe
    finally:
        writer.close()
    assert (tmp_path / "card.pcm").stat().st_size == 1920
