"""A real local HTTP server standing in for translate.google.com's TTS endpoint.

Google cannot be reached from the test machines, so this server speaks its protocol
instead: it decodes the ``f.req`` body gTTS builds (checking what a real request must
hold), records the text, and answers in Google's batchexecute envelope with a real MP3.
Each test can queue misbehaviour first: an HTTP status (429, 503, 403), ``"stall"``
(accept and never answer) or ``"no-audio"``.
"""

from __future__ import annotations

import base64
import json
import subprocess
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

RPC_PATH = "/_/TranslateWebserverUi/data/batchexecute"


def make_mp3(seconds: float = 0.5, freq: int = 440) -> bytes:
    """A real MP3 like Google's pieces: MPEG-2 layer III, 24 kHz mono, no tags."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", f"sine=frequency={freq}:duration={seconds}:sample_rate=24000",
           "-af", "volume=-6dB", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "32k", "-write_xing", "0", "-id3v2_version", "0",
           "-fflags", "+bitexact", "-f", "mp3", "pipe:1"]
    return subprocess.run(cmd, capture_output=True, check=True).stdout


def envelope(mp3: bytes) -> str:
    inner = json.dumps([base64.b64encode(mp3).decode("ascii")])
    outer = [["wrb.fr", "jQ1olc", inner, None, None, None, "generic"], ["di", 57], ["af.httprm", 56, "-1", 1]]
    body = json.dumps(outer, separators=(",", ":"))
    return f")]}}'\n\n{len(body)}\n{body}\n25\n[[\"e\",4,null,null,{len(body)}]]\n"


class GoogleStandIn:
    def __init__(self, mp3: bytes):
        self.mp3 = mp3
        self.texts: list[str] = []
        self.langs: list[str] = []
        self.queue: deque[int | str] = deque()
        self.always: int | str | None = None
        self._release = threading.Event()
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                stand_in._answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> GoogleStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.texts)

    def _answer(self, h: BaseHTTPRequestHandler) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length", "0"))).decode("utf-8")
        if h.path != RPC_PATH or "f.req" not in parse_qs(body):
            h.send_error(404)
            return
        rpc = json.loads(parse_qs(body)["f.req"][0])
        text, lang, _speed, _ = json.loads(rpc[0][0][1])
        with self._lock:
            self.texts.append(text)
            self.langs.append(lang)
            behaviour = self.queue.popleft() if self.queue else self.always
        if behaviour == "stall":
            self._release.wait(30)
            return
        if isinstance(behaviour, int):
            h.send_response(behaviour)
            h.send_header("Retry-After", "0")
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        payload = (")]}'\n\n[[\"wrb.fr\",\"jQ1olc\",null,null,null,[3],\"generic\"]]\n" if behaviour == "no-audio"
                   else envelope(self.mp3)).encode("utf-8")
        h.send_response(200)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)
