"""Emergency fan-out through a tree of brokers: the province broker, 4 commune brokers bridged to it, 2,000 devices.

Each commune broker's bridge has the settings ``loaxa broker config`` generates
(``mqttv311``, ``cleansession false``, QoS 1, ``try_private``; see docs/scale.md), without
TLS or accounts on loopback.  500 simulated devices per commune broker (plain paho
clients, one process per commune broker, as in ``bench_dispatch``) subscribe to the
province's group topic, as agents do.  A command of the size of a signed emergency is
published once on the province broker; the figure is the time from that publish until
each device has it: the p99 over devices, median over repeated emergencies.
Key ``fanout_p99_ms_bridged_2000`` (``_p50`` and ``_max`` beside it: medians over runs of each run's median and
slowest device); ``fanout_p99_ms_direct_2000_same_run`` is the same 2,000 devices and command on one broker, measured
in the same run, so the cost of the bridge hop can be read apart from the machine's load.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import statistics
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.bench_dispatch import _listeners
from controller.devtools.broker_runner import Broker

log = logging.getLogger("bench.bridged_fanout")

COMMUNES = 4
DEVICES = 2000
REPEATS = 7
TOPIC = "loaxa/v1/grp/tinh/cmd"


def _bridge_config(province_port: int, commune: str) -> str:
    return "\n".join([
        "allow_anonymous true", f"connection loaxa-{commune}", f"address 127.0.0.1:{province_port}",
        "bridge_protocol_version mqttv311", "cleansession false", "try_private true",
        f"remote_clientid bridge-{commune}", f"local_clientid bridge-{commune}-local", "keepalive_interval 30",
        "restart_timeout 2 30", "start_type automatic", "notifications true", "notifications_local_only false",
        f"notification_topic loaxa/v1/bridge/{commune}/state", "bridge_attempt_unsubscribe false",
        f"topic {TOPIC} in 1", "topic loaxa/v1/dev/+/events out 1", "topic loaxa/v1/dev/+/state out 1", ""])


def _command(run: int) -> bytes:
    """A payload the size of a signed emergency command (envelope, body, signature)."""
    body = {"command": "play_now", "item_id": f"em-{run:04d}", "media_url": "/media/" + "0" * 64 + ".opus",
            "sha256": "0" * 64, "duration_s": 30.0, "priority": 100, "volume": 90, "reason": f"bench-{run}",
            "expires_at": "2026-01-01T00:00:00.000Z"}
    return json.dumps({"v": 1, "kid": "k" * 16, "sig": "s" * 88, "body": body}, separators=(",", ":")).encode()


def _links_up(province_port: int, timeout: float = 60) -> None:
    up: set[str] = set()
    done = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-links")

    def on_message(client, userdata, msg):
        if msg.payload == b"1":
            up.add(msg.topic)
        if len(up) == COMMUNES:
            done.set()

    c.on_connect = lambda client, *a: client.subscribe("loaxa/v1/bridge/+/state", 1)
    c.on_message = on_message
    c.connect("127.0.0.1", province_port)
    c.loop_start()
    try:
        if not done.wait(timeout):
            raise RuntimeError(f"only {len(up)} of {COMMUNES} bridges came up")
    finally:
        c.loop_stop()
        c.disconnect()


def _fanout(bridged: bool) -> list[tuple[float, float, float]]:
    """(p50, p99, max) delivery time (ms) of each repeated emergency; ``bridged=False``: the same devices on one broker."""
    with tempfile.TemporaryDirectory(prefix="bench-bridged-") as tmp:
        root = Path(tmp)
        province = Broker(root / "province", extra_config="allow_anonymous true\n").start()
        communes = [Broker(root / f"xa-{i}", extra_config=_bridge_config(province.port, f"xa-{i}")).start()
                    for i in range(COMMUNES)] if bridged else [province] * COMMUNES
        procs: list[mp.Process] = []
        try:
            if bridged:
                _links_up(province.port)
            per = DEVICES // COMMUNES
            ready = [mp.Event() for _ in communes]
            stop, results = mp.Event(), mp.Queue()
            for i, broker in enumerate(communes):
                names = [f"sim-{i}-{n}" for n in range(per)]
                proc = mp.Process(target=_listeners, args=(broker.port, TOPIC, names, ready[i], stop, results))
                proc.start()
                procs.append(proc)
            for r in ready:
                if not r.wait(300):
                    raise RuntimeError("simulated devices did not all subscribe in time")
            pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-controller")
            pub.connect("127.0.0.1", province.port)
            pub.loop_start()
            sent: list[float] = []
            for run in range(REPEATS):
                time.sleep(0.5)  # let the previous run's deliveries settle
                payload = _command(run)
                sent.append(time.time())
                pub.publish(TOPIC, payload, qos=1).wait_for_publish(timeout=10)
            time.sleep(2.0)
            pub.loop_stop()
            pub.disconnect()
            stop.set()
            received = [x for _ in procs for x in results.get(timeout=120)]
        finally:
            for proc in procs:
                proc.join(timeout=30)
            for broker in set(communes + [province]):
                broker.stop()
    figures = []
    for run in range(REPEATS):
        lat = sorted((t - sent[run]) * 1000 for r, _i, t in received if r == run)
        if len(lat) < DEVICES:
            raise RuntimeError(f"run {run}: only {len(lat)} of {DEVICES} devices got the command")
        figures.append((lat[len(lat) // 2], lat[min(len(lat) - 1, int(0.99 * len(lat)))], lat[-1]))
    log.info("fan-out to %d devices %s: p99 per run %s ms", DEVICES,
             f"through {COMMUNES} commune brokers" if bridged else "on one broker", [round(f[1], 1) for f in figures])
    return figures


def run() -> dict[str, float]:
    """The bridged figures, and the same devices on one broker in the same run (the machine's load is shared)."""
    out: dict[str, float] = {}
    for bridged, key in ((True, "fanout_{}_ms_bridged_2000"), (False, "fanout_{}_ms_direct_2000_same_run")):
        figures = _fanout(bridged)
        for i, tag in enumerate(("p50", "p99", "max")):
            out[key.format(tag)] = round(statistics.median(f[i] for f in figures), 1)
    return out


if __name__ == "__main__":  # pragma: no cover
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    print(run())
