"""How long a stream sample handed to ``aplay`` waits before it sounds: read from ALSA, not assumed.

aplay reports no delay, but the kernel does.  The status file of the PCM substream aplay
holds (``/proc/asound/card<C>/pcm<D>p/sub<S>/status``, whose ``owner_pid`` is aplay's) gives,
while the card runs, ``delay``: the frames written to the card and not yet played, which is
what ``snd_pcm_delay()`` answers the program holding the PCM.  Before the card the samples
wait in the pipe to aplay (``FIONREAD`` on the pipe), and aplay holds at most one period
between its read of the pipe and its write to the card, counted as half a period.

So the output's latency is measured as it runs: a card whose crystal is slow piles samples
up in the pipe, the measured latency grows, and the player drops samples to stay on the
common timeline, instead of drifting until the slot ends.  The figure is smoothed (a
reading jumps by up to a period with the phase of the card's interrupts) and only moved in
steps of :data:`HYSTERESIS_S`, so the player does not chase noise.  Without the card's
figure (aplay reaching the card through PulseAudio or dmix, whose substream another
process owns, or a kernel built without ALSA's verbose procfs) the card's buffer is taken to
be full, as before.
"""

from __future__ import annotations

import array
import fcntl
import logging
import re
import termios
import time
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

ASOUND = Path("/proc/asound")
SMOOTHING = 0.02  # weight of each reading: about five seconds of readings at ten a second
HYSTERESIS_S = 0.002  # the latency in use moves only when the smoothed figure is this far from it
SAMPLE_EVERY_S = 0.1
SEARCH_EVERY_S = 1.0  # a substream not found yet is looked for again this often
_FIELD = re.compile(r"^\s*(\w+)\s*:\s*(\S+)", re.M)


def read_status(text: str) -> dict[str, str]:
    """The ``name : value`` fields of a substream status file."""
    return {m.group(1): m.group(2) for m in _FIELD.finditer(text)}


def find_substream(pid: int, root: Path = ASOUND) -> Path | None:
    """The status file of the playback substream ``pid`` holds, if the kernel shows one."""
    for status in sorted(root.glob("card*/pcm*p/sub*/status")):
        try:
            fields = read_status(status.read_text())
        except OSError:
            continue
        if fields.get("owner_pid") == str(pid):
            return status
    return None


def card_delay_frames(status: Path) -> int | None:
    """The frames written to the card and not yet played, while it runs; None otherwise."""
    try:
        fields = read_status(status.read_text())
    except OSError:
        return None
    if fields.get("state") not in ("RUNNING", "DRAINING") or "delay" not in fields:
        return None
    try:
        return max(0, int(fields["delay"]))
    except ValueError:
        return None


def pipe_backlog_bytes(fd: int) -> int | None:
    """The bytes waiting in a pipe (Linux answers ``FIONREAD`` on either end)."""
    buf = array.array("i", [0])
    try:
        fcntl.ioctl(fd, termios.FIONREAD, buf, True)
    except OSError:
        return None
    return buf[0]


class OutputDelay:
    """The latency of an aplay output: measured from the card and the pipe, or ``nominal_s`` without the card.

    ``card`` answers the card's delay in frames (None when unknown), ``pipe`` the bytes in
    the pipe to aplay.  :meth:`sample` takes a reading (at most every ``SAMPLE_EVERY_S``);
    :attr:`seconds` is the latency in use.
    """

    def __init__(self, rate: int, bytes_per_frame: int, nominal_s: float, period_s: float,
                 card: Callable[[], int | None], pipe: Callable[[], int | None],
                 clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.bytes_per_frame = bytes_per_frame
        self.nominal_s = nominal_s
        self.period_s = period_s
        self.card = card
        self.pipe = pipe
        self.clock = clock
        self.smoothed: float | None = None
        self.seconds = nominal_s
        self.readings = 0
        self._last = float("-inf")

    def measure(self) -> float | None:
        """One reading of the latency now, in seconds, or None without the card's figure."""
        frames = self.card()
        if frames is None:
            return None
        backlog = self.pipe() or 0
        return (frames + backlog / self.bytes_per_frame) / self.rate + self.period_s / 2

    def sample(self) -> None:
        now = self.clock()
        if now - self._last < SAMPLE_EVERY_S:
            return
        self._last = now
        reading = self.measure()
        if reading is None:
            return
        self.readings += 1
        self.smoothed = reading if self.smoothed is None else self.smoothed + SMOOTHING * (reading - self.smoothed)
        if abs(self.smoothed - self.seconds) >= HYSTERESIS_S:
            self.seconds = self.smoothed


class ProcCardDelay:
    """The card's delay of the substream ``pid`` holds, found in ``/proc/asound`` (looked for again until found)."""

    def __init__(self, pid: int, root: Path = ASOUND, clock: Callable[[], float] = time.monotonic):
        self.pid = pid
        self.root = root
        self.clock = clock
        self.status: Path | None = None
        self._searched = float("-inf")

    def __call__(self) -> int | None:
        if self.status is None:
            now = self.clock()
            if now - self._searched < SEARCH_EVERY_S:
                return None
            self._searched = now
            self.status = find_substream(self.pid, self.root)
            if self.status is None:
                return None
            log.info("aplay %d plays on %s: the card's delay is read from there", self.pid, self.status.parent)
        return card_delay_frames(self.status)
