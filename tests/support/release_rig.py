"""Helpers of the update tests: releases built from this checkout, a release server, and a
supervisor stand-in that runs an installed agent the way its systemd unit does.

Building a release (``pip wheel`` of the agent, ``pip download`` of its dependencies) takes
seconds of CPU, and the update, reboot, rollout and fleet-page tests all want the same few.
:func:`signed_releases` builds each distinct release once into a cache shared by the run's
workers and kept for the next runs (:func:`release_cache`), keyed by everything the build
reads (the agent's sources, the version and its bounds, the locked dependencies); every test
module still gets its own release key, its own copy of the files and its own signature."""

from __future__ import annotations

import fcntl
import hashlib
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import pytest

from loaxa import release_build
from loaxa.protocol import Signer

ROOT = Path(__file__).resolve().parent.parent.parent
SUPERVISOR = Path(__file__).with_name("supervisor.py")


@dataclass
class Releases:
    """Signed releases in ``<dir>/<version>/``, as the controller stores them."""

    dir: Path
    key_path: Path
    signer: Signer
    cache: Path | None = None

    def build(self, version: str, *, source: Path = ROOT, floor: str = "0.0.0", min_from: str = "0.0.0",
              sign: bool = True, key: Path | None = None) -> Path:
        out = self.dir / version
        notes = f"Bản {version}"
        if self.cache is None:
            release_build.build(out, source=source, version=version, notes=notes, floor=floor, min_from_version=min_from)
        else:
            built = _cached_build(self.cache, source, version, notes, floor, min_from)
            shutil.copytree(built, out)
        if sign:
            release_build.sign(out, key or self.key_path)
        return out


def _build_key(source: Path, *fields: str) -> str:
    """What a build reads: the agent packages' files, the entry points, the locked dependencies."""
    digest = hashlib.sha256("\0".join((sys.version, *fields, *release_build.locked_requirements())).encode())
    pyproject = source / "pyproject.toml"
    files = [pyproject if pyproject.exists() else ROOT / "pyproject.toml"]
    for pkg in release_build.AGENT_PACKAGES:
        files += sorted(p for p in (source / pkg).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in files:
        digest.update(str(path.relative_to(source) if path.is_relative_to(source) else path.name).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:24]


def _cached_build(cache: Path, source: Path, version: str, notes: str, floor: str, min_from: str) -> Path:
    """The unsigned release in the shared cache, built by the first worker that asks for it."""
    built = cache / _build_key(source, version, notes, floor, min_from)
    cache.mkdir(parents=True, exist_ok=True)
    _prune(cache, keep=built)
    with open(built.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be building the same release
        if not built.is_dir():
            partial = built.with_suffix(".partial")
            shutil.rmtree(partial, ignore_errors=True)
            release_build.build(partial, source=source, version=version, notes=notes, floor=floor,
                                min_from_version=min_from)
            partial.rename(built)
        os.utime(built)  # last used: what pruning goes by
    return built


CACHE_KEEP_S = 3 * 24 * 3600


def _prune(cache: Path, keep: Path) -> None:
    """Builds unused for a few days go: every change to the agent's sources makes new ones."""
    now = time.time()
    for old in cache.iterdir():
        if old.is_dir() and old != keep and old.suffix == "" and now - old.stat().st_mtime > CACHE_KEEP_S:
            with open(old.with_suffix(".lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if old.is_dir() and now - old.stat().st_mtime > CACHE_KEEP_S:
                    shutil.rmtree(old, ignore_errors=True)


def release_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Kept from one run to the next, beside pytest's own cache (``make clean`` removes both).

    A build is keyed by everything it reads, so a kept one is the build this checkout would
    make; the runs after the first skip the minutes of ``pip wheel`` and ``pip download``."""
    return ROOT / ".pytest_cache" / "loaxa-release-cache"


def signed_releases(tmp_path_factory: pytest.TempPathFactory, name: str, versions: Iterable[str],
                    crashing: Iterable[str] = ()) -> Releases:
    """A new release key and, signed with it, releases of this checkout: ``crashing`` ones are
    built from :func:`crashing_source` (an agent that dies at start-up)."""
    from loaxa.release_build import keygen

    tmp = tmp_path_factory.mktemp(name)
    key = tmp / "release.pem"
    releases = Releases(tmp / "built", key, keygen(key), cache=release_cache(tmp_path_factory))
    for version in versions:
        releases.build(version)
    crashing = tuple(crashing)
    if crashing:
        source = crashing_source(tmp)
        for version in crashing:
            releases.build(version, source=source)
    return releases


def crashing_source(tmp: Path) -> Path:
    """A copy of the agent's sources whose agent dies at start-up, after it read its config."""
    src = tmp / "crashing-src"
    for pkg in ("loaxa", "edge_agent"):
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    agent = src / "edge_agent" / "agent.py"
    text = agent.read_text()
    marker = "    def start(self) -> None:\n"
    assert marker in text
    agent.write_text(text.replace(marker, marker + '        raise RuntimeError("this release crashes at start-up")\n', 1))
    return src


class ReleaseServer:
    """``GET /releases/<version>/<file>`` from a directory (and ``/media/<name>``), counting the bytes sent; ``tamper``
    flips bytes of files whose name starts with it."""

    def __init__(self, directory: Path, media: Path | None = None):
        self.dir = directory
        self.media = media
        self.tamper = ""
        self.sent: dict[str, int] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = self.path.split("/")
                if len(parts) == 3 and parts[1] == "media" and server.media and (server.media / parts[2]).is_file():
                    data = (server.media / parts[2]).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if len(parts) != 4 or parts[1] != "releases" or ".." in parts:
                    self.send_error(404)
                    return
                path = server.dir / parts[2] / parts[3]
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                if server.tamper and parts[3].startswith(server.tamper):
                    data = data[:-100] + bytes(b ^ 0x55 for b in data[-100:])
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                with server._lock:
                    server.sent[self.path] = server.sent.get(self.path, 0) + len(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def install_agent(root: Path, release_dir: Path, public_key: str) -> Path:
    """``loaxa install agent --root`` with a first release; returns the agent tree (opt/loaxa-agent)."""
    out = subprocess.run([sys.executable, "-m", "loaxa", "install", "agent", "--root", str(root),
                          "--release", str(release_dir), "--release-key", public_key],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return root / "opt" / "loaxa-agent"


class Supervised:
    """The agent under ``supervisor.py``: guard, then ``current/bin/loaxa agent``, restarted on exit."""

    def __init__(self, tree: Path, config: Path, log: Path, reboot_flag: Path | None = None):
        self.tree, self.config, self.log_path = tree, config, log
        self.starts_path = log.with_suffix(".starts.jsonl")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LOAXA_", "PYTHONPATH"))}
        env["PYTHONUNBUFFERED"] = "1"
        self._log = open(log, "ab")
        args = [str(tree), str(config), str(self.starts_path), *([str(reboot_flag)] if reboot_flag else [])]
        self.proc = subprocess.Popen([sys.executable, str(SUPERVISOR), *args], stdout=self._log, stderr=self._log, env=env)

    def starts(self) -> list[dict[str, Any]]:
        if not self.starts_path.exists():
            return []
        return [json.loads(x) for x in self.starts_path.read_text().splitlines() if x.strip()]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def agent_config(path: Path, device_id: str, data_dir: Path, tree: Path, controller_key: str, release_key: str,
                 url: str, broker_port: int) -> Path:
    """An installed agent's config: file sink, mock relay, no NTP, short update bounds."""
    path.write_text(
        f'device_id = "{device_id}"\ndata_dir = "{data_dir}"\ncontroller_url = "{url}"\n'
        f'controller_public_key = "{controller_key}"\nrelease_public_key = "{release_key}"\nstate_interval_s = 5\n\n'
        f"[mqtt]\nport = {broker_port}\n\n[player]\nbackend = \"file\"\n\n[relay]\npin = \"GPIO17\"\npin_factory = \"mock\"\n\n"
        '[clock]\nntp_server = ""\nuse_chrony = false\n\n'
        f'[update]\ninstall_root = "{tree}"\nhealth_timeout_s = 60\nquiet_before_item_min = 0.1\nmax_starts = 3\n'
    )
    return path
