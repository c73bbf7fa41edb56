"""What ``loaxa install agent`` sets up: the ``loaxa-agent`` user (audio, gpio), its units and config,
and the release tree (``/opt/loaxa-agent``) that signed updates switch between.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import replace
from pathlib import Path

from edge_agent.config import AgentConfig
from loaxa.install import Role

TREE = AgentConfig().update.install_root  # the tree the updater switches releases in


def _config(state_dir: Path) -> AgentConfig:
    return replace(AgentConfig(), data_dir=state_dir)


def lay_out_release_tree(base: Path, release_dir: Path | None, release_key: str, done: list[str]) -> None:
    """``/opt/loaxa-agent``: the guard, ``releases/`` and ``current`` (see :mod:`loaxa.agent_layout`).

    With a release, its signature and files are checked as a device checks an update, and it is
    built into ``releases/<version>``; without one, ``current`` points at this environment.  An
    existing ``current`` is kept (the device may have updated itself since).
    """
    from loaxa import agent_layout, release
    from loaxa.protocol import Verifier, public_key_from_text

    layout = agent_layout.Layout(base)
    layout.releases.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(agent_layout.__file__), base / "guard.py")
    done.append(f"wrote {base / 'guard.py'}")
    if layout.is_installed():
        done.append(f"kept {layout.current} -> {layout.current_target()}")
        return
    if release_dir is None:
        layout.switch(sys.prefix)
        done.append(f"linked {layout.current} -> {sys.prefix}")
        return
    manifest = release.open_manifest((release_dir / release.MANIFEST_NAME).read_bytes(),
                                     Verifier([public_key_from_text(release_key)]))
    release.check_files(manifest, release_dir)
    target = layout.release_dir(manifest.version)
    shutil.rmtree(target, ignore_errors=True)
    agent_layout.build_venv(target, release_dir, manifest.requirements())
    layout.switch(layout.target_of(manifest.version))
    done.append(f"installed release {manifest.version} into {target}; {layout.current} -> {layout.current_target()}")


ROLE = Role("agent", "loaxa-agent", ("loaxa-agent.service", "loaxa-agent-reboot.path", "loaxa-agent-reboot.service"),
            "agent.toml", "/var/lib/loaxa-agent", ("audio", "gpio"), _config,
            "# Fill it with `loaxa agent enroll <controller-url> <code>`, or set device_id and the key by hand.\n",
            takes_release=True, tree=str(TREE), lay_out=lay_out_release_tree)
