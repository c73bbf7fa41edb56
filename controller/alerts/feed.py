"""Reading Atom/RSS feeds of CAP documents, and the poller that keeps reading them.

The poller asks with a conditional GET (``If-None-Match``/``If-Modified-Since``), so an
unchanged feed costs one 304.  CAP documents are treated as immutable: each URL is fetched
once and remembered.  Nothing a feed or a document does stops the poller: every failure is
logged and counted, and the next poll comes on time.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urljoin

import requests

from controller.alerts.sources import FEED, Source
from controller.alerts.xmlsafe import UnsafeXml, parse_untrusted
from controller.errors import InputError

log = logging.getLogger(__name__)

ATOM = "http://www.w3.org/2005/Atom"
CAP_TYPES = ("application/cap+xml", "application/xml", "text/xml")
FEED_MAX_BYTES = 2_000_000
TIMEOUT_S = 10


@dataclass(frozen=True)
class FeedEntry:
    id: str
    cap_url: str
    updated: str = ""


def parse_feed(data: bytes, base_url: str) -> list[FeedEntry]:
    """The entries of an Atom or RSS feed that link a CAP document (others, like "no active warnings", are skipped)."""
    root = parse_untrusted(data, what="feed", max_bytes=FEED_MAX_BYTES)
    out: list[FeedEntry] = []
    if root.tag == f"{{{ATOM}}}feed":
        for entry in root.findall(f"{{{ATOM}}}entry"):
            links = entry.findall(f"{{{ATOM}}}link")
            chosen = next((l for l in links if l.get("type") == "application/cap+xml"), None)
            if chosen is None:
                chosen = next((l for l in links if l.get("rel") in ("related", "alternate")
                               and (l.get("type") in CAP_TYPES or (l.get("href") or "").endswith(".xml"))), None)
            if chosen is None or not chosen.get("href"):
                continue
            url = urljoin(base_url, chosen.get("href").strip())
            out.append(FeedEntry(id=(entry.findtext(f"{{{ATOM}}}id") or url).strip(), cap_url=url,
                                 updated=(entry.findtext(f"{{{ATOM}}}updated") or "").strip()))
    elif root.tag == "rss":
        for item in root.iter("item"):
            enclosure = item.find("enclosure")
            href = enclosure.get("url") if enclosure is not None else item.findtext("link")
            if not href:
                continue
            url = urljoin(base_url, href.strip())
            out.append(FeedEntry(id=(item.findtext("guid") or url).strip(), cap_url=url,
                                 updated=(item.findtext("pubDate") or "").strip()))
    else:
        raise InputError("feed_unknown_format", "Nguồn không phải Atom hay RSS.", "feed")
    return out


def fetch_bounded(session: requests.Session, url: str, max_bytes: int, headers: dict[str, str] | None = None
                  ) -> requests.Response:
    """GET with a hard size bound: the body is read in chunks and abandoned past ``max_bytes``."""
    response = session.get(url, headers=headers or {}, timeout=TIMEOUT_S, stream=True, allow_redirects=True)
    with response:
        if response.status_code == 304:
            response._content = b""
            return response
        response.raise_for_status()
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            log.warning("document refused: %s declares %s bytes (limit %d)", url, declared, max_bytes)
            raise UnsafeXml("xml_too_large", f"Tài liệu quá lớn (tối đa {max_bytes // 1024} KB).", "document")
        body = bytearray()
        for chunk in response.iter_content(65536):
            body += chunk
            if len(body) > max_bytes:
                log.warning("document refused: %s exceeds %d bytes", url, max_bytes)
                raise UnsafeXml("xml_too_large", f"Tài liệu quá lớn (tối đa {max_bytes // 1024} KB).", "document")
        response._content = bytes(body)
    return response


@dataclass
class PollHealth:
    polls: int = 0
    failures_in_row: int = 0
    last_ok: float | None = None
    last_error: str = ""


DocumentSink = Callable[[Source, FeedEntry, bytes], None]
ListingSink = Callable[[Source, list[FeedEntry]], None]


class FeedPoller:
    """Polls one feed source on its interval in a daemon thread."""

    def __init__(self, source: Source, on_document: DocumentSink, on_listing: ListingSink | None = None):
        if source.kind != FEED or not source.url:
            raise InputError("source_not_feed", "Chỉ nguồn feed mới được đọc định kỳ.", "kind")
        self.source = source
        self.on_document = on_document
        self.on_listing = on_listing
        self.health = PollHealth()
        self._session = requests.Session()
        self._etag: str | None = None
        self._modified: str | None = None
        self._seen: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> int:
        """One poll; returns how many new documents were handed on. Never raises."""
        self.health.polls += 1
        try:
            new = self._poll()
        except Exception as exc:  # a hostile or broken feed must never stop the poller
            self.health.failures_in_row += 1
            self.health.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("feed %s: poll failed (%s)", self.source.id, self.health.last_error)
            return 0
        self.health.failures_in_row = 0
        self.health.last_ok = time.time()
        return new

    def _poll(self) -> int:
        headers = {"Accept": "application/atom+xml, application/rss+xml;q=0.9, */*;q=0.1"}
        if self._etag:
            headers["If-None-Match"] = self._etag
        if self._modified:
            headers["If-Modified-Since"] = self._modified
        assert self.source.url is not None
        response = fetch_bounded(self._session, self.source.url, FEED_MAX_BYTES, headers)
        if response.status_code == 304:
            return 0
        entries = parse_feed(response.content, response.url or self.source.url)
        new = 0
        complete = True
        for entry in entries:
            if entry.cap_url in self._seen:
                continue
            try:
                doc = fetch_bounded(self._session, entry.cap_url, self.source.max_bytes)
                self._seen.add(entry.cap_url)
                self.on_document(self.source, entry, doc.content)
                new += 1
            except InputError as exc:
                self._seen.add(entry.cap_url)  # a refused document is refused once, not on every poll
                log.warning("feed %s: document %s refused (%s)", self.source.id, entry.cap_url, exc.code)
            except requests.RequestException as exc:
                complete = False
                log.warning("feed %s: document %s not fetched (%s)", self.source.id, entry.cap_url, exc)
        if complete:
            self._etag = response.headers.get("ETag") or None
            self._modified = response.headers.get("Last-Modified") or None
        else:
            # An unchanged feed would answer 304 and the missing document would never be asked for again.
            self._etag = self._modified = None
        if self.on_listing is not None:
            self.on_listing(self.source, entries)
        return new

    def start(self) -> "FeedPoller":
        self._thread = threading.Thread(target=self._run, name=f"cap-feed-{self.source.id}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.poll_once()
            self._stop.wait(max(0.0, self.source.interval_s - (time.monotonic() - started)))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT_S + 5)
        self._session.close()
