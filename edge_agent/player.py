"""Audio output backends that start on a precise instant.

Playing is split in two so the start lands on time: :meth:`Output.prepare` decodes the
first second ahead and opens the output (seconds before the planned instant), then
:meth:`Prepared.start` hands the first frame to the output and returns that instant.

- :class:`AlsaOutput` pipes PCM into ``aplay`` (a real sound card on a Pi), files and streams alike.
- :class:`FileSinkOutput` writes PCM to a file at real-time pace and appends each
  play's real start instant to ``plays.jsonl``: the "sound card" of tests and the demo.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

from edge_agent.alsa_delay import ASOUND, OutputDelay, ProcCardDelay, pipe_backlog_bytes

log = logging.getLogger(__name__)

FRAME_S = 0.02
DRAIN_S = 2 * FRAME_S  # how far ahead of the sound the sink is fed (its "buffer")


class PlayerError(RuntimeError):
    """The media could not be decoded or the output could not be opened."""


@dataclass(frozen=True)
class PlayOutcome:
    started_at: float
    played_s: float
    completed: bool


class Decoder:
    """Streams 16-bit mono PCM out of any media file through ffmpeg."""

    def __init__(self, path: Path, rate: int):
        self.rate = rate
        self.bytes_per_s = rate * 2
        try:
            self.proc = subprocess.Popen(
                ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", str(rate), "-"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise PlayerError(f"cannot run ffmpeg: {exc}") from None
        self.head = self._read_exact(self.bytes_per_s)
        if not self.head:
            err = self.proc.stderr.read().decode(errors="replace")[-300:] if self.proc.stderr else ""
            self.close()
            raise PlayerError(f"cannot decode {path.name}: {err.strip() or 'no audio'}")

    def _read_exact(self, n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            chunk = self.proc.stdout.read(n - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def frames(self, frame_bytes: int):
        """Yield the pre-read head, then the rest of the stream, in frames."""
        buf = self.head
        self.head = b""
        while True:
            while len(buf) >= frame_bytes:
                yield buf[:frame_bytes]
                buf = buf[frame_bytes:]
            more = self.proc.stdout.read(frame_bytes * 10)
            if not more:
                if buf:
                    yield buf
                return
            buf += more

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for s in (self.proc.stdout, self.proc.stderr):
            if s:
                s.close()


class Prepared(Protocol):
    def open(self) -> None: ...
    def start(self) -> float: ...
    def wait(self, stop: threading.Event) -> PlayOutcome: ...
    def close(self) -> None: ...


class Output(Protocol):
    def prepare(self, path: Path, info: dict[str, Any]) -> Prepared: ...


class _PreparedBase:
    def __init__(self, decoder: Decoder):
        self.decoder = decoder
        self.frame_bytes = int(decoder.bytes_per_s * FRAME_S) // 2 * 2
        self.frames = decoder.frames(self.frame_bytes)
        self.started_at = 0.0
        self.written = 0

    def _write(self, frame: bytes) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def open(self) -> None:
        """Open the output device; separate from decoding so the next item can decode while one plays."""

    def start(self) -> float:
        first = next(self.frames)
        self.started_at = time.time()
        self._write(first)
        self.written = len(first)
        self._on_started()
        return self.started_at

    def _on_started(self) -> None:
        pass

    def _pace(self, stop: threading.Event) -> bool:
        """Wait until the written audio is due; False if stopped."""
        due = self.started_at + self.written / self.decoder.bytes_per_s - DRAIN_S
        delay = due - time.time()
        return not (delay > 0 and stop.wait(delay))

    def close(self) -> None:
        self.decoder.close()


class _FileSinkPrepared(_PreparedBase):
    def __init__(self, decoder: Decoder, sink: "FileSinkOutput", info: dict[str, Any]):
        super().__init__(decoder)
        self.sink = sink
        self.info = info
        self.fh = None

    def open(self) -> None:
        if self.fh is None:
            self.fh = open(self.sink.dir / "last-play.pcm", "wb")

    def _write(self, frame: bytes) -> None:
        self.open()
        self.fh.write(frame)

    def _on_started(self) -> None:
        volume = self.sink.volume()
        self.sink.record(dict(self.info, actual_start=self.started_at, **({} if volume is None else {"volume": volume})))

    def wait(self, stop: threading.Event) -> PlayOutcome:
        for frame in self.frames:
            if not self._pace(stop):
                return PlayOutcome(self.started_at, time.time() - self.started_at, False)
            self._write(frame)
            self.written += len(frame)
        # Like a sound card's buffer, the last frames are handed over a little before they sound.
        remaining = self.started_at + self.written / self.decoder.bytes_per_s - DRAIN_S - time.time()
        if remaining > 0 and stop.wait(remaining):
            return PlayOutcome(self.started_at, time.time() - self.started_at, False)
        return PlayOutcome(self.started_at, self.written / self.decoder.bytes_per_s, True)

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
        super().close()


class FileSinkOutput:
    """A file "sound card" that records when each play really started, and at what mixer volume."""

    def __init__(self, directory: Path, rate: int = 48000, volume: Callable[[], int | None] = lambda: None):
        self.volume = volume
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.rate = rate
        self.log_path = self.dir / "plays.jsonl"
        self._lock = threading.Lock()

    def prepare(self, path: Path, info: dict[str, Any]) -> Prepared:
        return _FileSinkPrepared(Decoder(path, self.rate), self, info)

    def record(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock, open(self.log_path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def stream_writer(self, item_id: str) -> "FileStreamWriter":
        return FileStreamWriter(self, item_id)


class FileStreamWriter:
    """A stream item's PCM in ``stream-<item>.pcm``; every chunk's first-sample instant in ``chunks.jsonl``.

    With those instants the tests measure the offset between agents playing the same stream
    and the gaps of a dropped link, as a microphone in front of each speaker would.
    """

    latency_s = 0.0  # the instant a sample is written is the instant the tests take as its sound

    def __init__(self, sink: FileSinkOutput, item_id: str):
        self.rate = sink.rate
        self.item_id = item_id
        self.fh = open(sink.dir / f"stream-{item_id}.pcm", "ab")
        self.chunks = open(sink.dir / "chunks.jsonl", "a", encoding="utf-8")
        self.offset = self.fh.tell() // 2

    def write(self, pcm: bytes) -> None:
        self.fh.write(pcm)

    def chunk(self, first_sample_at: float, samples: int) -> None:
        self.chunks.write(json.dumps({"item_id": self.item_id, "at": first_sample_at, "sample": self.offset,
                                      "samples": samples}) + "\n")
        self.chunks.flush()
        self.offset += samples

    def close(self) -> None:
        self.fh.close()
        self.chunks.close()


class _AlsaPrepared(_PreparedBase):
    def __init__(self, decoder: Decoder, device: str):
        super().__init__(decoder)
        self.device = device
        self.proc: subprocess.Popen | None = None

    def open(self) -> None:
        """Start aplay (a hardware device admits one player at a time, so not while another item plays)."""
        if self.proc is not None:
            return
        try:
            self.proc = subprocess.Popen(aplay_command(self.device, self.decoder.rate), stdin=subprocess.PIPE,
                                         stderr=subprocess.PIPE)
        except OSError as exc:
            raise PlayerError(f"cannot run aplay: {exc}") from None

    def _write(self, frame: bytes) -> None:
        self.open()
        try:
            self.proc.stdin.write(frame)
        except BrokenPipeError:
            err = self.proc.stderr.read().decode(errors="replace")[-300:] if self.proc.stderr else ""
            raise PlayerError(f"aplay stopped: {err.strip()}") from None

    def wait(self, stop: threading.Event) -> PlayOutcome:
        for frame in self.frames:
            if stop.is_set():  # aplay's blocking writes pace the stream
                self.proc.kill()
                return PlayOutcome(self.started_at, time.time() - self.started_at, False)
            self._write(frame)
            self.written += len(frame)
        self.proc.stdin.close()
        while self.proc.poll() is None:
            if stop.wait(0.05):
                self.proc.kill()
                return PlayOutcome(self.started_at, time.time() - self.started_at, False)
        return PlayOutcome(self.started_at, self.written / self.decoder.bytes_per_s, True)

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
        super().close()


def aplay_command(device: str, rate: int, buffer_us: int = 200000, period_us: int | None = None) -> list[str]:
    """The aplay that plays 16-bit mono PCM from stdin on ``device``: files and streams open the card alike."""
    return ["aplay", "-q", "-D", device, "-t", "raw", "-f", "S16_LE", "-c", "1", "-r", str(rate),
            f"--buffer-time={buffer_us}", *([f"--period-time={period_us}"] if period_us else [])]


STREAM_BUFFER_S = 0.1  # the card's buffer for a stream: what a sample waits between the hand-over and the sound


class AlsaStreamWriter:
    """A stream item on the sound card, through the same aplay as files.

    aplay starts the card once its buffer is full and the player hands samples over at the pace
    of the timeline, so the buffer stays full: a sample sounds ``latency_s`` after it is written,
    and the player writes it that much ahead of its instant on the common timeline.  While the
    card runs, that latency is read from ALSA and the pipe rather than assumed, so a card whose
    crystal is off the clock stays on the timeline (:mod:`edge_agent.alsa_delay`).
    """

    def __init__(self, device: str, rate: int, item_id: str, asound: Path = ASOUND):
        self.rate = rate
        self.item_id = item_id
        self.command = aplay_command(device, rate, int(STREAM_BUFFER_S * 1_000_000), int(FRAME_S * 1_000_000))
        try:
            self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            raise PlayerError(f"cannot run aplay: {exc}") from None
        self.broken = False
        stdin = self.proc.stdin.fileno()
        self.delay = OutputDelay(rate, 2, STREAM_BUFFER_S, FRAME_S, ProcCardDelay(self.proc.pid, asound),
                                 lambda: pipe_backlog_bytes(stdin))

    @property
    def latency_s(self) -> float:
        """How long a sample written now waits before it sounds: measured from the card and the pipe
        (:mod:`edge_agent.alsa_delay`), or the card's buffer when the card gives no figure."""
        return self.delay.seconds

    def write(self, pcm: bytes) -> None:
        if self.broken:
            return
        self.delay.sample()
        try:
            self.proc.stdin.write(pcm)
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            self.broken = True
            err = self.proc.stderr.read().decode(errors="replace")[-300:] if self.proc.stderr else ""
            log.error("aplay stopped during stream %s: %s", self.item_id, err.strip())

    def chunk(self, first_sample_at: float, samples: int) -> None:
        """The card keeps no record; the instants are the tests' business (the file sink)."""

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=self.latency_s + 1.0)  # the buffer plays out
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()


class AlsaOutput:
    def __init__(self, device: str = "default", rate: int = 48000):
        self.device = device
        self.rate = rate

    def prepare(self, path: Path, info: dict[str, Any]) -> Prepared:
        return _AlsaPrepared(Decoder(path, self.rate), self.device)

    def stream_writer(self, item_id: str) -> AlsaStreamWriter:
        return AlsaStreamWriter(self.device, self.rate, item_id)
