"""Relay figures on real parts: a private icecast2, ffmpeg sources on loopback, the restreamer.

- ``stream_kbytes_per_min``: bytes one listener (a cluster) receives per minute of a relay,
  median over three 20 s listens.
- ``relay_failover_s``: from killing the primary source to the first moment a listener hears
  the fallback's tone, median of three deaths (``failover_s`` at its default).
"""

from __future__ import annotations

import base64
import functools
import http.server
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from controller.db import Database
from controller.devtools.broker_runner import free_port
from controller.streaming.accounts import StreamAccounts
from controller.streaming.icecast_config import IcecastLayout, IcecastServer, write_config
from controller.streaming.restreamer import Restreamer
from controller.streaming.settings import StreamingSettings
from controller.streaming.sources import RelaySource


def _ffmpeg(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()


def _hls(directory: Path, freq: int) -> tuple[subprocess.Popen, http.server.ThreadingHTTPServer, str]:
    directory.mkdir(parents=True, exist_ok=True)
    proc = _ffmpeg(["-re", "-f", "lavfi", "-i", f"sine=frequency={freq}:sample_rate=48000", "-ac", "1", "-c:a", "aac",
                    "-b:a", "64k", "-f", "hls", "-hls_time", "1", "-hls_list_size", "4", "-hls_flags",
                    "delete_segments+omit_endlist", str(directory / "live.m3u8")])
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    deadline = time.monotonic() + 15
    while not (directory / "live.m3u8").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc, httpd, f"http://127.0.0.1:{httpd.server_address[1]}/live.m3u8"


def _tone(url: str, seconds: float) -> float:
    import numpy as np

    pcm = subprocess.run(["ffmpeg", "-v", "error", "-probesize", "16384", "-analyzeduration", "0", "-f", "ogg",
                          "-i", url, "-t", str(seconds), "-ac", "1", "-ar", "48000", "-f", "s16le", "-"],
                         capture_output=True, timeout=20).stdout
    x = np.frombuffer(pcm, dtype="<i2").astype(float)
    if x.size < 2400:
        return 0.0
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / 48000)[int(spectrum.argmax())])


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
        backup_proc, backup_httpd, backup_url = _hls(root / "backup", 400)
        try:
            sizes, failovers = [], []
            for i in range(3):
                primary_proc, primary_httpd, primary_url = _hls(root / f"primary{i}", 800)
                primary = RelaySource("main", "chính", primary_url, "hls")
                backup = RelaySource("backup", "dự phòng", backup_url, "hls")
                with Restreamer(primary, target, fallback=backup):
                    deadline = time.monotonic() + 30
                    while abs(_tone(listen, 1.0) - 800) > 15 and time.monotonic() < deadline:
                        pass
                    sizes.append(_kbytes_per_min(f"http://127.0.0.1:{port}/relay-main.ogg", acc.username,
                                                 acc.password, 20.0))
                    died = time.monotonic()
                    _kill(primary_proc)
                    primary_httpd.shutdown()
                    primary_httpd.server_close()
                    deadline = time.monotonic() + 30
                    while abs(_tone(listen, 0.5) - 400) > 15 and time.monotonic() < deadline:
                        pass
                    failovers.append(time.monotonic() - died)
        finally:
            _kill(backup_proc)
            backup_httpd.shutdown()
            backup_httpd.server_close()
            server.stop()
            db.close()
    return {"stream_kbytes_per_min": round(statistics.median(sizes), 1),
            "relay_failover_s": round(statistics.median(failovers), 2)}
