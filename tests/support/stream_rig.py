"""Live-audio parts of the tests: a real Icecast2 on free ports, and sources made by ffmpeg on loopback.

- :class:`IcecastRig`: ``icecast2`` started from the controller's generated configuration, with a
  plain port (the encoders push there) and a TLS port certified by a CA made for the test.
- :class:`HlsSource` (from :mod:`controller.devtools.tone_sources`, which ``bench/`` shares): ffmpeg
  writing a live HLS stream (a tone) into a directory, served over HTTP by a thread: the shape of VOV's
  playlists; :func:`decode` and :func:`dominant_hz`, what a listener hears.
- :class:`IcecastSource`: ffmpeg pushing an MP3 tone to a mount, like a provincial station.
Both sources can be killed and started again (a source that dies mid-relay and comes back).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from controller.devtools.broker_runner import free_port
from controller.devtools.tone_sources import HlsSource, decode, dominant_hz, ffmpeg, stop
from controller.streaming.icecast_config import (IcecastError, IcecastLayout, IcecastServer, write_config,
                                                 write_tls_bundle)
from controller.streaming.settings import StreamingSettings

__all__ = ["HlsSource", "IcecastRig", "IcecastSource", "decode", "dominant_hz", "received_kbps"]


class IcecastRig:
    def __init__(self, root: Path, tls: bool = True):
        # Icecast drops root for its own account, which must reach its files; pytest keeps resetting
        # its base directory to 0700 (another worker starting), so the server's files live beside it.
        self._own_dir = Path(tempfile.mkdtemp(prefix="loaxa-icecast-"))
        self.layout = IcecastLayout(self._own_dir / "icecast")
        self.ca_dir = root / "ca"
        self.tls = tls
        self.settings = StreamingSettings(bind_address="127.0.0.1", device_host="127.0.0.1")
        self.ca_cert = None
        self._configure()

    def _configure(self) -> None:
        self.port = free_port()
        self.tls_port = free_port() if self.tls else 0
        self.secrets = write_config(self.settings, self.layout, port=self.port, tls_port=self.tls_port)
        if self.tls and self.ca_cert is None:
            self.ca_cert = write_tls_bundle(self.layout, self.ca_dir, ["127.0.0.1", "localhost"])
        self.server = IcecastServer(self.layout, "127.0.0.1", self.port, self.tls_port)

    def start(self) -> "IcecastRig":
        for attempt in range(3):  # a free port may be taken by a parallel test before Icecast binds it
            try:
                self.server.start()
                return self
            except IcecastError:
                if attempt == 2:
                    raise
                self._configure()
        return self

    def stop(self) -> None:
        self.server.stop()
        shutil.rmtree(self._own_dir, ignore_errors=True)

    @property
    def admin_url(self) -> str:
        return self.server.url

    def source_url(self, mount: str) -> str:
        """Where an encoder pushes ``mount`` (icecast:// with the source password)."""
        return f"icecast://source:{self.secrets.source_password}@127.0.0.1:{self.port}{mount}"

    def listen_url(self, mount: str, tls: bool = False) -> str:
        return (self.server.tls_url if tls else self.server.url) + mount


class IcecastSource:
    """ffmpeg pushing an MP3 tone (or a file) to a mount of ``rig``, like a provincial station's encoder."""

    def __init__(self, rig: IcecastRig, mount: str, freq: int = 800, log_dir: Path | None = None,
                 input_file: Path | None = None):
        self.rig = rig
        self.mount = mount
        self.freq = freq
        self.input_file = input_file
        self.log = (log_dir or rig.layout.dir) / f"source{mount.replace('/', '-')}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "IcecastSource":
        src = ["-re", "-stream_loop", "-1", "-i", str(self.input_file)] if self.input_file else \
            ["-re", "-f", "lavfi", "-i", f"sine=frequency={self.freq}:sample_rate=44100"]
        self.proc = ffmpeg([*src, "-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k", "-content_type", "audio/mpeg",
                             "-f", "mp3", self.rig.source_url(self.mount)], self.log)
        return self

    def kill(self) -> None:
        stop(self.proc)
        self.proc = None

    def close(self) -> None:
        self.kill()


def received_kbps(url: str, seconds: float) -> float:
    """Bytes a listener receives per second of a mount, counted from its first byte (kbit/s)."""
    import base64
    import time
    import urllib.request
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    plain = parts._replace(netloc=f"{parts.hostname}:{parts.port}").geturl()
    token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
    req = urllib.request.Request(plain, headers={"Authorization": f"Basic {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read(1)
        t0, got = time.monotonic(), 0
        while time.monotonic() - t0 < seconds:
            got += len(resp.read1(4096))
    return got * 8 / 1000 / (time.monotonic() - t0)
