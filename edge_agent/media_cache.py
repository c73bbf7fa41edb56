"""Checksum-verified media cache: download with Range resume, verify sha256, rename atomically.

A file enters the cache only once its sha256 (which came inside the signed plan) matches;
partial downloads are kept as ``<sha>.part`` and resumed after a crash or a dropped link.

Each file has its own lock, so a slow download of a large file never holds up another
file, nor the playback thread: :class:`Downloads` runs several downloads at once, the
earliest-starting item first, and the playback thread only asks whether a file is ready.
A file the playback thread holds (:meth:`MediaCache.hold`) or that is being fetched is
never evicted, even if a newer plan no longer lists it.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import heapq
import http.client
import itertools
import logging
import os
import random
import shutil
import ssl
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
                 timeout_s: float = 20.0, *, context: ssl.SSLContext | None = None):
        self.dir = cache_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.store = store
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.timeout_s = timeout_s
        self.context = context
        self._lock = threading.Lock()  # guards the two tables below and eviction; never held during a download
        self._file_locks: dict[str, threading.Lock] = {}
        self._held: dict[str, int] = {}

    def path(self, ref: MediaRef) -> Path:
        return self.dir / ref.name

    def has(self, ref: MediaRef) -> bool:
        return self.store.has_media(ref.sha256) and self.path(ref).is_file()

    def cache_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.dir.glob("*") if p.is_file())

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.dir).free

    def _file_lock(self, ref: MediaRef) -> threading.Lock:
        with self._lock:
            return self._file_locks.setdefault(ref.name, threading.Lock())

    def hold(self, ref: MediaRef) -> Path | None:
        """The cached file, kept from eviction until :meth:`release` (None if it is not cached)."""
        with self._lock:
            if not self.has(ref):
                return None
            self._held[ref.name] = self._held.get(ref.name, 0) + 1
            return self.path(ref)

    def release(self, ref: MediaRef) -> None:
        with self._lock:
            left = self._held.get(ref.name, 0) - 1
            if left > 0:
                self._held[ref.name] = left
            else:
                self._held.pop(ref.name, None)

    def fetch(self, ref: MediaRef) -> Path:
        """Make sure ``ref`` is in the cache, downloading (and resuming) as needed.

        Only this file's lock is held meanwhile: other files download and play freely.
        """
        with self._file_lock(ref):
            if self.has(ref):
                return self.path(ref)
            part = self.dir / f"{ref.name}.part"
            have = part.stat().st_size if part.exists() else 0
            if have > ref.size:
                part.unlink()
                have = 0
            if have < ref.size:
                self._download(ref, part, have)
                got = part.stat().st_size if part.exists() else 0
                if got < ref.size:  # the link dropped mid-file: keep the part, resume from it next time
                    raise ConnectionError(f"{ref.name}: download ended at {got} of {ref.size} bytes")
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
            with urllib.request.urlopen(req, timeout=self.timeout_s, context=self.context) as resp:
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
        """Delete cached media no current plan item needs; returns how many files went.

        A file being played or prepared (held) or being downloaded stays, whatever the plan says.
        """
        keep_names = {r.name for r in keep}
        removed = 0
        with self._lock:
            keep_names |= set(self._held)
            keep_names |= {name for name, lock in self._file_locks.items() if lock.locked()}
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


PERMANENT = ("http_404", "http_401", "http_403", "disk_full")


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
            if exc.reason in PERMANENT:
                return None
        except (OSError, urllib.error.URLError, http.client.HTTPException) as exc:  # a dropped link: resume later
            log.warning("media %s: download failed (%s); retrying", ref.name, exc)
        delay = random.uniform(0, min(max_delay, base_delay * 2 ** attempt))
        if stop.wait(delay):
            return None
    return None


@dataclass
class _Job:
    ref: MediaRef
    start_ts: float
    done: threading.Event
    running: bool = False
    refused: bool = False  # the last attempt got a wrong or refused file (not a network blip)


class Downloads:
    """Background downloads: several at once, the file of the earliest-starting item first.

    :meth:`want` queues a file (or moves it forward); :meth:`pending` tells the playback
    thread whether waiting for a file makes sense.  A file wanted for an item due now is
    started on a thread of its own at once, so it never queues behind large downloads.
    ``on_done`` is called after each file (the playback thread is woken with it).
    """

    def __init__(self, cache: MediaCache, stop: threading.Event, *, workers: int = 2,
                 on_error: Callable[[MediaRef, Exception], None] | None = None,
                 on_done: Callable[[MediaRef, Path | None], None] | None = None,
                 attempts: int = 8, base_delay: float = 1.0):
        self.cache = cache
        self.stop = stop
        self.on_error = on_error
        self.on_done = on_done
        self.attempts = attempts
        self.base_delay = base_delay
        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        self._jobs: dict[str, _Job] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._threads = [threading.Thread(target=self._worker, name=f"download-{n}", daemon=True) for n in range(workers)]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def shutdown(self) -> None:
        with self._cv:
            self._cv.notify_all()

    def want(self, ref: MediaRef, start_ts: float, *, now: bool = False) -> None:
        """Queue ``ref`` for an item starting at ``start_ts``; ``now``: start it at once (an item is due)."""
        if self.cache.has(ref):
            return
        with self._cv:
            job = self._jobs.get(ref.name)
            new = job is None
            if job is None:
                job = self._jobs[ref.name] = _Job(ref, start_ts, threading.Event())
            if job.running:
                return
            if now:
                job.running = True
                threading.Thread(target=self._run, args=(job,), name="download-due", daemon=True).start()
                return
            if new or start_ts < job.start_ts:  # queued once; moved forward when an earlier item needs it
                job.start_ts = start_ts
                heapq.heappush(self._heap, (start_ts, next(self._seq), ref.name))
                self._cv.notify()

    def pending(self, ref: MediaRef) -> bool:
        """True while ``ref`` is queued or downloading and was not refused: waiting for it may pay."""
        with self._lock:
            job = self._jobs.get(ref.name)
            return job is not None and not job.refused

    def busy(self) -> bool:
        with self._lock:
            return bool(self._jobs)

    def _worker(self) -> None:
        while not self.stop.is_set():
            with self._cv:
                job = None
                while job is None and not self.stop.is_set():
                    while self._heap:
                        start_ts, _, name = heapq.heappop(self._heap)
                        candidate = self._jobs.get(name)
                        if candidate is not None and not candidate.running and candidate.start_ts == start_ts:
                            job = candidate
                            break
                    if job is None:
                        self._cv.wait(5)
                if job is None:
                    return
                job.running = True
            self._run(job)

    def _run(self, job: _Job) -> None:
        def error(ref: MediaRef, exc: Exception) -> None:
            job.refused = True
            if self.on_error:
                self.on_error(ref, exc)
            if self.on_done:  # waiting for this file no longer pays: whoever waits must hear it now
                self.on_done(ref, None)

        path = None
        try:
            path = fetch_with_retries(self.cache, job.ref, self.stop, attempts=self.attempts,
                                      base_delay=self.base_delay, on_error=error)
        except Exception:  # noqa: BLE001 - a download worker must outlive any one file
            log.exception("media %s: download failed unexpectedly", job.ref.name)
        finally:
            with self._cv:
                self._jobs.pop(job.ref.name, None)
            job.done.set()
            if self.on_done:
                self.on_done(job.ref, path)


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
