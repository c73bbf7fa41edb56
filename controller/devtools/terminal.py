"""Ctrl-C for the demo alone: the demo takes the terminal's foreground, so ``make demo`` ends cleanly.

Ctrl-C sends SIGINT to the terminal's whole foreground process group.  Under ``make demo``
that group holds make too, and make dies of the signal however cleanly the demo stops, and
reports an error.  So when the demo is not already the foreground group's leader, it moves
into a group of its own and makes that the foreground; Ctrl-C then reaches the demo and its
processes only, the demo stops them and exits 0, and make sees a command that succeeded.
The terminal's foreground goes back to the previous group on the way out.
"""

from __future__ import annotations

import logging
import os
import signal
from contextlib import contextmanager
from typing import Iterator

log = logging.getLogger(__name__)


@contextmanager
def own_foreground() -> Iterator[bool]:
    """Run the block as the terminal's foreground process group; yields whether it had to move."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        yield False  # no terminal (a service, a test): SIGINT comes to this process directly
        return
    try:
        previous = os.tcgetpgrp(tty)
        if previous != os.getpgrp() or os.getpgrp() == os.getpid():
            yield False  # in the background, or already leading the foreground group (run from a shell)
            return
        old_ttou = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            os.setpgid(0, 0)
            os.tcsetpgrp(tty, os.getpgrp())
        except OSError as exc:
            signal.signal(signal.SIGTTOU, old_ttou)
            log.debug("cannot take the terminal's foreground: %s", exc)
            yield False
            return
        try:
            yield True
        finally:
            try:
                os.tcsetpgrp(tty, previous)
            except OSError as exc:
                log.debug("cannot give the terminal back: %s", exc)
            signal.signal(signal.SIGTTOU, old_ttou)
    finally:
        os.close(tty)
