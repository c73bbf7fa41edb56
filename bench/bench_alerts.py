"""Official warnings to air: a new CAP alert → the first sample on 10 real agents.

A real controller process, mosquitto and 10 agent processes (file sinks); all ten clusters
sit in one commune whose boundary the alert's polygon covers, and its policy airs level-4
warnings by itself.  Each round is a new alert (new words, so a real render each time):

- ``cap_to_air_p99_ms``: the alert appears in an Atom feed polled every 10 s; from the
  moment the feed lists it to each agent's first sample (the sink's ``actual_start``);
  the p99 over agents, median over rounds (the poll's phase is part of the figure);
- ``cap_push_to_air_p99_ms``: the same from the start of ``POST /api/alerts/push``, split in
  ``cap_push_render_ms`` (push → planned first airing, less the lead: intake, decisions and the
  render; median over agents and rounds) and ``cap_push_start_late_p99_ms`` (each agent's
  first sample after the planned instant: what the lead did not cover; p99 over agents).

Every warning opens with its attention signal, its own item made once; the words follow it
back to back.  The first sample is the signal's, and counts only together with the words'
gap after it: ``cap_push_words_gap_p99_ms`` (each agent's words start after the signal's end;
p99 over agents, median over rounds) and ``cap_push_words_p99_ms`` (push → the words' first
sample) are reported beside it.

Both include the controller's first-airing lead (``[alerts] first_air_lead_s``) and the
amplifiers' warm-up (``amplifier_warmup_s``), which let every online cluster start together.
"""

from __future__ import annotations

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

from controller.alerts.settings import AlertSettings
from controller.devtools.broker_runner import Broker, free_port, wait_for_port

log = logging.getLogger("bench.alerts")

AGENTS = 10
ROUNDS = 5
POLL_S = 10
SENDER = "canhbao@kttv-sonha.example.vn"
POLYGON = "20.99,104.99 20.99,105.11 21.11,105.11 21.11,104.99 20.99,104.99"  # all of the commune
BOUNDARY = [[[105.0, 21.0], [105.1, 21.0], [105.1, 21.1], [105.0, 21.1], [105.0, 21.0]]]
TOKEN = "bench-push-token"
# The first-airing lead under test (BENCH_ALERTS_LEAD_S compares another value on the same machine).
LEAD_S = float(os.environ.get("BENCH_ALERTS_LEAD_S") or AlertSettings().first_air_lead_s)


def _loaxa(*args: str) -> list[str]:
    return [sys.executable, "-m", "loaxa", *args]


def _cap(identifier: str, n: int) -> bytes:
    tz = timezone(timedelta(hours=7))
    now = datetime.now(tz).replace(microsecond=0)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>{identifier}</identifier><sender>{SENDER}</sender>
<sent>{now.isoformat()}</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
<info><language>vi-VN</language><category>Met</category><event>Bão</event><urgency>Immediate</urgency>
<severity>Extreme</severity><certainty>Observed</certainty><expires>{(now + timedelta(minutes=2)).isoformat()}</expires>
<headline>Bão số {n} đổ bộ</headline><description>Bão số {n} gây gió mạnh cấp {8 + n % 5}, giật cấp {10 + n % 5}.</description>
<instruction>Người dân ở trong nhà, không ra khơi.</instruction>
<parameter><valueName>riskLevel</valueName><value>4</value></parameter>
<area><areaDesc>Xã Thử</areaDesc><polygon>{POLYGON}</polygon></area></info></alert>""".encode()


class _Feed:
    """An Atom feed on loopback listing the CAP documents published so far; records when each was listed."""

    def __init__(self) -> None:
        self.docs: dict[str, bytes] = {}
        feed = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/feed.xml":
                    entries = "".join(f'<entry><id>{n}</id><title>{n}</title><updated>2026-01-01T00:00:00Z</updated>'
                                      f'<link rel="related" type="application/cap+xml" href="/cap/{n}"/></entry>'
                                      for n in list(feed.docs))
                    body = (f'<feed xmlns="http://www.w3.org/2005/Atom"><id>f</id><title>t</title>'
                            f'<updated>2026-01-01T00:00:00Z</updated>{entries}</feed>').encode()
                    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                    if self.headers.get("If-None-Match") == etag:
                        self.send_response(304)
                        self.end_headers()
                        return
                    self.send_response(200)
                    self.send_header("ETag", etag)
                else:
                    body = feed.docs.get(self.path.removeprefix("/cap/"), b"")
                    self.send_response(200 if body else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _plays(sinks: list[Path]) -> list[list[dict]]:
    out = []
    for sink in sinks:
        lines = sink.read_text().splitlines() if sink.exists() else []
        out.append([json.loads(line) for line in lines if line.strip()])
    return out


def _signal_length(root: Path, sha256: str) -> float:
    """The stored signal's length in seconds (its words are planned right after it)."""
    from audio.master import probe

    [path] = list(root.glob(f"controller/**/{sha256}.ogg"))
    return float(probe(path)["format"]["duration"])


def _first_samples(sinks: list[Path], seen: set[str], t0: float, root: Path,
                   timeout: float = 120) -> list[tuple[float, float, float, float]]:
    """Per agent, for the warning not in ``seen``: ms from ``t0`` to its first sample (the signal's), to the signal's
    planned start, to the words' first sample, and the words' gap after the end of the signal."""
    deadline = time.monotonic() + timeout
    lengths: dict[str, float] = {}
    while time.monotonic() < deadline:
        out = []
        for plays in _plays(sinks):
            new = [p for p in plays if p["item_id"] not in seen]
            signal = next((p for p in new if p["item_id"].endswith(".signal")), None)
            words = next((p for p in new if not p["item_id"].endswith(".signal")), None)
            if signal is None or words is None:
                break
            length = lengths.get(signal["sha256"]) or lengths.setdefault(signal["sha256"],
                                                                         _signal_length(root, signal["sha256"]))
            out.append(((signal["actual_start"] - t0) * 1000, (signal["planned"] - t0) * 1000,
                        (words["actual_start"] - t0) * 1000,
                        (words["actual_start"] - signal["actual_start"] - length) * 1000))
        if len(out) == len(sinks):
            for plays in _plays(sinks):
                seen.update(p["item_id"] for p in plays)
            return out
        time.sleep(0.05)
    raise RuntimeError("not every agent played the warning in time")


def _wait_idle(api, plays: int, timeout: float = 180) -> None:
    """Until the controller has every agent's ``finished`` event so far: no round waits behind the last one's sound."""
    deadline = time.monotonic() + timeout
    while len(api.get("/api/playback?kind=finished&limit=10000")) < plays:
        if time.monotonic() > deadline:
            raise RuntimeError("the agents did not finish playing")
        time.sleep(0.2)


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def run() -> dict[str, float]:
    from controller.cli_http.client import ApiClient
    from controller.devtools.demo import agent_toml

    with tempfile.TemporaryDirectory(prefix="bench-alerts-") as tmp:
        root = Path(tmp)
        broker = Broker(root / "broker").start()
        feed = _Feed()
        procs: list[subprocess.Popen] = []
        try:
            http_port = free_port()
            cfg = root / "controller.toml"
            cfg.write_text(f'data_dir = "{root / "controller"}"\n\n[mqtt]\nport = {broker.port}\n\n[http]\n'
                           f'port = {http_port}\ntls = false\n\n[audio]\nengine = "espeak"\n\n[security]\nmedia_requires_auth = false\nrequire_device_signatures = false\n\n'
                           '[schedules]\nquiet_start = "00:00"\nquiet_end = "00:00"\n\n'
                           f'[alerts]\nfirst_air_lead_s = {LEAD_S}\n')
            env = {k: v for k, v in os.environ.items() if not k.startswith("LOAXA_")}
            out = subprocess.run(_loaxa("user", "add", "bench", "--role", "admin", "--unit", "*", "--token", "-c", str(cfg)),
                                 input="mat-khau-bench-123\n", capture_output=True, text=True, env=env, check=True)
            api = ApiClient(f"http://127.0.0.1:{http_port}", token=out.stdout.strip().splitlines()[-1])
            logs = open(root / "processes.log", "ab")
            procs.append(subprocess.Popen(_loaxa("controller", "-c", str(cfg)), stdout=logs, stderr=logs, env=env))
            wait_for_port("127.0.0.1", http_port, timeout=60, proc=procs[0])
            api.post("/api/units", {"id": "tinh", "name": "tỉnh Thử", "parent_id": None, "level": "tinh"})
            api.post("/api/units", {"id": "xa", "name": "xã Thử", "parent_id": "tinh", "level": "xa"})
            devices = [f"loa-{i}" for i in range(AGENTS)]
            for d in devices:
                api.post("/api/devices", {"id": d, "name": d, "unit_id": "xa"})
            api.post("/api/alerts/geography", {"type": "FeatureCollection", "features": [
                {"type": "Feature", "properties": {"unit_id": "xa"}, "geometry": {"type": "Polygon", "coordinates": BOUNDARY}}]})
            api.request("PUT", "/api/alerts/policies/tinh", {"rules": [{"name": "cấp 4-5", "action": "auto",
                                                                        "risk_levels": [4, 5]}]})
            api.post("/api/alerts/sources", {"id": "push", "kind": "push", "token": TOKEN, "senders": [SENDER]})
            key = api.get("/api/pubkey")["public_key"]
            sinks = []
            for d in devices:
                data_dir = root / "agents" / d
                acfg = root / f"{d}.toml"
                acfg.write_text(agent_toml(d, data_dir, api.base_url, key, broker.port))
                procs.append(subprocess.Popen(_loaxa("agent", "-c", str(acfg)), stdout=logs, stderr=logs, env=env))
                sinks.append(data_dir / "sink" / "plays.jsonl")
            deadline = time.monotonic() + 120
            while not all(d["online"] for d in api.get("/api/devices")):
                if time.monotonic() > deadline:
                    raise RuntimeError("agents did not come online")
                time.sleep(0.2)
            seen: set[str] = set()
            import requests

            push, before_lead, late, words_at, gaps = [], [], [], [], []
            lead_ms = 1000 * LEAD_S
            for n in range(ROUNDS):
                t0 = time.time()
                r = requests.post(f"{api.base_url}/api/alerts/push", data=_cap(f"BENCH-P{n}", 100 + n), timeout=60,
                                  headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/cap+xml"})
                r.raise_for_status()
                answered = (time.time() - t0) * 1000
                firsts = _first_samples(sinks, seen, t0, root)
                push.append(_p99([f for f, *_ in firsts]))
                planned = statistics.median(p for _, p, *_ in firsts)
                before_lead.append(planned - lead_ms)
                late.append(_p99([f - p for f, p, *_ in firsts]))
                words_at.append(_p99([w for *_, w, _ in firsts]))
                gaps.append(_p99([g for *_, g in firsts]))
                _wait_idle(api, (n + 1) * AGENTS * 2)
                log.info("push round %d: p99 %.0f ms = %.0f ms to the planned signal, less the %.0f ms lead + p99 %.0f ms "
                         "start after the planned instant; words p99 %.0f ms, p99 gap after the signal %.0f ms "
                         "(the push answered after %.0f ms)", n, push[-1], before_lead[-1], lead_ms, late[-1],
                         words_at[-1], gaps[-1], answered)
            api.post("/api/alerts/sources", {"id": "feed", "kind": "feed", "url": f"{feed.url}/feed.xml",
                                             "interval_s": POLL_S, "senders": [SENDER]})
            time.sleep(POLL_S / 2)  # the poller has read the (empty) feed once
            polled = []
            for n in range(ROUNDS):
                time.sleep((n * 3.7) % POLL_S)  # spread the rounds over the poll's phase
                t0 = time.time()
                feed.docs[f"bench-f{n}.xml"] = _cap(f"BENCH-F{n}", 200 + n)
                polled.append(_p99([f for f, *_ in _first_samples(sinks, seen, t0, root)]))
                _wait_idle(api, (ROUNDS + n + 1) * AGENTS * 2)
                log.info("feed round %d: p99 %.0f ms", n, polled[-1])
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in reversed(procs):
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            feed.close()
            broker.stop()
    return {"cap_to_air_p99_ms": round(statistics.median(polled), 1),
            "cap_to_air_max_ms": round(max(polled), 1),
            "cap_push_to_air_p99_ms": round(statistics.median(push), 1),
            "cap_push_to_air_max_ms": round(max(push), 1),
            "cap_push_render_ms": round(statistics.median(before_lead), 1),
            "cap_push_start_late_p99_ms": round(statistics.median(late), 1),
            "cap_push_words_p99_ms": round(statistics.median(words_at), 1),
            "cap_push_words_gap_p99_ms": round(statistics.median(gaps), 1),
            "cap_push_words_gap_max_ms": round(max(gaps), 1)}


if __name__ == "__main__":  # pragma: no cover
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    print(run())
