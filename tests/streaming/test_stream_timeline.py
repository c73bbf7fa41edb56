"""The common timeline: the controller stamps every mount with its clock, and agents play each sample at one instant.

Real icecast2, the controller's restreamer, a provincial-station-like MP3 source pushed by ffmpeg, and
conductors with the file sink; offsets between agents are measured from the sinks' records.
"""

from __future__ import annotations

import json
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

from controller.db import Database
from controller.streaming.accounts import StreamAccounts
from controller.streaming.restreamer import Restreamer
from controller.streaming.sources import RelaySource
from edge_agent.stream import OggReader, _connect, listen_url, opus_packet_samples
from loaxa.protocol import PlayItem, StreamRef, utcnow
from support.agent_rig import ConductorRig
from support.harness import wait_for
from support.stream_rig import HlsSource, IcecastRig, IcecastSource

RATE = 48000
LOOP_S = 3.0
BEEPS_S = (0.0, 0.7, 1.9)  # an irregular rhythm: the n-th beep heard anywhere is the same beep
DELAY_S = 1.2


def _pulses(path: Path) -> Path:
    cond = "+".join(f"between(mod(t\\,{LOOP_S})\\,{b}\\,{b + 0.02})" for b in BEEPS_S)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"aevalsrc='({cond})*0.6*sin(2*PI*1000*t)':s=44100:d={LOOP_S}", "-ac", "1", str(path)], check=True)
    return path


def _onsets(rig: ConductorRig, item_id: str) -> list[float]:
    """Each beep's first sample: the instant the sink says it was handed to the output, on the agent's clock."""
    pcm = rig.root / "sink" / f"stream-{item_id}.pcm"
    path = rig.root / "sink" / "chunks.jsonl"
    if not pcm.exists() or not path.exists():
        return []
    chunks = [c for c in map(json.loads, path.read_text().splitlines()) if c["item_id"] == item_id]
    x = np.abs(np.frombuffer(pcm.read_bytes(), dtype="<i2").astype(float))
    out, last = [], -RATE
    for s in np.flatnonzero(x > 3000):
        if s - last > RATE // 4:
            c = next((c for c in reversed(chunks) if c["sample"] <= s), None)
            if c is not None and s < c["sample"] + c["samples"]:
                out.append(float(c["at"] + (s - c["sample"]) / RATE))
        last = s
    return out


def _item(icecast: IcecastRig, db: Database, device: str, start, seconds: float) -> PlayItem:
    acc = StreamAccounts(db, icecast.layout).for_device(device)
    ref = StreamRef(url=icecast.listen_url("/relay-prov.ogg", tls=True), username=acc.username,
                    password=acc.password, playout_delay_s=DELAY_S)
    return PlayItem(item_id="relay-t", start=start, sha256="", size=0, duration_s=seconds, title="Tiếp sóng đài tỉnh",
                    broadcast_id="bc-t", stream=ref)


def test_opus_packet_sizes_come_from_the_toc_byte() -> None:
    assert opus_packet_samples(bytes([0xFC, 0])) == 960  # CELT fullband 20 ms, one frame
    assert opus_packet_samples(bytes([0xFD, 0])) == 1920  # two frames
    assert opus_packet_samples(bytes([0x18])) == 2880  # SILK 60 ms
    assert opus_packet_samples(bytes([0xFF, 0x03])) == 2880  # code 3: three frames
    assert opus_packet_samples(b"") == 0


def test_the_mount_carries_the_controllers_clock_in_its_granule_positions(icecast: IcecastRig, tmp_path: Path):
    db = Database(tmp_path / "c.db")
    hls = HlsSource(tmp_path / "hls", freq=600).start()
    try:
        wait_for(lambda: (tmp_path / "hls" / "live.m3u8").exists(), timeout=10, what="the HLS playlist")
        with Restreamer(RelaySource("prov", "Đài tỉnh", hls.url, "hls"), icecast.source_url("/relay-prov.ogg")) as r:
            wait_for(lambda: r.frames_sent > 50, timeout=10, what="the restreamer's first second")
            item = _item(icecast, db, "pole-a", utcnow(), 10)
            resp = wait_for(lambda: _try_connect(listen_url(item), str(icecast.ca_cert)), timeout=10, what="the mount")
            reader, audio = OggReader(), []
            deadline = time.monotonic() + 10
            while len(audio) < 5 and time.monotonic() < deadline:
                received = time.time()
                audio += [(p, received) for p in reader.feed(resp.read1(4096)) if not p.is_header and p.packets]
            resp.close()
            assert len(audio) >= 5
            for page, received in audio:
                stamped = page.first_granule / RATE  # the wall-clock instant its first sample was due on air
                assert stamped >= r.origin - 0.001
                # a page leaves once it holds 200 ms: stamped before it arrived, and not long before
                assert 0.0 <= received - stamped < 2.0, (received, stamped)
            firsts = [p.first_granule for p, _ in audio]
            assert all(b - a == 9600 for a, b in zip(firsts, firsts[1:]))  # continuous, 200 ms a page
    finally:
        hls.close()
        db.close()


def _try_connect(url: str, ca: str):
    try:
        return _connect(url, ca)
    except OSError:
        return None


def test_agents_play_each_sample_at_one_instant_whatever_their_clock_and_a_late_joiner_starts_in_step(
        icecast: IcecastRig, tmp_path: Path):
    db = Database(tmp_path / "c.db")
    station = IcecastSource(icecast, "/station.mp3", input_file=_pulses(tmp_path / "pulses.wav")).start()
    feed = StreamAccounts(db, icecast.layout).for_device("restreamer")
    url = icecast.listen_url("/station.mp3").replace("://", f"://{feed.username}:{feed.password}@")
    rigs: dict[str, ConductorRig] = {}
    try:
        with Restreamer(RelaySource("prov", "Đài tỉnh", url, "http", last_probe={"codec": "mp3"}),
                        icecast.source_url("/relay-prov.ogg")):
            start = utcnow() + timedelta(seconds=6)
            # pole-b's clock runs 250 ms ahead and it knows it (its measured offset); pole-c joins late
            for name, offset in (("pole-a", 0.0), ("pole-b", 0.25)):
                rig = rigs[name] = ConductorRig(tmp_path / name, clock_offset_s=offset)
                rig.conductor.stream_ca = str(icecast.ca_cert)
                rig.items = (_item(icecast, db, name, start, 14.0),)
                rig.start()
            wait_for(lambda: rigs["pole-a"].kinds("stream_started"), timeout=20, what="pole-a on air")
            wait_for(lambda: time.time() > start.timestamp() + 4, timeout=10, what="four seconds into the slot")
            late = rigs["pole-c"] = ConductorRig(tmp_path / "pole-c")
            late.conductor.stream_ca = str(icecast.ca_cert)
            late.items = (_item(icecast, db, "pole-c", start, 14.0),)
            late.start()
            for rig in rigs.values():
                wait_for(lambda: rig.kinds("stream_finished") or rig.kinds("interrupted"), timeout=30,
                         what="the relay's end")
        for name, rig in rigs.items():
            (_, started), = rig.kinds("stream_started")
            true_start = started["actual_start"] - rig.clock_offset_s
            if name == "pole-c":
                assert true_start > start.timestamp() + 4  # joined late, at the live position
            else:  # the pre-roll: connected ahead, out at the instant on the true clock
                assert start.timestamp() - 0.005 <= true_start < start.timestamp() + 3.0  # how close: the bench
        heard = {name: [t - rig.clock_offset_s for t in _onsets(rig, "relay-t")] for name, rig in rigs.items()}
        assert len(heard["pole-a"]) >= 12 and len(heard["pole-c"]) >= 5
        # the raw records of pole-b are a quarter second later on the shared clock: it read its own clock
        spreads = []
        for t in heard["pole-a"]:
            matched = [min(h, key=lambda x: abs(x - t)) for h in heard.values()]
            if all(abs(m - t) < 0.3 for m in matched):
                spreads.append(max(matched) - min(matched))
        assert len(spreads) >= 5  # pole-c's beeps, after it joined, matched with the others'
        assert max(spreads) < 0.01, spreads
        # the beeps are the station's rhythm, not a drift: their spacing is kept
        a = heard["pole-a"]
        gaps = sorted(round(b - x, 1) for x, b in zip(a, a[1:]))
        assert set(gaps) <= {0.7, 1.1, 1.2}
    finally:
        for rig in rigs.values():
            rig.close()
        station.close()
        db.close()
