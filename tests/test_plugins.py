"""The shared core finds each side's commands and install roles through entry points, never by name."""

from __future__ import annotations

import json
import shutil
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


def _declared_with_metadata(tmp_path: Path, entry_points_txt: str, group: str, *, checkout: bool) -> dict[str, str]:
    """``declared(group)`` in a fresh interpreter (no site-packages) whose only ``loaxa`` metadata is ``entry_points_txt``.

    With ``checkout`` the ``loaxa`` package is this source tree's (a link to it, beside its
    pyproject.toml); without, a copy with no pyproject.toml beside it, as a wheel installs it.
    """
    info = tmp_path / "site" / "loaxa-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: loaxa\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(entry_points_txt)
    code = tmp_path / "code"  # the loaxa package alone: the checkout's own .egg-info must not answer
    code.mkdir()
    if checkout:
        (code / "loaxa").symlink_to(ROOT / "loaxa")
    else:
        shutil.copytree(ROOT / "loaxa", code / "loaxa", ignore=shutil.ignore_patterns("__pycache__"))
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


def test_an_installed_package_reads_its_metadata(tmp_path):
    found = _declared_with_metadata(tmp_path, "[loaxa.commands]\nonly = audio.commands:register\n", COMMANDS,
                                    checkout=False)
    assert found == {"only": "audio.commands:register"}


def test_a_checkout_reads_its_own_pyproject_over_stale_metadata(tmp_path):
    stale = "[loaxa.commands]\nonly = audio.commands:register\n"
    assert _declared_with_metadata(tmp_path / "a", stale, COMMANDS, checkout=True) == _pyproject_group(COMMANDS)
    older = "[console_scripts]\nloaxa = loaxa.cli:main\n"
    assert _declared_with_metadata(tmp_path / "b", older, INSTALL_ROLES, checkout=True) == _pyproject_group(INSTALL_ROLES)


def test_the_shared_installer_knows_no_side_by_name():
    """What the agent's install needs beyond the shared steps (its release tree) comes from its role."""
    from edge_agent.config import AgentConfig

    source = (ROOT / "loaxa" / "install.py").read_text(encoding="utf-8")
    assert "/opt/loaxa-agent" not in source and "role.name ==" not in source and "args.role !=" not in source
    roles = {ep.name: ep.load() for ep in declared(INSTALL_ROLES)}
    assert roles["agent"].takes_release and roles["agent"].tree == str(AgentConfig().update.install_root)
    assert roles["agent"].lay_out is not None
    assert not roles["controller"].takes_release and not roles["controller"].tree
