"""The systemd notify protocol (``Type=notify``, ``WatchdogSec=``) in a few lines, no dependency.

systemd passes a datagram socket in ``NOTIFY_SOCKET``; the service says ``READY=1`` once it
serves, ``WATCHDOG=1`` at least every half ``WATCHDOG_USEC``, and ``STOPPING=1`` on the way
out.  Without systemd every call is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Mapping

log = logging.getLogger(__name__)


def notify(message: str, env: Mapping[str, str] | None = None) -> bool:
    """Send one notification; returns False when not running under systemd or on error."""
    env = os.environ if env is None else env
    address = env.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
        return True
    except OSError as exc:
        log.warning("systemd notify failed: %s", exc)
        return False


def watchdog_interval_s(env: Mapping[str, str] | None = None) -> float | None:
    """How often to pet the watchdog (half its timeout), or None when it is not enabled for us."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 1e6 / 2
