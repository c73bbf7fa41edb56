"""Checksum-verified media cache: download with Range resume, verify sha256, rename atomically.

A file enters the cache only once its sha256 (which came inside the signed plan) matches;
partial downloads are kept as ``<sha>.part`` and resumed after a crash or a dropped link.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import logging
import os
import random
import shutil
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from edge_agent.store import AgentStore

log = logging.getLogger(__name__)

CHUNK = 64 * 1024


class MediaError(RuntimeError):
    """A download that failed for a reason worth reporting (not found, bad hash, disk full)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class MediaRef:
    sha256: str
    ext: str
    size: int

    @property
    def name(self) -> str:
        return f"{self.sha256}.{self.ext}"


class MediaCache:
    def __init__(self, cache_dir: Path, store: AgentStore, base_url: str, auth: tuple[str, str] | None = None,
                 timeout_s: float = 20.0):
        self.dir = cache_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.store = store
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.timeout_s = timeout_s
        self._lock = threading.Lock()

    def path(self, ref: MediaRef) -> Path:
        return self.dir / ref.name

    def has(self, ref: MediaRef) -> bool:
        return self.store.has_media(ref.sha256) and self.path(ref).is_file()

    def cache_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.dir.glob("*") if p.is_file())

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.dir).free

    def fetch(self, ref: MediaRef) -> Path:
        """Make sure ``ref`` is in the cache, downloading (and resuming) as needed."""
        with self._lock:
            if self.has(ref):
                return self.path(ref)
            part = self.dir / f"{ref.name}.part"
            have = part.stat().st_size if part.exists() else 0
            if have > ref.size:
                part.unlink()
                have = 0
            if have < ref.size:
                self._download(ref, part, have)
            digest = _sha256_file(part)
            if digest != ref.sha256 or part.stat().st_size != ref.size:
                part.unlink(missing_ok=True)
                raise MediaError("checksum_mismatch", f"{ref.name}: downloaded file has sha256 {digest[:12]}…, refusing it")
            final = self.path(ref)
            os.replace(part, final)
            _fsync_dir(self.dir)
            self.store.add_media(ref.sha256, ref.ext, ref.size)
            log.info("cached %s (%d bytes)", ref.name, ref.size)
            return final

    def _download(self, ref: MediaRef, part: Path, have: int) -> None:
        req = urllib.request.Request(f"{self.base_url}/media/{ref.name}")
        if have:
            req.add_header("Range", f"bytes={have}-")
        if self.auth:
            req.add_header("Authorization", basic_auth(self.auth))
        if self.free_bytes() < (ref.size - have) + 16 * 1024 * 1024:
            raise MediaError("disk_full", f"not enough free disk for {ref.name} ({ref.size} bytes)")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                mode = "ab" if have and resp.status == 206 else "wb"
                if mode == "wb" and have:
                    log.info("server ignored the range request for %s; downloading from the start", ref.name)
                with open(part, mode) as f:
                    while chunk := resp.read(CHUNK):
                        f.write(chunk)
                    f.flush()
                    os.fsync(f.fileno())
        except urllib.error.HTTPError as exc:
            if exc.code == 416:
                part.unlink(missing_ok=True)
            if exc.code in (401, 403, 404, 416):
                raise MediaError(f"http_{exc.code}", f"{ref.name}: controller answered {exc.code}") from None
            raise
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise MediaError("disk_full", f"disk full while downloading {ref.name}") from None
            raise

    def evict(self, keep: Iterable[MediaRef]) -> int:
        """Delete cached media no current plan item needs; returns how many files went."""
        keep_names = {r.name for r in keep}
        removed = 0
        with self._lock:
            for sha, ext, _size in self.store.media_entries():
                name = f"{sha}.{ext}"
                if name not in keep_names:
                    (self.dir / name).unlink(missing_ok=True)
                    self.store.remove_media(sha)
                    removed += 1
            keep_parts = {f"{n}.part" for n in keep_names}
            for p in self.dir.glob("*.part"):
                if p.name not in keep_parts:
                    p.unlink(missing_ok=True)
        return removed


def fetch_with_retries(cache: MediaCache, ref: MediaRef, stop: threading.Event, *, attempts: int = 8,
                       base_delay: float = 1.0, max_delay: float = 60.0,
                       on_error: Callable[[MediaRef, Exception], None] | None = None) -> Path | None:
    """Fetch with exponential backoff and full jitter; gives up on permanent errors."""
    for attempt in range(attempts):
        try:
            return cache.fetch(ref)
        except MediaError as exc:
            log.warning("media %s: %s", ref.name, exc)
            if on_error:
                on_error(ref, exc)
            if exc.reason in ("http_404", "http_401", "http_403", "disk_full"):
                return None
        except (OSError, urllib.error.URLError) as exc:
            log.warning("media %s: download failed (%s); retrying", ref.name, exc)
        delay = random.uniform(0, min(max_delay, base_delay * 2 ** attempt))
        if stop.wait(delay):
            return None
    return None


def basic_auth(auth: tuple[str, str]) -> str:
    """The device's broker credentials as an HTTP Basic header: the authenticated media channel."""
    return "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
