"""A CAP feed server on loopback: an Atom feed with ETag/Last-Modified, and the documents it lists."""

from __future__ import annotations

import hashlib
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape


class FeedServer:
    """Serves ``/feed.xml`` (Atom, SmartAlert-like) and ``/cap/<name>``; tests change ``documents`` and ``listed``."""

    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        self.listed: list[str] = []
        self.requests: list[tuple[str, int]] = []
        self.push_hook = None
        self.streams: dict[str, int] = {}  # name -> bytes to stream endlessly-large documents
        self._lock = threading.Lock()
        self._version = 0
        self._modified = formatdate(usegmt=True)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet test output
                pass

            def do_GET(self):
                server._serve(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def publish(self, name: str, doc: bytes, listed: bool = True) -> None:
        with self._lock:
            self.documents[name] = doc
            if listed and name not in self.listed:
                self.listed.append(name)
            self._touch()

    def unlist(self, name: str) -> None:
        with self._lock:
            self.listed.remove(name)
            self._touch()

    def _touch(self) -> None:
        self._version += 1
        self._modified = formatdate(usegmt=True)

    def feed(self) -> bytes:
        entries = "".join(
            f"<entry><id>{self.url}/cap/{escape(n)}</id><title>{escape(n)}</title><updated>2026-09-06T08:00:00+07:00</updated>"
            f'<link rel="related" type="application/cap+xml" href="/cap/{escape(n)}"/></entry>' for n in self.listed)
        if not entries:
            entries = "<entry><id>none</id><title>There are no active watches, warnings or advisories</title></entry>"
        return (f'<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                f"<id>{self.url}/feed.xml</id><title>Cảnh báo Sơn Hà</title><updated>2026-09-06T08:00:00+07:00</updated>"
                f"{entries}</feed>").encode()

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        with self._lock:
            path = h.path
            if path == "/feed.xml":
                body = self.feed()
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if h.headers.get("If-None-Match") == etag:
                    self.requests.append((path, 304))
                    h.send_response(304)
                    h.send_header("ETag", etag)
                    h.end_headers()
                    return
                self.requests.append((path, 200))
                h.send_response(200)
                h.send_header("Content-Type", "application/atom+xml")
                h.send_header("ETag", etag)
                h.send_header("Last-Modified", self._modified)
                h.send_header("Content-Length", str(len(body)))
                h.end_headers()
                h.wfile.write(body)
                return
            name = path.removeprefix("/cap/")
            stream = self.streams.get(name)
            doc = self.documents.get(name)
            self.requests.append((path, 200 if doc is not None or stream else 404))
        if stream:  # a huge document, sent without Content-Length so only the reader's bound stops it
            h.send_response(200)
            h.send_header("Content-Type", "application/cap+xml")
            h.end_headers()
            try:
                h.wfile.write(b'<?xml version="1.0"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><note>')
                chunk = b"x" * 65536
                for _ in range(stream // len(chunk)):
                    h.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        if doc is None:
            h.send_error(404)
            return
        h.send_response(200)
        h.send_header("Content-Type", "application/cap+xml")
        h.send_header("Content-Length", str(len(doc)))
        h.end_headers()
        h.wfile.write(doc)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
