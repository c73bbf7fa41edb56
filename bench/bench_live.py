"""Live-audio timing on real parts: a private icecast2, the controller's restreamer and live mixer,
and ``AGENTS`` edge conductors in this process, each with the file sink.

The sources are pulse trains (a 20 ms beep every second), so every sink's recording shows
when each beep was handed to the output (``chunks.jsonl``: the wall-clock instant of each
chunk's first sample).

- ``relay_start_p99_ms``: a scheduled relay's instant → the first sample at each agent's sink
  (p99 over the agents of a run, median of three runs).
- ``stream_sync_p99_ms``: for each beep, the spread between the agents that aired it
  (p99 over every beep of a relay).  The agents play on the common timeline (the mount's
  granule positions, the signed playout delay); their clocks are this machine's, offset 0.
- ``live_latency_p99_ms``: a beep "spoken" into the microphone path → the same beep at the
  sinks.  The microphone is ffmpeg encoding WebM/Opus in real time and handing its output to
  the controller in 250 ms slices, as the browser's MediaRecorder does; the figure includes
  that 250 ms.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from controller.db import Database
from controller.devtools.broker_runner import free_port
from controller.streaming.accounts import StreamAccounts
from controller.streaming.icecast_config import IcecastLayout, IcecastServer, write_config
from controller.streaming.live_mixer import INTRO, LiveMixer
from controller.streaming.restreamer import Restreamer
from controller.streaming.settings import StreamingSettings
from controller.streaming.sources import RelaySource
from edge_agent.conductor import Conductor
from edge_agent.config import PlayerSettings, RelaySettings
from edge_agent.hardware import Relay
from edge_agent.player import FileSinkOutput
from edge_agent.store import AgentStore
from loaxa.protocol import PlayItem, StreamRef

log = logging.getLogger(__name__)

AGENTS = int(os.environ.get("LOAXA_BENCH_STREAM_AGENTS", "10"))
RATE = 48000
PULSES = "aevalsrc='if(lt(mod(t\\,1)\\,0.02)\\,0.6*sin(2*PI*1000*t)\\,0)':s=48000"
SPOKEN_EVERY_S = 4  # further apart than any latency, so the n-th beep heard is the n-th beep spoken
SPOKEN = PULSES.replace("mod(t\\,1)", f"mod(t\\,{SPOKEN_EVERY_S})")


class _Agent:
    def __init__(self, root: Path):
        self.root = root
        self.items: tuple[PlayItem, ...] = ()
        self.events: list[tuple[str, dict]] = []
        self.store = AgentStore(root / "agent.db")
        self.sink = FileSinkOutput(root / "sink")
        relay_settings = RelaySettings(pin="GPIO17", pin_factory="mock", warmup_s=0.0, tail_s=0.0)
        self.relay = Relay(relay_settings)
        self.conductor = Conductor(
            self.store, self.sink, self.relay, PlayerSettings(backend="file", prepare_lead_s=1.0, realtime_priority=0),
            relay_settings,
            items=lambda: self.items, media_path=lambda item: None,
            emit=lambda kind, item, **f: self.events.append((kind, f)), on_change=lambda: None,
            clock_flags=lambda: [], media_pending=lambda item: False)
        self.conductor.start()

    def chunks(self, item_id: str) -> list[dict]:
        path = self.root / "sink" / "chunks.jsonl"
        return [c for c in map(json.loads, path.read_text().splitlines()) if c["item_id"] == item_id] \
            if path.exists() else []

    def onsets(self, item_id: str) -> list[float]:
        """Wall-clock instants at which each beep's first sample was handed to the output."""
        pcm = (self.root / "sink" / f"stream-{item_id}.pcm")
        if not pcm.exists():
            return []
        x = np.abs(np.frombuffer(pcm.read_bytes(), dtype="<i2").astype(float))
        chunks = self.chunks(item_id)
        if not chunks:
            return []
        loud = x > 3000
        out, last = [], -RATE
        for s in np.flatnonzero(loud):
            if s - last > RATE // 2:
                c = next((c for c in reversed(chunks) if c["sample"] <= s), chunks[0])
                out.append(float(c["at"] + (s - c["sample"]) / RATE))
            last = s
        return out

    def close(self) -> None:
        self.conductor.shutdown()
        self.conductor.join(timeout=10)
        self.relay.close()
        self.store.close()


def _ref(url: str, acc) -> StreamRef:
    return StreamRef(url=url, username=acc.username, password=acc.password,
                     playout_delay_s=StreamingSettings().playout_delay_s)  # as the controller signs it


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _p99(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(0.99 * (len(values) - 1))))]


def _relay_runs(root: Path, port: int, secrets, accounts, runs: int = 3) -> tuple[list[float], list[float]]:
    starts, syncs = [], []
    target = f"icecast://source:{secrets.source_password}@127.0.0.1:{port}/relay-bench.ogg"
    url = f"http://127.0.0.1:{port}/relay-bench.ogg"
    source = RelaySource("bench", "pulses", "lavfi", "http")
    for run in range(runs):
        agents = [_Agent(root / f"run{run}" / f"a{i}") for i in range(AGENTS)]
        restreamer = Restreamer(source, target)
        restreamer._open_primary = lambda: _lavfi_input()  # type: ignore[method-assign]
        try:
            restreamer.start()
            time.sleep(3)
            start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=6)
            item_id = f"relay-{run}"
            for i, a in enumerate(agents):
                a.items = (PlayItem(item_id=item_id, start=start, sha256="", size=0, duration_s=12.0,
                                    broadcast_id="bench", stream=_ref(url, accounts[i])),)
                a.conductor.wake()
            _wait(lambda: all(any(k in ("stream_finished", "failed", "interrupted") for k, _ in a.events)
                              for a in agents), 40)
            firsts = [a.chunks(item_id)[0]["at"] for a in agents if a.chunks(item_id)]
            if firsts:
                starts.append(_p99([(t - start.timestamp()) * 1000 for t in firsts]))
            per_agent = [a.onsets(item_id) for a in agents]
            spreads = []
            for t in (per_agent[0] if per_agent else []):
                matched = [min(o, key=lambda x: abs(x - t)) for o in per_agent if o]
                matched = [m for m in matched if abs(m - t) < 0.4]
                if len(matched) == len(per_agent):
                    spreads.append(float(max(matched) - min(matched)) * 1000)
            if spreads:
                syncs.append(_p99(spreads))
            log.info("relay run %d: start p99 %.0f ms, sync p99 %.0f ms over %d beeps (%d agents)", run,
                     starts[-1] if starts else -1, syncs[-1] if syncs else -1, len(spreads), len(agents))
        finally:
            restreamer.stop()
            for a in agents:
                a.close()
    return starts, syncs


def _lavfi_input():
    from controller.streaming.restreamer import _Input

    return _Input("primary", ["-re", "-f", "lavfi", "-i", PULSES])


def _live_run(root: Path, port: int, secrets, accounts) -> list[float]:
    agents = [_Agent(root / "live" / f"a{i}") for i in range(AGENTS)]
    url = f"http://127.0.0.1:{port}/live-bench.ogg"
    mixer = LiveMixer(f"icecast://source:{secrets.source_password}@127.0.0.1:{port}/live-bench.ogg",
                      root / "live" / "archive.pcm").start()
    latencies: list[float] = []
    mic = None
    try:
        start = datetime.now(timezone.utc)
        for i, a in enumerate(agents):
            a.items = (PlayItem(item_id="live", start=start, sha256="", size=0, duration_s=60.0, broadcast_id="live",
                                stream=_ref(url, accounts[i])),)
            a.conductor.wake()
        _wait(lambda: all(a.chunks("live") for a in agents), 20)
        time.sleep(len(INTRO) / (RATE * 2) + 3.0)  # the intro chime has aired everywhere
        mic = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", SPOKEN,
                                "-t", "13", "-c:a", "libopus", "-b:a", "32k", "-f", "webm", "-cluster_time_limit", "250",
                                "-flush_packets", "1", "-"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        spoken_t0 = time.time()
        pending = bytearray()
        next_slice = time.monotonic() + 0.25

        def pump() -> None:
            nonlocal next_slice
            while True:
                data = mic.stdout.read1(4096)
                if not data:
                    break
                pending.extend(data)
                if time.monotonic() >= next_slice:  # MediaRecorder hands over what it has every 250 ms
                    mixer.feed(bytes(pending))
                    pending.clear()
                    next_slice += 0.25
            if pending:
                mixer.feed(bytes(pending))

        feeder = threading.Thread(target=pump, daemon=True)
        feeder.start()
        feeder.join(timeout=30)
        time.sleep(3)
        spoken = [spoken_t0 + k for k in range(0, 13, SPOKEN_EVERY_S)]
        for a in agents:
            heard = [t for t in a.onsets("live") if t > spoken_t0]
            for said, beep in zip(spoken, heard):
                latencies.append((beep - said) * 1000)
    finally:
        if mic is not None and mic.poll() is None:
            mic.kill()
        mixer.finish()
        mixer.done.wait(timeout=20)
        for a in agents:
            a.close()
    log.info("live: %d beeps measured at %d agents", len(latencies), len(agents))
    return latencies


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.chmod(root, 0o755)
        layout = IcecastLayout(root / "icecast")
        port = free_port()
        secrets = write_config(StreamingSettings(), layout, port=port)
        server = IcecastServer(layout, "127.0.0.1", port).start()
        db = Database(root / "c.db")
        accounts = [StreamAccounts(db, layout).for_device(f"bench-{i}") for i in range(AGENTS)]
        try:
            starts, syncs = _relay_runs(root, port, secrets, accounts)
            latencies = _live_run(root, port, secrets, accounts)
        finally:
            server.stop()
            db.close()
    out: dict[str, float] = {}
    if starts:
        out["relay_start_p99_ms"] = round(float(statistics.median(starts)), 1)
    if syncs:
        out["stream_sync_p99_ms"] = round(float(statistics.median(syncs)), 1)
    if latencies:
        out["live_latency_p99_ms"] = round(float(_p99(latencies)), 1)
    out["stream_bench_agents"] = AGENTS
    return out


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    print(run())
