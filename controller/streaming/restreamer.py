"""The restreamer: one relay source in, one Opus mount out, that never goes quiet on the wire.

One encoder process (PCM on stdin → Opus 24–32 kb/s → Icecast) stays connected for the whole
relay, so listeners never lose the mount.  Inputs (ffmpeg decoding a source URL to PCM) come
and go behind it.  A pump thread hands the encoder one 20 ms frame per 20 ms of wall-clock
time from whichever input is on air, or silence when it has nothing.

Why not trust ffmpeg to notice a dead source: a stale HLS playlist or a stalled TCP stream
leaves ffmpeg waiting with exit status 0, or for minutes.  So the restreamer watches the
audio itself: no samples for ``failover_s`` means the source is dead, whatever ffmpeg says.
Then it switches to the fallback (another source, or a recorded notice once, then silence),
logs the switch, and keeps retrying the primary with backoff; once the primary has delivered
a second of audio again it goes back on air.

A source that sends digital silence for ``silence_flag_s`` is flagged (``silent``), not
switched: a quiet minute on VOV is the programme's business, a silent hour is an operator's.
"""

from __future__ import annotations

import logging
import math
import subprocess
import threading
import time
from array import array
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from controller.child_process import spawn
from controller.streaming.encoder import opus_encoder_args
from controller.streaming.sources import RelaySource, input_args

log = logging.getLogger(__name__)

RATE = 48000
FRAME_S = 0.02
FRAME_BYTES = int(RATE * FRAME_S) * 2
MAX_BUFFER_S = 6.0  # an input further ahead than this (an HLS burst) is cut back towards the live point
RETURN_AFTER_S = 1.0  # the primary must deliver this much audio before it goes back on air
RETRY_MAX_S = 5.0
CONNECT_GRACE_S = 5.0
START_S = 0.05  # the first frame is due this long after the encoder is started: the timeline's origin


@dataclass(frozen=True)
class Switch:
    at: float
    from_input: str
    to_input: str
    reason: str


class _Input:
    """An ffmpeg decoding one source (or a notice file) to 48 kHz mono PCM, read by a thread."""

    def __init__(self, name: str, args: list[str]):
        self.name = name
        self.buf: deque[bytes] = deque()
        self.buffered = 0
        self.received = 0
        self.started = time.monotonic()
        self.last_data = 0.0
        self.lock = threading.Lock()
        self.proc = spawn(
            ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", *args, "-vn", "-ac", "1", "-ar", str(RATE),
             "-f", "s16le", "-"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.thread = threading.Thread(target=self._read, name=f"input-{name}", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            chunk = out.read1(8192) if hasattr(out, "read1") else out.read(8192)
            if not chunk:
                break
            with self.lock:
                self.buf.append(chunk)
                self.buffered += len(chunk)
                self.received += len(chunk)
                self.last_data = time.monotonic()
                limit = int(MAX_BUFFER_S * RATE * 2)
                while self.buffered > limit:
                    self.buffered -= len(self.buf.popleft())

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None or self.buffered > 0

    def seconds_received(self) -> float:
        return self.received / (RATE * 2)

    def take(self, n: int) -> bytes | None:
        """``n`` bytes, or None when fewer are buffered (the pump then sends silence)."""
        with self.lock:
            if self.buffered < n:
                return None
            parts, got = [], 0
            while got < n:
                head = self.buf.popleft()
                need = n - got
                if len(head) > need:
                    self.buf.appendleft(head[need:])
                    head = head[:need]
                parts.append(head)
                got += len(head)
            self.buffered -= n
            return b"".join(parts)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.thread.join(timeout=2)
        if self.proc.stdout:
            self.proc.stdout.close()


def _probed_codec(source: RelaySource) -> str:
    return str((source.last_probe or {}).get("codec", ""))


def rms_dbfs(pcm: bytes) -> float:
    samples = array("h", pcm)
    if not samples:
        return -120.0
    mean_sq = sum(s * s for s in samples) / len(samples)
    return 20 * math.log10(math.sqrt(mean_sq) / 32768) if mean_sq > 0 else -120.0


class Restreamer:
    """Restream ``source`` to ``target`` (an ``icecast://source:pw@host:port/mount`` URL) until stopped."""

    def __init__(self, source: RelaySource, target: str, *, fallback: RelaySource | None = None,
                 fallback_file: Path | None = None, bitrate_kbps: int = 24, failover_s: float = 3.0,
                 silence_dbfs: float = -55.0, silence_flag_s: float = 60.0,
                 on_switch: Callable[[Switch], None] | None = None, on_flag: Callable[[str], None] | None = None):
        if not 16 <= bitrate_kbps <= 64:
            raise ValueError("bitrate_kbps must be within 16..64")
        self.source = source
        self.target = target
        self.fallback = fallback
        self.fallback_file = fallback_file
        self.bitrate_kbps = bitrate_kbps
        self.failover_s = failover_s
        self.silence_dbfs = silence_dbfs
        self.silence_flag_s = silence_flag_s
        self.on_switch = on_switch or (lambda s: None)
        self.on_flag = on_flag or (lambda f: None)
        self.switches: list[Switch] = []
        self.flags: set[str] = set()
        self.on_air = "primary"
        self.origin = 0.0  # wall-clock instant the first frame is due: the granule positions count from it
        self.started_at = 0.0  # wall-clock instant of the stream's first sample (its timeline's zero)
        self.frames_sent = 0
        self._stop = threading.Event()
        self._primary: _Input | None = None
        self._backup: _Input | None = None
        self._notice_done = False
        self._next_retry = 0.0
        self._retry_s = 1.0
        self._silent_since: float | None = None
        self._level_acc = bytearray()
        self._encoder: subprocess.Popen | None = None
        self._thread = threading.Thread(target=self._run, name=f"restream-{source.id}", daemon=True)

    # lifecycle ------------------------------------------------------------------------------
    def start(self) -> "Restreamer":
        self.origin = time.time() + START_S
        self._encoder = spawn(
            opus_encoder_args(self.target, self.source.name, self.bitrate_kbps, self.origin),
            stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        self._primary = self._open_primary()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for inp in (self._primary, self._backup):
            if inp is not None:
                inp.close()
        enc, self._encoder = self._encoder, None
        if enc is not None:
            try:
                enc.stdin.close()
            except OSError:
                pass
            try:
                enc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                enc.kill()
                enc.wait()
            if enc.stderr:
                enc.stderr.close()

    def __enter__(self) -> "Restreamer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def encoder_alive(self) -> bool:
        return self._encoder is not None and self._encoder.poll() is None

    # inputs ----------------------------------------------------------------------------------
    def _open_primary(self) -> _Input:
        return _Input("primary", input_args(self.source.url, self.source.kind, realtime=self.source.kind == "hls",
                                            codec=_probed_codec(self.source)))

    def _open_backup(self) -> _Input | None:
        if self.fallback is not None:
            return _Input(f"fallback:{self.fallback.id}",
                          input_args(self.fallback.url, self.fallback.kind, realtime=self.fallback.kind == "hls",
                                     codec=_probed_codec(self.fallback)))
        if self.fallback_file is not None and not self._notice_done:
            self._notice_done = True  # the notice plays once per outage, then silence
            return _Input("notice", ["-re", "-i", str(self.fallback_file)])
        return None

    def _switch(self, to: str, reason: str) -> None:
        sw = Switch(time.time(), self.on_air, to, reason)
        self.on_air = to
        self.switches.append(sw)
        log.warning("relay %s: %s -> %s (%s)", self.source.id, sw.from_input, to, reason)
        try:
            self.on_switch(sw)
        except Exception:  # noqa: BLE001 - a log failure must not stop the relay
            log.exception("recording the switch failed")

    def _supervise(self, now: float) -> None:
        primary = self._primary
        if self.on_air == "primary":
            # a fresh connection gets longer for its first samples (DNS, TLS, playlist, probing)
            quiet_for = now - primary.last_data if primary and primary.last_data else \
                (now - primary.started - CONNECT_GRACE_S if primary else 0.0)
            dead = primary is None or (not primary.alive) or quiet_for > self.failover_s
            if dead:
                self._switch("fallback", "source_silent_on_wire" if primary and primary.alive else "source_ended")
                self._backup = self._open_backup()
                self._restart_primary(now)
            return
        # on fallback: retry the primary with backoff; go back once it has proved itself
        if primary is not None and primary.alive and primary.seconds_received() >= RETURN_AFTER_S \
                and now - primary.last_data < 0.5:
            self._switch("primary", "source_back")
            if self._backup is not None:
                self._backup.close()
                self._backup = None
            self._notice_done = False
            self._retry_s = 1.0
            with primary.lock:  # start from the live point, not from what queued while off air
                keep = int(0.2 * RATE * 2) // 2 * 2
                while primary.buffered > keep:
                    primary.buffered -= len(primary.buf.popleft())
            return
        if primary is None or not primary.alive:
            self._restart_primary(now)
        if self._backup is not None and not self._backup.alive and self.fallback is not None:
            self._backup.close()
            self._backup = self._open_backup()

    def _restart_primary(self, now: float) -> None:
        if now < self._next_retry:
            return
        if self._primary is not None:
            self._primary.close()
        self._primary = self._open_primary()
        self._next_retry = now + self._retry_s
        self._retry_s = min(self._retry_s * 2, RETRY_MAX_S)

    # the pump --------------------------------------------------------------------------------
    def _run(self) -> None:
        silence = bytes(FRAME_BYTES)
        # Frame n is due at origin + n * 20 ms of the wall clock: the granule positions say so to every agent.
        t0 = time.monotonic() + (self.origin - time.time())
        self.started_at = self.origin
        n = 0
        while not self._stop.is_set():
            due = t0 + n * FRAME_S
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            now = time.monotonic()
            if n % 5 == 0:
                self._supervise(now)
            inp = self._primary if self.on_air == "primary" else self._backup
            frame = inp.take(FRAME_BYTES) if inp is not None else None
            if self.on_air == "primary" and frame is not None:
                self._watch_level(frame, now)
            try:
                self._encoder.stdin.write(frame or silence)
            except (BrokenPipeError, ValueError, AttributeError):
                log.error("relay %s: the encoder stopped (%s)", self.source.id, self._encoder_error())
                break
            n += 1
            self.frames_sent = n

    def _encoder_error(self) -> str:
        enc = self._encoder
        if enc is None or enc.poll() is None or enc.stderr is None:
            return "running"
        return enc.stderr.read().decode(errors="replace")[-300:].strip()

    def _watch_level(self, frame: bytes, now: float) -> None:
        self._level_acc += frame
        if len(self._level_acc) < RATE * 2:
            return
        level = rms_dbfs(bytes(self._level_acc[: RATE * 2]))
        self._level_acc.clear()
        if level < self.silence_dbfs:
            self._silent_since = self._silent_since or now
            if now - self._silent_since >= self.silence_flag_s and "silent" not in self.flags:
                self.flags.add("silent")
                log.warning("relay %s: source silent for %.0f s", self.source.id, now - self._silent_since)
                self.on_flag("silent")
        else:
            self._silent_since = None
            if "silent" in self.flags:
                self.flags.discard("silent")
                self.on_flag("sound")
