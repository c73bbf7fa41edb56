"""A controller configuration with its generated mosquitto config, and a real broker running it.

The broker runs exactly the access rules ``loaxa broker config`` writes (no anonymous
access, the password file, the ACL, optionally the TLS listener); only the listener
addresses and the pid file are the test's own.
"""

from __future__ import annotations

import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from controller.security import broker_config
from controller.devtools.broker_runner import Broker, free_port
from controller.config import ControllerConfig
from controller.db import Database
from support.harness import OPEN_GUARDRAILS, AgentHandle, ControllerHandle, _env, loaxa, wait_for
from loaxa.config import load_config


class SecureRig:
    def __init__(self, root: Path, *, tls: bool = False, https: bool = False, plans: str = "", security: str = "",
                 sections: str = "", audio: str = 'engine = "espeak"'):
        """``plans`` and ``security``: extra lines of those sections of the controller's config;
        ``sections``: whole further sections (``[retention]`` …), appended.  ``https``: the controller
        serves HTTPS with its CA-issued certificate (else plain HTTP on loopback, as the demo).
        ``audio``: the ``[audio]`` section (see ``support.harness.SPEECH_ONLY_AUDIO``)."""
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.https = https
        self.port = free_port()
        self.tls_port = free_port() if tls else 0
        self.http_port = free_port()
        self.data_dir = root / "controller"
        self.pid_file = root / "mq" / "mosquitto.pid"
        self.config_path = root / "controller.toml"
        self.config_path.write_text(
            f'data_dir = "{self.data_dir}"\n\n[plans]\nauto_approve = true\n{plans}\n'
            f'[security]\n{security}\n'
            f'[mqtt]\nport = {self.port}\n\n[http]\nport = {self.http_port}\ntls = {"true" if https else "false"}\n\n[audio]\n{audio}\n\n'
            f'[schedules]\n{OPEN_GUARDRAILS}\n'
            f'[broker]\nbind_address = "127.0.0.1"\nport = {self.port}\ntls_port = {self.tls_port}\n'
            f'device_host = "{"localhost" if tls else "127.0.0.1"}"\ncert_hosts = ["localhost"]\n'
            f'pid_file = "{self.pid_file}"\n\n{sections}'
        )
        self.config: ControllerConfig = load_config(ControllerConfig, self.config_path, env={})
        self.files = broker_config.BrokerFiles(broker_config.broker_dir(self.config))
        self.broker: Broker | None = None
        self.kid = ""
        self.handles: list[Any] = []

    def db(self) -> Database:
        return Database(self.config.db_path)

    def generate(self) -> None:
        db = self.db()
        try:
            broker_config.generate(self.config, db)
        finally:
            db.close()

    def start_broker(self) -> Broker:
        listener = f"listener {self.port} 127.0.0.1\n"
        if self.tls_port:
            listener += broker_config.render_tls_listener(self.files, self.tls_port, "127.0.0.1")
        extra = broker_config.render_auth(self.files) + f"pid_file {self.pid_file}\n"
        self.broker = Broker(self.root / "mq", port=self.port, extra_config=extra, listener=listener).start()
        return self.broker

    def start_generated_broker(self) -> Broker:
        """mosquitto running the generated ``mosquitto.conf`` itself: its listeners, access rules, TLS.

        The test tree is private to the user running the tests, so mosquitto keeps that user
        instead of dropping to ``[broker] run_as`` (tests/security/test_broker_passwords.py
        covers the drop itself).
        """
        conf = self.files.conf.read_text().replace(f"\nuser {self.config.broker.run_as}\n", "\n")  # Broker sets it
        self.broker = Broker(self.root / "mq", port=self.port, listener="# the generated configuration follows",
                             extra_config=conf).start()
        return self.broker

    def controller_account(self) -> tuple[str, str]:
        account = broker_config.controller_account(self.config)
        assert account is not None
        return account

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        out = subprocess.run(loaxa(*args, "-c", str(self.config_path)), capture_output=True, text=True,
                             env=_env(), timeout=60)
        if check:
            assert out.returncode == 0, f"loaxa {' '.join(args)} failed: {out.stderr}"
        return out

    @property
    def url(self) -> str:
        """The controller as poles reach it: by the name its certificate carries when it serves HTTPS."""
        return f"https://localhost:{self.http_port}" if self.https else f"http://127.0.0.1:{self.http_port}"

    def controller(self) -> ControllerHandle:
        h = ControllerHandle("controller", loaxa("controller", "-c", str(self.config_path)), self.root / "controller.log",
                             _env(), url=self.url, data_dir=self.data_dir, http_port=self.http_port,
                             cafile=str(self.files.ca_cert) if self.https else "")
        self.handles.append(h)
        h.start()
        return h

    def add_device(self, device_id: str, unit: str) -> str:
        """``loaxa device add`` as an operator runs it; returns the one-time code."""
        out = self.cli("device", "add", "--unit", unit, "--name", f"Cụm loa {device_id}", "--id", device_id)
        self.kid = next(line.split()[-1] for line in out.stdout.splitlines() if line.startswith("on the device:"))
        return next(line.split()[2] for line in out.stdout.splitlines() if line.startswith("enrollment code:"))

    def enroll(self, code: str, config: Path, check: bool = True, kid: str = "") -> subprocess.CompletedProcess:
        extra = ("--kid", kid) if kid else ()
        if self.https:
            extra += ("--cafile", str(self.files.ca_cert))
        out = subprocess.run(loaxa("agent", "enroll", self.url, code, "-c", str(config),
                                   *extra), capture_output=True, text=True, env=_env(), timeout=60)
        if check:
            assert out.returncode == 0, f"enroll failed: {out.stderr}"
        return out

    def agent(self, device_id: str, code: str) -> AgentHandle:
        """Write the pole's local settings, enroll it with the code, and start it."""
        data_dir = self.root / "agents" / device_id
        cfg = self.root / f"agent-{device_id}.toml"
        cfg.write_text(f'data_dir = "{data_dir}"\nstate_interval_s = 10\n\n[player]\nbackend = "file"\n\n'
                       '[relay]\npin = "GPIO17"\npin_factory = "mock"\n')
        self.enroll(code, cfg, kid=self.kid)  # as the installer does, with the key id 'device add' printed
        h = AgentHandle(device_id, loaxa("agent", "-c", str(cfg)), self.root / f"agent-{device_id}.log", _env(),
                        device_id=device_id, data_dir=data_dir)
        self.handles.append(h)
        h.start()
        return h

    def commune_with_pole(self, device_id: str = "loa-1") -> tuple[ControllerHandle, AgentHandle, str]:
        """Broker and controller running, commune ``xa`` with village ``thon-a``, one pole enrolled there.

        Returns the controller, the pole's running agent and its (spent) enrollment code.
        """
        self.generate()
        self.start_broker()
        ctl = self.controller()
        ctl.api.post("/api/units", {"id": "xa", "name": "Xã Thử", "level": "commune"})
        ctl.api.post("/api/units", {"id": "thon-a", "name": "Thôn A", "parent_id": "xa", "level": "village"})
        code = self.add_device(device_id, "thon-a")
        return ctl, self.agent(device_id, code), code

    def close(self) -> None:
        for h in reversed(self.handles):
            if h.alive:
                h.stop()
        if self.broker:
            self.broker.stop()


class Client:
    """A raw MQTT client with credentials: records the CONNACK and every message it receives."""

    def __init__(self, port: int, username: str | None = None, password: str | None = None, *,
                 client_id: str, tls_ca: Path | None = None, host: str = "127.0.0.1"):
        self.messages: list[tuple[str, bytes]] = []
        self.connack: Any = None
        self._lock = threading.Lock()
        self._answered = threading.Event()
        self._subacks: dict[int, threading.Event] = {}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls_ca is not None:
            self.client.tls_set(ca_certs=str(tls_ca), cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.connect(host, port)
        self.client.loop_start()
        wait_for(self._answered.is_set, timeout=10, what="CONNACK")

    @property
    def accepted(self) -> bool:
        return self.connack is not None and not self.connack.is_failure

    def _on_connect(self, client, userdata, flags, reason_code, props) -> None:
        self.connack = reason_code
        self._answered.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, props) -> None:
        if not self._answered.is_set():
            self.connack = reason_code
        self.disconnected = True
        self._answered.set()

    def _on_message(self, client, userdata, msg) -> None:
        with self._lock:
            self.messages.append((msg.topic, msg.payload))

    def _on_subscribe(self, client, userdata, mid, reason_codes, props) -> None:
        self._subacks.setdefault(mid, threading.Event()).set()

    def subscribe(self, *topics: str) -> None:
        for topic in topics:
            _, mid = self.client.subscribe(topic, 1)
            wait_for(lambda: self._subacks.setdefault(mid, threading.Event()).is_set(), what=f"SUBACK for {topic}")

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(timeout=5)

    def on(self, topic: str) -> list[bytes]:
        with self._lock:
            return [p for t, p in self.messages if t == topic]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
