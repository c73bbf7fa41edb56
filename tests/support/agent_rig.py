"""Helpers of the agent tests: real audio clips, a tiny Range-capable media server, signed plans,
and an in-process conductor on a file sink with a mock relay pin."""

from __future__ import annotations

import hashlib
import http.server
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from edge_agent.capture import LevelMeter
from edge_agent.conductor import Conductor
from edge_agent.config import PlayerSettings, RelaySettings
from edge_agent.hardware import Relay, Volume
from edge_agent.player import FileSinkOutput
from edge_agent.store import AgentStore
from loaxa.protocol import Command, Plan, PlayItem, Signer
from loaxa.wire_time import utcnow


@dataclass(frozen=True)
class Clip:
    path: Path
    sha256: str
    size: int
    seconds: float

    @property
    def name(self) -> str:
        return self.path.name


def make_clip(directory: Path, seconds: float, freq: int = 440, silent: bool = False, ext: str = "ogg") -> Clip:
    """A real Opus (or MP3) clip made by ffmpeg: a tone, or digital silence."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f"tmp-{freq}-{seconds}-{silent}.{ext}"
    source = "anullsrc=r=48000:cl=mono" if silent else f"sine=frequency={freq}:sample_rate=48000"
    codec = ["-c:a", "libopus", "-b:a", "32k"] if ext == "ogg" else ["-c:a", "libmp3lame", "-b:a", "64k"]
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-t", str(seconds),
                    "-ac", "1", *codec, str(tmp)], check=True)
    data = tmp.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    final = directory / f"{sha}.{ext}"
    tmp.rename(final)
    return Clip(final, sha, len(data), seconds)


def play_item(item_id: str, clip: Clip, start: datetime, **kw: Any) -> PlayItem:
    return PlayItem(item_id=item_id, start=start, sha256=clip.sha256, size=clip.size, ext=clip.path.suffix[1:],
                    duration_s=clip.seconds, **kw)


def sealed_plan(signer: Signer, device: str, version: int, items: tuple[PlayItem, ...], ttl_s: float = 3600,
                groups: tuple[str, ...] = ()) -> bytes:
    now = utcnow()
    return signer.seal(Plan(device_id=device, plan_version=version, issued_at=now,
                            expires_at=now + timedelta(seconds=ttl_s), items=items, groups=groups))


def sealed_command(signer: Signer, target: str, seq: int, action: str, ttl_s: float = 60, **kw: Any) -> bytes:
    now = utcnow()
    return signer.seal(Command(target=target, seq=seq, action=action, issued_at=now,
                               expires_at=now + timedelta(seconds=ttl_s), **kw))


class MediaServer:
    """Serves ``/media/<name>`` from a directory with HTTP Range, and records every request.

    ``hold_after`` makes the first full download stall after that many bytes (until the
    client goes away, or :meth:`release`), which is how a test catches an agent
    mid-download deterministically; ``hold_only`` limits that to one file name (a large
    file that is slow to come while others download normally).
    """

    def __init__(self, directory: Path, hold_after: int | None = None, tamper: bool = False,
                 hold_only: str | None = None):
        self.dir = directory
        self.hold_after = hold_after
        self.hold_only = hold_only
        self.tamper = tamper
        self.requests: list[dict[str, str]] = []
        self._release = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append({"path": self.path, "range": self.headers.get("Range", "")})
                name = self.path.rsplit("/", 1)[-1]
                path = server.dir / name
                if not self.path.startswith("/media/") or not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                if server.tamper:
                    data = bytes(b ^ 0x55 for b in data)
                start = 0
                rng = self.headers.get("Range", "")
                if rng.startswith("bytes=") and rng.endswith("-"):
                    start = int(rng[6:-1])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                if server.hold_after is not None and start == 0 and server.hold_only in (None, name) \
                        and not server._release.is_set():
                    self.wfile.write(body[:server.hold_after])
                    self.wfile.flush()
                    server._release.wait(60)
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def release(self) -> None:
        """End the stalled download (the client sees the connection drop and resumes with a Range request)."""
        self._release.set()

    def requested(self) -> list[str]:
        """File names in the order they were first asked for."""
        names: list[str] = []
        for r in list(self.requests):
            name = r["path"].rsplit("/", 1)[-1]
            if name not in names:
                names.append(name)
        return names

    def close(self) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class ConductorRig:
    """A conductor on real parts (SQLite store, file sink, ffmpeg, gpiozero mock pin), events in a list."""

    root: Path
    relay_settings: RelaySettings = field(default_factory=lambda: RelaySettings(pin="GPIO17", pin_factory="mock",
                                                                               warmup_s=0.5, tail_s=0.5))
    player: PlayerSettings = field(default_factory=lambda: PlayerSettings(backend="file", prepare_lead_s=1.0))
    meter: LevelMeter | None = None
    clock_flags: Any = None
    items: tuple[PlayItem, ...] = ()
    events: list[tuple[str, PlayItem | None, dict[str, Any]]] = field(default_factory=list)
    pending: set[str] = field(default_factory=set)  # sha256 of files still downloading
    volume: Volume | None = None  # a real Volume without a mixer control: the sink records its level
    emergency_min_volume: int = 0
    clock_offset_s: float = 0.0  # the agent's measured clock offset (its clock is that far ahead)

    def __post_init__(self) -> None:
        self.store = AgentStore(self.root / "agent.db")
        volume = self.volume
        self.sink = FileSinkOutput(self.root / "sink", volume=(lambda: volume.mixer) if volume else (lambda: None))
        self.relay = Relay(self.relay_settings)
        self.pin = self.relay._device.pin if self.relay._device is not None else None
        if self.pin is not None:
            self.pin.clear_states()
        self.pin_t0 = time.monotonic()
        self.wall_minus_mono = time.time() - time.monotonic()
        self.media: dict[str, Path] = {}
        self.conductor = Conductor(
            self.store, self.sink, self.relay, self.player, self.relay_settings,
            items=lambda: self.items, media_path=self._media_path, emit=self._emit,
            on_change=lambda: None, clock_flags=self.clock_flags or (lambda: []), meter=self.meter,
            clock_offset_s=lambda: self.clock_offset_s,
            media_pending=lambda item: item.sha256 in self.pending,
            volume=self.volume, emergency_min_volume=self.emergency_min_volume,
        )

    def _media_path(self, item: PlayItem) -> Path | None:
        return None if item.sha256 in self.pending else self.media.get(item.sha256)

    def arrive(self, clip: Clip) -> None:
        """A file that was still downloading is there now (the agent wakes the conductor the same way)."""
        self.pending.discard(clip.sha256)
        self.conductor.wake()

    def _emit(self, kind: str, item: PlayItem | None, **fields: Any) -> None:
        self.events.append((kind, item, fields))

    def add(self, clip: Clip) -> None:
        self.media[clip.sha256] = clip.path

    def start(self) -> None:
        self.conductor.start()

    def close(self) -> None:
        self.conductor.shutdown()
        if self.conductor.is_alive():
            self.conductor.join(timeout=10)
        self.relay.close()
        self.store.close()

    def kinds(self, kind: str) -> list[tuple[PlayItem | None, dict[str, Any]]]:
        return [(i, f) for k, i, f in self.events if k == kind]

    def pin_timeline(self) -> list[tuple[float, bool]]:
        """(wall-clock instant, electrical level) of every pin change, from gpiozero's mock pin."""
        t = self.pin_t0
        out = []
        for st in self.pin.states[1:]:
            t += st.timestamp
            out.append((t + self.wall_minus_mono, bool(st.state)))
        return out
