"""The shared core finds each side's commands and install roles through entry points, never by name."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

from loaxa.install import Role
from loaxa.plugins import COMMANDS, INSTALL_ROLES, declared

ROOT = Path(__file__).resolve().parent.parent
PROBE = "import json, loaxa.plugins as p; print(json.dumps([[e.name, e.value] for e in p.declared({group!r})]))"


def _pyproject_group(group: str) -> dict[str, str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][group]


def _declared_with_metadata(tmp_path: Path, entry_points_txt: str, group: str) -> dict[str, str]:
    """``declared(group)`` in a fresh interpreter (no site-packages) whose only ``loaxa`` metadata is ``entry_points_txt``."""
    info = tmp_path / "site" / "loaxa-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: loaxa\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(entry_points_txt)
    code = tmp_path / "code"  # the loaxa package alone: the checkout's own .egg-info must not answer
    code.mkdir()
    (code / "loaxa").symlink_to(ROOT / "loaxa")
    out = subprocess.run([sys.executable, "-S", "-c", PROBE.format(group=group)], capture_output=True, text=True, check=True, cwd=tmp_path,
                         env={"PYTHONPATH": f"{info.parent}:{code}", "PATH": "/usr/bin:/bin"})
    return dict(json.loads(out.stdout))


def test_every_declared_command_registers_subcommands():
    import argparse

    eps = declared(COMMANDS)
    assert {ep.name: ep.value for ep in eps} == _pyproject_group(COMMANDS)
    for ep in eps:
        sub = argparse.ArgumentParser().add_subparsers()
        ep.load()(sub)
        assert sub.choices, f"{ep.value} registered no subcommand"


def test_every_install_role_is_declared_by_its_own_side():
    roles = {ep.name: ep for ep in declared(INSTALL_ROLES)}
    assert sorted(roles) == ["agent", "controller"]
    for name, ep in roles.items():
        role = ep.load()
        assert isinstance(role, Role) and role.name == name
        assert ep.value.split(".")[0] == {"agent": "edge_agent", "controller": "controller"}[name]
        assert role.config_for(Path("/var/lib/x")).data_dir == Path("/var/lib/x")


def test_installed_metadata_is_the_source_when_it_declares_the_group(tmp_path):
    found = _declared_with_metadata(tmp_path, "[loaxa.commands]\nonly = audio.commands:register\n", COMMANDS)
    assert found == {"only": "audio.commands:register"}


def test_metadata_older_than_a_group_falls_back_to_the_source_tree(tmp_path):
    found = _declared_with_metadata(tmp_path, "[console_scripts]\nloaxa = loaxa.cli:main\n", INSTALL_ROLES)
    assert found == _pyproject_group(INSTALL_ROLES)


def test_the_shared_installer_knows_no_side_by_name():
    """What the agent's install needs beyond the shared steps (its release tree) comes from its role."""
    from edge_agent.config import AgentConfig

    source = (ROOT / "loaxa" / "install.py").read_text(encoding="utf-8")
    assert "/opt/loaxa-agent" not in source and "role.name ==" not in source and "args.role !=" not in source
    roles = {ep.name: ep.load() for ep in declared(INSTALL_ROLES)}
    assert roles["agent"].takes_release and roles["agent"].tree == str(AgentConfig().update.install_root)
    assert roles["agent"].lay_out is not None
    assert not roles["controller"].takes_release and not roles["controller"].tree
