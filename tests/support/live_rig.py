"""Live speech on real parts: an in-process controller (its own Icecast, live mixer and web app, served
over HTTP) on a real mosquitto, and real ``loaxa agent`` processes with the file sink.

The controller's signed commands reach the agents through the broker, as in the field; an agent
may reach the broker through a :class:`~support.tcp_proxy.TcpProxy`, so a test can cut its link.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from controller.devtools.broker_runner import Broker, free_port
from controller.devtools.demo import agent_toml
from support.browser import ServedApp
from support.harness import AgentHandle, _env, loaxa, wait_for
from support.world import World, make_world


class LivePoles:
    def __init__(self, root: Path, broker: Broker, extra_devices: dict[str, str] | None = None):
        self.root = root
        self.broker = broker
        self._icecast_dir = Path(tempfile.mkdtemp(prefix="loaxa-icecast-"))  # reachable by Icecast's own account
        self.world: World = make_world(
            root / "ctl", mqtt_port=str(broker.port), streaming_enabled="true", streaming_port=str(free_port()),
            streaming_config_dir=str(self._icecast_dir / "icecast"), schedules_quiet_start="00:00",
            schedules_quiet_end="00:00",
            # the anonymous test broker gives agents no credentials, and they were never enrolled
            security_media_requires_auth="false", security_require_device_signatures="false")
        self.controller = self.world.controller
        for device_id, unit in (extra_devices or {}).items():
            self.controller.registry.add_device(device_id, f"Cụm loa {device_id}", unit)
        self.agents: dict[str, AgentHandle] = {}
        self.served: ServedApp | None = None

    def start(self) -> "LivePoles":
        self.controller.start()
        self.served = ServedApp(self.world.app)
        return self

    def agent(self, device_id: str, mqtt_port: int | None = None) -> AgentHandle:
        """A real agent process; ``mqtt_port`` (a proxy's) instead of the broker's own."""
        key = self.world.call("root", "GET", "/api/pubkey").get_json()["public_key"]
        data_dir = self.root / "agents" / device_id
        cfg = self.root / f"agent-{device_id}.toml"
        cfg.write_text(agent_toml(device_id, data_dir, self.served.url, key, mqtt_port or self.broker.port))
        handle = AgentHandle(device_id, loaxa("agent", "-c", str(cfg)), self.root / f"agent-{device_id}.log", _env(),
                             device_id=device_id, data_dir=data_dir)
        handle.start()
        self.agents[device_id] = handle
        return handle

    def online(self, device_id: str) -> bool:
        return self.controller.registry.device(device_id).online

    def stream_pcm(self, device_id: str, item_id: str) -> bytes:
        path = self.agents[device_id].data_dir / "sink" / f"stream-{item_id}.pcm"
        return path.read_bytes() if path.exists() else b""

    def chunks(self, device_id: str) -> list[dict]:
        path = self.agents[device_id].data_dir / "sink" / "chunks.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []

    def events(self, device_id: str, item_id: str) -> list[str]:
        """The kinds of the playback events the controller stored for one device and item, in order."""
        with self.controller.db.tx() as db:
            rows = db.execute("SELECT kind FROM playback_events WHERE device_id = ? AND item_id = ? ORDER BY seq",
                              [device_id, item_id]).fetchall()
        return [r[0] for r in rows]

    def close(self) -> None:
        for handle in self.agents.values():
            if handle.alive:
                handle.stop()
        if self.served is not None:
            self.served.close()
        self.controller.stop()
        shutil.rmtree(self._icecast_dir, ignore_errors=True)


class Speaker:
    """What MediaRecorder sends: a WebM/Opus recording of a tone, in 250 ms slices at its own pace.

    The recording is made before the session starts: a session that hears nothing for
    ``idle_end_s`` ends (a closed tab), and encoding a minute of Opus takes seconds under load.
    """

    def __init__(self, world: World, who: str, path: Path, freq: int = 500, seconds: float = 60.0):
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        f"sine=frequency={freq}:duration={seconds}", "-c:a", "libopus", "-b:a", "32k", "-f", "webm",
                        str(path)], check=True)
        self.data = path.read_bytes()
        self.world, self.who, self.seconds = world, who, seconds
        self.session_id = ""
        self.refused: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="speaker", daemon=True)

    def start(self, session_id: str) -> "Speaker":
        self.session_id = session_id
        self._thread.start()
        return self

    def _run(self) -> None:
        slices = int(self.seconds / 0.25)
        step = len(self.data) // slices + 1
        t0 = time.monotonic()
        for i in range(slices):
            if self._stop.is_set():
                return
            r = self.world.call(self.who, "POST", f"/api/live/{self.session_id}/audio",
                                data=self.data[i * step:(i + 1) * step], content_type="audio/webm")
            if r.status_code != 200:
                self.refused.append(r.status_code)
                return
            self._stop.wait(max(0.0, t0 + (i + 1) * 0.25 - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


def wait_online(poles: LivePoles, *devices: str, online: bool = True, timeout: float = 30) -> None:
    wait_for(lambda: all(poles.online(d) == online for d in devices), timeout=timeout,
             what=f"{', '.join(devices)} {'online' if online else 'offline'}")
