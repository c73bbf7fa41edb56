"""How far the local clock is off: chrony's own figure when it runs, otherwise one SNTP query.

Plays start from the local clock, so neighbouring clusters stay in step only if their
clocks are disciplined.  The agent reports the offset (positive: the local clock is
ahead of true time) and flags a play ``clock_unsynced`` when it exceeds the threshold,
or ``clock_unknown`` when no measurement succeeded, without ever refusing to play.
"""

from __future__ import annotations

import logging
import re
import shutil
import socket
import struct
import subprocess
import threading
import time

from edge_agent.config import ClockSettings

log = logging.getLogger(__name__)

NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01
_CHRONY_RE = re.compile(r"^System time\s*:\s*([0-9.]+) seconds (fast|slow) of NTP time", re.MULTILINE)
_LEAP_RE = re.compile(r"^Leap status\s*:\s*(.+)$", re.MULTILINE)


class ClockError(RuntimeError):
    """No usable answer from the time source."""


def parse_chrony_tracking(text: str) -> float:
    """Offset in ms (local minus true time) from ``chronyc tracking`` output."""
    leap = _LEAP_RE.search(text)
    if leap and "not synchronised" in leap.group(1).lower():
        raise ClockError("chrony is not synchronised")
    m = _CHRONY_RE.search(text)
    if not m:
        raise ClockError("no 'System time' line in chronyc tracking output")
    seconds = float(m.group(1))
    return (seconds if m.group(2) == "fast" else -seconds) * 1000.0


def chrony_offset_ms(timeout_s: float = 3.0) -> float:
    exe = shutil.which("chronyc")
    if exe is None:
        raise ClockError("chronyc is not installed")
    try:
        out = subprocess.run([exe, "-n", "tracking"], capture_output=True, text=True, timeout=timeout_s, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ClockError(f"chronyc tracking failed: {exc}") from None
    return parse_chrony_tracking(out.stdout)


def _to_ntp(t: float) -> bytes:
    secs = int(t) + NTP_EPOCH_OFFSET
    frac = int((t % 1) * 2**32) & 0xFFFFFFFF
    return struct.pack("!II", secs & 0xFFFFFFFF, frac)


def _from_ntp(raw: bytes) -> float:
    secs, frac = struct.unpack("!II", raw)
    return secs - NTP_EPOCH_OFFSET + frac / 2**32


def sntp_offset_ms(server: str, port: int = 123, timeout_s: float = 3.0) -> float:
    """One SNTP (RFC 4330) exchange; returns the local clock's offset in ms (local minus server)."""
    try:
        infos = socket.getaddrinfo(server, port, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise ClockError(f"cannot resolve {server}: {exc}") from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        t1 = time.time()
        request = b"\x23" + b"\x00" * 39 + _to_ntp(t1)  # LI 0, version 4, mode 3 (client)
        try:
            sock.sendto(request, addr)
            data, _ = sock.recvfrom(512)
        except OSError as exc:
            raise ClockError(f"no SNTP answer from {server}:{port}: {exc}") from None
        t4 = time.time()
    if len(data) < 48:
        raise ClockError("short SNTP answer")
    mode, stratum = data[0] & 0x07, data[1]
    if mode != 4 or stratum == 0 or data[0] >> 6 == 3:
        raise ClockError(f"SNTP server refused (mode {mode}, stratum {stratum})")
    if data[24:32] != request[40:48]:
        raise ClockError("SNTP answer does not match our request")
    t2, t3 = _from_ntp(data[32:40]), _from_ntp(data[40:48])
    server_minus_local = ((t2 - t1) + (t3 - t4)) / 2
    return -server_minus_local * 1000.0


class ClockMonitor:
    """Measures the offset now and then; the latest figure is read by state and events."""

    def __init__(self, settings: ClockSettings):
        self.settings = settings
        self.offset_ms: float | None = None
        self.source = ""
        self._lock = threading.Lock()

    def measure(self) -> float | None:
        offset, source = None, ""
        if self.settings.same_clock_as_controller:
            offset, source = 0.0, "local"
        elif self.settings.use_chrony:
            try:
                offset, source = chrony_offset_ms(), "chrony"
            except ClockError as exc:
                log.debug("chrony: %s", exc)
        if offset is None and self.settings.ntp_server:
            try:
                offset, source = sntp_offset_ms(self.settings.ntp_server, self.settings.ntp_port), "sntp"
            except ClockError as exc:
                log.warning("clock offset unknown: %s", exc)
        with self._lock:
            self.offset_ms, self.source = offset, source
        if offset is not None:
            log.info("clock offset %+.1f ms (%s)", offset, source)
        return offset

    def offset_s(self) -> float:
        """The latest offset in seconds (0 when unknown): a stream's timeline is read on the clock less this."""
        offset = self.offset_ms
        return 0.0 if offset is None else offset / 1000.0

    def flags(self) -> list[str]:
        """Flags for a play that starts now."""
        offset = self.offset_ms
        if offset is None:
            return ["clock_unknown"]
        return ["clock_unsynced"] if abs(offset) > self.settings.unsynced_threshold_ms else []
