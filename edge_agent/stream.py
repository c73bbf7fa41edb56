"""Playing a stream item: listen to the controller's Icecast mount and hand it to the output live.

One ffmpeg decodes the mount (``https`` verified against the controller's CA when the agent
has it) into a bounded buffer; the playback loop hands 20 ms frames to the output at the
pace of the wall clock.  The buffer never holds more than ``MAX_BUFFER_S``: audio that
piled up is dropped from the old end, so the speaker stays at the live point.  When the
stream stops (a network drop, a server restart) the agent reconnects with backoff and
rejoins at the live point; the seconds without sound are reported as a gap.  The item ends
at its slot's end even if the stream goes on.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Protocol
from urllib.parse import quote, urlsplit

from loaxa.protocol import PlayItem

log = logging.getLogger(__name__)

FRAME_S = 0.02
MAX_BUFFER_S = 1.0
PREBUFFER_S = 0.1
STALL_S = 1.5  # no audio this long: the connection is dead, reconnect
CONNECT_S = 6.0  # a new connection gets this long for its first audio (TLS, probing)
BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 5.0)


class StreamWriter(Protocol):
    """Where a stream's PCM goes; ``chunk`` records the wall-clock instant of a chunk's first sample."""

    rate: int

    def write(self, pcm: bytes) -> None: ...
    def chunk(self, first_sample_at: float, samples: int) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class StreamOutcome:
    started_at: float  # 0.0 when nothing was ever heard
    aired_s: float
    completed: bool
    gaps: int


class _Receiver:
    def __init__(self, url: str, ca_file: str, rate: int):
        tls = ["-ca_file", ca_file, "-tls_verify", "1"] if url.startswith("https://") and ca_file else []
        self.buf: deque[bytes] = deque()
        self.buffered = 0
        self.limit = int(MAX_BUFFER_S * rate) * 2
        self.lock = threading.Lock()
        self.last_data = time.monotonic()
        self.got_any = False
        self.proc = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", *tls, "-rw_timeout", "3000000",
             "-probesize", "16384", "-analyzeduration", "0", "-f", "ogg", "-i", url, "-ac", "1", "-ar", str(rate),
             "-f", "s16le", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.thread = threading.Thread(target=self._read, name="stream-in", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while True:
            chunk = self.proc.stdout.read1(4096)
            if not chunk:
                return
            with self.lock:
                self.buf.append(chunk)
                self.buffered += len(chunk)
                self.last_data = time.monotonic()
                self.got_any = True
                while self.buffered - len(self.buf[0]) >= self.limit:  # stay at the live point
                    self.buffered -= len(self.buf.popleft())

    def take(self, n: int) -> bytes | None:
        with self.lock:
            if self.buffered < n:
                return None
            out = bytearray()
            while len(out) < n:
                head = self.buf.popleft()
                need = n - len(out)
                if len(head) > need:
                    self.buf.appendleft(head[need:])
                    head = head[:need]
                out += head
            self.buffered -= n
            return bytes(out)

    @property
    def dead(self) -> bool:
        quiet = time.monotonic() - self.last_data
        return (self.proc.poll() is not None and self.buffered == 0) or quiet > (STALL_S if self.got_any else CONNECT_S)

    def error(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return ""
        return self.proc.stderr.read().decode(errors="replace").strip()[-200:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.thread.join(timeout=2)
        for s in (self.proc.stdout, self.proc.stderr):
            if s:
                s.close()


def listen_url(item: PlayItem) -> str:
    """The mount URL with the device's stream account (HTTP Basic, as Icecast asks)."""
    ref = item.stream
    parts = urlsplit(ref.url)
    netloc = f"{quote(ref.username, safe='')}:{quote(ref.password, safe='')}@{parts.netloc}"
    return parts._replace(netloc=netloc).geturl()


def play_stream(item: PlayItem, writer: StreamWriter, stop: threading.Event, ca_file: str = "",
                on_start: Callable[[float], None] = lambda t: None,
                on_gap: Callable[[float, float], None] = lambda at, lost: None, at: float = 0.0) -> StreamOutcome:
    """Play ``item``'s stream into ``writer`` from ``at`` (connecting before it) until its slot ends (or ``stop``)."""
    end = item.ends_at.timestamp()
    frame_bytes = int(writer.rate * FRAME_S) * 2
    url = listen_url(item)
    started_at, aired, gaps, attempt = 0.0, 0.0, 0, 0
    lost_since: float | None = None
    while not stop.is_set() and time.time() < end:
        rx = _Receiver(url, ca_file, writer.rate)
        try:
            # wait for the first audio (bounded by the stall timeout and the slot)
            while not stop.is_set() and time.time() < end and rx.buffered < PREBUFFER_S * writer.rate * 2 \
                    and not rx.dead:
                stop.wait(0.01)
            if at > time.time():  # connected ahead: hold the live point until the scheduled instant
                while not stop.is_set() and time.time() < at - 0.003 and not rx.dead:
                    stop.wait(min(0.01, max(0.0, at - time.time() - 0.003)))
                while time.time() < at:
                    pass
                with rx.lock:
                    keep = int(PREBUFFER_S * writer.rate) * 2
                    while rx.buffered - len(rx.buf[0]) >= keep if rx.buf else False:
                        rx.buffered -= len(rx.buf.popleft())
            if rx.buffered < frame_bytes:
                why = rx.error()
                if why:
                    log.warning("stream %s: %s", item.item_id, why)
                lost_since = lost_since or time.time()
                stop.wait(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
                attempt += 1
                continue
            attempt = 0
            t0 = time.time()
            if started_at == 0.0:
                started_at = t0
                on_start(t0)
            elif lost_since is not None:
                gaps += 1
                on_gap(lost_since, t0 - lost_since)
            lost_since = None
            n, chunk_start, chunk_n = 0, t0, 0
            while not stop.is_set():
                now = time.time()
                if now >= end:
                    break
                frame = rx.take(frame_bytes)
                if frame is None:
                    if rx.dead:
                        lost_since = t0 + n * FRAME_S
                        break
                    stop.wait(0.005)
                    continue
                due = t0 + n * FRAME_S
                if due - now > 0.002:
                    stop.wait(due - now)
                elif now - due > 0.2:  # fell behind (an underrun): restart the timeline here
                    t0, n = now, 0
                if chunk_n == 0:
                    chunk_start = time.time()
                writer.write(frame)
                n += 1
                aired += FRAME_S
                chunk_n += 1
                if chunk_n == 25:  # every half second: when the chunk's first sample went to the output
                    writer.chunk(chunk_start, chunk_n * frame_bytes // 2)
                    chunk_n = 0
            if chunk_n:
                writer.chunk(chunk_start, chunk_n * frame_bytes // 2)
        finally:
            rx.close()
    return StreamOutcome(started_at, round(aired, 3), not stop.is_set() and time.time() >= end - FRAME_S, gaps)
