"""Clock offset: chrony's report when present, else a real SNTP exchange with a local responder."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest

from edge_agent.clock import ClockError, ClockMonitor, _from_ntp, _to_ntp, parse_chrony_tracking, sntp_offset_ms
from edge_agent.config import ClockSettings

TRACKING = """Reference ID    : C0A80001 (192.168.0.1)
Stratum         : 3
Ref time (UTC)  : Wed Nov 25 15:00:00 2026
System time     : 0.000412345 seconds {dir} of NTP time
Last offset     : +0.000004212 seconds
Leap status     : {leap}
"""


class SntpResponder:
    """A minimal SNTP server on a loopback UDP port whose clock runs ``skew_s`` ahead of ours."""

    def __init__(self, skew_s: float, stratum: int = 2, echo: bool = True):
        self.skew_s, self.stratum, self.echo = skew_s, stratum, echo
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                data, addr = self.sock.recvfrom(512)
            except OSError:
                return
            self.queries += 1
            received = time.time() + self.skew_s
            origin = data[40:48] if self.echo else b"\x00" * 8
            reply = bytes([0x24, self.stratum, 0, 0]) + b"\x00" * 20 + origin + _to_ntp(received) + _to_ntp(time.time() + self.skew_s)
            self.sock.sendto(reply, addr)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def responder():
    made: list[SntpResponder] = []

    def make(**kw) -> SntpResponder:
        made.append(SntpResponder(**kw))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_ntp_timestamps_round_trip():
    t = 1_790_000_000.123456
    assert abs(_from_ntp(_to_ntp(t)) - t) < 1e-6


@pytest.mark.parametrize("direction, expected", [("fast", 0.412345), ("slow", -0.412345)])
def test_chrony_tracking_is_parsed_as_local_minus_true_time(direction, expected):
    assert parse_chrony_tracking(TRACKING.format(dir=direction, leap="Normal")) == pytest.approx(expected)


def test_unsynchronised_or_garbled_chrony_is_refused():
    with pytest.raises(ClockError, match="not synchronised"):
        parse_chrony_tracking(TRACKING.format(dir="fast", leap="Not synchronised"))
    with pytest.raises(ClockError, match="System time"):
        parse_chrony_tracking("506 Cannot talk to daemon\n")


@pytest.mark.parametrize("skew_s", [0.0, 0.25, -1.5])
def test_sntp_measures_the_offset_against_a_real_udp_server(responder, skew_s):
    server = responder(skew_s=skew_s)
    offset_ms = sntp_offset_ms("127.0.0.1", server.port, timeout_s=2)
    # The server runs skew_s ahead, so our clock is skew_s behind it.
    assert offset_ms == pytest.approx(-skew_s * 1000, abs=5)


def test_sntp_rejects_kiss_of_death_and_mismatched_answers(responder):
    with pytest.raises(ClockError, match="stratum 0"):
        sntp_offset_ms("127.0.0.1", responder(skew_s=0, stratum=0).port, timeout_s=2)
    with pytest.raises(ClockError, match="does not match"):
        sntp_offset_ms("127.0.0.1", responder(skew_s=0, echo=False).port, timeout_s=2)


def test_sntp_timeout_is_an_error_not_a_hang():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        with pytest.raises(ClockError, match="no SNTP answer"):
            sntp_offset_ms("127.0.0.1", silent.getsockname()[1], timeout_s=0.3)


def test_plays_are_flagged_when_the_offset_passes_the_threshold(responder):
    synced = ClockMonitor(ClockSettings(ntp_server="127.0.0.1", ntp_port=responder(skew_s=0.02).port,
                                        unsynced_threshold_ms=100, use_chrony=False))
    assert synced.flags() == ["clock_unknown"]  # nothing measured yet
    assert synced.measure() == pytest.approx(-20, abs=5)
    assert synced.source == "sntp" and synced.flags() == []
    drifted = ClockMonitor(ClockSettings(ntp_server="127.0.0.1", ntp_port=responder(skew_s=-0.5).port,
                                         unsynced_threshold_ms=100, use_chrony=False))
    assert drifted.measure() == pytest.approx(500, abs=5)
    assert drifted.flags() == ["clock_unsynced"]


def test_agent_reports_its_measured_offset_in_the_retained_state(system, broker, responder):
    from support.harness import Listener, wait_for
    from loaxa import protocol
    from loaxa.protocol import DeviceState, Signer

    server = responder(skew_s=-0.3)  # our clock runs 300 ms ahead of the server
    listener = Listener(broker, protocol.state_topic("loa-1"))
    try:
        system.agent("loa-1", protocol.public_key_to_text(Signer.generate().public_key),
                     extra_toml=f'\n[clock]\nntp_server = "127.0.0.1"\nntp_port = {server.port}\nuse_chrony = false\n')

        def reported():
            states = [protocol.decode(p, DeviceState) for p in listener.on(protocol.state_topic("loa-1"))]
            return next((s for s in reversed(states) if s.online and s.clock_offset_ms is not None), None)

        state = wait_for(reported, what="a state with the clock offset")
        assert state.clock_offset_ms == pytest.approx(300, abs=20)
        assert server.queries >= 1
    finally:
        listener.close()
