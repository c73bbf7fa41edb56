"""What ``loaxa install agent`` sets up: the ``loaxa-agent`` user (audio, gpio), its unit and config."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from edge_agent.config import AgentConfig
from loaxa.install import Role


def _config(state_dir: Path) -> AgentConfig:
    return replace(AgentConfig(), data_dir=state_dir)


ROLE = Role("agent", "loaxa-agent", ("loaxa-agent.service", "loaxa-agent-reboot.path", "loaxa-agent-reboot.service"), "agent.toml", "/var/lib/loaxa-agent", ("audio", "gpio"),
            _config, "# Fill it with `loaxa agent enroll <controller-url> <code>`, or set device_id and the key by hand.\n")
