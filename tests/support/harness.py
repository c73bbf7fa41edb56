"""Real processes for the tests: broker, controller and agents, each on free loopback ports.

Every wait here is bounded and polls a real condition (a port that answers, a row that
appears, a line in a sink file); nothing sleeps on luck.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from controller.cli_http.client import ApiClient
from controller.devtools.broker_runner import Broker, free_port, wait_for_port
from controller.devtools.demo import agent_toml

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "bulletins"
DOCUMENTS = ROOT / "tests" / "data" / "documents"  # the project's own fixture documents, always present


# Tests run at any hour of the day: no quiet hours and no caps unless a test sets its own.
OPEN_GUARDRAILS = 'quiet_start = "00:00"\nquiet_end = "00:00"\nmax_programmes_per_day = ""\nmax_minutes_per_programme = ""\n'


# The controller's audio for tests about when and where media plays, not how it sounds: spoken
# words without the intro and outro chimes (about 4 s less of every clip to sit through).
SPEECH_ONLY_AUDIO = 'engine = "espeak"\nchime = false'
# The same, spoken at the engine's fastest allowed pace (speech_rate 2.0): for tests where clips
# play one after another on a pole, so each clip's length is time the test waits through.
FAST_SPEECH_AUDIO = SPEECH_ONLY_AUDIO + "\nspeech_rate = 2.0"


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def loaxa(*args: str) -> list[str]:
    return [sys.executable, "-m", "loaxa", *args]


@dataclass
class ProcessHandle:
    name: str
    cmd: list[str]
    log_path: Path
    env: dict[str, str]
    proc: subprocess.Popen | None = None

    def start(self) -> None:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=self._log, stderr=self._log, env=self.env)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        rc = self.proc.returncode
        self.proc = None
        return rc

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


# A lost broker is retried every second instead of backing off to 30 s, and events the controller
# has not acknowledged are sent again after 2 s instead of 10 s: a test that stops a broker or the
# controller waits for the same reconnection and the same resend, just not the production pauses.
QUICK_LINKS = {"LOAXA_MQTT_RECONNECT_MAX_S": "1", "LOAXA_EVENTS_RESEND_S": "2"}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOAXA_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(QUICK_LINKS)
    return env


@dataclass
class ControllerHandle(ProcessHandle):
    url: str = ""
    data_dir: Path = Path()
    http_port: int = 0
    token: str = ""
    admin_password: str = ""
    cafile: str = ""

    @property
    def api(self) -> ApiClient:
        """A client signed in as the test administrator (whole tree) with an API token."""
        return ApiClient(self.url, timeout=60, token=self.token, cafile=self.cafile)

    def loaxa_cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
        """Run a ``loaxa`` command against this controller's config; fails the test on error."""
        out = subprocess.run(loaxa(*args, "-c", self.cmd[-1]), input=stdin, capture_output=True, text=True,
                             env=self.env, timeout=60)
        assert out.returncode == 0, f"loaxa {' '.join(args)} failed: {out.stderr}"
        return out

    def ensure_admin(self) -> None:
        """Create the test administrator the way an operator would (no default password exists)."""
        if not self.token:
            self.admin_password = secrets.token_urlsafe(16)
            out = self.loaxa_cli("user", "add", "--role", "admin", "--unit", "*", "--token", "test-admin",
                                 stdin=self.admin_password + "\n")
            self.token = out.stdout.strip().splitlines()[-1]

    def user_api(self, username: str, role: str = "approver", unit: str = "*") -> ApiClient:
        """A client for another person, e.g. an approver (nobody approves their own broadcast)."""
        out = self.loaxa_cli("user", "add", username, "--role", role, "--unit", unit, "--token",
                             stdin=secrets.token_urlsafe(16) + "\n")
        return ApiClient(self.url, timeout=60, token=out.stdout.strip().splitlines()[-1], cafile=self.cafile)

    def start(self) -> None:
        self.ensure_admin()
        super().start()
        wait_for_port("127.0.0.1", self.http_port, timeout=30, proc=self.proc)
        wait_for(lambda: self.api.get("/api/health")["mqtt_connected"], what="controller connected to broker")

    def db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.data_dir / "loaxa.db", timeout=10)
        conn.row_factory = sqlite3.Row
        return conn

    def events(self, **where: str) -> list[sqlite3.Row]:
        sql = "SELECT * FROM playback_events"
        if where:
            sql += " WHERE " + " AND ".join(f"{k} = ?" for k in where)
        with self.db() as conn:
            return conn.execute(sql + " ORDER BY device_id, seq", list(where.values())).fetchall()


@dataclass
class AgentHandle(ProcessHandle):
    device_id: str = ""
    data_dir: Path = Path()

    @property
    def sink(self) -> Path:
        return self.data_dir / "sink" / "plays.jsonl"

    def plays(self) -> list[dict[str, Any]]:
        if not self.sink.exists():
            return []
        return [json.loads(line) for line in self.sink.read_text().splitlines() if line.strip()]

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.data_dir / "agent.db", timeout=10)

    def outbox_size(self) -> int:
        with self.db() as conn:
            return conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]


@dataclass
class System:
    """Factory for the processes of one test; stops everything at the end."""

    root: Path
    broker: Broker
    handles: list[ProcessHandle] = field(default_factory=list)

    def controller(self, extra_toml: str = "", start: bool = True, guardrails_toml: str | None = None,
                   audio_toml: str = 'engine = "espeak"') -> ControllerHandle:
        port = free_port()
        data_dir = self.root / "controller"
        cfg = self.root / "controller.toml"
        cfg.write_text(
            f'data_dir = "{data_dir}"\n{extra_toml}\n[mqtt]\nport = {self.broker.port}\n\n'
            f'[http]\nport = {port}\ntls = false\n\n[audio]\n{audio_toml}\n\n'
            '[security]\nmedia_requires_auth = false  # the anonymous test broker gives agents no credentials\n'
            'require_device_signatures = false  # nor keys: its agents were never enrolled\n\n'
            f'[schedules]\n{OPEN_GUARDRAILS if guardrails_toml is None else guardrails_toml}\n'
        )
        h = ControllerHandle("controller", loaxa("controller", "-c", str(cfg)), self.root / "controller.log", _env(),
                             url=f"http://127.0.0.1:{port}", data_dir=data_dir, http_port=port)
        self.handles.append(h)
        if start:
            h.start()
        return h

    def agent(self, device_id: str, public_key: str, controller_url: str = "http://127.0.0.1:9",
              extra_toml: str = "", start: bool = True) -> AgentHandle:
        data_dir = self.root / "agents" / device_id
        cfg = self.root / f"agent-{device_id}.toml"
        cfg.write_text(agent_toml(device_id, data_dir, controller_url, public_key, self.broker.port) + extra_toml)
        h = AgentHandle(device_id, loaxa("agent", "-c", str(cfg)), self.root / f"agent-{device_id}.log", _env(),
                        device_id=device_id, data_dir=data_dir)
        self.handles.append(h)
        if start:
            h.start()
        return h

    def close(self) -> None:
        for h in reversed(self.handles):
            if h.alive:
                h.stop()
        self.broker.stop()


class Listener:
    """A test MQTT client that records every message on the topics it subscribes to."""

    def __init__(self, broker: Broker, *topics: str, client_id: str = "test-listener"):
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self._connected = threading.Event()
        self._topics = topics

        def on_connect(client, userdata, flags, rc, props):
            for t in self._topics:
                client.subscribe(t, 1)
            self._connected.set()

        def on_message(client, userdata, msg):
            with self._lock:
                self.messages.append((msg.topic, msg.payload, bool(msg.retain)))

        self.client.on_connect = on_connect
        self.client.on_message = on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        wait_for(self._connected.is_set, what="test MQTT client connected")

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(timeout=5)

    def on(self, topic: str) -> list[bytes]:
        with self._lock:
            return [p for t, p, _ in self.messages if t == topic]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
