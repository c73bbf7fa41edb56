"""Proof that sound came out: the RMS level heard on a capture input during each play.

A USB sound card's input, tapped from the amplifier output, is read with ``arecord``
while an item plays; its RMS level (dBFS) goes into the play's event, and a level below
the threshold flags the play ``silent`` (a dead amplifier, a cut line).  The ``file``
backend replays a recording through ffmpeg into the very same meter, which is how the
level computation is exercised where no capture device exists.
"""

from __future__ import annotations

import logging
import math
import subprocess
import sys
import threading
from array import array
from dataclasses import dataclass

from edge_agent.config import CaptureSettings

log = logging.getLogger(__name__)

FLOOR_DBFS = -120.0
READ_BYTES = 4096


def rms_dbfs(sum_squares: float, count: int) -> float:
    """RMS of 16-bit samples in dB relative to full scale (a full-scale square wave is 0 dBFS)."""
    if count <= 0 or sum_squares <= 0:
        return FLOOR_DBFS
    rms = math.sqrt(sum_squares / count) / 32768.0
    return max(FLOOR_DBFS, 20.0 * math.log10(rms))


@dataclass(frozen=True)
class Level:
    dbfs: float
    seconds: float
    silent: bool


class Measurement:
    """One running capture; :meth:`finish` stops it and returns the level heard."""

    def __init__(self, cmd: list[str], rate: int, threshold_dbfs: float):
        self.rate = rate
        self.threshold = threshold_dbfs
        self._sum = 0.0
        self._count = 0
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        self._reader = threading.Thread(target=self._read, name="capture", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        stream = self._proc.stdout
        carry = b""
        while True:
            chunk = stream.read1(READ_BYTES) if hasattr(stream, "read1") else stream.read(READ_BYTES)
            if not chunk:
                return
            chunk = carry + chunk
            usable = len(chunk) - len(chunk) % 2
            carry = chunk[usable:]
            samples = array("h", chunk[:usable])
            if sys.byteorder == "big":
                samples.byteswap()
            self._sum += float(sum(s * s for s in samples))
            self._count += len(samples)

    def finish_after_eof(self, timeout_s: float = 30.0) -> Level:
        """Wait for the source to end by itself (a replayed file), then report."""
        self._reader.join(timeout=timeout_s)
        return self.finish()

    def finish(self) -> Level:
        if self._proc.poll() is None:
            self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._reader.join(timeout=5)
        if self._proc.stdout:
            self._proc.stdout.close()
        level = rms_dbfs(self._sum, self._count)
        return Level(round(level, 1), self._count / self.rate, level < self.threshold)


class LevelMeter:
    """Starts a capture per play, from the configured backend."""

    def __init__(self, settings: CaptureSettings):
        if settings.backend not in ("alsa", "file"):
            raise ValueError(f"unknown capture backend {settings.backend!r} (use 'alsa', 'file' or leave it empty)")
        if not settings.device:
            raise ValueError("capture.device is not set")
        self.settings = settings

    def command(self) -> list[str]:
        s = self.settings
        if s.backend == "alsa":
            return ["arecord", "-q", "-D", s.device, "-t", "raw", "-f", "S16_LE", "-c", "1", "-r", str(s.sample_rate)]
        return ["ffmpeg", "-nostdin", "-v", "error", "-re", "-i", s.device, "-f", "s16le", "-ac", "1",
                "-ar", str(s.sample_rate), "-"]

    def start(self) -> Measurement | None:
        try:
            return Measurement(self.command(), self.settings.sample_rate, self.settings.silent_threshold_dbfs)
        except OSError as exc:
            log.error("cannot start the capture: %s", exc)
            return None


def make_meter(settings: CaptureSettings) -> LevelMeter | None:
    return LevelMeter(settings) if settings.backend else None
