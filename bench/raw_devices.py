"""Many simulated devices as bare MQTT 3.1.1 connections, timestamped by the kernel on receipt.

Why not paho: 2,000 paho clients in Python on 2 cores spend more time parsing and running
callbacks than the brokers spend delivering, so a receive time taken in ``on_message``
measured the simulator.  Here each device is still its own TCP connection and MQTT session
(its client id, a username, the agent's will, the agent's subscriptions at QoS 1, a PUBACK
for every QoS 1 message), but the receive time of a command is the kernel's timestamp of
the segment that carried it (``SO_TIMESTAMPNS``, CLOCK_REALTIME, read with ``recvmsg``):
the instant the broker's write reached the device's socket, before this process was even
scheduled (when one read returns several segments, the last one's: never too early).  The
moment this process read it (CLOCK_REALTIME too, just after the read) is kept beside it, so
the simulator's own delay can be read apart.

Only what the benchmarks need: CONNECT/CONNACK, SUBSCRIBE/SUBACK, PUBLISH (QoS 0 and 1
received, QoS 1 sent), PUBACK, DISCONNECT; no TLS, no reconnects, no PINGREQ (the keepalive
of 600 s outlasts a run).  A command is recognised
by its ``"reason":"bench-<run>"`` field.
"""

from __future__ import annotations

import multiprocessing as mp
import select
import socket
import struct
import time
from dataclasses import dataclass, field

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; the control message has the same number
_TIMESPEC = struct.Struct("@qq")
KEEPALIVE_S = 600
_MARK = b'"reason":"bench-'


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b


def packet(kind: int, body: bytes) -> bytes:
    """One MQTT control packet: first byte (type and flags), remaining length, body."""
    return bytes([kind]) + _remaining_length(len(body)) + body


def connect_packet(client_id: str, username: str | None = None, will: tuple[str, bytes] | None = None,
                   clean: bool = True) -> bytes:
    """CONNECT as an agent sends it (MQTT 3.1.1, clean session, a retained QoS 1 will on its state topic)."""
    flags = (0x02 if clean else 0) | (0x80 if username else 0) | ((0x04 | 0x08 | 0x20) if will else 0)
    body = _str("MQTT") + bytes([4, flags]) + struct.pack("!H", KEEPALIVE_S) + _str(client_id)
    if will:
        body += _str(will[0]) + _str(will[1])
    if username:
        body += _str(username)
    return packet(0x10, body)


def subscribe_packet(pid: int, topics: list[str], qos: int = 1) -> bytes:
    return packet(0x82, struct.pack("!H", pid) + b"".join(_str(t) + bytes([qos]) for t in topics))


def publish_packet(topic: str, payload: bytes, pid: int, retain: bool = False) -> bytes:
    """PUBLISH at QoS 1."""
    return packet(0x33 if retain else 0x32, _str(topic) + struct.pack("!H", pid) + payload)


def _split(buf: bytearray) -> list[tuple[int, bytes]]:
    """Complete packets at the head of ``buf`` (removed from it): (first byte, body)."""
    out = []
    while len(buf) >= 2:
        mult, length, i = 1, 0, 1
        while True:
            if i >= len(buf):
                return out
            byte = buf[i]
            length += (byte & 0x7F) * mult
            mult *= 128
            i += 1
            if not byte & 0x80:
                break
        if len(buf) < i + length:
            return out
        out.append((buf[0], bytes(buf[i:i + length])))
        del buf[:i + length]
    return out


@dataclass
class _Conn:
    index: int
    sock: socket.socket
    buf: bytearray = field(default_factory=bytearray)
    connected: bool = False
    subscribed: bool = False
    pid: int = 1


@dataclass(frozen=True)
class DeviceSpec:
    """Who a simulated device is: client id (and username) and the topics an agent subscribes to."""

    client_id: str
    topics: tuple[str, ...]
    will_topic: str


def _open(spec: DeviceSpec, index: int, host: str, port: int) -> _Conn:
    s = socket.create_connection((host, port), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(connect_packet(spec.client_id, spec.client_id, (spec.will_topic, b'{"online":false}'))
              + subscribe_packet(1, list(spec.topics)))
    s.setblocking(False)
    return _Conn(index, s)


def _stamp(ancdata: list[tuple[int, int, bytes]]) -> int | None:
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            sec, nsec = _TIMESPEC.unpack_from(data)
            return sec * 1_000_000_000 + nsec
    return None


def _state(client_id: str) -> bytes:
    """A heartbeat the size of an agent's (``protocol.encode(agent.state())``)."""
    return (b'{"v":1,"device_id":"' + client_id.encode() + b'","online":true,"at":"2026-01-01T00:00:00.000Z",'
            b'"plan_version":12,"playing":null,"relay":"off","volume":80,"clock":{"synced":true,"offset_ms":0.4},'
            b'"disk_free_mb":5120,"media_cached":14,"outbox":0,"version":"0.9.0"}')


def run_devices(host: str, port: int, specs: list[DeviceSpec], ready: mp.Event, stop: mp.Event, out: mp.Queue,
                state_every_s: float = 0.0, counter=None) -> None:
    """Connect every device of ``specs`` to one broker; until ``stop``, record each command received.

    ``state_every_s``: once all are subscribed, each device also publishes its retained QoS 1 state that
    often, the devices' phases spread evenly over the period, as agents' heartbeats are.
    ``counter`` (a shared ``mp.Value("i")``): incremented for every command received, so the caller can
    wait until all have arrived.
    Puts on ``out`` (``port``, a list of (run, device index, kernel receive ns, read ns)), both CLOCK_REALTIME.
    """
    conns: dict[int, _Conn] = {}
    ep = select.epoll()
    for i, spec in enumerate(specs):
        c = _open(spec, i, host, port)
        conns[c.sock.fileno()] = c
        ep.register(c.sock.fileno(), select.EPOLLIN)
    received: list[tuple[int, int, int, int]] = []
    anc = socket.CMSG_SPACE(_TIMESPEC.size)
    waiting = len(conns)
    order = list(conns.values())
    beats: list[tuple[float, _Conn]] = []  # (due, device), in due order: a rotating schedule
    while not stop.is_set():
        now = time.monotonic()
        while beats and beats[0][0] <= now:
            due, c = beats.pop(0)
            c.pid = c.pid % 65535 + 1
            c.sock.sendall(publish_packet(specs[c.index].will_topic, _state(specs[c.index].client_id), c.pid, retain=True))
            beats.append((due + state_every_s, c))
        events = ep.poll(min(0.05, max(0.0, beats[0][0] - now)) if beats else 0.05)
        for fd, _mask in events:
            c = conns[fd]
            try:
                data, ancdata, _flags, _addr = c.sock.recvmsg(65536, anc)
            except BlockingIOError:
                continue
            read_at = time.time_ns()
            if not data:
                raise RuntimeError(f"device {specs[c.index].client_id}: the broker closed the connection")
            kernel = _stamp(ancdata) or read_at
            c.buf += data
            replies = []
            for first, body in _split(c.buf):
                kind = first >> 4
                if kind == 2:  # CONNACK
                    if body[1] != 0:
                        raise RuntimeError(f"device {specs[c.index].client_id}: CONNACK code {body[1]}")
                    c.connected = True
                elif kind == 9:  # SUBACK
                    if 0x80 in body[2:]:
                        raise RuntimeError(f"device {specs[c.index].client_id}: a subscription was refused")
                    c.subscribed = True
                    waiting -= 1
                elif kind == 3:  # PUBLISH
                    qos = (first >> 1) & 3
                    tlen = struct.unpack_from("!H", body)[0]
                    at = 2 + tlen
                    if qos:
                        replies.append(packet(0x40, body[at:at + 2]))
                        at += 2
                    payload = body[at:]
                    if _MARK in payload:
                        run = int(payload.split(_MARK, 1)[1].split(b'"', 1)[0])
                        received.append((run, c.index, kernel, read_at))
                        if counter is not None:
                            with counter.get_lock():
                                counter.value += 1
            if replies:
                c.sock.sendall(b"".join(replies))
        if not waiting and not ready.is_set():
            ready.set()
            if state_every_s > 0:
                start = time.monotonic()
                beats = [(start + state_every_s * n / len(order), c) for n, c in enumerate(order)]
    for c in conns.values():
        try:
            c.sock.sendall(b"\xe0\x00")  # DISCONNECT: no will
        except OSError:
            pass
        c.sock.close()
    out.put((port, received))


class RawPublisher:
    """The controller's side of a benchmark: one connection that publishes at QoS 1 and waits for the PUBACK."""

    def __init__(self, host: str, port: int, client_id: str):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(connect_packet(client_id))
        self._buf = bytearray()
        self._pending: list[tuple[int, bytes]] = []
        self._pid = 0
        if self._read_one()[0] >> 4 != 2:
            raise RuntimeError("no CONNACK from the broker")

    def _read_one(self) -> tuple[int, bytes]:
        while not self._pending:
            self._pending += _split(self._buf)
            if self._pending:
                break
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError("the broker closed the publisher's connection")
            self._buf += data
        return self._pending.pop(0)

    def publish(self, topic: str, payload: bytes) -> int:
        """Publish; returns the CLOCK_REALTIME ns just before the write, once the broker has acknowledged it."""
        self._pid = self._pid % 65535 + 1
        pkt = publish_packet(topic, payload, self._pid)
        sent = time.time_ns()
        self.sock.sendall(pkt)
        while True:
            first, body = self._read_one()
            if first >> 4 == 4 and struct.unpack("!H", body)[0] == self._pid:
                return sent

    def close(self) -> None:
        try:
            self.sock.sendall(b"\xe0\x00")
        finally:
            self.sock.close()
