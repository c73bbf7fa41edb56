"""What ``loaxa install controller`` sets up: the ``loaxa`` user, the broker and controller units, the config."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from controller.config import ControllerConfig
from loaxa.install import Role


def _config(state_dir: Path) -> ControllerConfig:
    """An installed controller runs Icecast from its own generated files (relays, live speech)."""
    base = ControllerConfig()
    return replace(base, data_dir=state_dir, streaming=replace(base.streaming, enabled=True))


ROLE = Role("controller", "loaxa", ("loaxa-broker.service", "loaxa-controller.service"), "controller.toml",
            "/var/lib/loaxa", (), _config)
