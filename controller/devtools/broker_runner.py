"""Runs a private mosquitto broker (for the demo and the test suite)."""

from __future__ import annotations

import getpass
import logging
import os
import shutil
import socket
import subprocess
from pathlib import Path

from controller.port_probe import wait_for_port

log = logging.getLogger(__name__)


class BrokerError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Broker:
    """A mosquitto process on a free loopback port, with its own config and log."""

    def __init__(self, workdir: Path, port: int | None = None, extra_config: str = "", listener: str | None = None):
        if shutil.which("mosquitto") is None:
            raise BrokerError("mosquitto is not installed (apt-get install mosquitto)")
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.extra_config = extra_config
        self.listener = listener
        self.proc: subprocess.Popen | None = None

    @property
    def conf_path(self) -> Path:
        return self.dir / "mosquitto.conf"

    def write_config(self) -> None:
        lines = [self.listener or f"listener {self.port} {self.host}"]
        if not self.extra_config:
            lines.append("allow_anonymous true")
        lines += ["persistence false", "max_queued_messages 200000", f"log_dest file {self.dir / 'mosquitto.log'}", "log_type error",
                  "log_type warning", "log_type notice"]
        if os.geteuid() == 0:
            lines.append(f"user {getpass.getuser()}")  # stay root: otherwise it cannot read our files
        if self.extra_config:
            lines.append(self.extra_config)
        self.conf_path.write_text("\n".join(lines) + "\n")

    def start(self) -> "Broker":
        self.write_config()
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf_path)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        wait_for_port(self.host, self.port, proc=self.proc)
        log.info("mosquitto listening on %s:%d", self.host, self.port)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def reload(self) -> None:
        """SIGHUP: mosquitto re-reads its password and ACL files."""
        if self.proc:
            self.proc.send_signal(1)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> "Broker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
