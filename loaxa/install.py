"""``loaxa install controller|agent``: user, directories, config and systemd unit on a real machine.

Run as root from the virtual environment Loa Xã was installed into (the unit's ExecStart
points at this environment's ``loaxa``).  ``--root DIR`` writes everything under DIR
instead of ``/`` and changes nothing else (no user, no systemctl): that is how it is
tested, and how a technician previews what it will do.  An existing config is never
overwritten.

What a role is (its user, units, directories, default config and any tree of its own, such
as the agent's release tree) belongs to the side that owns it: each declares a :class:`Role`
as a ``loaxa.install_roles`` entry point (``controller/operations/install.py``,
``edge_agent/install.py``).  This module only does the steps every role shares.
"""

from __future__ import annotations

import argparse
import logging
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
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
    # A role that installs from a signed release (``--release``/``--release-key``): its config gets
    # ``release_public_key``, and ``lay_out(base, release_dir, release_key, done)`` builds its tree.
    takes_release: bool = False
    tree: str = ""  # an absolute directory the role lays out and its user owns (it updates itself there)
    lay_out: Callable[[Path, Path | None, str, list[str]], None] | None = None
    # What in the installed config would travel in clear beyond this machine: printed loudly, on stderr.
    warnings: Callable[[Path], list[str]] | None = None


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
    p.add_argument("--release", help="agent: install this signed release (a 'loaxa release build' directory) as the first "
                                     "version, instead of running from this environment")
    p.add_argument("--release-key", help="agent: the release public key (base64) the release must be signed with; "
                                         "it is pinned in the new config")
    p.set_defaults(func=_install)


def default_config(role: Role, state_dir: str, release_key: str = "") -> str:
    from loaxa.config import to_toml

    header = f"# Loa Xã {role.name} configuration, written by `loaxa install {role.name}`.\n" + role.config_note
    cfg = role.config_for(Path(state_dir))
    if release_key and role.takes_release:
        cfg = replace(cfg, release_public_key=release_key)
    return header + "\n" + to_toml(cfg)


UNIT_LOAXA = "/opt/loaxa/.venv/bin/loaxa"


def unit_text(unit: str) -> str:
    """The shipped unit with its ``loaxa`` path pointed at this environment.

    A role with a release tree names that tree's ``current`` symlink in its units instead.
    """
    src = SOURCE_ROOT / "systemd" / unit
    if not src.exists():
        raise FileNotFoundError(f"{src} not found: install from a clone of the Loa Xã repository")
    return src.read_text().replace(UNIT_LOAXA, str(Path(sys.executable).parent / "loaxa"))


def install(role: Role, root: Path, enable: bool = True, release_dir: Path | None = None,
            release_key: str = "") -> list[str]:
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
            f.write(default_config(role, role.state_dir, release_key))
        done.append(f"wrote {config}")
    unit_dir = root / "etc" / "systemd" / "system"
    unit_dir.mkdir(parents=True, exist_ok=True)
    for unit in role.units:
        (unit_dir / unit).write_text(unit_text(unit))
        done.append(f"wrote {unit_dir / unit}")
    if role.tree and role.lay_out:
        role.lay_out(root / role.tree.lstrip("/"), release_dir, release_key, done)
    if real:
        uid = pwd.getpwnam(role.user)
        os.chown(state, uid.pw_uid, uid.pw_gid)
        if role.tree:  # the role's user writes there (the agent installs its own updates)
            for path in [Path(role.tree), *Path(role.tree).rglob("*")]:
                os.lchown(path, uid.pw_uid, uid.pw_gid)
        os.chown(config, 0, uid.pw_gid)
        subprocess.run(["systemctl", "daemon-reload"], check=True)
        if enable:
            enabled = [u for u in role.units if "[Install]" in unit_text(u)]
            subprocess.run(["systemctl", "enable", "--now", *enabled], check=True)
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

    from loaxa.protocol import ProtocolError
    from loaxa.release import ReleaseRefused

    root = Path(args.root)
    if root == Path("/") and os.geteuid() != 0:
        raise CommandError("run as root (or preview with --root DIR)")
    try:
        role = load_role(args.role)
    except ImportError as exc:
        raise CommandError(f"the {args.role} is not installed here ({exc})") from None
    if (args.release or args.release_key) and not role.takes_release:
        raise CommandError(f"--release and --release-key are not for the {args.role}")
    if bool(args.release) != bool(args.release_key):
        raise CommandError("--release needs --release-key (and the other way round): a release is installed only "
                           "once its signature checks")
    try:
        for line in install(role, root, enable=not args.no_enable,
                            release_dir=Path(args.release) if args.release else None,
                            release_key=args.release_key or ""):
            print(line)
    except (OSError, subprocess.CalledProcessError, ReleaseRefused, ProtocolError) as exc:
        raise CommandError(str(exc)) from None
    if role.warnings is not None:
        for line in role.warnings(root / "etc" / "loaxa" / role.config_name):
            print(line, file=sys.stderr)
    return 0
