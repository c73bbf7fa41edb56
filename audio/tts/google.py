"""Google's Vietnamese voice through gTTS, made safe for an unattended controller.

gTTS 2.2 cuts text into pieces of at most 100 characters and posts one request per
piece with no timeout, from a fresh session each time; Google answers bursts with
429.  So gTTS is used only to *build* the request bodies, and this module sends them
itself: sentence by sentence (each sentence cached as MP3, so a retry or a later
render never asks twice), through one session with bounded timeouts, a minimum
interval between requests, retries with backoff on 429/5xx, and a time budget per
render.  A failure puts the endpoint in cool-down, so 'auto' does not wait on an
unreachable Google again for a while.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import requests
from gtts import gTTS
from pydub import AudioSegment

from audio.settings import AudioSettings
from audio.tts.base import EngineUnavailable, SpeechEngine

log = logging.getLogger(__name__)

RPC_PATH = "/_/TranslateWebserverUi/data/batchexecute"
MAX_BACKOFF_S = 8.0
GTTS_RATE = 24000
_AUDIO_RE = re.compile(r'jQ1olc","\[\\"(.*)\\"]')
_SENTENCE_END_RE = re.compile(r"(?<=[.!?…;])\s+|\n+")

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class Health:
    """Remembers the last failure of one endpoint, so 'auto' skips it for a cool-down period."""

    def __init__(self, clock: Clock = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._failed_at: float | None = None
        self.reason = ""

    def record_failure(self, reason: str) -> None:
        with self._lock:
            self._failed_at = self._clock()
            self.reason = reason

    def record_success(self) -> None:
        with self._lock:
            self._failed_at = None
            self.reason = ""

    def cooling_down(self, cooldown_s: float) -> bool:
        with self._lock:
            return self._failed_at is not None and self._clock() - self._failed_at < cooldown_s


class Throttle:
    """Spaces requests to one endpoint at least ``min_interval`` apart, across threads."""

    def __init__(self, clock: Clock = time.monotonic, sleep: Sleep = time.sleep):
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._last: float | None = None

    def wait(self, min_interval: float) -> None:
        with self._lock:
            if self._last is not None:
                delay = self._last + min_interval - self._clock()
                if delay > 0:
                    self._sleep(delay)
            self._last = self._clock()


_registry_lock = threading.Lock()
_health: dict[str, Health] = {}
_throttles: dict[str, Throttle] = {}


def health_for(base_url: str) -> Health:
    with _registry_lock:
        return _health.setdefault(base_url, Health())


def throttle_for(base_url: str) -> Throttle:
    with _registry_lock:
        return _throttles.setdefault(base_url, Throttle())


def split_sentences(text: str) -> list[str]:
    """Sentences (or lines), the unit of caching; gTTS cuts each further at punctuation and spaces."""
    return [s.strip() for s in _SENTENCE_END_RE.split(text) if any(c.isalnum() for c in s)]


def base_url(settings: AudioSettings) -> str:
    return (settings.gtts_endpoint or f"https://translate.google.{settings.gtts_tld}").rstrip("/")


class GoogleEngine(SpeechEngine):
    name = "gtts"

    def __init__(
        self,
        settings: AudioSettings,
        cache_dir: Path | None = None,
        session: requests.Session | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ):
        self.settings = settings
        self.base_url = base_url(settings)
        self.cache_dir = cache_dir
        self.session = session or requests.Session()
        self.health = health_for(self.base_url)
        self.throttle = throttle_for(self.base_url)
        self._clock = clock
        self._sleep = sleep
        self._deadline: float | None = None
        self._resolved = False

    @property
    def identity(self) -> dict[str, Any]:
        s = self.settings
        return {"engine": self.name, "lang": s.gtts_lang, "tld": s.gtts_tld, "slow": s.gtts_slow, "rate": s.speech_rate}

    def ready(self) -> bool:
        return not self.health.cooling_down(self.settings.gtts_cooldown_s)

    def speak(self, text: str) -> AudioSegment:
        if self._deadline is None:
            self._deadline = self._clock() + self.settings.gtts_budget_s
        try:
            mp3 = b"".join(self._sentence_mp3(s) for s in split_sentences(text))
        except EngineUnavailable as exc:
            self.health.record_failure(str(exc))
            raise
        if not mp3:
            return AudioSegment.silent(duration=0, frame_rate=GTTS_RATE)
        return _decode_mp3(mp3, self.settings.speech_rate)

    def _sentence_mp3(self, sentence: str) -> bytes:
        cached = self._cache_path(sentence)
        if cached is not None and cached.is_file():
            return cached.read_bytes()
        s = self.settings
        bodies = gTTS(sentence, tld=s.gtts_tld, lang=s.gtts_lang, slow=s.gtts_slow, lang_check=False).get_bodies()
        mp3 = b"".join(self._post(body) for body in bodies)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(mp3)
            os.replace(tmp, cached)
        return mp3

    def _cache_path(self, sentence: str) -> Path | None:
        if self.cache_dir is None:
            return None
        s = self.settings
        key = json.dumps([s.gtts_lang, s.gtts_tld, s.gtts_slow, sentence], ensure_ascii=False)
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return self.cache_dir / "gtts" / digest[:2] / f"{digest}.mp3"

    def _post(self, body: str) -> bytes:
        s = self.settings
        host = urlsplit(self.base_url).hostname or self.base_url
        if not self._resolved:
            _resolve_within(self.base_url, s.gtts_connect_timeout_s)
            self._resolved = True
        for attempt in range(s.gtts_retries + 1):
            self.throttle.wait(s.gtts_min_interval_s)
            remaining = self._remaining()
            try:
                response = self.session.post(
                    self.base_url + RPC_PATH, data=body, headers=gTTS.GOOGLE_TTS_HEADERS,
                    timeout=(s.gtts_connect_timeout_s, min(s.gtts_read_timeout_s, remaining)),
                )
            except requests.ConnectionError as exc:
                raise EngineUnavailable(f"cannot reach {host} (offline?): {_short(exc)}") from None
            except requests.Timeout:
                raise EngineUnavailable(f"{host} did not answer within {min(s.gtts_read_timeout_s, remaining):.1f} s") from None
            except requests.RequestException as exc:
                raise EngineUnavailable(f"request to {host} failed: {_short(exc)}") from None
            status = response.status_code
            if status == 429 or status >= 500:
                if attempt == s.gtts_retries:
                    raise EngineUnavailable(f"{host} answered {status} {response.reason} {attempt + 1} times")
                delay = _retry_after(response)
                if delay is None:
                    delay = min(s.gtts_backoff_s * 2**attempt, MAX_BACKOFF_S)
                if delay >= self._remaining():
                    raise EngineUnavailable(f"{host} answered {status}; waiting {delay:.1f} s more would exceed the gTTS budget")
                log.info("%s answered %s; retrying in %.2f s", host, status, delay)
                self._sleep(delay)
                continue
            if status != 200:
                raise EngineUnavailable(f"{host} refused the request: {status} {response.reason} (the gTTS protocol may have changed)")
            self.health.record_success()
            return _extract_audio(response.text, host)
        raise AssertionError("unreachable")  # pragma: no cover

    def _remaining(self) -> float:
        assert self._deadline is not None
        remaining = self._deadline - self._clock()
        if remaining <= 0:
            raise EngineUnavailable(f"gTTS took longer than its budget of {self.settings.gtts_budget_s:.0f} s")
        return remaining


def _resolve_within(url: str, timeout: float) -> None:
    """Look the host up with a bounded wait: a resolver with no network can block far longer than any socket timeout."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    outcome: list[BaseException | None] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=lookup, name="gtts-resolve", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise EngineUnavailable(f"looking up {host} took longer than {timeout:.1f} s (offline?)")
    if outcome[0] is not None:
        raise EngineUnavailable(f"cannot look up {host} (offline?): {outcome[0]}")


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return min(max(float(value), 0.0), MAX_BACKOFF_S)
    except ValueError:
        return None


def _extract_audio(text: str, host: str) -> bytes:
    """The MP3 inside Google's batchexecute answer, found the way gTTS finds it."""
    for line in text.splitlines():
        if "jQ1olc" in line:
            match = _AUDIO_RE.search(line)
            if match:
                try:
                    audio = base64.b64decode(match.group(1).encode("ascii"), validate=True)
                except (binascii.Error, ValueError):
                    break
                if audio:
                    return audio
    raise EngineUnavailable(f"{host} answered without audio (the gTTS protocol may have changed)")


def _decode_mp3(mp3: bytes, rate: float) -> AudioSegment:
    """Decode gTTS's MP3 to 16-bit mono PCM; ``atempo`` changes the pace without changing the pitch."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-f", "mp3", "-i", "pipe:0"]
    if rate != 1.0:
        cmd += ["-af", f"atempo={rate:.4f}"]
    cmd += ["-ac", "1", "-ar", str(GTTS_RATE), "-f", "s16le", "pipe:1"]
    try:
        done = subprocess.run(cmd, input=mp3, capture_output=True, check=True, timeout=300)
    except subprocess.CalledProcessError as exc:
        raise EngineUnavailable(f"Google's audio could not be decoded: {exc.stderr.decode(errors='replace').strip()[-300:]}") from None
    return AudioSegment(data=done.stdout, sample_width=2, frame_rate=GTTS_RATE, channels=1)


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + "…"
