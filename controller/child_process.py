"""Long-lived helper processes (Icecast, ffmpeg encoders and decoders) that die with the controller.

Under systemd a controller's SIGKILL takes its whole control group along.  Started by hand, by
a test or by another supervisor it does not: an orphaned Icecast keeps holding its port and the
restarted controller could not stream.  On Linux every child started here asks the kernel for
SIGKILL when its parent goes (``prctl(PR_SET_PDEATHSIG)``).  The kernel sends that signal when
the *thread* that forked the child ends, not the process, so every fork happens on one daemon
thread that lives as long as the controller (:func:`spawn` hands the work to it), never on a
request's or a job's thread.  Children still get sessions of their own (``start_new_session``),
so a terminal's Ctrl-C reaches the controller, which stops them in order.

The kernel forgets the request when the child changes its user (Icecast started as root drops to
its own account); :mod:`controller.streaming.icecast_config` therefore also keeps a pid file
and reclaims its port from a stale Icecast on start.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from typing import Any, Callable, Sequence

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_prctl = _load_prctl()  # resolved before any fork: the child calls it and nothing else


def _die_with(parent: int) -> Callable[[], None]:
    prctl = _prctl

    def preexec() -> None:  # runs in the child between fork and exec: no imports, no locks
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the controller died before the request took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


class _Spawner:
    """The one thread that forks every child, alive until the process ends."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Sequence[str], dict[str, Any], concurrent.futures.Future]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="child-spawner", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            args, kwargs, done = self._jobs.get()
            if not done.set_running_or_notify_cancel():
                continue
            try:
                done.set_result(subprocess.Popen(args, preexec_fn=_die_with(os.getpid()), **kwargs))
            except BaseException as exc:  # handed back to the caller, raised there
                done.set_exception(exc)

    def popen(self, args: Sequence[str], kwargs: dict[str, Any]) -> subprocess.Popen:
        done: concurrent.futures.Future = concurrent.futures.Future()
        self._jobs.put((args, kwargs, done))
        return done.result()


_spawner: tuple[int, _Spawner] | None = None  # (the process it runs in, the spawner): a forked copy makes its own
_spawner_lock = threading.Lock()


def spawn(args: Sequence[str], **kwargs: Any) -> subprocess.Popen:
    """``subprocess.Popen(args, **kwargs)`` in a session of its own, killed by the kernel if the controller dies."""
    global _spawner
    kwargs.setdefault("start_new_session", True)
    if _prctl is None:
        return subprocess.Popen(args, **kwargs)
    with _spawner_lock:
        if _spawner is None or _spawner[0] != os.getpid():
            _spawner = (os.getpid(), _Spawner())
        spawner = _spawner[1]
    return spawner.popen(args, kwargs)
