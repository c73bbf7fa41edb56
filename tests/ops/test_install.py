"""``loaxa install`` writes a config that loads and units that systemd accepts, without touching the host."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from controller.config import ControllerConfig
from edge_agent.config import AgentConfig
from loaxa.config import load_config


def loaxa(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "loaxa", *args], capture_output=True, text=True)


@pytest.mark.parametrize("role, cls, unit, state", [
    ("controller", ControllerConfig, "loaxa-controller.service", "/var/lib/loaxa"),
    ("agent", AgentConfig, "loaxa-agent.service", "/var/lib/loaxa-agent"),
])
def test_install_into_a_temporary_root(tmp_path, role, cls, unit, state):
    """Config that loads, units systemd accepts (the controller's with its broker), edits kept."""
    out = loaxa("install", role, "--root", str(tmp_path))
    assert out.returncode == 0, out.stderr
    config = tmp_path / "etc" / "loaxa" / f"{role}.toml"
    cfg = load_config(cls, config, env={})
    assert cfg.data_dir == Path(state)
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    unit_file = tmp_path / "etc" / "systemd" / "system" / unit
    text = unit_file.read_text()
    assert f"ExecStart={Path(sys.executable).parent / 'loaxa'} {role}" in text
    assert "User=root" not in text and "NoNewPrivileges=true" in text and "Restart=" in text
    # Running it again keeps the technician's edits to the config.
    config.write_text(config.read_text() + "\n# edited on the pole\n")
    assert loaxa("install", role, "--root", str(tmp_path)).returncode == 0
    assert "# edited on the pole" in config.read_text()
    units = sorted((tmp_path / "etc" / "systemd" / "system").glob("*.service"))
    if role == "controller":
        broker = (tmp_path / "etc" / "systemd" / "system" / "loaxa-broker.service").read_text()
        assert "ExecStart=/usr/sbin/mosquitto -c" in broker
        assert f"ExecStartPre={Path(sys.executable).parent / 'loaxa'} broker config" in broker
        assert len(units) == 2
    assert "/opt/loaxa/.venv" not in "".join(u.read_text() for u in units)
    if shutil.which("systemd-analyze"):
        verify = subprocess.run(["systemd-analyze", "verify", *map(str, units)], capture_output=True, text=True)
        assert verify.returncode == 0, verify.stderr

