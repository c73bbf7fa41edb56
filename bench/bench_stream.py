"""Relay figures on real parts: a private icecast2, ffmpeg sources on loopback, the restreamer.

- ``stream_kbytes_per_min``: bytes one listener (a cluster) receives per minute of a relay,
  median over three 20 s listens.
- ``relay_failover_s``: from killing the primary source to the first moment a listener hears
  the fallback's tone, median of three deaths (``failover_s`` at its default).
"""

from __future__ import annotations

import base64
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from controller.db import Database
from controller.devtools.broker_runner import free_port
from controller.devtools.tone_sources import HlsSource, decode, dominant_hz
from controller.streaming.accounts import StreamAccounts
from controller.streaming.icecast_config import IcecastLayout, IcecastServer, write_config
from controller.streaming.restreamer import Restreamer
from controller.streaming.settings import StreamingSettings
from controller.streaming.sources import RelaySource


def _hls(directory: Path, freq: int) -> HlsSource:
    source = HlsSource(directory, freq).start()
    if not source.ready():
        source.close()
        raise RuntimeError(f"ffmpeg wrote no HLS playlist in {directory}")
    return source


def _tone(url: str, seconds: float) -> float:
    return dominant_hz(decode(url, seconds, timeout_s=20)[0])


def _kbytes_per_min(url: str, user: str, password: str, seconds: float) -> float:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    req = urllib.request.Request(url, headers={"Authorization": f"Basic {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read(1)
        t0, got = time.monotonic(), 0
        while time.monotonic() - t0 < seconds:
            got += len(resp.read1(4096))
    return got / 1000 / ((time.monotonic() - t0) / 60)


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        layout = IcecastLayout(root / "icecast")
        port = free_port()
        secrets = write_config(StreamingSettings(), layout, port=port)
        server = IcecastServer(layout, "127.0.0.1", port).start()
        db = Database(root / "c.db")
        acc = StreamAccounts(db, layout).for_device("bench")
        target = f"icecast://source:{secrets.source_password}@127.0.0.1:{port}/relay-main.ogg"
        listen = f"http://{acc.username}:{acc.password}@127.0.0.1:{port}/relay-main.ogg"
        backup_source = _hls(root / "backup", 400)
        try:
            sizes, failovers = [], []
            for i in range(3):
                primary_source = _hls(root / f"primary{i}", 800)
                primary = RelaySource("main", "chính", primary_source.url, "hls")
                backup = RelaySource("backup", "dự phòng", backup_source.url, "hls")
                with Restreamer(primary, target, fallback=backup):
                    deadline = time.monotonic() + 30
                    while abs(_tone(listen, 1.0) - 800) > 15 and time.monotonic() < deadline:
                        pass
                    sizes.append(_kbytes_per_min(f"http://127.0.0.1:{port}/relay-main.ogg", acc.username,
                                                 acc.password, 20.0))
                    died = time.monotonic()
                    primary_source.close()
                    deadline = time.monotonic() + 30
                    while abs(_tone(listen, 0.5) - 400) > 15 and time.monotonic() < deadline:
                        pass
                    failovers.append(time.monotonic() - died)
        finally:
            backup_source.close()
            server.stop()
            db.close()
    return {"stream_kbytes_per_min": round(statistics.median(sizes), 1),
            "relay_failover_s": round(statistics.median(failovers), 2)}
