"""What the installed parts contribute to the shared core, found through entry points.

``loaxa/`` imports neither the controller nor the agent: each side declares, in
``pyproject.toml``'s ``[project.entry-points]``, the ``loaxa`` subcommands it adds
(group ``loaxa.commands``) and the roles ``loaxa install`` can set up (group
``loaxa.install_roles``).  A Pi with only the agent's dependencies simply fails to load
the controller's entries, and the command line goes on without them.

A source checkout is described by its own ``pyproject.toml``: an editable install writes
its metadata once, so that metadata goes stale as soon as an entry point moves or is added,
and the checkout would run with the commands of the day it was installed.  An installed
package (a wheel, no ``pyproject.toml`` beside it) is described by its metadata.
"""

from __future__ import annotations

import logging
import tomllib
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

log = logging.getLogger(__name__)

COMMANDS = "loaxa.commands"
INSTALL_ROLES = "loaxa.install_roles"

SOURCE_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def declared(group: str) -> list[EntryPoint]:
    """The entry points of ``group``, sorted by name (as installed metadata lists them); none are loaded."""
    found = _from_source_tree(group) or list(entry_points(group=group))
    return sorted(found, key=lambda ep: ep.name)


def _from_source_tree(group: str) -> list[EntryPoint]:
    try:
        project = tomllib.loads(SOURCE_PYPROJECT.read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return []
    if project.get("name") != "loaxa":
        return []
    table = project.get("entry-points", {}).get(group, {})
    return [EntryPoint(name=name, value=value, group=group) for name, value in table.items()]
