"""Emergency fan-out through a tree of brokers: the province broker, 4 commune brokers bridged to it, 2,000 devices.

Each commune broker's bridge has the settings ``loaxa broker config`` generates
(``controller.security.commune_config.BRIDGE_SETTINGS``: ``mqttv311``, ``cleansession false``,
QoS 1, ``try_private``; its topics from ``in_topics``, the devices' own plan, cmd and ack
among them), and every broker the generated ``LATENCY_SETTINGS`` (``set_tcp_nodelay``),
without TLS or accounts on loopback.  500 simulated devices per commune broker
(:mod:`bench.raw_devices`: one bare MQTT connection each, with its own client id and the
subscriptions an agent makes, one process per commune broker) subscribe to the province's
group topic among the others.  A command of the size of a signed emergency is published
once on the province broker; the figure is the time from that publish until the kernel
of each device's connection has it (the segment's receive timestamp, before the simulator
runs): the p99 over devices, median over repeated emergencies.
Key ``fanout_p99_ms_bridged_2000`` (``_p50`` and ``_max`` beside it: medians over runs of each run's median and
slowest device); ``fanout_p99_ms_direct_2000_same_run`` is the same 2,000 devices and command on one broker, measured
in the same run, so the cost of the bridge hop can be read apart from the machine's load.  The log also gives
the p99 to the moment the simulator read the command (paho clients, used before, timestamped later
still: after parsing, in a callback), and per commune broker the time to its first device (the bridge hop)
and from its first device to its last (its own fan-out).

Meanwhile every device sends its retained state every 30 s, phases spread as agents' heartbeats are
(67 a second for 2,000 devices, crossing the bridges upwards, each acknowledged back down them).
``LOAXA_BENCH_NODELAY=0`` leaves ``set_tcp_nodelay`` out, ``LOAXA_BENCH_STATE_S=0`` the heartbeats, to measure
what each is worth.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.raw_devices import DeviceSpec, RawPublisher, run_devices
from controller.devices.broker_tree import CommuneBroker, in_topics, link_topic
from controller.devtools.broker_runner import Broker
from controller.security.broker_config import LATENCY_SETTINGS
from controller.security.commune_config import BRIDGE_SETTINGS
from loaxa import protocol

log = logging.getLogger("bench.bridged_fanout")

COMMUNES = 4
DEVICES = 2000
REPEATS = 7
PROVINCE = "tinh"
TOPIC = protocol.group_cmd_topic(PROVINCE)
STATE_EVERY_S = float(os.environ.get("LOAXA_BENCH_STATE_S", "30"))  # the agents' heartbeat (edge_agent state_interval_s)


def _latency_settings() -> list[str]:
    return [] if os.environ.get("LOAXA_BENCH_NODELAY") == "0" else list(LATENCY_SETTINGS)


def _devices(commune: str, per: int) -> list[DeviceSpec]:
    """An agent's subscriptions: key rollover, its plan, cmd and ack, the chain heads, its units' group topics."""
    return [DeviceSpec(d, (protocol.keys_topic(), protocol.plan_topic(d), protocol.cmd_topic(d), protocol.ack_topic(d),
                           protocol.heads_topic(), protocol.group_cmd_topic(commune), TOPIC), protocol.state_topic(d))
            for d in (f"loa-{commune}-{n}" for n in range(per))]


def _bridge_config(province_port: int, commune: str, devices: list[str]) -> str:
    """The generated bridge (``commune_config.render_conf``) less TLS, accounts, persistence and the $SYS figures."""
    b = CommuneBroker(commune, commune, (commune,), "127.0.0.1", 0, f"127.0.0.1:{province_port}", f"bridge-{commune}",
                      None, None)
    groups_of = {d: [commune, PROVINCE] for d in devices}
    return "\n".join(["allow_anonymous true", *_latency_settings(), f"connection loaxa-{commune}",
                      f"address 127.0.0.1:{province_port}", f"remote_clientid bridge-{commune}",
                      f"local_clientid bridge-{commune}-local", *BRIDGE_SETTINGS, f"notification_topic {link_topic(commune)}",
                      *in_topics(b, devices, groups_of, fmt="topic {} in 1"),
                      f"topic {protocol.STATE_WILDCARD} out 1", f"topic {protocol.EVENTS_WILDCARD} out 1", ""])


def _command(run: int) -> bytes:
    """A payload the size of a signed emergency command (envelope, body, signature)."""
    body = {"command": "play_now", "item_id": f"em-{run:04d}", "media_url": "/media/" + "0" * 64 + ".opus",
            "sha256": "0" * 64, "duration_s": 30.0, "priority": 100, "volume": 90, "reason": f"bench-{run}",
            "expires_at": "2026-01-01T00:00:00.000Z"}
    return json.dumps({"v": 1, "kid": "k" * 16, "sig": "s" * 88, "body": body}, separators=(",", ":")).encode()


def _links_up(province_port: int, timeout: float = 60) -> None:
    """Until every bridge has published ``1`` on its link topic (the link's state is not a latency figure: paho)."""
    up: set[str] = set()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-links")
    c.on_connect = lambda client, *a: client.subscribe(f"{protocol.TOPIC_ROOT}/bridge/+/state", 1)
    c.on_message = lambda client, userdata, msg: up.add(msg.topic) if msg.payload == b"1" else None
    c.connect("127.0.0.1", province_port)
    c.loop_start()
    deadline = time.monotonic() + timeout
    try:
        while len(up) < COMMUNES:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(up)} of {COMMUNES} bridges came up")
            time.sleep(0.05)
    finally:
        c.loop_stop()
        c.disconnect()


def _percentiles(lat: list[float]) -> tuple[float, float, float]:
    lat = sorted(lat)
    return lat[len(lat) // 2], lat[min(len(lat) - 1, int(0.99 * len(lat)))], lat[-1]


def _fanout(bridged: bool) -> list[tuple[float, float, float]]:
    """(p50, p99, max) delivery time (ms) of each repeated emergency; ``bridged=False``: the same devices on one broker."""
    per = DEVICES // COMMUNES
    specs = [_devices(f"xa-{i}", per) for i in range(COMMUNES)]
    with tempfile.TemporaryDirectory(prefix="bench-bridged-") as tmp:
        root = Path(tmp)
        province = Broker(root / "province", extra_config="\n".join(["allow_anonymous true", *_latency_settings()])).start()
        communes = [Broker(root / f"xa-{i}", extra_config=_bridge_config(province.port, f"xa-{i}",
                                                                        [s.client_id for s in specs[i]])).start()
                    for i in range(COMMUNES)] if bridged else [province] * COMMUNES
        procs: list[mp.Process] = []
        try:
            if bridged:
                _links_up(province.port)
            ready = [mp.Event() for _ in communes]
            stop, results, got = mp.Event(), mp.Queue(), mp.Value("i", 0)
            for i, broker in enumerate(communes):
                proc = mp.Process(target=run_devices, args=("127.0.0.1", broker.port, specs[i], ready[i], stop, results,
                                                                  STATE_EVERY_S, got))
                proc.start()
                procs.append(proc)
            for r in ready:
                if not r.wait(300):
                    raise RuntimeError("simulated devices did not all subscribe in time")
            pub = RawPublisher("127.0.0.1", province.port, "loaxa-controller")
            sent: list[int] = []
            try:
                for run in range(REPEATS):
                    time.sleep(0.5)  # let the previous run's deliveries settle
                    sent.append(pub.publish(TOPIC, _command(run)))
                deadline = time.monotonic() + 30
                while got.value < DEVICES * REPEATS and time.monotonic() < deadline:  # a miss is reported below
                    time.sleep(0.05)
            finally:
                pub.close()
            stop.set()
            by_broker = [results.get(timeout=120) for _ in procs]
        finally:
            for proc in procs:
                proc.join(timeout=30)
            for broker in set(communes + [province]):
                broker.stop()
    received = [x for _port, rows in by_broker for x in rows]
    figures, read, hops, spreads = [], [], [], []
    for run in range(REPEATS):
        mine = [(k, w) for r, _i, k, w in received if r == run]
        if len(mine) < DEVICES:
            raise RuntimeError(f"run {run}: only {len(mine)} of {DEVICES} devices got the command")
        figures.append(_percentiles([(k - sent[run]) / 1e6 for k, _w in mine]))
        read.append(_percentiles([(w - sent[run]) / 1e6 for _k, w in mine])[1])
        for _port, rows in by_broker:  # each group of 500 (a commune broker's; one broker: a simulator process's)
            stamps = sorted(k for r, _i, k, _w in rows if r == run)
            hops.append((stamps[0] - sent[run]) / 1e6)
            spreads.append((stamps[-1] - stamps[0]) / 1e6)
    where = f"through {COMMUNES} commune brokers" if bridged else "on one broker"
    log.info("fan-out to %d devices %s: p99 per run %s ms (to the simulator's read: %s ms); per group of %d "
             "devices and run, median of its first device %.1f ms, of its first to its last device %.1f ms", DEVICES, where,
             [round(f[1], 1) for f in figures], [round(w, 1) for w in read], DEVICES // COMMUNES, statistics.median(hops),
             statistics.median(spreads))
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
