"""``loaxa install`` writes a config that loads and units that systemd accepts, without touching the host."""

from __future__ import annotations

import re
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
    if role == "agent":  # what updates switch: the 'current' symlink, first pointing at this environment
        assert "ExecStart=/opt/loaxa-agent/current/bin/loaxa agent" in text
        assert "ExecStartPre=-/usr/bin/python3 /opt/loaxa-agent/guard.py /opt/loaxa-agent" in text
        tree = tmp_path / "opt" / "loaxa-agent"
        assert (tree / "current").readlink() == Path(sys.prefix) and (tree / "guard.py").is_file()
    else:
        assert f"ExecStart={Path(sys.executable).parent / 'loaxa'} {role}" in text
    assert "User=root" not in text and "NoNewPrivileges=true" in text and "Restart=" in text
    # Running it again keeps the technician's edits to the config.
    config.write_text(config.read_text() + "\n# edited on the pole\n")
    assert loaxa("install", role, "--root", str(tmp_path)).returncode == 0
    assert "# edited on the pole" in config.read_text()
    units = sorted(p for p in (tmp_path / "etc" / "systemd" / "system").iterdir() if p.suffix in (".service", ".path"))
    if role == "controller":
        broker = (tmp_path / "etc" / "systemd" / "system" / "loaxa-broker.service").read_text()
        assert "ExecStart=/usr/sbin/mosquitto -c" in broker
        assert f"ExecStartPre={Path(sys.executable).parent / 'loaxa'} broker config" in broker
        assert len(units) == 2
    else:
        assert [u.name for u in units] == ["loaxa-agent-reboot.path", "loaxa-agent-reboot.service", "loaxa-agent.service"]
    assert "/opt/loaxa/.venv" not in "".join(u.read_text() for u in units)
    if shutil.which("systemd-analyze"):
        # The agent's units name /opt/loaxa-agent; verify them as they lie under this root.
        checked = tmp_path / "verify"
        checked.mkdir(exist_ok=True)
        for u in units:
            (checked / u.name).write_text(u.read_text().replace("/opt/loaxa-agent", str(tmp_path / "opt" / "loaxa-agent")))
        verify = subprocess.run(["systemd-analyze", "verify", *map(str, sorted(checked.iterdir()))],
                                capture_output=True, text=True)
        assert verify.returncode == 0, verify.stderr



def test_an_installed_controller_defaults_to_https_and_warns_loudly_once_plaintext(tmp_path):
    """Finding 13: the installed config serves HTTPS itself on every interface (https:// for
    enrollment and media); turned back to plain HTTP, the installer says so loudly."""
    out = loaxa("install", "controller", "--root", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "WARNING" not in out.stderr
    config = tmp_path / "etc" / "loaxa" / "controller.toml"
    text = config.read_text()
    assert "tls = true" in text and 'host = "0.0.0.0"' in text
    assert re.search(r'public_url = "https://[^"]+:8443"', text), text
    config.write_text(text.replace("tls = true", "tls = false", 1))
    again = loaxa("install", "controller", "--root", str(tmp_path))
    assert again.returncode == 0
    assert "WARNING: plaintext: the web UI, API and media served as plain HTTP on 0.0.0.0:8443" in again.stderr