"""Controller scale: 10,000 devices, heartbeats every 30 s, playback events through MQTT.

Measures the sustained rate at which the controller validates, stores and acknowledges
playback events (every event counted only once its ack has come back), with the
heartbeat load of 10,000 devices running at the same time, plus the controller's CPU
and memory.  2,000 devices each send two programmes' worth of events (10 per message, as
an agent flushing its outbox after a programme or a reconnect does), each batch only after
the previous one was acknowledged, as the agent's outbox does.  Figures: ``ingest_events_per_s``, ``controller_cpu_pct``, ``controller_rss_mb``.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from controller.devtools.broker_runner import Broker, free_port, wait_for_port

log = logging.getLogger("bench.ingest")

DEVICES = 10_000
ACTIVE_DEVICES = 2_000
EVENTS_PER_BATCH = 10
BATCHES_PER_DEVICE = 2
PUBLISHERS = 4
HEARTBEAT_S = 30.0


def _client(port: int, name: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    return c


def _event_batch(device: str, epoch: str, first_seq: int, n: int) -> bytes:
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime())
    events = [{"seq": s, "kind": "finished" if s % 2 else "started", "recorded_at": now, "item_id": f"bc-{s}",
               "broadcast_id": "bc-bench", "sha256": "ab" * 32, "plan_version": 1, "planned_at": now,
               "actual_start": now, "duration_s": 60.0} for s in range(first_seq, first_seq + n)]
    return json.dumps({"v": 1, "type": "events", "body": {"device_id": device, "epoch": epoch, "events": events}},
                      separators=(",", ":")).encode()


def _publisher(port: int, devices: list[str], go: mp.Event, result: mp.Queue) -> None:
    """Behave like agents: each device sends its next batch once the previous one is acknowledged."""
    c = _client(port, f"bench-pub-{os.getpid()}")
    last_seq = EVENTS_PER_BATCH * BATCHES_PER_DEVICE
    sent = {d: 0 for d in devices}
    done: set[str] = set()
    all_acked = threading.Event()
    lock = threading.Lock()

    def send_next(client: mqtt.Client, device: str) -> None:
        first = sent[device] + 1
        sent[device] += EVENTS_PER_BATCH
        client.publish(f"loaxa/v1/dev/{device}/events", _event_batch(device, "bench", first, EVENTS_PER_BATCH), qos=1)

    def on_message(client, userdata, msg):
        body = json.loads(msg.payload)["body"]
        device = body["device_id"]
        with lock:
            if body["up_to_seq"] >= last_seq:
                done.add(device)
                if len(done) == len(devices):
                    all_acked.set()
            elif body["up_to_seq"] >= sent[device]:
                send_next(client, device)

    c.on_message = on_message
    for d in devices:
        c.subscribe(f"loaxa/v1/dev/{d}/ack", 1)
    c.loop_start()
    go.wait()
    start = time.time()
    with lock:
        for d in devices:
            send_next(c, d)
    ok = all_acked.wait(300)
    result.put((start, time.time(), len(done), ok))
    c.loop_stop()
    c.disconnect()


def _heartbeats(port: int, stop: mp.Event) -> None:
    """10,000 devices' state messages, spread evenly over each 30 s period."""
    c = _client(port, "bench-heartbeats")
    c.loop_start()
    interval = HEARTBEAT_S / DEVICES
    i = 0
    t0 = time.time()
    while not stop.is_set():
        d = f"dev-{i % DEVICES:05d}"
        payload = json.dumps({"v": 1, "type": "state", "body": {"device_id": d, "online": True, "plan_version": 1,
                                                                "media_ready": True}}).encode()
        c.publish(f"loaxa/v1/dev/{d}/state", payload, qos=1, retain=True)
        i += 1
        delay = t0 + i * interval - time.time()
        if delay > 0:
            time.sleep(delay)
    c.loop_stop()
    c.disconnect()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _seed(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("INSERT OR IGNORE INTO units(id, name, parent_id, level) VALUES ('tinh', 'Tỉnh', NULL, 'province')")
        communes = [(f"xa-{i:03d}", f"Xã {i}", "tinh", "commune") for i in range(DEVICES // 20)]
        conn.executemany("INSERT OR IGNORE INTO units(id, name, parent_id, level) VALUES (?, ?, ?, ?)", communes)
        conn.executemany(
            "INSERT OR IGNORE INTO devices(id, name, unit_id, created_at) VALUES (?, ?, ?, '2026-01-01T00:00:00.000+00:00')",
            [(f"dev-{i:05d}", f"Cụm {i}", f"xa-{i // 20:03d}") for i in range(DEVICES)],
        )
    conn.close()


def _start_controller(tmp: Path, port: int) -> tuple[subprocess.Popen, int]:
    http = free_port()
    cfg = tmp / "controller.toml"
    cfg.write_text(f'data_dir = "{tmp / "ctl"}"\n[mqtt]\nport = {port}\n[http]\nport = {http}\ntls = false\n[plans]\nrepublish_s = 86400\n')
    proc = subprocess.Popen([sys.executable, "-m", "loaxa", "controller", "-c", str(cfg)],
                            stdout=open(tmp / "controller.log", "ab"), stderr=subprocess.STDOUT)
    wait_for_port("127.0.0.1", http, timeout=60, proc=proc)
    return proc, http


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        broker = Broker(tmp / "broker").start()
        proc, _ = _start_controller(tmp, broker.port)
        try:
            _seed(tmp / "ctl" / "loaxa.db")
            stop_hb = mp.Event()
            hb = mp.Process(target=_heartbeats, args=(broker.port, stop_hb))
            hb.start()
            time.sleep(3)  # let the heartbeat load reach its steady rate before measuring
            devices = [f"dev-{i:05d}" for i in range(ACTIVE_DEVICES)]
            go, results = mp.Event(), mp.Queue()
            pubs = [mp.Process(target=_publisher, args=(broker.port, devices[i::PUBLISHERS], go, results))
                    for i in range(PUBLISHERS)]
            for p in pubs:
                p.start()
            time.sleep(2)  # subscriptions in place
            cpu0, t0 = _cpu_seconds(proc.pid), time.time()
            go.set()
            outcomes = [results.get(timeout=400) for _ in pubs]
            cpu1, t1 = _cpu_seconds(proc.pid), time.time()
            rss = _rss_mb(proc.pid)
            for p in pubs:
                p.join()
            stop_hb.set()
            hb.join()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            broker.stop()
    start = min(o[0] for o in outcomes)
    end = max(o[1] for o in outcomes)
    if not all(o[3] for o in outcomes):
        log.error("not every event was acknowledged: %s", outcomes)
    total = ACTIVE_DEVICES * BATCHES_PER_DEVICE * EVENTS_PER_BATCH
    rate = total / (end - start)
    log.info("ingested %d events in %.2f s: %.0f events/s; controller CPU %.0f%%, RSS %.0f MB",
             total, end - start, rate, 100 * (cpu1 - cpu0) / (t1 - t0), rss)
    return {
        "ingest_events_per_s": round(rate, 1),
        "controller_cpu_pct": round(100 * (cpu1 - cpu0) / (t1 - t0), 1),
        "controller_rss_mb": round(rss, 1),
    }
