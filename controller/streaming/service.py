"""Live audio inside the controller: Icecast from the generated files, and one restreamer per relay.

The controller starts ``icecast2`` itself (``[streaming] enabled``), from the directory
:mod:`controller.streaming.icecast_config` writes, so ``make demo``, an installed controller and
the tests run one configuration.  A relay source is restreamed while a relay of it is on air
or about to be (:meth:`Streaming.ensure_relay`), and stopped at the slot's end.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from controller.db import Database
from controller.errors import InputError, NotFound
from controller.streaming.accounts import StreamAccount, StreamAccounts
from controller.streaming.icecast_config import (IcecastLayout, IcecastServer, default_dir, write_config,
                                                 write_tls_bundle)
from controller.streaming.restreamer import Restreamer, Switch
from controller.streaming.settings import StreamingSettings
from controller.streaming.sources import KINDS, ProbeResult, RelaySource, Sources, check_url, probe
from loaxa.protocol import StreamRef

if TYPE_CHECKING:
    from controller.plans.planner import RelayWindow

log = logging.getLogger(__name__)

LEAD_S = 20.0  # a relay's restreamer starts this long before its slot, so the mount is live at the instant
END_GRACE_S = 2.0  # and stops this long after it: agents end the slot themselves, on their own clock
PREVIEW_KEEP_S = 900.0  # a test's recording stays playable this long
_PREVIEW_RE = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class StreamAddress:
    """What a device needs to listen to a mount: the URL (with TLS when configured) and its account."""

    url: str
    username: str
    password: str


class Streaming:
    def __init__(self, db: Database, settings: StreamingSettings, data_dir: Path, device_host: str = "127.0.0.1",
                 ca_dir: Path | None = None, media_dir: Path | None = None):
        self.db = db
        self.settings = settings
        self.layout = IcecastLayout(default_dir(data_dir, settings))
        self.device_host = settings.device_host or device_host
        self.ca_dir = ca_dir
        self.media_dir = media_dir
        self.preview_dir = data_dir / "relay-previews"
        self.sources = Sources(db)
        self.server: IcecastServer | None = None
        self.accounts = StreamAccounts(db, self.layout)
        self._secrets = None
        self._relays: dict[str, tuple[Restreamer, float]] = {}
        self._windows: dict[tuple[str, float], float] = {}  # (source, slot start) -> slot end, epoch seconds
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reaper: threading.Thread | None = None

    # lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        if not self.settings.enabled:
            return
        self._secrets = write_config(self.settings, self.layout, port=self.settings.port,
                                     tls_port=self.settings.tls_port)
        if self.settings.tls_port and self.ca_dir is not None:
            write_tls_bundle(self.layout, self.ca_dir, [self.device_host, "localhost", "127.0.0.1"])
        host = self.settings.bind_address if self.settings.bind_address not in ("", "0.0.0.0") else "127.0.0.1"
        self.accounts = StreamAccounts(self.db, self.layout, f"http://{host}:{self.settings.port}",
                                       self._secrets.admin_password)
        self.accounts.sync()
        self.server = IcecastServer(self.layout, host, self.settings.port, self.settings.tls_port).start()
        self._reaper = threading.Thread(target=self._reap_loop, name="relay-reaper", daemon=True)
        self._reaper.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            relays, self._relays = list(self._relays.values()), {}
        for r, _ in relays:
            r.stop()
        if self.server is not None:
            self.server.stop()
            self.server = None

    # relay sources: tests (adding, editing and removing are controller.streaming.use_cases) ---
    def probe_source(self, source_id: str) -> ProbeResult:
        """The "test" button: listen for ``probe_s`` seconds and remember what was found."""
        src = self.sources.get(source_id)
        result = self._probe(src.url, src.kind)
        self.sources.remember_probe(source_id, result)
        return result

    def probe_url(self, url: object, kind: object) -> ProbeResult:
        """Test a source before it is registered: the form keeps what was typed whatever the answer."""
        if kind not in KINDS:
            raise InputError("invalid_kind", "Loại nguồn phải là HLS, Icecast/HTTP hoặc bộ mã hóa của đài tỉnh.", "kind")
        return self._probe(check_url(url, str(kind)), str(kind))

    def _probe(self, url: str, kind: str) -> ProbeResult:
        """Listen, and keep what was heard for the browser to play (``preview_url``) when the source is alive."""
        self._prune_previews()
        token = secrets.token_hex(8)
        path = self.preview_dir / f"{token}.ogg"
        result = probe(url, kind, self.settings.probe_s, self.settings.silence_dbfs, record_to=path)
        if result.alive and path.exists():
            return replace(result, preview_url=f"/api/relay-previews/{token}")
        return result

    def preview(self, token: str) -> Path:
        """The recording of a recent test (what the browser plays)."""
        path = self.preview_dir / f"{token}.ogg"
        if not _PREVIEW_RE.match(token) or not path.is_file():
            raise NotFound("unknown_preview", "Bản nghe thử này không còn; hãy bấm Thử lại.")
        return path

    def _prune_previews(self) -> None:
        if not self.preview_dir.is_dir():
            return
        old = time.time() - PREVIEW_KEEP_S
        for path in self.preview_dir.glob("*.ogg"):
            try:
                if path.stat().st_mtime < old:
                    path.unlink()
            except OSError:
                pass

    def accounts_revoke(self, device_id: str) -> None:
        """A revoked device loses its stream account with its broker account."""
        self.accounts.revoke(device_id)

    @property
    def running(self) -> bool:
        return self.server is not None

    # addresses ----------------------------------------------------------------------------------
    def address(self, mount: str, account: StreamAccount) -> StreamAddress:
        if self.settings.tls_port:
            base = f"https://{self.device_host}:{self.settings.tls_port}"
        else:
            base = f"http://{self.device_host}:{self.settings.port}"
        return StreamAddress(base + mount, account.username, account.password)

    def source_target(self, mount: str) -> str:
        if self._secrets is None:
            raise RuntimeError("streaming is not running")
        host = urlsplit(self.server.url).hostname if self.server else "127.0.0.1"
        return f"icecast://source:{self._secrets.source_password}@{host}:{self.settings.port}{mount}"

    def wait_mounted(self, mount: str, timeout_s: float) -> bool:
        """Wait, at most ``timeout_s``, until a source is on ``mount``: devices told before that
        get a 404, back off and join after the first seconds of the stream (the intro chime)."""
        deadline = time.monotonic() + timeout_s
        while self.running:
            if self.accounts.mounted(mount):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return False

    # relays --------------------------------------------------------------------------------------
    def stream_ref(self, device_id: str, source_id: str) -> StreamRef | None:
        """The signed address a device listens to a relay at: its own account, None when it has none."""
        try:
            mount = self.sources.get(source_id).mount
        except NotFound:
            return None
        return self.stream_ref_for_mount(device_id, mount)

    def stream_ref_for_mount(self, device_id: str, mount: str) -> StreamRef | None:
        if not self.running:
            return None
        account = self.accounts.for_device(device_id)
        if account is None:
            return None
        addr = self.address(mount, account)
        return StreamRef(url=addr.url, username=addr.username, password=addr.password,
                         playout_delay_s=self.settings.playout_delay_s)

    def plan_relays(self, windows: list[RelayWindow], complete: bool) -> None:
        """The relay slots the plans hold: each source is restreamed from ``LEAD_S`` before its slot to its end.

        ``complete`` (a rebuild of every plan) replaces the known slots, so a cancelled relay is not
        started; a partial rebuild only adds.  A slot already on air keeps its restreamer either way.
        """
        fresh = {(w.source_id, w.start.timestamp()): w.end.timestamp() for w in windows}
        with self._lock:
            if complete:
                self._windows = fresh
            else:
                self._windows.update(fresh)
        self._start_due()

    def _start_due(self) -> None:
        now = time.time()
        with self._lock:
            self._windows = {k: end for k, end in self._windows.items() if end > now}
            due = [(src, end) for (src, start), end in self._windows.items() if start - LEAD_S <= now]
        for source_id, end in due:
            try:
                self.ensure_relay(source_id, end + END_GRACE_S)
            except Exception:  # noqa: BLE001 - one broken source must not stop the others
                log.exception("relay %s could not be started", source_id)

    def ensure_relay(self, source_id: str, until: float) -> Restreamer | None:
        """Restream ``source_id`` until the epoch instant ``until`` (extended if already running)."""
        if not self.running:
            return None
        with self._lock:
            current = self._relays.get(source_id)
            if current is not None and current[0].encoder_alive:
                self._relays[source_id] = (current[0], max(current[1], until))
                return current[0]
            if current is not None:
                current[0].stop()
            source = self.sources.get(source_id)
            restreamer = self._restreamer(source)
            self._relays[source_id] = (restreamer.start(), until)
            return restreamer

    def source_changed(self, source_id: str) -> list[str]:
        """An edited source's new URL, kind or fallbacks go on air now: each relay running it (or
        falling back to it) is restarted with them, on the same timeline, until its slot's end.
        Listeners lose the mount for the restart and rejoin at the live point (a ``stream_gap``)."""
        with self._lock:
            running = list(self._relays.items())
        restarted = []
        for sid, (old, until) in running:
            if sid != source_id and old.source.fallback_source_id != source_id:
                continue
            try:
                source = self.sources.get(sid)
            except NotFound:
                continue
            with self._lock:
                if self._relays.get(sid, (None,))[0] is not old:
                    continue  # stopped or replaced meanwhile
                old.stop()
                self._relays[sid] = (self._restreamer(source).start(), until)
            log.info("relay %s restarted: source %s was edited", sid, source_id)
            restarted.append(sid)
        return restarted

    def _restreamer(self, source: RelaySource) -> Restreamer:
        fallback = self.sources.get(source.fallback_source_id) if source.fallback_source_id else None
        notice = None
        if source.fallback_media_sha256 and self.media_dir is not None:
            found = sorted(self.media_dir.glob(f"{source.fallback_media_sha256}.*"))
            notice = found[0] if found else None

        def logged(sw: Switch) -> None:
            self.sources.log_switch(source.id, source.mount, sw.from_input, sw.to_input, sw.reason)

        return Restreamer(source, self.source_target(source.mount), fallback=fallback, fallback_file=notice,
                          bitrate_kbps=self.settings.bitrate_kbps, failover_s=self.settings.failover_s,
                          silence_dbfs=self.settings.silence_dbfs, silence_flag_s=self.settings.silence_flag_s,
                          on_switch=logged)

    def relay(self, source_id: str) -> Restreamer | None:
        with self._lock:
            found = self._relays.get(source_id)
        return found[0] if found else None

    def _reap_loop(self) -> None:
        """A relay ends at its slot's end even if the source keeps going."""
        while not self._stop.wait(1.0):
            self._start_due()
            now = time.time()
            with self._lock:
                done = [k for k, (_, until) in self._relays.items() if until <= now]
                ended = [self._relays.pop(k)[0] for k in done]
            for r in ended:
                log.info("relay %s: slot over, restreamer stopped", r.source.id)
                r.stop()
