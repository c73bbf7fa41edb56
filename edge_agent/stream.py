"""Playing a stream item on the common timeline: every agent hands sample *n* to its output at one instant.

The controller stamps each mount with its wall clock (see ``controller/streaming/encoder.py``):
the Ogg granule position says when each sample was due on air.  The agent reads the mount
itself (HTTP Basic with its own account, ``https`` verified against the controller's CA),
notes the granule of the first page it gets, and pipes the pages into an ffmpeg decoder; so
every decoded sample has its instant on the timeline.  The playback loop then hands to the
output, at each instant, the sample stamped ``playout_delay_s`` (signed in the item) earlier,
on the agent's clock corrected by its measured offset:

    sample due now = (now − clock offset − playout delay + output latency) × rate

Audio older than that is dropped, a stream that begins later is waited for.  At every chunk
(half a second) the loop re-disciplines: if the chunk's first sample is off the timeline by
more than ``STEP_TOLERANCE_S`` it steps there (drops or waits), so a late wake-up never
accumulates.  An agent that joins late therefore starts at the live position, in step, and one
that connected ahead (the pre-roll) starts exactly at the scheduled instant.

When the stream stops (a network drop, a server restart) the agent reconnects with backoff and
rejoins on the timeline; the seconds without sound are reported as a gap.  The item ends at its
slot's end even if the stream goes on.  A stream whose timeline is far from the clock (an older
controller that counted granules from zero) is played as received instead.
"""

from __future__ import annotations

import base64
import http.client
import logging
import ssl
import struct
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Protocol
from urllib.parse import unquote, urlsplit

from loaxa.protocol import PlayItem

log = logging.getLogger(__name__)

FRAME_S = 0.02
CHUNK_FRAMES = 25  # the sink records one instant per half second
TIMELINE_RATE = 48000
DEFAULT_PLAYOUT_DELAY_S = 1.2  # an item that names none (an older controller)
KEEP_S = 2.0  # buffered beyond the playout delay; older audio is dropped
STEP_TOLERANCE_S = 0.001  # a chunk further off the timeline than this steps back onto it
MAX_LAG_S = 0.2  # further behind than this, even mid-chunk: step at once
NO_TIMELINE_S = 30.0  # a stream whose stamps are this far from the clock has no usable timeline
AS_RECEIVED_DELAY_S = 0.1
STALL_S = 1.5  # no audio this long: the connection is dead, reconnect
CONNECT_S = 6.0  # a new connection gets this long for its first audio (TLS, headers)
READ_TIMEOUT_S = 3.0
BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 5.0)


class StreamWriter(Protocol):
    """Where a stream's PCM goes; ``chunk`` records the wall-clock instant of a chunk's first sample.

    ``latency_s``: how long after being handed over a sample sounds (the output's buffer), so the
    loop hands it over that much ahead of its instant.
    """

    rate: int
    latency_s: float

    def write(self, pcm: bytes) -> None: ...
    def chunk(self, first_sample_at: float, samples: int) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class StreamOutcome:
    started_at: float  # 0.0 when nothing was ever heard
    aired_s: float
    completed: bool
    gaps: int
    output_failed: bool = False  # the output (aplay) died: the rest of the slot has nowhere to go


def opus_packet_samples(packet: bytes) -> int:
    """Samples (at 48 kHz) in one Opus packet, from its TOC byte (RFC 6716, 3.1)."""
    if not packet:
        return 0
    toc = packet[0]
    config = toc >> 3
    if config < 12:
        size = (480, 960, 1920, 2880)[config % 4]
    elif config < 16:
        size = (480, 960)[config % 2]
    else:
        size = (120, 240, 480, 960)[config % 4]
    code = toc & 3
    frames = 1 if code == 0 else 2 if code < 3 else (packet[1] & 0x3F if len(packet) > 1 else 0)
    return size * frames


@dataclass(frozen=True)
class OggPage:
    raw: bytes
    header_type: int
    granule: int
    packets: tuple[bytes, ...]  # the packets that end on this page

    @property
    def continued(self) -> bool:
        return bool(self.header_type & 1)

    @property
    def is_header(self) -> bool:
        return bool(self.packets) and self.packets[0][:8] in (b"OpusHead", b"OpusTags")

    @property
    def first_granule(self) -> int:
        """Granule of the page's first sample: its own granule less the samples it carries."""
        return self.granule - sum(opus_packet_samples(p) for p in self.packets)


class OggReader:
    """Splits a byte stream into Ogg pages (the stream starts on a page, as Icecast sends it)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[OggPage]:
        self._buf += data
        pages = []
        while True:
            start = self._buf.find(b"OggS")
            if start < 0:
                del self._buf[:-3]
                return pages
            if start:
                del self._buf[:start]
            if len(self._buf) < 27:
                return pages
            nsegs = self._buf[26]
            if len(self._buf) < 27 + nsegs:
                return pages
            lacing = self._buf[27:27 + nsegs]
            size = 27 + nsegs + sum(lacing)
            if len(self._buf) < size:
                return pages
            raw = bytes(self._buf[:size])
            del self._buf[:size]
            packets, packet, off = [], b"", 27 + nsegs
            for length in lacing:
                packet += raw[off:off + length]
                off += length
                if length < 255:
                    packets.append(packet)
                    packet = b""
            granule = struct.unpack_from("<q", raw, 6)[0]
            pages.append(OggPage(raw, raw[5], granule, tuple(packets)))


def _connect(url: str, ca_file: str) -> http.client.HTTPResponse:
    parts = urlsplit(url)
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=ca_file or None)
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(parts.hostname, parts.port or 443,
                                                                      timeout=READ_TIMEOUT_S, context=context)
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=READ_TIMEOUT_S)
    auth = base64.b64encode(f"{unquote(parts.username or '')}:{unquote(parts.password or '')}".encode()).decode()
    conn.request("GET", parts.path or "/", headers={"Authorization": f"Basic {auth}", "User-Agent": "loaxa-agent"})
    resp = conn.getresponse()
    if resp.status != 200:
        conn.close()
        raise OSError(f"HTTP {resp.status} {resp.reason}")
    return resp


class _Receiver:
    """One connection: the mount's pages go to an ffmpeg decoder; its PCM is buffered with its timeline position."""

    def __init__(self, url: str, ca_file: str, rate: int, keep_s: float):
        self.url = url
        self.ca_file = ca_file
        self.rate = rate
        self.buf: deque[bytes] = deque()
        self.buffered = 0  # bytes
        self.head: int | None = None  # timeline position (samples at ``rate`` since the epoch) of the first buffered byte
        self.first_granule: int | None = None
        self.limit = int(keep_s * rate) * 2
        self.lock = threading.Lock()
        self.last_data = time.monotonic()
        self.got_any = False
        self.failure = ""
        self._closing = threading.Event()
        self.proc = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-probesize", "2048", "-analyzeduration", "0",
             "-f", "ogg", "-i", "pipe:0", "-ac", "1", "-ar", str(rate), "-f", "s16le", "-"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.threads = [threading.Thread(target=self._fetch, name="stream-net", daemon=True),
                        threading.Thread(target=self._read, name="stream-in", daemon=True)]
        for t in self.threads:
            t.start()

    def _fetch(self) -> None:
        """Network → pages → decoder, from the headers and the first whole page; notes that page's granule."""
        reader, started = OggReader(), False
        resp = None
        try:
            resp = _connect(self.url, self.ca_file)
            while not self._closing.is_set():
                data = resp.read1(8192)
                if not data:
                    break
                out = bytearray()
                for page in reader.feed(data):
                    if page.is_header:
                        out += page.raw
                    elif started:
                        out += page.raw
                    elif not page.continued and page.packets:
                        self.first_granule = page.first_granule
                        started = True
                        out += page.raw
                if out:
                    self.proc.stdin.write(out)
                    self.proc.stdin.flush()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if not self._closing.is_set():
                self.failure = str(exc)
        finally:
            if resp is not None:
                resp.close()
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    def _read(self) -> None:
        while True:
            chunk = self.proc.stdout.read1(4096)
            if not chunk:
                return
            with self.lock:
                if self.head is None:
                    granule = self.first_granule or 0
                    self.head = granule * self.rate // TIMELINE_RATE
                self.buf.append(chunk)
                self.buffered += len(chunk)
                self.last_data = time.monotonic()
                self.got_any = True
                while self.buffered - len(self.buf[0]) >= self.limit:  # older than anything still due
                    self._drop_head(len(self.buf[0]))

    def _drop_head(self, nbytes: int) -> None:
        head = self.buf.popleft()
        if len(head) > nbytes:
            self.buf.appendleft(head[nbytes:])
        self.buffered -= min(nbytes, len(head))
        self.head += min(nbytes, len(head)) // 2

    def rebase(self, shift: int) -> None:
        """Move the whole stream on the timeline by ``shift`` samples (a stream without a usable timeline)."""
        with self.lock:
            if self.head is not None:
                self.head += shift

    def take_at(self, pos: int, n: int) -> tuple[bytes | None, int]:
        """The ``n`` samples from timeline position ``pos`` (older audio is dropped).

        Returns (frame, 0); (None, k) when the buffer begins ``k`` samples later; (None, 0) when
        the audio for ``pos`` has not arrived yet.
        """
        with self.lock:
            if self.head is None:
                return None, 0
            if self.head < pos:
                skip = min(pos - self.head, self.buffered // 2)
                while skip:
                    step = min(skip, len(self.buf[0]) // 2)
                    self._drop_head(step * 2)
                    skip -= step
            if self.head > pos:
                return None, self.head - pos
            if self.buffered < n * 2:
                return None, 0
            out = bytearray()
            while len(out) < n * 2:
                head = self.buf.popleft()
                need = n * 2 - len(out)
                if len(head) > need:
                    self.buf.appendleft(head[need:])
                    head = head[:need]
                out += head
            self.buffered -= n * 2
            self.head += n
            return bytes(out), 0

    @property
    def dead(self) -> bool:
        quiet = time.monotonic() - self.last_data
        return (self.proc.poll() is not None and self.buffered == 0) or quiet > (STALL_S if self.got_any else CONNECT_S)

    def error(self) -> str:
        if self.failure:
            return self.failure
        if self.proc.poll() is None or self.proc.stderr is None:
            return ""
        return self.proc.stderr.read().decode(errors="replace").strip()[-200:]

    def close(self) -> None:
        self._closing.set()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for t in self.threads:
            t.join(timeout=READ_TIMEOUT_S + 1)
        for s in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if s:
                try:
                    s.close()
                except OSError:
                    pass


def listen_url(item: PlayItem) -> str:
    """The mount URL with the device's stream account (HTTP Basic, as Icecast asks)."""
    from urllib.parse import quote

    ref = item.stream
    parts = urlsplit(ref.url)
    netloc = f"{quote(ref.username, safe='')}:{quote(ref.password, safe='')}@{parts.netloc}"
    return parts._replace(netloc=netloc).geturl()


class Timeline:
    """Which stream sample belongs at the output at a local instant, and back."""

    def __init__(self, rate: int, delay_s: float, latency_s: float | Callable[[], float],
                 clock_offset_s: Callable[[], float]):
        """``latency_s``: the output's, fixed or read at each use (an ALSA card's, measured as it plays)."""
        self.rate = rate
        self.delay_s = delay_s
        self._latency = latency_s if callable(latency_s) else (lambda: latency_s)
        self.clock_offset_s = clock_offset_s

    @property
    def latency_s(self) -> float:
        return self._latency()

    def sample_at(self, local: float) -> int:
        """The sample to hand over at the local instant ``local`` (it sounds ``latency_s`` later)."""
        return int(round((local - self.clock_offset_s() - self.delay_s + self.latency_s) * self.rate))

    def instant_of(self, pos: int) -> float:
        """The local instant sample ``pos`` is handed over at."""
        return pos / self.rate + self.delay_s - self.latency_s + self.clock_offset_s()


def _wait_precisely(instant: float, stop: threading.Event) -> bool:
    """Sleep until ``instant`` to a fraction of a millisecond; False if stopped."""
    while True:
        remaining = instant - time.time()
        if remaining <= 0:
            return True
        if remaining > 0.004:
            if stop.wait(remaining - 0.003):
                return False
        else:
            time.sleep(remaining / 2 if remaining > 0.0005 else 0)
            if stop.is_set():
                return False


def play_stream(item: PlayItem, writer: StreamWriter, stop: threading.Event, ca_file: str = "",
                on_start: Callable[[float], None] = lambda t: None,
                on_gap: Callable[[float, float], None] = lambda at, lost: None, at: float = 0.0,
                clock_offset_s: Callable[[], float] = lambda: 0.0,
                warm: Callable[[], None] = lambda: None, warm_at: float = 0.0) -> StreamOutcome:
    """Play ``item``'s stream into ``writer`` from ``at`` (connecting before it) until its slot ends (or ``stop``).

    ``warm`` (the amplifier) is called at ``warm_at``, or as soon as audio is ready if that is past.
    The instants are true time: the agent reads them on its clock corrected by its measured offset.
    """
    offset = clock_offset_s()
    end = item.ends_at.timestamp() + offset
    at = at + offset if at else 0.0
    warm_at = warm_at + offset if warm_at else 0.0
    rate = writer.rate
    frame_n = int(rate * FRAME_S)
    delay = item.stream.playout_delay_s or DEFAULT_PLAYOUT_DELAY_S
    timeline = Timeline(rate, delay, lambda: getattr(writer, "latency_s", 0.0), clock_offset_s)
    url = listen_url(item)
    started_at, aired, gaps, attempt = 0.0, 0.0, 0, 0
    lost_since: float | None = None
    warmed = output_failed = False
    steps, stepped = 0, 0  # re-disciplining steps back onto the timeline, and their samples
    tolerance, max_lag = int(STEP_TOLERANCE_S * rate), int(MAX_LAG_S * rate)
    while not stop.is_set() and time.time() < end:
        rx = _Receiver(url, ca_file, rate, delay + KEEP_S)
        try:
            while not stop.is_set() and time.time() < end and rx.head is None and not rx.dead:
                stop.wait(0.01)
            if rx.head is None:
                why = rx.error() or f"no audio within {CONNECT_S:.0f} s of connecting"
                if not stop.is_set() and time.time() < end:
                    log.warning("stream %s: %s", item.item_id, why)
                lost_since = lost_since or time.time()
                stop.wait(min(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)], max(0.0, end - time.time())))  # not past the slot
                attempt += 1
                continue
            attempt = 0
            skew = timeline.sample_at(time.time()) - rx.head
            if abs(skew) > NO_TIMELINE_S * rate:
                log.warning("stream %s carries no usable timeline (%+.0f s off the clock): played as received",
                            item.item_id, skew / rate)
                rx.rebase(skew + int(AS_RECEIVED_DELAY_S * rate))
            if not warmed and warm_at and time.time() < warm_at:
                if not _wait_precisely(warm_at, stop):
                    break
            if not warmed:
                warm()
                warmed = True
            if at > time.time() and not _wait_precisely(at, stop):  # the pre-roll: out exactly at the instant
                break
            ready_at = time.time()
            with rx.lock:
                received_to = (rx.head or 0) + rx.buffered // 2  # the timeline position the audio had reached
            pos: int | None = None
            chunk_n, chunk_start = 0, 0.0
            while not stop.is_set():
                if pos is not None and not _wait_precisely(timeline.instant_of(pos), stop):
                    break
                now = time.time()
                if now >= end:
                    break
                want = timeline.sample_at(now)
                if pos is None or (chunk_n == 0 and abs(want - pos) > tolerance) or want - pos > max_lag:
                    if chunk_n:  # stepping back onto the timeline ends the chunk: its instants stay true
                        writer.chunk(chunk_start, chunk_n * frame_n)
                        chunk_n = 0
                    if pos is not None:
                        steps += 1
                        stepped += abs(want - pos)
                    pos = want
                frame, later = rx.take_at(pos, frame_n)
                if frame is None:
                    if chunk_n:
                        writer.chunk(chunk_start, chunk_n * frame_n)
                        chunk_n = 0
                    if later:  # the stream begins further on: wait for its instant
                        pos += later
                        continue
                    if rx.dead:
                        lost_since = now
                        break
                    stop.wait(0.005)  # not arrived yet: the output waits, then steps onto the timeline
                    pos = None
                    continue
                if chunk_n == 0:
                    chunk_start = time.time()
                    if started_at == 0.0:
                        started_at = chunk_start
                        on_start(chunk_start)
                        if at and ready_at - at < 0.01 and chunk_start - at > 0.05:  # ready, yet late: why
                            log.warning("stream %s started %.0f ms after its instant; at the instant the audio "
                                        "received reached %+.0f ms of the sample due", item.item_id,
                                        (chunk_start - at) * 1000,
                                        (received_to - timeline.sample_at(ready_at)) * 1000 / rate)
                    elif lost_since is not None:
                        gaps += 1
                        on_gap(lost_since, chunk_start - lost_since)
                    lost_since = None
                writer.write(frame)
                if getattr(writer, "broken", False):
                    output_failed = True
                    break
                pos += frame_n
                aired += FRAME_S
                chunk_n += 1
                if chunk_n == CHUNK_FRAMES:
                    writer.chunk(chunk_start, chunk_n * frame_n)
                    chunk_n = 0
            if chunk_n:
                writer.chunk(chunk_start, chunk_n * frame_n)
            if lost_since is None and not stop.is_set() and time.time() < end:
                lost_since = time.time()
        finally:
            rx.close()
        if output_failed:
            break
    if lost_since is not None and not stop.is_set() and not output_failed:
        gaps += 1  # the audio had not come back by the slot's end: those seconds are lost too
        lost_since = max(lost_since, at)  # from the slot's instant: before it, nothing was due
        on_gap(lost_since, max(0.0, min(time.time(), end) - lost_since))
    if steps:
        log.info("stream %s: %d steps back onto the timeline, %.0f ms in all", item.item_id, steps,
                 stepped * 1000 / rate)
    completed = not output_failed and not stop.is_set() and time.time() >= end - FRAME_S
    return StreamOutcome(started_at, round(aired, 3), completed, gaps, output_failed)
