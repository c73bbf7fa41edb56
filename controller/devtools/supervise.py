"""The demo's process supervision: what dies is restarted, and one speaker can be switched off on purpose.

A real installation has systemd (``Restart=always``) under each agent; the demo plays that
part for its own processes, so one agent that crashes does not end the demo.  A process
that exits is started again after ``restart_delay_s``; one that keeps dying is not
restarted faster than that.  :meth:`Supervisor.outage` switches one process off (SIGKILL,
like a power cut on the pole) for a while and then brings it back, so a newcomer sees how a
dead speaker looks on the pages, and how it comes back.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

log = logging.getLogger(__name__)


@dataclass
class Supervised:
    """One process the supervisor keeps running: its command, log file and environment."""

    name: str
    command: Sequence[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    popen: subprocess.Popen | None = None
    starts: int = 0
    restart_at: float | None = None
    down_until: float | None = None  # switched off on purpose until then

    def start(self) -> None:
        with open(self.log_path, "ab") as out:
            self.popen = subprocess.Popen(list(self.command), stdout=out, stderr=out, env=self.env)
        self.starts += 1

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


@dataclass(frozen=True)
class Outage:
    name: str
    at: float  # time.monotonic()
    seconds: float


class Supervisor:
    """Starts processes, restarts those that exit, runs planned outages, and stops everything in order."""

    def __init__(self, restart_delay_s: float = 3.0, say: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.restart_delay_s = restart_delay_s
        self.say = say or log.info
        self.clock = clock
        self.procs: list[Supervised] = []
        self.outages: list[Outage] = []

    def add(self, proc: Supervised) -> Supervised:
        proc.start()
        self.procs.append(proc)
        return proc

    def get(self, name: str) -> Supervised:
        return next(p for p in self.procs if p.name == name)

    def outage(self, name: str, after_s: float, seconds: float) -> Outage:
        """Switch ``name`` off ``after_s`` from now, for ``seconds``, then start it again."""
        planned = Outage(name, self.clock() + after_s, seconds)
        self.outages.append(planned)
        return planned

    def poll(self) -> None:
        """One round: run due outages, notice exits, restart what is due."""
        now = self.clock()
        for planned in [o for o in self.outages if o.at <= now]:
            self.outages.remove(planned)
            proc = self.get(planned.name)
            self.say(f"{proc.name} switched off on purpose for {planned.seconds:g} s (a dead speaker)")
            proc.down_until, proc.restart_at = now + planned.seconds, None
            if proc.running:
                proc.popen.kill()
                proc.popen.wait()
        for proc in self.procs:
            if proc.down_until is not None:
                if now >= proc.down_until:
                    proc.down_until = None
                    proc.start()
                    self.say(f"{proc.name} switched on again")
                continue
            if proc.running:
                continue
            if proc.restart_at is None:
                code = proc.popen.returncode if proc.popen is not None else None
                proc.restart_at = now + self.restart_delay_s
                self.say(f"{proc.name} exited with code {code}; restarting it in {self.restart_delay_s:g} s "
                         f"(see {proc.log_path})")
            elif now >= proc.restart_at:
                proc.restart_at = None
                proc.start()
                self.say(f"{proc.name} restarted")

    def stop_all(self, timeout_s: float) -> None:
        """SIGTERM to every process (last started first), then SIGKILL to what still runs after ``timeout_s``."""
        self.outages.clear()
        for proc in reversed(self.procs):
            if proc.running:
                proc.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for proc in reversed(self.procs):
            if proc.popen is None:
                continue
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait()
