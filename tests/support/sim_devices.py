"""Many lightweight simulated speaker clusters in one process, for the province-day simulation.

Each simulated device is provisioned as a device is (a registry entry, a one-time code
redeemed for broker credentials, its own Ed25519 key registered), connects with TLS to
its commune broker, follows its plan and its commands, downloads each item's media over
the authenticated media channel (HTTP Basic with its broker credentials, checked against
the sha256), and at each item's start records ``started`` then ``finished`` events, which
it sends as signed event batches until the controller acknowledges them, exactly like an
agent's outbox.  What it does not do: verify signatures, play sound or keep anything on
disk (its outbox lives in memory, so a "power cut" disconnects it but keeps the outbox,
as an agent's SQLite outbox would survive).

All clients share one selector loop (paho's manual loop calls) and a few download
threads, so a thousand of them fit in one process.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import json
import logging
import selectors
import ssl
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from controller.config import ControllerConfig
from controller.devices.event_trust import DeviceKeys
from controller.people.actor import Actor
from controller.security import broker_config
from controller.security.operator_session import operator_session
from loaxa import protocol
from loaxa.protocol import EventBatch, PlaybackEvent, Signer
from loaxa.wire_time import format_time, parse_time, utcnow

log = logging.getLogger(__name__)

RESEND_S = 10.0  # an unacknowledged batch is sent again after this long
BATCH = 100


@dataclass(frozen=True)
class SimSpec:
    """Who a simulated device is and where it connects (from its provisioning)."""

    device_id: str
    username: str
    password: str
    host: str
    port: int
    groups: tuple[str, ...]


@dataclass
class SimDevice:
    spec: SimSpec
    key: Signer
    epoch: str
    client: mqtt.Client | None = None
    fd: int = -1  # the socket registered in the fleet's selector
    connected: bool = False
    outbox: list[dict[str, Any]] = field(default_factory=list)
    next_seq: int = 1
    inflight: tuple[int, float] | None = None
    media: set[str] = field(default_factory=set)
    scheduled: set[str] = field(default_factory=set)
    plan_version: int = 0
    generated: int = 0
    start_errors_ms: list[float] = field(default_factory=list)
    downloads: int = 0
    missed: list[str] = field(default_factory=list)


def provision(config: ControllerConfig, devices: dict[str, str], host: str, port_of: dict[str, int],
              commune_of: dict[str, str]) -> list[tuple[SimSpec, Signer]]:
    """Register and enroll ``devices`` (id -> village) the way the controller enrolls a pole, in bulk.

    The enrollment code is issued and redeemed and the device's public key registered, as
    ``POST /api/enroll`` does, without its per-address rate limit and without rewriting
    the broker files once per device (they are written once at the end).
    """
    out: list[tuple[SimSpec, Signer]] = []
    with operator_session(config) as security:
        db = security.db
        keys = DeviceKeys(db)
        with db.tx() as conn:
            parents: dict[str, str | None] = dict(conn.execute("SELECT id, parent_id FROM units").fetchall())
        for device_id, village in devices.items():
            _device, code, _expires = security.add_device(village, f"Cụm loa {device_id}", device_id,
                                                          Actor.system("province-day"))
            key = Signer.generate()
            _id, username, password = security.enrollment.redeem(code, f"sim-{device_id}")
            keys.register(device_id, protocol.public_key_to_text(key.public_key), utcnow())
            chain: list[str] = []
            unit: str | None = village
            while unit is not None and unit not in chain:
                chain.append(unit)
                unit = parents.get(unit)
            out.append((SimSpec(device_id, username, password, host, port_of[commune_of[device_id]], tuple(chain)), key))
        broker_config.write_access_files(config, db)
    return out


class SimFleet:
    """The simulated devices' loop: MQTT in, plays at their instants, batches out, downloads aside."""

    def __init__(self, provisioned: list[tuple[SimSpec, Signer]], controller_url: str, ca_file: Path,
                 download_threads: int = 4):
        self.controller_url = controller_url.rstrip("/")
        self.ca_file = ca_file
        self.devices = {s.device_id: SimDevice(s, k, f"sim-{int(time.time())}-{s.device_id}") for s, k in provisioned}
        self._lock = threading.RLock()
        self._timers: list[tuple[float, int, str, str, dict[str, Any]]] = []
        self._tick = 0
        self._stop = threading.Event()
        self._sel = selectors.DefaultSelector()
        self._pool = ThreadPoolExecutor(download_threads, thread_name_prefix="sim-download")
        self._thread = threading.Thread(target=self._loop, name="sim-fleet", daemon=True)
        self._powered = threading.Event()
        self._powered.set()
        self._last_connect_try: dict[str, float] = {}

    # --- life ----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._pool.shutdown(wait=False, cancel_futures=True)
        for d in self.devices.values():
            self._drop(d)

    def power_cut(self) -> None:
        """Every simulated device goes dark at once (its in-memory outbox stands for its disk)."""
        self._powered.clear()

    def power_back(self) -> None:
        self._powered.set()

    # --- figures -------------------------------------------------------------------------
    def connected(self) -> int:
        return sum(d.connected for d in self.devices.values())

    def outbox_total(self) -> int:
        with self._lock:
            return sum(len(d.outbox) for d in self.devices.values())

    def generated(self) -> dict[str, int]:
        with self._lock:
            return {d.spec.device_id: d.next_seq - 1 for d in self.devices.values()}

    def epochs(self) -> dict[str, str]:
        return {d.spec.device_id: d.epoch for d in self.devices.values()}

    def start_errors_ms(self) -> list[float]:
        with self._lock:
            return [e for d in self.devices.values() for e in d.start_errors_ms]

    def downloads(self) -> int:
        return sum(d.downloads for d in self.devices.values())

    # --- MQTT ----------------------------------------------------------------------------
    def _connect(self, d: SimDevice) -> None:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=d.spec.username, clean_session=False)
        c.username_pw_set(d.spec.username, d.spec.password)
        c.tls_set(ca_certs=str(self.ca_file), cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        c.max_inflight_messages_set(100)
        c.user_data_set(d)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        try:
            c.connect(d.spec.host, d.spec.port, keepalive=60)
        except OSError:
            return
        d.client = c
        sock = c.socket()
        d.fd = sock.fileno()
        self._forget_fd(d.fd)
        self._sel.register(d.fd, selectors.EVENT_READ, d)

    def _forget_fd(self, fd: int) -> None:
        """A file number a closed socket left in the selector (paho closes its socket on errors)."""
        if fd >= 0:
            try:
                self._sel.unregister(fd)
            except (KeyError, ValueError):
                pass

    def _drop(self, d: SimDevice) -> None:
        c, d.client, d.connected, d.inflight = d.client, None, False, None
        self._forget_fd(d.fd)
        d.fd = -1
        if c is None:
            return
        sock = c.socket()
        try:
            if sock is not None:
                sock.close()
        except OSError:
            pass

    def _on_connect(self, client, d: SimDevice, flags, rc, props) -> None:
        if rc.is_failure:
            return
        d.connected = True
        d.inflight = None
        topics = [protocol.plan_topic(d.spec.device_id), protocol.cmd_topic(d.spec.device_id),
                  protocol.ack_topic(d.spec.device_id)] + [protocol.group_cmd_topic(g) for g in d.spec.groups]
        client.subscribe([(t, 1) for t in topics])

    def _on_disconnect(self, client, d: SimDevice, flags, rc, props) -> None:
        d.connected = False
        d.inflight = None

    def _on_message(self, client, d: SimDevice, msg) -> None:
        try:
            env = json.loads(msg.payload)
            body = env["body"]
        except (ValueError, KeyError, TypeError):
            return
        kind = env.get("type")
        with self._lock:
            if kind == "plan" and body.get("plan_version", 0) > d.plan_version:
                d.plan_version = body["plan_version"]
                for item in body.get("items", []):
                    self._take(d, item)
            elif kind == "cmd" and body.get("item"):
                self._take(d, body["item"])
            elif kind == "ack" and body.get("epoch") == d.epoch:
                up_to = int(body.get("up_to_seq", 0))
                d.outbox = [e for e in d.outbox if e["seq"] > up_to]
                if d.inflight and d.inflight[0] <= up_to:
                    d.inflight = None

    # --- plays ---------------------------------------------------------------------------
    def _take(self, d: SimDevice, item: dict[str, Any]) -> None:
        """A play item from a plan or a command: fetch its media, and play it at its start (once)."""
        if item.get("stream") or not item.get("sha256") or item["item_id"] in d.scheduled:
            return
        start = parse_time(item["start"], "start").timestamp()
        late = parse_time(item["late_until"], "late_until").timestamp() if item.get("late_until") else start + 30
        if time.time() > late:
            return
        d.scheduled.add(item["item_id"])
        if item["sha256"] not in d.media:
            self._pool.submit(self._download, d, item)
        self._at(max(start, time.time()), d, "play", item)

    def _download(self, d: SimDevice, item: dict[str, Any]) -> None:
        name = f"{item['sha256']}.{item.get('ext', 'ogg')}"
        auth = base64.b64encode(f"{d.spec.username}:{d.spec.password}".encode()).decode()
        for attempt in range(6):
            if self._stop.is_set():
                return
            try:
                req = urllib.request.Request(f"{self.controller_url}/media/{name}",
                                             headers={"Authorization": f"Basic {auth}"})
                with urllib.request.urlopen(req, timeout=30) as resp:
                    data = resp.read()
                if hashlib.sha256(data).hexdigest() == item["sha256"]:
                    with self._lock:
                        d.media.add(item["sha256"])
                        d.downloads += 1
                    return
            except OSError as exc:
                log.debug("%s: download of %s failed: %s", d.spec.device_id, name, exc)
            time.sleep(min(10, 1 + 2 * attempt))

    def _at(self, when: float, d: SimDevice, what: str, item: dict[str, Any]) -> None:
        with self._lock:
            self._tick += 1
            heapq.heappush(self._timers, (when, self._tick, d.spec.device_id, what, item))

    def _fire(self, d: SimDevice, what: str, item: dict[str, Any]) -> None:
        now = time.time()
        if what == "play":
            if not self._powered.is_set() or item["sha256"] not in d.media:
                late = (parse_time(item["late_until"], "late_until").timestamp() if item.get("late_until")
                        else parse_time(item["start"], "start").timestamp() + 30)
                if now < late:
                    self._at(now + 0.5, d, "play", item)  # waiting for its file or for power, as a late start
                else:
                    d.missed.append(item["item_id"])
                return
            planned = parse_time(item["start"], "start").timestamp()
            d.start_errors_ms.append((now - planned) * 1000)
            self._emit(d, "started", item, actual_start=now)
            self._at(now + float(item.get("duration_s") or 1.0), d, "finish", {**item, "_actual": now})
        elif what == "finish":
            self._emit(d, "finished", item, actual_start=item["_actual"],
                       duration_s=round(min(now - item["_actual"], float(item.get("duration_s") or 1.0)), 3))

    def _emit(self, d: SimDevice, kind: str, item: dict[str, Any], **extra: Any) -> None:
        event: dict[str, Any] = {"seq": d.next_seq, "kind": kind, "recorded_at": format_time(utcnow()),
                                 "plan_version": d.plan_version, "item_id": item["item_id"],
                                 "broadcast_id": item.get("broadcast_id", ""), "sha256": item["sha256"],
                                 "planned_at": item["start"]}
        if "actual_start" in extra:
            event["actual_start"] = format_time(datetime.fromtimestamp(extra.pop("actual_start"), tz=timezone.utc))
        event.update(extra)
        d.next_seq += 1
        d.outbox.append(event)

    # --- the loop ------------------------------------------------------------------------
    def _send(self, d: SimDevice) -> None:
        if not d.connected or not d.outbox or d.client is None:
            return
        if d.inflight and time.time() - d.inflight[1] < RESEND_S:
            return
        events = tuple(PlaybackEvent.from_dict(e) for e in d.outbox[:BATCH])
        batch = EventBatch(device_id=d.spec.device_id, epoch=d.epoch, events=events)
        d.inflight = (events[-1].seq, time.time())
        d.client.publish(protocol.events_topic(d.spec.device_id), d.key.seal(batch), qos=1)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._turn()
            except Exception:  # noqa: BLE001 - one device's trouble must not stop the fleet
                log.exception("simulated devices: loop error")
                time.sleep(0.1)
        log.info("simulated devices stopped")

    _last_misc = 0.0

    def _turn(self) -> None:
        """One pass: (re)connect, read what arrived, send outboxes, keepalives, due plays."""
        now = time.time()
        powered = self._powered.is_set()
        for d in self.devices.values():
            if not powered:
                if d.client is not None:
                    self._drop(d)
            elif d.client is None and now - self._last_connect_try.get(d.spec.device_id, 0) > 3:
                self._last_connect_try[d.spec.device_id] = now
                self._connect(d)
        if self._sel.get_map():
            for key, _ in self._sel.select(timeout=0.05):
                self._service(key.data)
        else:
            time.sleep(0.05)
        for d in self.devices.values():
            c = d.client
            if c is None:
                continue
            sock = c.socket()
            if sock is None:  # paho closed it after an error
                self._drop(d)
                continue
            if isinstance(sock, ssl.SSLSocket) and sock.pending():
                self._service(d)
            with self._lock:
                self._send(d)
            if d.client is not None and d.client.want_write() and d.client.loop_write() != mqtt.MQTT_ERR_SUCCESS:
                self._drop(d)
        if now - self._last_misc > 5:
            self._last_misc = now
            for d in self.devices.values():
                if d.client is not None and d.client.loop_misc() != mqtt.MQTT_ERR_SUCCESS:
                    self._drop(d)
        while True:
            with self._lock:
                if not self._timers or self._timers[0][0] > time.time():
                    break
                _when, _n, device_id, what, item = heapq.heappop(self._timers)
                self._fire(self.devices[device_id], what, item)

    def _service(self, d: SimDevice) -> None:
        c = d.client
        if c is None:
            return
        if c.loop_read() != mqtt.MQTT_ERR_SUCCESS:
            self._drop(d)
