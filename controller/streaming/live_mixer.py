"""The live microphone's path through the controller: browser chunks in, one Opus mount and an archive out.

The browser sends WebM/Opus chunks (MediaRecorder) as they are recorded.  A decoder ffmpeg
turns them into 48 kHz mono PCM; a pump thread hands the encoder (the same Opus settings as a
relay, see :mod:`controller.streaming.restreamer`) one 20 ms frame per 20 ms of wall clock:
the intro chime, then the speech, then the outro chime once the speaker has finished.  Speech
that piles up (a phone that sent a burst after a stall) is cut back towards the live point,
so the delay to the speakers stays bounded.  Every frame that went on air is also written to
the archive, which the session turns into a media file.
"""

from __future__ import annotations

import logging
import math
import subprocess
import threading
import time
from array import array
from collections import deque
from pathlib import Path

from controller.child_process import spawn
from controller.streaming.encoder import opus_encoder_args
from controller.streaming.restreamer import FRAME_BYTES, FRAME_S, RATE, START_S

log = logging.getLogger(__name__)

MAX_SPEECH_BUFFER_S = 0.8  # more speech queued than this is cut back to KEEP_S: the delay stays bounded
KEEP_S = 0.2


def chime(notes: tuple[tuple[float, float], ...], level: float = 0.35) -> bytes:
    """A soft two-note chime as PCM: (frequency, seconds) per note, each faded in and out."""
    out = array("h")
    for freq, seconds in notes:
        n = int(RATE * seconds)
        fade = int(RATE * 0.03)
        for i in range(n):
            env = min(1.0, i / fade, (n - i) / fade)
            out.append(int(32767 * level * env * math.sin(2 * math.pi * freq * i / RATE)))
    data = out.tobytes()
    return data + bytes(-len(data) % FRAME_BYTES)


INTRO = chime(((660.0, 0.35), (880.0, 0.5)))
OUTRO = chime(((880.0, 0.35), (660.0, 0.5)))


class LiveMixer:
    """Mix one live session: ``feed`` the browser's bytes, ``finish`` to play the outro and close."""

    def __init__(self, target: str, archive_pcm: Path, name: str = "Phát trực tiếp", bitrate_kbps: int = 24):
        self.target = target
        self.archive_pcm = archive_pcm
        self.name = name
        self.bitrate_kbps = bitrate_kbps
        self.first_speech_at = 0.0  # wall clock of the first speech frame sent (latency measurements)
        self.frames_sent = 0
        self.origin = 0.0
        self.done = threading.Event()
        self._speech: deque[bytes] = deque()
        self._buffered = 0
        self._lock = threading.Lock()
        self._finishing = threading.Event()
        self._decoded_all = threading.Event()
        self._encoder: subprocess.Popen | None = None
        self._decoder: subprocess.Popen | None = None
        self._archive = None
        self._feed_lock = threading.Lock()
        self._killed = False

    def start(self) -> "LiveMixer":
        self.origin = time.time() + START_S
        self._encoder = spawn(
            opus_encoder_args(self.target, self.name, self.bitrate_kbps, self.origin, application="voip"),
            stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._decoder = spawn(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-fflags", "nobuffer", "-probesize", "2048",
             "-analyzeduration", "0", "-f", "matroska", "-i", "pipe:0", "-vn", "-ac", "1", "-ar", str(RATE), "-f", "s16le", "-"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.archive_pcm.parent.mkdir(parents=True, exist_ok=True)
        self._archive = open(self.archive_pcm, "wb")
        threading.Thread(target=self._read, name="live-decoder", daemon=True).start()
        threading.Thread(target=self._pump, name="live-pump", daemon=True).start()
        return self

    def feed(self, data: bytes) -> bool:
        """Bytes of the browser's recording, in order; False once the session no longer takes any."""
        if self._finishing.is_set() or self._decoder is None:
            return False
        with self._feed_lock:
            try:
                self._decoder.stdin.write(data)
                self._decoder.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                return False
        return True

    def finish(self) -> None:
        """No more speech: what was said plays out, then the outro, then the mount closes."""
        if self._finishing.is_set():
            return
        self._finishing.set()
        with self._feed_lock:
            if self._decoder is not None and self._decoder.stdin:
                try:
                    self._decoder.stdin.close()
                except OSError:
                    pass

    def kill(self) -> None:
        """Stop at once, without the outro (the kill switch)."""
        self._finishing.set()
        self._decoded_all.set()
        with self._lock:
            self._speech.clear()
            self._buffered = 0
        self._killed = True
        self.finish()

    # threads -----------------------------------------------------------------------------
    def _read(self) -> None:
        out = self._decoder.stdout
        while True:
            chunk = out.read1(8192)
            if not chunk:
                break
            with self._lock:
                self._speech.append(chunk)
                self._buffered += len(chunk)
                if self._buffered > MAX_SPEECH_BUFFER_S * RATE * 2:
                    keep = int(KEEP_S * RATE * 2)
                    while self._buffered - len(self._speech[0]) >= keep:
                        self._buffered -= len(self._speech.popleft())
        self._decoder.wait()
        self._decoded_all.set()

    def _take(self) -> bytes | None:
        with self._lock:
            if self._buffered < FRAME_BYTES:
                return None
            parts, got = [], 0
            while got < FRAME_BYTES:
                head = self._speech.popleft()
                need = FRAME_BYTES - got
                if len(head) > need:
                    self._speech.appendleft(head[need:])
                    head = head[:need]
                parts.append(head)
                got += len(head)
            self._buffered -= FRAME_BYTES
            return b"".join(parts)

    def _frames(self):
        """What goes on air, frame by frame: intro, speech (silence while none arrives), outro."""
        silence = bytes(FRAME_BYTES)
        for i in range(0, len(INTRO), FRAME_BYTES):
            yield INTRO[i:i + FRAME_BYTES], False
        while True:
            frame = self._take()
            if frame is not None:
                yield frame, True
            elif self._decoded_all.is_set():
                break
            else:
                yield silence, False
        if not self._killed:
            for i in range(0, len(OUTRO), FRAME_BYTES):
                yield OUTRO[i:i + FRAME_BYTES], False

    def _pump(self) -> None:
        t0 = time.monotonic() + (self.origin - time.time())  # frame n is due at origin + n * 20 ms (the timeline)
        try:
            for n, (frame, speech) in enumerate(self._frames()):
                delay = t0 + n * FRAME_S - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                if speech and not self.first_speech_at:
                    self.first_speech_at = time.time()
                try:
                    self._encoder.stdin.write(frame)
                except (BrokenPipeError, ValueError):
                    log.error("live encoder stopped")
                    break
                self._archive.write(frame)
                self.frames_sent = n + 1
        finally:
            self._close()

    def _close(self) -> None:
        if self._archive is not None:
            self._archive.close()
        for proc in (self._encoder, self._decoder):
            if proc is None:
                continue
            try:
                if proc.stdin:
                    proc.stdin.close()
            except OSError:
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.done.set()

    @property
    def seconds_on_air(self) -> float:
        return self.frames_sent * FRAME_S
