"""Signed self-update: fetch a release from the controller, verify it, build it beside the
running one, switch atomically, restart, and prove itself healthy or go back.

The order of an update (``update`` command, signed by the controller key):

1. wait for a quiet moment: never during a play, nor within ``quiet_before_item_min`` of a
   planned item;
2. over the authenticated media channel (HTTP Basic with the broker credentials), apply the
   release-key rollovers shipped with the release, then fetch ``manifest.json`` and check it
   against the pinned release keys (not the controller's), the device's version floor, the
   release's minimum version to update from, its expiry and the Python version;
3. download each listed wheel, bounded by its signed size, and check its sha256;
4. build ``releases/<version>`` from those wheels only (``pip --no-index``) and import it once;
5. record a trial in ``update.json`` and switch ``current``; exit, and systemd starts the new one.

The new version confirms itself when it is connected, has its plan and decodes the test tone
within ``health_timeout_s``; it then raises the floor to the manifest's and reports
``updated``.  Otherwise it switches back itself, or :mod:`loaxa.agent_layout`'s guard does at
the next start; the version that runs again reports ``update_failed`` with the reason.
Every refusal leaves ``current`` and the running version as they were.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from edge_agent.config import UpdateSettings
from edge_agent.keyring import RELEASE_STORE_KEY, PinnedKeys
from edge_agent.media_cache import basic_auth
from edge_agent.player import Decoder, PlayerError
from edge_agent.store import AgentStore
from loaxa import agent_layout, release
from loaxa.agent_layout import CONFIRMED, ROLLED_BACK, TRIAL, Layout
from loaxa.protocol import MAX_PAYLOAD_BYTES, ProtocolError, canonical_json
from loaxa.release import KEYS_NAME, MANIFEST_NAME, ReleaseManifest, ReleaseRefused

log = logging.getLogger(__name__)

FLOOR_KEY = "release_floor"
STAMP = ".loaxa-release.json"
BUSY_RECHECK_S = 5.0
KEEP_RELEASES = 2


class Updater:
    """One device's updates; ``state``/``detail`` go into every state message."""

    def __init__(self, settings: UpdateSettings, store: AgentStore, release_key: str, base_url: str,
                 auth: tuple[str, str] | None, running: str, *, emit: Callable[..., None], busy: Callable[[], str],
                 checks: Callable[[], dict[str, bool]], restart: Callable[[], None], changed: Callable[[], None],
                 context: ssl.SSLContext | None = None):
        self.settings = settings
        self.store = store
        self.layout = Layout(settings.install_root)
        self.keys = PinnedKeys(store, release_key, RELEASE_STORE_KEY, release.ReleaseKeyRollover) if release_key else None
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.context = context
        self.running = running
        self._emit, self._busy, self._checks, self._restart, self._changed = emit, busy, checks, restart, changed
        self.state = ""
        self.detail = ""
        self._wanted: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def floor(self) -> str:
        return self.store.get(FLOOR_KEY) or "0.0.0"

    def _set(self, state: str, detail: str = "") -> None:
        self.state, self.detail = state, detail[:400]
        self._changed()

    # lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._threads.append(threading.Thread(target=self._worker, name="updater", daemon=True))
        marker = self.layout.read_marker() if self.layout.is_installed() else {}
        if marker.get("state") == TRIAL and marker.get("version") == self.running \
                and self.layout.current_target() == marker.get("to_target"):
            self._set("trial", f"{marker.get('from_version')} → {self.running}")
            self._threads.append(threading.Thread(target=self._prove, args=(marker,), name="update-health", daemon=True))
        elif marker.get("state") == ROLLED_BACK and not marker.get("reported"):
            self._report_rollback(marker)
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def request(self, version: str) -> None:
        """Install ``version`` at the next quiet moment (a newer request replaces a waiting one)."""
        self._wanted = version
        self._wake.set()

    # installing --------------------------------------------------------------------------
    def _worker(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            version, self._wanted = self._wanted, None
            if version is None or self._stop.is_set():
                continue
            try:
                self.install(version)
            except ReleaseRefused as exc:
                self._refused(version, exc)
            except Exception as exc:  # noqa: BLE001 - a failed update must never stop the agent
                log.exception("update to %s failed", version)
                self._refused(version, ReleaseRefused("error", f"{type(exc).__name__}: {exc}"))

    def _refused(self, version: str, exc: ReleaseRefused) -> None:
        log.error("update to %s refused (%s): %s", version, exc.reason, exc)
        self._set("failed", f"{version}: {exc}")
        self._emit("update_failed", None, reason=f"{exc.reason}: {exc}"[:500], flags=[f"release:{version}"])

    def _wait_quiet(self, version: str) -> bool:
        """Block until no play is on or near; False if the agent stops or a new request comes."""
        while not self._stop.is_set():
            why = self._busy()
            if not why:
                return True
            if self.state != "waiting":
                log.info("update to %s waits: %s", version, why)
            self._set("waiting", f"{version}: {why}")
            if self._wake.wait(BUSY_RECHECK_S) and self._wanted is not None:
                return False
        return False

    def install(self, version: str) -> None:
        release.check_version(version)
        if self.keys is None:
            raise ReleaseRefused("no_release_key", "no release key is pinned on this device (enroll it again)")
        if not self.layout.is_installed():
            raise ReleaseRefused("not_installed", f"{self.layout.root} is not a release installation (loaxa install agent)")
        if version == self.running:
            self._set("updated", f"already on {version}")
            return
        if not self._wait_quiet(version):
            return
        self._set("downloading", version)
        manifest, digest = self._manifest(version)
        target = self.layout.release_dir(version)
        if not _stamped(target, digest):
            wheels = self._download(manifest)
            self._set("installing", version)
            self._build(manifest, wheels, target, digest)
        if not self._wait_quiet(version):
            return
        self._switch(manifest)

    def _fetch_bytes(self, path: str, limit: int) -> bytes | None:
        req = urllib.request.Request(f"{self.base_url}/releases/{path}")
        if self.auth:
            req.add_header("Authorization", basic_auth(self.auth))
        try:
            with urllib.request.urlopen(req, timeout=self.settings.download_timeout_s, context=self.context) as resp:
                data = resp.read(limit + 1)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise ReleaseRefused("download", f"controller answered {exc.code} for {path}") from None
        except OSError as exc:
            raise ReleaseRefused("download", f"cannot reach the controller for {path}: {exc}") from None
        if len(data) > limit:
            raise ReleaseRefused("too_large", f"{path} is larger than {limit} bytes")
        return data

    def _manifest(self, version: str) -> tuple[ReleaseManifest, str]:
        chain = self._fetch_bytes(f"{version}/{KEYS_NAME}", MAX_PAYLOAD_BYTES)
        if chain:
            self._apply_rollovers(chain)
        payload = self._fetch_bytes(f"{version}/{MANIFEST_NAME}", MAX_PAYLOAD_BYTES)
        if payload is None:
            raise ReleaseRefused("not_found", f"the controller has no release {version}")
        assert self.keys is not None
        manifest = release.open_manifest(payload, self.keys.verifier, self.keys.retired_kids)
        if manifest.version != version:
            raise ReleaseRefused("bad_manifest", f"asked for {version}, the signed manifest is for {manifest.version}")
        release.check_applicable(manifest, running=self.running, floor=self.floor)
        return manifest, hashlib.sha256(payload).hexdigest()

    def _apply_rollovers(self, chain: bytes) -> None:
        assert self.keys is not None
        try:
            envelopes = json.loads(chain)
        except ValueError:
            raise ReleaseRefused("bad_keys", f"{KEYS_NAME} is not JSON") from None
        if not isinstance(envelopes, list):
            raise ReleaseRefused("bad_keys", f"{KEYS_NAME} is not a list of rollovers")
        for env in envelopes:
            try:
                accepted = self.keys.apply_rollover(canonical_json(env))
            except (ProtocolError, TypeError, ValueError) as exc:
                raise ReleaseRefused("bad_keys", f"release-key rollover refused: {exc}") from None
            if accepted:
                self._emit("security", None, reason=f"release key rollover #{accepted.rollover.seq}: now trusting "
                                                     f"{accepted.next_kid}, retired {accepted.rollover.retire_kid}")

    def _download(self, m: ReleaseManifest) -> Path:
        wheels = self.layout.downloads / m.version
        wheels.mkdir(parents=True, exist_ok=True)
        wanted = {f.name for f in m.files}
        for p in wheels.iterdir():
            if p.name not in wanted:
                p.unlink()
        free = shutil.disk_usage(wheels).free
        if free < 3 * m.total_bytes + 32 * 1024 * 1024:
            raise ReleaseRefused("disk_full", f"release {m.version} needs about {3 * m.total_bytes // 2**20} MB free")
        for f in m.files:
            path = wheels / f.name
            if path.is_file() and path.stat().st_size == f.size and release.sha256_file(path) == f.sha256:
                continue
            data = self._fetch_bytes(f"{m.version}/{f.name}", f.size)
            if data is None:
                raise ReleaseRefused("missing_file", f"the controller has no {f.name}")
            path.write_bytes(data)
            try:
                release.check_file(wheels, f)
            except ReleaseRefused:
                path.unlink(missing_ok=True)
                raise
        return wheels

    def _build(self, m: ReleaseManifest, wheels: Path, target: Path, digest: str) -> None:
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            agent_layout.build_venv(target, wheels, m.requirements())
            out = subprocess.run([str(target / "bin" / "python"), "-I", "-c",
                                  "import loaxa, edge_agent.agent; print(loaxa.__version__)"],
                                 capture_output=True, text=True, timeout=120)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            shutil.rmtree(target, ignore_errors=True)
            err = getattr(exc, "stderr", b"") or b""
            err = err.decode(errors="replace") if isinstance(err, bytes) else err
            raise ReleaseRefused("install", f"building release {m.version} failed: {err.strip()[-300:] or exc}") from None
        if out.returncode != 0 or out.stdout.strip() != m.version:
            shutil.rmtree(target, ignore_errors=True)
            raise ReleaseRefused("install", f"release {m.version} does not import: {out.stderr.strip()[-300:]}")
        (target / STAMP).write_text(json.dumps({"version": m.version, "manifest_sha256": digest, "floor": m.floor,
                                                 "installed_at": time.time()}))

    def _switch(self, m: ReleaseManifest) -> None:
        marker = {
            "state": TRIAL, "version": m.version, "from_version": self.running,
            "from_target": self.layout.current_target(), "to_target": self.layout.target_of(m.version),
            "starts": 0, "max_starts": self.settings.max_starts, "floor": m.floor,
            "health_timeout_s": self.settings.health_timeout_s, "started_at": time.time(),
            # the guard's bound: the health timeout, plus a margin for the restarts themselves
            "deadline": time.time() + self.settings.health_timeout_s * 2 + 60,
        }
        self.layout.write_marker(marker)
        self.layout.switch(marker["to_target"])
        log.warning("switched to release %s (trial); restarting", m.version)
        self._set("trial", f"{self.running} → {m.version}")
        self._restart()

    # after the restart -------------------------------------------------------------------
    def _prove(self, marker: dict) -> None:
        deadline = time.monotonic() + float(marker.get("health_timeout_s", self.settings.health_timeout_s))
        checks: dict[str, bool] = {}
        while not self._stop.is_set():
            checks = self._checks()
            if all(checks.values()):
                self._confirm(marker)
                return
            if time.monotonic() > deadline:
                break
            self._stop.wait(1.0)
        if self._stop.is_set() and time.monotonic() <= deadline:
            return
        failing = ", ".join(k for k, ok in checks.items() if not ok) or "unknown"
        reason = f"version {self.running} not healthy within {marker.get('health_timeout_s')} s: {failing}"
        log.error("%s; rolling back to %s", reason, marker.get("from_version"))
        agent_layout.rollback(self.layout, marker, reason)
        self._restart()

    def _confirm(self, marker: dict) -> None:
        floor = marker.get("floor") or "0.0.0"
        if release.older(self.floor, floor):
            self.store.set(FLOOR_KEY, floor)
        self.layout.write_marker(dict(marker, state=CONFIRMED, confirmed_at=time.time()))
        log.warning("release %s is healthy: update from %s confirmed", self.running, marker.get("from_version"))
        self._set("updated", f"{marker.get('from_version')} → {self.running}")
        self._emit("updated", None, reason=f"{marker.get('from_version')} → {self.running}",
                   flags=[f"release:{self.running}"])
        self._prune(keep={marker.get("to_target"), marker.get("from_target")})

    def _report_rollback(self, marker: dict) -> None:
        reason = str(marker.get("reason") or "rolled back")
        self._set("rolled_back", reason)
        self._emit("update_failed", None, reason=f"rolled_back: {reason}"[:500],
                   flags=[f"release:{marker.get('version', '')}"])
        self.layout.write_marker(dict(marker, reported=True))

    def _prune(self, keep: set) -> None:
        """Keep the running release and the one before it (a fleet rollback switches back to it locally)."""
        shutil.rmtree(self.layout.downloads, ignore_errors=True)
        if not self.layout.releases.is_dir():
            return
        for d in self.layout.releases.iterdir():
            if str(d.relative_to(self.layout.root)) not in keep and d.is_dir():
                shutil.rmtree(d, ignore_errors=True)


def _stamped(target: Path, digest: str) -> bool:
    try:
        return json.loads((target / STAMP).read_text()).get("manifest_sha256") == digest
    except (OSError, ValueError, AttributeError):
        return False


def decode_test_tone(rate: int = 16000) -> bool:
    """The audio chain of this version works: ffmpeg makes a 1 kHz tone and the player decodes it."""
    with tempfile.TemporaryDirectory(prefix="loaxa-tone-") as tmp:
        tone = Path(tmp) / "tone.ogg"
        made = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=1000:duration=1",
                               "-ac", "1", "-c:a", "libopus", "-b:a", "24k", str(tone)], capture_output=True, timeout=60)
        if made.returncode != 0:
            return False
        try:
            dec = Decoder(tone, rate)
        except PlayerError:
            return False
        head = dec.head
        dec.close()
    return len(head) >= rate and any(head[i] for i in range(0, len(head), 97))
