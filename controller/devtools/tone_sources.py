"""Live tone sources made by ffmpeg on loopback, and what a listener hears, for tests and benchmarks.

:class:`HlsSource` writes a live HLS playlist of a tone into a directory and serves it over
HTTP from a thread (the shape of VOV's playlists); :func:`decode` and :func:`dominant_hz` tell
which tone a listener of a mount hears.  Both the test harness and ``bench/`` use these, so a
benchmark measures the same sources the tests check.
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
import time
from pathlib import Path


def ffmpeg(args: list[str], log: Path | None = None) -> subprocess.Popen:
    """Start a quiet ffmpeg in its own session (its complaints go to ``log``, if given)."""
    return subprocess.Popen(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", *args],
                            stdout=subprocess.DEVNULL, stderr=open(log, "ab") if log else subprocess.DEVNULL,
                            start_new_session=True)


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.kill()
    if proc is not None:
        proc.wait()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class HlsSource:
    """A live HLS playlist of a tone, ``segment_s`` segments, written by ffmpeg and served over HTTP."""

    def __init__(self, root: Path, freq: int = 600, segment_s: float = 1.0):
        self.dir = root
        self.dir.mkdir(parents=True, exist_ok=True)
        self.freq = freq
        self.segment_s = segment_s
        self.proc: subprocess.Popen | None = None
        handler = functools.partial(_Quiet, directory=str(self.dir))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/live.m3u8"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def start(self) -> HlsSource:
        self.proc = ffmpeg(["-re", "-f", "lavfi", "-i", f"sine=frequency={self.freq}:sample_rate=48000", "-ac", "1",
                            "-c:a", "aac", "-b:a", "64k", "-f", "hls", "-hls_time", str(self.segment_s),
                            "-hls_list_size", "4", "-hls_flags", "delete_segments+omit_endlist",
                            str(self.dir / "live.m3u8")], self.dir / "ffmpeg.log")
        return self

    def ready(self, timeout_s: float = 15.0) -> bool:
        """Whether ffmpeg wrote the playlist within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while not (self.dir / "live.m3u8").exists():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def kill(self) -> None:
        stop(self.proc)
        self.proc = None

    def close(self) -> None:
        self.kill()
        self.httpd.shutdown()
        self.httpd.server_close()


def decode(url: str, seconds: float, ca_file: Path | None = None, timeout_s: float = 15.0) -> tuple[bytes, str]:
    """What a listener hears: ``seconds`` of 48 kHz mono PCM from ``url`` (and ffmpeg's complaint, if any)."""
    tls = ["-ca_file", str(ca_file), "-tls_verify", "1"] if ca_file else []
    fmt = {".mp3": ["-f", "mp3"], ".ogg": ["-f", "ogg"]}.get(Path(url.split("?")[0]).suffix, [])
    proc = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", *tls, "-rw_timeout", "5000000",
                           "-probesize", "16384", "-analyzeduration", "0", *fmt, "-i", url, "-t", str(seconds),
                           "-ac", "1", "-ar", "48000", "-f", "s16le", "-"], capture_output=True, timeout=timeout_s)
    return proc.stdout, proc.stderr.decode(errors="replace")


def dominant_hz(pcm: bytes, rate: int = 48000) -> float:
    """The loudest frequency of a PCM run (numpy's FFT): tells which source a listener heard."""
    import numpy as np

    samples = np.frombuffer(pcm, dtype="<i2").astype(float)
    if samples.size < rate // 10:
        return 0.0
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[int(spectrum.argmax())])
