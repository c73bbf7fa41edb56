"""Edge agent: start precision on the file sink, and the footprint of an idle agent.

Real ``loaxa agent`` processes and a real mosquitto on this machine.  The agents are
driven by plans signed with a throw-away key and fetch media from a tiny local HTTP
server instead of the full controller: what is measured is the agent alone (verify,
prefetch, decode ahead, start on the instant), not the controller's rendering.  The
start error is ``actual_start - planned`` where the agent hands the first audio frame
to the output (the file sink's own timestamp).

Figures:
- ``start_error_p99_ms`` (and p50/max): one agent, 100 plays of 0.5 s clips, 1 s apart;
- ``start_error_20_agents_p99_ms`` (and p50/max): 20 agents on this machine, each
  playing the same 20 instants 3 s apart (all start together: the worst case for CPU
  contention).  At 1 s apart the 20 agents need ~20 ffmpeg decoder launches a second
  (~60 ms of CPU each) on top of their own work, which saturates two cores and the
  backlog grows without bound, so that cadence measures the machine, not the agent;
- ``agent_rss_mb`` and ``agent_idle_cpu_pct``: one agent idle with a 48 h plan
  (200 items, 10 clips) loaded and its media cached, CPU over 30 s.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from controller.devtools.broker_runner import Broker
from loaxa import protocol
from loaxa.protocol import Plan, PlayItem, Signer

log = logging.getLogger("bench.agent")

SINGLE_PLAYS = 100
MANY_AGENTS = 20
MANY_PLAYS = 20
MANY_SPACING_S = 3.0
SPACING_S = 1.0
CLIP_S = 0.5
IDLE_SAMPLE_S = 30.0


def _clip(directory: Path, freq: int, seconds: float) -> tuple[str, int]:
    tmp = directory / f"clip-{freq}.ogg"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency={freq}:sample_rate=48000",
                    "-t", str(seconds), "-ac", "1", "-c:a", "libopus", "-b:a", "32k", str(tmp)], check=True)
    data = tmp.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    tmp.rename(directory / f"{sha}.ogg")
    return sha, len(data)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _media_server(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def _agent(root: Path, device: str, key: str, media_url: str, mqtt_port: int) -> tuple[subprocess.Popen, Path]:
    data = root / "agents" / device
    cfg = root / f"{device}.toml"
    cfg.write_text(
        f'device_id = "{device}"\ndata_dir = "{data}"\ncontroller_url = "{media_url}"\n'
        f'controller_public_key = "{key}"\n\n[mqtt]\nport = {mqtt_port}\n\n[player]\nbackend = "file"\n\n'
        '[relay]\npin = "GPIO17"\npin_factory = "mock"\n\n[clock]\nntp_server = ""\nuse_chrony = false\n'
    )
    log_file = open(root / f"{device}.log", "ab")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOAXA_")}
    proc = subprocess.Popen([sys.executable, "-m", "loaxa", "agent", "-c", str(cfg)], stdout=log_file,
                            stderr=log_file, env=env)
    return proc, data


def _publish_plans(port: int, signer: Signer, plans: dict[str, Plan]) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-agent-publisher")
    c.connect("127.0.0.1", port)
    c.loop_start()
    for device, plan in plans.items():
        c.publish(protocol.plan_topic(device), signer.seal(plan), qos=1, retain=True).wait_for_publish(10)
    c.loop_stop()
    c.disconnect()


def _plan(device: str, items: list[PlayItem]) -> Plan:
    now = datetime.now(timezone.utc)
    return Plan(device_id=device, plan_version=1, issued_at=now, expires_at=now + timedelta(days=3), items=tuple(items))


def _wait(predicate, timeout: float, what: str, procs: list[subprocess.Popen] = ()) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        dead = [p.args for p in procs if p.poll() is not None]
        if dead:
            raise RuntimeError(f"agent exited while waiting for {what}: {dead[0]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _plays(data: Path) -> list[dict]:
    sink = data / "sink" / "plays.jsonl"
    return [json.loads(line) for line in sink.read_text().splitlines()] if sink.exists() else []


def _errors_ms(datas: list[Path]) -> list[float]:
    return [abs(p["actual_start"] - p["planned"]) * 1000 for d in datas for p in _plays(d)]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _precision(root: Path, broker: Broker, signer: Signer, url: str, clip: tuple[str, int], agents: int,
               plays: int, lead_s: float, spacing_s: float = SPACING_S) -> list[float]:
    key = protocol.public_key_to_text(signer.public_key)
    procs, datas = [], []
    for n in range(agents):
        proc, data = _agent(root, f"prec-{agents}-{n}", key, url, broker.port)
        procs.append(proc)
        datas.append(data)
    try:
        t0 = time.time() + lead_s
        items = [PlayItem(item_id=f"p{i}", start=datetime.fromtimestamp(t0 + i * spacing_s, tz=timezone.utc),
                          sha256=clip[0], size=clip[1], duration_s=CLIP_S) for i in range(plays)]
        _publish_plans(broker.port, signer, {f"prec-{agents}-{n}": _plan(f"prec-{agents}-{n}", items) for n in range(agents)})
        _wait(lambda: all(len(_plays(d)) == plays for d in datas), lead_s + plays * spacing_s + 30, "all plays", procs)
        return _errors_ms(datas)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


def _footprint(root: Path, broker: Broker, signer: Signer, url: str, clips: list[tuple[str, int]]) -> tuple[float, float]:
    key = protocol.public_key_to_text(signer.public_key)
    proc, data = _agent(root, "idle-0", key, url, broker.port)
    try:
        first = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        items = []
        for day in range(2):
            for slot in (6, 11, 17, 20):  # four programmes a day, 25 items each
                for k in range(25):
                    sha, size = clips[(slot + k) % len(clips)]
                    start = first + timedelta(days=day, hours=slot, seconds=40 * k)
                    items.append(PlayItem(item_id=f"d{day}-{slot}-{k}", start=start, sha256=sha, size=size, duration_s=30))
        _publish_plans(broker.port, signer, {"idle-0": _plan("idle-0", items)})
        media = data / "media"
        _wait(lambda: media.exists() and len(list(media.glob("*.ogg"))) == len(clips), 60, "media cached", [proc])
        time.sleep(5)  # let start-up work settle before sampling
        ticks = os.sysconf("SC_CLK_TCK")

        def cpu_s() -> float:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / ticks

        c0, w0 = cpu_s(), time.monotonic()
        time.sleep(IDLE_SAMPLE_S)
        cpu_pct = (cpu_s() - c0) / (time.monotonic() - w0) * 100
        rss_kb = next(int(line.split()[1]) for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                      if line.startswith("VmRSS:"))
        return rss_kb / 1024, cpu_pct
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _summary(prefix: str, errors: list[float]) -> dict[str, float]:
    return {f"{prefix}_p50_ms": round(statistics.median(errors), 3), f"{prefix}_p99_ms": round(_percentile(errors, 0.99), 3),
            f"{prefix}_max_ms": round(max(errors), 3)}


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="loaxa-bench-agent-") as tmp:
        root = Path(tmp)
        media = root / "www" / "media"
        media.mkdir(parents=True)
        clip = _clip(media, 440, CLIP_S)
        clips = [_clip(media, 300 + 50 * i, 30.0) for i in range(10)]
        httpd, url = _media_server(root / "www")
        broker = Broker(root / "broker").start()
        signer = Signer.generate()
        try:
            single = _precision(root, broker, signer, url, clip, 1, SINGLE_PLAYS, lead_s=8)
            log.info("one agent: %d plays, p50 %.3f ms, p99 %.3f ms", len(single), statistics.median(single), _percentile(single, 0.99))
            many = _precision(root, broker, signer, url, clip, MANY_AGENTS, MANY_PLAYS, lead_s=20, spacing_s=MANY_SPACING_S)
            log.info("%d agents: %d plays, p50 %.3f ms, p99 %.3f ms", MANY_AGENTS, len(many), statistics.median(many), _percentile(many, 0.99))
            rss_mb, cpu_pct = _footprint(root, broker, signer, url, clips)
            log.info("idle agent: RSS %.1f MB, CPU %.2f %%", rss_mb, cpu_pct)
        finally:
            broker.stop()
            httpd.shutdown()
    figures = {"agent_rss_mb": round(rss_mb, 1), "agent_idle_cpu_pct": round(cpu_pct, 3)}
    figures.update(_summary("start_error", single))
    figures.update(_summary("start_error_20_agents", many))
    return figures
