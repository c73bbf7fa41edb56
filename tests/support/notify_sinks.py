"""Where notifications land in the tests: a real SMTP server and a real webhook server, both on loopback.

``MailSink`` speaks enough SMTP (RFC 5321: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for
Python's smtplib, over a real socket; each message is kept parsed.  ``WebhookSink`` is an HTTP
server that records each POST's JSON and answers the status it is told to (a gateway that is
down answers 503).  Both bind a free port and are closed by the test.
"""

from __future__ import annotations

import email
import email.policy
import json
import socketserver
import threading
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _SmtpHandler(socketserver.StreamRequestHandler):
    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        sink: MailSink = self.server.sink  # type: ignore[attr-defined]
        self._reply("220 loopback ESMTP")
        envelope: dict[str, Any] = {"from": "", "to": []}
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            verb = raw.decode(errors="replace").strip().split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.wfile.write(b"250-loopback\r\n250 8BITMIME\r\n")
                self.wfile.flush()
            elif verb in ("HELO", "NOOP"):
                self._reply("250 ok")
            elif verb == "RSET":
                envelope = {"from": "", "to": []}
                self._reply("250 ok")
            elif verb == "MAIL":
                envelope["from"] = raw.decode().split(":", 1)[1].strip()
                self._reply("250 ok")
            elif verb == "RCPT":
                envelope["to"].append(raw.decode().split(":", 1)[1].strip().strip("<>"))
                self._reply("250 ok")
            elif verb == "DATA":
                self._reply("354 end with .")
                lines = []
                while True:
                    line = self.rfile.readline()
                    if not line or line in (b".\r\n", b".\n"):
                        break
                    lines.append(line[1:] if line.startswith(b"..") else line)
                message = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
                sink._received(envelope["to"], message)
                envelope = {"from": "", "to": []}
                self._reply("250 queued")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("502 not implemented")


class MailSink:
    def __init__(self) -> None:
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
        self.server.daemon_threads = True
        self.server.sink = self  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _received(self, to: list[str], message: EmailMessage) -> None:
        with self._lock:
            self.messages.append((to, message))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class WebhookSink:
    def __init__(self, status: int = 200) -> None:
        sink = self
        self.status = status
        self.posts: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if sink.status < 300:
                    sink.posts.append(json.loads(data))
                    sink.headers.append(dict(self.headers))
                self.send_response(sink.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
