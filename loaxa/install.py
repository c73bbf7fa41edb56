"""``loaxa install controller|agent``: user, directories, config and systemd unit on a real machine.

Run as root from the virtual environment Loa Xã was installed into (the unit's ExecStart
points at this environment's ``loaxa``).  ``--root DIR`` writes everything under DIR
instead of ``/`` and changes nothing else (no user, no systemctl): that is how it is
tested, and how a technician previews what it will do.  An existing config is never
overwritten.

What a role is (its user, units, directories and default config) belongs to the side
that owns it: each declares a :class:`Role` as a ``loaxa.install_roles`` entry point
(``controller/operations/install.py``, ``edge_agent/install.py``).
"""

from __future__ import annotations

import argparse
import logging
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from loaxa.plugins import INSTALL_ROLES, declared

log = logging.getLogger(__name__)

SOURCE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Role:
    """One kind of machine ``loaxa install`` sets up, declared by the side that runs on it."""

    name: str
    user: str
    units: tuple[str, ...]
    config_name: str
    state_dir: str
    groups: tuple[str, ...]
    config_for: Callable[[Path], Any]  # the default config (a settings dataclass) keeping its data in a directory
    config_note: str = ""  # what to do next with the written config, as comment lines


def role_names() -> list[str]:
    return [ep.name for ep in declared(INSTALL_ROLES)]


def load_role(name: str) -> Role:
    """The role declared as ``name``; ImportError when its side is not installed here."""
    for ep in declared(INSTALL_ROLES):
        if ep.name == name:
            return ep.load()
    raise KeyError(name)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("install", help="install the controller or agent as a systemd service (run as root)")
    p.add_argument("role", choices=role_names())
    p.add_argument("--root", default="/", help="write under this directory instead of / (preview; changes nothing else)")
    p.add_argument("--no-enable", action="store_true", help="do not enable and start the unit")
    p.set_defaults(func=_install)


def default_config(role: Role, state_dir: str) -> str:
    from loaxa.config import to_toml

    header = f"# Loa Xã {role.name} configuration, written by `loaxa install {role.name}`.\n" + role.config_note
    return header + "\n" + to_toml(role.config_for(Path(state_dir)))


UNIT_LOAXA = "/opt/loaxa/.venv/bin/loaxa"


def unit_text(unit: str) -> str:
    """The shipped unit with its ``loaxa`` path pointed at this environment."""
    src = SOURCE_ROOT / "systemd" / unit
    if not src.exists():
        raise FileNotFoundError(f"{src} not found: install from a clone of the Loa Xã repository")
    return src.read_text().replace(UNIT_LOAXA, str(Path(sys.executable).parent / "loaxa"))


def install(role: Role, root: Path, enable: bool = True) -> list[str]:
    """Do the installation; returns what was done, one line per step."""
    real = root == Path("/")
    done: list[str] = []
    if real:
        _ensure_user(role, done)
    etc = root / "etc" / "loaxa"
    state = root / role.state_dir.lstrip("/")
    etc.mkdir(parents=True, exist_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o750)
    config = etc / role.config_name
    if config.exists():
        done.append(f"kept existing {config}")
    else:
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        with os.fdopen(fd, "w") as f:
            f.write(default_config(role, role.state_dir))
        done.append(f"wrote {config}")
    unit_dir = root / "etc" / "systemd" / "system"
    unit_dir.mkdir(parents=True, exist_ok=True)
    for unit in role.units:
        (unit_dir / unit).write_text(unit_text(unit))
        done.append(f"wrote {unit_dir / unit}")
    if real:
        uid = pwd.getpwnam(role.user)
        os.chown(state, uid.pw_uid, uid.pw_gid)
        os.chown(config, 0, uid.pw_gid)
        subprocess.run(["systemctl", "daemon-reload"], check=True)
        if enable:
            subprocess.run(["systemctl", "enable", "--now", *role.units], check=True)
            done.append(f"enabled and started {', '.join(role.units)}")
    return done


def _ensure_user(role: Role, done: list[str]) -> None:
    try:
        pwd.getpwnam(role.user)
        return
    except KeyError:
        pass
    subprocess.run(["useradd", "--system", "--home-dir", role.state_dir, "--shell", "/usr/sbin/nologin", role.user],
                   check=True)
    for group in role.groups:
        if shutil.which("getent") and subprocess.run(["getent", "group", group], capture_output=True).returncode == 0:
            subprocess.run(["usermod", "-aG", group, role.user], check=True)
    done.append(f"created system user {role.user}")


def _install(args: argparse.Namespace) -> int:
    from loaxa.cli import CommandError

    root = Path(args.root)
    if root == Path("/") and os.geteuid() != 0:
        raise CommandError("run as root (or preview with --root DIR)")
    try:
        role = load_role(args.role)
    except ImportError as exc:
        raise CommandError(f"the {args.role} is not installed here ({exc})") from None
    try:
        for line in install(role, root, enable=not args.no_enable):
            print(line)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise CommandError(str(exc)) from None
    return 0
