"""A fault-injecting TCP proxy for one link (netem is not available here, and no maintained proxy is installed).

It forwards a loopback port to a target.  ``cut()`` breaks every open connection and refuses
new ones until ``heal()``: the link is down, as a commune's line to the province when
a cable or a radio hop fails.  ``pause()`` holds the bytes in both directions without
closing anything (a link that hangs), ``delay_s`` slows every chunk.  Every connection
accepted is counted, so a test can wait for the far end to reconnect, and so are the bytes
the target sent back through the link (``bytes_down``: what a device downloaded).
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time

from controller.devtools.broker_runner import free_port

log = logging.getLogger(__name__)


def _port_outside_the_ephemeral_range(host: str) -> int:
    """A free port below Linux's ephemeral range (32768–60999).

    The proxy closes its listening socket while a link is down and binds the same port again
    when it heals; a port from the ephemeral range could meanwhile be handed to another
    fixture's ``free_port()`` or to an outgoing connection, and the link would never heal.
    """
    for port in random.sample(range(20000, 32000), 400):
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    return free_port(host)


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.host = host
        self.port = _port_outside_the_ephemeral_range(host)
        self.delay_s = 0.0
        self.accepted = 0
        self.bytes_down = 0
        self._up = threading.Event()
        self._up.set()
        self._cut = False  # by the test
        self._target_down = False  # nothing listens at the target: refused here too, as it would be end to end
        self._flowing = threading.Event()
        self._flowing.set()
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._closed = False
        self._hold: socket.socket | None = None
        self._server = self._listen()
        self._thread = threading.Thread(target=self._accept_loop, name=f"proxy-{self.port}", daemon=True)
        self._thread.start()
        self._watcher = threading.Thread(target=self._watch_target, name=f"proxy-watch-{self.port}", daemon=True)
        self._watcher.start()

    @property
    def is_up(self) -> bool:
        return self._up.is_set()

    def cut(self) -> None:
        """The link goes down: open connections break, new ones are refused."""
        self._cut = True
        self._apply()

    def heal(self) -> None:
        self._cut = False
        self._apply()

    def _apply(self) -> None:
        down = self._cut or self._target_down
        with self._lock:
            if down and self._up.is_set():
                self._up.clear()
                conns, self._conns = self._conns, []
                self._server.close()
                self._hold = self._reserve()
            elif not down and not self._up.is_set() and not self._closed:
                conns = []
                self._release()
                self._server = self._listen()
                self._up.set()
            else:
                conns = []
        for c in conns:
            _close(c)

    def _watch_target(self) -> None:
        """Follow the target: a proxy that accepted and then dropped a TLS client would stall mosquitto's bridge."""
        while not self._closed:
            try:
                socket.create_connection(self.target, timeout=1).close()
                down = False
            except OSError:
                down = True
            if down != self._target_down:
                self._target_down = down
                self._apply()
            time.sleep(0.1)  # the polling period of the watch

    def pause(self) -> None:
        """Hold every byte where it is (connections stay open)."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def close(self) -> None:
        self.cut()
        self._closed = True
        with self._lock:
            self._release()
        self._flowing.set()
        self._thread.join(timeout=5)
        self._watcher.join(timeout=5)

    def _reserve(self) -> socket.socket | None:
        """Keep the port bound, not listening, while the link is down: connections are refused
        at once, and the kernel cannot hand the port to some outgoing connection meanwhile."""
        hold = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        hold.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            hold.bind((self.host, self.port))
        except OSError:
            hold.close()
            return None
        return hold

    def _release(self) -> None:
        if self._hold is not None:
            self._hold.close()
            self._hold = None

    def _listen(self) -> socket.socket:
        # The socket closed a moment ago may still be listening until the accept loop's
        # pending accept() returns (its timeout): retry the bind for a bounded while.
        deadline = time.monotonic() + 5.0
        while True:
            try:
                server = socket.create_server((self.host, self.port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        server.settimeout(0.2)
        return server

    def _accept_loop(self) -> None:
        while not self._closed:
            if not self._up.wait(0.2):
                continue
            try:
                client, _ = self._server.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                continue
            if not self._up.is_set():
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
                self.accepted += 1
            for a, b, down in ((client, upstream, False), (upstream, client, True)):
                threading.Thread(target=self._pipe, args=(a, b, down), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, down: bool = False) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                self._flowing.wait()
                if self.delay_s:
                    time.sleep(self.delay_s)  # the injected latency itself
                if not self._up.is_set():
                    break
                dst.sendall(data)
                if down:
                    with self._lock:
                        self.bytes_down += len(data)
        except OSError:
            pass
        finally:
            _close(src)
            _close(dst)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()
