"""Dispatch at province scale: emergency fan-out on a group topic, and rebuilding every plan.

Fan-out: a real controller process and mosquitto; simulated devices are plain paho clients
(spread over a few processes) subscribed to one commune's group topic, as agents are.  The
figure is the time from sending ``POST /api/emergency`` (media already rendered) until each
device has the signed command; the p99 over devices, median over repeated emergencies.
Keys ``fanout_p99_ms`` (500 devices), ``fanout_p99_ms_2000`` (2,000 devices) and
``emergency_api_ms`` (the API call's own round trip, 500 devices).

Plan publish: 5,000 registered devices, each with a 48 h plan from commune and province
broadcasts; the time to rebuild, sign, store and publish every plan (until the broker has
acknowledged them all), median of repeated forced rebuilds.  Keys ``plan_publish_5000_s``
and ``plan_rebuild_unchanged_5000_s`` (the periodic job when nothing changed).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import secrets
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from controller.devtools.broker_runner import Broker, free_port, wait_for_port

log = logging.getLogger("bench.dispatch")

FANOUT_SIZES = (500, 2000)
FANOUT_REPEATS = 7
LISTENER_PROCESSES = 4
PLAN_DEVICES = 5000
COMMUNES = 50
PLAN_REPEATS = 3


# --- shared set-up -------------------------------------------------------------------------


def _seed(data_dir: Path, communes: int, devices_per_commune: int) -> None:
    """Units and devices straight into the controller's database, before it starts."""
    from controller.db import Database
    from loaxa.wire_time import format_time, utcnow

    db = Database(data_dir / "loaxa.db")
    now = format_time(utcnow())
    with db.tx() as conn:
        conn["units"].insert({"id": "tinh", "name": "Tỉnh", "parent_id": None, "level": "province"})
        conn["units"].insert_all({"id": f"xa-{c}", "name": f"Xã {c}", "parent_id": "tinh", "level": "commune"}
                                 for c in range(communes))
        conn["devices"].insert_all({"id": f"loa-{c}-{d}", "name": f"Cụm loa {c}-{d}", "unit_id": f"xa-{c}",
                                    "created_at": now}
                                   for c in range(communes) for d in range(devices_per_commune))
    db.close()


def _controller_toml(data_dir: Path, mqtt_port: int, http_port: int) -> str:
    return (f'data_dir = "{data_dir}"\n\n[mqtt]\nport = {mqtt_port}\n\n[http]\nport = {http_port}\ntls = false\nthreads = 4\n\n'
            '[audio]\nengine = "espeak"\n\n[security]\nmedia_requires_auth = false\n\n'
            '[schedules]\nquiet_start = "00:00"\nquiet_end = "00:00"\n')


def _loaxa(*args: str) -> list[str]:
    return [sys.executable, "-m", "loaxa", *args]


# --- fan-out ---------------------------------------------------------------------------------


def _listeners(port: int, topic: str, names: list[str], ready: mp.Event, stop: mp.Event, out: mp.Queue) -> None:
    """Many device-like clients in one process, driven by one selector loop (no thread per client).

    Reports (run, client, receive time) for every command received.
    """
    received: list[tuple[int, int, float]] = []
    subscribed: set[int] = set()
    sel = selectors.DefaultSelector()
    clients = []
    for i, name in enumerate(names):
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name)

        def on_connect(client, userdata, flags, rc, props):
            client.subscribe(topic, 1)

        def on_subscribe(client, userdata, mid, rcs, props, i=i):
            subscribed.add(i)

        def on_message(client, userdata, msg, i=i):
            t = time.time()
            run = int(msg.payload.split(b'"reason":"bench-', 1)[1].split(b'"', 1)[0])
            received.append((run, i, t))

        c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
        c.connect("127.0.0.1", port, keepalive=600)
        sel.register(c.socket(), selectors.EVENT_READ, c)
        clients.append(c)
    last_misc = 0.0
    while not stop.is_set():
        for key, _ in sel.select(timeout=0.05):
            key.data.loop_read()
        for c in clients:
            if c.want_write():
                c.loop_write()
        if time.monotonic() - last_misc > 5:
            last_misc = time.monotonic()
            for c in clients:
                c.loop_misc()
        if len(subscribed) == len(clients) and not ready.is_set():
            ready.set()
    for c in clients:
        c.disconnect()
    out.put(received)


def _fanout(devices: int) -> tuple[float, float]:
    """Medians over repeated emergencies: p99 delivery time (ms) to ``devices`` subscribers, and the API call's own time."""
    from controller.cli_http.client import ApiClient

    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        root = Path(tmp)
        broker = Broker(root / "broker", extra_config="allow_anonymous true\nmax_queued_messages 100000\n").start()
        procs: list[mp.Process] = []
        ctl = None
        try:
            data_dir = root / "controller"
            _seed(data_dir, 1, devices)
            http_port = free_port()
            cfg = root / "controller.toml"
            cfg.write_text(_controller_toml(data_dir, broker.port, http_port))
            env = {k: v for k, v in os.environ.items() if not k.startswith("LOAXA_")}
            out = subprocess.run(_loaxa("user", "add", "bench", "--role", "admin", "--unit", "*", "--token", "-c", str(cfg)),
                                 input=secrets.token_urlsafe(16) + "\n", capture_output=True, text=True, env=env, check=True)
            token = out.stdout.strip().splitlines()[-1]
            log_f = open(root / "controller.log", "ab")
            ctl = subprocess.Popen(_loaxa("controller", "-c", str(cfg)), stdout=log_f, stderr=log_f, env=env)
            wait_for_port("127.0.0.1", http_port, timeout=60, proc=ctl)
            api = ApiClient(f"http://127.0.0.1:{http_port}", token=token)
            deadline = time.time() + 60
            while not api.get("/api/health")["mqtt_connected"] and time.time() < deadline:
                time.sleep(0.1)
            bulletin = api.post("/api/bulletins", {"title": "Khẩn cấp", "text": "Thông báo khẩn cấp."})

            names = [f"sim-{i}" for i in range(devices)]
            ready = [mp.Event() for _ in range(LISTENER_PROCESSES)]
            stop, results = mp.Event(), mp.Queue()
            for p in range(LISTENER_PROCESSES):
                proc = mp.Process(target=_listeners, args=(broker.port, "loaxa/v1/grp/xa-0/cmd",
                                                           names[p::LISTENER_PROCESSES], ready[p], stop, results))
                proc.start()
                procs.append(proc)
            for r in ready:
                if not r.wait(300):
                    raise RuntimeError("simulated devices did not all subscribe in time")
            sent: list[float] = []
            answered: list[float] = []
            for run in range(FANOUT_REPEATS):
                time.sleep(0.5)  # let the previous run's deliveries settle
                sent.append(time.time())
                api.post("/api/emergency", {"targets": ["xa-0"], "bulletin_id": bulletin["id"], "reason": f"bench-{run}"})
                answered.append((time.time() - sent[-1]) * 1000)
            time.sleep(2.0)
            stop.set()
            received = [x for _ in procs for x in results.get(timeout=120)]
            p99s = []
            for run in range(FANOUT_REPEATS):
                lat = sorted((t - sent[run]) * 1000 for r, _i, t in received if r == run)
                if len(lat) < devices:
                    raise RuntimeError(f"run {run}: only {len(lat)} of {devices} devices got the command")
                p99s.append(lat[min(len(lat) - 1, int(0.99 * len(lat)))])
            log.info("fan-out to %d devices: p99 per run %s ms; API answered in %s ms", devices,
                     [round(x, 1) for x in p99s], [round(x, 1) for x in answered])
            return statistics.median(p99s), statistics.median(answered)
        finally:
            for proc in procs:
                proc.join(timeout=30)
            if ctl is not None:
                ctl.terminate()
                ctl.wait(timeout=30)
            broker.stop()


# --- plan publish --------------------------------------------------------------------------


def _plan_publish() -> tuple[float, float]:
    from controller.plans.broadcasts import Broadcasts
    from controller.config import PlanSettings
    from controller.db import Database
    from controller.plans.dispatch import Dispatcher
    from controller.plans.guardrail_store import GuardrailStore
    from controller.devices.registry import Registry
    from loaxa.config import MqttSettings
    from loaxa.mqtt_client import MqttConnection
    from loaxa.protocol import Signer
    from loaxa.wire_time import format_time, utcnow
    from schedules.settings import ScheduleSettings
    from loaxa.local_time import to_local

    with tempfile.TemporaryDirectory(prefix="bench-plans-") as tmp:
        root = Path(tmp)
        broker = Broker(root / "broker", extra_config="allow_anonymous true\nmax_queued_messages 100000\n").start()
        conn = None
        try:
            _seed(root, COMMUNES, PLAN_DEVICES // COMMUNES)
            db = Database(root / "loaxa.db")
            guardrails = GuardrailStore(db, ScheduleSettings(quiet_start="00:00", quiet_end="00:00"))
            broadcasts = Broadcasts(db, Registry(db), guardrails.policy, auto_approve=True)
            now = utcnow()
            with db.tx() as c:
                for n in range(3):
                    sha = f"{n:02x}" * 32
                    c["media"].insert({"sha256": sha, "ext": "ogg", "size": 200_000 + n, "duration_s": 60.0 + n,
                                       "engine": "espeak", "created_at": format_time(now)})
                    c["bulletins"].insert({"id": f"bt-{n}", "title": f"Bản tin {n}", "text": "x", "script": "x",
                                           "media_sha256": sha, "created_at": format_time(now)})
            start_day = to_local(now).date() + timedelta(days=1)
            end_day = start_day + timedelta(days=30)
            rule = {"start_date": start_day.isoformat(), "end_date": end_day.isoformat(), "slot_times": ["06:00", "17:00"]}
            for c in range(COMMUNES):
                broadcasts.schedule("bt-0", targets=[f"xa-{c}"], rule=rule)
            broadcasts.schedule("bt-1", targets=["tinh"], priority="priority", rule=rule)
            broadcasts.schedule("bt-2", targets=["tinh"], rule={**rule, "slot_times": ["11:00"]})

            conn = MqttConnection(MqttSettings(port=broker.port), "bench-controller", lambda t, p: None)
            conn.client.max_inflight_messages_set(1000)
            conn.start()
            if not conn.connected.wait(30):
                raise RuntimeError("bench controller could not reach the broker")
            pending: list[mqtt.MQTTMessageInfo] = []

            class Recorder:
                def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
                    pending.append(conn.publish(topic, payload, qos=qos, retain=retain))

            dispatcher = Dispatcher(db, Registry(db), Signer.generate(), Recorder(), PlanSettings(), guardrails.policy)
            forced = []
            for _ in range(PLAN_REPEATS):
                pending.clear()
                t0 = time.perf_counter()
                result = dispatcher.rebuild(force=True)
                for info in pending:
                    info.wait_for_publish(timeout=60)
                forced.append(time.perf_counter() - t0)
                if result.sent != PLAN_DEVICES:
                    raise RuntimeError(f"sent {result.sent} plans, expected {PLAN_DEVICES}")
            items = sum(len(p.items) for p in dispatcher.build().plans.values())
            unchanged = []
            for _ in range(PLAN_REPEATS):
                t0 = time.perf_counter()
                if dispatcher.rebuild().sent:
                    raise RuntimeError("an unchanged rebuild published plans")
                unchanged.append(time.perf_counter() - t0)
            log.info("plans for %d devices (%d items): forced %s s, unchanged %s s", PLAN_DEVICES, items,
                     [round(x, 2) for x in forced], [round(x, 2) for x in unchanged])
            db.close()
            return statistics.median(forced), statistics.median(unchanged)
        finally:
            if conn is not None:
                conn.stop()
            broker.stop()


def run() -> dict[str, float]:
    publish, unchanged = _plan_publish()
    figures = {"plan_publish_5000_s": round(publish, 3), "plan_rebuild_unchanged_5000_s": round(unchanged, 3)}
    p99, api_ms = _fanout(FANOUT_SIZES[0])
    figures.update(fanout_p99_ms=round(p99, 1), emergency_api_ms=round(api_ms, 1))
    figures["fanout_p99_ms_2000"] = round(_fanout(FANOUT_SIZES[1])[0], 1)
    return figures


if __name__ == "__main__":  # pragma: no cover
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    print(run())
