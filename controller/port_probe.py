"""Waiting, bounded, until a process we started accepts connections on its port.

The Icecast server of the streaming package and the brokers of the development tools both
start a process and must know when it listens (or that it died first); production code
should not borrow that from the development tools, so the probe sits here, beside the
database and the configuration, for any package to use.
"""

from __future__ import annotations

import socket
import subprocess
import time


class NotListening(RuntimeError):
    """The process exited, or nothing accepted on the port in time."""


def wait_for_port(host: str, port: int, timeout: float = 10.0, proc: subprocess.Popen | None = None) -> None:
    """Poll until something accepts on host:port (bounded); with ``proc``, fail as soon as it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise NotListening(f"process exited with code {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise NotListening(f"nothing listens on {host}:{port} after {timeout:.0f} s")
